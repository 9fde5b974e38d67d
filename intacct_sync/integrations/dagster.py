"""Dagster resources and one asset per workflow, partitioned by Intacct company.

>>> from dagster import Definitions, EnvVar
>>> from intacct_sync.integrations import dagster as isd
>>> defs = Definitions(
...     assets=isd.workflow_assets(companies=["acme-inc", "beta-llc"]),
...     resources=isd.resources(
...         intacct=isd.IntacctResource(
...             sender_id=EnvVar("INTACCT_SENDER_ID"),
...             sender_password=EnvVar("INTACCT_SENDER_PASSWORD"),
...             user_id=EnvVar("INTACCT_USER_ID"),
...             user_password=EnvVar("INTACCT_USER_PASSWORD"),
...         ),
...         salesforce=isd.SalesforceResource(
...             instance_url=EnvVar("SF_INSTANCE_URL"),
...             client_id=EnvVar("SF_CLIENT_ID"),
...             client_secret=EnvVar("SF_CLIENT_SECRET"),
...         ),
...         state=isd.StateStoreResource(path="/var/lib/intacct-sync/{company}.sqlite"),
...     ),
... )  # doctest: +SKIP

The partition key is the Intacct company id: the Intacct resource signs in to that company and
the state store opens that company's state (``{company}`` in its path), so one company's
ledger and watermarks never mix with another's. Secrets are config fields read through
``dagster.EnvVar``, so Dagster shows the variable's name, never its value; the clients keep them
out of their reprs.

Each asset runs one workflow through the thin adapters :func:`run_actions`, :func:`run_kpi` and
:func:`run_order_to_cash` (the only place that knows the workflows' entry points) and returns
the run report's summary, row count and counts by status as ``MaterializeResult`` metadata.
"""

# No `from __future__ import annotations`: Dagster reads the asset functions' annotations at
# run time (config class, resources, context) and cannot resolve strings of local names.
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import dagster as dg
import pandas as pd
from pydantic import Field

from intacct_sync import actions, kpi, o2c
from intacct_sync.errors import ValidationError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.reports import Report
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.state import SQLiteStateStore, StateStore
from intacct_sync.state.tenancy import bind_tenant

__all__ = [
    "ActionsConfig",
    "IntacctResource",
    "KpiConfig",
    "SalesforceResource",
    "StateStoreResource",
    "WorkflowConfig",
    "report_metadata",
    "resources",
    "run_actions",
    "run_kpi",
    "run_order_to_cash",
    "workflow_assets",
]

GROUP = "intacct_sync"


class IntacctResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Intacct Web Services credentials; the company comes from the partition key.

    Pass the passwords as ``dagster.EnvVar("...")``.
    """

    sender_id: str
    # repr=False: a resolved resource's repr (logs, tracebacks) shows no secret.
    sender_password: str = Field(repr=False)
    user_id: str
    user_password: str = Field(repr=False)
    #: company signed in to when the asset is not partitioned
    company_id: str | None = None
    entity_id: str | None = None
    endpoint_url: str | None = None

    def client(self, company_id: str | None = None) -> IntacctClient:
        """A client signed in to ``company_id`` (default: the configured one).

        Args:
            company_id: the company (a partition key); None for the configured one.

        Returns:
            An Intacct client; the caller closes it.
        """
        company = company_id or self.company_id
        if not company:
            raise dg.Failure("IntacctResource: no company (partition key or company_id)")
        return IntacctClient(
            sender_id=self.sender_id,
            sender_password=self.sender_password,
            company_id=company,
            user_id=self.user_id,
            user_password=self.user_password,
            entity_id=self.entity_id,
            endpoint_url=self.endpoint_url,
        )


class SalesforceResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A Salesforce org: an access token, or a connected app's client-credentials flow."""

    instance_url: str
    access_token: str | None = Field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = Field(default=None, repr=False)

    def client(self) -> SalesforceClient:
        """A client for the org.

        Returns:
            A Salesforce client; the caller closes it.
        """
        if self.access_token:
            return SalesforceClient(instance_url=self.instance_url, access_token=self.access_token)
        if not (self.client_id and self.client_secret):
            raise dg.Failure("SalesforceResource: give access_token or client_id+client_secret")
        return SalesforceClient.client_credentials(
            instance_url=self.instance_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
        )


class StateStoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The state store, one per company: ``path`` is a SQLite file whose ``{company}`` is
    replaced by the partition key (a path without it is refused for partitioned runs, so two
    companies never share a ledger).
    """

    path: str

    @contextmanager
    def open(self, company: str | None) -> Iterator[StateStore]:
        """The company's store, closed on exit.

        Args:
            company: the partition's company, or None when the run is not partitioned.

        Yields:
            The company's state store, closed when the block ends.
        """
        if company is not None and "{company}" not in self.path:
            raise dg.Failure(
                "StateStoreResource.path needs a {company} placeholder for partitioned runs"
            )
        store = SQLiteStateStore(self.path.format(company=company or "default"))
        try:
            yield store
        finally:
            store.close()


class WorkflowConfig(dg.Config):
    """Run config every workflow asset takes."""

    #: plan and report, write nothing
    dry_run: bool = False


class ActionsConfig(WorkflowConfig):
    """Run config of the journal-entries asset."""

    #: ``halt`` (default: any invalid action stops the run, nothing posted) or ``skip``
    on_invalid: Literal["halt", "skip"] = "halt"


class KpiConfig(WorkflowConfig):
    """Run config of the KPI asset: the days to record and post (default: today)."""

    start: str | None = None
    end: str | None = None


# -- the adapters: the one place that knows each workflow's entry point ----------------------


def run_actions(
    ia: IntacctClient,
    sf: SalesforceClient,
    state: StateStore,
    *,
    dry_run: bool,
    on_invalid: Literal["halt", "skip"] = "halt",
) -> Report:
    """Workflow 1: CRM actions to journal entries.

    Args:
        ia: the Intacct client.
        sf: the Salesforce client.
        state: the company's state store.
        dry_run: plan and report, write nothing.
        on_invalid: ``halt`` or ``skip``.

    Returns:
        The run's report (a :class:`~intacct_sync.actions.SyncReport`).

    Raises:
        ValidationError: the run halted on invalid actions (``.report`` is the run report).
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    sync = actions.ActionSync(ia, sf, state, on_invalid=on_invalid)
    report: Report = sync.run(dry_run=dry_run)
    return report


def run_kpi(
    ia: IntacctClient,
    sf: SalesforceClient,
    state: StateStore,
    *,
    start: dt.date,
    end: dt.date,
    dry_run: bool,
) -> Report:
    """Workflow 2: daily KPI totals, their changes posted as statistical entries.

    Args:
        ia: the Intacct client.
        sf: the Salesforce client.
        state: the company's state store.
        start: the first day.
        end: the last day.
        dry_run: plan and report, write nothing.

    Returns:
        The posting report (a :class:`~intacct_sync.kpi.PostingReport`).

    Raises:
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    bind_tenant(state, ia)  # the recorded totals are read before the post would check
    gifts = kpi.gifts_from_salesforce(sf)
    totals = kpi.daily_totals(gifts, start=start, end=end)
    changes = kpi.changes(totals, kpi.recorded_totals(state=state))
    report: Report = kpi.post_changes(ia, changes, state=state, dry_run=dry_run)
    if not dry_run:
        kpi.record_totals(totals, state=state, sf=sf)
    return report


def run_order_to_cash(
    ia: IntacctClient, sf: SalesforceClient, state: StateStore, *, dry_run: bool
) -> Report:
    """Workflow 3: masters, Closed Won opportunities to sales orders, invoice status back.

    Args:
        ia: the Intacct client.
        sf: the Salesforce client.
        state: the company's state store.
        dry_run: plan and report, write nothing.

    Returns:
        The run's report (an :class:`~intacct_sync.o2c.OrderToCashRun`).

    Raises:
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    report: Report = o2c.sync_order_to_cash(sf, ia, state, dry_run=dry_run)
    return report


# -- assets ----------------------------------------------------------------------------------


def report_metadata(report: Report) -> dict[str, Any]:
    """A run report as Dagster metadata: summary, rows, counts by status, the first rows.

    Args:
        report: a workflow report.

    Returns:
        Dagster metadata values by name.
    """
    frame = report.to_frame()
    metadata: dict[str, Any] = {
        "summary": report.summary(),
        "rows": len(frame),
        "report": dg.MetadataValue.md(_markdown(frame.head(50))),
    }
    counts = getattr(report, "counts", None)
    if callable(counts):
        counts = counts()
    if not isinstance(counts, Mapping) and "status" in frame.columns:
        counts = frame["status"].astype("string").fillna("").value_counts().to_dict()
    if isinstance(counts, Mapping):
        metadata["counts"] = dg.MetadataValue.json({str(k): int(v) for k, v in counts.items()})
    status = getattr(report, "status", None)
    if isinstance(status, str):
        metadata["status"] = status
    return metadata


def _markdown(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(no rows)"
    text: str = frame.astype("string").fillna("").to_markdown(index=False)
    return text


@contextmanager
def _run(
    context: dg.AssetExecutionContext,
    intacct: IntacctResource,
    salesforce: SalesforceResource,
    state: StateStoreResource,
) -> Iterator[tuple[IntacctClient, SalesforceClient, StateStore]]:
    company = context.partition_key if context.has_partition_key else None
    with (
        intacct.client(company) as ia,
        salesforce.client() as sf,
        state.open(company) as store,
    ):
        yield ia, sf, store


def workflow_assets(
    companies: Sequence[str] | None = None,
    *,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> list[dg.AssetsDefinition]:
    """The three workflow assets, partitioned by company.

    Args:
        companies: Intacct company ids (a ``StaticPartitionsDefinition`` of them).
        partitions_def: your own (e.g. ``DynamicPartitionsDefinition(name="companies")``
            for a fleet that grows); overrides ``companies``. Neither: not partitioned, the
            Intacct resource's ``company_id`` is used.

    Returns:
        The assets: journal entries, KPI statistical entries and order to cash.
    """
    parts = partitions_def
    if parts is None and companies is not None:
        parts = dg.StaticPartitionsDefinition(list(companies))

    @dg.asset(name="journal_entries", group_name=GROUP, partitions_def=parts)
    def journal_entries(
        context: dg.AssetExecutionContext,
        config: ActionsConfig,
        intacct: IntacctResource,
        salesforce: SalesforceResource,
        state: StateStoreResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """CRM actions posted as journal entries (exactly once per action).

        A halt on invalid actions fails the materialization, with the run report as the
        failure's metadata: nothing was posted and the actions need review in the CRM.
        """
        with _run(context, intacct, salesforce, state) as (ia, sf, store):
            try:
                report = run_actions(
                    ia, sf, store, dry_run=config.dry_run, on_invalid=config.on_invalid
                )
            except ValidationError as exc:
                halted = exc.report if isinstance(exc.report, Report) else None
                raise dg.Failure(
                    description=str(exc),
                    metadata=report_metadata(halted) if halted is not None else None,
                ) from exc
        return dg.MaterializeResult(metadata=report_metadata(report))

    @dg.asset(name="kpi_statistical_entries", group_name=GROUP, partitions_def=parts)
    def kpi_statistical_entries(
        context: dg.AssetExecutionContext,
        config: KpiConfig,
        intacct: IntacctResource,
        salesforce: SalesforceResource,
        state: StateStoreResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Daily KPI changes posted as statistical journal entries."""
        today = dt.datetime.now(dt.UTC).date()
        end = dt.date.fromisoformat(config.end) if config.end else today
        start = dt.date.fromisoformat(config.start) if config.start else end
        with _run(context, intacct, salesforce, state) as (ia, sf, store):
            report = run_kpi(ia, sf, store, start=start, end=end, dry_run=config.dry_run)
        return dg.MaterializeResult(metadata=report_metadata(report))

    @dg.asset(name="order_to_cash", group_name=GROUP, partitions_def=parts)
    def order_to_cash(
        context: dg.AssetExecutionContext,
        config: WorkflowConfig,
        intacct: IntacctResource,
        salesforce: SalesforceResource,
        state: StateStoreResource,
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Masters kept in step, Closed Won opportunities as sales orders, invoices back."""
        with _run(context, intacct, salesforce, state) as (ia, sf, store):
            report = run_order_to_cash(ia, sf, store, dry_run=config.dry_run)
        return dg.MaterializeResult(metadata=report_metadata(report))

    return [journal_entries, kpi_statistical_entries, order_to_cash]


def resources(
    *,
    intacct: IntacctResource,
    salesforce: SalesforceResource,
    state: StateStoreResource,
) -> dict[str, Any]:
    """The resource keys the assets ask for.

    Args:
        intacct: the Intacct resource.
        salesforce: the Salesforce resource.
        state: the state store resource.

    Returns:
        The resources by the keys the assets ask for (``intacct``, ``salesforce``, ``state``).
    """
    return {"intacct": intacct, "salesforce": salesforce, "state": state}

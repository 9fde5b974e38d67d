"""Invoice and payment status back to the CRM, and an AR aging summary on each Account.

:func:`plan_invoices` reads the ``ARINVOICE`` rows modified since the watermark, every open
invoice (their days overdue change daily) and the invoices of customers with an ``ARPYMT`` since
the watermark, and plans one ``Intacct_Invoice__c`` upsert per invoice whose CRM copy differs
(keyed by ``Invoice_Number__c``, linked to the Account through the id map or
``Account.Intacct_Customer_ID__c``), plus the ``AR_*`` aging fields of each linked Account.
:func:`apply_invoices` writes them; a rerun with nothing changed writes nothing.

Aging buckets are by days past due of each open invoice's balance (``TOTALDUE``): current (not
yet due), 1-30, 31-60, 61-90, 91-120, over 120.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.filters import query_string
from intacct_sync.intacct.models import ARInvoice
from intacct_sync.o2c import timestamps
from intacct_sync.o2c.timestamps import to_utc
from intacct_sync.reports import Report, Scope, counts_text, plural
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import StateStore
from intacct_sync.state.tenancy import bind_tenant

__all__ = [
    "AGING_FIELDS",
    "InvoicesPlan",
    "InvoicesReport",
    "InvoicesStatus",
    "aging_bucket",
    "apply_invoices",
    "plan_invoices",
]

log = logging.getLogger("intacct_sync.o2c.invoices")

#: Account fields of the aging summary, in bucket order.
AGING_FIELDS = (
    "AR_Current__c",
    "AR_1_30__c",
    "AR_31_60__c",
    "AR_61_90__c",
    "AR_91_120__c",
    "AR_Over_120__c",
)
WATERMARK = "o2c.invoices.intacct"
_STATES = {"Draft", "Posted", "Partially Paid", "Paid", "Reversed"}
_INVOICE_FIELDS = (
    "Name",
    "Account__c",
    "Invoice_Date__c",
    "Due_Date__c",
    "Paid_Date__c",
    "Total__c",
    "Paid__c",
    "Due__c",
    "State__c",
    "Days_Overdue__c",
    "Sales_Order__c",
    "Intacct_Record_No__c",
)
CENT = Decimal("0.01")
_ROW_KINDS: dict[str, frames.Kind] = {
    "invoice": "text",
    "customer_id": "text",
    "account_id": "text",
    "state": "text",
    "total": "decimal",
    "due": "decimal",
    "days_overdue": "integer",
    "action": "text",
}


def aging_bucket(days_overdue: int) -> str:
    """The Account field an open balance ``days_overdue`` past due counts in.

    >>> aging_bucket(0), aging_bucket(30), aging_bucket(31), aging_bucket(121)
    ('AR_Current__c', 'AR_1_30__c', 'AR_31_60__c', 'AR_Over_120__c')

    Args:
        days_overdue: days past due (0 or less: current).

    Returns:
        The name of the Account aging field.
    """
    for limit, name in zip((0, 30, 60, 90, 120), AGING_FIELDS, strict=False):
        if days_overdue <= limit:
            return name
    return AGING_FIELDS[-1]


def _na(value: Any) -> Any:
    return None if value is pd.NA or value is pd.NaT else value


def _canon(value: Any) -> str | None:
    value = _na(value)
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        amount = frames.parse_decimal(value if not isinstance(value, float) else repr(value))
        return None if amount is None else format(amount.quantize(CENT), "f")
    return str(value).strip() or None


@attrs.frozen(kw_only=True, repr=False)
class InvoicesPlan(Report):
    """Invoice rows and Account aging fields to write (frozen data; :func:`apply_invoices`).

    ``to_frame()``: one row per invoice read (invoice, customer, account, state, total, due,
    days_overdue, action ``upsert``/``unchanged``/``no account``).

    Attributes:
        invoices: the ``ARINVOICE`` rows read (each with its ``_model``, an ``ARInvoice``).
        upserts: the ``Intacct_Invoice__c`` records to upsert by ``Invoice_Number__c``.
        account_updates: the Accounts whose aging fields change (Id and the six fields).
        rows: the report rows (see ``to_frame()``).
        watermark: the watermark set when every write succeeded.
        scope: the Intacct company and entity the invoices were read in.
    """

    invoices: tuple[Mapping[str, Any], ...] = ()
    upserts: tuple[Mapping[str, Any], ...] = ()
    account_updates: tuple[Mapping[str, Any], ...] = ()
    rows: tuple[Mapping[str, Any], ...] = ()
    watermark: dt.datetime | None = None
    scope: Scope = attrs.field(factory=Scope)

    def aging(self) -> pd.DataFrame:
        """The aging summary per Account written by this plan (Account Id and the six fields).

        Returns:
            A DataFrame with one row per Account.
        """
        kinds: dict[str, frames.Kind] = {"Id": "text", **{f: "decimal" for f in AGING_FIELDS}}
        return frames.frame_from_records(self.account_updates, kinds)

    def to_frame(self) -> pd.DataFrame:
        """One row per invoice read.

        Returns:
            A DataFrame with one row per invoice.
        """
        return frames.frame_from_records(self.rows, _ROW_KINDS)

    def counts(self) -> str:
        """What will be written, in words (the summary without the scope).

        Returns:
            A phrase, for a person.
        """
        unlinked = sum(1 for r in self.rows if r["action"] == "no account")
        return (
            f"Invoices: {len(self.rows):,} read, {len(self.upserts):,} to upsert, "
            f"{plural(len(self.account_updates), 'account aging update')}, "
            f"{unlinked:,} without an account"
        )

    def summary(self) -> str:
        """What will be written, and the Intacct company and entity read.

        Returns:
            One line, for a person.
        """
        return self.scope.after(self.counts())


# How the summary names what it wrote (the objects' API names are in the frame).
_OBJECT_WORDS = {"Intacct_Invoice__c": "invoice copies (Intacct_Invoice__c)", "Account": "Accounts"}

#: ``done``: every record written; ``failed``: some were refused (see ``failed``; the watermark
#: stays, so the next run tries them again).
InvoicesStatus = Literal["done", "failed"]


@attrs.frozen(kw_only=True, repr=False)
class InvoicesReport(Report):
    """What :func:`apply_invoices` wrote; ``to_frame()`` and ``aging()`` are the plan's.

    Attributes:
        plan: the plan applied.
        written: object -> records written (``Intacct_Invoice__c``, ``Account``).
        failed: one row per refused record (object, key, status, errors).
    """

    plan: InvoicesPlan
    written: Mapping[str, int]
    failed: tuple[Mapping[str, Any], ...] = ()

    @property
    def status(self) -> InvoicesStatus:
        """``done`` or ``failed`` (see :data:`InvoicesStatus`)."""
        return "failed" if self.failed else "done"

    @property
    def upserts(self) -> tuple[Mapping[str, Any], ...]:
        """The plan's invoice upserts."""
        return self.plan.upserts

    @property
    def account_updates(self) -> tuple[Mapping[str, Any], ...]:
        """The plan's Account aging updates."""
        return self.plan.account_updates

    def aging(self) -> pd.DataFrame:
        """The plan's aging summary per Account.

        Returns:
            A DataFrame with one row per Account.
        """
        return self.plan.aging()

    def to_frame(self) -> pd.DataFrame:
        """One row per invoice read (the plan's).

        Returns:
            A DataFrame with one row per invoice.
        """
        return self.plan.to_frame()

    @property
    def scope(self) -> Scope:
        """The Intacct company and entity the invoices were read in (the plan's)."""
        return self.plan.scope

    def summary(self) -> str:
        """What was planned, what was written, and the Intacct company and entity.

        Returns:
            One line, for a person.
        """
        written = counts_text(
            {_OBJECT_WORDS.get(k, k): n for k, n in self.written.items()}, empty="nothing"
        )
        return self.scope.after(f"{self.plan.counts()}; written: {written}")

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-able document: summary, scope, status, written, refusals.

        Returns:
            A dict that ``json.dumps`` can write.
        """
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "status": self.status,
            "written": dict(self.written),
            "failed": [dict(f) for f in self.failed],
        }


def apply_invoices(plan: InvoicesPlan, sf: SalesforceClient, state: StateStore) -> InvoicesReport:
    """Upsert the invoices (by ``Invoice_Number__c``) and update the Accounts' aging.

    Both writes are idempotent; the watermark moves only when every record succeeded.

    Args:
        plan: from :func:`plan_invoices`.
        sf: the Salesforce client.
        state: the state store (the watermark ``o2c.invoices.intacct``).

    Returns:
        An :class:`InvoicesReport`; ``status`` is ``failed`` when a record was refused.
    """
    written = {"Intacct_Invoice__c": 0, "Account": 0}
    failed: list[dict[str, Any]] = []
    writes: list[tuple[str, list[dict[str, Any]], Callable[[list[dict[str, Any]]], pd.DataFrame]]]
    writes = [
        (
            "Intacct_Invoice__c",
            [dict(r) for r in plan.upserts],
            lambda records: sf.upsert(
                "Intacct_Invoice__c", records, external_id_field="Invoice_Number__c"
            ),
        ),
        ("Account", [dict(r) for r in plan.account_updates], lambda r: sf.update("Account", r)),
    ]
    key_field = {"Intacct_Invoice__c": "Invoice_Number__c", "Account": "Id"}
    for obj, records, call in writes:
        if not records:
            continue
        for row in frames.frame_to_records(call(records)):
            if row.get("done"):
                written[obj] += 1
                continue
            failed.append(
                {
                    "object": obj,
                    "key": records[int(row["row"])][key_field[obj]],
                    "status": row.get("status"),
                    "errors": row.get("errors"),
                }
            )
    if not failed and plan.watermark is not None:
        state.set_watermark(WATERMARK, plan.watermark)
    return InvoicesReport(plan=plan, written=written, failed=tuple(failed))


def plan_invoices(
    sf: SalesforceClient,
    ia: IntacctClient,
    state: StateStore,
    *,
    today: dt.date | None = None,
    intacct_timezone: str = "UTC",
) -> InvoicesPlan:
    """Plan invoice status and AR aging for the CRM.

    Args:
        sf: the Salesforce client.
        ia: the Intacct client.
        state: the state store (watermark ``o2c.invoices.intacct``, id map).
        today: the day days overdue are counted to (default: today, UTC).
        intacct_timezone: the zone of Intacct's naive ``WHENMODIFIED``.

    Returns:
        An :class:`InvoicesPlan`.

    >>> plan = plan_invoices(sf, ia, state)  # doctest: +SKIP
    >>> plan.aging()  # doctest: +SKIP

    Raises:
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    bind_tenant(state, ia)
    day = today or dt.datetime.now(dt.UTC).date()
    zone = timestamps.zone(intacct_timezone)
    since = state.get_watermark(WATERMARK)
    frame = _read_invoices(ia, since, zone)
    stamps = (
        [to_utc(v, zone) for v in frame["WHENMODIFIED"].tolist() if _na(v) is not None]
        if len(frame)
        else []
    )
    invoices = [
        {**row, "_model": ARInvoice.from_row(row)} for row in frames.frame_to_records(frame)
    ]
    # Every open invoice counts towards the aging, whatever the watermark says.
    accounts = _accounts(sf, state)
    orders = _sales_orders(ia, [i["_model"].invoice_no for i in invoices])
    existing = _existing(sf, [i["_model"].invoice_no for i in invoices])
    upserts: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    aging: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {f: Decimal("0.00") for f in AGING_FIELDS}
    )
    for inv in invoices:
        model: ARInvoice = inv["_model"]
        account = accounts.get(model.customer_id)
        days = model.days_overdue(day)
        open_balance = model.total_due > 0 and model.state not in ("Paid", "Reversed", "Draft")
        if account and open_balance:
            bucket = aging_bucket(days if model.due and model.due < day else 0)
            aging[account][bucket] += model.total_due
        record = {
            "Invoice_Number__c": model.invoice_no,
            "Name": model.invoice_no,
            "Account__c": account,
            "Invoice_Date__c": model.created,
            "Due_Date__c": model.due,
            "Paid_Date__c": model.paid,
            "Total__c": model.total,
            "Paid__c": model.total_paid,
            "Due__c": model.total_due,
            "State__c": model.state if model.state in _STATES else None,
            "Days_Overdue__c": days,
            "Sales_Order__c": orders.get(model.invoice_no),
            "Intacct_Record_No__c": str(model.record_no),
        }
        action = "no account" if account is None else "unchanged"
        if account is not None:
            current = existing.get(model.invoice_no)
            if current is None or any(
                _canon(record[f]) != _canon(current.get(f)) for f in _INVOICE_FIELDS
            ):
                upserts.append(record)
                action = "upsert"
        rows.append(
            {
                "invoice": model.invoice_no,
                "customer_id": model.customer_id,
                "account_id": account,
                "state": model.state,
                "total": model.total,
                "due": model.total_due,
                "days_overdue": days,
                "action": action,
            }
        )
    account_updates = _aging_updates(sf, accounts, aging)
    return InvoicesPlan(
        invoices=tuple(invoices),
        upserts=tuple(upserts),
        account_updates=tuple(account_updates),
        rows=tuple(rows),
        watermark=max((s for s in stamps if s is not None), default=since),
        scope=Scope.of(ia),
    )


def _read_invoices(ia: IntacctClient, since: dt.datetime | None, zone: ZoneInfo) -> pd.DataFrame:
    if since is None:
        return ia.read_by_query("ARINVOICE")
    local = since.astimezone(zone).replace(tzinfo=None)
    # Payments are not linked to invoices: a customer with a new payment gets all of its
    # invoices re-read.
    payments = ia.read_by_query(
        "ARPYMT", query_string("WHENMODIFIED >= {}", local), fields=["CUSTOMERID"]
    )
    payers = sorted({str(c) for c in payments["CUSTOMERID"].dropna().tolist()})
    query = query_string("WHENMODIFIED >= {} OR TOTALDUE > {}", local, Decimal(0))
    if payers:
        query = "(" + query + ") OR " + query_string("CUSTOMERID IN {}", payers)
    return ia.read_by_query("ARINVOICE", query)


def _accounts(sf: SalesforceClient, state: StateStore) -> dict[str, str]:
    """Intacct customer id -> Salesforce Account Id (id map first, then the external id)."""
    found: dict[str, str] = {}
    frame = sf.query(
        "SELECT Id, Intacct_Customer_ID__c FROM Account WHERE Intacct_Customer_ID__c != null"
    )
    for r in frames.frame_to_records(frame):
        found[str(r["Intacct_Customer_ID__c"])] = str(r["Id"])
    for m in state.id_map("Account"):
        found[m.intacct_id] = m.salesforce_id
    return found


def _sales_orders(ia: IntacctClient, invoice_numbers: Iterable[str]) -> dict[str, str]:
    """Invoice number -> the sales order it was converted from (``SODOCUMENT.CREATEDFROM``)."""
    numbers = sorted(set(invoice_numbers))
    if not numbers:
        return {}
    docs = ia.read_by_query(
        "SODOCUMENT", "CREATEDFROM IS NOT NULL", fields=["DOCID", "DOCNO", "CREATEDFROM"]
    )
    out: dict[str, str] = {}
    wanted = set(numbers)
    for r in frames.frame_to_records(docs):
        for key in (str(r["DOCNO"]), str(r["DOCID"])):
            if key in wanted:
                out[key] = str(r["CREATEDFROM"])
    return out


def _existing(sf: SalesforceClient, numbers: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    fields = ", ".join(("Invoice_Number__c", *_INVOICE_FIELDS))
    for start in range(0, len(numbers), 300):
        chunk = numbers[start : start + 300]
        frame = sf.query(
            f"SELECT {fields} FROM Intacct_Invoice__c WHERE "
            + soql("Invoice_Number__c IN {}", chunk)
        )
        for r in frames.frame_to_records(frame):
            out[str(r["Invoice_Number__c"])] = r
    return out


def _aging_updates(
    sf: SalesforceClient, accounts: Mapping[str, str], aging: Mapping[str, Mapping[str, Decimal]]
) -> list[dict[str, Any]]:
    ids = sorted(set(accounts.values()))
    updates: list[dict[str, Any]] = []
    fields = ", ".join(("Id", *AGING_FIELDS))
    for start in range(0, len(ids), 300):
        chunk = ids[start : start + 300]
        frame = sf.query(f"SELECT {fields} FROM Account WHERE " + soql("Id IN {}", chunk))
        for r in frames.frame_to_records(frame):
            want = aging.get(str(r["Id"])) or {f: Decimal("0.00") for f in AGING_FIELDS}
            if any(_canon(want[f]) != _canon(r.get(f) or Decimal(0)) for f in AGING_FIELDS):
                updates.append({"Id": str(r["Id"]), **{f: want[f] for f in AGING_FIELDS}})
    return updates

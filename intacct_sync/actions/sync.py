"""The nightly sync of CRM actions to Intacct journal entries, with a persisted watermark.

:class:`ActionSync` reads the ``Action__c`` records created after the watermark
``last_sync_at``, validates them, builds one journal entry per valid action, posts them once
each (see :func:`intacct_sync.actions.journals.post`), writes ``Intacct_Posted__c`` and
``Intacct_Record_No__c`` back to the CRM, flags invalid actions ``System Needs Review``, and
moves the watermark forward.

The watermark rule
------------------

A run reads the actions with ``CreatedDate`` strictly after ``W`` (the stored watermark, or
``since`` when given). Each action read ends *settled* (posted by this run, already posted,
or excluded) or *unsettled* (invalid, failed, still pending, or held back because the run
halted). The new watermark is the latest ``CreatedDate`` of the actions read that is earlier
than every unsettled action's ``CreatedDate`` (all of them when none is unsettled). So the
watermark never passes an action that was not posted: the next run reads it again, and the
settled actions it reads again are recognised as already posted (ledger, or
``Intacct_Posted__c``) and not posted twice. The watermark never moves backwards, nothing moves
it in a dry run, and a run given a ``since`` later than the stored watermark leaves it alone
(that window cannot vouch for the actions before ``since``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.actions.catalog import (
    ACTION_FIELDS,
    NEEDS_REVIEW,
    TagSettings,
    ValidationReport,
    build_catalog,
    validate,
)
from intacct_sync.actions.journals import (
    ACTIONS_WORKFLOW,
    DEFAULT_ACTIONS_JOURNAL,
    DESCRIPTION_LIMIT,
    JournalPlan,
    OnInvalid,
    PostingMode,
    PostReport,
    from_actions,
    post,
)
from intacct_sync.errors import InputError, ValidationError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.reports import Report
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import StateStore

__all__ = [
    "ActionSync",
    "OUTCOMES",
    "SyncReport",
    "WATERMARK",
    "next_watermark",
]

log = logging.getLogger("intacct_sync.actions.sync")

#: Name of the watermark in the state store.
WATERMARK = "actions.last_sync_at"
#: What can happen to an action in a run.
OUTCOMES = (
    "posted",  # posted by this run
    "already_posted",  # posted before (ledger or Intacct_Posted__c); nothing sent
    "excluded",  # carries the exclusion tag
    "invalid",  # failed validation; flagged System Needs Review
    "held",  # valid, but the run halted on invalid actions
    "failed",  # Intacct refused the entry
    "pending",  # sent without a known outcome (see IncompleteWriteError)
    "would_post",  # dry run: would be posted
)
_SETTLED = frozenset({"posted", "already_posted", "excluded"})
_ACTION_ROWS: Mapping[str, frames.Kind] = {
    "action_id": "text",
    "name": "text",
    "CreatedDate": "timestamp",
    "outcome": "text",
    "RECORDNO": "text",
    "message": "text",
}


def next_watermark(
    created: Iterable[tuple[dt.datetime, bool]], current: dt.datetime | None
) -> dt.datetime | None:
    """The watermark after a run, from each action read: ``(CreatedDate, settled)``.

    See the module's watermark rule. ``current`` is returned when nothing moves it forward.

    >>> t = [dt.datetime(2026, 1, d, tzinfo=dt.UTC) for d in (1, 2, 3)]
    >>> next_watermark([(t[0], True), (t[1], False), (t[2], True)], None).day
    1
    >>> next_watermark([(t[0], True), (t[2], True)], t[1]).day
    3
    """
    rows = list(created)
    unsettled = [c for c, ok in rows if not ok]
    limit = min(unsettled) if unsettled else None
    candidates = [c for c, _ in rows if limit is None or c < limit]
    if not candidates:
        return current
    best = max(candidates)
    if current is not None and best <= current:
        return current
    return best


@attrs.frozen(kw_only=True, eq=False)
class SyncReport(Report):
    """What one :meth:`ActionSync.run` did.

    Attributes:
        started_at: when the run started (UTC).
        since: the lower bound used (``CreatedDate`` strictly after it), None = everything.
        watermark_before: the stored watermark before the run.
        watermark_after: the stored watermark after the run.
        mode: ``individual`` or ``batch``.
        on_invalid: ``halt`` or ``skip``.
        dry_run: True when nothing was written anywhere.
        halted: True when the run stopped on invalid actions (nothing posted).
        actions: one row per action read: ``action_id``, ``name``, ``CreatedDate``,
            ``outcome`` (see :data:`OUTCOMES`), ``RECORDNO``, ``message``.
        validation: the validation report of the actions not already posted.
        plan: the entries built (None when the run halted).
        crm_failures: CRM updates (write-back, flags) that failed; retried by the next run.
    """

    started_at: dt.datetime
    since: dt.datetime | None
    watermark_before: dt.datetime | None
    watermark_after: dt.datetime | None
    mode: str
    on_invalid: str
    dry_run: bool
    halted: bool
    actions: pd.DataFrame
    validation: ValidationReport | None
    plan: JournalPlan | None = None
    crm_failures: int = 0

    def count(self, outcome: str) -> int:
        """Actions with ``outcome``."""
        return int((self.actions["outcome"] == outcome).sum())

    @property
    def counts(self) -> dict[str, int]:
        """Every outcome's count, plus ``read``."""
        counts = {"read": len(self.actions)}
        counts.update({o: self.count(o) for o in OUTCOMES})
        return counts

    @property
    def issues(self) -> pd.DataFrame:
        """The validation issues (empty when there were none)."""
        if self.validation is None:
            return pd.DataFrame(columns=["action_id", "name", "rule", "field", "value", "message"])
        return self.validation.issues

    def to_frame(self) -> pd.DataFrame:
        """Actions that need attention (invalid, failed, pending); all of them in a dry run."""
        if self.dry_run:
            return self.actions
        keep = ~self.actions["outcome"].isin([*_SETTLED, "held"])
        return self.actions[keep].reset_index(drop=True)

    def summary(self) -> str:
        """One line: what happened and where the watermark is."""
        c = self.counts
        verb = "would post" if self.dry_run else "posted"
        posted = c["would_post"] if self.dry_run else c["posted"]
        state = "HALTED: nothing posted; " if self.halted else ""
        return (
            f"{state}{c['read']:,} action(s) read since {_when(self.since)}: {posted:,} {verb}, "
            f"{c['already_posted']:,} already posted, {c['excluded']:,} excluded, "
            f"{c['invalid']:,} invalid, {c['failed']:,} failed, {c['pending']:,} pending"
            + (f", {c['held']:,} held" if c["held"] else "")
            + f"; watermark {_when(self.watermark_before)} -> {_when(self.watermark_after)}"
            + (f"; {self.crm_failures} CRM update(s) failed" if self.crm_failures else "")
        )

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON-able document (the CLI's ``--format json``)."""
        return {
            "started_at": self.started_at.isoformat(),
            "since": _iso(self.since),
            "watermark_before": _iso(self.watermark_before),
            "watermark_after": _iso(self.watermark_after),
            "mode": self.mode,
            "on_invalid": self.on_invalid,
            "dry_run": self.dry_run,
            "halted": self.halted,
            "counts": self.counts,
            "crm_failures": self.crm_failures,
            "issues": _records(self.issues),
            "actions": _records(self.actions),
        }


def _when(value: dt.datetime | None) -> str:
    return "the beginning" if value is None else value.isoformat(timespec="seconds")


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for record in frames.frame_to_records(frame):
        out.append(
            {
                k: (v.isoformat() if isinstance(v, dt.datetime | dt.date) else v)
                for k, v in record.items()
            }
        )
    return out


class ActionSync:
    """The nightly CRM actions -> Intacct journal entries run.

    >>> sync = ActionSync(ia, sf, SQLiteStateStore())  # doctest: +SKIP
    >>> report = sync.run()  # doctest: +SKIP

    Args:
        ia: Intacct client.
        sf: Salesforce client.
        state: state store (watermark and ledger).
        settings: per-attribute tag modes.
        catalog: the tag catalog; read from Intacct on first use when None.
        journal: journal symbol of the entries.
        mode: ``individual`` (dated by ``Happened_At__c``) or ``batch`` (dated by the run).
        on_invalid: ``halt`` (default: nothing posted when any action is invalid) or ``skip``
            (post the valid ones, report the rest).
        description_limit: longest entry description.
        timezone: time zone entry dates are taken in.
        watermark: the watermark's name in the state store.
        clock: returns "now" (timezone-aware); for tests.
    """

    def __init__(
        self,
        ia: IntacctClient,
        sf: SalesforceClient,
        state: StateStore,
        *,
        settings: TagSettings | None = None,
        catalog: pd.DataFrame | None = None,
        journal: str = DEFAULT_ACTIONS_JOURNAL,
        mode: PostingMode = "individual",
        on_invalid: OnInvalid = "halt",
        description_limit: int = DESCRIPTION_LIMIT,
        timezone: str | dt.tzinfo = "UTC",
        watermark: str = WATERMARK,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        if mode not in ("individual", "batch"):
            raise InputError("mode is 'individual' or 'batch'", field="mode", value=mode)
        if on_invalid not in ("halt", "skip"):
            raise InputError("on_invalid is 'halt' or 'skip'", field="on_invalid", value=on_invalid)
        self.ia = ia
        self.sf = sf
        self.state = state
        self.settings = settings or TagSettings()
        self._catalog = catalog
        self.journal = journal
        self.mode: PostingMode = mode
        self.on_invalid: OnInvalid = on_invalid
        self.description_limit = description_limit
        self.timezone = timezone
        self.watermark = watermark
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def __repr__(self) -> str:
        return (
            f"ActionSync(journal={self.journal!r}, mode={self.mode!r}, "
            f"on_invalid={self.on_invalid!r}, last_sync_at={self.last_sync_at!r})"
        )

    @property
    def last_sync_at(self) -> dt.datetime | None:
        """The stored watermark (UTC), None before the first run."""
        return self.state.get_watermark(self.watermark)

    @property
    def catalog(self) -> pd.DataFrame:
        """The tag catalog (read from Intacct once, then kept)."""
        if self._catalog is None:
            self._catalog = build_catalog(self.ia, self.settings)
        return self._catalog

    def load_actions(self, since: dt.datetime | None = None) -> pd.DataFrame:
        """``Action__c`` records created strictly after ``since`` (all when None), oldest first.

        ``Tags__c`` is a long text area, which SOQL cannot filter; tags are read in pandas.
        """
        select = ", ".join(ACTION_FIELDS)
        if since is None:
            query = f"SELECT {select} FROM Action__c ORDER BY CreatedDate, Id"
        else:
            if since.tzinfo is None:
                raise InputError("since must be timezone-aware", field="since", value=since)
            query = soql(
                f"SELECT {select} FROM Action__c WHERE CreatedDate > {{}} ORDER BY CreatedDate, Id",
                since.replace(microsecond=0),
            )
        actions = self.sf.query(query)
        if since is not None:
            # SOQL literals stop at the second; keep the comparison exact.
            actions = actions[actions["CreatedDate"] > pd.Timestamp(since)].reset_index(drop=True)
        return actions

    def run(self, *, since: dt.datetime | None = None, dry_run: bool = False) -> SyncReport:
        """Sync the actions created after the watermark (or ``since``).

        Args:
            since: read actions created strictly after this instead of the watermark.
            dry_run: build and report, but post nothing and write nothing (CRM, ledger,
                watermark).

        Returns:
            A :class:`SyncReport`.

        Raises:
            ValidationError: ``on_invalid="halt"`` and some actions are invalid; nothing was
                posted, the invalid actions were flagged ``System Needs Review`` (unless
                ``dry_run``) and ``.report`` is the :class:`SyncReport`.
            IncompleteWriteError: posting stopped part way; rerun to finish.
        """
        started = self._clock()
        before = self.last_sync_at
        window = since if since is not None else before
        actions = self.load_actions(window)
        ledger_posted = {
            e.source_id: e.record_no
            for e in self.state.ledger(ACTIONS_WORKFLOW)
            if e.status == "posted"
        }
        crm_posted = actions["Intacct_Posted__c"].fillna(False).astype(bool)
        in_ledger = actions["Id"].isin(list(ledger_posted))
        done = crm_posted | in_ledger
        outcome: dict[str, str] = {}
        record_no: dict[str, str | None] = {}
        message: dict[str, str | None] = {}
        for action_id, crm_no in zip(
            actions.loc[done, "Id"].tolist(),
            actions.loc[done, "Intacct_Record_No__c"].tolist(),
            strict=True,
        ):
            outcome[action_id] = "already_posted"
            record_no[action_id] = ledger_posted.get(action_id) or _text(crm_no)
        # Posted per the ledger but not yet marked in the CRM (a run stopped after posting).
        repair = actions[in_ledger & ~crm_posted]
        todo = actions[~done].reset_index(drop=True)
        report = validate(todo, self.catalog, self.settings)
        for action_id in report.excluded_ids:
            outcome[action_id] = "excluded"
        issues = report.issues.groupby("action_id", sort=False)["message"].agg("; ".join)
        for action_id, text in issues.items():
            outcome[str(action_id)] = "invalid"
            message[str(action_id)] = str(text)
        failures = 0
        if not dry_run:
            failures += self._flag_invalid(todo, report)
            failures += self._write_back(
                {str(i): ledger_posted.get(str(i)) for i in repair["Id"].tolist()}
            )
        halted = not report.ok and self.on_invalid == "halt"
        plan: JournalPlan | None = None
        if halted:
            for action_id in report.valid["action_id"].tolist():
                outcome[action_id] = "held"
        else:
            plan = from_actions(
                report,
                journal=self.journal,
                mode=self.mode,
                run_started=started,
                on_invalid="skip",
                description_limit=self.description_limit,
                timezone=self.timezone,
            )
            if dry_run:
                for action_id in plan.source_ids:
                    outcome[action_id] = "would_post"
            else:
                posted = post(self.ia, plan, self.state)
                failures += self._apply(posted, outcome, record_no, message)
        after = before
        covers = since is None or before is None or since <= before
        if not dry_run and covers:
            settled = [
                (ts.to_pydatetime(), outcome.get(action_id) in _SETTLED)
                for action_id, ts in zip(
                    actions["Id"].tolist(), actions["CreatedDate"].tolist(), strict=True
                )
            ]
            after = next_watermark(settled, before)
            if after is not None and after != before:
                self.state.set_watermark(self.watermark, after)
        rows = [
            {
                "action_id": action_id,
                "name": _text(name),
                "CreatedDate": created,
                "outcome": outcome.get(action_id, "pending"),
                "RECORDNO": record_no.get(action_id),
                "message": message.get(action_id),
            }
            for action_id, name, created in zip(
                actions["Id"].tolist(),
                actions["Name"].tolist(),
                actions["CreatedDate"].tolist(),
                strict=True,
            )
        ]
        result = SyncReport(
            started_at=started.astimezone(dt.UTC),
            since=window,
            watermark_before=before,
            watermark_after=after,
            mode=self.mode,
            on_invalid=self.on_invalid,
            dry_run=dry_run,
            halted=halted,
            actions=frames.frame_from_records(rows, _ACTION_ROWS),
            validation=report,
            plan=plan,
            crm_failures=failures,
        )
        log.info("%s", result.summary())
        if halted:
            raise ValidationError(
                f"{len(report.invalid_ids)} invalid action(s); nothing was posted. "
                f"{result.summary()}",
                report=result,
            )
        return result

    # -- CRM writes ------------------------------------------------------------------------

    def _flag_invalid(self, todo: pd.DataFrame, report: ValidationReport) -> int:
        invalid = set(report.invalid_ids)
        status = todo["Status__c"].astype("string")
        need = todo[todo["Id"].isin(list(invalid)) & (status.fillna("") != NEEDS_REVIEW)]
        if need.empty:
            return 0
        outcome = self.sf.update(
            "Action__c", [{"Id": i, "Status__c": NEEDS_REVIEW} for i in need["Id"].tolist()]
        )
        return _failed(outcome, "flag invalid actions")

    def _write_back(self, posted: Mapping[str, str | None]) -> int:
        if not posted:
            return 0
        records = [
            {
                "Id": action_id,
                "Intacct_Posted__c": True,
                "Intacct_Record_No__c": number,
                "Status__c": "Posted",
            }
            for action_id, number in posted.items()
        ]
        outcome = self.sf.update("Action__c", records)
        return _failed(outcome, "write back posted actions")

    def _apply(
        self,
        posted: PostReport,
        outcome: dict[str, str],
        record_no: dict[str, str | None],
        message: dict[str, str | None],
    ) -> int:
        newly: dict[str, str | None] = {}
        for row in frames.frame_to_records(posted.outcomes):
            action_id = str(row["source_id"])
            status = str(row["status"])
            record_no[action_id] = row["RECORDNO"]
            if row["errors"]:
                message[action_id] = str(row["errors"])
            if status == "posted":
                outcome[action_id] = "posted"
                newly[action_id] = row["RECORDNO"]
            elif status == "already_posted":
                outcome[action_id] = "already_posted"
            else:
                outcome[action_id] = status
        return self._write_back(newly)


def _failed(outcome: pd.DataFrame, what: str) -> int:
    bad = outcome[~outcome["success"].fillna(False).astype(bool)]
    if len(bad):
        log.warning("%s: %d CRM update(s) failed: %s", what, len(bad), bad["errors"].tolist()[:5])
    return len(bad)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value) or None

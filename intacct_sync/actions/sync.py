"""The nightly sync of CRM actions to Intacct journal entries, with a persisted watermark.

:class:`ActionSync` reads the ``Action__c`` records created after the watermark
``last_sync_at``, validates them, builds one journal entry per valid action, posts them once
each (see :func:`intacct_sync.actions.journals.post`), writes ``Intacct_Posted__c`` and
``Intacct_Record_No__c`` back to the CRM, flags invalid actions ``System Needs Review``, and
moves the watermark forward.

The watermark rule
------------------

A run reads the actions with ``CreatedDate`` strictly after ``W - overlap`` (``W`` the stored
watermark; ``overlap`` one hour unless told otherwise), or strictly after ``since`` when given.
The overlap is read again on purpose: ``CreatedDate`` is stamped when a record's transaction
starts, not when it commits, so an action committed after a run can carry a ``CreatedDate``
just before (or equal to) that run's watermark; the overlap reads it, and the actions read
again are recognised by the posting engine (ledger and content hash) and not posted twice.

Each action read ends *settled* (posted by this run, already posted, or excluded) or
*unsettled* (invalid, refused, failed, drift, still pending, or held back because the run
halted). The new watermark is the latest ``CreatedDate`` of the actions read that is earlier
than every unsettled action's ``CreatedDate`` (all of them when none is unsettled) **and not
later than the run's start**. So the watermark never passes an action that was not posted
(the next run reads it again), and a record dated in the future (an audit-field data load
with ``CreatedDate`` in 2031) is processed and reported (:attr:`SyncReport.future_dated`) but
never moves the watermark: every later run reads it again and finds it already posted. The
watermark never moves backwards, nothing moves it in a dry run, and a run given a ``since``
later than the stored watermark leaves it alone (that window cannot vouch for the actions
before ``since``).

One bad action does not stop the night: a value Intacct cannot take (a control character
pasted from Word) is refused at validation with the action's id and name, and the rest of the
run follows ``on_invalid`` (``halt``: nothing posted, the report names it; ``skip``: the
others are posted). The watermark then waits just before the refused action, and every run
posts whatever else is new, until the action is fixed (or tagged excluded) and posted.

(A little over the usual ~600 lines: the run, its report and the watermark rule are one
contract and read best together.)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    plan_corrections,
    post,
)
from intacct_sync.errors import InputError, ValidationError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.posting.corrections import corrections_text
from intacct_sync.posting.engine import DRIFT_ACTION, lease_for
from intacct_sync.posting.identity import content_hash
from intacct_sync.reports import Report, Scope, plural, when
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.models import ApiUsage
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import StateStore, run_lease
from intacct_sync.state.tenancy import bind_tenant

__all__ = [
    "ActionSync",
    "DEFAULT_OVERLAP",
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
    "already_posted",  # posted before (ledger); nothing sent
    "excluded",  # carries the exclusion tag
    "invalid",  # failed validation; flagged System Needs Review
    "held",  # valid, but the run halted on invalid actions
    "failed",  # Intacct refused the entry
    "pending",  # sent without a known outcome (see IncompleteWriteError)
    "drift",  # posted earlier with other figures; nothing sent (see intacct_sync.posting)
    "skipped",  # refused before sending: a value Intacct cannot take
    "would_post",  # dry run: would be posted
    "corrected",  # was drift; reversed as the books held it and reposted (correct_drift)
    "would_correct",  # dry run with correct_drift: would be reversed and reposted
)
#: How far before the stored watermark each run reads again unless told otherwise.
DEFAULT_OVERLAP = dt.timedelta(hours=1)
_SETTLED = frozenset({"posted", "already_posted", "excluded", "corrected"})
_ACTION_ROWS: Mapping[str, frames.Kind] = {
    "action_id": "text",
    "name": "text",
    "CreatedDate": "timestamp",
    "outcome": "text",
    "RECORDNO": "text",
    "message": "text",
}


def next_watermark(
    created: Iterable[tuple[dt.datetime, bool]],
    current: dt.datetime | None,
    *,
    ceiling: dt.datetime | None = None,
) -> dt.datetime | None:
    """The watermark after a run, from each action read: ``(CreatedDate, settled)``.

    See the module's watermark rule. ``ceiling`` (the run's start) caps it: a ``CreatedDate``
    after it (a record dated in the future) never moves the watermark. ``current`` is returned
    when nothing moves it forward.

    >>> t = [dt.datetime(2026, 1, d, tzinfo=dt.UTC) for d in (1, 2, 3)]
    >>> next_watermark([(t[0], True), (t[1], False), (t[2], True)], None).day
    1
    >>> next_watermark([(t[0], True), (t[2], True)], t[1]).day
    3
    >>> next_watermark([(t[0], True), (t[2], True)], None, ceiling=t[1]).day
    1

    Args:
        created: per action read, ``(CreatedDate, settled)``.
        current: the stored watermark, or None.
        ceiling: the run's start: the watermark never passes it.

    Returns:
        The new watermark (UTC), or None when no action settles it (the stored one stays).
    """
    rows = list(created)
    unsettled = [c for c, ok in rows if not ok]
    limit = min(unsettled) if unsettled else None
    candidates = [
        c for c, _ in rows if (limit is None or c < limit) and (ceiling is None or c <= ceiling)
    ]
    if not candidates:
        return current
    best = max(candidates)
    if current is not None and best <= current:
        return current
    return best


@attrs.frozen(kw_only=True, eq=False, repr=False)
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
        overlap: how far before the stored watermark this run read again.
        scope: the Intacct company and entity the run read and posted in.
        salesforce_api: the org's daily API requests used and allowed after the run
            (``Sforce-Limit-Info``), when Salesforce sent it.
        corrections: for each action ``corrected`` (``would_correct`` in a dry run): the
            RECORDNO reversed, its amount and the new amount.
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
    overlap: dt.timedelta = dt.timedelta(0)
    scope: Scope = attrs.field(factory=Scope)
    salesforce_api: ApiUsage | None = None
    corrections: tuple[tuple[str | None, Any, Any], ...] = ()

    @property
    def entity(self) -> str:
        """The Intacct entity the run posted in (``""``: the top level)."""
        return self.scope.entity

    @property
    def future_dated(self) -> pd.DataFrame:
        """Actions whose ``CreatedDate`` is after the run started (an audit-field data load, a
        clock gone wrong): processed as usual, but they never move the watermark.
        """
        if len(self.actions) == 0:
            return self.actions
        later = self.actions["CreatedDate"] > pd.Timestamp(self.started_at)
        return self.actions[later.fillna(False).astype(bool)].reset_index(drop=True)

    def count(self, outcome: str) -> int:
        """Actions with ``outcome``.

        Args:
            outcome: an outcome (``posted``, ``invalid``, ``skipped``...).

        Returns:
            The number of actions with that outcome.
        """
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
        """Actions that need attention (invalid, failed, pending); all of them in a dry run.

        Returns:
            A DataFrame with one row per action shown.
        """
        if self.dry_run:
            return self.actions
        keep = ~self.actions["outcome"].isin([*_SETTLED, "held"])
        return self.actions[keep].reset_index(drop=True)

    def summary(self) -> str:
        """One line: what happened and where the watermark is.

        Returns:
            One line, for a person.
        """
        c = self.counts
        verb = "would post" if self.dry_run else "posted"
        posted = c["would_post"] if self.dry_run else c["posted"]
        if self.halted:
            state = (
                "DRY RUN, would halt: nothing would be posted; "
                if self.dry_run
                else ("HALTED: nothing posted; ")
            )
        else:
            state = "DRY RUN: " if self.dry_run else ""
        since = "since the beginning" if self.since is None else f"created after {when(self.since)}"
        watermark = (
            f"watermark stays at {when(self.watermark_before, never='none')}"
            if self.watermark_before == self.watermark_after
            else f"watermark {when(self.watermark_before, never='none')} -> "
            f"{when(self.watermark_after, never='none')}"
        )
        return (
            f"{state}{plural(c['read'], 'action')} read {since}: {posted:,} {verb}, "
            f"{c['already_posted']:,} already posted, {c['excluded']:,} excluded, "
            f"{c['invalid']:,} invalid, {c['failed']:,} failed, {c['pending']:,} pending"
            + "".join(f", {c[o]:,} {o}" for o in ("held", "drift", "skipped") if c[o])
            + (
                f"; {corrections_text(self.corrections, planned=self.dry_run)}"
                if self.corrections
                else ""
            )
            + (
                f", {len(self.future_dated):,} dated after the run started"
                if len(self.future_dated)
                else ""
            )
            + f"; {watermark}"
            + (f"; {plural(self.crm_failures, 'CRM update')} failed" if self.crm_failures else "")
            + (f"; {self.scope}" if self.scope else "")
            + (
                f"; Salesforce API {self.salesforce_api.used:,} of "
                f"{self.salesforce_api.limit:,} requests used today"
                if self.salesforce_api is not None
                else ""
            )
        )

    def to_json(self) -> dict[str, Any]:
        """The report as one JSON-able document (the CLI's ``--format json``).

        Returns:
            A dict that ``json.dumps`` can write.
        """
        return {
            "started_at": self.started_at.isoformat(),
            "since": _iso(self.since),
            "overlap_seconds": self.overlap.total_seconds(),
            "future_dated": self.future_dated["action_id"].tolist(),
            "watermark_before": _iso(self.watermark_before),
            "watermark_after": _iso(self.watermark_after),
            "mode": self.mode,
            "on_invalid": self.on_invalid,
            "dry_run": self.dry_run,
            "halted": self.halted,
            "counts": self.counts,
            "crm_failures": self.crm_failures,
            **self.scope.to_dict(),
            "salesforce_api": None
            if self.salesforce_api is None
            else {"used": self.salesforce_api.used, "limit": self.salesforce_api.limit},
            "issues": _records(self.issues),
            "actions": _records(self.actions),
        }


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
        overlap: how far before the stored watermark each run reads again (default one hour;
            see the module's watermark rule). Longer is safe, only slower.
        correct_drift: an action edited after it was posted is corrected instead of reported
            as ``drift``: its entry is reversed as the books hold it and the new figures are
            reposted, each exactly once (outcome ``corrected``; a dry run lists them as
            ``would_correct``). Off by default.
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
        overlap: dt.timedelta = DEFAULT_OVERLAP,
        correct_drift: bool = False,
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
        if overlap < dt.timedelta(0):
            raise InputError(
                "overlap is a timedelta of zero or more", field="overlap", value=overlap
            )
        self.watermark = watermark
        self.overlap = overlap
        self.correct_drift = correct_drift
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def __repr__(self) -> str:
        return (
            f"ActionSync(journal={self.journal!r}, mode={self.mode!r}, "
            f"on_invalid={self.on_invalid!r}, correct_drift={self.correct_drift!r}, "
            f"last_sync_at={self.last_sync_at!r})"
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

        Args:
            since: read actions created strictly after this (timezone-aware); None for all.

        Returns:
            A typed DataFrame of the actions, oldest first (empty with the same columns when there
            are none).
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
            StateError: ``state`` belongs to another tenant than ``ia``
                (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
        """
        bind_tenant(self.state, self.ia)
        started = self._clock()
        if started.tzinfo is None:
            raise InputError("the clock must be timezone-aware", field="clock", value=started)
        if dry_run:
            return self._run(started, since=since, dry_run=True)
        # One run at a time per store, company and workflow: two runs could read the same
        # watermark and both move it; the posting engine's own lease nests inside this one.
        with run_lease(self.state, lease_for(self.ia, ACTIONS_WORKFLOW)):
            return self._run(started, since=since, dry_run=False)

    def _run(self, started: dt.datetime, *, since: dt.datetime | None, dry_run: bool) -> SyncReport:
        before = self.last_sync_at
        if since is not None:
            window: dt.datetime | None = since
        else:
            window = None if before is None else before - self.overlap
        actions = self.load_actions(window)
        ledger = {
            e.source_id: e for e in self.state.ledger(ACTIONS_WORKFLOW) if e.status == "posted"
        }
        ids = [str(i) for i in actions["Id"].tolist()]
        # Actions the ledger holds as posted still go through validation and the posting engine,
        # which compares their content hash with what was posted (an edited action is drift).
        # The CRM flag alone proves nothing (it can be set by hand): an action the ledger does
        # not hold goes to the engine too, which finds it in the books or posts it.
        known = {i for i in ids if i in ledger}
        outcome: dict[str, str] = {}
        record_no: dict[str, str | None] = {i: ledger[i].record_no for i in known}
        message: dict[str, str | None] = {}
        report = validate(actions, self.catalog, self.settings)
        for action_id in report.excluded_ids:
            outcome[action_id] = "excluded"
            if action_id in known:
                message[action_id] = (
                    f"posted earlier (RECORDNO {ledger[action_id].record_no}); now tagged to be "
                    "excluded: the entry stays in the books"
                )
        issues = report.issues.groupby("action_id", sort=False)["message"].agg("; ".join)
        for key, text in issues.items():
            action_id = str(key)
            if action_id in known:
                # Posted, and edited since into something that fails validation: a change to
                # decide on, not a new invalid action to flag or to halt the run for.
                outcome[action_id] = "drift"
                message[action_id] = (
                    f"posted earlier (RECORDNO {ledger[action_id].record_no}) but now fails "
                    f"validation: {text}; nothing was sent: {DRIFT_ACTION}"
                )
            else:
                outcome[action_id] = "invalid"
                message[action_id] = str(text)
        new_invalid = [i for i in report.invalid_ids if i not in known]
        failures = 0
        if not dry_run:
            failures += self._flag_invalid(actions, new_invalid)
        halted = bool(new_invalid) and self.on_invalid == "halt"
        plan = from_actions(
            report,
            journal=self.journal,
            mode=self.mode,
            run_started=started,
            on_invalid="skip",
            description_limit=self.description_limit,
            timezone=self.timezone,
        )
        if halted:
            for action_id in plan.source_ids:
                if action_id not in known:
                    outcome[action_id] = "held"
            # Nothing new is sent; the posted ones are still checked for drift (the engine
            # sends nothing for a ledger row that is posted).
            sent = _subset(plan, known)
        else:
            sent = plan
        corrected: list[tuple[str | None, Any, Any]] = []
        if dry_run:
            for action_id, entry in zip(sent.source_ids, sent.entries, strict=True):
                if action_id in known:
                    posted_hash = ledger[action_id].detail.get("content_hash")
                    same = posted_hash is None or posted_hash == content_hash(
                        entry, dated=sent.dated
                    )
                    outcome[action_id] = "already_posted" if same else "drift"
                else:
                    outcome[action_id] = "would_post"
            if self.correct_drift:
                # Read-only: the ledger and the books say what the real run would reverse.
                drifting = [i for i in sent.source_ids if outcome.get(i) == "drift"]
                for planned in plan_corrections(self.ia, _subset(sent, drifting), self.state):
                    outcome[planned.key] = "would_correct"
                    corrected.append(
                        (planned.reversed_record_no, planned.reversed_amount, planned.amount)
                    )
                    message[planned.key] = corrections_text([corrected[-1]], planned=True)
        elif sent.entries:
            # The invalid-action policy holds for what the preflight finds Intacct would refuse.
            posted = post(
                self.ia,
                sent,
                self.state,
                on_breach=self.on_invalid,
                correct_drift=self.correct_drift,
            )
            self._apply(posted, outcome, record_no, message)
            fixed = posted.outcomes[posted.outcomes["status"] == "corrected"]
            corrected = list(
                zip(
                    fixed["reversed_RECORDNO"].tolist(),
                    fixed["posted_amount"].tolist(),
                    fixed["amount"].tolist(),
                    strict=True,
                )
            )
        if not dry_run:
            crm_posted = dict(
                zip(ids, actions["Intacct_Posted__c"].fillna(False).astype(bool), strict=True)
            )
            # Posted by this run, or found in the books or the ledger but not yet marked in the
            # CRM (a run stopped after posting).
            failures += self._write_back(
                {
                    i: record_no.get(i)
                    for i in ids
                    # A corrected action's record number is now the repost's.
                    if outcome.get(i) in ("posted", "corrected")
                    or (outcome.get(i) == "already_posted" and not crm_posted[i])
                }
            )
        after = before
        covers = since is None or before is None or since <= before
        if not dry_run and covers:
            settled = [
                (ts.to_pydatetime(), outcome.get(action_id) in _SETTLED)
                for action_id, ts in zip(ids, actions["CreatedDate"].tolist(), strict=True)
            ]
            after = next_watermark(settled, before, ceiling=started)
            if after is not None and after != before:
                self.state.set_watermark(self.watermark, after)
        for action_id, ts in zip(ids, actions["CreatedDate"].tolist(), strict=True):
            if ts > pd.Timestamp(started):
                note = (
                    f"CreatedDate {ts.isoformat()} is after this run started "
                    f"({started.isoformat(timespec='seconds')}): it does not move the watermark"
                )
                message[action_id] = (
                    f"{message[action_id]}; {note}" if message.get(action_id) else note
                )
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
                ids, actions["Name"].tolist(), actions["CreatedDate"].tolist(), strict=True
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
            plan=None if halted else plan,
            crm_failures=failures,
            overlap=self.overlap if since is None and before is not None else dt.timedelta(0),
            scope=Scope.of(self.ia),
            salesforce_api=self.sf.api_usage,
            corrections=tuple(corrected),
        )
        log.info("%s", result.summary())
        if halted:
            raise ValidationError(
                f"{plural(len(new_invalid), 'invalid action')}; nothing was posted: "
                + ", ".join(_named(report, i) for i in new_invalid[:10])
                + (" ..." if len(new_invalid) > 10 else "")
                + f". {result.summary()}",
                report=result,
            )
        return result

    # -- CRM writes ------------------------------------------------------------------------

    def _flag_invalid(self, actions: pd.DataFrame, invalid: Sequence[str]) -> int:
        status = actions["Status__c"].astype("string")
        need = actions[actions["Id"].isin(list(invalid)) & (status.fillna("") != NEEDS_REVIEW)]
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
    ) -> None:
        for row in frames.frame_to_records(posted.outcomes):
            action_id = str(row["source_id"])
            status = str(row["status"])
            outcome[action_id] = status
            record_no[action_id] = row["RECORDNO"] or record_no.get(action_id)
            if status == "drift":
                was = "unknown" if row["posted_amount"] is None else f"{row['posted_amount']}"
                message[action_id] = (
                    f"posted earlier (RECORDNO {row['RECORDNO']}) for {was}; the action now "
                    f"reads {row['amount']}"
                    + (f" ({row['errors']})" if row["errors"] else "")
                    + f"; {row['action'] or DRIFT_ACTION}"
                )
            elif status == "corrected":
                message[action_id] = corrections_text(
                    [(row["reversed_RECORDNO"], row["posted_amount"], row["amount"])]
                ) + (
                    f" as RECORDNO {row['RECORDNO']} (reversal RECORDNO {row['reversal_RECORDNO']})"
                )
            elif row["errors"]:
                message[action_id] = str(row["errors"])


def _subset(plan: JournalPlan, keep: Iterable[str]) -> JournalPlan:
    """``plan`` with only the entries of the actions in ``keep``."""
    wanted = set(keep)
    chosen = [i for i, sid in enumerate(plan.source_ids) if sid in wanted]
    return attrs.evolve(
        plan,
        entries=tuple(plan.entries[i] for i in chosen),
        source_ids=tuple(plan.source_ids[i] for i in chosen),
        names=tuple(plan.names[i] for i in chosen),
        truncations=plan.truncations[plan.truncations["source_id"].isin(wanted)].reset_index(
            drop=True
        ),
    )


def _named(report: ValidationReport, action_id: str) -> str:
    issues = report.issues[report.issues["action_id"] == action_id]
    name = next((str(n) for n in issues["name"].tolist() if not pd.isna(n)), None)
    what = "; ".join(str(m) for m in issues["message"].tolist())
    return f"{name or action_id} ({action_id}: {what})"


def _failed(outcome: pd.DataFrame, what: str) -> int:
    bad = outcome[~outcome["done"].fillna(False).astype(bool)]
    if len(bad):
        log.warning("%s: %d CRM update(s) failed: %s", what, len(bad), bad["errors"].tolist()[:5])
    return len(bad)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value) or None

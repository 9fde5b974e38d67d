"""Daily KPI totals recorded, their changes posted as statistical journal entries, held amounts
checked.

Each KPI's value becomes ``GLBATCH`` entries in a statistical journal (``TR_TYPE`` 1 =
increase, -1 = decrease) on the KPI's statistical account. The books are the truth: the amount
posted for a day is the KPI's value minus what Intacct holds for that KPI and account through
that day (read from this workflow's entries, in a handful of requests), never a figure kept in
the local ledger, so a lost or restored state file and two hosts all converge on the next run.
Every posting goes through :mod:`intacct_sync.posting` (ledger row before sending; pending rows
looked up in the books before they are sent again).

Longer than the usual ~600 lines on purpose: totals, changes, entries, posting and the holdings
check share the reference format (``kpi|<name>|<day>[|r<n>]``) and the one books reader, and
splitting them would put that contract in two places.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import IncompleteWriteError, InputError, StateError, ValidationError
from intacct_sync.intacct import create_control_id, filters
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.kpi.segments import (
    DEFAULT_ACCOUNTS,
    KPI_OBJECT,
    TOTALS_NAMESPACE,
    WORKFLOW,
    _as_date,
)
from intacct_sync.posting import books
from intacct_sync.posting import engine as posting_engine
from intacct_sync.posting.engine import Posting
from intacct_sync.reports import Report, Scope
from intacct_sync.state import LedgerEntry, StateStore, run_lease
from intacct_sync.state.tenancy import bind_tenant

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient

__all__ = [
    "HoldingsReport",
    "PostingReport",
    "changes",
    "check_holdings",
    "post_changes",
    "record_totals",
    "recorded_totals",
    "statistical_entries",
]

log = logging.getLogger("intacct_sync.kpi")


# -- recording totals, changes -------------------------------------------------------------------

_TOTAL_KINDS: Mapping[str, frames.Kind] = {"date": "date", "kpi": "text", "value": "decimal"}


def _totals_frame(rows: Iterable[tuple[Any, str, Decimal | None]]) -> pd.DataFrame:
    records = [{"date": d, "kpi": k, "value": v} for d, k, v in rows]
    frame = frames.frame_from_records(records, _TOTAL_KINDS)
    return frame.sort_values(["kpi", "date"], kind="stable").reset_index(drop=True)


def record_totals(
    totals: pd.DataFrame,
    *,
    state: StateStore | None = None,
    sf: SalesforceClient | None = None,
) -> pd.DataFrame | None:
    """Record daily totals in the state store and/or the CRM tracking object.

    State store: namespace ``kpi.totals``, key ``<kpi>|<YYYY-MM-DD>``, the exact value.
    CRM: ``KPI_Daily_Total__c`` upserted by ``Key__c`` (same key), so recording again
    updates instead of duplicating (``Value__c`` is a double with 2 decimals there).

    Args:
        totals: daily totals (``date``, ``kpi``, ``value``).
        state: the state store to record in, or None.
        sf: the Salesforce client to record in, or None.

    Returns:
        The CRM upsert outcome frame, or None when ``sf`` is None.
    """
    rows = [r for r in _iter_totals(totals) if r[2] is not None]
    if state is not None:
        for day, name, value in rows:
            state.set_value(TOTALS_NAMESPACE, f"{name}|{day.isoformat()}", str(value))
    if sf is None or not rows:
        return None
    records = [
        {
            "Key__c": f"{name}|{day.isoformat()}",
            "KPI_Name__c": name,
            "Date__c": day,
            "Value__c": value,
        }
        for day, name, value in rows
    ]
    return sf.upsert(KPI_OBJECT, records, external_id_field="Key__c")


def recorded_totals(
    *,
    state: StateStore | None = None,
    sf: SalesforceClient | None = None,
) -> pd.DataFrame:
    """The recorded daily totals (``date``, ``kpi``, ``value``): the state store's, else the CRM's.

    With both, the union; a day recorded in both keeps the state store's exact value.

    Args:
        state: the state store, or None.
        sf: the Salesforce client, or None.

    Returns:
        A DataFrame with ``date``, ``kpi`` and ``value`` (exact), one row per KPI and day; empty
        with those columns when nothing is recorded.
    """
    found: dict[tuple[str, dt.date], Decimal | None] = {}
    if sf is not None:
        crm = sf.query(f"SELECT KPI_Name__c, Date__c, Value__c FROM {KPI_OBJECT}")
        for name, day, value in zip(
            crm["KPI_Name__c"], crm["Date__c"], crm["Value__c"], strict=True
        ):
            if pd.isna(name) or pd.isna(day):
                continue
            found[(str(name), pd.Timestamp(day).date())] = frames.parse_decimal(value)
    if state is not None:
        for key, value in state.values(TOTALS_NAMESPACE).items():
            name, _, day_text = str(key).rpartition("|")
            found[(name, dt.date.fromisoformat(day_text))] = frames.parse_decimal(value)
    return _totals_frame((day, name, value) for (name, day), value in found.items())


def _iter_totals(totals: pd.DataFrame) -> Iterable[tuple[dt.date, str, Decimal | None]]:
    for column in ("date", "kpi", "value"):
        if column not in totals.columns:
            raise InputError(f"a totals frame needs a {column!r} column", field=column)
    for row, (day, name, value) in enumerate(
        zip(totals["date"], totals["kpi"], totals["value"], strict=True)
    ):
        if pd.isna(day) or pd.isna(name):
            raise InputError("a total needs a date and a KPI", row=row, value=(day, name))
        yield _as_date(day, "date"), str(name), frames.parse_decimal(value, column="value", row=row)


_CHANGE_KINDS: Mapping[str, frames.Kind] = {
    "date": "date",
    "kpi": "text",
    "value": "decimal",
    "prior_date": "date",
    "prior_value": "decimal",
    "change": "decimal",
    "direction": "text",
    "magnitude": "decimal",
}


def changes(totals: pd.DataFrame, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """The change of each KPI on each day of ``totals`` against its prior recorded day.

    The prior recorded day of a KPI is the latest earlier day with a value in ``totals`` or in
    ``history`` (recorded totals, e.g. :func:`recorded_totals`); a day in both takes the value
    in ``totals``. A KPI with no earlier value opens at zero: its first change is its whole value
    (``prior_date`` missing), so the posted entries of a KPI always add up to its latest value.
    Days where a KPI has no value (an undefined rate) are skipped.

    Args:
        totals: daily totals (``date``, ``kpi``, ``value``), e.g. :func:`daily_totals`.
        history: earlier recorded totals, e.g. :func:`recorded_totals`.

    Returns:
        Columns ``date``, ``kpi``, ``value``, ``prior_date``, ``prior_value``, ``change`` (signed
        Decimal), ``direction`` (``increase`` / ``decrease`` / ``none``), ``magnitude`` (abs).

    >>> kpi.changes(kpi.daily_totals(gifts), kpi.recorded_totals(state=state))  # doctest: +SKIP
    """
    points: dict[tuple[str, dt.date], Decimal | None] = {}
    if history is not None:
        for day, name, value in _iter_totals(history):
            points[(name, day)] = value
    wanted: list[tuple[str, dt.date]] = []
    for day, name, value in _iter_totals(totals):
        points[(name, day)] = value
        wanted.append((name, day))
    by_kpi: dict[str, list[tuple[dt.date, Decimal]]] = {}
    for (name, day), value in sorted(points.items()):
        if value is not None:
            by_kpi.setdefault(name, []).append((day, value))
    prior_of: dict[tuple[str, dt.date], tuple[dt.date | None, Decimal]] = {}
    for name, series in by_kpi.items():
        previous: tuple[dt.date | None, Decimal] = (None, Decimal(0))
        for day, value in series:
            prior_of[(name, day)] = previous
            previous = (day, value)
    records = []
    for name, day in sorted(set(wanted), key=lambda k: (k[1], k[0])):
        value = points[(name, day)]
        if value is None:
            continue
        prior_day, prior_value = prior_of[(name, day)]
        change = value - prior_value
        records.append(
            {
                "date": day,
                "kpi": name,
                "value": value,
                "prior_date": prior_day,
                "prior_value": prior_value,
                "change": change,
                "direction": "increase" if change > 0 else "decrease" if change < 0 else "none",
                "magnitude": abs(change),
            }
        )
    return frames.frame_from_records(records, _CHANGE_KINDS)


# -- statistical journal entries ---------------------------------------------------------------


def _key(name: str, day: dt.date, revision: int = 1) -> str:
    base = f"kpi|{name}|{day.isoformat()}"
    return base if revision == 1 else f"{base}|r{revision}"


def _describe_change(
    name: str, day: dt.date, value: Decimal, prior: Decimal, prior_day: Any
) -> str:
    since = (
        "opening"
        if prior_day is None or pd.isna(prior_day)
        else f"prior {prior:,} on {_as_date(prior_day, 'prior_date').isoformat()}"
    )
    return f"KPI {name} {day.isoformat()}: {value:,} ({since})"


def statistical_entries(
    changes: pd.DataFrame,
    accounts: Mapping[str, str],
    *,
    journal: str = "STAT",
    location: str | None = None,
    department: str | None = None,
    class_id: str | None = None,
    dimensions: Mapping[str, str] | None = None,
) -> list[JournalEntry]:
    """Statistical journal entries for the KPIs whose value changed.

    One entry per KPI and day (its key ``kpi|<name>|<day>`` is the posting's identity, so its
    control id is the same on every run) with one line: ``TR_TYPE`` 1 for an increase, -1 for a
    decrease, ``TRX_AMOUNT`` the magnitude, on the KPI's statistical account. Zero changes and
    KPIs without an account produce nothing. The description names the KPI, the day, the value
    and the prior value. A ``key`` column in ``changes`` (corrections) overrides the key, and a
    ``posted`` column is subtracted from the change (what earlier entries already posted).

    Args:
        changes: the frame :func:`changes` returns.
        accounts: KPI name -> statistical account number (``{"donors": "9000"}``).
        journal: the statistical journal's symbol.
        location: LOCATION of every line.
        department: DEPARTMENT of every line.
        class_id: CLASSID of every line.
        dimensions: user-defined dimensions of every line (``{"GLDIMFUND": "GENERAL"}``).

    Returns:
        ``JournalEntry(statistical=True, ...)`` items, by day then KPI.

    >>> entries = kpi.statistical_entries(chg, {"donors": "9000"})  # doctest: +SKIP
    """
    entries = []
    has_key = "key" in changes.columns
    has_posted = "posted" in changes.columns
    for row in frames.frame_to_records(changes):
        name = str(row["kpi"])
        account = accounts.get(name)
        if account is None:
            continue
        change = frames.parse_decimal(row["change"], column="change", row=name) or Decimal(0)
        if has_posted:
            change -= frames.parse_decimal(row["posted"], column="posted", row=name) or Decimal(0)
        if change == 0:
            continue
        day = _as_date(row["date"], "date")
        value = frames.parse_decimal(row["value"], column="value", row=name) or Decimal(0)
        prior = frames.parse_decimal(row["prior_value"], column="prior_value") or Decimal(0)
        text = _describe_change(name, day, value, prior, row.get("prior_date"))
        key = str(row["key"]) if has_key and row.get("key") else _key(name, day)
        if has_posted and change != (value - prior):
            text += f"; correction {change:+,}"
        entries.append(
            JournalEntry(
                key=key,
                journal=journal,
                batch_date=day,
                title=text[:100],
                reference_no=key,
                statistical=True,
                lines=[
                    JournalLine(
                        account_no=account,
                        amount=abs(change),
                        tr_type=1 if change > 0 else -1,
                        memo=text,
                        location=location,
                        department=department,
                        class_id=class_id,
                        dimensions=dict(dimensions or {}),
                    )
                ],
            )
        )
    return entries


# -- posting, idempotent -----------------------------------------------------------------------

_POSTING_KINDS: Mapping[str, frames.Kind] = {
    "date": "date",
    "kpi": "text",
    "account": "text",
    "prior_value": "decimal",
    "value": "decimal",
    "change": "decimal",
    "already_posted": "decimal",
    "held": "decimal",
    "tr_type": "integer",
    "amount": "decimal",
    "key": "text",
    "control_id": "text",
    "status": "text",
    "record_no": "text",
    "errors": "text",
}


class PostingReport(Report):
    """What a :func:`post_changes` run did, one row per KPI and day considered.

    ``status``: the posting engine's vocabulary (:mod:`intacct_sync.posting.status`):
    ``posted`` (a new entry, or found in the books from an earlier attempt), ``already_posted``
    (the ledger shows this change posted: nothing sent), ``failed``, ``pending`` (sent,
    unanswered: the next run looks in the books first), ``held`` (not sent: the run stopped,
    or halted on another KPI's preflight breach), ``skipped`` (not sent: Intacct would refuse
    it, ``errors`` names the field, value and rule); and two plan words for rows nothing is
    sent for: ``unchanged`` (zero change) and ``would post`` (dry run).

    ``scope`` is the company and entity the run read and posted in.
    """

    def __init__(self, frame: pd.DataFrame, *, dry_run: bool, scope: Scope | None = None) -> None:
        self.frame = frame
        self.dry_run = dry_run
        self.scope = scope or Scope()

    def to_frame(self) -> pd.DataFrame:
        """The rows.

        Returns:
            A DataFrame with one row per KPI change and its posting status.
        """
        return self.frame

    @property
    def new_entries(self) -> int:
        """Entries created by this run (``posted``)."""
        return int((self.frame["status"] == "posted").sum())

    @property
    def done(self) -> bool:
        """True when the books hold every KPI's value: each row ``posted``, ``already_posted`` or
        ``unchanged`` (a dry run is never done).
        """
        finished = {"posted", "already_posted", "unchanged"}
        return not self.dry_run and bool(self.frame["status"].isin(finished).all())

    @property
    def failed(self) -> int:
        """Entries that failed, whose outcome is unknown, that were not sent or were refused."""
        unsent = ["failed", "pending", "held", "drift", "skipped"]
        return int(self.frame["status"].isin(unsent).sum())

    def summary(self) -> str:
        """One line: counts per status, and the company and entity.

        Returns:
            One line, for a person.
        """
        counts = self.frame["status"].value_counts().to_dict() if len(self.frame) else {}
        parts = ", ".join(f"{n} {str(s).replace('_', ' ')}" for s, n in sorted(counts.items()))
        verb = "Dry run" if self.dry_run else "Statistical postings"
        return self.scope.after(f"{verb}: {parts or 'nothing to do'}")

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-able document: summary, scope, dry run and every row.

        Returns:
            A dict that ``json.dumps`` can write.
        """
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "dry_run": self.dry_run,
            "rows": frames.frame_to_records(self.frame),
        }


def _ledger_by_day(state: StateStore) -> dict[tuple[str, str], list[LedgerEntry]]:
    rows: dict[tuple[str, str], list[LedgerEntry]] = {}
    for entry in state.ledger(WORKFLOW):
        detail = entry.detail
        if "kpi" not in detail or "date" not in detail:
            continue
        rows.setdefault((str(detail["kpi"]), str(detail["date"])), []).append(entry)
    return rows


# -- what the books hold -------------------------------------------------------------------------

#: The reference prefix of every entry this workflow writes (``kpi|<name>|<day>[|r<n>]``).
REFERENCE_PREFIX = "kpi|"
_REFERENCE = re.compile(r"^kpi\|(?P<name>.*)\|\d{4}-\d{2}-\d{2}(?:\|r\d+)?$", re.S)
# One page per GLBATCH read where the workflow has posted fewer than this many entries
# (``query`` pages hold up to 2,000 rows, reference/intacct-api.md §5).
_PAGE = 2000


@attrs.frozen(kw_only=True)
class _Held:
    """One statistical line of this workflow's entries, as the books hold it."""

    name: str  # the KPI named by the batch's reference
    account: str
    day: dt.date  # the batch's BATCH_DATE
    reference: str
    signed: Decimal  # TRX_AMOUNT, negative for TR_TYPE -1


def _kpi_of(reference: str, prefix: str) -> str:
    match = _REFERENCE.match(reference)
    if match is not None:
        return match["name"]
    # A batch keyed by hand under the prefix (``kpi|donors|manual``): the KPI is what follows
    # the prefix, up to its last part.
    rest = reference[len(prefix) :]
    return rest.rpartition("|")[0] or rest


def _books(
    ia: IntacctClient, journal: str, accounts: Iterable[str], prefix: str = REFERENCE_PREFIX
) -> list[_Held]:
    """Every line on ``accounts`` of the GLBATCHes in ``journal`` whose REFERENCENO starts with
    ``prefix``: one GLBATCH read, then the lines by ``BATCHNO`` in large ``IN`` lists.

    GLENTRY has no JOURNAL field and its ``BATCHNO`` is the parent GLBATCH's ``RECORDNO``
    (reference/intacct-api.md §13.2), so the journal and the reference are read on GLBATCH and
    joined on that number; ``BATCH_NUMBER`` (the per-journal number) is never used.
    """
    wanted = {str(a) for a in accounts}
    if not wanted:
        return []
    batches = ia.query(
        "GLBATCH",
        select=["RECORDNO", "REFERENCENO", "BATCH_DATE"],
        filter=filters.equal_to("JOURNAL", journal) & filters.like("REFERENCENO", f"{prefix}%"),
        order_by=[("RECORDNO", "ascending")],
        page_size=_PAGE,
    )
    heads: dict[str, tuple[str, dt.date]] = {}
    for row in frames.frame_to_records(batches):
        reference = str(row["REFERENCENO"] or "")
        if row["RECORDNO"] is None or not reference.startswith(prefix):
            continue
        day = row["BATCH_DATE"]
        heads[str(row["RECORDNO"])] = (reference, _as_date(day, "BATCH_DATE"))
    lines = books.journal_lines(ia, sorted(heads, key=int)) if heads else {}
    held = []
    for record_no, (reference, day) in heads.items():
        for account, tr_type, amount in lines.get(record_no, []):
            if account not in wanted:
                continue
            value = Decimal(amount)
            held.append(
                _Held(
                    name=_kpi_of(reference, prefix),
                    account=account,
                    day=day,
                    reference=reference,
                    signed=value if tr_type == 1 else -value,
                )
            )
    return held


def post_changes(
    ia: IntacctClient,
    changes: pd.DataFrame,
    *,
    state: StateStore,
    accounts: Mapping[str, str] = DEFAULT_ACCOUNTS,
    journal: str = "STAT",
    location: str | None = None,
    department: str | None = None,
    class_id: str | None = None,
    dimensions: Mapping[str, str] | None = None,
    dry_run: bool = False,
    on_invalid: Literal["halt", "skip"] = "halt",
) -> PostingReport:
    """Post KPI changes as statistical entries, so the books hold each KPI's value.

    The books are the truth, not the ledger: for each KPI with an account and each day (oldest
    first), what Intacct holds for that KPI on its statistical account through that day is read
    (the lines of this workflow's entries, :data:`REFERENCE_PREFIX`, dated up to the day), and
    the amount posted is the day's value minus that. A rerun posts nothing; a corrected value
    posts the difference under a new key (``kpi|<name>|<day>|r<n>``); and a lost or restored
    state file, or two hosts with two state files, all converge on the next run (the books hold
    5 while the KPI is 7: +2 is posted; 11 while it is 9: -2). Rows the ledger holds ``pending``
    (a lost answer, a kill) are handed to the posting engine again under their own key, which
    finds them in the books or sends them, and count as held. Postings go through the posting
    engine (:mod:`intacct_sync.posting`): each ledger row is written ``pending`` before sending.

    Args:
        ia: the Intacct client.
        changes: the frame :func:`changes` returns (its ``value`` column is what is posted
            towards; ``change`` is reported).
        state: the state store holding the ledger.
        accounts: KPI -> statistical account; KPIs not listed are not posted.
        journal: statistical journal symbol.
        location: LOCATION of every line.
        department: DEPARTMENT of every line.
        class_id: CLASSID of every line.
        dimensions: user-defined dimensions of every line.
        dry_run: read the books, plan and report; send nothing, write nothing.
        on_invalid: what an entry the preflight finds Intacct would refuse (an unknown or
            inactive statistical account, a regular account, a missing required dimension, a
            closed period) does to the run: ``halt`` (default: nothing is sent, that entry is
            ``skipped`` with the rule, the others ``held``) or ``skip`` (only it is refused).

    Returns:
        A :class:`PostingReport`.

    Raises:
        InputError: ``on_invalid`` is neither ``halt`` nor ``skip``.
        IncompleteWriteError: the gateway or network stopped the run part way; the ledger
            keeps the unanswered rows ``pending`` and a rerun finishes them.
        LeaseHeldError: another run holds the store's run lease for this company and
            workflow (it names the holder); nothing was sent.
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.

    >>> report = kpi.post_changes(ia, chg, state=state)  # doctest: +SKIP
    """
    bind_tenant(state, ia)
    if on_invalid not in ("halt", "skip"):
        raise InputError("on_invalid is 'halt' or 'skip'", field="on_invalid", value=on_invalid)
    options: dict[str, Any] = {
        "on_invalid": on_invalid,
        "state": state,
        "accounts": accounts,
        "journal": journal,
        "location": location,
        "department": department,
        "class_id": class_id,
        "dimensions": dimensions,
        "dry_run": dry_run,
    }
    if dry_run:
        return _post_changes(ia, changes, **options)
    # The amounts come from the books read below, so the read and the posting must be one
    # run's: the posting engine's lease (one run per store, tenant and workflow) is taken here,
    # around both, and the engine shares it.
    with run_lease(state, posting_engine.lease_for(ia, WORKFLOW)):
        return _post_changes(ia, changes, **options)


def _post_changes(
    ia: IntacctClient,
    changes: pd.DataFrame,
    *,
    state: StateStore,
    accounts: Mapping[str, str],
    journal: str,
    location: str | None,
    department: str | None,
    class_id: str | None,
    dimensions: Mapping[str, str] | None,
    dry_run: bool,
    on_invalid: Literal["halt", "skip"],
) -> PostingReport:
    scope = Scope.of(ia)
    ledger = _ledger_by_day(state)
    options = {
        "journal": journal,
        "location": location,
        "department": department,
        "class_id": class_id,
        "dimensions": dimensions,
    }
    records = [r for r in frames.frame_to_records(changes) if str(r["kpi"]) in accounts]
    records.sort(key=lambda r: _as_date(r["date"], "date"))  # stable: frame order within a day
    held_lines = _books(ia, journal, {accounts[str(r["kpi"])] for r in records})
    in_books = {h.reference for h in held_lines}
    # (kpi, account) -> [(day, signed)]: the books, plus what this run sends or resends.
    holding: dict[tuple[str, str], list[tuple[dt.date, Decimal]]] = {}
    for line in held_lines:
        holding.setdefault((line.name, line.account), []).append((line.day, line.signed))
    used = set(in_books) | {
        e.source_id for rows in ledger.values() for e in rows if e.status in ("posted", "pending")
    }
    rows: list[dict[str, Any]] = []
    to_send: list[tuple[JournalEntry, LedgerEntry, dict[str, Any]]] = []
    for record in records:
        name = str(record["kpi"])
        account = accounts[name]
        day = _as_date(record["date"], "date")
        value = frames.parse_decimal(record["value"], column="value", row=name) or Decimal(0)
        history = holding.setdefault((name, account), [])
        on_day = sum((s for d, s in history if d == day), Decimal(0))
        base = {
            "date": day,
            "kpi": name,
            "account": account,
            "prior_value": record["prior_value"],
            "value": value,
            "change": record["change"],
            "already_posted": on_day,
        }
        # Pending rows first: resend exactly what was recorded, under the same control id.
        waiting = [e for e in ledger.get((name, day.isoformat()), []) if e.status == "pending"]
        for row_entry in waiting:
            pending_entry = _entry_from_detail(row_entry, options)
            if pending_entry.key not in in_books:
                history.append((day, Decimal(str(row_entry.detail["signed"]))))
            row = {
                **base,
                "held": None,
                "tr_type": pending_entry.lines[0].tr_type,
                "amount": pending_entry.lines[0].amount,
                "key": pending_entry.key,
                "control_id": row_entry.control_id,
                "status": "would post" if dry_run else "pending",
            }
            rows.append(row)
            to_send.append((pending_entry, row_entry, row))
        held = sum((s for d, s in history if d <= day), Decimal(0))
        difference = value - held
        if difference == 0:
            if not waiting:  # else the resend is the row
                status = (
                    "already_posted"
                    if on_day or any(d == day for d, _ in history)
                    else ("unchanged")
                )
                rows.append({**base, "held": held, "key": _key(name, day), "status": status})
            continue
        revision = 1
        while _key(name, day, revision) in used:
            revision += 1
        key = _key(name, day, revision)
        used.add(key)
        plan = pd.DataFrame(
            [
                {
                    "date": day,
                    "kpi": name,
                    "value": value,
                    "prior_date": record["prior_date"],
                    "prior_value": record["prior_value"],
                    "change": difference,
                    "key": key,
                }
            ]
        )
        (entry,) = statistical_entries(
            plan,
            accounts,
            journal=journal,
            location=location,
            department=department,
            class_id=class_id,
            dimensions=dimensions,
        )
        if revision > 1 or difference != record["change"]:
            entry = attrs.evolve(
                entry, title=f"{entry.title[:60]}; books held {held:,}; {difference:+,}"[:100]
            )
        history.append((day, difference))
        ledger_entry = LedgerEntry(
            workflow=WORKFLOW,
            source_id=key,
            control_id=create_control_id(entry),
            status="pending",
            detail={
                "kpi": name,
                "date": day.isoformat(),
                "signed": str(difference),
                "account": account,
                "value": str(value),
                "held": str(held),
                "prior_value": str(record["prior_value"]),
                "prior_date": None
                if record["prior_date"] is None or pd.isna(record["prior_date"])
                else _as_date(record["prior_date"], "prior_date").isoformat(),
                "title": entry.title,
                "memo": entry.lines[0].memo,
            },
        )
        row = {
            **base,
            "held": held,
            "tr_type": entry.lines[0].tr_type,
            "amount": entry.lines[0].amount,
            "key": key,
            "control_id": ledger_entry.control_id,
            "status": "would post" if dry_run else "pending",
        }
        rows.append(row)
        to_send.append((entry, ledger_entry, row))
    if dry_run or not to_send:
        return PostingReport(
            frames.frame_from_records(rows, _POSTING_KINDS), dry_run=dry_run, scope=scope
        )
    postings = [
        Posting(
            key=ledger_entry.source_id,
            record=entry,
            reference=entry.reference_no or "",
            detail=ledger_entry.detail,
        )
        for entry, ledger_entry, _ in to_send
    ]
    result = posting_engine.post(ia, state, WORKFLOW, postings, on_breach=on_invalid)
    for outcome, (_, ledger_entry, row) in zip(result.outcomes, to_send, strict=True):
        if outcome.control_id != ledger_entry.control_id:
            raise StateError(
                f"control id of {ledger_entry.source_id} is {outcome.control_id}, the ledger "
                f"says {ledger_entry.control_id}; the client's derivation changed"
            )
        row["status"] = outcome.status
        row["record_no"] = outcome.record_no
        row["errors"] = outcome.errors
    report = PostingReport(
        frames.frame_from_records(rows, _POSTING_KINDS), dry_run=False, scope=scope
    )
    log.info("kpi postings: %s", report.summary())
    if result.stopped is not None:
        raise IncompleteWriteError(
            f"{result.stopped}; {report.summary()}", outcomes=report.frame, report=report
        ) from result.stopped
    return report


def _entry_from_detail(entry: LedgerEntry, options: Mapping[str, Any]) -> JournalEntry:
    detail = entry.detail
    signed = Decimal(str(detail["signed"]))
    return JournalEntry(
        key=entry.source_id,
        journal=options["journal"],
        batch_date=dt.date.fromisoformat(str(detail["date"])),
        title=str(detail["title"]),
        reference_no=entry.source_id,
        statistical=True,
        lines=[
            JournalLine(
                account_no=str(detail["account"]),
                amount=abs(signed),
                tr_type=1 if signed > 0 else -1,
                memo=str(detail["memo"]),
                location=options["location"],
                department=options["department"],
                class_id=options["class_id"],
                dimensions=dict(options["dimensions"] or {}),
            )
        ],
    )


# -- the holdings check ----------------------------------------------------------------------------

_HOLDINGS_KINDS: Mapping[str, frames.Kind] = {
    "kpi": "text",
    "account": "text",
    "increases": "decimal",
    "decreases": "decimal",
    "held": "decimal",
    "kpi_value": "decimal",
    "drift": "decimal",
    "ok": "boolean",
}


class HoldingsReport(Report):
    """Per statistical account: what Intacct holds from this workflow vs the KPI's value.

    ``scope`` is the company and entity whose books were read.
    """

    def __init__(
        self, frame: pd.DataFrame, *, reference_prefix: str, scope: Scope | None = None
    ) -> None:
        self.frame = frame
        self.reference_prefix = reference_prefix
        self.scope = scope or Scope()

    def to_frame(self) -> pd.DataFrame:
        """Columns ``kpi``, ``account``, ``increases``, ``decreases``, ``held``, ``kpi_value``,
        ``drift`` (held - value), ``ok``.

        Returns:
            A DataFrame with one row per KPI, amounts exact.
        """
        return self.frame

    @property
    def ok(self) -> bool:
        """True when every account holds its KPI's value."""
        return bool(self.frame["ok"].all()) if len(self.frame) else True

    @property
    def done(self) -> bool:
        """Same as :attr:`ok`: a drift is never done (the next post run corrects it)."""
        return self.ok

    def summary(self) -> str:
        """One line: matches or drifts, and the company and entity.

        Returns:
            One line, for a person.
        """
        bad = self.frame[~self.frame["ok"].astype(bool)] if len(self.frame) else self.frame
        if len(bad) == 0:
            return self.scope.after(
                f"Holdings check: {len(self.frame)} statistical account(s) match their KPI"
            )
        detail = ", ".join(
            f"{a} ({k}) drift {d:+,}"
            for a, k, d in zip(bad["account"], bad["kpi"], bad["drift"], strict=True)
        )
        return self.scope.after(
            f"Holdings check: NOT DONE, {len(bad)} account(s) drift: {detail}; the next "
            "kpi.post_changes over these days posts the difference"
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-able document: summary, scope, ok and every account's row.

        Returns:
            A dict that ``json.dumps`` can write.
        """
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "ok": self.ok,
            "rows": frames.frame_to_records(self.frame),
        }


def check_holdings(
    ia: IntacctClient,
    values: Mapping[str, Decimal] | pd.DataFrame,
    *,
    accounts: Mapping[str, str] = DEFAULT_ACCOUNTS,
    journal: str = "STAT",
    reference_prefix: str = "kpi|",
    raise_on_drift: bool = True,
) -> HoldingsReport:
    """Check that each statistical account holds its KPI's current value.

    Holdings are counted over the entries **this workflow posted** (GLBATCHes in ``journal``
    whose ``REFERENCENO`` starts with ``reference_prefix``), not over the account's whole
    history: an account may hold earlier statistics (the sandbox seeds monthly ``STAT-YYYY-MM``
    batches), and the workflow opens each KPI at zero, so its own entries add up to the KPI's
    value. Held = sum of ``TRX_AMOUNT`` with ``TR_TYPE`` 1 minus those with ``TR_TYPE`` -1.

    Args:
        ia: the Intacct client.
        values: KPI -> current value, or a totals frame (its latest day per KPI is used).
        accounts: KPI -> statistical account (only KPIs in both are checked).
        journal: the statistical journal.
        reference_prefix: marks the workflow's batches.
        raise_on_drift: raise when an account drifts.

    Returns:
        A :class:`HoldingsReport`.

    Raises:
        ValidationError: an account holds something else than its KPI's value; ``.report`` is
            the :class:`HoldingsReport` and the message lists accounts and amounts.
    """
    current = _latest_values(values)
    checked = {k: a for k, a in accounts.items() if k in current}
    held = {a: [Decimal(0), Decimal(0)] for a in checked.values()}
    for line in _books(ia, journal, set(checked.values()), reference_prefix):
        held[line.account][0 if line.signed >= 0 else 1] += abs(line.signed)
    records = []
    for name, account in checked.items():
        increases, decreases = held[account]
        net = increases - decreases
        drift = net - current[name]
        records.append(
            {
                "kpi": name,
                "account": account,
                "increases": increases,
                "decreases": decreases,
                "held": net,
                "kpi_value": current[name],
                "drift": drift,
                "ok": drift == 0,
            }
        )
    report = HoldingsReport(
        frames.frame_from_records(records, _HOLDINGS_KINDS),
        reference_prefix=reference_prefix,
        scope=Scope.of(ia),
    )
    if raise_on_drift and not report.ok:
        raise ValidationError(report.summary(), report=report)
    return report


def _latest_values(values: Mapping[str, Decimal] | pd.DataFrame) -> dict[str, Decimal]:
    if isinstance(values, pd.DataFrame):
        latest: dict[str, tuple[dt.date, Decimal]] = {}
        for day, name, value in _iter_totals(values):
            if value is None:
                continue
            if name not in latest or day >= latest[name][0]:
                latest[name] = (day, value)
        return {name: value for name, (_, value) in latest.items()}
    return {str(k): Decimal(str(v)) for k, v in values.items()}

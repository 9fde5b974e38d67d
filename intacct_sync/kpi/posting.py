"""Daily KPI totals recorded, their changes posted as statistical journal entries, held amounts
checked.

Each change against the prior recorded day becomes a ``GLBATCH`` in a statistical journal
(``TR_TYPE`` 1 = increase, -1 = decrease) on the KPI's statistical account, exactly once per KPI
and day: the ledger row (with the entry's control id) is written before sending, so a rerun
after a crash finishes the posting instead of duplicating it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import IncompleteWriteError, InputError, StateError, ValidationError
from intacct_sync.intacct import filters
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.kpi.segments import (
    DEFAULT_ACCOUNTS,
    KPI_OBJECT,
    TOTALS_NAMESPACE,
    WORKFLOW,
    _as_date,
)
from intacct_sync.reports import Report
from intacct_sync.state import LedgerEntry, StateStore

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
    return sf.upsert(KPI_OBJECT, external_id_field="Key__c", records=records)


def recorded_totals(
    *,
    state: StateStore | None = None,
    sf: SalesforceClient | None = None,
) -> pd.DataFrame:
    """The recorded daily totals (``date``, ``kpi``, ``value``): the state store's, else the CRM's.

    With both, the union; a day recorded in both keeps the state store's exact value.
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

    ``status``: ``posted`` (a new entry), ``duplicate`` (the gateway had already executed that
    control id: done earlier), ``already posted`` (the ledger shows this change posted: nothing
    sent), ``unchanged`` (zero change), ``would post`` (dry run), ``failed``, ``unknown`` (sent,
    unanswered: still pending; a rerun resends it under the same control id).
    """

    def __init__(self, frame: pd.DataFrame, *, dry_run: bool) -> None:
        self.frame = frame
        self.dry_run = dry_run

    def to_frame(self) -> pd.DataFrame:
        """The rows."""
        return self.frame

    @property
    def new_entries(self) -> int:
        """Entries created by this run (``posted``)."""
        return int((self.frame["status"] == "posted").sum())

    @property
    def failed(self) -> int:
        """Entries that failed or whose outcome is unknown."""
        return int(self.frame["status"].isin(["failed", "unknown"]).sum())

    def summary(self) -> str:
        """One line."""
        counts = self.frame["status"].value_counts().to_dict() if len(self.frame) else {}
        parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        verb = "Dry run" if self.dry_run else "Statistical postings"
        return f"{verb}: {parts or 'nothing to do'}"


def _ledger_by_day(state: StateStore) -> dict[tuple[str, str], list[LedgerEntry]]:
    rows: dict[tuple[str, str], list[LedgerEntry]] = {}
    for entry in state.ledger(WORKFLOW):
        detail = entry.detail
        if "kpi" not in detail or "date" not in detail:
            continue
        rows.setdefault((str(detail["kpi"]), str(detail["date"])), []).append(entry)
    return rows


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
) -> PostingReport:
    """Post KPI changes as statistical entries, exactly once per KPI and day.

    For each KPI with an account and each day, the ledger (workflow ``kpi``) says what was
    already posted for that KPI and day; only the difference between the change and that is
    posted: nothing on a rerun, the difference as a new entry (key ``kpi|<name>|<day>|r<n>``)
    when a day's value was corrected. Each ledger row is written ``pending`` with its control id
    before the entry is sent and updated after; rows left ``pending`` by a crash are sent again
    first, under the same control id (the gateway refuses a second execution).

    Args:
        ia: the Intacct client.
        changes: the frame :func:`changes` returns.
        state: the state store holding the ledger.
        accounts: KPI -> statistical account; KPIs not listed are not posted.
        journal: statistical journal symbol.
        location: LOCATION of every line.
        department: DEPARTMENT of every line.
        class_id: CLASSID of every line.
        dimensions: user-defined dimensions of every line.
        dry_run: plan and report, send nothing, write nothing.

    Returns:
        A :class:`PostingReport`.

    Raises:
        IncompleteWriteError: the gateway or network stopped the run part way; the ledger
            keeps the unanswered rows ``pending`` and a rerun finishes them.

    >>> report = kpi.post_changes(ia, chg, state=state)  # doctest: +SKIP
    """
    ledger = _ledger_by_day(state)
    options = {
        "journal": journal,
        "location": location,
        "department": department,
        "class_id": class_id,
        "dimensions": dimensions,
    }
    rows: list[dict[str, Any]] = []
    to_send: list[tuple[JournalEntry, LedgerEntry, dict[str, Any]]] = []
    for record in frames.frame_to_records(changes):
        name = str(record["kpi"])
        account = accounts.get(name)
        if account is None:
            continue
        day = _as_date(record["date"], "date")
        history = ledger.get((name, day.isoformat()), [])
        live = [e for e in history if e.status in ("posted", "pending")]
        already = sum((Decimal(str(e.detail["signed"])) for e in live), Decimal(0))
        change = Decimal(record["change"])
        base = {
            "date": day,
            "kpi": name,
            "account": account,
            "prior_value": record["prior_value"],
            "value": record["value"],
            "change": change,
            "already_posted": already,
        }
        # Pending rows first: resend exactly what was recorded, under the same control id.
        for waiting in (e for e in history if e.status == "pending"):
            pending_entry = _entry_from_detail(waiting, options)
            row = {
                **base,
                "tr_type": pending_entry.lines[0].tr_type,
                "amount": pending_entry.lines[0].amount,
                "key": pending_entry.key,
                "control_id": waiting.control_id,
                "status": "would post" if dry_run else "pending",
            }
            rows.append(row)
            to_send.append((pending_entry, waiting, row))
        difference = change - already
        if difference == 0:
            if not any(e.status == "pending" for e in history):  # else the resend is the row
                status = "already posted" if live else "unchanged"
                rows.append({**base, "key": _key(name, day), "status": status})
            continue
        revision = len(live) + 1
        key = _key(name, day, revision)
        plan = pd.DataFrame(
            [
                {
                    "date": day,
                    "kpi": name,
                    "value": record["value"],
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
        if revision > 1:
            entry = attrs.evolve(entry, title=f"{entry.title[:80]}; correction {difference:+,}")
        ledger_entry = LedgerEntry(
            workflow=WORKFLOW,
            source_id=key,
            control_id=ia.control_id_for(entry),
            status="pending",
            detail={
                "kpi": name,
                "date": day.isoformat(),
                "signed": str(difference),
                "account": account,
                "value": str(record["value"]),
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
            "tr_type": entry.lines[0].tr_type,
            "amount": entry.lines[0].amount,
            "key": key,
            "control_id": ledger_entry.control_id,
            "status": "would post" if dry_run else "pending",
        }
        rows.append(row)
        to_send.append((entry, ledger_entry, row))
    if dry_run or not to_send:
        return PostingReport(frames.frame_from_records(rows, _POSTING_KINDS), dry_run=dry_run)
    for _, ledger_entry, _ in to_send:
        state.ledger_put(ledger_entry)
    error: IncompleteWriteError | None = None
    try:
        outcomes = ia.create([entry for entry, _, _ in to_send])
    except IncompleteWriteError as exc:
        error = exc
        outcomes = exc.outcomes if isinstance(exc.outcomes, pd.DataFrame) else pd.DataFrame()
    by_row = {int(r["row"]): r for r in frames.frame_to_records(outcomes)} if len(outcomes) else {}
    for position, (_, ledger_entry, row) in enumerate(to_send):
        outcome = by_row.get(position)
        if outcome is None or outcome["status"] in ("unknown", "not_sent"):
            row["status"] = "unknown"
            continue
        if outcome["control_id"] != ledger_entry.control_id:
            raise StateError(
                f"control id of {ledger_entry.source_id} is {outcome['control_id']}, the ledger "
                f"says {ledger_entry.control_id}; the client's derivation changed"
            )
        done = bool(outcome["done"])
        row["status"] = (
            ("posted" if outcome["status"] == "success" else outcome["status"])
            if done
            else "failed"
        )
        row["record_no"] = None if outcome["RECORDNO"] is None else str(outcome["RECORDNO"])
        row["errors"] = outcome["errors"]
        state.ledger_put(
            attrs.evolve(
                ledger_entry,
                status="posted" if done else "failed",
                record_no=row["record_no"],
                updated_at=dt.datetime.now(dt.UTC),
                detail={**ledger_entry.detail, "errors": outcome["errors"]},
            )
        )
    report = PostingReport(frames.frame_from_records(rows, _POSTING_KINDS), dry_run=False)
    log.info("kpi postings: %s", report.summary())
    if error is not None:
        raise IncompleteWriteError(f"{error}; {report.summary()}", outcomes=report) from error
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
    """Per statistical account: what Intacct holds from this workflow vs the KPI's value."""

    def __init__(self, frame: pd.DataFrame, *, reference_prefix: str) -> None:
        self.frame = frame
        self.reference_prefix = reference_prefix

    def to_frame(self) -> pd.DataFrame:
        """Columns ``kpi``, ``account``, ``increases``, ``decreases``, ``held``, ``kpi_value``,
        ``drift`` (held - value), ``ok``."""
        return self.frame

    @property
    def ok(self) -> bool:
        """True when every account holds its KPI's value."""
        return bool(self.frame["ok"].all()) if len(self.frame) else True

    def summary(self) -> str:
        """One line."""
        bad = self.frame[~self.frame["ok"].astype(bool)] if len(self.frame) else self.frame
        if len(bad) == 0:
            return f"Holdings check: {len(self.frame)} statistical account(s) match their KPI"
        detail = ", ".join(
            f"{a} ({k}) drift {d:+,}"
            for a, k, d in zip(bad["account"], bad["kpi"], bad["drift"], strict=True)
        )
        return f"Holdings check: {len(bad)} account(s) drift: {detail}"


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
    batches = ia.query(
        "GLBATCH",
        select=["RECORDNO", "REFERENCENO"],
        filter=filters.equal_to("JOURNAL", journal)
        & filters.like("REFERENCENO", f"{reference_prefix}%"),
    )
    record_nos = [int(v) for v in batches["RECORDNO"].dropna()]
    held = {a: [Decimal(0), Decimal(0)] for a in checked.values()}
    for start in range(0, len(record_nos), filters.MAX_IN_VALUES):
        chunk = record_nos[start : start + filters.MAX_IN_VALUES]
        if not checked:
            break
        lines = ia.query(
            "GLENTRY",
            select=["RECORDNO", "ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT", "BATCHNO"],
            filter=filters.in_("BATCHNO", chunk)
            & filters.in_("ACCOUNTNO", sorted(set(checked.values()))),
        )
        for account, tr_type, amount in zip(
            lines["ACCOUNTNO"], lines["TR_TYPE"], lines["TRX_AMOUNT"], strict=True
        ):
            value = frames.parse_decimal(amount) or Decimal(0)
            held[str(account)][0 if int(tr_type) == 1 else 1] += value
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
        frames.frame_from_records(records, _HOLDINGS_KINDS), reference_prefix=reference_prefix
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

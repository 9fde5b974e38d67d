"""Journal entries (``GLBATCH``) from CRM actions and from CSV files; idempotent posting.

* :func:`from_actions` turns validated actions into one balanced entry each: a debit line on
  the DR account with the DR dimensions and a credit line on the CR account with the CR
  dimensions, for the action's amount (Decimal). The result, a :class:`JournalPlan`, previews
  as frames of entries and lines before anything is sent.
* :func:`post` sends a plan with the client's batched, idempotent writes. Each entry's control
  id derives from its action's id, and every posting is written to the ledger of the state store
  (``pending`` before sending, ``posted``/``failed`` after), so a rerun or a retry after a crash
  never posts an action twice.
* :func:`read_journal_lines` and :func:`post_journal_lines` import journal lines from a CSV file,
  reporting every bad row with its line number, field and value.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.actions.catalog import (
    TagSettings,
    ValidationReport,
    validate,
)
from intacct_sync.errors import IncompleteWriteError, InputError, ValidationError
from intacct_sync.intacct import create_control_id, filters
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.reports import Report
from intacct_sync.state import LedgerEntry, StateStore

__all__ = [
    "ACTIONS_WORKFLOW",
    "DEFAULT_ACTIONS_JOURNAL",
    "DEFAULT_IMPORT_JOURNAL",
    "DESCRIPTION_LIMIT",
    "Description",
    "IMPORT_COLUMNS",
    "IMPORT_WORKFLOW",
    "JournalImport",
    "JournalPlan",
    "OnInvalid",
    "PostReport",
    "PostingMode",
    "describe_action",
    "entry_control_id",
    "from_actions",
    "post",
    "post_journal_lines",
    "read_journal_lines",
]

log = logging.getLogger("intacct_sync.actions.journals")

PostingMode = Literal["individual", "batch"]
OnInvalid = Literal["halt", "skip"]

#: Ledger workflow of action postings.
ACTIONS_WORKFLOW = "actions"
#: Ledger workflow of CSV imports.
IMPORT_WORKFLOW = "journal_import"
#: Journal of action entries unless told otherwise (the sandbox nonprofit's cash receipts).
DEFAULT_ACTIONS_JOURNAL = "CRJ"
#: Journal of CSV imports unless told otherwise.
DEFAULT_IMPORT_JOURNAL = "GJ"
#: Longest description (``BATCH_TITLE`` and line memo) written, in characters. An assumption,
#: not a documented Intacct figure: pass ``description_limit=`` to match your tenant.
DESCRIPTION_LIMIT = 1000
_ELLIPSIS = "..."
_SEPARATOR = " - "

_ENTRY_COLUMNS: Mapping[str, frames.Kind] = {
    "source_id": "text",
    "name": "text",
    "control_id": "text",
    "JOURNAL": "text",
    "BATCH_DATE": "date",
    "REFERENCENO": "text",
    "BATCH_TITLE": "text",
    "amount": "decimal",
    "lines": "integer",
    "truncated": "boolean",
}
_LINE_COLUMNS: Mapping[str, frames.Kind] = {
    "source_id": "text",
    "line": "integer",
    "side": "text",
    "ACCOUNTNO": "text",
    "TR_TYPE": "integer",
    "TRX_AMOUNT": "decimal",
    "LOCATION": "text",
    "DEPARTMENT": "text",
    "CLASSID": "text",
    "DESCRIPTION": "text",
}
_TRUNCATION_COLUMNS: Mapping[str, frames.Kind] = {
    "source_id": "text",
    "limit": "integer",
    "length": "integer",
    "cut": "text",
    "url_cut": "boolean",
}
_POST_COLUMNS: Mapping[str, frames.Kind] = {
    "source_id": "text",
    "REFERENCENO": "text",
    "control_id": "text",
    "status": "text",
    "RECORDNO": "text",
    "errors": "text",
}


def entry_control_id(entry: JournalEntry) -> str:
    """The function control id :meth:`IntacctClient.create` sends ``entry`` under.

    It derives from ``entry.key`` alone, so the same action always gets the same id.
    """
    # The client owns the derivation; post() also checks the outcome's control id against it.
    return create_control_id(entry)


def _action_key(action_id: str) -> str:
    return f"{ACTIONS_WORKFLOW}:{action_id}"


# -- descriptions ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Description:
    """An entry description and what was cut from it to fit the limit.

    Attributes:
        text: what is written (at most ``limit`` characters).
        cut: the characters removed (``""`` when nothing was cut).
        url_cut: True when even the URL had to be shortened.
        length: the full description's length.
    """

    text: str
    cut: str = ""
    url_cut: bool = False
    length: int = 0


def describe_action(
    summary: str | None,
    constituent: str | None,
    url: str | None,
    *,
    limit: int = DESCRIPTION_LIMIT,
) -> Description:
    """The description of an action's entry: summary, constituent's name and URL.

    The parts are joined with ``" - "``. When the whole does not fit in ``limit`` characters,
    the summary and name are shortened (ending in ``...``) so the URL stays whole; only when
    the URL alone does not fit is the URL itself cut. Whatever is cut is returned in ``cut``,
    never dropped silently.

    >>> d = describe_action("Donation from Ann Lee", "Ann Lee", "https://x.example/a/1", limit=40)
    >>> d.text, d.cut
    ('Donation from... - https://x.example/a/1', ' Ann Lee - Ann Lee')
    """
    if limit < len(_ELLIPSIS) + 1:
        raise InputError("description_limit is too small", field="description_limit", value=limit)
    head = _SEPARATOR.join(p for p in (summary, constituent) if p)
    link = url or ""
    full = _SEPARATOR.join(p for p in (head, link) if p)
    if len(full) <= limit:
        return Description(text=full, length=len(full))
    tail = f"{_SEPARATOR}{link}" if link else ""
    budget = limit - len(tail) - len(_ELLIPSIS)
    if head and budget >= 1:
        kept = head[:budget]
        return Description(text=f"{kept}{_ELLIPSIS}{tail}", cut=head[budget:], length=len(full))
    # The URL alone is too long: keep its start, and say so.
    keep = limit - len(_ELLIPSIS)
    cut = _SEPARATOR.join(p for p in (head, link[keep:]) if p)
    return Description(text=link[:keep] + _ELLIPSIS, cut=cut, url_cut=True, length=len(full))


# -- building entries from actions -------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class JournalPlan(Report):
    """Journal entries built from actions, not yet posted.

    Attributes:
        entries: one entry per valid action, in the actions' order.
        source_ids: the action id of each entry (parallel to ``entries``).
        names: the action's ``Name`` of each entry, when known.
        truncations: descriptions that were cut: ``source_id``, ``limit``, ``length``,
            ``cut`` (the removed text), ``url_cut``.
        validation: the validation report the plan was built from (None for CSV imports).
        mode: ``individual`` or ``batch``.
        journal: the journal symbol.
        workflow: the ledger workflow the entries are posted under.
    """

    entries: tuple[JournalEntry, ...]
    source_ids: tuple[str, ...]
    names: tuple[str | None, ...]
    truncations: pd.DataFrame
    validation: ValidationReport | None
    mode: str
    journal: str
    workflow: str = ACTIONS_WORKFLOW

    def entries_frame(self) -> pd.DataFrame:
        """One row per entry: journal, date, reference, title, amount, control id."""
        cut = set(self.truncations["source_id"].tolist())
        rows = [
            {
                "source_id": sid,
                "name": name,
                "control_id": entry_control_id(entry),
                "JOURNAL": entry.journal,
                "BATCH_DATE": entry.batch_date.isoformat(),
                "REFERENCENO": entry.reference_no,
                "BATCH_TITLE": entry.title,
                "amount": sum(
                    (line.amount for line in entry.lines if line.tr_type == 1), Decimal(0)
                ),
                "lines": len(entry.lines),
                "truncated": sid in cut,
            }
            for sid, name, entry in zip(self.source_ids, self.names, self.entries, strict=True)
        ]
        return frames.frame_from_records(rows, _ENTRY_COLUMNS)

    def lines_frame(self) -> pd.DataFrame:
        """One row per line: account, side, amount, dimensions, memo."""
        rows = []
        for sid, entry in zip(self.source_ids, self.entries, strict=True):
            for number, line in enumerate(entry.lines, start=1):
                row: dict[str, Any] = {
                    "source_id": sid,
                    "line": number,
                    "side": "debit" if line.tr_type == 1 else "credit",
                    "ACCOUNTNO": line.account_no,
                    "TR_TYPE": line.tr_type,
                    "TRX_AMOUNT": line.amount,
                    "LOCATION": line.location,
                    "DEPARTMENT": line.department,
                    "CLASSID": line.class_id,
                    "DESCRIPTION": line.memo,
                }
                row.update(line.dimensions)
                rows.append(row)
        return frames.frame_from_records(rows, _LINE_COLUMNS)

    def to_frame(self) -> pd.DataFrame:
        """The entries (see :meth:`entries_frame`)."""
        return self.entries_frame()

    def summary(self) -> str:
        """How many entries, for how much, and how many descriptions were cut."""
        total = sum(
            (line.amount for e in self.entries for line in e.lines if line.tr_type == 1),
            Decimal(0),
        )
        return (
            f"{len(self.entries):,} journal entr{'y' if len(self.entries) == 1 else 'ies'} "
            f"({self.mode}, journal {self.journal}) totalling {total:,}; "
            f"{len(self.truncations):,} description(s) cut to fit"
        )


def _date_in(value: pd.Timestamp | dt.datetime, tz: dt.tzinfo) -> dt.date:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(tz).date()


def _tz(timezone: str | dt.tzinfo) -> dt.tzinfo:
    if isinstance(timezone, dt.tzinfo):
        return timezone
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("unknown time zone", field="timezone", value=timezone) from None


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    return text or None


def from_actions(
    actions: pd.DataFrame | ValidationReport,
    catalog: pd.DataFrame | None = None,
    settings: TagSettings | None = None,
    *,
    journal: str = DEFAULT_ACTIONS_JOURNAL,
    mode: PostingMode = "individual",
    run_started: dt.datetime | None = None,
    on_invalid: OnInvalid = "halt",
    description_limit: int = DESCRIPTION_LIMIT,
    timezone: str | dt.tzinfo = "UTC",
) -> JournalPlan:
    """Build one ``GLBATCH`` per valid action.

    Each entry: ``JOURNAL`` = ``journal``; ``BATCH_DATE`` = the date of ``Happened_At__c``
    (``mode="individual"``) or of ``run_started`` (``mode="batch"``), both read in
    ``timezone``; ``REFERENCENO`` = the action id; ``BATCH_TITLE`` and each line's memo = the
    description (:func:`describe_action`); debit line on the DR account with the DR dimensions,
    credit line on the CR account with the CR dimensions, both for the amount. The entry's
    ``key`` is ``actions:<action id>``, from which its posting control id derives.

    Args:
        actions: an actions frame (validated here against ``catalog``), or a
            :class:`ValidationReport` already made.
        catalog: the tag catalog; required when ``actions`` is a frame.
        settings: per-attribute modes (default :class:`TagSettings`).
        journal: journal symbol.
        mode: ``individual`` or ``batch``.
        run_started: the run's start (timezone-aware; default now), for ``batch`` dates.
        on_invalid: ``halt`` raises when any action is invalid; ``skip`` builds the valid ones.
        description_limit: longest description in characters.
        timezone: time zone the dates are taken in (an IANA name or a tzinfo).

    Returns:
        A :class:`JournalPlan`.

    Raises:
        ValidationError: an action is invalid and ``on_invalid="halt"`` (``.report`` is the
            :class:`ValidationReport`).
        InputError: a bad argument (mode, timezone, naive ``run_started``...).

    >>> plan = from_actions(actions, catalog, mode="batch")  # doctest: +SKIP
    >>> plan.entries_frame(); plan.lines_frame()  # doctest: +SKIP
    """
    if mode not in ("individual", "batch"):
        raise InputError("mode is 'individual' or 'batch'", field="mode", value=mode)
    if on_invalid not in ("halt", "skip"):
        raise InputError("on_invalid is 'halt' or 'skip'", field="on_invalid", value=on_invalid)
    if isinstance(actions, ValidationReport):
        report = actions
    else:
        if catalog is None:
            raise InputError("a catalog is needed to validate actions", field="catalog")
        report = validate(actions, catalog, settings)
    if not report.ok and on_invalid == "halt":
        raise ValidationError(
            f"{len(report.invalid_ids)} invalid action(s); nothing was built: {report.summary()}",
            report=report,
        )
    started = run_started or dt.datetime.now(dt.UTC)
    if started.tzinfo is None:
        raise InputError("run_started must be timezone-aware", field="run_started", value=started)
    tz = _tz(timezone)
    batch_date = _date_in(started, tz)
    custom_field = report.settings.custom_dimension.line_field
    valid = report.valid
    entries: list[JournalEntry] = []
    ids: list[str] = []
    names: list[str | None] = []
    cuts: list[dict[str, Any]] = []
    index = {name: i for i, name in enumerate(valid.columns)}

    def get(row: tuple[Any, ...], name: str) -> str | None:
        return _text(row[index[name]]) if name in index else None

    for row in valid.itertuples(index=False, name=None):
        action_id = str(row[index["action_id"]])
        described = describe_action(
            _text(row[index["summary"]]),
            _text(row[index["constituent"]]),
            _text(row[index["url"]]),
            limit=description_limit,
        )
        if described.cut:
            cuts.append(
                {
                    "source_id": action_id,
                    "limit": description_limit,
                    "length": described.length,
                    "cut": described.cut,
                    "url_cut": described.url_cut,
                }
            )
        amount: Decimal = row[index["amount"]]
        lines = []
        for side, tr_type in (("dr", 1), ("cr", -1)):
            custom = get(row, f"custom_{side}")
            lines.append(
                JournalLine(
                    account_no=str(row[index[f"account_{side}"]]),
                    amount=amount,
                    tr_type=tr_type,
                    memo=described.text,
                    location=get(row, f"location_{side}"),
                    department=get(row, f"department_{side}"),
                    class_id=get(row, f"class_{side}"),
                    dimensions={custom_field: custom} if custom else {},
                )
            )
        date = _date_in(row[index["happened_at"]], tz) if mode == "individual" else batch_date
        entries.append(
            JournalEntry(
                key=_action_key(action_id),
                journal=journal,
                batch_date=date,
                title=described.text,
                lines=lines,
                reference_no=action_id,
            )
        )
        ids.append(action_id)
        names.append(_text(row[index["name"]]))
    plan = JournalPlan(
        entries=tuple(entries),
        source_ids=tuple(ids),
        names=tuple(names),
        truncations=frames.frame_from_records(cuts, _TRUNCATION_COLUMNS),
        validation=report,
        mode=mode,
        journal=journal,
    )
    log.info("%s", plan.summary())
    return plan


# -- posting -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False)
class PostReport(Report):
    """What :func:`post` did, one row per entry.

    Attributes:
        outcomes: ``source_id``, ``REFERENCENO``, ``control_id``, ``status`` (``posted``:
            posted by this run or found already in Intacct under the same control id;
            ``already_posted``: the ledger had it from an earlier run, nothing sent;
            ``failed``: Intacct refused it; ``pending``: sent without a known outcome, resent
            by the next run), ``RECORDNO``, ``errors``.
    """

    outcomes: pd.DataFrame

    def count(self, status: str) -> int:
        """Entries with ``status``."""
        return int((self.outcomes["status"] == status).sum())

    def to_frame(self) -> pd.DataFrame:
        """The outcomes."""
        return self.outcomes

    def summary(self) -> str:
        """Counts per status."""
        return (
            f"{self.count('posted'):,} posted, {self.count('already_posted'):,} already posted, "
            f"{self.count('failed'):,} failed, {self.count('pending'):,} pending"
        )


def _record_numbers(ia: IntacctClient, references: Sequence[str]) -> dict[str, str]:
    """RECORDNO of the GLBATCH holding each reference (the highest when several do)."""
    found: dict[str, str] = {}
    for start in range(0, len(references), 500):
        chunk = list(references[start : start + 500])
        frame = ia.query(
            "GLBATCH",
            select=["RECORDNO", "REFERENCENO"],
            filter=filters.in_("REFERENCENO", chunk),
        )
        for record_no, reference in zip(
            frame["RECORDNO"].tolist(), frame["REFERENCENO"].tolist(), strict=True
        ):
            key = str(reference)
            if key not in found or int(record_no) > int(found[key]):
                found[key] = str(record_no)
    return found


def _post_entries(
    ia: IntacctClient,
    state: StateStore,
    workflow: str,
    items: Sequence[tuple[str, JournalEntry]],
    *,
    progress: bool = False,
) -> PostReport:
    results: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, JournalEntry]] = []
    for source_id, entry in items:
        known = state.ledger_get(workflow, source_id)
        if known is not None and known.status == "posted":
            results[source_id] = {
                "source_id": source_id,
                "REFERENCENO": entry.reference_no,
                "control_id": known.control_id,
                "status": "already_posted",
                "RECORDNO": known.record_no,
                "errors": None,
            }
        else:
            todo.append((source_id, entry))
    duplicates: list[tuple[str, JournalEntry, str]] = []
    incomplete: IncompleteWriteError | None = None
    size = max(1, ia.batch_size)
    for start in range(0, len(todo), size):
        chunk = todo[start : start + size]
        for source_id, entry in chunk:
            # Written before sending: a crash from here on leaves a row the next run resends
            # under the same control id (the gateway refuses a second execution).
            state.ledger_put(
                LedgerEntry(
                    workflow=workflow,
                    source_id=source_id,
                    control_id=entry_control_id(entry),
                    status="pending",
                    detail=_detail(entry),
                )
            )
        outcomes: pd.DataFrame | None
        try:
            outcomes = ia.create([entry for _, entry in chunk], progress=progress)
        except IncompleteWriteError as exc:
            outcomes = exc.outcomes if isinstance(exc.outcomes, pd.DataFrame) else None
            incomplete = exc
        records = frames.frame_to_records(outcomes) if outcomes is not None else []
        by_row = {int(r["row"]): r for r in records}
        for row, (source_id, entry) in enumerate(chunk):
            control_id = entry_control_id(entry)
            outcome = by_row.get(row)
            status = outcome["status"] if outcome else "unknown"
            result = {
                "source_id": source_id,
                "REFERENCENO": entry.reference_no,
                "control_id": control_id,
                "status": "pending",
                "RECORDNO": None,
                "errors": outcome["errors"] if outcome else None,
            }
            if outcome and outcome["control_id"] != control_id:
                raise AssertionError(
                    f"control id mismatch for {source_id}: ledger {control_id}, "
                    f"sent {outcome['control_id']}"
                )
            if status == "success":
                record_no = None if outcome is None else outcome["RECORDNO"]
                result.update(
                    status="posted", RECORDNO=None if record_no is None else str(record_no)
                )
                _ledger(state, workflow, source_id, entry, "posted", result["RECORDNO"])
            elif status == "duplicate":
                duplicates.append((source_id, entry, control_id))
                result.update(status="posted", errors=None)
            elif status in ("failure", "aborted"):
                result.update(status="failed")
                _ledger(state, workflow, source_id, entry, "failed", None, result["errors"])
            results[source_id] = result
        if incomplete is not None:
            break
    if duplicates:
        # Executed by an earlier attempt whose answer was lost: the gateway refused to run the
        # function again. Find the entry it created by its reference.
        numbers = _record_numbers(ia, [str(e.reference_no) for _, e, _ in duplicates])
        for source_id, entry, _ in duplicates:
            record_no = numbers.get(str(entry.reference_no))
            results[source_id]["RECORDNO"] = record_no
            _ledger(state, workflow, source_id, entry, "posted", record_no)
    for source_id, entry in todo:
        results.setdefault(
            source_id,
            {
                "source_id": source_id,
                "REFERENCENO": entry.reference_no,
                "control_id": entry_control_id(entry),
                "status": "pending",
                "RECORDNO": None,
                "errors": "not sent: the run stopped before this entry",
            },
        )
    report = PostReport(
        outcomes=frames.frame_from_records(
            [results[source_id] for source_id, _ in items], _POST_COLUMNS
        )
    )
    log.info("post %s: %s", workflow, report.summary())
    if incomplete is not None:
        raise IncompleteWriteError(
            f"posting stopped part way ({report.summary()}): {incomplete}; rerun to finish "
            "(pending entries are resent under the same control ids and never posted twice)",
            outcomes=report,
        ) from incomplete
    return report


def _detail(entry: JournalEntry) -> dict[str, Any]:
    return {
        "journal": entry.journal,
        "batch_date": entry.batch_date.isoformat(),
        "reference": entry.reference_no,
        "amount": str(sum((ln.amount for ln in entry.lines if ln.tr_type == 1), Decimal(0))),
    }


def _ledger(
    state: StateStore,
    workflow: str,
    source_id: str,
    entry: JournalEntry,
    status: Literal["posted", "failed"],
    record_no: str | None,
    errors: str | None = None,
) -> None:
    detail = _detail(entry)
    if errors:
        detail["errors"] = errors
    state.ledger_put(
        LedgerEntry(
            workflow=workflow,
            source_id=source_id,
            control_id=entry_control_id(entry),
            status=status,
            record_no=record_no,
            detail=detail,
        )
    )


def post(
    ia: IntacctClient,
    plan: JournalPlan,
    state: StateStore,
    *,
    progress: bool = False,
) -> PostReport:
    """Post a plan's entries once each, recording every posting in the ledger.

    Entries whose ledger row says ``posted`` are not sent again. The others are written to the
    ledger as ``pending`` (with their control id) before each request and updated after. An
    entry the gateway reports as already executed (its control id ran before, e.g. the answer
    was lost) counts as posted and its ``RECORDNO`` is looked up by ``REFERENCENO``.

    Args:
        ia: the Intacct client.
        plan: from :func:`from_actions` (or :func:`read_journal_lines`' ``plan``).
        state: the state store holding the ledger.
        progress: show a progress bar.

    Returns:
        A :class:`PostReport`.

    Raises:
        IncompleteWriteError: the run stopped part way (network, gateway); ``.outcomes`` is
            the :class:`PostReport` so far. Rerunning the same plan finishes the job.

    >>> report = post(ia, plan, SQLiteStateStore())  # doctest: +SKIP
    """
    items = list(zip(plan.source_ids, plan.entries, strict=True))
    return _post_entries(ia, state, plan.workflow, items, progress=progress)


# -- CSV import --------------------------------------------------------------------------------

#: Columns a journal-lines CSV may have (``GLDIM<NAME>`` columns are user-defined dimensions).
#: ``entry``, ``date``, ``description``, ``account`` and ``debit``/``credit`` are required.
IMPORT_COLUMNS: tuple[str, ...] = (
    "entry",
    "date",
    "description",
    "account",
    "debit",
    "credit",
    "memo",
    "location",
    "department",
    "class",
)
_IMPORT_REQUIRED = ("entry", "date", "description", "account", "debit", "credit")
_ISSUE_KINDS: Mapping[str, frames.Kind] = {
    "line": "integer",
    "entry": "text",
    "field": "text",
    "value": "text",
    "message": "text",
}


@attrs.frozen(kw_only=True, eq=False)
class JournalImport(Report):
    """Journal lines read from a CSV file.

    Attributes:
        plan: the entries of the valid entries (a :class:`JournalPlan`; ``source_ids`` are
            ``<journal>:<entry>``).
        issues: one row per problem: ``line`` (the file's line number, header = 1),
            ``entry``, ``field``, ``value``, ``message``.
        invalid_entries: entry ids with at least one issue (none of their lines is posted).
        lines: how many data lines the file had.
    """

    plan: JournalPlan
    issues: pd.DataFrame
    invalid_entries: tuple[str, ...]
    lines: int

    @property
    def ok(self) -> bool:
        """True when every row is good."""
        return self.issues.empty

    def to_frame(self) -> pd.DataFrame:
        """The issues."""
        return self.issues

    def summary(self) -> str:
        """Counts of lines, entries and issues."""
        return (
            f"{self.lines:,} line(s): {len(self.plan.entries):,} valid entr"
            f"{'y' if len(self.plan.entries) == 1 else 'ies'}, "
            f"{len(self.invalid_entries):,} invalid ({len(self.issues):,} issue(s))"
        )


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise InputError(
            f"{source} is not UTF-8 text (byte 0x{bad} at line {line}); save it as UTF-8 "
            "(e.g. 'CSV UTF-8' in Excel)",
            row=line,
            field="encoding",
            value=f"0x{bad}",
        ) from None


def _amount_cell(value: str) -> Decimal:
    try:
        amount = frames.parse_decimal(value)
    except InputError:
        amount = None
    if amount is None:
        raise ValueError(
            "not a plain decimal amount (write 1234.50: no thousands separators, currency "
            "signs or spaces)"
        )
    return amount


def read_journal_lines(
    source: str | Path | bytes | IO[bytes],
    *,
    journal: str = DEFAULT_IMPORT_JOURNAL,
) -> JournalImport:
    """Read journal lines from a CSV file and check every row.

    The file is UTF-8 with a header row. Each line has ``entry`` (the entry's id: lines with
    the same id form one entry, posted once ever under that id and journal), ``date``
    (``YYYY-MM-DD``, the same on every line of an entry), ``description`` (the entry's title,
    required on its first line), ``account``, exactly one of ``debit``/``credit`` (a plain
    positive decimal such as ``1234.50``), and optionally ``memo``, ``location``,
    ``department``, ``class`` and ``GLDIM<NAME>`` dimension columns. Each entry must balance.

    Args:
        source: a path, the file's bytes, or a binary file object.
        journal: the journal symbol of every entry.

    Returns:
        A :class:`JournalImport`: the valid entries as a plan, and every issue with its line
        number, field and value.

    Raises:
        InputError: the file is not UTF-8, has no header, or lacks/has unknown columns.
    """
    if isinstance(source, bytes):
        data, name = source, "the CSV data"
    elif isinstance(source, str | Path):
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}", value=str(path)) from None
        name = str(path)
    else:
        data, name = source.read(), getattr(source, "name", "the CSV file")
    text = _decode(data, name)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{name} is empty; expected a header row", row=1) from None
    missing = [c for c in _IMPORT_REQUIRED if c not in header]
    unknown = [c for c in header if c not in IMPORT_COLUMNS and not c.startswith("GLDIM")]
    if missing or unknown:
        problem = (
            f"missing column(s) {', '.join(missing)}"
            if missing
            else f"unknown column(s) {', '.join(unknown)}"
        )
        raise InputError(
            f"{name}: {problem}; expected {', '.join(IMPORT_COLUMNS)} and GLDIM<NAME> columns",
            row=1,
            field=(missing or unknown)[0],
        )
    issues: list[dict[str, Any]] = []
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    count = 0

    def issue(line: int, entry: str, field: str, value: Any, message: str) -> None:
        issues.append(
            {"line": line, "entry": entry, "field": field, "value": value, "message": message}
        )

    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if len(cells) != len(header):
            issue(line, "", "", None, f"{len(cells)} cell(s) for {len(header)} column(s)")
            continue
        row = {h: c.strip() for h, c in zip(header, cells, strict=True)}
        entry = row["entry"]
        if not entry:
            issue(line, "", "entry", None, "every line needs an entry id")
            continue
        groups.setdefault(entry, []).append((line, row))
    entries: list[JournalEntry] = []
    ids: list[str] = []
    invalid: list[str] = []
    for entry_id, rows in groups.items():
        before = len(issues)
        built = _import_entry(journal, entry_id, rows, issue)
        if built is None or len(issues) > before:
            invalid.append(entry_id)
            continue
        entries.append(built)
        ids.append(f"{journal}:{entry_id}")
    plan = JournalPlan(
        entries=tuple(entries),
        source_ids=tuple(ids),
        names=tuple(e.reference_no for e in entries),
        truncations=frames.frame_from_records([], _TRUNCATION_COLUMNS),
        validation=None,
        mode="import",
        journal=journal,
        workflow=IMPORT_WORKFLOW,
    )
    issue_frame = frames.frame_from_records(issues, _ISSUE_KINDS)
    if len(issue_frame):
        issue_frame = issue_frame.sort_values("line", kind="stable").reset_index(drop=True)
    unassigned = any(i["entry"] == "" for i in issues)
    result = JournalImport(
        plan=plan,
        issues=issue_frame,
        invalid_entries=tuple(invalid) + (("",) if unassigned else ()),
        lines=count,
    )
    log.info("%s: %s", name, result.summary())
    return result


def _import_entry(
    journal: str,
    entry_id: str,
    rows: list[tuple[int, dict[str, str]]],
    issue: Any,
) -> JournalEntry | None:
    first_line = rows[0][0]
    dates = []
    lines: list[JournalLine] = []
    total = Decimal(0)
    description = next((r["description"] for _, r in rows if r["description"]), "")
    if not rows[0][1]["description"]:
        issue(
            first_line, entry_id, "description", None, "the entry's first line needs a description"
        )
    for line, row in rows:
        try:
            dates.append(dt.date.fromisoformat(row["date"]))
        except ValueError:
            issue(line, entry_id, "date", row["date"] or None, "not a date written YYYY-MM-DD")
        if not row["account"]:
            issue(line, entry_id, "account", None, "every line needs an account")
        debit, credit = row["debit"], row["credit"]
        if bool(debit) == bool(credit):
            issue(
                line,
                entry_id,
                "debit" if debit else "debit/credit",
                f"{debit}/{credit}" if debit else None,
                "give exactly one of debit and credit",
            )
            continue
        field, cell, tr_type = ("debit", debit, 1) if debit else ("credit", credit, -1)
        try:
            amount = _amount_cell(cell)
        except ValueError as exc:
            issue(line, entry_id, field, cell, str(exc))
            continue
        if amount <= 0:
            issue(line, entry_id, field, cell, "the amount must be greater than zero")
            continue
        total += amount * tr_type
        try:
            lines.append(
                JournalLine(
                    account_no=row["account"],
                    amount=amount,
                    tr_type=tr_type,
                    memo=row.get("memo") or None,
                    location=row.get("location") or None,
                    department=row.get("department") or None,
                    class_id=row.get("class") or None,
                    dimensions={k: v for k, v in row.items() if k.startswith("GLDIM") and v},
                )
            )
        except InputError as exc:
            issue(line, entry_id, exc.field or field, cell, str(exc))
    if len(set(dates)) > 1:
        issue(
            first_line,
            entry_id,
            "date",
            ", ".join(sorted({d.isoformat() for d in dates})),
            "the lines of one entry must share one date",
        )
    if len(rows) < 2:
        issue(first_line, entry_id, "entry", entry_id, "an entry needs at least two lines")
        return None
    if len(lines) == len(rows) and total != 0:
        issue(
            first_line,
            entry_id,
            "debit/credit",
            str(total),
            f"the entry does not balance: debits minus credits = {total}",
        )
    if len(lines) != len(rows) or not dates or not description:
        return None
    return JournalEntry(
        key=f"{IMPORT_WORKFLOW}:{journal}:{entry_id}",
        journal=journal,
        batch_date=dates[0],
        title=description,
        lines=lines,
        reference_no=entry_id,
    )


def post_journal_lines(
    ia: IntacctClient,
    imported: JournalImport,
    state: StateStore,
    *,
    skip_invalid: bool = False,
    progress: bool = False,
) -> PostReport:
    """Post the entries read by :func:`read_journal_lines`, each once ever.

    Args:
        ia: the Intacct client.
        imported: what :func:`read_journal_lines` returned.
        state: the state store holding the ledger (workflow ``journal_import``).
        skip_invalid: post the valid entries even when some rows are bad (the entries with a
            bad row are never posted in part).
        progress: show a progress bar.

    Raises:
        ValidationError: some rows are bad and ``skip_invalid`` is False; nothing was posted
            (``.report`` is the :class:`JournalImport`).
        IncompleteWriteError: as for :func:`post`.
    """
    if not imported.ok and not skip_invalid:
        raise ValidationError(
            f"{len(imported.issues)} problem(s) in the file; nothing was posted: "
            f"{imported.summary()}",
            report=imported,
        )
    return post(ia, imported.plan, state, progress=progress)

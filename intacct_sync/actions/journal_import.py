"""Journal lines imported from a CSV file, each entry posted once ever.

:func:`read_journal_lines` reads and checks every row (reporting each bad row with its line
number, field and value); :func:`post_journal_lines` posts the valid entries through
:func:`intacct_sync.actions.journals.post` and so through the posting engine. Entry ids are
NFC-normalised as they are read, so the same id typed with composed or decomposed accents is one
entry.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.actions.catalog import unencodable
from intacct_sync.actions.dimensions import resolve_udd_values
from intacct_sync.actions.journals import (
    _TRUNCATION_COLUMNS,
    DEFAULT_IMPORT_JOURNAL,
    IMPORT_WORKFLOW,
    JournalPlan,
    PostReport,
    post,
)
from intacct_sync.errors import IncompleteWriteError, InputError, ValidationError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.posting.identity import nfc
from intacct_sync.posting.preflight import PostingRules, PreflightReport, preflight
from intacct_sync.reports import Report, Scope
from intacct_sync.state import StateStore
from intacct_sync.state.tenancy import bind_tenant

__all__ = [
    "IMPORT_COLUMNS",
    "ImportReport",
    "JournalImport",
    "post_journal_lines",
    "preflight_journal_lines",
    "read_journal_lines",
]

log = logging.getLogger("intacct_sync.actions.journal_import")


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


@attrs.frozen(kw_only=True, eq=False, repr=False)
class JournalImport(Report):
    """Journal lines read from a CSV file.

    Attributes:
        plan: the entries of the valid entries (a :class:`JournalPlan`; ``source_ids`` are
            ``<journal>:<entry>``).
        issues: one row per problem: ``line`` (the file's line number, header = 1),
            ``entry``, ``field``, ``value``, ``message``.
        invalid_entries: entry ids with at least one issue (none of their lines is posted).
        lines: how many data lines the file had.
        entry_lines: each entry id's line numbers in the file (what refusals name).
    """

    plan: JournalPlan
    issues: pd.DataFrame
    invalid_entries: tuple[str, ...]
    lines: int
    entry_lines: Mapping[str, tuple[int, ...]] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """True when every row is good."""
        return self.issues.empty

    def to_frame(self) -> pd.DataFrame:
        """The issues.

        Returns:
            A DataFrame with one row per issue (CSV line, entry, field, value, message); empty when
            every row is good.
        """
        return self.issues

    def summary(self) -> str:
        """Counts of lines, entries and issues.

        Returns:
            One line of counts, for a person.
        """
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

    unencodable_entries: set[str] = set()
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        count += 1
        if len(cells) != len(header):
            issue(line, "", "", None, f"{len(cells)} cell(s) for {len(header)} column(s)")
            continue
        row = {h: nfc(c.strip()) for h, c in zip(header, cells, strict=True)}
        entry = row["entry"]
        if not entry:
            issue(line, "", "entry", None, "every line needs an entry id")
            continue
        for column, value in row.items():
            refusal = unencodable(value)
            if refusal is not None:
                # Refused here, by the file's own line and entry id: sent, it would stop the
                # whole batch at the client with only a batch position.
                issue(line, entry, column, value, f"{column} {refusal}")
                unencodable_entries.add(entry)
        groups.setdefault(entry, []).append((line, row))
    entries: list[JournalEntry] = []
    ids: list[str] = []
    invalid: list[str] = []
    for entry_id, rows in groups.items():
        before = len(issues)
        built = _import_entry(journal, entry_id, rows, issue)
        if built is None or len(issues) > before or entry_id in unencodable_entries:
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
        entry_lines={e: tuple(line for line, _ in rows) for e, rows in groups.items()},
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


def preflight_journal_lines(ia: IntacctClient, imported: JournalImport) -> PreflightReport:
    """What Intacct would refuse among the file's valid entries, checked before sending.

    Reads the company's rules for the accounts and dimension values the entries use (a handful
    of requests) and checks every line locally: the same preflight the posting engine runs
    before a real import sends anything. Each breach's ``entry`` is the file's entry id,
    ``csv_line`` the breaching line's number in the file (header = 1; empty for an entry-level
    rule such as a closed period) and ``csv_lines`` all of the entry's.

    Args:
        ia: the Intacct client whose rules are checked.
        imported: what :func:`read_journal_lines` returned.

    Returns:
        A :class:`~intacct_sync.posting.preflight.PreflightReport`; ``.ok`` when nothing would
        be refused.
    """
    entries = resolve_udd_values(ia, imported.plan.entries)
    report = preflight(entries, PostingRules.read(ia, entries))
    breaches = report.breaches.copy()
    by_key = {e.key: str(e.reference_no) for e in entries}
    ids = [by_key.get(str(k), str(k)) for k in breaches["entry"]]
    breaches["entry"] = pd.array(ids, dtype="string")
    lines = [", ".join(map(str, imported.entry_lines.get(i, ()))) for i in ids]
    breaches.insert(1, "csv_lines", pd.Series(lines, index=breaches.index, dtype="string"))
    exact: list[int | None] = []
    for entry_id, n in zip(ids, breaches["line"].tolist(), strict=True):
        in_file = imported.entry_lines.get(entry_id, ())
        exact.append(in_file[int(n) - 1] if not pd.isna(n) and 0 < int(n) <= len(in_file) else None)
    breaches.insert(1, "csv_line", pd.Series(exact, index=breaches.index, dtype="Int64"))
    return attrs.evolve(report, breaches=breaches)


@attrs.frozen(kw_only=True, eq=False, repr=False)
class ImportReport(PostReport):
    """What :func:`post_journal_lines` did: a :class:`PostReport` that names where it posted.

    Refusals (``failed``, ``skipped``) lead with the entry id and its lines in the CSV file.

    Attributes:
        scope: the Intacct company and entity the entries were posted in.
    """

    scope: Scope = attrs.field(factory=Scope)

    def summary(self) -> str:
        """Counts per status, and the company and entity posted in.

        Returns:
            One line: counts per status, and where the entries were posted.
        """
        return self.scope.after(super().summary())

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-able document: summary, scope, counts, every entry's row.

        Returns:
            A dict that ``json.dumps`` can write (decimals and dates as text).
        """
        counts = self.outcomes["status"].value_counts().to_dict() if len(self.outcomes) else {}
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "counts": {str(k): int(v) for k, v in sorted(counts.items())},
            "entries": frames.frame_to_records(self.outcomes),
        }


def post_journal_lines(
    ia: IntacctClient,
    imported: JournalImport,
    state: StateStore,
    *,
    skip_invalid: bool = False,
    progress: bool = False,
    correct_drift: bool = False,
) -> ImportReport:
    """Post the entries read by :func:`read_journal_lines`, each once ever.

    The posting engine's preflight checks every entry against the company's own rules first
    (:mod:`intacct_sync.posting.preflight`); ``skip_invalid`` is the policy for what it finds,
    as for bad rows: without it one entry Intacct would refuse means nothing is sent (that
    entry ``skipped``, naming its CSV line, field, value and rule; the others ``held``).

    Args:
        ia: the Intacct client.
        imported: what :func:`read_journal_lines` returned.
        state: the state store holding the ledger (workflow ``journal_import``).
        skip_invalid: post the valid entries even when some rows are bad or some entries would
            be refused by Intacct (the entries with a bad row are never posted in part).
        progress: show a progress bar.
        correct_drift: reverse and repost an entry the books hold with other figures (a
            corrected file imported again) instead of reporting ``drift``; see :func:`post`.

    Returns:
        An :class:`ImportReport`.

    Raises:
        ValidationError: some rows are bad and ``skip_invalid`` is False; nothing was posted
            (``.report`` is the :class:`JournalImport`).
        IncompleteWriteError: as for :func:`post`.
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    bind_tenant(state, ia)
    if not imported.ok and not skip_invalid:
        raise ValidationError(
            f"{len(imported.issues)} problem(s) in the file; nothing was posted: "
            f"{imported.summary()}",
            report=imported,
        )
    # GLDIM<name> takes the UDD value's id; files name the value (reference §13.5).
    plan = attrs.evolve(imported.plan, entries=resolve_udd_values(ia, imported.plan.entries))
    scope = Scope.of(ia)
    on_breach: Literal["skip", "halt"] = "skip" if skip_invalid else "halt"
    try:
        report = post(
            ia, plan, state, progress=progress, on_breach=on_breach, correct_drift=correct_drift
        )
    except IncompleteWriteError as exc:
        if isinstance(exc.report, PostReport):
            exc.report = _located(exc.report, imported, scope)
            exc.outcomes = exc.report.outcomes
        raise
    return _located(report, imported, scope)


# The preflight names a breach's line within its entry ("line 2 LOCATION 'MARS': ...").
_ENTRY_LINE = re.compile(r"\bline (\d+) ")


def _located(report: PostReport, imported: JournalImport, scope: Scope) -> ImportReport:
    """``report`` with each refusal's text led by the entry id and its lines in the file, and
    each line of an entry named by its line in the file, so a user finds it in the CSV
    (Intacct's own text and the preflight speak of lines within one entry).
    """
    frame = report.outcomes.copy()
    for i, (source_id, status, errors) in enumerate(
        zip(frame["source_id"], frame["status"], frame["errors"], strict=True)
    ):
        if status not in ("failed", "skipped") or pd.isna(errors):
            continue
        entry = str(source_id).partition(":")[2]
        lines = imported.entry_lines.get(entry, ())
        where = f"CSV line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}"

        def in_file(match: re.Match[str], lines: tuple[int, ...] = lines) -> str:
            n = int(match.group(1))
            return f"CSV line {lines[n - 1]} " if 0 < n <= len(lines) else match.group(0)

        text = _ENTRY_LINE.sub(in_file, str(errors)) if status == "skipped" else str(errors)
        frame.loc[i, "errors"] = f"entry {entry} ({where}): {text}"
    return ImportReport(outcomes=frame, scope=scope)

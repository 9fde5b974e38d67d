"""Report objects: a table a person can read in a notebook, a terminal or a script.

Every report has ``to_frame()`` (the data, whole), ``summary()`` (one line), ``str()`` and
``repr()`` (the summary over a GitHub-style table via tabulate, for scripts, the CLI and a
terminal), ``_repr_html_()`` (an escaped HTML table for notebooks) and ``table(internal=...)``.
The views share one formatter (:func:`frame_text`, :func:`frame_html`): money right-aligned with
thousands separators and two decimals, ratios as percentages, dates as dates, times in one form
(:func:`when`), long text cut, hash and control-id columns hidden. User-facing words share
:func:`plural`, :func:`counts_text` and :func:`when`.

Values come from a CRM anyone can type into, so every way out is neutralised by one helper
each: text tables go through :func:`terminal_safe` (control characters, newlines, ANSI escapes,
bidirectional overrides and the table's own ``|`` are escaped, so a value can neither forge a
row nor drive the terminal), CSV through :func:`csv_safe` / :func:`write_csv` (OWASP's CSV
injection rule), HTML through ``html.escape``. JSON output is left exact.

The module is over 600 lines because these helpers are the public formatting API every report,
the CLI and users' own scripts call, so each carries a full docstring with an example; split
apart, the one formatter every view shares would become several.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import attrs
import numpy as np
import pandas as pd
from tabulate import tabulate

from intacct_sync.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MAX_ROWS_SHOWN",
    "INTERNAL_COLUMNS",
    "MAX_TEXT_SHOWN",
    "Report",
    "Scope",
    "Table",
    "counts_text",
    "csv_safe",
    "csv_safe_frame",
    "figure",
    "frame_html",
    "frame_text",
    "FIGURE_FORMATS",
    "id_map_frame",
    "is_internal",
    "plural",
    "save_figure",
    "terminal_safe",
    "value_text",
    "when",
    "write_csv",
]

MAX_ROWS_SHOWN = 50

# C0 and C1 controls (ESC starts ANSI sequences, CR/LF forge rows), DEL, and the Unicode
# controls that reorder or hide text on screen (bidi overrides and isolates, zero-width
# characters, line/paragraph separators).
_UNSAFE_ON_TERMINAL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff|]"
)
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "|": "\\|"}
# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` with everything that could act on a terminal or a text table escaped.

    >>> terminal_safe("ok\\n| forged | row |\\x1b[2J")
    'ok\\\\n\\\\| forged \\\\| row \\\\|\\\\x1b[2J'

    Args:
        text: text from a record, an error or a user.

    Returns:
        The text with control characters, escapes and table pipes made visible and inert.
    """
    return _UNSAFE_ON_TERMINAL.sub(_escape_char, text)


def csv_safe(value: Any) -> Any:
    """A CSV cell that no spreadsheet will run: text starting ``= + - @`` tab or CR gets ``'``.

    Only text is touched; numbers, decimals and dates are written as they are.

    >>> csv_safe("=1+2"), csv_safe("-5"), csv_safe(-5)
    ("'=1+2", "'-5", -5)

    Args:
        value: one cell.

    Returns:
        The cell, prefixed with ``'`` when a spreadsheet would read it as a formula.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`csv_safe` applied to every text cell and column name.

    Args:
        frame: the frame to export.

    Returns:
        A new DataFrame; ``frame`` is left as it was.
    """
    safe = frame.copy()
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            safe.isetitem(position, column.map(csv_safe, na_action="ignore").to_numpy())
    safe.columns = [csv_safe(str(c)) for c in safe.columns]
    return safe


def write_csv(frame: pd.DataFrame, out: TextIO) -> None:
    """Write ``frame`` as CSV (no index), neutralised with :func:`csv_safe`.

    Lines end in CRLF, as RFC 4180 has it: the writer quotes a value holding any character of
    the line terminator, so a bare carriage return inside a value (a row break to Excel) is
    quoted too.

    Args:
        frame: the frame to export.
        out: a text file opened with ``newline=""`` (or ``sys.stdout``).
    """
    csv_safe_frame(frame).to_csv(out, index=False, lineterminator="\r\n")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


# -- words a person reads -------------------------------------------------------------------------

_IRREGULAR = {"entry": "entries", "entity": "entities", "company": "companies", "is": "are"}


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the word, singular or plural as English has it, with thousands separators.

    >>> plural(1, "action"), plural(3, "document"), plural(1200, "entry")
    ('1 action', '3 documents', '1,200 entries')

    Args:
        count: how many.
        singular: the word for one.
        plural_form: the word for several, when English does not add ``s`` or ``ies``.

    Returns:
        ``"<count> <word>"``.
    """
    if count == 1:
        return f"1 {singular}"
    word = plural_form or _IRREGULAR.get(singular)
    if word is None:
        word = singular[:-1] + "ies" if singular.endswith("y") else singular + "s"
    return f"{count:,} {word}"


def counts_text(counts: Mapping[str, int], *, empty: str = "nothing") -> str:
    """``{'Account': 33, 'Intacct_Invoice__c': 52}`` as ``33 Account, 52 Intacct_Invoice__c``.

    Zero counts are left out; ``empty`` is said when nothing is left.

    >>> counts_text({"Account": 33, "Contact": 0, "Intacct_Invoice__c": 1200})
    '33 Account, 1,200 Intacct_Invoice__c'

    Args:
        counts: name -> count, in the order to say them.
        empty: what to say when every count is zero.

    Returns:
        The counts as one phrase, with thousands separators.
    """
    parts = [f"{n:,} {name}" for name, n in counts.items() if n]
    return ", ".join(parts) or empty


@attrs.frozen
class Scope:
    """The Intacct company and entity a run read and wrote: every run report names it.

    ``str()`` is what a summary shows (``company ACME, entity EAST`` or ``company ACME, top
    level``; empty when the company is not known, as in a report built by hand);
    :meth:`to_dict` is what a JSON document carries.

    >>> str(Scope("ACME")), str(Scope("ACME", "EAST")), Scope("ACME").to_dict()
    ('company ACME, top level', 'company ACME, entity EAST', {'company': 'ACME', 'entity': None})
    """

    company: str = ""
    entity: str = ""

    @classmethod
    def of(cls, ia: Any) -> Scope:
        """The scope of an Intacct client (either protocol): its company and entity.

        Args:
            ia: an :class:`~intacct_sync.IntacctClient` (or anything with ``company_id`` and
                ``entity_id``).

        Returns:
            The scope; an empty one when the client names no company.
        """
        # Duck-typed: this module sits below the adapters and cannot import the client.
        return cls(
            str(getattr(ia, "company_id", "") or ""), str(getattr(ia, "entity_id", "") or "")
        )

    def __bool__(self) -> bool:
        return bool(self.company)

    def __str__(self) -> str:
        if not self.company:
            return ""
        return f"company {self.company}, " + (
            f"entity {self.entity}" if self.entity else "top level"
        )

    def to_dict(self) -> dict[str, str | None]:
        """``{"company": ..., "entity": ...}``; ``None`` for an unknown company or the top level.

        Returns:
            The scope as a JSON report carries it.
        """
        return {"company": self.company or None, "entity": self.entity or None}

    def after(self, text: str) -> str:
        """``text`` followed by ``; <scope>`` (``text`` alone when the scope is unknown).

        >>> Scope("ACME").after("3 entries posted")
        '3 entries posted; company ACME, top level'

        Args:
            text: a summary line.

        Returns:
            The line with the company and entity named at its end.
        """
        return f"{text}; {self}" if self.company else text


def value_text(value: Any) -> str:
    """A value as a sentence shows it: ``(empty)``, ``44,510.00``, ``"Acme Inc"``, ``yes``.

    For messages and reasons (``Name: Salesforce "Acme" vs Intacct (empty)``), never a repr.

    >>> value_text(None), value_text(Decimal("44510.0")), value_text("Acme"), value_text(True)
    ('(empty)', '44,510.00', '"Acme"', 'yes')

    Args:
        value: any value from a record.

    Returns:
        The value in words, ready for a sentence.
    """
    if value is None or _is_missing(value):
        return "(empty)"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:,.{_places(value)}f}"
    if isinstance(value, dt.date | pd.Timestamp):
        return when(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    return f'"{value}"'


def when(value: dt.datetime | dt.date | pd.Timestamp | str | None, *, never: str = "never") -> str:
    """A time in the one form every report and the CLI use: ``2026-12-01 10:11 UTC``.

    Aware times are shown in UTC with the zone named; a naive time is shown as it is (Intacct
    gives dates and times in the company's own zone, which the client does not know); a date
    is ``YYYY-MM-DD``; ``None`` is ``never``.

    >>> when(dt.datetime(2026, 12, 1, 10, 11, 5, tzinfo=dt.UTC)), when(None)
    ('2026-12-01 10:11:05 UTC', 'never')

    Args:
        value: a time, a date, an ISO 8601 string or None.
        never: what to say for None.

    Returns:
        The time as text; a string that is not ISO 8601 comes back as it is.
    """
    if value is None or _is_missing(value):
        return never
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    shown = value.strftime("%Y-%m-%d %H:%M:%S" if value.second else "%Y-%m-%d %H:%M")
    return f"{shown} UTC" if value.tzinfo is not None else shown


# -- tables ---------------------------------------------------------------------------------------

#: Columns that are the machinery of exactly-once (identities and hashes): hidden from the text
#: and HTML views of a report unless asked for (``report.table(internal=True)``); the frame
#: (``report.to_frame()``) always keeps them.
INTERNAL_COLUMNS = frozenset({"control_id", "content_hash", "posted_hash", "hash", "identity"})
#: Text longer than this is cut in the views (``…`` marks it); the frame keeps it whole and the
#: HTML view carries the full value in the cell's tooltip.
MAX_TEXT_SHOWN = 32
# Ratios and changes are fractions (0.0523 = +5.23 %); their names say so.
_PERCENT_NAME = re.compile(r"(_pop|_yoy|ratio|share|_rate|_pct|percent|cost_per_dollar)", re.I)
# Integer columns holding identifiers or codes, not quantities: no thousands separators.
_CODE_NAME = re.compile(r"(id|no|number|line|row|year|type|code|key)$|^(id|no|row|line)", re.I)


def is_internal(column: str) -> bool:
    """Whether ``column`` is one of :data:`INTERNAL_COLUMNS` (or ends in ``_hash``).

    Args:
        column: a column name, any case.

    Returns:
        True for a column a report hides unless asked (``internal=True``).
    """
    name = column.lower()
    return name in INTERNAL_COLUMNS or name.endswith("_hash")


def _kind(name: str, values: pd.Series) -> str:
    present = [v for v in values if not _is_missing(v)]
    if not present:
        return "text"
    if all(isinstance(v, bool | np.bool_) for v in present):
        return "bool"
    numeric = all(isinstance(v, Decimal | int | float | np.integer | np.floating) for v in present)
    if numeric and _PERCENT_NAME.search(name):
        return "percent"
    if all(isinstance(v, Decimal) for v in present):
        return "money"
    if all(isinstance(v, int | np.integer) for v in present):
        return "code" if _CODE_NAME.search(name) else "int"
    if numeric:
        return "number"
    if all(isinstance(v, dt.date | pd.Timestamp) for v in present):
        return "time"
    return "text"


def _places(value: Decimal) -> int:
    # Two decimals, the scale of every currency these books carry; a value whose significant
    # digits go further (a unit price, a rate) keeps them rather than being rounded on screen.
    if not value.is_finite():
        return 2
    exponent = value.normalize().as_tuple().exponent
    return max(2, -exponent) if isinstance(exponent, int) else 2


def _shown(value: Any, kind: str) -> str:
    if _is_missing(value):
        return ""
    if kind == "money":
        return f"{value:,.{_places(value)}f}"
    if kind == "number":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "percent":
        return f"{Decimal(str(value)) * 100:,.1f}%"
    if kind == "bool":
        return "yes" if value else "no"
    if kind == "time":
        if isinstance(value, pd.Timestamp | dt.datetime) and (
            value.tzinfo is not None or value != pd.Timestamp(value).normalize()
        ):
            return when(value)
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    return str(value)


_RIGHT = frozenset({"money", "number", "int", "percent", "code"})


@attrs.frozen
class _Column:
    name: str
    right: bool
    cells: list[str]


def _columns(frame: pd.DataFrame, internal: bool) -> tuple[list[_Column], int]:
    columns, hidden = [], 0
    for position, name in enumerate(frame.columns):
        label = str(name)
        if not internal and is_internal(label):
            hidden += 1
            continue
        values = frame.iloc[:, position]
        kind = _kind(label, values)
        columns.append(_Column(label, kind in _RIGHT, [_shown(v, kind) for v in values]))
    return columns, hidden


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _notes(total: int, shown: int, hidden: int) -> list[str]:
    notes = []
    if total > shown:
        notes.append(f"showing {shown:,} of {total:,} rows")
    if hidden:
        notes.append(
            f"{plural(hidden, 'internal column')} hidden: .table(internal=True) shows them"
        )
    return notes


def frame_text(
    frame: pd.DataFrame,
    *,
    max_rows: int = MAX_ROWS_SHOWN,
    internal: bool = True,
    max_text: int = MAX_TEXT_SHOWN,
) -> str:
    """A frame as a GitHub-style text table, capped at ``max_rows`` with a note.

    Money (decimals) is right-aligned with thousands separators and two decimals, ratios
    (``*_pop``, ``*_yoy``, ``*ratio*``, ...) are percentages, dates are ``YYYY-MM-DD`` and times
    :func:`when`'s form, text longer than ``max_text`` is cut with ``…``; every cell goes
    through :func:`terminal_safe`. ``internal=False`` leaves out :data:`INTERNAL_COLUMNS`.

    >>> print(frame_text(pd.DataFrame({"account": ["4000"], "amount": [Decimal("1250.5")]})))
    | account   |   amount |
    |-----------|----------|
    | 4000      | 1,250.50 |

    Args:
        frame: the frame to show.
        max_rows: rows shown; a note says how many were left out.
        internal: show :data:`INTERNAL_COLUMNS` (hashes, control ids); False hides them
            with a note.
        max_text: characters of text shown in a cell before it is cut with ``…``.

    Returns:
        The table, then a line per note in parentheses.
    """
    shown = frame.head(max_rows)
    columns, hidden = _columns(shown, internal)
    rows = [[_cut(terminal_safe(c.cells[i]), max_text) for c in columns] for i in range(len(shown))]
    text = tabulate(
        rows,
        headers=[terminal_safe(c.name) for c in columns],
        tablefmt="github",
        disable_numparse=True,
        colalign=["right" if c.right else "left" for c in columns] if columns else None,
    )
    notes = _notes(len(frame), len(shown), hidden)
    return text + "".join(f"\n({note})" for note in notes)


# One style block per table (a notebook keeps it; the classes keep it from leaking): no wrapping
# inside a cell, so a cut text cell is one line and the table's width is predictable.
_TABLE_STYLE = (
    "<style>table.intacct-sync{border-collapse:collapse;font-size:0.9em}"
    "table.intacct-sync th,table.intacct-sync td{padding:2px 8px;white-space:nowrap;"
    "border-bottom:1px solid #ddd;font-variant-numeric:tabular-nums}</style>"
)


def frame_html(
    frame: pd.DataFrame,
    *,
    max_rows: int = MAX_ROWS_SHOWN,
    internal: bool = True,
    max_text: int = MAX_TEXT_SHOWN,
) -> str:
    """A frame as an escaped HTML table, formatted as :func:`frame_text` formats it.

    A cut cell keeps its full value in its ``title`` (the tooltip); numbers are right-aligned.

    Args:
        frame: the frame to show.
        max_rows: rows shown; a note says how many were left out.
        internal: show :data:`INTERNAL_COLUMNS` (hashes, control ids); False hides them
            with a note.
        max_text: characters of text shown in a cell before it is cut with ``…``.

    Returns:
        The HTML (a ``<table>`` and its notes), every value escaped.
    """
    shown = frame.head(max_rows)
    columns, hidden = _columns(shown, internal)
    # Alignment inline: a notebook's own stylesheet right-aligns every cell and outranks a class.
    right, left = ' style="text-align:right"', ' style="text-align:left"'
    head = "".join(f"<th{right if c.right else left}>{html.escape(c.name)}</th>" for c in columns)
    body = []
    for i in range(len(shown)):
        cells = []
        for c in columns:
            full = c.cells[i]
            cut = _cut(full, max_text)
            title = f' title="{html.escape(full)}"' if cut != full else ""
            align = right if c.right else left
            cells.append(f"<td{align}{title}>{html.escape(cut)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    out = (
        f'{_TABLE_STYLE}<table class="intacct-sync"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    notes = _notes(len(frame), len(shown), hidden)
    return out + "".join(f"<p><small>{html.escape(note)}</small></p>" for note in notes)


class Table:
    """A frame shown the way reports show theirs (text in a terminal, HTML in a notebook).

    ``Table(frame).frame`` is the frame itself, whole; what is shown is cut to fit the screen.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        title: str = "",
        internal: bool = False,
        max_rows: int = MAX_ROWS_SHOWN,
        max_text: int = MAX_TEXT_SHOWN,
    ) -> None:
        self.frame = frame
        self.title = title
        self.internal = internal
        self.max_rows = max_rows
        self.max_text = max_text

    def __str__(self) -> str:
        text = frame_text(
            self.frame, max_rows=self.max_rows, internal=self.internal, max_text=self.max_text
        )
        return f"{terminal_safe(self.title)}\n{text}" if self.title else text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = f"<p><strong>{html.escape(self.title)}</strong></p>" if self.title else ""
        return head + frame_html(
            self.frame, max_rows=self.max_rows, internal=self.internal, max_text=self.max_text
        )


def id_map_frame(entries: Iterable[Any]) -> pd.DataFrame:
    """The id map (``state.id_map(...)``'s entries, any objects with attributes) as a frame.

    One row per entry with the entry's public attributes as columns (``object``,
    ``salesforce_id``, ``intacct_id``, ...), in the order the store returned them.

    Args:
        entries: what ``state.id_map(...)`` returns (attrs objects, mappings or plain objects).

    Returns:
        A DataFrame with one row per entry (no columns when there are none).
    """
    rows = []
    for entry in entries:
        if attrs.has(type(entry)):
            rows.append(attrs.asdict(entry, recurse=False))
        elif isinstance(entry, Mapping):
            rows.append(dict(entry))
        else:
            rows.append({k: v for k, v in vars(entry).items() if not k.startswith("_")})
    return pd.DataFrame(rows)


class Report:
    """Base for report objects: subclasses implement :meth:`to_frame` and :meth:`summary`.

    Shown three ways from those two: ``str()`` and ``repr()`` (the summary over a text table,
    for a terminal or a script), ``_repr_html_()`` (the same as HTML, for a notebook), and
    :meth:`table` (the view with options). The views format money, dates and ratios and cut
    long text and internal columns; :meth:`to_frame` is the data, whole and exact.
    """

    #: Text cells longer than this are cut in the views (a report whose text is its content
    #: raises it).
    max_text = MAX_TEXT_SHOWN

    def to_frame(self) -> pd.DataFrame:
        """The report's rows as a DataFrame.

        Returns:
            A DataFrame, one row per item the report is about.
        """
        raise NotImplementedError

    def summary(self) -> str:
        """One line saying what the report holds.

        Returns:
            One line, for a person.
        """
        raise NotImplementedError

    def display_frame(self) -> pd.DataFrame:
        """The frame the views show (default :meth:`to_frame`); a report may pick columns.

        Returns:
            A DataFrame of the columns the views show.
        """
        return self.to_frame()

    def table(self, *, internal: bool = False, max_rows: int = MAX_ROWS_SHOWN) -> Table:
        """The report as a :class:`Table`; ``internal=True`` shows the hash and control-id columns.

        Args:
            internal: show internal columns (hashes, control ids) too.
            max_rows: the most rows shown.

        Returns:
            A :class:`Table` (text in a terminal, HTML in a notebook) titled by :meth:`summary`.
        """
        return Table(
            self.display_frame(),
            title=self.summary(),
            internal=internal,
            max_rows=max_rows,
            max_text=self.max_text,
        )

    def __str__(self) -> str:
        frame = self.display_frame()
        summary = terminal_safe(self.summary())
        if frame.empty:
            return summary
        return f"{summary}\n{frame_text(frame, internal=False, max_text=self.max_text)}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        frame = self.display_frame()
        head = f"<p><strong>{html.escape(self.summary())}</strong></p>"
        return (
            head
            if frame.empty
            else head + frame_html(frame, internal=False, max_text=self.max_text)
        )


# -- figures --------------------------------------------------------------------------------------

#: What :func:`save_figure` writes, by the path's suffix.
FIGURE_FORMATS = (".png", ".svg", ".pdf")


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` as PNG, SVG or PDF (chosen by the suffix); returns the path.

    Args:
        fig: a matplotlib figure (a report's ``plot()``).
        path: the file to write; its suffix picks the format.
        dpi: resolution of a PNG.

    Returns:
        The path written.

    Raises:
        InputError: the suffix is not one of :data:`FIGURE_FORMATS`.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise InputError(
            f"a figure is saved as {', '.join(FIGURE_FORMATS)}; {str(target)!r} is not one",
            field="path",
            value=str(target),
        )
    fig.savefig(target, format=suffix[1:], dpi=dpi, bbox_inches="tight")
    return target


_FIGURE_CLASS: list[type[Any]] = []


def figure(**kwargs: Any) -> Figure:
    """A matplotlib Figure that shows itself in Jupyter and saves with ``.save(path)``.

    Built without pyplot (a library must not touch pyplot's global state or open windows), so
    the figure carries its own ``_repr_png_``: a notebook shows the chart when it is a cell's
    value, a terminal shows ``<Figure ...>``. ``kwargs`` go to ``matplotlib.figure.Figure``.

    Args:
        **kwargs: ``matplotlib.figure.Figure`` arguments (``figsize=(10, 4)``...).

    Returns:
        An empty figure to draw on; ``fig.save("trends.png")`` writes it (:func:`save_figure`).

    Raises:
        ImportError: matplotlib is not installed (the ``notebook`` extra).
    """
    if not _FIGURE_CLASS:
        from matplotlib.figure import Figure  # imported here: plotting is optional

        class ReportFigure(Figure):
            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
                return buffer.getvalue()

            def save(self, path: str | Path, *, dpi: int = 150) -> Path:
                return save_figure(self, path, dpi=dpi)

        _FIGURE_CLASS.append(ReportFigure)
    made: Figure = _FIGURE_CLASS[0](**kwargs)
    return made

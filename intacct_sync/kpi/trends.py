"""KPI trends against the books: GL figures by period, joined with KPI series; AR trends.

* :func:`gl_by_period` pulls ``GLENTRY`` lines of chosen accounts from Intacct and sums them
  per period (and per account, location, class... if asked) in each account's natural sign:
  revenue (credit-normal) and expense (debit-normal) both come out positive.
* :func:`financials` gives named groups of accounts (contributions revenue, fundraising
  expense) one column each, per period.
* :func:`compare` joins KPI series (end-of-period values of the daily totals) with the
  financials: both series per period, ratios (revenue per active donor, cost per dollar raised,
  average gift), period-over-period and year-over-year changes, as a :class:`TrendReport`
  with ``to_frame()``, text, ``_repr_html_`` and ``plot()``.
* :func:`ar_trends` gives the order-to-cash company its DSO and overdue-balance trends from
  ``ARINVOICE`` rows, as the same kind of report.

Amounts stay :class:`~decimal.Decimal`; only :meth:`TrendReport.plot` converts to float, to draw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import InputError
from intacct_sync.intacct import filters
from intacct_sync.reports import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from intacct_sync.intacct.client import IntacctClient

__all__ = [
    "DEFAULT_GROUPS",
    "Freq",
    "TrendReport",
    "ar_trends",
    "compare",
    "financials",
    "gl_by_period",
    "kpi_by_period",
]

Freq = Literal["M", "Q"]
#: The demo nonprofit's contributions revenue and fundraising expense accounts.
DEFAULT_GROUPS: Mapping[str, Sequence[str]] = {
    "contributions_revenue": ("4000", "4010", "4020", "4100", "4200", "4300"),
    "fundraising_expense": ("6000", "6100"),
}
_CENT = Decimal("0.01")
_RATIO = Decimal("0.0001")
#: GLENTRY fields read, and the ``by`` columns a caller may keep apart. ``JOURNAL`` is not a
#: GLENTRY field (reference §13.2): it is the parent GLBATCH's, joined on GLENTRY.BATCHNO =
#: GLBATCH.RECORDNO.
_LINE_FIELDS = (
    "ACCOUNTNO",
    "TR_TYPE",
    "TRX_AMOUNT",
    "ENTRY_DATE",
    "LOCATION",
    "DEPARTMENT",
    "CLASSID",
    "GLDIMFUND",
    "BATCHNO",
)
_GL_FIELDS = (*_LINE_FIELDS[:-1], "JOURNAL")
_PERIODS_PER_YEAR = {"M": 12, "Q": 4}


def _freq(freq: str) -> Freq:
    if freq not in ("M", "Q"):
        raise InputError("freq must be 'M' (months) or 'Q' (quarters)", field="freq", value=freq)
    return "M" if freq == "M" else "Q"


def _periods(dates: pd.Series, freq: Freq) -> pd.Series:
    return pd.Series(pd.PeriodIndex(pd.DatetimeIndex(dates), freq=freq), index=dates.index)


def _div(a: Any, b: Any, quantum: Decimal) -> Decimal | None:
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return None
    numerator, denominator = Decimal(a), Decimal(b)
    if denominator == 0:
        return None
    result: Decimal = (numerator / denominator).quantize(quantum, rounding=ROUND_HALF_UP)
    return result


def gl_by_period(
    ia: IntacctClient,
    accounts: Sequence[str],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    freq: Freq = "M",
    by: Sequence[str] = ("ACCOUNTNO",),
    journals: Sequence[str] | None = None,
) -> pd.DataFrame:
    """GL amounts of ``accounts`` summed per period (and per ``by`` columns), natural sign.

    Each line's signed amount is ``TRX_AMOUNT`` x ``TR_TYPE`` (debits positive), flipped for
    credit-normal accounts (``GLACCOUNT.NORMALBALANCE``), so revenue and expense are positive.

    Args:
        ia: the Intacct client.
        accounts: account numbers.
        start: first ``ENTRY_DATE`` (inclusive).
        end: last ``ENTRY_DATE`` (inclusive).
        freq: ``"M"`` months or ``"Q"`` quarters.
        by: GLENTRY columns to keep apart (``ACCOUNTNO``, ``LOCATION``, ``CLASSID``...).
        journals: only lines of these journals.

    Returns:
        Columns ``period`` (e.g. ``2025-11``), ``period_end`` (date), the ``by`` columns and
        ``amount`` (Decimal).

    >>> kpi.gl_by_period(ia, ["4000", "4010"], by=["ACCOUNTNO", "LOCATION"])  # doctest: +SKIP
    """
    period_freq = _freq(freq)
    for name in by:
        if name not in _GL_FIELDS:
            raise InputError(f"by: one of {', '.join(_GL_FIELDS)}", field="by", value=name)
    clauses = [filters.in_("ACCOUNTNO", list(accounts))]
    if start is not None:
        clauses.append(filters.greater_than_or_equal_to("ENTRY_DATE", start))
    if end is not None:
        clauses.append(filters.less_than_or_equal_to("ENTRY_DATE", end))
    lines = ia.query(
        "GLENTRY",
        select=["RECORDNO", *_LINE_FIELDS],
        filter=filters.and_(*clauses) if len(clauses) > 1 else clauses[0],
    )
    if journals or "JOURNAL" in by:
        lines = _with_journal(ia, lines, journals)
    normal = ia.query(
        "GLACCOUNT",
        select=["ACCOUNTNO", "NORMALBALANCE"],
        filter=filters.in_("ACCOUNTNO", list(accounts)),
    )
    credit = {
        str(a)
        for a, n in zip(normal["ACCOUNTNO"], normal["NORMALBALANCE"], strict=True)
        if str(n).lower() == "credit"
    }
    kinds: dict[str, frames.Kind] = {"period": "text", "period_end": "date"}
    kinds.update({name: "text" for name in by})
    kinds["amount"] = "decimal"
    if lines.empty:
        return frames.empty_frame(kinds)
    signed = [
        (frames.parse_decimal(amount) or Decimal(0))
        * int(tr_type)
        * (-1 if str(account) in credit else 1)
        for amount, tr_type, account in zip(
            lines["TRX_AMOUNT"], lines["TR_TYPE"], lines["ACCOUNTNO"], strict=True
        )
    ]
    work = pd.DataFrame({name: lines[name].fillna("").astype(str) for name in by})
    work["period"] = _periods(lines["ENTRY_DATE"], period_freq)
    work["amount"] = pd.Series(signed, index=lines.index, dtype=object)
    grouped = work.groupby(["period", *by], sort=True)["amount"].sum()
    records = []
    for keys, amount in grouped.items():
        parts = keys if isinstance(keys, tuple) else (keys,)
        period = parts[0]
        row: dict[str, Any] = {"period": str(period), "period_end": period.end_time.date()}
        row.update({name: value or None for name, value in zip(by, parts[1:], strict=True)})
        row["amount"] = Decimal(amount)
        records.append(row)
    return frames.frame_from_records(records, kinds)


def _with_journal(
    ia: IntacctClient, lines: pd.DataFrame, journals: Sequence[str] | None
) -> pd.DataFrame:
    """``lines`` with their batch's ``JOURNAL``, only those of ``journals`` when given.

    The batches are read by RECORDNO (the lines' BATCHNO), in IN-filters of at most
    :data:`~intacct_sync.intacct.filters.MAX_IN_VALUES`, so the cost follows the lines read,
    not the size of the journals.
    """
    batch_nos = sorted({int(n) for n in lines["BATCHNO"].dropna()})
    journal_of: dict[int, str] = {}
    for first in range(0, len(batch_nos), filters.MAX_IN_VALUES):
        chunk = batch_nos[first : first + filters.MAX_IN_VALUES]
        clause = filters.in_("RECORDNO", chunk)
        if journals:
            clause = clause & filters.in_("JOURNAL", list(journals))
        batches = ia.query("GLBATCH", select=["RECORDNO", "JOURNAL"], filter=clause)
        journal_of.update(
            {int(r): str(j) for r, j in zip(batches["RECORDNO"], batches["JOURNAL"], strict=True)}
        )
    keyed = [
        None if batch is None or batch is pd.NA else journal_of.get(int(batch))
        for batch in lines["BATCHNO"].tolist()
    ]
    out = lines.assign(JOURNAL=pd.Series(keyed, index=lines.index, dtype="string"))
    if journals:
        out = out[out["JOURNAL"].notna()].reset_index(drop=True)
    return out


def financials(
    ia: IntacctClient,
    groups: Mapping[str, Sequence[str]] = DEFAULT_GROUPS,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    freq: Freq = "M",
) -> pd.DataFrame:
    """One column per named group of accounts, summed per period (natural sign).

    Args:
        ia: the Intacct client.
        groups: group name -> the account numbers summed into it.
        start: the first day read; None for the earliest entry.
        end: the last day read; None for the latest entry.
        freq: ``M`` (months) or ``Q`` (quarters).

    Returns:
        Columns ``period``, ``period_end`` and one Decimal column per group; periods without
        entries in a group hold 0.

    >>> fin = kpi.financials(ia, {"revenue": ["4000"], "fundraising_expense": ["6000"]})  # doctest: +SKIP
    """
    accounts = sorted({a for group in groups.values() for a in group})
    long = gl_by_period(ia, accounts, start=start, end=end, freq=freq, by=("ACCOUNTNO",))
    periods = sorted(set(zip(long["period"], long["period_end"], strict=True)))
    sums: dict[tuple[str, str], Decimal] = {}
    for period, account, amount in zip(
        long["period"], long["ACCOUNTNO"], long["amount"], strict=True
    ):
        for name, members in groups.items():
            if account in members:
                sums[(period, name)] = sums.get((period, name), Decimal(0)) + amount
    kinds: dict[str, frames.Kind] = {"period": "text", "period_end": "date"}
    kinds.update({name: "decimal" for name in groups})
    records = [
        {
            "period": period,
            "period_end": end_day,
            **{name: sums.get((period, name), Decimal(0)) for name in groups},
        }
        for period, end_day in periods
    ]
    return frames.frame_from_records(records, kinds)


def kpi_by_period(totals: pd.DataFrame, freq: Freq = "M") -> pd.DataFrame:
    """KPI daily totals as one value per KPI per period: the last recorded day's value.

    KPIs are levels (a count, a rate as of a day), not flows, so a period's value is the value
    on its last recorded day, not a sum.

    Args:
        totals: daily totals (``date``, ``kpi``, ``value``).
        freq: ``M`` (months) or ``Q`` (quarters).

    Returns:
        Columns ``period``, ``period_end`` and one Decimal column per KPI.
    """
    period_freq = _freq(freq)
    if totals.empty:
        return frames.empty_frame({"period": "text", "period_end": "date"})
    work = totals[["date", "kpi", "value"]].copy()
    work["period"] = _periods(pd.to_datetime(work["date"]), period_freq)
    work = work.sort_values(["kpi", "date"], kind="stable")
    last = work.groupby(["period", "kpi"], sort=True).tail(1)
    names = list(dict.fromkeys(str(k) for k in totals["kpi"]))
    cells = {
        (p, str(k)): v for p, k, v in zip(last["period"], last["kpi"], last["value"], strict=True)
    }
    kinds: dict[str, frames.Kind] = {"period": "text", "period_end": "date"}
    kinds.update({name: "decimal" for name in names})
    records = [
        {
            "period": str(period),
            "period_end": period.end_time.date(),
            **{name: cells.get((period, name)) for name in names},
        }
        for period in sorted(set(last["period"]))
    ]
    return frames.frame_from_records(records, kinds)


class TrendReport(Report):
    """Series per period with their ratios and changes.

    Attributes:
        frame: ``period``, ``period_end``, the series, the ratios, then ``<column>_pop`` and
            ``<column>_yoy`` changes (fractions: ``0.0523`` = +5.23 %).
        units: column -> unit label, for the plot's axes.
        shown: the columns the text and HTML views show (the frame keeps every column).
        title: what the report compares.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        units: Mapping[str, str],
        shown: Sequence[str],
        title: str,
        freq: Freq,
    ) -> None:
        self.frame = frame
        self.units = dict(units)
        self.shown = list(shown)
        self.title = title
        self.freq = freq

    def to_frame(self) -> pd.DataFrame:
        """Every column.

        Returns:
            A DataFrame with one row per period and every computed column.
        """
        return self.frame

    def summary(self) -> str:
        """One line.

        Returns:
            One line, for a person.
        """
        if self.frame.empty:
            return f"{self.title}: no periods"
        return (
            f"{self.title}: {len(self.frame)} {'month' if self.freq == 'M' else 'quarter'}(s), "
            f"{self.frame['period'].iloc[0]} to {self.frame['period'].iloc[-1]}"
        )

    def display_frame(self) -> pd.DataFrame:
        """The shown columns (the frame keeps every column).

        Returns:
            A DataFrame of the columns shown, formatted values left to the views.
        """
        return self.frame[self.shown]

    def text(self, *, max_rows: int = 50) -> str:
        """The shown columns as a text table, under the summary.

        Args:
            max_rows: the most rows shown.

        Returns:
            The summary and a text table.
        """
        return str(self.table(max_rows=max_rows))

    def plot(self, columns: Sequence[str] | None = None) -> Figure:
        """Draw the series, one panel per unit, with labelled axes; returns the Figure.

        The figure shows itself when it is a notebook cell's value (no pyplot needed) and
        saves with ``fig.save("trends.png")`` (or ``.svg``); see :meth:`save`.

        Args:
            columns: the series to draw (default: every series and ratio with a unit).

        Returns:
            A ``matplotlib.figure.Figure``.

        Raises:
            ImportError: matplotlib is not installed (``pip install intacct-sync[notebook]``).
        """
        from intacct_sync.reports import figure as report_figure

        wanted = [c for c in (columns or self.units) if c in self.frame.columns]
        by_unit: dict[str, list[str]] = {}
        for column in wanted:
            by_unit.setdefault(self.units.get(column, ""), []).append(column)
        figure = report_figure(figsize=(10, 2.8 * max(1, len(by_unit))), layout="constrained")
        axes = figure.subplots(max(1, len(by_unit)), 1, sharex=True, squeeze=False)[:, 0]
        x = pd.to_datetime(self.frame["period_end"])
        for ax, (unit, names) in zip(axes, by_unit.items(), strict=False):
            for name in names:
                y = [
                    float(v) if v is not None and not pd.isna(v) else float("nan")
                    for v in self.frame[name]
                ]
                ax.plot(x, y, marker="o", markersize=3, label=name.replace("_", " "))
            ax.set_ylabel(unit)
            ax.grid(True, alpha=0.3)
            ax.legend(loc="upper left", fontsize="small")
        axes[-1].set_xlabel("period end")
        figure.suptitle(self.title)
        return figure

    def save(self, path: str | Path, columns: Sequence[str] | None = None) -> Path:
        """Draw :meth:`plot` and write it to ``path`` (PNG, SVG or PDF by the suffix).

        Args:
            path: the file to write (``.png``, ``.svg`` or ``.pdf``).
            columns: the columns to plot; None for the report's default.

        Returns:
            The path written.

        Raises:
            InputError: the suffix is not ``.png``, ``.svg`` or ``.pdf``.
        """
        from intacct_sync.reports import save_figure

        return save_figure(self.plot(columns), path)


def _changes(frame: pd.DataFrame, columns: Sequence[str], freq: Freq) -> pd.DataFrame:
    periods = [pd.Period(p, freq=freq) for p in frame["period"]]
    index = {p: i for i, p in enumerate(periods)}
    out = frame.copy()
    lag = _PERIODS_PER_YEAR[freq]
    for column in columns:
        values = list(frame[column])
        pop, yoy = [], []
        for i, period in enumerate(periods):
            before = index.get(period - 1)
            year = index.get(period - lag)
            pop.append(_growth(values[i], None if before is None else values[before]))
            yoy.append(_growth(values[i], None if year is None else values[year]))
        out[f"{column}_pop"] = pd.array(pop, dtype=object)
        out[f"{column}_yoy"] = pd.array(yoy, dtype=object)
    return out


def _growth(now: Any, then: Any) -> Decimal | None:
    ratio = _div(now, then, _RATIO * _RATIO)
    return None if ratio is None else (ratio - 1).quantize(_RATIO)


def compare(
    kpis: pd.DataFrame,
    financials: pd.DataFrame,
    *,
    freq: Freq = "M",
    revenue: str = "contributions_revenue",
    expense: str = "fundraising_expense",
    donors: str = "active_donors",
    average_gift: str = "average_gift",
) -> TrendReport:
    """Join KPI series with financial figures by period; ratios and changes.

    Args:
        kpis: daily totals (``date``, ``kpi``, ``value``) or an already periodised frame
            (``period`` + KPI columns, as :func:`kpi_by_period` returns).
        financials: ``period`` + figure columns (:func:`financials`).
        freq: ``"M"`` or ``"Q"`` (must match ``financials``).
        revenue: the revenue column of ``financials``.
        expense: the fundraising expense column.
        donors: the KPI to divide revenue by.
        average_gift: the KPI holding the average gift.

    Returns:
        A :class:`TrendReport` over the periods present in both inputs. Ratios:
        ``revenue_per_active_donor`` = revenue / donors (USD per donor),
        ``cost_per_dollar_raised`` = expense / revenue, ``average_gift`` from the KPI. Changes
        ``<col>_pop`` (against the previous period) and ``<col>_yoy`` (same period a year
        before), as fractions; missing where the earlier period is absent or zero.

    >>> report = kpi.compare(totals, kpi.financials(ia), freq="M")  # doctest: +SKIP
    >>> fig = report.plot()  # doctest: +SKIP
    """
    period_freq = _freq(freq)
    series = kpis if "period" in kpis.columns else kpi_by_period(kpis, period_freq)
    for column, where in ((revenue, financials), (expense, financials)):
        if column not in where.columns:
            raise InputError(f"financials has no column {column!r}", field=column)
    joined = series.drop(columns=["period_end"], errors="ignore").merge(
        financials.drop(columns=["period_end"], errors="ignore"), on="period", how="inner"
    )
    joined = joined.sort_values("period", kind="stable").reset_index(drop=True)
    joined["period_end"] = pd.array(
        [pd.Period(p, freq=period_freq).end_time.normalize() for p in joined["period"]],
        dtype="datetime64[us]",
    )
    kpi_columns = [c for c in series.columns if c not in ("period", "period_end")]
    fin_columns = [c for c in financials.columns if c not in ("period", "period_end")]
    if donors in joined.columns:
        joined["revenue_per_active_donor"] = pd.array(
            [_div(r, d, _CENT) for r, d in zip(joined[revenue], joined[donors], strict=True)],
            dtype=object,
        )
    joined["cost_per_dollar_raised"] = pd.array(
        [_div(e, r, _RATIO) for e, r in zip(joined[expense], joined[revenue], strict=True)],
        dtype=object,
    )
    ratios = [c for c in ("revenue_per_active_donor", "cost_per_dollar_raised") if c in joined]
    ordered = ["period", "period_end", *kpi_columns, *fin_columns, *ratios]
    joined = joined[ordered]
    changed = [*kpi_columns, *fin_columns, *ratios]
    frame = _changes(joined, changed, period_freq)
    units: dict[str, str] = {}
    for column in kpi_columns:
        if column == average_gift:
            units[column] = "USD per gift"
        elif column == "retention_rate":
            units[column] = "share of prior donors"
        else:
            units[column] = "donors"
    units.update({c: "USD" for c in fin_columns})
    if "revenue_per_active_donor" in ratios:
        units["revenue_per_active_donor"] = "USD per donor"
    units["cost_per_dollar_raised"] = "USD cost per USD raised"
    shown = [
        "period",
        *[c for c in (donors, average_gift) if c in joined],
        revenue,
        expense,
        *ratios,
    ]
    shown += [f"{c}_yoy" for c in (revenue, donors) if c in joined]
    return TrendReport(
        frame,
        units=units,
        shown=list(dict.fromkeys(shown)),
        title="KPIs against the books",
        freq=period_freq,
    )


def ar_trends(
    invoices: pd.DataFrame,
    *,
    freq: Freq = "M",
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> TrendReport:
    """DSO and overdue-balance trends from ``ARINVOICE`` rows (``read_by_query("ARINVOICE")``).

    Per period end ``t``: an invoice is open from ``WHENCREATED`` until ``WHENPAID``; a paid
    invoice is open for ``TOTALENTERED`` before its paid date, an unpaid one for ``TOTALDUE``
    (partial payments carry no date on ARINVOICE, so the remaining balance is used throughout).
    ``overdue_balance`` = open invoices with ``WHENDUE`` before ``t``. ``billed`` = invoices
    created in the period. ``dso`` = open balance / billed x days in the period (missing when
    nothing was billed).

    Args:
        invoices: ARINVOICE rows with WHENCREATED, WHENDUE, WHENPAID, TOTALENTERED, TOTALDUE.
        freq: ``"M"`` or ``"Q"``.
        start: first period's day (default: the first invoice).
        end: last period's day (default: today).

    Returns:
        A :class:`TrendReport` with one row per period end.
    """
    period_freq = _freq(freq)
    needed = ("WHENCREATED", "WHENDUE", "WHENPAID", "TOTALENTERED", "TOTALDUE")
    for column in needed:
        if column not in invoices.columns:
            raise InputError(f"invoices need a {column!r} column", field=column)
    created = pd.to_datetime(invoices["WHENCREATED"])
    due = pd.to_datetime(invoices["WHENDUE"])
    paid = pd.to_datetime(invoices["WHENPAID"])
    entered = [frames.parse_decimal(v) or Decimal(0) for v in invoices["TOTALENTERED"]]
    remaining = [frames.parse_decimal(v) or Decimal(0) for v in invoices["TOTALDUE"]]
    first = start or (created.min().date() if len(created) else dt.datetime.now(dt.UTC).date())
    last = end or dt.datetime.now(dt.UTC).date()
    periods = pd.period_range(first, last, freq=period_freq)
    records = []
    for period in periods:
        t = min(period.end_time.normalize(), pd.Timestamp(last))
        begin = period.start_time
        billed = Decimal(0)
        open_total = Decimal(0)
        overdue = Decimal(0)
        rows: list[tuple[Any, Any, Any, Decimal, Decimal]] = list(
            zip(created.tolist(), due.tolist(), paid.tolist(), entered, remaining, strict=True)
        )
        for c, d, p, amount, rest in rows:
            if pd.isna(c) or c > t:
                continue
            if c >= begin:
                billed += amount
            if pd.isna(p):
                balance = rest
            elif p > t:
                balance = amount
            else:
                balance = Decimal(0)
            open_total += balance
            if balance and not pd.isna(d) and d < t:
                overdue += balance
        days = (t - begin).days + 1
        records.append(
            {
                "period": str(period),
                "period_end": t.date(),
                "billed": billed,
                "open_balance": open_total,
                "overdue_balance": overdue,
                "overdue_share": _div(overdue, open_total, _RATIO),
                "dso": _div(open_total * days, billed, Decimal("0.1")),
            }
        )
    kinds: dict[str, frames.Kind] = {
        "period": "text",
        "period_end": "date",
        "billed": "decimal",
        "open_balance": "decimal",
        "overdue_balance": "decimal",
        "overdue_share": "decimal",
        "dso": "decimal",
    }
    frame = frames.frame_from_records(records, kinds)
    frame = _changes(frame, ["open_balance", "overdue_balance", "dso"], period_freq)
    return TrendReport(
        frame,
        units={
            "billed": "USD",
            "open_balance": "USD",
            "overdue_balance": "USD",
            "dso": "days",
            "overdue_share": "share of open balance",
        },
        shown=["period", "billed", "open_balance", "overdue_balance", "overdue_share", "dso"],
        title="Receivables: DSO and overdue balance",
        freq=period_freq,
    )

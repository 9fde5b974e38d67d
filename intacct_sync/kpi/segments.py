"""Donor KPIs from gift history: segments, fundraising figures and daily totals.

Recording the totals and posting their changes is :mod:`intacct_sync.kpi.posting`.


The loop this module automates: count donors (and any segment a user defines) from the gift
history, record one total per KPI per day, and post the change against the prior recorded day
as a statistical journal entry (``GLBATCH`` in a statistical journal, ``TR_TYPE`` 1 = increase,
-1 = decrease) to the KPI's statistical account, exactly once per KPI and day.

Definitions (all windows are parameters; see ``docs/kpi.md`` for the full text):

* A gift dated ``g`` is *in the N-year window as of day D* when ``g <= D < g + N years``: it
  enters on its date and drops out on its N-th anniversary (a 29 February gift's anniversary in
  a common year is 28 February). So the window as of D is ``(D - N years, D]``, and a gift made
  exactly N years before D is *out*.
* A donor *gave* in a window when the **net** sum of their gifts in it (refunds and other
  negative gifts included) is greater than zero, or greater than a segment's ``more_than``.
* Future-dated gifts (after D) never count.

Money is exact: amounts are read as :class:`~decimal.Decimal` and computed in integer cents.

It is long (over 600 lines) because every KPI definition and its window boundary lives here, in one
place a finance reader can check against docs/kpi.md.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import InputError
from intacct_sync.reports import Report

if TYPE_CHECKING:
    from intacct_sync.salesforce.client import SalesforceClient

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_SEGMENTS",
    "FIGURES",
    "GIFT_SOQL",
    "KPI_OBJECT",
    "WORKFLOW",
    "Figures",
    "GiftColumns",
    "Rule",
    "Segment",
    "SegmentReport",
    "daily_totals",
    "donor_aggregates",
    "donor_segments",
    "gifts_from_salesforce",
]

log = logging.getLogger("intacct_sync.kpi")

#: Ledger workflow name of statistical postings.
WORKFLOW = "kpi"
#: State-store namespace of recorded daily totals (key ``<kpi>|<YYYY-MM-DD>``).
TOTALS_NAMESPACE = "kpi.totals"
#: The Salesforce tracking object of daily totals (upserted by ``Key__c``).
KPI_OBJECT = "KPI_Daily_Total__c"
#: The default gift query (the sandbox's ``Gift__c``).
GIFT_SOQL = "SELECT Id, Donor__c, Gift_Date__c, Amount__c, Type__c FROM Gift__c"
#: KPI -> statistical account of the demo nonprofit (``9000`` ... ``9050``).
DEFAULT_ACCOUNTS: Mapping[str, str] = {
    "donors": "9000",
    "active_donors": "9010",
    "major_donors": "9020",
    "new_donors": "9030",
    "lapsed_donors": "9040",
    "members": "9050",
}
#: The fundraising figures :class:`Figures` computes, in output order.
FIGURES = (
    "new_donors",
    "lapsed_donors",
    "lybunt",
    "sybunt",
    "retention_rate",
    "average_gift",
)
_CENT = Decimal("0.01")
_RATE = Decimal("0.0001")
_EPOCH = np.datetime64("1970-01-01", "D")


# -- configuration -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class GiftColumns:
    """Which columns of a gift frame hold the donor, the date, the amount and the type.

    The defaults are the sandbox's ``Gift__c`` fields; for closed-won Opportunities use
    ``GiftColumns(donor="AccountId", date="CloseDate", amount="Amount", type=None)``.
    """

    donor: str = "Donor__c"
    date: str = "Gift_Date__c"
    amount: str = "Amount__c"
    type: str | None = "Type__c"


def _types(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


@attrs.frozen(kw_only=True)
class Segment:
    """A named donor segment, declared (computed fully vectorised for every day).

    A donor is in the segment as of D when the net sum of their selected gifts in the window
    is strictly greater than ``more_than``.

    Attributes:
        name: the KPI name (``active_donors``).
        window_years: N of the N-year window ``(D - N years, D]``; None = all gifts up to D.
        more_than: the net-total threshold (strict: a donor at exactly the threshold is out).
        types: only gifts whose type column is one of these (e.g. ``("Membership",)``).
        where: only gifts for which this returns True: called once with the gift frame as
            given, it returns a boolean Series or array aligned with its rows.
    """

    name: str
    window_years: int | None = attrs.field(default=None)
    more_than: Decimal = attrs.field(default=Decimal(0), converter=Decimal)
    types: tuple[str, ...] | None = attrs.field(default=None, converter=_types)
    where: Callable[[pd.DataFrame], Any] | None = attrs.field(default=None, eq=False)

    @window_years.validator
    def _window(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and value < 1:
            raise InputError("window_years must be at least 1", field="window_years", value=value)


@attrs.frozen(kw_only=True)
class Rule:
    """A named donor segment as a function of the per-donor aggregate frame.

    ``test`` receives :func:`donor_aggregates` as of the day and returns a boolean Series over
    its donors. Fully general, but for a range of days it is called once per day (vectorised
    over donors), so prefer :class:`Segment` for long backfills.
    """

    name: str
    test: Callable[[pd.DataFrame], Any] = attrs.field(eq=False)


#: donor: gave in the last 10 years; active: last 2 years; major: more than 50,000 in 2 years.
DEFAULT_SEGMENTS: tuple[Segment | Rule, ...] = (
    Segment(name="donors", window_years=10),
    Segment(name="active_donors", window_years=2),
    Segment(name="major_donors", window_years=2, more_than=Decimal(50000)),
)


@attrs.frozen(kw_only=True)
class Figures:
    """Parameters of the fundraising figures (see ``docs/kpi.md`` for the definitions).

    Attributes:
        new_window_years: new donor = first positive gift in the last N years.
        lapsed_window_years: lapsed = gave in this window ...
        active_window_years: ... but not in this one.
        retention_window_years: retention compares the N years before the last N years with
            the last N years.
        average_window_years: average gift over the last N years.
        fiscal_year_start: first month of the fiscal year, for LYBUNT and SYBUNT.
        include: which figures to compute (a subset of :data:`FIGURES`).
    """

    new_window_years: int = 1
    lapsed_window_years: int = 10
    active_window_years: int = 2
    retention_window_years: int = 1
    average_window_years: int = 1
    fiscal_year_start: int = 1
    include: tuple[str, ...] = attrs.field(default=FIGURES, converter=tuple)

    @include.validator
    def _known(self, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
        for name in value:
            if name not in FIGURES:
                raise InputError(f"unknown figure; known: {', '.join(FIGURES)}", value=name)
        if not 1 <= self.fiscal_year_start <= 12:
            raise InputError(
                "fiscal_year_start is a month 1-12",
                field="fiscal_year_start",
                value=self.fiscal_year_start,
            )


# -- gift history ------------------------------------------------------------------------------


def gifts_from_salesforce(sf: SalesforceClient, soql: str = GIFT_SOQL) -> pd.DataFrame:
    """The gift history from the CRM as a typed DataFrame (any SOQL with donor/date/amount).

    >>> gifts = kpi.gifts_from_salesforce(sf)  # doctest: +SKIP
    >>> opps = kpi.gifts_from_salesforce(  # doctest: +SKIP
    ...     sf, "SELECT AccountId, CloseDate, Amount FROM Opportunity WHERE IsWon = true")

    Args:
        sf: the Salesforce client.
        soql: a query giving donor, date and amount (default: the ``Gift__c`` records).

    Returns:
        A typed DataFrame of gifts: donor, date and amount (exact) per row.
    """
    return sf.query(soql)


@attrs.frozen
class _Gifts:
    """The gift history normalised: one entry per gift, sorted by donor then day."""

    donors: pd.Index  # donor id of each code
    code: np.ndarray  # int64 donor code
    day: np.ndarray  # int64 days since 1970-01-01
    cents: np.ndarray  # int64 amount in cents
    source: pd.DataFrame  # the rows as given, in the same order as the arrays
    columns: GiftColumns


def _to_days(values: pd.Series, column: str) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        series = values
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
    else:
        try:
            series = pd.to_datetime(values, errors="raise", format="mixed")
        except (ValueError, TypeError) as exc:
            raise InputError(f"not a date: {exc}", field=column) from None
    missing = series.isna().to_numpy()
    if missing.any():
        row = values.index[int(np.flatnonzero(missing)[0])]
        raise InputError("a gift needs a date", row=row, field=column, value=values.loc[row])
    days: np.ndarray = series.to_numpy().astype("datetime64[D]").astype(np.int64)
    return days


def _to_cents(values: pd.Series, column: str) -> np.ndarray:
    dtype = values.dtype
    if pd.api.types.is_integer_dtype(dtype) and not values.isna().any():
        whole: np.ndarray = values.to_numpy(dtype=np.int64) * 100
        return whole
    if pd.api.types.is_float_dtype(dtype) and not values.isna().any():
        # Floats are read through their shortest repr, as frames.parse_decimal does: for any
        # amount with at most two decimals below 2**53 cents, rounding x * 100 is that value.
        array = values.to_numpy(dtype=np.float64)
        if not np.isfinite(array).all():
            bad = values.index[int(np.flatnonzero(~np.isfinite(array))[0])]
            raise InputError("not a finite amount", row=bad, field=column, value=values.loc[bad])
        cents: np.ndarray = np.rint(array * 100).astype(np.int64)
        return cents
    out = np.empty(len(values), dtype=np.int64)
    for i, (row, value) in enumerate(values.items()):
        amount = frames.parse_decimal(value, column=column, row=row)
        if amount is None:
            raise InputError("a gift needs an amount", row=row, field=column, value=value)
        out[i] = int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    return out


def _prepare(gifts: pd.DataFrame | _Gifts, columns: GiftColumns) -> _Gifts:
    if isinstance(gifts, _Gifts):
        return gifts
    for name in (columns.donor, columns.date, columns.amount):
        if name not in gifts.columns:
            raise InputError(
                f"the gift frame has no column {name!r}; columns: {list(gifts.columns)}",
                field=name,
            )
    donor = gifts[columns.donor]
    missing = donor.isna().to_numpy()
    if missing.any():
        row = gifts.index[int(np.flatnonzero(missing)[0])]
        raise InputError("a gift needs a donor", row=row, field=columns.donor, value=None)
    codes, uniques = pd.factorize(donor, sort=False)
    day = _to_days(gifts[columns.date], columns.date)
    cents = _to_cents(gifts[columns.amount], columns.amount)
    order = np.lexsort((day, codes))
    return _Gifts(
        donors=pd.Index(uniques),
        code=codes[order].astype(np.int64),
        day=day[order],
        cents=cents[order],
        source=gifts.iloc[order],
        columns=columns,
    )


def _select(gifts: _Gifts, segment: Segment) -> np.ndarray:
    """Boolean mask of the gifts a segment looks at."""
    mask = np.ones(len(gifts.code), dtype=bool)
    if segment.types is not None:
        if gifts.columns.type is None or gifts.columns.type not in gifts.source.columns:
            raise InputError(
                f"segment {segment.name!r} selects gift types but the gift frame has no type "
                "column",
                field="types",
            )
        mask &= gifts.source[gifts.columns.type].isin(segment.types).to_numpy(dtype=bool)
    if segment.where is not None:
        picked = segment.where(gifts.source)
        mask &= np.asarray(pd.Series(picked).fillna(False), dtype=bool)
    return mask


# -- calendar arithmetic (vectorised) ----------------------------------------------------------


def _add_years(days: np.ndarray, years: int) -> np.ndarray:
    """Day numbers ``years`` later, 29 February -> 28 February in common years."""
    stamps = pd.DatetimeIndex(days.astype("datetime64[D]"))
    year = stamps.year.to_numpy() + years
    month = stamps.month.to_numpy()
    day = stamps.day.to_numpy()
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    day = np.where((month == 2) & (day == 29) & ~leap, 28, day)
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    result: np.ndarray = (months.astype("datetime64[D]") + (day - 1)).astype(np.int64)
    return result


def _today() -> dt.date:
    # The organisation's day: the local calendar date of the machine running the job.
    return dt.datetime.now(dt.UTC).astimezone().date()


def _day_number(value: dt.date) -> int:
    return int((np.datetime64(value, "D") - _EPOCH).astype(np.int64))


def _as_date(value: Any, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError("expected a date (YYYY-MM-DD)", field=field, value=value)


def _fiscal_start(day: dt.date, month: int) -> dt.date:
    year = day.year if day.month >= month else day.year - 1
    return dt.date(year, month, 1)


# -- the event machinery -----------------------------------------------------------------------


def _member_counts(
    code: np.ndarray,
    when: np.ndarray,
    deltas: np.ndarray,
    predicate: Callable[[np.ndarray], np.ndarray],
    first: int,
    n_days: int,
) -> np.ndarray:
    """How many donors satisfy ``predicate`` on each day of ``[first, first + n_days)``.

    Each event adds ``deltas[i]`` (one column per running sum) to donor ``code[i]``'s running
    sums from day ``when[i]`` on. A donor's membership can change only at one of its events, so
    the daily count is the cumulative sum of the +1/-1 membership transitions: O(events log
    events), no loop over days or donors. Several events of one donor on one day telescope.
    """
    if len(code) == 0:
        return np.zeros(n_days, dtype=np.int64)
    order = np.lexsort((when, code))
    code, when, deltas = code[order], when[order], deltas[order]
    run = np.cumsum(deltas, axis=0)
    new_group = np.empty(len(code), dtype=bool)
    new_group[0] = True
    new_group[1:] = code[1:] != code[:-1]
    starts = np.flatnonzero(new_group)
    before = np.zeros((len(starts), deltas.shape[1]), dtype=np.int64)
    before[1:] = run[starts[1:] - 1]
    lengths = np.diff(np.append(starts, len(code)))
    run -= np.repeat(before, lengths, axis=0)
    member = predicate(run).astype(np.int64)
    previous = np.empty_like(member)
    previous[0] = 0
    previous[1:] = member[:-1]
    previous[starts] = 0
    step = member - previous
    moved = step != 0
    step_when, step = when[moved], step[moved]
    initial = int(step[step_when < first].sum())
    inside = (step_when >= first) & (step_when < first + n_days)
    daily = np.zeros(n_days, dtype=np.int64)
    np.add.at(daily, step_when[inside] - first, step[inside])
    counts: np.ndarray = initial + np.cumsum(daily)
    return counts


def _window_events(
    gifts: _Gifts, mask: np.ndarray, years: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    code, day, cents = gifts.code[mask], gifts.day[mask], gifts.cents[mask]
    if years is None:
        return code, day, cents.reshape(-1, 1)
    out = _add_years(day, years)
    return (
        np.concatenate([code, code]),
        np.concatenate([day, out]),
        np.concatenate([cents, -cents]).reshape(-1, 1),
    )


def _flow_sum(
    when_in: np.ndarray, when_out: np.ndarray, values: np.ndarray, first: int, n: int
) -> np.ndarray:
    """Per day, the sum of ``values`` whose interval ``[in, out)`` covers the day."""
    daily = np.zeros(n, dtype=np.int64)
    initial = 0
    for when, sign in ((when_in, 1), (when_out, -1)):
        initial += sign * int(values[when < first].sum())
        inside = (when >= first) & (when < first + n)
        np.add.at(daily, when[inside] - first, sign * values[inside])
    result: np.ndarray = initial + np.cumsum(daily)
    return result


# -- per-day values, vectorised ------------------------------------------------------------------


def _segment_series(gifts: _Gifts, segment: Segment, first: int, n: int) -> np.ndarray:
    mask = _select(gifts, segment)
    code, when, deltas = _window_events(gifts, mask, segment.window_years)
    threshold = int((segment.more_than * 100).to_integral_value(rounding=ROUND_HALF_EVEN))
    return _member_counts(code, when, deltas, lambda run: run[:, 0] > threshold, first, n)


def _figure_series(
    gifts: _Gifts, figures: Figures, start: dt.date, n: int
) -> dict[str, list[Decimal | None]]:
    first = _day_number(start)
    everything = np.ones(len(gifts.code), dtype=bool)
    out: dict[str, list[Decimal | None]] = {}
    code, day, cents = gifts.code, gifts.day, gifts.cents
    if "new_donors" in figures.include:
        positive = cents > 0
        pcode, pday = code[positive], day[positive]
        # Sorted by donor then day: the first positive gift of each donor.
        firsts = np.flatnonzero(np.r_[True, pcode[1:] != pcode[:-1]]) if len(pcode) else pcode
        fcode, fday = pcode[firsts], pday[firsts]
        ones = np.ones(len(fcode), dtype=np.int64)
        counts = _member_counts(
            np.concatenate([fcode, fcode]),
            np.concatenate([fday, _add_years(fday, figures.new_window_years)]),
            np.concatenate([ones, -ones]).reshape(-1, 1),
            lambda run: run[:, 0] > 0,
            first,
            n,
        )
        out["new_donors"] = [Decimal(int(v)) for v in counts]
    if "lapsed_donors" in figures.include:
        lc, lw, ld = _window_events(gifts, everything, figures.lapsed_window_years)
        ac, aw, ad = _window_events(gifts, everything, figures.active_window_years)
        zeros_l, zeros_a = np.zeros_like(ld), np.zeros_like(ad)
        counts = _member_counts(
            np.concatenate([lc, ac]),
            np.concatenate([lw, aw]),
            np.vstack([np.hstack([ld, zeros_l]), np.hstack([zeros_a, ad])]),
            lambda run: (run[:, 0] > 0) & ~(run[:, 1] > 0),
            first,
            n,
        )
        out["lapsed_donors"] = [Decimal(int(v)) for v in counts]
    if "lybunt" in figures.include or "sybunt" in figures.include:
        ly, sy = _unt_series(gifts, figures.fiscal_year_start, start, n)
        if "lybunt" in figures.include:
            out["lybunt"] = [Decimal(int(v)) for v in ly]
        if "sybunt" in figures.include:
            out["sybunt"] = [Decimal(int(v)) for v in sy]
    if "retention_rate" in figures.include:
        years = figures.retention_window_years
        one, two = _add_years(day, years), _add_years(day, 2 * years)
        zeros = np.zeros_like(cents)
        # Column 0: the prior window [g + N, g + 2N); column 1: the current window [g, g + N).
        ev_code = np.concatenate([code, code, code, code])
        ev_when = np.concatenate([one, two, day, one])
        ev_delta = np.vstack(
            [
                np.column_stack([cents, zeros]),
                np.column_stack([-cents, zeros]),
                np.column_stack([zeros, cents]),
                np.column_stack([zeros, -cents]),
            ]
        )
        prior = _member_counts(ev_code, ev_when, ev_delta, lambda r: r[:, 0] > 0, first, n)
        kept = _member_counts(
            ev_code, ev_when, ev_delta, lambda r: (r[:, 0] > 0) & (r[:, 1] > 0), first, n
        )
        out["retention_rate"] = [
            None if int(p) == 0 else (Decimal(int(k)) / Decimal(int(p))).quantize(_RATE)
            for k, p in zip(kept, prior, strict=True)
        ]
    if "average_gift" in figures.include:
        leave = _add_years(day, figures.average_window_years)
        total = _flow_sum(day, leave, cents, first, n)
        count = _flow_sum(
            day[cents > 0],
            leave[cents > 0],
            np.ones(int((cents > 0).sum()), dtype=np.int64),
            first,
            n,
        )
        out["average_gift"] = [
            None if int(c) == 0 else _average(int(t), int(c))
            for t, c in zip(total, count, strict=True)
        ]
    return out


def _average(total_cents: int, count: int) -> Decimal:
    return (Decimal(total_cents) / 100 / Decimal(count)).quantize(_CENT, rounding=ROUND_HALF_UP)


def _unt_series(
    gifts: _Gifts, fy_month: int, start: dt.date, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """LYBUNT and SYBUNT per day: one vectorised pass per fiscal year the range touches."""
    first = _day_number(start)
    ly = np.zeros(n, dtype=np.int64)
    sy = np.zeros(n, dtype=np.int64)
    end = start + dt.timedelta(days=n - 1)
    fy = _fiscal_start(start, fy_month)
    n_donors = len(gifts.donors)
    while fy <= end:
        next_fy = dt.date(fy.year + 1, fy.month, 1)
        last_fy = dt.date(fy.year - 1, fy.month, 1)
        lo, mid, hi = _day_number(last_fy), _day_number(fy), _day_number(next_fy)
        code, day, cents = gifts.code, gifts.day, gifts.cents
        last_total = np.bincount(
            code[(day >= lo) & (day < mid)],
            weights=cents[(day >= lo) & (day < mid)],
            minlength=n_donors,
        )
        before_total = np.bincount(code[day < lo], weights=cents[day < lo], minlength=n_donors)
        in_last = last_total > 0
        in_some = (before_total > 0) & ~in_last
        this = (day >= mid) & (day < hi)
        a = max(first, mid)
        b = min(first + n, hi)
        for group, target in ((in_last, ly), (in_some, sy)):
            picked = this & group[code]
            counts = _member_counts(
                code[picked],
                day[picked],
                cents[picked].reshape(-1, 1),
                lambda run: run[:, 0] > 0,
                a,
                b - a,
            )
            target[a - first : b - first] = int(group.sum()) - counts
        fy = next_fy
    return ly, sy


def daily_totals(
    gifts: pd.DataFrame,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    segments: Sequence[Segment | Rule] = DEFAULT_SEGMENTS,
    figures: Figures | None = Figures(),
    columns: GiftColumns = GiftColumns(),
) -> pd.DataFrame:
    """One row per KPI per day for ``start`` .. ``end`` (inclusive); both default to today.

    Declared segments and the fundraising figures are computed for every day at once from the
    gift and anniversary dates (cumulative sums over membership transitions), so a year of
    daily totals costs about as much as one day; a :class:`Rule` is evaluated once per day.

    Args:
        gifts: the gift history (a CRM query or any DataFrame).
        start: first day.
        end: last day.
        segments: the segments to count (:data:`DEFAULT_SEGMENTS`).
        figures: parameters of the fundraising figures; None for segments only.
        columns: the donor, date, amount and type columns of ``gifts``.

    Returns:
        Columns ``date`` (datetime64), ``kpi`` (string), ``value`` (Decimal; missing where a
        figure is undefined, e.g. a retention rate with no prior-year donors), sorted by date
        then KPI order.

    Raises:
        InputError: a gift lacks a donor, date or amount, or ``end`` is before ``start``.

    >>> totals = kpi.daily_totals(gifts, start="2025-01-01", end="2025-12-31")  # doctest: +SKIP
    """
    today = _today()
    first_day = _as_date(start, "start") if start is not None else today
    last_day = _as_date(end, "end") if end is not None else (today if start is None else first_day)
    if last_day < first_day:
        raise InputError("end is before start", field="end", value=str(last_day))
    n = (last_day - first_day).days + 1
    prepared = _prepare(gifts, columns)
    first = _day_number(first_day)
    _check_names(segments, figures)
    series: dict[str, list[Decimal | None]] = {}
    for segment in segments:
        if isinstance(segment, Segment):
            counts = _segment_series(prepared, segment, first, n)
            series[segment.name] = [Decimal(int(v)) for v in counts]
        else:
            values: list[Decimal | None] = []
            for offset in range(n):
                aggregate = _aggregates(prepared, first_day + dt.timedelta(days=offset))
                values.append(Decimal(int(np.asarray(segment.test(aggregate), dtype=bool).sum())))
            series[segment.name] = values
    if figures is not None:
        series.update(_figure_series(prepared, figures, first_day, n))
    dates = pd.date_range(first_day, periods=n, freq="D").astype("datetime64[us]")
    names = list(series)
    frame = pd.DataFrame(
        {
            "date": np.repeat(dates.to_numpy(), len(names)),
            "kpi": pd.array(names * n, dtype="string"),
            "value": pd.array([series[name][i] for i in range(n) for name in names], dtype=object),
        }
    )
    return frame


def _check_names(segments: Sequence[Segment | Rule], figures: Figures | None) -> None:
    names = [s.name for s in segments] + (list(figures.include) if figures else [])
    seen: set[str] = set()
    for name in names:
        if not name or "|" in name:
            raise InputError("a KPI name must be non-empty and without '|'", value=name)
        if name in seen:
            raise InputError("two KPIs share a name", value=name)
        seen.add(name)


# -- one day, directly (the reference implementation the vectorised one is tested against) ------


def _in_window(day: np.ndarray, as_of: int, years: int | None) -> np.ndarray:
    inside = day <= as_of
    if years is not None:
        inside &= _add_years(day, years) > as_of
    return inside


def _aggregates(gifts: _Gifts, as_of: dt.date) -> pd.DataFrame:
    d = _day_number(as_of)
    n = len(gifts.donors)
    code, day, cents = gifts.code, gifts.day, gifts.cents
    upto = day <= d

    def total(mask: np.ndarray) -> list[Decimal]:
        sums = np.zeros(n, dtype=np.int64)
        np.add.at(sums, code[mask], cents[mask])
        return [Decimal(int(v)) / 100 for v in sums]

    positive = upto & (cents > 0)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, code[positive], day[positive])
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, code[positive], day[positive])
    counts = np.bincount(code[positive], minlength=n)

    def dates(values: np.ndarray, empty: int) -> Any:
        stamps = values.astype("datetime64[D]").astype("datetime64[us]")
        return np.where(values == empty, np.datetime64("NaT", "us"), stamps)

    frame = pd.DataFrame(
        {
            "first_gift": dates(first, np.iinfo(np.int64).max),
            "last_gift": dates(last, np.iinfo(np.int64).min),
            "gifts": pd.array(counts, dtype="Int64"),
            "total": pd.array(total(upto), dtype=object),
            "total_1y": pd.array(total(_in_window(day, d, 1)), dtype=object),
            "total_2y": pd.array(total(_in_window(day, d, 2)), dtype=object),
            "total_10y": pd.array(total(_in_window(day, d, 10)), dtype=object),
        },
        index=pd.Index(gifts.donors, name="donor"),
    )
    return frame


def donor_aggregates(
    gifts: pd.DataFrame, *, as_of: dt.date | str | None = None, columns: GiftColumns = GiftColumns()
) -> pd.DataFrame:
    """Per donor as of a day: what a :class:`Rule` receives.

    Columns: ``first_gift`` / ``last_gift`` (dates of the first and last positive gift up to
    the day), ``gifts`` (count of positive gifts), ``total`` (net of all gifts up to the day),
    ``total_1y``, ``total_2y``, ``total_10y`` (net in those windows, Decimal). Index: donor id.

    Args:
        gifts: the gift history (donor, date, amount).
        as_of: the day the aggregates are taken on (a date or ``YYYY-MM-DD``; default today).
        columns: where the gift frame holds donor, date and amount (:class:`GiftColumns`).

    Returns:
        A DataFrame with one row per donor, in the columns above.
    """
    day = _as_date(as_of, "as_of") if as_of is not None else _today()
    return _aggregates(_prepare(gifts, columns), day)


def _member_mask(
    gifts: _Gifts, mask: np.ndarray, as_of: int, years: int | None, more_than: Decimal
) -> np.ndarray:
    n = len(gifts.donors)
    inside = mask & _in_window(gifts.day, as_of, years)
    sums = np.zeros(n, dtype=np.int64)
    np.add.at(sums, gifts.code[inside], gifts.cents[inside])
    threshold = int((more_than * 100).to_integral_value(rounding=ROUND_HALF_EVEN))
    result: np.ndarray = sums > threshold
    return result


def _period_mask(gifts: _Gifts, lo: int | None, hi: int) -> np.ndarray:
    """Donors whose net over gifts dated in ``[lo, hi]`` is positive."""
    inside = gifts.day <= hi
    if lo is not None:
        inside &= gifts.day >= lo
    sums = np.zeros(len(gifts.donors), dtype=np.int64)
    np.add.at(sums, gifts.code[inside], gifts.cents[inside])
    result: np.ndarray = sums > 0
    return result


class SegmentReport(Report):
    """Segments and fundraising figures as of one day.

    Attributes:
        as_of: the day.
        values: KPI name -> value (Decimal; None where undefined).
        donors: per donor (index: donor id): the :func:`donor_aggregates` columns plus one
            boolean column per segment and per donor-level figure (``new_donors``,
            ``lapsed_donors``, ``lybunt``, ``sybunt``).
        definitions: KPI name -> the rule in words.
    """

    def __init__(
        self,
        *,
        as_of: dt.date,
        values: Mapping[str, Decimal | None],
        donors: pd.DataFrame,
        definitions: Mapping[str, str],
    ) -> None:
        self.as_of = as_of
        self.values = dict(values)
        self.donors = donors
        self.definitions = dict(definitions)

    def to_frame(self) -> pd.DataFrame:
        """One row per KPI: ``kpi``, ``value``, ``definition``.

        Returns:
            A DataFrame with one row per KPI.
        """
        return pd.DataFrame(
            {
                "kpi": pd.array(list(self.values), dtype="string"),
                "value": pd.array(list(self.values.values()), dtype=object),
                "definition": pd.array(
                    [self.definitions.get(k, "") for k in self.values], dtype="string"
                ),
            }
        )

    def summary(self) -> str:
        """One line.

        Returns:
            One line, for a person.
        """
        return f"Donor KPIs as of {self.as_of.isoformat()} ({len(self.donors):,} donors in history)"


def _describe(segment: Segment | Rule) -> str:
    if isinstance(segment, Rule):
        return "user rule over the per-donor aggregates"
    window = (
        "all gifts up to the day"
        if segment.window_years is None
        else f"gifts dated in (day - {segment.window_years}y, day]"
    )
    scope = ""
    if segment.types is not None:
        scope = f" of type {'/'.join(segment.types)}"
    if segment.where is not None:
        scope += " selected by a filter"
    return f"net of {window}{scope} > {segment.more_than:,}"


def donor_segments(
    gifts: pd.DataFrame,
    *,
    as_of: dt.date | str | None = None,
    segments: Sequence[Segment | Rule] = DEFAULT_SEGMENTS,
    figures: Figures | None = Figures(),
    columns: GiftColumns = GiftColumns(),
) -> SegmentReport:
    """Segment membership and fundraising figures as of one day (default today).

    Args:
        gifts: the gift history: a CRM query (:func:`gifts_from_salesforce`) or any DataFrame
            with donor, date and amount columns.
        as_of: the day.
        segments: :class:`Segment` and :class:`Rule` items (:data:`DEFAULT_SEGMENTS`).
        figures: parameters of the fundraising figures; None for segments only.
        columns: which columns hold donor, date, amount and type.

    Returns:
        A :class:`SegmentReport` (``.values``, ``.donors``, ``to_frame()``).

    Raises:
        InputError: a gift lacks a donor, date or amount (names the row), or a column is
            missing.

    >>> report = kpi.donor_segments(gifts, as_of="2026-06-30")  # doctest: +SKIP
    >>> report.values["active_donors"]  # doctest: +SKIP
    Decimal('240')
    """
    day = _as_date(as_of, "as_of") if as_of is not None else _today()
    prepared = _prepare(gifts, columns)
    _check_names(segments, figures)
    d = _day_number(day)
    donors = _aggregates(prepared, day)
    values: dict[str, Decimal | None] = {}
    definitions: dict[str, str] = {}
    for segment in segments:
        if isinstance(segment, Segment):
            member = _member_mask(
                prepared, _select(prepared, segment), d, segment.window_years, segment.more_than
            )
        else:
            member = np.asarray(segment.test(donors), dtype=bool)
        donors[segment.name] = pd.array(member, dtype="boolean")
        values[segment.name] = Decimal(int(member.sum()))
        definitions[segment.name] = _describe(segment)
    if figures is not None:
        _figures_one_day(prepared, figures, day, donors, values, definitions)
    return SegmentReport(as_of=day, values=values, donors=donors, definitions=definitions)


def _figures_one_day(
    gifts: _Gifts,
    figures: Figures,
    day: dt.date,
    donors: pd.DataFrame,
    values: dict[str, Decimal | None],
    definitions: dict[str, str],
) -> None:
    d = _day_number(day)
    everything = np.ones(len(gifts.code), dtype=bool)
    zero = Decimal(0)
    if "new_donors" in figures.include:
        first = donors["first_gift"].to_numpy().astype("datetime64[D]")
        valid = ~np.isnat(first)
        first_days = np.where(valid, first.astype(np.int64), 0)
        new = valid & (_add_years(first_days, figures.new_window_years) > d)
        donors["new_donors"] = pd.array(new, dtype="boolean")
        values["new_donors"] = Decimal(int(new.sum()))
        definitions["new_donors"] = (
            f"first positive gift dated in (day - {figures.new_window_years}y, day]"
        )
    if "lapsed_donors" in figures.include:
        lapsed = _member_mask(gifts, everything, d, figures.lapsed_window_years, zero) & ~(
            _member_mask(gifts, everything, d, figures.active_window_years, zero)
        )
        donors["lapsed_donors"] = pd.array(lapsed, dtype="boolean")
        values["lapsed_donors"] = Decimal(int(lapsed.sum()))
        definitions["lapsed_donors"] = (
            f"gave in the last {figures.lapsed_window_years}y but not in the last "
            f"{figures.active_window_years}y"
        )
    if "lybunt" in figures.include or "sybunt" in figures.include:
        fy = _fiscal_start(day, figures.fiscal_year_start)
        last_fy = dt.date(fy.year - 1, fy.month, 1)
        this = _period_mask(gifts, _day_number(fy), d)
        last = _period_mask(gifts, _day_number(last_fy), _day_number(fy) - 1)
        before = _period_mask(gifts, None, _day_number(last_fy) - 1)
        lybunt = last & ~this
        sybunt = before & ~last & ~this
        if "lybunt" in figures.include:
            donors["lybunt"] = pd.array(lybunt, dtype="boolean")
            values["lybunt"] = Decimal(int(lybunt.sum()))
            definitions["lybunt"] = (
                "gave in the last full fiscal year, not in this fiscal year to date"
            )
        if "sybunt" in figures.include:
            donors["sybunt"] = pd.array(sybunt, dtype="boolean")
            values["sybunt"] = Decimal(int(sybunt.sum()))
            definitions["sybunt"] = (
                "gave before the last full fiscal year, not in it, not this fiscal year to date"
            )
    if "retention_rate" in figures.include:
        years = figures.retention_window_years
        current = _member_mask(gifts, everything, d, years, zero)
        # Prior window (day - 2N, day - N]: gifts in the 2N window but not in the N window.
        in_two = _in_window(gifts.day, d, 2 * years)
        in_one = _in_window(gifts.day, d, years)
        prior_mask = in_two & ~in_one
        sums = np.zeros(len(gifts.donors), dtype=np.int64)
        np.add.at(sums, gifts.code[prior_mask], gifts.cents[prior_mask])
        prior = sums > 0
        denominator = int(prior.sum())
        values["retention_rate"] = (
            None
            if denominator == 0
            else (Decimal(int((prior & current).sum())) / Decimal(denominator)).quantize(_RATE)
        )
        definitions["retention_rate"] = (
            f"share of donors who gave in the {years}y before the last {years}y and gave again "
            f"in the last {years}y"
        )
    if "average_gift" in figures.include:
        inside = _in_window(gifts.day, d, figures.average_window_years)
        count = int((inside & (gifts.cents > 0)).sum())
        values["average_gift"] = (
            None if count == 0 else _average(int(gifts.cents[inside].sum()), count)
        )
        definitions["average_gift"] = (
            f"net of gifts in the last {figures.average_window_years}y / number of positive "
            "gifts in it"
        )

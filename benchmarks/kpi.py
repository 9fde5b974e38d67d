"""Donor segments and daily KPI totals: 1,000,000 gifts, 100,000 donors, 10 years, one year of days.

Vectorised pandas/numpy: a donor's segment membership changes only at a gift or at a gift's
anniversary, so a year of daily totals is a cumulative sum over those events, not a loop over
days x donors. Figures: seconds and peak Python memory (tracemalloc) for one day's segments and
for a year of daily totals of every KPI (default segments + fundraising figures).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from benchmarks._support import mib, peak_python_memory, timed
from intacct_sync import kpi

END = dt.date(2026, 6, 30)


def _gifts(n: int, donors: int, years: int) -> pd.DataFrame:
    rng = np.random.default_rng(42)
    first = np.datetime64(END, "D") - np.timedelta64(365 * years, "D")
    days = first + rng.integers(0, 365 * years, n).astype("timedelta64[D]")
    # Amounts in cents, mostly small, a long tail, 1 % refunds.
    cents = (rng.lognormal(mean=8.5, sigma=1.2, size=n)).astype(np.int64)
    cents[rng.random(n) < 0.01] *= -1
    return pd.DataFrame(
        {
            "Donor__c": rng.integers(0, donors, n),
            "Gift_Date__c": days.astype("datetime64[us]"),
            "Amount__c": cents / 100,
            "Type__c": rng.choice(["Donation", "Membership", "Ticket"], n, p=[0.75, 0.15, 0.10]),
        }
    )


def run(*, quick: bool = False, peers: bool = False) -> None:
    n, donors = (100_000, 10_000) if quick else (1_000_000, 100_000)
    gifts = _gifts(n, donors, 10)
    print(f"- {n:,} gifts from {donors:,} donors over 10 years")
    seconds, report = timed(lambda: kpi.donor_segments(gifts, as_of=END))
    print(
        f"- segments and figures as of one day: {seconds:.2f} s "
        f"(active donors {report.values['active_donors']:,}, major {report.values['major_donors']:,})"
    )
    start = END - dt.timedelta(days=364)
    seconds, totals = timed(lambda: kpi.daily_totals(gifts, start=start, end=END))
    print(
        f"- daily totals, 365 days x {totals['kpi'].nunique()} KPIs ({len(totals):,} rows): "
        f"{seconds:.2f} s"
    )
    peak, _ = peak_python_memory(lambda: kpi.daily_totals(gifts, start=start, end=END))
    size = mib(gifts.memory_usage(deep=True).sum())
    print(f"- daily totals peak Python memory: {mib(peak)} (the gift frame itself: {size})")
    seconds, _ = timed(lambda: kpi.daily_totals(gifts, start=start, end=END, figures=None))
    print(f"- daily totals, default segments only (donors, active, major): {seconds:.2f} s")

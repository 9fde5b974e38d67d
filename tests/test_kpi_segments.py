"""Segment and figure definitions: window edges, refunds, thresholds, the vectorised backfill."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from intacct_sync import kpi
from intacct_sync.errors import InputError

D = dt.date(2026, 6, 30)


def gifts(*rows: tuple[str, str, object, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Donor__c": [r[0] for r in rows],
            "Gift_Date__c": pd.to_datetime([r[1] for r in rows]),
            "Amount__c": [Decimal(str(r[2])) for r in rows],
            "Type__c": [r[3] for r in rows],
        }
    )


def values(frame: pd.DataFrame, as_of: dt.date = D, **options: Any) -> dict[str, Decimal | None]:
    return kpi.donor_segments(frame, as_of=as_of, **options).values


def test_a_gift_exactly_two_years_before_is_out_and_one_day_later_is_in() -> None:
    frame = gifts(
        ("edge", "2024-06-30", 100, "Donation"),  # exactly 2 years before D: out
        ("inside", "2024-07-01", 100, "Donation"),  # 2 years minus a day: in
        ("today", "2026-06-30", 100, "Donation"),  # on D: in
        ("future", "2026-07-01", 100, "Donation"),  # after D: never counts
    )
    result = values(frame)
    assert result["active_donors"] == 2
    assert result["donors"] == 3
    members = kpi.donor_segments(frame, as_of=D).donors["active_donors"]
    assert members.to_dict() == {"edge": False, "inside": True, "today": True, "future": False}


def test_a_leap_day_gift_leaves_the_window_on_28_february() -> None:
    frame = gifts(("leap", "2024-02-29", 100, "Donation"))
    assert values(frame, dt.date(2026, 2, 27))["active_donors"] == 1
    assert values(frame, dt.date(2026, 2, 28))["active_donors"] == 0


def test_ten_year_window_edge() -> None:
    frame = gifts(("a", "2016-06-30", 10, "Donation"), ("b", "2016-07-01", 10, "Donation"))
    result = values(frame)
    assert result["donors"] == 1
    assert result["lapsed_donors"] == 1  # b gave within 10 years, not within 2


def test_a_refund_cancels_the_gift_and_a_zero_gift_is_not_giving() -> None:
    frame = gifts(
        ("refunded", "2026-01-10", 500, "Donation"),
        ("refunded", "2026-01-20", -500, "Donation"),
        ("partly", "2026-01-10", 500, "Donation"),
        ("partly", "2026-01-20", -200, "Donation"),
        ("zero", "2026-02-01", 0, "Donation"),
        ("refund-only", "2026-03-01", -50, "Donation"),
    )
    report = kpi.donor_segments(frame, as_of=D)
    assert report.values["active_donors"] == 1
    assert report.donors["active_donors"].to_dict()["partly"]
    # average gift: the net of the year's gifts (refunds lower it) over its 2 positive gifts
    assert report.values["average_gift"] == Decimal("125.00")  # (500-500+500-200+0-50) / 2


def test_major_donor_threshold_is_strict_and_summed_over_the_window() -> None:
    frame = gifts(
        ("exact", "2025-01-01", 50000, "Donation"),  # exactly 50,000: not major
        ("near", "2025-01-01", 45000, "Donation"),
        ("split", "2024-12-01", 30000, "Donation"),  # 30,000 + 20,000.01 both in window
        ("split", "2026-01-01", "20000.01", "Donation"),
        # both sides of the window: 40,000 three years ago does not count
        ("straddle", "2023-06-01", 40000, "Donation"),
        ("straddle", "2026-01-01", 20000, "Donation"),
        ("refunded", "2025-05-01", 60000, "Donation"),
        ("refunded", "2025-06-01", -15000, "Donation"),
    )
    report = kpi.donor_segments(frame, as_of=D)
    major = report.donors["major_donors"].to_dict()
    assert major == {
        "exact": False,
        "near": False,
        "split": True,
        "straddle": False,
        "refunded": False,
    }
    # The split donor leaves the segment when the older gift leaves the window.
    assert values(frame, dt.date(2026, 11, 30))["major_donors"] == 1
    assert values(frame, dt.date(2026, 12, 1))["major_donors"] == 0


def test_new_lybunt_sybunt_and_retention() -> None:
    frame = gifts(
        ("new", "2026-03-01", 10, "Donation"),
        ("old", "2019-03-01", 10, "Donation"),  # SYBUNT: gave years ago only
        ("ly", "2025-05-01", 10, "Donation"),  # LYBUNT: last FY (2025), not this (2026)
        ("both", "2025-05-01", 10, "Donation"),
        ("both", "2026-05-01", 10, "Donation"),
        ("retained", "2024-12-01", 10, "Donation"),  # prior year window and current window
        ("retained", "2026-01-15", 10, "Donation"),
    )
    result = values(frame)
    assert result["new_donors"] == 1
    assert result["lybunt"] == 1
    assert result["sybunt"] == 1  # old; "retained" gave this fiscal year, so it is neither
    # prior window (2024-06-30, 2025-06-30]: ly, both, retained; of those both and retained gave
    # again in (2025-06-30, 2026-06-30]
    assert result["retention_rate"] == Decimal("0.6667")


def test_sybunt_excludes_donors_who_gave_this_year() -> None:
    frame = gifts(("x", "2019-03-01", 10, "Donation"), ("x", "2026-02-01", 10, "Donation"))
    result = values(frame)
    assert result["sybunt"] == 0
    assert result["lybunt"] == 0


def test_fiscal_year_start_is_a_parameter() -> None:
    frame = gifts(("x", "2025-08-01", 10, "Donation"))
    # FY starting July: last FY = Jul 2024..Jun 2025, this FY = Jul 2025..: x gave this FY.
    july = kpi.Figures(fiscal_year_start=7)
    assert values(frame, dt.date(2026, 6, 30), figures=july)["lybunt"] == 0
    assert values(frame, dt.date(2026, 7, 1), figures=july)["lybunt"] == 1


def test_user_defined_segments_declared_and_as_rules() -> None:
    frame = gifts(
        ("m", "2026-01-01", 50, "Membership"),
        ("d", "2026-01-01", 50, "Donation"),
        ("big", "2026-01-01", 1500, "Donation"),
        ("big", "2026-02-01", 10, "Donation"),
    )
    segments = [
        *kpi.DEFAULT_SEGMENTS,
        kpi.Segment(name="members", window_years=1, types=("Membership",)),
        kpi.Segment(name="mid_level", window_years=1, more_than=Decimal(1000)),
        kpi.Rule(name="repeat", test=lambda donors: donors["gifts"] >= 2),
    ]
    result = values(frame, segments=segments, figures=None)
    assert result == {
        "donors": 3,
        "active_donors": 3,
        "major_donors": 0,
        "members": 1,
        "mid_level": 1,
        "repeat": 1,
    }


def test_columns_are_configurable_and_floats_ints_and_strings_are_read_exactly() -> None:
    frame = pd.DataFrame(
        {
            "AccountId": ["a", "a", "b"],
            "CloseDate": ["2026-01-01", "2026-02-01", "2026-03-01"],
            "Amount": [0.1, 0.2, 50000.0],
        }
    )
    columns = kpi.GiftColumns(donor="AccountId", date="CloseDate", amount="Amount", type=None)
    report = kpi.donor_segments(frame, as_of=D, columns=columns)
    assert report.values["average_gift"] == Decimal("16666.77")  # 50000.30 / 3
    assert report.donors.loc["a", "total"] == Decimal("0.3")


def test_bad_input_names_row_and_field() -> None:
    frame = gifts(("a", "2026-01-01", 10, "Donation"))
    frame.loc[0, "Amount__c"] = "ten"
    with pytest.raises(InputError, match="Amount__c") as info:
        kpi.donor_segments(frame, as_of=D)
    assert info.value.row == 0
    missing = gifts(("a", "2026-01-01", 10, "Donation")).drop(columns=["Amount__c"])
    with pytest.raises(InputError, match="no column 'Amount__c'"):
        kpi.daily_totals(missing, start=D, end=D)
    with pytest.raises(InputError, match="end is before start"):
        kpi.daily_totals(gifts(("a", "2026-01-01", 10, "Donation")), start=D, end="2026-01-01")


def random_gifts(n: int, donors: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = np.datetime64("2012-01-01") + rng.integers(0, 365 * 15, n).astype("timedelta64[D]")
    days[: n // 50] = np.datetime64("2020-02-29")
    amounts = rng.choice(
        [-40, 0, 10, 25, 100, 900, 30000], n, p=[0.05, 0.02, 0.3, 0.3, 0.2, 0.1, 0.03]
    )
    return pd.DataFrame(
        {
            "Donor__c": rng.integers(0, donors, n).astype(str),
            "Gift_Date__c": days.astype("datetime64[us]"),
            "Amount__c": amounts.astype(np.int64),
            "Type__c": rng.choice(["Donation", "Membership"], n),
        }
    )


def test_daily_totals_agree_with_the_one_day_computation_on_every_day() -> None:
    frame = random_gifts(1500, 150, seed=7)
    segments = [
        *kpi.DEFAULT_SEGMENTS,
        kpi.Segment(name="members", window_years=1, types=("Membership",)),
        kpi.Segment(name="lifetime_big", more_than=Decimal(20000)),
    ]
    start, end = dt.date(2021, 12, 1), dt.date(2022, 3, 31)  # crosses a fiscal year and Feb 28
    totals = kpi.daily_totals(frame, start=start, end=end, segments=segments)
    names = [s.name for s in segments] + list(kpi.FIGURES)
    assert len(totals) == ((end - start).days + 1) * len(names)
    assert list(totals.columns) == ["date", "kpi", "value"]
    wide = totals.pivot(index="date", columns="kpi", values="value")
    for day in pd.date_range(start, end, freq="D"):
        expected = kpi.donor_segments(frame, as_of=day.date(), segments=segments).values
        got = wide.loc[day].to_dict()
        assert {k: (None if pd.isna(v) else v) for k, v in got.items()} == expected, day


def test_daily_totals_default_to_today_and_carry_rules() -> None:
    frame = gifts(("a", "2020-01-01", 10, "Donation"))
    rule = kpi.Rule(name="ever", test=lambda donors: donors["gifts"] > 0)
    totals = kpi.daily_totals(frame, segments=[rule], figures=None)
    assert len(totals) == 1
    assert totals["value"].iloc[0] == 1
    with pytest.raises(InputError, match="share a name"):
        kpi.daily_totals(frame, segments=[rule, rule])

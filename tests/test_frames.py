"""frames.py: every kind's accepted wire values, and every refusal naming row, column and value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from intacct_sync import frames
from intacct_sync.errors import InputError


def _one(kind: frames.Kind, values: list[Any]) -> pd.Series:
    return frames.build_frame({"c": values}, {"c": kind})["c"]


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        ("text", ["a", "", None], ["a", pd.NA, pd.NA]),
        ("integer", ["12", 7, None, ""], [12, 7, pd.NA, pd.NA]),
        ("integer", [Decimal("3"), 4.0], [3, 4]),
        ("boolean", ["true", "F", "1", "no", True, None], [True, False, True, False, True, pd.NA]),
        ("float", ["0.5", 2, None], [0.5, 2.0, pd.NA]),
    ],
)
def test_accepted_values(kind: frames.Kind, values: list[Any], expected: list[Any]) -> None:
    column = _one(kind, values)
    assert str(column.dtype) == frames.DTYPES[kind]
    assert [None if v is pd.NA else v for v in column.tolist()] == [
        None if v is pd.NA else v for v in expected
    ]


def test_decimals_stay_exact_from_text_and_floats() -> None:
    column = _one("decimal", ["1234.56", 23.1, 5, None, Decimal("0.10")])
    assert column.tolist() == [
        Decimal("1234.56"),
        Decimal("23.1"),
        Decimal(5),
        None,
        Decimal("0.10"),
    ]


def test_dates_and_datetimes_in_intacct_and_iso_forms() -> None:
    dates = _one("date", ["07/24/2017", "2017-07-25", None])
    assert dates.tolist()[:2] == [pd.Timestamp("2017-07-24"), pd.Timestamp("2017-07-25")]
    assert dates.isna().tolist() == [False, False, True]
    stamps = _one("datetime", ["07/24/2017 15:19:46", "2017-07-24T15:19:46"])
    assert stamps.tolist() == [pd.Timestamp("2017-07-24 15:19:46")] * 2
    utc = _one("timestamp", ["2026-03-01T10:00:00.000+0100"])
    assert utc.tolist() == [pd.Timestamp("2026-03-01 09:00:00", tz="UTC")]


@pytest.mark.parametrize(
    ("kind", "values", "bad_row", "bad_value"),
    [
        ("integer", ["1", "2.5"], 1, "2.5"),
        ("integer", ["1", True], 1, True),
        ("integer", ["x"], 0, "x"),
        ("float", ["1", "abc"], 1, "abc"),
        ("boolean", ["true", "maybe"], 1, "maybe"),
        ("decimal", ["1", "1,000.00"], 1, "1,000.00"),
        ("decimal", ["1.23457E+11"], 0, "1.23457E+11"),
        ("decimal", ["1_000"], 0, "1_000"),
        ("decimal", ["NaN"], 0, "NaN"),
        ("decimal", [float("inf")], 0, float("inf")),
        ("decimal", [True], 0, True),
        ("date", ["07/24/2017", "24.07.2017"], 1, "24.07.2017"),
        ("datetime", ["yesterday"], 0, "yesterday"),
        ("timestamp", ["2026-13-45T00:00:00Z"], 0, "2026-13-45T00:00:00Z"),
    ],
)
def test_refusals_name_the_row_column_and_value(
    kind: frames.Kind, values: list[Any], bad_row: int, bad_value: Any
) -> None:
    with pytest.raises(InputError) as info:
        frames.build_frame({"amount": values}, {"amount": kind})
    assert info.value.row == bad_row
    assert info.value.field == "amount"
    assert info.value.value == bad_value
    assert "amount" in str(info.value) and f"row {bad_row}" in str(info.value)


def test_parse_decimal_refuses_what_a_ledger_must_not_read() -> None:
    assert frames.parse_decimal(" 12.30 ") == Decimal("12.30")
    assert frames.parse_decimal("") is None
    for value in ("$12", "12e3", object(), False):
        with pytest.raises(InputError):
            frames.parse_decimal(value, column="amount", row=4)


def test_empty_results_keep_columns_and_dtypes() -> None:
    kinds: dict[str, frames.Kind] = {k: k for k in frames.KINDS}
    empty = frames.build_frame({}, kinds)
    assert list(empty.columns) == list(frames.KINDS)
    assert {c: str(t) for c, t in empty.dtypes.items()} == dict(frames.DTYPES)
    assert frames.frame_from_records([], kinds).dtypes.equals(empty.dtypes)


def test_missing_columns_are_added_and_extra_columns_kept_in_order() -> None:
    frame = frames.build_frame(
        {"b": ["x"], "extra": ["y"]}, {"a": "integer", "b": "text"}, order=["b", "a"]
    )
    assert list(frame.columns) == ["b", "a", "extra"]
    assert frame["a"].isna().all() and str(frame["a"].dtype) == "Int64"


def test_records_round_trip_keeps_decimals_and_gives_none_for_missing() -> None:
    records: list[dict[str, Any]] = [
        {"n": 1, "amount": Decimal("10.00"), "day": "2026-01-02", "note": None},
        {"n": None, "amount": None, "day": None, "note": "x"},
    ]
    kinds: dict[str, frames.Kind] = {
        "n": "integer",
        "amount": "decimal",
        "day": "date",
        "note": "text",
    }
    back = frames.frame_to_records(frames.frame_from_records(records, kinds))
    assert back[0] == {
        "n": 1,
        "amount": Decimal("10.00"),
        "day": dt.datetime(2026, 1, 2),
        "note": None,
    }
    assert back[1] == {"n": None, "amount": None, "day": None, "note": "x"}
    assert type(back[0]["n"]) is int


def test_pages_concatenate_with_their_kinds_and_every_pages_children() -> None:
    kinds: dict[str, frames.Kind] = {"RECORDNO": "integer", "day": "date"}
    pages = []
    for n, day in ((1, "2026-01-01"), (2, "2026-01-02")):
        page = frames.build_frame({"RECORDNO": [n], "day": [day]}, kinds)
        child = pd.DataFrame({frames.PARENT_ID: [str(n)], "LINE_NO": [1]})
        page.attrs["children"] = frames.ChildFrames({"ENTRIES": child}, parent_key="RECORDNO")
        pages.append(page)
    pages.append(frames.build_frame({}, kinds))  # an empty last page adds nothing
    whole = frames.concat_pages(pages)
    assert whole["RECORDNO"].tolist() == [1, 2] and str(whole["day"].dtype) == "datetime64[us]"
    assert whole.attrs["kinds"] == pages[0].attrs["kinds"]
    assert whole.attrs["children"].parent_key == "RECORDNO"
    assert whole.attrs["children"]["ENTRIES"][frames.PARENT_ID].tolist() == ["1", "2"]

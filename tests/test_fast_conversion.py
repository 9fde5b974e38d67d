"""The fast conversion path (XML page -> columns -> typed arrays) against the general one.

Each fast path may only decline; whenever it answers, the frame must be the one the general
path builds (values, dtypes, kinds), and a bad cell must raise the same typed error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from unittest import mock
from xml.sax.saxutils import escape

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intacct_sync import frames
from intacct_sync.errors import InputError
from intacct_sync.intacct import _protocol
from intacct_sync.intacct._protocol import page_columns, parse_response

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_ODD_INTEGERS = ["", " 12", "+5", "1-2", "-", "007", "-0", "1.0", "\u0661\u0662", "1e3", "12 "]
_ODD_DECIMALS = ["", " 1.5", "1.2.3", "NaN", "-Infinity", "1E5", "-0.00", "+3", ".5", "5."]
_ODD_DECIMALS += [
    "1_000",
    "\u0661\u066b\u0665",
    "1,000.00",
    "$5",
    "--1",
    "0.1000000000000000000000001",
]
_ODD_DATES = ["", "7/4/2017", "02/30/2024", "12/31/2024 ", "07/24/2017 15:19:46", "01/01/1850"]
_ODD_DATES += ["2024-1-5", "2024-02-29", "2023-02-29", "13/01/2024", "12/31/9999", "00/10/2020"]
_ODD_DATETIMES = ["07/24/2017 15:19:46", "07/24/2017 24:00:00", "07/24/2017 23:59:60"]
_ODD_DATETIMES += ["2017-07-24T15:19:46", "2017-07-24 15:19:46", "07/24/2017", "7/24/2017 1:02:03"]
_ODD_DATETIMES += ["", "07/24/2017 15:19", "07/24/2017T15:19:46"]


def _integers() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.integers(-(2**63), 2**63 - 1).map(str),
        st.integers(-(10**25), 10**25).map(str),
        st.sampled_from(_ODD_INTEGERS),
        st.none(),
    )


def _decimals() -> st.SearchStrategy[str | None]:
    money = st.decimals(allow_nan=False, allow_infinity=False, places=2).map(lambda d: f"{d:f}")
    many = st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12)
    return st.one_of(money, many.map(lambda d: f"{d:f}"), st.sampled_from(_ODD_DECIMALS), st.none())


def _dates(with_time: bool) -> st.SearchStrategy[str | None]:
    day = st.dates(min_value=dt.date(1850, 1, 1), max_value=dt.date(2300, 12, 31))
    moment = st.datetimes(min_value=dt.datetime(1850, 1, 1), max_value=dt.datetime(2300, 1, 1))
    shapes: list[st.SearchStrategy[str | None]] = [
        day.map(lambda d: d.strftime("%m/%d/%Y")),
        day.map(lambda d: d.isoformat()),
        st.sampled_from(_ODD_DATETIMES if with_time else _ODD_DATES),
        st.none(),
    ]
    if with_time:
        shapes.append(moment.map(lambda d: d.strftime("%m/%d/%Y %H:%M:%S")))
    return st.one_of(*shapes)


# XML 1.0 characters, with markup characters and whitespace more often than chance.
_XML_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        st.sampled_from("\t\n &<>\"' -.0123456789/"),
    ),
    max_size=12,
)
_CELLS: dict[frames.Kind, st.SearchStrategy[str | None]] = {
    "integer": _integers(),
    "decimal": _decimals(),
    "date": _dates(with_time=False),
    "datetime": _dates(with_time=True),
    "text": st.one_of(_XML_TEXT, st.sampled_from(["", " ", "NA", "None"]), st.none()),
}


def _column_values(kind: frames.Kind) -> st.SearchStrategy[list[str | None]]:
    # Long columns drawn from a few distinct values (as ledger pages are), and short ones.
    pooled = st.lists(_CELLS[kind], min_size=1, max_size=6).flatmap(
        lambda pool: st.lists(st.sampled_from(pool), min_size=60, max_size=160)
    )
    return st.one_of(pooled, st.lists(_CELLS[kind], max_size=80))


def _outcome(build: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("ok", build())
    except InputError as exc:
        return ("error", str(exc), exc.row, exc.field, exc.value)


def _assert_same_array(fast: Any, general: Any) -> None:
    assert type(fast) is type(general)
    assert fast.dtype == general.dtype
    pd.testing.assert_series_equal(pd.Series(fast), pd.Series(general), check_exact=True)
    # Decimal("1.10") == Decimal("1.1"): the digits themselves must match too.
    assert [repr(v) for v in fast] == [repr(v) for v in general]


@_SETTINGS
@given(data=st.data(), kind=st.sampled_from(["integer", "decimal", "date", "datetime", "text"]))
def test_fast_column_equals_general_column(data: st.DataObject, kind: frames.Kind) -> None:
    values = data.draw(_column_values(kind))
    fast = _outcome(lambda: frames._column("F", list(values), kind))
    general = _outcome(lambda: frames._general_column("F", list(values), kind))
    assert fast[0] == general[0], (fast, general)
    if fast[0] == "ok":
        _assert_same_array(fast[1], general[1])
    else:
        assert fast == general


@contextmanager
def _general_path() -> Iterator[None]:
    """The conversion as it was before the fast paths: record by record, pandas typing."""
    with (
        mock.patch.object(_protocol, "_uniform_flat_columns", return_value=None),
        mock.patch.object(frames, "_wire_column", return_value=None),
    ):
        yield


_LAYOUT: dict[str, frames.Kind] = {
    "RECORDNO": "integer",
    "TRX_AMOUNT": "decimal",
    "ENTRY_DATE": "date",
    "WHENMODIFIED": "datetime",
    "DESCRIPTION": "text",
    "DEPARTMENT": "text",
}


def _cell_xml(name: str, value: str | None, form: str) -> str:
    if form == "absent":
        return ""
    if value is None or value == "":
        return f"<{name}/>" if form == "short" else f"<{name}></{name}>"
    return f"<{name}>{escape(value)}</{name}>"


def _body(records: list[list[tuple[str | None, str]]]) -> bytes:
    rows = "".join(
        "<GLENTRY>"
        + "".join(_cell_xml(n, v, f) for n, (v, f) in zip(_LAYOUT, cells, strict=True))
        + "</GLENTRY>"
        for cells in records
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status>'
        "<controlid>c</controlid></control><operation><authentication><status>success</status>"
        "</authentication><result><status>success</status><function>query</function>"
        f'<controlid>q</controlid><data listtype="GLENTRY" count="{len(records)}">{rows}</data>'
        "</result></operation></response>"
    ).encode()


def _records() -> st.SearchStrategy[list[list[tuple[str | None, str]]]]:
    form = st.sampled_from(["full", "full", "full", "short", "absent"])
    pools = st.tuples(*(st.lists(_CELLS[k], min_size=1, max_size=4) for k in _LAYOUT.values()))
    uniform = st.booleans()

    def rows(pool: tuple[list[str | None], ...], flat: bool) -> Any:
        forms = st.sampled_from(["full", "short"]) if flat else form
        row = st.tuples(*(st.tuples(st.sampled_from(p), forms) for p in pool)).map(list)
        return st.lists(row, max_size=120)

    return st.tuples(pools, uniform).flatmap(lambda pu: rows(*pu))


def _page_frame(body: bytes) -> pd.DataFrame:
    (result,) = parse_response(body).results
    values, _ = page_columns(result.data if result.data is not None else [])
    return frames.build_frame(values, _LAYOUT, order=list(_LAYOUT))


@_SETTINGS
@given(records=_records())
def test_fast_page_frame_equals_general_path(records: list[list[tuple[str | None, str]]]) -> None:
    body = _body(records)
    fast = _outcome(lambda: _page_frame(body))
    with _general_path():
        general = _outcome(lambda: _page_frame(body))
    assert fast[0] == general[0], (fast, general)
    if fast[0] != "ok":
        assert fast == general
        return
    pd.testing.assert_frame_equal(fast[1], general[1], check_exact=True)
    assert fast[1].attrs["kinds"] == general[1].attrs["kinds"]
    for name in fast[1].columns:
        assert [repr(v) for v in fast[1][name]] == [repr(v) for v in general[1][name]]


@_SETTINGS
@given(records=_records())
def test_uniform_page_columns_equal_record_by_record(
    records: list[list[tuple[str | None, str]]],
) -> None:
    (result,) = parse_response(_body(records)).results
    assert result.data is not None
    fast = _protocol._uniform_flat_columns(result.data)
    if fast is not None:
        assert fast == _protocol._columns_by_record(result.data)[0]


def _long(value: str, n: int = 100) -> list[str | None]:
    return [value] * n


def test_intacct_datetime_format_is_read_on_the_fast_path() -> None:
    values = _long("07/24/2017 15:19:46")
    assert frames._wire_column("WHENMODIFIED", values, "datetime") is not None
    frame = frames.build_frame({"WHENMODIFIED": values}, {"WHENMODIFIED": "datetime"})
    assert frame["WHENMODIFIED"].dtype == "datetime64[us]"
    assert frame["WHENMODIFIED"].iloc[0] == pd.Timestamp(2017, 7, 24, 15, 19, 46)


def test_fast_money_stays_exact_decimal() -> None:
    values: list[str | None] = ["1.10", "-0.005", "123456789012.34", None, ""] * 30
    assert frames._wire_column("AMOUNT", values, "decimal") is not None
    column = frames.build_frame({"AMOUNT": values}, {"AMOUNT": "decimal"})["AMOUNT"]
    assert column.dtype == object
    first = [Decimal("1.10"), Decimal("-0.005"), Decimal("123456789012.34"), None, None]
    assert list(column[:5]) == first
    assert str(column.iloc[0]) == "1.10"


@pytest.mark.parametrize(
    ("kind", "bad"),
    [("integer", "1-2"), ("decimal", "1.2.3"), ("decimal", "1E5"), ("date", "02/30/2024")],
)
def test_bad_cell_in_a_long_column_names_its_row(kind: frames.Kind, bad: str) -> None:
    good = {"integer": "7", "decimal": "1.00", "date": "01/31/2024"}[kind]
    values: list[str | None] = [*([good] * 70), bad, *([good] * 29)]
    with pytest.raises(InputError) as caught:
        frames.build_frame({"F": values}, {"F": kind})
    assert (caught.value.row, caught.value.field, caught.value.value) == (70, "F", bad)

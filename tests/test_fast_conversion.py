"""The fast conversion path (XML page -> columns -> typed arrays) against the general one.

Each fast path may only decline; whenever it answers, the frame must be the one the general
path builds (values, dtypes, kinds), and a bad cell must raise the same typed error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock
from xml.sax.saxutils import escape

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intacct_sync import frames
from intacct_sync.errors import InputError, ProtocolError
from intacct_sync.intacct import _columns, _protocol
from intacct_sync.intacct._columns import Records, page_columns
from intacct_sync.intacct._protocol import parse_response

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
    """The conversion as it was before the fast paths: the whole tree, record by record,
    pandas typing.
    """
    with (
        mock.patch.object(_protocol, "_page_from_text", return_value=None),
        mock.patch.object(_columns, "_uniform_flat_columns", return_value=None),
        mock.patch.object(frames, "_wire_column", return_value=None),
    ):
        yield


@pytest.fixture(autouse=True)
def _small_pages_read_from_text() -> Iterator[None]:
    # The examples here are small pages: read them from their text as the client reads large
    # ones (below the size floor a page's tree is the cheaper way).
    with mock.patch.object(_protocol, "_PAGE_TEXT_MIN", 0):
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
    (result,) = parse_response(body, page=True).results
    values = result.columns
    if values is None:
        records: Records = result.data if result.data is not None else []
        values, _ = page_columns(records)
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
    fast = _columns._uniform_flat_columns(result.data)
    if fast is not None:
        assert fast == _columns._columns_by_record(result.data)[0]


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


# -- the page read from the body's text ---------------------------------------------------------

_CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "intacct"
_FIELDS = ["RECORDNO", "DESCRIPTION", "DEPARTMENT"]
# Values whose raw text is not what the parser gives (references, CR LF), markup characters,
# white space only, and text that looks like markup once unescaped.
_RAW_VALUES = st.one_of(
    _XML_TEXT,
    st.sampled_from(["", " ", "\n  ", "a\r\nb", "x\ry", "&amp;", "<GLENTRY>", "]]", "\u00a0"]),
    st.none(),
)
# What can sit between two tags of a record: nothing, pretty-printing, or markup the text path
# must see through or decline (a comment, a PI, a CDATA section), never misread.
_GAPS = st.sampled_from(
    ["", "", "\n    ", "\r\n\t", " ", "<!-- c -->", "<?pi x?>", "<!-- <GLENTRY><RECORDNO>9 -->"]
)


def _text_value(value: str | None, name: str, form: str) -> str:
    if value is None:
        return f"<{name}/>" if form == "short" else f"<{name}{' ' if form == 'spaced' else ''}/>"
    if form == "cdata" and "]]>" not in value and "\r" not in value:
        return f"<{name}><![CDATA[{value}]]></{name}>"
    return f"<{name}>{escape(value, {chr(13): '&#13;'} if form == 'cr' else {})}</{name}>"


def _text_page(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A query page built as text, and whether it is the plain shape the text path must read."""
    rows = draw(st.lists(st.lists(_RAW_VALUES, min_size=3, max_size=3), min_size=1, max_size=25))
    gap = draw(st.sampled_from(["", "\n      "]))
    odd = draw(st.sampled_from(["none"] * 6 + ["gap", "cdata", "cr", "attr", "order", "nested"]))
    odd_row = draw(st.integers(0, len(rows) - 1))
    records = []
    for index, row in enumerate(rows):
        names = list(_FIELDS)
        if odd == "order" and index == odd_row:
            names.reverse()
        cells = []
        for name, value in zip(names, row, strict=True):
            form = draw(st.sampled_from(["full", "short", "spaced"]))
            if index == odd_row and odd in ("cdata", "cr"):
                form = odd
            if value is not None and form in ("short", "spaced"):
                form = "full"
            cells.append(_text_value(value, name, form))
        if odd == "nested" and index == odd_row:
            cells[1] = "<DESCRIPTION><X>1</X></DESCRIPTION>"
        between = draw(_GAPS) if odd == "gap" and index == odd_row else gap
        opening = '<GLENTRY a="1">' if odd == "attr" and index == odd_row else "<GLENTRY>"
        records.append(opening + between + gap.join(cells) + gap + "</GLENTRY>")
    envelope_gap = draw(st.sampled_from(["", "\n  ", "<!-- <GLENTRY><RECORDNO>1</RECORDNO> -->"]))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<response><control><status>success</status>'
        f"<controlid>c</controlid></control>{envelope_gap}<operation><authentication>"
        "<status>success</status></authentication><result><status>success</status>"
        f'<function>query</function><data listtype="GLENTRY" count="{len(rows)}">'
        + gap.join(records)
        + "</data></result></operation></response>"
    )
    plain = odd == "none" and not envelope_gap.startswith("<!")
    return body.encode(), plain


@st.composite
def _text_pages(draw: st.DrawFn) -> tuple[bytes, bool]:
    return _text_page(draw)


def _read(body: bytes) -> tuple[Any, Any]:
    """The page as the client reads it (``page=True``), and as the whole tree gives it."""
    fast = parse_response(body, page=True)
    tree = parse_response(body)
    return fast, tree


def _same_answer(fast: Any, tree: Any) -> None:
    assert len(fast.results) == len(tree.results)
    for a, b in zip(fast.results, tree.results, strict=True):
        assert (a.status, a.function, a.control_id, a.errors) == (
            b.status,
            b.function,
            b.control_id,
            b.errors,
        )
        assert (a.count, a.total_count, a.num_remaining, a.result_id, a.listtype) == (
            b.count,
            b.total_count,
            b.num_remaining,
            b.result_id,
            b.listtype,
        )
        truth = _columns._columns_by_record(b.data if b.data is not None else [])[0]
        if a.columns is not None:
            assert a.columns == truth
            assert a.record_count == len(b.records)
        # The tree is there for whoever asks, read from the same answer.
        assert _columns._columns_by_record(a.data if a.data is not None else [])[0] == truth


@_SETTINGS
@given(page=_text_pages())
def test_page_read_from_the_text_equals_the_page_read_record_by_record(
    page: tuple[bytes, bool],
) -> None:
    body, plain = page
    fast, tree = _read(body)
    _same_answer(fast, tree)
    if plain:
        # The plain shapes are read from the text, not only declined to the tree.
        assert fast.results[0].columns is not None


def test_a_page_read_from_its_text_builds_no_tree_until_asked() -> None:
    body = _body([[("1", "full")] * 6, [("2", "full")] * 6])
    (result,) = parse_response(body, page=True).results
    assert result.columns is not None and result._tree is not None
    assert result._tree._data is None  # nothing built yet
    assert result.total_count is None and result.count == 2  # attributes from the envelope
    assert [r.findtext("RECORDNO") for r in result.records] == ["1", "2"]


def test_a_second_result_is_never_hidden_by_reading_the_first_from_its_text() -> None:
    record = "<GLENTRY><RECORDNO>{}</RECORDNO></GLENTRY>"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status>'
        "</control><operation><authentication><status>success</status></authentication>"
        f'<result><status>success</status><data count="1">{record.format(1)}</data></result>'
        f'<result><status>success</status><data count="1">{record.format(2)}</data></result>'
        "</operation></response>"
    ).encode()
    fast, tree = _read(body)
    assert len(fast.results) == 2
    assert all(r.columns is None for r in fast.results)
    _same_answer(fast, tree)


@pytest.mark.parametrize(
    "body",
    [
        # another encoding: the text is not UTF-8
        '<?xml version="1.0" encoding="ISO-8859-1"?><response><control><status>success'
        "</status></control><operation><authentication><status>success</status>"
        '</authentication><result><status>success</status><data count="1"><GLENTRY>'
        "<DESCRIPTION>caf\xe9</DESCRIPTION></GLENTRY></data></result></operation></response>",
        # malformed after the records: the whole answer is checked, not only the envelope
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status>'
        "</control><operation><authentication><status>success</status></authentication>"
        '<result><status>success</status><data count="1"><GLENTRY><A>&bogus;</A></GLENTRY>'
        "</data></result></operation></response>",
        # a record inside a comment of the envelope
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status>'
        "</control><!-- <data><GLENTRY><A>9</A></GLENTRY></data> --><operation>"
        "<authentication><status>success</status></authentication><result><status>success"
        '</status><data count="1"><GLENTRY><A>1</A></GLENTRY></data></result></operation>'
        "</response>",
        # a control failure: no page at all
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>failure</status>'
        "<errormessage><error><errorno>XL03000006</errorno><description>bad</description>"
        "</error></errormessage></control></response>",
    ],
)
def test_any_doubt_reads_the_answer_as_usual(body: str) -> None:
    raw = body.encode("latin-1" if "ISO-8859-1" in body else "utf-8")
    outcomes: list[tuple[str, Any]] = []
    for page in (True, False):
        try:
            outcomes.append(("ok", parse_response(raw, page=page)))
        except Exception as exc:  # the same error either way
            outcomes.append(("error", (type(exc), str(exc))))
    assert outcomes[0][0] == outcomes[1][0]
    if outcomes[0][0] == "error":
        assert outcomes[0][1] == outcomes[1][1]
        return
    fast, tree = outcomes[0][1], outcomes[1][1]
    assert all(r.columns is None for r in fast.results)
    _same_answer(fast, tree)


@pytest.mark.parametrize(
    "sample",
    sorted(p.name for p in _CONFORMANCE.glob("*.xml") if b"<data" in p.read_bytes()),
)
def test_every_real_answer_reads_the_same_as_a_page(sample: str) -> None:
    body = (_CONFORMANCE / sample).read_bytes()
    outcomes: list[tuple[str, Any]] = []
    for page in (True, False):
        try:
            outcomes.append(("ok", parse_response(body, page=page)))
        except Exception as exc:
            outcomes.append(("error", (type(exc), str(exc))))
    assert outcomes[0][0] == outcomes[1][0]
    if outcomes[0][0] == "ok":
        _same_answer(outcomes[0][1], outcomes[1][1])
    else:
        assert outcomes[0][1] == outcomes[1][1]


def test_the_reference_samples_pretty_printed_pages_are_read_from_the_text() -> None:
    # Real answers are indented (the reference samples): the text path must take them.
    for sample in ("resp_readbyquery_class_page1_of_2.xml", "resp_readbyquery_glaccount_page1.xml"):
        body = (_CONFORMANCE / sample).read_bytes()
        (result,) = parse_response(body, page=True).results
        assert result.columns is not None, sample
        tree = parse_response(body).results[0].data
        assert tree is not None
        assert result.columns == _columns._columns_by_record(tree)[0]


def test_a_query_through_the_client_reads_its_pages_from_the_text(shared_sb: Any) -> None:
    # The client asks for each query page to be read from its text, and the frame is the one
    # the tree gives.
    select = ["RECORDNO", "BATCHNO", "TRX_AMOUNT", "ENTRY_DATE", "DESCRIPTION", "DEPARTMENT"]
    answers: list[Any] = []
    original = _protocol._page_from_text

    def from_text(*args: Any, **kwargs: Any) -> Any:
        answers.append(original(*args, **kwargs))
        return answers[-1]

    with shared_sb.intacct_client() as ia:
        with mock.patch.object(_protocol, "_page_from_text", from_text):
            fast = ia.query("GLENTRY", select=select)
            by_query = ia.read_by_query("GLENTRY", fields=select, page_size=100)
        with mock.patch.object(_protocol, "_page_from_text", return_value=None):
            tree = ia.query("GLENTRY", select=select)
            tree_by_query = ia.read_by_query("GLENTRY", fields=select, page_size=100)
    assert len(answers) >= 3 and all(answer is not None for answer in answers)
    assert len(fast) > 0
    pd.testing.assert_frame_equal(fast, tree, check_exact=True)
    pd.testing.assert_frame_equal(by_query, tree_by_query, check_exact=True)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("a\x01b", "a C0 control character"),
        ("a\ufffeb", "U+FFFE"),
        ("a]]>b", "]]> in text"),
        ("a&bogus;b", "an entity no DTD declares"),
        ("a&#0;b", "a reference to NUL"),
        ("a&#xD800;b", "a reference to a surrogate"),
        ("a&#x110000;b", "a reference past Unicode"),
        ("a & b", "a bare ampersand"),
    ],
)
def test_text_the_parser_refuses_is_refused_as_the_parser_refuses_it(value: str, why: str) -> None:
    # The text path builds no tree of the records, so what libxml2 would refuse in their text
    # must send the answer to the parser, which raises as it always has.
    rows = "".join(f"<GLENTRY><A>{i}</A><B>x</B></GLENTRY>" for i in range(300))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status>'
        "</control><operation><authentication><status>success</status></authentication>"
        f'<result><status>success</status><data count="301">{rows}<GLENTRY><A>1</A>'
        f"<B>{value}</B></GLENTRY></data></result></operation></response>"
    ).encode()
    errors = []
    for page in (True, False):
        with pytest.raises(ProtocolError) as caught:
            parse_response(body, page=page)
        errors.append(str(caught.value))
    assert errors[0] == errors[1], why


def test_a_field_name_that_is_not_ascii_goes_to_the_tree() -> None:
    rows = "".join(f"<GLENTRY><A>{i}</A><Ä>x</Ä></GLENTRY>" for i in range(300))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><response><control><status>success</status>'
        "</control><operation><authentication><status>success</status></authentication>"
        f'<result><status>success</status><data count="300">{rows}</data></result>'
        "</operation></response>"
    ).encode()
    fast, tree = _read(body)
    assert fast.results[0].columns is None
    _same_answer(fast, tree)

"""Frames to Arrow and Parquet: a schema fixed by the column kinds, decimals exact or refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from intacct_sync import IntacctClient, SalesforceClient, frames
from intacct_sync.errors import InputError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from intacct_sync import arrow  # noqa: E402 - after the importorskip

KINDS: dict[str, frames.Kind] = {
    "RECORDNO": "integer",
    "ACCOUNTNO": "text",
    "AMOUNT": "decimal",
    "EXCHANGE_RATE": "decimal",
    "BILLABLE": "boolean",
    "RATIO": "float",
    "ENTRY_DATE": "date",
    "WHENMODIFIED": "datetime",
    "SystemModstamp": "timestamp",
}


def _frame(rows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    return frames.frame_from_records(rows, KINDS)


FIRST = [
    {
        "RECORDNO": "1",
        "ACCOUNTNO": "4000",
        "AMOUNT": "12.5",
        "EXCHANGE_RATE": "1.0825",
        "BILLABLE": "false",
        "RATIO": "0.5",
        "ENTRY_DATE": "01/31/2026",
        "WHENMODIFIED": "02/01/2026 10:11:12",
        "SystemModstamp": "2026-02-01T10:11:12.000+0000",
    },
    {"RECORDNO": "2", "AMOUNT": "-0.01"},
]
# Different magnitudes and scales: a value-derived schema would change between these two.
SECOND = [
    {
        "RECORDNO": "3",
        "AMOUNT": "123456789012.3456",
        "EXCHANGE_RATE": "1",
        "ENTRY_DATE": "12/31/2025",
    }
]


def test_every_kind_has_its_fixed_arrow_type() -> None:
    table = arrow.to_arrow(_frame(FIRST))
    types = {f.name: f.type for f in table.schema}
    assert types == {
        "RECORDNO": pa.int64(),
        "ACCOUNTNO": pa.string(),
        "AMOUNT": pa.decimal128(38, 10),
        "EXCHANGE_RATE": pa.decimal128(38, 10),
        "BILLABLE": pa.bool_(),
        "RATIO": pa.float64(),
        "ENTRY_DATE": pa.date32(),
        "WHENMODIFIED": pa.timestamp("us"),
        "SystemModstamp": pa.timestamp("us", tz="UTC"),
    }
    assert table.schema.field("ENTRY_DATE").metadata == {arrow.KIND_METADATA: b"date"}
    rows = table.to_pylist()
    assert rows[0]["AMOUNT"] == Decimal("12.5")
    assert rows[0]["EXCHANGE_RATE"] == Decimal("1.0825")
    assert rows[0]["ENTRY_DATE"] == dt.date(2026, 1, 31)
    assert rows[0]["WHENMODIFIED"] == dt.datetime(2026, 2, 1, 10, 11, 12)
    assert rows[0]["SystemModstamp"] == dt.datetime(2026, 2, 1, 10, 11, 12, tzinfo=dt.UTC)
    assert rows[1]["AMOUNT"] == Decimal("-0.01")
    assert rows[1]["ACCOUNTNO"] is None
    assert rows[1]["BILLABLE"] is None


def test_parquet_schema_is_the_same_whatever_the_values(tmp_path: Path) -> None:
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    arrow.to_parquet(_frame(FIRST), one)
    arrow.to_parquet(_frame(SECOND), two)
    empty = tmp_path / "empty.parquet"
    arrow.to_parquet(frames.empty_frame(KINDS), empty)
    first, second = pq.read_schema(one), pq.read_schema(two)
    assert first.equals(second, check_metadata=True)
    assert pq.read_schema(empty).equals(first, check_metadata=True)
    assert pq.read_table(two).column("AMOUNT").to_pylist() == [Decimal("123456789012.3456")]


def test_a_multi_page_read_keeps_its_kinds_through_concat() -> None:
    pages = [_frame(FIRST), _frame(SECOND)]
    joined = pd.concat(pages, ignore_index=True)
    assert arrow.to_arrow(joined).schema.field("ENTRY_DATE").type == pa.date32()


def test_a_value_that_needs_rounding_is_refused_never_rounded() -> None:
    frame = _frame([{"RECORDNO": "1", "AMOUNT": "1.00"}, {"RECORDNO": "2", "AMOUNT": "0.125"}])
    with pytest.raises(InputError) as caught:
        arrow.to_arrow(frame, scales={"AMOUNT": 2})
    assert (caught.value.row, caught.value.field, caught.value.value) == (
        1,
        "AMOUNT",
        Decimal("0.125"),
    )
    assert "rounded" in str(caught.value)
    # Trailing zeros are not lost digits.
    exact = _frame([{"RECORDNO": "1", "AMOUNT": "0.12000000000000"}])
    assert arrow.to_arrow(exact).column("AMOUNT").to_pylist() == [Decimal("0.12")]


def test_a_value_too_large_for_its_scale_is_refused() -> None:
    frame = _frame([{"RECORDNO": "1", "AMOUNT": "1" + "0" * 28}])
    with pytest.raises(InputError, match="digits before the point") as caught:
        arrow.to_arrow(frame)
    assert caught.value.field == "AMOUNT"
    assert arrow.to_arrow(frame, scales={"AMOUNT": 0}).column("AMOUNT").to_pylist() == [
        Decimal("1" + "0" * 28)
    ]


def test_a_bad_scale_is_refused() -> None:
    with pytest.raises(InputError, match="scale"):
        arrow.to_arrow(_frame(FIRST), scales={"AMOUNT": 39})


def test_a_date_column_with_a_time_of_day_is_refused() -> None:
    frame = frames.build_frame({"WHEN": ["01/02/2026 10:00:00"]}, {"WHEN": "datetime"})
    with pytest.raises(InputError, match="time of day") as caught:
        arrow.to_arrow(frame, kinds={"WHEN": "date"})
    assert (caught.value.row, caught.value.field) == (0, "WHEN")


def test_without_recorded_kinds_the_dtype_decides() -> None:
    frame = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "name": pd.array(["a", None], dtype="string"),
            "money": pd.array([Decimal("1.5"), None], dtype=object),
            "when": pd.Series([dt.datetime(2026, 1, 1), None], dtype="datetime64[us]"),
        }
    )
    assert "kinds" not in frame.attrs
    types = [f.type for f in arrow.to_arrow(frame).schema]
    assert types == [pa.int64(), pa.string(), pa.decimal128(38, 10), pa.timestamp("us")]
    dated = arrow.to_arrow(frame, kinds={"when": "date"})
    assert dated.column("when").to_pylist() == [dt.date(2026, 1, 1), None]


def test_a_recorded_kind_is_dropped_once_the_column_changed_dtype() -> None:
    frame = _frame(FIRST)
    frame["RATIO"] = frame["RATIO"].astype("string")
    assert arrow.to_arrow(frame).schema.field("RATIO").type == pa.string()


def test_an_object_column_of_text_is_refused_with_its_name() -> None:
    frame = pd.DataFrame({"memo": pd.Series([Decimal("1"), "n/a"], dtype=object)})
    assert str(frame["memo"].dtype) == "object"
    with pytest.raises(InputError) as caught:
        arrow.to_arrow(frame)
    assert (caught.value.row, caught.value.field, caught.value.value) == (1, "memo", "n/a")


def test_a_dtype_without_a_kind_is_refused() -> None:
    frame = pd.DataFrame({"span": pd.to_timedelta([1, 2], unit="s")})
    with pytest.raises(InputError, match="kinds=") as caught:
        arrow.to_arrow(frame)
    assert caught.value.field == "span"


def test_arrow_backed_frame_keeps_money_exact_and_the_index() -> None:
    frame = _frame(FIRST).set_index(pd.Index([10, 20]))
    backed = arrow.to_arrow_backed(frame)
    assert isinstance(backed["AMOUNT"].dtype, pd.ArrowDtype)
    assert backed["AMOUNT"].tolist() == [Decimal("12.5"), Decimal("-0.01")]
    assert backed["AMOUNT"].sum() == Decimal("12.49")
    assert list(backed.index) == [10, 20]
    assert backed.attrs["kinds"]["ENTRY_DATE"] == "date"
    # And back: an Arrow-backed frame converts to the same schema.
    assert arrow.to_arrow(backed).schema.equals(arrow.to_arrow(frame).schema)


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(InputError, match="not a column kind"):
        arrow.to_arrow(_frame(FIRST), kinds={"AMOUNT": "money"})  # type: ignore[dict-item]


def test_the_refused_row_is_the_one_that_needs_rounding_not_one_with_trailing_zeros() -> None:
    frame = _frame([{"AMOUNT": "0.12000000000000"}, {"AMOUNT": "0.125"}])
    with pytest.raises(InputError) as caught:
        arrow.to_arrow(frame, scales={"AMOUNT": 2})
    assert caught.value.row == 1


def test_a_decimal_nan_is_refused() -> None:
    frame = pd.DataFrame({"AMOUNT": pd.Series([Decimal("1"), Decimal("NaN")], dtype=object)})
    with pytest.raises(InputError, match="finite") as caught:
        arrow.to_arrow(frame)
    assert caught.value.row == 1


def test_text_that_is_not_its_declared_kind_is_refused() -> None:
    frame = frames.build_frame({"code": ["12", "abc"]}, {"code": "text"})
    with pytest.raises(InputError) as caught:
        arrow.to_arrow(frame, kinds={"code": "integer"})
    assert caught.value.field == "code"
    backed = arrow.to_arrow_backed(frame)
    with pytest.raises(InputError) as caught:
        arrow.to_arrow(backed, kinds={"code": "integer"})
    assert caught.value.field == "code"


def test_an_arrow_backed_frame_without_attrs_keeps_its_schema() -> None:
    frame = _frame(FIRST)
    backed = arrow.to_arrow_backed(frame)
    backed.attrs = {}
    assert arrow.to_arrow(backed).schema.equals(arrow.to_arrow(frame).schema)
    odd = pd.DataFrame({"raw": pd.Series([b"x"], dtype=pd.ArrowDtype(pa.binary()))})
    with pytest.raises(InputError, match="Arrow type") as caught:
        arrow.to_arrow(odd)
    assert caught.value.field == "raw"


def test_a_multi_page_sandbox_read_converts_with_its_kinds() -> None:
    from intacct_sync import sandbox

    with sandbox.running() as sb, sb.intacct_client() as ia:
        entries = ia.query("GLENTRY", select=["RECORDNO", "ENTRY_DATE", "AMOUNT"], page_size=100)
        one_page = ia.query("GLENTRY", select=["RECORDNO", "ENTRY_DATE", "AMOUNT"], page_size=2000)
    assert len(entries) > 100
    table = arrow.to_arrow(entries)
    assert table.schema.field("ENTRY_DATE").type == pa.date32()
    assert table.schema.equals(arrow.to_arrow(one_page).schema, check_metadata=True)
    assert sum(table.column("AMOUNT").to_pylist(), Decimal(0)) == sum(entries["AMOUNT"], Decimal(0))


# -- frame.isync and dtype_backend="pyarrow" on the reads of both clients -----------------------

GL_SELECT = ["RECORDNO", "ENTRY_DATE", "AMOUNT", "ACCOUNTNO"]
OPPORTUNITIES = "SELECT Id, Name, Amount, CloseDate, IsWon FROM Opportunity"


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[IntacctClient, SalesforceClient]]:
    from intacct_sync import sandbox

    with sandbox.running() as sb, sb.intacct_client() as ia, sb.salesforce_client() as sf:
        sb.salesforce.seed_bulk("Opportunity", 120)
        yield ia, sf


def test_every_read_chains_into_arrow_through_the_isync_accessor(
    clients: tuple[IntacctClient, SalesforceClient], tmp_path: Path
) -> None:
    ia, sf = clients
    entries = ia.query("GLENTRY", select=GL_SELECT, page_size=100)
    opportunities = sf.query(OPPORTUNITIES)
    for frame in (entries, opportunities, sf.bulk_query(OPPORTUNITIES)):
        assert type(frame) is pd.DataFrame  # reads stay plain DataFrames
        table = frame.isync.to_arrow()
        assert table.schema.equals(arrow.to_arrow(frame).schema, check_metadata=True)
        assert table.num_rows == len(frame) > 0
        assert frame.isync.kinds == arrow.kinds_of(frame)
        assert frame.isync.schema().equals(table.schema, check_metadata=True)
    assert entries.isync.to_arrow().schema.field("ENTRY_DATE").type == pa.date32()
    assert opportunities.isync.to_arrow().schema.field("Amount").type == pa.decimal128(38, 10)
    path = tmp_path / "glentry.parquet"
    entries.isync.to_parquet(path, scales={"AMOUNT": 2})
    read_back = pq.read_table(path)
    assert read_back.schema.field("AMOUNT").type == pa.decimal128(38, 2)
    assert read_back.column("AMOUNT").to_pylist() == list(entries["AMOUNT"])
    backed = opportunities.isync.to_arrow_backed()
    assert all(isinstance(t, pd.ArrowDtype) for t in backed.dtypes)


def test_reads_return_arrow_backed_frames_when_asked(
    clients: tuple[IntacctClient, SalesforceClient],
) -> None:
    ia, sf = clients
    reads: list[tuple[pd.DataFrame, pd.DataFrame]] = [
        (
            ia.query("GLENTRY", select=GL_SELECT, page_size=100),
            ia.query("GLENTRY", select=GL_SELECT, page_size=100, dtype_backend="pyarrow"),
        ),
        (
            ia.read_by_query("GLACCOUNT", fields=["RECORDNO", "ACCOUNTNO", "TITLE"]),
            ia.read_by_query(
                "GLACCOUNT", fields=["RECORDNO", "ACCOUNTNO", "TITLE"], dtype_backend="pyarrow"
            ),
        ),
        (sf.query(OPPORTUNITIES), sf.query(OPPORTUNITIES, dtype_backend="pyarrow")),
        (sf.bulk_query(OPPORTUNITIES), sf.bulk_query(OPPORTUNITIES, dtype_backend="pyarrow")),
    ]
    for plain, backed in reads:
        assert all(isinstance(t, pd.ArrowDtype) for t in backed.dtypes), backed.dtypes
        assert list(backed.columns) == list(plain.columns)
        assert backed.attrs["kinds"] == plain.attrs["kinds"]
        # The same schema, so the same values: money exact, nothing rounded.
        assert arrow.to_arrow(backed).equals(arrow.to_arrow(plain))
    entries = reads[0][1]
    assert pa.types.is_decimal(entries["AMOUNT"].dtype.pyarrow_dtype)
    assert all(isinstance(v, Decimal) for v in entries["AMOUNT"].dropna())
    assert (
        ia.query("GLENTRY", select=GL_SELECT, dtype_backend="numpy_nullable")["AMOUNT"].dtype
        == object
    )
    with pytest.raises(InputError) as caught:
        ia.query("GLENTRY", select=GL_SELECT, dtype_backend="numpy")  # type: ignore[arg-type]
    assert caught.value.field == "dtype_backend"

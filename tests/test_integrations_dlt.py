"""The dlt sources against the sandbox, loaded into DuckDB: merge on the key, incremental runs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from intacct_sync import sandbox
from intacct_sync.errors import InputError

dlt = pytest.importorskip("dlt")
duckdb = pytest.importorskip("duckdb")

from intacct_sync.integrations import dlt as source_mod  # noqa: E402 - after importorskip


@pytest.fixture(autouse=True)
def _load_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    # Arrow tables get no _dlt_load_id column unless asked; the tests tell runs apart by it.
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")


def _pipeline(tmp_path: Path, name: str) -> Any:
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        dataset_name="raw",
    )


def _rows(tmp_path: Path, name: str, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as con:
        rows: list[tuple[Any, ...]] = con.execute(sql).fetchall()
        return rows


def _loaded(pipeline: Any, table: str) -> int:
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return int(counts.get(table, 0))


def test_intacct_objects_load_then_only_changes_load(
    shared_sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    ia = shared_sb.intacct_client()
    books = ia.query("GLACCOUNT", select=["RECORDNO", "ACCOUNTNO", "TITLE", "WHENMODIFIED"])
    batches = ia.query("GLBATCH", select=["RECORDNO", "WHENMODIFIED"])
    pipeline = _pipeline(tmp_path, "intacct")
    pipeline.run(source_mod.intacct_source(ia, objects=["GLACCOUNT", "GLBATCH"], page_size=10))

    assert _loaded(pipeline, "gl_account") == len(books)
    assert _loaded(pipeline, "gl_batch") == len(batches)
    rows = _rows(
        tmp_path, "intacct", "SELECT count(*), count(DISTINCT recordno) FROM raw.gl_account"
    )
    assert rows == [(len(books), len(books))]
    # Money arrives exact in a fixed decimal column.
    types = dict(
        _rows(
            tmp_path,
            "intacct",
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'gl_batch'",
        )
    )
    assert types["whenmodified"].startswith("TIMESTAMP")
    assert types["recordno"] == "BIGINT"

    # Change one account; the next run reads only what changed since the newest stamp loaded
    # (the rows at that very second come again by design, and merge keeps one copy).
    newest = books["WHENMODIFIED"].max()
    boundary = set(books.loc[books["WHENMODIFIED"] == newest, "RECORDNO"].astype(int))
    target = books.iloc[0]
    ia.update("GLACCOUNT", [{"ACCOUNTNO": target["ACCOUNTNO"], "TITLE": "Renamed by a test"}])
    pipeline.run(source_mod.intacct_source(ia, objects=["GLACCOUNT", "GLBATCH"], page_size=10))

    changed = _rows(
        tmp_path,
        "intacct",
        "SELECT recordno FROM raw.gl_account WHERE _dlt_load_id = "
        "(SELECT max(_dlt_load_id) FROM raw.gl_account)",
    )
    assert {r[0] for r in changed} == boundary | {int(target["RECORDNO"])}
    assert _loaded(pipeline, "gl_account") == len(boundary | {int(target["RECORDNO"])})
    # No batch changed: only those at the newest stamp came again.
    unchanged = batches["WHENMODIFIED"] == batches["WHENMODIFIED"].max()
    assert _loaded(pipeline, "gl_batch") == int(unchanged.sum()) < len(batches)
    after = _rows(
        tmp_path,
        "intacct",
        f"SELECT count(*), max(CASE WHEN recordno = {int(target['RECORDNO'])} THEN title END) "
        "FROM raw.gl_account",
    )
    assert after == [(len(books), "Renamed by a test")]


def test_intacct_decimals_are_exact_in_the_warehouse(
    shared_sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    ia = shared_sb.intacct_client()
    lines = ia.query("GLENTRY", select=["RECORDNO", "AMOUNT", "WHENMODIFIED"])
    pipeline = _pipeline(tmp_path, "entries")
    pipeline.run(source_mod.intacct_source(ia, objects={"GLENTRY": ["RECORDNO", "AMOUNT"]}))
    total = _rows(tmp_path, "entries", "SELECT sum(amount), typeof(sum(amount)) FROM raw.gl_entry")
    assert total[0][0] == sum(lines["AMOUNT"].dropna(), Decimal(0))
    assert total[0][1].startswith("DECIMAL")


def test_salesforce_queries_load_then_only_changes_load(
    shared_sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    sf = shared_sb.salesforce_client()
    query = "SELECT Id, Name, SystemModstamp FROM Account WHERE Name != 'x' ORDER BY Name"
    accounts = sf.query(query)
    pipeline = _pipeline(tmp_path, "crm")
    pipeline.run(source_mod.salesforce_source(sf, queries={"account": query}))
    assert _loaded(pipeline, "account") == len(accounts)

    newest = accounts["SystemModstamp"].max()
    boundary = set(accounts.loc[accounts["SystemModstamp"] == newest, "Id"])
    target = str(accounts["Id"].iloc[0])
    sf.update("Account", [{"Id": target, "Name": "Renamed by a test"}])
    pipeline.run(source_mod.salesforce_source(sf, queries={"account": query}))
    latest = _rows(
        tmp_path,
        "crm",
        "SELECT id FROM raw.account WHERE _dlt_load_id = (SELECT max(_dlt_load_id) FROM raw.account)",
    )
    assert {r[0] for r in latest} == boundary | {target}
    assert _rows(tmp_path, "crm", "SELECT count(*) FROM raw.account") == [(len(accounts),)]


def test_a_query_without_the_cursor_field_is_refused(
    shared_sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    sf = shared_sb.salesforce_client()
    pipeline = _pipeline(tmp_path, "bad")
    with pytest.raises(Exception, match="must select SystemModstamp") as caught:
        pipeline.run(source_mod.salesforce_source(sf, queries={"a": "SELECT Id FROM Account"}))
    # dlt wraps the error of the resource; ours is the cause, typed and named.
    cause: BaseException | None = caught.value
    while cause is not None and not isinstance(cause, InputError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, InputError)
    assert cause.field == "SystemModstamp"


STAMP = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        (
            "SELECT Id FROM Account",
            "SELECT Id FROM Account WHERE SystemModstamp >= 2026-01-02T03:04:05Z",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'a' OR Name = 'b' ORDER BY Name LIMIT 5",
            "SELECT Id FROM Account WHERE (Name = 'a' OR Name = 'b') AND "
            "SystemModstamp >= 2026-01-02T03:04:05Z ORDER BY Name LIMIT 5",
        ),
        (
            "SELECT Id, (SELECT Id FROM Contacts WHERE Email != null ORDER BY Id) "
            "FROM Account WHERE Name = 'order by where' LIMIT 5",
            "SELECT Id, (SELECT Id FROM Contacts WHERE Email != null ORDER BY Id) "
            "FROM Account WHERE (Name = 'order by where') AND "
            "SystemModstamp >= 2026-01-02T03:04:05Z LIMIT 5",
        ),
        (
            "select Id, Limit__c from Account order by Limit__c",
            "select Id, Limit__c from Account WHERE SystemModstamp >= 2026-01-02T03:04:05Z "
            "order by Limit__c",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 'it\\'s (where)' WITH SECURITY_ENFORCED",
            "SELECT Id FROM Account WHERE (Name = 'it\\'s (where)') AND "
            "SystemModstamp >= 2026-01-02T03:04:05Z WITH SECURITY_ENFORCED",
        ),
    ],
)
def test_since_clause_adds_the_cursor_condition_at_top_level(soql: str, expected: str) -> None:
    assert source_mod.since_clause(soql, "SystemModstamp", STAMP) == expected


def test_since_clause_refuses_a_naive_datetime_and_a_bad_field() -> None:
    with pytest.raises(InputError):
        source_mod.since_clause("SELECT Id FROM Account", "SystemModstamp", dt.datetime(2026, 1, 1))
    with pytest.raises(InputError):
        source_mod.since_clause("SELECT Id FROM Account", "x; DELETE", STAMP)


def test_a_page_with_a_record_missing_its_key_is_refused() -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"RECORDNO": [1, None], "WHENMODIFIED": [None, None]})
    with pytest.raises(InputError, match="cannot be merged") as caught:
        source_mod._keyed(table, "RECORDNO", "GLACCOUNT")
    assert caught.value.field == "RECORDNO"
    keyed = source_mod._keyed(table.slice(0, 1), "RECORDNO", "GLACCOUNT")
    assert not keyed.schema.field("RECORDNO").nullable


def test_a_cursor_that_is_not_a_datetime_is_refused() -> None:
    with pytest.raises(InputError, match="not a datetime"):
        source_mod._naive("2026-01-01")
    assert source_mod._aware(dt.datetime(2026, 1, 1)).tzinfo is dt.UTC

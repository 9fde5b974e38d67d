"""The SQLite state store keeps watermarks, values, the ledger and the id map across reopen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from intacct_sync.errors import StateError
from intacct_sync.state import IdMapping, LedgerEntry, SQLiteStateStore


def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "state.sqlite3"
    when = dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with SQLiteStateStore(path) as state:
        state.set_watermark("actions", when)
        state.set_value("kpi", "donors|2026-11-20", {"value": Decimal("1234")})
        state.ledger_put(
            LedgerEntry(workflow="actions", source_id="a1", control_id="c1", status="pending")
        )
        state.id_map_put(IdMapping(object="CUSTOMER", salesforce_id="001A", intacct_id="C1"))
    with SQLiteStateStore(path) as state:
        assert state.get_watermark("actions") == when
        assert state.get_watermark("actions").tzinfo == dt.UTC
        assert state.get_value("kpi", "donors|2026-11-20") == {"value": "1234"}
        assert state.values("kpi") == {"donors|2026-11-20": {"value": "1234"}}
        entry = state.ledger_get("actions", "a1")
        assert entry is not None
        assert (entry.control_id, entry.status) == ("c1", "pending")
        assert [e.source_id for e in state.iter_ledger("actions", "pending")] == ["a1"]
        assert [m.intacct_id for m in state.id_map("CUSTOMER")] == ["C1"]


def test_ledger_rows_are_replaced_not_duplicated() -> None:
    state = SQLiteStateStore(":memory:")
    for status in ("pending", "posted"):
        state.ledger_put(
            LedgerEntry(
                workflow="actions", source_id="a1", control_id="c1", status=status, record_no="9"
            )
        )
    assert [(e.status, e.record_no) for e in state.ledger("actions")] == [("posted", "9")]


def test_naive_timestamps_and_conflicting_ids_are_refused() -> None:
    state = SQLiteStateStore(":memory:")
    with pytest.raises(StateError, match="timezone-aware"):
        state.set_watermark("x", dt.datetime(2026, 1, 1))
    state.id_map_put(IdMapping(object="ITEM", salesforce_id="01tA", intacct_id="I1"))
    with pytest.raises(StateError):
        state.id_map_put(IdMapping(object="ITEM", salesforce_id="01tB", intacct_id="I1"))


def test_an_unusable_path_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises((StateError, OSError)):
        SQLiteStateStore(blocker / "state.sqlite3")

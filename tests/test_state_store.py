"""The state stores: the SQLite store keeps its rows across reopen and migrates every earlier
schema version; both stores pass the public store contract (``intacct_sync.testing``)."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from intacct_sync import sandbox
from intacct_sync.errors import LeaseHeldError, LeaseLostError, StateError
from intacct_sync.posting import Posting, post
from intacct_sync.state import (
    MIGRATIONS,
    IdMapping,
    Lease,
    LedgerEntry,
    PostgresStateStore,
    SQLiteStateStore,
    StateStore,
    lease_name,
    run_lease,
)
from intacct_sync.testing import StateStoreContract, check_state_store

PG_DSN = os.environ.get("INTACCT_SYNC_TEST_POSTGRES_DSN")


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


# -- the contract, for both stores ------------------------------------------------------------


class TestSQLiteStoreContract(StateStoreContract):
    @pytest.fixture(autouse=True)
    def _file(self, tmp_path: Path) -> None:
        self.path = tmp_path / "state.sqlite3"

    def make_store(self, tenant: str) -> StateStore:
        return SQLiteStateStore(self.path, tenant=tenant)


@pytest.mark.skipif(PG_DSN is None, reason="INTACCT_SYNC_TEST_POSTGRES_DSN is not set")
class TestPostgresStoreContract(StateStoreContract):
    def make_store(self, tenant: str) -> StateStore:
        assert PG_DSN is not None
        return PostgresStateStore(PG_DSN, tenant=tenant, schema="contract")


def test_the_contract_runs_as_one_function_and_catches_a_broken_store(tmp_path: Path) -> None:
    check_state_store(lambda tenant: SQLiteStateStore(tmp_path / "s.sqlite3", tenant=tenant))

    class GreedyLeases(SQLiteStateStore):
        """Takes a lease whoever holds it: the bug the contract exists to catch."""

        def acquire_lease(self, name: str, holder: str, ttl: dt.timedelta) -> Lease | None:
            current = self.lease_holder(name)
            if current is not None and current.holder != holder:
                self.release_lease(current)
            return super().acquire_lease(name, holder, ttl)

    with pytest.raises(AssertionError, match="exclusive"):
        check_state_store(lambda tenant: GreedyLeases(tmp_path / "b.sqlite3", tenant=tenant))


# -- SQLite migrations from every earlier version ---------------------------------------------

# The schema as intacct_sync wrote it before migrations existed (version 1): copied here, not
# imported, so a later edit of the migration list cannot make this test agree with itself.
_V1_DDL = """
CREATE TABLE IF NOT EXISTS watermark (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS kv (namespace TEXT, key TEXT, value TEXT,
    PRIMARY KEY (namespace, key));
CREATE TABLE IF NOT EXISTS ledger (workflow TEXT, source_id TEXT, control_id TEXT
    NOT NULL, status TEXT NOT NULL, record_no TEXT, updated_at TEXT NOT NULL,
    detail TEXT NOT NULL, PRIMARY KEY (workflow, source_id));
CREATE INDEX IF NOT EXISTS ledger_control ON ledger (control_id);
CREATE TABLE IF NOT EXISTS id_map (object TEXT, salesforce_id TEXT, intacct_id TEXT
    NOT NULL, intacct_record_no TEXT, updated_at TEXT NOT NULL,
    PRIMARY KEY (object, salesforce_id));
CREATE UNIQUE INDEX IF NOT EXISTS id_map_intacct ON id_map (object, intacct_id);
"""


def _version_1_file(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(_V1_DDL)
    conn.execute("INSERT INTO watermark VALUES ('actions', '2026-11-20T13:30:00+00:00')")
    conn.execute("INSERT INTO kv VALUES ('kpi', 'donors|2026-11-20', '{\"value\": \"1234\"}')")
    for source, status in (("a1", "posted"), ("a2", "pending"), ("a3", "failed")):
        conn.execute(
            "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "actions",
                source,
                f"c-{source}",
                status,
                "77" if status == "posted" else None,
                "2026-11-20T13:31:00+00:00",
                json.dumps({"content_hash": f"h-{source}", "amount": "10.00"}),
            ),
        )
    conn.execute(
        "INSERT INTO id_map VALUES ('CUSTOMER', '001A', 'C1', '12', '2026-11-20T13:32:00+00:00')"
    )
    conn.commit()
    conn.close()


def test_a_version_1_file_is_migrated_with_every_row_kept(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    _version_1_file(path)
    with SQLiteStateStore(path) as state:
        assert state.schema_version == MIGRATIONS[-1].version == 2
        assert state.get_watermark("actions") == dt.datetime(2026, 11, 20, 13, 30, tzinfo=dt.UTC)
        assert state.values("kpi") == {"donors|2026-11-20": {"value": "1234"}}
        assert [(e.source_id, e.status, e.record_no) for e in state.ledger("actions")] == [
            ("a1", "posted", "77"),
            ("a2", "pending", None),
            ("a3", "failed", None),
        ]
        posted = state.ledger_get("actions", "a1")
        assert posted is not None and posted.detail == {"content_hash": "h-a1", "amount": "10.00"}
        assert [e.source_id for e in state.iter_ledger("actions", "pending")] == ["a2"]
        (mapping,) = state.id_map("CUSTOMER")
        assert (mapping.salesforce_id, mapping.intacct_id, mapping.intacct_record_no) == (
            "001A",
            "C1",
            "12",
        )
        # The uniqueness of version 1 survives the rebuild, and the lease is there.
        with pytest.raises(StateError):
            state.id_map_put(IdMapping(object="CUSTOMER", salesforce_id="001B", intacct_id="C1"))
        assert state.acquire_lease("X/-/actions", "me", dt.timedelta(minutes=1)) is not None
    # The rows of a version-1 file belong to the default tenant, and only to it.
    with SQLiteStateStore(path, tenant="ACME") as other:
        assert other.ledger("actions") == [] and other.get_watermark("actions") is None
    conn = sqlite3.connect(path)
    applied = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
    conn.close()
    assert applied == [(1,), (2,)]


def test_a_new_file_and_a_current_file_open_at_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with SQLiteStateStore(path) as state:
        assert state.schema_version == 2
        state.ledger_put(
            LedgerEntry(workflow="kpi", source_id="k1", control_id="c", status="posted")
        )
    for _ in range(2):  # idempotent: nothing is applied twice
        with SQLiteStateStore(path) as state:
            assert state.schema_version == 2
            assert [e.source_id for e in state.ledger("kpi")] == ["k1"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (2,)
    conn.close()


def test_two_openers_of_one_old_file_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    _version_1_file(path)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_it() -> None:
        try:
            barrier.wait()
            SQLiteStateStore(path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with SQLiteStateStore(path) as state:
        assert len(state.ledger("actions")) == 3


def test_a_file_from_a_newer_version_is_refused_not_guessed_at(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    SQLiteStateStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99, 'from the future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(StateError, match="schema version 99, newer"):
        SQLiteStateStore(path)


# -- the lease across processes ---------------------------------------------------------------

_RACER = """
import datetime as dt, sys, time
from intacct_sync.state import SQLiteStateStore
state = SQLiteStateStore(sys.argv[1], tenant="race")
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
lease = state.acquire_lease("ACME/-/actions", sys.argv[3], dt.timedelta(minutes=5))
print("won" if lease is not None else "lost")
"""


def test_four_processes_racing_for_one_sqlite_lease_give_it_to_exactly_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "race.sqlite3"
    SQLiteStateStore(path, tenant="race").close()
    start = time.time() + 1.5
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(path), str(start), f"p{n}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    results = sorted(p.communicate(timeout=60)[0].strip() for p in racers)
    assert results == ["lost", "lost", "lost", "won"]
    with SQLiteStateStore(path, tenant="race") as state:
        holder = state.lease_holder("ACME/-/actions")
        assert holder is not None and holder.pid != os.getpid()
        with pytest.raises(LeaseHeldError) as caught, run_lease(state, "ACME/-/actions"):
            pass
        assert caught.value.host == holder.host and caught.value.pid == holder.pid
        assert str(holder.pid) in str(caught.value) and holder.holder in str(caught.value)


def test_a_lease_store_tenant_must_be_named(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="tenant"):
        SQLiteStateStore(tmp_path / "x.sqlite3", tenant="")
    assert "tenant='ACME'" in repr(SQLiteStateStore(":memory:", tenant="ACME"))


# -- the posting engine takes the lease --------------------------------------------------------


def test_the_posting_engine_refuses_to_run_beside_another_run_and_nests_inside_its_own(
    shared_sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    from tests.builders import balanced_entry

    ia = shared_sb.intacct_client()
    path = tmp_path / "state.sqlite3"
    name = lease_name(ia.company_id, "lease_test")
    key = f"lease-{uuid.uuid4().hex[:8]}"
    postings = [Posting(key=key, record=balanced_entry(key, title="Lease test"), reference=key)]
    other = SQLiteStateStore(path)
    held = other.acquire_lease(name, "nightly-run-on-worker-7", dt.timedelta(minutes=5))
    assert held is not None
    with SQLiteStateStore(path) as state:
        with pytest.raises(LeaseHeldError, match="nightly-run-on-worker-7"):
            post(ia, state, "lease_test", postings)
        assert state.ledger("lease_test") == []  # nothing written, nothing sent
        assert shared_sb.intacct.journal_entries_by_reference(ia.company_id).get(key) is None
        other.release_lease(held)
        with run_lease(state, name) as outer:
            result = post(ia, state, "lease_test", postings)  # shares the outer lease
            assert state.lease_holder(name) == outer.lease
        assert [o.status for o in result.outcomes] == ["posted"]
        assert state.lease_holder(name) is None
    other.close()


def test_run_lease_renews_while_the_run_works_and_reports_a_lost_lease(tmp_path: Path) -> None:
    state = SQLiteStateStore(tmp_path / "s.sqlite3")
    with run_lease(state, "R", ttl=dt.timedelta(milliseconds=300)) as held:
        first = held.lease.expires_at
        time.sleep(0.6)  # past the ttl: only the renewals (every 0.1 s) keep it
        assert held.lease.expires_at > first
        assert state.acquire_lease("R", "other", dt.timedelta(minutes=1)) is None
    assert state.lease_holder("R") is None

    def lose_the_lease() -> None:
        with run_lease(state, "R", ttl=dt.timedelta(seconds=30)) as held:
            state.release_lease(held.lease)  # as if it had expired ...
            assert state.acquire_lease("R", "thief", dt.timedelta(minutes=1)) is not None
            held.renew()  # ... and the next renewal finds it gone
            assert held.lost is not None

    with pytest.raises(LeaseLostError, match="taken over"):
        lose_the_lease()
    thief = state.lease_holder("R")
    assert thief is not None and thief.holder == "thief"  # never released by the loser
    state.close()

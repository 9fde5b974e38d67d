"""The PostgreSQL state store against a real server (``make test`` starts one on loopback:
``scripts/pg_test_server.sh``): migrations, concurrent openers, secrets kept out of sight, and a
killed run's lease. The store contract itself runs in ``tests/test_state_store.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from intacct_sync.errors import ConfigError, LeaseHeldError, StateError
from intacct_sync.state import (
    PG_MIGRATIONS,
    LedgerEntry,
    PostgresStateStore,
    SQLiteStateStore,
    StateStore,
    run_lease,
)

PG_DSN = os.environ.get("INTACCT_SYNC_TEST_POSTGRES_DSN")
needs_pg = pytest.mark.skipif(PG_DSN is None, reason="INTACCT_SYNC_TEST_POSTGRES_DSN is not set")


@pytest.fixture
def dsn() -> str:
    if PG_DSN is None:
        pytest.skip("INTACCT_SYNC_TEST_POSTGRES_DSN is not set")
    return PG_DSN


@pytest.fixture
def schema(dsn: str) -> Iterator[str]:
    """A schema of its own, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_an_empty_schema_is_migrated_to_the_current_version_once(dsn: str, schema: str) -> None:
    with PostgresStateStore(dsn, tenant="ACME", schema=schema) as state:
        assert state.schema_version == PG_MIGRATIONS[-1].version == 1
        state.ledger_put(
            LedgerEntry(workflow="kpi", source_id="k1", control_id="c1", status="posted")
        )
    for _ in range(2):
        with PostgresStateStore(dsn, tenant="ACME", schema=schema) as state:
            assert state.schema_version == 1
            assert [e.source_id for e in state.ledger("kpi")] == ["k1"]
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(f'SELECT version FROM "{schema}".schema_version').fetchall()
    assert rows == [(1,)]


def test_eight_workers_opening_a_new_schema_at_once_migrate_it_once(dsn: str, schema: str) -> None:
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            barrier.wait(timeout=30)
            PostgresStateStore(dsn, tenant="ACME", schema=schema).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with psycopg.connect(dsn) as conn:
        count = conn.execute(f'SELECT count(*) FROM "{schema}".schema_version').fetchone()
    assert count == (1,)


def test_a_schema_from_a_newer_version_is_refused(dsn: str, schema: str) -> None:
    PostgresStateStore(dsn, schema=schema).close()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO \"{schema}\".schema_version (version, description) VALUES (7, 'x')"
        )
    with pytest.raises(StateError, match="schema version 7, newer"):
        PostgresStateStore(dsn, schema=schema)


def test_the_password_never_shows_in_reprs_or_errors(dsn: str) -> None:
    secret = "pg-secret-" + uuid.uuid4().hex[:8]
    parts = psycopg.conninfo.conninfo_to_dict(dsn)
    with_password = psycopg.conninfo.make_conninfo(dsn, password=secret)
    with PostgresStateStore(with_password, tenant="ACME") as state:  # trust auth ignores it
        assert secret not in repr(state) and secret not in state.dsn
        assert "tenant='ACME'" in repr(state)
    unreachable = psycopg.conninfo.make_conninfo(
        dsn, port=str(int(str(parts.get("port", 5432))) + 1), password=secret
    )
    with pytest.raises(StateError, match="cannot open the state store") as caught:
        PostgresStateStore(unreachable, connect_timeout=2)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    with pytest.raises(ConfigError, match="not a PostgreSQL connection string"):
        PostgresStateStore("host=127.0.0.1 nonsense")


def test_unique_ids_are_kept_per_tenant_and_refused_within_one(dsn: str, schema: str) -> None:
    from intacct_sync.state import IdMapping

    one = PostgresStateStore(dsn, tenant="ONE", schema=schema)
    two = PostgresStateStore(dsn, tenant="TWO", schema=schema)
    try:
        one.id_map_put(IdMapping(object="ITEM", salesforce_id="01tA", intacct_id="I1"))
        two.id_map_put(IdMapping(object="ITEM", salesforce_id="01tB", intacct_id="I1"))
        with pytest.raises(StateError, match="id_map_intacct"):
            one.id_map_put(IdMapping(object="ITEM", salesforce_id="01tC", intacct_id="I1"))
        # The store is still usable after a refused write.
        assert [m.salesforce_id for m in one.id_map("ITEM")] == ["01tA"]
    finally:
        one.close()
        two.close()


# -- a killed run's lease, both stores ---------------------------------------------------------

_HOLDER = """
import datetime as dt, sys, time
from intacct_sync.state import PostgresStateStore, SQLiteStateStore, run_lease
kind, where = sys.argv[1:3]
state = SQLiteStateStore(where, tenant="kill") if kind == "sqlite" else PostgresStateStore(
    where, tenant="kill-" + sys.argv[3])
with run_lease(state, "ACME/-/actions", ttl=dt.timedelta(minutes=10)):
    print("holding", flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=needs_pg)])
def test_a_killed_runs_lease_names_it_and_is_taken_over_once_it_is_gone(
    kind: str, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    where = str(tmp_path / "state.sqlite3") if kind == "sqlite" else str(PG_DSN)

    def store() -> StateStore:
        if kind == "sqlite":
            return SQLiteStateStore(where, tenant="kill")
        return PostgresStateStore(where, tenant=f"kill-{run}")

    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, kind, where, run], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "holding"
        state = store()
        with pytest.raises(LeaseHeldError) as caught, run_lease(state, "ACME/-/actions"):
            pass
        held = caught.value
        assert held.pid == child.pid and held.host
        assert isinstance(held.expires_at, dt.datetime) and held.expires_at > held.started_at
        assert f"pid {child.pid}" in str(held) and "ACME/-/actions" in str(held)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        # Ten minutes of ttl left, yet the dead holder's lease is taken over at once.
        with run_lease(state, "ACME/-/actions") as taken:
            assert taken.lease.pid == os.getpid()
        close = getattr(state, "close", None)
        if callable(close):
            close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()

"""Shared fixtures: the conformance corpus and the embedded sandbox.

``sb`` is a fresh sandbox per test (tests that write); ``shared_sb`` one per module (tests that
only read, or that write records nothing else in the module reads).

Under pytest-xdist (``make test`` runs ``-n 2 --dist loadfile``) each worker gets a PostgreSQL
database of its own on the server ``INTACCT_SYNC_TEST_POSTGRES_DSN`` names, so schemas, tenants,
leases and advisory locks (which PostgreSQL scopes to one database) never meet across workers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from intacct_sync import sandbox

#: ../shared/conformance beside the repository: real request and response samples.
CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"

PG_ENV = "INTACCT_SYNC_TEST_POSTGRES_DSN"

#: The server's own DSN and the database this worker made there, dropped when the worker ends.
_worker_db: tuple[str, str] | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Point this xdist worker's PostgreSQL tests at a database of its own.

    It runs before collection, so the test modules' ``PG_DSN = os.environ.get(...)`` and the
    subprocesses they start all see the worker's database.
    """
    global _worker_db
    worker, dsn = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get(PG_ENV)
    if not worker or not dsn:
        return
    import psycopg
    from psycopg import sql

    # The run id keeps two runs against one long-lived server apart too.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8]
    name = f"intacct_test_{run}_{worker}".lower()
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        why = f"{type(exc).__name__} {exc.sqlstate or ''}".strip()
        raise pytest.UsageError(
            f"xdist worker {worker}: cannot create its PostgreSQL database {name!r} ({why}); "
            "the role needs CREATEDB, or run without -n"
        ) from None
    _worker_db = (dsn, name)
    os.environ[PG_ENV] = psycopg.conninfo.make_conninfo(dsn, dbname=name)


#: The files that take longest, handed to the xdist workers first: ``--dist loadfile`` hands out
#: files in collection order, and one of these started last keeps a worker busy long after the
#: other has finished. A name no longer here only loses its place.
_LONGEST_FIRST = (
    "test_reliability_faults.py",
    "test_reliability_secrets.py",
    "test_actions_sync.py",
    "test_notebooks.py",
    "test_governor.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist, move the longest files to the front (a stable sort: each file keeps its order)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {name: place for place, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop the worker's database (a throwaway server goes anyway; a long-lived one keeps none)."""
    if _worker_db is None:
        return
    import psycopg
    from psycopg import sql

    dsn, name = _worker_db
    os.environ[PG_ENV] = dsn
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            # FORCE: a killed test child's session may still be open on it.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except psycopg.Error as exc:
        print(f"conftest: could not drop {name!r}: {type(exc).__name__}", file=sys.stderr)


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The conformance corpus (``../shared/conformance``)."""
    return CONFORMANCE


@pytest.fixture
def sb() -> Iterator[sandbox.Sandbox]:
    """Both emulators, freshly seeded, for one test."""
    with sandbox.running() as running:
        yield running


@pytest.fixture(scope="module")
def shared_sb() -> Iterator[sandbox.Sandbox]:
    """Both emulators, seeded once for the whole module."""
    with sandbox.running() as running:
        yield running

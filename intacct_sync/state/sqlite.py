"""The default state store: one SQLite file (``:memory:`` for throwaway runs).

Writes commit immediately: the ledger row of a posting is written *before* the posting is sent
(status ``pending``, with its control id) and updated after, so a crash at any point leaves a
record a rerun can finish from.

The schema is versioned (:data:`MIGRATIONS`, :mod:`intacct_sync.state.migrations`): version 1 is
the schema of intacct_sync before migrations existed (no ``schema_version`` table; detected by
its tables), version 2 adds the tenant to every row and the run lease. Rows of a version-1 file
belong to the tenant ``default``.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from intacct_sync.errors import LeaseLostError, StateError
from intacct_sync.state.migrations import Migration, pending
from intacct_sync.state.store import IdMapping, Lease, LedgerEntry, LedgerStatus
from intacct_sync.state.store import utc as _utc

__all__ = ["DEFAULT_STATE_FILE", "DEFAULT_TENANT", "MIGRATIONS", "SQLiteStateStore"]

DEFAULT_STATE_FILE = Path("~/.intacct_sync/state.sqlite3")

#: The tenant of a store opened without one (and of every row of a version-1 file).
DEFAULT_TENANT: Final = "default"


def _rebuild(table: str, columns: str, select: str) -> tuple[str, ...]:
    # SQLite cannot change a primary key in place: copy into a new table, drop the old one.
    return (
        f"CREATE TABLE {table}_v2 ({columns})",
        f"INSERT INTO {table}_v2 SELECT 'default', {select} FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_v2 RENAME TO {table}",
    )


#: Every version of the SQLite schema, oldest first (append-only).
MIGRATIONS: Final = (
    Migration(
        version=1,
        description="watermarks, values, ledger, id map",
        statements=(
            "CREATE TABLE IF NOT EXISTS watermark (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS kv (namespace TEXT, key TEXT, value TEXT, "
            "PRIMARY KEY (namespace, key))",
            "CREATE TABLE IF NOT EXISTS ledger (workflow TEXT, source_id TEXT, control_id TEXT "
            "NOT NULL, status TEXT NOT NULL, record_no TEXT, updated_at TEXT NOT NULL, "
            "detail TEXT NOT NULL, PRIMARY KEY (workflow, source_id))",
            "CREATE INDEX IF NOT EXISTS ledger_control ON ledger (control_id)",
            "CREATE TABLE IF NOT EXISTS id_map (object TEXT, salesforce_id TEXT, intacct_id TEXT "
            "NOT NULL, intacct_record_no TEXT, updated_at TEXT NOT NULL, "
            "PRIMARY KEY (object, salesforce_id))",
            "CREATE UNIQUE INDEX IF NOT EXISTS id_map_intacct ON id_map (object, intacct_id)",
        ),
    ),
    Migration(
        version=2,
        description="tenant on every row; run lease",
        statements=(
            *_rebuild(
                "watermark",
                "tenant TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, "
                "PRIMARY KEY (tenant, name)",
                "name, value",
            ),
            *_rebuild(
                "kv",
                "tenant TEXT NOT NULL, namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT, "
                "PRIMARY KEY (tenant, namespace, key)",
                "namespace, key, value",
            ),
            *_rebuild(
                "ledger",
                "tenant TEXT NOT NULL, workflow TEXT NOT NULL, source_id TEXT NOT NULL, "
                "control_id TEXT NOT NULL, status TEXT NOT NULL, record_no TEXT, "
                "updated_at TEXT NOT NULL, detail TEXT NOT NULL, "
                "PRIMARY KEY (tenant, workflow, source_id)",
                "workflow, source_id, control_id, status, record_no, updated_at, detail",
            ),
            "CREATE INDEX ledger_control ON ledger (tenant, control_id)",
            "CREATE INDEX ledger_status ON ledger (tenant, workflow, status)",
            *_rebuild(
                "id_map",
                "tenant TEXT NOT NULL, object TEXT NOT NULL, salesforce_id TEXT NOT NULL, "
                "intacct_id TEXT NOT NULL, intacct_record_no TEXT, updated_at TEXT NOT NULL, "
                "PRIMARY KEY (tenant, object, salesforce_id)",
                "object, salesforce_id, intacct_id, intacct_record_no, updated_at",
            ),
            "CREATE UNIQUE INDEX id_map_intacct ON id_map (tenant, object, intacct_id)",
            # Times as integer microseconds since the epoch (UTC), compared in SQL.
            "CREATE TABLE lease (tenant TEXT NOT NULL, name TEXT NOT NULL, holder TEXT NOT NULL, "
            "token TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, "
            "started_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, "
            "PRIMARY KEY (tenant, name))",
        ),
    ),
)

SCHEMA_VERSION_DDL: Final = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
    "description TEXT NOT NULL, applied_at TEXT NOT NULL)"
)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _micros(value: dt.datetime) -> int:
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def _from_micros(value: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=value)


#: seconds a connection waits for another's lock on the file
_OPEN_TIMEOUT = 30.0


def _write_ahead_log(conn: sqlite3.Connection, timeout: float) -> None:
    # Switching an old file (rollback journal) to WAL needs its exclusive lock. SQLite answers
    # BUSY at once, without its busy handler, when this connection's read lock would have to
    # wait on a writer (to avoid a deadlock): a second process opening the same old file while
    # the first migrates it. Waiting and asking again is what the busy handler would have done.
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


class SQLiteStateStore:
    """The default state store: one SQLite file (``:memory:`` for throwaway runs).

    Args:
        path: the file (created with its folder); ``:memory:`` for a throwaway store.
        tenant: whose rows this store reads and writes (one file can hold many tenants).

    >>> state = SQLiteStateStore(":memory:")
    >>> state.get_watermark("actions") is None
    True
    """

    def __init__(
        self, path: str | Path = DEFAULT_STATE_FILE, *, tenant: str = DEFAULT_TENANT
    ) -> None:
        target = str(path)
        if target != ":memory:":
            file = Path(target).expanduser()
            file.parent.mkdir(parents=True, exist_ok=True)
            target = str(file)
        if not tenant:
            raise StateError("a state store's tenant must not be empty")
        self.path = target
        self.tenant = tenant
        self._lock = threading.RLock()
        self._slots: _FileSlots | None = None
        try:
            self._conn = sqlite3.connect(
                target, check_same_thread=False, isolation_level=None, timeout=_OPEN_TIMEOUT
            )
            if target != ":memory:":
                _write_ahead_log(self._conn, _OPEN_TIMEOUT)
            self._conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state store {target}: {exc}") from exc
        try:
            self._migrate()
        except sqlite3.Error as exc:
            self._conn.close()
            raise StateError(f"cannot migrate the state store {target}: {exc}") from exc
        except BaseException:
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStateStore({self.path!r}, tenant={self.tenant!r})"

    # -- schema -------------------------------------------------------------------------------

    def _version(self) -> int:
        tables = {
            r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if "schema_version" in tables:
            row = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
            return int(row[0] or 0)
        # A file from before migrations existed has version 1's tables and no version table.
        return 1 if "ledger" in tables else 0

    @property
    def schema_version(self) -> int:
        """The schema version of the open file."""
        with self._lock:
            return self._version()

    def _migrate(self) -> None:
        with self._lock:
            # BEGIN IMMEDIATE takes the file's write lock: a second process opening the same
            # old file waits here and then finds nothing left to do.
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                current = self._version()
                todo = pending(MIGRATIONS, current, self.path)
                if todo or current == 0:
                    self._conn.execute(SCHEMA_VERSION_DDL)
                if current == 1 and todo:
                    self._record(MIGRATIONS[0])  # the pre-migration file, now on record
                for migration in todo:
                    for statement in migration.statements:
                        self._conn.execute(statement)
                    self._record(migration)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _record(self, migration: Migration) -> None:
        self._conn.execute(
            "INSERT INTO schema_version VALUES (?, ?, ?)",
            (migration.version, migration.description, dt.datetime.now(dt.UTC).isoformat()),
        )

    # -- plumbing -----------------------------------------------------------------------------

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StateError(f"state store {self.path}: {exc}") from exc

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> SQLiteStateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- watermarks and values ----------------------------------------------------------------

    def get_watermark(self, name: str) -> dt.datetime | None:
        """The watermark ``name`` (UTC), or None when never set.

        Args:
            name: the watermark.

        Returns:
            The watermark (timezone-aware, UTC), or None when it was never set.
        """
        rows = self._rows(
            "SELECT value FROM watermark WHERE tenant = ? AND name = ?", (self.tenant, name)
        )
        return dt.datetime.fromisoformat(rows[0][0]) if rows else None

    def set_watermark(self, name: str, value: dt.datetime) -> None:
        """Move watermark ``name`` to ``value`` (timezone-aware).

        Args:
            name: the watermark.
            value: a timezone-aware datetime (stored in UTC).
        """
        self._rows(
            "INSERT INTO watermark (tenant, name, value) VALUES (?, ?, ?) "
            "ON CONFLICT(tenant, name) DO UPDATE SET value = excluded.value",
            (self.tenant, name, _utc(value).isoformat()),
        )

    def get_value(self, namespace: str, key: str) -> Any:
        """A JSON value stored under ``namespace``/``key`` (None when absent).

        Args:
            namespace: the values' namespace.
            key: the key.

        Returns:
            The stored JSON value, or None when the key is absent.
        """
        rows = self._rows(
            "SELECT value FROM kv WHERE tenant = ? AND namespace = ? AND key = ?",
            (self.tenant, namespace, key),
        )
        return json.loads(rows[0][0]) if rows else None

    def set_value(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON value (Decimals as strings).

        Args:
            namespace: the values' namespace.
            key: the key.
            value: any JSON-able value.
        """
        self._rows(
            "INSERT INTO kv (tenant, namespace, key, value) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(tenant, namespace, key) DO UPDATE SET value = excluded.value",
            (self.tenant, namespace, key, json.dumps(value, default=str)),
        )

    def values(self, namespace: str) -> dict[str, Any]:
        """Every key and value of ``namespace``.

        Args:
            namespace: the values' namespace.

        Returns:
            A dict of every key and its JSON value.
        """
        rows = self._rows(
            "SELECT key, value FROM kv WHERE tenant = ? AND namespace = ? ORDER BY key",
            (self.tenant, namespace),
        )
        return {key: json.loads(value) for key, value in rows}

    # -- ledger -------------------------------------------------------------------------------

    _LEDGER = "SELECT workflow, source_id, control_id, status, record_no, updated_at, detail "

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> LedgerEntry:
        return LedgerEntry(
            workflow=row[0],
            source_id=row[1],
            control_id=row[2],
            status=row[3],
            record_no=row[4],
            updated_at=dt.datetime.fromisoformat(row[5]),
            detail=json.loads(row[6]),
        )

    def ledger_get(self, workflow: str, source_id: str) -> LedgerEntry | None:
        """The ledger row of a source record.

        Args:
            workflow: the workflow.
            source_id: the source record's id.

        Returns:
            The :class:`LedgerEntry`, or None when the source record was never entered.
        """
        rows = self._rows(
            self._LEDGER + "FROM ledger WHERE tenant = ? AND workflow = ? AND source_id = ?",
            (self.tenant, workflow, source_id),
        )
        return self._entry(rows[0]) if rows else None

    def ledger_put(self, entry: LedgerEntry) -> None:
        """Insert or replace a ledger row.

        Args:
            entry: the row to write (replacing the source record's earlier one).
        """
        self._rows(
            "INSERT OR REPLACE INTO ledger (tenant, workflow, source_id, control_id, status, "
            "record_no, updated_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.tenant,
                entry.workflow,
                entry.source_id,
                entry.control_id,
                entry.status,
                entry.record_no,
                _utc(entry.updated_at).isoformat(),
                json.dumps(dict(entry.detail), default=str),
            ),
        )

    def ledger(self, workflow: str) -> list[LedgerEntry]:
        """Every ledger row of a workflow, by source id.

        Args:
            workflow: the workflow.

        Returns:
            Every :class:`LedgerEntry` of the workflow.
        """
        rows = self._rows(
            self._LEDGER + "FROM ledger WHERE tenant = ? AND workflow = ? ORDER BY source_id",
            (self.tenant, workflow),
        )
        return [self._entry(r) for r in rows]

    def iter_ledger(self, workflow: str, status: LedgerStatus) -> Iterator[LedgerEntry]:
        """Ledger rows of a workflow in one status (e.g. ``pending`` after a crash).

        Args:
            workflow: the workflow.
            status: the ledger status.

        Yields:
            Each :class:`LedgerEntry` in that status.
        """
        rows = self._rows(
            self._LEDGER + "FROM ledger WHERE tenant = ? AND workflow = ? AND status = ? "
            "ORDER BY source_id",
            (self.tenant, workflow, status),
        )
        return (self._entry(r) for r in rows)

    # -- id map -------------------------------------------------------------------------------

    def id_map_put(self, mapping: IdMapping) -> None:
        """Insert or replace an id mapping.

        Args:
            mapping: the pair to record (replacing the Salesforce id's earlier one).

        Raises:
            StateError: the Intacct id is already mapped to another Salesforce id.
        """
        self._rows(
            "INSERT INTO id_map (tenant, object, salesforce_id, intacct_id, intacct_record_no, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(tenant, object, salesforce_id) DO "
            "UPDATE SET intacct_id = excluded.intacct_id, "
            "intacct_record_no = excluded.intacct_record_no, updated_at = excluded.updated_at",
            (
                self.tenant,
                mapping.object,
                mapping.salesforce_id,
                mapping.intacct_id,
                mapping.intacct_record_no,
                _utc(mapping.updated_at).isoformat(),
            ),
        )

    def id_map(self, obj: str) -> list[IdMapping]:
        """Every mapping of an object.

        Args:
            obj: the mapped object (``Account``).

        Returns:
            Every :class:`IdMapping` of the object.
        """
        rows = self._rows(
            "SELECT object, salesforce_id, intacct_id, intacct_record_no, updated_at FROM id_map "
            "WHERE tenant = ? AND object = ? ORDER BY salesforce_id",
            (self.tenant, obj),
        )
        return [
            IdMapping(
                object=r[0],
                salesforce_id=r[1],
                intacct_id=r[2],
                intacct_record_no=r[3],
                updated_at=dt.datetime.fromisoformat(r[4]),
            )
            for r in rows
        ]

    # -- run lease ----------------------------------------------------------------------------

    _LEASE = "SELECT name, holder, token, host, pid, started_at, expires_at FROM lease "

    @staticmethod
    def _lease(row: tuple[Any, ...]) -> Lease:
        return Lease(
            name=row[0],
            holder=row[1],
            token=row[2],
            host=row[3],
            pid=row[4],
            started_at=_from_micros(row[5]),
            expires_at=_from_micros(row[6]),
        )

    def acquire_lease(self, name: str, holder: str, ttl: dt.timedelta) -> Lease | None:
        """Take lease ``name`` for ``ttl`` if it is free, expired or already ``holder``'s.

        Args:
            name: the lease (:func:`lease_name`).
            holder: who takes it (:func:`default_holder`).
            ttl: how long it lasts unless renewed.

        Returns:
            The :class:`Lease` taken, or None when another holder has it.
        """
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            try:
                # The file's write lock makes the look and the take one step across processes.
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    row = self._conn.execute(
                        self._LEASE + "WHERE tenant = ? AND name = ?", (self.tenant, name)
                    ).fetchone()
                    current = self._lease(row) if row else None
                    if current is not None and current.holder == holder:
                        lease = Lease(
                            name=name,
                            holder=holder,
                            token=current.token,
                            host=current.host,
                            pid=current.pid,
                            started_at=current.started_at,
                            expires_at=now + ttl,
                        )
                    elif current is None or current.expires_at <= now:
                        lease = Lease(
                            name=name,
                            holder=holder,
                            token=uuid.uuid4().hex,
                            host=socket.gethostname(),
                            pid=os.getpid(),
                            started_at=now,
                            expires_at=now + ttl,
                        )
                    else:
                        self._conn.execute("COMMIT")
                        return None
                    self._conn.execute(
                        "INSERT OR REPLACE INTO lease VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            self.tenant,
                            name,
                            lease.holder,
                            lease.token,
                            lease.host,
                            lease.pid,
                            _micros(lease.started_at),
                            _micros(lease.expires_at),
                        ),
                    )
                    self._conn.execute("COMMIT")
                    return lease
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StateError(f"state store {self.path}: {exc}") from exc

    def renew_lease(self, lease: Lease, ttl: dt.timedelta) -> Lease:
        """Extend ``lease`` to ``ttl`` from now.

        Args:
            lease: the lease taken.
            ttl: the new time to live, from now.

        Returns:
            The renewed :class:`Lease` (its new expiry).

        Raises:
            LeaseLostError: another holder took the lease over after it expired.
        """
        expires = dt.datetime.now(dt.UTC) + ttl
        with self._lock:
            changed = self._rows(
                "UPDATE lease SET expires_at = ? WHERE tenant = ? AND name = ? AND token = ? "
                "RETURNING token",
                (_micros(expires), self.tenant, lease.name, lease.token),
            )
        if not changed:
            raise LeaseLostError(
                f"the run lease {lease.name} of {lease.holder} expired and was taken over by "
                f"another run (or released); this run must stop writing"
            )
        return Lease(
            name=lease.name,
            holder=lease.holder,
            token=lease.token,
            host=lease.host,
            pid=lease.pid,
            started_at=lease.started_at,
            expires_at=expires,
        )

    def release_lease(self, lease: Lease) -> None:
        """Give ``lease`` up (nothing happens when it was already taken over).

        Args:
            lease: the lease taken (its token decides).
        """
        self._rows(
            "DELETE FROM lease WHERE tenant = ? AND name = ? AND token = ?",
            (self.tenant, lease.name, lease.token),
        )

    def lease_holder(self, name: str) -> Lease | None:
        """The unexpired lease ``name``, or None when nobody holds it.

        Args:
            name: the lease.

        Returns:
            The :class:`Lease`, or None when nobody holds it.
        """
        rows = self._rows(
            self._LEASE + "WHERE tenant = ? AND name = ? AND expires_at > ?",
            (self.tenant, name, _micros(dt.datetime.now(dt.UTC))),
        )
        return self._lease(rows[0]) if rows else None

    # -- governor slots -----------------------------------------------------------------------

    def governor_slots(self) -> _FileSlots | None:
        """Cross-process request slots beside the file (None for ``:memory:``).

        Returns:
            The slots, to pass to :func:`shared_governor`. None for an in-memory store.
        """
        if self.path == ":memory:":
            return None
        if self._slots is None:
            self._slots = _FileSlots(Path(self.path + ".governor"))
        return self._slots


class _FileSlots:
    """Request-governor slots as ``flock`` locks on files in a folder beside the state file.

    A lock dies with the process that held it (the kernel drops it with the descriptor), so a
    crashed worker never keeps a slot.
    """

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.name = f"file:{folder}"

    def _path(self, key: str, slot: int) -> Path:
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:60]
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return self.folder / f"{readable}-{digest}.{slot}.lock"

    def try_acquire(self, key: str, slot: int) -> Callable[[], None] | None:
        """Take slot ``slot`` of ``key`` unless another descriptor holds its lock."""
        fd = os.open(self._path(key, slot), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise

        def release() -> None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

        return release

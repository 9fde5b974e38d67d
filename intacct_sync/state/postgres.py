"""A state store in PostgreSQL (psycopg 3): for workers that come and go, and for fleets.

``pip install intacct-sync[postgres]``. One database (one schema, ``intacct_sync`` by default)
can hold the state of many tenants: every row carries the store's tenant and every query
filters on it. The run lease is a row taken with one ``INSERT ... ON CONFLICT DO UPDATE ...
WHERE`` (atomic under concurrency) and dated by the server's clock, so hosts with skewed
clocks agree on expiry. The request governor's cross-process slots are session advisory locks
(``pg_try_advisory_lock(key, slot)``) on a connection of their own; PostgreSQL drops them when
the holding process dies.

The schema is versioned (:data:`PG_MIGRATIONS`); opening a store applies what is missing under
a transaction-scoped advisory lock, so concurrent openers migrate once.

>>> state = PostgresStateStore("postgresql://localhost/intacct", tenant="ACME")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, LiteralString

from intacct_sync._http.redact import register_secret
from intacct_sync.errors import ConfigError, LeaseLostError, StateError
from intacct_sync.state.migrations import Migration, pending
from intacct_sync.state.store import IdMapping, Lease, LedgerEntry, LedgerStatus
from intacct_sync.state.store import utc as _utc

if TYPE_CHECKING:
    import psycopg

__all__ = ["PG_MIGRATIONS", "PostgresStateStore"]

#: Every version of the PostgreSQL schema, oldest first (append-only).
PG_MIGRATIONS: Final = (
    Migration(
        version=1,
        description="watermarks, values, ledger, id map, run lease; tenant on every row",
        statements=(
            "CREATE TABLE watermark (tenant text NOT NULL, name text NOT NULL, "
            "value timestamptz NOT NULL, PRIMARY KEY (tenant, name))",
            "CREATE TABLE kv (tenant text NOT NULL, namespace text NOT NULL, key text NOT NULL, "
            "value text, PRIMARY KEY (tenant, namespace, key))",
            "CREATE TABLE ledger (tenant text NOT NULL, workflow text NOT NULL, "
            "source_id text NOT NULL, control_id text NOT NULL, status text NOT NULL, "
            "record_no text, updated_at timestamptz NOT NULL, detail text NOT NULL, "
            "PRIMARY KEY (tenant, workflow, source_id))",
            "CREATE INDEX ledger_control ON ledger (tenant, control_id)",
            "CREATE INDEX ledger_status ON ledger (tenant, workflow, status)",
            "CREATE TABLE id_map (tenant text NOT NULL, object text NOT NULL, "
            "salesforce_id text NOT NULL, intacct_id text NOT NULL, intacct_record_no text, "
            "updated_at timestamptz NOT NULL, PRIMARY KEY (tenant, object, salesforce_id))",
            "CREATE UNIQUE INDEX id_map_intacct ON id_map (tenant, object, intacct_id)",
            "CREATE TABLE lease (tenant text NOT NULL, name text NOT NULL, holder text NOT NULL, "
            "token text NOT NULL, host text NOT NULL, pid integer NOT NULL, "
            "started_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, "
            "PRIMARY KEY (tenant, name))",
        ),
    ),
)

# One constant advisory key serialises migrations of every schema in the database.
_MIGRATION_LOCK: Final = 0x1A7AC57


def _lock_key(text: str) -> int:
    """A signed 32-bit advisory-lock key for ``text`` (a collision only couples two limits)."""
    value = zlib.crc32(f"intacct_sync:{text}".encode())
    return value - (1 << 32) if value >= 1 << 31 else value


def _shown_dsn(dsn: str) -> tuple[str, str | None]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception as exc:
        raise ConfigError(f"not a PostgreSQL connection string: {type(exc).__name__}") from None
    password = parts.pop("password", None)
    shown = " ".join(f"{k}={v}" for k, v in sorted(parts.items()) if v is not None)
    return shown, (str(password) if password is not None else None)


class PostgresStateStore:
    """The state store in PostgreSQL.

    Args:
        dsn: a libpq connection string or URL (``postgresql://user@host/db``); a password in it
            is kept out of reprs, logs and errors.
        tenant: whose rows this store reads and writes (e.g. the Intacct company id).
        schema: the schema holding the tables (created when missing).
        connect_timeout: seconds to wait for the server.

    Raises:
        StateError: the server cannot be reached or the schema cannot be migrated.
        ConfigError: ``dsn`` is malformed, or psycopg is not installed.
    """

    def __init__(
        self,
        dsn: str,
        *,
        tenant: str = "default",
        schema: str = "intacct_sync",
        connect_timeout: float = 10.0,
    ) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - the extra is installed in tests
            raise ConfigError(
                "PostgresStateStore needs psycopg: pip install 'intacct-sync[postgres]'"
            ) from exc
        if not tenant:
            raise StateError("a state store's tenant must not be empty")
        shown, password = _shown_dsn(dsn)
        if password:
            register_secret(password)
        self._dsn = dsn
        self.dsn = shown
        self.tenant = tenant
        self.schema = schema
        self._connect_timeout = connect_timeout
        self._lock = threading.RLock()
        self._slots: _AdvisorySlots | None = None
        try:
            self._conn = self._connect()
        except psycopg.Error as exc:
            raise StateError(f"cannot open the state store {shown}: {exc}") from None
        try:
            self._migrate()
        except psycopg.Error as exc:
            self._conn.close()
            raise StateError(f"cannot migrate the state store {shown}: {exc}") from None
        except BaseException:
            self._conn.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresStateStore({self.dsn!r}, tenant={self.tenant!r}, schema={self.schema!r})"

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg
        from psycopg import sql

        conn = psycopg.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=max(1, int(self._connect_timeout)),
            application_name="intacct_sync",
        )
        try:
            # The schema itself is created under the migration lock (_migrate): `CREATE SCHEMA IF
            # NOT EXISTS` is not safe against a concurrent one (a unique violation on
            # pg_namespace), and a search_path naming a schema not created yet is allowed.
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            conn.execute("SET TIME ZONE 'UTC'")
        except BaseException:
            conn.close()
            raise
        return conn

    # -- schema -------------------------------------------------------------------------------

    def _version(self) -> int:
        row = self._conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not row or not row[0]:
            return 0
        found = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(found[0] or 0) if found else 0

    @property
    def schema_version(self) -> int:
        """The schema version of the store's schema."""
        with self._lock:
            return self._version()

    def _migrate(self) -> None:
        from psycopg import sql

        with self._lock, self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema))
            )
            todo = pending(PG_MIGRATIONS, self._version(), self.dsn)
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, "
                "description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for migration in todo:
                for statement in migration.statements:
                    self._conn.execute(statement.encode())
                self._conn.execute(
                    "INSERT INTO schema_version (version, description) VALUES (%s, %s)",
                    (migration.version, migration.description),
                )

    # -- plumbing -----------------------------------------------------------------------------

    def _rows(self, query: LiteralString, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with self._lock:
            try:
                cursor = self._conn.execute(query, params)
                return cursor.fetchall() if cursor.description is not None else []
            except psycopg.errors.UniqueViolation as exc:
                raise StateError(f"state store {self.dsn} ({self.tenant}): {exc}") from None
            except psycopg.Error as exc:
                raise StateError(f"state store {self.dsn} ({self.tenant}): {exc}") from None

    def close(self) -> None:
        """Close the connections (releasing any governor slots still held)."""
        with self._lock:
            self._conn.close()
            if self._slots is not None:
                self._slots.close()

    def __enter__(self) -> PostgresStateStore:
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
            "SELECT value FROM watermark WHERE tenant = %s AND name = %s", (self.tenant, name)
        )
        return _utc(rows[0][0]) if rows else None

    def set_watermark(self, name: str, value: dt.datetime) -> None:
        """Move watermark ``name`` to ``value`` (timezone-aware).

        Args:
            name: the watermark.
            value: a timezone-aware datetime (stored in UTC).
        """
        self._rows(
            "INSERT INTO watermark (tenant, name, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value",
            (self.tenant, name, _utc(value)),
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
            "SELECT value FROM kv WHERE tenant = %s AND namespace = %s AND key = %s",
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
            "INSERT INTO kv (tenant, namespace, key, value) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (tenant, namespace, key) DO UPDATE SET value = excluded.value",
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
            "SELECT key, value FROM kv WHERE tenant = %s AND namespace = %s ORDER BY key",
            (self.tenant, namespace),
        )
        return {key: json.loads(value) for key, value in rows}

    # -- ledger -------------------------------------------------------------------------------

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> LedgerEntry:
        return LedgerEntry(
            workflow=row[0],
            source_id=row[1],
            control_id=row[2],
            status=row[3],
            record_no=row[4],
            updated_at=_utc(row[5]),
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
            "SELECT workflow, source_id, control_id, status, record_no, updated_at, detail "
            "FROM ledger WHERE tenant = %s AND workflow = %s AND source_id = %s",
            (self.tenant, workflow, source_id),
        )
        return self._entry(rows[0]) if rows else None

    def ledger_put(self, entry: LedgerEntry) -> None:
        """Insert or replace a ledger row.

        Args:
            entry: the row to write (replacing the source record's earlier one).
        """
        self._rows(
            "INSERT INTO ledger (tenant, workflow, source_id, control_id, status, record_no, "
            "updated_at, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tenant, workflow, source_id) DO UPDATE SET "
            "control_id = excluded.control_id, status = excluded.status, "
            "record_no = excluded.record_no, updated_at = excluded.updated_at, "
            "detail = excluded.detail",
            (
                self.tenant,
                entry.workflow,
                entry.source_id,
                entry.control_id,
                entry.status,
                entry.record_no,
                _utc(entry.updated_at),
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
            "SELECT workflow, source_id, control_id, status, record_no, updated_at, detail "
            'FROM ledger WHERE tenant = %s AND workflow = %s ORDER BY source_id COLLATE "C"',
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
            "SELECT workflow, source_id, control_id, status, record_no, updated_at, detail "
            "FROM ledger WHERE tenant = %s AND workflow = %s AND status = %s "
            'ORDER BY source_id COLLATE "C"',
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
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tenant, object, salesforce_id) DO UPDATE SET "
            "intacct_id = excluded.intacct_id, intacct_record_no = excluded.intacct_record_no, "
            "updated_at = excluded.updated_at",
            (
                self.tenant,
                mapping.object,
                mapping.salesforce_id,
                mapping.intacct_id,
                mapping.intacct_record_no,
                _utc(mapping.updated_at),
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
            'WHERE tenant = %s AND object = %s ORDER BY salesforce_id COLLATE "C"',
            (self.tenant, obj),
        )
        return [
            IdMapping(
                object=r[0],
                salesforce_id=r[1],
                intacct_id=r[2],
                intacct_record_no=r[3],
                updated_at=_utc(r[4]),
            )
            for r in rows
        ]

    # -- run lease ----------------------------------------------------------------------------

    @staticmethod
    def _lease(row: tuple[Any, ...]) -> Lease:
        return Lease(
            name=row[0],
            holder=row[1],
            token=row[2],
            host=row[3],
            pid=row[4],
            started_at=_utc(row[5]),
            expires_at=_utc(row[6]),
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
        # One statement: the conflicting row is locked and the WHERE re-checked on its latest
        # version, so two runs can never both take the lease. Times are the server's.
        rows = self._rows(
            "INSERT INTO lease AS l (tenant, name, holder, token, host, pid, started_at, "
            "expires_at) VALUES (%s, %s, %s, %s, %s, %s, clock_timestamp(), "
            "clock_timestamp() + %s) "
            "ON CONFLICT (tenant, name) DO UPDATE SET "
            "token = CASE WHEN l.holder = excluded.holder THEN l.token ELSE excluded.token END, "
            "host = CASE WHEN l.holder = excluded.holder THEN l.host ELSE excluded.host END, "
            "pid = CASE WHEN l.holder = excluded.holder THEN l.pid ELSE excluded.pid END, "
            "started_at = CASE WHEN l.holder = excluded.holder THEN l.started_at "
            "ELSE excluded.started_at END, "
            "holder = excluded.holder, expires_at = excluded.expires_at "
            "WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp() "
            "RETURNING name, holder, token, host, pid, started_at, expires_at",
            (self.tenant, name, holder, uuid.uuid4().hex, socket.gethostname(), os.getpid(), ttl),
        )
        return self._lease(rows[0]) if rows else None

    def renew_lease(self, lease: Lease, ttl: dt.timedelta) -> Lease:
        """Extend ``lease`` to ``ttl`` from now (the server's clock).

        Args:
            lease: the lease taken.
            ttl: the new time to live, from now.

        Returns:
            The renewed :class:`Lease` (its new expiry).

        Raises:
            LeaseLostError: another holder took the lease over after it expired.
        """
        rows = self._rows(
            "UPDATE lease SET expires_at = clock_timestamp() + %s "
            "WHERE tenant = %s AND name = %s AND token = %s "
            "RETURNING name, holder, token, host, pid, started_at, expires_at",
            (ttl, self.tenant, lease.name, lease.token),
        )
        if not rows:
            raise LeaseLostError(
                f"the run lease {lease.name} of {lease.holder} expired and was taken over by "
                f"another run (or released); this run must stop writing"
            )
        return self._lease(rows[0])

    def release_lease(self, lease: Lease) -> None:
        """Give ``lease`` up (nothing happens when it was already taken over).

        Args:
            lease: the lease taken (its token decides).
        """
        self._rows(
            "DELETE FROM lease WHERE tenant = %s AND name = %s AND token = %s",
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
            "SELECT name, holder, token, host, pid, started_at, expires_at FROM lease "
            "WHERE tenant = %s AND name = %s AND expires_at > clock_timestamp()",
            (self.tenant, name),
        )
        return self._lease(rows[0]) if rows else None

    # -- governor slots -----------------------------------------------------------------------

    def governor_slots(self) -> _AdvisorySlots:
        """Cross-process request slots as advisory locks of this database.

        Returns:
            The slots, to pass to :func:`shared_governor`.
        """
        with self._lock:
            if self._slots is None:
                self._slots = _AdvisorySlots(self)
            return self._slots


class _AdvisorySlots:
    """Request-governor slots as session advisory locks on a connection of their own."""

    def __init__(self, store: PostgresStateStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None
        # Advisory locks are re-entrant within a session: never hand one slot out twice here.
        self._held: set[tuple[int, int]] = set()
        self.name = f"postgres:{store.dsn}"

    def _connection(self) -> psycopg.Connection[tuple[Any, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = self._store._connect()
            self._held.clear()  # a new session holds nothing
        return self._conn

    def try_acquire(self, key: str, slot: int) -> Callable[[], None] | None:
        """Take slot ``slot`` of ``key`` unless another session holds its advisory lock."""
        import psycopg

        pair = (_lock_key(key), slot)
        with self._lock:
            if pair in self._held:
                return None
            try:
                row = (
                    self._connection()
                    .execute("SELECT pg_try_advisory_lock(%s, %s)", pair)
                    .fetchone()
                )
            except psycopg.Error as exc:
                raise StateError(f"governor slots in {self._store.dsn}: {exc}") from None
            if not row or not row[0]:
                return None
            self._held.add(pair)
            conn = self._conn

        def release() -> None:
            with self._lock:
                self._held.discard(pair)
                if conn is not None and not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s, %s)", pair)

        return release

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._held.clear()

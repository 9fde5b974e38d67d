"""The default state store: one SQLite file (``:memory:`` for throwaway runs).

Writes commit immediately: the ledger row of a posting is written *before* the posting is sent
(status ``pending``, with its control id) and updated after, so a crash at any point leaves a
record a rerun can finish from.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from intacct_sync.errors import StateError
from intacct_sync.state.store import IdMapping, LedgerEntry, LedgerStatus
from intacct_sync.state.store import utc as _utc

__all__ = ["DEFAULT_STATE_FILE", "SQLiteStateStore"]

DEFAULT_STATE_FILE = Path("~/.intacct_sync/state.sqlite3")


class SQLiteStateStore:
    """The default state store: one SQLite file (``:memory:`` for throwaway runs).

    >>> state = SQLiteStateStore(":memory:")
    >>> state.get_watermark("actions") is None
    True
    """

    def __init__(self, path: str | Path = DEFAULT_STATE_FILE) -> None:
        target = str(path)
        if target != ":memory:":
            file = Path(target).expanduser()
            file.parent.mkdir(parents=True, exist_ok=True)
            target = str(file)
        self.path = target
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            if target != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._create()
        except sqlite3.Error as exc:
            raise StateError(f"cannot open the state store {target}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SQLiteStateStore({self.path!r})"

    def _create(self) -> None:
        self._conn.executescript(
            """
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
        )

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
        """The watermark ``name`` (UTC), or None when never set."""
        rows = self._rows("SELECT value FROM watermark WHERE name = ?", (name,))
        return dt.datetime.fromisoformat(rows[0][0]) if rows else None

    def set_watermark(self, name: str, value: dt.datetime) -> None:
        """Move watermark ``name`` to ``value`` (timezone-aware)."""
        self._rows(
            "INSERT INTO watermark (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, _utc(value).isoformat()),
        )

    def get_value(self, namespace: str, key: str) -> Any:
        """A JSON value stored under ``namespace``/``key`` (None when absent)."""
        rows = self._rows("SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
        return json.loads(rows[0][0]) if rows else None

    def set_value(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON value (Decimals as strings)."""
        self._rows(
            "INSERT INTO kv (namespace, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value",
            (namespace, key, json.dumps(value, default=str)),
        )

    def values(self, namespace: str) -> dict[str, Any]:
        """Every key and value of ``namespace``."""
        rows = self._rows(
            "SELECT key, value FROM kv WHERE namespace = ? ORDER BY key", (namespace,)
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
            updated_at=dt.datetime.fromisoformat(row[5]),
            detail=json.loads(row[6]),
        )

    def ledger_get(self, workflow: str, source_id: str) -> LedgerEntry | None:
        """The ledger row of a source record."""
        rows = self._rows(
            "SELECT * FROM ledger WHERE workflow = ? AND source_id = ?", (workflow, source_id)
        )
        return self._entry(rows[0]) if rows else None

    def ledger_put(self, entry: LedgerEntry) -> None:
        """Insert or replace a ledger row."""
        self._rows(
            "INSERT OR REPLACE INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
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
        """Every ledger row of a workflow, by source id."""
        rows = self._rows("SELECT * FROM ledger WHERE workflow = ? ORDER BY source_id", (workflow,))
        return [self._entry(r) for r in rows]

    # -- id map -------------------------------------------------------------------------------

    def id_map_put(self, mapping: IdMapping) -> None:
        """Insert or replace an id mapping.

        Raises:
            StateError: the Intacct id is already mapped to another Salesforce id.
        """
        self._rows(
            "INSERT INTO id_map VALUES (?, ?, ?, ?, ?) ON CONFLICT(object, salesforce_id) DO "
            "UPDATE SET intacct_id = excluded.intacct_id, "
            "intacct_record_no = excluded.intacct_record_no, updated_at = excluded.updated_at",
            (
                mapping.object,
                mapping.salesforce_id,
                mapping.intacct_id,
                mapping.intacct_record_no,
                _utc(mapping.updated_at).isoformat(),
            ),
        )

    def id_map(self, obj: str) -> list[IdMapping]:
        """Every mapping of an object."""
        rows = self._rows("SELECT * FROM id_map WHERE object = ? ORDER BY salesforce_id", (obj,))
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

    def iter_ledger(self, workflow: str, status: LedgerStatus) -> Iterator[LedgerEntry]:
        """Ledger rows of a workflow in one status (e.g. ``pending`` after a crash)."""
        rows = self._rows(
            "SELECT * FROM ledger WHERE workflow = ? AND status = ? ORDER BY source_id",
            (workflow, status),
        )
        return (self._entry(r) for r in rows)

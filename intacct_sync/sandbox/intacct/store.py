"""SQLite storage of the Intacct emulator: one table per object, every value as text.

Each object of :mod:`intacct_schema` gets a table ``obj_<NAME>`` with a ``company`` column, an
integer ``RECORDNO``, one TEXT column per field (dotted names are quoted identifiers), ``_extra``
(JSON of fields the schema does not know, such as custom fields) and ``_controlid`` (the function
control id that created the record, for inspection). Rows come back as tuples in
``ObjectDef.columns`` order followed by ``_extra``: the gateway filters and serializes them
without building dicts.

One connection (``check_same_thread=False``) guarded by :attr:`Store.lock`; the caller holds the
lock around a unit of work and brackets it with :meth:`begin` / :meth:`commit` / :meth:`rollback`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence

from intacct_sync.sandbox.intacct.schema import OBJECTS, ObjectDef

__all__ = ["Row", "Store"]

#: one stored record: values in ``ObjectDef.columns`` order, then ``_extra`` (JSON or None)
Row = tuple[str | None, ...]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table(obj: ObjectDef) -> str:
    return _q("obj_" + obj.name)


def _col(obj: ObjectDef, name: str) -> str:
    """SQL for field ``name``: a platform object's ``id`` is the stored RECORDNO."""
    return "RECORDNO" if name in ("RECORDNO", obj.key_column) else _q(name)


#: first record number per object kind; platform record ids seen start at 10000+ (reference
#: §13.5, an observation the sandbox copies)
_FIRST_PLATFORM_ID = 10001


class Store:
    """The emulator's database.

    Args:
        db_path: SQLite file; None keeps everything in memory.
    """

    def __init__(self, db_path: str | None = None) -> None:
        self.lock = threading.RLock()
        self._conn = sqlite3.connect(
            db_path or ":memory:", check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode=" + ("MEMORY" if db_path is None else "WAL"))
        self._conn.execute("PRAGMA synchronous=OFF")
        self._select: dict[str, str] = {}
        #: bumped by every change, so read caches keyed on it never serve stale rows
        self.generation = 0
        #: evaluated ``query`` results, keyed by (company, query signature, generation)
        self.query_cache: dict[tuple[str, bytes, int], object] = {}
        self._create_tables()

    def _create_tables(self) -> None:
        cur = self._conn
        cur.execute(
            "CREATE TABLE IF NOT EXISTS seq (company TEXT, object TEXT, next INTEGER,"
            " PRIMARY KEY (company, object))"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS executed (company TEXT, controlid TEXT, function TEXT,"
            " PRIMARY KEY (company, controlid))"
        )
        for obj in OBJECTS.values():
            cols = ", ".join(f"{_q(c)} TEXT" for c in obj.columns if c != obj.key_column)
            cur.execute(
                f"CREATE TABLE IF NOT EXISTS {_table(obj)} (company TEXT NOT NULL,"
                f" RECORDNO INTEGER NOT NULL, {cols}, _extra TEXT, _controlid TEXT,"
                " PRIMARY KEY (company, RECORDNO))"
            )
            if obj.id_field:
                cur.execute(
                    f"CREATE INDEX IF NOT EXISTS {_q('ix_' + obj.name + '_id')}"
                    f" ON {_table(obj)} (company, {_q(obj.id_field)})"
                )
            if obj.name in ("GLENTRY", "SODOCUMENTENTRY"):
                parent = "BATCHNO" if obj.name == "GLENTRY" else "DOCHDRNO"
                cur.execute(
                    f"CREATE INDEX IF NOT EXISTS {_q('ix_' + obj.name + '_parent')}"
                    f" ON {_table(obj)} (company, {_q(parent)})"
                )
            if obj.name == "GLBATCH":
                # Every posted entry asks for its journal's largest BATCHNO (max_int); without
                # this index that is a scan of the company's entries per entry posted.
                cur.execute(
                    f"CREATE INDEX IF NOT EXISTS {_q('ix_GLBATCH_batchno')} ON {_table(obj)}"
                    f" (company, {_q('JOURNAL')}, CAST({_q('BATCHNO')} AS INTEGER))"
                )
            select_cols = ", ".join(
                "CAST(RECORDNO AS TEXT)" if c == obj.key_column else _q(c) for c in obj.columns
            )
            self._select[obj.name] = f"SELECT {select_cols}, _extra FROM {_table(obj)}"

    # -- transactions -------------------------------------------------------------------------

    def begin(self) -> None:
        """Start a transaction (the caller holds :attr:`lock`)."""
        self._conn.execute("BEGIN")

    def commit(self) -> None:
        """Commit the open transaction."""
        self._conn.execute("COMMIT")

    def rollback(self) -> None:
        """Roll the open transaction back."""
        self.generation += 1
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self._conn.close()

    # -- reads --------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True when no company has any record yet (the database needs seeding)."""
        with self.lock:
            return self._conn.execute("SELECT 1 FROM seq LIMIT 1").fetchone() is None

    def rows(
        self,
        company: str,
        obj: ObjectDef,
        *,
        where: Mapping[str, str] | None = None,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Every row of ``obj`` in ``company`` ordered by RECORDNO; ``where`` = exact matches.

        ``columns`` narrows each row to those fields, in that order (no ``_extra``): a query
        that reads a few of GLENTRY's 31 columns fetches a third of the data. ``limit`` and
        ``offset`` take one slice of that order (on the primary key, so a page costs its rows).
        """
        if columns is None:
            sql = self._select[obj.name]
        else:
            picked = ("CAST(RECORDNO AS TEXT)" if c == obj.key_column else _q(c) for c in columns)
            sql = f"SELECT {', '.join(picked)} FROM {_table(obj)}"
        sql, params = self._where(sql, company, obj, where)
        sql += " ORDER BY RECORDNO"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    def count(self, company: str, obj: ObjectDef, *, where: Mapping[str, str] | None = None) -> int:
        """How many rows of ``obj`` in ``company`` match ``where`` (exact matches)."""
        sql, params = self._where(f"SELECT COUNT(*) FROM {_table(obj)}", company, obj, where)
        with self.lock:
            return int(self._conn.execute(sql, params).fetchone()[0])

    @staticmethod
    def _where(
        sql: str, company: str, obj: ObjectDef, where: Mapping[str, str] | None
    ) -> tuple[str, list[object]]:
        sql += " WHERE company = ?"
        params: list[object] = [company]
        for field, value in (where or {}).items():
            if field in ("RECORDNO", obj.key_column):
                sql += " AND RECORDNO = ?"
                params.append(int(value))
            else:
                sql += f" AND {_q(field)} = ?"
                params.append(value)
        return sql, params

    def get(self, company: str, obj: ObjectDef, recordno: int) -> Row | None:
        """The row with ``recordno``, or None."""
        sql = self._select[obj.name] + " WHERE company = ? AND RECORDNO = ?"
        with self.lock:
            row: Row | None = self._conn.execute(sql, (company, recordno)).fetchone()
            return row

    def find_id(self, company: str, obj: ObjectDef, value: str) -> Row | None:
        """The row whose ID field equals ``value`` (case-sensitive), or None."""
        if obj.id_field is None:
            return None
        sql = self._select[obj.name] + f" WHERE company = ? AND {_col(obj, obj.id_field)} = ?"
        with self.lock:
            row: Row | None = self._conn.execute(sql, (company, value)).fetchone()
            return row

    def id_status(self, company: str, obj: ObjectDef) -> dict[str, str]:
        """ID value -> STATUS (``active`` when the object has no STATUS) for every row."""
        assert obj.id_field is not None
        status = _q("STATUS") if obj.has_status else "'active'"
        sql = f"SELECT {_col(obj, obj.id_field)}, {status} FROM {_table(obj)} WHERE company = ?"
        with self.lock:
            return {str(k): v or "active" for k, v in self._conn.execute(sql, (company,)) if k}

    def key_status(self, company: str, obj: ObjectDef) -> dict[str, str]:
        """Record key (RECORDNO, or a platform object's ``id``) -> STATUS for every row."""
        status = _q("STATUS") if obj.has_status else "'active'"
        sql = f"SELECT CAST(RECORDNO AS TEXT), {status} FROM {_table(obj)} WHERE company = ?"
        with self.lock:
            return {str(k): v or "active" for k, v in self._conn.execute(sql, (company,))}

    def max_int(self, company: str, obj: ObjectDef, field: str, where: Mapping[str, str]) -> int:
        """Largest integer value of ``field`` among rows matching ``where`` (0 if none)."""
        sql = (
            f"SELECT MAX(CAST({_col(obj, field)} AS INTEGER)) FROM {_table(obj)} WHERE company = ?"
        )
        params: list[object] = [company]
        for key, value in where.items():
            sql += f" AND {_q(key)} = ?"
            params.append(value)
        with self.lock:
            found = self._conn.execute(sql, params).fetchone()[0]
        return int(found or 0)

    def group_count(self, company: str, obj: ObjectDef, column: str) -> dict[str, int]:
        """Row counts per value of ``column`` (``_controlid`` allowed); NULL counts as ''."""
        col = "_controlid" if column == "_controlid" else _q(column)
        sql = (
            f"SELECT COALESCE({col}, ''), COUNT(*) FROM {_table(obj)}"
            f" WHERE company = ? GROUP BY 1 ORDER BY 1"
        )
        with self.lock:
            return {str(k): int(n) for k, n in self._conn.execute(sql, (company,))}

    # -- writes -------------------------------------------------------------------------------

    def allocate(self, company: str, obj: ObjectDef, n: int = 1) -> int:
        """Reserve ``n`` RECORDNOs; returns the first."""
        cur = self._conn.execute(
            "SELECT next FROM seq WHERE company = ? AND object = ?", (company, obj.name)
        ).fetchone()
        first = int(cur[0]) if cur else (_FIRST_PLATFORM_ID if obj.platform else 1)
        self._conn.execute(
            "INSERT OR REPLACE INTO seq (company, object, next) VALUES (?, ?, ?)",
            (company, obj.name, first + n),
        )
        return first

    def insert_many(
        self,
        company: str,
        obj: ObjectDef,
        records: Sequence[Mapping[str, str | None]],
        *,
        controlid: str | None = None,
    ) -> list[int]:
        """Insert ``records`` (field -> text); unknown fields go to ``_extra``.

        RECORDNOs are allocated here. Returns them in order.
        """
        self.generation += 1
        if not records:
            return []
        first = self.allocate(company, obj, len(records))
        cols = [c for c in obj.columns if c != obj.key_column]
        known = set(cols)
        sql = (
            f"INSERT INTO {_table(obj)} (company, RECORDNO, {', '.join(_q(c) for c in cols)},"
            f" _extra, _controlid) VALUES ({', '.join('?' * (len(cols) + 4))})"
        )
        params: list[tuple[object, ...]] = []
        for offset, rec in enumerate(records):
            extra = {
                k: v
                for k, v in rec.items()
                if k not in known and k not in ("RECORDNO", obj.key_column)
            }
            params.append(
                (
                    company,
                    first + offset,
                    *(rec.get(c) for c in cols),
                    json.dumps(extra) if extra else None,
                    controlid,
                )
            )
        self._conn.executemany(sql, params)
        return list(range(first, first + len(records)))

    def update(
        self, company: str, obj: ObjectDef, recordno: int, values: Mapping[str, str | None]
    ) -> None:
        """Set ``values`` on one row; unknown fields are merged into ``_extra``."""
        self.generation += 1
        known = set(obj.columns) - {"RECORDNO", obj.key_column}
        sets = [(k, v) for k, v in values.items() if k in known]
        extra = {
            k: v
            for k, v in values.items()
            if k not in known and k not in ("RECORDNO", obj.key_column)
        }
        if sets:
            sql = (
                f"UPDATE {_table(obj)} SET {', '.join(_q(k) + ' = ?' for k, _ in sets)}"
                " WHERE company = ? AND RECORDNO = ?"
            )
            self._conn.execute(sql, [v for _, v in sets] + [company, recordno])
        if extra:
            row = self._conn.execute(
                f"SELECT _extra FROM {_table(obj)} WHERE company = ? AND RECORDNO = ?",
                (company, recordno),
            ).fetchone()
            merged = json.loads(row[0]) if row and row[0] else {}
            merged.update(extra)
            self._conn.execute(
                f"UPDATE {_table(obj)} SET _extra = ? WHERE company = ? AND RECORDNO = ?",
                (json.dumps(merged), company, recordno),
            )

    def delete(self, company: str, obj: ObjectDef, recordnos: Iterable[int]) -> None:
        """Delete rows by RECORDNO."""
        self.generation += 1
        self._conn.executemany(
            f"DELETE FROM {_table(obj)} WHERE company = ? AND RECORDNO = ?",
            [(company, r) for r in recordnos],
        )

    def delete_where(self, company: str, obj: ObjectDef, field: str, value: str) -> None:
        """Delete rows whose ``field`` equals ``value``."""
        self.generation += 1
        self._conn.execute(
            f"DELETE FROM {_table(obj)} WHERE company = ? AND {_q(field)} = ?", (company, value)
        )

    # -- function control ids (uniqueid=true) -------------------------------------------------

    def was_executed(self, company: str, controlid: str) -> bool:
        """Whether a function with ``controlid`` completed in ``company``."""
        found = self._conn.execute(
            "SELECT 1 FROM executed WHERE company = ? AND controlid = ?", (company, controlid)
        ).fetchone()
        return found is not None

    def mark_executed(self, company: str, controlid: str, function: str) -> None:
        """Record ``controlid`` as completed (inside the function's transaction)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO executed (company, controlid, function) VALUES (?, ?, ?)",
            (company, controlid, function),
        )


def row_dict(obj: ObjectDef, row: Row) -> dict[str, str]:
    """A row as field -> text ('' for NULL), custom fields from ``_extra`` included."""
    out = {c: (v if v is not None else "") for c, v in zip(obj.columns, row, strict=False)}
    extra = row[len(obj.columns)]
    if extra:
        out.update({k: v or "" for k, v in json.loads(extra).items()})
    return out

"""SQLite storage of the Salesforce emulator: one table per sObject, validated writes.

Every table has one column per field of the catalog in :mod:`salesforce_schema`. Text columns
use ``NOCASE`` collation because SOQL compares and sorts text case-insensitively. Dates are
stored as ``YYYY-MM-DD`` and datetimes as ``YYYY-MM-DDTHH:MM:SS.sss+0000`` (UTC), so text order
is time order. Deletes are soft (``IsDeleted = 1``), as in the recycle bin.

All access goes through :attr:`Store.lock` (re-entrant): the connection is shared by the
server's threads, and a savepoint spans all the writes of one collection or composite call.

Slightly over 600 lines: the validated write path (types, lengths, picklists, lookups,
uniqueness) and the reads it checks against belong to one transaction model.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from intacct_sync.sandbox.salesforce import schema
from intacct_sync.sandbox.salesforce.schema import OBJECTS, FieldDef, SObjectDef

__all__ = ["Store", "WriteError", "format_datetime", "parse_datetime", "utcnow"]


def utcnow() -> dt.datetime:
    """Current time, UTC, truncated to milliseconds."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's datetime form: ``2024-01-31T12:00:00.000+0000``."""
    value = value.astimezone(dt.UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}+0000"


_DT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_datetime(value: str) -> dt.datetime | None:
    """Parse the datetime forms Salesforce accepts on input; None if not one."""
    match = _DT_RE.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        tz = dt.UTC
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            micro,
            tzinfo=tz,
        ).astimezone(dt.UTC)
    except ValueError:
        return None


@attrs.define
class WriteError(Exception):
    """A record-level failure with Salesforce's error code."""

    code: str
    message: str
    fields: list[str] = attrs.field(factory=list)
    status: int = 400

    def rest(self) -> dict[str, Any]:
        """As an element of a REST error array (``errorCode``)."""
        return {"message": self.message, "errorCode": self.code, "fields": list(self.fields)}

    def record(self) -> dict[str, Any]:
        """As an element of a per-record ``errors`` list (``statusCode``)."""
        return {"statusCode": self.code, "message": self.message, "fields": list(self.fields)}


class Store:
    """The emulator's SQLite database."""

    def __init__(self, db_path: str | None = None) -> None:
        self.conn = sqlite3.connect(
            db_path or ":memory:", check_same_thread=False, isolation_level=None
        )
        self.lock = threading.RLock()
        self._savepoints = 0
        self.default_user_id = ""
        with self.lock:
            self.conn.execute(
                "PRAGMA synchronous = OFF" if not db_path else "PRAGMA journal_mode=WAL"
            )
            self._create_tables()
        self._columns = {name: list(obj.fields) for name, obj in OBJECTS.items()}
        # lookups whose values must be cleared when the parent is deleted, per parent type
        self._lookups_to: dict[str, list[tuple[SObjectDef, FieldDef]]] = {}
        for obj in OBJECTS.values():
            for f in obj.fields.values():
                if f.type == "reference" and not f.system and f.name != "OwnerId":
                    self._lookups_to.setdefault(f.reference_to[0], []).append((obj, f))

    # -- schema ---------------------------------------------------------------------------------

    def _create_tables(self) -> None:
        cur = self.conn.cursor()
        cur.execute(
            "CREATE TABLE IF NOT EXISTS sf_counters (prefix TEXT PRIMARY KEY, next INTEGER)"
        )
        for obj in OBJECTS.values():
            cols = ", ".join(
                f'"{f.name}" {f.sql_type}' + (" PRIMARY KEY" if f.name == "Id" else "")
                for f in obj.fields.values()
            )
            cur.execute(f"CREATE TABLE IF NOT EXISTS {obj.table} ({cols}) WITHOUT ROWID")
            for f in obj.fields.values():
                if (f.type == "reference" and not f.system) or f.external_id or f.unique:
                    cur.execute(
                        f"CREATE INDEX IF NOT EXISTS ix_{obj.name}_{f.name} "
                        f'ON {obj.table} ("{f.name}")'
                    )

    def is_empty(self) -> bool:
        """True before seeding."""
        with self.lock:
            row = self.conn.execute("SELECT COUNT(*) FROM sf_User").fetchone()
        return bool(row[0] == 0)

    # -- transactions ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[Savepoint]:
        """A savepoint: released on normal exit, rolled back on an exception."""
        with self.lock:
            self._savepoints += 1
            sp = Savepoint(self.conn, f"sp{self._savepoints}")
            self.conn.execute(f"SAVEPOINT {sp.name}")
            try:
                yield sp
            except BaseException:
                sp.rollback()
                self.conn.execute(f"RELEASE {sp.name}")
                raise
            else:
                self.conn.execute(f"RELEASE {sp.name}")
            finally:
                self._savepoints -= 1

    # -- ids ------------------------------------------------------------------------------------

    def new_ids(self, obj: SObjectDef, count: int) -> list[str]:
        """Reserve ``count`` fresh ids for ``obj``."""
        with self.lock:
            row = self.conn.execute(
                "SELECT next FROM sf_counters WHERE prefix = ?", (obj.key_prefix,)
            ).fetchone()
            start = row[0] if row else 1
            self.conn.execute(
                "INSERT OR REPLACE INTO sf_counters (prefix, next) VALUES (?, ?)",
                (obj.key_prefix, start + count),
            )
        return [schema.make_id(obj.key_prefix, n) for n in range(start, start + count)]

    def _next_auto_number(self, obj: SObjectDef, f: FieldDef) -> str:
        key = f"{obj.key_prefix}#{f.name}"
        row = self.conn.execute("SELECT next FROM sf_counters WHERE prefix = ?", (key,)).fetchone()
        number = row[0] if row else 1
        self.conn.execute(
            "INSERT OR REPLACE INTO sf_counters (prefix, next) VALUES (?, ?)", (key, number + 1)
        )
        return format_auto_number(f.auto_number or "{0}", number)

    def reserve_auto_numbers(self, obj: SObjectDef, count: int) -> list[str]:
        """``count`` consecutive auto-number Names (for bulk seeding)."""
        f = obj.fields["Name"]
        key = f"{obj.key_prefix}#{f.name}"
        with self.lock:
            row = self.conn.execute(
                "SELECT next FROM sf_counters WHERE prefix = ?", (key,)
            ).fetchone()
            start = row[0] if row else 1
            self.conn.execute(
                "INSERT OR REPLACE INTO sf_counters (prefix, next) VALUES (?, ?)",
                (key, start + count),
            )
        return [format_auto_number(f.auto_number or "{0}", n) for n in range(start, start + count)]

    # -- reads ----------------------------------------------------------------------------------

    def fetch(self, obj: SObjectDef, record_id: str) -> dict[str, Any] | None:
        """One row by id as stored (deleted rows included), or None."""
        with self.lock:
            cur = self.conn.execute(f'SELECT * FROM {obj.table} WHERE "Id" = ?', (record_id,))
            row = cur.fetchone()
            if row is None:
                return None
            names = [d[0] for d in cur.description]
        return dict(zip(names, row, strict=True))

    def fetch_live(self, obj: SObjectDef, record_id: str) -> dict[str, Any]:
        """One row that exists and is not deleted; the REST errors otherwise."""
        current = self.fetch(obj, record_id)
        if current is None:
            raise WriteError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [], status=404
            )
        if current["IsDeleted"]:
            raise WriteError("ENTITY_IS_DELETED", "entity is deleted", [], status=404)
        return current

    def find(self, obj: SObjectDef, f: FieldDef, value: Any) -> list[str]:
        """Ids of live rows whose ``f`` equals ``value`` (case-insensitive for text)."""
        with self.lock:
            rows = self.conn.execute(
                f'SELECT "Id" FROM {obj.table} WHERE "{f.name}" = ? AND "IsDeleted" = 0 '
                'ORDER BY "Id"',
                (value,),
            ).fetchall()
        return [r[0] for r in rows]

    def to_api(self, obj: SObjectDef, row: Mapping[str, Any]) -> dict[str, Any]:
        """A stored row with JSON-typed values (booleans as booleans)."""
        out: dict[str, Any] = {}
        for name, f in obj.fields.items():
            if name in row:
                value = row[name]
                out[name] = bool(value) if f.type == "boolean" and value is not None else value
        return out

    # -- writes ---------------------------------------------------------------------------------

    def create(self, obj: SObjectDef, body: Mapping[str, Any]) -> str:
        """Validate and insert one record; return its id."""
        with self.lock:
            values = self.coerce(obj, body, creating=True)
            missing = [
                f.name
                for f in obj.fields.values()
                if f.required and values.get(f.name) is None and not self._derivable(obj, f)
            ]
            if missing:
                raise WriteError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
            row: dict[str, Any] = {name: None for name in obj.fields}
            for f in obj.fields.values():
                if f.default is not None:
                    row[f.name] = int(f.default) if f.type == "boolean" else f.default
            row.update(values)
            if obj.name == "Opportunity" and "Probability" not in values:
                row["Probability"] = schema.STAGE_PROBABILITY.get(str(row["StageName"]))
            self._derive(obj, row, set(values))
            self._check_unique(obj, row, None)
            now = format_datetime(utcnow())
            user = self.default_user_id
            row.update(
                Id=self.new_ids(obj, 1)[0],
                IsDeleted=0,
                CreatedDate=now,
                LastModifiedDate=now,
                SystemModstamp=now,
                CreatedById=user,
                LastModifiedById=user,
            )
            if "OwnerId" in obj.fields and not row.get("OwnerId"):
                row["OwnerId"] = user
            for f in obj.fields.values():
                if f.auto_number:
                    row[f.name] = self._next_auto_number(obj, f)
            self._insert(obj, [row])
            return str(row["Id"])

    def update(self, obj: SObjectDef, record_id: str, body: Mapping[str, Any]) -> None:
        """Validate and apply a partial update."""
        with self.lock:
            current = self.fetch_live(obj, record_id)
            values = self.coerce(obj, body, creating=False)
            row = dict(current)
            row.update(values)
            if obj.name == "Opportunity" and "StageName" in values and "Probability" not in values:
                row["Probability"] = schema.STAGE_PROBABILITY.get(str(row["StageName"]))
            self._derive(obj, row, set(values))
            missing = [
                f.name for f in obj.fields.values() if f.required and row.get(f.name) is None
            ]
            if missing:
                raise WriteError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
            self._check_unique(obj, row, record_id)
            now = format_datetime(utcnow())
            row.update(
                LastModifiedDate=now, SystemModstamp=now, LastModifiedById=self.default_user_id
            )
            changed = [k for k in obj.fields if row[k] != current[k]]
            if changed:
                sets = ", ".join(f'"{k}" = ?' for k in changed)
                self.conn.execute(
                    f'UPDATE {obj.table} SET {sets} WHERE "Id" = ?',
                    [row[k] for k in changed] + [record_id],
                )

    def upsert(
        self, obj: SObjectDef, f: FieldDef, value: str, body: Mapping[str, Any]
    ) -> tuple[str, bool] | list[str]:
        """Insert or update by external id. Returns (id, created), or the matching ids when
        more than one record matches.
        """
        with self.lock:
            if f.name == "Id":
                if value and not schema.looks_like_id(value):
                    raise WriteError(
                        "MALFORMED_ID", f"Record ID: id value of incorrect type: {value}", ["Id"]
                    )
                matches = [schema.normalize_id(value)] if value else []
                if matches and self.fetch(obj, matches[0]) is None:
                    raise WriteError(
                        "NOT_FOUND",
                        "Provided external ID field does not exist or is not accessible: " + value,
                        [],
                        status=404,
                    )
            else:
                matches = self.find(obj, f, value)
            if len(matches) > 1:
                return matches
            clean = {k: v for k, v in body.items() if k.lower() != f.name.lower()}
            if matches:
                self.update(obj, matches[0], clean)
                return matches[0], False
            if f.name != "Id":
                clean[f.name] = value
            return self.create(obj, clean), True

    def delete(self, obj: SObjectDef, record_id: str) -> None:
        """Soft-delete a record and cascade to its master-detail children."""
        with self.lock:
            self.fetch_live(obj, record_id)
            self._soft_delete(obj, [record_id])

    def _soft_delete(self, obj: SObjectDef, ids: Sequence[str]) -> None:
        now = format_datetime(utcnow())
        marks = ",".join("?" * len(ids))
        self.conn.execute(
            f'UPDATE {obj.table} SET "IsDeleted" = 1, "SystemModstamp" = ?, '
            f'"LastModifiedDate" = ? WHERE "Id" IN ({marks})',
            [now, now, *ids],
        )
        for rel in obj.children.values():
            if rel.cascade_delete:
                child = OBJECTS[rel.child]
                kids = [
                    r[0]
                    for r in self.conn.execute(
                        f'SELECT "Id" FROM {child.table} WHERE "{rel.field}" IN ({marks}) '
                        'AND "IsDeleted" = 0',
                        list(ids),
                    )
                ]
                if kids:
                    self._soft_delete(child, kids)
        for child, f in self._lookups_to.get(obj.name, []):
            if f.cascade_delete:
                continue
            self.conn.execute(
                f'UPDATE {child.table} SET "{f.name}" = NULL WHERE "{f.name}" IN ({marks})',
                list(ids),
            )

    def insert_many(self, obj: SObjectDef, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        """Insert trusted rows without validation (seeding, benchmarks). Ids, system fields and
        defaults are filled in when absent; ``CreatedDate`` may be given.
        """
        now = format_datetime(utcnow())
        user = self.default_user_id
        prepared = []
        with self.lock:
            rows = list(rows)
            need_ids = sum(1 for r in rows if not r.get("Id"))
            ids = iter(self.new_ids(obj, need_ids)) if need_ids else iter(())
            auto = obj.fields["Name"].auto_number if "Name" in obj.fields else None
            autos = iter(self.reserve_auto_numbers(obj, len(rows))) if auto else iter(())
            defaults = {
                f.name: (int(f.default) if f.type == "boolean" else f.default)
                for f in obj.fields.values()
                if f.default is not None
            }
            for r in rows:
                row: dict[str, Any] = dict.fromkeys(obj.fields)
                row.update(defaults)
                row.update(IsDeleted=0, CreatedById=user, LastModifiedById=user)
                if "OwnerId" in obj.fields:
                    row["OwnerId"] = user
                row.update(r)
                if not row.get("Id"):
                    row["Id"] = next(ids)
                if auto:
                    row["Name"] = next(autos)
                created = row.get("CreatedDate") or now
                row["CreatedDate"] = created
                row["LastModifiedDate"] = row.get("LastModifiedDate") or created
                row["SystemModstamp"] = row["LastModifiedDate"]
                for name, f in obj.fields.items():
                    if f.type == "boolean" and isinstance(row[name], bool):
                        row[name] = int(row[name])
                prepared.append(row)
            self._insert(obj, prepared)
        return [str(r["Id"]) for r in prepared]

    def _insert(self, obj: SObjectDef, rows: list[dict[str, Any]]) -> None:
        cols = self._columns[obj.name]
        names = ", ".join(f'"{c}"' for c in cols)
        marks = ", ".join("?" * len(cols))
        self.conn.executemany(
            f"INSERT INTO {obj.table} ({names}) VALUES ({marks})",
            [[r[c] for c in cols] for r in rows],
        )

    # -- validation -----------------------------------------------------------------------------

    def coerce(self, obj: SObjectDef, body: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        """Body of a create/update -> column values, or raise :class:`WriteError`."""
        values: dict[str, Any] = {}
        for key, raw in body.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                rel = obj.relationship(key)
                if rel is not None and isinstance(raw, Mapping):
                    values[rel.name] = self._resolve_foreign(rel, raw)
                    continue
                raise WriteError(
                    "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}", []
                )
            if not (f.createable if creating else f.updateable):
                if not creating and f.name == "Id":
                    continue
                verb = "create" if creating else "update"
                raise WriteError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to {verb} fields: {f.name}. Please check the security settings of "
                    "this field and verify that it is read/write for your profile or "
                    "permission set.",
                    [f.name],
                )
            values[f.name] = self.coerce_value(f, raw)
        return values

    def coerce_value(self, f: FieldDef, raw: Any) -> Any:
        """One JSON value -> its stored form, or raise :class:`WriteError`."""
        if raw is None:
            if f.type == "boolean":
                return 0
            return None
        t = f.type
        if t in schema.TEXT_TYPES:
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise _json_error(f, raw)
            value = str(raw)
            if value == "":
                return None
            if f.length and len(value) > f.length:
                raise WriteError(
                    "STRING_TOO_LONG",
                    f"{f.label}: data value too large: {value[:80]} (max length={f.length})",
                    [f.name],
                )
            if t == "picklist" and f.restricted and value not in f.picklist:
                raise WriteError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{f.label}: bad value for restricted picklist field: {value}",
                    [f.name],
                )
            if t == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                raise WriteError(
                    "INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {value}", [f.name]
                )
            return value
        if t in schema.ID_TYPES:
            if not isinstance(raw, str):
                raise _json_error(f, raw)
            if raw == "":
                return None
            target = OBJECTS[f.reference_to[0]] if f.reference_to else None
            if not schema.looks_like_id(raw) or (
                target is not None and raw[:3] != target.key_prefix
            ):
                raise WriteError(
                    "MALFORMED_ID", f"{f.label}: id value of incorrect type: {raw}", [f.name]
                )
            value = schema.normalize_id(raw)
            if target is not None:
                row = self.conn.execute(
                    f'SELECT "IsDeleted" FROM {target.table} WHERE "Id" = ?', (value,)
                ).fetchone()
                if row is None or row[0]:
                    raise WriteError(
                        "INVALID_CROSS_REFERENCE_KEY",
                        f"{f.label}: id value of incorrect type: {raw}"
                        if row is None
                        else "entity is deleted",
                        [f.name],
                    )
            return value
        if t in schema.NUMBER_TYPES:
            if isinstance(raw, bool):
                raise _json_error(f, raw)
            try:
                number = float(raw)
            except (TypeError, ValueError):
                raise _json_error(f, raw) from None
            if not math.isfinite(number):
                raise _json_error(f, raw)
            if t == "int":
                if number != int(number):
                    raise _json_error(f, raw)
                return int(number)
            number = round(number, f.scale)
            if f.precision and abs(number) >= 10 ** (f.precision - f.scale):
                raise WriteError(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{f.label}: value outside of valid range on numeric field: {raw}",
                    [f.name],
                )
            return number
        if t == "boolean":
            if isinstance(raw, bool):
                return int(raw)
            if isinstance(raw, str) and raw.lower() in {"true", "false"}:
                return int(raw.lower() == "true")
            raise _json_error(f, raw)
        if t == "date":
            if isinstance(raw, str):
                try:
                    return dt.date.fromisoformat(raw[:10]).isoformat()
                except ValueError:
                    pass
            raise _json_error(f, raw)
        if t == "datetime":
            parsed = parse_datetime(raw) if isinstance(raw, str) else None
            if parsed is None:
                raise _json_error(f, raw)
            return format_datetime(parsed)
        raise _json_error(f, raw)  # pragma: no cover - every catalog type is handled above

    def _resolve_foreign(self, rel: FieldDef, ref: Mapping[str, Any]) -> str:
        target = OBJECTS[rel.reference_to[0]]
        keys = [k for k in ref if k != "attributes"]
        if len(keys) != 1:
            raise WriteError(
                "INVALID_FIELD",
                f"Foreign key reference for {rel.relationship_name} must name one external id "
                "field",
                [],
            )
        ext = target.field(keys[0])
        if ext is None or not ext.id_lookup:
            raise WriteError(
                "INVALID_FIELD",
                f"Provided external ID field does not exist or is not accessible: {keys[0]}",
                [],
            )
        value = ref[keys[0]]
        ids = self.find(target, ext, value)
        if len(ids) != 1:
            what = "not found" if not ids else "matched more than one record"
            raise WriteError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} {what} for field {ext.name} in entity "
                f"{target.name}",
                [],
            )
        return ids[0]

    def _check_unique(self, obj: SObjectDef, row: Mapping[str, Any], own_id: str | None) -> None:
        for f in obj.fields.values():
            if f.unique and row.get(f.name) is not None:
                hit = self.conn.execute(
                    f'SELECT "Id" FROM {obj.table} WHERE "{f.name}" = ? AND "IsDeleted" = 0 '
                    'AND "Id" != ? LIMIT 1',
                    (row[f.name], own_id or ""),
                ).fetchone()
                if hit:
                    raise WriteError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: "
                        f"{hit[0]}",
                        [],
                    )

    @staticmethod
    def _derivable(obj: SObjectDef, f: FieldDef) -> bool:
        return obj.name == "Opportunity" and f.name == "Probability"

    def _derive(self, obj: SObjectDef, row: dict[str, Any], changed: set[str]) -> None:
        """Maintain the fields Salesforce computes."""
        name = obj.name
        if name in {"Contact", "User"}:
            row["Name"] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        elif name == "Opportunity":
            stage = row.get("StageName")
            row["IsClosed"] = int(stage in {"Closed Won", "Closed Lost"})
            row["IsWon"] = int(stage == "Closed Won")
        elif name == "PricebookEntry":
            product = self.fetch(OBJECTS["Product2"], str(row.get("Product2Id")))
            if product:
                row["Name"] = product["Name"]
                row["ProductCode"] = product["ProductCode"]
        elif name == "OpportunityLineItem":
            self._derive_line(row, changed)

    def _derive_line(self, row: dict[str, Any], changed: set[str]) -> None:
        entry = self.fetch(OBJECTS["PricebookEntry"], str(row.get("PricebookEntryId")))
        if entry:
            row["Product2Id"] = entry["Product2Id"]
            row["ListPrice"] = entry["UnitPrice"]
            row["ProductCode"] = entry["ProductCode"]
        if "UnitPrice" in changed and "TotalPrice" in changed:
            raise WriteError(
                "FIELD_INTEGRITY_EXCEPTION",
                "field integrity exception: TotalPrice (cannot specify both unit price and "
                "total price)",
                ["TotalPrice"],
            )
        quantity = row.get("Quantity") or 0.0
        factor = 1 - (row.get("Discount") or 0.0) / 100
        if "TotalPrice" in changed and row.get("TotalPrice") is not None and quantity:
            row["UnitPrice"] = round(row["TotalPrice"] / quantity / factor, 2) if factor else 0.0
        else:
            if row.get("UnitPrice") is None and entry:
                row["UnitPrice"] = entry["UnitPrice"]
            if row.get("UnitPrice") is not None:
                row["TotalPrice"] = round(quantity * row["UnitPrice"] * factor, 2)
        if not row.get("Name"):
            opp = self.fetch(OBJECTS["Opportunity"], str(row.get("OpportunityId")))
            product_name = entry["Name"] if entry else ""
            row["Name"] = f"{opp['Name'] if opp else ''} {product_name}".strip()


class Savepoint:
    """Handle on an open savepoint; :meth:`rollback` undoes its writes (it stays open)."""

    def __init__(self, conn: sqlite3.Connection, name: str) -> None:
        self.conn = conn
        self.name = name

    def rollback(self) -> None:
        """Undo every write since the savepoint began."""
        self.conn.execute(f"ROLLBACK TO {self.name}")


def format_auto_number(pattern: str, number: int) -> str:
    """Apply an auto-number display format such as ``GIFT-{000000}``."""
    return re.sub(r"\{(0+)\}", lambda m: str(number).zfill(len(m.group(1))), pattern)


def _json_error(f: FieldDef, raw: Any) -> WriteError:
    kind = {"currency": "double", "percent": "double", "datetime": "datetime"}.get(f.type, f.type)
    return WriteError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {raw!s} or request may "
        "be missing a required field",
        [f.name],
    )

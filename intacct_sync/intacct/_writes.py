"""Write bookkeeping: deterministic control ids, record normalisation, outcome rows.

A write function's control id is derived from the record's identity, never from time or a
counter, so the same record sent again (a retry after a lost answer, a rerun after a crash) is
recognised by the gateway (``uniqueid=true``) instead of executed twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import attrs
from lxml import etree

from intacct_sync import frames
from intacct_sync.errors import InputError
from intacct_sync.intacct._protocol import Function, Result

__all__ = [
    "OUTCOME_COLUMNS",
    "PendingWrite",
    "control_id",
    "create_control_id",
    "id_value",
    "nest_fields",
    "outcome",
    "result_outcome",
]

_CONTROL_ID_MAX = 256

#: Columns of the outcome frame every write returns.
OUTCOME_COLUMNS: Mapping[str, frames.Kind] = {
    "row": "integer",
    "object": "text",
    "key": "text",
    "function": "text",
    "control_id": "text",
    "status": "text",
    "done": "boolean",
    "RECORDNO": "integer",
    "id": "text",
    "errors": "text",
    "errornos": "text",
}


@attrs.frozen(kw_only=True)
class PendingWrite:
    """One record to write, normalised."""

    row: int
    obj: str
    key: str
    function: Function


def create_control_id(record: Any, *, key: str | None = None) -> str:
    """The control id under which the client creates ``record`` (a model or a ``SalesOrder``).

    Derived from the record's identity alone (``key``, else ``record.key``), so the same source
    record always maps to the same id: what a write-ahead ledger records before sending.
    """
    from intacct_sync.intacct.models import SalesOrder

    if isinstance(record, SalesOrder):
        return control_id("create_sotransaction", record.transaction_type, key or record.key)
    return control_id("create", record.OBJECT, key or record.key)


def control_id(op: str, obj: str, identity: str) -> str:
    digest = hashlib.sha256(f"{op}|{obj}|{identity}".encode()).hexdigest()[:40]
    return f"{op}-{obj}-{digest}"[:_CONTROL_ID_MAX]


def nest_fields(record: Mapping[str, Any], row: int) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for name, value in record.items():
        parts = str(name).split(".")
        target = nested
        for part in parts[:-1]:
            existing = target.setdefault(part, {})
            if not isinstance(existing, dict):
                raise InputError("column is both a value and a group", row=row, field=str(name))
            target = existing
        if isinstance(value, float):
            raise InputError(
                "binary floats are not written to Intacct; use Decimal or str",
                row=row,
                field=str(name),
                value=value,
            )
        target[parts[-1]] = value
    return nested


_ID_FIELDS = {
    "GLACCOUNT": "ACCOUNTNO",
    "STATACCOUNT": "ACCOUNTNO",
    "LOCATION": "LOCATIONID",
    "DEPARTMENT": "DEPARTMENTID",
    "CLASS": "CLASSID",
    "CUSTOMER": "CUSTOMERID",
    "ITEM": "ITEMID",
}


def id_value(obj: str, fields: Mapping[str, Any]) -> str:
    name = _ID_FIELDS.get(obj.upper())
    value = fields.get(name) if name else fields.get("RECORDNO")
    return "" if value is None else str(value)


def outcome(write: PendingWrite, status: str, *, errors: str = "") -> dict[str, Any]:
    return {
        "row": write.row,
        "object": write.obj,
        "key": write.key,
        "function": write.function.name,
        "control_id": write.function.control_id,
        "status": status,
        "done": status in ("success", "duplicate"),
        "RECORDNO": None,
        "id": None,
        "errors": errors or None,
        "errornos": None,
    }


def result_outcome(write: PendingWrite, result: Result) -> dict[str, Any]:
    status = result.status
    if not result.ok and result.already_done:
        status = "duplicate"
    row = outcome(write, status)
    if result.errors:
        row["errors"] = "; ".join(str(e) for e in result.errors)
        row["errornos"] = ",".join(e.errorno for e in result.errors)
    records = result.records
    if records:
        first = records[0]
        row["RECORDNO"] = _text(first, "RECORDNO") or None
        id_field = _ID_FIELDS.get(write.obj.upper())
        row["id"] = (_text(first, id_field) if id_field else "") or None
    if result.key:
        row["id"] = result.key
    return row


def _text(parent: etree._Element, tag: str) -> str:
    child = parent.find(tag)
    return "" if child is None or child.text is None else child.text.strip()

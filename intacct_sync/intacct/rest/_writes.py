"""Write bookkeeping of the REST client: one record to send, its body, and the outcome rows.

Pure functions: what the client sends for a sales order, how a nested XML-named record is
walked, and how a batch answer (201, 207, 204 or a refusal, reference ``intacct-rest-api.md``
§3.1, §6.1, §7.1) becomes the rows of the outcome contract (:mod:`intacct_sync.outcomes`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from intacct_sync import frames
from intacct_sync.errors import InputError
from intacct_sync.intacct.models import SalesOrder
from intacct_sync.intacct.rest import _protocol as wire
from intacct_sync.intacct.rest._names import RestObject

__all__ = [
    "INTACCT_EXTRAS",
    "RestWrite",
    "batch_outcomes",
    "flatten",
    "get_path",
    "line_fields",
    "outcome_row",
    "sales_order_body",
    "set_path",
]

#: the Intacct extras of the outcome contract (``outcomes.py``)
INTACCT_EXTRAS: Mapping[str, frames.Kind] = {
    "object": "text",
    "function": "text",
    "control_id": "text",
    "RECORDNO": "integer",
}
_DONE = {"create": "created", "update": "updated", "delete": "deleted"}


@attrs.frozen(kw_only=True)
class RestWrite:
    """One record to write.

    Attributes:
        row: its position in the input.
        obj: the REST object it goes to.
        key: the caller's identity of the record.
        control_id: the XML control id of the same record (the idempotency basis).
        body: the REST JSON body.
        record_key: the REST ``key`` an update or delete targets.
    """

    row: int
    obj: RestObject
    key: str
    control_id: str
    body: dict[str, Any]
    record_key: str | None = None


def outcome_row(
    op: str, w: RestWrite, status: str, *, errors: str = "", codes: str = ""
) -> dict[str, Any]:
    """An outcome row with no id yet."""
    return {
        "row": w.row,
        "key": w.key,
        "id": None,
        "status": status,
        "errors": errors or None,
        "error_codes": codes or None,
        "object": w.obj.xml,
        "function": op,
        "control_id": w.control_id,
        "RECORDNO": None,
    }


def batch_outcomes(
    op: str,
    sent: Sequence[RestWrite],
    *,
    status: int,
    data: Any,
    replay: bool,
    transaction: bool,
) -> dict[int, dict[str, Any]]:
    """Outcome rows (by input row) of one batch answer.

    A refusal of the whole request (4xx) fails every record with its errors; a 207 gives each
    record its own answer, by position. Under ``transaction`` the records that succeeded were
    rolled back when another failed (§7.1), and Intacct's ``unprocessed`` items (§7.2) are
    rolled back or skipped work: both are ``aborted``. A replayed answer (§7.4) means an earlier
    request did the work: ``already_done``.
    """
    if status >= 400:
        error = wire.error_object(data)
        details = wire.error_details(error) if error is not None else ()
        code = str(error.get("code") or "") if error is not None else ""
        items = [wire.ItemResult(ok=False, status=status, errors=details, code=code) for _ in sent]
    else:
        items = wire.parse_items(data, http_status=status, sent=len(sent))
    any_failed = any(not i.ok for i in items)
    out: dict[int, dict[str, Any]] = {}
    for w, item in zip(sent, items, strict=True):
        if (item.ok and transaction and any_failed) or item.code == "unprocessed":
            out[w.row] = outcome_row(op, w, "aborted", errors="rolled back: another record failed")
        elif item.ok:
            row = outcome_row(op, w, "already_done" if replay else _DONE[op])
            key = item.key or w.record_key
            row["RECORDNO"] = key if key and key.isdigit() else None
            row["id"] = item.id or key
            out[w.row] = row
        else:
            text = "; ".join(str(e) for e in item.errors) or f"HTTP {item.status}"
            if item.status == 409:
                # §6.1: the same idempotency key with other content, or a unique key conflict.
                text = f"conflict (HTTP 409: idempotency key reused or unique key taken): {text}"
            codes = ",".join(e.errorno for e in item.errors if e.errorno) or str(item.status)
            out[w.row] = outcome_row(op, w, "failed", errors=text, codes=codes)
    return out


def sales_order_body(order: SalesOrder, target: RestObject) -> dict[str, Any]:
    """The ``order-entry/document::<definition>`` create body of ``order`` (§3.3)."""
    lines = []
    for line in order.lines:
        dims = {"item": {"id": line.item_id}}
        if line.location_id:
            dims["location"] = {"id": line.location_id}
        if line.department_id:
            dims["department"] = {"id": line.department_id}
        item: dict[str, Any] = {
            "dimensions": dims,
            "unitQuantity": wire.rest_value(line.quantity),
        }
        if line.price is not None:
            item["unitPrice"] = wire.rest_value(line.price)
        if line.memo:
            item["memo"] = line.memo
        lines.append(item)
    body: dict[str, Any] = {
        "customer": {"id": order.customer_id},
        "txnDate": wire.rest_value(order.date),
        "lines": lines,
    }
    if order.date_due:
        body["dueDate"] = wire.rest_value(order.date_due)
    if order.reference_no:
        body["referenceNumber"] = order.reference_no
    if order.state:
        body["state"] = target.by_xml["STATE"].to_rest(order.state)
    return body


_SCALARS = frozenset({str, int, bool, type(None), Decimal, dt.date, dt.datetime, list, tuple})


def flatten(fields: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Leaves of a nested XML-named record as dotted names (``DISPLAYCONTACT.EMAIL1``)."""
    for name, value in fields.items():
        # Most values are scalars: their type is checked before the (slower) abstract one.
        if type(value) is dict or (type(value) not in _SCALARS and isinstance(value, Mapping)):
            yield from flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def line_fields(line: Any, element: str, row: int) -> Mapping[str, Any]:
    """One line's fields: ``("GLENTRY", {...})`` as models give them, or a mapping."""
    if isinstance(line, tuple) and len(line) == 2:
        return dict(line[1])
    if isinstance(line, Mapping):
        inner = line.get(element)
        return dict(inner) if isinstance(inner, Mapping) else dict(line)
    raise InputError("a line must be a mapping of fields", row=row, field=element, value=line)


def set_path(body: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted REST path in a nested body."""
    parts = path.split(".")
    target = body
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def get_path(body: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted REST path, or None."""
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value

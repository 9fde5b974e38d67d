"""Write bookkeeping: deterministic control ids, record normalisation, outcome rows.

A write function's control id is derived from the record's identity, never from time or a
counter, so the same record sent again (a retry after a lost answer, a rerun after a crash) is
recognised by the gateway (``uniqueid=true``) instead of executed twice.

Outcome rows follow the one write outcome contract (:mod:`intacct_sync.outcomes`): the leading
columns, then the Intacct extras ``object``, ``function``, ``control_id``, ``RECORDNO``.

A refusal is taken for "already done" (:func:`replay_kind`) only when it names the control id
this very function was sent under, in a wording the gateway is known to use, or carries a known
error number: never by a pattern that the record's own values could echo in an error message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal

import attrs
import pandas as pd
from lxml import etree

from intacct_sync import frames, outcomes
from intacct_sync.errors import ErrorDetail, InputError
from intacct_sync.intacct._protocol import Function, Result

__all__ = [
    "INTACCT_EXTRAS",
    "OUTCOME_COLUMNS",
    "PendingWrite",
    "ReplayKind",
    "canonical_fields",
    "control_id",
    "create_control_id",
    "id_value",
    "nest_fields",
    "outcome",
    "outcome_frame",
    "replay_kind",
    "result_outcome",
]

_CONTROL_ID_MAX = 256

#: The Intacct extras of the outcome contract, after :data:`intacct_sync.outcomes.OUTCOME_COLUMNS`.
INTACCT_EXTRAS: Final[Mapping[str, frames.Kind]] = {
    "object": "text",
    "function": "text",
    "control_id": "text",
    "RECORDNO": "integer",
}
#: Columns of the outcome frame every Intacct write returns, in order.
OUTCOME_COLUMNS: Final[Mapping[str, frames.Kind]] = {
    **outcomes.OUTCOME_COLUMNS,
    **INTACCT_EXTRAS,
}

ReplayKind = Literal["done", "in_process"]

# Replay of a completed function. The first wording is the real gateway's
# (reference/intacct-api.md §13.1); the second is what earlier sandbox versions answered (kept so
# recorded cassettes still read). Both are followed by the control id.
_DONE_WORDINGS: Final[tuple[str, ...]] = (
    "a successful transaction has already been recorded with the control id",
    "a request's function with the control id",
)
_DONE_TAILS: Final[tuple[str, ...]] = ("", "has already been executed")
# Replay while the first call still runs (§13.1): the id-carrying wording, and one without an id,
# accepted only as the whole message so that an echo inside a longer refusal does not count.
_IN_PROCESS_WORDING: Final = "a request's function with the control id"
_IN_PROCESS_TAIL: Final = "is in process"
_IN_PROCESS_BARE: Final = "concurrent request in process"
# Error numbers known to mean a replay. Both are the sandbox's (synthetic: no source records an
# errorno for either message, §13.1); a real tenant is recognised by the wordings above.
_DONE_ERRORNOS: Final = frozenset({"DUPLICATE_CONTROLID"})
_IN_PROCESS_ERRORNOS: Final = frozenset({"DUPLICATE_CONTROLID_IN_PROCESS"})
_ID_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _names_id(text: str, wording: str, cid: str, tail: str) -> bool:
    """``text`` holds ``wording`` immediately followed by exactly ``cid`` (then ``tail``)."""
    lowered = text.lower()
    start = lowered.find(wording)
    while start >= 0:
        rest = text[start + len(wording) :].lstrip()
        if rest.startswith(cid):
            after = rest[len(cid) :]
            # The id must end here: a longer id that merely starts with ours is another function.
            ends = not after or after[0] not in _ID_CHARS
            if ends and (not tail or after.strip().lower().startswith(tail)):
                return True
        start = lowered.find(wording, start + 1)
    return False


def _error_replay(error: ErrorDetail, cid: str) -> ReplayKind | None:
    if error.errorno in _DONE_ERRORNOS:
        return "done"
    if error.errorno in _IN_PROCESS_ERRORNOS:
        return "in_process"
    for text in (error.description, error.description2):
        if not text or not cid:
            continue
        if _names_id(text, _DONE_WORDINGS[0], cid, _DONE_TAILS[0]) or _names_id(
            text, _DONE_WORDINGS[1], cid, _DONE_TAILS[1]
        ):
            return "done"
        if _names_id(text, _IN_PROCESS_WORDING, cid, _IN_PROCESS_TAIL):
            return "in_process"
    for text in (error.description, error.description2):
        if text.strip().rstrip(".").lower() == _IN_PROCESS_BARE:
            return "in_process"
    return None


def replay_kind(result: Result, cid: str) -> ReplayKind | None:
    """Whether a refused ``result`` of the function sent under ``cid`` is a replay refusal.

    ``done``: a function with this control id completed earlier (the write happened; read it
    back). ``in_process``: it is still running elsewhere (retry later under the same id). None:
    an ordinary refusal, or a success.
    """
    if result.ok:
        return None
    kinds = {_error_replay(e, cid) for e in result.errors}
    if "done" in kinds:
        return "done"
    return "in_process" if "in_process" in kinds else None


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

    Args:
        record: the model (``Customer``, ``JournalEntry``...) or ``SalesOrder`` to create.
        key: its identity (e.g. the CRM id it came from), instead of ``record.key``.

    Returns:
        The control id, the same on every run for the same record and key.
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


_DONE_BY_OP: Final[Mapping[str, outcomes.OutcomeStatus]] = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
}


def _done_status(function: Function) -> outcomes.OutcomeStatus:
    # create, create_sotransaction, update_sotransaction... are named for their operation.
    op = function.name.split("_", 1)[0].lower()
    return _DONE_BY_OP.get(op, "created")


def canonical_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with every Decimal written without trailing zeros (``10.0`` == ``10.00``).

    Used for the identity of records without a key, so the same amount written with another
    scale is the same record (and the same control id), never a second posting.
    """
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, Mapping):
            out[name] = canonical_fields(value)
        elif isinstance(value, list | tuple):
            out[name] = [
                canonical_fields(v) if isinstance(v, Mapping) else _plain(v) for v in value
            ]
        else:
            out[name] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal) and value.is_finite():
        text = format(value.normalize(), "f")
        return Decimal(text)
    return value


def outcome(
    write: PendingWrite, status: outcomes.OutcomeStatus, *, errors: str = ""
) -> dict[str, Any]:
    """An outcome row of ``write`` (contract columns, then the Intacct extras)."""
    return {
        "row": write.row,
        "key": write.key,
        "id": None,
        "status": status,
        "done": status in outcomes.DONE_STATUSES,
        "errors": errors or None,
        "error_codes": None,
        "object": write.obj,
        "function": write.function.name,
        "control_id": write.function.control_id,
        "RECORDNO": None,
    }


def outcome_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The outcome frame of Intacct outcome rows: the contract's columns, then the extras."""
    return outcomes.outcome_frame(rows, INTACCT_EXTRAS)


def result_outcome(write: PendingWrite, result: Result) -> dict[str, Any]:
    """The outcome row of ``write`` from its ``result``; the gateway's error text is kept whole."""
    status: outcomes.OutcomeStatus
    if result.ok:
        status = _done_status(write.function)
    elif result.status == "aborted":
        status = "aborted"
    elif replay_kind(result, write.function.control_id) == "done":
        status = "already_done"
    else:
        status = "failed"
    row = outcome(write, status)
    if result.errors:
        row["errors"] = "; ".join(str(e) for e in result.errors)
        row["error_codes"] = ",".join(e.errorno for e in result.errors)
    records = result.records
    if records:
        first = records[0]
        row["RECORDNO"] = _text(first, "RECORDNO") or None
        id_field = _ID_FIELDS.get(write.obj.upper())
        row["id"] = (_text(first, id_field) if id_field else "") or row["RECORDNO"]
    if result.key:
        row["id"] = result.key
    return row


def _text(parent: etree._Element, tag: str) -> str:
    child = parent.find(tag)
    return "" if child is None or child.text is None else child.text.strip()

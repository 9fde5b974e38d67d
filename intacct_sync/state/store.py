"""The state store protocol and its records: watermarks, values, the posting ledger, the id map.

Any store that implements :class:`StateStore` can hold a workflow's state; the default is
:class:`~intacct_sync.state.sqlite.SQLiteStateStore`. Writes commit immediately: the ledger row of a posting is
written *before* the posting is sent (status ``pending``, with its control id) and updated after,
so a crash at any point leaves a record a rerun can finish from.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, Literal, Protocol

import attrs

from intacct_sync.errors import StateError

__all__ = ["IdMapping", "LedgerEntry", "LedgerStatus", "StateStore", "utc"]

LedgerStatus = Literal["pending", "posted", "failed"]


def utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise StateError(f"timestamps in the state store must be timezone-aware, got {value!r}")
    return value.astimezone(dt.UTC)


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """What was (or is being) posted for one source record.

    Attributes:
        workflow: ``actions``, ``kpi``, ``orders``...
        source_id: the source record's id (a CRM action id, ``kpi|day``, an opportunity id).
        control_id: the function control id the posting is sent under (idempotency key).
        status: ``pending`` (written before sending), ``posted`` or ``failed``.
        record_no: Intacct ``RECORDNO`` (or document id) once known.
        updated_at: when this row last changed (UTC).
        detail: free JSON-able detail (amounts, error text).
    """

    workflow: str
    source_id: str
    control_id: str
    status: LedgerStatus
    record_no: str | None = None
    updated_at: dt.datetime = attrs.field(factory=lambda: dt.datetime.now(dt.UTC))
    detail: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class IdMapping:
    """One record known on both sides (Salesforce Id <-> Intacct id and RECORDNO)."""

    object: str
    salesforce_id: str
    intacct_id: str
    intacct_record_no: str | None = None
    updated_at: dt.datetime = attrs.field(factory=lambda: dt.datetime.now(dt.UTC))


class StateStore(Protocol):
    """What the workflows need from a state store."""

    def get_watermark(self, name: str) -> dt.datetime | None:
        """The watermark ``name`` (UTC), or None when never set."""
        ...

    def set_watermark(self, name: str, value: dt.datetime) -> None:
        """Move watermark ``name`` to ``value``."""
        ...

    def get_value(self, namespace: str, key: str) -> Any:
        """A JSON value stored under ``namespace``/``key`` (None when absent)."""
        ...

    def set_value(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON value."""
        ...

    def values(self, namespace: str) -> dict[str, Any]:
        """Every key and value of ``namespace``."""
        ...

    def ledger_get(self, workflow: str, source_id: str) -> LedgerEntry | None:
        """The ledger row of a source record."""
        ...

    def ledger_put(self, entry: LedgerEntry) -> None:
        """Insert or replace a ledger row."""
        ...

    def ledger(self, workflow: str) -> list[LedgerEntry]:
        """Every ledger row of a workflow."""
        ...

    def iter_ledger(self, workflow: str, status: LedgerStatus) -> Iterator[LedgerEntry]:
        """Ledger rows of a workflow in one status."""
        ...

    def id_map_put(self, mapping: IdMapping) -> None:
        """Insert or replace an id mapping."""
        ...

    def id_map(self, obj: str) -> list[IdMapping]:
        """Every mapping of an object."""
        ...

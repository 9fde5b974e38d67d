"""The state store protocol and its records: watermarks, values, the posting ledger, the id map
and the run lease.

Any store that implements :class:`StateStore` can hold a workflow's state; the defaults are
:class:`~intacct_sync.state.sqlite.SQLiteStateStore` and
:class:`~intacct_sync.state.postgres.PostgresStateStore`, and
:func:`intacct_sync.testing.check_state_store` is the contract both pass. Writes commit
immediately: the ledger row of a posting is written *before* the posting is sent (status
``pending``, with its control id) and updated after, so a crash at any point leaves a record a
rerun can finish from. Every row belongs to the store's tenant: two stores over the same
database with different tenants never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, Literal, Protocol

import attrs

from intacct_sync._http.governor import SharedSlots
from intacct_sync.errors import StateError

__all__ = [
    "IdMapping",
    "Lease",
    "LedgerEntry",
    "LedgerStatus",
    "SharedSlots",
    "StateStore",
    "utc",
]

LedgerStatus = Literal["pending", "posted", "failed"]


def utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC; a naive datetime is refused (a store never guesses a zone).

    Args:
        value: a timezone-aware datetime.

    Returns:
        The same instant in UTC.
    """
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
        detail: free JSON-able detail. The posting engine keeps ``content_hash`` (what was
            posted, :mod:`intacct_sync.posting.identity`), ``reference`` (what the books are
            searched by), ``amount`` and, on failure, ``errors`` (the gateway's text) here.
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


@attrs.frozen(kw_only=True)
class Lease:
    """The run lease: who may run a workflow for a tenant, until when.

    Attributes:
        name: the lease (tenant and workflow: :func:`intacct_sync.state.lease_name`).
        holder: who holds it (``host:pid:run`` from :func:`intacct_sync.state.run_lease`).
        token: changes with every taking-over; renew and release act only on the lease this
            token names, so a run whose lease was taken over cannot release the new holder's.
        host: the holder's host name.
        pid: the holder's process id.
        started_at: when the holder first took the lease (UTC).
        expires_at: when another run may take it over unless it is renewed first (UTC).
    """

    name: str
    holder: str
    token: str
    host: str
    pid: int
    started_at: dt.datetime
    expires_at: dt.datetime


class StateStore(Protocol):
    """What the workflows need from a state store."""

    def get_watermark(self, name: str) -> dt.datetime | None:
        """The watermark ``name`` (UTC), or None when never set.

        Args:
            name: the watermark.

        Returns:
            The watermark (timezone-aware, UTC), or None when it was never set.
        """
        ...

    def set_watermark(self, name: str, value: dt.datetime) -> None:
        """Move watermark ``name`` to ``value``.

        Args:
            name: the watermark.
            value: a timezone-aware datetime (stored in UTC).
        """
        ...

    def get_value(self, namespace: str, key: str) -> Any:
        """A JSON value stored under ``namespace``/``key`` (None when absent).

        Args:
            namespace: the values' namespace.
            key: the key.

        Returns:
            The stored JSON value, or None when the key is absent.
        """
        ...

    def set_value(self, namespace: str, key: str, value: Any) -> None:
        """Store a JSON value.

        Args:
            namespace: the values' namespace.
            key: the key.
            value: any JSON-able value.
        """
        ...

    def values(self, namespace: str) -> dict[str, Any]:
        """Every key and value of ``namespace``.

        Args:
            namespace: the values' namespace.

        Returns:
            A dict of every key and its JSON value.
        """
        ...

    def ledger_get(self, workflow: str, source_id: str) -> LedgerEntry | None:
        """The ledger row of a source record.

        Args:
            workflow: the workflow.
            source_id: the source record's id.

        Returns:
            The :class:`LedgerEntry`, or None when the source record was never entered.
        """
        ...

    def ledger_put(self, entry: LedgerEntry) -> None:
        """Insert or replace a ledger row.

        Args:
            entry: the row to write (replacing the source record's earlier one).
        """
        ...

    def ledger(self, workflow: str) -> list[LedgerEntry]:
        """Every ledger row of a workflow.

        Args:
            workflow: the workflow.

        Returns:
            Every :class:`LedgerEntry` of the workflow.
        """
        ...

    def iter_ledger(self, workflow: str, status: LedgerStatus) -> Iterator[LedgerEntry]:
        """Ledger rows of a workflow in one status.

        Args:
            workflow: the workflow.
            status: the ledger status.

        Yields:
            Each :class:`LedgerEntry` in that status.
        """
        ...

    def id_map_put(self, mapping: IdMapping) -> None:
        """Insert or replace an id mapping.

        Args:
            mapping: the pair to record (replacing the Salesforce id's earlier one).
        """
        ...

    def id_map(self, obj: str) -> list[IdMapping]:
        """Every mapping of an object.

        Args:
            obj: the mapped object (``Account``).

        Returns:
            Every :class:`IdMapping` of the object.
        """
        ...

    def acquire_lease(self, name: str, holder: str, ttl: dt.timedelta) -> Lease | None:
        """Take lease ``name`` for ``ttl`` if it is free, expired or already ``holder``'s.

        Args:
            name: the lease (:func:`lease_name`).
            holder: who takes it (:func:`default_holder`).
            ttl: how long it lasts unless renewed.

        Returns:
            The lease, or None while another holder's lease has not expired.
        """
        ...

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
        ...

    def release_lease(self, lease: Lease) -> None:
        """Give ``lease`` up (nothing happens when it was already taken over).

        Args:
            lease: the lease taken (its token decides).
        """
        ...

    def lease_holder(self, name: str) -> Lease | None:
        """The unexpired lease ``name``, or None when nobody holds it.

        Args:
            name: the lease.

        Returns:
            The :class:`Lease`, or None when nobody holds it.
        """
        ...

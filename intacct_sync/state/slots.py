"""One request governor per company across every process that shares a state store.

>>> from intacct_sync.state import SQLiteStateStore, shared_governor
>>> state = SQLiteStateStore(":memory:")
>>> shared_governor(state, "intacct", "DEMO-DOCTEST").limit
2
"""

from __future__ import annotations

from intacct_sync._http.governor import Governor, SharedSlots, governor_for
from intacct_sync.state.store import StateStore

__all__ = ["shared_governor"]


def shared_governor(
    state: StateStore,
    system: str,
    company: str,
    *,
    limit: int | None = None,
    max_wait: float | None = None,
) -> Governor:
    """The governor of ``company`` shared by every client of every process using ``state``.

    Pass it to each client (``IntacctClient(..., governor=gov)``,
    ``SalesforceClient(..., governor=gov)``). The cross-process slots are the store's
    (``governor_slots()``: advisory locks in PostgreSQL, lock files beside a SQLite file); a
    store without them (``:memory:``, or a store of your own) limits this process only.

    Args:
        state: the state store the runs share.
        system: ``intacct`` or ``salesforce``.
        company: the Intacct company id, or the Salesforce org (its instance URL).
        limit: requests in flight allowed (default :data:`intacct_sync._http.governor.DEFAULT_LIMITS`).
        max_wait: seconds a request may wait for a slot (None: as long as it takes).

    Returns:
        The governor to pass to each client of the company.
    """
    make_slots = getattr(state, "governor_slots", None)
    slots: SharedSlots | None = make_slots() if callable(make_slots) else None
    return governor_for(system, company, limit=limit, shared=slots, max_wait=max_wait)

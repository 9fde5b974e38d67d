"""The write outcome contract both clients honour: one row per input record, the same columns.

Every ``create``, ``update``, ``upsert`` and ``delete`` of
:class:`~intacct_sync.IntacctClient` and :class:`~intacct_sync.SalesforceClient` returns a
DataFrame whose leading columns are :data:`OUTCOME_COLUMNS`, in this order, followed by each
system's extras (Intacct: ``object``, ``function``, ``control_id``, ``RECORDNO``; Salesforce:
``created``, ``fields``):

=========== ======== ===========================================================================
column      type     meaning
=========== ======== ===========================================================================
row         Int64    position of the record in the input (0-based)
key         string   the caller's key for the record (its identity; an external id; the id)
id          string   the system's id (Intacct RECORDNO or document id; Salesforce Id)
status      string   one of :data:`STATUSES`
done        boolean  the record is now as asked (``created``, ``updated``, ``deleted``,
                     ``already_done``)
errors      string   the system's error texts joined by ``;``, none when done
error_codes string   the system's error numbers or codes (``,``-joined)
=========== ======== ===========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, Literal

import pandas as pd

from intacct_sync import frames

__all__ = [
    "DONE_STATUSES",
    "OUTCOME_COLUMNS",
    "STATUSES",
    "OutcomeStatus",
    "outcome_frame",
]

OutcomeStatus = Literal[
    "created", "updated", "deleted", "already_done", "failed", "aborted", "unknown", "not_sent"
]

#: The one status vocabulary of write outcomes:
#: ``created`` / ``updated`` / ``deleted``: done by this call; ``already_done``: an earlier
#: attempt did it (Intacct refused to run the same control id again); ``failed``: refused;
#: ``aborted``: rolled back because another record of an all-or-nothing write failed;
#: ``unknown``: sent without an answer (it may have happened); ``not_sent``: never sent.
STATUSES: Final[tuple[OutcomeStatus, ...]] = (
    "created",
    "updated",
    "deleted",
    "already_done",
    "failed",
    "aborted",
    "unknown",
    "not_sent",
)
DONE_STATUSES: Final[frozenset[str]] = frozenset({"created", "updated", "deleted", "already_done"})

OUTCOME_COLUMNS: Final[Mapping[str, frames.Kind]] = {
    "row": "integer",
    "key": "text",
    "id": "text",
    "status": "text",
    "done": "boolean",
    "errors": "text",
    "error_codes": "text",
}


def outcome_frame(
    rows: Iterable[Mapping[str, Any]], extras: Mapping[str, frames.Kind] | None = None
) -> pd.DataFrame:
    """The outcome frame of ``rows``: the contract's columns first, then ``extras``.

    ``done`` is derived from ``status`` when a row does not give it.

    Args:
        rows: one mapping per record written, in input order, keyed by column name.
        extras: further columns and their kinds, after the contract's.

    Returns:
        A typed DataFrame with :data:`OUTCOME_COLUMNS` first (``row, key, id, status, done,
        errors, error_codes``), one row per input row.

    Raises:
        InputError: a value does not read as its column's kind.
    """
    kinds = {**OUTCOME_COLUMNS, **(extras or {})}
    records = []
    for row in rows:
        record = dict(row)
        record.setdefault("done", record.get("status") in DONE_STATUSES)
        records.append(record)
    return frames.frame_from_records(records, kinds, order=list(kinds))

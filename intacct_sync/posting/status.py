"""The one posting status vocabulary, shared by every workflow that writes to Intacct.

============== ================================================================================
status         meaning
============== ================================================================================
posted         written by this run, or found in the books (a previous attempt created it)
already_posted the ledger and the books already had it with the same content; nothing sent
failed         refused by Intacct; the gateway's error text is kept
pending        sent, outcome unknown (the answer was lost); the next run looks in the books first
skipped        refused before sending: invalid input or a failed preflight check
held           not sent because the run halted (an earlier batch stopped part way)
drift          posted earlier with different content: nothing is sent; a decision is needed
corrected      was drift, and ``correct_drift`` was on: the entry the books held was reversed
               and the new content reposted (both exactly once, see
               :mod:`intacct_sync.posting.corrections`); ``record_no`` is the repost's
============== ================================================================================

Only ``posted``, ``already_posted`` and ``corrected`` mean "in the books" (as the source now
reads). ``pending`` and ``held`` are finished by running again; ``drift`` and ``failed`` need a
person (or, for drift, ``correct_drift``).
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["IN_BOOKS", "PostingStatus", "STATUSES", "UNFINISHED"]

PostingStatus = Literal[
    "posted", "already_posted", "failed", "pending", "skipped", "held", "drift", "corrected"
]

#: Every posting status, in the order reports list them.
STATUSES: Final[tuple[PostingStatus, ...]] = (
    "posted",
    "already_posted",
    "failed",
    "pending",
    "skipped",
    "held",
    "drift",
    "corrected",
)
#: Statuses that mean the posting is in the books.
IN_BOOKS: Final[frozenset[str]] = frozenset({"posted", "already_posted", "corrected"})
#: Statuses a rerun finishes by itself.
UNFINISHED: Final[frozenset[str]] = frozenset({"pending", "held"})

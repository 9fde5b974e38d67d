"""The posting engine: the one way anything is posted to Intacct, exactly once.

Every workflow that writes to Intacct (journal entries from actions and from CSV files,
statistical KPI entries, sales orders) hands :func:`post` a list of :class:`Posting` items and
gets a :class:`PostingResult` back, with one status vocabulary
(:mod:`~intacct_sync.posting.status`): ``posted``, ``already_posted``, ``failed``, ``pending``,
``skipped``, ``held``, ``drift``, ``corrected``.

* :mod:`~intacct_sync.posting.identity`: NFC keys, normalised amounts, content hashes;
* :mod:`~intacct_sync.posting.books`: looking in Intacct by reference, in batches;
* :mod:`~intacct_sync.posting.engine`: identity -> control id -> ledger row ``pending`` ->
  (look in the books for anything unsettled) -> batched idempotent write -> outcome -> ledger;
* :mod:`~intacct_sync.posting.corrections`: the opt-in correcting entry for drift (reversal of
  what the books hold, then the repost), and what the books hold through earlier corrections.

See ``docs/reliability.md``.
"""

from __future__ import annotations

from intacct_sync.posting import engine, identity, status
from intacct_sync.posting.corrections import (
    PlannedCorrection,
    corrections_planned,
    corrections_text,
)
from intacct_sync.posting.engine import *  # noqa: F403
from intacct_sync.posting.identity import *  # noqa: F403
from intacct_sync.posting.status import *  # noqa: F403

__all__: list[str] = ["PlannedCorrection", "corrections_planned", "corrections_text"]
__all__ += engine.__all__
__all__ += identity.__all__
__all__ += status.__all__

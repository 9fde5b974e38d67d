"""Journal entries from CRM actions or CSV files: :mod:`intacct_sync.actions.journals` and
:mod:`intacct_sync.actions.journal_import`.

>>> from intacct_sync import journals
>>> plan = journals.from_actions(frame, catalog, mode="batch")  # doctest: +SKIP
>>> journals.post(ia, plan, state)  # doctest: +SKIP

See ``docs/actions.md``.
"""

from __future__ import annotations

from intacct_sync.actions import journal_import as _journal_import
from intacct_sync.actions import journals as _journals
from intacct_sync.actions.journal_import import *  # noqa: F403
from intacct_sync.actions.journals import *  # noqa: F403

__all__: list[str] = []
__all__ += _journals.__all__
__all__ += _journal_import.__all__

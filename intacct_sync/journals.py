"""Journal entries from CRM actions or CSV files, posted once each.

>>> from intacct_sync import journals
>>> plan = journals.from_actions(frame, catalog, mode="batch")  # doctest: +SKIP
>>> plan.entries_frame(), plan.lines_frame()  # doctest: +SKIP
>>> journals.post(ia, plan, state)  # doctest: +SKIP

See ``docs/actions.md``.
"""

from __future__ import annotations

from intacct_sync.domain.journals import (
    ACTIONS_WORKFLOW,
    DEFAULT_ACTIONS_JOURNAL,
    DEFAULT_IMPORT_JOURNAL,
    DESCRIPTION_LIMIT,
    IMPORT_COLUMNS,
    IMPORT_WORKFLOW,
    Description,
    JournalImport,
    JournalPlan,
    OnInvalid,
    PostingMode,
    PostReport,
    describe_action,
    entry_control_id,
    from_actions,
    post,
    post_journal_lines,
    read_journal_lines,
)

__all__ = [
    "ACTIONS_WORKFLOW",
    "DEFAULT_ACTIONS_JOURNAL",
    "DEFAULT_IMPORT_JOURNAL",
    "DESCRIPTION_LIMIT",
    "Description",
    "IMPORT_COLUMNS",
    "IMPORT_WORKFLOW",
    "JournalImport",
    "JournalPlan",
    "OnInvalid",
    "PostReport",
    "PostingMode",
    "describe_action",
    "entry_control_id",
    "from_actions",
    "post",
    "post_journal_lines",
    "read_journal_lines",
]

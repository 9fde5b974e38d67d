"""Workflow 1: CRM actions to Intacct journal entries.

The CR/DR tag catalog and validation (:mod:`~intacct_sync.actions.catalog`), journal entries
from actions or CSV files (:mod:`~intacct_sync.actions.journals`, also importable as
``intacct_sync.journals``) and the nightly sync (:mod:`~intacct_sync.actions.sync`).

>>> from intacct_sync import actions
>>> catalog = actions.build_catalog(ia)  # doctest: +SKIP
>>> report = actions.validate(frame, catalog, actions.TagSettings(location="require"))  # doctest: +SKIP
>>> actions.ActionSync(ia, sf, state).run()  # doctest: +SKIP

See ``docs/actions.md``.
"""

from __future__ import annotations

from intacct_sync.actions import catalog, sync
from intacct_sync.actions.catalog import *  # noqa: F403
from intacct_sync.actions.sync import *  # noqa: F403

__all__: list[str] = []
__all__ += catalog.__all__
__all__ += sync.__all__

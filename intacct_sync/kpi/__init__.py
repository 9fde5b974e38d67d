"""Workflow 2: KPIs as statistical journal entries, and KPI trends against the books.

Donor segments and daily totals (:mod:`~intacct_sync.kpi.segments`), their changes posted as
statistical entries (:mod:`~intacct_sync.kpi.posting`) and compared with the books
(:mod:`~intacct_sync.kpi.trends`). See ``docs/kpi.md``.

>>> from intacct_sync import kpi
>>> report = kpi.donor_segments(gifts, as_of="2026-06-30")  # doctest: +SKIP
"""

from __future__ import annotations

from intacct_sync.kpi import posting, segments, trends
from intacct_sync.kpi.posting import *  # noqa: F403
from intacct_sync.kpi.segments import *  # noqa: F403
from intacct_sync.kpi.trends import *  # noqa: F403

__all__: list[str] = []
__all__ += segments.__all__
__all__ += posting.__all__
__all__ += trends.__all__

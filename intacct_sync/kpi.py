"""Workflow 2: KPIs as statistical journal entries, and KPI trends against the books.

Re-exports :mod:`intacct_sync.domain.kpi`, :mod:`intacct_sync.domain.kpi_posting` and
:mod:`intacct_sync.domain.kpi_compare`; see
``docs/kpi.md``.

>>> from intacct_sync import kpi
>>> report = kpi.donor_segments(gifts, as_of="2026-06-30")  # doctest: +SKIP
"""

from __future__ import annotations

from intacct_sync.domain.kpi import (
    DEFAULT_ACCOUNTS,
    DEFAULT_SEGMENTS,
    FIGURES,
    GIFT_SOQL,
    KPI_OBJECT,
    WORKFLOW,
    Figures,
    GiftColumns,
    Rule,
    Segment,
    SegmentReport,
    daily_totals,
    donor_aggregates,
    donor_segments,
    gifts_from_salesforce,
)
from intacct_sync.domain.kpi_compare import (
    DEFAULT_GROUPS,
    Freq,
    TrendReport,
    ar_trends,
    compare,
    financials,
    gl_by_period,
    kpi_by_period,
)
from intacct_sync.domain.kpi_posting import (
    HoldingsReport,
    PostingReport,
    changes,
    check_holdings,
    post_changes,
    record_totals,
    recorded_totals,
    statistical_entries,
)

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DEFAULT_GROUPS",
    "DEFAULT_SEGMENTS",
    "FIGURES",
    "Figures",
    "Freq",
    "GIFT_SOQL",
    "GiftColumns",
    "HoldingsReport",
    "KPI_OBJECT",
    "PostingReport",
    "Rule",
    "Segment",
    "SegmentReport",
    "TrendReport",
    "WORKFLOW",
    "ar_trends",
    "changes",
    "check_holdings",
    "compare",
    "daily_totals",
    "donor_aggregates",
    "donor_segments",
    "financials",
    "gifts_from_salesforce",
    "gl_by_period",
    "kpi_by_period",
    "post_changes",
    "record_totals",
    "recorded_totals",
    "statistical_entries",
]

"""Workflow 3: order to cash (also importable as ``intacct_sync.sync``).

Masters both ways, in read -> plan -> apply steps: what is synced
(:mod:`~intacct_sync.o2c.mapping`), reading both sides into frozen snapshots
(:mod:`~intacct_sync.o2c.snapshots`), the pure matching and conflict rules
(:mod:`~intacct_sync.o2c.matching`), plan and apply (:mod:`~intacct_sync.o2c.masters`; the
writes in :mod:`~intacct_sync.o2c.masters_writes`) and what the apply did
(:mod:`~intacct_sync.o2c.masters_report`); closed-won opportunities to sales orders
(:mod:`~intacct_sync.o2c.orders`), invoice status back to the CRM
(:mod:`~intacct_sync.o2c.invoices`) and reconciliation (:mod:`~intacct_sync.o2c.reconciliation`).
Intacct's naive timestamps are read by one rule (:mod:`~intacct_sync.o2c.timestamps`). See
``docs/order-to-cash.md``.

>>> from intacct_sync import o2c
>>> plan = o2c.plan_masters(sf, ia, state)  # doctest: +SKIP
>>> report = o2c.apply_masters(plan, sf, ia, state)  # doctest: +SKIP
"""

from __future__ import annotations

from intacct_sync.o2c import (
    invoices,
    mapping,
    masters,
    masters_report,
    matching,
    orders,
    reconciliation,
    snapshots,
)
from intacct_sync.o2c.invoices import *  # noqa: F403
from intacct_sync.o2c.mapping import *  # noqa: F403
from intacct_sync.o2c.masters import *  # noqa: F403
from intacct_sync.o2c.masters_report import *  # noqa: F403
from intacct_sync.o2c.matching import *  # noqa: F403
from intacct_sync.o2c.orders import *  # noqa: F403
from intacct_sync.o2c.reconciliation import *  # noqa: F403
from intacct_sync.o2c.snapshots import *  # noqa: F403

__all__: list[str] = []
__all__ += mapping.__all__
__all__ += snapshots.__all__
__all__ += matching.__all__
__all__ += masters.__all__
__all__ += masters_report.__all__
__all__ += orders.__all__
__all__ += invoices.__all__
__all__ += reconciliation.__all__

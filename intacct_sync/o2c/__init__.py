"""Workflow 3: order to cash (also importable as ``intacct_sync.sync``).

Masters both ways (:mod:`~intacct_sync.o2c.masters`), closed-won opportunities to sales orders
(:mod:`~intacct_sync.o2c.orders`), invoice status back to the CRM
(:mod:`~intacct_sync.o2c.invoices`) and reconciliation (:mod:`~intacct_sync.o2c.reconciliation`).
See ``docs/order-to-cash.md``.

>>> from intacct_sync import o2c
>>> plan = o2c.plan_masters(sf, ia, state)  # doctest: +SKIP
"""

from __future__ import annotations

from intacct_sync.o2c import invoices, masters, orders, reconciliation
from intacct_sync.o2c.invoices import *  # noqa: F403
from intacct_sync.o2c.masters import *  # noqa: F403
from intacct_sync.o2c.orders import *  # noqa: F403
from intacct_sync.o2c.reconciliation import *  # noqa: F403

__all__: list[str] = []
__all__ += masters.__all__
__all__ += orders.__all__
__all__ += invoices.__all__
__all__ += reconciliation.__all__

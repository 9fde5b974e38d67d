"""Order to cash under its original import path: everything in :mod:`intacct_sync.o2c`.

>>> from intacct_sync import sync
>>> plan = sync.plan_masters(sf, ia, state)  # doctest: +SKIP
>>> report = sync.apply_masters(plan, sf, ia, state)  # doctest: +SKIP
>>> print(sync.reconcile(sf, ia, state))  # doctest: +SKIP
"""

from __future__ import annotations

# Star imports from each module, not from the package: type checkers follow one level of
# ``__all__ +=``, and the names then stay exactly the package's.
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

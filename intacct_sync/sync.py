"""Order to cash: masters both ways, closed-won to sales order, invoice status back to the CRM.

>>> from intacct_sync import sync
>>> plan = sync.plan_masters(sf, ia, state)  # doctest: +SKIP
>>> plan.apply()  # doctest: +SKIP
>>> print(sync.reconcile(sf, ia, state))  # doctest: +SKIP
"""

from __future__ import annotations

from intacct_sync.domain.invoices import AGING_FIELDS, InvoicesPlan, aging_bucket, plan_invoices
from intacct_sync.domain.masters import (
    DEFAULT_ACCOUNT_MAPPING,
    DEFAULT_PRODUCT_MAPPING,
    PRICE_FIELD,
    ApplyResult,
    ConflictRule,
    FieldMap,
    MasterChange,
    MastersConfig,
    MastersPlan,
    ObjectMapping,
    decide,
    normalise_name,
    plan_masters,
)
from intacct_sync.domain.orders import (
    OrderPlanRow,
    OrdersConfig,
    OrdersPlan,
    OrderToCashRun,
    plan_orders,
    sync_order_to_cash,
)
from intacct_sync.domain.reconcile import ReconcileReport, reconcile

__all__ = [
    "AGING_FIELDS",
    "DEFAULT_ACCOUNT_MAPPING",
    "DEFAULT_PRODUCT_MAPPING",
    "PRICE_FIELD",
    "ApplyResult",
    "ConflictRule",
    "FieldMap",
    "InvoicesPlan",
    "MasterChange",
    "MastersConfig",
    "MastersPlan",
    "ObjectMapping",
    "OrderPlanRow",
    "OrderToCashRun",
    "OrdersConfig",
    "OrdersPlan",
    "ReconcileReport",
    "aging_bucket",
    "decide",
    "normalise_name",
    "plan_invoices",
    "plan_masters",
    "plan_orders",
    "reconcile",
    "sync_order_to_cash",
]

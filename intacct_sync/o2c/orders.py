"""Closed Won opportunities become Intacct sales orders, once each.

:func:`plan_orders` reads the Closed Won opportunities that have no Intacct document yet, checks
each (its lines must have products and add up to its ``Amount``; its customer and items must be
in Intacct) and returns an :class:`OrdersPlan`. :meth:`OrdersPlan.apply` creates the documents
with ``create_sotransaction`` under a control id derived from the opportunity Id, writing the
ledger row (``pending``) before sending and (``posted``, with the document id) after, records the
id map (``Opportunity`` -> document id) and writes the document id back to
``Opportunity.Intacct_Document_ID__c``. A rerun sends nothing for a posted opportunity and
resends a pending one under the same control id (Intacct refuses a second execution).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import InputError
from intacct_sync.intacct import create_control_id
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.filters import query_string
from intacct_sync.intacct.models import SalesOrder, SalesOrderLine
from intacct_sync.o2c.invoices import InvoicesPlan, plan_invoices
from intacct_sync.o2c.masters import MastersConfig, MastersPlan, plan_masters
from intacct_sync.reports import Report
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import IdMapping, LedgerEntry, StateStore

__all__ = [
    "OrderPlanRow",
    "OrderToCashRun",
    "OrdersConfig",
    "OrdersPlan",
    "plan_orders",
    "sync_order_to_cash",
]

log = logging.getLogger("intacct_sync.o2c.orders")

WORKFLOW = "orders"
CENT = Decimal("0.01")
Status = Literal["ready", "rejected", "blocked", "done", "linked"]


@attrs.frozen(kw_only=True)
class OrdersConfig:
    """Settings of the closed-won to sales-order workflow.

    Attributes:
        transaction_type: the Intacct transaction definition. ``Sales Order`` (default); use an
            invoice definition such as ``Sales Invoice`` for straight-to-invoice mode (the
            document is then the invoice; no separate conversion step in Intacct).
        state: document state (None: the definition's default).
        term_name: payment terms (None: the customer's default terms).
        stage: the opportunity stage that means won.
        since: only opportunities closed on or after this date (None: all).
        document_id_field: the Opportunity field the document id is written to.
    """

    transaction_type: str = "Sales Order"
    state: str | None = None
    term_name: str | None = None
    stage: str = "Closed Won"
    since: dt.date | None = None
    document_id_field: str = "Intacct_Document_ID__c"


@attrs.frozen(kw_only=True)
class OrderPlanRow:
    """One Closed Won opportunity and what happens to it.

    ``status``: ``ready`` (will be created), ``rejected`` (its data is wrong: ``reason`` says
    what), ``blocked`` (its customer or an item is not in Intacct), ``done`` (already posted per
    the ledger), ``linked`` (the opportunity already names an Intacct document).
    """

    opportunity_id: str
    name: str
    account_id: str | None
    customer_id: str | None
    close_date: dt.date | None
    amount: Decimal | None
    lines_total: Decimal
    lines: int
    status: Status
    reason: str = ""
    document_id: str | None = None
    order: SalesOrder | None = None


class OrdersPlan(Report):
    """Closed Won opportunities and their sales orders; :meth:`apply` creates the ready ones."""

    def __init__(
        self,
        *,
        sf: SalesforceClient,
        ia: IntacctClient,
        state: StateStore,
        config: OrdersConfig,
        rows: list[OrderPlanRow],
    ) -> None:
        self._sf, self._ia, self._state, self.config = sf, ia, state, config
        self.rows = rows
        self.applied: list[OrderPlanRow] | None = None

    @property
    def ready(self) -> list[OrderPlanRow]:
        """The opportunities that will become sales orders."""
        return [r for r in self.rows if r.status == "ready"]

    def to_frame(self) -> pd.DataFrame:
        """Columns: opportunity_id, name, customer_id, close_date, amount, lines_total, lines,
        status, reason, document_id."""
        rows = self.applied if self.applied is not None else self.rows
        records = [
            {
                "opportunity_id": r.opportunity_id,
                "name": r.name,
                "customer_id": r.customer_id,
                "close_date": r.close_date,
                "amount": r.amount,
                "lines_total": r.lines_total,
                "lines": r.lines,
                "status": r.status,
                "reason": r.reason,
                "document_id": r.document_id,
            }
            for r in rows
        ]
        kinds: dict[str, frames.Kind] = {
            "opportunity_id": "text",
            "name": "text",
            "customer_id": "text",
            "close_date": "date",
            "amount": "decimal",
            "lines_total": "decimal",
            "lines": "integer",
            "status": "text",
            "reason": "text",
            "document_id": "text",
        }
        return frames.frame_from_records(records, kinds)

    def summary(self) -> str:
        """Counts per status."""
        rows = self.applied if self.applied is not None else self.rows
        counts: dict[str, int] = {}
        for r in rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
        verb = "applied" if self.applied is not None else "plan"
        return f"Sales orders {verb} ({self.config.transaction_type}): {text}"

    def apply(self) -> OrdersPlan:
        """Create the ready sales orders (and finish pending ones from a crashed run).

        Returns:
            This plan, with :attr:`applied` rows (``done`` with the document id, or ``failed``
            reasons as ``blocked``).

        Raises:
            IncompleteWriteError: the create stopped part way; the ledger rows stay
                ``pending`` and the rerun finishes them under the same control ids.
        """
        ready = self.ready
        orders = [r.order for r in ready if r.order is not None]
        for row, order in zip(ready, orders, strict=True):
            self._state.ledger_put(
                LedgerEntry(
                    workflow=WORKFLOW,
                    source_id=row.opportunity_id,
                    control_id=_order_control_id(order),
                    status="pending",
                    detail={"customer_id": order.customer_id, "total": str(order.total)},
                )
            )
        outcome = self._ia.create_sales_orders(orders) if orders else None
        results = _outcome_rows(outcome)
        missing = [
            r.opportunity_id
            for r, res in zip(ready, results, strict=False)
            if res.get("done") and not res.get("id")
        ]
        found = _documents_by_reference(self._ia, missing) if missing else {}
        applied: list[OrderPlanRow] = []
        write_back: list[dict[str, Any]] = []
        by_id = {r.opportunity_id: r for r in ready}
        for row in self.rows:
            if row.opportunity_id not in by_id:
                if row.status == "done" and row.document_id:
                    # Posted by an earlier run that stopped before the write-back.
                    write_back.append(
                        {"Id": row.opportunity_id, self.config.document_id_field: row.document_id}
                    )
                applied.append(row)
                continue
            res = results[ready.index(row)] if ready.index(row) < len(results) else {}
            doc = res.get("id") or found.get(row.opportunity_id)
            if res.get("done") and doc:
                self._record(row, str(doc), "posted")
                write_back.append({"Id": row.opportunity_id, self.config.document_id_field: doc})
                applied.append(attrs.evolve(row, status="done", document_id=str(doc)))
            else:
                error = res.get("errors") or "no document id returned"
                self._record(row, None, "failed", error=str(error))
                applied.append(attrs.evolve(row, status="blocked", reason=f"Intacct: {error}"))
        if write_back:
            self._sf.update("Opportunity", write_back)
        self.applied = applied
        return self

    def _record(
        self, row: OrderPlanRow, doc: str | None, status: Literal["posted", "failed"], **extra: str
    ) -> None:
        order = row.order
        assert order is not None
        self._state.ledger_put(
            LedgerEntry(
                workflow=WORKFLOW,
                source_id=row.opportunity_id,
                control_id=_order_control_id(order),
                status=status,
                record_no=doc,
                detail={"customer_id": order.customer_id, "total": str(order.total), **extra},
            )
        )
        if doc:
            self._state.id_map_put(
                IdMapping(object="Opportunity", salesforce_id=row.opportunity_id, intacct_id=doc)
            )


def _order_control_id(order: SalesOrder) -> str:
    # The same derivation IntacctClient.create_sales_orders uses, so the ledger names the
    # control id the gateway will see.
    return create_control_id(order)


def _outcome_rows(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None:
        return []
    return [
        {k: (None if v is pd.NA else v) for k, v in r.items()}
        for r in frames.frame_to_records(frame)
    ]


def _documents_by_reference(ia: IntacctClient, opportunity_ids: list[str]) -> dict[str, str]:
    """Document ids of orders already created (a rerun gets ``duplicate`` without the id)."""
    found: dict[str, str] = {}
    for start in range(0, len(opportunity_ids), 100):
        chunk = opportunity_ids[start : start + 100]
        frame = ia.read_by_query(
            "SODOCUMENT",
            query_string("REFERENCENO IN {}", chunk),
            fields=["DOCID", "REFERENCENO"],
        )
        for r in frames.frame_to_records(frame):
            found[str(r["REFERENCENO"])] = str(r["DOCID"])
    return found


def _money(value: Any) -> Decimal | None:
    return frames.parse_decimal(value)


def plan_orders(
    sf: SalesforceClient,
    ia: IntacctClient,
    state: StateStore,
    config: OrdersConfig | None = None,
) -> OrdersPlan:
    """Plan one Intacct sales order per Closed Won opportunity not yet posted.

    Checks, each reported with a clear reason: the opportunity has line items; every line has a
    product; ``Amount`` equals the sum of the lines' ``TotalPrice`` (to the cent); its account
    is linked to an active Intacct customer (id map, or ``Intacct_Customer_ID__c``) and every
    product to an Intacct item. Run the masters sync first (``sync_order_to_cash`` does) so that
    missing customers and items are created.

    Args:
        sf: the Salesforce client.
        ia: the Intacct client.
        state: the state store (ledger ``orders``, id map).
        config: transaction definition and filters.

    Returns:
        An :class:`OrdersPlan`.

    >>> plan = plan_orders(sf, ia, state)  # doctest: +SKIP
    >>> plan.to_frame().query("status == 'rejected'")[["name", "reason"]]  # doctest: +SKIP
    """
    cfg = config or OrdersConfig()
    conditions = [
        soql("StageName = {}", cfg.stage),
        f"{_field(cfg.document_id_field)} = null",
    ]
    if cfg.since is not None:
        conditions.append(soql("CloseDate >= {}", cfg.since))
    opps = sf.query(
        "SELECT Id, Name, AccountId, Account.Name, Account.Intacct_Customer_ID__c, Amount, "
        "CloseDate, Description, (SELECT Id, Name, Description, Quantity, UnitPrice, Discount, "
        "TotalPrice, Product2Id, Product2.Intacct_Item_ID__c, PricebookEntryId "
        "FROM OpportunityLineItems ORDER BY Id) FROM Opportunity WHERE "
        + " AND ".join(conditions)
        + " ORDER BY CloseDate, Id"
    )
    lines = opps.attrs["children"]["OpportunityLineItems"]
    by_parent: dict[str, list[dict[str, Any]]] = {}
    for line in frames.frame_to_records(lines):
        by_parent.setdefault(str(line["ParentId"]), []).append(line)
    accounts = {m.salesforce_id: m.intacct_id for m in state.id_map("Account")}
    products = {m.salesforce_id: m.intacct_id for m in state.id_map("Product2")}
    records = frames.frame_to_records(opps)
    wanted_customers = set(accounts.values()) | {
        str(r["Account.Intacct_Customer_ID__c"])
        for r in records
        if _na(r.get("Account.Intacct_Customer_ID__c")) is not None
    }
    customers = _active(ia, "CUSTOMER", "CUSTOMERID", sorted(wanted_customers))
    wanted_items = set(products.values()) | {
        str(line["Product2.Intacct_Item_ID__c"])
        for line in frames.frame_to_records(lines)
        if _na(line.get("Product2.Intacct_Item_ID__c")) is not None
    }
    items = _active(ia, "ITEM", "ITEMID", sorted(wanted_items))
    rows = [
        _check(cfg, state, r, by_parent.get(str(r["Id"]), []), accounts, products, customers, items)
        for r in records
    ]
    return OrdersPlan(sf=sf, ia=ia, state=state, config=cfg, rows=rows)


def _field(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise InputError("not a field name", field="document_id_field", value=name)
    return name


def _active(ia: IntacctClient, obj: str, id_field: str, ids: list[str]) -> dict[str, bool]:
    if not ids:
        return {}
    frame = ia.read_by_name(obj, ids, fields=[id_field, "STATUS"])
    return {
        str(r[id_field]): str(r["STATUS"]).lower() == "active"
        for r in frames.frame_to_records(frame)
    }


def _na(value: Any) -> Any:
    return None if value is pd.NA or value is pd.NaT else value


def _check(
    cfg: OrdersConfig,
    state: StateStore,
    opp: Mapping[str, Any],
    lines: list[dict[str, Any]],
    accounts: Mapping[str, str],
    products: Mapping[str, str],
    customers: Mapping[str, bool],
    items: Mapping[str, bool],
) -> OrderPlanRow:
    opp_id = str(opp["Id"])
    amount = _money(_na(opp.get("Amount")))
    close = _na(opp.get("CloseDate"))
    close_date = close.date() if isinstance(close, dt.datetime | pd.Timestamp) else close
    total = sum((_money(_na(line.get("TotalPrice"))) or Decimal(0) for line in lines), Decimal(0))
    account_id = _na(opp.get("AccountId"))
    customer = accounts.get(str(account_id)) or _na(opp.get("Account.Intacct_Customer_ID__c"))
    base = OrderPlanRow(
        opportunity_id=opp_id,
        name=str(opp.get("Name") or ""),
        account_id=account_id,
        customer_id=customer,
        close_date=close_date,
        amount=amount,
        lines_total=total,
        lines=len(lines),
        status="ready",
    )
    entry = state.ledger_get(WORKFLOW, opp_id)
    if entry is not None and entry.status == "posted":
        return attrs.evolve(
            base,
            status="done",
            document_id=entry.record_no,
            reason="posted earlier (ledger); the document id write-back is repeated",
        )
    if not lines:
        return attrs.evolve(base, status="rejected", reason="the opportunity has no line items")
    no_product = [
        str(line.get("Name") or line["Id"]) for line in lines if not _na(line.get("Product2Id"))
    ]
    if no_product:
        return attrs.evolve(
            base,
            status="rejected",
            reason=f"line(s) without a product: {', '.join(no_product)}",
        )
    if amount is None or amount.quantize(CENT) != total.quantize(CENT):
        return attrs.evolve(
            base,
            status="rejected",
            reason=f"Amount {amount} does not equal the sum of its lines' TotalPrice {total} "
            f"(difference {(amount or Decimal(0)) - total})",
        )
    if not customer:
        return attrs.evolve(
            base,
            status="blocked",
            reason=f"account {opp.get('Account.Name')} ({account_id}) is not linked to an Intacct "
            "customer (see the masters plan: duplicate or ambiguous?)",
        )
    if customer not in customers:
        return attrs.evolve(
            base, status="blocked", reason=f"customer {customer} does not exist in Intacct"
        )
    if not customers[customer]:
        return attrs.evolve(base, status="blocked", reason=f"customer {customer} is inactive")
    order_lines = []
    for line in lines:
        product = str(line["Product2Id"])
        item = products.get(product) or _na(line.get("Product2.Intacct_Item_ID__c"))
        if not item or item not in items:
            return attrs.evolve(
                base,
                status="blocked",
                reason=f"product {product} of line {line.get('Name')} is not an Intacct item "
                f"({item or 'no item id'})",
            )
        if not items[item]:
            return attrs.evolve(base, status="blocked", reason=f"item {item} is inactive")
        discount = _money(_na(line.get("Discount")))
        order_lines.append(
            SalesOrderLine(
                item_id=str(item),
                quantity=_money(_na(line.get("Quantity"))) or Decimal(0),
                price=_money(_na(line.get("UnitPrice"))),
                discount_percent=discount if discount else None,
                description=_na(line.get("Description")) or _na(line.get("Name")),
                memo=f"Salesforce line {line['Id']}",
            )
        )
    order = SalesOrder(
        key=opp_id,
        customer_id=str(customer),
        date=close_date or dt.datetime.now(dt.UTC).date(),
        lines=order_lines,
        transaction_type=cfg.transaction_type,
        reference_no=opp_id,
        term_name=cfg.term_name,
        message=str(opp.get("Name") or "")[:200] or None,
        state=cfg.state,
    )
    if entry is not None and entry.status == "pending":
        return attrs.evolve(base, order=order, reason="resending a pending order (same control id)")
    return attrs.evolve(base, order=order)


@attrs.define
class OrderToCashRun(Report):
    """The three steps of one order-to-cash run: masters, orders, invoices (in that order).

    ``dry_run`` runs hold the plans only; otherwise each plan has been applied.
    """

    masters: MastersPlan
    orders: OrdersPlan | None
    invoices: InvoicesPlan | None
    dry_run: bool

    def to_frame(self) -> pd.DataFrame:
        """One row per step: step, summary."""
        steps: list[tuple[str, Report]] = [("masters", self.masters)]
        steps += [("orders", self.orders)] if self.orders is not None else []
        steps += [("invoices", self.invoices)] if self.invoices is not None else []
        rows = [{"step": name, "summary": plan.summary()} for name, plan in steps]
        if self.masters.result is not None:
            rows.insert(1, {"step": "masters applied", "summary": self.masters.result.summary()})
        return frames.frame_from_records(rows, {"step": "text", "summary": "text"})

    def summary(self) -> str:
        """Dry run or applied."""
        return "Order to cash " + ("(dry run: nothing written)" if self.dry_run else "applied")


def sync_order_to_cash(
    sf: SalesforceClient,
    ia: IntacctClient,
    state: StateStore,
    *,
    dry_run: bool = False,
    masters_config: MastersConfig | None = None,
    orders_config: OrdersConfig | None = None,
    today: dt.date | None = None,
) -> OrderToCashRun:
    """Run masters -> orders -> invoices: the masters sync first creates the customers and items
    the orders need; then the Closed Won opportunities become sales orders; then invoice status
    and aging flow back.

    Args:
        sf: the Salesforce client.
        ia: the Intacct client.
        state: the state store.
        dry_run: plan only (the order and invoice plans then see the masters as they are now:
            orders whose customer the masters sync would create show as ``blocked``).
        masters_config: masters settings.
        orders_config: sales-order settings.
        today: the day days overdue are counted to.

    Returns:
        An :class:`OrderToCashRun` with the three plans.

    Raises:
        IncompleteWriteError: a write stopped part way; rerun to finish (nothing is repeated).
    """
    mcfg = masters_config or MastersConfig()
    masters = plan_masters(sf, ia, state, mcfg)
    if not dry_run:
        masters.apply()
    orders = plan_orders(sf, ia, state, orders_config)
    if not dry_run:
        orders.apply()
    invoices = plan_invoices(sf, ia, state, today=today, intacct_timezone=mcfg.intacct_timezone)
    if not dry_run:
        invoices.apply()
    return OrderToCashRun(masters=masters, orders=orders, invoices=invoices, dry_run=dry_run)

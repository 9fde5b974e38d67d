"""Closed Won opportunities become Intacct sales orders, once each.

:func:`plan_orders` reads the Closed Won opportunities that have no Intacct document yet, checks
each (its lines must have products and add up to its ``Amount``; its customer and items must be
in Intacct) and returns an :class:`OrdersPlan` (frozen data: no clients inside).
:func:`apply_orders` posts the ready ones through the posting engine (:mod:`intacct_sync.posting`):
``create_sotransaction`` under a control id derived from the opportunity Id, the ledger row
(``pending``) written before sending and (``posted``, with the document id) after, anything the
ledger cannot vouch for looked up in Intacct by its reference first; then it records the id map
(``Opportunity`` -> document id) and writes the document id back to
``Opportunity.Intacct_Document_ID__c``. A rerun sends nothing for a posted opportunity, and a
pending one is sent again only when Intacct provably does not have it.
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
from intacct_sync.errors import IncompleteWriteError, InputError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import SalesOrder, SalesOrderLine
from intacct_sync.o2c.invoices import InvoicesPlan, InvoicesReport, apply_invoices, plan_invoices
from intacct_sync.o2c.mapping import MastersConfig
from intacct_sync.o2c.masters import MastersPlan, apply_masters, plan_masters
from intacct_sync.o2c.masters_report import MastersReport
from intacct_sync.posting import engine as posting_engine
from intacct_sync.posting.engine import Posting
from intacct_sync.posting.status import PostingStatus
from intacct_sync.reports import Report, Scope, plural, value_text
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import IdMapping, StateStore
from intacct_sync.state.tenancy import bind_tenant

__all__ = [
    "OrderPlanRow",
    "OrderToCashRun",
    "OrdersConfig",
    "OrdersPlan",
    "OrdersReport",
    "apply_orders",
    "plan_orders",
    "sync_order_to_cash",
]

log = logging.getLogger("intacct_sync.o2c.orders")

WORKFLOW = "orders"
CENT = Decimal("0.01")
Status = Literal["ready", "rejected", "blocked", "done", "linked"] | PostingStatus


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
        on_invalid: what an opportunity that cannot become an order (``rejected``: its data
            is wrong; ``blocked``: Intacct would refuse it, its customer or an item missing or
            inactive there) does to the run: ``skip`` (default: only it is left out, as
            before; sales orders are documents, not ledger postings) or ``halt`` (no order is
            sent; the ready ones are ``held``). The same word is the posting engine's
            preflight policy.
    """

    transaction_type: str = "Sales Order"
    state: str | None = None
    term_name: str | None = None
    stage: str = "Closed Won"
    since: dt.date | None = None
    document_id_field: str = "Intacct_Document_ID__c"
    on_invalid: Literal["halt", "skip"] = attrs.field(default="skip")

    @on_invalid.validator
    def _check_on_invalid(self, _: attrs.Attribute[str], value: str) -> None:
        if value not in ("halt", "skip"):
            raise InputError("on_invalid is 'halt' or 'skip'", field="on_invalid", value=value)


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


@attrs.frozen(kw_only=True, eq=False, repr=False)
class OrdersPlan(Report):
    """Closed Won opportunities and their sales orders (frozen data: no clients inside).

    :func:`apply_orders` creates the ready ones.
    """

    config: OrdersConfig
    rows: tuple[OrderPlanRow, ...]
    scope: Scope = attrs.field(factory=Scope)

    @property
    def ready(self) -> list[OrderPlanRow]:
        """The opportunities that will become sales orders."""
        return [r for r in self.rows if r.status == "ready"]

    def to_frame(self) -> pd.DataFrame:
        """Columns: opportunity_id, name, customer_id, close_date, amount, lines_total, lines,
        status, reason, document_id.

        Returns:
            A DataFrame with one row per opportunity.
        """
        return _rows_frame(self.rows)

    def summary(self) -> str:
        """Counts per status, and the Intacct company and entity.

        Returns:
            One line, for a person.
        """
        return self.scope.after(
            f"Sales orders plan ({self.config.transaction_type}): {_counts(self.rows)}"
        )


@attrs.frozen(kw_only=True, eq=False, repr=False)
class OrdersReport(Report):
    """What :func:`apply_orders` did, one row per planned opportunity.

    ``status`` is the posting engine's vocabulary (:mod:`intacct_sync.posting.status`):
    ``posted`` (created by this run, or found in Intacct by its reference), ``already_posted``
    (the ledger had it; the document id write-back is repeated), ``failed`` (Intacct refused:
    ``reason`` holds its text), ``pending`` (sent, unanswered), ``held`` (not sent: the run
    stopped, or halted: ``on_invalid="halt"`` and some opportunity was rejected or blocked),
    ``skipped`` (rejected or blocked in the plan: ``reason`` says why), ``drift`` (posted
    earlier with other figures: nothing sent, ``reason`` says what to do).

    Attributes:
        halted: nothing was sent because some opportunity was rejected or blocked
            (``on_invalid="halt"``).
        scope: the Intacct company and entity written in.
    """

    config: OrdersConfig
    rows: tuple[OrderPlanRow, ...]
    halted: bool = False
    scope: Scope = attrs.field(factory=Scope)

    def to_frame(self) -> pd.DataFrame:
        """The same columns as :meth:`OrdersPlan.to_frame`.

        Returns:
            A DataFrame with one row per opportunity.
        """
        return _rows_frame(self.rows)

    def count(self, status: str) -> int:
        """Opportunities with ``status``.

        Args:
            status: an order status (``posted``, ``failed``...).

        Returns:
            The number of opportunities with that status.
        """
        return sum(1 for r in self.rows if r.status == status)

    def summary(self) -> str:
        """Counts per status, and the Intacct company and entity.

        Returns:
            One line, for a person.
        """
        state = "HALTED: nothing sent; " if self.halted else ""
        return self.scope.after(
            f"Sales orders applied ({self.config.transaction_type}): {state}{_counts(self.rows)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-able document: summary, scope, counts and every row.

        Returns:
            A dict that ``json.dumps`` can write.
        """
        counts: dict[str, int] = {}
        for r in self.rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "halted": self.halted,
            "counts": dict(sorted(counts.items())),
            "rows": frames.frame_to_records(self.to_frame()),
        }


def _counts(rows: tuple[OrderPlanRow, ...]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"


_ROW_KINDS: Mapping[str, frames.Kind] = {
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


def _rows_frame(rows: tuple[OrderPlanRow, ...]) -> pd.DataFrame:
    records = [{k: getattr(r, k) for k in _ROW_KINDS} for r in rows]
    return frames.frame_from_records(records, _ROW_KINDS)


def apply_orders(
    plan: OrdersPlan, ia: IntacctClient, sf: SalesforceClient, state: StateStore
) -> OrdersReport:
    """Create the plan's ready sales orders through the posting engine, once each ever.

    Orders the ledger cannot vouch for (new, or ``pending`` after a crash or a lost answer)
    are first looked up in Intacct by their reference (the opportunity id); only those provably
    absent are sent. Posted orders are recorded in the id map (``Opportunity`` -> document id)
    and their document id is written back to the opportunity.

    Args:
        plan: from :func:`plan_orders`.
        ia: the Intacct client.
        sf: the Salesforce client (the document id write-back).
        state: the state store (ledger ``orders``, id map).

    Returns:
        An :class:`OrdersReport`.

    Raises:
        IncompleteWriteError: the create stopped part way; ``.outcomes`` is the report's frame
            (``.report`` the :class:`OrdersReport`). The rerun finishes: nothing is posted twice.
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    bind_tenant(state, ia)
    cfg = plan.config
    refused = [r for r in plan.rows if r.status in ("rejected", "blocked")]
    halted = bool(refused) and cfg.on_invalid == "halt"
    # Halted, nothing new is sent; the ones the ledger has as posted still go to the engine,
    # which sends nothing for them (and so repeats their write-back).
    sending = ("done",) if halted else ("ready", "done")
    sendable = [r for r in plan.rows if r.order is not None and r.status in sending]
    postings = [
        Posting(key=r.opportunity_id, record=r.order, reference=r.opportunity_id)
        for r in sendable
        if r.order is not None
    ]
    result = posting_engine.post(ia, state, WORKFLOW, postings, on_breach=cfg.on_invalid)
    outcomes = {r.opportunity_id: o for r, o in zip(sendable, result.outcomes, strict=True)}
    applied: list[OrderPlanRow] = []
    write_back: list[dict[str, Any]] = []
    for row in plan.rows:
        outcome = outcomes.get(row.opportunity_id)
        if outcome is None:
            if halted and row.status == "ready":
                applied.append(attrs.evolve(row, status="held", reason=_halt_reason(refused)))
            elif row.status in ("done", "linked"):
                if row.status == "done" and row.document_id:
                    # Posted by an earlier run that stopped before the write-back.
                    write_back.append(
                        {"Id": row.opportunity_id, cfg.document_id_field: row.document_id}
                    )
                applied.append(attrs.evolve(row, status="already_posted"))
            else:
                applied.append(attrs.evolve(row, status="skipped"))
            continue
        doc = outcome.record_no
        if outcome.status in ("posted", "already_posted") and doc:
            state.id_map_put(
                IdMapping(object="Opportunity", salesforce_id=row.opportunity_id, intacct_id=doc)
            )
            write_back.append({"Id": row.opportunity_id, cfg.document_id_field: doc})
            applied.append(attrs.evolve(row, status=outcome.status, document_id=doc))
        elif outcome.status == "drift":
            applied.append(
                attrs.evolve(
                    row,
                    status="drift",
                    document_id=doc,
                    reason=f"total now {outcome.amount}, posted {outcome.posted_amount}: "
                    f"{posting_engine.DRIFT_ACTION}",
                )
            )
        elif outcome.status == "failed":
            applied.append(attrs.evolve(row, status="failed", reason=f"Intacct: {outcome.errors}"))
        else:
            applied.append(
                attrs.evolve(row, status=outcome.status, reason=outcome.errors or row.reason)
            )
    if write_back:
        sf.update("Opportunity", write_back)
    report = OrdersReport(config=cfg, rows=tuple(applied), halted=halted, scope=Scope.of(ia))
    log.info("%s", report.summary())
    if result.stopped is not None:
        raise IncompleteWriteError(
            f"sales orders stopped part way ({report.summary()}): {result.stopped}; rerun to "
            "finish (pending orders are looked up in Intacct before anything is sent)",
            outcomes=report.to_frame(),
            report=report,
        ) from result.stopped
    return report


def _halt_reason(refused: list[OrderPlanRow]) -> str:
    named = ", ".join(f"{r.name} ({r.opportunity_id}: {r.reason})" for r in refused[:5])
    more = f" and {len(refused) - 5:,} more" if len(refused) > 5 else ""
    return (
        f"not sent: {plural(len(refused), 'opportunity', 'opportunities')} cannot become an "
        f"order ({named}{more}) and on_invalid is 'halt'"
    )


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

    Raises:
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    bind_tenant(state, ia)
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
        by_parent.setdefault(str(line["parent_id"]), []).append(line)
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
    return OrdersPlan(config=cfg, rows=tuple(rows), scope=Scope.of(ia))


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
    checked = _check_opportunity(cfg, base, opp, lines, products, customers, items)
    if entry is not None and entry.status == "posted":
        # The order goes along so the engine can tell the same order from a changed one.
        return attrs.evolve(
            base,
            status="done",
            document_id=entry.record_no,
            reason="posted earlier (ledger); the document id write-back is repeated",
            order=checked.order,
        )
    if entry is not None and entry.status == "pending" and checked.order is not None:
        return attrs.evolve(
            checked,
            reason="pending from an earlier run: looked up in Intacct before anything is sent",
        )
    return checked


def _check_opportunity(
    cfg: OrdersConfig,
    base: OrderPlanRow,
    opp: Mapping[str, Any],
    lines: list[dict[str, Any]],
    products: Mapping[str, str],
    customers: Mapping[str, bool],
    items: Mapping[str, bool],
) -> OrderPlanRow:
    opp_id, amount, total = base.opportunity_id, base.amount, base.lines_total
    account_id, customer, close_date = base.account_id, base.customer_id, base.close_date
    if not lines:
        return attrs.evolve(base, status="rejected", reason="the opportunity has no line items")
    no_product = [
        str(line.get("Name") or line["Id"]) for line in lines if not _na(line.get("Product2Id"))
    ]
    if no_product:
        return attrs.evolve(
            base,
            status="rejected",
            reason=f"{'line' if len(no_product) == 1 else 'lines'} without a product: "
            f"{', '.join(no_product)}",
        )
    if amount is None or amount.quantize(CENT) != total.quantize(CENT):
        return attrs.evolve(
            base,
            status="rejected",
            reason=f"Amount {value_text(amount)} does not equal the sum of its lines' "
            f"TotalPrice {value_text(total)} "
            f"(difference {value_text((amount or Decimal(0)) - total)})",
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
    return attrs.evolve(base, order=order)


@attrs.define(repr=False)
class OrderToCashRun(Report):
    """The three steps of one order-to-cash run: masters, orders, invoices (in that order).

    ``dry_run`` runs hold the plans only; otherwise each plan has been applied and its report
    is in ``masters_report`` / ``invoices_report``. ``scope`` is the Intacct company and
    entity of the run.
    """

    masters: MastersPlan
    orders: OrdersPlan | None
    invoices: InvoicesPlan | None
    dry_run: bool
    masters_report: MastersReport | None = None
    orders_report: OrdersReport | None = None
    invoices_report: InvoicesReport | None = None
    #: A dry run's masters changes the order and invoice plans depend on (writes, and links not
    #: yet in the id map); while any are left those plans are not previewed (see
    #: :func:`sync_order_to_cash`).
    waiting_on_masters: int = 0
    scope: Scope = attrs.field(factory=Scope)

    #: The step summaries are the content here: shown whole.
    max_text = 200

    def to_frame(self) -> pd.DataFrame:
        """One row per step: step, summary.

        Returns:
            A DataFrame with one row per step.
        """
        steps: list[tuple[str, Report]] = [("masters", self.masters)]
        steps += [("orders", self.orders)] if self.orders is not None else []
        steps += [("invoices", self.invoices)] if self.invoices is not None else []
        rows = [{"step": name, "summary": plan.summary()} for name, plan in steps]
        if self.masters_report is not None:
            rows.insert(1, {"step": "masters applied", "summary": self.masters_report.summary()})
        if self.orders_report is not None:
            at = next(i for i, r in enumerate(rows) if r["step"] == "orders") + 1
            rows.insert(at, {"step": "orders applied", "summary": self.orders_report.summary()})
        return frames.frame_from_records(rows, {"step": "text", "summary": "text"})

    def summary(self) -> str:
        """Dry run or applied, and the Intacct company and entity.

        Returns:
            One line, for a person.
        """
        if not self.dry_run:
            return self.scope.after("Order to cash applied")
        if self.waiting_on_masters:
            return self.scope.after(
                "Order to cash (dry run: nothing written). Sales orders and invoices are planned "
                f"after the masters plan's {plural(self.waiting_on_masters, 'change')} "
                "(customers, items, links) are written, which the real run does first: they are "
                "not previewed here"
            )
        return self.scope.after("Order to cash (dry run: nothing written)")

    def to_dict(self) -> dict[str, Any]:
        """The run as one JSON-able document: summary, scope, and each step's summary.

        Returns:
            A dict that ``json.dumps`` can write.
        """
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "dry_run": self.dry_run,
            "steps": frames.frame_to_records(self.to_frame()),
        }


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
        dry_run: plan only. The order and invoice plans read the masters as they are, so while
            the masters plan has changes to write (customers and items to create, links to
            record) they would show orders as blocked that the real run then posts: in that
            case they are left out (``orders`` and ``invoices`` are None and
            ``waiting_on_masters`` counts the changes), so the preview never says what the run
            will not do.
        masters_config: masters settings.
        orders_config: sales-order settings.
        today: the day days overdue are counted to.

    Returns:
        An :class:`OrderToCashRun` with the three plans.

    Raises:
        IncompleteWriteError: a write stopped part way; rerun to finish (nothing is repeated).
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    bind_tenant(state, ia)
    mcfg = masters_config or MastersConfig()
    masters = plan_masters(sf, ia, state, mcfg)
    masters_report = None if dry_run else apply_masters(masters, sf, ia, state)
    waiting = _masters_changes(masters, state) if dry_run else 0
    scope = Scope.of(ia)
    if waiting:
        return OrderToCashRun(
            masters=masters,
            orders=None,
            invoices=None,
            dry_run=True,
            waiting_on_masters=waiting,
            scope=scope,
        )
    orders = plan_orders(sf, ia, state, orders_config)
    orders_report = None if dry_run else apply_orders(orders, ia, sf, state)
    invoices = plan_invoices(sf, ia, state, today=today, intacct_timezone=mcfg.intacct_timezone)
    invoices_report = None if dry_run else apply_invoices(invoices, sf, state)
    return OrderToCashRun(
        masters=masters,
        orders=orders,
        invoices=invoices,
        dry_run=dry_run,
        masters_report=masters_report,
        orders_report=orders_report,
        invoices_report=invoices_report,
        scope=scope,
    )


def _masters_changes(plan: MastersPlan, state: StateStore) -> int:
    """The masters plan's writes plus its links not yet in the id map."""
    known: dict[str, set[tuple[str | None, str]]] = {}
    new_links = 0
    for link in plan.links:
        if link.object not in known:
            known[link.object] = {
                (m.salesforce_id, m.intacct_id) for m in state.id_map(link.object)
            }
        if (link.salesforce_id, link.intacct_id) not in known[link.object]:
            new_links += 1
    return len(plan.writes) + new_links

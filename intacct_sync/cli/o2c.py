"""``intacct-sync o2c``: order to cash from the command line.

Commands:
    o2c sync [--dry-run] [--state PATH] [--format table|json]
        masters both ways, then Closed Won -> sales orders, then invoice status back
    o2c reconcile [--state PATH] [--format table|json]
        what differs between the two systems, for a finance person

Credentials: ``INTACCT_*`` and ``SF_*`` variables (see the configuration docs); ``--sandbox``
runs against the embedded sandbox instead.

Exit codes: 0 done (reconcile: nothing to report or findings printed); 1 an error (e.g. a write
stopped part way: rerun to finish); 2 usage; 3 some opportunities were rejected or blocked, or
records wait for a decision (everything else was written).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import pandas as pd

from intacct_sync.intacct.client import IntacctClient
from intacct_sync.o2c.orders import OrderToCashRun, sync_order_to_cash
from intacct_sync.o2c.reconciliation import reconcile
from intacct_sync.reports import frame_text
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.state import DEFAULT_STATE_FILE, SQLiteStateStore

__all__ = ["add_commands", "demo"]


@contextmanager
def _clients(args: argparse.Namespace) -> Iterator[tuple[SalesforceClient, IntacctClient]]:
    if args.sandbox:
        from intacct_sync import sandbox

        with (
            sandbox.running() as sb,
            sb.salesforce_client() as sf,
            sb.intacct_client("itservices") as ia,
        ):
            yield sf, ia
        return
    with SalesforceClient.from_env() as sf, IntacctClient.from_env() as ia:
        yield sf, ia


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str))  # type: ignore[no-any-return]


def _needs_attention(run: OrderToCashRun) -> bool:
    orders = run.orders
    rows = (orders.applied if orders and orders.applied is not None else None) or (
        orders.rows if orders else []
    )
    return bool(run.masters.needs_decision()) or any(
        r.status in ("rejected", "blocked") for r in rows
    )


def _sync(args: argparse.Namespace, out: TextIO) -> int:
    state = SQLiteStateStore(args.state)
    with _clients(args) as (sf, ia):
        run = sync_order_to_cash(sf, ia, state, dry_run=args.dry_run)
    if args.format == "json":
        document = {
            "dry_run": run.dry_run,
            "masters": _records(run.masters.to_frame()),
            "orders": _records(run.orders.to_frame()) if run.orders else [],
            "invoices": _records(run.invoices.to_frame()) if run.invoices else [],
            "aging": _records(run.invoices.aging()) if run.invoices else [],
        }
        json.dump(document, out, default=str)
        out.write("\n")
    else:
        out.write(f"{run.summary()}\n\n{frame_text(run.to_frame())}\n")
        out.write(f"\n{run.masters}\n")
        if run.orders is not None:
            out.write(f"\n{run.orders}\n")
        if run.invoices is not None:
            out.write(f"\n{run.invoices.summary()}\n")
    return 3 if _needs_attention(run) else 0


def _reconcile(args: argparse.Namespace, out: TextIO) -> int:
    state = SQLiteStateStore(args.state)
    with _clients(args) as (sf, ia):
        report = reconcile(sf, ia, state)
    if args.format == "json":
        json.dump({"summary": report.summary(), "findings": _records(report.to_frame())}, out)
        out.write("\n")
    else:
        out.write(f"{report}\n")
    return 0


def add_commands(subparsers: Any) -> None:
    """Add ``o2c sync`` and ``o2c reconcile`` to the ``intacct-sync`` parser."""
    o2c = subparsers.add_parser("o2c", help="order to cash").add_subparsers(
        dest="o2c_command", required=True
    )
    for name, run, text in (
        ("sync", _sync, "masters both ways, closed-won to sales orders, invoices back"),
        ("reconcile", _reconcile, "what differs between Salesforce and Intacct"),
    ):
        cmd = o2c.add_parser(name, help=text)
        if name == "sync":
            cmd.add_argument("--dry-run", action="store_true", help="plan only, write nothing")
        cmd.add_argument("--state", default=str(DEFAULT_STATE_FILE), help="state file (SQLite)")
        cmd.add_argument("--format", choices=("table", "json"), default="table")
        cmd.add_argument("--sandbox", action="store_true", help="run against the embedded sandbox")
        cmd.set_defaults(run=run)


def demo(sb: Any, out: TextIO) -> None:
    """The order-to-cash part of ``make demo``: baseline, masters, orders, invoices, reconcile.

    Args:
        sb: a running :class:`intacct_sync.sandbox.Sandbox`.
        out: where to print.
    """
    from intacct_sync.o2c.invoices import plan_invoices
    from intacct_sync.o2c.masters import plan_masters
    from intacct_sync.o2c.orders import plan_orders

    state = SQLiteStateStore(":memory:")
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        out.write("\n# Order to cash\n\n## Baseline match and masters plan\n\n")
        masters = plan_masters(sf, ia, state)
        frame = masters.to_frame()
        out.write(masters.summary() + "\n\n")
        attention = frame[frame["action"].isin(["duplicate", "ambiguous", "conflict"])]
        out.write(
            frame_text(
                attention[["object", "action", "salesforce_id", "intacct_id", "name", "reason"]]
            )
            + "\n"
        )
        out.write("\n" + masters.apply().summary() + "\n")
        out.write("\n## Closed Won opportunities -> sales orders\n\n")
        orders = plan_orders(sf, ia, state).apply()
        out.write(str(orders) + "\n")
        out.write("\n## Invoice status and AR aging back to Salesforce\n\n")
        invoices = plan_invoices(sf, ia, state).apply()
        out.write(invoices.summary() + "\n\n" + frame_text(invoices.to_frame(), max_rows=10) + "\n")
        out.write("\n## Rerun: nothing to write\n\n")
        again = sync_order_to_cash(sf, ia, state, dry_run=True)
        writes = len(again.masters.writes)
        ready = len(again.orders.ready) if again.orders else 0
        upserts = len(again.invoices.upserts) if again.invoices else 0
        out.write(
            f"masters writes: {writes}, new sales orders: {ready}, invoice upserts: {upserts}\n"
        )
        out.write("\n## Reconciliation\n\n")
        out.write(str(reconcile(sf, ia, state)) + "\n")

"""``intacct-sync o2c``: order to cash from the command line.

Commands:
    o2c sync [--dry-run]     masters both ways, then Closed Won -> sales orders, then invoice
                             status back to Salesforce
    o2c reconcile            what differs between the two systems, for a finance person
    o2c decide OBJECT DECISION --salesforce-id ID | --intacct-id ID
                             record a person's decision about a duplicate or ambiguous record,
                             so a scheduled ``o2c sync`` can go on without Python

Credentials: ``INTACCT_*`` (or ``--profile``) and ``SF_*`` variables (see the configuration
docs); ``--sandbox`` runs against the embedded sandbox's IT-services company instead. Exit
codes: :data:`intacct_sync.cli.common.EXIT_CODES`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from intacct_sync.cli.common import (
    EXIT_ATTENTION,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_group,
    announce,
    connect,
    emit_document,
    open_state,
    records,
)
from intacct_sync.errors import InputError
from intacct_sync.o2c.masters import decide
from intacct_sync.o2c.orders import OrderToCashRun, sync_order_to_cash
from intacct_sync.o2c.reconciliation import reconcile
from intacct_sync.reports import frame_text, plural, terminal_safe, write_csv
from intacct_sync.state import SQLiteStateStore

__all__ = ["add_commands", "demo", "needs_attention"]

# The name the JSON rows helper had here before it moved to cli.common.
_records = records


def needs_attention(run: OrderToCashRun) -> bool:
    """Whether a run (or a dry run) left something for a person: exit code 3."""
    orders = run.orders_report or run.orders
    rows = orders.rows if orders else ()
    refused = any(
        report is not None and report.status == "failed"
        for report in (run.masters_report, run.invoices_report)
    )
    return (
        refused
        or bool(run.masters.needs_decision())
        or any(
            r.status in ("rejected", "blocked", "skipped", "failed", "drift", "held") for r in rows
        )
    )


def _sync(args: argparse.Namespace, out: TextIO) -> int:
    with connect(args, company="itservices") as conn, open_state(args, conn) as state:
        announce(args, out, conn, "o2c sync" + (" --dry-run" if args.dry_run else ""))
        run = sync_order_to_cash(conn.salesforce, conn.intacct, state, dry_run=args.dry_run)
    orders = run.orders_report or run.orders
    if args.format == "json":
        emit_document(
            {
                "summary": run.summary(),
                **run.scope.to_dict(),
                "dry_run": run.dry_run,
                "masters": records(run.masters.to_frame()),
                "orders": records(orders.to_frame()) if orders else [],
                "invoices": records(run.invoices.to_frame()) if run.invoices else [],
                "aging": records(run.invoices.aging()) if run.invoices else [],
            },
            out,
        )
    elif args.format == "csv":
        write_csv(run.to_frame(), out)
    else:
        out.write(f"{terminal_safe(run.summary())}\n\n{frame_text(run.to_frame())}\n")
        out.write(f"\n{run.masters}\n")
        waiting = run.masters.needs_decision()
        if waiting:
            out.write(f"\n{plural(len(waiting), 'record')} wait for a decision:\n")
            for change in waiting:
                ids = change.salesforce_id or change.intacct_id
                out.write(
                    terminal_safe(f"- {change.name} ({change.object} {ids}): {change.reason}")
                )
                out.write("\n")
        if orders is not None:
            out.write(f"\n{orders}\n")
        if run.invoices is not None:
            out.write(f"\n{terminal_safe((run.invoices_report or run.invoices).summary())}\n")
    return EXIT_ATTENTION if needs_attention(run) else EXIT_OK


def _reconcile(args: argparse.Namespace, out: TextIO) -> int:
    with connect(args, company="itservices") as conn, open_state(args, conn) as state:
        announce(args, out, conn, "o2c reconcile")
        report = reconcile(conn.salesforce, conn.intacct, state)
    if args.format == "json":
        emit_document(
            {
                "summary": report.summary(),
                **report.scope.to_dict(),
                "findings": records(report.to_frame()),
            },
            out,
        )
    elif args.format == "csv":
        write_csv(report.to_frame(), out)
    else:
        out.write(f"{report}\n")
    return EXIT_OK


def _decide(args: argparse.Namespace, out: TextIO) -> int:
    with connect(args, company="itservices") as conn, open_state(args, conn) as state:
        announce(args, out, conn, "o2c decide")
        try:
            decide(
                state,
                args.object,
                args.decision,
                salesforce_id=args.salesforce_id,
                intacct_id=args.intacct_id,
            )
        except InputError as exc:
            sys.stderr.write(f"intacct-sync o2c decide: {terminal_safe(str(exc))}\n")
            return EXIT_USAGE
    ids = " and ".join(
        f"{system} {value}"
        for system, value in (("Salesforce", args.salesforce_id), ("Intacct", args.intacct_id))
        if value
    )
    text = f"Recorded: {args.object} {ids}: {args.decision}. The next o2c sync acts on it."
    if args.format == "json":
        emit_document(
            {
                "summary": text,
                "object": args.object,
                "decision": args.decision,
                "salesforce_id": args.salesforce_id,
                "intacct_id": args.intacct_id,
            },
            out,
        )
    else:
        out.write(terminal_safe(text) + "\n")
    return EXIT_OK


def add_commands(subparsers: Any) -> None:
    """Add ``o2c sync``, ``o2c reconcile`` and ``o2c decide`` to the ``intacct-sync`` parser."""
    o2c = add_group(
        subparsers,
        "o2c",
        help="order to cash",
        description="Order to cash between Salesforce and Intacct: customers and products "
        "both ways, Closed Won opportunities to sales orders, invoice status back.",
    )
    sync = add_command(
        o2c,
        "sync",
        help="masters both ways, closed-won to sales orders, invoices back",
        description="Keep Account <-> CUSTOMER and Product2 <-> ITEM in step, turn Closed Won "
        "opportunities into Intacct sales orders (once each), and write invoice status and AR "
        "aging back to Salesforce. Talks to Salesforce and Intacct; writes to both (--dry-run: "
        "to neither). Duplicates wait for a decision (o2c decide) and make the exit code 3.",
        writes=True,
        state=True,
    )
    sync.set_defaults(run=_sync)
    rec = add_command(
        o2c,
        "reconcile",
        help="what differs between Salesforce and Intacct",
        description="Read both systems and list, for a finance person, what differs: unlinked "
        "records, differing fields, orders and invoices missing on one side. Talks to "
        "Salesforce and Intacct; writes nothing.",
        state=True,
    )
    rec.set_defaults(run=_reconcile)
    dec = add_command(
        o2c,
        "decide",
        help="decide about a duplicate or ambiguous record",
        description="Record a person's decision about a record o2c sync reported as duplicate "
        "or ambiguous (each such row's reason gives the command to type). link: the Salesforce "
        "and Intacct records are the same (give both ids); distinct: the record is not a "
        "duplicate (give one id); ignore: never sync the record (give one id). Writes to the "
        "state store only; the next o2c sync acts on it.",
        state=True,
    )
    dec.add_argument("object", choices=("Account", "Product2"), help="the Salesforce object")
    dec.add_argument("decision", choices=("link", "distinct", "ignore"), help="what the record is")
    dec.add_argument("--salesforce-id", help="the Salesforce record's Id")
    dec.add_argument("--intacct-id", help="the Intacct record's id (CUSTOMERID or ITEMID)")
    dec.set_defaults(run=_decide)


def demo(sb: Any, out: TextIO) -> None:
    """The order-to-cash part of ``make demo``: baseline, masters, orders, invoices, reconcile.

    Args:
        sb: a running :class:`intacct_sync.sandbox.Sandbox`.
        out: where to print.
    """
    from intacct_sync.o2c.invoices import apply_invoices, plan_invoices
    from intacct_sync.o2c.masters import apply_masters, plan_masters
    from intacct_sync.o2c.orders import apply_orders, plan_orders

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
        out.write("\n" + apply_masters(masters, sf, ia, state).summary() + "\n")
        out.write("\n## Closed Won opportunities -> sales orders\n\n")
        orders = apply_orders(plan_orders(sf, ia, state), ia, sf, state)
        out.write(str(orders) + "\n")
        out.write("\n## Invoice status and AR aging back to Salesforce\n\n")
        invoices = apply_invoices(plan_invoices(sf, ia, state), sf, state)
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

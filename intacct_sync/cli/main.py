"""``intacct-sync``: the command line for scripted runs and scheduled jobs.

Commands (each one's ``--help`` says what it does, which systems it talks to, its options and
the exit codes):
    demo                       start the embedded sandbox and show what the SDK does
    sandbox [--print-env]      serve the sandbox until interrupted
    intacct read OBJECT        read any Intacct object as a table, JSON or CSV
    salesforce read "SOQL"     run a SOQL query as a table, JSON or CSV
    actions sync               CRM actions to journal entries (nonprofit)
    journals import FILE.csv   post journal lines from a CSV file
    kpi post | kpi compare     donor KPIs as statistical entries; KPIs against the books
    o2c sync | reconcile | decide   order to cash

The module only parses, calls the SDK and prints; the SDK does the work.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import pandas as pd

from intacct_sync import sandbox
from intacct_sync.__about__ import __version__
from intacct_sync._http.redact import scrub_message
from intacct_sync.cli.common import (
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_OK,
    HelpFormatter,
    add_command,
    add_group,
    add_plain,
    announce,
    connect,
    emit_frame,
)
from intacct_sync.reports import frame_text, terminal_safe
from intacct_sync.sandbox import COMPANIES, Sandbox

__all__ = ["main"]


def _print_frame(title: str, frame: pd.DataFrame, out: TextIO, *, max_rows: int = 50) -> None:
    out.write(f"\n## {terminal_safe(title)} ({len(frame):,} rows)\n\n")
    out.write(frame_text(frame, max_rows=max_rows) + "\n")


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    with sandbox.running() as sb, sb.intacct_client() as ia:
        out.write(
            f"Embedded sandbox: Intacct gateway {sb.intacct_url}, Salesforce {sb.salesforce_url}\n"
        )
        accounts = ia.read_by_query(
            "GLACCOUNT", fields=["ACCOUNTNO", "TITLE", "ACCOUNTTYPE", "NORMALBALANCE", "STATUS"]
        )
        _print_frame("Chart of accounts (GLACCOUNT, read_by_query)", accounts, out)
        stat = ia.read_by_query("STATACCOUNT", fields=["ACCOUNTNO", "TITLE", "STATUS"])
        _print_frame("Statistical accounts (STATACCOUNT)", stat, out)
        for obj, fields in (
            ("LOCATION", ["LOCATIONID", "NAME", "STATUS"]),
            ("DEPARTMENT", ["DEPARTMENTID", "TITLE", "STATUS"]),
            ("CLASS", ["CLASSID", "NAME", "STATUS"]),
        ):
            _print_frame(f"Dimension {obj}", ia.read_by_query(obj, fields=fields), out)
        out.write("\nColumn types of GLACCOUNT as read: ")
        out.write(", ".join(f"{c}={t}" for c, t in accounts.dtypes.astype(str).items()) + "\n")
        _demo_salesforce(sb, out)
        for module in _workflow_clis():
            module.demo(sb, out)
        _demo_rest(sb, out)
    return 0


# -- issue 16: one workflow over the Intacct REST API (owned with intacct/rest) ----------------


def _demo_rest(sb: Sandbox, out: TextIO) -> None:
    from intacct_sync.actions import ActionSync
    from intacct_sync.state import SQLiteStateStore

    def entries() -> int:
        return sum(sb.intacct.journal_entries_by_reference(COMPANIES["nonprofit"]).values())

    with sb.intacct_client(protocol="rest") as ia, sb.salesforce_client() as sf:
        out.write(
            f"\n# The same nightly sync over the Intacct REST API (OAuth 2.0, "
            f"{sb.intacct_rest_url})\n\n"
        )
        before = entries()
        report = ActionSync(ia, sf, SQLiteStateStore(":memory:"), on_invalid="skip").run()
        out.write(report.summary() + "\n")
        out.write(
            f"A fresh ledger on the other protocol: the entries posted over XML above are found "
            f"in the books by their reference (posted = found there), so the books hold "
            f"{entries() - before} new journal entries ({before} before, {entries()} after).\n"
        )


# -- end of the REST block ---------------------------------------------------------------------


def _demo_salesforce(sb: Sandbox, out: TextIO) -> None:
    with sb.salesforce_client() as sf:
        won = sf.query(
            "SELECT Id, Name, Account.Name, Amount, CloseDate, "
            "(SELECT Quantity, UnitPrice, TotalPrice, Product2.Name FROM OpportunityLineItems) "
            "FROM Opportunity WHERE StageName = 'Closed Won' ORDER BY CloseDate DESC LIMIT 5"
        )
        _print_frame("Closed-won opportunities (Salesforce query)", won.drop(columns=["Id"]), out)
        lines = won.attrs["children"]["OpportunityLineItems"]
        named = lines.merge(won[["Id", "Name"]], left_on="parent_id", right_on="Id")
        _print_frame(
            "Their line items (child subquery, joined on parent_id)",
            named[["Name", "Product2.Name", "Quantity", "UnitPrice", "TotalPrice"]],
            out,
        )


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    with sandbox.running(intacct_db=args.intacct_db, salesforce_db=args.salesforce_db) as sb:
        out.write(f"Intacct gateway:   {sb.intacct_url}\nSalesforce:        {sb.salesforce_url}\n")
        if args.print_env:
            # Sandbox credentials are fixed public constants, useless anywhere else.
            out.write(
                f"# the nonprofit (actions, journals, kpi): company {COMPANIES['nonprofit']}\n"
            )
            for key, value in {**sb.intacct_env(), **sb.salesforce_env()}.items():
                out.write(f"export {key}={value}\n")
            out.write(
                f"# order to cash (o2c) runs against the IT-services company: set\n"
                f"# export INTACCT_COMPANY_ID={COMPANIES['itservices']}\n"
            )
        out.write("Serving until interrupted (Ctrl-C).\n")
        out.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return EXIT_OK


def _progress(args: argparse.Namespace) -> bool:
    return bool(args.progress if args.progress is not None else sys.stderr.isatty())


def _intacct_read(args: argparse.Namespace, out: TextIO) -> int:
    with connect(args, salesforce=False, company=args.company) as conn:
        announce(args, out, conn, f"intacct read {args.object}")
        frame = conn.intacct.read_by_query(
            args.object, args.query, fields=args.fields, progress=_progress(args)
        )
    emit_frame(args, frame, out, title=args.object, max_rows=args.max_rows)
    return EXIT_OK


def _salesforce_read(args: argparse.Namespace, out: TextIO) -> int:
    with connect(args, intacct=False) as conn:
        announce(args, out, conn, "salesforce read")
        frame = conn.salesforce.query(args.soql)
    emit_frame(args, frame, out, title=args.soql, max_rows=args.max_rows)
    return EXIT_OK


def _read_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-rows", type=int, default=50, help="rows shown in a text table (default 50)"
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intacct-sync",
        description="Move data between Salesforce and Sage Intacct: read both as tables, post "
        "journal and statistical entries once ever, keep customers and products in step.",
        epilog=EXIT_CODES,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v INFO, -vv DEBUG")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = add_plain(
        sub,
        "demo",
        help="run the demo against the embedded sandbox",
        description="Start the embedded sandbox (both systems on loopback, demo companies) and "
        "show each workflow once. Talks to the sandbox only.",
    )
    demo.set_defaults(run=_demo)

    serve = add_plain(
        sub,
        "sandbox",
        help="serve both emulators on loopback",
        description="Serve the embedded sandbox (Intacct XML gateway and Salesforce REST) on "
        "loopback until interrupted, for scripts and other tools to talk to.",
    )
    serve.add_argument(
        "--print-env",
        action="store_true",
        help="print INTACCT_*/SF_* exports for the sandbox (nonprofit company; the o2c "
        f"company id {COMPANIES['itservices']} is printed too)",
    )
    serve.add_argument("--intacct-db", help="SQLite file for the Intacct emulator (kept)")
    serve.add_argument("--salesforce-db", help="SQLite file for the Salesforce emulator (kept)")
    serve.set_defaults(run=_serve)

    intacct = add_group(
        sub, "intacct", help="Intacct commands", description="Read Sage Intacct objects."
    )
    read = add_command(
        intacct,
        "read",
        help="read an object with readByQuery",
        description="Read every record of an Intacct object (all pages) with readByQuery and "
        "print it. Talks to Intacct (INTACCT_* credentials or --profile; --sandbox for the "
        "embedded one). Writes nothing.",
        salesforce=False,
    )
    read.add_argument("object", help="Intacct object, e.g. GLACCOUNT, CUSTOMER, GLENTRY")
    read.add_argument(
        "--query", default="", help="readByQuery filter, e.g. \"STATUS = 'T'\" (default: all)"
    )
    read.add_argument(
        "--fields", default="*", help="comma-separated fields, e.g. ACCOUNTNO,TITLE (default *)"
    )
    read.add_argument(
        "--company",
        choices=tuple(COMPANIES),
        default="nonprofit",
        help="with --sandbox: which demo company (default nonprofit)",
    )
    _read_options(read)
    read.set_defaults(run=_intacct_read)

    salesforce = add_group(
        sub, "salesforce", help="Salesforce commands", description="Query Salesforce with SOQL."
    )
    soql = add_command(
        salesforce,
        "read",
        help="run a SOQL query",
        description="Run a SOQL query (all pages; relationship fields flattened as "
        "Account.Name) and print the rows. Talks to Salesforce (SF_* credentials; --sandbox "
        "for the embedded one). Writes nothing.",
        intacct=False,
    )
    soql.add_argument("soql", metavar="SOQL", help='e.g. "SELECT Id, Name FROM Account"')
    _read_options(soql)
    soql.set_defaults(run=_salesforce_read)
    for module in _workflow_clis():
        module.add_commands(sub)
    return parser


def _workflow_clis() -> list[Any]:
    from intacct_sync.cli import actions as cli_actions
    from intacct_sync.cli import kpi as cli_kpi
    from intacct_sync.cli import o2c as cli_o2c

    return [cli_actions, cli_kpi, cli_o2c]


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line.

    Returns:
        The exit status (see :data:`intacct_sync.cli.common.EXIT_CODES`).
    """
    try:
        return _main(argv, out)
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly. Python would report the broken pipe
        # again when it flushes stdout at exit, so stdout is pointed at devnull first.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_ERROR


def _main(argv: Sequence[str] | None, out: TextIO | None) -> int:
    args = _parser().parse_args(argv)
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    stream = out or sys.stdout
    from intacct_sync.errors import IntacctSyncError

    try:
        return int(args.run(args, stream))
    except IntacctSyncError as exc:
        # Error text quotes server answers: scrubbed, and escaped so it cannot drive the terminal.
        text = terminal_safe(scrub_message(str(exc)))
        sys.stderr.write(f"intacct-sync: {type(exc).__name__}: {text}\n")
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())

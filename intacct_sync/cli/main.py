"""``intacct-sync``: the command line for scripted runs. Thin: parse, call the API, print.

Commands:
    demo                       start the embedded sandbox and show what the SDK reads
    sandbox [--print-env]      serve the sandbox until interrupted
    intacct read OBJECT        read any Intacct object (INTACCT_* credentials) as a table/CSV
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

import pandas as pd

from intacct_sync import sandbox
from intacct_sync.reports import frame_text
from intacct_sync.sandbox import Sandbox

__all__ = ["main"]


def _print_frame(title: str, frame: pd.DataFrame, out: TextIO, *, max_rows: int = 50) -> None:
    out.write(f"\n## {title} ({len(frame):,} rows)\n\n")
    out.write(frame_text(frame, max_rows=max_rows) + "\n")


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    with sandbox.running() as sb, sb.intacct_client() as ia:
        out.write(
            f"Sandbox running: Intacct gateway {sb.intacct_url}, Salesforce {sb.salesforce_url}\n"
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
    return 0


def _demo_salesforce(sb: Sandbox, out: TextIO) -> None:
    with sb.salesforce_client() as sf:
        won = sf.query(
            "SELECT Id, Name, Account.Name, Amount, CloseDate, "
            "(SELECT Quantity, UnitPrice, TotalPrice, Product2.Name FROM OpportunityLineItems) "
            "FROM Opportunity WHERE StageName = 'Closed Won' ORDER BY CloseDate DESC LIMIT 5"
        )
        _print_frame("Closed-won opportunities (Salesforce query)", won.drop(columns=["Id"]), out)
        lines = won.attrs["children"]["OpportunityLineItems"]
        named = lines.merge(won[["Id", "Name"]], left_on="ParentId", right_on="Id")
        _print_frame(
            "Their line items (child subquery, joined on ParentId)",
            named[["Name", "Product2.Name", "Quantity", "UnitPrice", "TotalPrice"]],
            out,
        )


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    with sandbox.running(intacct_db=args.intacct_db, salesforce_db=args.salesforce_db) as sb:
        out.write(f"Intacct gateway:   {sb.intacct_url}\nSalesforce:        {sb.salesforce_url}\n")
        if args.print_env:
            # Sandbox credentials are fixed public constants, useless anywhere else.
            for key, value in {**sb.intacct_env(), **sb.salesforce_env()}.items():
                out.write(f"export {key}={value}\n")
        out.write("Serving until interrupted (Ctrl-C).\n")
        out.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def _intacct_read(args: argparse.Namespace, out: TextIO) -> int:
    from intacct_sync.intacct import IntacctClient

    with IntacctClient.from_env(profile=args.profile) as ia:
        frame = ia.read_by_query(
            args.object,
            args.query,
            fields=args.fields,
            progress=args.progress if args.progress is not None else sys.stderr.isatty(),
        )
    if args.format == "csv":
        frame.to_csv(out, index=False)
    else:
        _print_frame(args.object, frame, out, max_rows=args.max_rows)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="intacct-sync", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v INFO, -vv DEBUG")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the demo against the embedded sandbox")
    demo.set_defaults(run=_demo)

    serve = sub.add_parser("sandbox", help="serve both emulators on loopback")
    serve.add_argument("--print-env", action="store_true", help="print INTACCT_*/SF_* exports")
    serve.add_argument("--intacct-db", help="SQLite file for the Intacct emulator")
    serve.add_argument("--salesforce-db", help="SQLite file for the Salesforce emulator")
    serve.set_defaults(run=_serve)

    intacct = sub.add_parser("intacct", help="Intacct commands").add_subparsers(
        dest="intacct_command", required=True
    )
    read = intacct.add_parser("read", help="read an object with readByQuery")
    read.add_argument("object")
    read.add_argument("--query", default="", help="readByQuery filter string")
    read.add_argument("--fields", default="*")
    read.add_argument("--profile", help="profile of ~/.intacct/credentials.ini")
    read.add_argument("--format", choices=("table", "csv"), default="table")
    read.add_argument("--max-rows", type=int, default=50)
    read.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    read.set_defaults(run=_intacct_read)
    for module in _workflow_clis():
        module.add_commands(sub)
    return parser


def _workflow_clis() -> list[Any]:
    from intacct_sync.cli import actions as cli_actions
    from intacct_sync.cli import kpi as cli_kpi
    from intacct_sync.cli import o2c as cli_o2c

    return [cli_actions, cli_kpi, cli_o2c]


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run the command line; returns the exit status."""
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
        sys.stderr.write(f"intacct-sync: {type(exc).__name__}: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

"""What every ``intacct-sync`` command shares: options, exit codes, connections, state, output.

One table of exit codes (:data:`EXIT_CODES`) is printed under every command's ``--help`` and
honoured by every command; a partial failure is never 0. Every command takes ``--sandbox``,
``--profile`` and ``--format text|json|csv``, and a command that writes takes ``--dry-run``.
Every command says first which systems it talks to (on the first line of text output, on
stderr for JSON and CSV so the document stays clean).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

from intacct_sync.reports import frame_text, terminal_safe, write_csv
from intacct_sync.state import SQLiteStateStore
from intacct_sync.state.tenancy import bind_tenant, default_state_file

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient

__all__ = [
    "EXIT_ATTENTION",
    "EXIT_CODES",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "Connection",
    "HelpFormatter",
    "add_command",
    "add_group",
    "add_plain",
    "announce",
    "connect",
    "date",
    "emit_document",
    "emit_frame",
    "json_default",
    "open_state",
    "records",
    "state_path",
    "timestamp",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_ATTENTION = 0, 1, 2, 3

#: The one exit-code table (every command's ``--help`` ends with it).
EXIT_CODES = """\
exit codes:
  0  done: everything asked for was done (or there was nothing to do)
  1  error: credentials, network, an API refusal of the whole request, a run that stopped
     part way (rerun it: nothing is written twice), or output cut short
  2  usage: a bad option or argument
  3  needs attention: invalid input, a partial failure (some rows not written), a drift, or
     a duplicate waiting for a decision; the output says which rows"""

FORMATS = ("text", "json", "csv")


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions to the terminal; keeps the exit-code table's lines as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("exit codes:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def add_group(subparsers: Any, name: str, *, help: str, description: str) -> Any:
    """A command group (``intacct``, ``o2c``, ...); returns its subparsers for the commands."""
    group = subparsers.add_parser(
        name, help=help, description=description, epilog=EXIT_CODES, formatter_class=HelpFormatter
    )
    return group.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def add_plain(subparsers: Any, name: str, *, help: str, description: str) -> Any:
    """A command without the shared connection options (``demo``, ``sandbox``)."""
    return subparsers.add_parser(
        name, help=help, description=description, epilog=EXIT_CODES, formatter_class=HelpFormatter
    )


def add_command(
    subparsers: Any,
    name: str,
    *,
    help: str,
    description: str,
    writes: bool = False,
    intacct: bool = True,
    salesforce: bool = True,
    formats: tuple[str, ...] = FORMATS,
    state: bool = False,
) -> argparse.ArgumentParser:
    """A subcommand with the shared options and the exit-code table under its help.

    Args:
        subparsers: the parent's ``add_subparsers()`` result.
        name: the command's name.
        help: one line for the parent's list.
        description: what the command does and which systems it talks to.
        writes: the command writes somewhere (adds ``--dry-run``).
        intacct: the command talks to Intacct (``--profile`` applies).
        salesforce: the command talks to Salesforce.
        formats: the ``--format`` choices (first is the default).
        state: the command keeps state (adds ``--state``).

    Returns:
        The new parser, for the command's own options.
    """
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=EXIT_CODES,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the embedded sandbox (demo companies on loopback) instead of the "
        "systems named by the credentials",
    )
    parser.add_argument(
        "--profile",
        help="Intacct profile of ~/.intacct/credentials.ini (default: the INTACCT_* variables, "
        "then the [default] profile)"
        if intacct
        else "unused by this command (it reads Salesforce only); accepted for symmetry",
    )
    parser.add_argument(
        "--format",
        choices=(*formats, "table"),
        default=formats[0],
        help=f"output: {', '.join(formats)} (default {formats[0]}; 'table' is text)",
    )
    if writes:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="read and plan, print what the real run would do; write nothing anywhere",
        )
    if state:
        parser.add_argument(
            "--state",
            help="state file (SQLite: watermarks, posting ledger, id map); default "
            "~/.intacct_sync/<company>[-<entity>]/state.sqlite3, or a throwaway one in memory "
            "with --sandbox",
        )
    parser.set_defaults(uses_intacct=intacct, uses_salesforce=salesforce)
    return parser


class Connection:
    """The clients a command talks to, and the line that says which they are."""

    def __init__(
        self, ia: IntacctClient | None, sf: SalesforceClient | None, *, sandbox: bool
    ) -> None:
        self.ia = ia
        self.sf = sf
        self.sandbox = sandbox

    @property
    def intacct(self) -> IntacctClient:
        """The Intacct client (a command that asked for one)."""
        assert self.ia is not None, "this command was built without Intacct"
        return self.ia

    @property
    def salesforce(self) -> SalesforceClient:
        """The Salesforce client (a command that asked for one)."""
        assert self.sf is not None, "this command was built without Salesforce"
        return self.sf

    def describe(self) -> str:
        """``Intacct company DEMO-NONPROFIT, Salesforce https://... (embedded sandbox)``."""
        parts = []
        if self.ia is not None:
            entity_id = getattr(self.ia, "entity_id", None)
            entity = f" entity {entity_id}" if entity_id else ""
            parts.append(f"Intacct company {getattr(self.ia, 'company_id', '?')}{entity}")
        if self.sf is not None:
            parts.append(f"Salesforce {getattr(self.sf, 'instance_url', '?')}")
        where = " and ".join(parts) or "no system"
        return f"{where}{' (embedded sandbox)' if self.sandbox else ''}"


@contextmanager
def connect(
    args: argparse.Namespace,
    *,
    intacct: bool = True,
    salesforce: bool = True,
    company: str = "nonprofit",
) -> Iterator[Connection]:
    """Open the command's clients: the sandbox's with ``--sandbox``, else from the environment.

    Nothing falls back to the sandbox: without ``--sandbox`` missing credentials are an error.
    """
    with ExitStack() as stack:
        ia: IntacctClient | None = None
        sf: SalesforceClient | None = None
        if args.sandbox:
            from intacct_sync import sandbox

            sb = stack.enter_context(sandbox.running())
            if intacct:
                ia = stack.enter_context(sb.intacct_client(company))  # type: ignore[arg-type]
            if salesforce:
                sf = stack.enter_context(sb.salesforce_client())
        else:
            if intacct:
                from intacct_sync.intacct.client import IntacctClient

                profile = getattr(args, "profile", None)
                ia = stack.enter_context(IntacctClient.from_env(profile=profile))
            if salesforce:
                from intacct_sync.salesforce.client import SalesforceClient

                sf = stack.enter_context(SalesforceClient.from_env())
        yield Connection(ia, sf, sandbox=bool(args.sandbox))


def announce(args: argparse.Namespace, out: TextIO, connection: Connection, what: str) -> None:
    """Say which systems the command talks to: first line of text, or stderr for data."""
    line = terminal_safe(f"{what}: {connection.describe()}")
    if args.format in ("text", "table"):
        out.write(line + "\n")
    else:
        sys.stderr.write(f"intacct-sync: {line}\n")


def state_path(args: argparse.Namespace, connection: Connection) -> str | Path:
    """``--state``, else ``:memory:`` for the sandbox, else the tenant's own default file."""
    if getattr(args, "state", None):
        return str(args.state)
    if connection.sandbox or connection.ia is None:
        # The sandbox is reseeded on every start: a lasting state file could only drift, and
        # must never be a production one.
        return ":memory:"
    path = default_state_file(connection.ia.company_id, connection.ia.entity_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def open_state(args: argparse.Namespace, connection: Connection) -> SQLiteStateStore:
    """The command's state store, claimed for the connection's tenant.

    Raises:
        StateError: the file belongs to another tenant (see
            :func:`intacct_sync.state.tenancy.bind_tenant`).
    """
    state = SQLiteStateStore(state_path(args, connection))
    if connection.ia is not None:
        try:
            bind_tenant(state, connection.ia)
        except BaseException:
            state.close()
            raise
    return state


def json_default(value: Any) -> Any:
    """JSON for what frames hold: decimals exact as strings, dates ISO, times ISO with zone."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, pd.Timestamp | dt.datetime):
        if value.tzinfo is None and value == pd.Timestamp(value).normalize():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as JSON-able dicts (missing values as None, values as :func:`json_default`)."""

    def cell(value: Any) -> Any:
        if value is None or value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, float) and value != value:
            return None
        if isinstance(value, bool | int | float | str):
            return value
        if hasattr(value, "item") and not isinstance(value, Decimal):
            return cell(value.item())
        return json_default(value)

    return [{str(k): cell(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def emit_document(document: Mapping[str, Any], out: TextIO) -> None:
    """One JSON document on ``out``."""
    out.write(json.dumps(document, default=json_default, indent=2) + "\n")


def emit_frame(
    args: argparse.Namespace,
    frame: pd.DataFrame,
    out: TextIO,
    *,
    title: str = "",
    summary: str = "",
    max_rows: int = 50,
) -> None:
    """A frame in the chosen format: a text table (under ``title``), JSON rows, or CSV."""
    if args.format == "csv":
        write_csv(frame, out)
    elif args.format == "json":
        emit_document({"summary": summary or title, "rows": records(frame)}, out)
    else:
        if title:
            out.write(f"\n## {terminal_safe(title)} ({len(frame):,} rows)\n\n")
        if summary:
            out.write(terminal_safe(summary) + "\n")
        out.write(frame_text(frame, max_rows=max_rows) + "\n")


def timestamp(text: str) -> dt.datetime:
    """An ISO 8601 time with a zone (argparse type)."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 timestamp: {text!r} (e.g. 2026-01-31T00:00:00Z)"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no time zone; add Z or an offset such as +01:00"
        )
    return value


def date(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` date (argparse type)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None

"""One-off import of journal lines from a CSV file into Sage Intacct.

Purpose:
    Post journal entries prepared in a spreadsheet (grants, event takings, corrections) without
    typing them into Intacct, each entry exactly once however often the script is run.

Steps:
    1. Read the CSV (UTF-8, header row; columns entry, date, description, account, debit,
       credit, memo, location, department, class and GLDIM<NAME> dimensions) and check every
       row: bad rows are listed with their line number, field and value.
    2. Stop there when any row is bad (unless --skip-invalid), or when --dry-run is given:
       the entries that would be posted are shown.
    3. Post each entry as a GLBATCH under a control id derived from its ``entry`` id, recording
       it in the state store's ledger; a rerun posts nothing twice.
    4. Read the posted entries back from Intacct by their reference numbers.

Assumptions:
    * ``entry`` ids are unique for good: an entry id once posted is never posted again (prefix
      them with the period, e.g. IMP-2026-001).
    * Amounts are plain decimals (1234.50): no thousands separators or currency signs.
    * Without INTACCT_* credentials in the environment the script runs against the embedded
      sandbox (demo nonprofit), whose data lives only as long as the script.

Usage::

    python examples/import_journal_lines.py examples/data/journal_lines.csv --dry-run
    python examples/import_journal_lines.py my_lines.csv --journal GJ --state ./state.sqlite3
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from intacct_sync import IntacctClient, sandbox
from intacct_sync.errors import IntacctSyncError
from intacct_sync.intacct import filters
from intacct_sync.journals import post_journal_lines, read_journal_lines
from intacct_sync.reports import frame_text
from intacct_sync.state import DEFAULT_STATE_FILE, SQLiteStateStore

SAMPLE = Path(__file__).resolve().parent / "data" / "journal_lines.csv"


@contextmanager
def _client(use_sandbox: bool) -> Iterator[IntacctClient]:
    if use_sandbox:
        with sandbox.running() as sb, sb.intacct_client() as ia:
            yield ia
    else:
        with IntacctClient.from_env() as ia:
            yield ia


def main(argv: Sequence[str] | None = None) -> int:
    """Run the import; returns 0 when done, 1 on errors, 3 when rows are bad."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("file", nargs="?", type=Path, default=SAMPLE)
    parser.add_argument("--journal", default="GJ")
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--skip-invalid", action="store_true")
    parser.add_argument("--state", help=f"state store file (default {DEFAULT_STATE_FILE})")
    parser.add_argument(
        "--sandbox",
        action=argparse.BooleanOptionalAction,
        default="INTACCT_SENDER_ID" not in os.environ,
        help="use the embedded sandbox (default when no INTACCT_* credentials are set)",
    )
    args = parser.parse_args(argv)
    try:
        imported = read_journal_lines(args.file, journal=args.journal)
        print(imported.summary())
        if not imported.ok:
            print(frame_text(imported.issues))
            if not args.skip_invalid:
                print("Nothing posted: fix the rows or pass --skip-invalid.")
                return 3
        print(frame_text(imported.plan.lines_frame()))
        if args.dry_run:
            print("Dry run: nothing posted.")
            return 0
        state_path = args.state or (":memory:" if args.sandbox else DEFAULT_STATE_FILE)
        with _client(args.sandbox) as ia, SQLiteStateStore(state_path) as state:
            posted = post_journal_lines(ia, imported, state, skip_invalid=args.skip_invalid)
            print(posted.summary())
            references = [e.reference_no for e in imported.plan.entries if e.reference_no]
            check = ia.query(
                "GLBATCH",
                select=["RECORDNO", "REFERENCENO", "JOURNAL", "BATCH_DATE", "BATCH_TITLE"],
                filter=filters.in_("REFERENCENO", references),
            )
            print(frame_text(check))
    except IntacctSyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

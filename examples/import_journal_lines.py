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
    * It talks to the Intacct company named by the INTACCT_* credentials (or ``--profile``);
      ``--sandbox`` runs it against the embedded sandbox (demo nonprofit), whose data lives
      only as long as the script. Without credentials and without ``--sandbox`` it refuses:
      it never falls back to the sandbox, so "2 posted" always means posted where you think.
    * The state store defaults to the company's own file
      (``~/.intacct_sync/<company>[-<entity>]/state.sqlite3``), in memory with ``--sandbox``.

Exit codes: 0 done, 1 error, 2 usage (no credentials and no ``--sandbox``), 3 bad rows or an
entry not posted.

Usage::

    python examples/import_journal_lines.py examples/data/journal_lines.csv --sandbox --dry-run
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
from intacct_sync.state import SQLiteStateStore
from intacct_sync.state.tenancy import claim_tenant, default_state_file, tenant_of

SAMPLE = Path(__file__).resolve().parent / "data" / "journal_lines.csv"


@contextmanager
def _client(use_sandbox: bool) -> Iterator[IntacctClient]:
    if use_sandbox:
        with sandbox.running() as sb, sb.intacct_client() as ia:
            yield ia
    else:
        with IntacctClient.from_env() as ia:
            yield ia


def _has_credentials() -> bool:
    return bool(os.environ.get("INTACCT_SENDER_ID") or os.environ.get("INTACCT_PROFILE"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the import; returns 0 when done, 1 on errors, 2 on usage, 3 when rows are bad."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "file", nargs="?", type=Path, default=SAMPLE, help="journal lines (UTF-8 CSV)"
    )
    parser.add_argument("--journal", default="GJ", help="journal symbol (default GJ)")
    parser.add_argument("--dry-run", action="store_true", help="check and preview; post nothing")
    parser.add_argument(
        "--skip-invalid", action="store_true", help="post the valid entries despite bad rows"
    )
    parser.add_argument(
        "--state", help="state file (default: the company's own, in memory with --sandbox)"
    )
    parser.add_argument(
        "--sandbox", action="store_true", help="run against the embedded sandbox (demo nonprofit)"
    )
    args = parser.parse_args(argv)
    if not args.sandbox and not _has_credentials():
        print(
            "error: no Intacct credentials (INTACCT_SENDER_ID, ... or a profile): set them to "
            "import into your company, or pass --sandbox to try the embedded sandbox",
            file=sys.stderr,
        )
        return 2
    code = 0
    try:
        imported = read_journal_lines(args.file, journal=args.journal)
        with _client(args.sandbox) as ia:
            where = " (embedded sandbox: gone when the script ends)" if args.sandbox else ""
            print(f"Intacct company {ia.company_id}{where}")
            print(imported.summary())
            if not imported.ok:
                code = 3
                print(frame_text(imported.issues))
                if not args.skip_invalid:
                    print("Nothing posted: fix the rows or pass --skip-invalid.")
                    return code
            print(frame_text(imported.plan.lines_frame()))
            if args.dry_run:
                print("Dry run: nothing posted.")
                return code
            if args.state:
                state_path: str | Path = args.state
            elif args.sandbox:
                state_path = ":memory:"
            else:
                state_path = default_state_file(ia.company_id, ia.entity_id)
                state_path.parent.mkdir(parents=True, exist_ok=True)
            with SQLiteStateStore(state_path) as state:
                claim_tenant(state, tenant_of(ia))
                posted = post_journal_lines(ia, imported, state, skip_invalid=args.skip_invalid)
                print(posted.summary())
                if any(posted.count(s) for s in ("failed", "pending", "drift", "skipped")):
                    code = 3
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
    return code


if __name__ == "__main__":
    raise SystemExit(main())

"""``intacct-sync actions ...`` and ``intacct-sync journals ...``: the nonprofit workflow's commands.

Commands:
    actions sync           post CRM actions created since the watermark as journal entries
    journals import FILE   post journal lines from a UTF-8 CSV file

Exit codes: 0 done (including "nothing new"), 1 error (credentials, network, a run that stopped
part way: rerun it), 2 usage, 3 validation failed and nothing was posted (``actions sync`` halted
on invalid actions; ``journals import`` found bad rows without ``--skip-invalid``).

Credentials come from the ``INTACCT_*`` / ``SF_*`` variables (or ``--profile``); ``--sandbox``
runs against the embedded sandbox instead (with a throwaway state store unless ``--state`` is
given).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from intacct_sync import frames
from intacct_sync.actions.catalog import (
    NEEDS_REVIEW,
    ValidationReport,
    build_catalog,
    validate,
    write_catalog,
)
from intacct_sync.actions.journals import (
    DEFAULT_ACTIONS_JOURNAL,
    DEFAULT_IMPORT_JOURNAL,
    JournalImport,
    PostReport,
    post_journal_lines,
    read_journal_lines,
)
from intacct_sync.actions.sync import ActionSync, SyncReport
from intacct_sync.errors import ValidationError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.reports import frame_text
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.sandbox import COMPANIES, Sandbox
from intacct_sync.state import DEFAULT_STATE_FILE, SQLiteStateStore

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "EXIT_VALIDATION", "add_commands", "demo"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_VALIDATION = 3


def _timestamp(text: str) -> dt.datetime:
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


def add_commands(subparsers: Any) -> None:
    """Add the ``actions`` and ``journals`` commands to the CLI's subparsers."""
    actions = subparsers.add_parser(
        "actions", help="CRM actions to Intacct journal entries"
    ).add_subparsers(dest="actions_command", required=True)
    sync = actions.add_parser(
        "sync",
        help="post CRM actions created since the watermark",
        description="Validate the Action__c records created since the last run, post one "
        "journal entry per valid action (once ever), mark them in the CRM and move the "
        "watermark. Exit codes: 0 done, 1 error, 2 usage, 3 halted on invalid actions.",
    )
    sync.add_argument("--dry-run", action="store_true", help="build and report; write nothing")
    sync.add_argument("--mode", choices=("individual", "batch"), default="individual")
    sync.add_argument("--since", type=_timestamp, help="read actions created after this")
    sync.add_argument("--on-invalid", choices=("halt", "skip"), default="halt")
    sync.add_argument("--journal", default=DEFAULT_ACTIONS_JOURNAL, help="journal symbol")
    _common(sync)
    sync.set_defaults(run=_sync)

    journals = subparsers.add_parser("journals", help="journal entries from files").add_subparsers(
        dest="journals_command", required=True
    )
    imp = journals.add_parser(
        "import",
        help="post journal lines from a CSV file",
        description="Read journal lines (entry,date,description,account,debit,credit,memo,"
        "location,department,class,GLDIM*) from a UTF-8 CSV and post each entry once ever. "
        "Exit codes: 0 done, 1 error, 2 usage, 3 bad rows (nothing posted).",
    )
    imp.add_argument("file", type=Path, metavar="FILE.csv")
    imp.add_argument("--dry-run", action="store_true", help="check and preview; post nothing")
    imp.add_argument(
        "--skip-invalid", action="store_true", help="post the valid entries despite bad rows"
    )
    imp.add_argument("--journal", default=DEFAULT_IMPORT_JOURNAL, help="journal symbol")
    _common(imp)
    imp.set_defaults(run=_import)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state",
        help=f"state store file (watermark, ledger); default {DEFAULT_STATE_FILE}, or a "
        "throwaway one with --sandbox",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--profile", help="profile of ~/.intacct/credentials.ini")
    parser.add_argument("--sandbox", action="store_true", help="run against the embedded sandbox")


@contextmanager
def _clients(args: argparse.Namespace) -> Iterator[tuple[IntacctClient, SalesforceClient]]:
    if args.sandbox:
        with Sandbox() as sb, sb.intacct_client() as ia, sb.salesforce_client() as sf:
            yield ia, sf
        return
    with IntacctClient.from_env(profile=args.profile) as ia, SalesforceClient.from_env() as sf:
        yield ia, sf


@contextmanager
def _intacct(args: argparse.Namespace) -> Iterator[IntacctClient]:
    if args.sandbox:
        with Sandbox() as sb, sb.intacct_client() as ia:
            yield ia
        return
    with IntacctClient.from_env(profile=args.profile) as ia:
        yield ia


def _state(args: argparse.Namespace) -> SQLiteStateStore:
    if args.state:
        return SQLiteStateStore(args.state)
    return SQLiteStateStore(":memory:" if args.sandbox else DEFAULT_STATE_FILE)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        return value.isoformat()
    return str(value)


def _dump(document: Any, out: TextIO) -> None:
    out.write(json.dumps(document, default=_json_default, indent=2) + "\n")


def _print_sync(report: SyncReport, out: TextIO) -> None:
    out.write(report.summary() + "\n")
    if not report.issues.empty:
        out.write("\nInvalid actions (flagged '" + NEEDS_REVIEW + "' in the CRM):\n\n")
        out.write(frame_text(report.issues) + "\n")
    attention = report.to_frame()
    attention = attention[attention["outcome"] != "invalid"] if not report.dry_run else attention
    if len(attention):
        title = "Entries that would be posted" if report.dry_run else "Actions needing attention"
        out.write(f"\n{title}:\n\n" + frame_text(attention) + "\n")
    if report.plan is not None and len(report.plan.truncations):
        out.write("\nDescriptions cut to fit:\n\n" + frame_text(report.plan.truncations) + "\n")


def _sync(args: argparse.Namespace, out: TextIO) -> int:
    with _clients(args) as (ia, sf), _state(args) as state:
        sync = ActionSync(
            ia, sf, state, journal=args.journal, mode=args.mode, on_invalid=args.on_invalid
        )
        try:
            report = sync.run(since=args.since, dry_run=args.dry_run)
            code = EXIT_OK
        except ValidationError as exc:
            if not isinstance(exc.report, SyncReport):
                raise
            report, code = exc.report, EXIT_VALIDATION
    if args.format == "json":
        _dump(report.to_json(), out)
    else:
        _print_sync(report, out)
    return code


def _import_json(imported: JournalImport, posted: PostReport | None) -> dict[str, Any]:
    return {
        "lines": imported.lines,
        "entries": len(imported.plan.entries),
        "invalid_entries": list(imported.invalid_entries),
        "issues": frames.frame_to_records(imported.issues),
        "preview": frames.frame_to_records(imported.plan.entries_frame()),
        "posted": None if posted is None else frames.frame_to_records(posted.outcomes),
    }


def _import(args: argparse.Namespace, out: TextIO) -> int:
    imported = read_journal_lines(args.file, journal=args.journal)
    posted: PostReport | None = None
    code = EXIT_OK
    if not imported.ok and not args.skip_invalid:
        code = EXIT_VALIDATION
    elif not args.dry_run and imported.plan.entries:
        with _intacct(args) as ia, _state(args) as state:
            posted = post_journal_lines(ia, imported, state, skip_invalid=args.skip_invalid)
    if args.format == "json":
        _dump(_import_json(imported, posted), out)
        return code
    out.write(imported.summary() + "\n")
    if not imported.ok:
        out.write("\nBad rows (line numbers count the header as line 1):\n\n")
        out.write(frame_text(imported.issues) + "\n")
    if code == EXIT_VALIDATION:
        out.write("\nNothing was posted; fix the rows or pass --skip-invalid.\n")
    elif args.dry_run:
        out.write("\nDry run; these entries would be posted:\n\n")
        out.write(frame_text(imported.plan.entries_frame()) + "\n")
    elif posted is not None:
        out.write("\n" + posted.summary() + "\n\n" + frame_text(posted.outcomes) + "\n")
    return code


# -- demo ----------------------------------------------------------------------------------------


def _fixes(sf: SalesforceClient, validation: ValidationReport) -> list[dict[str, Any]]:
    """What a person would change in the CRM for each invalid seeded action."""
    ids = list(validation.invalid_ids)
    current = sf.query(
        "SELECT Id, Name, Amount__c, Tags__c FROM Action__c WHERE Status__c = 'System Needs Review'"
    )
    current = current[current["Id"].isin(ids)]
    rules = validation.issues.groupby("action_id")["rule"].agg(set)
    fixes = []
    for row in frames.frame_to_records(current):
        tags = [t for t in (row["Tags__c"] or "").split(";") if t]
        change: dict[str, Any] = {"Id": row["Id"], "Status__c": "Ready"}
        done = []
        for rule in sorted(rules.get(row["Id"], set())):
            if rule == "missing_required_tag":
                for side in ("CR", "DR"):
                    if not any(t.startswith(f"{side} Account:") for t in tags):
                        account = "1000 Cash - Operating" if side == "DR" else "4000 Contributions"
                        tags.append(f"{side} Account: {account}")
                        done.append(f"added '{side} Account: {account.split()[0]}'")
            elif rule == "one_side_only":
                for t in list(tags):
                    for have, lack in (("CR", "DR"), ("DR", "CR")):
                        if t.startswith(f"{have} Location:") and not any(
                            u.startswith(f"{lack} Location:") for u in tags
                        ):
                            tags.append(lack + t[2:])
                            done.append(f"added '{lack + t[2:]}'")
            elif rule == "amount_not_positive":
                change["Amount__c"] = Decimal("25.00")
                done.append(f"amount {row['Amount__c']} -> 25.00")
        change["Tags__c"] = ";".join(tags)
        fixes.append({"name": row["Name"], "fix": "; ".join(done), "record": change})
    return fixes


def demo(sb: Sandbox, out: TextIO) -> None:
    """The nightly sync over the sandbox nonprofit: halt, fix in the CRM, post, rerun."""
    company = COMPANIES["nonprofit"]
    with sb.intacct_client() as ia, sb.salesforce_client() as sf:
        state = SQLiteStateStore(":memory:")
        out.write("\n# Nightly sync: CRM actions -> Intacct journal entries\n\n")
        catalog = build_catalog(ia)
        written = write_catalog(sf, catalog)
        out.write(f"Tag catalog from Intacct: {len(catalog)} tags. {written.summary()}\n\n")
        per = catalog.groupby("category").size().rename("tags").reset_index()
        out.write(frame_text(per) + "\n")
        sync = ActionSync(ia, sf, state, catalog=catalog)

        out.write("\n## Run 1 (default policy: halt on any invalid action)\n\n")
        first: SyncReport | None = None
        try:
            sync.run()
        except ValidationError as exc:
            first = exc.report if isinstance(exc.report, SyncReport) else None
        if first is None:
            raise AssertionError("the seeded invalid actions should have halted the run")
        out.write(first.summary() + "\n\n" + frame_text(first.issues.drop(columns=["action_id"])))
        flagged = sb.salesforce.count("Action__c", f"Status__c = '{NEEDS_REVIEW}'")
        posted = sum(
            n
            for ref, n in sb.intacct.journal_entries_by_reference(company).items()
            if ref[:3] == "a03"
        )
        out.write(
            f"\n\nIn the CRM {flagged} actions are now '{NEEDS_REVIEW}'; "
            f"journal entries posted for actions: {posted}.\n"
        )

        out.write("\n## Someone fixes them in the CRM (Action__c updates)\n\n")
        assert first.validation is not None
        fixes = _fixes(sf, first.validation)
        sf.update("Action__c", [f["record"] for f in fixes])
        out.write(frame_text(pd.DataFrame([{"name": f["name"], "fix": f["fix"]} for f in fixes])))
        out.write("\n")

        out.write("\n## Run 2\n\n")
        second = sync.run()
        out.write(second.summary() + "\n\n")
        done = second.actions[second.actions["outcome"] == "posted"]
        out.write(frame_text(done.drop(columns=["action_id", "message"]).head(5)) + "\n")
        plan = second.plan
        if plan is not None:
            out.write("\nFirst entry's lines:\n\n")
            lines = plan.lines_frame()
            out.write(frame_text(lines[lines["source_id"] == plan.source_ids[0]]) + "\n")
        counts = sb.intacct.journal_entries_by_reference(company)
        refs = [r for r in counts if r[:3] == "a03"]
        out.write(
            f"\nIn Intacct: {len(refs)} actions have a journal entry, at most "
            f"{max((counts[r] for r in refs), default=0)} each; CRM actions marked posted: "
            f"{sb.salesforce.count('Action__c', 'Intacct_Posted__c = true')}.\n"
        )

        out.write("\n## Run 3 (nothing new)\n\n")
        third = sync.run()
        out.write(third.summary() + "\n")
        again = sync.run(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        out.write(
            "Rerun over every action (--since 2000-01-01): "
            f"{again.count('posted')} posted, {again.count('already_posted')} already posted, "
            f"{again.count('excluded')} excluded.\n"
        )
        check = validate(sync.load_actions(), catalog)
        out.write(f"All actions now: {check.summary()}\n")

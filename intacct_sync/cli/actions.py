"""``intacct-sync actions ...`` and ``intacct-sync journals ...``: the nonprofit workflow's commands.

Commands:
    actions sync           post CRM actions created since the watermark as journal entries
    journals import FILE   post journal lines from a UTF-8 CSV file

Exit codes (:data:`intacct_sync.cli.common.EXIT_CODES`): 0 done (including "nothing new"),
1 error (credentials, network, a run that stopped part way: rerun it), 2 usage, 3 needs
attention: ``actions sync`` halted on invalid actions or some were not posted (skipped, failed,
pending, drift); ``journals import`` found bad rows or an entry Intacct would refuse (the
preflight; nothing posted without ``--skip-invalid``; with it, the valid entries are posted and
the exit code stays 3), or an entry was refused.

Credentials come from the ``INTACCT_*`` / ``SF_*`` variables (or ``--profile``); ``--sandbox``
runs against the embedded sandbox instead (with a throwaway state store unless ``--state`` is
given). Nothing falls back to the sandbox.
"""

from __future__ import annotations

import argparse
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.actions.catalog import (
    NEEDS_REVIEW,
    ValidationReport,
    build_catalog,
    validate,
    write_catalog,
)
from intacct_sync.actions.dimensions import resolve_udd_values
from intacct_sync.actions.journal_import import (
    ImportReport,
    JournalImport,
    post_journal_lines,
    preflight_journal_lines,
    read_journal_lines,
)
from intacct_sync.actions.journals import (
    DEFAULT_ACTIONS_JOURNAL,
    DEFAULT_IMPORT_JOURNAL,
    plan_corrections,
)
from intacct_sync.actions.sync import ActionSync, SyncReport
from intacct_sync.cli.common import (
    EXIT_ATTENTION,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_group,
    announce,
    connect,
    emit_document,
    open_state,
    timestamp,
)
from intacct_sync.errors import ValidationError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.posting.corrections import PlannedCorrection, corrections_text
from intacct_sync.posting.preflight import PreflightReport
from intacct_sync.reports import Scope, frame_text, plural, terminal_safe, write_csv
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.sandbox import COMPANIES, Sandbox
from intacct_sync.state import SQLiteStateStore, StateStore

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "EXIT_VALIDATION", "add_commands", "demo"]

#: The old name of :data:`~intacct_sync.cli.common.EXIT_ATTENTION`.
EXIT_VALIDATION = EXIT_ATTENTION


def add_commands(subparsers: Any) -> None:
    """Add the ``actions`` and ``journals`` commands to the CLI's subparsers."""
    actions = add_group(
        subparsers,
        "actions",
        help="CRM actions to Intacct journal entries",
        description="Donations, memberships and tickets recorded in the CRM (Action__c) "
        "posted to Intacct as journal entries.",
    )
    sync = add_command(
        actions,
        "sync",
        help="post CRM actions created since the watermark",
        description="Validate the Action__c records created since the last run (Salesforce), "
        "post one journal entry per valid action to Intacct (once ever), mark them in "
        "Salesforce and move the watermark. Invalid actions are flagged 'System Needs Review' "
        "in Salesforce and, by default, halt the run before anything is posted. Talks to "
        "Salesforce and Intacct; writes to both (--dry-run: to neither).",
        writes=True,
        state=True,
    )
    sync.add_argument(
        "--mode",
        choices=("individual", "batch"),
        default="individual",
        help="individual: each entry dated by its action; batch: all dated by the run's start",
    )
    sync.add_argument(
        "--since",
        type=timestamp,
        help="read actions created after this ISO time with a zone (default: the watermark)",
    )
    sync.add_argument(
        "--on-invalid",
        choices=("halt", "skip"),
        default="halt",
        help="halt: post nothing when any action is invalid (default); skip: post the valid "
        "ones (the exit code is still 3)",
    )
    sync.add_argument(
        "--journal", default=DEFAULT_ACTIONS_JOURNAL, help="journal symbol (default %(default)s)"
    )
    sync.add_argument("--correct-drift", action="store_true", help=_CORRECT_DRIFT_HELP)
    sync.set_defaults(run=_sync)

    journals = add_group(
        subparsers,
        "journals",
        help="journal entries from files",
        description="Journal entries from files, posted to Intacct.",
    )
    imp = add_command(
        journals,
        "import",
        help="post journal lines from a CSV file",
        description="Read journal lines (entry,date,description,account,debit,credit,memo,"
        "location,department,class,GLDIM*) from a UTF-8 CSV and post each entry to Intacct "
        "once ever. Line numbers in messages are the file's (the header is line 1). Talks to "
        "Intacct; writes to it (--dry-run: checks and previews only).",
        writes=True,
        salesforce=False,
        state=True,
    )
    imp.add_argument("file", type=Path, metavar="FILE.csv", help="the journal lines (UTF-8 CSV)")
    imp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="post the valid entries despite bad rows or entries Intacct would refuse (the "
        "exit code is still 3)",
    )
    imp.add_argument(
        "--journal", default=DEFAULT_IMPORT_JOURNAL, help="journal symbol (default %(default)s)"
    )
    imp.add_argument("--correct-drift", action="store_true", help=_CORRECT_DRIFT_HELP)
    imp.set_defaults(run=_import)


_CORRECT_DRIFT_HELP = (
    "an entry posted earlier whose figures have changed since (drift) is corrected: the entry "
    "Intacct holds is reversed (same accounts and dimensions, debit and credit swapped, dated "
    "as the original, or as the new figures when its period is closed) and the new figures "
    "are posted, each exactly once. Without it drift is reported and nothing is sent. "
    "--dry-run lists the reversals and reposts it would post"
)


_dump = emit_document


def _print_sync(report: SyncReport, out: TextIO) -> None:
    out.write(terminal_safe(report.summary()) + "\n")
    if report.scope:
        out.write(terminal_safe(f"Intacct: {report.scope}") + "\n")
    if not report.issues.empty:
        flagged = (
            f"would be flagged '{NEEDS_REVIEW}' in the CRM by the real run"
            if report.dry_run
            else f"flagged '{NEEDS_REVIEW}' in the CRM"
        )
        out.write(f"\nInvalid actions ({flagged}):\n\n")
        out.write(frame_text(report.issues) + "\n")
    actions = report.actions
    done = "would_post" if report.dry_run else "posted"
    posted = actions[actions["outcome"] == done]
    if len(posted):
        title = "Entries the real run would post" if report.dry_run else "Entries posted"
        out.write(f"\n{title}:\n\n" + frame_text(posted) + "\n")
    # Held rows (a halted run) and the other unsettled outcomes: what was not, or would not be,
    # posted, listed apart from what was.
    fixed = actions[actions["outcome"] == ("would_correct" if report.dry_run else "corrected")]
    if len(fixed):
        title = (
            "Corrections the real run would post (a reversal and a repost each)"
            if report.dry_run
            else "Entries corrected (reversed and reposted)"
        )
        out.write(f"\n{title}:\n\n" + frame_text(fixed, max_text=100) + "\n")
    settled = ["posted", "would_post", "already_posted", "excluded", "invalid"]
    attention = actions[~actions["outcome"].isin([*settled, "corrected", "would_correct"])]
    if len(attention):
        title = "Not posted (needs attention)" if not report.dry_run else "Would not be posted"
        out.write(f"\n{title}:\n\n" + frame_text(attention) + "\n")
    _print_drift_hint(0 if report.dry_run else report.count("drift"), out)
    if report.plan is not None and len(report.plan.truncations):
        out.write("\nDescriptions cut to fit:\n\n" + frame_text(report.plan.truncations) + "\n")


def _print_drift_hint(drift: int, out: TextIO) -> None:
    if drift:
        out.write(
            f"\n{plural(drift, 'entry', 'entries')} posted earlier with other figures (drift): "
            "nothing was sent for them. Run again with --correct-drift to reverse each as "
            "Intacct holds it and post the new figures (--dry-run --correct-drift lists them).\n"
        )


def _sync_code(report: SyncReport) -> int:
    """3 when anything read was not settled (invalid, held, failed, pending, drift, skipped)."""
    unsettled = {"invalid", "held", "failed", "pending", "drift", "skipped"}
    if report.halted or report.crm_failures:
        return EXIT_ATTENTION
    return EXIT_ATTENTION if any(report.count(o) for o in unsettled) else EXIT_OK


def _sync(args: argparse.Namespace, out: TextIO) -> int:
    with connect(args) as conn, open_state(args, conn) as state:
        announce(args, out, conn, "actions sync" + (" --dry-run" if args.dry_run else ""))
        sync = ActionSync(
            conn.intacct,
            conn.salesforce,
            state,
            journal=args.journal,
            mode=args.mode,
            on_invalid=args.on_invalid,
            correct_drift=args.correct_drift,
        )
        try:
            report = sync.run(since=args.since, dry_run=args.dry_run)
        except ValidationError as exc:
            if not isinstance(exc.report, SyncReport):
                raise
            report = exc.report
    if args.format == "json":
        _dump(report.to_json(), out)
    elif args.format == "csv":
        write_csv(report.actions, out)
    else:
        _print_sync(report, out)
    return _sync_code(report)


def _import_json(
    imported: JournalImport,
    posted: ImportReport | None,
    checks: PreflightReport | None,
    scope: Scope,
) -> dict[str, Any]:
    return {
        **scope.to_dict(),
        "summary": None if posted is None else posted.summary(),
        "lines": imported.lines,
        "entries": len(imported.plan.entries),
        "invalid_entries": list(imported.invalid_entries),
        "issues": frames.frame_to_records(imported.issues),
        "preview": frames.frame_to_records(imported.plan.entries_frame()),
        "preflight": None if checks is None else checks.to_dict(),
        "posted": None if posted is None else frames.frame_to_records(posted.outcomes),
    }


def _print_refusals(posted: ImportReport, skip_invalid: bool, out: TextIO) -> None:
    """Each refused entry's whole reason (CSV line, field, value, rule): the table cuts it."""
    refused = posted.outcomes[posted.outcomes["status"].isin(["skipped", "failed"])]
    if refused.empty:
        return
    out.write("\nRefused (fix them, then import again):\n")
    for errors in refused["errors"].tolist():
        out.write(f"- {terminal_safe(str(errors))}\n")
    if posted.count("held") and not skip_invalid:
        out.write(
            f"\nNothing was posted: {plural(len(refused), 'entry', 'entries')} would be "
            f"refused by Intacct; fix {'it' if len(refused) == 1 else 'them'}, or pass "
            "--skip-invalid to post the others.\n"
        )


_PLANNED_COLUMNS: dict[str, frames.Kind] = {
    "entry": "text",
    "reverse_RECORDNO": "text",
    "reversed_amount": "decimal",
    "reversal_REFERENCENO": "text",
    "reversal_date": "date",
    "repost_REFERENCENO": "text",
    "amount": "decimal",
}


def _planned_corrections(
    ia: IntacctClient, imported: JournalImport, state: StateStore
) -> tuple[PlannedCorrection, ...]:
    """What ``--correct-drift`` would reverse and repost, read-only (nothing is sent)."""
    # As the real run posts them: GLDIM<name> values resolved to the UDD records' ids.
    entries = resolve_udd_values(ia, imported.plan.entries)
    return plan_corrections(ia, attrs.evolve(imported.plan, entries=entries), state)


def _planned_frame(planned: tuple[PlannedCorrection, ...]) -> pd.DataFrame:
    return frames.frame_from_records(
        (
            {
                "entry": p.key,
                "reverse_RECORDNO": p.reversed_record_no,
                "reversed_amount": p.reversed_amount,
                "reversal_REFERENCENO": p.reversal_reference,
                "reversal_date": p.reversal_date,
                "repost_REFERENCENO": p.repost_reference,
                "amount": p.amount,
            }
            for p in planned
        ),
        _PLANNED_COLUMNS,
    )


def _import(args: argparse.Namespace, out: TextIO) -> int:
    imported = read_journal_lines(args.file, journal=args.journal)
    posted: ImportReport | None = None
    code = EXIT_OK if imported.ok else EXIT_ATTENTION
    stop = not imported.ok and not args.skip_invalid
    with connect(args, salesforce=False) as conn:
        announce(args, out, conn, "journals import" + (" --dry-run" if args.dry_run else ""))
        scope = Scope.of(conn.intacct)
        checks = None
        planned: tuple[PlannedCorrection, ...] = ()
        if not stop and args.dry_run and imported.plan.entries:
            # The dry run checks what the real run's preflight will refuse (issue 14).
            checks = preflight_journal_lines(conn.intacct, imported)
            if not checks.ok:
                code = EXIT_ATTENTION
            if args.correct_drift:
                with open_state(args, conn) as state:
                    planned = _planned_corrections(conn.intacct, imported, state)
        if not stop and not args.dry_run and imported.plan.entries:
            with open_state(args, conn) as state:
                posted = post_journal_lines(
                    conn.intacct,
                    imported,
                    state,
                    skip_invalid=args.skip_invalid,
                    correct_drift=args.correct_drift,
                )
    if posted is not None and any(
        posted.count(status) for status in ("failed", "pending", "drift", "skipped", "held")
    ):
        code = EXIT_ATTENTION
    if args.format == "json":
        _dump(_import_json(imported, posted, checks, scope), out)
        return code
    if args.format == "csv":
        write_csv(posted.outcomes if posted is not None else imported.plan.entries_frame(), out)
        return code
    out.write(terminal_safe(imported.summary()) + "\n")
    if not imported.ok:
        out.write("\nBad rows (line numbers count the header as line 1):\n\n")
        out.write(frame_text(imported.issues) + "\n")
    if stop:
        out.write("\nNothing was posted; fix the rows or pass --skip-invalid.\n")
    elif args.dry_run:
        preview = imported.plan.entries_frame()
        halt = ""
        if checks is not None and not checks.ok:
            refused = set(checks.breaches["entry"].astype(str))
            policy = (
                "the real run skips them"
                if args.skip_invalid
                else "the real run posts nothing (with --skip-invalid, all but them)"
            )
            out.write(
                f"\n{terminal_safe(checks.summary())}. Intacct would refuse "
                f"{plural(len(refused), 'entry', 'entries')}; {policy}:\n\n"
            )
            out.write(frame_text(checks.breaches, max_text=80) + "\n")
            preview = preview[~preview["REFERENCENO"].astype(str).isin(refused)]
            if not args.skip_invalid:
                halt = "nothing would be posted without --skip-invalid; with it, "
        out.write(f"\nDry run; {halt}these entries would be posted:\n\n")
        out.write(frame_text(preview) + "\n")
        if planned:
            out.write(
                "\nCorrecting entries the real run would post (--correct-drift): "
                + terminal_safe(
                    corrections_text(
                        [(p.reversed_record_no, p.reversed_amount, p.amount) for p in planned],
                        planned=True,
                    )
                )
                + "\n\n"
                + frame_text(_planned_frame(planned), max_text=80)
                + "\n"
            )
    elif posted is not None:
        # The table's title is the summary.
        out.write("\n" + str(posted.table()) + "\n")
        _print_refusals(posted, args.skip_invalid, out)
        _print_drift_hint(posted.count("drift"), out)
        if not imported.ok:
            out.write(
                f"\n{plural(len(imported.invalid_entries), 'entry', 'entries')} with bad rows "
                "not posted (--skip-invalid); fix them and import again.\n"
            )
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

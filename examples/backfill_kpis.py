"""Backfill a year of daily donor KPIs and post them as statistical journal entries.

Purpose:
    A nonprofit starting the daily KPI loop wants its statistical accounts to show a year of
    history, not just today. This script counts the KPIs for every day of the range from the
    CRM's gift history, records the daily totals, posts each day's changes (once per KPI and
    day; rerunning posts nothing new) and checks what the statistical accounts hold.

Steps:
    1. Read Gift__c from Salesforce (``kpi.gifts_from_salesforce``).
    2. ``kpi.daily_totals`` for every day FROM..TO (vectorised: one pass, not one per day).
    3. ``kpi.changes`` against the recorded history in the state store.
    4. ``kpi.post_changes`` to the STAT journal (accounts 9000-9050); ``--dry-run`` stops here
       and prints the plan.
    5. ``kpi.record_totals`` (state store + KPI_Daily_Total__c), then ``kpi.check_holdings``.

Assumptions:
    The statistical accounts of ``kpi.DEFAULT_ACCOUNTS`` and the journal STAT exist. With no
    INTACCT_*/SF_* credentials set it refuses unless ``--sandbox`` is given (embedded sandbox).

Usage:
    python examples/backfill_kpis.py [--from 2025-11-24] [--to 2026-11-23] [--dry-run]
        [--state PATH] [--sandbox]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from intacct_sync import kpi
from intacct_sync.reports import frame_text
from intacct_sync.state import SQLiteStateStore

SEGMENTS = (
    *kpi.DEFAULT_SEGMENTS,
    kpi.Segment(name="members", window_years=1, types=("Membership",)),
)


@contextlib.contextmanager
def clients(use_sandbox: bool) -> Iterator[tuple[Any, Any]]:
    if use_sandbox:
        from intacct_sync import sandbox

        with sandbox.running() as sb:
            yield sb.intacct_client(), sb.salesforce_client()
        return
    from intacct_sync import IntacctClient, SalesforceClient

    yield IntacctClient.from_env(), SalesforceClient.from_env()


def main(argv: Sequence[str] | None = None) -> int:
    today = dt.datetime.now(dt.UTC).astimezone().date()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--from", dest="start", type=dt.date.fromisoformat, default=today - dt.timedelta(days=364)
    )
    parser.add_argument("--to", dest="end", type=dt.date.fromisoformat, default=today)
    parser.add_argument("--dry-run", action="store_true", help="plan and print, post nothing")
    parser.add_argument("--state", default=":memory:", help="state store file")
    has_credentials = bool(
        os.environ.get("INTACCT_SENDER_ID") and os.environ.get("SF_INSTANCE_URL")
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the embedded sandbox (never chosen for you when credentials are missing)",
    )
    args = parser.parse_args(argv)
    if not args.sandbox and not has_credentials:
        print(
            "error: no INTACCT_*/SF_* credentials: set them to run against your systems, or "
            "pass --sandbox to try the embedded sandbox",
            file=sys.stderr,
        )
        return 2
    print(
        "Talking to the embedded sandbox (gone when the script ends)"
        if args.sandbox
        else f"Talking to Intacct company {os.environ.get('INTACCT_COMPANY_ID')} and Salesforce "
        f"{os.environ.get('SF_INSTANCE_URL')}"
    )
    state = SQLiteStateStore(args.state)
    with clients(args.sandbox) as (ia, sf):
        gifts = kpi.gifts_from_salesforce(sf)
        totals = kpi.daily_totals(gifts, start=args.start, end=args.end, segments=SEGMENTS)
        print(f"{len(gifts):,} gifts -> {len(totals):,} daily totals, {args.start} to {args.end}")
        changes = kpi.changes(totals, kpi.recorded_totals(state=state))
        report = kpi.post_changes(ia, changes, state=state, dry_run=args.dry_run)
        print(report.summary())
        moved = report.to_frame()
        moved = moved[moved["status"] != "unchanged"]
        print(
            frame_text(
                moved[["date", "kpi", "account", "tr_type", "amount", "status"]], max_rows=20
            )
        )
        if args.dry_run:
            return 0
        kpi.record_totals(totals, state=state, sf=sf)
        holdings = kpi.check_holdings(ia, totals, raise_on_drift=False)
        print(holdings)
        return 0 if holdings.ok and report.failed == 0 else 3


if __name__ == "__main__":
    sys.exit(main())

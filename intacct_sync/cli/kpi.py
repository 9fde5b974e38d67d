"""``intacct-sync kpi ...``: post donor KPIs as statistical entries; compare them with the books.

Commands:
    kpi post [--date YYYY-MM-DD] [--backfill FROM TO] [--dry-run] [--state PATH]
             [--format table|json] [--sandbox]
        Count the KPIs from the CRM's gift history for the day (default today) or every day of
        FROM..TO, record the daily totals (state store and KPI_Daily_Total__c), post each change
        against the prior recorded day as a statistical entry (once per KPI and day), then check
        that the statistical accounts hold the KPIs' values.
    kpi compare [--freq M|Q] [--months N] [--format table|json] [--sandbox]
        KPI series against contributions revenue and fundraising expense, per period.

Credentials: ``INTACCT_*`` and ``SF_*`` variables (``IntacctClient.from_env``,
``SalesforceClient.from_env``); ``--sandbox`` runs against the embedded sandbox instead.

Exit codes: 0 done; 1 an error (network, API, bad input); 2 usage; 3 the holdings check found a
drift, or a posting failed or is unconfirmed (rerun to finish).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

from intacct_sync import kpi
from intacct_sync.errors import IncompleteWriteError
from intacct_sync.reports import frame_text
from intacct_sync.state import DEFAULT_STATE_FILE, SQLiteStateStore

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient
    from intacct_sync.sandbox import Sandbox

__all__ = ["SANDBOX_SEGMENTS", "add_commands", "demo"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_VALIDATION = 0, 1, 2, 3
#: The sandbox nonprofit's KPIs: the default segments plus members (a membership in 1 year).
SANDBOX_SEGMENTS: tuple[kpi.Segment | kpi.Rule, ...] = (
    *kpi.DEFAULT_SEGMENTS,
    kpi.Segment(name="members", window_years=1, types=("Membership",)),
)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone().date()


@contextlib.contextmanager
def _clients(use_sandbox: bool) -> Iterator[tuple[IntacctClient, SalesforceClient]]:
    if use_sandbox:
        from intacct_sync import sandbox

        with sandbox.running() as sb, sb.intacct_client() as ia, sb.salesforce_client() as sf:
            yield ia, sf
        return
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient

    with IntacctClient.from_env() as ia, SalesforceClient.from_env() as sf:
        yield ia, sf


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()[:10]
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            str(k): (None if v is None or (not isinstance(v, Decimal) and pd.isna(v)) else v)
            for k, v in row.items()
        }
        for row in frame.to_dict(orient="records")
    ]


def run_post(
    ia: IntacctClient,
    sf: SalesforceClient,
    state: SQLiteStateStore,
    *,
    start: dt.date,
    end: dt.date,
    dry_run: bool,
) -> tuple[kpi.PostingReport, kpi.HoldingsReport | None, pd.DataFrame]:
    """Count, record, post and check: the whole daily loop (shared by the CLI and the demo)."""
    gifts = kpi.gifts_from_salesforce(sf)
    totals = kpi.daily_totals(gifts, start=start, end=end, segments=SANDBOX_SEGMENTS)
    history = kpi.recorded_totals(state=state)
    changes = kpi.changes(totals, history)
    report = kpi.post_changes(ia, changes, state=state, dry_run=dry_run)
    if dry_run:
        return report, None, totals
    kpi.record_totals(totals, state=state, sf=sf)
    everything = kpi.recorded_totals(state=state)
    holdings = kpi.check_holdings(ia, everything, raise_on_drift=False)
    return report, holdings, totals


def _post(args: argparse.Namespace, out: TextIO) -> int:
    if args.backfill:
        start, end = args.backfill
        if end < start:
            out.write("kpi post: --backfill FROM TO needs FROM <= TO\n")
            return EXIT_USAGE
    else:
        start = end = args.date or _today()
    state = SQLiteStateStore(args.state)
    try:
        with _clients(args.sandbox) as (ia, sf):
            try:
                posting, holdings, _ = run_post(
                    ia, sf, state, start=start, end=end, dry_run=args.dry_run
                )
            except IncompleteWriteError as exc:
                out.write(f"kpi post stopped part way (rerun to finish): {exc}\n")
                return EXIT_VALIDATION
    finally:
        state.close()
    failed = posting.failed > 0 or (holdings is not None and not holdings.ok)
    shown = posting.to_frame()
    if args.format == "json":
        document = {
            "posting": {"summary": posting.summary(), "rows": _records(shown)},
            "holdings": None
            if holdings is None
            else {
                "ok": holdings.ok,
                "summary": holdings.summary(),
                "rows": _records(holdings.to_frame()),
            },
        }
        out.write(json.dumps(document, default=_json_default, indent=2) + "\n")
    else:
        moved = shown[shown["status"] != "unchanged"]
        out.write(posting.summary() + "\n")
        if len(moved):
            columns = [
                "date",
                "kpi",
                "account",
                "prior_value",
                "value",
                "tr_type",
                "amount",
                "key",
                "status",
            ]
            out.write(frame_text(moved[columns]) + "\n")
        if holdings is not None:
            out.write(str(holdings) + "\n")
    return EXIT_VALIDATION if failed else EXIT_OK


def run_compare(
    ia: IntacctClient, sf: SalesforceClient, *, freq: kpi.Freq, months: int
) -> kpi.TrendReport:
    """KPI series (backfilled daily) against the GL, over the last ``months`` months."""
    today = _today()
    first = (pd.Timestamp(today).to_period("M") - (months - 1)).start_time.date()
    gifts = kpi.gifts_from_salesforce(sf)
    totals = kpi.daily_totals(gifts, start=first, end=today, segments=SANDBOX_SEGMENTS)
    money = kpi.financials(ia, start=first, end=today, freq=freq)
    return kpi.compare(totals, money, freq=freq)


def _compare(args: argparse.Namespace, out: TextIO) -> int:
    with _clients(args.sandbox) as (ia, sf):
        report = run_compare(ia, sf, freq=args.freq, months=args.months)
    if args.format == "json":
        document = {"summary": report.summary(), "rows": _records(report.to_frame())}
        out.write(json.dumps(document, default=_json_default, indent=2) + "\n")
    else:
        out.write(report.text() + "\n")
    return EXIT_OK


def add_commands(subparsers: Any) -> None:
    """Add ``kpi post`` and ``kpi compare`` to the ``intacct-sync`` parser."""
    group = subparsers.add_parser("kpi", help="donor KPIs as statistical entries; KPI trends")
    sub = group.add_subparsers(dest="kpi_command", required=True)

    post = sub.add_parser("post", help="post today's (or a range's) KPI changes")
    when = post.add_mutually_exclusive_group()
    when.add_argument("--date", type=_date, help="the day to count (default today)")
    when.add_argument(
        "--backfill", nargs=2, type=_date, metavar=("FROM", "TO"), help="every day FROM..TO"
    )
    post.add_argument("--dry-run", action="store_true", help="plan and print; send nothing")
    post.add_argument(
        "--state", type=Path, default=DEFAULT_STATE_FILE, help="state store (SQLite file)"
    )
    post.add_argument("--format", choices=("table", "json"), default="table")
    post.add_argument("--sandbox", action="store_true", help="run against the embedded sandbox")
    post.set_defaults(run=_post)

    comp = sub.add_parser("compare", help="KPIs against revenue and fundraising expense")
    comp.add_argument("--freq", choices=("M", "Q"), default="M", help="months or quarters")
    comp.add_argument("--months", type=int, default=24, help="how far back (default 24)")
    comp.add_argument("--format", choices=("table", "json"), default="table")
    comp.add_argument("--sandbox", action="store_true", help="run against the embedded sandbox")
    comp.set_defaults(run=_compare)


def demo(sb: Sandbox, out: TextIO) -> None:
    """The KPI part of ``make demo``: post today's entries, rerun, compare with the books."""
    state = SQLiteStateStore(":memory:")
    today = _today()
    with sb.intacct_client() as ia, sb.salesforce_client() as sf:
        out.write("\n## Donor KPIs today (Gift__c in the CRM)\n\n")
        gifts = kpi.gifts_from_salesforce(sf)
        segments = kpi.donor_segments(gifts, as_of=today, segments=SANDBOX_SEGMENTS)
        out.write(frame_text(segments.to_frame()) + "\n")
        out.write("\n## Statistical entries posted to the STAT journal\n\n")
        posting, holdings, _ = run_post(ia, sf, state, start=today, end=today, dry_run=False)
        frame = posting.to_frame()
        out.write(posting.summary() + "\n")
        columns = ["kpi", "account", "prior_value", "value", "tr_type", "amount", "key", "status"]
        out.write(frame_text(frame[columns]) + "\n")
        if holdings is not None:
            out.write(f"\n{holdings}\n")
        again, _, _ = run_post(ia, sf, state, start=today, end=today, dry_run=False)
        out.write(f"\nRerun the same day: {again.summary()} ({again.new_entries} new)\n")
        out.write("\n## KPIs against the books (monthly, last 12 months)\n\n")
        report = run_compare(ia, sf, freq="M", months=24)
        out.write(report.summary() + "\n")
        out.write(frame_text(report.to_frame()[report.shown].tail(12)) + "\n")
    state.close()

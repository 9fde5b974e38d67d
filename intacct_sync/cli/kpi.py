"""``intacct-sync kpi ...``: post donor KPIs as statistical entries; compare them with the books.

Commands:
    kpi post [--date YYYY-MM-DD] [--backfill FROM TO] [--dry-run] [--state PATH]
        Count the KPIs from the CRM's gift history for the day (default today) or every day of
        FROM..TO, record the daily totals (state store and KPI_Daily_Total__c), post each change
        against the prior recorded day as a statistical entry (once per KPI and day), then check
        that the statistical accounts hold the KPIs' values.
    kpi compare [--freq M|Q] [--months N]
        KPI series against contributions revenue and fundraising expense, per period.

Credentials: ``INTACCT_*`` (or ``--profile``) and ``SF_*`` variables; ``--sandbox`` runs against
the embedded sandbox instead. Exit codes: :data:`intacct_sync.cli.common.EXIT_CODES` (3: the
holdings check found a drift, or a posting failed or is unconfirmed: rerun to finish).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, TextIO

import pandas as pd

from intacct_sync import kpi
from intacct_sync.cli.common import (
    EXIT_ATTENTION,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    add_command,
    add_group,
    announce,
    connect,
    date,
    open_state,
)
from intacct_sync.errors import IncompleteWriteError
from intacct_sync.reports import frame_text, terminal_safe, write_csv
from intacct_sync.state import SQLiteStateStore

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient
    from intacct_sync.sandbox import Sandbox

__all__ = ["SANDBOX_SEGMENTS", "add_commands", "demo"]

#: The old name of :data:`~intacct_sync.cli.common.EXIT_ATTENTION`.
EXIT_VALIDATION = EXIT_ATTENTION
#: The sandbox nonprofit's KPIs: the default segments plus members (a membership in 1 year).
SANDBOX_SEGMENTS: tuple[kpi.Segment | kpi.Rule, ...] = (
    *kpi.DEFAULT_SEGMENTS,
    kpi.Segment(name="members", window_years=1, types=("Membership",)),
)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).astimezone().date()


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
    on_invalid: Literal["halt", "skip"] = "halt",
) -> tuple[kpi.PostingReport, kpi.HoldingsReport | None, pd.DataFrame]:
    """Count, record, post and check: the whole daily loop (shared by the CLI and the demo).

    ``on_invalid`` is :func:`kpi.post_changes`' policy for an entry Intacct would refuse.
    """
    gifts = kpi.gifts_from_salesforce(sf)
    totals = kpi.daily_totals(gifts, start=start, end=end, segments=SANDBOX_SEGMENTS)
    history = kpi.recorded_totals(state=state)
    changes = kpi.changes(totals, history)
    report = kpi.post_changes(ia, changes, state=state, dry_run=dry_run, on_invalid=on_invalid)
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
    with connect(args) as conn, open_state(args, conn) as state:
        announce(args, out, conn, "kpi post" + (" --dry-run" if args.dry_run else ""))
        try:
            posting, holdings, _ = run_post(
                conn.intacct,
                conn.salesforce,
                state,
                start=start,
                end=end,
                dry_run=args.dry_run,
                on_invalid=args.on_invalid,
            )
        except IncompleteWriteError as exc:
            out.write(f"kpi post stopped part way (rerun to finish): {terminal_safe(str(exc))}\n")
            return EXIT_ERROR
    failed = posting.failed > 0 or (holdings is not None and not holdings.ok)
    shown = posting.to_frame()
    if args.format == "csv":
        write_csv(shown, out)
    elif args.format == "json":
        document = {
            **posting.scope.to_dict(),
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
        refused = shown[shown["status"].isin(["skipped", "failed"])]
        if len(refused):
            # The table cuts long text; each refusal's field, value and rule is shown whole.
            out.write("\nRefused:\n")
            for key, errors in zip(refused["key"], refused["errors"], strict=True):
                out.write(f"- {terminal_safe(f'{key}: {errors}')}\n")
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
    with connect(args) as conn:
        announce(args, out, conn, "kpi compare")
        report = run_compare(conn.intacct, conn.salesforce, freq=args.freq, months=args.months)
    if args.format == "csv":
        write_csv(report.to_frame(), out)
    elif args.format == "json":
        document = {"summary": report.summary(), "rows": _records(report.to_frame())}
        out.write(json.dumps(document, default=_json_default, indent=2) + "\n")
    else:
        out.write(report.text() + "\n")
    return EXIT_OK


def add_commands(subparsers: Any) -> None:
    """Add ``kpi post`` and ``kpi compare`` to the ``intacct-sync`` parser."""
    sub = add_group(
        subparsers,
        "kpi",
        help="donor KPIs as statistical entries; KPI trends",
        description="Donor KPIs counted from the CRM's gift history, posted to Intacct as "
        "statistical journal entries, and compared with the books.",
    )
    post = add_command(
        sub,
        "post",
        help="post today's (or a range's) KPI changes",
        description="Count the KPIs from Salesforce's gift history for a day (default today) or "
        "every day of a range, post each change against the prior recorded day to Intacct as "
        "a statistical entry (once per KPI and day), record the daily totals (state store and "
        "KPI_Daily_Total__c in Salesforce), then check the statistical accounts hold the KPIs' "
        "values. Talks to Salesforce and Intacct; writes to both (--dry-run: to neither).",
        writes=True,
        state=True,
    )
    when = post.add_mutually_exclusive_group()
    when.add_argument("--date", type=date, help="the day to count, YYYY-MM-DD (default today)")
    when.add_argument(
        "--backfill",
        nargs=2,
        type=date,
        metavar=("FROM", "TO"),
        help="every day FROM..TO (YYYY-MM-DD, inclusive)",
    )
    post.add_argument(
        "--on-invalid",
        choices=("halt", "skip"),
        default="halt",
        help="an entry Intacct would refuse (checked before sending): halt posts nothing "
        "(default); skip posts the others (the exit code is still 3)",
    )
    post.set_defaults(run=_post)

    comp = add_command(
        sub,
        "compare",
        help="KPIs against revenue and fundraising expense",
        description="KPI series (counted from Salesforce's gift history) against contributions "
        "revenue and fundraising expense from Intacct's GL, per month or quarter, with ratios "
        "and changes. Talks to Salesforce and Intacct; writes nothing.",
    )
    comp.add_argument("--freq", choices=("M", "Q"), default="M", help="months or quarters")
    comp.add_argument("--months", type=int, default=24, help="how far back (default 24)")
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
        out.write(f"\nRerun the same day ({again.new_entries} new): {again.summary()}\n")
        out.write("\n## KPIs against the books (monthly, last 12 months)\n\n")
        report = run_compare(ia, sf, freq="M", months=24)
        out.write(report.summary() + "\n")
        out.write(frame_text(report.to_frame()[report.shown].tail(12)) + "\n")
    state.close()

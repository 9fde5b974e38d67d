"""Baseline match of customers and products between Salesforce and Intacct (a one-off import).

Purpose: before the first two-way sync, find which Salesforce Accounts and Products already exist
in Intacct (external id, then normalised name, e-mail/web domain, address), list the duplicates
within each system and the ambiguous matches for a person to decide, and (unless ``--dry-run``)
link the matches and create the one-sided records on the other side.

Steps:
    1. read Account/Product2 (+ standard price book) and CUSTOMER/ITEM;
    2. match, report duplicates and ambiguous candidates (nothing is written for those);
    3. apply: external ids, creates, updates; the id map goes to the state file.

Assumptions: the Salesforce org has ``Intacct_Customer_ID__c`` / ``Intacct_Item_ID__c`` external
ids and ``Is_Deleted__c`` flags (see docs/order-to-cash.md). Without ``INTACCT_*``/``SF_*``
credentials it refuses unless ``--sandbox`` is given (the embedded sandbox).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from intacct_sync import sandbox, sync
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.reports import frame_text
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.state import SQLiteStateStore


def _run(sf: SalesforceClient, ia: IntacctClient, args: argparse.Namespace) -> int:
    state = SQLiteStateStore(args.state)
    plan = sync.plan_masters(sf, ia, state)
    frame = plan.to_frame()
    print(plan.summary())
    decide = frame[frame["action"].isin(["duplicate", "ambiguous"])]
    print(f"\nFor a person to decide ({len(decide)}):")
    print(frame_text(decide[["object", "action", "salesforce_id", "intacct_id", "name"]]))
    links = frame[frame["action"] == "link"]
    print(f"\nMatched or linked ({len(links)}):")
    print(frame_text(links[["object", "salesforce_id", "intacct_id", "name", "reason"]]))
    if args.dry_run:
        print("\n--dry-run: nothing written")
        return 0
    report = sync.apply_masters(plan, sf, ia, state)
    print("\n" + report.summary())
    if report.status == "needs_attention":
        print(report.reason)
    return 1 if report.status == "failed" else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the baseline match; returns the exit status (0 ok, 1 some writes failed)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    has_credentials = bool(
        os.environ.get("INTACCT_SENDER_ID") and os.environ.get("SF_INSTANCE_URL")
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the embedded sandbox (never chosen for you when credentials are missing)",
    )
    parser.add_argument("--dry-run", action="store_true", help="report only")
    parser.add_argument("--state", default=":memory:", help="state file (id map, watermarks)")
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
    if args.sandbox:
        with (
            sandbox.running() as sb,
            sb.salesforce_client() as sf,
            sb.intacct_client("itservices") as ia,
        ):
            return _run(sf, ia, args)
    with SalesforceClient.from_env() as sf, IntacctClient.from_env() as ia:
        return _run(sf, ia, args)


if __name__ == "__main__":
    sys.exit(main())

"""CRM actions to journal entries: validate and build 100,000 actions; sync 10,000 to the sandbox."""

from __future__ import annotations

import datetime as dt
import functools
import random
from decimal import Decimal
from typing import Any

import pandas as pd

from benchmarks._support import CountingTransport, mib, peak_python_memory, sandbox_process, timed
from intacct_sync import IntacctClient, SalesforceClient, actions, journals
from intacct_sync.sandbox import COMPANIES
from intacct_sync.state import SQLiteStateStore

_ACCOUNTS = [("1000", "Cash - Operating"), ("4000", "Contributions - Individuals")]
_ACCOUNTS += [("4010", "Contributions - Corporate"), ("4100", "Membership Dues")]
_LOCATIONS = ["HQ", "NORTH", "SOUTH"]
_DEPARTMENTS = ["PROG", "FUND", "ADMIN", "EVENTS"]


def _tags(rng: random.Random) -> str:
    cr = rng.choice(["4000", "4010", "4100"])
    tags = [f"CR Account: {cr} Revenue", "DR Account: 1000 Cash - Operating"]
    if rng.random() < 0.8:
        loc = rng.choice(_LOCATIONS)
        tags += [f"CR Location: {loc}", f"DR Location: {loc}"]
    if rng.random() < 0.7:
        dept = rng.choice(_DEPARTMENTS)
        tags += [f"CR Department: {dept}", f"DR Department: {dept}"]
    if rng.random() < 0.2:
        tags.append("Newsletter Signup")
    return ";".join(tags)


def _synthetic(n: int) -> pd.DataFrame:
    rng = random.Random(11)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return pd.DataFrame(
        {
            "Id": [f"a03{i:015d}" for i in range(n)],
            "Name": [f"A-{i:07d}" for i in range(n)],
            "Amount__c": [Decimal(rng.randint(500, 500_000)) / 100 for _ in range(n)],
            "Happened_At__c": pd.Series(
                [start + dt.timedelta(minutes=i) for i in range(n)], dtype="datetime64[us, UTC]"
            ),
            "Contact__r.Name": [f"Donor {i % 997}" for i in range(n)],
            "Summary__c": ["Donation from a friend"] * n,
            "Action_URL__c": [f"https://crm.example/actions/A-{i:07d}" for i in range(n)],
            "Tags__c": [_tags(rng) for _ in range(n)],
        }
    )


def _catalog() -> pd.DataFrame:
    return actions.catalog_from_values(
        {
            "account": _ACCOUNTS,
            "location": [(x, x) for x in _LOCATIONS],
            "department": [(x, x) for x in _DEPARTMENTS],
        }
    )


def _seed_actions(n: int, gateway: Any, api: Any) -> None:
    from intacct_sync.sandbox.salesforce.schema import OBJECTS
    from intacct_sync.sandbox.salesforce.store import format_datetime

    gateway.max_concurrent = 8
    contacts = [r["Id"] for r in api.rows("Contact", "Donor_ID__c != null", fields=["Id"])]
    rng = random.Random(5)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "Name": f"B-{i:06d}",
            "Action_Type__c": "Donation",
            "Amount__c": rng.randint(500, 500_000) / 100,
            "Happened_At__c": format_datetime(now - dt.timedelta(minutes=n - i + 60)),
            "Contact__c": contacts[i % len(contacts)],
            "Summary__c": "Donation",
            "Action_URL__c": f"https://crm.example/actions/B-{i:06d}",
            "Tags__c": _tags(rng).replace("Revenue", "Contributions"),
            "Status__c": "New",
            "Intacct_Posted__c": False,
            "CreatedDate": format_datetime(now - dt.timedelta(minutes=n - i)),
        }
        for i in range(n)
    ]
    api.store.insert_many(OBJECTS["Action__c"], rows)


def _clients(urls: tuple[str, str]) -> tuple[IntacctClient, SalesforceClient, CountingTransport]:
    from intacct_sync.sandbox.intacct import gateway as gw
    from intacct_sync.sandbox.salesforce import api as sfa

    transport = CountingTransport()
    ia = IntacctClient(
        sender_id=gw.SENDER_ID,
        sender_password=gw.SENDER_PASSWORD,
        company_id=COMPANIES["nonprofit"],
        user_id=gw.USER_ID,
        user_password=gw.USER_PASSWORD,
        endpoint_url=urls[0],
        transport=transport,
    )
    sf = SalesforceClient.client_credentials(
        instance_url=urls[1],
        client_id=sfa.CLIENT_ID,
        client_secret=sfa.CLIENT_SECRET,
        transport=transport,
    )
    return ia, sf, transport


def run(*, quick: bool = False, peers: bool = False) -> None:
    n = 10_000 if quick else 100_000
    frame = _synthetic(n)
    catalog = _catalog()

    def validate_and_build() -> journals.JournalPlan:
        return journals.from_actions(frame, catalog, mode="individual")

    seconds, plan = timed(validate_and_build)
    peak, _ = peak_python_memory(validate_and_build)
    print(
        f"- validate + build {n:,} actions: {seconds:.2f}s ({n / seconds:,.0f} actions/s), "
        f"{len(plan.entries):,} entries; peak Python memory {mib(peak)} "
        f"(input frame {mib(frame.memory_usage(deep=True).sum())})"
    )

    m = 1_000 if quick else 10_000
    with sandbox_process(
        sf_rows=0, latency=0.020, setup=functools.partial(_seed_actions, m)
    ) as urls:
        ia, sf, transport = _clients(urls)
        state = SQLiteStateStore(":memory:")
        sync = actions.ActionSync(ia, sf, state, on_invalid="skip")
        seconds, report = timed(sync.run)
        requests = transport.requests
        print(
            f"- sync {report.counts['read']:,} CRM actions ({m:,} synthetic + the 200 seeded) "
            f"to the sandbox at 20 ms latency: {seconds:.1f}s wall, {requests:,} HTTP requests "
            f"(Intacct + Salesforce), {report.count('posted'):,} posted, "
            f"{report.count('invalid')} invalid, {report.count('excluded')} excluded"
        )
        transport.requests = 0
        seconds, again = timed(lambda: sync.run(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
        print(
            f"- rerun over the same actions: {seconds:.1f}s, {transport.requests} requests, "
            f"{again.count('posted')} posted, {again.count('already_posted'):,} already posted"
        )
        ia.close()
        sf.close()

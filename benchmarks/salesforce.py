"""Salesforce: 100,000 Opportunities with two parent fields into a DataFrame (side by side with
simple-salesforce query_all + pandas.json_normalize), and upserting 10,000 Accounts."""

from __future__ import annotations

import gc
import importlib
from typing import Any

import pandas as pd

from benchmarks._support import (
    CountingTransport,
    median,
    mib,
    peak_python_memory,
    sandbox_process,
    timed,
)
from intacct_sync.salesforce import SalesforceClient
from intacct_sync.sandbox.salesforce import api as sfa

SOQL = "SELECT Id, Name, Amount, CloseDate, StageName, Account.Name, Owner.Name FROM Opportunity"


def _ours(url: str, transport: CountingTransport | None = None) -> SalesforceClient:
    return SalesforceClient.client_credentials(
        instance_url=url,
        client_id=sfa.CLIENT_ID,
        client_secret=sfa.CLIENT_SECRET,
        transport=transport,
    )


def _peer(url: str, token: str) -> Any:
    import requests  # noqa: TID251 - the peer library brings its own HTTP stack

    salesforce_class = importlib.import_module("simple_salesforce").Salesforce

    class LoopbackSession(requests.Session):
        # simple-salesforce always builds https URLs; the sandbox speaks http on loopback.
        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
            return super().request(
                method, str(url).replace("https://127.0.0.1", "http://127.0.0.1"), *args, **kwargs
            )

    return salesforce_class(
        instance_url=url, session_id=token, version=sfa.API_VERSION, session=LoopbackSession()
    )


def _peer_frame(sf: Any) -> pd.DataFrame:
    records = sf.query_all(SOQL)["records"]
    frame = pd.json_normalize(records)
    return frame.drop(columns=[c for c in frame.columns if "attributes" in c])


def run(*, quick: bool = False, peers: bool = False) -> None:
    rows = 20_000 if quick else 100_000
    rounds = 1 if quick else 2
    with sandbox_process(sf_rows=rows) as (_, url):
        ours = _ours(url)
        ours.describe("Opportunity")
        ours.describe("Account")
        ours.describe("User")
        peer = None
        try:
            peer = _peer(url, str(ours._token))
        except ImportError:
            print("- simple-salesforce is not installed (pip install --group bench); peer skipped")
        ours_t: list[float] = []
        peer_t: list[float] = []
        n = 0
        for _ in range(rounds):  # A B A B, timed without tracemalloc
            gc.collect()
            seconds, frame = timed(lambda: ours.query(SOQL))
            ours_t.append(seconds)
            n = len(frame)
            del frame
            if peer is not None:
                gc.collect()
                seconds, frame = timed(lambda: _peer_frame(peer))
                peer_t.append(seconds)
                del frame
        gc.collect()
        ours_mem, _ = peak_python_memory(lambda: len(ours.query(SOQL)))
        peer_mem = 0
        if peer is not None:
            gc.collect()
            peer_mem, _ = peak_python_memory(lambda: len(_peer_frame(peer)))
        print(
            f"- intacct_sync query -> typed DataFrame: {n:,} rows, median {median(ours_t):.2f}s = "
            f"{n / median(ours_t):,.0f} rows/s, peak Python memory {mib(ours_mem)} "
            f"(tracemalloc, separate run)"
        )
        if peer_t:
            print(
                f"- simple-salesforce query_all + json_normalize: median {median(peer_t):.2f}s = "
                f"{n / median(peer_t):,.0f} rows/s, peak Python memory {mib(peer_mem)}; "
                f"ratio {median(peer_t) / median(ours_t):.2f}x time, "
                f"{peer_mem / max(ours_mem, 1):.2f}x memory (goal: >= 2x faster, less memory)"
            )

    accounts = 2_000 if quick else 10_000
    with sandbox_process(sf_rows=0, latency=0.020) as (_, url):
        transport = CountingTransport()
        ours = _ours(url, transport)
        ours.describe("Account")
        records = pd.DataFrame(
            {
                "Intacct_Customer_ID__c": [f"BENCH-{i:06d}" for i in range(accounts)],
                "Name": [f"Benchmark Account {i}" for i in range(accounts)],
            }
        )
        transport.requests = 0
        seconds, outcomes = timed(
            lambda: ours.upsert(
                "Account",
                records,
                external_id_field="Intacct_Customer_ID__c",
                use_bulk=False,
            )
        )
        print(
            f"- upsert {accounts:,} Accounts over REST (sObject Collections) at 20 ms latency: "
            f"{seconds:.1f}s, {transport.requests} requests (= {transport.requests / accounts * 200:.2f} "
            f"per 200 records; goal <= 1), statuses {outcomes['status'].value_counts().to_dict()}"
        )
        transport.requests = 0
        seconds, outcomes = timed(
            lambda: ours.upsert(
                "Account",
                records,
                external_id_field="Intacct_Customer_ID__c",
                use_bulk=True,
            )
        )
        print(
            f"- the same upsert through Bulk API 2.0: {seconds:.1f}s, {transport.requests} requests, "
            f"statuses {outcomes['status'].value_counts().to_dict()}"
        )

"""Post journal entries to the sandbox: HTTP requests per entry and wall time at 20 ms latency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from benchmarks._support import CountingTransport, sandbox_process, timed
from benchmarks.intacct_read import _client
from intacct_sync.intacct.models import JournalEntry, JournalLine


def _entries(n: int) -> list[JournalEntry]:
    day = dt.date(2026, 1, 15)
    return [
        JournalEntry(
            key=f"bench-{i}",
            journal="GJ",
            batch_date=day,
            title=f"Benchmark donation {i}",
            lines=[
                JournalLine(
                    account_no="1000", amount=Decimal("25.00") + i % 7, tr_type=1, location="HQ"
                ),
                JournalLine(
                    account_no="4000", amount=Decimal("25.00") + i % 7, tr_type=-1, location="HQ"
                ),
            ],
        )
        for i in range(n)
    ]


def run(*, quick: bool = False, peers: bool = False) -> None:
    n = 1_000 if quick else 10_000
    entries = _entries(n)
    with sandbox_process(latency=0.020) as (url, _):
        transport = CountingTransport()
        ia = _client(url, transport)
        ia.field_kinds("GLBATCH")
        transport.requests = 0
        seconds, outcomes = timed(lambda: ia.create("GLBATCH", entries))
        ok = int(outcomes["done"].sum())
        print(
            f"- create {n:,} GLBATCH entries with 20 ms latency: {seconds:.1f}s, "
            f"{transport.requests} HTTP requests (= {transport.requests / n * 100:.2f} per 100 "
            f"entries; goal <= 1), {ok:,} done"
        )
        transport.requests = 0
        seconds, again = timed(lambda: ia.create("GLBATCH", entries))
        print(
            f"- rerun of the same {n:,} entries: {seconds:.1f}s, {transport.requests} requests, "
            f"statuses {again['status'].value_counts().to_dict()} (nothing posted twice)"
        )
        ia.close()

"""The preflight of 10,000 journal lines: client CPU time and requests (goal: < 1 s, <= 6).

Issue 14's figure. The sandbox runs in its own process, so the CPU time measured here
(``time.process_time``) is the client's alone: reading the company's rules (accounts of both
kinds, the dimension values the lines use) and checking every line locally.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from benchmarks._support import CountingTransport, sandbox_process
from benchmarks.intacct_read import _client
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.posting.preflight import PostingRules, preflight
from intacct_sync.reports import plural

_LOCATIONS = ("HQ", "NORTH", "SOUTH")


def _entries(n: int) -> list[JournalEntry]:
    """``n`` balanced entries of ten lines each, on real accounts, locations and departments."""
    return [
        JournalEntry(
            key=f"preflight-{e}",
            journal="GJ",
            batch_date=dt.date(2026, 1, 15),
            title=f"Preflight benchmark {e}",
            lines=[
                JournalLine(
                    account_no="5000" if i % 2 == 0 else "1000",
                    amount=Decimal("12.50"),
                    tr_type=1 if i % 2 == 0 else -1,
                    location=_LOCATIONS[(e + i) % 3],
                    department="PROG",
                    class_id="EDU",
                )
                for i in range(10)
            ],
        )
        for e in range(n)
    ]


def run(*, quick: bool = False, peers: bool = False) -> None:
    entries = _entries(200 if quick else 1_000)
    lines = sum(len(e.lines) for e in entries)
    with sandbox_process() as (url, _):
        transport = CountingTransport()
        ia = _client(url, transport)
        ia.read_by_query("CLASS", fields=["CLASSID"])  # signed in: the session is not counted
        transport.requests = 0
        cpu, wall = time.process_time(), time.perf_counter()
        rules = PostingRules.read(ia, entries)
        report = preflight(entries, rules)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        requests = transport.requests
        started = time.process_time()
        again = preflight(entries, rules)
        cached = time.process_time() - started
        ia.close()
    print(
        f"- preflight of {lines:,} journal lines ({len(entries):,} entries): {cpu:.2f}s of client "
        f"CPU time (goal < 1 s), {wall:.2f}s wall, {plural(requests, 'HTTP request')} (goal <= 6); "
        f"{report.summary()}"
    )
    print(
        f"- the same check again with the run's rules (cached): {cached:.2f}s CPU, 0 requests; "
        f"{len(again.breaches):,} breaches"
    )

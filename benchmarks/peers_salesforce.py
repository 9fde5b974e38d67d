"""Side by side with simple-salesforce: a SOQL query into a DataFrame; upserting Accounts.

Both libraries talk to the same emulator in a child process, A B A B over the rounds; the
figures are medians. Peak memory is measured in separate runs (tracemalloc slows both sides).
simple-salesforce builds https URLs; benchmarks.salesforce redirects it to the http loopback
emulator with a custom requests.Session, reused here (one response hook counts its requests).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pandas as pd

from benchmarks._support import (
    CountingTransport,
    median,
    mib,
    peak_python_memory,
    peers_ready,
    sandbox_process,
    timed,
)
from benchmarks.salesforce import SOQL, _ours, _peer, _peer_frame
from intacct_sync.salesforce import SalesforceClient

EXTERNAL_ID = "Intacct_Customer_ID__c"


class _PeerRequests:
    """A requests response hook: counts the peer's HTTP requests."""

    def __init__(self) -> None:
        self.requests = 0

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return response


def _counted_peer(url: str, ours: SalesforceClient) -> tuple[Any, _PeerRequests]:
    peer = _peer(url, str(ours._token))
    counter = _PeerRequests()
    peer.session.hooks["response"].append(counter)
    return peer, counter


def run(*, quick: bool = False, peers: bool = False) -> None:
    if not peers_ready("simple_salesforce", peers=peers):
        return
    rounds = 1 if quick else 2
    _compare_query(20_000 if quick else 100_000, rounds)
    _compare_upsert(2_000 if quick else 10_000, 100 if quick else 500, rounds)


def _compare_query(rows: int, rounds: int) -> None:
    with sandbox_process(sf_rows=rows) as (_, url):
        transport = CountingTransport()
        ours = _ours(url, transport)
        for sobject in ("Opportunity", "Account", "User"):
            ours.describe(sobject)  # cached metadata; not part of the query
        peer, counter = _counted_peer(url, ours)
        ours_t: list[float] = []
        peer_t: list[float] = []
        n = ours_requests = peer_requests = 0
        for _ in range(rounds):  # A B A B
            gc.collect()
            transport.requests = 0
            seconds, frame = timed(lambda: ours.query(SOQL))
            ours_t.append(seconds)
            n, ours_requests = len(frame), transport.requests
            del frame
            gc.collect()
            counter.requests = 0
            seconds, frame = timed(lambda: _peer_frame(peer))
            peer_t.append(seconds)
            peer_requests = counter.requests
            del frame
        gc.collect()
        ours_mem, _ = peak_python_memory(lambda: len(ours.query(SOQL)))
        gc.collect()
        peer_mem, _ = peak_python_memory(lambda: len(_peer_frame(peer)))
        print(
            f"- intacct_sync query -> typed DataFrame: {n:,} rows, median of {rounds} "
            f"{median(ours_t):.2f}s = {n / median(ours_t):,.0f} rows/s, {ours_requests} requests, "
            f"peak Python memory {mib(ours_mem)}"
        )
        print(
            f"- simple-salesforce query_all + pandas.json_normalize: median {median(peer_t):.2f}s "
            f"= {n / median(peer_t):,.0f} rows/s, {peer_requests} requests, peak Python memory "
            f"{mib(peer_mem)}; ratio {median(peer_t) / median(ours_t):.2f}x time, "
            f"{peer_mem / max(ours_mem, 1):.2f}x memory"
        )


def _accounts(n: int, tag: str) -> pd.DataFrame:
    # A fresh key set per side and round: every measured upsert creates its rows.
    return pd.DataFrame(
        {
            EXTERNAL_ID: [f"{tag}{i:06d}" for i in range(n)],
            "Name": [f"Benchmark Account {tag} {i}" for i in range(n)],
        }
    )


def _ours_upsert(ours: SalesforceClient, records: pd.DataFrame, *, bulk: bool) -> int:
    outcomes = ours.upsert("Account", records, external_id_field=EXTERNAL_ID, use_bulk=bulk)
    return int(outcomes["done"].sum())


def _peer_bulk2(peer: Any, records: pd.DataFrame, wait: int | None) -> int:
    kwargs = {} if wait is None else {"wait": wait}
    results = peer.bulk2.Account.upsert(
        records=records.to_dict("records"), external_id_field=EXTERNAL_ID, **kwargs
    )
    return sum(
        int(job["numberRecordsProcessed"]) - int(job["numberRecordsFailed"]) for job in results
    )


def _peer_per_record(peer: Any, records: pd.DataFrame) -> int:
    ok = 0
    for key, name in zip(records[EXTERNAL_ID], records["Name"], strict=True):
        status = peer.Account.upsert(f"{EXTERNAL_ID}/{key}", {"Name": name})
        ok += status in (200, 201, 204)
    return ok


def _compare_upsert(n: int, n_small: int, rounds: int) -> None:
    with sandbox_process(sf_rows=0, latency=0.020) as (_, url):
        transport = CountingTransport()
        ours = _ours(url, transport)
        ours.describe("Account")
        peer, counter = _counted_peer(url, ours)

        def ours_rest(tag: str) -> int:
            return _ours_upsert(ours, _accounts(n, tag), bulk=False)

        def ours_bulk(tag: str) -> int:
            return _ours_upsert(ours, _accounts(n, tag), bulk=True)

        def peer_bulk2(tag: str) -> int:
            return _peer_bulk2(peer, _accounts(n, tag), None)

        def peer_bulk2_nowait(tag: str) -> int:
            return _peer_bulk2(peer, _accounts(n, tag), 0)

        def peer_rows(tag: str) -> int:
            return _peer_per_record(peer, _accounts(n_small, tag))

        sides: dict[str, tuple[Callable[[str], int], CountingTransport | _PeerRequests]] = {
            "A": (ours_rest, transport),
            "B": (ours_bulk, transport),
            "C": (peer_bulk2, counter),
            "D": (peer_bulk2_nowait, counter),
            "E": (peer_rows, counter),
        }
        seconds: dict[str, list[float]] = {side: [] for side in sides}
        requests: dict[str, int] = {}
        done: dict[str, int] = dict.fromkeys(sides, 0)
        for round_no in range(rounds):  # A B C D E, A B C D E
            for side, (fn, count) in sides.items():
                gc.collect()
                count.requests = 0
                took, ok = timed(lambda: fn(f"R{round_no}{side}"))  # noqa: B023 - called at once
                seconds[side].append(took)
                requests[side] = count.requests
                done[side] += ok
        # memory: each pair at the same size, in separate runs
        memory: dict[str, int] = {}
        for side, fn_small in {
            "B": lambda: ours_bulk("MB"),
            "C": lambda: peer_bulk2("MC"),
            "A": lambda: _ours_upsert(ours, _accounts(n_small, "MA"), bulk=False),
            "E": lambda: peer_rows("ME"),
        }.items():
            gc.collect()
            memory[side], _ = peak_python_memory(fn_small)
        # every measured upsert created its rows: the emulator holds exactly that many
        created = len(
            ours.query(
                f"SELECT Id FROM Account WHERE {EXTERNAL_ID} LIKE 'R%' OR {EXTERNAL_ID} LIKE 'M%'"
            )
        )
        expected = rounds * (4 * n + n_small) + 2 * n + 2 * n_small

    def med(side: str) -> float:
        return median(seconds[side])

    per_row_ours = med("A") / n
    per_row_peer = med("E") / n_small
    print(
        f"- intacct_sync upsert {n:,} Accounts over REST (sObject Collections) at 20 ms latency: "
        f"median of {rounds} {med('A'):.1f}s ({per_row_ours * 1000:.2f} ms per record), "
        f"{requests['A']} requests, {done['A']:,} of {rounds * n:,} succeeded"
    )
    print(
        f"- simple-salesforce Account.upsert per record, {n_small:,} Accounts (one PATCH each): "
        f"median {med('E'):.1f}s ({per_row_peer * 1000:.2f} ms per record; {n:,} would take "
        f"~{per_row_peer * n:,.0f}s), {requests['E']} requests, {done['E']:,} of "
        f"{rounds * n_small:,} succeeded; ratio per record {per_row_peer / per_row_ours:.1f}x time"
    )
    print(
        f"- intacct_sync upsert {n:,} Accounts through Bulk API 2.0: median {med('B'):.2f}s, "
        f"{requests['B']} requests, {done['B']:,} of {rounds * n:,} succeeded"
    )
    print(
        f"- simple-salesforce bulk2.Account.upsert, {n:,} records, default wait=5: median "
        f"{med('C'):.2f}s, {requests['C']} requests, {done['C']:,} of {rounds * n:,} succeeded; "
        f"ratio {med('C') / med('B'):.2f}x time (it sleeps `wait` seconds before its first "
        f"status poll); with wait=0: median {med('D'):.2f}s, {requests['D']} requests, "
        f"ratio {med('D') / med('B'):.2f}x"
    )
    print(
        f"- peak Python memory: Bulk API 2.0 with {n:,} records: intacct_sync {mib(memory['B'])}, "
        f"simple-salesforce bulk2 {mib(memory['C'])} ({memory['C'] / max(memory['B'], 1):.2f}x); "
        f"REST with {n_small:,} records: intacct_sync {mib(memory['A'])}, simple-salesforce "
        f"per record {mib(memory['E'])} ({memory['E'] / max(memory['A'], 1):.2f}x); "
        f"Accounts created in the emulator: {created:,} (expected {expected:,})"
    )

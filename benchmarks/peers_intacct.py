"""Side by side with sageintacctsdk: GLENTRY rows into a DataFrame; journal entries at 20 ms.

Both libraries talk to the same emulator in a child process, A B A B over the rounds; the
figures are medians. Peak memory is measured in separate runs (tracemalloc slows both sides).

sageintacctsdk hard-codes the production gateway URL in each API object's name-mangled
``_ApiBase__api_url``; it is pointed at the emulator per object. It signs in with its own
``getAPISession`` call. It has no GLENTRY class: its ``GLDETAIL`` class targets a reporting
object the emulator does not serve, so the read uses its generic ``ApiBase`` with
``dimension="GLENTRY"`` and the same field list as ours (``get_all``: the ``query`` function,
2,000 rows a page, like ours).
"""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
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
from benchmarks.intacct_post import _entries
from benchmarks.intacct_read import SELECT, _client
from intacct_sync.intacct import IntacctClient
from intacct_sync.intacct.models import JournalEntry
from intacct_sync.sandbox import COMPANIES
from intacct_sync.sandbox.intacct import gateway as gw

_PEER_LOGGER = "sageintacctsdk.apis.api_base"


def _peer_api(url: str, session_id: str | None, dimension: str | None = None) -> Any:
    """One of the peer's API objects, signed in, pointed at the emulator."""
    api_base = importlib.import_module("sageintacctsdk.apis").ApiBase
    api = api_base(dimension=dimension, pagesize=2000)
    api._ApiBase__api_url = url  # the peer has no setting for its endpoint
    api.set_sender_id(gw.SENDER_ID)
    api.set_sender_password(gw.SENDER_PASSWORD)
    api.set_show_private(False)
    if session_id is not None:
        api.set_session_id(session_id)
    return api


def _peer_sign_in(url: str) -> str:
    """The peer's own sign-in (getAPISession with a login), against the emulator."""
    session_id: str = _peer_api(url, None).get_session_id(
        gw.USER_ID, COMPANIES["nonprofit"], gw.USER_PASSWORD
    )
    return session_id


def _peer_journal_entries(url: str, session_id: str) -> Any:
    """The peer's JournalEntries API (GLBATCH create), as its SageIntacctSDK class builds it."""
    sdk_class = importlib.import_module("sageintacctsdk").SageIntacctSDK
    sdk = sdk_class(
        sender_id=gw.SENDER_ID,
        sender_password=gw.SENDER_PASSWORD,
        user_id=gw.USER_ID,
        company_id=COMPANIES["nonprofit"],
        user_password=gw.USER_PASSWORD,
        session_id=session_id,  # given, so the constructor does not sign in at api.intacct.com
    )
    sdk.journal_entries._ApiBase__api_url = url
    return sdk.journal_entries


class _RequestCounter(logging.Handler):
    # The peer calls requests.post itself (no session to hook); it logs every payload at DEBUG
    # just before sending, which counts its requests without patching it.
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.requests = 0

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Payload for post request"):
            self.requests += 1


@contextmanager
def _counting_peer_requests() -> Iterator[_RequestCounter]:
    logger = logging.getLogger(_PEER_LOGGER)
    counter = _RequestCounter()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate


def _peer_read(api: Any) -> pd.DataFrame:
    return pd.DataFrame(api.get_all(fields=SELECT))


def _peer_read_generator(api: Any) -> int:
    return sum(len(page) for page in api.get_all_generator(fields=SELECT))


def run(*, quick: bool = False, peers: bool = False) -> None:
    if not peers_ready("sageintacctsdk", peers=peers):
        return
    rounds = 1 if quick else 2
    _compare_read(20_000 if quick else 100_000, rounds)
    _compare_post(1_000 if quick else 10_000, 200 if quick else 1_000, rounds)


def _compare_read(size: int, rounds: int) -> None:
    with sandbox_process(gl_rows=size) as (url, _):
        transport = CountingTransport()
        ours = _client(url, transport)
        ours.field_kinds("GLENTRY")  # cached lookup; not part of the read
        session_id = _peer_sign_in(url)
        peer = _peer_api(url, session_id, "GLENTRY")
        try:
            _peer_api(url, session_id, "GLDETAIL").count(None)
        except Exception as exc:  # the peer raises its own (untyped) error classes
            print(
                f"- sageintacctsdk gl_detail (object GLDETAIL) is not served by the emulator: "
                f"{type(exc).__name__}: {exc}; compared on GLENTRY through its generic ApiBase"
            )
        ours_t: list[float] = []
        peer_t: list[float] = []
        rows = peer_rows = ours_requests = peer_requests = 0
        dtypes: dict[str, str] = {}
        for _ in range(rounds):  # A B A B
            gc.collect()
            transport.requests = 0
            seconds, frame = timed(lambda: ours.query("GLENTRY", select=SELECT))
            ours_t.append(seconds)
            rows, ours_requests = len(frame), transport.requests
            del frame
            gc.collect()
            with _counting_peer_requests() as counter:
                seconds, frame = timed(lambda: _peer_read(peer))
            peer_t.append(seconds)
            peer_rows, peer_requests = len(frame), counter.requests
            dtypes = {str(k): str(v) for k, v in frame.dtypes.items()}
            del frame
        gc.collect()
        ours_mem, _ = peak_python_memory(lambda: len(ours.query("GLENTRY", select=SELECT)))
        gc.collect()
        peer_mem, _ = peak_python_memory(lambda: len(_peer_read(peer)))
        gc.collect()
        with _counting_peer_requests() as counter:
            gen_seconds, gen_rows = timed(lambda: _peer_read_generator(peer))
        print(
            f"- intacct_sync query('GLENTRY'), {len(SELECT)} typed columns: {rows:,} rows, "
            f"median of {rounds} {median(ours_t):.2f}s = {rows / median(ours_t):,.0f} rows/s, "
            f"{ours_requests} requests, peak Python memory {mib(ours_mem)}"
        )
        print(
            f"- sageintacctsdk ApiBase('GLENTRY').get_all + pandas.DataFrame: {peer_rows:,} rows, "
            f"median {median(peer_t):.2f}s = {peer_rows / median(peer_t):,.0f} rows/s, "
            f"{peer_requests} requests, peak Python memory {mib(peer_mem)}; ratio "
            f"{median(peer_t) / median(ours_t):.2f}x time, {peer_mem / max(ours_mem, 1):.2f}x "
            f"memory (its columns: {sorted(set(dtypes.values()))})"
        )
        print(
            f"- sageintacctsdk get_all_generator, once: {gen_rows:,} rows in {gen_seconds:.2f}s, "
            f"{counter.requests} requests (it sends every page's query twice)"
        )
        ours.close()


def _rekeyed(entries: list[JournalEntry], prefix: str) -> list[JournalEntry]:
    # Ours posts under control ids derived from the keys; fresh keys per run keep every run a
    # real posting rather than a replay answered "duplicate".
    return [attrs.evolve(entry, key=f"{prefix}-{entry.key}") for entry in entries]


def _peer_payload(entry: JournalEntry) -> dict[str, Any]:
    """The same journal entry in the peer's shape (a dict that xmltodict turns into XML)."""
    return {
        "JOURNAL": entry.journal,
        "BATCH_DATE": entry.batch_date.strftime("%m/%d/%Y"),
        "BATCH_TITLE": entry.title,
        "ENTRIES": {
            "GLENTRY": [
                {
                    "ACCOUNTNO": line.account_no,
                    "TR_TYPE": str(line.tr_type),
                    "TRX_AMOUNT": str(line.amount),
                    "LOCATION": line.location,
                }
                for line in entry.lines
            ]
        },
    }


def _peer_post(journal_entries: Any, payloads: list[dict[str, Any]]) -> int:
    ok = 0
    for payload in payloads:
        ok += journal_entries.post(payload)["status"] == "success"
    return ok


def _ours_post(ia: IntacctClient, entries: list[JournalEntry]) -> int:
    return int(ia.create("GLBATCH", entries)["done"].sum())


def _compare_post(n: int, n_peer: int, rounds: int) -> None:
    entries = _entries(n)
    payloads = [_peer_payload(entry) for entry in entries[:n_peer]]
    with sandbox_process(latency=0.020) as (url, _):
        transport = CountingTransport()
        ours = _client(url, transport)
        ours.field_kinds("GLBATCH")
        before = len(ours.query("GLBATCH", select=["RECORDNO"]))
        journal_entries = _peer_journal_entries(url, _peer_sign_in(url))
        ours_t: list[float] = []
        peer_t: list[float] = []
        ours_ok = peer_ok = ours_requests = peer_requests = 0
        for round_no in range(rounds):  # A B A B
            batch = _rekeyed(entries, f"r{round_no}")
            transport.requests = 0
            seconds, ok = timed(lambda: _ours_post(ours, batch))  # noqa: B023 - called at once
            ours_t.append(seconds)
            ours_ok += ok
            ours_requests = transport.requests
            with _counting_peer_requests() as counter:
                seconds, ok = timed(lambda: _peer_post(journal_entries, payloads))
            peer_t.append(seconds)
            peer_ok += ok
            peer_requests = counter.requests
        small = _rekeyed(entries[:n_peer], "mem")
        gc.collect()
        ours_mem, _ = peak_python_memory(lambda: _ours_post(ours, small))
        gc.collect()
        peer_mem, _ = peak_python_memory(lambda: _peer_post(journal_entries, payloads))
        posted = len(ours.query("GLBATCH", select=["RECORDNO"])) - before
        expected = rounds * (n + n_peer) + 2 * n_peer
        ours_per = median(ours_t) / n
        peer_per = median(peer_t) / n_peer
        print(
            f"- intacct_sync create, {n:,} journal entries at 20 ms latency: median of {rounds} "
            f"{median(ours_t):.1f}s ({ours_per * 1000:.2f} ms per entry), {ours_requests} "
            f"requests, {ours_ok:,} of {rounds * n:,} done"
        )
        print(
            f"- sageintacctsdk journal_entries.post, {n_peer:,} entries (one request each): "
            f"median {median(peer_t):.1f}s ({peer_per * 1000:.2f} ms per entry; {n:,} would take "
            f"~{peer_per * n:,.0f}s), {peer_requests} requests, {peer_ok:,} of "
            f"{rounds * n_peer:,} done; ratio per entry {peer_per / ours_per:.1f}x time, "
            f"{peer_requests / n_peer:.2f} vs {ours_requests / n:.2f} requests per entry"
        )
        print(
            f"- peak Python memory posting the same {n_peer:,} entries: intacct_sync "
            f"{mib(ours_mem)}, sageintacctsdk {mib(peer_mem)} "
            f"({peer_mem / max(ours_mem, 1):.2f}x); GLBATCH rows added in the emulator: "
            f"{posted:,} (expected {expected:,})"
        )
        ours.close()

"""Read GLENTRY rows from the sandbox into DataFrames: speed, flat memory, conversion cost.

Also the read from a server that answers each page in a realistic 300 ms (its own work
included: the sandbox's ``answer_time``), against the physical limit: pages / requests allowed
in flight x 300 ms (the company allows 2, reference §13.7, and the client fetches pages side by
side within its governor), and, with ``--peers``, sageintacctsdk against the same server.
"""

from __future__ import annotations

import gc
import math
import time
from decimal import Decimal

from lxml import etree

from benchmarks._support import (
    CountingTransport,
    mib,
    peak_python_memory,
    peers_ready,
    sandbox_process,
    timed,
)
from intacct_sync import HttpRequest, HttpResponse, Timeout, frames
from intacct_sync.intacct import IntacctClient
from intacct_sync.intacct._protocol import parse_response, safe_parser
from intacct_sync.intacct._xml_types import columns_of
from intacct_sync.sandbox import COMPANIES
from intacct_sync.sandbox.intacct import gateway as gw

SELECT = [
    "RECORDNO",
    "BATCHNO",
    "LINE_NO",
    "ACCOUNTNO",
    "TR_TYPE",
    "TRX_AMOUNT",
    "ENTRY_DATE",
    "DESCRIPTION",
    "LOCATION",
    "DEPARTMENT",
    "CLASSID",
]


def _client(url: str, transport: CountingTransport) -> IntacctClient:
    return IntacctClient(
        sender_id=gw.SENDER_ID,
        sender_password=gw.SENDER_PASSWORD,
        company_id=COMPANIES["nonprofit"],
        user_id=gw.USER_ID,
        user_password=gw.USER_PASSWORD,
        endpoint_url=url,
        transport=transport,
    )


def _stream(ia: IntacctClient) -> tuple[int, Decimal]:
    rows, total = 0, Decimal(0)
    for page in ia.iter_query("GLENTRY", select=SELECT):
        rows += len(page)
        total += sum(page["TRX_AMOUNT"], Decimal(0))
    return rows, total


#: seconds each answer takes in the latency figure (the sandbox's own work included)
LATENCY = 0.300
PAGE = 2_000  # the query function's largest page (reference §2.5)


def run(*, quick: bool = False, peers: bool = False) -> None:
    sizes = [2_000, 20_000] if quick else [10_000, 100_000]
    for size in sizes:
        _measure(size)
    _at_latency(20_000 if quick else 100_000, peers=peers)


class _Timing(CountingTransport):
    """Also keeps each answer's time on the wire (the latency plus the emulator's own work)."""

    def __init__(self) -> None:
        super().__init__()
        self.elapsed: list[float] = []

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        response = super().send(request, timeout=timeout)
        self.elapsed.append(response.elapsed)
        return response


def _at_latency(size: int, *, peers: bool) -> None:
    with sandbox_process(gl_rows=size, answer_time=LATENCY) as (url, _):
        transport = _Timing()
        ia = _client(url, transport)
        ia.field_kinds("GLENTRY")  # sign-in and the cached lookup are not part of the read
        transport.requests = 0
        transport.elapsed.clear()
        seconds, frame = timed(lambda: ia.query("GLENTRY", select=SELECT))
        rows, requests = len(frame), transport.requests
        del frame
        limit = ia.governor.limit or 1
        pages = math.ceil(rows / PAGE)
        floor = pages / limit * LATENCY
        # Each answer takes LATENCY, the emulator's work included, unless that work alone is
        # longer (one process, one GIL): the average answer time shows when it was.
        answer = sum(transport.elapsed) / max(len(transport.elapsed), 1)
        with_emulator = pages / limit * answer
        # Offset paging's own floor: the first answer's count gives the later offsets, so it
        # travels alone and the rest go side by side (shown, not used as the goal's limit).
        paged = (1 + math.ceil((pages - 1) / limit)) * LATENCY
        print(
            f"- query GLENTRY at {LATENCY * 1000:.0f} ms per request: {rows:,} rows, "
            f"{requests} requests in {seconds:.2f}s; physical limit {pages} pages / {limit} in "
            f"flight x {LATENCY:.1f}s = {floor:.2f}s -> {seconds / floor:.2f}x the limit "
            f"({(seconds / floor - 1) * 100:+.0f}%; goal within +10%); each answer took "
            f"{answer * 1000:.0f} ms on average (at least the latency), so the limit with the "
            f"emulator's time is {with_emulator:.2f}s -> {seconds / with_emulator:.2f}x; "
            f"offset paging's own floor (the first page alone, its count decides the offsets) "
            f"{paged:.2f}s = {paged / floor:.2f}x the limit"
        )
        ia.close()
        if not peers_ready("sageintacctsdk", peers=peers):
            return
        from benchmarks.peers_intacct import _peer_api, _peer_read, _peer_sign_in

        peer = _peer_api(url, _peer_sign_in(url), "GLENTRY")
        peer_seconds, peer_frame = timed(lambda: _peer_read(peer))
        print(
            f"- sageintacctsdk ApiBase('GLENTRY').get_all + pandas.DataFrame at the same "
            f"latency (same run): {len(peer_frame):,} rows in {peer_seconds:.2f}s; ratio "
            f"{peer_seconds / seconds:.2f}x time (goal: intacct_sync >= 2x faster)"
        )


def _measure(size: int) -> None:
    with sandbox_process(gl_rows=size) as (url, _):
        transport = CountingTransport(keep_bodies=True)
        ia = _client(url, transport)
        ia.field_kinds("GLENTRY")  # the lookup is cached; not part of the read
        transport.bodies.clear()
        seconds, frame = timed(lambda: ia.query("GLENTRY", select=SELECT))
        rows = len(frame)
        print(
            f"- query GLENTRY -> DataFrame: {rows:,} rows in {seconds:.2f}s = "
            f"{rows / seconds:,.0f} rows/s over {len(transport.bodies)} requests "
            f"(dtypes: {dict(frame.dtypes.astype(str))})"
        )
        bodies = list(transport.bodies)
        del frame
        gc.collect()
        transport.keep_bodies = False
        peak, (streamed, _) = peak_python_memory(lambda: _stream(ia))
        print(f"- iter_query peak Python memory for {streamed:,} rows: {mib(peak)}")

        # Interleaved rounds, best of 5 each: the machine is shared, so only ratios within one
        # run mean anything. Both sides parse with the same hardened parser (safe_parser()).
        # The emulator answers compactly; real answers are indented (the reference samples),
        # so the same bodies are also measured pretty-printed.
        indented = [_indented(body) for body in bodies]
        for label, pages in (("", bodies), (", pretty-printed as real answers are", indented)):
            rounds = [
                (_time_bare(pages), _time_ours(ia, pages), _stages(ia, pages)) for _ in range(5)
            ]
            bare = min(r[0] for r in rounds)
            ours = min(r[1] for r in rounds)
            parse, columns, typing = (min(r[2][i] for r in rounds) for i in range(3))
            print(
                f"- conversion of the same {len(pages)} response bodies{label}, parse + typed "
                f"frame: {ours / bare:.1f}x the bare parse (goal at most 2x): ours {ours:.3f}s, "
                f"bare lxml.etree.fromstring with the same hardened parser {bare:.3f}s; by "
                f"stage: parse_response(page=True) with the records read from the text "
                f"{parse / bare:.2f}x, fields out of a tree {columns / bare:.2f}x (0 when every "
                f"page is read from its text), typing and the DataFrame {typing / bare:.2f}x"
            )
        ia.close()


def _indented(body: bytes) -> bytes:
    root = etree.fromstring(body, parser=safe_parser())
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def _time_bare(bodies: list[bytes]) -> float:
    start = time.perf_counter()
    for body in bodies:
        etree.fromstring(body, parser=safe_parser())
    return time.perf_counter() - start


def _time_ours(ia: IntacctClient, bodies: list[bytes]) -> float:
    # As the client reads a query page: parse_response(page=True), then the typed frame.
    start = time.perf_counter()
    for body in bodies:
        (result,) = parse_response(body, page=True).results
        ia._frame("GLENTRY", result, SELECT)
    return time.perf_counter() - start


def _stages(ia: IntacctClient, bodies: list[bytes]) -> tuple[float, float, float]:
    """Seconds in parse_response(page=True) (which reads a uniform page's records from its
    text), in page_columns (the tree, for a page that is not read from its text), and in typing
    plus the DataFrame (the two halves of ``_frame``, timed apart).
    """
    parse = columns = typing = 0.0
    types = ia._schema("GLENTRY")
    for body in bodies:
        start = time.perf_counter()
        (result,) = parse_response(body, page=True).results
        parsed = time.perf_counter()
        values, _ = columns_of(result)
        extracted = time.perf_counter()
        kinds = ia._column_kinds("GLENTRY", types, values)
        frames.build_frame(values, kinds, order=SELECT)
        done = time.perf_counter()
        parse += parsed - start
        columns += extracted - parsed
        typing += done - extracted
    return parse, columns, typing

"""Read GLENTRY rows from the sandbox into DataFrames: speed, flat memory, conversion cost."""

from __future__ import annotations

import gc
import time
from decimal import Decimal

from lxml import etree

from benchmarks._support import CountingTransport, mib, peak_python_memory, sandbox_process, timed
from intacct_sync.intacct import IntacctClient
from intacct_sync.intacct._protocol import parse_response, safe_parser
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


def run(*, quick: bool = False, peers: bool = False) -> None:
    sizes = [2_000, 20_000] if quick else [10_000, 100_000]
    for size in sizes:
        _measure(size)


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

        bare = min(_time_bare(bodies) for _ in range(3))
        ours = min(_time_ours(ia, bodies) for _ in range(3))
        print(
            f"- conversion of the same {len(bodies)} response bodies: bare "
            f"lxml.etree.fromstring {bare:.2f}s, ours (parse + typed DataFrame) {ours:.2f}s "
            f"= {ours / bare:.2f}x the bare parse (goal <= 2x)"
        )
        ia.close()


def _time_bare(bodies: list[bytes]) -> float:
    start = time.perf_counter()
    for body in bodies:
        etree.fromstring(body, parser=safe_parser())
    return time.perf_counter() - start


def _time_ours(ia: IntacctClient, bodies: list[bytes]) -> float:
    start = time.perf_counter()
    for body in bodies:
        (result,) = parse_response(body).results
        ia._frame("GLENTRY", result.data if result.data is not None else [], SELECT)
    return time.perf_counter() - start

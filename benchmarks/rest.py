"""XML or REST on the same sandbox: GLENTRY rows into a typed frame; journal entries at 20 ms.

One child process serves the XML gateway and the REST API over one store: REST queries page
the rows the gateway's ``query`` evaluates (no XML built), REST writes run the gateway's own
write functions. The figures per protocol, taken in the same run (compare them as ratios: the
machine is shared): requests, wall time, rows or entries per second, client-side conversion,
peak Python memory of a streamed read (REST keeps up to the governor's pages in flight). Each
write run gets a fresh sandbox, so neither protocol posts into books the other has grown. fylein's ``sageintacctrestsdk`` (``--peers``) is measured where it offers the
same call: its query-service generator (dicts, no types) and its one-record ``post``; it reads
its base URL from a module constant, which is pointed at the sandbox.
"""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import multiprocessing as mp
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from typing import Any

import pandas as pd

from benchmarks._support import CountingTransport, mib, peak_python_memory, peers_ready, timed
from benchmarks.intacct_post import _entries
from benchmarks.intacct_read import SELECT, _client
from intacct_sync.intacct import IntacctClient
from intacct_sync.intacct._protocol import parse_response
from intacct_sync.intacct.rest import _protocol as wire
from intacct_sync.intacct.rest._reads import column_name, page_frame, rest_select
from intacct_sync.sandbox import COMPANIES
from intacct_sync.sandbox.intacct import gateway as gw
from intacct_sync.sandbox.intacct import rest_oauth

_PEER = "intacctsdk"


def _serve(conn: Any, gl_rows: int, latency: float) -> None:
    from intacct_sync.sandbox._http import LoopbackServer
    from intacct_sync.sandbox.intacct.gateway import ENDPOINT_PATH, IntacctGateway
    from intacct_sync.sandbox.intacct.rest import API_PATH, IntacctRestApi

    gateway = IntacctGateway()
    api = IntacctRestApi(gateway)
    gateway.faults.latency = api.faults.latency = latency
    if gl_rows:
        gateway.seed_gl_entries(COMPANIES["nonprofit"], gl_rows)
    servers = [LoopbackServer(gateway).start(), LoopbackServer(api).start()]
    conn.send((servers[0].url + ENDPOINT_PATH, servers[1].url + API_PATH))
    conn.recv()
    for server in servers:
        server.stop()


@contextmanager
def _both(*, gl_rows: int = 0, latency: float = 0.0) -> Iterator[tuple[str, str]]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, gl_rows, latency), daemon=True)
    proc.start()
    try:
        if not parent.poll(600):
            raise RuntimeError("sandbox process did not start")
        yield parent.recv()
    finally:
        parent.send("stop")
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()


def _rest_client(base: str, transport: CountingTransport) -> IntacctClient:
    return IntacctClient(
        protocol="rest",
        client_id=rest_oauth.CLIENT_ID,
        client_secret=rest_oauth.CLIENT_SECRET,
        company_id=COMPANIES["nonprofit"],
        user_id=gw.USER_ID,
        rest_url=base,
        transport=transport,
    )


def _clients(
    xml_url: str, rest_url: str
) -> dict[str, Callable[[CountingTransport], IntacctClient]]:
    return {
        "xml": lambda t: _client(xml_url, t),
        "rest": lambda t: _rest_client(rest_url, t),
    }


def _read(ia: IntacctClient) -> pd.DataFrame:
    return ia.query("GLENTRY", select=SELECT)


def _post(ia: IntacctClient, entries: list[Any]) -> pd.DataFrame:
    return ia.create("GLBATCH", entries)


def _convert(name: str, ia: IntacctClient, bodies: list[bytes]) -> float:
    """Client-side seconds to turn the read's response bodies into typed frames (no network:
    the sandbox's own cost, which differs per protocol, is left out)."""
    start = time.perf_counter()
    if name == "xml":
        for body in bodies:
            (result,) = parse_response(body).results
            ia._frame("GLENTRY", result.data if result.data is not None else [], SELECT)
        return time.perf_counter() - start
    rb = ia.rest_backend
    plans = []
    for statistical in (False, True):  # REST keeps statistical lines apart (§3.4)
        target = rb._with_udds(rb._target("GLENTRY", statistical=statistical))
        fields = [rest_select(target, s) for s in SELECT]
        plans.append(
            (target, fields, rb._kinds_for(target, SELECT, [column_name(s) for s in SELECT]))
        )
    pages = [b for b in bodies if b.startswith(b'{"ia::result": [')]  # the query pages only
    start = time.perf_counter()
    for body in pages:
        page = wire.parse_page(wire.parse_json(body))
        stat = bool(page.rows) and page.rows[0].get("txnType") in ("increase", "decrease")
        target, fields, kinds = plans[stat]
        page_frame(target, page.rows, SELECT, fields, kinds)
    return time.perf_counter() - start


def _stream(ia: IntacctClient) -> int:
    rows = 0
    total = Decimal(0)
    for page in ia.iter_query("GLENTRY", select=SELECT):
        rows += len(page)
        total += sum(page["TRX_AMOUNT"], Decimal(0))
    return rows


def run(*, quick: bool = False, peers: bool = False) -> None:
    rows = 20_000 if quick else 100_000
    with _both(gl_rows=rows) as (xml_url, rest_url):
        for name, make in _clients(xml_url, rest_url).items():
            transport = CountingTransport(keep_bodies=True)
            ia = make(transport)
            ia.field_kinds("GLENTRY")  # types are cached per client; not part of the read
            transport.requests = 0
            transport.bodies.clear()
            seconds, frame = timed(partial(_read, ia))
            requests = transport.requests
            bodies = list(transport.bodies)
            transport.keep_bodies = False
            convert = min(_convert(name, ia, bodies) for _ in range(3))
            dtypes = ",".join(sorted(set(frame.dtypes.astype(str))))
            n = len(frame)
            del frame
            gc.collect()
            peak, _ = peak_python_memory(partial(_stream, ia))
            print(
                f"- {name}: query GLENTRY -> DataFrame, {n:,} rows in {seconds:.2f}s = "
                f"{n / seconds:,.0f} rows/s end to end, {requests} requests, client-side "
                f"conversion {convert:.2f}s = {n / convert:,.0f} rows/s, iter_query peak "
                f"{mib(peak)} (dtypes {dtypes})"
            )
            ia.close()
        if peers_ready(_PEER, peers=peers):
            _peer_read(rest_url)
    n = 1_000 if quick else 10_000
    entries = _entries(n)
    for name in ("xml", "rest"):
        with _both(latency=0.020) as (xml_url, rest_url):
            make = _clients(xml_url, rest_url)[name]
            transport = CountingTransport()
            ia = make(transport)
            ia.field_kinds("GLBATCH")  # types of entries and lines, cached per client
            ia.field_kinds("GLENTRY")
            transport.requests = 0
            seconds, outcomes = timed(partial(_post, ia, entries))
            done = int(outcomes["done"].sum())
            print(
                f"- {name}: create {n:,} journal entries at 20 ms latency: {seconds:.1f}s "
                f"({n / seconds:,.0f} entries/s), {transport.requests} requests "
                f"(1 per {n / max(transport.requests, 1):,.0f} entries; goal >= 500 over "
                f"REST), {done:,} done"
            )
            transport.requests = 0
            seconds, again = timed(partial(_post, ia, entries))
            print(
                f"  rerun: {seconds:.1f}s, {transport.requests} requests, statuses "
                f"{again['status'].value_counts().to_dict()}"
            )
            ia.close()
    if peers_ready(_PEER, peers=peers):
        with _both(latency=0.020) as (_, rest_url):
            _peer_post(rest_url, entries[: min(n, 500)])


def _peer_sdk(base: str) -> Any:
    # The peer reads its base URL from a module constant in two modules.
    for module in ("intacctsdk.apis.api_base", "intacctsdk.intacctsdk"):
        setattr(importlib.import_module(module), "BASE_URL", base)  # noqa: B010
    sdk_class = importlib.import_module("intacctsdk").IntacctRESTSDK
    return sdk_class(
        username=f"{gw.USER_ID}@{COMPANIES['nonprofit']}",
        client_id=rest_oauth.CLIENT_ID,
        client_secret=rest_oauth.CLIENT_SECRET,
    )


def _peer_read(base: str) -> None:
    sdk = _peer_sdk(base)
    api = importlib.import_module("intacctsdk.apis.api_base").ApiBase(
        sdk, object_path="/objects/general-ledger/journal-entry-line"
    )
    sdk._register_api_instance(api)
    api.update_access_token(sdk.access_token)
    fields = ["key", "journalEntry.key", "lineNumber", "glAccount.id", "txnType", "txnAmount"]
    fields += ["entryDate", "description", "dimensions.location.id"]
    fields += ["dimensions.department.id", "dimensions.class.id"]

    def read() -> pd.DataFrame:
        rows: list[dict[str, Any]] = []
        for page in api.get_all_generator(fields=fields, order_by=[{"key": "asc"}]):
            rows.extend(page)
        return pd.DataFrame(rows)

    seconds, frame = timed(read)
    print(
        f"- sageintacctrestsdk: get_all_generator journal-entry-line -> pd.DataFrame(dicts), "
        f"{len(frame):,} rows in {seconds:.2f}s = {len(frame) / seconds:,.0f} rows/s, one "
        f"request per 2,000 rows, untyped (dtypes {sorted(set(frame.dtypes.astype(str)))}); "
        "statistical lines not read (a separate object)"
    )


def _peer_post(base: str, entries: list[Any]) -> None:
    sdk = _peer_sdk(base)
    bodies = [
        {
            "glJournal": {"id": e.journal},
            "postingDate": e.batch_date.isoformat(),
            "description": e.title,
            "referenceNumber": e.key,
            "lines": [
                {
                    "glAccount": {"id": line.account_no},
                    "txnType": "debit" if line.tr_type == 1 else "credit",
                    "txnAmount": str(line.amount),
                    "dimensions": {"location": {"id": line.location}},
                }
                for line in e.lines
            ],
        }
        for e in entries
    ]
    start = dt.datetime.now()
    for body in bodies:
        sdk.journal_entries.post(body)
    seconds = (dt.datetime.now() - start).total_seconds()
    print(
        f"- sageintacctrestsdk: journal_entries.post, {len(bodies):,} entries at 20 ms latency "
        f"in {seconds:.1f}s ({len(bodies) / seconds:,.0f} entries/s), {len(bodies)} requests "
        "(one per entry; no batch call, no idempotency key unless given)"
    )

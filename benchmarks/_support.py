"""Shared pieces of the benchmarks: a sandbox in a child process, counting transports, timers.

The sandbox runs in its own process so that the client's memory and CPU figures are the
client's alone.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from intacct_sync import HttpRequest, HttpResponse, Timeout
from intacct_sync._http.transport import RequestsTransport


def _serve(
    conn: Any,
    gl_rows: int,
    sf_rows: int,
    latency: float,
    setup: Callable[[Any, Any], None] | None,
    answer_time: float = 0.0,
) -> None:
    from intacct_sync.sandbox._http import LoopbackServer
    from intacct_sync.sandbox.intacct.gateway import ENDPOINT_PATH, IntacctGateway

    servers = []
    gateway = IntacctGateway()
    gateway.faults.latency = latency
    gateway.faults.answer_time = answer_time
    if gl_rows:
        gateway.seed_gl_entries("DEMO-NONPROFIT", gl_rows)
    api = None
    if sf_rows >= 0:
        from intacct_sync.sandbox.salesforce.api import SalesforceApi

        api = SalesforceApi()
        api.faults.latency = latency
        if sf_rows:
            api.seed_bulk("Opportunity", sf_rows)
    if setup is not None:
        setup(gateway, api)
    servers.append(LoopbackServer(gateway).start())
    urls = [servers[0].url + ENDPOINT_PATH, ""]
    if api is not None:
        server = LoopbackServer(api).start()
        api.base_url = server.url
        servers.append(server)
        urls[1] = server.url
    conn.send(tuple(urls))
    conn.recv()  # block until the parent says stop
    for server in servers:
        server.stop()


@contextmanager
def sandbox_process(
    *,
    gl_rows: int = 0,
    sf_rows: int = -1,
    latency: float = 0.0,
    setup: Callable[[Any, Any], None] | None = None,
    answer_time: float = 0.0,
) -> Iterator[tuple[str, str]]:
    """Start seeded emulators in a child process; yield (intacct_url, salesforce_url).

    ``sf_rows=-1`` starts no Salesforce emulator (its URL is then ""). ``setup`` (a module-level
    function, so it can cross into the child) gets ``(gateway, salesforce_api)`` to seed more.
    ``latency`` is added to every Intacct answer; ``answer_time`` is the least time one takes,
    the emulator's own work included (see :class:`intacct_sync.sandbox._http.Faults`).
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=_serve, args=(child, gl_rows, sf_rows, latency, setup, answer_time), daemon=True
    )
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


class CountingTransport(RequestsTransport):
    """Counts requests and keeps response bodies when asked."""

    def __init__(self, *, keep_bodies: bool = False) -> None:
        super().__init__()
        self.requests = 0
        self.keep_bodies = keep_bodies
        self.bodies: list[bytes] = []

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        self.requests += 1
        response = super().send(request, timeout=timeout)
        if self.keep_bodies:
            self.bodies.append(response.body)
        return response


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak_python_memory(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated through Python's allocators while ``fn`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


def median(values: list[float]) -> float:
    return statistics.median(values)


def mib(value: float) -> str:
    return f"{value / 2**20:,.1f} MiB"


def peers_ready(module: str, *, peers: bool) -> bool:
    """Whether to measure the peer library ``module``; prints why not when it will not."""
    if not peers:
        print("- peer comparison skipped (run with --peers: python -m benchmarks --peers)")
        return False
    try:
        importlib.import_module(module)
    except ImportError:
        print(f"- {module} is not installed (pip install --group bench); peer skipped")
        return False
    return True

"""One governor per company: never more requests in flight than the company allows, in this
process or across processes sharing a state store, with waiting time counted.

The Intacct sandbox enforces the limit the way the gateway does (§13.7 of intacct-api.md): a
request past ``max_concurrent`` is held ``busy_wait`` seconds and then refused as "too many
operations". The tests count, at the gateway, the requests in flight per company.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from intacct_sync import sandbox
from intacct_sync._http.ahead import read_ahead
from intacct_sync._http.governor import DEFAULT_LIMITS, Governor, governor_for
from intacct_sync._http.retry import RetryPolicy
from intacct_sync._http.transport import HttpRequest, HttpResponse, RequestsTransport, Timeout
from intacct_sync.errors import ConfigError, GovernorTimeout, TransportError
from intacct_sync.sandbox.intacct.gateway import IntacctGateway
from intacct_sync.state import PostgresStateStore, SQLiteStateStore, shared_governor

PG_DSN = os.environ.get("INTACCT_SYNC_TEST_POSTGRES_DSN")
COMPANY = sandbox.COMPANIES["nonprofit"]
FAST = RetryPolicy(max_retries=60, initial_delay=0.002, max_delay=0.02)


class _Peak:
    """Requests in flight per company as the gateway counts them, and its refusals."""

    def __init__(self, gateway: IntacctGateway) -> None:
        self.peak: collections.Counter[str] = collections.Counter()
        self.refused = 0
        original = gateway._acquire

        def acquire(company: str) -> bool:
            admitted = original(company)
            with gateway._slots:
                if admitted:
                    self.peak[company] = max(self.peak[company], gateway._in_flight[company])
                else:
                    self.refused += 1
            return admitted

        gateway._acquire = acquire  # type: ignore[method-assign]


@pytest.fixture
def busy_sb() -> Iterator[tuple[sandbox.Sandbox, _Peak]]:
    """A sandbox whose gateway holds each request a little and refuses a third at once."""
    with sandbox.running() as sb:
        sb.intacct.max_concurrent = 2
        sb.intacct.busy_wait = 0.0
        sb.intacct.work_delay = 0.02
        yield sb, _Peak(sb.intacct)


def _hammer(clients: list[Any], reads: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def work(ia: Any) -> None:
        try:
            for _ in range(reads):
                ia.read_by_name("GLACCOUNT", ["1000"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(ia,)) for ia in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


# -- in one process ---------------------------------------------------------------------------


def test_eight_clients_of_one_company_never_pass_its_limit_and_count_their_wait(
    busy_sb: tuple[sandbox.Sandbox, _Peak],
) -> None:
    sb, peak = busy_sb
    governor = Governor(f"intacct:{COMPANY}-inproc", 2)
    clients = [sb.intacct_client(retry=FAST, governor=governor) for _ in range(8)]
    assert _hammer(clients, reads=5) == []
    assert peak.peak[COMPANY] == 2
    assert peak.refused == 0
    stats = governor.stats()
    assert stats.peak_in_flight == 2 and stats.in_flight == 0
    assert stats.requests >= 8 * 5  # sign-ins count too
    assert stats.waited > 0 and stats.wait_seconds > 0 and stats.max_wait_seconds > 0


def test_without_a_governor_the_same_load_is_refused_by_the_gateway(
    busy_sb: tuple[sandbox.Sandbox, _Peak],
) -> None:
    """The control for the test above: the load does pass the limit when nothing holds it."""
    sb, peak = busy_sb
    clients = [
        sb.intacct_client(retry=FAST, governor=Governor("intacct:none", None)) for _ in range(8)
    ]
    assert _hammer(clients, reads=5) == []  # survived by retrying
    assert peak.refused > 0


def test_clients_get_the_process_wide_governor_of_their_company_by_default(
    shared_sb: sandbox.Sandbox,
) -> None:
    one, two = shared_sb.intacct_client(), shared_sb.intacct_client()
    assert one.governor is two.governor is governor_for("intacct", COMPANY.lower())
    assert one.governor.limit == DEFAULT_LIMITS["intacct"] == 2
    other = shared_sb.intacct_client("itservices")
    assert other.governor is not one.governor
    sf = shared_sb.salesforce_client()
    assert sf.governor.limit == DEFAULT_LIMITS["salesforce"]
    assert sf.governor.key == f"salesforce:{shared_sb.salesforce_url.casefold()}"
    with pytest.raises(ConfigError, match="already has a governor with limit 2"):
        governor_for("intacct", COMPANY, limit=5)


def test_slots_are_handed_out_in_arrival_order() -> None:
    governor = Governor("intacct:fifo", 1)
    order: list[int] = []
    gate = threading.Event()

    def first() -> None:
        with governor.slot():
            gate.wait(5)

    def later(n: int) -> None:
        with governor.slot():
            order.append(n)

    holder = threading.Thread(target=first)
    holder.start()
    while governor.stats().in_flight == 0:
        time.sleep(0.001)
    waiters = []
    for n in range(6):
        thread = threading.Thread(target=later, args=(n,))
        thread.start()
        waiters.append(thread)
        while len(governor._queue) < n + 1:  # queued before the next one arrives
            time.sleep(0.001)
    gate.set()
    for thread in [holder, *waiters]:
        thread.join(timeout=10)
    assert order == [0, 1, 2, 3, 4, 5]


def test_a_bounded_wait_ends_in_a_typed_error_and_sends_nothing() -> None:
    governor = Governor("intacct:bounded", 1, max_wait=0.05)
    sent: list[HttpRequest] = []

    class Recording:
        def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
            sent.append(request)
            return HttpResponse(status=200, body=b"")

        def close(self) -> None:
            pass

    transport = governor.wrap(Recording())
    with governor.slot(), pytest.raises(GovernorTimeout, match="no request slot") as caught:
        transport.send(HttpRequest(method="GET", url="http://127.0.0.1/x"), timeout=Timeout(1, 1))
    assert sent == [] and caught.value.waited >= 0.05
    assert not caught.value.should_retry and not caught.value.request_sent
    assert governor.stats().in_flight == 0 and list(governor._queue) == []
    transport.send(HttpRequest(method="GET", url="http://127.0.0.1/x"), timeout=Timeout(1, 1))
    assert len(sent) == 1
    with pytest.raises(ConfigError):
        Governor("intacct:zero", 0)


def test_salesforce_requests_stay_within_the_orgs_limit(shared_sb: sandbox.Sandbox) -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    class Counting:
        """Counts requests on the wire, below the governor."""

        def __init__(self) -> None:
            self.inner = RequestsTransport()

        def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
            nonlocal in_flight, peak
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            try:
                time.sleep(0.01)
                return self.inner.send(request, timeout=timeout)
            finally:
                with lock:
                    in_flight -= 1

        def close(self) -> None:
            self.inner.close()

    governor = Governor("salesforce:test-org", 3)
    sf = shared_sb.salesforce_client(transport=Counting(), governor=governor)
    sf.query("SELECT Id FROM Account LIMIT 1")  # the token first: its endpoint is not the org's
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                sf.query("SELECT Id FROM Account LIMIT 1")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert peak == 3 and governor.stats().peak_in_flight == 3
    assert governor.stats().wait_seconds > 0


# -- across processes -------------------------------------------------------------------------

_WORKER = """
import json, sys
from intacct_sync import IntacctClient
from intacct_sync._http.retry import RetryPolicy
from intacct_sync.sandbox.intacct import gateway as gw
from intacct_sync.state import PostgresStateStore, SQLiteStateStore, shared_governor

kind, where, url, company, reads = sys.argv[1:6]
state = SQLiteStateStore(where) if kind == "sqlite" else PostgresStateStore(where, tenant=company)
governor = shared_governor(state, "intacct", company)
ia = IntacctClient(
    sender_id=gw.SENDER_ID, sender_password=gw.SENDER_PASSWORD, company_id=company,
    user_id=gw.USER_ID, user_password=gw.USER_PASSWORD, endpoint_url=url,
    retry=RetryPolicy(max_retries=60, initial_delay=0.002, max_delay=0.02), governor=governor,
)
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(reads)):
    ia.read_by_name("GLACCOUNT", ["1000"])
stats = governor.stats()
print(json.dumps({"wait": stats.wait_seconds, "requests": stats.requests}), flush=True)
"""


def _processes(kind: str, where: str, sb: sandbox.Sandbox, n: int = 4) -> list[dict[str, Any]]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, kind, where, sb.intacct_url, COMPANY, "6"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    for worker in workers:  # every worker imported and built before any sends
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_four_processes_sharing_a_sqlite_store_keep_the_company_within_its_limit(
    busy_sb: tuple[sandbox.Sandbox, _Peak], tmp_path: Path
) -> None:
    sb, peak = busy_sb
    path = tmp_path / "state.sqlite3"
    SQLiteStateStore(path).close()
    results = _processes("sqlite", str(path), sb)
    assert 1 <= peak.peak[COMPANY] <= 2
    assert peak.refused == 0
    assert sum(r["requests"] for r in results) >= 4 * 6
    assert sum(r["wait"] for r in results) > 0


@pytest.mark.skipif(PG_DSN is None, reason="INTACCT_SYNC_TEST_POSTGRES_DSN is not set")
def test_four_processes_sharing_a_postgres_store_keep_the_company_within_its_limit(
    busy_sb: tuple[sandbox.Sandbox, _Peak],
) -> None:
    assert PG_DSN is not None
    sb, peak = busy_sb
    PostgresStateStore(PG_DSN, tenant=COMPANY).close()
    results = _processes("postgres", PG_DSN, sb)
    assert 1 <= peak.peak[COMPANY] <= 2
    assert peak.refused == 0
    assert sum(r["wait"] for r in results) > 0


def test_file_slots_are_exclusive_across_descriptors_and_released(tmp_path: Path) -> None:
    state = SQLiteStateStore(tmp_path / "s.sqlite3")
    slots = state.governor_slots()
    assert slots is not None and SQLiteStateStore(":memory:").governor_slots() is None
    first = slots.try_acquire("intacct:ACME", 0)
    assert first is not None
    assert slots.try_acquire("intacct:ACME", 0) is None
    assert slots.try_acquire("intacct:ACME", 1) is not None
    assert slots.try_acquire("intacct:OTHER", 0) is not None
    first()
    assert slots.try_acquire("intacct:ACME", 0) is not None
    governor = shared_governor(state, "intacct", "ACME-SHARED")
    assert governor.shared is slots and governor.limit == 2


@pytest.mark.skipif(PG_DSN is None, reason="INTACCT_SYNC_TEST_POSTGRES_DSN is not set")
def test_advisory_slots_are_exclusive_across_connections_and_released() -> None:
    assert PG_DSN is not None
    stores = [PostgresStateStore(PG_DSN, tenant="slots") for _ in range(2)]
    try:
        one, two = (store.governor_slots() for store in stores)
        release = one.try_acquire("intacct:ACME", 0)
        assert release is not None
        assert one.try_acquire("intacct:ACME", 0) is None  # re-entrant in PostgreSQL, not here
        assert two.try_acquire("intacct:ACME", 0) is None
        release()
        again = two.try_acquire("intacct:ACME", 0)
        assert again is not None
        two.close()  # a closed session (a dead worker) drops its locks
        # The server ends the closed session's backend, and with it the lock, a moment later.
        deadline = time.monotonic() + 10
        taken = one.try_acquire("intacct:ACME", 0)
        while taken is None and time.monotonic() < deadline:
            time.sleep(0.05)
            taken = one.try_acquire("intacct:ACME", 0)
        assert taken is not None
    finally:
        for store in stores:
            store.close()


# -- read_ahead: the next page fetched while this one is worked on ------------------------------


def test_read_ahead_fetches_the_next_page_while_the_caller_works_on_this_one() -> None:

    fetched: list[int] = []
    second_started = threading.Event()

    def pages() -> Iterator[int]:
        for n in range(4):
            if n == 1:
                second_started.set()
            fetched.append(n)
            yield n

    got = []
    for page in read_ahead(pages(), name="test-ahead"):
        if page == 0:
            # The caller still holds page 0 and page 1 is already being fetched ...
            assert second_started.wait(5)
        # ... but never more than one page ahead: bounded memory.
        assert len(fetched) <= page + 2
        got.append(page)
    assert got == [0, 1, 2, 3]


def test_read_ahead_raises_in_order_and_leaves_no_thread_when_stopped() -> None:

    def failing() -> Iterator[int]:
        yield 1
        raise TransportError("page 2 failed", method="GET", url="http://127.0.0.1/x")

    stream = read_ahead(failing(), name="test-ahead-fail")
    assert next(stream) == 1
    with pytest.raises(TransportError, match="page 2 failed"):
        next(stream)

    closed = threading.Event()
    fetched: list[int] = []

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                time.sleep(0.01)
                fetched.append(n)
                yield n
                n += 1
        finally:
            closed.set()

    early = read_ahead(endless(), name="test-ahead-close")
    assert next(early) == 0
    early.close()  # type: ignore[attr-defined]
    assert closed.is_set()  # the source was closed, after the fetch in progress finished
    assert not [t for t in threading.enumerate() if t.name.startswith("test-ahead")]
    count = len(fetched)
    time.sleep(0.05)
    assert len(fetched) == count <= 2

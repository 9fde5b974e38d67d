"""Public test helpers: a mock transport, recorded-traffic cassettes and the state store
contract, for your tests and ours.

>>> from intacct_sync.testing import MockTransport
>>> from intacct_sync import HttpResponse
>>> transport = MockTransport(lambda request: HttpResponse(status=200, body=b"<response/>"))

Cassettes (:func:`cassette`) record real HTTP traffic with vcrpy, scrubbed by the same
redaction code the logs use, and replay it without a network. vcrpy is a test dependency; it is
imported only when a cassette is used.

The state store contract (:func:`check_state_store`, or :class:`StateStoreContract` for pytest)
is what :class:`~intacct_sync.state.SQLiteStateStore` and
:class:`~intacct_sync.state.PostgresStateStore` pass; run it against a store of your own.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from intacct_sync._http.redact import REDACTED, scrub_body, scrub_headers
from intacct_sync._http.transport import HttpRequest, HttpResponse, Timeout
from intacct_sync.errors import LeaseHeldError, LeaseLostError, StateError
from intacct_sync.state import IdMapping, LedgerEntry, LedgerStatus, StateStore, run_lease

__all__ = [
    "STATE_STORE_CHECKS",
    "MockTransport",
    "StateStoreContract",
    "cassette",
    "check_state_store",
    "normalise_body",
]


class MockTransport:
    """A transport that answers with ``handler(request)``; keeps every request it saw.

    The handler may raise :class:`~intacct_sync.errors.TransportError` to simulate network
    failures.
    """

    def __init__(self, handler: Callable[[HttpRequest], HttpResponse]) -> None:
        self.handler = handler
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        """Record ``request`` and return the handler's answer.

        Args:
            request: the request the client sends.
            timeout: the client's timeouts (not used).

        Returns:
            What the handler answers.

        Raises:
            TransportError: when the handler raises it, to simulate a network failure.
        """
        self.requests.append(request)
        return self.handler(request)

    def close(self) -> None:
        """Nothing to release."""


# The request-level <controlid> is a fresh uuid per request and never checked by Intacct;
# function control ids (attributes) are deterministic and stay part of the match.
_REQUEST_CONTROL_ID = re.compile(r"(<control>.*?<controlid>)[^<]*(</controlid>)", re.S)


def normalise_body(body: bytes | str | None) -> str:
    """A request body as cassettes compare it: scrubbed, without the per-request control id.

    Args:
        body: a request body, or None.

    Returns:
        The body text with secrets scrubbed and the request's control id as ``*``.
    """
    return _REQUEST_CONTROL_ID.sub(r"\1*\2", scrub_body(body))


def _rewrite(text: str, hosts: Mapping[str, str]) -> str:
    for real, placeholder in hosts.items():
        text = text.replace(real, placeholder)
    return text


@contextmanager
def cassette(
    path: str | Path,
    *,
    record_mode: str = "none",
    hosts: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """Record or replay HTTP traffic in a YAML cassette, secrets scrubbed.

    Args:
        path: the cassette file.
        record_mode: vcrpy's mode: ``"none"`` replays only (the default: tests never reach a
            server), ``"once"`` records when the file does not exist yet.
        hosts: real base URL -> placeholder base URL, rewritten in recorded URLs and bodies so
            a cassette recorded against a loopback port replays anywhere (e.g.
            ``{"http://127.0.0.1:53211": "http://intacct.sandbox.test"}``).

    Yields:
        The vcrpy cassette (``.play_count``, ``.all_played``...).
    """
    import vcr

    mapping = dict(hosts or {})

    def before_request(request: Any) -> Any:
        request.uri = _rewrite(request.uri, mapping)
        if request.body:
            request.body = _rewrite(normalise_body(request.body), mapping).encode()
        request.headers = {
            k: v for k, v in scrub_headers(dict(request.headers)).items() if v != REDACTED
        }
        return request

    def before_response(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body", {}).get("string", b"")
        if body:
            response["body"]["string"] = _rewrite(scrub_body(body), mapping).encode()
        headers = response.get("headers", {})
        response["headers"] = {
            k: v
            for k, v in headers.items()
            if k.lower() not in ("set-cookie", "date", "content-length")
        }
        return response

    def body_matcher(first: Any, second: Any) -> None:
        if normalise_body(first.body) != normalise_body(second.body):
            raise AssertionError("request bodies differ")

    recorder = vcr.VCR(
        record_mode=record_mode,
        before_record_request=before_request,
        before_record_response=before_response,
        match_on=("method", "scheme", "host", "port", "path", "query", "scrubbed_body"),
        decode_compressed_response=True,
    )
    recorder.register_matcher("scrubbed_body", body_matcher)
    # vcrpy logs raw responses at INFO before our scrubbing runs; keep its loggers quiet.
    vcr_logger = logging.getLogger("vcr")
    level = vcr_logger.level
    vcr_logger.setLevel(logging.WARNING)
    try:
        with recorder.use_cassette(str(path)) as recorded:
            yield recorded
    finally:
        vcr_logger.setLevel(level)


# -- the state store contract -----------------------------------------------------------------

#: Makes a store over one shared backing (a file, a database) for ``tenant``. Called several
#: times per check: two stores of one tenant stand for two processes, two tenants must not see
#: each other's rows.
StoreFactory = Callable[[str], StateStore]


def _expect(condition: bool, what: str) -> None:
    # Not ``assert``: the contract must hold under ``python -O`` too.
    if not condition:
        raise AssertionError(f"state store contract: {what}")


def _tenant(label: str) -> str:
    return f"contract-{label}-{uuid.uuid4().hex[:10]}"


def _close(*stores: StateStore) -> None:
    for store in stores:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def check_watermarks(factory: StoreFactory) -> None:
    """Watermarks: None until set, kept in UTC, moved, naive times refused."""
    state = factory(_tenant("watermarks"))
    try:
        _expect(state.get_watermark("actions") is None, "an unset watermark is None")
        local = dt.datetime(
            2026, 11, 20, 8, 30, 15, 123456, tzinfo=dt.timezone(-dt.timedelta(hours=5))
        )
        state.set_watermark("actions", local)
        got = state.get_watermark("actions")
        _expect(got == local, f"the watermark comes back as set ({got!r} != {local!r})")
        _expect(got is not None and got.utcoffset() == dt.timedelta(0), "watermarks are UTC")
        later = local + dt.timedelta(days=1)
        state.set_watermark("actions", later)
        _expect(state.get_watermark("actions") == later, "a watermark moves")
        try:
            state.set_watermark("actions", dt.datetime(2026, 1, 1))  # noqa: DTZ001
        except StateError:
            pass
        else:
            raise AssertionError("state store contract: a naive watermark raises StateError")
    finally:
        _close(state)


def check_values(factory: StoreFactory) -> None:
    """Values: JSON in and out, Decimals as exact strings, replaced not duplicated."""
    state = factory(_tenant("values"))
    try:
        _expect(state.get_value("kpi", "missing") is None, "an absent value is None")
        state.set_value("kpi", "donors|2026-11-20", {"value": Decimal("1234.50"), "n": 3})
        state.set_value("kpi", "active|2026-11-20", [1, "two", None])
        state.set_value("kpi", "donors|2026-11-20", {"value": Decimal("1234.50"), "n": 4})
        state.set_value("other", "x", "y")
        got = state.get_value("kpi", "donors|2026-11-20")
        _expect(got == {"value": "1234.50", "n": 4}, f"a value is replaced, Decimal exact: {got}")
        _expect(
            state.values("kpi")
            == {"active|2026-11-20": [1, "two", None], "donors|2026-11-20": got},
            "values() holds one namespace's keys",
        )
        _expect(list(state.values("kpi")) == sorted(state.values("kpi")), "values() by key")
    finally:
        _close(state)


def _entry(source_id: str, status: LedgerStatus, **detail: Any) -> LedgerEntry:
    return LedgerEntry(
        workflow="actions",
        source_id=source_id,
        control_id=f"cid-{source_id}",
        status=status,
        record_no="41" if status == "posted" else None,
        updated_at=dt.datetime(2026, 11, 20, 12, 0, 0, 5, tzinfo=dt.UTC),
        detail=detail,
    )


def check_ledger(factory: StoreFactory) -> None:
    """Ledger rows: put, get, replace, list by source id, iterate by status."""
    state = factory(_tenant("ledger"))
    try:
        _expect(state.ledger_get("actions", "a1") is None, "an absent ledger row is None")
        state.ledger_put(_entry("b2", "pending", content_hash="h2"))
        state.ledger_put(_entry("a1", "pending", content_hash="h1", amount="10.00"))
        state.ledger_put(_entry("a1", "posted", content_hash="h1", amount="10.00"))
        state.ledger_put(_entry("c3", "failed", errors="BL01001973 refused"))
        other = LedgerEntry(workflow="kpi", source_id="a1", control_id="k", status="pending")
        state.ledger_put(other)
        row = state.ledger_get("actions", "a1")
        _expect(row == _entry("a1", "posted", content_hash="h1", amount="10.00"), f"row: {row}")
        rows = state.ledger("actions")
        _expect([r.source_id for r in rows] == ["a1", "b2", "c3"], "ledger() by source id")
        _expect([r.status for r in rows] == ["posted", "pending", "failed"], "rows replaced")
        pending = [r.source_id for r in state.iter_ledger("actions", "pending")]
        _expect(pending == ["b2"], f"iter_ledger by status: {pending}")
        _expect([r.source_id for r in state.iter_ledger("actions", "failed")] == ["c3"], "failed")
        _expect([r.workflow for r in state.ledger("kpi")] == ["kpi"], "workflows kept apart")
    finally:
        _close(state)


def check_id_map(factory: StoreFactory) -> None:
    """The id map: one Intacct id per object maps to one Salesforce id."""
    state = factory(_tenant("idmap"))
    try:
        state.id_map_put(IdMapping(object="ITEM", salesforce_id="01tB", intacct_id="I2"))
        state.id_map_put(IdMapping(object="ITEM", salesforce_id="01tA", intacct_id="I1"))
        state.id_map_put(
            IdMapping(object="ITEM", salesforce_id="01tA", intacct_id="I1", intacct_record_no="7")
        )
        state.id_map_put(IdMapping(object="CUSTOMER", salesforce_id="001A", intacct_id="I1"))
        items = state.id_map("ITEM")
        _expect(
            [(m.salesforce_id, m.intacct_id) for m in items] == [("01tA", "I1"), ("01tB", "I2")],
            "by sf id",
        )
        _expect(items[0].intacct_record_no == "7", "a mapping is replaced")
        try:
            state.id_map_put(IdMapping(object="ITEM", salesforce_id="01tC", intacct_id="I1"))
        except StateError:
            pass
        else:
            raise AssertionError("state store contract: an Intacct id mapped twice raises")
        _expect(len(state.id_map("ITEM")) == 2, "a refused mapping leaves nothing behind")
    finally:
        _close(state)


def check_tenants(factory: StoreFactory) -> None:
    """Two tenants over one backing never see each other's rows."""
    one, two = factory(_tenant("t1")), factory(_tenant("t2"))
    try:
        when = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        one.set_watermark("actions", when)
        one.set_value("ns", "k", 1)
        one.ledger_put(_entry("a1", "posted"))
        one.id_map_put(IdMapping(object="ITEM", salesforce_id="01tA", intacct_id="I1"))
        two.id_map_put(IdMapping(object="ITEM", salesforce_id="01tZ", intacct_id="I1"))
        _expect(two.get_watermark("actions") is None, "watermarks are per tenant")
        _expect(two.values("ns") == {} and two.get_value("ns", "k") is None, "values per tenant")
        _expect(two.ledger_get("actions", "a1") is None and two.ledger("actions") == [], "ledger")
        _expect([m.salesforce_id for m in two.id_map("ITEM")] == ["01tZ"], "id map per tenant")
        lease = one.acquire_lease("T/-/actions", "one", dt.timedelta(minutes=1))
        _expect(lease is not None, "tenant one takes its lease")
        other = two.acquire_lease("T/-/actions", "two", dt.timedelta(minutes=1))
        _expect(other is not None, "leases are per tenant")
    finally:
        _close(one, two)


def check_reopen(factory: StoreFactory) -> None:
    """Opening a store again (migrations idempotent) keeps every row and the schema version."""
    tenant = _tenant("reopen")
    first = factory(tenant)
    version = getattr(first, "schema_version", None)
    try:
        first.ledger_put(_entry("a1", "pending"))
        first.set_value("ns", "k", {"x": "1.10"})
    finally:
        _close(first)
    for _ in range(2):
        again = factory(tenant)
        try:
            _expect(again.ledger_get("actions", "a1") == _entry("a1", "pending"), "ledger kept")
            _expect(again.get_value("ns", "k") == {"x": "1.10"}, "values kept")
            _expect(getattr(again, "schema_version", None) == version, "version unchanged")
        finally:
            _close(again)


def check_lease(factory: StoreFactory) -> None:
    """The run lease: exclusive, re-entrant for its holder, renewed, released, taken over."""
    tenant = _tenant("lease")
    a, b = factory(tenant), factory(tenant)
    minute = dt.timedelta(minutes=1)
    try:
        _expect(a.lease_holder("L") is None, "nobody holds a new lease")
        first = a.acquire_lease("L", "run-a", minute)
        _expect(first is not None and first.holder == "run-a", "a free lease is taken")
        assert first is not None
        _expect(first.expires_at > first.started_at, "a lease expires after it starts")
        _expect(b.acquire_lease("L", "run-b", minute) is None, "a held lease is exclusive")
        seen = b.lease_holder("L")
        _expect(seen is not None and seen.holder == "run-a" and seen.pid > 0, "the holder")
        _expect(seen is not None and seen.token == first.token and bool(seen.host), "host")
        again = a.acquire_lease("L", "run-a", minute)
        _expect(again is not None and again.token == first.token, "the holder takes it again")
        renewed = a.renew_lease(first, dt.timedelta(minutes=5))
        _expect(renewed.expires_at > first.expires_at, "renewal moves the expiry")
        a.release_lease(renewed)
        _expect(b.lease_holder("L") is None, "a released lease is free")
        taken = b.acquire_lease("L", "run-b", minute)
        _expect(taken is not None and taken.token != first.token, "another run takes it")
        try:
            a.renew_lease(first, minute)
        except LeaseLostError:
            pass
        else:
            raise AssertionError("state store contract: renewing a lost lease raises")
        a.release_lease(first)  # a stale release must not free the new holder's lease
        _expect(b.lease_holder("L") is not None, "a stale release leaves the new holder")
        # Expiry: a crashed run's lease can be taken over once it expires.
        short = a.acquire_lease("crashed", "run-a", dt.timedelta(milliseconds=300))
        _expect(short is not None, "short lease taken")
        _expect(b.acquire_lease("crashed", "run-b", minute) is None, "not before it expires")
        time.sleep(0.6)
        _expect(b.lease_holder("crashed") is None, "an expired lease has no holder")
        took = b.acquire_lease("crashed", "run-b", minute)
        _expect(took is not None and took.holder == "run-b", "an expired lease is taken over")
    finally:
        _close(a, b)


def check_concurrency(factory: StoreFactory) -> None:
    """Eight stores of one tenant (as eight workers) race for one lease: exactly one wins."""
    tenant = _tenant("race")
    stores = [factory(tenant) for _ in range(8)]
    barrier = threading.Barrier(len(stores))
    won: list[str] = []
    failures: list[BaseException] = []

    def race(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            if stores[n].acquire_lease("race", f"w{n}", dt.timedelta(minutes=1)) is not None:
                won.append(f"w{n}")
            for i in range(5):
                stores[n].ledger_put(_entry(f"w{n}-{i}", "pending"))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(stores))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        _expect(not failures, f"concurrent use raised {failures[:1]}")
        _expect(len(won) == 1, f"exactly one of eight racing workers holds the lease: {won}")
        _expect(len(stores[0].ledger("actions")) == 40, "every concurrent ledger write kept")
    finally:
        _close(*stores)


def check_run_lease(factory: StoreFactory) -> None:
    """:func:`~intacct_sync.state.run_lease`: nests, names the holder, waits, releases."""
    tenant = _tenant("runlease")
    a, b = factory(tenant), factory(tenant)
    try:
        with run_lease(a, "R", ttl=dt.timedelta(seconds=30)) as held:
            with run_lease(a, "R") as inner:
                _expect(inner is held, "a nested run_lease shares the outer lease")
            try:
                with run_lease(b, "R"):
                    raise AssertionError("state store contract: a second run got the lease")
            except LeaseHeldError as exc:
                _expect(exc.holder == held.lease.holder and exc.pid == held.lease.pid, "holder")
                _expect(held.lease.holder in str(exc), "the message names the holder")
        _expect(b.lease_holder("R") is None, "run_lease releases at the end")
        first = a.acquire_lease("R", "other-run", dt.timedelta(minutes=1))
        _expect(first is not None, "taken for the wait check")
        assert first is not None
        release = threading.Timer(0.3, a.release_lease, args=(first,))
        release.start()
        with run_lease(b, "R", wait=dt.timedelta(seconds=10), poll=0.05) as waited:
            _expect(waited.lease.holder != "other-run", "run_lease waited for the release")
        release.join()
    finally:
        _close(a, b)


#: Every check of the contract, in order.
STATE_STORE_CHECKS: tuple[Callable[[StoreFactory], None], ...] = (
    check_watermarks,
    check_values,
    check_ledger,
    check_id_map,
    check_tenants,
    check_reopen,
    check_lease,
    check_concurrency,
    check_run_lease,
)


def check_state_store(factory: StoreFactory) -> None:
    """Run the whole state store contract against the stores ``factory`` makes.

    Args:
        factory: ``factory(tenant)`` opens a store for ``tenant`` over one shared backing (the
            same file or database every call); the checks use fresh tenant names, so a database
            with other data in it is fine.

    Raises:
        AssertionError: the first broken promise, named.
    """
    for check in STATE_STORE_CHECKS:
        check(factory)


class StateStoreContract:
    """The state store contract as a pytest class: subclass it and define :meth:`make_store`.

    >>> class TestMyStore(StateStoreContract):          # doctest: +SKIP
    ...     def make_store(self, tenant):
    ...         return MyStore(DSN, tenant=tenant)
    """

    def make_store(self, tenant: str) -> StateStore:
        """A store for ``tenant`` over this test class's shared backing.

        Args:
            tenant: a fresh tenant name for each check.

        Returns:
            An open store; every call shares one backing (file or database).
        """
        raise NotImplementedError

    def test_watermarks(self) -> None:
        """The contract for watermarks."""
        check_watermarks(self.make_store)

    def test_values(self) -> None:
        """The contract for stored values."""
        check_values(self.make_store)

    def test_ledger(self) -> None:
        """The contract for the ledger."""
        check_ledger(self.make_store)

    def test_id_map(self) -> None:
        """The contract for the id map."""
        check_id_map(self.make_store)

    def test_tenants(self) -> None:
        """The contract for tenant isolation."""
        check_tenants(self.make_store)

    def test_reopen(self) -> None:
        """The contract for reopening the store."""
        check_reopen(self.make_store)

    def test_lease(self) -> None:
        """The contract for the run lease."""
        check_lease(self.make_store)

    def test_concurrency(self) -> None:
        """The contract for concurrent use."""
        check_concurrency(self.make_store)

    def test_run_lease(self) -> None:
        """The contract for the run_lease helper."""
        check_run_lease(self.make_store)

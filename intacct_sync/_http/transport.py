"""The only code that touches the network.

A :class:`Transport` sends one :class:`HttpRequest` and returns one :class:`HttpResponse`,
whatever its status; interpreting the answer is the protocol layer's job. Library exceptions
are mapped here to :class:`~intacct_sync.errors.TransportError`, so ``requests`` never leaks.
:func:`send` adds the retry loop and logging around any transport.

What one answer may cost is bounded (issue 13): a connect timeout, a read timeout per receive,
a total deadline per request (a server that drips a byte just inside the read timeout is cut
at it, headers included), and a cap on the *decoded* body (a gzip bomb is counted as it
inflates, in chunks, and reading stops at the cap). Redirects are never followed.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import attrs
import requests  # noqa: TID251 - this is the one module allowed to
from urllib3 import connectionpool as _u3pool

from intacct_sync import __about__
from intacct_sync._http.redact import register_request_secrets, scrub_body, scrub_headers
from intacct_sync._http.retry import RetryPolicy, call_with_retry
from intacct_sync.errors import (
    ConfigError,
    DeadlineExceeded,
    RequestTimeout,
    ResponseTooLarge,
    TransportError,
)

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_TIMEOUT",
    "HttpRequest",
    "HttpResponse",
    "RequestsTransport",
    "Timeout",
    "Transport",
    "USER_AGENT",
    "parse_retry_after",
    "send",
]

T = TypeVar("T")
log = logging.getLogger("intacct_sync.http")
USER_AGENT = f"intacct-sync/{__about__.__version__}"


def _seconds(instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number <= 0:
        raise ConfigError(
            f"Timeout.{attribute.name} must be a positive number of seconds, got {value!r} "
            "(a request is never allowed to wait forever)"
        )


@attrs.frozen
class Timeout:
    """Seconds to wait: for a connection, for each read, and for the whole request.

    None of them may be unbounded: ``Timeout(None, None)`` raises ``ConfigError``.

    Attributes:
        connect: to open the connection.
        read: between two bytes of the answer.
        total: the deadline of one request attempt, connect to last byte; a server dripping
            bytes just inside ``read`` is cut here with ``DeadlineExceeded``.
    """

    connect: float = attrs.field(default=10.0, validator=_seconds)
    read: float = attrs.field(default=120.0, validator=_seconds)
    total: float = attrs.field(default=600.0, validator=_seconds)


DEFAULT_TIMEOUT = Timeout()
#: Cap on a decoded response body: far above the largest page either API serves (a readByQuery
#: page of 1,000 wide records is a few MB), far below what would hurt a notebook.
DEFAULT_MAX_BODY_BYTES = 128 * 1024 * 1024
#: Cap on how many times a compressed body may expand, judged once 16 MiB are decoded. Real
#: answers gzip 10 to 30 times (a sandbox GLENTRY page: 29x) and a page of near-empty records
#: about 200 times; deflate cannot pass about 1,030 times, where a compression bomb sits
#: (408 KB of gzip -> 470 MB). So a bomb is refused after 16 MiB instead of at the size cap.
DEFAULT_MAX_EXPANSION = 300
# Smaller bodies are never judged by ratio: they cannot hurt, and a short, regular answer can
# compress very well.
_RATIO_FLOOR = 16 * 1024 * 1024
_CHUNK = 64 * 1024


@attrs.frozen(kw_only=True)
class HttpRequest:
    """One HTTP request. ``body`` is never shown in a repr; it may hold credentials."""

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    body: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class HttpResponse:
    """One HTTP answer, whatever its status."""

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    body: bytes = attrs.field(default=b"", repr=False)
    elapsed: float = 0.0

    def header(self, name: str) -> str | None:
        """Header value by case-insensitive name.

        Args:
            name: the header name, in any case.

        Returns:
            The header's value, or None when the response has no such header.
        """
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class Transport(Protocol):
    """Sends requests. Implement it to put intacct_sync on another HTTP stack or a fake."""

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        """Send ``request`` and return the answer; raise ``TransportError`` on network failure.

        Args:
            request: the request to send.
            timeout: connect and read timeouts.

        Returns:
            The server's answer, whatever its HTTP status.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


# The watchdog of the request in flight on this thread, so the pool can hand it the connection.
_in_flight = threading.local()


def _watch(conn: object) -> None:
    watchdog = getattr(_in_flight, "watchdog", None)
    if watchdog is not None:
        watchdog.conn = conn


# The pools hand each request's connection to its watchdog before the request is sent, so a
# server that drips its status line or headers can be cut too. Only _make_request is
# overridden: the connection classes stay the library's (test recorders such as vcrpy patch
# them).
class _WatchedPool(_u3pool.HTTPConnectionPool):
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        _watch(conn)
        return super()._make_request(conn, *args, **kwargs)


class _WatchedHTTPSPool(_u3pool.HTTPSConnectionPool):
    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        _watch(conn)
        return super()._make_request(conn, *args, **kwargs)


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedPool, "https": _WatchedHTTPSPool}


class _Watchdog:
    """One request's deadline: shuts its socket down if the deadline passes first."""

    def __init__(self, seconds: float) -> None:
        self.due = time.monotonic() + seconds
        self.fired = False
        self.done = False
        self.conn: object = None

    def fire(self) -> None:
        self.fired = True
        sock = getattr(self.conn, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        _in_flight.watchdog = self
        _DEADLINES.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _DEADLINES.cancel(self)
        _in_flight.watchdog = None


class _Deadlines:
    """One daemon thread for every request's deadline (a thread per request costs ~0.3 ms)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Also run in a forked child: the parent's thread (and maybe its lock) did not come.
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watchdog]] = []
        self._cancelled = 0
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watchdog) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.due, id(watch), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="intacct_sync-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0][2] is watch:
                self._cond.notify()

    def cancel(self, watch: _Watchdog) -> None:
        with self._cond:
            watch.done = True
            self._cancelled += 1
            # Finished requests wait in the heap until their (distant) due time; drop them in
            # bulk once they are most of it, so memory follows the requests in flight.
            if self._cancelled > 64 and 2 * self._cancelled > len(self._heap):
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    _, _, watch = heapq.heappop(self._heap)
                    if watch.done:
                        self._cancelled = max(0, self._cancelled - 1)
                    else:
                        watch.done = True
                        watch.fire()
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_DEADLINES = _Deadlines()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_DEADLINES._reset)


class RequestsTransport:
    """:class:`Transport` over a pooled ``requests.Session``.

    Args:
        pool_size: connections kept per host.
        max_body_bytes: cap on a decoded (decompressed) answer; a larger one raises
            ``ResponseTooLarge`` with the figures, having read no more than the cap.
        max_expansion: cap on decoded bytes per byte received for a compressed answer (past
            the first 16 MiB); a compression bomb raises ``ResponseTooLarge`` early.
    """

    def __init__(
        self,
        *,
        pool_size: int = 4,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_expansion: int = DEFAULT_MAX_EXPANSION,
    ) -> None:
        limits: tuple[tuple[str, object], ...] = (
            ("max_body_bytes", max_body_bytes),
            ("max_expansion", max_expansion),
        )
        for name, value in limits:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive int, got {value!r}")
        self.max_body_bytes = max_body_bytes
        self.max_expansion = max_expansion
        self._session = requests.Session()
        adapter = _Adapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def _read_body(self, resp: requests.Response, request: HttpRequest) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        encoded = resp.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
        if declared.isdigit() and not encoded and int(declared) > self.max_body_bytes:
            raise self._too_large(request, int(declared), resp)
        chunks: list[bytes] = []
        seen = 0
        # iter_content decodes gzip/deflate as it goes, in bounded steps: what is counted is
        # what would sit in memory.
        for chunk in resp.iter_content(chunk_size=_CHUNK):
            seen += len(chunk)
            if seen > self.max_body_bytes:
                raise self._too_large(request, seen, resp)
            if encoded and seen > _RATIO_FLOOR:
                wire = max(1, resp.raw.tell())
                if seen > wire * self.max_expansion:
                    raise self._bomb(request, seen, wire, resp)
            chunks.append(chunk)
        return b"".join(chunks)

    def _bomb(
        self, request: HttpRequest, seen: int, wire: int, resp: requests.Response
    ) -> Exception:
        resp.close()
        return ResponseTooLarge(
            f"compressed answer from {request.url} refused: {wire:,} bytes received decoded "
            f"to {seen:,} so far, more than {self.max_expansion}x "
            "(RequestsTransport(max_expansion=...))",
            seen=seen,
            limit=self.max_expansion,
            wire=wire,
            http_status=resp.status_code,
        )

    def _too_large(self, request: HttpRequest, seen: int, resp: requests.Response) -> Exception:
        resp.close()
        return ResponseTooLarge(
            f"answer from {request.url} is larger than the cap: {seen:,} bytes decoded, cap "
            f"{self.max_body_bytes:,} (RequestsTransport(max_body_bytes=...))",
            seen=seen,
            limit=self.max_body_bytes,
            http_status=resp.status_code,
        )

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        """Send one request; map ``requests`` failures to :class:`TransportError`."""
        started = time.perf_counter()
        watchdog = _Watchdog(timeout.total)
        try:
            with watchdog:
                resp = self._session.request(
                    request.method,
                    request.url,
                    headers=dict(request.headers),
                    data=request.body,
                    timeout=(timeout.connect, timeout.read),
                    allow_redirects=False,
                    stream=True,
                )
                try:
                    body = self._read_body(resp, request)
                finally:
                    resp.close()
            if watchdog.fired:
                # The cut may have looked like a clean end of the body: never trust it.
                raise self._deadline(request, started, timeout)
        except ResponseTooLarge:
            raise
        except DeadlineExceeded:
            raise
        except requests.exceptions.RequestException as exc:
            if watchdog.fired:
                raise self._deadline(request, started, timeout) from exc
            raise self._mapped(exc, request, timeout) from exc
        return HttpResponse(
            status=resp.status_code,
            headers=dict(resp.headers),
            body=body,
            elapsed=time.perf_counter() - started,
        )

    @staticmethod
    def _deadline(request: HttpRequest, started: float, timeout: Timeout) -> DeadlineExceeded:
        elapsed = time.perf_counter() - started
        return DeadlineExceeded(
            f"request to {request.url} cut after {elapsed:.1f}s: the deadline is "
            f"{timeout.total}s (Timeout(total=...))",
            elapsed=elapsed,
            deadline=timeout.total,
            method=request.method,
            url=request.url,
        )

    @staticmethod
    def _mapped(
        exc: requests.exceptions.RequestException, request: HttpRequest, timeout: Timeout
    ) -> TransportError:
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return TransportError(
                f"could not connect to {request.url} within {timeout.connect}s",
                method=request.method,
                url=request.url,
                request_sent=False,
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return RequestTimeout(
                f"no answer from {request.url} within {timeout.read}s",
                method=request.method,
                url=request.url,
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return TransportError(
                f"connection to {request.url} failed: {_reason(exc)}",
                method=request.method,
                url=request.url,
                request_sent=_was_sent(exc),
            )
        return TransportError(
            f"HTTP request to {request.url} failed: {_reason(exc)}",
            method=request.method,
            url=request.url,
            should_retry=False,
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()


def _reason(exc: BaseException) -> str:
    # requests nests the real cause several levels deep; its repr can embed the URL only.
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    return f"{type(inner).__name__}: {inner}"[:300]


def _was_sent(exc: requests.exceptions.ConnectionError) -> bool:
    # Refused connections and failed name lookups prove the request never left; anything
    # else (a reset, a dropped connection) may have reached the server.
    inner: BaseException | None = exc
    while inner is not None:
        if isinstance(inner, ConnectionRefusedError | socket.gaierror):
            return False
        inner = inner.__cause__ or inner.__context__
        if inner is exc:
            break
    text = _reason(exc).lower()
    never_sent = ("connection refused", "name or service not known", "newconnectionerror")
    return not any(marker in text for marker in never_sent)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def send(
    transport: Transport,
    request: HttpRequest,
    *,
    timeout: Timeout,
    retry: RetryPolicy,
    idempotent: bool,
    check: Callable[[HttpResponse], T],
    what: str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Send ``request`` through the retry loop and return what ``check`` makes of the answer.

    ``check`` interprets the response and raises an ``IntacctSyncError`` whose ``should_retry``
    tells the loop whether to repeat (throttling, 5xx, a gateway busy signal).

    Args:
        transport: the transport to use.
        request: what to send (resent as is on each attempt).
        timeout: connect and read timeouts.
        retry: the retry policy.
        idempotent: whether repeating a request that may have reached the server is safe.
        check: turns a response into the caller's result or raises.
        what: description for logs (``intacct readByQuery GLACCOUNT``).
        sleep: injectable for tests.

    Returns:
        ``check``'s result for the first acceptable response.
    """
    # Whatever credentials the request carries are scrubbed by value from here on, wherever
    # the server (or our own messages) might echo them.
    register_request_secrets(request.headers, request.body)

    def attempt() -> T:
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                ">>> %s %s %s\n%s",
                request.method,
                request.url,
                scrub_headers(request.headers),
                scrub_body(request.body),
            )
        try:
            response = transport.send(request, timeout=timeout)
        except TransportError as exc:
            log.info("%s -> %s: %s", what, type(exc).__name__, exc)
            raise
        log.info("%s -> HTTP %d (%.3fs)", what, response.status, response.elapsed)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("<<< HTTP %d\n%s", response.status, scrub_body(response.body))
        return check(response)

    return call_with_retry(attempt, policy=retry, idempotent=idempotent, what=what, sleep=sleep)

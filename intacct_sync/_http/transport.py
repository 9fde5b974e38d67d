"""The only code that touches the network.

A :class:`Transport` sends one :class:`HttpRequest` and returns one :class:`HttpResponse`,
whatever its status; interpreting the answer is the protocol layer's job. Library exceptions
are mapped here to :class:`~intacct_sync.errors.TransportError`, so ``requests`` never leaks.
:func:`send` adds the retry loop and logging around any transport.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

import attrs
import requests  # noqa: TID251 - this is the one module allowed to

from intacct_sync import __about__
from intacct_sync._http.redact import scrub_body, scrub_headers
from intacct_sync._http.retry import RetryPolicy, call_with_retry
from intacct_sync.errors import RequestTimeout, TransportError

__all__ = [
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


@attrs.frozen
class Timeout:
    """Seconds to wait for a connection and for each read; never unbounded."""

    connect: float = 10.0
    read: float = 120.0


DEFAULT_TIMEOUT = Timeout()


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
        """Header value by case-insensitive name."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class Transport(Protocol):
    """Sends requests. Implement it to put intacct_sync on another HTTP stack or a fake."""

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        """Send ``request`` and return the answer; raise ``TransportError`` on network failure."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class RequestsTransport:
    """:class:`Transport` over a pooled ``requests.Session``."""

    def __init__(self, *, pool_size: int = 4) -> None:
        self._session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        """Send one request; map ``requests`` failures to :class:`TransportError`."""
        started = time.perf_counter()
        try:
            resp = self._session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                data=request.body,
                timeout=(timeout.connect, timeout.read),
                allow_redirects=False,
            )
            body = resp.content
        except requests.exceptions.ConnectTimeout as exc:
            raise TransportError(
                f"could not connect to {request.url} within {timeout.connect}s",
                method=request.method,
                url=request.url,
                request_sent=False,
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise RequestTimeout(
                f"no answer from {request.url} within {timeout.read}s",
                method=request.method,
                url=request.url,
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise TransportError(
                f"connection to {request.url} failed: {_reason(exc)}",
                method=request.method,
                url=request.url,
                request_sent=_was_sent(exc),
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise TransportError(
                f"HTTP request to {request.url} failed: {_reason(exc)}",
                method=request.method,
                url=request.url,
                should_retry=False,
            ) from exc
        return HttpResponse(
            status=resp.status_code,
            headers=dict(resp.headers),
            body=body,
            elapsed=time.perf_counter() - started,
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

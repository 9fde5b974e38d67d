"""The loopback HTTP server both emulators run on, and their switchable faults.

An emulator is an :class:`App`: it turns one :class:`Exchange` into a :class:`Reply`. The server
runs apps in threads on ``127.0.0.1`` (never another address) and applies :class:`Faults`, so
fault tests need no network and no mocks.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

import attrs

__all__ = ["App", "Exchange", "Faults", "LoopbackServer", "Reply"]


@attrs.frozen(kw_only=True)
class Exchange:
    """One request as an app sees it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        """Header by case-insensitive name."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default


@attrs.frozen(kw_only=True)
class Reply:
    """One answer. ``drop=True`` closes the connection without answering (after the app's work
    is done: the client cannot tell whether it happened).
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict)
    drop: bool = False


class App(Protocol):
    """An emulator behind the loopback server."""

    faults: Faults

    def handle(self, exchange: Exchange) -> Reply:
        """Answer one request."""
        ...


@attrs.define(kw_only=True)
class Faults:
    """Switchable misbehaviour, for tests. All rates are probabilities per request (0..1).

    Attributes:
        latency: seconds added before every answer (on top of the emulator's own work).
        answer_time: the least time an answer takes, the emulator's own work included (the
            rest is waited after the work): a server that answers in 300 ms, as a real one
            whose 300 ms include its own work, where ``latency`` would add the emulator's.
        throttle_rate: share of requests refused as throttled (the API's own throttling shape).
        busy_rate: share of requests refused as "too many operations" (Intacct) or lock
            contention (Salesforce ``UNABLE_TO_LOCK_ROW``).
        unavailable_rate: share of requests answered with HTTP 503.
        drop_after_commit_rate: share of *writes* whose connection is dropped after the write
            was committed, so the client never sees the answer.
        drop_before_rate: share of requests whose connection is dropped before any work.
        malformed_rate: share of answers replaced by a truncated or HTML body.
        seed: seed of the random generator that draws faults (deterministic tests).
    """

    latency: float = 0.0
    answer_time: float = 0.0
    throttle_rate: float = 0.0
    busy_rate: float = 0.0
    unavailable_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    drop_before_rate: float = 0.0
    malformed_rate: float = 0.0
    seed: int | None = None
    _rng: random.Random = attrs.field(factory=random.Random, init=False, repr=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._rng.seed(self.seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the fault draws from ``seed``.

        Args:
            seed: the new seed; None for an unseeded (non-repeatable) draw.
        """
        with self._lock:
            self.seed = seed
            self._rng.seed(seed)

    def draw(self, rate: float) -> bool:
        """True with probability ``rate`` (thread-safe).

        Args:
            rate: a probability, 0..1.

        Returns:
            Whether this request gets the fault.
        """
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def clear(self) -> None:
        """Switch every fault off."""
        self.latency = self.answer_time = 0.0
        self.throttle_rate = self.busy_rate = self.unavailable_rate = 0.0
        self.drop_after_commit_rate = self.drop_before_rate = self.malformed_rate = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY every answer on a kept-alive
    # connection waits for the client's delayed ACK (about 40 ms), which real APIs do not add.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        return  # the emulators keep their own request log; stderr stays quiet

    def _serve(self) -> None:
        received = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        app = self.server.app
        faults = app.faults
        if faults.latency:
            time.sleep(faults.latency)
        if faults.draw(faults.drop_before_rate):
            self._drop()
            return
        exchange = Exchange(
            method=self.command,
            path=self.path,
            headers={k: v for k, v in self.headers.items()},
            body=body,
        )
        reply = app.handle(exchange)
        if faults.answer_time:
            time.sleep(max(0.0, faults.answer_time - (time.monotonic() - received)))
        if reply.drop:
            self._drop()
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, app: App, port: int) -> None:
        self.app = app
        super().__init__(("127.0.0.1", port), _Handler)


class LoopbackServer:
    """Serves one app on ``127.0.0.1`` in a background thread.

    >>> server = LoopbackServer(app)  # doctest: +SKIP
    >>> server.start(); server.url  # doctest: +SKIP
    'http://127.0.0.1:54321'
    """

    def __init__(self, app: App, *, port: int = 0) -> None:
        self.app = app
        self._server = _Server(app, port)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LoopbackServer:
        """Start serving in a daemon thread."""
        # serve_forever notices shutdown() only between polls: at its default 0.5 s every stop
        # (three servers a sandbox, one sandbox per test) sat idle for up to half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"sandbox-{self.url}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

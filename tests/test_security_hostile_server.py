"""A hostile server against the real transport and the Intacct client (issue 13).

Every server here is a raw TCP listener on 127.0.0.1 that writes whatever bytes a case needs
(a lying session endpoint, a redirect, endless headers, a gzip bomb, a one-byte drip), so the
code under test is exactly what runs against a real tenant: ``requests``, urllib3, our
transport and the client. A second listener plays the foreign host and counts every connection
it accepts: the figure each case checks is that it accepted none, so no secret (the sender and
user passwords, the issued session id) ever reached a host that was not configured.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import secrets
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import pytest

from intacct_sync._http.retry import NO_RETRY
from intacct_sync._http.transport import HttpRequest, RequestsTransport, Timeout
from intacct_sync.errors import (
    ConfigError,
    DeadlineExceeded,
    IntacctSyncError,
    ProtocolError,
    ResponseTooLarge,
    TransportError,
    UnsafeUrlError,
)
from intacct_sync.intacct import IntacctClient
from intacct_sync.salesforce import SalesforceClient

MB = 1024 * 1024
PATH = "/ia/xml/xmlgw.phtml"
SENDER_PASSWORD = "sender-pw-" + secrets.token_hex(12)
USER_PASSWORD = "user-pw-" + secrets.token_hex(12)


@attrs.define
class Connection:
    request: bytes
    sock: socket.socket


Handler = Callable[[Connection], None]


class RawServer:
    """Accepts connections on 127.0.0.1, reads one request, lets a handler write raw bytes."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self.handlers: list[Handler] = []
        self.accepted = 0
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._one, args=(sock,), daemon=True).start()

    def _one(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        with sock:
            request = _read_request(sock)
            self.received.append(request)
            handler = self.handlers.pop(0) if self.handlers else _close
            # The client hanging up mid-answer is what several cases want.
            with contextlib.suppress(OSError):
                handler(Connection(request, sock))


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _close(conn: Connection) -> None:
    return None


def answer(body: bytes, *, status: str = "200 OK", headers: tuple[str, ...] = ()) -> Handler:
    def handle(conn: Connection) -> None:
        # One request per connection: say so, or the client reuses a socket we then close.
        head = [f"HTTP/1.1 {status}", "Connection: close", f"Content-Length: {len(body)}"]
        if not any(h.lower().startswith("content-type:") for h in headers):
            head.append("Content-Type: text/xml")
        head += list(headers)
        conn.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    return handle


def login_answer(session_id: str, endpoint: str) -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?><response><control><status>success</status>"
        "<senderid>s</senderid><controlid>x</controlid><uniqueid>false</uniqueid>"
        "<dtdversion>3.0</dtdversion></control><operation><authentication><status>success"
        "</status><userid>u</userid><companyid>c</companyid></authentication><result><status>"
        "success</status><function>getAPISession</function><controlid>sessionProvider"
        f"</controlid><data><api><sessionid>{session_id}</sessionid><endpoint>{endpoint}"
        "</endpoint><locationid/></api></data></result></operation></response>"
    ).encode()


@pytest.fixture
def gateway() -> Iterator[RawServer]:
    with RawServer() as server:
        yield server


@pytest.fixture
def foreign() -> Iterator[RawServer]:
    with RawServer() as server:
        yield server


def client(gateway: RawServer, timeout: Timeout | None = None) -> IntacctClient:
    return IntacctClient(
        sender_id="s",
        sender_password=SENDER_PASSWORD,
        company_id="c",
        user_id="u",
        user_password=USER_PASSWORD,
        endpoint_url=gateway.url,
        retry=NO_RETRY,
        timeout=timeout or Timeout(connect=2.0, read=2.0, total=5.0),
        typed=False,  # no lookup round trip: each case scripts every answer
    )


def assert_nothing_reached(foreign: RawServer, *secret_values: str) -> None:
    # Give a connection the client might have opened a moment to be counted.
    time.sleep(0.1)
    assert foreign.accepted == 0, "the foreign host was connected to"
    seen = b"".join(foreign.received)
    for value in (SENDER_PASSWORD, USER_PASSWORD, *secret_values):
        assert value.encode() not in seen


# -- session endpoints -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        # issue 13 item 1: urlsplit reads these as *.intacct.com; requests connects to 127.0.0.1
        "https://127.0.0.1:{foreign}\\@api.intacct.com/ia/xml/xmlgw.phtml",
        "https://127.0.0.1:{foreign}\\.intacct.com/ia/xml/xmlgw.phtml",
        "http://127.0.0.1:{foreign}/ia/xml/xmlgw.phtml",  # same host, another port
        "http://localhost:{foreign}/ia/xml/xmlgw.phtml",
        "http://user:pw@127.0.0.1:{gateway}/ia/xml/xmlgw.phtml",  # userinfo, even to us
        "http://api.intacct.com/ia/xml/xmlgw.phtml",  # intacct.com, but in clear
        "https://api.intacct.com:{foreign}/ia/xml/xmlgw.phtml",  # intacct.com, odd port
        "https://evil-intacct.com/ia/xml/xmlgw.phtml",
        "https://api.intacct.com.evil.test/ia/xml/xmlgw.phtml",
    ],
)
def test_a_lying_session_endpoint_gets_nothing(
    gateway: RawServer, foreign: RawServer, endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intacct_sync")
    session_id = "sess-" + secrets.token_hex(16)
    url = endpoint.format(foreign=foreign.port, gateway=gateway.port)
    gateway.handlers.append(answer(login_answer(session_id, url)))
    with client(gateway) as ia, pytest.raises(UnsafeUrlError, match="refusing") as info:
        ia.read_by_query("CLASS")
    assert isinstance(info.value, ProtocolError)  # what callers of the old check caught
    assert len(gateway.received) == 1  # the sign-in, to the configured host only
    assert_nothing_reached(foreign, session_id)
    for text in (str(info.value), repr(info.value), caplog.text):
        assert session_id not in text
        assert SENDER_PASSWORD not in text
        assert USER_PASSWORD not in text
    assert "pw@" not in str(info.value)  # userinfo is never echoed


def test_the_configured_gateway_and_intacct_pods_are_accepted(gateway: RawServer) -> None:
    session_id = "sess-" + secrets.token_hex(16)
    gateway.handlers.append(answer(login_answer(session_id, gateway.url)))
    empty = (
        b"<?xml version='1.0' encoding='UTF-8'?><response><control><status>success</status>"
        b"</control><operation><authentication><status>success</status></authentication>"
        b"<result><status>success</status><function>readByQuery</function><controlid>q"
        b"</controlid><data listtype='class' count='0' totalcount='0' numremaining='0'"
        b" resultId=''/></result></operation></response>"
    )
    gateway.handlers.append(answer(empty))
    with client(gateway) as ia:
        result = ia.read_by_query("CLASS", fields=["CLASSID"])
    assert len(result) == 0
    assert len(gateway.received) == 2
    assert session_id.encode() in gateway.received[1]  # the session went where it belongs


@pytest.mark.parametrize(
    "url",
    [
        "http://api.intacct.com/ia/xml/xmlgw.phtml",
        "https://api.intacct.com:8443/ia/xml/xmlgw.phtml",
        "https://user:secret@api.intacct.com/ia/xml/xmlgw.phtml",
        "https://api.intacct.com\\@evil.test/ia/xml/xmlgw.phtml",
    ],
)
def test_an_unsafe_configured_endpoint_is_refused_before_anything_is_sent(url: str) -> None:
    with pytest.raises(UnsafeUrlError) as info:
        IntacctClient(
            sender_id="s",
            sender_password=SENDER_PASSWORD,
            company_id="c",
            user_id="u",
            user_password=USER_PASSWORD,
            endpoint_url=url,
        )
    assert isinstance(info.value, ConfigError)
    assert "secret" not in str(info.value)


def _json(document: object) -> Handler:
    body = json.dumps(document).encode()
    return answer(body, headers=("Content-Type: application/json",))


@pytest.mark.parametrize(
    "locator",
    [
        "http://127.0.0.1:{foreign}/services/data/v62.0/query/01g-2000",
        "//127.0.0.1:{foreign}/services/data/v62.0/query/01g-2000",
        "http://127.0.0.1:{gateway}\\@127.0.0.1:{foreign}/services/data/v62.0/query/01g-2000",
    ],
)
def test_a_foreign_next_records_url_never_gets_the_token(
    gateway: RawServer, foreign: RawServer, locator: str, conformance: Path
) -> None:
    token = "00D5g000004XYZa!" + secrets.token_hex(24)
    url = locator.format(foreign=foreign.port, gateway=gateway.port)
    describe = json.loads(
        (conformance / "salesforce/describe_opportunity_excerpt.json").read_text()
    )
    record = {"attributes": {"type": "Opportunity"}, "Id": "006000000000001AAA"}
    gateway.handlers.append(_json(describe))  # the column types of the query
    gateway.handlers.append(
        _json({"totalSize": 2, "done": False, "nextRecordsUrl": url, "records": [record]})
    )
    instance = f"http://127.0.0.1:{gateway.port}"
    with (
        SalesforceClient(instance, access_token=token, retry=NO_RETRY) as sf,
        pytest.raises(UnsafeUrlError) as info,
    ):
        sf.query("SELECT Id FROM Opportunity")
    assert len(gateway.received) == 2
    assert_nothing_reached(foreign, token)
    assert token not in f"{info.value} {info.value!r}"


# -- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    ["301 Moved Permanently", "302 Found", "307 Temporary Redirect", "308 Permanent Redirect"],
)
def test_redirects_are_never_followed(gateway: RawServer, foreign: RawServer, status: str) -> None:
    gateway.handlers.append(
        answer(b"<html>moved</html>", status=status, headers=(f"Location: {foreign.url}",))
    )
    with client(gateway) as ia, pytest.raises(IntacctSyncError):
        ia.read_by_query("CLASS")
    assert len(gateway.received) == 1
    assert_nothing_reached(foreign)


def test_the_transport_returns_a_redirect_as_an_answer(
    gateway: RawServer, foreign: RawServer
) -> None:
    # requests would re-POST the body (passwords included) to the new host on a 307/308; the
    # transport must hand the 3xx back instead.
    gateway.handlers.append(
        answer(b"", status="307 Temporary Redirect", headers=(f"Location: {foreign.url}",))
    )
    transport = RequestsTransport()
    try:
        response = transport.send(
            HttpRequest(method="POST", url=gateway.url, body=SENDER_PASSWORD.encode()),
            timeout=Timeout(2, 2, 5),
        )
    finally:
        transport.close()
    assert response.status == 307
    assert_nothing_reached(foreign)


# -- what one answer may cost ----------------------------------------------------------------


def peak_growth(call: Callable[[], object]) -> tuple[int, BaseException | None]:
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        error: BaseException | None = None
        try:
            call()
        except IntacctSyncError as exc:
            error = exc
        return tracemalloc.get_traced_memory()[1] - base, error
    finally:
        tracemalloc.stop()


# issue 13 item 4: 408 KB of gzip that inflates to 470 MB. Concatenated gzip members (valid
# gzip, and quick to build) give the same ratio.
BOMB = gzip.compress(bytes(MB), compresslevel=9) * 470


def signed_in(gateway: RawServer) -> str:
    session_id = "sess-" + secrets.token_hex(16)
    gateway.handlers.append(answer(login_answer(session_id, gateway.url)))
    return session_id


def test_a_gzip_bomb_is_cut_early_under_the_default_limits(gateway: RawServer) -> None:
    assert len(BOMB) < 600_000
    signed_in(gateway)
    gateway.handlers.append(answer(BOMB, headers=("Content-Encoding: gzip",)))
    with client(gateway) as ia:
        ia._current_session()  # sign in outside the measurement
        growth, error = peak_growth(lambda: ia.read_by_query("CLASS"))
    assert isinstance(error, ResponseTooLarge)
    assert error.wire is not None and error.seen > error.wire * error.limit
    assert growth < 50 * MB, f"memory grew by {growth / MB:.0f} MB"


def test_a_large_very_compressible_real_answer_is_still_read_whole(gateway: RawServer) -> None:
    # A page of near-empty records compresses about 200 times: past the ratio floor, under the
    # ratio cap. The guard must never refuse an honest answer.
    record = "<GLENTRY><RECORDNO>{}</RECORDNO>" + "".join(f"<F{i}/>" for i in range(80))
    body = "".join(record.format(n) + "</GLENTRY>" for n in range(60_000)).encode()
    assert len(body) > 20 * MB
    packed = gzip.compress(body, compresslevel=6)
    assert len(body) / len(packed) > 100
    gateway.handlers.append(answer(packed, headers=("Content-Encoding: gzip",)))
    transport = RequestsTransport()
    try:
        response = transport.send(
            HttpRequest(method="POST", url=gateway.url, body=b"x"), timeout=Timeout(2, 5, 20)
        )
    finally:
        transport.close()
    assert response.body == body


def test_a_plain_body_over_the_cap_is_refused_with_the_figures(gateway: RawServer) -> None:
    gateway.handlers.append(answer(bytes(3 * MB)))
    gateway.handlers.append(_stream(bytes(3 * MB)))  # no Content-Length: counted as it comes
    transport = RequestsTransport(max_body_bytes=1 * MB)
    try:
        for _ in range(2):
            growth, error = peak_growth(
                lambda: transport.send(
                    HttpRequest(method="POST", url=gateway.url, body=b"x"), timeout=Timeout(2, 2, 5)
                )
            )
            assert isinstance(error, ResponseTooLarge)
            assert error.limit == 1 * MB
            assert error.seen > error.limit
            assert f"{error.limit:,}" in str(error)
            assert growth < 10 * MB
    finally:
        transport.close()


def _stream(body: bytes) -> Handler:
    def handle(conn: Connection) -> None:
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body)

    return handle


def _headers(lines: list[bytes]) -> Handler:
    def handle(conn: Connection) -> None:
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\n" + b"".join(lines) + b"\r\n")

    return handle


@pytest.mark.parametrize(
    "lines",
    [
        [b"X-Big: " + b"a" * 200_000 + b"\r\n"],  # one endless header line
        [f"X-H{i}: v\r\n".encode() for i in range(500)],  # too many headers
    ],
    ids=["long-line", "many-headers"],
)
def test_oversized_headers_are_a_typed_error(gateway: RawServer, lines: list[bytes]) -> None:
    signed_in(gateway)
    gateway.handlers.append(_headers(lines))
    with client(gateway) as ia:
        ia._current_session()
        growth, error = peak_growth(lambda: ia.read_by_query("CLASS"))
    assert isinstance(error, TransportError)
    assert growth < 50 * MB


def _drip(head: bytes, *, every: float = 0.5) -> Handler:
    def handle(conn: Connection) -> None:
        conn.sock.sendall(head)
        for _ in range(100):
            conn.sock.sendall(b"x")
            time.sleep(every)

    return handle


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",  # the body drips
        b"HTTP/1.1 200 OK\r\nX-Slow: ",  # the headers drip
    ],
    ids=["body", "headers"],
)
def test_a_dripping_server_is_cut_at_the_deadline(gateway: RawServer, head: bytes) -> None:
    signed_in(gateway)
    gateway.handlers.append(_drip(head))
    deadline = 1.2
    with client(gateway, Timeout(connect=2.0, read=2.0, total=deadline)) as ia:
        ia._current_session()
        started = time.perf_counter()
        with pytest.raises(DeadlineExceeded) as info:
            ia.read_by_query("CLASS")
        took = time.perf_counter() - started
    # Each byte came inside the read timeout: only the deadline could stop it.
    assert deadline <= took < deadline + 1.0
    assert info.value.deadline == deadline
    assert info.value.elapsed >= deadline
    assert f"{deadline}s" in str(info.value)


@pytest.mark.parametrize(
    "values",
    [
        {"connect": None, "read": None},
        {"connect": 10.0, "read": None},
        {"connect": 0, "read": 1.0},
        {"connect": 1.0, "read": float("inf")},
        {"connect": 1.0, "read": 1.0, "total": -1.0},
        {"connect": True, "read": 1.0},
    ],
)
def test_unbounded_timeouts_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="positive number of seconds"):
        Timeout(**values)  # type: ignore[arg-type]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="max_body_bytes"):
        RequestsTransport(max_body_bytes=0)
    with pytest.raises(ConfigError, match="max_expansion"):
        RequestsTransport(max_expansion=0)

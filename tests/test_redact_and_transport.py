"""Scrubbing, the retry loop, and the requests transport against a loopback HTTP server."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import attrs
import pytest

from intacct_sync._http import redact as _redact
from intacct_sync._http.retry import NO_RETRY, RetryPolicy, call_with_retry
from intacct_sync._http.transport import (
    HttpRequest,
    HttpResponse,
    RequestsTransport,
    Timeout,
    parse_retry_after,
    send,
)
from intacct_sync.errors import (
    ApiError,
    ControlError,
    InputError,
    IntacctSyncError,
    ProtocolError,
    RequestTimeout,
    TransportError,
)

# -- _redact ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        "password",
        "sessionid",
        "accountnumber",
        "cardnum",
        "ssn",
        "achaccountnumber",
        "wireaccountnumber",
        "taxid",
    ],
)
def test_xml_secret_elements_are_redacted(tag: str) -> None:
    text = f"<request><{tag}>s3cr3t-value</{tag}><other>keep</other></request>"
    scrubbed = _redact.scrub_text(text)
    assert "s3cr3t-value" not in scrubbed
    assert f"<{tag}>REDACTED</{tag}>" in scrubbed
    assert "<other>keep</other>" in scrubbed


def test_xml_scrub_keeps_ids_and_attributes_and_ignores_case() -> None:
    text = (
        "<login><userid>xml_user</userid><companyid>ACME</companyid>"
        '<password type="plain">p&amp;ss\nword</password><PASSWORD>UPPER</PASSWORD>'
        "<senderid>sender</senderid></login>"
    )
    scrubbed = _redact.scrub_xml(text)
    assert "p&amp;ss" not in scrubbed
    assert "UPPER" not in scrubbed
    assert '<password type="plain">REDACTED</password>' in scrubbed
    for visible in ("xml_user", "ACME", "sender"):
        assert visible in scrubbed


def test_xml_session_auth_in_a_whole_envelope() -> None:
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?><request><control><senderid>s</senderid>'
        "<password>sender-pw</password><controlid>c1</controlid></control><operation>"
        "<authentication><sessionid>abc123session..</sessionid></authentication>"
        "<content/></operation></request>"
    )
    scrubbed = _redact.scrub_body(envelope.encode())
    assert "sender-pw" not in scrubbed
    assert "abc123session" not in scrubbed
    assert "<controlid>c1</controlid>" in scrubbed


def test_json_secrets_are_redacted_at_any_depth() -> None:
    body = (
        '{"access_token": "00Dxx!AQ4AQ.token", "instance_url": "https://x.my.salesforce.com",'
        ' "nested": {"client_secret": "cs-1", "ok": 1},'
        ' "items": [{"refresh_token": "rt-1"}, {"id_token": "it-1"}]}'
    )
    scrubbed = _redact.scrub_text(body)
    for secret in ("00Dxx!AQ4AQ.token", "cs-1", "rt-1", "it-1"):
        assert secret not in scrubbed
    assert "https://x.my.salesforce.com" in scrubbed
    assert scrubbed.count("REDACTED") == 4


def test_invalid_json_falls_back_to_the_pair_regex() -> None:
    scrubbed = _redact.scrub_text('{"access_token": "tok-1", "client_secret": "cs-1", truncated')
    assert "tok-1" not in scrubbed
    assert "cs-1" not in scrubbed


def test_json_pairs_inside_free_text_are_redacted() -> None:
    scrubbed = _redact.scrub_text('token answer was {"access_token":"tok-2"} for user x')
    assert "tok-2" not in scrubbed


def test_scrub_mapping_does_not_touch_the_input() -> None:
    data = {"Password": "p", "keep": ["a", {"CODE": "c"}]}
    assert _redact.scrub_mapping(data) == {
        "Password": "REDACTED",
        "keep": ["a", {"CODE": "REDACTED"}],
    }
    assert data["Password"] == "p"


def test_form_bodies_are_redacted() -> None:
    body = (
        "grant_type=password&client_id=3MVG9&client_secret=cs-3&username=u%40example.test"
        "&password=pw-3&refresh_token=rt-3&assertion=eyJ.jwt.sig"
    )
    scrubbed = _redact.scrub_text(body)
    for secret in ("cs-3", "pw-3", "rt-3", "eyJ.jwt.sig"):
        assert secret not in scrubbed
    assert "client_id=3MVG9" in scrubbed
    assert "grant_type=password" in scrubbed


def test_authorization_and_cookie_headers_are_redacted() -> None:
    headers = {
        "Authorization": "Bearer 00D-token",
        "cookie": "sid=abc",
        "Set-Cookie": "sid=def",
        "X-SFDC-Session": "sess",
        "Content-Type": "application/json",
    }
    scrubbed = _redact.scrub_headers(headers)
    assert scrubbed == {
        "Authorization": "REDACTED",
        "cookie": "REDACTED",
        "Set-Cookie": "REDACTED",
        "X-SFDC-Session": "REDACTED",
        "Content-Type": "application/json",
    }
    assert headers["Authorization"] == "Bearer 00D-token"


@pytest.mark.parametrize(
    "text",
    [
        "GET /services/data with Authorization: Bearer 00Dxx0000001gPL!AR8AQJXg.token_value",
        "header was bearer abc.DEF-ghi_jkl~mno+pqr/stu=",
        "legacy OAuth 00Dxx!legacy.token",
    ],
)
def test_bearer_tokens_in_free_text_are_redacted(text: str) -> None:
    scrubbed = _redact.scrub_text(text)
    token = text.split()[-1]
    assert token not in scrubbed
    assert "REDACTED" in scrubbed


def test_pem_private_keys_are_redacted() -> None:
    text = (
        "loaded key\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
        "-----END PRIVATE KEY-----\nand an RSA one -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIB\n"
        "-----END RSA PRIVATE KEY----- done"
    )
    scrubbed = _redact.scrub_text(text)
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in scrubbed
    assert "MIIEpAIB" not in scrubbed
    assert scrubbed.startswith("loaded key\nREDACTED")
    assert scrubbed.endswith("REDACTED done")


def test_scrub_body_handles_none_bytes_and_bad_utf8() -> None:
    assert _redact.scrub_body(None) == ""
    assert _redact.scrub_body(b"<password>\xffpw</password>") == "<password>REDACTED</password>"


def test_every_conformance_request_sample_scrubs_its_passwords(conformance: Path) -> None:
    samples = sorted((conformance / "intacct").glob("req_*.xml"))
    assert samples, "no request samples found in ../shared/conformance/intacct"
    for sample in samples:
        scrubbed = _redact.scrub_body(sample.read_bytes())
        for tag in ("password", "sessionid"):
            for value in re.findall(rf"<{tag}>(.*?)</{tag}>", scrubbed, re.S):
                assert value == "REDACTED", f"{sample.name}: <{tag}> not redacted"


# -- _retry ----------------------------------------------------------------------------------


@attrs.define
class Script:
    """A call that fails with the given errors, in order, then returns "ok"."""

    errors: list[IntacctSyncError]
    calls: int = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def retryable(retry_after: float | None = None) -> ApiError:
    return ApiError("busy", should_retry=True, retry_after=retry_after)


def run(
    script: Callable[[], str],
    policy: RetryPolicy,
    *,
    idempotent: bool = True,
    rand: Callable[[], float] = lambda: 1.0,
) -> tuple[str, list[float]]:
    waits: list[float] = []
    result = call_with_retry(
        script,
        policy=policy,
        idempotent=idempotent,
        what="test call",
        sleep=waits.append,
        rand=rand,
    )
    return result, waits


def test_exponential_backoff_capped_at_max_delay() -> None:
    policy = RetryPolicy(max_retries=6, initial_delay=0.5, max_delay=4.0, jitter=False)
    script = Script([retryable() for _ in range(6)])
    result, waits = run(script, policy)
    assert result == "ok"
    assert script.calls == 7
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_full_jitter_scales_each_wait_by_rand() -> None:
    policy = RetryPolicy(max_retries=3, initial_delay=1.0, max_delay=30.0, jitter=True)
    draws = iter([0.5, 0.25, 0.0])
    _, waits = run(Script([retryable() for _ in range(3)]), policy, rand=lambda: next(draws))
    assert waits == [0.5, 0.5, 0.0]


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retries=3, initial_delay=0.5, max_delay=10.0, jitter=True)
    script = Script([retryable(retry_after=7.0), retryable(retry_after=0.1), retryable(60.0)])
    _, waits = run(script, policy, rand=lambda: 0.0)
    # At least what the server asked for, never more than max_delay.
    assert waits == [7.0, 0.1, 10.0]


def test_retry_after_never_shortens_the_backoff() -> None:
    policy = RetryPolicy(max_retries=1, initial_delay=2.0, max_delay=10.0, jitter=False)
    _, waits = run(Script([retryable(retry_after=0.5)]), policy)
    assert waits == [2.0]


def test_gives_up_after_max_retries_with_the_last_error() -> None:
    policy = RetryPolicy(max_retries=2, initial_delay=0.1, jitter=False)
    last = retryable()
    script = Script([retryable(), retryable(), last, retryable()])
    with pytest.raises(ApiError) as info:
        run(script, policy)
    assert info.value is last
    assert script.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        ApiError("refused", should_retry=False),
        ProtocolError("html page"),
        InputError("bad value", field="x"),
        TransportError("invalid url", should_retry=False, request_sent=False),
    ],
)
def test_non_retryable_errors_are_raised_at_once(error: IntacctSyncError) -> None:
    script = Script([error])
    with pytest.raises(type(error)) as info:
        run(script, RetryPolicy(max_retries=5))
    assert info.value is error
    assert script.calls == 1


def test_other_exceptions_are_not_caught() -> None:
    def boom() -> str:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run(boom, RetryPolicy(max_retries=5))


def test_no_retry_policy_never_repeats() -> None:
    script = Script([retryable()])
    with pytest.raises(ApiError):
        run(script, NO_RETRY)
    assert script.calls == 1


def test_non_idempotent_call_is_retried_when_the_request_was_never_sent() -> None:
    script = Script([TransportError("refused", request_sent=False)])
    result, waits = run(script, RetryPolicy(max_retries=2, jitter=False), idempotent=False)
    assert result == "ok"
    assert len(waits) == 1


@pytest.mark.parametrize(
    "error",
    [
        TransportError("connection reset", request_sent=True),
        RequestTimeout("no answer"),
        retryable(),
    ],
)
def test_non_idempotent_call_is_not_retried_once_the_request_may_have_arrived(
    error: IntacctSyncError,
) -> None:
    script = Script([error])
    with pytest.raises(type(error)):
        run(script, RetryPolicy(max_retries=5), idempotent=False)
    assert script.calls == 1


@pytest.mark.parametrize(
    "error",
    [
        ControlError("throttled", should_retry=True),  # the control block refused it whole
        ProtocolError("HTML page", http_status=429, should_retry=True),  # refused before processing
    ],
)
def test_non_idempotent_call_is_retried_when_the_answer_proves_nothing_ran(
    error: IntacctSyncError,
) -> None:
    # intacct-api.md §3: a control-level refusal runs no function; §13.7: GW-0010 is HTTP 429.
    script = Script([error])
    result, _ = run(script, RetryPolicy(max_retries=2, jitter=False), idempotent=False)
    assert result == "ok" and script.calls == 2


def test_non_idempotent_call_is_not_retried_after_a_refusal_that_does_not_say_nothing_ran() -> None:
    script = Script([ControlError("bad sender", should_retry=False)])
    with pytest.raises(ControlError):
        run(script, RetryPolicy(max_retries=5), idempotent=False)
    assert script.calls == 1


def test_idempotent_call_is_retried_after_a_timeout() -> None:
    script = Script([RequestTimeout("no answer")])
    result, _ = run(script, RetryPolicy(max_retries=1, jitter=False), idempotent=True)
    assert result == "ok"


def test_each_repeat_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="intacct_sync")
    run(Script([retryable(), retryable()]), RetryPolicy(max_retries=2, jitter=False))
    warnings = [r for r in caplog.records if r.name == "intacct_sync.retry"]
    assert len(warnings) == 2
    assert "retry 1/2" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("3", 3.0), (" 1.5 ", 1.5), ("-4", 0.0), ("soon", None)],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    seconds = parse_retry_after(future)
    assert seconds is not None
    assert 100 < seconds <= 120


# -- RequestsTransport against a loopback server -----------------------------------------------


@attrs.define
class Planned:
    status: int = 200
    body: bytes = b"<response/>"
    headers: dict[str, str] = attrs.Factory(dict)
    hang: bool = False


@attrs.define
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackHttp:
    """A stdlib HTTP server on 127.0.0.1 answering from a plan; records what it received."""

    def __init__(self) -> None:
        self.plan: list[Planned] = []
        self.received: list[Received] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                outer.received.append(Received("POST", self.path, dict(self.headers), body))
                answer = outer.plan.pop(0) if outer.plan else Planned()
                if answer.hang:
                    outer.release.wait(5)
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # A short poll interval keeps shutdown() (and so each test's teardown) fast.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/ia/xml/xmlgw.phtml"

    def __enter__(self) -> LoopbackHttp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def server() -> Iterator[LoopbackHttp]:
    with LoopbackHttp() as running:
        yield running


@pytest.fixture
def transport() -> Iterator[RequestsTransport]:
    t = RequestsTransport()
    yield t
    t.close()


FAST = Timeout(connect=2.0, read=2.0)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_sends_the_request_and_returns_the_answer(
    server: LoopbackHttp, transport: RequestsTransport
) -> None:
    server.plan.append(Planned(body=b"<response>ok</response>", headers={"X-Test": "1"}))
    request = HttpRequest(
        method="POST",
        url=server.url,
        headers={"Content-Type": "application/xml"},
        body=b"<request/>",
    )
    response = transport.send(request, timeout=FAST)
    assert response.status == 200
    assert response.body == b"<response>ok</response>"
    assert response.header("x-test") == "1"
    assert response.elapsed >= 0
    [received] = server.received
    assert received.path == "/ia/xml/xmlgw.phtml"
    assert received.body == b"<request/>"
    assert received.headers["Content-Type"] == "application/xml"


@pytest.mark.parametrize("status", [301, 400, 429, 500, 503])
def test_non_2xx_answers_are_returned_not_raised(
    server: LoopbackHttp, transport: RequestsTransport, status: int
) -> None:
    server.plan.append(
        Planned(
            status=status, body=b"<html>busy</html>", headers={"Retry-After": "7", "Location": "/x"}
        )
    )
    response = transport.send(HttpRequest(method="POST", url=server.url, body=b"x"), timeout=FAST)
    assert response.status == status
    assert response.body == b"<html>busy</html>"
    assert parse_retry_after(response.header("Retry-After")) == 7.0
    assert len(server.received) == 1  # redirects are not followed


def test_refused_connection_is_a_transport_error_never_sent(transport: RequestsTransport) -> None:
    url = f"http://127.0.0.1:{free_port()}/ia/xml/xmlgw.phtml"
    with pytest.raises(TransportError) as info:
        transport.send(HttpRequest(method="POST", url=url, body=b"<request/>"), timeout=FAST)
    error = info.value
    assert type(error) is TransportError
    assert error.request_sent is False
    assert error.should_retry is True
    assert error.method == "POST"
    assert error.url == url
    assert "<request/>" not in str(error)


def test_read_timeout_is_a_request_timeout(
    server: LoopbackHttp, transport: RequestsTransport
) -> None:
    server.plan.append(Planned(hang=True))
    with pytest.raises(RequestTimeout) as info:
        transport.send(
            HttpRequest(method="POST", url=server.url, body=b"<request/>"),
            timeout=Timeout(connect=2.0, read=0.2),
        )
    assert info.value.request_sent is True
    assert info.value.should_retry is True
    assert "0.2s" in str(info.value)


# -- send(): retries and logging ----------------------------------------------------------------

SECRET_BODY = (
    b"<request><control><senderid>sender</senderid><password>sender-pw-XYZ</password></control>"
    b"<operation><authentication><login><userid>u</userid><companyid>C</companyid>"
    b"<password>user-pw-XYZ</password></login></authentication>"
    b"<content><note>Authorization: Bearer tok.IN.BODY-XYZ</note></content></operation></request>"
)
SECRETS = ("sender-pw-XYZ", "user-pw-XYZ", "tok.IN.BODY-XYZ", "tok.IN.HEADER-XYZ", "sess-XYZ")


def check_status(response: HttpResponse) -> bytes:
    if response.status >= 500:
        raise ApiError(f"HTTP {response.status}", http_status=response.status, should_retry=True)
    return response.body


def test_send_logs_one_info_line_per_attempt(
    server: LoopbackHttp, transport: RequestsTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intacct_sync")
    server.plan += [Planned(status=503, body=b"busy"), Planned(status=200, body=b"<response/>")]
    waits: list[float] = []
    result = send(
        transport,
        HttpRequest(method="POST", url=server.url, body=SECRET_BODY),
        timeout=FAST,
        retry=RetryPolicy(max_retries=3, initial_delay=0.01, jitter=False),
        idempotent=True,
        check=check_status,
        what="intacct readByQuery GLACCOUNT",
        sleep=waits.append,
    )
    assert result == b"<response/>"
    assert len(server.received) == 2
    assert waits == [0.01]
    info = [
        r for r in caplog.records if r.name == "intacct_sync.http" and r.levelno == logging.INFO
    ]
    assert [r.getMessage().split(" (")[0] for r in info] == [
        "intacct readByQuery GLACCOUNT -> HTTP 503",
        "intacct readByQuery GLACCOUNT -> HTTP 200",
    ]
    # No body at INFO.
    assert not any(r.levelno == logging.DEBUG for r in caplog.records)
    assert "<request>" not in caplog.text


def test_send_logs_scrubbed_bodies_at_debug(
    server: LoopbackHttp, transport: RequestsTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intacct_sync")
    server.plan.append(
        Planned(body=b"<response><api><sessionid>sess-XYZ</sessionid></api></response>")
    )
    request = HttpRequest(
        method="POST",
        url=server.url,
        headers={"Authorization": "Bearer tok.IN.HEADER-XYZ", "Content-Type": "application/xml"},
        body=SECRET_BODY,
    )
    send(
        transport,
        request,
        timeout=FAST,
        retry=NO_RETRY,
        idempotent=False,
        check=check_status,
        what="intacct getAPISession",
    )
    # The server got the real secrets; the log got none of them.
    assert b"sender-pw-XYZ" in server.received[0].body
    text = caplog.text
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 2  # the request and the answer
    assert "<password>REDACTED</password>" in text
    assert "<sessionid>REDACTED</sessionid>" in text
    assert "<userid>u</userid>" in text
    for secret in SECRETS:
        assert secret not in text
        for record in caplog.records:
            assert secret not in record.getMessage()


def test_send_gives_up_with_the_transport_error(
    transport: RequestsTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="intacct_sync")
    url = f"http://127.0.0.1:{free_port()}/ia/xml/xmlgw.phtml"
    waits: list[float] = []
    with pytest.raises(TransportError) as info:
        send(
            transport,
            HttpRequest(method="POST", url=url, body=SECRET_BODY),
            timeout=FAST,
            retry=RetryPolicy(max_retries=2, initial_delay=0.01, jitter=False),
            idempotent=False,  # still repeated: a refused connection was never sent
            check=check_status,
            what="intacct create",
            sleep=waits.append,
        )
    assert info.value.request_sent is False
    assert waits == [0.01, 0.02]
    for secret in SECRETS:
        assert secret not in caplog.text

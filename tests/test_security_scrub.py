"""No issued secret in any string the library lets out, whatever the server sends (issue 13).

Two properties, each over every path a body's text takes on its way out: the message of an
error made from it (``str``, ``repr``, ``.args``), the Intacct and Salesforce parsers' errors,
the transport's DEBUG log, and the cassette scrubber.

1. **Truncated answers.** A legitimate answer holding a secret (a session id, an access token,
   a private key), cut at every position: not a single run of 6 characters of the secret
   appears. This is the shape rule working without a closing quote or tag.
2. **Hostile answers.** A server that echoes a secret the client holds (a password it was
   sent) in any escaping, inside arbitrary text, cut anywhere: no run of 16 characters of it
   appears. This is the by-value rule, which the clients arm with ``register_secret``.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intacct_sync._http import redact
from intacct_sync._http.retry import NO_RETRY
from intacct_sync._http.transport import HttpRequest, HttpResponse, Timeout, send
from intacct_sync.errors import IntacctSyncError, ProtocolError
from intacct_sync.intacct._protocol import parse_response
from intacct_sync.salesforce.auth import parse_token_response


def _fresh(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


# Never registered: property 1 must hold on shape alone.
SESSION = _fresh("S")
ACCESS = "00D5g000004XYZa!" + _fresh("AQ")
REFRESH = _fresh("5Aep")
KEY_BODY = _fresh("MIIEv")
# Registered, as a client registers the passwords it holds.
PASSWORD = _fresh("pw-")
redact.register_secret(PASSWORD)

TRUNCATED = {
    "intacct session": (
        f"<response><api><sessionid>{SESSION}</sessionid><endpoint>https://x.intacct.com/"
        "</endpoint></api></response>",
        SESSION,
    ),
    "intacct session, upper case and attributes": (
        f'<SessionId kind="x">{SESSION}</SessionId>',
        SESSION,
    ),
    "salesforce token": (
        f'{{"access_token": "{ACCESS}", "instance_url": "https://x.my.salesforce.com", '
        f'"refresh_token":"{REFRESH}"}}',
        ACCESS,
    ),
    "salesforce refresh token": (f'{{"refresh_token" :  "{REFRESH}", "x": 1}}', REFRESH),
    "token in a form body": (f"grant_type=refresh_token&refresh_token={REFRESH}&x=1", REFRESH),
    "bearer header echoed": (f"Authorization: Bearer {ACCESS} and more", ACCESS),
    "private key": (
        f"key: -----BEGIN PRIVATE KEY-----\n{KEY_BODY}\n-----END PRIVATE KEY-----",
        KEY_BODY,
    ),
}


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[Collect]:
    handler = Collect()
    logger = logging.getLogger("intacct_sync")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


class Answer:
    """A transport that answers every request with one body."""

    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body, self.status = body, status

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        return HttpResponse(status=self.status, body=self.body)

    def close(self) -> None:
        pass


def outputs(body: str, log: Collect) -> list[str]:
    """Every string the library makes of ``body`` on its way out."""
    raw = body.encode()
    shown: list[str] = []
    errors: list[BaseException] = [IntacctSyncError(f"unexpected answer: {body!r}")]
    errors.append(ProtocolError(f"got {body[:120]!r}", raw=raw))
    for parse in (
        lambda: parse_response(raw, http_status=200),
        lambda: parse_token_response(HttpResponse(status=200, body=raw)),
        lambda: parse_token_response(HttpResponse(status=400, body=raw)),
    ):
        try:
            parse()
        except IntacctSyncError as exc:
            errors.append(exc)
    for status in (200, 500):
        try:
            send(
                Answer(raw, status),
                HttpRequest(method="POST", url="https://api.intacct.com/x", body=raw),
                timeout=Timeout(),
                retry=NO_RETRY,
                idempotent=True,
                check=lambda r: parse_response(r.body, http_status=r.status),
                what="intacct test",
            )
        except IntacctSyncError as exc:
            errors.append(exc)
    for error in errors:
        shown += [str(error), repr(error), repr(error.args)]
    shown.append(redact.scrub_body(raw))  # what a cassette records
    shown += log.lines
    log.lines.clear()
    return shown


def leaked_runs(secret: str, texts: list[str], run: int) -> list[str]:
    pieces = {secret[i : i + run] for i in range(len(secret) - run + 1)}
    return sorted({p for p in pieces for t in texts if p in t})


@pytest.mark.parametrize("name", sorted(TRUNCATED))
def test_a_body_cut_at_every_position_leaks_no_part_of_the_secret(
    name: str, debug_log: Collect
) -> None:
    body, secret = TRUNCATED[name]
    for cut in range(len(body) + 1):
        texts = outputs(body[:cut], debug_log)
        assert not leaked_runs(secret, texts, 6), f"{name} cut at {cut}: {texts}"


def _escaped(secret: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            secret,
            json.dumps(secret)[1:-1],
            repr(secret)[1:-1],
            html.escape(secret),
            quote(secret, safe=""),
            quote_plus(secret),
        ]
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=st.text(max_size=60),
    after=st.text(max_size=60),
    form=_escaped(PASSWORD),
    wrapper=st.sampled_from(
        ["{}", "<error><description>{}</description></error>", '{{"message": "{}"}}', "x={}"]
    ),
    cut=st.integers(min_value=0, max_value=400),
)
def test_a_hostile_echo_of_a_held_secret_never_gets_out(
    before: str, after: str, form: str, wrapper: str, cut: int
) -> None:
    body = (before + wrapper.format(form) + after)[: max(cut, len(before) + 16 + 12)]
    # Held = in use: a client registers the credentials of every request it sends again.
    redact.register_secret(PASSWORD)
    log = Collect()
    logger = logging.getLogger("intacct_sync")
    logger.addHandler(log)
    old = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        texts = outputs(body, log)
    finally:
        logger.removeHandler(log)
        logger.setLevel(old)
    assert not leaked_runs(PASSWORD, texts, 16)


def test_secrets_are_scrubbed_from_records_of_every_library_logger(debug_log: Collect) -> None:
    # A module logger made after the first registration is covered by the next one.
    late = logging.getLogger("intacct_sync.some.late.module")
    token = _fresh("late-token-")
    redact.register_secret(token)
    late.info("answer was %s", {"note": f"token {token} here"})
    assert debug_log.lines
    assert token not in "\n".join(debug_log.lines)
    assert redact.REDACTED in debug_log.lines[-1]


def test_short_values_are_not_registered() -> None:
    redact.register_secret("1000")
    assert redact.scrub_message("account 1000") == "account 1000"


@pytest.mark.parametrize(
    "text",
    [
        "readByQuery GLACCOUNT -> HTTP 200 (0.120s); errorcode=BL01001973 code review",
        "missing Intacct credential(s): sender_password (argument sender_password=, variable "
        "INTACCT_SENDER_PASSWORD)",
        "field 'Password__c' is required; <password/> was empty",
    ],
)
def test_scrubbing_keeps_ordinary_text_unchanged(text: str) -> None:
    assert redact.scrub_message(text) == text


def test_credentials_a_request_carries_are_scrubbed_from_what_comes_back() -> None:
    token = "00D5g000004XYZa!" + _fresh("AR")
    session = _fresh("sess")
    secret = _fresh("cs-")
    echoed = f"unexpected: token {token}, session {session}, secret {secret}"
    for headers, body in (
        ({"Authorization": f"Bearer {token}"}, None),
        ({}, f"<request><sessionid>{session}</sessionid></request>".encode()),
        ({}, f"grant_type=client_credentials&client_id=x&client_secret={secret}".encode()),
    ):
        send(
            Answer(b"<response/>"),
            HttpRequest(method="POST", url="https://api.intacct.com/x", headers=headers, body=body),
            timeout=Timeout(),
            retry=NO_RETRY,
            idempotent=True,
            check=lambda r: r,
            what="test",
        )
    error = ProtocolError(echoed)
    for value in (token, session, secret):
        assert value not in str(error)


def test_a_secret_still_in_use_is_never_the_one_forgotten_when_the_register_is_full() -> None:
    held = _fresh("held-")
    redact.register_secret(held)
    for _ in range(600):  # more than the register keeps; the held one is sent again meanwhile
        redact.register_secret(_fresh("other-"))
        redact.register_secret(held)
    assert held not in redact.scrub_text(f"echo {held}")

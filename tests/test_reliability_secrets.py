"""No secret leaks: a full demo at DEBUG with cassettes recorded, reprs, and failing calls.

Builds on tests/test_intacct_cassettes.py and tests/test_notebooks.py (the committed cassettes
and notebooks hold no secret): here the secrets are the ones a live run actually *issues* (the
gateway's session ids, the org's access and refresh tokens, the signed JWT assertions),
captured at the emulators, and every output a user may paste into a ticket is searched for them
and for the fixed credentials: the log at DEBUG, a cassette recorded with ``record_mode="all"``,
the demo's stdout, reprs of clients and credentials, and the text of exceptions.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from intacct_sync import cli, sandbox
from intacct_sync.errors import AuthenticationError, ControlError, IntacctSyncError
from intacct_sync.intacct import IntacctClient
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.sandbox.intacct import gateway as gw
from intacct_sync.sandbox.intacct.rest import API_PATH
from intacct_sync.sandbox.salesforce import api as sfa
from intacct_sync.sandbox.salesforce import auth as salesforce_auth
from intacct_sync.testing import cassette

FIXED = {
    "sender password": gw.SENDER_PASSWORD,
    "user password": gw.USER_PASSWORD,
    "client secret": sfa.CLIENT_SECRET,
    "refresh token": salesforce_auth.REFRESH_TOKEN,
}
# Any one line of the key's base64 body is enough to call it leaked (PEM may be re-wrapped or
# JSON-escaped, so the whole block would be too strict a needle).
KEY_LINES = [
    line
    for line in sfa.JWT_PRIVATE_KEY_PEM.splitlines()
    if len(line) >= 40 and not line.startswith("-----")
]
WRONG_PASSWORD = "wrong-password-7f3a9c"
INTACCT_HOST = "http://intacct.sandbox.test"
SALESFORCE_HOST = "http://salesforce.sandbox.test"


class Issued:
    """Every credential the emulators hand out while a test runs."""

    def __init__(self, sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sessions: list[str] = []
        self.tokens: list[str] = []
        self.assertions: list[str] = []
        new_session = sb.intacct._new_session
        issue = sb.salesforce.auth._issue
        check_jwt = sb.salesforce.auth._check_jwt

        def record_session(*args: Any, **kwargs: Any) -> Any:
            session_id, session = new_session(*args, **kwargs)
            self.sessions.append(session_id)
            return session_id, session

        def record_token(*args: Any, **kwargs: Any) -> dict[str, Any]:
            body = issue(*args, **kwargs)
            self.tokens.append(body["access_token"])
            if "refresh_token" in body:
                self.tokens.append(body["refresh_token"])
            return body

        def record_assertion(assertion: str) -> None:
            self.assertions.append(assertion)
            check_jwt(assertion)

        monkeypatch.setattr(sb.intacct, "_new_session", record_session)
        monkeypatch.setattr(sb.salesforce.auth, "_issue", record_token)
        monkeypatch.setattr(sb.salesforce.auth, "_check_jwt", record_assertion)

    def needles(self) -> dict[str, str]:
        found: dict[str, str] = dict(FIXED)
        found.update({f"private key line {i}": line for i, line in enumerate(KEY_LINES)})
        found["wrong password"] = WRONG_PASSWORD
        for i, session in enumerate(self.sessions):
            found[f"session {i}"] = session
            found[f"session {i} (no suffix)"] = session.rstrip(".")
        for i, token in enumerate(self.tokens):
            found[f"token {i}"] = token
            # the part after the org prefix is the secret part
            found[f"token {i} tail"] = token.split("!", 1)[-1]
        for i, assertion in enumerate(self.assertions):
            found[f"jwt {i} signature"] = assertion.rsplit(".", 1)[-1]
        return found


def assert_no_secret(where: str, text: str, needles: dict[str, str]) -> None:
    leaked = sorted(name for name, secret in needles.items() if secret and secret in text)
    assert not leaked, f"{where} leaks: {leaked}"


@pytest.fixture
def sb(monkeypatch: pytest.MonkeyPatch) -> Iterator[sandbox.Sandbox]:
    with sandbox.running() as running:
        yield running


def _intacct(sb: sandbox.Sandbox, **credentials: str) -> IntacctClient:
    settings: dict[str, Any] = {
        "sender_id": gw.SENDER_ID,
        "sender_password": gw.SENDER_PASSWORD,
        "company_id": sandbox.COMPANIES["nonprofit"],
        "user_id": gw.USER_ID,
        "user_password": gw.USER_PASSWORD,
        "endpoint_url": sb.intacct_url,
    }
    return IntacctClient(**(settings | credentials))


def _expect_error(call: Callable[[], object]) -> IntacctSyncError:
    with pytest.raises(IntacctSyncError) as caught:
        call()
    return caught.value


def test_a_demo_run_at_debug_with_a_cassette_leaks_no_secret(
    sb: sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    issued = Issued(sb, monkeypatch)

    # The demo starts a sandbox of its own; give it this one, whose credentials we watch.
    class _Running:
        def __enter__(self) -> sandbox.Sandbox:
            return sb

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(sandbox, "running", lambda **kwargs: _Running())
    caplog.set_level(logging.DEBUG)
    out = io.StringIO()
    hosts = {
        sb.intacct_url.removesuffix(gw.ENDPOINT_PATH): INTACCT_HOST,
        # the demo's REST block: the Intacct REST API on its own loopback port
        sb.intacct_rest_url.removesuffix(API_PATH): INTACCT_HOST,
        sb.salesforce_url: SALESFORCE_HOST,
    }
    path = tmp_path / "demo.yaml"
    with cassette(path, record_mode="all", hosts=hosts) as recorded:
        assert cli.main(["demo"], out=out) == 0
        # The flows the demo does not use, so their secrets are in the log and cassette too.
        with SalesforceClient.jwt_bearer(
            instance_url=sb.salesforce_url,
            client_id=sfa.CLIENT_ID,
            username=salesforce_auth.USERNAME,
            private_key=sfa.JWT_PRIVATE_KEY_PEM,
        ) as jwt_client:
            assert len(jwt_client.query("SELECT Id FROM Account LIMIT 2")) == 2
        with SalesforceClient.refresh_token_flow(
            instance_url=sb.salesforce_url,
            client_id=sfa.CLIENT_ID,
            client_secret=sfa.CLIENT_SECRET,
            refresh_token=salesforce_auth.REFRESH_TOKEN,
        ) as refresh_client:
            assert len(refresh_client.query("SELECT Id FROM Account LIMIT 2")) == 2
        assert len(recorded) > 10
    needles = issued.needles()
    # The capture worked: the run did sign in and was granted tokens, including by JWT.
    assert issued.sessions and len(issued.tokens) >= 3 and issued.assertions
    ours = "\n".join(
        caplog.handler.format(r) for r in caplog.records if r.name.startswith("intacct_sync")
    )
    assert ">>> POST" in ours and "<<< HTTP 200" in ours  # bodies were logged
    assert_no_secret("intacct_sync's DEBUG log", ours, needles)
    text = path.read_text()
    assert INTACCT_HOST in text and SALESFORCE_HOST in text
    assert not re.search(r"127\.0\.0\.1:\d+", text), "a loopback host was not rewritten"
    assert_no_secret("the cassette", text, needles)
    assert "Chart of accounts" in out.getvalue()
    assert_no_secret("the demo's stdout", out.getvalue(), needles)


def test_recording_a_cassette_at_info_logs_no_secret(
    sb: sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    issued = Issued(sb, monkeypatch)
    caplog.set_level(logging.INFO)
    with cassette(tmp_path / "read.yaml", record_mode="all"), sb.intacct_client() as ia:
        ia.read_by_name("GLACCOUNT", ["1000"])
    assert issued.sessions
    assert_no_secret("the INFO log (all loggers)", caplog.text, issued.needles())


def test_reprs_of_clients_and_credentials_leak_no_secret(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = Issued(sb, monkeypatch)
    ia = sb.intacct_client()
    ia.read_by_name("GLACCOUNT", ["1000"])
    sf = sb.salesforce_client()
    sf.query("SELECT Id FROM Account LIMIT 1")
    jwt_client = SalesforceClient.jwt_bearer(
        instance_url=sb.salesforce_url,
        client_id=sfa.CLIENT_ID,
        username=salesforce_auth.USERNAME,
        private_key=sfa.JWT_PRIVATE_KEY_PEM,
    )
    jwt_client.query("SELECT Id FROM Account LIMIT 1")
    needles = issued.needles()
    assert issued.sessions and len(issued.tokens) >= 2
    shown = [
        repr(ia),
        str(ia),
        repr(ia.credentials),
        str(ia.credentials),
        repr(ia._session),
        repr(sf),
        repr(sf._auth),
        repr(jwt_client),
        repr(jwt_client._auth),
    ]
    for text in shown:
        assert_no_secret(f"repr {text[:40]!r}", text, needles)
    for client in (ia, sf, jwt_client):
        client.close()


def test_failing_calls_raise_errors_whose_text_holds_no_secret(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = Issued(sb, monkeypatch)
    errors: list[IntacctSyncError] = []
    # Intacct: a wrong user password, a wrong sender password.
    bad_user = _intacct(sb, user_password=WRONG_PASSWORD)
    errors.append(_expect_error(lambda: bad_user.read_by_name("GLACCOUNT", ["1000"])))
    assert isinstance(errors[-1], AuthenticationError)
    bad_sender = _intacct(sb, sender_password=WRONG_PASSWORD)
    errors.append(_expect_error(lambda: bad_sender.read_by_name("GLACCOUNT", ["1000"])))
    assert isinstance(errors[-1], ControlError)
    # Intacct: a session that expires, then a sign-in that fails (the password was rotated).
    ia = sb.intacct_client()
    ia.read_by_name("GLACCOUNT", ["1000"])
    sb.intacct.expire_sessions()
    with monkeypatch.context() as patched:
        patched.setattr(gw, "USER_PASSWORD", "rotated-" + WRONG_PASSWORD)
        errors.append(_expect_error(lambda: ia.read_by_name("GLACCOUNT", ["1000"])))
    assert isinstance(errors[-1], AuthenticationError)
    assert len(issued.sessions) == 1  # the expired one, which the error must not show
    # Salesforce: a wrong client secret; an expired token with no way to renew it.
    bad_secret = SalesforceClient.client_credentials(
        instance_url=sb.salesforce_url, client_id=sfa.CLIENT_ID, client_secret=WRONG_PASSWORD
    )
    errors.append(_expect_error(lambda: bad_secret.query("SELECT Id FROM Account")))
    token = sb.salesforce.issue_token()
    fixed = SalesforceClient(sb.salesforce_url, access_token=token)
    fixed.query("SELECT Id FROM Account LIMIT 1")
    sb.salesforce.expire_tokens()
    errors.append(_expect_error(lambda: fixed.query("SELECT Id FROM Account LIMIT 1")))
    assert errors[-1].http_status == 401
    needles = issued.needles()
    assert token in needles.values()
    for error in errors:
        assert_no_secret(f"str({type(error).__name__})", str(error), needles)
        assert_no_secret(f"repr({type(error).__name__})", repr(error), needles)
        assert_no_secret(f"args of {type(error).__name__}", repr(error.args), needles)
    for client in (bad_user, bad_sender, ia, bad_secret, fixed):
        client.close()

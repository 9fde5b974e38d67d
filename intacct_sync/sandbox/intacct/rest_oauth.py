"""The OAuth 2.0 endpoints of the sandbox's Intacct REST API (reference
``intacct-rest-api.md`` §2): ``GET /oauth2/authorize`` and ``POST /oauth2/token`` with the
authorization-code (PKCE checked when a challenge was sent), client-credentials and
refresh-token grants. Refresh tokens rotate on every use; the old one stops working.

What the sheet leaves open is synthetic here (see ``docs/sandbox-coverage.md``): consent is
automatic (the sandbox user of :attr:`OAuthServer.consent_company`), loopback ``http://``
redirect URIs are accepted, and error bodies use the bare ``error`` shape seen for token errors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs

from intacct_sync.sandbox._http import Exchange, Reply

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "Grant", "OAuthServer"]

CLIENT_ID = "intacct_sync_rest_sandbox"
CLIENT_SECRET = "sandbox-rest-client-secret"


@attrs.define(kw_only=True)
class Grant:
    """Who a token speaks for."""

    company: str
    user: str
    entity: str
    expires: float = 0.0


@attrs.define(kw_only=True)
class _Code:
    grant: Grant
    redirect_uri: str
    challenge: str
    method: str
    expires: float


def _error(status: int, code: str, message: str, error_id: str) -> Reply:
    # §6.2: token errors arrive as a bare ``error`` object (tokenInvalid / REST-2102).
    body = {"error": {"code": code, "message": message, "errorId": error_id}}
    return Reply(status=status, body=json.dumps(body).encode())


class OAuthServer:
    """Token issuing and checking for the REST front-end.

    Args:
        companies: company id as typed (any case) -> the stored company id.
        user_id: the one sandbox user.

    Attributes:
        token_ttl: access-token lifetime (``expires_in``; 12 h as peers observe, §2.2).
        consent_company: the company the automatic consent signs in to.
    """

    def __init__(self, companies: Mapping[str, str], user_id: str) -> None:
        self._companies = {k.upper(): v for k, v in companies.items()}
        self._user = user_id
        self.token_ttl = 43200.0
        self.consent_company = next(iter(self._companies.values()))
        self._lock = threading.Lock()
        self._access: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}
        self._codes: dict[str, _Code] = {}
        self.issued = 0

    def expire_tokens(self) -> None:
        """Expire every access token (the next call with one gets 401)."""
        with self._lock:
            for grant in self._access.values():
                grant.expires = 0.0

    def bearer(self, exchange: Exchange) -> Grant | None:
        """The grant of the request's bearer token, or None when missing, unknown or expired."""
        header = exchange.header("Authorization")
        if not header.startswith("Bearer "):
            return None
        with self._lock:
            grant = self._access.get(header[7:].strip())
        if grant is None or grant.expires < time.time():
            return None
        return grant

    def authorize(self, exchange: Exchange) -> Reply:
        """Consent automatically and redirect to ``redirect_uri`` with ``code`` and ``state``."""
        params = {k: v[0] for k, v in parse_qs(urlsplit(exchange.path).query).items()}
        if params.get("client_id") != CLIENT_ID or params.get("response_type") != "code":
            return _error(400, "invalidRequest", "Unknown client or response_type", "REST-2001")
        redirect = params.get("redirect_uri", "")
        if urlsplit(redirect).hostname not in ("127.0.0.1", "localhost"):
            return _error(400, "invalidRequest", "redirect_uri is not registered", "REST-2002")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                grant=Grant(company=self.consent_company, user=self._user, entity=""),
                redirect_uri=redirect,
                challenge=params.get("code_challenge", ""),
                method=params.get("code_challenge_method", "plain"),
                expires=time.time() + 600,
            )
        query = {"code": code}
        if "state" in params:
            query["state"] = params["state"]
        location = f"{redirect}{'&' if '?' in redirect else '?'}{urlencode(query)}"
        return Reply(status=302, headers={"Location": location}, content_type="text/plain")

    def token(self, exchange: Exchange) -> Reply:
        """``POST /oauth2/token`` (form-encoded per Sage's sample; JSON accepted, as peers send)."""
        text = exchange.body.decode("utf-8", "replace")
        if exchange.header("Content-Type").startswith("application/json"):
            try:
                raw = json.loads(text)
            except ValueError:
                raw = {}
            form = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        else:
            form = {k: v[0] for k, v in parse_qs(text).items()}
        if form.get("client_id") != CLIENT_ID or not hmac.compare_digest(
            form.get("client_secret", ""), CLIENT_SECRET
        ):
            return _error(401, "invalidClient", "Invalid client credentials", "REST-2101")
        kind = form.get("grant_type", "")
        if kind == "client_credentials":
            grant = self._client_grant(form.get("username", ""))
        elif kind == "authorization_code":
            grant = self._code_grant(form)
        elif kind == "refresh_token":
            with self._lock:
                grant = self._refresh.pop(form.get("refresh_token", ""), None)
        else:
            return _error(400, "unsupportedGrantType", f"grant_type {kind!r}", "REST-2003")
        if grant is None:
            return _error(400, "tokenInvalid", "The token is not valid", "REST-2102")
        return self._issue(grant)

    def _client_grant(self, username: str) -> Grant | None:
        # §2.2: username = userId@companyId, or userId@companyId|entityId
        user, _, rest = username.partition("@")
        company_in, _, entity = rest.partition("|")
        company = self._companies.get(company_in.upper())
        if user != self._user or company is None:
            return None
        return Grant(company=company, user=user, entity=entity)

    def _code_grant(self, form: Mapping[str, str]) -> Grant | None:
        with self._lock:
            code = self._codes.pop(form.get("code", ""), None)
        if code is None or code.expires < time.time():
            return None
        if form.get("redirect_uri") != code.redirect_uri:
            return None
        if code.challenge:
            verifier = form.get("code_verifier", "")
            if code.method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            else:
                expected = verifier
            if not verifier or not hmac.compare_digest(expected, code.challenge):
                return None
        return code.grant

    def _issue(self, grant: Grant) -> Reply:
        access = "sbx." + secrets.token_urlsafe(32)
        refresh = "sbr." + secrets.token_urlsafe(32)
        issued = Grant(
            company=grant.company,
            user=grant.user,
            entity=grant.entity,
            expires=time.time() + self.token_ttl,
        )
        with self._lock:
            self._access[access] = issued
            self._refresh[refresh] = Grant(
                company=grant.company, user=grant.user, entity=grant.entity
            )
            self.issued += 1
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.token_ttl),
            "refresh_token": refresh,
        }
        return Reply(status=200, body=json.dumps(body).encode())

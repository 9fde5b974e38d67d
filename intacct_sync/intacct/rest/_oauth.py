"""OAuth 2.0 for the Intacct REST API, as Sage documents it (reference §2).

Grants (§2.2): client credentials for a Web Services user (``username`` = ``user@company``, or
``user@company|entity`` for an entity-scoped token), authorization code for an analyst in a
notebook (a loopback redirect on ``127.0.0.1``, the browser opened for them, ``state`` checked,
PKCE S256 added), and refresh tokens. Tokens are refreshed 60 s before they expire (the skew
peers use, §2.4) and once more when the API answers 401. Every refresh token Intacct returns is
persisted before it is used, because a lost rotation strands the connection (§2.4, [NANGO]):
in the OS keyring when ``keyring`` is installed, else in a JSON file only its owner can read
(0600, replaced atomically).

PKCE parameter names are the RFC 7636 ones; the sheet marks them unverified (§2.2), and a
server that ignores them still completes the plain authorization-code exchange.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs

from intacct_sync._http import redact
from intacct_sync._http.retry import RetryPolicy
from intacct_sync._http.transport import HttpRequest, HttpResponse, Timeout, Transport, send
from intacct_sync.errors import AuthenticationError, ConfigError, ProtocolError
from intacct_sync.intacct.rest._protocol import API_BASE, error_details, parse_json

__all__ = [
    "DEFAULT_TOKEN_CACHE",
    "AuthorizationCode",
    "ClientCredentials",
    "FileTokenCache",
    "KeyringTokenCache",
    "OAuthApp",
    "OAuthSession",
    "Token",
    "TokenCache",
    "authorize_in_browser",
    "compose_username",
    "default_token_cache",
    "pkce_pair",
]

log = logging.getLogger("intacct_sync.intacct.rest.oauth")

DEFAULT_TOKEN_CACHE = Path("~/.intacct/rest-tokens.json")
#: §2.4: refresh this long before ``expires_in`` runs out.
EXPIRY_SKEW = 60.0
#: §2.2: the only documented scope.
SCOPE = "offline_access"


def _register_secret(value: str | None) -> None:
    # Scrubbed from every log line and error text from now on (a token that leaks into free
    # text, an exception message, is still masked).
    if value:
        redact.register_secret(value)


def _jwt_exp(token: str) -> float | None:
    # §2.2: access tokens are JWTs; only the expiry is read (no trust is placed in it).
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        exp = json.loads(base64.urlsafe_b64decode(padded)).get("exp")
    except (ValueError, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def compose_username(user_id: str, company_id: str, entity_id: str | None = None) -> str:
    """The client-credentials ``username``: ``user@company`` or ``user@company|entity`` (§2.2).

    >>> compose_username("api_user", "ACME"), compose_username("api_user", "ACME", "EAST")
    ('api_user@ACME', 'api_user@ACME|EAST')

    Args:
        user_id: the Intacct user.
        company_id: the company id.
        entity_id: the entity to sign in to; None for the top level.

    Returns:
        The username to send with the client-credentials grant.

    Raises:
        ConfigError: a part is empty or contains a separator.
    """
    for name, value in (("user_id", user_id), ("company_id", company_id)):
        if not value or "@" in value or "|" in value:
            raise ConfigError(f"{name} must be non-empty without '@' or '|', got {value!r}")
    username = f"{user_id}@{company_id}"
    if entity_id:
        if "|" in entity_id:
            raise ConfigError(f"entity_id must not contain '|', got {entity_id!r}")
        username += f"|{entity_id}"
    return username


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` and its S256 ``code_challenge`` (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


@attrs.frozen(kw_only=True)
class Token:
    """An access token and what came with it. Secrets never appear in the repr."""

    access_token: str = attrs.field(repr=False)
    expires_at: float
    refresh_token: str | None = attrs.field(default=None, repr=False)
    token_type: str = "Bearer"  # noqa: S105 - the scheme name, not a secret

    def fresh(self, now: float) -> bool:
        """Usable for at least :data:`EXPIRY_SKEW` more seconds."""
        return now < self.expires_at - EXPIRY_SKEW


@attrs.frozen(kw_only=True)
class OAuthApp:
    """An application registered in the Sage developer workspace (§2.1).

    Attributes:
        client_id: the application's client id.
        client_secret: its secret (omit for a public client using PKCE alone).
        base_url: the API base (``…/ia/api/v1``); the token and authorize URLs hang off it.
    """

    client_id: str
    client_secret: str | None = attrs.field(default=None, repr=False)
    base_url: str = API_BASE

    @property
    def token_url(self) -> str:
        """``POST …/oauth2/token`` (§2.2; the doc's path without ``/ia`` is a typo, §10.13)."""
        return self.base_url.rstrip("/") + "/oauth2/token"

    @property
    def authorize_url(self) -> str:
        """``GET …/oauth2/authorize`` (§2.2)."""
        return self.base_url.rstrip("/") + "/oauth2/authorize"


class TokenCache(Protocol):
    """Where refresh tokens survive between runs."""

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored entry for ``key``, or None."""
        ...

    def save(self, key: str, entry: Mapping[str, Any]) -> None:
        """Store ``entry`` for ``key`` durably before returning."""
        ...


class FileTokenCache:
    """Token entries in one JSON file readable only by its owner (0600), replaced atomically.

    Args:
        path: the file (default ``~/.intacct/rest-tokens.json``); its folder is created 0700.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_TOKEN_CACHE) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FileTokenCache({str(self.path)!r})"

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            log.warning("token cache %s is not JSON; ignoring it", self.path)
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, key: str) -> dict[str, Any] | None:
        """The entry for ``key``, or None.

        Args:
            key: the cache key (the app and the user it signs in as).

        Returns:
            A copy of the stored entry; None when there is none (or the file is not JSON).
        """
        with self._lock:
            entry = self._read().get(key)
        return dict(entry) if isinstance(entry, dict) else None

    def save(self, key: str, entry: Mapping[str, Any]) -> None:
        """Write the file with ``entry`` under ``key``: temp file 0600, fsync, rename.

        Args:
            key: the cache key.
            entry: the token entry to keep.
        """
        with self._lock:
            data = self._read()
            data[key] = dict(entry)
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(data, handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise


class KeyringTokenCache:
    """Token entries in the OS keyring (``keyring`` package), one secret per key."""

    def __init__(self, service: str = "intacct_sync.rest") -> None:
        import importlib

        # optional dependency: imported by name so type checking does not require it
        self._keyring: Any = importlib.import_module("keyring")
        self.service = service

    def __repr__(self) -> str:
        return f"KeyringTokenCache({self.service!r})"

    def load(self, key: str) -> dict[str, Any] | None:
        """The entry for ``key``, or None."""
        text = self._keyring.get_password(self.service, key)
        if not text:
            return None
        try:
            entry = json.loads(text)
        except ValueError:
            return None
        return entry if isinstance(entry, dict) else None

    def save(self, key: str, entry: Mapping[str, Any]) -> None:
        """Store ``entry`` under ``key``."""
        self._keyring.set_password(self.service, key, json.dumps(dict(entry)))


def default_token_cache() -> TokenCache:
    """The OS keyring when ``keyring`` is installed, else :class:`FileTokenCache`."""
    try:
        return KeyringTokenCache()
    except ImportError:
        return FileTokenCache()


@attrs.frozen(kw_only=True)
class ClientCredentials:
    """The client-credentials grant for a Web Services user (§2.2, since 2025 R1).

    Build ``username`` with :func:`compose_username`.
    """

    username: str


@attrs.frozen(kw_only=True)
class AuthorizationCode:
    """The authorization-code grant for a person (§2.2), with a loopback redirect and PKCE.

    Attributes:
        open_browser: opens the consent page (``webbrowser.open``; tests pass a fake).
        timeout: seconds to wait for the person to consent.
        interactive: False refuses to open a browser (a scheduled job with no cached refresh
            token then fails with a clear error instead of hanging).
        refresh_token: a refresh token to start from instead of the browser.
        port: the loopback port (0 = a random free one). Sage registers redirect URIs per
            application (§2.1); register ``http://127.0.0.1:<port>/callback`` or pass a fixed
            port that matches what is registered.
    """

    open_browser: Callable[[str], object] = webbrowser.open
    timeout: float = 300.0
    interactive: bool = True
    refresh_token: str | None = attrs.field(default=None, repr=False)
    port: int = 0


Grant = ClientCredentials | AuthorizationCode


class _Callback(BaseHTTPRequestHandler):
    server: _CallbackServer

    def log_message(self, format: str, *args: object) -> None:
        return  # the query string carries the code: never on stderr

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/callback":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = b"<html><body><p>Signed in to Sage Intacct. You can close this window.</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.done.set()


class _CallbackServer(HTTPServer):
    def __init__(self, port: int) -> None:
        self.params: dict[str, str] = {}
        self.done = threading.Event()
        super().__init__(("127.0.0.1", port), _Callback)


def authorize_in_browser(
    app: OAuthApp,
    *,
    open_browser: Callable[[str], object] = webbrowser.open,
    timeout: float = 300.0,
    port: int = 0,
) -> tuple[str, str, str]:
    """Run the consent step: serve a loopback redirect, open the browser, wait for the code.

    Returns:
        ``(code, redirect_uri, code_verifier)`` for the token exchange.

    Raises:
        AuthenticationError: the person refused, the ``state`` did not match, or no answer
            came within ``timeout`` seconds.
    """
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    server = _CallbackServer(port)
    thread = threading.Thread(
        target=server.serve_forever, name="intacct-oauth-callback", daemon=True
    )
    thread.start()
    try:
        redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
        query = urlencode(
            {
                "response_type": "code",
                "client_id": app.client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "scope": SCOPE,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        open_browser(f"{app.authorize_url}?{query}")
        if not server.done.wait(timeout):
            raise AuthenticationError(
                f"no answer from the Sage Intacct consent page within {timeout:.0f}s"
            )
        params = server.params
    finally:
        server.shutdown()
        server.server_close()
    if not hmac.compare_digest(params.get("state", ""), state):
        raise AuthenticationError("the consent redirect's state does not match; refusing its code")
    if "error" in params:
        raise AuthenticationError(
            f"consent refused: {params.get('error')} {params.get('error_description', '')}".strip()
        )
    code = params.get("code", "")
    if not code:
        raise AuthenticationError("the consent redirect carried no code")
    _register_secret(code)
    _register_secret(verifier)
    return code, redirect_uri, verifier


class OAuthSession:
    """The current access token of one application, grant and company; thread-safe.

    Args:
        app: the registered application.
        grant: :class:`ClientCredentials` or :class:`AuthorizationCode`.
        transport: how token requests are sent.
        cache: where refresh tokens (and the access token) persist; None = memory only.
        cache_key: the cache entry's name (default: client id and grant identity).
        timeout: token request timeouts.
        retry: retry policy of token requests.
        clock: seconds since the epoch (tests pass a fake).
    """

    def __init__(
        self,
        app: OAuthApp,
        grant: Grant,
        *,
        transport: Transport,
        cache: TokenCache | None = None,
        cache_key: str | None = None,
        timeout: Timeout,
        retry: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.grant = grant
        self._transport = transport
        self._cache = cache
        who = grant.username if isinstance(grant, ClientCredentials) else "authorization_code"
        self.cache_key = cache_key or f"{app.base_url}|{app.client_id}|{who}"
        self._timeout = timeout
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.refreshes = 0
        _register_secret(app.client_secret)
        if isinstance(grant, AuthorizationCode):
            _register_secret(grant.refresh_token)
        self._load_cached()

    def __repr__(self) -> str:
        return f"OAuthSession(client_id={self.app.client_id!r}, grant={type(self.grant).__name__})"

    def _load_cached(self) -> None:
        if self._cache is None:
            return
        entry = self._cache.load(self.cache_key)
        if not entry:
            return
        access = entry.get("access_token")
        refresh = entry.get("refresh_token")
        _register_secret(access)
        _register_secret(refresh)
        self._token = Token(
            access_token=str(access or ""),
            expires_at=float(entry.get("expires_at") or 0),
            refresh_token=str(refresh) if refresh else None,
        )

    def access_token(self) -> str:
        """A token valid for at least a minute; minted or refreshed as needed."""
        with self._lock:
            if (
                self._token is None
                or not self._token.access_token
                or not self._token.fresh(self._clock())
            ):
                self._token = self._obtain(self._token)
            return self._token.access_token

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (the API refused it), so the next call refreshes once."""
        with self._lock:
            if self._token is not None and self._token.access_token == token:
                self._token = attrs.evolve(self._token, expires_at=0.0)

    def _obtain(self, previous: Token | None) -> Token:
        grant = self.grant
        if isinstance(grant, ClientCredentials):
            form = {"grant_type": "client_credentials", "username": grant.username}
            return self._request(form, previous)
        refresh = (previous.refresh_token if previous else None) or grant.refresh_token
        if refresh:
            try:
                return self._request(
                    {"grant_type": "refresh_token", "refresh_token": refresh}, previous
                )
            except AuthenticationError:
                if not grant.interactive:
                    raise
                log.info("refresh token refused; asking for consent again")
        if not grant.interactive:
            raise AuthenticationError(
                "no refresh token cached for this connection and interactive=False; run the "
                "browser sign-in once"
            )
        code, redirect_uri, verifier = authorize_in_browser(
            self.app, open_browser=grant.open_browser, timeout=grant.timeout, port=grant.port
        )
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        return self._request(form, previous)

    def _request(self, form: dict[str, str], previous: Token | None) -> Token:
        # §2.2: form-encoded, client_id and client_secret in the body (Sage's sample).
        body = {**form, "client_id": self.app.client_id}
        if self.app.client_secret:
            body["client_secret"] = self.app.client_secret
        request = HttpRequest(
            method="POST",
            url=self.app.token_url,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            body=urlencode(body).encode(),
        )
        grant_type = form["grant_type"]

        def check(response: HttpResponse) -> Token:
            return self._parse(response, grant_type, previous)

        token = send(
            self._transport,
            request,
            timeout=self._timeout,
            retry=self._retry,
            # A token request changes nothing but the token; repeating it is safe except for a
            # rotating refresh, which the server may already have consumed.
            idempotent=grant_type != "refresh_token",
            check=check,
            what=f"intacct oauth2 {grant_type}",
            sleep=self._sleep,
        )
        self.refreshes += 1
        if self._cache is not None:
            self._cache.save(
                self.cache_key,
                {
                    "access_token": token.access_token,
                    "expires_at": token.expires_at,
                    "refresh_token": token.refresh_token,
                },
            )
        return token

    def _parse(self, response: HttpResponse, grant_type: str, previous: Token | None) -> Token:
        status = response.status
        data = parse_json(response.body, http_status=status) if response.body else {}
        if status >= 500:
            raise ProtocolError(
                f"token endpoint error (HTTP {status})", http_status=status, should_retry=True
            )
        if status != 200 or not isinstance(data, Mapping) or not data.get("access_token"):
            error = data.get("error") if isinstance(data, Mapping) else None
            if isinstance(error, Mapping):
                details = error_details(error)
                text = str(error.get("message") or error.get("code") or "")
            else:
                details = ()
                text = str(error or "") + (
                    f" {data.get('error_description')}"
                    if isinstance(data, Mapping) and data.get("error_description")
                    else ""
                )
            raise AuthenticationError(
                f"OAuth {grant_type} refused (HTTP {status}): {text}".strip(),
                errors=details,
                http_status=status,
            )
        access = str(data["access_token"])
        refresh = data.get("refresh_token")
        if refresh is None and previous is not None:
            refresh = previous.refresh_token  # not rotated: keep the one we have
        _register_secret(access)
        _register_secret(str(refresh) if refresh else None)
        try:
            # §2.2: expires_in seconds (12 h observed); else the JWT's exp (§2.4); else an hour.
            expires_at = self._clock() + float(data["expires_in"])
        except (KeyError, TypeError, ValueError):
            expires_at = _jwt_exp(access) or self._clock() + 3600.0
        return Token(
            access_token=access,
            expires_at=expires_at,
            refresh_token=str(refresh) if refresh else None,
            token_type=str(data.get("token_type") or "Bearer"),
        )

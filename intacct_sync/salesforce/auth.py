"""OAuth 2.0 token flows for Salesforce.

A flow knows how to ask for an access token; the client sends the request through the one
retry loop and asks again when a session expires (401 ``INVALID_SESSION_ID``). None of the flows
returns ``expires_in``, so expiry is only ever learnt from that 401.

* :class:`ClientCredentialsFlow` - ``grant_type=client_credentials`` against the org's **My
  Domain** token endpoint (``login.salesforce.com`` refuses it); runs as the connected app's
  "run as" user.
* :class:`JwtBearerFlow` - a JWT signed RS256 with the private key whose certificate is uploaded
  to the connected app; needs PyJWT with ``cryptography`` (``pip install 'intacct-sync[jwt]'``).
* :class:`RefreshTokenFlow` - exchanges a refresh token from a web-server or user-agent flow;
  takes up a rotated refresh token when Salesforce returns one.

Secrets (client secret, private key, refresh token) never show in ``repr`` and are scrubbed from
debug logs by :mod:`intacct_sync._http.redact`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import attrs

from intacct_sync._http.transport import HttpRequest, HttpResponse
from intacct_sync.errors import ConfigError, ProtocolError
from intacct_sync.salesforce._protocol import error_from_response, loads
from intacct_sync.salesforce.models import Token

__all__ = [
    "ClientCredentialsFlow",
    "JwtBearerFlow",
    "RefreshTokenFlow",
    "TokenFlow",
    "parse_token_response",
    "token_url",
]

LOGIN_URL = "https://login.salesforce.com"
TEST_LOGIN_URL = "https://test.salesforce.com"
_FORM = "application/x-www-form-urlencoded"
#: JWT lifetime; Salesforce wants ``exp`` within 3 minutes
_JWT_LIFETIME = 180


class TokenFlow(Protocol):
    """A way to get an access token. Implement it for another grant type."""

    def token_request(self) -> HttpRequest:
        """The request that returns a token (built afresh each time).

        Returns:
            The HTTP request to send to the token endpoint.
        """
        ...

    def accept(self, token: Token) -> None:
        """Take note of a new token (e.g. a rotated refresh token).

        Args:
            token: the token just issued.
        """
        ...


def token_url(base_url: str) -> str:
    """``{base}/services/oauth2/token`` for a login host or My Domain URL.

    >>> token_url("https://login.salesforce.com/")
    'https://login.salesforce.com/services/oauth2/token'

    Args:
        base_url: the login host or My Domain URL (any path is dropped).

    Returns:
        The token endpoint's URL.

    Raises:
        ConfigError: ``base_url`` is not an http(s) URL.
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"not an http(s) URL: {base_url!r}")
    return f"{parts.scheme}://{parts.netloc}/services/oauth2/token"


def _form_request(url: str, fields: dict[str, str]) -> HttpRequest:
    return HttpRequest(
        method="POST",
        url=url,
        headers={"Content-Type": _FORM, "Accept": "application/json"},
        body=urlencode(fields).encode("ascii"),
    )


def parse_token_response(response: HttpResponse) -> Token:
    """A token from the token endpoint's answer.

    Args:
        response: the token endpoint's HTTP response.

    Returns:
        The token (access token, instance URL, refresh token when rotated).

    Raises:
        SalesforceAuthenticationError: the endpoint refused (``invalid_grant``,
            ``invalid_client``...), with ``error_code`` = OAuth ``error``.
        ProtocolError: the answer is not a token body.
    """
    if not 200 <= response.status < 300:
        raise error_from_response(response.status, response.body)
    data = loads(response.body, http_status=response.status)
    if not isinstance(data, dict) or not data.get("access_token"):
        # Never quote a body that may hold a token: say only what is missing.
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ProtocolError(f"token endpoint answered without access_token (keys: {keys})")
    return Token.from_json(data)


@attrs.define(kw_only=True)
class ClientCredentialsFlow:
    """OAuth client-credentials flow.

    Attributes:
        token_url: the org's My Domain token endpoint.
        client_id: the connected app's consumer key.
        client_secret: its consumer secret.
    """

    token_url: str
    client_id: str
    client_secret: str = attrs.field(repr=False)

    def token_request(self) -> HttpRequest:
        """``grant_type=client_credentials`` with the id and secret in the form body.

        Returns:
            The POST to the token endpoint.
        """
        return _form_request(
            self.token_url,
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        )

    def accept(self, token: Token) -> None:
        """Nothing to keep.

        Args:
            token: the token just issued.
        """


@attrs.define(kw_only=True)
class RefreshTokenFlow:
    """OAuth refresh-token flow.

    Attributes:
        token_url: the token endpoint (My Domain or login host).
        client_id: the connected app's consumer key.
        client_secret: its secret, when the app requires it.
        refresh_token: the refresh token; replaced when Salesforce rotates it.
    """

    token_url: str
    client_id: str
    refresh_token: str = attrs.field(repr=False)
    client_secret: str | None = attrs.field(default=None, repr=False)

    def token_request(self) -> HttpRequest:
        """``grant_type=refresh_token``.

        Returns:
            The POST to the token endpoint.
        """
        fields = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "refresh_token": self.refresh_token,
        }
        if self.client_secret:
            fields["client_secret"] = self.client_secret
        return _form_request(self.token_url, fields)

    def accept(self, token: Token) -> None:
        """Keep a rotated refresh token.

        Args:
            token: the token just issued; its refresh token, if any, replaces the old one.
        """
        if token.refresh_token:
            self.refresh_token = token.refresh_token


@attrs.define(kw_only=True)
class JwtBearerFlow:
    """OAuth JWT bearer flow (RS256).

    Attributes:
        token_url: the token endpoint.
        client_id: the connected app's consumer key (``iss``).
        username: the pre-authorized user (``sub``).
        private_key: PEM text of the RSA private key.
        audience: ``aud``: ``https://login.salesforce.com``, ``https://test.salesforce.com`` or
            an Experience Cloud site URL.
    """

    token_url: str
    client_id: str
    username: str
    private_key: str = attrs.field(repr=False)
    audience: str = LOGIN_URL

    @classmethod
    def from_key_file(
        cls, path: str | Path, *, token_url: str, client_id: str, username: str, audience: str
    ) -> JwtBearerFlow:
        """Read the private key from a PEM file.

        Args:
            path: the PEM file (``~`` is expanded).
            token_url: the token endpoint (:func:`token_url`).
            client_id: the connected app's consumer key (``iss``).
            username: the pre-authorized user (``sub``).
            audience: ``aud``, as the class describes it.

        Returns:
            The flow, holding the key (never shown in its repr).

        Raises:
            ConfigError: the file cannot be read.
        """
        try:
            key = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the private key file {str(path)!r}: {exc.strerror}"
            ) from None
        return cls(
            token_url=token_url,
            client_id=client_id,
            username=username,
            private_key=key,
            audience=audience,
        )

    def assertion(self, *, now: float | None = None) -> str:
        """The signed JWT.

        Args:
            now: the issue time in epoch seconds (default: the current time).

        Returns:
            The RS256-signed assertion, valid for a few minutes.

        Raises:
            ConfigError: PyJWT or cryptography is missing, or the key is unusable.
        """
        try:
            import jwt
        except ImportError:
            raise ConfigError(
                "the JWT bearer flow needs PyJWT with cryptography: pip install 'intacct-sync[jwt]'"
            ) from None
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.client_id,
            "sub": self.username,
            "aud": self.audience,
            "exp": issued + _JWT_LIFETIME,
        }
        try:
            return str(jwt.encode(claims, self.private_key, algorithm="RS256"))
        except NotImplementedError:
            raise ConfigError(
                "RS256 signing needs the cryptography package: pip install 'intacct-sync[jwt]'"
            ) from None
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            # The exception text may quote the key: name the type only.
            raise ConfigError(
                f"the private key cannot sign an RS256 JWT ({type(exc).__name__})"
            ) from None

    def token_request(self) -> HttpRequest:
        """``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` with a fresh assertion.

        Returns:
            The POST to the token endpoint.

        Raises:
            ConfigError: as :meth:`assertion`.
        """
        return _form_request(
            self.token_url,
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self.assertion(),
            },
        )

    def accept(self, token: Token) -> None:
        """Nothing to keep.

        Args:
            token: the token just issued.
        """


def default_audience(instance_url: str) -> str:
    """``test.salesforce.com`` for sandbox orgs, ``login.salesforce.com`` otherwise."""
    host = urlsplit(instance_url).netloc.lower()
    if ".sandbox.my.salesforce.com" in host or host.startswith("test.salesforce.com"):
        return TEST_LOGIN_URL
    return LOGIN_URL

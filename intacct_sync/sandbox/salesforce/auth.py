"""OAuth 2.0 token endpoint of the Salesforce emulator: grants, tokens, expiry.

Three grants are served at ``POST /services/oauth2/token``: ``client_credentials`` (client id and
secret in the form body or HTTP Basic), ``refresh_token`` and the JWT bearer grant
(``urn:ietf:params:oauth:grant-type:jwt-bearer``). The JWT's ``iss`` must be :data:`CLIENT_ID`
and its ``sub`` :data:`USERNAME`; when PyJWT (with ``cryptography``) is importable the RS256
signature is checked against :data:`JWT_PUBLIC_KEY_PEM` (sign with :data:`JWT_PRIVATE_KEY_PEM`),
otherwise the signature is not verified. The key pair is public sandbox material, useless
anywhere else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = [
    "CLIENT_ID",
    "CLIENT_SECRET",
    "JWT_PRIVATE_KEY_PEM",
    "JWT_PUBLIC_KEY_PEM",
    "ORG_ID",
    "REFRESH_TOKEN",
    "USERNAME",
    "OAuthError",
    "TokenAuthority",
]

CLIENT_ID = "intacct-sync-sandbox-client"
CLIENT_SECRET = "sandbox-client-secret"
#: the integration user every grant signs in as (the JWT ``sub``)
USERNAME = "integration@sandbox.example"
#: a refresh token the sandbox always accepts (until :meth:`TokenAuthority.revoke_refresh_tokens`)
REFRESH_TOKEN = "5Aep861SandboxRefreshToken.NotASecret"
#: 18-character id of the sandbox org (access tokens start with its first 15 characters)
ORG_ID = "00D8d0000000SbxEAE"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"

JWT_PRIVATE_KEY_PEM = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCyRFQ1V2FkbGNd
GpxhJfDmjP/YnWpxSCwgSd9O5td7ZBqY+HU/l7I/n+eyGEDyvEp8SRORIFY7DWaD
k4xPp13/SRrNYGicT72FV+286fnBRZCQVXQcbhnaIYLQwsxGtF6bfLpixOhvhH1i
w1PC8UhYAgcQWBxBdt8kJbHxuD0rCVnJdyAJODEbmxg9DsLet+gSkcLD9ZexAQIH
XYhd/yb71+9Nym3D0UQvA3rAlmFuhcZ152Nwzapjz/AuVWzP2tPj9loafI5lDxr8
8k2UF0Eiwz6t0w0cXsRcGIPEqjn+s+8miKRgX/RQQVSUPeyQD41T0YjnnVIBvgEH
xvirkKQXAgMBAAECggEADldoHUp3iVuDuulf8oJzTCwq9EN/XR6DSxQZi2cPp6hs
A1zc6E4AU+IKnJqBTx+BMCW1r0bWT4Kw4DdhYfi2NTCtn7j4pLdwwpnj6swGZ1tJ
wAxzGBgIRTMA+GG58WfW9jqLyO2Y2kl8Yax5Jp7zeDEUxGaldbBmHBBaramdMilr
pYPf4WW73uF6GRfLcyp9vh166NqL9gYH2aqteMRpk0ZBhk3ezvYlrrU520jVskHO
W6FqkP8CqV959uUDRJBq8H6YDLf0NDNlGm2l3Vnivn5OUvEG+r2vxyStQQbkbzac
RwQom4YLcvsKiMAOHdvu/UHAe5rg3GkMOxnSAOQh4QKBgQDWSLK5UsAqDCXLUql/
59bxeAj1GejH5BlCThtFmYBjHlXNC0XG0McLRYJChbstajjU/kgZyPh4CPhOpf/v
hdFzxL8I49MZ3LrWSMO9nqdMKTS034aWtnPFNUAgwK/6XgMc6Ms8AdND6X0YCdfT
McKtNptGp6Yuru0D3okMo9YHXwKBgQDU+KSZG+2au+rfNmYNCphIAp1/BzlOey2n
iebsMTl9b/Atpxg+TXrqbPJnCAPYLQhzgTpDzxrhMQoo+3VVW+GVrpx1n8Xm/2el
eOicIGkingdXdkV0fJIE6yi8PBSNcjPE27JHHXRdTbozEqdVgLGsOCIwbq/HW0Ty
AXaegJW2SQKBgE8XBAhM16ptU2HJP9B6xKXZVQ0KJBXrRbtoUr6Mmot6/dYxa+6m
zmCFpj9hVqW7iABtXjVOLQ842FVHBcDlVlpxasUgOaFZDAjdUInjTgJZTx/XRLjJ
3M8UCXhNRmaVXnbEIYcjcVOmkUpXD7berej6t7MLW9XtMIP2FgV5TxznAoGAYp6x
OeVg5eJXJP3/y9I4KkBrxkMGGn2X6plFQeKZiKipQ7q400D1xlCk/2kKvrQ70aDp
5jSlcdpPpiKrdteRYsr00NMnxYxH5qxSqtmnVcxwAeRWzVZSF8z9lA0OR2G271X8
/El7dSllK/lbW5C4tdNYoazf4SU2jAp5b3SD32ECgYEApe+kodGZKB5m+BO0XUKk
pouTEJ1roAEKKqhjDuCsrD3s6DUpairFlgCU4Elk0/vhipn4dTW6s2BD6pKjhzMb
PdIB0E9/65sp/zT1XvpXClQLp43pDCLVb4IkriwInuIwFP3YPpSn2NxjTAtOyH0c
jux9S2eSOZRADm8O/G/6NCM=
-----END PRIVATE KEY-----
"""
JWT_PUBLIC_KEY_PEM = """\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAskRUNVdhZGxjXRqcYSXw
5oz/2J1qcUgsIEnfTubXe2QamPh1P5eyP5/nshhA8rxKfEkTkSBWOw1mg5OMT6dd
/0kazWBonE+9hVftvOn5wUWQkFV0HG4Z2iGC0MLMRrRem3y6YsTob4R9YsNTwvFI
WAIHEFgcQXbfJCWx8bg9KwlZyXcgCTgxG5sYPQ7C3rfoEpHCw/WXsQECB12IXf8m
+9fvTcptw9FELwN6wJZhboXGdedjcM2qY8/wLlVsz9rT4/ZaGnyOZQ8a/PJNlBdB
IsM+rdMNHF7EXBiDxKo5/rPvJoikYF/0UEFUlD3skA+NU9GI551SAb4BB8b4q5Ck
FwIDAQAB
-----END PUBLIC KEY-----
"""


@attrs.define
class OAuthError(Exception):
    """A refused token request: ``{"error", "error_description"}`` with HTTP 400."""

    error: str
    description: str
    status: int = 400

    def body(self) -> dict[str, str]:
        """The OAuth error body."""
        return {"error": self.error, "error_description": self.description}


class TokenAuthority:
    """Issues and checks access and refresh tokens (thread-safe)."""

    def __init__(self, *, user_id: str) -> None:
        self.user_id = user_id
        self.token_ttl = 3600.0
        self.public_keys = [JWT_PUBLIC_KEY_PEM]
        self._lock = threading.Lock()
        self._access: dict[str, float] = {}
        self._refresh: set[str] = {REFRESH_TOKEN}

    # -- tokens ---------------------------------------------------------------------------------

    def valid(self, token: str) -> bool:
        """Is ``token`` a live access token?"""
        with self._lock:
            expires = self._access.get(token)
        return expires is not None and expires > time.monotonic()

    def expire_tokens(self) -> None:
        """Make every issued access token expire now (refresh tokens stay valid)."""
        with self._lock:
            self._access.clear()

    def revoke_refresh_tokens(self) -> None:
        """Invalidate every refresh token, the seeded one included."""
        with self._lock:
            self._refresh.clear()

    def _issue(self, base_url: str, *, with_refresh: bool) -> dict[str, Any]:
        token = f"{ORG_ID[:15]}!AQ{secrets.token_urlsafe(48)}"
        issued = str(int(time.time() * 1000))
        with self._lock:
            self._access[token] = time.monotonic() + self.token_ttl
        signature = base64.b64encode(
            hashlib.sha256(f"{self.user_id}{issued}{token}".encode()).digest()
        ).decode()
        body: dict[str, Any] = {
            "access_token": token,
            "signature": signature,
            "scope": "api refresh_token" if with_refresh else "api",
            "instance_url": base_url,
            "id": f"{base_url}/id/{ORG_ID}/{self.user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
        }
        if with_refresh:
            refresh = f"5Aep861{secrets.token_urlsafe(40)}"
            with self._lock:
                self._refresh.add(refresh)
            body["refresh_token"] = refresh
        return body

    # -- grants ---------------------------------------------------------------------------------

    def grant(self, form: Mapping[str, str], authorization: str, base_url: str) -> dict[str, Any]:
        """Answer one token request, or raise :class:`OAuthError`."""
        grant_type = form.get("grant_type", "")
        scopes = set(form.get("scope", "").split())
        if grant_type == "client_credentials":
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            if authorization.lower().startswith("basic "):
                try:
                    decoded = base64.b64decode(authorization[6:].strip()).decode()
                except (binascii.Error, UnicodeDecodeError):
                    raise OAuthError("invalid_client", "invalid client credentials") from None
                client_id, _, secret = decoded.partition(":")
            self._check_client(client_id)
            if secret != CLIENT_SECRET:
                raise OAuthError("invalid_client", "invalid client credentials")
            return self._issue(
                base_url, with_refresh=bool(scopes & {"refresh_token", "offline_access"})
            )
        if grant_type == "refresh_token":
            client_id = form.get("client_id", "")
            if client_id:
                self._check_client(client_id)
            if form.get("client_secret") not in (None, CLIENT_SECRET):
                raise OAuthError("invalid_client", "invalid client credentials")
            with self._lock:
                known = form.get("refresh_token", "") in self._refresh
            if not known:
                raise OAuthError("invalid_grant", "expired access/refresh token")
            return self._issue(base_url, with_refresh=False)
        if grant_type == JWT_GRANT:
            self._check_jwt(form.get("assertion", ""))
            return self._issue(base_url, with_refresh=False)
        if grant_type == "password":
            raise OAuthError("invalid_grant", "authentication failure")
        raise OAuthError("unsupported_grant_type", "grant type not supported")

    @staticmethod
    def _check_client(client_id: str) -> None:
        if client_id != CLIENT_ID:
            raise OAuthError("invalid_client_id", "client identifier invalid")

    def _check_jwt(self, assertion: str) -> None:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise OAuthError("invalid_grant", "invalid assertion")
        try:
            header = json.loads(_b64url(parts[0]))
            claims = json.loads(_b64url(parts[1]))
        except (ValueError, binascii.Error):
            raise OAuthError("invalid_grant", "invalid assertion") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise OAuthError("invalid_grant", "invalid assertion")
        if claims.get("iss") != CLIENT_ID:
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if claims.get("sub") != USERNAME:
            raise OAuthError("invalid_grant", "user hasn't approved this consumer")
        exp = claims.get("exp")
        if exp is not None and (not isinstance(exp, int | float) or exp < time.time()):
            raise OAuthError("invalid_grant", "expired authorization code")
        self._verify_signature(assertion)

    def _verify_signature(self, assertion: str) -> None:
        try:
            import jwt
        except ImportError:  # pragma: no cover - the test environment has PyJWT
            return  # without PyJWT the sandbox accepts any signature (documented)
        for key in self.public_keys:
            try:
                jwt.decode(
                    assertion,
                    key,
                    algorithms=["RS256"],
                    options={"verify_aud": False, "verify_exp": False},
                )
                return
            except jwt.PyJWTError:
                continue
        raise OAuthError("invalid_grant", "invalid assertion")


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))

"""Which URLs credentials may be sent to, judged the way ``requests`` will connect to them.

``urllib.parse.urlsplit`` and the HTTP library disagree on hostile URLs: for
``https://evil\\@api.intacct.com/`` ``urlsplit`` sees host ``api.intacct.com`` while urllib3
(and so ``requests``) connects to ``evil`` and sends the rest as the path. Every check here
therefore parses with the library's own parser (``PreparedRequest.prepare_url``, then urllib3's
``parse_url`` on what it prepared), so the host we approve is the host that gets the request.

Rules of :func:`check_url`:

- no backslash, whitespace or control character anywhere (parsers differ on all of them);
- no userinfo (``user:pass@``): it hides the real host from a reader and we never use it;
- ``https`` on the default port only, except for a *local* host when the caller allows it
  (``allow_loopback_http=True``, the embedded sandbox): ``127.0.0.0/8``, ``::1``,
  ``localhost`` and names reserved for testing that never reach a public host
  (RFC 6761: ``*.localhost``, ``*.test``, which the replayed cassettes use); such a host may
  use ``http`` and any port.
"""

from __future__ import annotations

import ipaddress
import re

import requests  # noqa: TID251 - parsing the way requests connects is the point
from urllib3.util import parse_url

from intacct_sync.errors import UnsafeUrlError

__all__ = ["check_url", "is_local_host", "origin", "same_origin"]

_DEFAULT_PORTS = {"https": 443, "http": 80}
_UNSAFE_CHARS = re.compile(r"[\\\s\x00-\x1f\x7f]")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?"
_HOST_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_TEST_SUFFIXES = (".localhost", ".test")


def _shown(url: str) -> str:
    # Never echo userinfo (it may be a password) or an endless hostile string.
    text = re.sub(r"//[^/?#]*@", "//<userinfo>@", url)
    return text if len(text) <= 200 else text[:200] + "..."


def _refuse(url: str, reason: str) -> UnsafeUrlError:
    return UnsafeUrlError(f"refusing URL {_shown(url)!r}: {reason}", url=_shown(url), reason=reason)


def is_local_host(host: str) -> bool:
    """True for loopback addresses, ``localhost`` and RFC 6761 testing names.

    >>> is_local_host("127.0.0.2"), is_local_host("[::1]"), is_local_host("api.intacct.com")
    (True, True, False)
    """
    name = host.lower().strip("[]").rstrip(".")
    if name == "localhost" or name.endswith(_TEST_SUFFIXES):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _parse(url: str) -> tuple[str, str, int, str | None, str]:
    """(scheme, host, port, userinfo, prepared url) as requests will use them."""
    prepared = requests.models.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
        parsed = parse_url(prepared.url or "")
    except (requests.exceptions.RequestException, ValueError) as exc:
        raise _refuse(url, f"not a URL requests can send to ({type(exc).__name__})") from None
    scheme = (parsed.scheme or "").lower()
    host = (parsed.host or "").lower()
    port = parsed.port if parsed.port is not None else _DEFAULT_PORTS.get(scheme, -1)
    return scheme, host, port, parsed.auth, prepared.url or ""


def check_url(url: str, *, allow_loopback_http: bool = False) -> str:
    """Return ``url`` as ``requests`` will send it, or refuse it before anything is sent.

    Args:
        url: a URL credentials, a session id or a token will be sent to.
        allow_loopback_http: let a local host (loopback, ``localhost``, ``*.test``) use plain
            ``http`` and any port: the embedded sandbox and replayed cassettes.

    Returns:
        The URL as prepared by ``requests`` (host lower-cased and IDNA-encoded).

    Raises:
        UnsafeUrlError: the URL breaks a rule of this module's docstring.
    """
    if not url:
        raise _refuse(url, "empty")
    if _UNSAFE_CHARS.search(url):
        raise _refuse(url, "backslashes, spaces and control characters are not allowed")
    scheme, host, port, userinfo, prepared = _parse(url)
    if userinfo is not None:
        raise _refuse(url, "userinfo (user@host) is not allowed")
    if not host:
        raise _refuse(url, "no host")
    if not (_HOST_NAME.match(host) or _is_ip_literal(host)):
        raise _refuse(url, f"host {host!r} is not a plain DNS name or IP address")
    local = allow_loopback_http and is_local_host(host)
    if local:
        if scheme not in _DEFAULT_PORTS:
            raise _refuse(url, "only http and https are allowed")
        return prepared
    if scheme != "https":
        raise _refuse(url, "https is required (plain http only for a local sandbox)")
    if port != 443:
        raise _refuse(url, f"port {port} is not allowed (only the default, 443)")
    return prepared


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of ``url`` as ``requests`` sees it; default ports filled in.

    Raises:
        UnsafeUrlError: ``url`` cannot be parsed.
    """
    if _UNSAFE_CHARS.search(url):
        raise _refuse(url, "backslashes, spaces and control characters are not allowed")
    scheme, host, port, _, _ = _parse(url)
    return scheme, host.rstrip("."), port


def same_origin(url: str, base: str) -> bool:
    """True when ``url`` goes to the same scheme, host and port as ``base``.

    Compared as the HTTP library will connect, so ``https://evil\\@host/`` is not ``host``.
    Any URL that cannot be parsed (or holds a backslash) is never the same origin.
    """
    try:
        return origin(url) == origin(base)
    except UnsafeUrlError:
        return False

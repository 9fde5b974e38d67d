"""Scrubbing of secrets from anything that may be logged, recorded or shown.

One set of rules serves logging, vcrpy cassettes and reprs, so a field redacted in one place is
redacted everywhere. The XML rule follows the official Intacct SDKs' log formatter (the contents
of these elements become ``REDACTED``); JSON, form and header rules cover the Salesforce side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "REDACTED"

#: Intacct elements whose text is secret (the SDKs' list, plus Salesforce-ish extras).
XML_SECRET_ELEMENTS = (
    "password",
    "sessionid",
    "accountnumber",
    "cardnum",
    "ssn",
    "achaccountnumber",
    "wireaccountnumber",
    "taxid",
)

#: JSON keys and form fields whose values are secret.
SECRET_KEYS = frozenset(
    {
        "password",
        "sender_password",
        "user_password",
        "sessionid",
        "session_id",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "client_assertion",
        "assertion",
        "private_key",
        "signature",
        "code",
        "authorization",
    }
)

SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-sfdc-session"})

_XML_RE = re.compile(
    r"<(?P<tag>" + "|".join(XML_SECRET_ELEMENTS) + r")(?P<attrs>\s[^>]*)?>"
    r"(?P<body>.*?)</(?P=tag)\s*>",
    re.IGNORECASE | re.DOTALL,
)
_BEARER_RE = re.compile(r"(Bearer|OAuth)\s+[A-Za-z0-9._~+/=!\-]+", re.IGNORECASE)
_JSON_PAIR_RE = re.compile(
    r'"(?P<key>' + "|".join(sorted(SECRET_KEYS)) + r')"\s*:\s*"(?:[^"\\]|\\.)*"',
    re.IGNORECASE,
)
_PEM_RE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL
)


def scrub_xml(text: str) -> str:
    """Replace the text of secret XML elements with ``REDACTED``.

    >>> scrub_xml("<login><password>hunter2</password></login>")
    '<login><password>REDACTED</password></login>'
    """
    return _XML_RE.sub(
        lambda m: f"<{m.group('tag')}{m.group('attrs') or ''}>{REDACTED}</{m.group('tag')}>",
        text,
    )


def scrub_mapping(data: Any) -> Any:
    """Return a copy of a JSON-like value with secret keys' values replaced."""
    if isinstance(data, Mapping):
        return {
            k: (REDACTED if str(k).lower() in SECRET_KEYS else scrub_mapping(v))
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [scrub_mapping(v) for v in data]
    return data


def scrub_json(text: str) -> str:
    """Scrub a JSON document's secret values; falls back to a regex on invalid JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return _JSON_PAIR_RE.sub(lambda m: f'"{m.group("key")}": "{REDACTED}"', text)
    return json.dumps(scrub_mapping(data))


def scrub_form(text: str) -> str:
    """Scrub an ``application/x-www-form-urlencoded`` body or query string."""
    pairs = parse_qsl(text, keep_blank_values=True)
    if not pairs:
        return text
    return urlencode([(k, REDACTED if k.lower() in SECRET_KEYS else v) for k, v in pairs])


def scrub_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Copy of headers with credentials replaced."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def scrub_text(text: str) -> str:
    """Best-effort scrub of any text: XML secrets, JSON secrets, bearer tokens, PEM keys."""
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        text = scrub_json(text)
    elif "=" in text and "<" not in text and " " not in text.strip():
        text = scrub_form(text)
    text = scrub_xml(text)
    text = _JSON_PAIR_RE.sub(lambda m: f'"{m.group("key")}": "{REDACTED}"', text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _PEM_RE.sub(REDACTED, text)


def scrub_body(body: bytes | str | None) -> str:
    """Decode (lossily) and scrub a request or response body for logging."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return scrub_text(text)

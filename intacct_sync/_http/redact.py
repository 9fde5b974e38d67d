"""Scrubbing of secrets from anything that may be logged, recorded or shown.

One set of rules serves every string that leaves the library: exception messages (every
:class:`~intacct_sync.errors.IntacctSyncError` passes its message through
:func:`scrub_message` when it is made), log lines (a filter on the library's loggers), vcrpy
cassettes, the CLI's stderr. A field redacted in one place is redacted everywhere.

Two kinds of rule, both applied to every string:

- **By shape.** The XML rule follows the official Intacct SDKs' log formatter (the contents of
  these elements become ``REDACTED``); JSON, form, bearer and PEM rules cover the Salesforce
  side. Each also works on a *truncated* body (a value cut before its closing quote or tag is
  redacted to where the text ends), because error messages quote the first bytes of an answer.
- **By value.** The clients register every secret they hold (passwords, session ids, tokens)
  with :func:`register_secret`; any occurrence of one, raw or JSON-, XML-, URL- or
  repr-escaped, is replaced wherever it appears, and so is any run of 16 or more of its first
  characters (a secret cut short). Values shorter than :data:`MIN_SECRET_LENGTH` are not
  registered: they would redact ordinary words and numbers.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote_plus, urlencode

from intacct_sync import errors as _errors

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
_KEYS = "|".join(sorted(SECRET_KEYS))
# A quoted key (JSON, or a Python repr of a dict), then a quoted value up to its closing quote
# or, for a truncated body, to the end of the text; or a bare (number, literal) value.
_JSON_PAIR_RE = re.compile(
    r"(?P<q>[\"'])(?P<key>" + _KEYS + r")(?P=q)\s*:\s*"
    r"(?:(?P<vq>[\"'])(?:(?!(?P=vq))[^\\]|\\.)*(?:(?P=vq)|\\?\Z)|[^\s,}\]\"']+)",
    re.IGNORECASE | re.DOTALL,
)
# key=value in a form body or free text (not part of a longer name such as errorcode=).
# The value never starts with punctuation: "argument sender_password=, variable ..." is prose.
_FORM_PAIR_RE = re.compile(
    r"(?<![\w.-])(?P<key>" + _KEYS + r")=(?P<value>[^&\s\"'<>,;)\]}][^&\s\"'<>]*)", re.I
)
# An opening secret element whose closing tag never came: redact to the next tag or the end.
_XML_OPEN_RE = re.compile(
    r"<(?P<tag>" + "|".join(XML_SECRET_ELEMENTS) + r")(?P<attrs>\s[^>]*)?>"
    r"(?!" + REDACTED + r"</)(?P<body>[^<]+)",
    re.IGNORECASE,
)
_PEM_RE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:.*?-----END [A-Z ]*PRIVATE KEY-----|.*\Z)",
    re.DOTALL,
)

#: Secrets shorter than this are not registered for scrubbing by value.
MIN_SECRET_LENGTH = 6
# A run this long of a secret's first characters counts as the secret, cut short.
_PREFIX_LENGTH = 16
_MAX_SECRETS = 512
_secrets: dict[str, tuple[str, ...]] = {}
_secrets_lock = threading.Lock()
_needles: tuple[str, ...] = ()
_prefixed: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """Scrub ``value`` (and its escaped forms) from every string the library lets out.

    Clients call this for the passwords, session ids and tokens they hold. Registration is
    process-wide; past 512 values the one least recently registered is forgotten (each
    request registers the credentials it carries again, so secrets in use stay).
    """
    global _needles, _prefixed
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value in _secrets:
            # Still in use: kept as the newest, so a secret a client goes on sending is never
            # the one forgotten when the register is full.
            _secrets[value] = _secrets.pop(value)
            return
        variants = {
            value,
            json.dumps(value)[1:-1],
            repr(value)[1:-1],
            html.escape(value, quote=False),
            html.escape(value),
            quote_plus(value),
            quote(value, safe=""),
        }
        _secrets[value] = tuple(v for v in variants if len(v) >= MIN_SECRET_LENGTH)
        while len(_secrets) > _MAX_SECRETS:
            del _secrets[next(iter(_secrets))]
        # Longest first, so a secret containing another is replaced whole.
        _needles = tuple(sorted({n for vs in _secrets.values() for n in vs}, key=len, reverse=True))
        _prefixed = tuple(s for s in _secrets if len(s) >= _PREFIX_LENGTH)
    protect_loggers()


# What an outgoing request carries that is certainly a credential (never record data such as
# a field named "Code"): these values are registered as they leave, so whatever the server
# echoes back is scrubbed by value too.
_HELD_ELEMENTS = re.compile(r"<(password|sessionid)(?:\s[^>]*)?>([^<]+)</\1\s*>", re.IGNORECASE)
_HELD_KEYS = (
    "password|sender_password|user_password|sessionid|session_id|access_token|refresh_token|"
    "id_token|client_secret|client_assertion|assertion|private_key"
)
_HELD_JSON = re.compile(r'"(?:' + _HELD_KEYS + r')"\s*:\s*"((?:[^"\\]|\\.)+)"', re.I)
_HELD_FORM = re.compile(r"(?:^|&)(?:" + _HELD_KEYS + r")=([^&]+)", re.I)
_HELD_HEADERS = frozenset({"authorization", "x-sfdc-session"})


def register_request_secrets(headers: Mapping[str, str], body: bytes | str | None) -> None:
    """Register the credentials an outgoing request carries (see :func:`register_secret`).

    The transport calls this for every request, so a client need not list what it sends: the
    session id and passwords in an Intacct envelope, a bearer token, the secrets of a token
    request all become scrubbed by value.
    """
    for name, value in headers.items():
        if name.lower() in _HELD_HEADERS:
            register_secret(value.split(" ", 1)[-1].strip())
    if not body:
        return
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    for match in _HELD_ELEMENTS.finditer(text):
        register_secret(html.unescape(match.group(2)))
    for match in _HELD_JSON.finditer(text):
        with contextlib.suppress(ValueError):
            register_secret(json.loads(f'"{match.group(1)}"'))
    if "=" in text and "<" not in text[:1] and "{" not in text[:1]:
        for match in _HELD_FORM.finditer(text.strip()):
            register_secret(unquote_plus(match.group(1)))


def scrub_values(text: str) -> str:
    """Replace every registered secret, whole or cut short, with ``REDACTED``."""
    needles, prefixed = _needles, _prefixed
    for needle in needles:
        if needle in text:
            text = text.replace(needle, REDACTED)
    for secret in prefixed:
        head = secret[:_PREFIX_LENGTH]
        start = text.find(head)
        while start != -1:
            end = start + _PREFIX_LENGTH
            while (
                end < len(text) and end - start < len(secret) and text[end] == secret[end - start]
            ):
                end += 1
            text = text[:start] + REDACTED + text[end:]
            start = text.find(head, start + len(REDACTED))
    return text


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


def scrub_message(text: str) -> str:
    """Scrub free text in place (exception messages, log lines) without reformatting it.

    Every rule of this module applies, each tolerant of a body cut short.
    """
    text = _PEM_RE.sub(REDACTED, text)
    text = scrub_xml(text)
    text = _XML_OPEN_RE.sub(lambda m: f"<{m.group('tag')}{m.group('attrs') or ''}>{REDACTED}", text)
    text = _JSON_PAIR_RE.sub(
        lambda m: (
            f"{m.group('q')}{m.group('key')}{m.group('q')}: {m.group('q')}{REDACTED}{m.group('q')}"
        ),
        text,
    )
    text = _FORM_PAIR_RE.sub(lambda m: f"{m.group('key')}={REDACTED}", text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return scrub_values(text)


def scrub_text(text: str) -> str:
    """Scrub any text: a whole JSON or form body is parsed first, then every rule applies."""
    stripped = text.lstrip()
    if stripped.startswith("{") or stripped.startswith("["):
        text = scrub_json(text)
    elif "=" in text and "<" not in text and " " not in text.strip():
        text = scrub_form(text)
    return scrub_message(text)


def scrub_body(body: bytes | str | None) -> str:
    """Decode (lossily) and scrub a request or response body for logging."""
    if body is None:
        return ""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return scrub_text(text)


class ScrubFilter(logging.Filter):
    """Scrubs every record of the logger it is attached to (the message with its arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_message(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


_FILTER = ScrubFilter()


def protect_loggers() -> None:
    """Attach the scrubbing filter to every ``intacct_sync`` logger that exists.

    A logger's filters see only records logged on that very logger (not its children's), so
    each library logger gets the filter; this runs when this module is imported and again each
    time a secret is registered, by which time the modules that log have been imported.
    """
    names = ["intacct_sync"] + [
        name for name in list(logging.root.manager.loggerDict) if name.startswith("intacct_sync.")
    ]
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


_errors.set_message_scrubber(scrub_message)
protect_loggers()

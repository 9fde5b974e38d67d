"""The Intacct XML gateway wire format: request envelopes out, responses in.

Requests are built with lxml, so every value is escaped by the serializer. Responses are parsed
with a hardened parser: no entity expansion, no DTD, no network. Parsing raises by level, the way
the gateway reports: :class:`ControlError` when the request as a whole was refused,
:class:`AuthenticationError` when sign-in failed; per-function outcomes are returned as
:class:`Result` values so a batch can report each one.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
from lxml import etree

from intacct_sync.errors import (
    AuthenticationError,
    ControlError,
    ErrorDetail,
    IntacctError,
    ProtocolError,
)
from intacct_sync.intacct._columns import Columns, split_page, text_records

__all__ = [
    "Envelope",
    "Function",
    "LoginAuth",
    "Response",
    "Result",
    "SessionAuth",
    "build_request",
    "parse_response",
    "safe_parser",
]

_THROTTLE_CODES = frozenset({"GW-0010"})
# reference §13.7: the company concurrency refusal ("There are too many operations running for
# this company (200024)"), maintenance, the rate limit in a 200 body, the "Please Try Again
# Later" correction. All mean "retry later", at whichever level they arrive (unverified).
_BUSY_RE = re.compile(
    r"too many operations|temporarily off-?line|rate limit exceeded|please try again later", re.I
)
# §13.7: a raw body saying so before any XML (a production SDK checks it before parsing), and
# the Cloudflare edge's HTML error page.
_EDGE_BUSY_RE = re.compile(rb"api rate limit exceeded|cf-error-details", re.I)
# Replays ("already recorded", "in process") are recognised only by the write classifier in
# ``_writes.py``, which requires the function's own control id in the text (reference §13.1); the
# patterns once here matched user data echoed in an error and were removed.
_SNIPPET_BYTES = 120


def safe_parser() -> etree.XMLParser:
    """A parser that refuses entity expansion, DTDs and network access."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
        remove_comments=True,
        remove_pis=True,
    )


@attrs.frozen(kw_only=True)
class LoginAuth:
    """Sign in with a company user (``<login>``); used to get an API session."""

    user_id: str
    company_id: str
    password: str = attrs.field(repr=False)
    entity_id: str | None = None


@attrs.frozen(kw_only=True)
class SessionAuth:
    """Authenticate with an API session id."""

    session_id: str = attrs.field(repr=False)


@attrs.frozen(kw_only=True)
class Function:
    """One ``<function>`` of a request.

    Attributes:
        control_id: the function's ``controlid`` (idempotency key when ``uniqueid`` is true).
        body: the function element (``<readByQuery>``, ``<create>``...).
        is_write: whether it changes data (such functions are retried only when idempotent).
    """

    control_id: str
    body: etree._Element = attrs.field(repr=False, eq=False)
    is_write: bool = False

    @property
    def name(self) -> str:
        """The function's element name (``readByQuery``...)."""
        return str(self.body.tag)


@attrs.frozen(kw_only=True)
class Envelope:
    """Everything in ``<control>`` and ``<operation>`` except the functions."""

    sender_id: str
    sender_password: str = attrs.field(repr=False)
    control_id: str
    unique_id: bool = False
    transaction: bool = False
    include_whitespace: bool = False


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def build_request(
    envelope: Envelope, auth: LoginAuth | SessionAuth, functions: Sequence[Function]
) -> bytes:
    """Serialize a request document.

    Args:
        envelope: control block settings.
        auth: ``<login>`` or ``<sessionid>`` authentication.
        functions: one or more functions, sent in order.

    Returns:
        UTF-8 XML bytes with an XML declaration.
    """
    request = etree.Element("request")
    control = _sub(request, "control")
    _sub(control, "senderid", envelope.sender_id)
    _sub(control, "password", envelope.sender_password)
    _sub(control, "controlid", envelope.control_id)
    _sub(control, "uniqueid", "true" if envelope.unique_id else "false")
    _sub(control, "dtdversion", "3.0")
    _sub(control, "includewhitespace", "true" if envelope.include_whitespace else "false")
    operation = _sub(request, "operation")
    operation.set("transaction", "true" if envelope.transaction else "false")
    authentication = _sub(operation, "authentication")
    if isinstance(auth, LoginAuth):
        login = _sub(authentication, "login")
        _sub(login, "userid", auth.user_id)
        _sub(login, "companyid", auth.company_id)
        _sub(login, "password", auth.password)
        if auth.entity_id is not None:
            _sub(login, "locationid", auth.entity_id)
    else:
        _sub(authentication, "sessionid", auth.session_id)
    content = _sub(operation, "content")
    for fn in functions:
        element = _sub(content, "function")
        element.set("controlid", fn.control_id)
        element.append(_copy(fn.body))
    return bytes(etree.tostring(request, xml_declaration=True, encoding="UTF-8"))


def _copy(element: etree._Element) -> etree._Element:
    # A function body may be sent again (retry of a batch); appending moves an lxml element.
    return element if element.getparent() is None else etree.fromstring(etree.tostring(element))


@attrs.frozen(kw_only=True)
class AuthInfo:
    """What ``operation/authentication`` said about the session."""

    user_id: str = ""
    company_id: str = ""
    entity_id: str = ""
    session_timeout: str = ""


@attrs.frozen(kw_only=True)
class Result:
    """One ``<result>``: a function's outcome.

    Attributes:
        status: ``success``, ``failure`` or ``aborted``.
        function: function name as echoed (``readByQuery``).
        control_id: the function's control id as echoed.
        data: the ``<data>`` element (records are its element children), if any. For a page
            read from its text (``columns`` set) the tree is built only when asked for.
        key: a legacy function's ``<key>`` (``create_sotransaction``).
        errors: the function's errors (a failed write can also carry ``data``).
        columns: a page read from its text (``parse_response(..., page=True)``): field name ->
            one wire value per record; None when the records are only in ``data``.
    """

    status: str
    function: str = ""
    control_id: str = ""
    _data: etree._Element | None = attrs.field(default=None, repr=False, eq=False)
    key: str | None = None
    errors: tuple[ErrorDetail, ...] = ()
    columns: Columns | None = attrs.field(default=None, repr=False, eq=False)
    _tree: _PageTree | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def data(self) -> etree._Element | None:
        """The ``<data>`` element, if any (parsed now for a page read from its text)."""
        return self._data if self._tree is None else self._tree.data()

    @property
    def ok(self) -> bool:
        """True when ``status`` is ``success``."""
        return self.status == "success"

    def _attr(self, name: str) -> str | None:
        # The envelope's <data> has the attributes whether or not its records are in the tree.
        return None if self._data is None else self._data.get(name)

    def _int_attr(self, name: str) -> int | None:
        value = self._attr(name)
        if value is None or value.strip() == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise ProtocolError(f"data attribute {name}={value!r} is not an integer") from None

    @property
    def listtype(self) -> str | None:
        """``data/@listtype``."""
        return self._attr("listtype")

    @property
    def count(self) -> int | None:
        """``data/@count``: records in this page."""
        return self._int_attr("count")

    @property
    def total_count(self) -> int | None:
        """``data/@totalcount``: records across all pages."""
        return self._int_attr("totalcount")

    @property
    def num_remaining(self) -> int | None:
        """``data/@numremaining``: records after this page."""
        return self._int_attr("numremaining")

    @property
    def offset(self) -> int | None:
        """``data/@offset`` (``query`` only)."""
        return self._int_attr("offset")

    @property
    def result_id(self) -> str | None:
        """``data/@resultId`` to continue with ``readMore``; ``None`` when absent or empty."""
        return self._attr("resultId") or None

    @property
    def records(self) -> list[etree._Element]:
        """The record elements: every element child of ``<data>`` (case varies by function)."""
        data = self.data
        return [] if data is None else [el for el in data if isinstance(el.tag, str)]

    @property
    def record_count(self) -> int:
        """How many records the page holds, without building their tree."""
        if self.columns is not None:
            return len(next(iter(self.columns.values()), ()))
        return len(self.records)


class _PageTree:
    """The tree of a page read from its text, built the first time someone asks for it."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._data: etree._Element | None = None
        self._lock = threading.Lock()

    def data(self) -> etree._Element | None:
        with self._lock:
            if self._data is None:
                root = etree.fromstring(self._body, parser=safe_parser())
                self._data = root.find("operation/result/data")
            return self._data


@attrs.frozen(kw_only=True)
class Response:
    """A parsed gateway response whose control and authentication succeeded."""

    control_id: str
    auth: AuthInfo
    results: tuple[Result, ...]


def _error_text(error: ErrorDetail) -> str:
    return f"{error.errorno} {error.description} {error.description2} {error.correction}"


def _text(parent: etree._Element | None, tag: str) -> str:
    if parent is None:
        return ""
    child = parent.find(tag)
    if child is None or child.text is None:
        return ""
    return child.text.strip()


def _errors(parent: etree._Element | None) -> tuple[ErrorDetail, ...]:
    if parent is None:
        return ()
    box = parent.find("errormessage")
    if box is None:
        return ()
    return tuple(
        ErrorDetail(
            errorno=_clean(_text(err, "errorno")),
            description=_clean(_text(err, "description")),
            description2=_clean(_text(err, "description2")),
            correction=_clean(_text(err, "correction")),
        )
        for err in box.iter("error")
    )


def _clean(text: str) -> str:
    # Messages can carry HTML entities escaped twice (&amp;#039;) and URL-encoded support ids.
    return html.unescape(text)


def _snippet(body: bytes) -> str:
    head = body[:_SNIPPET_BYTES].decode("utf-8", "replace")
    return head + ("..." if len(body) > _SNIPPET_BYTES else "")


def parse_response(
    body: bytes,
    *,
    http_status: int = 200,
    retry_after: float | None = None,
    page: bool = False,
) -> Response:
    """Parse a gateway answer, raising for control and authentication failures.

    Args:
        body: the HTTP body.
        http_status: the HTTP status (4xx bodies with XML are parsed like 200s).
        retry_after: the ``Retry-After`` header in seconds, if any.
        page: the answer to one read of a page of records (``query``, ``readByQuery``,
            ``readMore``): a page of uniform flat records is read from its text into
            ``Result.columns``, its tree built only if asked for (the same values, in half
            the time; any other answer is parsed as usual).

    Returns:
        The per-function results.

    Raises:
        ProtocolError: the body is not a gateway response (HTML, truncated, empty); retryable
            for HTTP 5xx and 429.
        ControlError: the request was refused as a whole; retryable for throttling
            (``GW-0010``, "too many operations").
        AuthenticationError: sign-in or session refused.
    """
    if page and _PAGE_TEXT_MIN <= len(body) <= _PAGE_TEXT_MAX:
        found = _page_from_text(body, http_status=http_status, retry_after=retry_after)
        if found is not None:
            return found
    transient = http_status == 429 or http_status >= 500
    # The first bytes only: a page body is large, and a copy of it per check is time.
    if not body[:64].lstrip().startswith(b"<?xml") and _EDGE_BUSY_RE.search(body[:65536]):
        transient = True
    if not body or body.isspace():
        raise ProtocolError(
            f"empty response body (HTTP {http_status})",
            raw=body,
            http_status=http_status,
            should_retry=transient,
        )
    try:
        root = etree.fromstring(body, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ProtocolError(
            f"response is not well-formed XML (HTTP {http_status}, {exc}); it starts with: "
            f"{_snippet(body)!r}",
            raw=body,
            http_status=http_status,
            should_retry=transient,
        ) from None
    if root.tag != "response":
        raise ProtocolError(
            f"expected a <response> document, got <{root.tag!s}> (HTTP {http_status}); it starts "
            f"with: {_snippet(body)!r}",
            raw=body,
            http_status=http_status,
            should_retry=transient,
        )
    control = root.find("control")
    control_id = _text(control, "controlid")
    if control is None:
        raise ProtocolError("response has no <control> block", raw=body, http_status=http_status)
    if _text(control, "status") != "success":
        errors = _errors(root)
        throttled = http_status == 429 or any(
            e.errorno in _THROTTLE_CODES or _BUSY_RE.search(_error_text(e)) for e in errors
        )
        raise ControlError(
            "request refused by the gateway",
            errors=errors,
            control_id=control_id,
            http_status=http_status,
            raw=body,
            should_retry=throttled or transient,
            retry_after=retry_after,
        )
    operation = root.find("operation")
    if operation is None:
        if root.find("acknowledgement") is not None:
            return Response(control_id=control_id, auth=AuthInfo(), results=())
        raise ProtocolError("response has no <operation> block", raw=body, http_status=http_status)
    authentication = operation.find("authentication")
    auth = AuthInfo(
        user_id=_text(authentication, "userid"),
        company_id=_text(authentication, "companyid"),
        entity_id=_text(authentication, "locationid"),
        session_timeout=_text(authentication, "sessiontimeout"),
    )
    if _text(authentication, "status") != "success":
        raise AuthenticationError(
            "authentication failed",
            errors=_errors(operation),
            control_id=control_id,
            http_status=http_status,
            raw=body,
        )
    results = tuple(_result(el) for el in operation.iterfind("result"))
    if results and all(r.status != "success" and _busy(r.errors) for r in results):
        # Every function was turned away for load: nothing ran, so the whole request is
        # retried later, as a control-level refusal is (§13.7 leaves the level unverified).
        raise ControlError(
            "every function was refused as the company is busy",
            errors=[e for r in results for e in r.errors],
            control_id=control_id,
            http_status=http_status,
            raw=body,
            should_retry=True,
            retry_after=retry_after,
        )
    return Response(control_id=control_id, auth=auth, results=results)


# Below this the tree of a page costs less than looking for a shortcut. Above the other, the
# answer goes to the tree parser, whose limit on one text node (libxml2's 10,000,000 without
# huge_tree) refuses what is longer; no value of a shorter answer can be longer than that, so
# the text path accepts nothing the tree parser would refuse for its size.
_PAGE_TEXT_MIN = 8_192
_PAGE_TEXT_MAX = 10_000_000


def _page_from_text(body: bytes, *, http_status: int, retry_after: float | None) -> Response | None:
    # The envelope around the <data> content is parsed as any answer is (the hardened parser,
    # so it is well-formed); the content must be uniform flat records that text_records reads
    # in a grammar leaving no XML rule unchecked (_columns.split_page and text_records say
    # why), and nothing else. Any doubt: None, and the answer is parsed as usual, which also
    # gives the usual errors.
    parts = split_page(body)
    if parts is None:
        return None
    envelope, content = parts
    columns = text_records(content)
    if columns is None:
        return None
    try:
        response = parse_response(envelope, http_status=http_status, retry_after=retry_after)
    except (IntacctError, ProtocolError):
        return None
    if len(response.results) != 1:
        return None
    (result,) = response.results
    if result._data is None or len(result._data) or result._data.text is not None:
        return None
    page = attrs.evolve(result, columns=columns, tree=_PageTree(body))
    return attrs.evolve(response, results=(page,))


def _busy(errors: Sequence[ErrorDetail]) -> bool:
    return bool(errors) and any(_BUSY_RE.search(_error_text(e)) for e in errors)


def _result(element: etree._Element) -> Result:
    key = element.find("key")
    return Result(
        status=_text(element, "status"),
        function=_text(element, "function"),
        control_id=_text(element, "controlid"),
        data=element.find("data"),
        key=None if key is None else (key.text or "").strip(),
        errors=_errors(element),
    )


def value_text(value: Any) -> str:
    """Format a Python value the way generic functions take it (dates ``mm/dd/yyyy``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%m/%d/%Y")
    if isinstance(value, float):
        raise TypeError("binary floats are not accepted as Intacct values; use Decimal or str")
    return str(value)


def element_from_mapping(tag: str, fields: Mapping[str, Any]) -> etree._Element:
    """Build ``<tag>`` from a mapping: scalars become text, mappings nest, lists repeat.

    ``None`` values are left out ("don't touch"); ``""`` sends an empty element ("clear").
    A list value is an owned collection: ``[("GLENTRY", {...}), ...]`` under ``ENTRIES``.
    """
    element = etree.Element(tag)
    _fill(element, fields)
    return element


def _fill(element: etree._Element, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            _fill(_sub(element, name), value)
        elif isinstance(value, list | tuple):
            box = _sub(element, name)
            for item in value:
                if not (
                    isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping)
                ):
                    raise TypeError(f"{name}: collection items must be (tag, mapping) pairs")
                _fill(_sub(box, item[0]), item[1])
        else:
            _sub(element, name, value_text(value))

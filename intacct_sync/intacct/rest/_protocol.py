"""The Intacct REST API's wire format: URLs, JSON bodies, envelopes, paging, errors, 207.

Pure functions only: nothing here sends a request. Every fact cites
``../shared/reference/intacct-rest-api.md`` (§ numbers below). Where the sheet marks a point
unverified the code accepts each plausible answer rather than betting on one:

* page origin (§4, §10.2): the first query omits ``start``; later pages follow ``ia::meta.next``,
  else the answer's own ``start`` plus the rows it returned, so 0- and 1-based servers both work;
* page size (§10.1): asks at most :data:`DEFAULT_PAGE_SIZE` (2,000) unless told otherwise, and
  follows ``next`` when a server returns fewer rows than asked;
* error bodies (§6.2, §10.6): ``ia::error`` nested under ``ia::result``, at the top level, or a
  bare ``error``; token errors as 401 or as a 400 whose text says the token is not valid;
* throttling (§6.3): ``Retry-After`` or the ``X-IA-*-Retry-After`` headers, seconds or a date.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Final
from urllib.parse import quote

import attrs

from intacct_sync import frames
from intacct_sync._http.transport import HttpResponse, parse_retry_after
from intacct_sync.errors import (
    AuthenticationError,
    ControlError,
    ErrorDetail,
    FunctionError,
    InputError,
    IntacctError,
    ProtocolError,
)
from intacct_sync.intacct.rest._filters import filter_to_rest

__all__ = [
    "API_BASE",
    "CACHED_DATE_HEADER",
    "DEFAULT_PAGE_SIZE",
    "ENTITY_HEADER",
    "IDEMPOTENCY_HEADER",
    "MAX_BATCH",
    "MAX_PAGE_SIZE",
    "TRANSACTION_HEADER",
    "ItemResult",
    "QueryPage",
    "error_details",
    "error_object",
    "filter_to_rest",
    "idempotency_key",
    "iso_date",
    "model_kinds",
    "next_start",
    "object_url",
    "parse_items",
    "parse_json",
    "parse_page",
    "query_body",
    "raise_for_status",
    "rest_value",
    "service_url",
]

#: §3: the base of every path (versioned in the path, §1).
API_BASE: Final = "https://api.intacct.com/ia/api/v1"
#: §7.1: records per batch request.
MAX_BATCH: Final = 500
#: §4 / §8: the spec's maximum ``size``; §10.1: a peer claims 2,000, so that is the default.
MAX_PAGE_SIZE: Final = 4000
DEFAULT_PAGE_SIZE: Final = 2000
#: §2.3 (from peers; a misspelt header is silently ignored, §10.14).
ENTITY_HEADER: Final = "X-IA-API-Param-Entity"
#: §7.1: all-or-nothing batches.
TRANSACTION_HEADER: Final = "X-IA-API-Param-Transaction"
#: §7.4
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
CACHED_DATE_HEADER: Final = "x-ia-idempotency-cached-date"
_IDEMPOTENCY_MAX = 256
#: §6.3: retry hints peers read besides Retry-After (names unverified).
RETRY_HEADERS: Final = (
    "Retry-After",
    "X-IA-Throttle-Limit-Retry-After",
    "X-IA-Minute-Rate-Limit-Retry-After",
    "X-IA-Hour-Rate-Limit-Retry-After",
    "X-IA-Tenant-Throttle-Limit-Retry-After",
)
_TOKEN_TEXT = re.compile(r"invalid token|token is not valid|tokeninvalid", re.I)
#: §6.3: a REST 429 body carrying ``GW-0010`` is asserted by a peer only; the company
#: concurrency refusal's REST form is not on record (§8 says the limit applies to REST calls),
#: so its XML wording (intacct-api.md §13.7) and the generic throttling words are recognised
#: in any error body, at any status, as "retry later".
_BUSY_CODES = frozenset({"GW-0010", "tooManyRequests", "rateLimitExceeded"})
_BUSY_TEXT = re.compile(
    r"too many (?:operations|requests|concurrent)|rate limit|concurren\w* (?:limit|request)"
    r"|try again later|temporarily off-?line",
    re.I,
)
#: A quota that resets only after a day, a month or a tier change: waiting in the retry loop
#: cannot help (§8: tier entitlements are monthly; overage is billed, so a hard stop is a
#: company's own setting, wording unverified).
_QUOTA_TEXT = re.compile(r"\b(?:daily|per day|monthly|per month|quota|tier)\b", re.I)


def object_url(base: str, path: str, keys: Sequence[str] | None = None) -> str:
    """``<base>/objects/<app>/<object>[/<k1,k2,...>]`` (§3; batch keys comma-joined, §3).

    Names such as ``document::Sales Order`` are percent-encoded (``%20``), colons kept.
    """
    url = f"{base.rstrip('/')}/objects/{quote(path, safe='/:')}"
    if keys:
        url += "/" + ",".join(quote(str(k), safe="") for k in keys)
    return url


def service_url(base: str, service: str) -> str:
    """``<base>/services/<area>/<name>`` (§3)."""
    return f"{base.rstrip('/')}/services/{service}"


# -- values ------------------------------------------------------------------------------------


def rest_value(value: Any, *, row: object = None, field: str = "") -> Any:
    """A Python value as REST JSON takes it: ISO dates (§3.2), money as a decimal string (§3.2),
    never a binary float.

    Raises:
        InputError: a float, or a value JSON cannot carry.
    """
    kind = type(value)
    if value is None or kind is str or kind is bool:
        return value
    if kind is Decimal:
        return format(value, "f")
    if isinstance(value, bool | str):
        return value
    if isinstance(value, float):
        raise InputError(
            "binary floats are not written to Intacct; use Decimal or str",
            row=row,
            field=field,
            value=value,
        )
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC) if value.tzinfo else value
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise InputError(f"cannot send a {type(value).__name__}", row=row, field=field, value=value)


def iso_date(text: str, *, row: object = None, field: str = "") -> str:
    """A date as REST takes it (``YYYY-MM-DD``, §3.2) from ISO or the XML ``mm/dd/yyyy``.

    Raises:
        InputError: neither form.
    """
    found = _iso_date(text)
    if found is None:
        raise InputError("not a date (YYYY-MM-DD or mm/dd/yyyy)", row=row, field=field, value=text)
    return found


@functools.lru_cache(maxsize=4096)
def _iso_date(text: str) -> str | None:
    # A batch repeats a few dates thousands of times: each is parsed once.
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date().isoformat()  # noqa: DTZ007 - a date
        except ValueError:
            continue
    return None


def query_body(
    obj: str,
    fields: Sequence[str],
    *,
    filters: Sequence[Mapping[str, Any]] = (),
    expression: str | None = None,
    order_by: Sequence[tuple[str, str]] = (),
    start: int | None = None,
    size: int = DEFAULT_PAGE_SIZE,
    case_insensitive: bool = False,
    include_private: bool = False,
) -> dict[str, Any]:
    """The ``POST /services/core/query`` body (§4). ``start=None`` leaves the origin to the
    server; ``filterParameters`` are sent inside their object (top level is rejected, §4).
    """
    if not fields:
        raise InputError("the query service needs at least one field (no wildcard)", field="select")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InputError(f"size must be 1..{MAX_PAGE_SIZE}", field="page_size", value=size)
    body: dict[str, Any] = {"object": obj, "fields": list(fields)}
    if filters:
        body["filters"] = list(filters)
        if expression:
            body["filterExpression"] = expression
    parameters: dict[str, Any] = {}
    if case_insensitive:
        parameters["caseSensitiveComparison"] = False
    if include_private:
        parameters["includePrivate"] = True
    if parameters:
        body["filterParameters"] = parameters
    if order_by:
        body["orderBy"] = [{name: direction} for name, direction in order_by]
    if start is not None:
        body["start"] = start
    body["size"] = size
    return body


# -- answers -----------------------------------------------------------------------------------


def parse_json(body: bytes, *, http_status: int | None = None) -> Any:
    """The JSON document of a body.

    Raises:
        ProtocolError: not JSON (an HTML error page, a truncated answer).
    """
    try:
        return json.loads(body, parse_float=Decimal)
    except ValueError:
        head = body[:120].decode("utf-8", "replace")
        raise ProtocolError(
            f"the REST API answered with something that is not JSON: {head!r}",
            raw=body,
            http_status=http_status,
            should_retry=http_status is not None and http_status >= 500,
        ) from None


@attrs.frozen(kw_only=True)
class QueryPage:
    """One page of the query service: rows keyed by the requested field strings (§4)."""

    rows: list[dict[str, Any]]
    total: int | None
    start: int | None
    page_size: int | None
    next: int | None
    has_next: bool


def parse_page(data: Any) -> QueryPage:
    """Read a query answer (``ia::result`` rows + ``ia::meta`` paging block, §3.1, §4)."""
    if not isinstance(data, Mapping):
        raise ProtocolError("a query answer must be a JSON object")
    rows = data.get("ia::result")
    if rows is None:
        rows = []
    if not isinstance(rows, list) or not (
        set(map(type, rows)) <= {dict} or all(isinstance(r, Mapping) for r in rows)
    ):
        raise ProtocolError("a query answer's ia::result must be a list of rows")
    meta = data.get("ia::meta") or {}
    if not isinstance(meta, Mapping):
        meta = {}
    return QueryPage(
        # JSON rows are fresh dicts already: copied only when a caller passed other mappings.
        rows=rows if set(map(type, rows)) <= {dict} else [dict(r) for r in rows],
        total=_int_or_none(meta.get("totalCount")),
        start=_int_or_none(meta.get("start")),
        page_size=_int_or_none(meta.get("pageSize")),
        next=_int_or_none(meta.get("next")),
        has_next="next" in meta,
    )


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def next_start(page: QueryPage, *, sent_start: int | None, asked: int, fetched: int) -> int | None:
    """Where the next page starts, or None when this page was the last.

    Follows ``meta.next`` when the server gives it (``null`` ends the read). Without a ``next``
    member, the page's own ``start`` (else the one sent; else 1) plus the rows fetched, until a
    page comes back empty or short of both the size asked and the server's page size, or the
    total is reached. ``fetched`` counts rows of the whole read so far.
    """
    n = len(page.rows)
    if page.has_next:
        return page.next if n else None
    if n == 0:
        return None
    if page.total is not None and fetched >= page.total:
        return None
    limit = min(asked, page.page_size) if page.page_size else asked
    if n < limit:
        return None
    origin = page.start if page.start is not None else sent_start if sent_start is not None else 1
    return origin + n


@attrs.frozen(kw_only=True)
class ItemResult:
    """One record's answer inside a batch or composite response (§7.1, §7.2)."""

    ok: bool
    status: int
    key: str | None = None
    id: str | None = None
    errors: tuple[ErrorDetail, ...] = ()
    code: str = ""


def parse_items(data: Any, *, http_status: int, sent: int) -> list[ItemResult]:
    """Per-record results of a batch write, in request order (§7.1: position correlates, since
    successful deletes carry no key).

    A single object (one record sent) and a 207 with one status covering all records (§6.1)
    both spread to ``sent`` items.

    Raises:
        ProtocolError: more results than records sent.
    """
    result = data.get("ia::result") if isinstance(data, Mapping) else None
    if http_status == 204 or result is None:
        return [ItemResult(ok=http_status < 300, status=http_status) for _ in range(sent)]
    items = result if isinstance(result, list) else [result]
    if len(items) > sent:
        raise ProtocolError(f"sent {sent} record(s), got {len(items)} result(s)")
    out: list[ItemResult] = []
    for item in items:
        out.append(_item(item, http_status))
    if len(out) < sent:
        if len(out) == 1:
            out = out * sent
        else:
            raise ProtocolError(f"sent {sent} record(s), got {len(out)} result(s)")
    return out


def _item(item: Any, http_status: int) -> ItemResult:
    if not isinstance(item, Mapping):
        return ItemResult(ok=http_status < 300, status=http_status)
    inner = item.get("ia::result", item)
    status = _int_or_none(item.get("ia::status"))
    error = error_object(item)
    if error is not None:
        details = error_details(error)
        code = str(error.get("code") or "")
        return ItemResult(
            ok=False,
            status=status or (422 if http_status == 207 else http_status),
            errors=details,
            code=code,
        )
    if not isinstance(inner, Mapping):
        inner = {}
    key = inner.get("key")
    ident = inner.get("id")
    return ItemResult(
        ok=True,
        status=status or (200 if http_status == 207 else http_status),
        key=None if key is None else str(key),
        id=None if ident is None else str(ident),
    )


def error_object(data: Any) -> Mapping[str, Any] | None:
    """The ``ia::error`` (or bare ``error``) object of an answer, or None."""
    # §6.2: under ia::result, at the top level, or a bare "error".
    if not isinstance(data, Mapping):
        return None
    for holder in (data.get("ia::result"), data):
        if isinstance(holder, Mapping):
            found = holder.get("ia::error")
            if isinstance(found, Mapping):
                return found
    bare = data.get("error")
    if isinstance(bare, Mapping):
        return bare
    return None


def error_details(error: Mapping[str, Any]) -> tuple[ErrorDetail, ...]:
    """The ``ia::error`` and each of its ``details`` as items of ``IntacctError.errors``:
    ``errorno`` = ``errorId`` (``REST-1064``) else ``code``, ``description`` = ``message``,
    ``description2`` = the code (top) or the ``target`` (details).
    """
    items = [
        ErrorDetail(
            errorno=str(error.get("errorId") or error.get("code") or ""),
            description=str(error.get("message") or ""),
            description2=str(error.get("code") or "") if error.get("errorId") else "",
            correction=str(error.get("supportId") or ""),
        )
    ]
    for detail in error.get("details") or ():
        if isinstance(detail, Mapping):
            items.append(
                ErrorDetail(
                    errorno=str(detail.get("errorId") or detail.get("code") or ""),
                    description=str(detail.get("message") or ""),
                    description2=str(detail.get("target") or ""),
                )
            )
    return tuple(items)


def retry_after(response: HttpResponse) -> float | None:
    """The longest wait any retry header asks for (§6.3), in seconds."""
    waits = [parse_retry_after(response.header(name)) for name in RETRY_HEADERS]
    present = [w for w in waits if w is not None]
    return max(present) if present else None


def raise_for_status(response: HttpResponse, *, what: str, max_wait: float) -> Any:
    """The JSON of a successful answer; a typed error otherwise.

    * 401, or a 400 whose text says the token is not valid (§6.1, §10.6) -> AuthenticationError
      (the client refreshes once and repeats);
    * 429 (§6.3), or any 4xx whose error names throttling or the company's concurrency limit
      (``GW-0010``, the §13.7 wording of the XML sheet) -> ControlError, retryable with the
      server's wait when one is given (``Retry-After`` and the ``X-IA-*`` headers, both
      unverified) and with the policy's backoff when none is; a wait longer than ``max_wait``
      (an hourly or daily limit), or a text naming a daily/monthly/tier quota without a short
      wait, stops instead, saying why;
    * 5xx -> ControlError, retryable; an HTML page -> ProtocolError, retryable;
    * other 4xx -> FunctionError with the ``ia::error`` items.
    """
    status = response.status
    if status == 204:
        return None
    if 200 <= status < 300:
        return parse_json(response.body, http_status=status) if response.body else None
    try:
        data = parse_json(response.body, http_status=status) if response.body else {}
    except ProtocolError:
        if status in (401, 429) or status >= 500:
            data = {}
        else:
            raise
    error = error_object(data)
    details = error_details(error) if error is not None else ()
    code = str(error.get("code") or "") if error is not None else ""
    text = " ".join(f"{d.errorno} {d.description}" for d in details)
    if status == 401 or (status == 400 and (_TOKEN_TEXT.search(text) or code == "tokenInvalid")):
        raise AuthenticationError(
            f"{what}: the access token was refused (HTTP {status})",
            errors=details,
            http_status=status,
            raw=response.body,
        )
    busy = (
        status == 429
        or code in _BUSY_CODES
        or any(d.errorno in _BUSY_CODES for d in details)
        or bool(_BUSY_TEXT.search(f"{code} {text}"))
    )
    if busy and status < 500:
        wait = retry_after(response)
        if _QUOTA_TEXT.search(text) and (wait is None or wait > max_wait):
            raise ControlError(
                f"{what}: Intacct refused the request for a usage limit that a retry cannot "
                f"outwait (HTTP {status}: {text.strip()[:200]}); stopping. Rerun once the "
                "limit resets or the company's tier allows more",
                errors=details,
                http_status=status,
                raw=response.body,
            )
        if wait is not None and wait > max_wait:
            raise ControlError(
                f"{what}: Intacct's rate limit asks to wait {wait:.0f}s, longer than this "
                f"client's retry policy allows ({max_wait:.0f}s); stopping. Rerun after the wait",
                errors=details,
                http_status=status,
                raw=response.body,
            )
        raise ControlError(
            f"{what}: throttled (HTTP {status}); retrying",
            errors=details,
            http_status=status,
            raw=response.body,
            should_retry=True,
            retry_after=wait,
        )
    if status >= 500:
        raise ControlError(
            f"{what}: server error (HTTP {status})",
            errors=details,
            http_status=status,
            raw=response.body,
            should_retry=status in (500, 502, 503, 504),
            retry_after=retry_after(response),
        )
    raise FunctionError(
        f"{what} refused (HTTP {status})",
        function=what,
        status="failure",
        errors=details,
        http_status=status,
        raw=response.body,
    )


def item_error(result: ItemResult, what: str) -> IntacctError:
    """A FunctionError for one failed record of a batch."""
    return FunctionError(
        f"{what} refused (status {result.status})",
        function=what,
        errors=result.errors,
        http_status=result.status,
    )


# -- model service -----------------------------------------------------------------------------

_MODEL_KINDS: Final[Mapping[tuple[str, str], frames.Kind]] = {
    ("string", "date"): "date",
    ("string", "date-time"): "datetime",
    ("string", "decimal-precision-2"): "decimal",
    ("integer", ""): "integer",
    ("number", ""): "decimal",
    ("boolean", ""): "boolean",
}


def model_kinds(model: Any) -> dict[str, frames.Kind]:
    """REST path -> kind from a ``/services/core/model`` answer (§5): fields, groups' fields
    (``audit.modifiedDateTime``), refs' fields (``parent.id``). Unknown type words read as
    text; ``lists`` (owned collections) belong in child frames and are not columns.

    ``number`` reads as decimal: exchange rates and quantities are numbers (§3.2), and a
    decimal column never loses a digit.
    """
    result = model.get("ia::result", model) if isinstance(model, Mapping) else {}
    kinds: dict[str, frames.Kind] = {}
    if not isinstance(result, Mapping):
        return kinds

    def add(prefix: str, fields: Any) -> None:
        if not isinstance(fields, Mapping):
            return
        for name, spec in fields.items():
            if not isinstance(spec, Mapping):
                spec = {}
            kind_word = str(spec.get("type") or "string")
            fmt = str(spec.get("format") or "")
            kinds[prefix + str(name)] = _MODEL_KINDS.get(
                (kind_word, fmt), _MODEL_KINDS.get((kind_word, ""), "text")
            )

    def walk(prefix: str, node: Mapping[str, Any], depth: int) -> None:
        add(prefix, node.get("fields"))
        # §5 shows one level of groups and refs; a group inside a group (a contact's address)
        # or a ref inside a group is the plausible nesting, read to a few levels so a field the
        # model does list is never reported missing.
        for section in ("groups", "refs"):
            groups = node.get(section)
            if isinstance(groups, Mapping) and depth < 4:
                for name, group in groups.items():
                    if isinstance(group, Mapping):
                        walk(f"{prefix}{name}.", group, depth + 1)

    walk("", result, 0)
    return kinds


# -- idempotency -------------------------------------------------------------------------------


def idempotency_key(control_ids: Sequence[str]) -> str:
    """The ``Idempotency-Key`` of one write request (§7.4: at most 256 characters).

    One record: its XML control id itself (``create_control_id``), so both protocols name a
    posting alike. A batch: a digest of its records' control ids in order, so repeating the
    same batch (a retry after a lost answer) replays Intacct's first answer.
    """
    if len(control_ids) == 1 and len(control_ids[0]) <= _IDEMPOTENCY_MAX:
        return control_ids[0]
    digest = hashlib.sha256("\n".join(control_ids).encode()).hexdigest()
    return f"batch-{len(control_ids)}-{digest}"

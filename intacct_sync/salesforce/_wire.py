"""The Salesforce wire codecs: JSON and Bulk 2.0 CSV in and out, and every error-body shape.

Everything here is pure: no I/O, no clock. The client sends what this module builds and hands
back what arrives. Numbers are parsed with ``parse_float=Decimal`` so money never passes through
a binary float; JSON integers in decimal columns become ``Decimal`` exactly as well.

Error bodies come in several shapes and all are read here (``errorCode`` arrays from REST,
``statusCode`` items in collections, ``{error, error_description}`` from OAuth, URL arrays for a
300, ``sf__Error`` CSV columns from Bulk 2.0). Anything that is not JSON where JSON was expected
(an HTML error page from a proxy, a truncated body) becomes a
:class:`~intacct_sync.errors.ProtocolError` quoting its first bytes.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd

from intacct_sync.errors import (
    InputError,
    IntacctSyncError,
    ProtocolError,
    SalesforceAuthenticationError,
    SalesforceError,
    SalesforceErrorDetail,
    SalesforceLimitError,
)

#: records per sObject Collections request (the API's maximum)
COLLECTION_SIZE = 200
#: error codes that mean "the same call may work a little later" (``REQUEST_LIMIT_EXCEEDED``
#: only for a concurrency limit: see :func:`is_concurrency_limit`)
RETRYABLE_CODES = frozenset({"SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"})
LIMIT_CODE = "REQUEST_LIMIT_EXCEEDED"
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
_SNIPPET_BYTES = 120


# --------------------------------------------------------------------------- JSON


def snippet(body: bytes) -> str:
    """The first bytes of a body, for error messages."""
    text = body[:_SNIPPET_BYTES].decode("utf-8", "replace")
    return text + ("..." if len(body) > _SNIPPET_BYTES else "")


def loads(body: bytes, *, http_status: int | None = None) -> Any:
    """Parse a JSON body with exact decimals.

    Raises:
        ProtocolError: the body is not JSON (HTML error page, truncated answer).
    """
    try:
        return json.loads(body.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(
            f"expected JSON from Salesforce, got: {snippet(body)!r}",
            raw=body,
            http_status=http_status,
            should_retry=http_status in _RETRYABLE_STATUS,
        ) from None


def _number_text(value: Decimal | float, row: object, field: str) -> str:
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not number.is_finite():
        raise InputError("NaN and infinity cannot be sent to Salesforce", row=row, field=field)
    return format(number, "f")


def _datetime_text(value: datetime.datetime, row: object, field: str) -> str | datetime.date:
    if value.tzinfo is None or value.utcoffset() is None:
        if value.time() == datetime.time(0):
            # A naive midnight is what a date column of a frame holds: send it as a date.
            return value.date()
        raise InputError(
            "naive datetime: give a timezone (Salesforce datetimes are absolute)",
            row=row,
            field=field,
            value=value,
        )
    utc = value.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _encode(value: Any, out: list[str], row: object, field: str) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal | float):
        out.append(_number_text(value, row, field))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, datetime.datetime):
        text = _datetime_text(value, row, field)
        out.append(json.dumps(text if isinstance(text, str) else text.isoformat()))
    elif isinstance(value, datetime.date):
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out, row, field or str(key))
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, row, field)
        out.append("]")
    else:
        raise InputError(
            f"cannot send a {type(value).__name__} to Salesforce", row=row, field=field, value=value
        )


def dumps(value: Any, *, row: object = None) -> bytes:
    """JSON for a request body: ``Decimal`` as an exact number, dates ISO, datetimes UTC.

    Raises:
        InputError: a value has no JSON form (NaN, a naive non-midnight datetime, an object).
    """
    out: list[str] = []
    _encode(value, out, row, "")
    return "".join(out).encode("utf-8")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def prepare_records(
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Records to send, as dicts; the rules for missing values are documented here.

    * From a DataFrame, a missing cell (``None``, ``NaN``, ``NA``, ``NaT``) is **left out** of
      the record, so the field is not touched.
    * From dicts, ``None`` is kept and **clears** the field; ``NaN``/``NA``/``NaT`` are left out.

    A key called ``attributes`` is dropped (the client sets it).
    """
    if isinstance(records, pd.DataFrame):
        from intacct_sync.frames import frame_to_records

        return [
            {k: v for k, v in rec.items() if v is not None and k != "attributes"}
            for rec in frame_to_records(records)
        ]
    prepared = []
    for rec in records:
        if not isinstance(rec, Mapping):
            raise InputError("records must be mappings or a DataFrame", value=rec)
        prepared.append(
            {
                str(k): v
                for k, v in rec.items()
                if k != "attributes" and (v is None or not _is_missing(v))
            }
        )
    return prepared


# --------------------------------------------------------------------------- errors


def error_details(items: Iterable[Any]) -> list[SalesforceErrorDetail]:
    details = []
    for item in items:
        if isinstance(item, Mapping):
            details.append(
                SalesforceErrorDetail(
                    error_code=str(item.get("errorCode") or item.get("statusCode") or ""),
                    message=str(item.get("message") or ""),
                    fields=tuple(str(f) for f in item.get("fields") or ()),
                )
            )
        else:
            details.append(SalesforceErrorDetail(message=str(item)))
    return details


def error_from_response(
    status: int, body: bytes, *, retry_after: float | None = None
) -> IntacctSyncError:
    """The error a non-2xx answer means; ``should_retry`` set for throttling and outages.

    Returns:
        A :class:`SalesforceAuthenticationError` for 401 and OAuth errors, a
        :class:`SalesforceError` for other JSON error bodies, a :class:`ProtocolError` for a body
        that is not JSON.
    """
    retry_status = status in _RETRYABLE_STATUS
    if not body.strip():
        details = [SalesforceErrorDetail(error_code=f"HTTP_{status}", message="empty body")]
        return _error(status, details, body, retry_status, retry_after)
    try:
        data = loads(body, http_status=status)
    except ProtocolError as exc:
        return exc
    if isinstance(data, Mapping) and "error" in data:
        # OAuth token endpoint: {"error": "invalid_grant", "error_description": "..."}
        detail = SalesforceErrorDetail(
            error_code=str(data.get("error") or ""),
            message=str(data.get("error_description") or ""),
        )
        return SalesforceAuthenticationError(
            [detail],
            http_status=status,
            raw=body,
            should_retry=retry_status,
            retry_after=retry_after,
        )
    if status == 300 and isinstance(data, list) and all(isinstance(u, str) for u in data):
        detail = SalesforceErrorDetail(
            error_code="MULTIPLE_CHOICES",
            message=f"the external id matched {len(data)} records: {', '.join(data)}",
        )
        return _error(status, [detail], body, False, retry_after)
    if isinstance(data, list):
        details = error_details(data)
    elif isinstance(data, Mapping):
        details = error_details([data])
    else:
        details = [SalesforceErrorDetail(message=str(data))]
    return _error(status, details, body, retry_status, retry_after)


def _error(
    status: int,
    details: Sequence[SalesforceErrorDetail],
    body: bytes,
    retry_status: bool,
    retry_after: float | None,
) -> SalesforceError:
    codes = {d.error_code for d in details}
    should_retry = retry_status or bool(codes & RETRYABLE_CODES)
    cls: type[SalesforceError] = SalesforceError
    if status == 401 or "INVALID_SESSION_ID" in codes:
        cls = SalesforceAuthenticationError
    elif LIMIT_CODE in codes:
        limits = [d for d in details if d.error_code == LIMIT_CODE]
        if all(is_concurrency_limit(d.message) for d in limits):
            should_retry = True
        else:
            # The daily allocation: each retry would spend more of a spent limit, and waiting
            # seconds cannot free it (reference/salesforce-api.md §7, §12: never retried blindly).
            cls, should_retry = SalesforceLimitError, False
    return cls(
        details, http_status=status, raw=body, should_retry=should_retry, retry_after=retry_after
    )


def is_concurrency_limit(message: str) -> bool:
    """``REQUEST_LIMIT_EXCEEDED`` for too many requests at once, which frees in seconds.

    The reference records the code (HTTP 403) but not the wording of each variant. The daily
    allocation's message names ``TotalRequests``; the concurrency limits' names begin with
    ``Concurrent`` (``ConcurrentPerOrgLongTxn``). Only a message naming a concurrency limit is
    retried: an unrecognised wording is taken for the daily limit, whose retries would only
    spend requests the org no longer has.
    """
    return "concurrent" in message.lower() and "totalrequests" not in message.lower()


# --------------------------------------------------------------------------- Bulk API 2.0 CSV


def _csv_value(value: Any, row: object, field: str) -> str:
    if value is None:
        return "#N/A"  # Bulk 2.0: an empty cell leaves the field alone; #N/A clears it
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return _number_text(value, row, field)
    if isinstance(value, datetime.datetime):
        text = _datetime_text(value, row, field)
        return text if isinstance(text, str) else text.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise InputError(
        f"cannot send a {type(value).__name__} to Salesforce", row=row, field=field, value=value
    )


def records_to_csv(records: Sequence[Mapping[str, Any]], *, rows: Sequence[int]) -> bytes:
    """CSV for a Bulk 2.0 upload (comma, LF, header of API names).

    A key that is absent from a record gives an empty cell (field untouched); ``None`` gives
    ``#N/A`` (field cleared).
    """
    columns: list[str] = []
    seen: set[str] = set()
    for rec in records:
        for key in rec:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row, rec in zip(rows, records, strict=True):
        writer.writerow([_csv_value(rec[c], row, c) if c in rec else "" for c in columns])
    return buffer.getvalue().encode("utf-8")


def parse_csv(body: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a Bulk 2.0 CSV result (empty body -> no columns, no rows).

    Raises:
        ProtocolError: the body is not UTF-8 CSV.
    """
    try:
        text = body.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""))
        table = [row for row in reader if row]
    except (UnicodeDecodeError, csv.Error):
        raise ProtocolError(f"expected CSV, got: {snippet(body)!r}", raw=body) from None
    if not table:
        return [], []
    header, rows = table[0], table[1:]
    width = len(header)
    if any(len(row) != width for row in rows):
        raise ProtocolError(f"ragged CSV (truncated?): {snippet(body)!r}", raw=body)
    return header, rows


def parse_bulk_error(text: str) -> SalesforceErrorDetail:
    """Read an ``sf__Error`` cell: ``CODE:message:fields --``."""
    text = text.strip()
    code, _, rest = text.partition(":")
    fields: tuple[str, ...] = ()
    if rest.endswith("--"):
        message, sep, tail = rest[:-2].rstrip().rpartition(":")
        if sep:
            fields = tuple(f.strip() for f in tail.split(",") if f.strip())
            rest = message
        else:
            rest = rest[:-2].rstrip()
    return SalesforceErrorDetail(error_code=code, message=rest, fields=fields)

"""The one exception tree of intacct_sync; catch :class:`IntacctSyncError` to catch them all.

::

    IntacctSyncError
    ├── ConfigError                 a setting or credential is missing or malformed
    ├── TransportError              the network failed (.should_retry, .request_sent)
    │   └── RequestTimeout
    ├── ProtocolError               the answer is not what the API speaks (HTML, truncated XML)
    ├── ApiError                    the server answered "no"
    │   ├── IntacctError            (.errors: ErrorDetail items, .control_id)
    │   │   ├── ControlError        the request as a whole was refused
    │   │   ├── AuthenticationError sign-in or session refused
    │   │   └── FunctionError       one function failed (.function, .function_control_id)
    │   └── SalesforceError         (.error_code, .message, .fields, .errors)
    │       └── SalesforceAuthenticationError
    ├── InputError                  a value handed to us is wrong (.row, .field, .value)
    ├── ValidationError             pre-flight checks failed (.report)
    ├── IncompleteWriteError        a batch write stopped part way (.outcomes)
    └── StateError                  the state store is inconsistent or unusable

Every error prints what went wrong and where, and never a secret: raw bodies are kept on
``.raw`` (out of ``repr`` and ``str``) for debugging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigError",
    "ControlError",
    "ErrorDetail",
    "FunctionError",
    "InputError",
    "IncompleteWriteError",
    "IntacctError",
    "IntacctSyncError",
    "ProtocolError",
    "RequestTimeout",
    "SalesforceAuthenticationError",
    "SalesforceError",
    "SalesforceErrorDetail",
    "StateError",
    "TransportError",
    "ValidationError",
]


@attrs.frozen(kw_only=True)
class ErrorDetail:
    """One ``<error>`` of an Intacct ``<errormessage>``.

    ``errorno`` is often free text rather than a code (``Query Failed``), so match on it
    loosely.
    """

    errorno: str = ""
    description: str = ""
    description2: str = ""
    correction: str = ""

    def __str__(self) -> str:
        parts = (self.errorno, self.description, self.description2, self.correction)
        return " ".join(p for p in parts if p)


@attrs.frozen(kw_only=True)
class SalesforceErrorDetail:
    """One item of a Salesforce error list (``errorCode``, ``message``, ``fields``)."""

    error_code: str = ""
    message: str = ""
    fields: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f" (fields: {', '.join(self.fields)})" if self.fields else ""
        return f"{self.error_code}: {self.message}{where}"


class IntacctSyncError(Exception):
    """Root of every error raised by intacct_sync.

    Attributes:
        should_retry: True when repeating the same call may succeed (throttling, a dropped
            connection, a 5xx). The transport's retry loop reads it.
        retry_after: seconds the server asked us to wait, when it said.
    """

    should_retry: bool = False
    retry_after: float | None = None


class ConfigError(IntacctSyncError, ValueError):
    """A setting or credential is missing or malformed."""


class TransportError(IntacctSyncError):
    """The network failed before a complete HTTP answer arrived.

    Attributes:
        method: HTTP method of the failed request.
        url: URL of the failed request (never the body).
        request_sent: False when the request provably never reached the server (connection
            refused, DNS failure), so even a non-idempotent write may be repeated.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        should_retry: bool = True,
        request_sent: bool = True,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.should_retry = should_retry
        self.request_sent = request_sent


class RequestTimeout(TransportError):
    """The server did not answer within the read timeout."""


class ProtocolError(IntacctSyncError):
    """The answer is not in the wire format the API speaks (HTML page, truncated XML...).

    The message quotes the first bytes of the body; the whole body is on ``.raw``.
    """

    def __init__(
        self,
        message: str,
        *,
        raw: bytes = b"",
        http_status: int | None = None,
        should_retry: bool = False,
    ) -> None:
        super().__init__(message)
        self.raw = raw
        self.http_status = http_status
        self.should_retry = should_retry

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, http_status={self.http_status})"


class ApiError(IntacctSyncError):
    """The server understood the request and refused it."""

    system: str = ""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        raw: bytes = b"",
        should_retry: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.raw = raw
        self.should_retry = should_retry
        self.retry_after = retry_after


class IntacctError(ApiError):
    """An Intacct gateway refusal, at the control, authentication or function level.

    Attributes:
        errors: the ``<error>`` items, in order.
        control_id: the request's ``<controlid>``.
    """

    system = "intacct"

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[ErrorDetail] = (),
        control_id: str = "",
        http_status: int | None = None,
        raw: bytes = b"",
        should_retry: bool = False,
        retry_after: float | None = None,
    ) -> None:
        text = message
        if errors:
            text = f"{message}: " + "; ".join(str(e) for e in errors)
        super().__init__(
            text,
            http_status=http_status,
            raw=raw,
            should_retry=should_retry,
            retry_after=retry_after,
        )
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)
        self.control_id = control_id

    @property
    def errornos(self) -> tuple[str, ...]:
        """The ``errorno`` of each error, in order."""
        return tuple(e.errorno for e in self.errors)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r}, control_id={self.control_id!r})"


class ControlError(IntacctError):
    """The gateway refused the whole request (``control/status`` is ``failure``)."""


class AuthenticationError(IntacctError):
    """Sign-in or session refused (``operation/authentication/status`` is ``failure``)."""


class FunctionError(IntacctError):
    """One function of a request failed (``result/status`` is ``failure`` or ``aborted``).

    Attributes:
        function: the function's name (``readByQuery``, ``create``...).
        function_control_id: the ``controlid`` attribute the function was sent with.
        status: ``failure`` or ``aborted``.
    """

    def __init__(
        self,
        message: str,
        *,
        function: str = "",
        function_control_id: str = "",
        status: str = "failure",
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.function = function
        self.function_control_id = function_control_id
        self.status = status


class SalesforceError(ApiError):
    """A Salesforce REST refusal.

    Attributes:
        errors: every error item the response carried.
        error_code: ``errorCode`` of the first error (``MALFORMED_QUERY``...).
        message: ``message`` of the first error.
        fields: ``fields`` of the first error.
    """

    system = "salesforce"

    def __init__(
        self,
        errors: Sequence[SalesforceErrorDetail],
        *,
        http_status: int | None = None,
        raw: bytes = b"",
        should_retry: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.errors: tuple[SalesforceErrorDetail, ...] = tuple(errors)
        first = self.errors[0] if self.errors else SalesforceErrorDetail()
        self.error_code = first.error_code
        self.message = first.message
        self.fields = first.fields
        status = f"HTTP {http_status} " if http_status is not None else ""
        text = f"{status}" + "; ".join(str(e) for e in self.errors) if self.errors else status
        super().__init__(
            text.strip() or "Salesforce error",
            http_status=http_status,
            raw=raw,
            should_retry=should_retry,
            retry_after=retry_after,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(error_code={self.error_code!r}, "
            f"message={self.message!r}, http_status={self.http_status})"
        )


class SalesforceAuthenticationError(SalesforceError):
    """The access token was refused, or a token flow failed."""


class InputError(IntacctSyncError, ValueError):
    """A value handed to intacct_sync is wrong; says which row, field and value.

    Attributes:
        row: the row label or record position, when the value came from a table.
        field: the field or column name.
        value: the offending value (as given).
    """

    def __init__(
        self, message: str, *, row: object = None, field: str = "", value: object = None
    ) -> None:
        where = []
        if row is not None:
            where.append(f"row {row!r}")
        if field:
            where.append(f"field {field!r}")
        if value is not None:
            where.append(f"value {value!r}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.row = row
        self.field = field
        self.value = value


class ValidationError(IntacctSyncError, ValueError):
    """Pre-flight checks failed; nothing was posted. ``.report`` lists every problem."""

    def __init__(self, message: str, *, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class IncompleteWriteError(IntacctSyncError):
    """A batch write stopped part way (the network or the gateway gave up).

    Attributes:
        outcomes: one row per input record: what is known done, failed, or ``unknown``
            (sent but unanswered). Rerunning the same write is safe: records carry
            deterministic control ids, so the gateway refuses to execute any of them twice.
    """

    def __init__(self, message: str, *, outcomes: object) -> None:
        super().__init__(message)
        self.outcomes = outcomes


class StateError(IntacctSyncError):
    """The state store (watermarks, id map, posting ledger) is inconsistent or unusable."""

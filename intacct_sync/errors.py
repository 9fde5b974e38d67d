"""The one exception tree of intacct_sync; catch :class:`IntacctSyncError` to catch them all.

::

    IntacctSyncError
    ├── ConfigError                 a setting or credential is missing or malformed
    │   └── UnsafeUrlError          a URL credentials would go to is refused (also a ProtocolError)
    ├── TransportError              the network failed (.should_retry, .request_sent)
    │   ├── RequestTimeout
    │   │   └── DeadlineExceeded    the whole request took longer than its deadline (.elapsed)
    │   └── GovernorTimeout         no slot of the company's concurrency limit came free in time
    ├── ProtocolError               the answer is not what the API speaks (HTML, truncated XML)
    │   └── ResponseTooLarge        the decoded body passed the size cap (.seen, .limit)
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
        ├── LeaseHeldError          another run holds the run lease (.holder, .host, .pid...)
        └── LeaseLostError          this run's lease was taken over after it expired

Every error prints what went wrong and where, and never a secret: raw bodies are kept on
``.raw`` (out of ``repr`` and ``str``) for debugging, and every message is passed through the
scrubber of :mod:`intacct_sync._http.redact` when the error is made (it installs itself with
:func:`set_message_scrubber`; this module, at the bottom of the layers, imports nothing of ours).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs
import pandas as pd

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigError",
    "ControlError",
    "DeadlineExceeded",
    "ErrorDetail",
    "FunctionError",
    "GovernorTimeout",
    "InputError",
    "IncompleteWriteError",
    "IntacctError",
    "IntacctSyncError",
    "LeaseHeldError",
    "LeaseLostError",
    "ProtocolError",
    "RequestTimeout",
    "ResponseTooLarge",
    "SalesforceAuthenticationError",
    "SalesforceError",
    "SalesforceLimitError",
    "SalesforceErrorDetail",
    "StateError",
    "TransportError",
    "UnsafeUrlError",
    "ValidationError",
]

_scrub_message: Callable[[str], str] | None = None


def set_message_scrubber(scrub: Callable[[str], str]) -> None:
    """Install the function every error message goes through (the redaction module's)."""
    global _scrub_message
    _scrub_message = scrub


def _scrubbed(text: str) -> str:
    scrub = _scrub_message
    return text if scrub is None else scrub(text)


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

    def __init__(self, *args: object) -> None:
        # Messages are built from server answers and user values; scrub them once, here, so
        # str(), repr() and .args all hold the same secret-free text.
        super().__init__(*(_scrubbed(a) if isinstance(a, str) else a for a in args))


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


class DeadlineExceeded(RequestTimeout):
    """The whole request (connect, send, every read) took longer than its total deadline.

    A server that drips a byte just inside the read timeout is cut here.

    Attributes:
        elapsed: seconds spent when the request was cut.
        deadline: the deadline in seconds.
    """

    def __init__(self, message: str, *, elapsed: float, deadline: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.elapsed = elapsed
        self.deadline = deadline


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


class ResponseTooLarge(ProtocolError):
    """The decoded (decompressed) body grew past the transport's cap; reading stopped there.

    Attributes:
        seen: decoded bytes read when reading stopped.
        limit: the cap in bytes (``seen`` passed it), or the cap on the expansion ratio when
            ``wire`` is set.
        wire: bytes received on the wire when a compressed body was refused for expanding
            more than the ratio allows (a compression bomb); None for the size cap.
    """

    def __init__(
        self, message: str, *, seen: int, limit: int, wire: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.seen = seen
        self.limit = limit
        self.wire = wire


class UnsafeUrlError(ConfigError, ProtocolError):
    """A URL that credentials or tokens would be sent to is refused; nothing was sent.

    Raised for a configured URL (plain ``http`` off loopback, userinfo, a backslash, an odd
    port) and for a URL a server handed back (a session endpoint or a next-page locator on
    another host). It is a :class:`ConfigError` and also a :class:`ProtocolError`, so either
    ``except`` catches it.

    Attributes:
        url: the refused URL, with any userinfo removed.
        reason: why it was refused.
    """

    def __init__(self, message: str, *, url: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.url = url
        self.reason = reason


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
        # Shown by repr and read by callers; a server may echo what it was sent.
        self.message = _scrubbed(first.message)
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


class SalesforceLimitError(SalesforceError):
    """``REQUEST_LIMIT_EXCEEDED`` for a limit that waiting seconds will not free (the daily
    ``TotalRequests`` allocation): the run stops at once, nothing is retried.

    The concurrency variants of the same code are retried with backoff instead and never
    raise this. A write stopped by it raises :class:`IncompleteWriteError` whose ``__cause__``
    is this error and whose ``outcomes`` say what was done and what was not sent.

    Attributes:
        used: daily API requests used, from the refusal's ``Sforce-Limit-Info`` (if sent).
        allowed: the daily allocation, from the same header.
    """

    used: int | None = None
    allowed: int | None = None


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
        outcomes: always a pandas DataFrame, one row per input record: what is known done,
            failed, or ``unknown`` (sent but unanswered). A client write gives its outcome
            frame (:mod:`intacct_sync.outcomes`); a workflow gives its report's frame. Rerunning
            the same write is safe: records carry deterministic control ids and the posting
            engine looks in the books before sending anything again.
        report: the workflow's report object when a workflow raised it (None from a client).
    """

    def __init__(self, message: str, *, outcomes: Any, report: object | None = None) -> None:
        super().__init__(message)
        if not isinstance(outcomes, pd.DataFrame):
            raise TypeError(
                f"IncompleteWriteError.outcomes must be a DataFrame, got {type(outcomes).__name__}"
            )
        self.outcomes: pd.DataFrame = outcomes
        self.report = report


class StateError(IntacctSyncError):
    """The state store (watermarks, id map, posting ledger) is inconsistent or unusable."""


class LeaseHeldError(StateError):
    """Another run holds the run lease of this state store and tenant, and did not let go in time.

    Attributes:
        name: the lease (tenant and workflow, e.g. ``ACME/-/actions``).
        holder: who holds it (host, pid and a run id by default).
        host: the holder's host name.
        pid: the holder's process id.
        started_at: when the holder took the lease (UTC).
        expires_at: when the lease expires unless renewed (UTC); a crashed run's lease can be
            taken over after this.
    """

    def __init__(
        self,
        message: str,
        *,
        name: str,
        holder: str,
        host: str,
        pid: int,
        started_at: Any,
        expires_at: Any,
    ) -> None:
        super().__init__(message)
        self.name = name
        self.holder = holder
        self.host = host
        self.pid = pid
        self.started_at = started_at
        self.expires_at = expires_at


class LeaseLostError(StateError):
    """This run's lease expired and another run took it over (renewal came too late)."""


class GovernorTimeout(TransportError):
    """A request waited longer than the governor's ``max_wait`` for a slot; nothing was sent."""

    def __init__(self, message: str, *, waited: float) -> None:
        super().__init__(message, should_retry=False, request_sent=False)
        self.waited = waited

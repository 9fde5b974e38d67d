"""The XML gateway session of :class:`~intacct_sync.IntacctClient`: sign-in, the one
request-sending method (through the company's governor), and result checks.

The client's read and write mixins (:mod:`._xml_types`, :mod:`._xml_reads`,
:mod:`._xml_writes`) are built on :meth:`XmlSession.execute`; a client speaking REST keeps its
REST backend in ``_rest`` and never opens an XML session.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
from lxml import etree

from intacct_sync._http.base import ClientBase
from intacct_sync._http.governor import Governor
from intacct_sync._http.redact import register_secret
from intacct_sync._http.transport import (
    USER_AGENT,
    HttpRequest,
    HttpResponse,
    parse_retry_after,
    send,
)
from intacct_sync._http.urls import check_url, is_local_host, origin, same_origin
from intacct_sync.errors import (
    AuthenticationError,
    ConfigError,
    FunctionError,
    ProtocolError,
    UnsafeUrlError,
)
from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._fields import FieldTypes
from intacct_sync.intacct._protocol import (
    Envelope,
    Function,
    LoginAuth,
    Response,
    Result,
    SessionAuth,
    build_request,
    parse_response,
)

if TYPE_CHECKING:
    from intacct_sync.config import IntacctCredentials
    from intacct_sync.intacct.rest.client import IntacctRestClient

__all__ = ["XmlSession", "child_text", "raise_for_result", "single"]

log = logging.getLogger("intacct_sync.intacct")


@attrs.frozen(kw_only=True)
class _Session:
    session_id: str = attrs.field(repr=False)
    endpoint: str
    entity_id: str


class XmlSession(ClientBase):
    """Sessions and requests of the XML gateway (the base of the client's mixins)."""

    _credentials: IntacctCredentials | None
    _rest: IntacctRestClient | None
    page_size: int
    batch_size: int
    typed: bool
    governor: Governor
    _session: _Session | None
    _session_lock: threading.Lock
    _kinds_cache: dict[str, FieldTypes]

    @property
    def credentials(self) -> IntacctCredentials:
        """The XML gateway's sender and user login.

        Raises:
            AttributeError: this client speaks REST (its OAuth settings are
                :attr:`rest_credentials`).
        """
        if self._credentials is None:
            raise AttributeError(
                "credentials holds the XML gateway's sender login; this client speaks REST "
                "(protocol='rest'): see rest_credentials"
            )
        return self._credentials

    def _xml_only(self, call: str) -> None:
        # Calls the REST API has no counterpart for (reference intacct-rest-api.md §1): a clear
        # refusal naming the call, never a silent approximation.
        if self._rest is not None:
            raise ConfigError(
                f"{call} is an XML gateway call and this client speaks REST (protocol='rest'); "
                "use IntacctClient(protocol='xml') for it, or the REST token's XML session "
                "(rest_backend.xml_session(), docs/xml-or-rest.md)"
            )

    # -- sessions and requests -------------------------------------------------------------

    def _envelope(self, *, unique_id: bool, transaction: bool) -> Envelope:
        return Envelope(
            sender_id=self.credentials.sender_id,
            sender_password=self.credentials.sender_password,
            control_id=uuid.uuid4().hex,
            unique_id=unique_id,
            transaction=transaction,
        )

    def _post(
        self,
        url: str,
        body: bytes,
        *,
        idempotent: bool,
        what: str,
        page: bool = False,
    ) -> Response:
        request = HttpRequest(
            method="POST",
            url=url,
            headers={
                "Content-Type": "application/xml; charset=utf-8",
                "Accept-Encoding": "gzip,deflate",
                "User-Agent": USER_AGENT,
            },
            body=body,
        )

        def check(response: HttpResponse) -> Response:
            return parse_response(
                response.body,
                http_status=response.status,
                retry_after=parse_retry_after(response.header("Retry-After")),
                page=page,
            )

        return send(
            self.governor.wrap(self._transport),  # every request, one slot per attempt
            request,
            timeout=self.timeout,
            retry=self.retry,
            idempotent=idempotent,
            check=check,
            what=what,
            sleep=self._sleep,
        )

    def _login(self) -> _Session:
        c = self.credentials
        auth = LoginAuth(
            user_id=c.user_id,
            company_id=c.company_id,
            password=c.user_password,
            entity_id=c.entity_id,
        )
        body = build_request(
            self._envelope(unique_id=False, transaction=False),
            auth,
            [Function(control_id="sessionProvider", body=fn.get_api_session(c.entity_id))],
        )
        response = self._post(c.endpoint_url, body, idempotent=True, what="intacct getAPISession")
        result = single(response, "getAPISession")
        api = None if result.data is None else result.data.find("api")
        session_id = child_text(api, "sessionid")
        endpoint = child_text(api, "endpoint") or c.endpoint_url
        if not session_id:
            raise ProtocolError("getAPISession answered without a session id")
        register_secret(session_id)
        endpoint = _check_endpoint(endpoint, c.endpoint_url)
        log.info("intacct session opened for %s/%s at %s", c.company_id, c.user_id, endpoint)
        return _Session(
            session_id=session_id, endpoint=endpoint, entity_id=child_text(api, "locationid")
        )

    def _current_session(self, stale: _Session | None = None) -> _Session:
        with self._session_lock:
            if self._session is None or self._session is stale:
                self._session = self._login()
            return self._session

    def execute(
        self,
        functions: Sequence[Function],
        *,
        unique_id: bool = False,
        transaction: bool = False,
        what: str = "intacct request",
    ) -> Response:
        """Send functions in one request and return every result (no per-function raising).

        This is the low-level call the other methods are built on. A request is repeated on
        throttling and network failures only when that is safe: when it writes nothing, or when
        ``unique_id`` makes the gateway refuse to execute a function twice.

        Args:
            functions: the functions to send, with their control ids.
            unique_id: send ``uniqueid=true``: the gateway refuses a control id it already ran.
            transaction: run the functions as one transaction (all or nothing).
            what: what the request is, for logs and errors.

        Returns:
            The parsed response, with one result per function in order.

        Raises:
            ControlError: the request was refused as a whole.
            AuthenticationError: sign-in failed (an expired session is renewed once first).
            TransportError: the network failed and retries ran out.
        """
        self._xml_only("execute")
        return self._execute(functions, unique_id=unique_id, transaction=transaction, what=what)

    def _execute(
        self,
        functions: Sequence[Function],
        *,
        unique_id: bool = False,
        transaction: bool = False,
        what: str,
        page: bool = False,
    ) -> Response:
        # Under uniqueid=true the gateway refuses to run a control id twice, for a time Sage
        # does not document (reference §13.1). The posting engine therefore asks for writes
        # never to be repeated once they may have reached the gateway (never_resend_writes):
        # an unanswered write comes back unknown and the engine looks in the books. Refusals
        # that prove nothing ran (control level, HTTP 429, never sent) are retried either way.
        writes = any(f.is_write for f in functions)
        idempotent = not writes or (unique_id and self.resends_writes)
        session = self._current_session()
        for attempt in (1, 2):
            body = build_request(
                self._envelope(unique_id=unique_id, transaction=transaction),
                SessionAuth(session_id=session.session_id),
                functions,
            )
            try:
                return self._post(
                    session.endpoint, body, idempotent=idempotent, what=what, page=page
                )
            except AuthenticationError:
                if attempt == 2:
                    raise
                log.info("intacct session refused; signing in again")
                session = self._current_session(stale=session)
        raise AssertionError("unreachable")

    def _call(self, body: etree._Element, what: str, *, page: bool = False) -> Result:
        # page: a read of a page of records, which may be read from the answer's text
        # (parse_response(page=True)).
        self._xml_only("execute")
        function = Function(control_id=str(body.tag), body=body)
        response = self._execute([function], what=what, page=page)
        return single(response, str(body.tag))


# -- helpers -----------------------------------------------------------------------------------


def child_text(parent: etree._Element | None, tag: str) -> str:
    if parent is None:
        return ""
    child = parent.find(tag)
    return "" if child is None or child.text is None else child.text.strip()


def single(response: Response, name: str) -> Result:
    if len(response.results) != 1:
        raise ProtocolError(f"{name}: expected one result, got {len(response.results)}")
    result = response.results[0]
    raise_for_result(result)
    return result


def raise_for_result(result: Result) -> None:
    if not result.ok:
        raise FunctionError(
            f"{result.function or 'function'} {result.status}",
            function=result.function,
            function_control_id=result.control_id,
            status=result.status,
            errors=result.errors,
        )


def _check_endpoint(endpoint: str, configured: str) -> str:
    # The session endpoint comes from the server and gets the session id and sender password.
    # intacct-api.md §1 "Endpoint validation": its host must end in .intacct.com (or be the
    # FQDN intacct.com.); or it is the configured gateway itself (the sandbox). Parsed the way
    # requests connects (check_url), since urlsplit reads https://evil\@api.intacct.com/ as
    # api.intacct.com while requests connects to evil (issue 13).
    local = is_local_host(origin(configured)[1])
    try:
        url = check_url(endpoint, allow_loopback_http=local)
    except UnsafeUrlError as exc:
        raise UnsafeUrlError(
            f"getAPISession returned endpoint {exc.url!r} ({exc.reason}); refusing to use it",
            url=exc.url,
            reason=exc.reason,
        ) from None
    scheme, host, _ = origin(url)
    trusted = scheme == "https" and (host == "intacct.com" or host.endswith(".intacct.com"))
    if not (trusted or same_origin(url, configured)):
        raise UnsafeUrlError(
            f"getAPISession returned endpoint {url!r}, which is neither an https "
            f"intacct.com host nor the configured gateway's host; refusing to use it",
            url=url,
            reason="foreign host",
        )
    return url

"""The Sage Intacct XML gateway emulator of the embedded sandbox.

Speaks the gateway's envelopes (``dtdversion`` 3.0) on ``ENDPOINT_PATH``: control, sender and
user authentication, sliding sessions, generic read/write functions, ``uniqueid`` function
control-id idempotency, ``transaction="true"`` rollback, a per-company concurrency limit and
switchable faults. Data lives in SQLite (:mod:`intacct_store`), seeded with two demo companies
(:mod:`intacct_seed`). See ``docs/sandbox-intacct.md`` for what is real and what is synthetic.

>>> gateway = IntacctGateway()  # doctest: +SKIP
>>> server = LoopbackServer(gateway).start()  # doctest: +SKIP

It is long (over 600 lines) because it holds the whole request cycle of the emulated gateway
(envelope, authentication, faults, dispatch, transactions) that each function relies on.
"""

from __future__ import annotations

import collections
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime

import attrs
from lxml import etree

from intacct_sync.sandbox._http import Exchange, Faults, Reply
from intacct_sync.sandbox.intacct.context import Ctx, FnResult, FunctionFailed, ResultSets
from intacct_sync.sandbox.intacct.reads import READ_FUNCTIONS
from intacct_sync.sandbox.intacct.schema import OBJECTS, ObjectDef, get_object
from intacct_sync.sandbox.intacct.seed import ITSERVICES, NONPROFIT, seed_all, seed_gl_entries
from intacct_sync.sandbox.intacct.store import Store, row_dict
from intacct_sync.sandbox.intacct.writes import WRITE_FUNCTIONS
from intacct_sync.sandbox.intacct.xml import (
    CONTENT_TYPE,
    PARSER,
    Err,
    add_errors,
    serialize,
    text_el,
)

__all__ = [
    "ENDPOINT_PATH",
    "SENDER_ID",
    "SENDER_PASSWORD",
    "USER_ID",
    "USER_PASSWORD",
    "GatewayStats",
    "IntacctGateway",
]

log = logging.getLogger("intacct_sync.sandbox.intacct.gateway")

ENDPOINT_PATH = "/ia/xml/xmlgw.phtml"
SENDER_ID = "intacct_sync_sandbox"
SENDER_PASSWORD = "sandbox-sender-secret"  # public sandbox credential
USER_ID = "sandbox_user"
USER_PASSWORD = "sandbox-user-secret"  # public sandbox credential

#: synthetic error numbers (the real replies are undocumented; see docs/sandbox-intacct.md)
DUPLICATE_CONTROLID = "DUPLICATE_CONTROLID"
DUPLICATE_CONTROLID_IN_PROCESS = "DUPLICATE_CONTROLID_IN_PROCESS"
TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
#: reference §13.7 [VENA-TMO]: the wording a connector showed, its bracketed number included
#: (what the number means is not on record; the errorno and level above are synthetic)
TOO_MANY_OPERATIONS_TEXT = "There are too many operations running for this company (200024)"
ROLLED_BACK = Err(
    "XL03000009", "The entire transaction in this operation has been rolled back due to an error."
)
_COMPANY_IDS = {c.upper(): c for c in (NONPROFIT, ITSERVICES)}


@attrs.frozen(kw_only=True)
class GatewayStats:
    """Counters since the gateway started.

    Attributes:
        http_requests: every HTTP request that reached :meth:`IntacctGateway.handle`.
        functions: functions executed, by name (replays refused by ``uniqueid`` and functions
            skipped after a transaction failure are not counted).
        writes_committed: committed write functions (create, update, delete,
            create_sotransaction) that wrote at least one record.
        records_written: records created, updated or deleted by those functions.
        peak_in_flight: per company, the most authenticated requests it had executing at once
            (admitted to a slot; refused ones are not counted).
    """

    http_requests: int
    functions: Mapping[str, int]
    writes_committed: int
    records_written: int
    peak_in_flight: Mapping[str, int] = attrs.field(factory=dict)


@attrs.define(kw_only=True)
class _Session:
    company: str
    user: str
    location: str
    expires: float


@attrs.define(kw_only=True)
class _Auth:
    company: str
    user: str
    location: str
    session: _Session | None


class _ControlFailure(Exception):
    def __init__(self, *errors: Err) -> None:
        super().__init__(errors[0].description2)
        self.errors = errors


class IntacctGateway:
    """The XML gateway emulator (an :class:`~intacct_sync.sandbox._http.App`).

    Args:
        db_path: SQLite file (kept between runs; seeded only when empty); None = in memory.
        seed_anchor: the day the demo data is dated back from (default: today), so runs on the
            same day see the same data.

    Attributes:
        faults: switchable faults (throttle, busy, unavailable, drop after commit, malformed).
        session_ttl: seconds a session lives after its last use (sliding).
        result_ttl: seconds a readByQuery resultId lives after its last use.
        max_concurrent: requests in flight per company before "too many operations" (2: one
            API transaction job and one offline job per company, reference §13.7).
        busy_wait: seconds an extra request is held for a slot before it is refused; the real
            gateway holds a third request about 30 s (§13.7), scaled down here to 0.5 s.
        throttle_retry_after: the ``Retry-After`` header of throttled answers.
        work_delay: seconds each authenticated request holds its slot (and its function control
            ids) before executing; a test hook for concurrency and "in process" replays.
        forget_control_ids: when True, completed function control ids are not remembered: a
            replay runs again (Sage documents no retention period, so a client must be right
            without the gateway's memory). Ids still running are refused as "in process".
    """

    def __init__(self, *, db_path: str | None = None, seed_anchor: date | None = None) -> None:
        self.faults = Faults()
        self.session_ttl = 3600.0
        self.result_ttl = 600.0
        self.max_concurrent = 2
        self.busy_wait = 0.5
        self.throttle_retry_after = "0"
        self.work_delay = 0.0
        self.closed_through: dict[str, date] = {}
        self.forget_control_ids = False
        self.store = Store(db_path)
        if self.store.is_empty():
            with self.store.lock:
                self.store.begin()
                seed_all(self.store, seed_anchor or datetime.now().astimezone().date())
                self.store.commit()
        self._results = ResultSets()
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._slots = threading.Condition()
        self._in_flight: collections.Counter[str] = collections.Counter()
        self._peak_in_flight: collections.Counter[str] = collections.Counter()
        self._in_process: set[tuple[str, str]] = set()
        self._http_requests = 0
        self._functions: collections.Counter[str] = collections.Counter()
        self._writes_committed = 0
        self._records_written = 0
        self._malformed_turn = 0

    # -- inspection API (tests, benchmarks) ---------------------------------------------------

    @property
    def stats(self) -> GatewayStats:
        """A snapshot of the request, function and write counters."""
        with self._lock:
            return GatewayStats(
                http_requests=self._http_requests,
                functions=dict(self._functions),
                writes_committed=self._writes_committed,
                records_written=self._records_written,
                peak_in_flight=self._peak_snapshot(),
            )

    def _peak_snapshot(self) -> dict[str, int]:
        with self._slots:
            return dict(self._peak_in_flight)

    def count(self, company_id: str, object: str, where: Mapping[str, str] | None = None) -> int:
        """Number of ``object`` records in ``company_id`` whose fields equal ``where``'s values
        (exact text, e.g. ``{"STATUS": "active"}``).
        """
        obj = self._obj(object)
        return len(self.store.rows(company_id, obj, where=where))

    def records(self, company_id: str, object: str) -> list[dict[str, str]]:
        """Every ``object`` record of ``company_id`` as field -> text ('' when empty), by
        RECORDNO, custom fields included.
        """
        obj = self._obj(object)
        return [row_dict(obj, r) for r in self.store.rows(company_id, obj)]

    def seed_gl_entries(self, company_id: str, n: int, *, lines_per_batch: int = 10) -> int:
        """Add ``n`` GLENTRY rows to ``company_id`` in balanced GLBATCHes of the GJ journal
        (fast: one transaction, bulk inserts). Returns the number of GLBATCHes added.
        """
        with self.store.lock:
            self.store.begin()
            try:
                batches = seed_gl_entries(self.store, company_id, n, lines_per_batch)
            except BaseException:
                self.store.rollback()
                raise
            self.store.commit()
        return batches

    def journal_entries_by_reference(self, company_id: str) -> dict[str, int]:
        """Number of GLBATCHes per REFERENCENO ('' for none) in ``company_id``."""
        return self.store.group_count(company_id, OBJECTS["GLBATCH"], "REFERENCENO")

    def journal_entries_by_control_id(self, company_id: str) -> dict[str, int]:
        """Number of GLBATCHes per creating function control id ('' for seeded ones)."""
        return self.store.group_count(company_id, OBJECTS["GLBATCH"], "_controlid")

    def expire_sessions(self) -> None:
        """Expire every session (the next call with one gets "Invalid session")."""
        with self._lock:
            self._sessions.clear()

    def expire_results(self) -> None:
        """Expire every readByQuery resultId (readMore then fails)."""
        self._results.expire_all()

    def _obj(self, name: str) -> ObjectDef:
        obj = get_object(name)
        if obj is None:
            raise KeyError(f"unknown object {name!r}")
        return obj

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, exchange: Exchange) -> Reply:
        """Answer one HTTP request to the gateway."""
        with self._lock:
            self._http_requests += 1
        if exchange.method != "POST" or exchange.path.split("?")[0] != ENDPOINT_PATH:
            return _html(404, "Not Found", "The sandbox gateway answers POST " + ENDPOINT_PATH)
        faults = self.faults
        if faults.draw(faults.unavailable_rate):
            return _html(503, "Service Unavailable", "The Service is Temporarily Off-line")
        if faults.draw(faults.throttle_rate):
            root = etree.Element("response")
            text_el(etree.SubElement(root, "control"), "status", "failure")
            err = etree.SubElement(etree.SubElement(root, "errormessage"), "error")
            text_el(err, "errorno", "GW-0010")
            text_el(err, "description", "Rate limit exceeded")
            return Reply(
                status=429,
                body=serialize(root, pretty=True),
                content_type=CONTENT_TYPE,
                headers={"Retry-After": str(self.throttle_retry_after)},
            )
        body, has_write = self._answer(exchange)
        if has_write and faults.draw(faults.drop_after_commit_rate):
            return Reply(drop=True)
        if faults.draw(faults.malformed_rate):
            with self._lock:
                self._malformed_turn += 1
                turn = self._malformed_turn
            if turn % 2:
                return Reply(status=200, body=body[: len(body) // 2], content_type=CONTENT_TYPE)
            return _html(502, "Bad Gateway", "The gateway received an invalid response.")
        return Reply(status=200, body=body, content_type=CONTENT_TYPE)

    def _answer(self, exchange: Exchange) -> tuple[bytes, bool]:
        """The response document, and whether the request held a write function."""
        try:
            root = etree.fromstring(exchange.body, PARSER)
        except etree.XMLSyntaxError as exc:
            return _control_failure({}, _parse_errors(exc)), False
        docinfo = root.getroottree().docinfo
        if docinfo.doctype or docinfo.internalDTD is not None:
            err = Err("XL03000003", "XML Parse schema error: DOCTYPE and entities are not allowed.")
            return _control_failure({}, [err]), False
        control = root.find("control")
        echo = {
            tag: (control.findtext(tag) or "").strip() if control is not None else ""
            for tag in ("senderid", "controlid", "uniqueid", "dtdversion")
        }
        echo["uniqueid"] = echo["uniqueid"] or "true"
        echo["dtdversion"] = echo["dtdversion"] or "3.0"
        pretty = (control.findtext("includewhitespace") if control is not None else None) != "false"
        operation = root.find("operation")
        if root.tag != "request" or control is None or operation is None:
            err = Err("XL03000003", "XML Parse schema error: expected request/control/operation.")
            return _control_failure(echo, [err], pretty), False
        if echo["senderid"] != SENDER_ID or (control.findtext("password") or "") != SENDER_PASSWORD:
            err = Err("XL03000006", "Invalid Web Services Authorization")
            return _control_failure(echo, [err], pretty), False
        functions = [f for f in operation.findall("content/function")]
        has_write = any(_fn_name(f) in WRITE_FUNCTIONS for f in functions)
        if self.faults.draw(self.faults.busy_rate):
            return _control_failure(echo, [_too_many()], pretty), False
        auth_el = operation.find("authentication")
        try:
            auth = self._authenticate(auth_el)
        except _AuthFailure as failure:
            return _auth_failure(echo, failure, pretty), False
        if not self._acquire(auth.company):
            return _control_failure(echo, [_too_many()], pretty), False
        uniqueid = echo["uniqueid"].lower() == "true"
        mine: set[tuple[str, str]] = set()
        try:
            busy: set[str] = set()
            if uniqueid:
                with self._lock:
                    for f in functions:
                        key = (auth.company, f.get("controlid", ""))
                        if key in self._in_process and key not in mine:
                            busy.add(key[1])
                        else:
                            mine.add(key)
                    self._in_process |= mine
            if self.work_delay:
                time.sleep(self.work_delay)
            transaction = operation.get("transaction", "false").lower() == "true"
            host = exchange.header("Host") or "127.0.0.1"
            results = self._run(auth, functions, transaction, uniqueid, busy, host)
        finally:
            with self._lock:
                self._in_process -= mine
            self._release(auth.company)
        return _operation_response(echo, auth, results, self.session_ttl, pretty), has_write

    # -- authentication -----------------------------------------------------------------------

    def _authenticate(self, auth_el: etree._Element | None) -> _Auth:
        if auth_el is None:
            raise _AuthFailure("", "", "Sign-in information is incorrect")
        login = auth_el.find("login")
        if login is not None:
            user = (login.findtext("userid") or "").strip()
            company_in = (login.findtext("companyid") or "").strip()
            location = (login.findtext("locationid") or "").strip()
            company = _COMPANY_IDS.get(company_in.upper())
            ok = (
                company is not None
                and user == USER_ID
                and (login.findtext("password") or "") == USER_PASSWORD
            )
            if not ok or company is None:
                raise _AuthFailure(user, company_in, "Sign-in information is incorrect", location)
            if location and not self._entity_exists(company, location):
                raise _AuthFailure(user, company_in, "Sign-in information is incorrect", location)
            return _Auth(company=company, user=user, location=location, session=None)
        session_id = (auth_el.findtext("sessionid") or "").strip()
        now = time.time()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.expires < now:
                self._sessions.pop(session_id, None)
                raise _AuthFailure("", "", f"Invalid session {session_id[:4]}....", None)
            session.expires = now + self.session_ttl
        return _Auth(
            company=session.company, user=session.user, location=session.location, session=session
        )

    def _entity_exists(self, company: str, location: str) -> bool:
        with self.store.lock:
            return location in self.store.id_status(company, OBJECTS["LOCATION"])

    def _new_session(self, auth: _Auth, location: str) -> tuple[str, _Session]:
        session_id = secrets.token_urlsafe(24) + ".."
        session = _Session(
            company=auth.company,
            user=auth.user,
            location=location,
            expires=time.time() + self.session_ttl,
        )
        with self._lock:
            self._sessions[session_id] = session
        return session_id, session

    # -- concurrency --------------------------------------------------------------------------

    def _acquire(self, company: str) -> bool:
        deadline = time.monotonic() + self.busy_wait
        with self._slots:
            while self._in_flight[company] >= self.max_concurrent:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._slots.wait(left)
            self._in_flight[company] += 1
            self._peak_in_flight[company] = max(
                self._peak_in_flight[company], self._in_flight[company]
            )
            return True

    def _release(self, company: str) -> None:
        with self._slots:
            self._in_flight[company] -= 1
            self._slots.notify_all()

    # -- functions ----------------------------------------------------------------------------

    def _run(
        self,
        auth: _Auth,
        functions: list[etree._Element],
        transaction: bool,
        uniqueid: bool,
        busy: set[str],
        host: str,
    ) -> list[FnResult]:
        store = self.store
        results: list[FnResult] = []
        with store.lock:
            if transaction:
                store.begin()
            failed = False
            for fn in functions:
                if failed:
                    results.append(
                        FnResult(
                            function=_fn_name(fn),
                            controlid=fn.get("controlid", ""),
                            status="aborted",
                            errors=[ROLLED_BACK],
                        )
                    )
                    continue
                result = self._run_one(auth, fn, transaction, uniqueid, busy, host)
                results.append(result)
                if transaction and result.status != "success":
                    store.rollback()
                    failed = True
            if transaction and failed:
                for result in results:
                    result.data, result.key, result.written = None, None, 0
                    if result.status == "success":
                        result.status, result.errors = "aborted", [ROLLED_BACK]
                    elif result.status == "failure":
                        result.errors.append(ROLLED_BACK)
            elif transaction:
                store.commit()
                self._count_writes(results)
        return results

    def _run_one(
        self,
        auth: _Auth,
        fn: etree._Element,
        transaction: bool,
        uniqueid: bool,
        busy: set[str],
        host: str,
    ) -> FnResult:
        name = _fn_name(fn)
        controlid = fn.get("controlid", "")
        store = self.store
        if uniqueid and controlid in busy:
            return _failed(
                name,
                controlid,
                Err(
                    DUPLICATE_CONTROLID_IN_PROCESS,
                    f"A request's function with the control ID {controlid} is in process.",
                ),
            )
        if uniqueid and not self.forget_control_ids and store.was_executed(auth.company, controlid):
            # The real gateway's wording (reference/intacct-api.md §13.1); the errorno is the
            # sandbox's own (synthetic: none is on record).
            return _failed(
                name,
                controlid,
                Err(
                    DUPLICATE_CONTROLID,
                    "A successful transaction has already been recorded with the control id "
                    f"{controlid}",
                ),
            )
        with self._lock:
            self._functions[name] += 1
        ctx = Ctx(
            store=store,
            company=auth.company,
            controlid=controlid,
            now=datetime.now().astimezone().replace(tzinfo=None, microsecond=0),
            results=self._results,
            result_ttl=self.result_ttl,
            closed_through=self.closed_through.get(auth.company),
        )
        body = next((c for c in fn if isinstance(c.tag, str)), None)
        if not transaction:
            store.begin()
        try:
            if body is None:
                raise FunctionFailed(Err("XL03000003", "The function element is empty."))
            if name == "getAPISession":
                result = self._get_api_session(auth, ctx, body, host)
            elif name in READ_FUNCTIONS:
                result = READ_FUNCTIONS[name](ctx, body)
            elif name in WRITE_FUNCTIONS:
                result = WRITE_FUNCTIONS[name](ctx, body)
            else:
                raise FunctionFailed(
                    Err("Unknown function", f"Function {name} is not supported by the sandbox.")
                )
        except FunctionFailed as failed:
            result = FnResult(
                function=name,
                controlid=controlid,
                status="failure",
                data=failed.data,
                errors=failed.errors,
                written=failed.written,
            )
        except Exception as exc:  # the sandbox must answer, even on its own bugs
            log.exception("sandbox function %s failed", name)
            store.rollback()
            if transaction:
                store.begin()
            err = Err("DL02000001", "There was an error processing the request.", "Error")
            return _failed(name, controlid, Err(err.errorno, f"{err.description2} ({exc})"))
        if uniqueid and (result.status == "success" or result.written):
            store.mark_executed(auth.company, controlid, name)
        if not transaction:
            store.commit()
            self._count_writes([result])
        return result

    def _count_writes(self, results: list[FnResult]) -> None:
        with self._lock:
            for result in results:
                if result.written:
                    self._writes_committed += 1
                    self._records_written += result.written

    def _get_api_session(self, auth: _Auth, ctx: Ctx, body: etree._Element, host: str) -> FnResult:
        location = (body.findtext("locationid") or "").strip() or auth.location
        if location and location not in ctx.ids(OBJECTS["LOCATION"]):
            raise FunctionFailed(
                Err("Get API Session Failed", f"Invalid entity (locationid) {location}")
            )
        session_id, _ = self._new_session(auth, location)
        data = etree.Element("data")
        api = etree.SubElement(data, "api")
        text_el(api, "sessionid", session_id)
        text_el(api, "endpoint", f"http://{host}{ENDPOINT_PATH}")
        text_el(api, "locationid", location)
        return FnResult(function="getAPISession", controlid=ctx.controlid, data=data)


class _AuthFailure(Exception):
    def __init__(self, user: str, company: str, message: str, location: str | None = "") -> None:
        super().__init__(message)
        self.user, self.company, self.message, self.location = user, company, message, location


def _fn_name(fn: etree._Element) -> str:
    body = next((c for c in fn if isinstance(c.tag, str)), None)
    return str(body.tag) if body is not None else ""


def _failed(name: str, controlid: str, err: Err) -> FnResult:
    return FnResult(function=name, controlid=controlid, status="failure", errors=[err])


def _too_many() -> Err:
    return Err(TOO_MANY_OPERATIONS, TOO_MANY_OPERATIONS_TEXT)


def _parse_errors(exc: etree.XMLSyntaxError) -> list[Err]:
    entries = list(exc.error_log) or []
    errors = [
        Err(
            "XL03000003",
            f"XML Parse schema error: Fatal Error {e.type}: {e.message.strip()}. "
            f"Line: {e.line}, column: {e.column}.",
        )
        for e in entries
    ]
    return errors or [Err("XL03000003", f"XML Parse schema error: {exc}")]


def _control(root: etree._Element, status: str, echo: Mapping[str, str]) -> None:
    control = etree.SubElement(root, "control")
    text_el(control, "status", status)
    text_el(control, "senderid", echo.get("senderid", ""))
    text_el(control, "controlid", echo.get("controlid", ""))
    text_el(control, "uniqueid", echo.get("uniqueid", "false"))
    text_el(control, "dtdversion", echo.get("dtdversion", "3.0"))


def _control_failure(echo: Mapping[str, str], errors: list[Err], pretty: bool = True) -> bytes:
    root = etree.Element("response")
    _control(root, "failure", echo)
    add_errors(root, errors)
    return serialize(root, pretty=pretty)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def _auth_failure(echo: Mapping[str, str], failure: _AuthFailure, pretty: bool) -> bytes:
    root = etree.Element("response")
    _control(root, "success", echo)
    operation = etree.SubElement(root, "operation")
    auth = etree.SubElement(operation, "authentication")
    text_el(auth, "status", "failure")
    text_el(auth, "userid", failure.user)
    text_el(auth, "companyid", failure.company)
    if failure.location is not None:
        text_el(auth, "locationid", failure.location)
    add_errors(operation, [Err("XL03000006", failure.message)])
    return serialize(root, pretty=pretty)


def _operation_response(
    echo: Mapping[str, str],
    auth: _Auth,
    results: list[FnResult],
    session_ttl: float,
    pretty: bool,
) -> bytes:
    root = etree.Element("response")
    _control(root, "success", echo)
    operation = etree.SubElement(root, "operation")
    block = etree.SubElement(operation, "authentication")
    text_el(block, "status", "success")
    text_el(block, "userid", auth.user)
    text_el(block, "companyid", auth.company)
    text_el(block, "locationid", auth.location)
    now = time.time()
    text_el(block, "sessiontimestamp", _iso(now))
    expires = auth.session.expires if auth.session is not None else now + session_ttl
    text_el(block, "sessiontimeout", _iso(expires))
    for result in results:
        el = etree.SubElement(operation, "result")
        text_el(el, "status", result.status)
        text_el(el, "function", result.function)
        text_el(el, "controlid", result.controlid)
        if result.data is not None:
            el.append(result.data)
        if result.key is not None:
            text_el(el, "key", result.key)
        if result.errors:
            add_errors(el, result.errors)
    return serialize(root, pretty=pretty)


def _html(status: int, title: str, message: str) -> Reply:
    html = etree.Element("html")
    head = etree.SubElement(html, "head")
    text_el(head, "title", f"{status} {title}")
    body = etree.SubElement(html, "body")
    text_el(body, "h1", title)
    text_el(body, "p", message)
    return Reply(
        status=status,
        body=etree.tostring(html, method="html", encoding="UTF-8"),
        content_type="text/html; charset=UTF-8",
    )

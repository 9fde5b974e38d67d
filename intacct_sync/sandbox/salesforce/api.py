"""The Salesforce REST API emulator: OAuth, query, describe, sObject rows, collections,
composite, Bulk API 2.0 and limits, on loopback, backed by SQLite.

>>> from intacct_sync.sandbox._http import LoopbackServer
>>> api = SalesforceApi()  # doctest: +SKIP
>>> server = LoopbackServer(api).start(); api.base_url = server.url  # doctest: +SKIP

Answers have the shapes of the recorded samples in ``conformance/salesforce``. What is seeded,
the SOQL subset and the faults are described in ``docs/sandbox-salesforce.md``.

Longer than 600 lines on purpose: it is the one routing table of the REST surface (every
resource the client calls, with its error answers), read top to bottom beside the reference;
Bulk jobs (:mod:`.bulk`), SOQL (:mod:`.soql`) and storage (:mod:`.store`) are already apart.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import attrs

from intacct_sync.sandbox._http import Exchange, Faults, Reply
from intacct_sync.sandbox.salesforce import schema
from intacct_sync.sandbox.salesforce.auth import (
    CLIENT_ID,
    CLIENT_SECRET,
    JWT_PRIVATE_KEY_PEM,
    JWT_PUBLIC_KEY_PEM,
    ORG_ID,
    REFRESH_TOKEN,
    USERNAME,
    OAuthError,
    TokenAuthority,
)
from intacct_sync.sandbox.salesforce.schema import FieldDef, SObjectDef
from intacct_sync.sandbox.salesforce.soql import (
    ChildPlan,
    CompiledQuery,
    SoqlError,
    build_record,
    compile_query,
)
from intacct_sync.sandbox.salesforce.store import Store, WriteError

__all__ = [
    "API_VERSION",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DAILY_API_LIMIT",
    "JWT_PRIVATE_KEY_PEM",
    "JWT_PUBLIC_KEY_PEM",
    "MIN_API_VERSION",
    "ORG_ID",
    "REFRESH_TOKEN",
    "USERNAME",
    "SalesforceApi",
]

log = logging.getLogger("intacct_sync.sandbox.salesforce")

API_VERSION = "62.0"
MIN_API_VERSION = 46.0
DAILY_API_LIMIT = 15000
DEFAULT_BATCH = 2000
CHILD_BATCH = 200
COLLECTION_LIMIT = 200
COMPOSITE_LIMIT = 25
_MAX_CURSORS = 64

_RELEASES = {
    46: "Summer '19",
    47: "Winter '20",
    48: "Spring '20",
    49: "Summer '20",
    50: "Winter '21",
    51: "Spring '21",
    52: "Summer '21",
    53: "Winter '22",
    54: "Spring '22",
    55: "Summer '22",
    56: "Winter '23",
    57: "Spring '23",
    58: "Summer '23",
    59: "Winter '24",
    60: "Spring '24",
    61: "Summer '24",
    62: "Winter '25",
}
_NOT_FOUND = "The requested resource does not exist"
_ROLLED_BACK = (
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header"
)
_HALTED = "The transaction was rolled back since another operation in the same transaction failed."
_GRAPH_HALTED = (
    "We rolled back the transaction since another operation in the same transaction failed."
)
_LOCKED = "unable to obtain exclusive access to this record"


class ApiError(Exception):
    """An error answer: REST error array with an HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        item: dict[str, Any] = {"message": message, "errorCode": code}
        if fields is not None:
            item["fields"] = list(fields)
        self.body: Any = [item]
        self.headers = dict(headers or {})


@attrs.define
class Out:
    """An answer before it becomes bytes: JSON payload (None: no body) or text."""

    status: int = 200
    payload: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    content_type: str = "application/json;charset=UTF-8"
    text: str | None = None


@attrs.define
class Call:
    """One request inside the REST root (``/services/data/vXX.X/…``)."""

    method: str
    version: str
    parts: list[str]
    params: dict[str, str]
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), "")

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None

    @property
    def root(self) -> str:
        return f"/services/data/v{self.version}"


@attrs.define
class Cursor:
    """A query's evaluated rows, kept for ``nextRecordsUrl`` follow-ups."""

    compiled: CompiledQuery
    rows: list[Sequence[Any]]
    batch: int


@attrs.define
class LoggedRequest:
    """One request as the inspection API records it."""

    method: str
    path: str
    kind: str
    status: int


class SalesforceApi:
    """The Salesforce REST emulator (an ``App`` for :class:`LoopbackServer`).

    Attributes:
        faults: switchable misbehaviour (see ``docs/sandbox-salesforce.md``).
        base_url: the server URL; ``Sandbox.start()`` sets it. Used for ``instance_url``.
        token_ttl: access-token lifetime in seconds.
        stats: requests per endpoint kind (``query``, ``query_more``, ``collections``, …).
        api_usage: REST calls counted against the daily limit (as ``Sforce-Limit-Info``).
        enforce_daily_limit: refuse every REST call once ``api_usage`` reaches
            :data:`DAILY_API_LIMIT` (off by default; tests set ``api_usage`` near the limit).
        request_log: the last 2,000 requests (method, path, kind, status).
    """

    def __init__(self, *, db_path: str | None = None, seed: bool = True) -> None:
        self.faults = Faults()
        self.base_url = "http://127.0.0.1"
        self.store = Store(db_path)
        if self.store.is_empty():
            if seed:
                from intacct_sync.sandbox.salesforce.seed import seed_demo

                seed_demo(self.store)
            else:
                self._seed_user_only()
        else:
            row = self.store.conn.execute(
                'SELECT "Id" FROM sf_User WHERE "Username" = ?', (USERNAME,)
            ).fetchone()
            self.store.default_user_id = row[0] if row else ""
        self.auth = TokenAuthority(user_id=self.store.default_user_id)
        self.stats: collections.Counter[str] = collections.Counter()
        self.api_usage = 0
        self.enforce_daily_limit = False
        self.request_log: collections.deque[LoggedRequest] = collections.deque(maxlen=2000)
        self._lock = threading.Lock()
        self._cursors: collections.OrderedDict[str, Cursor] = collections.OrderedDict()
        self._locator_seq = 0
        from intacct_sync.sandbox.salesforce.bulk import BulkJobs

        self.bulk = BulkJobs(self)

    def _seed_user_only(self) -> None:
        from intacct_sync.sandbox.salesforce.seed import _seed_users

        with self.store.savepoint():
            _seed_users(self.store)

    # -- public helpers -------------------------------------------------------------------------

    @property
    def token_ttl(self) -> float:
        """Access-token lifetime in seconds (default 3600)."""
        return self.auth.token_ttl

    @token_ttl.setter
    def token_ttl(self, seconds: float) -> None:
        self.auth.token_ttl = seconds

    def expire_tokens(self) -> None:
        """Expire every access token now: the next call gets 401 ``INVALID_SESSION_ID``."""
        self.auth.expire_tokens()

    def expire_query_locators(self) -> None:
        """Forget every open query cursor (``INVALID_QUERY_LOCATOR`` on follow-ups)."""
        with self._lock:
            self._cursors.clear()

    def issue_token(self) -> str:
        """A fresh access token without an HTTP round trip (tests, demos)."""
        return str(
            self.auth.grant(
                {
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
                "",
                self.base_url,
            )["access_token"]
        )

    def seed_bulk(self, sobject: str, n: int) -> list[str]:
        """Add ``n`` synthetic ``Opportunity`` (with Account and Owner) or ``Account`` rows."""
        from intacct_sync.sandbox.salesforce import seed as salesforce_seed

        return salesforce_seed.seed_bulk(self.store, sobject, n)

    def count(
        self, sobject: str, where: str | None = None, *, include_deleted: bool = False
    ) -> int:
        """Rows of ``sobject`` matching a SOQL condition (deleted rows only if asked)."""
        soql = f"SELECT COUNT() FROM {sobject}" + (f" WHERE {where}" if where else "")
        compiled = compile_query(soql, include_deleted=include_deleted)
        with self.store.lock:
            return int(self.store.conn.execute(compiled.sql, compiled.params).fetchone()[0])

    def rows(
        self,
        sobject: str,
        where: str | None = None,
        *,
        fields: Sequence[str] | None = None,
        include_deleted: bool = False,
    ) -> list[dict[str, Any]]:
        """Rows of ``sobject`` as plain dicts (API values, no ``attributes``), by Id."""
        obj = _sobject_or_raise(sobject)
        names = list(fields) if fields else list(obj.fields)
        soql = f"SELECT {', '.join(names)} FROM {obj.name}" + (f" WHERE {where}" if where else "")
        return [
            _strip_attributes(r) for r in self.query_records(soql, include_deleted=include_deleted)
        ]

    def query_records(self, soql: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """All records of a SOQL query, as the REST API would return them (one list)."""
        compiled = compile_query(soql, include_deleted=include_deleted)
        with self.store.lock:
            rows = self.store.conn.execute(compiled.sql, compiled.params).fetchall()
            if compiled.mode == "aggregate":
                return self._aggregate_records(compiled, rows)
            if compiled.mode == "count":
                return []
            return self._build(compiled, rows, API_VERSION, DEFAULT_BATCH)

    def insert(self, sobject: str, records: Sequence[Mapping[str, Any]]) -> list[str]:
        """Create records through the validating write path (no HTTP); returns their ids."""
        obj = _sobject_or_raise(sobject)
        with self.store.savepoint():
            return [self.store.create(obj, r) for r in records]

    def reset_stats(self) -> None:
        """Zero :attr:`stats`, :attr:`api_usage` and the request log."""
        with self._lock:
            self.stats.clear()
            self.api_usage = 0
            self.request_log.clear()

    # -- HTTP entry -----------------------------------------------------------------------------

    def handle(self, exchange: Exchange) -> Reply:
        """Answer one request."""
        split = urlsplit(exchange.path)
        path = split.path
        params = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        kind = "other"
        try:
            if self.faults.draw(self.faults.unavailable_rate):
                kind = "fault"
                raise ApiError(
                    503,
                    "SERVER_UNAVAILABLE",
                    "Server temporarily unavailable. Please try again later.",
                )
            if path == "/services/oauth2/token":
                kind = "oauth"
                out = self._oauth(exchange)
            elif path.rstrip("/") == "/services/data":
                kind = "versions"
                out = Out(payload=self._versions())
            elif path.startswith("/services/data/v"):
                out, kind = self._rest(exchange, path, params)
            else:
                raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        except ApiError as err:
            out = Out(status=err.status, payload=err.body, headers=err.headers)
        except Exception as exc:  # an emulator bug must still answer, as Salesforce's 500 does
            log.exception("sandbox error on %s %s", exchange.method, path)
            out = Out(
                status=500,
                payload=[
                    {
                        "errorCode": "UNKNOWN_EXCEPTION",
                        "message": f"An unexpected error occurred: {type(exc).__name__}",
                    }
                ],
            )
        reply = self._reply(out)
        with self._lock:
            self.stats[kind] += 1
            self.request_log.append(LoggedRequest(exchange.method, path, kind, reply.status))
        is_write = exchange.method in {"POST", "PATCH", "PUT", "DELETE"} and kind not in {
            "oauth",
            "fault",
        }
        if is_write and self.faults.draw(self.faults.drop_after_commit_rate):
            return Reply(drop=True)
        if self.faults.draw(self.faults.malformed_rate):
            cut = max(1, len(reply.body) // 2)
            return attrs.evolve(reply, body=reply.body[:cut] or b"{")
        return reply

    def _reply(self, out: Out) -> Reply:
        if out.text is not None:
            body = out.text.encode()
        elif out.status == 204:
            body = b""
        else:
            body = json.dumps(out.payload, ensure_ascii=False, separators=(",", ":")).encode()
        return Reply(
            status=out.status, body=body, content_type=out.content_type, headers=out.headers
        )

    def _rest(self, exchange: Exchange, path: str, params: dict[str, str]) -> tuple[Out, str]:
        match = re.match(r"^/services/data/v(\d+\.\d)(/.*)?$", path)
        if not match:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        version = match.group(1)
        if float(version) < MIN_API_VERSION or float(version) > float(API_VERSION):
            raise ApiError(
                404,
                "NOT_FOUND",
                f"{_NOT_FOUND}: the sandbox serves API versions {MIN_API_VERSION} to {API_VERSION}",
            )
        auth = exchange.header("Authorization")
        token = auth.split(" ", 1)[1].strip() if " " in auth else ""
        if not auth.lower().startswith(("bearer ", "oauth ")) or not self.auth.valid(token):
            return (
                Out(
                    status=401,
                    payload=[
                        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
                    ],
                    headers={"WWW-Authenticate": "Token"},
                ),
                "unauthorized",
            )
        # The reference records the code and HTTP 403, not the wording of either variant: the
        # messages below are synthetic (docs/sandbox-coverage.md). A throttle fault is the
        # transient, concurrent-request kind; the daily allocation is the spent-for-today kind.
        if self.faults.draw(self.faults.throttle_rate):
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
        with self._lock:
            spent = self.enforce_daily_limit and self.api_usage >= DAILY_API_LIMIT
            if not spent:
                self.api_usage += 1
            usage = self.api_usage
        if spent:
            err = ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            err.headers["Sforce-Limit-Info"] = f"api-usage={usage}/{DAILY_API_LIMIT}"
            raise err
        call = Call(
            method=exchange.method,
            version=version,
            parts=[unquote(p) for p in (match.group(2) or "").strip("/").split("/") if p],
            params=params,
            headers=exchange.headers,
            body=exchange.body,
        )
        kind, handler = self._route(call)
        try:
            out = handler(call)
        except ApiError as err:
            out = Out(status=err.status, payload=err.body, headers=err.headers)
        out.headers["Sforce-Limit-Info"] = f"api-usage={usage}/{DAILY_API_LIMIT}"
        return out, kind

    # -- routing --------------------------------------------------------------------------------

    def _route(self, call: Call) -> tuple[str, Callable[[Call], Out]]:
        parts, method = call.parts, call.method
        head = parts[0] if parts else ""
        if not parts and method == "GET":
            return "resources", self._resources
        if head in {"query", "queryAll"} and method == "GET":
            if len(parts) == 1:
                return ("query_all" if head == "queryAll" else "query"), self._query
            return "query_more", self._query_more
        if head == "limits" and method == "GET":
            return "limits", self._limits
        if head == "sobjects":
            if len(parts) == 1 and method == "GET":
                return "describe_global", self._describe_global
            if len(parts) == 2:
                if method == "POST":
                    return "sobject_create", self._create
                if method == "GET":
                    return "sobject_info", self._sobject_info
            if len(parts) == 3 and parts[2] == "describe" and method == "GET":
                return "describe", self._describe
            if len(parts) == 3:
                return f"sobject_{method.lower()}", self._row
            if len(parts) == 4:
                return f"sobject_ext_{method.lower()}", self._row_by_ext
        if head == "composite":
            if len(parts) == 1 and method == "POST":
                return "composite", self._composite
            if len(parts) == 2 and parts[1] == "graph" and method == "POST":
                return "composite_graph", self._graph
            if len(parts) >= 2 and parts[1] == "sobjects":
                return "collections", self._collections
        if head == "jobs" and len(parts) >= 2 and parts[1] in {"ingest", "query"}:
            return f"bulk_{parts[1]}", self.bulk.handle
        return "other", self._not_found

    def _not_found(self, call: Call) -> Out:
        raise ApiError(404, "NOT_FOUND", _NOT_FOUND)

    def dispatch(self, call: Call) -> Out:
        """Run one call inside the REST root without auth or usage accounting (composite)."""
        _, handler = self._route(call)
        try:
            return handler(call)
        except ApiError as err:
            return Out(status=err.status, payload=err.body, headers=err.headers)

    # -- oauth, versions, resources, limits ----------------------------------------------------

    def _oauth(self, exchange: Exchange) -> Out:
        if exchange.method != "POST":
            raise ApiError(
                405, "METHOD_NOT_ALLOWED", "HTTP Method 'GET' not allowed. Allowed are POST"
            )
        form = {k: v[0] for k, v in parse_qs(exchange.body.decode("utf-8", "replace")).items()}
        try:
            body = self.auth.grant(form, exchange.header("Authorization"), self.base_url)
        except OAuthError as err:
            return Out(status=err.status, payload=err.body())
        return Out(payload=body)

    def _versions(self) -> list[dict[str, str]]:
        return [
            {"label": label, "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v, label in _RELEASES.items()
        ]

    def _resources(self, call: Call) -> Out:
        names = [
            "sobjects",
            "query",
            "queryAll",
            "composite",
            "limits",
            "jobs/ingest",
            "jobs/query",
        ]
        return Out(payload={n: f"{call.root}/{n}" for n in names})

    def _limits(self, call: Call) -> Out:
        with self._lock:
            used = self.api_usage
        jobs = self.bulk.query_job_count()
        limits = {
            "ConcurrentAsyncGetReportInstances": (200, 200),
            "ConcurrentSyncReportRuns": (20, 20),
            "DailyApiRequests": (DAILY_API_LIMIT, max(DAILY_API_LIMIT - used, 0)),
            "DailyAsyncApexExecutions": (250000, 250000),
            "DailyBulkApiBatches": (15000, 15000 - self.bulk.batch_count()),
            "DailyBulkApiRequests": (5000, 5000),
            "DailyBulkV2QueryFileStorageMB": (1000000, 1000000),
            "DailyBulkV2QueryJobs": (10000, 10000 - jobs),
            "DataStorageMB": (5, 5),
            "FileStorageMB": (20, 20),
            "HourlyODataCallout": (10000, 10000),
            "SingleEmail": (15, 15),
        }
        return Out(payload={k: {"Max": m, "Remaining": r} for k, (m, r) in limits.items()})

    # -- query ----------------------------------------------------------------------------------

    def _query(self, call: Call) -> Out:
        soql = call.params.get("q", "")
        batch = DEFAULT_BATCH
        options = call.header("Sforce-Query-Options")
        m = re.search(r"batchSize\s*=\s*(\d+)", options)
        if m:
            batch = min(max(int(m.group(1)), 200), DEFAULT_BATCH)
        include_deleted = call.parts[0] == "queryAll"
        try:
            compiled = compile_query(soql, include_deleted=include_deleted)
        except SoqlError as err:
            raise ApiError(400, err.code, err.message) from None
        with self.store.lock:
            rows = self.store.conn.execute(compiled.sql, compiled.params).fetchall()
            if compiled.mode == "count":
                return Out(payload={"totalSize": rows[0][0], "done": True, "records": []})
            if compiled.mode == "aggregate":
                records = self._aggregate_records(compiled, rows)
                return Out(payload={"totalSize": len(records), "done": True, "records": records})
            return Out(payload=self._page(Cursor(compiled, rows, batch), 0, call.version))

    def _query_more(self, call: Call) -> Out:
        m = (
            re.fullmatch(r"(01g[0-9A-Za-z]{15})-(\d+)", call.parts[1])
            if len(call.parts) == 2
            else None
        )
        with self._lock:
            cursor = self._cursors.get(m.group(1)) if m else None
            if cursor is not None and m is not None:
                self._cursors.move_to_end(m.group(1))
        if cursor is None or m is None or int(m.group(2)) >= len(cursor.rows):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        with self.store.lock:
            return Out(payload=self._page(cursor, int(m.group(2)), call.version, m.group(1)))

    def _register(self, cursor: Cursor) -> str:
        with self._lock:
            self._locator_seq += 1
            locator = schema.make_id("01g", self._locator_seq)
            self._cursors[locator] = cursor
            while len(self._cursors) > _MAX_CURSORS:
                self._cursors.popitem(last=False)
        return locator

    def _page(
        self, cursor: Cursor, offset: int, version: str, locator: str | None = None
    ) -> dict[str, Any]:
        rows = cursor.rows[offset : offset + cursor.batch]
        end = offset + len(rows)
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": end >= len(cursor.rows)}
        if not body["done"]:
            locator = locator or self._register(cursor)
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        body["records"] = self._build(cursor.compiled, rows, version, cursor.batch)
        return body

    def _build(
        self, compiled: CompiledQuery, rows: Sequence[Sequence[Any]], version: str, batch: int
    ) -> list[dict[str, Any]]:
        node = compiled.node
        assert node is not None
        root = f"/services/data/v{version}/sobjects/"
        children: dict[str, dict[str, Any]] = {}
        if compiled.children and rows:
            parent_ids = [r[node.id_index] for r in rows]
            for plan in compiled.children:
                children[plan.key] = self._children(plan, parent_ids, version, batch)
        return [build_record(node, row, root, children) for row in rows]

    def _children(
        self, plan: ChildPlan, parent_ids: list[Any], version: str, batch: int
    ) -> dict[str, Any]:
        grouped: dict[str, list[Sequence[Any]]] = {}
        for start in range(0, len(parent_ids), 500):
            chunk = parent_ids[start : start + 500]
            where = plan.sql_where.replace("{marks}", ",".join("?" * len(chunk)))
            sql = f"{plan.sql_head} WHERE {where} {plan.sql_order}"
            for row in self.store.conn.execute(sql, [*chunk, *plan.params]):
                grouped.setdefault(row[plan.fk_index], []).append(row)
        root = f"/services/data/v{version}/sobjects/"
        sub = CompiledQuery(
            mode="records", sobject=plan.node.type, sql="", params=[], node=plan.node
        )
        out: dict[str, Any] = {}
        for parent_id, kid_rows in grouped.items():
            if plan.limit is not None:
                kid_rows = kid_rows[: plan.limit]
            first = kid_rows[:CHILD_BATCH]
            nested: dict[str, Any] = {
                "totalSize": len(kid_rows),
                "done": len(kid_rows) <= CHILD_BATCH,
            }
            if not nested["done"]:
                locator = self._register(Cursor(sub, kid_rows, max(batch, CHILD_BATCH)))
                nested["nextRecordsUrl"] = (
                    f"/services/data/v{version}/query/{locator}-{CHILD_BATCH}"
                )
            nested["records"] = [build_record(plan.node, r, root, {}) for r in first]
            out[parent_id] = nested
        return out

    @staticmethod
    def _aggregate_records(
        compiled: CompiledQuery, rows: Sequence[Sequence[Any]]
    ) -> list[dict[str, Any]]:
        keys = compiled.agg_keys
        out = []
        for row in rows:
            rec: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for (key, convert), value in zip(keys, row, strict=True):
                rec[key] = convert(value)
            out.append(rec)
        return out

    # -- describe -------------------------------------------------------------------------------

    def _describe_global(self, call: Call) -> Out:
        return Out(payload=schema.describe_global(call.version))

    def _describe(self, call: Call) -> Out:
        obj = self._sobject(call.parts[1])
        return Out(payload=schema.describe_sobject(obj, call.version, self.base_url))

    def _sobject_info(self, call: Call) -> Out:
        obj = self._sobject(call.parts[1])
        described = schema.describe_global(call.version)["sobjects"]
        info = next(s for s in described if s["name"] == obj.name)
        return Out(payload={"objectDescribe": info, "recentItems": []})

    @staticmethod
    def _sobject(name: str) -> SObjectDef:
        obj = schema.sobject(name)
        if obj is None:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        return obj

    # -- single rows ----------------------------------------------------------------------------

    def _busy(self) -> bool:
        return self.faults.draw(self.faults.busy_rate)

    def _create(self, call: Call) -> Out:
        obj = self._sobject(call.parts[1])
        body = call.json()
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        if self._busy():
            raise ApiError(400, "UNABLE_TO_LOCK_ROW", _LOCKED, [])
        try:
            with self.store.savepoint():
                new_id = self.store.create(obj, body)
        except WriteError as err:
            raise _write_api_error(err) from None
        return Out(
            status=201,
            payload={"id": new_id, "success": True, "errors": [], "warnings": []},
            headers={"Location": f"{call.root}/sobjects/{obj.name}/{new_id}"},
        )

    def _path_id(self, obj: SObjectDef, raw: str) -> str:
        if schema.looks_like_id(raw):
            if raw[:3] != obj.key_prefix:
                raise ApiError(
                    400, "MALFORMED_ID", f"Record ID: id value of incorrect type: {raw}", ["Id"]
                )
            return schema.normalize_id(raw)
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {raw}",
        )

    def _row(self, call: Call) -> Out:
        obj = self._sobject(call.parts[1])
        record_id = self._path_id(obj, call.parts[2])
        if call.method == "GET":
            return Out(payload=self._get_record(obj, record_id, call))
        if call.method in {"PATCH", "DELETE"}:
            if self._busy():
                raise ApiError(400, "UNABLE_TO_LOCK_ROW", _LOCKED, [])
            try:
                with self.store.savepoint():
                    if call.method == "PATCH":
                        body = call.json()
                        if not isinstance(body, dict):
                            raise ApiError(
                                400, "JSON_PARSER_ERROR", "The request body must be a JSON object"
                            )
                        self.store.update(obj, record_id, body)
                    else:
                        self.store.delete(obj, record_id)
            except WriteError as err:
                if err.code == "INVALID_CROSS_REFERENCE_KEY" and err.status == 404:
                    raise ApiError(404, "NOT_FOUND", _NOT_FOUND) from None
                raise _write_api_error(err) from None
            return Out(status=204)
        raise ApiError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{call.method}' not allowed. Allowed are GET,PATCH,DELETE",
        )

    def _get_record(self, obj: SObjectDef, record_id: str, call: Call) -> dict[str, Any]:
        row = self.store.fetch(obj, record_id)
        if row is None:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        if row["IsDeleted"]:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        return self._record_body(obj, row, call.version, call.params.get("fields"))

    def _record_body(
        self, obj: SObjectDef, row: Mapping[str, Any], version: str, fields: str | None
    ) -> dict[str, Any]:
        values = self.store.to_api(obj, row)
        if fields:
            wanted = []
            for name in fields.split(","):
                f = obj.field(name.strip())
                if f is None:
                    raise ApiError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name.strip()}' on entity '{obj.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    )
                wanted.append(f.name)
            values = {k: values[k] for k in wanted}
        return {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{row['Id']}",
            },
            **values,
        }

    def _ext_field(self, obj: SObjectDef, name: str) -> FieldDef:
        f = obj.field(name)
        if f is None or not (f.external_id or f.id_lookup):
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {name}",
            )
        return f

    def _row_by_ext(self, call: Call) -> Out:
        obj = self._sobject(call.parts[1])
        f = self._ext_field(obj, call.parts[2])
        value = call.parts[3]
        if call.method == "PATCH":
            body = call.json()
            if not isinstance(body, dict):
                raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
            if self._busy():
                raise ApiError(400, "UNABLE_TO_LOCK_ROW", _LOCKED, [])
            try:
                with self.store.savepoint():
                    result = self.store.upsert(obj, f, value, body)
            except WriteError as err:
                raise _write_api_error(err) from None
            if isinstance(result, list):
                return Out(
                    status=300, payload=[f"{call.root}/sobjects/{obj.name}/{i}" for i in result]
                )
            record_id, created = result
            payload = {"id": record_id, "success": True, "errors": [], "created": created}
            if created:
                return Out(
                    status=201,
                    payload=payload,
                    headers={"Location": f"{call.root}/sobjects/{obj.name}/{record_id}"},
                )
            return Out(status=200, payload=payload)
        matches = self.store.find(obj, f, value) if f.name != "Id" else [value]
        if len(matches) > 1:
            return Out(
                status=300, payload=[f"{call.root}/sobjects/{obj.name}/{i}" for i in matches]
            )
        if not matches:
            raise ApiError(404, "NOT_FOUND", _NOT_FOUND)
        if call.method == "GET":
            return Out(payload=self._get_record(obj, matches[0], call))
        if call.method == "DELETE":
            if self._busy():
                raise ApiError(400, "UNABLE_TO_LOCK_ROW", _LOCKED, [])
            try:
                with self.store.savepoint():
                    self.store.delete(obj, matches[0])
            except WriteError as err:
                raise _write_api_error(err) from None
            return Out(status=204)
        raise ApiError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{call.method}' not allowed. Allowed are GET,PATCH,DELETE",
        )

    # -- sObject Collections --------------------------------------------------------------------

    def _collections(self, call: Call) -> Out:
        parts = call.parts
        if call.method == "DELETE" and len(parts) == 2:
            ids = [i for i in call.params.get("ids", "").split(",") if i]
            all_or_none = call.params.get("allOrNone", "false").lower() == "true"
            self._check_count(len(ids))
            return Out(payload=self._run_records(ids, all_or_none, self._delete_one))
        if call.method == "GET" and len(parts) == 3:
            obj = self._sobject(parts[2])
            ids = [i for i in call.params.get("ids", "").split(",") if i]
            self._check_count(len(ids))
            out = []
            for raw in ids:
                row = (
                    self.store.fetch(obj, schema.normalize_id(raw))
                    if schema.looks_like_id(raw)
                    else None
                )
                out.append(
                    None
                    if row is None or row["IsDeleted"]
                    else self._record_body(obj, row, call.version, call.params.get("fields"))
                )
            return Out(payload=out)
        body = call.json()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object with a records array")
        records = body["records"]
        all_or_none = bool(body.get("allOrNone", False))
        self._check_count(len(records))
        if call.method == "POST" and len(parts) == 2:
            return Out(payload=self._run_records(records, all_or_none, self._create_one))
        if call.method == "PATCH" and len(parts) == 2:
            return Out(payload=self._run_records(records, all_or_none, self._update_one))
        if call.method == "PATCH" and len(parts) == 4:
            obj = self._sobject(parts[2])
            f = self._ext_field(obj, parts[3])
            values = [r.get(f.name) if isinstance(r, dict) else None for r in records]
            dupes = {
                str(v).lower()
                for v in values
                if v is not None
                and sum(1 for w in values if w is not None and str(w).lower() == str(v).lower()) > 1
            }

            def upsert(record: Any) -> dict[str, Any]:
                return self._upsert_one(obj, f, record, dupes)

            return Out(payload=self._run_records(records, all_or_none, upsert))
        raise ApiError(404, "NOT_FOUND", _NOT_FOUND)

    @staticmethod
    def _check_count(n: int) -> None:
        if n > COLLECTION_LIMIT:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
            )

    def _run_records(
        self, records: Sequence[Any], all_or_none: bool, one: Callable[[Any], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        with self.store.savepoint() as outer:
            results = []
            for record in records:
                if self._busy():
                    results.append(_failure(record, WriteError("UNABLE_TO_LOCK_ROW", _LOCKED)))
                    continue
                try:
                    with self.store.savepoint():
                        results.append(one(record))
                except WriteError as err:
                    results.append(_failure(record, err))
            if all_or_none and any(not r["success"] for r in results):
                outer.rollback()
                rolled = WriteError("ALL_OR_NONE_OPERATION_ROLLED_BACK", _ROLLED_BACK)
                results = [
                    r if not r["success"] else _failure(r.get("_keep_id"), rolled) for r in results
                ]
        for r in results:
            r.pop("_keep_id", None)
        return results

    def _typed(self, record: Any) -> tuple[SObjectDef, dict[str, Any]]:
        if not isinstance(record, dict):
            raise WriteError("JSON_PARSER_ERROR", "Each record must be a JSON object")
        attributes = record.get("attributes")
        type_name = attributes.get("type") if isinstance(attributes, dict) else None
        obj = schema.sobject(type_name) if isinstance(type_name, str) else None
        if obj is None:
            raise WriteError("INVALID_TYPE", "Must send a concrete entity type.")
        return obj, record

    def _create_one(self, record: Any) -> dict[str, Any]:
        obj, body = self._typed(record)
        return {"id": self.store.create(obj, body), "success": True, "errors": []}

    def _update_one(self, record: Any) -> dict[str, Any]:
        obj, body = self._typed(record)
        raw = body.get("Id")
        if not isinstance(raw, str) or not raw:
            raise WriteError("MISSING_ARGUMENT", "Id not specified in an update call", [])
        if not schema.looks_like_id(raw) or raw[:3] != obj.key_prefix:
            raise WriteError(
                "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}", ["Id"]
            )
        record_id = schema.normalize_id(raw)
        self.store.update(obj, record_id, {k: v for k, v in body.items() if k != "Id"})
        return {"id": record_id, "success": True, "errors": [], "_keep_id": record_id}

    def _upsert_one(
        self, obj: SObjectDef, f: FieldDef, record: Any, dupes: set[str]
    ) -> dict[str, Any]:
        if isinstance(record, dict) and "attributes" not in record:
            record = {"attributes": {"type": obj.name}, **record}
        typed, body = self._typed(record)
        if typed is not obj:
            raise WriteError("INVALID_TYPE", f"Record type {typed.name} does not match {obj.name}")
        value = body.get(f.name)
        if value is None or value == "":
            raise WriteError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
        if str(value).lower() in dupes:
            raise WriteError(
                "DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {value}", [f.name]
            )
        result = self.store.upsert(
            obj, f, str(value), {k: v for k, v in body.items() if k != f.name}
        )
        if isinstance(result, list):
            raise WriteError(
                "DUPLICATE_EXTERNAL_ID",
                f"more than one record found for external id field: {result}",
                [f.name],
            )
        record_id, created = result
        return {"id": record_id, "success": True, "errors": [], "created": created}

    def _delete_one(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, str) or not schema.looks_like_id(raw):
            raise WriteError("MALFORMED_ID", f"malformed id {raw}", [])
        obj = schema.object_for_id(raw)
        if obj is None:
            raise WriteError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        record_id = schema.normalize_id(raw)
        self.store.delete(obj, record_id)
        return {"id": record_id, "success": True, "errors": [], "_keep_id": record_id}

    # -- composite ------------------------------------------------------------------------------

    def _composite(self, call: Call) -> Out:
        body = call.json()
        if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object with compositeRequest")
        subs = body["compositeRequest"]
        if len(subs) > COMPOSITE_LIMIT:
            raise ApiError(
                400,
                "INVALID_BATCH_REQUEST",
                f"Composite request can contain at most {COMPOSITE_LIMIT} subrequests",
            )
        responses, _ = self._run_composite(subs, bool(body.get("allOrNone", False)), call, _HALTED)
        return Out(payload={"compositeResponse": responses})

    def _graph(self, call: Call) -> Out:
        body = call.json()
        if not isinstance(body, dict) or not isinstance(body.get("graphs"), list):
            raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object with graphs")
        graphs = []
        for graph in body["graphs"]:
            subs = graph.get("compositeRequest", []) if isinstance(graph, dict) else []
            if len(subs) > 500:
                raise ApiError(
                    400, "INVALID_BATCH_REQUEST", "A graph can contain at most 500 nodes"
                )
            responses, ok = self._run_composite(subs, True, call, _GRAPH_HALTED)
            graphs.append(
                {
                    "graphId": str(graph.get("graphId", "")) if isinstance(graph, dict) else "",
                    "graphResponse": {"compositeResponse": responses},
                    "isSuccessful": ok,
                }
            )
        return Out(payload={"graphs": graphs})

    def _run_composite(
        self, subs: Sequence[Any], all_or_none: bool, call: Call, halted: str
    ) -> tuple[list[dict[str, Any]], bool]:
        refs: dict[str, Any] = {}
        responses: list[dict[str, Any]] = []
        failed = False
        with self.store.savepoint() as sp:
            for sub in subs:
                ref_id = str(sub.get("referenceId", "")) if isinstance(sub, dict) else ""
                if failed and all_or_none:
                    responses.append(_halted(ref_id, halted))
                    continue
                try:
                    if not isinstance(sub, dict):
                        raise ApiError(
                            400, "JSON_PARSER_ERROR", "Each subrequest must be an object"
                        )
                    out = self._subrequest(sub, refs, call)
                except ApiError as err:
                    out = Out(status=err.status, payload=err.body)
                response = {
                    "body": out.payload,
                    "httpHeaders": {k: v for k, v in out.headers.items() if k == "Location"},
                    "httpStatusCode": out.status,
                    "referenceId": ref_id,
                }
                responses.append(response)
                if out.status < 300:
                    refs[ref_id] = out.payload
                else:
                    failed = True
            if all_or_none and failed:
                sp.rollback()
                responses = [
                    r if r["httpStatusCode"] >= 300 else _halted(r["referenceId"], halted)
                    for r in responses
                ]
        return responses, not failed

    def _subrequest(self, sub: Mapping[str, Any], refs: Mapping[str, Any], call: Call) -> Out:
        method = str(sub.get("method", "GET")).upper()
        url = _substitute_text(str(sub.get("url", "")), refs, url=True)
        body = _substitute_json(sub.get("body"), refs) if "body" in sub else None
        split = urlsplit(url)
        m = re.match(r"^/services/data/v(\d+\.\d)(/.*)?$", split.path)
        if not m:
            raise ApiError(400, "INVALID_URL", f"Invalid URL: {url}")
        params = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        headers = sub.get("httpHeaders") or {}
        subcall = Call(
            method=method,
            version=m.group(1),
            parts=[unquote(p) for p in (m.group(2) or "").strip("/").split("/") if p],
            params=params,
            headers=dict(headers) if isinstance(headers, dict) else {},
            body=json.dumps(body).encode() if body is not None else b"",
        )
        if subcall.parts[:1] == ["composite"] and subcall.parts[1:2] != ["sobjects"]:
            raise ApiError(400, "INVALID_URL", "composite requests cannot be nested")
        return self.dispatch(subcall)


# ---------------------------------------------------------------------------------------------
# helpers


def _sobject_or_raise(name: str) -> SObjectDef:
    obj = schema.sobject(name)
    if obj is None:
        raise KeyError(f"unknown sObject {name!r}")
    return obj


def _strip_attributes(record: Any) -> Any:
    if isinstance(record, dict):
        return {k: _strip_attributes(v) for k, v in record.items() if k != "attributes"}
    return record


def _write_api_error(err: WriteError) -> ApiError:
    status = err.status if err.status != 400 else 400
    api = ApiError(status, err.code, err.message, err.fields)
    if err.code == "INVALID_FIELD" and not err.fields:
        api.body = [{"message": err.message, "errorCode": err.code}]
    return api


def _failure(record: Any, err: WriteError) -> dict[str, Any]:
    out: dict[str, Any] = {"success": False, "errors": [err.record()]}
    keep = (
        record.get("Id")
        if isinstance(record, dict)
        else record
        if isinstance(record, str)
        else None
    )
    if isinstance(keep, str) and schema.looks_like_id(keep):
        out = {"id": schema.normalize_id(keep), **out}
    return out


def _halted(ref_id: str, message: str) -> dict[str, Any]:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": ref_id,
    }


_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")


def _lookup_ref(refs: Mapping[str, Any], ref: str, path: str) -> Any:
    if ref not in refs:
        raise ApiError(
            400,
            "PROCESSING_HALTED",
            f"Invalid reference specified. No value for {ref}.{path} found in {ref}. Provided "
            f"referenceId ('{ref}') does not exist or an earlier subrequest failed.",
        )
    value: Any = refs[ref]
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        try:
            value = value[int(token[1:-1])] if token.startswith("[") else value[token]
        except (KeyError, IndexError, TypeError):
            raise ApiError(
                400,
                "PROCESSING_HALTED",
                f"Invalid reference specified. No value for {ref}.{path} found in {ref}.",
            ) from None
    return value


def _substitute_text(text: str, refs: Mapping[str, Any], *, url: bool = False) -> str:
    def repl(m: re.Match[str]) -> str:
        value = _lookup_ref(refs, m.group(1), m.group(2))
        return quote(str(value), safe="") if url else str(value)

    return _REF_RE.sub(repl, text)


def _substitute_json(value: Any, refs: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        whole = _REF_RE.fullmatch(value)
        if whole:
            return _lookup_ref(refs, whole.group(1), whole.group(2))
        return _substitute_text(value, refs)
    if isinstance(value, list):
        return [_substitute_json(v, refs) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_json(v, refs) for k, v in value.items()}
    return value

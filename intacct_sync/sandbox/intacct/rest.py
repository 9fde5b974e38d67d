"""The Intacct REST API emulator (``/ia/api/v1``) over the XML gateway's store.

Every REST request is translated into the XML gateway's own functions (``query``, ``create``,
``update``, ``delete``, ``create_sotransaction``) and run by :class:`IntacctGateway` against the
same SQLite store, with the same validation, so a journal entry posted over REST reads back over
XML and the reverse. Shapes follow ``../shared/reference/intacct-rest-api.md``: the
``ia::result`` / ``ia::meta`` envelope (§3.1), the query service with ``start``/``size`` paging
(§4), the model service (§5), error bodies (§6.2), batches and 207 (§7.1), composite (§7.2),
idempotency keys (§7.4). What the sheet leaves open is listed as synthetic in
``docs/sandbox-coverage.md`` (REST section); :attr:`IntacctRestApi.page_origin` and
:attr:`IntacctRestApi.max_page_size` switch between the plausible answers for tests.

>>> with sandbox.running() as sb, rest_server(sb.intacct) as api:  # doctest: +SKIP
...     ia = api.client()
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from intacct_sync.sandbox._http import Exchange, Faults, LoopbackServer, Reply
from intacct_sync.sandbox.intacct.gateway import IntacctGateway, _Auth
from intacct_sync.sandbox.intacct.rest_oauth import CLIENT_ID, CLIENT_SECRET, OAuthServer
from intacct_sync.sandbox.intacct.rest_objects import ObjectService
from intacct_sync.sandbox.intacct.rest_wire import (
    _CACHED,
    _TXN_HEADER,
    API_PATH,
    CONCURRENCY_TEXT,
    THROTTLED_TEXT,
    _envelope,
    _Fail,
    _json,
    _substitute,
)
from intacct_sync.sandbox.intacct.seed import ITSERVICES, NONPROFIT

__all__ = ["API_PATH", "IntacctRestApi", "RestServer", "rest_server"]


class IntacctRestApi(ObjectService):
    """The REST front-end (an :class:`~intacct_sync.sandbox._http.App`) over ``gateway``.

    Attributes:
        faults: throttle (429), unavailable (503), drop after commit, latency, drop before.
        page_origin: the first record number of the query service (1 per the spec; 0 is the
            other plausible reading, §10.2).
        max_page_size: largest ``size`` served; larger requests are clamped (§10.1).
        send_total_count: ``ia::meta.totalCount`` on query pages (§3.1, §4 show it); off, to
            test a client that must then follow ``next`` page by page.
        throttle_retry_after: ``Retry-After`` of throttled and concurrency-refused answers;
            None sends none (whether Intacct sends one is unverified, §6.3).
        idempotency_ttl: seconds a key's first answer is replayed (48 h, §7.4).
        requests: requests served, by ``METHOD path-kind``.
    """

    def __init__(self, gateway: IntacctGateway) -> None:
        from intacct_sync.sandbox.intacct import gateway as gw

        self.gateway = gateway
        self.faults = Faults()
        self.oauth = OAuthServer({NONPROFIT: NONPROFIT, ITSERVICES: ITSERVICES}, gw.USER_ID)
        self.page_origin = 1
        self.max_page_size = 4000
        self.send_total_count = True
        self.throttle_retry_after: str | None = "0"
        self.idempotency_ttl = 48 * 3600.0
        self.requests: dict[str, int] = {}
        self._lock = threading.Lock()
        self._idem: dict[tuple[str, str], tuple[str, Reply, float]] = {}

    # -- HTTP ---------------------------------------------------------------------------------

    def handle(self, exchange: Exchange) -> Reply:
        """Answer one HTTP request."""
        parts = urlsplit(exchange.path)
        path = unquote(parts.path)
        if not path.startswith(API_PATH + "/"):
            return _envelope(
                404, {"code": "notFound", "message": "Not found", "errorId": "REST-1001"}
            )
        path = path[len(API_PATH) :]
        kind = "/".join(path.split("/")[:3])
        with self._lock:
            self.requests[f"{exchange.method} {kind}"] = (
                self.requests.get(f"{exchange.method} {kind}", 0) + 1
            )
        if path == "/oauth2/token" and exchange.method == "POST":
            return self.oauth.token(exchange)
        if path == "/oauth2/authorize" and exchange.method == "GET":
            return self.oauth.authorize(exchange)
        grant = self.oauth.bearer(exchange)
        if grant is None:
            refusal = {
                "error": {
                    "code": "tokenInvalid",
                    "message": "The token is not valid",
                    "errorId": "REST-2102",
                }
            }
            return _json(401, refusal)
        if self.faults.draw(self.faults.unavailable_rate):
            return Reply(
                status=503,
                body=b"<html><body>Service Unavailable</body></html>",
                content_type="text/html",
            )
        if self.faults.draw(self.faults.throttle_rate):
            error = {"code": "GW-0010", "message": THROTTLED_TEXT, "errorId": "GW-0010"}
            return _envelope(429, error, self._retry_after())
        entity = exchange.header("X-IA-API-Param-Entity") or grant.entity
        auth = _Auth(company=grant.company, user=grant.user, location=entity, session=None)
        if not self.gateway._acquire(auth.company):
            # §8: the per-company concurrency limit applies to REST calls; its REST answer is
            # not on record: 429 in the §6.2 envelope with the XML wording (synthetic).
            error = {"code": "tooManyRequests", "message": CONCURRENCY_TEXT, "errorId": "GW-0010"}
            return _envelope(429, error, self._retry_after())
        body: Any
        try:
            body = json.loads(exchange.body) if exchange.body else None
        except ValueError:
            self.gateway._release(auth.company)
            return _envelope(
                400,
                {"code": "invalidRequest", "message": "Body is not JSON", "errorId": "REST-1028"},
            )
        try:
            key = exchange.header("Idempotency-Key")
            if key and exchange.method in ("POST", "PATCH"):
                reply = self._idempotent(auth, key, exchange, path, parts.query, body)
            else:
                reply = self._route(auth, exchange.method, path, parts.query, body, exchange)
        finally:
            self.gateway._release(auth.company)
        if (
            exchange.method in ("POST", "PATCH", "DELETE")
            and reply.status < 300
            and self.faults.draw(self.faults.drop_after_commit_rate)
        ):
            return Reply(drop=True)
        return reply

    def _retry_after(self) -> dict[str, str]:
        # Retry-After is read by peers (§6.3, unverified that Intacct sends it): None omits it.
        wait = self.throttle_retry_after
        return {} if wait is None else {"Retry-After": wait}

    def _idempotent(
        self, auth: _Auth, key: str, exchange: Exchange, path: str, query: str, body: Any
    ) -> Reply:
        digest = hashlib.sha256(f"{exchange.method} {path}\n".encode() + exchange.body).hexdigest()
        slot = (auth.company, key)
        with self._lock:
            cached = self._idem.get(slot)
        if cached is not None and cached[2] > time.time() - self.idempotency_ttl:
            if cached[0] != digest:
                return _envelope(
                    409,
                    {
                        "code": "conflict",
                        "message": "The idempotency key was used with a different request",
                        "errorId": "REST-1409",
                    },
                )
            when = datetime.fromtimestamp(cached[2], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            first = cached[1]
            return attrs.evolve(
                first, headers={**first.headers, "Idempotency-Key": key, _CACHED: when}
            )
        reply = self._route(auth, exchange.method, path, query, body, exchange)
        with self._lock:
            self._idem[slot] = (digest, reply, time.time())
        return attrs.evolve(reply, headers={**reply.headers, "Idempotency-Key": key})

    def _route(
        self, auth: _Auth, method: str, path: str, query: str, body: Any, exchange: Exchange | None
    ) -> Reply:
        try:
            if path == "/services/core/query" and method == "POST":
                return self._query(auth, body)
            if path == "/services/core/model" and method == "GET":
                return self._model(parse_qs(query).get("name", [""])[0])
            if path == "/services/core/session/id" and method == "GET":
                return self._session(auth)
            if path == "/services/core/composite" and method == "POST":
                return self._composite(auth, body)
            if path == "/services/company-config/dimensions/list" and method == "GET":
                return self._dimensions()
            if path.startswith("/objects/"):
                transaction = (
                    exchange is not None and exchange.header(_TXN_HEADER).lower() == "true"
                )
                return self._objects(auth, method, path[len("/objects/") :], body, transaction)
        except _Fail as fail:
            return _envelope(fail.status, fail.error)
        return _envelope(
            404,
            {"code": "notFound", "message": f"No resource {method} {path}", "errorId": "REST-1001"},
        )

    # -- services -----------------------------------------------------------------------------

    def _dimensions(self) -> Reply:
        # §3.3 [R-REF-DIMLIST]: the field names are on record; the values of dimensionEndpoint
        # are not (synthetic: the object path under /objects/, docs/sandbox-coverage.md).
        from intacct_sync.sandbox.intacct.reads import _STANDARD_DIMENSIONS
        from intacct_sync.sandbox.intacct.schema import UDDS

        standard = {
            "LOCATION": "company-config/location",
            "DEPARTMENT": "company-config/department",
            "CLASS": "company-config/class",
            "CUSTOMER": "accounts-receivable/customer",
            "ITEM": "inventory-control/item",
        }
        rows = [
            {
                "dimensionName": name,
                "dimensionLabel": label,
                "termName": label,
                "isUserDefinedDimension": False,
                "isEnabledInGL": True,
                "dimensionEndpoint": f"/objects/{standard[name]}",
            }
            for name, label in _STANDARD_DIMENSIONS
        ]
        rows += [
            {
                "dimensionName": name.upper(),
                "dimensionLabel": label,
                "termName": label,
                "isUserDefinedDimension": True,
                "isEnabledInGL": True,
                "dimensionEndpoint": f"/objects/platform-apps/nsp::{name.lower()}",
            }
            for name, label in UDDS.items()
        ]
        return _json(200, {"ia::result": rows, "ia::meta": {"totalCount": len(rows)}})

    def _session(self, auth: _Auth) -> Reply:
        session_id, _ = self.gateway._new_session(auth, auth.location)
        result = {"sessionId": session_id, "expiresIn": int(self.gateway.session_ttl)}
        return _json(
            200,
            {
                "ia::result": result,
                "ia::meta": {"totalCount": 1, "totalSuccess": 1, "totalError": 0},
            },
        )

    def _composite(self, auth: _Auth, body: Any) -> Reply:
        if not isinstance(body, list) or not 2 <= len(body) <= 10:
            raise _Fail(
                400, "invalidRequest", "A composite request takes 2 to 10 sub-requests", "REST-1050"
            )
        results: list[dict[str, Any]] = []
        refs: dict[str, Any] = {}
        failed = False
        for sub in body:
            if failed:
                error = {
                    "code": "unprocessed",
                    "message": "Not processed: atomic transaction failure",
                    "errorId": "REST-1070",
                }
                results.append({"ia::error": error, "ia::status": 422})
                continue
            text = _substitute(json.dumps(sub.get("body")), refs)
            path = urlsplit(str(sub.get("path", "")))
            reply = self._route(
                auth,
                str(sub.get("method", "GET")).upper(),
                unquote(path.path),
                path.query,
                json.loads(text),
                None,
            )
            answer = json.loads(reply.body) if reply.body else {}
            item = {**answer, "ia::status": reply.status}
            results.append(item)
            if reply.status >= 400:
                failed = True
            elif sub.get("resultReference"):
                refs[str(sub["resultReference"])] = answer.get("ia::result")
        ok = sum(1 for r in results if r["ia::status"] < 400)
        meta = {"totalCount": len(results), "totalSuccess": ok, "totalError": len(results) - ok}
        return _json(207 if failed else 200, {"ia::result": results, "ia::meta": meta})

    # -- objects ------------------------------------------------------------------------------

    def client(self, base_url: str, company: str = NONPROFIT, **options: Any) -> Any:
        """An :class:`~intacct_sync.intacct.rest.IntacctRestClient` on the client-credentials
        grant of the sandbox user of ``company``.
        """
        from intacct_sync.intacct.rest import IntacctRestClient
        from intacct_sync.sandbox.intacct import gateway as gw

        return IntacctRestClient(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            company_id=company,
            user_id=gw.USER_ID,
            base_url=base_url + API_PATH,
            **options,
        )


@contextmanager
def rest_server(gateway: IntacctGateway) -> Iterator[RestServer]:
    """Serve the REST API over ``gateway``'s store on a second loopback port."""
    api = IntacctRestApi(gateway)
    server = LoopbackServer(api).start()
    try:
        yield RestServer(api=api, url=server.url)
    finally:
        server.stop()


@attrs.frozen(kw_only=True)
class RestServer:
    """A running REST front-end: the app (faults, knobs) and its base URL."""

    api: IntacctRestApi
    url: str

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/ia/api/v1``."""
        return self.url + API_PATH

    def client(self, company: str = NONPROFIT, **options: Any) -> Any:
        """A REST client on the client-credentials grant (see :meth:`IntacctRestApi.client`)."""
        return self.api.client(self.url, company, **options)

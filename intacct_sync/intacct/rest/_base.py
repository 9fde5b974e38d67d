"""The REST client's base: OAuth-signed requests through the company's governor, the model
service's types (cached per company) and the XML -> REST object resolution.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync._http.base import ClientBase
from intacct_sync._http.governor import Governor, governor_for
from intacct_sync._http.redact import register_secret
from intacct_sync._http.retry import DEFAULT_RETRY, RetryPolicy
from intacct_sync._http.transport import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    HttpRequest,
    HttpResponse,
    Timeout,
    Transport,
    send,
)
from intacct_sync.arrow import DtypeBackend, backend_converter
from intacct_sync.errors import (
    AuthenticationError,
    ControlError,
    InputError,
    IntacctSyncError,
)
from intacct_sync.intacct._fields import LOOKUP_COLUMNS
from intacct_sync.intacct.rest import _names
from intacct_sync.intacct.rest import _protocol as wire
from intacct_sync.intacct.rest._names import RestField, RestObject
from intacct_sync.intacct.rest._oauth import (
    AuthorizationCode,
    ClientCredentials,
    OAuthApp,
    OAuthSession,
    TokenCache,
    compose_username,
)

__all__ = ["RestBase"]


log = logging.getLogger("intacct_sync.intacct.rest")

_STANDARD_DIMENSIONS = frozenset(
    {"location", "department", "class", "customer", "vendor", "employee", "item", "project"}
    | {"contract", "warehouse", "task"}
)
_KIND_WORDS: Mapping[frames.Kind, str] = {
    "text": "TEXT",
    "integer": "INTEGER",
    "decimal": "DECIMAL",
    "float": "DECIMAL",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "timestamp": "TIMESTAMP",
}


class RestBase(ClientBase):
    """Requests, types and object names of :class:`~intacct_sync.intacct.rest.IntacctRestClient`
    (its constructor arguments are documented there).
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | None = None,
        company_id: str | None = None,
        user_id: str | None = None,
        entity_id: str | None = None,
        entity_in_token: bool = False,
        grant: ClientCredentials | AuthorizationCode | None = None,
        base_url: str = wire.API_BASE,
        token_cache: TokenCache | None = None,
        transport: Transport | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = wire.DEFAULT_PAGE_SIZE,
        batch_size: int = wire.MAX_BATCH,
        typed: bool = True,
        governor: Governor | None = None,
    ) -> None:
        super().__init__(transport=transport, timeout=timeout, retry=retry, sleep=sleep)
        if not 1 <= batch_size <= wire.MAX_BATCH:
            raise InputError(
                f"batch_size must be 1..{wire.MAX_BATCH}", field="batch_size", value=batch_size
            )
        if not 1 <= page_size <= wire.MAX_PAGE_SIZE:
            raise InputError(
                f"page_size must be 1..{wire.MAX_PAGE_SIZE}", field="page_size", value=page_size
            )
        if grant is None:
            if not (company_id and user_id):
                raise InputError("client credentials need company_id and user_id", field="grant")
            grant = ClientCredentials(
                username=compose_username(
                    user_id, company_id, entity_id if entity_in_token else None
                )
            )
        self.base_url = base_url.rstrip("/")
        self.company_id = company_id or ""
        self.entity_id = None if entity_in_token else entity_id
        self.page_size = page_size
        self.batch_size = batch_size
        self.typed = typed
        self.oauth = OAuthSession(
            OAuthApp(client_id=client_id, client_secret=client_secret, base_url=self.base_url),
            grant,
            transport=self._transport,
            cache=token_cache,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
        )
        self._models: dict[str, dict[str, frames.Kind]] = {}
        self._statistical: dict[str, bool] = {}
        self._idempotence: dict[str, bool] = {}
        self._dimension_rows: list[Mapping[str, Any]] | None = None
        self._model_answers: dict[str, Any] = {}
        self._udd_targets: dict[int, tuple[RestObject, RestObject]] = {}
        self.governor = governor or governor_for("intacct", self.company_id)

    def __repr__(self) -> str:
        entity = f", entity_id={self.entity_id!r}" if self.entity_id else ""
        return (
            f"IntacctRestClient(company_id={self.company_id!r}{entity}, base_url={self.base_url!r})"
        )

    # -- requests ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        what: str,
    ) -> tuple[HttpResponse, Any]:
        """Send one API request with a bearer token; one refresh and repeat on a 401.

        Args:
            method: the HTTP method.
            url: the full URL.
            body: the JSON body, or None.
            headers: extra headers (e.g. ``Idempotency-Key``).
            idempotent: whether the request may be repeated after a lost answer.
            what: what the request does, for log lines and errors.

        Returns:
            The response and its JSON (None for 204). Non-2xx answers raise.

        Raises:
            AuthenticationError: the token was refused again after one refresh.
            FunctionError: a 4xx answer, with Intacct's ``ia::error`` items.
            ControlError: a 5xx or busy answer still failing after the retries.
            ProtocolError: an answer that is not the API's JSON.
        """
        payload = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            token = self.oauth.access_token()
            all_headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                **(headers or {}),
            }
            if payload is not None:
                all_headers["Content-Type"] = "application/json"
            if self.entity_id:
                all_headers[wire.ENTITY_HEADER] = self.entity_id
            request = HttpRequest(method=method, url=url, headers=all_headers, body=payload)

            def check(response: HttpResponse) -> tuple[HttpResponse, Any]:
                if response.status == 207:
                    return response, wire.parse_json(response.body, http_status=207)
                return response, wire.raise_for_status(
                    response, what=what, max_wait=self.retry.max_delay
                )

            try:
                return send(
                    self.governor.wrap(self._transport),  # one slot per attempt
                    request,
                    timeout=self.timeout,
                    retry=self.retry,
                    idempotent=idempotent,
                    check=check,
                    what=what,
                    sleep=self._sleep,
                )
            except AuthenticationError:
                if attempt == 2:
                    raise
                log.info("access token refused; refreshing once")
                self.oauth.invalidate(token)
        raise AssertionError("unreachable")

    def _write_request(
        self,
        method: str,
        url: str,
        body: Any,
        headers: Mapping[str, str],
        what: str,
        *,
        idempotent: bool,
    ) -> tuple[HttpResponse, Any]:
        # 4xx answers to a write are per-record outcomes, not exceptions.
        try:
            return self.request(
                method, url, body=body, headers=headers, idempotent=idempotent, what=what
            )
        except IntacctSyncError as exc:
            status = getattr(exc, "http_status", None)
            if isinstance(exc, AuthenticationError) or status is None or not 400 <= status < 500:
                raise
            if status == 429 or isinstance(exc, ControlError):
                raise  # throttling or a concurrency refusal: not a per-record answer
            raw = getattr(exc, "raw", b"")
            data = wire.parse_json(raw, http_status=status) if raw else {}
            return HttpResponse(status=status, body=raw), data

    # -- types -------------------------------------------------------------------------------

    def model(self, obj: str) -> Any:
        """The model service's description of ``obj`` (``GET /services/core/model``, §5).

        Args:
            obj: the XML object name (``GLACCOUNT``) or a REST object path.

        Returns:
            The model service's JSON answer, as it came.

        Raises:
            InputError: no REST object is on record for this XML object.
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        target = self._target(obj)
        url = wire.service_url(self.base_url, "core/model")
        _, data = self.request(
            "GET",
            url + "?" + _query({"name": target.path}),
            idempotent=True,
            what=f"intacct model {target.path}",
        )
        return data

    def _cached_model(self, path: str) -> Any:
        # One model request per object and client serves both the types and the idempotency
        # flag (a write after a typed read costs no extra request).
        key = f"{self.company_id}|{self.entity_id or ''}|{path}"
        if key not in self._model_answers:
            self._model_answers[key] = self.model(path)
        return self._model_answers[key]

    def _model_kinds(self, target: RestObject) -> dict[str, frames.Kind]:
        # Cached per company: custom fields and UDDs differ between companies (§5, [R-UDD]).
        key = f"{self.company_id}|{self.entity_id or ''}|{target.path}"
        if key not in self._models:
            kinds: dict[str, frames.Kind] = {}
            if self.typed:
                try:
                    kinds = wire.model_kinds(self._cached_model(target.path))
                except IntacctSyncError as exc:
                    log.warning(
                        "model of %s failed (%s); unmapped columns read as text", target.path, exc
                    )
            self._models[key] = kinds
        return self._models[key]

    def _supports_idempotency(self, target: RestObject) -> bool:
        # §5 / §7.4: the model flags each resource (``idempotenceSupported``). Where it is not
        # flagged true, a write that may have reached Intacct is never repeated: the posting
        # engine's look-up in the books settles it instead of a second POST.
        key = f"{self.company_id}|{target.path}"
        if key not in self._idempotence:
            try:
                model = self._cached_model(target.path)
            except IntacctSyncError as exc:
                log.warning("model of %s failed (%s); writes are not repeated", target.path, exc)
                model = {}
            result = model.get("ia::result", model) if isinstance(model, Mapping) else {}
            flag = result.get("idempotenceSupported") if isinstance(result, Mapping) else None
            self._idempotence[key] = flag is True
        return self._idempotence[key]

    def field_kinds(self, obj: str) -> dict[str, frames.Kind]:
        """Column kinds of ``obj`` by frame column (XML name where mapped, else REST path).

        Args:
            obj: the XML object name (``GLACCOUNT``) or a REST object path.

        Returns:
            Column name -> kind, from the model service and the name map.

        Raises:
            InputError: no REST object is on record for this XML object.
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        target = self._target(obj)
        kinds = {target.xml_name(path): kind for path, kind in self._model_kinds(target).items()}
        kinds.update({f.xml: f.kind for f in target.fields})
        return kinds

    def lookup(self, obj: str, *, dtype_backend: DtypeBackend | None = None) -> pd.DataFrame:
        """The object's fields in the columns of the XML ``lookup`` (``ID``, ``DATATYPE``...).

        Args:
            obj: the XML object name (``GLACCOUNT``) or a REST object path.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A frame with one row per field: ``ID``, ``LABEL``, ``DATATYPE``, ``READONLY``.

        Raises:
            InputError: no REST object is on record for this XML object, or ``dtype_backend``
                is not a backend name (before any request).
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        convert = backend_converter(dtype_backend)
        target = self._target(obj)
        rows = [
            {"ID": name, "LABEL": name, "DATATYPE": _KIND_WORDS[kind], "READONLY": False}
            for name, kind in self.field_kinds(obj).items()
        ]
        read_only = {f.xml for f in target.fields if f.read_only}
        for row in rows:
            row["READONLY"] = row["ID"] in read_only
        return convert(frames.frame_from_records(rows, LOOKUP_COLUMNS))

    def _target(
        self, obj: str, *, statistical: bool = False, docparid: str | None = None
    ) -> RestObject:
        is_document = obj.upper() == "SODOCUMENT" or obj.startswith("order-entry/document::")
        if is_document and docparid:
            return _names.sales_document(docparid)
        if "/" in obj:
            return _names.for_path(obj) or RestObject(xml=obj, path=obj, fields=())
        found = _names.for_xml(obj, statistical=statistical) or self._udd_object(obj)
        if found is None:
            raise InputError(
                "no REST object on record for this XML object; pass the REST object path "
                "(application/object)",
                field="object",
                value=obj,
            )
        return found

    def _with_udds(self, target: RestObject) -> RestObject:
        # §3.4: UDDs sit in ``dimensions`` under a per-company member name; the company's model
        # names them. XML's GLDIM<name> holds the UDD record number (intacct-api.md §13.5),
        # which is REST's ``key``.
        # A write asks this per record and per line; the answer is fixed per client (its model
        # is cached per company and entity), so it is built once per target. Keyed by identity:
        # the cache holds the target itself, so its id cannot be reused while cached.
        cached = self._udd_targets.get(id(target))
        if cached is not None and cached[0] is target:
            return cached[1]
        if len(self._udd_targets) > 256:  # documents build a target per definition and call
            self._udd_targets.clear()
        found = self._build_with_udds(target)
        self._udd_targets[id(target)] = (target, found)
        return found

    def _build_with_udds(self, target: RestObject) -> RestObject:
        if not any(f.rest.startswith("dimensions.") for f in target.fields):
            return target
        extra = []
        known = {f.rest for f in target.fields}
        for path in self._model_kinds(target):
            parts = path.split(".")
            if len(parts) == 3 and parts[0] == "dimensions" and parts[2] == "key":
                member = parts[1].lower().removeprefix("nsp::")
                if f"dimensions.{parts[1]}.id" not in known and member not in _STANDARD_DIMENSIONS:
                    extra.append(RestField(xml=f"GLDIM{member.upper()}", rest=path))
        return attrs.evolve(target, fields=target.fields + tuple(extra)) if extra else target

    def _targets(self, obj: str, docparid: str | None) -> list[RestObject]:
        # XML keeps regular and statistical entries in one GLBATCH/GLENTRY; REST has two
        # objects (§3.4), so an XML-named read covers both.
        if obj.upper() in ("GLBATCH", "GLENTRY"):
            return [self._target(obj), self._target(obj, statistical=True)]
        return [self._target(obj, docparid=docparid)]

    def _check_inferred(self, target: RestObject, field: RestField, row: int | None = None) -> None:
        # An inferred REST name (no source names it, docs/xml-or-rest.md) is used only where the
        # company's model lists it, or where no model could be read (then Intacct's own refusal
        # names the field): never a silent write to a field that is not there.
        if not field.inferred or not self.typed:
            return
        model = self._model_kinds(target)
        if model and field.rest not in model:
            raise InputError(
                f"{target.xml}.{field.xml} has no REST name on record and the inferred "
                f"{field.rest!r} is not in this company's model of {target.path}; pass the REST "
                f"path from ia.rest_backend.model({target.path!r}) instead",
                row=row,
                field=field.xml,
                value=field.rest,
            )

    def dimension_list(self) -> list[Mapping[str, Any]]:
        """The company's dimensions as REST lists them (``GET
        /services/company-config/dimensions/list``, §3.3 [R-REF-DIMLIST]); read once.

        Returns:
            One mapping per dimension as REST gives it (``dimensionName``, ``termName``...),
            cached for the client's life.

        Raises:
            FunctionError: Intacct refused the request.
            AuthenticationError: the token was refused again after one refresh.
        """
        if self._dimension_rows is None:
            _, data = self.request(
                "GET",
                wire.service_url(self.base_url, "company-config/dimensions/list"),
                idempotent=True,
                what="intacct dimensions list",
            )
            result = data.get("ia::result") if isinstance(data, Mapping) else None
            items = result if isinstance(result, list) else []
            self._dimension_rows = [r for r in items if isinstance(r, Mapping)]
        return self._dimension_rows

    def _udd_object(self, obj: str) -> RestObject | None:
        # A user-defined dimension named as XML names it (its integration name, intacct-api.md
        # §13.5): its REST object is platform-apps/nsp::<integrationName> (§3.3), the name as
        # created. The list's dimensionEndpoint names it where it is given; the sheet does not
        # show its form, so a path, a URL or nothing are all read (nothing: the name lowered).
        if not obj.replace("_", "").isalnum():
            return None
        for row in self.dimension_list():
            name = str(row.get("dimensionName") or "")
            if name.upper() != obj.upper() or not _truthy(row.get("isUserDefinedDimension")):
                continue
            endpoint = str(row.get("dimensionEndpoint") or "")
            _, _, member = endpoint.rpartition("nsp::")
            integration = member.strip("/").split("/")[0] if member else obj.lower()
            return _names.user_defined_dimension(obj.upper(), integration)
        return None

    def xml_session(self) -> tuple[str, int]:
        """An XML gateway session id for this token (``GET /services/core/session/id``, §1):
        the bridge for functions REST lacks. Returns ``(session_id, expires_in seconds)``.

        Returns:
            The session id (registered as a secret, so never logged) and its lifetime in
            seconds; an empty id when Intacct gave none.

        Raises:
            FunctionError: Intacct refused the request.
            AuthenticationError: the token was refused again after one refresh.
        """
        _, data = self.request(
            "GET",
            wire.service_url(self.base_url, "core/session/id"),
            idempotent=True,
            what="intacct session id",
        )
        result = data.get("ia::result", {}) if isinstance(data, Mapping) else {}
        session_id = str(result.get("sessionId", ""))
        if session_id:
            register_secret(session_id)  # an XML session id is a credential of its own
        return session_id, int(result.get("expiresIn") or 0)


def _query(params: Mapping[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "t", "1")

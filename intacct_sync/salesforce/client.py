"""``SalesforceClient``: SOQL into typed DataFrames, writes with one outcome per record.

>>> from intacct_sync.salesforce import SalesforceClient, soql
>>> sf = SalesforceClient.from_env()  # doctest: +SKIP
>>> opps = sf.query(soql("SELECT Id, Name, Amount, Account.Name FROM Opportunity "
...                      "WHERE IsWon = {}", True))  # doctest: +SKIP

Every HTTP call goes through :func:`intacct_sync._http.transport.send` (timeouts, the retry loop,
one INFO log line per call, scrubbed bodies at DEBUG).
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote, urlencode

import attrs
import pandas as pd

from intacct_sync._http.progress import progress as progress_bar
from intacct_sync._http.retry import DEFAULT_RETRY, RetryPolicy
from intacct_sync._http.transport import (
    DEFAULT_TIMEOUT,
    HttpRequest,
    HttpResponse,
    RequestsTransport,
    Timeout,
    Transport,
    parse_retry_after,
    send,
)
from intacct_sync.config import SalesforceCredentials
from intacct_sync.errors import (
    ConfigError,
    IncompleteWriteError,
    InputError,
    ProtocolError,
    RequestTimeout,
    SalesforceAuthenticationError,
    SalesforceError,
    SalesforceErrorDetail,
    TransportError,
)
from intacct_sync.frames import Kind, build_frame, frame_from_records
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce.auth import (
    ClientCredentialsFlow,
    JwtBearerFlow,
    RefreshTokenFlow,
    TokenFlow,
    default_audience,
    parse_token_response,
    token_url,
)
from intacct_sync.salesforce.models import ApiUsage, BulkJob, SObjectDescribe

__all__ = [
    "BULK_THRESHOLD",
    "DEFAULT_API_VERSION",
    "ChildFrames",
    "CompositeResult",
    "IngestResult",
    "SalesforceClient",
]

log = logging.getLogger("intacct_sync.salesforce")

#: API version used unless told otherwise (Winter '25); at least 46.0 is required
DEFAULT_API_VERSION = "62.0"
#: writes of more records than this go through Bulk API 2.0 when ``use_bulk`` is ``None``
BULK_THRESHOLD = 2000
_MIN_API_VERSION = 46.0
_MAX_COMPOSITE = 25
_BULK_JOB_RECORDS = 100_000
_BULK_MAX_UPLOAD = 100_000_000
_VERSION_RE = re.compile(r"v?(\d{2,3})\.0\Z")
_ID_RE = re.compile(r"[A-Za-z0-9]{15}([A-Za-z0-9]{3})?\Z")

Records = pd.DataFrame | Iterable[Mapping[str, Any]]
IngestOperation = Literal["insert", "update", "upsert", "delete", "hardDelete"]


class ChildFrames(Mapping[str, pd.DataFrame]):
    """Child subquery results of a query, by relationship name (``OpportunityLineItems``).

    Each child frame has a first column ``ParentId`` holding the parent row's ``Id`` (if the
    child's own SELECT list has a ``ParentId`` field, the key column is ``_ParentId``), then the
    child's columns. It lives in ``frame.attrs["children"]``; pandas copies ``attrs`` on most
    operations, so this mapping is shared rather than copied, and compares by identity.
    """

    def __init__(self, frames: Mapping[str, pd.DataFrame]) -> None:
        self._frames = dict(frames)

    def __getitem__(self, name: str) -> pd.DataFrame:
        for key, frame in self._frames.items():
            if key.lower() == name.lower():
                return frame
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> ChildFrames:
        return self

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: {len(v)} rows" for k, v in self._frames.items())
        return f"ChildFrames({sizes})"


@attrs.frozen(kw_only=True)
class IngestResult:
    """What a Bulk API 2.0 ingest job did.

    Attributes:
        job: the job's final state (``JobComplete``, ``Failed`` or ``Aborted``).
        successful: ``sf__Id``, ``sf__Created`` then the uploaded columns.
        failed: ``sf__Id``, ``sf__Error`` (``CODE:message:fields --``) then the uploaded columns.
        unprocessed: the uploaded columns of rows never processed.
    """

    job: BulkJob
    successful: pd.DataFrame = attrs.field(eq=False, repr=False)
    failed: pd.DataFrame = attrs.field(eq=False, repr=False)
    unprocessed: pd.DataFrame = attrs.field(eq=False, repr=False)

    @property
    def ok(self) -> bool:
        """The job completed and no row failed or stayed unprocessed."""
        return self.job.state == "JobComplete" and self.failed.empty and self.unprocessed.empty


@attrs.frozen
class CompositeResult:
    """Per-subrequest outcomes of a composite request, in request order.

    Index it by ``referenceId``: ``result["NewOpp"].id``.
    """

    outcomes: tuple[wire.SubrequestOutcome, ...]
    successful: bool = True

    def __getitem__(self, reference_id: str) -> wire.SubrequestOutcome:
        for outcome in self.outcomes:
            if outcome.reference_id == reference_id:
                return outcome
        raise KeyError(reference_id)

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[wire.SubrequestOutcome]:
        return iter(self.outcomes)

    @property
    def ok(self) -> bool:
        """Every subrequest succeeded."""
        return all(o.success for o in self.outcomes)

    def to_frame(self) -> pd.DataFrame:
        """One row per subrequest: reference_id, http_status, success, id, status, errors..."""
        rows = []
        for o in self.outcomes:
            status = "ok" if o.success else "rolled_back" if o.rolled_back else "failed"
            fields = sorted({f for e in o.errors for f in e.fields})
            rows.append(
                {
                    "reference_id": o.reference_id,
                    "http_status": o.http_status,
                    "success": o.success,
                    "id": o.id,
                    "status": status,
                    "errors": "; ".join(f"{e.error_code}: {e.message}" for e in o.errors) or None,
                    "error_codes": ",".join(e.error_code for e in o.errors) or None,
                    "fields": ",".join(fields) or None,
                }
            )
        kinds: dict[str, Kind] = {
            "reference_id": "text",
            "http_status": "integer",
            "success": "boolean",
            "id": "text",
            "status": "text",
            "errors": "text",
            "error_codes": "text",
            "fields": "text",
        }
        return frame_from_records(rows, kinds)


def _check_version(version: str) -> str:
    match = _VERSION_RE.match(str(version).strip())
    if match is None or float(match.group(1)) < _MIN_API_VERSION:
        raise ConfigError(
            f"api_version must look like '62.0' and be at least {_MIN_API_VERSION}, got {version!r}"
        )
    return f"{match.group(1)}.0"


def _check_instance(url: str) -> str:
    if not re.match(r"https?://[^/\s]+", url or ""):
        raise ConfigError(f"instance_url must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


class SalesforceClient:
    """A Salesforce org over REST, Composite and Bulk API 2.0.

    Args:
        instance_url: the org's URL (``https://acme.my.salesforce.com``).
        access_token: a ready access token; optional when ``auth`` gets one.
        api_version: REST API version (at least 46.0).
        transport: how requests travel (default: a pooled ``requests`` session).
        timeout: connect and read timeouts.
        retry: retry policy for throttling (``REQUEST_LIMIT_EXCEEDED``), 5xx,
            ``UNABLE_TO_LOCK_ROW`` and dropped connections.
        auth: a token flow; with it an expired session is renewed once and the call repeated.
        batch_size: query page size hint (200-2,000; ``Sforce-Query-Options: batchSize``).
        sleep: how to wait between retries and bulk polls (tests pass a fake).

    Raises:
        ConfigError: a setting is malformed, or neither a token nor a flow is given.

    The access token never appears in ``repr``, ``str``, logs or exceptions.

    >>> sf = SalesforceClient("https://acme.my.salesforce.com", "00D...!...")  # doctest: +SKIP
    """

    def __init__(
        self,
        instance_url: str,
        access_token: str | None = None,
        *,
        api_version: str = DEFAULT_API_VERSION,
        transport: Transport | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        auth: TokenFlow | None = None,
        batch_size: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if access_token is None and auth is None:
            raise ConfigError("SalesforceClient needs an access_token or a token flow (auth=)")
        if batch_size is not None and not 200 <= batch_size <= 2000:
            raise ConfigError(f"batch_size must be between 200 and 2000, got {batch_size}")
        self._instance_url = _check_instance(instance_url)
        self._token = access_token
        self._api_version = _check_version(api_version)
        self._own_transport = transport is None
        self._transport: Transport = transport if transport is not None else RequestsTransport()
        self._timeout = timeout
        self._retry = retry
        self._auth = auth
        self._batch_size = batch_size
        self._sleep = sleep
        self._api_usage: ApiUsage | None = None
        self._describes: dict[str, SObjectDescribe | None] = {}

    # ------------------------------------------------------------------ construction

    @classmethod
    def client_credentials(
        cls,
        *,
        instance_url: str,
        client_id: str,
        client_secret: str,
        login_url: str | None = None,
        **options: Any,
    ) -> SalesforceClient:
        """A client using the OAuth client-credentials flow.

        Args:
            instance_url: the org's My Domain URL; its ``/services/oauth2/token`` is used.
            client_id: the connected app's consumer key.
            client_secret: its consumer secret.
            login_url: another token host, if not My Domain.
            **options: any keyword argument of the constructor.
        """
        flow = ClientCredentialsFlow(
            token_url=token_url(login_url or instance_url),
            client_id=client_id,
            client_secret=client_secret,
        )
        return cls(instance_url, None, auth=flow, **options)

    @classmethod
    def jwt_bearer(
        cls,
        *,
        instance_url: str,
        client_id: str,
        username: str,
        private_key_file: str | None = None,
        private_key: str | None = None,
        login_url: str | None = None,
        **options: Any,
    ) -> SalesforceClient:
        """A client using the OAuth JWT bearer flow (needs ``intacct-sync[jwt]``).

        Args:
            instance_url: the org's URL.
            client_id: the connected app's consumer key.
            username: the pre-authorized user.
            private_key_file: PEM file of the RSA key (or give ``private_key``).
            private_key: PEM text of the RSA key.
            login_url: token host and JWT audience (``https://test.salesforce.com`` for
                sandboxes); default: the instance's token endpoint, audience
                ``login.salesforce.com`` (``test.salesforce.com`` for ``*.sandbox.my`` hosts).
            **options: any keyword argument of the constructor.

        Raises:
            ConfigError: no key, or the key file cannot be read.
        """
        url = token_url(login_url or instance_url)
        audience = login_url.rstrip("/") if login_url else default_audience(instance_url)
        if private_key is not None:
            flow = JwtBearerFlow(
                token_url=url,
                client_id=client_id,
                username=username,
                private_key=private_key,
                audience=audience,
            )
        elif private_key_file is not None:
            flow = JwtBearerFlow.from_key_file(
                private_key_file,
                token_url=url,
                client_id=client_id,
                username=username,
                audience=audience,
            )
        else:
            raise ConfigError("the JWT bearer flow needs private_key_file= or private_key=")
        return cls(instance_url, None, auth=flow, **options)

    @classmethod
    def refresh_token_flow(
        cls,
        *,
        instance_url: str,
        client_id: str,
        refresh_token: str,
        client_secret: str | None = None,
        access_token: str | None = None,
        login_url: str | None = None,
        **options: Any,
    ) -> SalesforceClient:
        """A client using the OAuth refresh-token flow.

        Args:
            instance_url: the org's URL.
            client_id: the connected app's consumer key.
            refresh_token: a refresh token from a web-server or user-agent flow.
            client_secret: the consumer secret, when the app requires it.
            access_token: a current access token to use until it expires.
            login_url: token host (default: the instance).
            **options: any keyword argument of the constructor.
        """
        flow = RefreshTokenFlow(
            token_url=token_url(login_url or instance_url),
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
        )
        return cls(instance_url, access_token, auth=flow, **options)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> SalesforceClient:
        """A client from the ``SF_*`` environment variables; the flow follows what is set.

        ==========================================  ====================================
        set                                         flow
        ==========================================  ====================================
        ``SF_ACCESS_TOKEN``                         that token (plus ``SF_REFRESH_TOKEN``
                                                    and ``SF_CLIENT_ID``: renewed on expiry)
        ``SF_REFRESH_TOKEN``                        refresh token
        ``SF_USERNAME`` / ``SF_PRIVATE_KEY_FILE``   JWT bearer
        ``SF_CLIENT_ID`` + ``SF_CLIENT_SECRET``     client credentials
        ==========================================  ====================================

        ``SF_INSTANCE_URL`` is always needed; ``SF_LOGIN_URL`` and ``SF_API_VERSION`` are optional.

        Raises:
            ConfigError: a variable a flow needs is missing (the message names it).
        """
        creds = SalesforceCredentials.from_env(environ)
        if creds.api_version and "api_version" not in options:
            options["api_version"] = creds.api_version
        if not creds.instance_url:
            raise ConfigError(
                "SF_INSTANCE_URL is not set (the org's URL, e.g. https://acme.my.salesforce.com)"
            )

        def need(flow: str, **values: str | None) -> None:
            missing = [name for name, value in values.items() if not value]
            if missing:
                raise ConfigError(f"the {flow} flow needs {', '.join(missing)} (not set)")

        if creds.access_token:
            if creds.refresh_token and creds.client_id:
                return cls.refresh_token_flow(
                    instance_url=creds.instance_url,
                    client_id=creds.client_id,
                    client_secret=creds.client_secret,
                    refresh_token=creds.refresh_token,
                    access_token=creds.access_token,
                    login_url=creds.login_url,
                    **options,
                )
            return cls(creds.instance_url, creds.access_token, **options)
        if creds.refresh_token:
            need("refresh token", SF_CLIENT_ID=creds.client_id)
            return cls.refresh_token_flow(
                instance_url=creds.instance_url,
                client_id=str(creds.client_id),
                client_secret=creds.client_secret,
                refresh_token=creds.refresh_token,
                login_url=creds.login_url,
                **options,
            )
        if creds.username or creds.private_key_file:
            need(
                "JWT bearer",
                SF_CLIENT_ID=creds.client_id,
                SF_USERNAME=creds.username,
                SF_PRIVATE_KEY_FILE=creds.private_key_file,
            )
            return cls.jwt_bearer(
                instance_url=creds.instance_url,
                client_id=str(creds.client_id),
                username=str(creds.username),
                private_key_file=creds.private_key_file,
                login_url=creds.login_url,
                **options,
            )
        if creds.client_id or creds.client_secret:
            need(
                "client credentials",
                SF_CLIENT_ID=creds.client_id,
                SF_CLIENT_SECRET=creds.client_secret,
            )
            return cls.client_credentials(
                instance_url=creds.instance_url,
                client_id=str(creds.client_id),
                client_secret=str(creds.client_secret),
                login_url=creds.login_url,
                **options,
            )
        raise ConfigError(
            "no Salesforce credentials in the environment: set SF_ACCESS_TOKEN, or "
            "SF_CLIENT_ID + SF_CLIENT_SECRET (client credentials), or SF_CLIENT_ID + "
            "SF_USERNAME + SF_PRIVATE_KEY_FILE (JWT bearer), or SF_CLIENT_ID + "
            "SF_REFRESH_TOKEN (refresh token)"
        )

    def __repr__(self) -> str:
        flow = type(self._auth).__name__ if self._auth is not None else "access token"
        return (
            f"SalesforceClient(instance_url={self._instance_url!r}, "
            f"api_version={self._api_version!r}, auth={flow})"
        )

    __str__ = __repr__

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections of the transport this client created."""
        if self._own_transport:
            self._transport.close()

    # ------------------------------------------------------------------ properties

    @property
    def instance_url(self) -> str:
        """The org's URL (as returned by the token endpoint, once a flow ran)."""
        return self._instance_url

    @property
    def api_version(self) -> str:
        """The REST API version, e.g. ``"62.0"``."""
        return self._api_version

    @property
    def api_usage(self) -> ApiUsage | None:
        """Daily API requests used/limit from the last ``Sforce-Limit-Info`` header seen."""
        return self._api_usage

    # ------------------------------------------------------------------ HTTP

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        if path.startswith("/"):
            return self._instance_url + path
        return f"{self._instance_url}/services/data/v{self._api_version}/{path}"

    def _authenticate(self) -> None:
        assert self._auth is not None
        token = send(
            self._transport,
            self._auth.token_request(),
            timeout=self._timeout,
            retry=self._retry,
            idempotent=True,
            check=parse_token_response,
            what="salesforce POST oauth2/token",
            sleep=self._sleep,
        )
        self._auth.accept(token)
        self._token = token.access_token
        if token.instance_url:
            self._instance_url = _check_instance(token.instance_url)

    def _check(self, response: HttpResponse) -> HttpResponse:
        usage = ApiUsage.from_header(response.header("Sforce-Limit-Info"))
        if usage is not None:
            self._api_usage = usage
        if 200 <= response.status < 300:
            return response
        raise wire.error_from_response(
            response.status,
            response.body,
            retry_after=parse_retry_after(response.header("Retry-After")),
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> HttpResponse:
        if self._token is None:
            self._authenticate()
        url = self._url(path)
        what = f"salesforce {method} {url.split('?', 1)[0].removeprefix(self._instance_url)}"
        for attempt in range(2):
            request_headers = {
                "Authorization": f"Bearer {self._token}",
                "Accept": accept,
                **(headers or {}),
            }
            if body is not None:
                request_headers["Content-Type"] = content_type
            request = HttpRequest(method=method, url=url, headers=request_headers, body=body)
            try:
                return send(
                    self._transport,
                    request,
                    timeout=self._timeout,
                    retry=self._retry,
                    idempotent=idempotent,
                    check=self._check,
                    what=what,
                    sleep=self._sleep,
                )
            except SalesforceAuthenticationError as exc:
                # A 401 means the request was refused, so repeating it once is safe even for
                # a create. Salesforce gives no expires_in: this is how expiry shows.
                if attempt or self._auth is None or exc.http_status != 401:
                    raise
                log.info("salesforce session expired or invalid; getting a new token")
                self._authenticate()
        raise AssertionError("unreachable")  # pragma: no cover

    def _json(self, method: str, path: str, *, payload: Any = None, idempotent: bool) -> Any:
        body = wire.dumps(payload) if payload is not None else None
        response = self._call(method, path, body=body, idempotent=idempotent)
        if not response.body.strip():
            return None
        return wire.loads(response.body, http_status=response.status)

    # ------------------------------------------------------------------ describe, limits

    def describe(self, sobject: str) -> SObjectDescribe:
        """Describe an sObject (fields, types, relationships); cached per client.

        Raises:
            SalesforceError: e.g. ``NOT_FOUND`` for an unknown sObject.
        """
        key = sobject.lower()
        cached = self._describes.get(key)
        if cached is not None:
            return cached
        data = self._json("GET", f"sobjects/{quote(sobject, safe='')}/describe", idempotent=True)
        result = SObjectDescribe.from_json(data)
        self._describes[key] = result
        return result

    def _describe_or_none(self, sobject: str) -> SObjectDescribe | None:
        key = sobject.lower()
        if key in self._describes:
            return self._describes[key]
        try:
            return self.describe(sobject)
        except SalesforceAuthenticationError:
            raise
        except (SalesforceError, ProtocolError) as exc:
            # Types then come from the values; the query itself will say if the object is bad.
            log.debug("describe %s failed (%s); column types guessed from values", sobject, exc)
            self._describes[key] = None
            return None

    def sobjects(self) -> pd.DataFrame:
        """Describe Global: one row per sObject (name, label, keyPrefix, custom, queryable...)."""
        data = self._json("GET", "sobjects", idempotent=True) or {}
        kinds: dict[str, Kind] = {
            "name": "text",
            "label": "text",
            "keyPrefix": "text",
            "custom": "boolean",
            "queryable": "boolean",
            "createable": "boolean",
            "updateable": "boolean",
            "deletable": "boolean",
        }
        rows = [{k: s.get(k) for k in kinds} for s in data.get("sobjects") or ()]
        return frame_from_records(rows, kinds)

    def limits(self) -> pd.DataFrame:
        """The org's limits: one row per limit with ``Name``, ``Max``, ``Remaining``, ``Used``."""
        data = self._json("GET", "limits", idempotent=True) or {}
        rows = [
            {
                "Name": name,
                "Max": entry.get("Max"),
                "Remaining": entry.get("Remaining"),
                "Used": (entry["Max"] - entry["Remaining"])
                if entry.get("Max") is not None and entry.get("Remaining") is not None
                else None,
            }
            for name, entry in data.items()
            if isinstance(entry, Mapping)
        ]
        kinds: dict[str, Kind] = {
            "Name": "text",
            "Max": "integer",
            "Remaining": "integer",
            "Used": "integer",
        }
        return frame_from_records(rows, kinds)

    # ------------------------------------------------------------------ query

    def query(
        self, soql: str, *, include_deleted: bool = False, progress: bool = False
    ) -> pd.DataFrame:
        """Run a SOQL query and return every page as one typed DataFrame.

        Columns keep the API names; parent fields are flattened with dots (``Account.Name``,
        ``PricebookEntry.Product2.Name``) and are null when the parent is. Types come from
        describe: dates and datetimes as datetime64 (datetimes in UTC), currency, percent and
        double as exact ``Decimal``, int as ``Int64``, checkboxes as ``boolean``, everything
        else (ids, picklists, multi-select picklists ``"a;b"``) as ``string``.

        Child subqueries come back in ``frame.attrs["children"]`` (a :class:`ChildFrames`), one
        long frame per relationship, keyed by ``ParentId``.

        Args:
            soql: the query; build literals with :func:`~intacct_sync.salesforce.soql`.
            include_deleted: use ``queryAll`` (deleted and archived rows too).
            progress: show a progress bar (needs tqdm).

        Returns:
            The rows; an empty result has the same columns and dtypes.

        Raises:
            SalesforceError: e.g. ``MALFORMED_QUERY``, ``INVALID_FIELD``.

        >>> opps = sf.query("SELECT Id, Amount, (SELECT Quantity FROM OpportunityLineItems) "
        ...                 "FROM Opportunity")  # doctest: +SKIP
        >>> lines = opps.attrs["children"]["OpportunityLineItems"]  # doctest: +SKIP
        """
        pages = list(self.iter_query(soql, include_deleted=include_deleted, progress=progress))
        if len(pages) == 1:
            return pages[0]
        return _concat_pages(pages)

    def query_all(self, soql: str, *, progress: bool = False) -> pd.DataFrame:
        """Like :meth:`query` through ``queryAll``: deleted and archived rows included."""
        return self.query(soql, include_deleted=True, progress=progress)

    def iter_query(
        self, soql: str, *, include_deleted: bool = False, progress: bool = False
    ) -> Iterator[pd.DataFrame]:
        """Run a SOQL query and yield one typed DataFrame per page (memory: one page).

        Every page has the same columns and dtypes; see :meth:`query` for typing and children.
        A ``SELECT COUNT() ...`` query yields one frame with one ``count`` column.
        """
        shape = wire.QueryShape.build(wire.parse_select(soql), self._describe_or_none)
        resource = "queryAll" if include_deleted else "query"
        url: str | None = f"{resource}?{urlencode({'q': soql}, quote_via=quote)}"
        headers = {"Sforce-Query-Options": f"batchSize={self._batch_size}"}
        headers = headers if self._batch_size else {}
        with progress_bar(enabled=progress, desc="Salesforce query") as bar:
            first = True
            while url is not None:
                page = self._query_page(url, headers)
                if first:
                    bar.set_total(page.total_size)
                    first = False
                if shape.count_only:
                    yield build_frame({"count": [page.total_size]}, {"count": "integer"})
                    return
                yield self._page_frame(shape, page, headers)
                bar.update(len(page.records))
                url = None if page.done else page.next_records_url

    def _query_page(self, url: str, headers: Mapping[str, str]) -> wire.QueryPage:
        response = self._call("GET", url, headers=headers, idempotent=True)
        data = wire.loads(response.body, http_status=response.status)
        return wire.QueryPage.from_json(data, raw=response.body)

    def _child_records(
        self, nested: Mapping[str, Any], headers: Mapping[str, str]
    ) -> Iterator[Mapping[str, Any]]:
        page = wire.QueryPage.from_json(nested)
        while True:
            yield from page.records
            if page.done or not page.next_records_url:
                return
            # Child cursors must be read before the parent cursor moves on.
            page = self._query_page(page.next_records_url, headers)

    def _page_frame(
        self, shape: wire.QueryShape, page: wire.QueryPage, headers: Mapping[str, str]
    ) -> pd.DataFrame:
        rows = []
        child_rows: dict[str, tuple[list[str | None], list[dict[str, Any]]]] = {}
        for name in shape.children:
            child_rows[name] = ([], [])
        for record in page.records:
            flat, children = wire.flatten(record)
            rows.append(flat)
            for name, nested in children.items():
                bucket = child_rows.setdefault(shape.child_name(name), ([], []))
                if nested is None:
                    continue  # no children is null, not an empty list
                parent = wire.record_id(record)
                for child in self._child_records(nested, headers):
                    bucket[0].append(parent)
                    bucket[1].append(wire.flatten(child)[0])
        frame = shape.frame(rows)
        frames = {}
        for name, (parents, records) in child_rows.items():
            child_shape = shape.child_shape(name)
            taken = {c.name.lower() for c in child_shape.columns}
            taken.update(k.lower() for r in records for k in r)
            key = wire.PARENT_ID
            while key.lower() in taken:
                key = "_" + key
            frames[name] = child_shape.frame(records, leading={key: parents})
        frame.attrs["children"] = ChildFrames(frames)
        frame.attrs["total_size"] = page.total_size
        return frame

    # ------------------------------------------------------------------ writes

    def create(
        self,
        sobject: str,
        records: Records,
        *,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Insert records (sObject Collections, 200 a call; Bulk 2.0 above the threshold).

        Args:
            sobject: e.g. ``"Account"``.
            records: a DataFrame (missing cells are left out) or dicts (``None`` clears).
            all_or_none: roll a whole 200-record call back when one record fails.
            use_bulk: ``True`` for Bulk API 2.0, ``False`` for REST, ``None``: Bulk above
                :data:`BULK_THRESHOLD` records.
            progress: show a progress bar.

        Returns:
            One row per input record, in input order: ``row`` (position), ``id``, ``success``,
            ``created``, ``status`` (``created``, ``updated``, ``deleted``, ``failed``,
            ``rolled_back``, ``unprocessed``, ``unknown``), ``errors`` (``CODE: message; ...``),
            ``error_codes`` and ``fields`` (comma-separated).

        Raises:
            InputError: a value cannot be sent (NaN, a naive datetime with a time...).
            IncompleteWriteError: the network failed part way; ``.outcomes`` says which rows
                are done, ``unknown`` (sent, unanswered) or ``not_sent``. A create is never
                repeated after it may have reached the server.
        """
        prepared = wire.prepare_records(records)
        return self._write("create", sobject, prepared, None, all_or_none, use_bulk, progress)

    def update(
        self,
        sobject: str,
        records: Records,
        *,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Update records by ``Id`` (each record needs one); see :meth:`create` for the rest."""
        prepared = wire.prepare_records(records)
        for row, record in enumerate(prepared):
            if not record.get("Id"):
                raise InputError("an update needs the record's Id", row=row, field="Id")
        return self._write("update", sobject, prepared, None, all_or_none, use_bulk, progress)

    def upsert(
        self,
        sobject: str,
        *,
        external_id_field: str,
        records: Records,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Insert or update by external id; ``created`` tells which. Safe to rerun.

        Each record must carry ``external_id_field``. Upserts are idempotent, so they are
        retried on throttling, outages and dropped connections. See :meth:`create`.
        """
        prepared = wire.prepare_records(records)
        for row, record in enumerate(prepared):
            if record.get(external_id_field) in (None, ""):
                raise InputError(
                    "an upsert needs the external id in every record",
                    row=row,
                    field=external_id_field,
                )
        return self._write(
            "upsert", sobject, prepared, external_id_field, all_or_none, use_bulk, progress
        )

    def delete(
        self,
        ids: Iterable[str],
        *,
        sobject: str | None = None,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Delete records by Id (to the recycle bin); see :meth:`create` for the outcome frame.

        Args:
            ids: record ids (a list, a Series...).
            sobject: needed only for Bulk 2.0 (automatic above the threshold when given).
            all_or_none: as for :meth:`create`.
            use_bulk: as for :meth:`create`; ``True`` requires ``sobject``.
            progress: show a progress bar.
        """
        prepared: list[dict[str, Any]] = []
        for row, value in enumerate(ids):
            if _ID_RE.match(str(value)) is None:
                raise InputError("not a Salesforce record id", row=row, field="Id", value=value)
            prepared.append({"Id": value})
        if use_bulk and sobject is None:
            raise InputError("a Bulk API delete needs sobject=")
        if sobject is None:
            use_bulk = False
        return self._write("delete", sobject or "", prepared, None, all_or_none, use_bulk, progress)

    def _write(
        self,
        operation: wire.Operation,
        sobject: str,
        records: list[dict[str, Any]],
        external_id_field: str | None,
        all_or_none: bool,
        use_bulk: bool | None,
        progress: bool,
    ) -> pd.DataFrame:
        bulk = use_bulk if use_bulk is not None else len(records) > BULK_THRESHOLD
        if bulk:
            return self._bulk_write(operation, sobject, records, external_id_field, progress)
        outcomes: list[dict[str, Any] | None] = [None] * len(records)
        positions = list(range(len(records)))
        chunks = [
            positions[i : i + wire.COLLECTION_SIZE]
            for i in range(0, len(positions), wire.COLLECTION_SIZE)
        ]
        with progress_bar(
            enabled=progress, desc=f"Salesforce {operation} {sobject}", total=len(records)
        ) as bar:
            for number, chunk in enumerate(chunks):
                try:
                    self._write_chunk(
                        operation, sobject, records, chunk, external_id_field, all_or_none, outcomes
                    )
                except (TransportError, ProtocolError) as exc:
                    for row in chunk:
                        outcomes[row] = wire.outcome(
                            row=row, id=None, success=None, created=None, status="unknown"
                        )
                    for later in chunks[number + 1 :]:
                        for row in later:
                            outcomes[row] = wire.outcome(
                                row=row, id=None, success=None, created=None, status="not_sent"
                            )
                    done = [o for o in outcomes if o is not None]
                    raise IncompleteWriteError(
                        f"{operation} {sobject} stopped after {chunk[0]} of {len(records)} "
                        f"records: {exc}",
                        outcomes=build_frame(
                            {k: [o[k] for o in done] for k in wire.OUTCOME_KINDS},
                            wire.OUTCOME_KINDS,
                        ),
                    ) from exc
                bar.update(len(chunk))
        return _outcome_frame([o for o in outcomes if o is not None])

    def _write_chunk(
        self,
        operation: wire.Operation,
        sobject: str,
        records: Sequence[dict[str, Any]],
        chunk: list[int],
        external_id_field: str | None,
        all_or_none: bool,
        outcomes: list[dict[str, Any] | None],
    ) -> None:
        todo = chunk
        attempt = 0
        while True:
            try:
                results = self._send_collection(
                    operation, sobject, [records[i] for i in todo], external_id_field, all_or_none
                )
                rows = wire.outcome_rows(results, operation=operation, rows=todo)
            except SalesforceAuthenticationError:
                raise
            except SalesforceError as exc:
                # The whole call was refused (400 malformed, a bad external id field...): say
                # so on each of its rows and go on with the next call.
                rows = [
                    wire.outcome(
                        row=i,
                        id=None,
                        success=False,
                        created=None,
                        status="failed",
                        errors=exc.errors,
                    )
                    for i in todo
                ]
            for row in rows:
                outcomes[row["row"]] = row
            locked = [r["row"] for r in rows if "UNABLE_TO_LOCK_ROW" in (r["error_codes"] or "")]
            if not locked or attempt >= self._retry.max_retries:
                return
            if all_or_none:
                locked = todo  # nothing of the call was saved: send all of it again
            # A record that failed was not saved, so sending it again is safe for any operation.
            attempt += 1
            wait = self._retry.delay(attempt, None, random.random)
            log.warning(
                "%s %s: %d record(s) hit UNABLE_TO_LOCK_ROW; retry %d/%d in %.2fs",
                operation,
                sobject,
                len(locked),
                attempt,
                self._retry.max_retries,
                wait,
            )
            self._sleep(wait)
            todo = locked

    def _send_collection(
        self,
        operation: wire.Operation,
        sobject: str,
        records: list[dict[str, Any]],
        external_id_field: str | None,
        all_or_none: bool,
    ) -> Any:
        if operation == "delete":
            query = urlencode(
                {"ids": ",".join(r["Id"] for r in records), "allOrNone": str(all_or_none).lower()}
            )
            return self._json("DELETE", f"composite/sobjects?{query}", idempotent=True)
        payload = {
            "allOrNone": all_or_none,
            "records": [{"attributes": {"type": sobject}, **r} for r in records],
        }
        if operation == "create":
            # Not repeated once it may have reached the server: it would insert twice.
            return self._json("POST", "composite/sobjects", payload=payload, idempotent=False)
        if operation == "update":
            return self._json("PATCH", "composite/sobjects", payload=payload, idempotent=True)
        path = (
            f"composite/sobjects/{quote(sobject, safe='')}/{quote(str(external_id_field), safe='')}"
        )
        return self._json("PATCH", path, payload=payload, idempotent=True)

    # ------------------------------------------------------------------ composite

    def composite(
        self,
        subrequests: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        collate_subrequests: bool | None = None,
    ) -> CompositeResult:
        """Run up to 25 dependent subrequests in one call (``POST /composite``).

        Each subrequest is ``{"method", "url", "referenceId", "body"?}``; ``url`` may be
        relative to the versioned root (``"sobjects/Opportunity"``). Later subrequests refer to
        earlier results with ``@{referenceId.id}``.

        Args:
            subrequests: the subrequests, in order.
            all_or_none: roll everything back when one fails (the others report
                ``PROCESSING_HALTED``).
            collate_subrequests: Salesforce's ``collateSubrequests`` (default: theirs).

        Returns:
            The outcomes by ``referenceId``; ``.to_frame()`` gives one row each.

        >>> sf.composite([
        ...     {"method": "POST", "url": "sobjects/Opportunity", "referenceId": "opp",
        ...      "body": {"Name": "Renewal", "StageName": "Closed Won", "CloseDate": "2025-01-31"}},
        ...     {"method": "POST", "url": "sobjects/OpportunityLineItem", "referenceId": "line",
        ...      "body": {"OpportunityId": "@{opp.id}", "PricebookEntryId": "01u...",
        ...               "Quantity": 2, "UnitPrice": Decimal("150.00")}},
        ... ], all_or_none=True)  # doctest: +SKIP
        """
        if not subrequests or len(subrequests) > _MAX_COMPOSITE:
            raise InputError(f"a composite request takes 1 to {_MAX_COMPOSITE} subrequests")
        payload: dict[str, Any] = {
            "allOrNone": all_or_none,
            "compositeRequest": [self._subrequest(s) for s in subrequests],
        }
        if collate_subrequests is not None:
            payload["collateSubrequests"] = collate_subrequests
        idempotent = all(str(s.get("method", "")).upper() == "GET" for s in subrequests)
        data = self._json("POST", "composite", payload=payload, idempotent=idempotent)
        return CompositeResult(tuple(wire.parse_composite(data)))

    def composite_graph(
        self, graphs: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> dict[str, CompositeResult]:
        """Run composite graphs (each all-or-nothing, up to 500 nodes): graph id -> outcomes."""
        payload = {
            "graphs": [
                {"graphId": graph_id, "compositeRequest": [self._subrequest(s) for s in subs]}
                for graph_id, subs in graphs.items()
            ]
        }
        data = self._json("POST", "composite/graph", payload=payload, idempotent=False)
        return {
            graph_id: CompositeResult(tuple(outcomes), successful=ok)
            for graph_id, (ok, outcomes) in wire.parse_graph(data).items()
        }

    def _subrequest(self, sub: Mapping[str, Any]) -> dict[str, Any]:
        missing = {"method", "url", "referenceId"} - set(sub)
        if missing:
            raise InputError(f"subrequest lacks {', '.join(sorted(missing))}", value=dict(sub))
        url = str(sub["url"])
        if not url.startswith("/services/"):
            url = f"/services/data/v{self._api_version}/{url.lstrip('/')}"
        return {**sub, "url": url}

    # ------------------------------------------------------------------ incremental sync

    def updated(self, sobject: str, *, start: Any, end: Any) -> list[str]:
        """Ids of records changed between ``start`` and ``end`` (timezone-aware datetimes)."""
        data = self._json(
            "GET",
            f"sobjects/{quote(sobject, safe='')}/updated/?{_window(start, end)}",
            idempotent=True,
        )
        return [str(i) for i in (data or {}).get("ids") or ()]

    def deleted(self, sobject: str, *, start: Any, end: Any) -> pd.DataFrame:
        """Records deleted between ``start`` and ``end``: columns ``id``, ``deletedDate``.

        Salesforce keeps this for at most 15 days.
        """
        data = self._json(
            "GET",
            f"sobjects/{quote(sobject, safe='')}/deleted/?{_window(start, end)}",
            idempotent=True,
        )
        rows = (data or {}).get("deletedRecords") or []
        return frame_from_records(rows, {"id": "text", "deletedDate": "timestamp"})

    # ------------------------------------------------------------------ Bulk API 2.0

    def ingest(
        self,
        sobject: str,
        operation: IngestOperation,
        records: Records,
        *,
        external_id_field: str | None = None,
        timeout: float = 1800.0,
    ) -> IngestResult:
        """Run one Bulk API 2.0 ingest job: CSV upload, poll until done, fetch the results.

        Args:
            sobject: the sObject.
            operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hardDelete``.
            records: a DataFrame (missing cells become empty cells: the field is left alone) or
                dicts (``None`` becomes ``#N/A``: the field is cleared).
            external_id_field: required for ``upsert``.
            timeout: seconds to keep polling before giving up.

        Returns:
            The job and its successful, failed and unprocessed rows.

        Raises:
            RequestTimeout: the job did not finish in time (it keeps running at Salesforce).
        """
        prepared = wire.prepare_records(records)
        return self._ingest(sobject, operation, prepared, external_id_field, timeout)[0]

    def _ingest(
        self,
        sobject: str,
        operation: IngestOperation,
        records: Sequence[Mapping[str, Any]],
        external_id_field: str | None,
        timeout: float,
    ) -> tuple[IngestResult, bytes]:
        if operation == "upsert" and not external_id_field:
            raise InputError("a Bulk upsert needs external_id_field=")
        csv_body = wire.records_to_csv(records, rows=range(len(records)))
        if len(csv_body) > _BULK_MAX_UPLOAD:
            raise InputError(
                f"the CSV is {len(csv_body):,} bytes; Bulk 2.0 takes up to "
                f"{_BULK_MAX_UPLOAD:,} per job: send fewer records at a time"
            )
        spec: dict[str, Any] = {
            "object": sobject,
            "operation": operation,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if external_id_field:
            spec["externalIdFieldName"] = external_id_field
        job = BulkJob.from_json(self._json("POST", "jobs/ingest", payload=spec, idempotent=True))
        self._call(
            "PUT",
            f"jobs/ingest/{job.id}/batches",
            body=csv_body,
            content_type="text/csv",
            idempotent=False,
        )
        self._json(
            "PATCH", f"jobs/ingest/{job.id}", payload={"state": "UploadComplete"}, idempotent=True
        )
        job = self._wait_for_job("ingest", job.id, timeout)
        frames = []
        for resource, kinds in (
            ("successfulResults", {"sf__Id": "text", "sf__Created": "boolean"}),
            ("failedResults", {"sf__Id": "text", "sf__Error": "text"}),
            ("unprocessedrecords", {}),
        ):
            try:
                response = self._call(
                    "GET", f"jobs/ingest/{job.id}/{resource}", accept="text/csv", idempotent=True
                )
                header, rows = wire.parse_csv(response.body)
            except SalesforceError:
                if job.state == "JobComplete":
                    raise
                header, rows = [], []  # a failed or aborted job may have no result files
            typed: dict[str, Kind] = dict(kinds)  # type: ignore[arg-type]
            columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
            frames.append(build_frame(columns, typed, order=header or list(typed)))
        result = IngestResult(
            job=job, successful=frames[0], failed=frames[1], unprocessed=frames[2]
        )
        return result, csv_body

    def _wait_for_job(self, kind: str, job_id: str, timeout: float) -> BulkJob:
        waited = 0.0
        delay = 0.5
        while True:
            data = self._json("GET", f"jobs/{kind}/{job_id}", idempotent=True)
            job = BulkJob.from_json(data)
            if job.finished:
                if job.state != "JobComplete":
                    log.warning(
                        "bulk %s job %s ended %s: %s", kind, job_id, job.state, job.error_message
                    )
                return job
            if waited >= timeout:
                raise RequestTimeout(
                    f"bulk {kind} job {job_id} still {job.state} after {waited:.0f}s; "
                    "it keeps running at Salesforce",
                    method="GET",
                    url=self._url(f"jobs/{kind}/{job_id}"),
                    should_retry=False,
                )
            self._sleep(delay)
            waited += delay
            delay = min(delay * 2, 10.0)

    def _bulk_write(
        self,
        operation: wire.Operation,
        sobject: str,
        records: list[dict[str, Any]],
        external_id_field: str | None,
        progress: bool,
    ) -> pd.DataFrame:
        bulk_operation: IngestOperation = "insert" if operation == "create" else operation
        outcomes: list[dict[str, Any]] = []
        with progress_bar(
            enabled=progress, desc=f"Salesforce bulk {operation} {sobject}", total=len(records)
        ) as bar:
            for start in range(0, len(records), _BULK_JOB_RECORDS):
                part = records[start : start + _BULK_JOB_RECORDS]
                result, csv_body = self._ingest(
                    sobject, bulk_operation, part, external_id_field, 1800.0
                )
                outcomes.extend(_bulk_outcomes(operation, result, csv_body, start, len(part)))
                bar.update(len(part))
        return _outcome_frame(outcomes)

    def bulk_query(
        self, soql: str, *, include_deleted: bool = False, timeout: float = 1800.0
    ) -> pd.DataFrame:
        """Run a Bulk API 2.0 query job and return the rows, typed like :meth:`query`.

        For large extracts without child subqueries (Bulk 2.0 does not take subqueries,
        aggregates, ``TYPEOF`` or ``OFFSET``).

        Raises:
            SalesforceError: the job failed (``JOB_FAILED`` with Salesforce's message).
            RequestTimeout: the job did not finish in time.
        """
        shape = wire.QueryShape.build(wire.parse_select(soql), self._describe_or_none)
        spec = {
            "operation": "queryAll" if include_deleted else "query",
            "query": soql,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        job = BulkJob.from_json(self._json("POST", "jobs/query", payload=spec, idempotent=True))
        job = self._wait_for_job("query", job.id, timeout)
        if job.state != "JobComplete":
            detail = SalesforceErrorDetail(
                error_code=f"JOB_{job.state.upper()}", message=job.error_message or job.state
            )
            raise SalesforceError([detail])
        pages = []
        locator: str | None = ""
        while locator is not None:
            suffix = f"?{urlencode({'locator': locator})}" if locator else ""
            response = self._call(
                "GET", f"jobs/query/{job.id}/results{suffix}", accept="text/csv", idempotent=True
            )
            header, rows = wire.parse_csv(response.body)
            records = [dict(zip(header, row, strict=True)) for row in rows]
            pages.append(shape.frame(records))
            next_locator = response.header("Sforce-Locator")
            locator = next_locator if next_locator and next_locator != "null" else None
        frame = pages[0] if len(pages) == 1 else _concat_pages(pages)
        frame.attrs["total_size"] = len(frame)
        return frame


def _window(start: Any, end: Any) -> str:
    from intacct_sync.salesforce.soql import literal

    return urlencode({"start": literal(start), "end": literal(end)})


def _outcome_frame(outcomes: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    columns = {k: [o[k] for o in outcomes] for k in wire.OUTCOME_KINDS}
    return build_frame(columns if outcomes else {}, wire.OUTCOME_KINDS)


def _concat_pages(pages: Sequence[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(pages, ignore_index=True)
    names: list[str] = []
    for page in pages:
        for name in page.attrs.get("children", {}):
            if name not in names:
                names.append(name)
    children = {
        name: pd.concat([p.attrs["children"][name] for p in pages], ignore_index=True)
        for name in names
    }
    frame.attrs["children"] = ChildFrames(children)
    frame.attrs["total_size"] = pages[0].attrs.get("total_size", len(frame))
    return frame


def _bulk_outcomes(
    operation: wire.Operation, result: IngestResult, csv_body: bytes, start: int, count: int
) -> list[dict[str, Any]]:
    """Map Bulk result rows back to input rows by the uploaded values they echo."""
    header, rows = wire.parse_csv(csv_body)
    by_values: dict[tuple[str, ...], deque[int]] = defaultdict(deque)
    for i, row in enumerate(rows):
        by_values[tuple(row)].append(i)
    outcomes: dict[int, dict[str, Any]] = {}

    def take(frame: pd.DataFrame) -> Iterator[tuple[int | None, Mapping[Any, Any]]]:
        for record in frame.to_dict("records"):
            values = tuple("" if pd.isna(record.get(c)) else str(record.get(c)) for c in header)
            queue = by_values.get(values)
            yield (queue.popleft() if queue else None), record

    for index, record in take(result.successful):
        if index is None:
            continue
        created = (
            bool(record.get("sf__Created")) if operation == "upsert" else operation == "create"
        )
        status = {"create": "created", "update": "updated", "delete": "deleted"}.get(
            operation, "created" if created else "updated"
        )
        outcomes[index] = wire.outcome(
            row=start + index,
            id=_text(record.get("sf__Id")),
            success=True,
            created=created if operation in ("create", "upsert") else False,
            status=status,
        )
    for index, record in take(result.failed):
        if index is None:
            continue
        error = wire.parse_bulk_error(_text(record.get("sf__Error")) or "")
        outcomes[index] = wire.outcome(
            row=start + index,
            id=_text(record.get("sf__Id")),
            success=False,
            created=None,
            status="failed",
            errors=[error],
        )
    for index, _record in take(result.unprocessed):
        if index is not None:
            outcomes[index] = wire.outcome(
                row=start + index, id=None, success=False, created=None, status="unprocessed"
            )
    return [
        outcomes.get(i)
        or wire.outcome(row=start + i, id=None, success=None, created=None, status="unknown")
        for i in range(count)
    ]


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value) or None

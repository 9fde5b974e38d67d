"""What every Salesforce API family shares: the instance, the token, one authenticated call."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import pandas as pd

from intacct_sync._http.base import ClientBase
from intacct_sync._http.governor import Governor, governor_for
from intacct_sync._http.retry import DEFAULT_RETRY, RetryPolicy
from intacct_sync._http.transport import (
    DEFAULT_TIMEOUT,
    HttpRequest,
    HttpResponse,
    Timeout,
    Transport,
    parse_retry_after,
    send,
)
from intacct_sync._http.urls import check_url, same_origin
from intacct_sync.errors import (
    ConfigError,
    ProtocolError,
    SalesforceAuthenticationError,
    SalesforceError,
    SalesforceLimitError,
    UnsafeUrlError,
)
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce.auth import (
    TokenFlow,
    parse_token_response,
)
from intacct_sync.salesforce.models import ApiUsage, SObjectDescribe

log = logging.getLogger("intacct_sync.salesforce")

#: API version used unless told otherwise (Winter '25); at least 46.0 is required
DEFAULT_API_VERSION = "62.0"
_MIN_API_VERSION = 46.0
Records = pd.DataFrame | Iterable[Mapping[str, Any]]
_VERSION_RE = re.compile(r"v?(\d{2,3})\.0\Z")


def _check_version(version: str) -> str:
    match = _VERSION_RE.match(str(version).strip())
    if match is None or float(match.group(1)) < _MIN_API_VERSION:
        raise ConfigError(
            f"api_version must look like '62.0' and be at least {_MIN_API_VERSION}, got {version!r}"
        )
    return f"{match.group(1)}.0"


def _check_instance(url: str) -> str:
    if not re.match(r"https?://[^/\s]+", url):
        raise ConfigError(f"instance_url must be an http(s) URL, got {url!r}")
    # Plain http (any port) only for a local sandbox: the token travels on every call.
    check_url(url, allow_loopback_http=True)
    return url.rstrip("/")


class _Session(ClientBase):
    """The HTTP core shared by every API family of :class:`~intacct_sync.SalesforceClient`.

    Every request goes to the configured instance's scheme, host and port, and nowhere else:
    a URL the server hands back (``nextRecordsUrl``, the token answer's ``instance_url``) on
    another origin is an :class:`~intacct_sync.errors.UnsafeUrlError` before anything is sent.
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
        governor: Governor | None = None,
    ) -> None:
        if access_token is None and auth is None:
            raise ConfigError("SalesforceClient needs an access_token or a token flow (auth=)")
        if batch_size is not None and not 200 <= batch_size <= 2000:
            raise ConfigError(f"batch_size must be between 200 and 2000, got {batch_size}")
        instance = _check_instance(instance_url)
        api_version = _check_version(api_version)
        super().__init__(transport=transport, timeout=timeout, retry=retry, sleep=sleep)
        self._instance_url = instance
        self._token = access_token
        self._api_version = api_version
        self._auth = auth
        self._batch_size = batch_size
        self._api_usage: ApiUsage | None = None
        self._describes: dict[str, SObjectDescribe | None] = {}
        self.governor = governor or governor_for("salesforce", instance)

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
        """The URL of ``path``: relative to the versioned root, to the instance (``/...``), or
        absolute; pinned to the instance's origin whatever the server handed back.
        """
        if path.startswith(("http://", "https://")):
            url = path
        elif path.startswith("/") and not path.startswith("//"):
            url = self._instance_url + path
        elif path.startswith("/"):
            url = path  # protocol-relative: judged (and refused) as the foreign URL it is
        else:
            url = f"{self._instance_url}/services/data/v{self._api_version}/{path}"
        if not same_origin(url, self._instance_url):
            raise UnsafeUrlError(
                f"refusing to send the access token to {_shown(url)!r}: not the instance "
                f"{self._instance_url!r} (scheme, host and port must match)",
                url=_shown(url),
                reason="another origin than the configured instance",
            )
        return url

    def _authenticate(self) -> None:
        assert self._auth is not None
        token = send(
            self._transport,
            self._auth.token_request(),
            timeout=self.timeout,
            retry=self.retry,
            idempotent=True,
            check=parse_token_response,
            what="salesforce POST oauth2/token",
            sleep=self._sleep,
        )
        if token.instance_url:
            # Every later call carries the token to this URL: it must be the configured
            # instance (reference/salesforce-api.md §2: "the host for all later calls").
            returned = _check_instance(token.instance_url)
            if not same_origin(returned, self._instance_url):
                raise UnsafeUrlError(
                    f"the token endpoint answered instance_url {_shown(returned)!r}, not the "
                    f"configured {self._instance_url!r}; configure that instance_url if it is "
                    "your org's",
                    url=_shown(returned),
                    reason="instance_url on another origin than the configured instance",
                )
            self._instance_url = returned
        self._auth.accept(token)
        self._token = token.access_token

    def _check(self, response: HttpResponse) -> HttpResponse:
        usage = ApiUsage.from_header(response.header("Sforce-Limit-Info"))
        if usage is not None:
            self._api_usage = usage
        if 200 <= response.status < 300:
            return response
        error = wire.error_from_response(
            response.status,
            response.body,
            retry_after=parse_retry_after(response.header("Retry-After")),
        )
        if isinstance(error, SalesforceLimitError):
            error.used = usage.used if usage is not None else None
            error.allowed = usage.limit if usage is not None else None
            error.add_note(limit_advice(usage or self._api_usage))
        raise error

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
                    self.governor.wrap(self._transport),  # every request, one slot per attempt
                    request,
                    timeout=self.timeout,
                    retry=self.retry,
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

    # ------------------------------------------------------------------ describe

    def describe(self, sobject: str) -> SObjectDescribe:
        """Describe an sObject (fields, types, relationships); cached per client.

        Args:
            sobject: the sObject (``Account``).

        Returns:
            The sObject's description.

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
        except (SalesforceAuthenticationError, SalesforceLimitError, UnsafeUrlError):
            raise  # the query itself would meet the same refusal
        except (SalesforceError, ProtocolError) as exc:
            # Types then come from the values; the query itself will say if the object is bad.
            log.debug("describe %s failed (%s); column types guessed from values", sobject, exc)
            self._describes[key] = None
            return None


def _shown(url: str) -> str:
    # Never echo userinfo (it may hold a password) or an endless hostile string.
    text = re.sub(r"//[^/?#]*@", "//<userinfo>@", url)
    return text if len(text) <= 200 else text[:200] + "..."


def limit_advice(usage: ApiUsage | None) -> str:
    """What a daily-limit stop means for the caller: the usage seen and when to rerun."""
    seen = (
        f"API requests used {usage.used:,} of {usage.limit:,} (Sforce-Limit-Info)"
        if usage is not None
        else "API usage not reported"
    )
    return (
        f"The org's daily API allocation is spent ({seen}); nothing was retried. Rerun once "
        "the org's usage is below its allocation again (sf.limits() shows DailyApiRequests)."
    )

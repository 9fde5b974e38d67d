"""``IntacctClient``: one client of Sage Intacct, speaking the XML gateway or the REST API.

The public class is assembled here; the wire work lives in its parts. Over XML: sessions and the
one request-sending method in :mod:`._session`, field types and frames in :mod:`._xml_types`,
reads in :mod:`._xml_reads`, writes in :mod:`._xml_writes`. Over REST every call is served by
the REST backend (:class:`~intacct_sync.intacct.rest.IntacctRestClient`, OAuth 2.0), which
returns the same frames and the same outcome contract, so every workflow that takes an
``IntacctClient`` runs unchanged on either protocol (``docs/xml-or-rest.md``).
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping

from intacct_sync._http.governor import Governor, governor_for
from intacct_sync._http.redact import register_secret
from intacct_sync._http.retry import DEFAULT_RETRY, RetryPolicy
from intacct_sync._http.transport import DEFAULT_TIMEOUT, Timeout, Transport
from intacct_sync._http.urls import check_url
from intacct_sync.config import (
    DEFAULT_INTACCT_REST_URL,
    IntacctCredentials,
    IntacctProtocol,
    IntacctRestCredentials,
    OAuthGrant,
    resolve_protocol,
)
from intacct_sync.errors import ConfigError, InputError
from intacct_sync.intacct._call_forms import explicit_credentials
from intacct_sync.intacct._writes import OUTCOME_COLUMNS
from intacct_sync.intacct._xml_reads import XmlReads
from intacct_sync.intacct._xml_writes import XmlWrites
from intacct_sync.intacct.rest import _oauth
from intacct_sync.intacct.rest import _protocol as rest_wire
from intacct_sync.intacct.rest.client import IntacctRestClient

__all__ = ["OUTCOME_COLUMNS", "IntacctClient"]

_XML_PAGE_SIZE = 1000
_XML_BATCH_SIZE = 100


class IntacctClient(XmlReads, XmlWrites):
    """A client of Sage Intacct: the XML gateway (default) or the REST API with OAuth 2.0.

    The constructor uses exactly the credentials it is given and never reads the environment
    or a profile file; :meth:`from_env` resolves them from the ``INTACCT_*`` environment
    variables and ``~/.intacct/credentials.ini`` (see :class:`IntacctCredentials` and
    :class:`IntacctRestCredentials`), and ``INTACCT_PROTOCOL`` or the profile's ``protocol``
    key choose the protocol. Over XML the client signs in once with ``getAPISession`` and then
    uses the session at the endpoint Intacct returns; an expired session is renewed once,
    transparently. Over REST it holds an OAuth 2.0 token, refreshed before it expires and once
    more on a 401.

    Reads return typed DataFrames whose columns are Intacct's XML field names on both
    protocols; long reads page automatically (``iter_*`` variants yield one DataFrame per
    page). Writes carry a deterministic identity per record (XML: the function's control id
    with ``uniqueid=true``; REST: the ``Idempotency-Key`` derived from the same control ids),
    so a retry after a lost answer never writes twice; they return one outcome row per record.

    >>> with IntacctClient.from_env() as ia:  # doctest: +SKIP
    ...     accounts = ia.read_by_query("GLACCOUNT", query="STATUS = 'T'")
    >>> ia = IntacctClient.from_env(protocol="rest")  # doctest: +SKIP

    Args:
        sender_id: Web Services sender id (XML).
        sender_password: Web Services sender password (XML).
        company_id: company to sign in to.
        user_id: Web Services user of that company.
        user_password: that user's password (XML).
        entity_id: entity (location id) of a multi-entity company; top level if None.
        endpoint_url: gateway URL; Sage's by default (XML).
        protocol: ``"xml"`` (the gateway) or ``"rest"`` (the REST API, OAuth 2.0).
        client_id: REST: the application's client id (Sage App Registry).
        client_secret: REST: its secret.
        grant: REST: ``client_credentials`` (a job; ``user_id@company_id``) or
            ``authorization_code`` (a person; the browser opens once), or a grant object
            (:class:`~intacct_sync.intacct.rest.AuthorizationCode` with options).
        token_cache: REST: a file path, ``"keyring"``, ``"memory"`` or a token cache object;
            default memory for client credentials, the keyring or
            ``~/.intacct/rest-tokens.json`` (owner-only) for the authorization code.
        rest_url: REST: the API base (``https://api.intacct.com/ia/api/v1``).
        entity_in_token: REST: mint the token for ``entity_id`` instead of sending the
            entity header.
        transport: HTTP transport (default: pooled ``requests``, closed by :meth:`close`).
        timeout: connect and read timeouts.
        retry: retry policy for throttling, busy signals and network failures.
        sleep: how the client waits between attempts (tests pass a fake).
        page_size: default page size of reads (XML: readByQuery at most 1,000, query 2,000;
            default 1,000. REST: at most 4,000; default 2,000).
        batch_size: records per write request (XML: functions per request, default 100;
            REST: at most 500, the default).
        typed: look up each object's field types (``lookup`` or the REST model service,
            cached) to type columns; with False every column is text.
        governor: keeps this company's requests in flight within its limit; default: the
            process-wide governor of ``company_id`` (2 in flight, reference §13.7), shared by
            both protocols. Share one across processes with
            :func:`intacct_sync.state.shared_governor`.
        profile: deprecated; use ``IntacctClient.from_env(profile=...)``.
        profile_file: deprecated; use ``IntacctClient.from_env(profile_file=...)``.

    Raises:
        ConfigError: a required credential is missing or empty (the message names the
            argument), an URL is not an http(s) URL, or ``protocol`` is unknown.
        InputError: ``batch_size`` or ``page_size`` is out of range.
    """

    def __init__(
        self,
        sender_id: str | None = None,
        sender_password: str | None = None,
        company_id: str | None = None,
        user_id: str | None = None,
        user_password: str | None = None,
        entity_id: str | None = None,
        endpoint_url: str | None = None,
        *,
        protocol: IntacctProtocol = "xml",
        client_id: str | None = None,
        client_secret: str | None = None,
        grant: OAuthGrant | _oauth.ClientCredentials | _oauth.AuthorizationCode | None = None,
        token_cache: str | os.PathLike[str] | _oauth.TokenCache | None = None,
        rest_url: str | None = None,
        entity_in_token: bool = False,
        profile: str | None = None,
        profile_file: str | os.PathLike[str] | None = None,
        transport: Transport | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int | None = None,
        batch_size: int | None = None,
        typed: bool = True,
        governor: Governor | None = None,
    ) -> None:
        if protocol not in ("xml", "rest"):
            raise ConfigError(f"protocol must be 'xml' or 'rest', got {protocol!r}")
        self.protocol: IntacctProtocol = protocol
        self._credentials = None
        self._rest = None
        self.rest_credentials: IntacctRestCredentials | None = None
        self._session = None
        self._session_lock = threading.Lock()
        self._kinds_cache = {}
        if protocol == "rest":
            if sender_id or sender_password or user_password or endpoint_url:
                raise ConfigError(
                    "protocol='rest' signs in with OAuth 2.0 (client_id=, client_secret=); "
                    "sender_id, sender_password, user_password and endpoint_url are XML "
                    "gateway settings"
                )
            super().__init__(transport=transport, timeout=timeout, retry=retry, sleep=sleep)
            cache_path = (
                os.fspath(token_cache) if isinstance(token_cache, str | os.PathLike) else None
            )
            self._init_rest(
                IntacctRestCredentials(
                    client_id=client_id or "",
                    client_secret=client_secret,
                    company_id=company_id,
                    user_id=user_id,
                    entity_id=entity_id,
                    grant=(
                        grant
                        if isinstance(grant, str)
                        else "authorization_code"
                        if isinstance(grant, _oauth.AuthorizationCode)
                        else "client_credentials"
                    ),
                    token_cache=cache_path,
                    rest_url=rest_url or DEFAULT_INTACCT_REST_URL,
                    entity_in_token=entity_in_token,
                ),
                grant=None if isinstance(grant, str) else grant,
                token_cache=None if isinstance(token_cache, str | os.PathLike) else token_cache,
                page_size=page_size,
                batch_size=batch_size,
                typed=typed,
                governor=governor,
            )
            return
        if client_id or client_secret or grant or token_cache or rest_url or entity_in_token:
            raise ConfigError(
                "client_id, client_secret, grant, token_cache, rest_url and entity_in_token are "
                "REST settings: pass protocol='rest'"
            )
        given = {
            "sender_id": sender_id,
            "sender_password": sender_password,
            "company_id": company_id,
            "user_id": user_id,
            "user_password": user_password,
            "entity_id": entity_id,
            "endpoint_url": endpoint_url,
        }
        if profile is not None or profile_file is not None:
            warnings.warn(
                "IntacctClient(profile=..., profile_file=...) is deprecated and will be removed "
                "in the next release; use IntacctClient.from_env(profile=..., profile_file=...)",
                DeprecationWarning,
                stacklevel=2,
            )
            credentials = IntacctCredentials.resolve(
                profile=profile,
                profile_file=profile_file,
                sender_id=sender_id,
                sender_password=sender_password,
                company_id=company_id,
                user_id=user_id,
                user_password=user_password,
                entity_id=entity_id,
                endpoint_url=endpoint_url,
            )
        else:
            credentials = explicit_credentials(given)
        # Refused before anything is sent: https on 443, or a local sandbox (issue 13).
        check_url(credentials.endpoint_url, allow_loopback_http=True)
        register_secret(credentials.sender_password)
        register_secret(credentials.user_password)
        batch = _XML_BATCH_SIZE if batch_size is None else batch_size
        if batch < 1:
            raise InputError("batch_size must be at least 1", field="batch_size", value=batch)
        super().__init__(transport=transport, timeout=timeout, retry=retry, sleep=sleep)
        self._credentials = credentials
        self.page_size = _XML_PAGE_SIZE if page_size is None else page_size
        self.batch_size = batch
        self.typed = typed
        self.governor = governor or governor_for("intacct", credentials.company_id)

    def _init_rest(
        self,
        c: IntacctRestCredentials,
        *,
        grant: _oauth.ClientCredentials | _oauth.AuthorizationCode | None,
        token_cache: _oauth.TokenCache | None,
        page_size: int | None,
        batch_size: int | None,
        typed: bool,
        governor: Governor | None,
    ) -> None:
        register_secret(c.client_secret)
        # The entity header (or an entity token) scopes REST requests (reference
        # intacct-rest-api.md §2.3), as the login's locationid does over XML.
        check_url(c.rest_url, allow_loopback_http=True)
        if grant is None and c.grant == "authorization_code":
            grant = _oauth.AuthorizationCode()
        cache = token_cache if token_cache is not None else _token_cache(c)
        self.rest_credentials = c
        self._rest = IntacctRestClient(
            client_id=c.client_id,
            client_secret=c.client_secret,
            company_id=c.company_id,
            user_id=c.user_id,
            entity_id=c.entity_id,
            entity_in_token=c.entity_in_token,
            grant=grant,
            base_url=c.rest_url,
            token_cache=cache,
            transport=self._transport,  # owned and closed by this client
            timeout=self.timeout,
            retry=self.retry,
            sleep=self._sleep,
            page_size=rest_wire.DEFAULT_PAGE_SIZE if page_size is None else page_size,
            batch_size=rest_wire.MAX_BATCH if batch_size is None else batch_size,
            typed=typed,
            governor=governor,
        )
        self.page_size = self._rest.page_size
        self.batch_size = self._rest.batch_size
        self.typed = typed
        self.governor = self._rest.governor

    @classmethod
    def from_env(
        cls,
        *,
        protocol: IntacctProtocol | None = None,
        profile: str | None = None,
        profile_file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        sender_id: str | None = None,
        sender_password: str | None = None,
        company_id: str | None = None,
        user_id: str | None = None,
        user_password: str | None = None,
        entity_id: str | None = None,
        endpoint_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        grant: OAuthGrant | None = None,
        token_cache: str | None = None,
        rest_url: str | None = None,
        transport: Transport | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int | None = None,
        batch_size: int | None = None,
        typed: bool = True,
        governor: Governor | None = None,
    ) -> IntacctClient:
        """A client whose settings are looked up: arguments, ``INTACCT_*``, then a profile.

        The protocol is ``protocol``, else ``INTACCT_PROTOCOL``, else the profile's
        ``protocol`` key, else ``xml``. Each credential is the argument if given (``None`` and
        ``""`` count as not given), else its ``INTACCT_*`` variable, else the profile's key in
        the profile file (see :meth:`IntacctCredentials.resolve` for XML and
        :meth:`IntacctRestCredentials.resolve` for REST; docs/configuration.md lists them).
        The other options are the constructor's.

        Args:
            protocol: ``xml`` or ``rest``.
            profile: section of the profile file (default ``INTACCT_PROFILE``, else
                ``default``); naming one makes a missing file or section an error.
            profile_file: the INI file (default ``INTACCT_PROFILE_FILE``, else
                ``~/.intacct/credentials.ini``).
            environ: the environment to read (default ``os.environ``).
            sender_id: XML: overrides ``INTACCT_SENDER_ID`` and the profile.
            sender_password: XML: overrides ``INTACCT_SENDER_PASSWORD`` and the profile.
            company_id: overrides ``INTACCT_COMPANY_ID`` and the profile.
            user_id: overrides ``INTACCT_USER_ID`` and the profile.
            user_password: XML: overrides ``INTACCT_USER_PASSWORD`` and the profile.
            entity_id: overrides ``INTACCT_ENTITY_ID`` and the profile.
            endpoint_url: XML: overrides ``INTACCT_ENDPOINT_URL`` and the profile.
            client_id: REST: overrides ``INTACCT_CLIENT_ID`` and the profile.
            client_secret: REST: overrides ``INTACCT_CLIENT_SECRET`` and the profile.
            grant: REST: overrides ``INTACCT_OAUTH_GRANT`` and the profile.
            token_cache: REST: overrides ``INTACCT_TOKEN_CACHE`` and the profile.
            rest_url: REST: overrides ``INTACCT_REST_URL`` and the profile.
            transport: as in the constructor.
            timeout: as in the constructor.
            retry: as in the constructor.
            sleep: as in the constructor.
            page_size: as in the constructor.
            batch_size: as in the constructor.
            typed: as in the constructor.
            governor: as in the constructor.

        Returns:
            A client of the chosen protocol; close it (or use it as a context manager) when done.

        Raises:
            ConfigError: a credential is missing; the message names the argument, the variable
                and the file looked at.
        """
        chosen = resolve_protocol(
            protocol, environ=environ, profile_file=profile_file, profile=profile
        )
        if chosen == "rest":
            r = IntacctRestCredentials.resolve(
                environ=environ,
                profile_file=profile_file,
                profile=profile,
                client_id=client_id,
                client_secret=client_secret,
                company_id=company_id,
                user_id=user_id,
                entity_id=entity_id,
                grant=grant,
                token_cache=token_cache,
                rest_url=rest_url,
            )
            return cls(
                protocol="rest",
                client_id=r.client_id,
                client_secret=r.client_secret,
                company_id=r.company_id,
                user_id=r.user_id,
                entity_id=r.entity_id,
                grant=r.grant,
                token_cache=r.token_cache,
                rest_url=r.rest_url,
                entity_in_token=r.entity_in_token,
                transport=transport,
                timeout=timeout,
                retry=retry,
                sleep=sleep,
                page_size=page_size,
                batch_size=batch_size,
                typed=typed,
                governor=governor,
            )
        c = IntacctCredentials.resolve(
            environ=environ,
            profile_file=profile_file,
            profile=profile,
            sender_id=sender_id,
            sender_password=sender_password,
            company_id=company_id,
            user_id=user_id,
            user_password=user_password,
            entity_id=entity_id,
            endpoint_url=endpoint_url,
        )
        return cls(
            sender_id=c.sender_id,
            sender_password=c.sender_password,
            company_id=c.company_id,
            user_id=c.user_id,
            user_password=c.user_password,
            entity_id=c.entity_id,
            endpoint_url=c.endpoint_url,
            transport=transport,
            timeout=timeout,
            retry=retry,
            sleep=sleep,
            page_size=page_size,
            batch_size=batch_size,
            typed=typed,
            governor=governor,
        )

    def __repr__(self) -> str:
        if self.rest_credentials is not None:
            r = self.rest_credentials
            entity = f", entity_id={r.entity_id!r}" if r.entity_id else ""
            return (
                f"IntacctClient(protocol='rest', company_id={r.company_id!r}, "
                f"user_id={r.user_id!r}{entity}, grant={r.grant!r}, rest_url={r.rest_url!r})"
            )
        c = self.credentials
        entity = f", entity_id={c.entity_id!r}" if c.entity_id else ""
        return (
            f"IntacctClient(company_id={c.company_id!r}, user_id={c.user_id!r}{entity}, "
            f"endpoint_url={c.endpoint_url!r})"
        )

    @property
    def company_id(self) -> str:
        """The company this client works in (either protocol)."""
        if self.rest_credentials is not None:
            return self.rest_credentials.company_id or ""
        return self.credentials.company_id

    @property
    def entity_id(self) -> str | None:
        """The entity requests are scoped to, or None for the top level (either protocol)."""
        if self.rest_credentials is not None:
            return self.rest_credentials.entity_id
        return self.credentials.entity_id

    @property
    def rest_backend(self) -> IntacctRestClient:
        """The REST backend (its ``model``, ``xml_session`` and OAuth session).

        Raises:
            ConfigError: this client speaks XML.
        """
        if self._rest is None:
            raise ConfigError("this client speaks XML; rest_backend needs protocol='rest'")
        return self._rest

    def close(self) -> None:
        """Forget the session and release the connections of a transport this client made."""
        self._session = None
        super().close()


def _token_cache(c: IntacctRestCredentials) -> _oauth.TokenCache | None:
    # §2.4: a rotated refresh token that is not persisted strands the connection, so a
    # person's sign-in persists by default; a client-credentials job simply asks again.
    where = c.token_cache
    if where is None:
        return _oauth.default_token_cache() if c.grant == "authorization_code" else None
    if where.lower() == "memory":
        return None
    if where.lower() == "keyring":
        return _oauth.KeyringTokenCache()
    return _oauth.FileTokenCache(where)

"""``SalesforceClient``: SOQL into typed DataFrames, writes with one outcome per record.

>>> from intacct_sync.salesforce import SalesforceClient, soql
>>> sf = SalesforceClient.from_env()  # doctest: +SKIP
>>> opps = sf.query(soql("SELECT Id, Name, Amount, Account.Name FROM Opportunity "
...                      "WHERE IsWon = {}", True))  # doctest: +SKIP

Every HTTP call goes through :func:`intacct_sync._http.transport.send` (timeouts, the retry loop,
one INFO log line per call, scrubbed bodies at DEBUG).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, overload

import pandas as pd

from intacct_sync.config import SalesforceCredentials
from intacct_sync.errors import (
    ConfigError,
    InputError,
)
from intacct_sync.frames import ChildFrames
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce._collections import BULK_THRESHOLD, _CollectionsMixin
from intacct_sync.salesforce._composite import _CompositeMixin
from intacct_sync.salesforce._rest import _RestMixin
from intacct_sync.salesforce._results import CompositeResult, IngestResult
from intacct_sync.salesforce._session import DEFAULT_API_VERSION, Records
from intacct_sync.salesforce.auth import (
    ClientCredentialsFlow,
    JwtBearerFlow,
    RefreshTokenFlow,
    default_audience,
    token_url,
)

__all__ = [
    "BULK_THRESHOLD",
    "DEFAULT_API_VERSION",
    "ChildFrames",
    "CompositeResult",
    "IngestResult",
    "SalesforceClient",
]

_ID_RE = re.compile(r"[A-Za-z0-9]{15}([A-Za-z0-9]{3})?\Z")


class SalesforceClient(_CollectionsMixin, _RestMixin, _CompositeMixin):
    """A Salesforce org over REST, Composite and Bulk API 2.0.

    One class composed of one part per API family: the HTTP session (``_session``: the
    instance, the token, pinned URLs, limits), REST reads (``_rest``), sObject Collections
    writes (``_collections``), Composite (``_composite``) and Bulk API 2.0 (``_bulk``). The
    options (``transport``, ``timeout``, ``retry``, ``sleep``, context manager, ``close``) are
    those of every client (:class:`intacct_sync._http.base.ClientBase`).

    Args:
        instance_url: the org's URL (``https://acme.my.salesforce.com``).
        access_token: a ready access token; optional when ``auth`` gets one.
        api_version: REST API version (at least 46.0).
        transport: how requests travel (default: a pooled ``requests`` session).
        timeout: connect and read timeouts.
        retry: retry policy for concurrency throttling (``REQUEST_LIMIT_EXCEEDED`` naming a
            concurrent-request limit), 5xx, ``UNABLE_TO_LOCK_ROW`` and dropped connections. The
            daily allocation (``TotalRequests``) is never retried: it raises
            :class:`~intacct_sync.errors.SalesforceLimitError` at once.
        auth: a token flow; with it an expired session is renewed once and the call repeated.
        batch_size: query page size hint (200-2,000; ``Sforce-Query-Options: batchSize``).
        sleep: how to wait between retries and bulk polls (tests pass a fake).
        governor: keeps the org's requests in flight within a limit; default: the process-wide
            governor of ``instance_url`` (4 in flight: salesforce-api.md gives no figure).

    Raises:
        ConfigError: a setting is malformed, or neither a token nor a flow is given.

    The access token never appears in ``repr``, ``str``, logs or exceptions.

    >>> sf = SalesforceClient("https://acme.my.salesforce.com", "00D...!...")  # doctest: +SKIP
    """

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

        Returns:
            A client; close it (or use it as a context manager) when done.
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

        Returns:
            A client; close it (or use it as a context manager) when done.

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

        Returns:
            A client; close it (or use it as a context manager) when done.
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

        Args:
            environ: the environment to read (default ``os.environ``).
            **options: the constructor's other options (``transport``, ``timeout``, ``retry``...).

        Returns:
            A client; close it (or use it as a context manager) when done.

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

    # ------------------------------------------------------------------ writes

    def create(
        self,
        object: str,
        records: Records,
        *,
        keys: Sequence[str] | None = None,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Insert records (sObject Collections, 200 a call; Bulk 2.0 above the threshold).

        Args:
            object: the sObject, e.g. ``"Account"``.
            records: a DataFrame (missing cells are left out) or dicts (``None`` clears).
            keys: your key of each record (its identity in your system), echoed in ``key``.
            all_or_none: roll a whole 200-record call back when one record fails.
            use_bulk: ``True`` for Bulk API 2.0, ``False`` for REST, ``None``: Bulk above
                :data:`BULK_THRESHOLD` records.
            progress: show a progress bar.

        Returns:
            The write outcome contract (:mod:`intacct_sync.outcomes`), one row per input record
            in input order: ``row``, ``key``, ``id``, ``status`` (``created``, ``updated``,
            ``deleted``, ``failed``, ``aborted`` (rolled back because another record of an
            all-or-none call failed), ``not_sent`` (Bulk: never processed), ``unknown``),
            ``done``, ``errors`` (``CODE: message; ...``), ``error_codes``, then Salesforce's
            ``created`` and ``fields`` (comma-separated).

        Raises:
            InputError: a value cannot be sent (NaN, a naive datetime with a time...), or
                ``keys`` does not have one key per record.
            IncompleteWriteError: the network failed, or the daily API limit was reached, part
                way; ``.outcomes`` says which rows are done, ``unknown`` (sent, unanswered) or
                ``not_sent``. A create is never repeated after it may have reached the server.
        """
        prepared = wire.prepare_records(records)
        caller_keys = _keys(keys, len(prepared), [None] * len(prepared))
        return self._write(
            "create", object, prepared, caller_keys, None, all_or_none, use_bulk, progress
        )

    def update(
        self,
        object: str,
        records: Records,
        *,
        keys: Sequence[str] | None = None,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Update records by ``Id`` (each record needs one); ``key`` is the Id unless ``keys``
        says otherwise. See :meth:`create` for the rest.

        Args:
            object: the sObject.
            records: records, each with its ``Id``.
            keys: the outcome ``key`` of each record (default: its Id).
            all_or_none: roll back every record when one fails.
            use_bulk: ``True`` for Bulk API 2.0, ``False`` for REST, None to choose by size (see
                :meth:`create`).
            progress: show a progress bar (needs tqdm).

        Returns:
            The outcome frame: one row per record, in the outcome contract's columns.
        """
        prepared = wire.prepare_records(records)
        for row, record in enumerate(prepared):
            if not record.get("Id"):
                raise InputError("an update needs the record's Id", row=row, field="Id")
        caller_keys = _keys(keys, len(prepared), [str(r["Id"]) for r in prepared])
        return self._write(
            "update", object, prepared, caller_keys, None, all_or_none, use_bulk, progress
        )

    def upsert(
        self,
        object: str,
        records: Records | None = None,
        /,
        *,
        external_id_field: str,
        keys: Sequence[str] | None = None,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
        **old: Any,
    ) -> pd.DataFrame:
        """Insert or update by external id; ``created`` tells which. Safe to rerun.

        Each record must carry ``external_id_field``; ``key`` is its value unless ``keys``
        says otherwise. Upserts are idempotent, so they are retried on throttling, outages and
        dropped connections. See :meth:`create`.

        ``upsert(object, external_id_field=..., records=...)`` (records by keyword, the old
        form) still works for one release and warns.

        Args:
            object: the sObject.
            records: records, each with ``external_id_field``.
            external_id_field: the external id field matched on.
            keys: the outcome ``key`` of each record (default: its external id).
            all_or_none: roll back every record when one fails.
            use_bulk: ``True`` for Bulk API 2.0, ``False`` for REST, None to choose by size (see
                :meth:`create`).
            progress: show a progress bar (needs tqdm).
            **old: the deprecated keyword form's arguments.

        Returns:
            The outcome frame: one row per record, in the outcome contract's columns; ``created``
            says whether each was inserted.
        """
        if old:
            unknown = sorted(set(old) - {"records"})
            if unknown or records is not None:
                raise TypeError(f"upsert() got unexpected keyword argument(s) {unknown or old}")
            warnings.warn(
                "sf.upsert(object, external_id_field=..., records=...) is deprecated: pass the "
                "records second, sf.upsert(object, records, external_id_field=...)",
                DeprecationWarning,
                stacklevel=2,
            )
            records = old["records"]
        if records is None:
            raise TypeError("upsert() needs the records: sf.upsert(object, records, ...)")
        prepared = wire.prepare_records(records)
        for row, record in enumerate(prepared):
            if record.get(external_id_field) in (None, ""):
                raise InputError(
                    "an upsert needs the external id in every record",
                    row=row,
                    field=external_id_field,
                )
        caller_keys = _keys(keys, len(prepared), [str(r[external_id_field]) for r in prepared])
        return self._write(
            "upsert",
            object,
            prepared,
            caller_keys,
            external_id_field,
            all_or_none,
            use_bulk,
            progress,
        )

    @overload
    def delete(
        self,
        object: str,
        ids: Iterable[str],
        *,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame: ...

    @overload
    def delete(
        self,
        object: Iterable[str],
        *,
        sobject: str | None = None,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame: ...

    def delete(
        self,
        object: str | Iterable[str],
        ids: Iterable[str] | None = None,
        *,
        sobject: str | None = None,
        all_or_none: bool = False,
        use_bulk: bool | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Delete records by Id (to the recycle bin); ``key`` is the Id. See :meth:`create`.

        Args:
            object: the sObject (``"Account"``).
            ids: record ids (a list, a Series...).
            all_or_none: as for :meth:`create`.
            use_bulk: as for :meth:`create`.
            progress: show a progress bar.
            sobject: only with the old form ``delete(ids, sobject=None)``, which still works
                for one release and warns.

        Returns:
            The outcome frame: one row per id, in the outcome contract's columns.
        """
        if isinstance(object, str):
            if ids is None:
                raise TypeError("delete() needs the ids: sf.delete(object, ids)")
            if sobject is not None:
                raise TypeError("delete(object, ids) takes no sobject=")
            name: str | None = object
            values: Iterable[str] = ids
        else:
            if ids is not None:
                raise TypeError("delete(object, ids): the object comes first, as a string")
            warnings.warn(
                "sf.delete(ids, sobject=...) is deprecated: use sf.delete(object, ids)",
                DeprecationWarning,
                stacklevel=2,
            )
            name, values = sobject, object
        prepared: list[dict[str, Any]] = []
        for row, value in enumerate(values):
            if _ID_RE.match(str(value)) is None:
                raise InputError("not a Salesforce record id", row=row, field="Id", value=value)
            prepared.append({"Id": value})
        if use_bulk and name is None:
            raise InputError("a Bulk API delete needs the object: sf.delete(object, ids)")
        if name is None:
            use_bulk = False
        return self._write(
            "delete",
            name or "",
            prepared,
            [str(r["Id"]) for r in prepared],
            None,
            all_or_none,
            use_bulk,
            progress,
        )


def _keys(
    keys: Sequence[str] | None, count: int, default: Sequence[str | None]
) -> Sequence[str | None]:
    if keys is None:
        return default
    if _is_text(keys):  # a str is a Sequence[str] to the type checker, but never keys
        raise InputError("keys= takes one key per record, not a string", field="keys")
    if len(keys) != count:
        raise InputError(f"keys= needs one key per record ({count}), got {len(keys)}", field="keys")
    return [str(k) for k in keys]


def _is_text(value: object) -> bool:
    return isinstance(value, str | bytes)

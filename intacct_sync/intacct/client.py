"""``IntacctClient``: sessions, paged reads as typed DataFrames, batched idempotent writes."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import attrs
import pandas as pd
from lxml import etree

from intacct_sync import frames
from intacct_sync._http.progress import progress as progress_bar
from intacct_sync._http.retry import DEFAULT_RETRY, RetryPolicy
from intacct_sync._http.transport import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    HttpRequest,
    HttpResponse,
    RequestsTransport,
    Timeout,
    Transport,
    parse_retry_after,
    send,
)
from intacct_sync.config import IntacctCredentials
from intacct_sync.errors import (
    AuthenticationError,
    FunctionError,
    IncompleteWriteError,
    InputError,
    IntacctSyncError,
    ProtocolError,
)
from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._fields import (
    DATATYPE_KINDS,
    INSPECT_COLUMNS,
    LOOKUP_COLUMNS,
    inspect_rows,
    lookup_rows,
)
from intacct_sync.intacct._protocol import (
    Envelope,
    Function,
    LoginAuth,
    Records,
    Response,
    Result,
    SessionAuth,
    build_request,
    page_columns,
    parse_response,
)
from intacct_sync.intacct._writes import (
    OUTCOME_COLUMNS,
    PendingWrite,
    control_id,
    create_control_id,
    id_value,
    nest_fields,
    outcome,
    result_outcome,
)
from intacct_sync.intacct.filters import Filter
from intacct_sync.intacct.models import IntacctRecord, SalesOrder

__all__ = ["OUTCOME_COLUMNS", "IntacctClient"]

log = logging.getLogger("intacct_sync.intacct")

_EXPIRED_RESULT = re.compile(r"invalid or expired resultid", re.I)
_MAX_KEYS = 100


@attrs.frozen(kw_only=True)
class _Session:
    session_id: str = attrs.field(repr=False)
    endpoint: str
    entity_id: str


class IntacctClient:
    """A client of the Sage Intacct XML gateway.

    Credentials come from the arguments, then the ``INTACCT_*`` environment variables, then
    the profile file ``~/.intacct/credentials.ini`` (see :class:`IntacctCredentials`). The
    client signs in once with ``getAPISession`` and then uses the session at the endpoint
    Intacct returns; an expired session is renewed once, transparently.

    Reads return typed DataFrames whose columns are Intacct's field names; long reads page
    automatically (``iter_*`` variants yield one DataFrame per page). Writes send many functions
    per request, each with a deterministic control id and ``uniqueid=true``, so a retry after a
    lost answer never writes twice; they return one outcome row per record.

    >>> with IntacctClient.from_env() as ia:  # doctest: +SKIP
    ...     accounts = ia.read_by_query("GLACCOUNT", query="STATUS = 'T'")

    Args:
        sender_id: Web Services sender id.
        sender_password: Web Services sender password.
        company_id: company to sign in to.
        user_id: Web Services user of that company.
        user_password: that user's password.
        entity_id: entity (location id) of a multi-entity company; top level if None.
        endpoint_url: gateway URL; Sage's by default.
        transport: HTTP transport (default: pooled ``requests``).
        timeout: connect and read timeouts.
        retry: retry policy for throttling, busy signals and network failures.
        page_size: default page size of reads (readByQuery at most 1,000; query 2,000).
        batch_size: functions per request for writes and multi-key reads.
        typed: look up each object's field types (``lookup``, cached) to type columns; with
            False every column is text.
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
        profile: str | None = None,
        profile_file: str | None = None,
        transport: Transport | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        page_size: int = 1000,
        batch_size: int = 100,
        typed: bool = True,
    ) -> None:
        self.credentials = IntacctCredentials.resolve(
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
        if batch_size < 1:
            raise InputError("batch_size must be at least 1", field="batch_size", value=batch_size)
        self._transport: Transport = transport or RequestsTransport()
        self._owns_transport = transport is None
        self.timeout = timeout
        self.retry = retry
        self.page_size = page_size
        self.batch_size = batch_size
        self.typed = typed
        self._session: _Session | None = None
        self._session_lock = threading.Lock()
        self._kinds_cache: dict[str, tuple[dict[str, frames.Kind], list[str]]] = {}
        self._sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls, *, profile: str | None = None, **options: Any) -> IntacctClient:
        """A client from ``INTACCT_*`` variables, then ``~/.intacct/credentials.ini``.

        Raises:
            ConfigError: a credential is missing; the message names the variable and file.
        """
        return cls(profile=profile, **options)

    def __repr__(self) -> str:
        c = self.credentials
        entity = f", entity_id={c.entity_id!r}" if c.entity_id else ""
        return (
            f"IntacctClient(company_id={c.company_id!r}, user_id={c.user_id!r}{entity}, "
            f"endpoint_url={c.endpoint_url!r})"
        )

    def __enter__(self) -> IntacctClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget the session and release connections."""
        self._session = None
        if self._owns_transport:
            self._transport.close()

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
            )

        return send(
            self._transport,
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
        result = _single(response, "getAPISession")
        api = None if result.data is None else result.data.find("api")
        session_id = _child_text(api, "sessionid")
        endpoint = _child_text(api, "endpoint") or c.endpoint_url
        if not session_id:
            raise ProtocolError("getAPISession answered without a session id")
        _check_endpoint(endpoint, c.endpoint_url)
        log.info("intacct session opened for %s/%s at %s", c.company_id, c.user_id, endpoint)
        return _Session(
            session_id=session_id, endpoint=endpoint, entity_id=_child_text(api, "locationid")
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

        Raises:
            ControlError: the request was refused as a whole.
            AuthenticationError: sign-in failed (an expired session is renewed once first).
            TransportError: the network failed and retries ran out.
        """
        writes = any(f.is_write for f in functions)
        idempotent = unique_id or not writes
        session = self._current_session()
        for attempt in (1, 2):
            body = build_request(
                self._envelope(unique_id=unique_id, transaction=transaction),
                SessionAuth(session_id=session.session_id),
                functions,
            )
            try:
                return self._post(session.endpoint, body, idempotent=idempotent, what=what)
            except AuthenticationError:
                if attempt == 2:
                    raise
                log.info("intacct session refused; signing in again")
                session = self._current_session(stale=session)
        raise AssertionError("unreachable")

    def _call(self, body: etree._Element, what: str) -> Result:
        response = self.execute([Function(control_id=str(body.tag), body=body)], what=what)
        return _single(response, str(body.tag))

    # -- field types -------------------------------------------------------------------------

    def lookup(self, obj: str) -> pd.DataFrame:
        """The object's field definitions (``lookup``): one row per field.

        Columns: ``ID``, ``LABEL``, ``DESCRIPTION``, ``REQUIRED``, ``READONLY``, ``DATATYPE``,
        ``ISCUSTOM``, ``VALIDVALUES`` (``#~#``-joined).
        """
        result = self._call(fn.lookup(obj), f"intacct lookup {obj}")
        return frames.frame_from_records(lookup_rows(result.data), LOOKUP_COLUMNS)

    def inspect(self, obj: str) -> pd.DataFrame:
        """The object's legacy field definitions (``inspect detail="1"``): one row per field.

        Columns: ``Name``, ``GroupName``, ``dataName``, ``externalDataName`` (``string``,
        ``integer``, ``number``, ``boolean``, ``datetime``), ``isRequired``, ``isReadOnly``,
        ``maxLength``, ``DisplayLabel``, ``Description``, ``id``. Typing falls back to it when
        ``lookup`` is refused.
        """
        result = self._call(fn.inspect(obj), f"intacct inspect {obj}")
        return frames.frame_from_records(inspect_rows(result.data), INSPECT_COLUMNS)

    def field_kinds(self, obj: str) -> dict[str, frames.Kind]:
        """Column kinds of ``obj`` from its ``lookup`` (cached per client)."""
        return dict(self._schema(obj)[0])

    def _schema(self, obj: str) -> tuple[dict[str, frames.Kind], list[str]]:
        key = obj.upper()
        cached = self._kinds_cache.get(key)
        if cached is not None:
            return cached
        kinds: dict[str, frames.Kind] = {"RECORDNO": "integer"}
        order: list[str] = []
        if self.typed:
            try:
                fields = self.lookup(obj)
            except FunctionError as exc:
                log.warning("lookup of %s failed (%s); its columns are read as text", obj, exc)
            else:
                for name, datatype in zip(fields["ID"], fields["DATATYPE"], strict=True):
                    kinds[str(name)] = DATATYPE_KINDS.get(str(datatype).upper(), "text")
                    order.append(str(name))
        self._kinds_cache[key] = (kinds, order)
        return kinds, order

    def _frame(self, obj: str, records: Records, columns: Sequence[str] | None) -> pd.DataFrame:
        kinds, all_fields = self._schema(obj)
        kinds = dict(kinds)
        values, children = page_columns(records)
        for name in values:
            if name not in kinds:
                kinds[name] = _aggregate_kind(name, kinds)
        order = list(columns) if columns is not None else list(all_fields)
        frame = frames.build_frame(values, kinds, order=order)
        if children:
            frame.attrs["children"] = {
                name: self._child_frame(items) for name, items in children.items()
            }
        return frame

    def _child_frame(self, items: list[tuple[int, etree._Element]]) -> pd.DataFrame:
        obj = str(items[0][1].tag).upper()
        frame = self._frame(obj, [el for _, el in items], None)
        frame.insert(0, "_parent_row", pd.Series([row for row, _ in items], dtype="Int64"))
        return frame

    # -- reads -------------------------------------------------------------------------------

    def iter_read_by_query(
        self,
        obj: str,
        query: str = "",
        *,
        fields: str | Sequence[str] = "*",
        page_size: int | None = None,
        progress: bool = False,
    ) -> Iterator[pd.DataFrame]:
        """Yield one typed DataFrame per page of ``readByQuery`` / ``readMore``.

        Memory is bounded by one page. If Intacct expires the ``resultId`` midway, the read
        restarts and skips the records already yielded (by ``RECORDNO``).

        Args:
            obj: object name (``GLACCOUNT``).
            query: readByQuery filter string; build it with
                :func:`intacct_sync.intacct.filters.query_string` when values come from users.
            fields: ``"*"`` or field names.
            page_size: records per page (1..1000).
            progress: show a progress bar (needs tqdm).
        """
        field_list = fields if isinstance(fields, str) else ",".join(fields)
        columns = None if field_list.strip() == "*" else [f.strip() for f in field_list.split(",")]
        size = min(page_size or self.page_size, fn.MAX_READ_PAGE)
        # RECORDNOs already yielded, so a read restarted after its resultId expired skips them.
        seen: set[int] = set()
        restartable = True
        yielded = 0
        with progress_bar(enabled=progress, desc=f"readByQuery {obj}") as bar:
            for restart in range(3):
                result = self._call(
                    fn.read_by_query(obj, query=query, fields=field_list, page_size=size),
                    f"intacct readByQuery {obj}",
                )
                bar.set_total(result.total_count)
                try:
                    while True:
                        records: Records = _page(result)
                        if restart:
                            records = [r for r in result.records if _recordno(r) not in seen]
                        frame = self._frame(obj, records, columns)
                        if "RECORDNO" in frame.columns:
                            seen.update(int(n) for n in frame["RECORDNO"].dropna())
                        else:
                            restartable = False
                        yielded += len(frame)
                        bar.update(len(frame))
                        if len(frame) or yielded == 0:
                            yield frame
                        if not result.num_remaining or not result.result_id:
                            return
                        result = self._call(
                            fn.read_more(result.result_id), f"intacct readMore {obj}"
                        )
                except FunctionError as exc:
                    expired = any(_EXPIRED_RESULT.search(str(e)) for e in exc.errors)
                    if not expired or not restartable or restart == 2:
                        raise
                    log.warning("readMore resultId expired after %d rows; restarting", yielded)

    def read_by_query(
        self,
        obj: str,
        query: str = "",
        *,
        fields: str | Sequence[str] = "*",
        page_size: int | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """All pages of :meth:`iter_read_by_query` as one typed DataFrame."""
        return _concat(
            self.iter_read_by_query(
                obj, query, fields=fields, page_size=page_size, progress=progress
            )
        )

    def iter_query(
        self,
        obj: str,
        *,
        select: Sequence[str],
        filter: Filter | Mapping[str, Any] | None = None,
        order_by: Sequence[tuple[str, Literal["ascending", "descending"]]] | None = None,
        page_size: int | None = None,
        case_insensitive: bool = False,
        docparid: str | None = None,
        progress: bool = False,
    ) -> Iterator[pd.DataFrame]:
        """Yield one typed DataFrame per page of the ``query`` function (offset paging).

        Each page is a new query, so the order must be stable: without ``order_by`` the
        records are ordered by ``RECORDNO`` (when selected and not aggregating).

        Args:
            obj: object name.
            select: field names, dotted paths into related objects (``JOURNAL.SYMBOL``), or
                aggregates written ``"sum:TRX_AMOUNT"``.
            filter: a :class:`~intacct_sync.intacct.filters.Filter` or ``{field: value}``.
            order_by: ``[(field, "ascending" | "descending")]``.
            page_size: records per page (1..2000).
            case_insensitive: compare strings without case.
            docparid: transaction definition, for order-entry documents.
            progress: show a progress bar.
        """
        aggregating = any(":" in s for s in select)
        if order_by is None:
            order_by = (
                [] if aggregating or "RECORDNO" not in select else [("RECORDNO", "ascending")]
            )
        size = min(page_size or max(self.page_size, fn.MAX_QUERY_PAGE), fn.MAX_QUERY_PAGE)
        columns = [_select_column(s) for s in select]
        offset = 0
        with progress_bar(enabled=progress, desc=f"query {obj}") as bar:
            while True:
                result = self._call(
                    fn.query(
                        obj,
                        select=select,
                        filter=filter,
                        order_by=order_by,
                        page_size=size,
                        offset=offset,
                        case_insensitive=case_insensitive,
                        docparid=docparid,
                    ),
                    f"intacct query {obj}",
                )
                bar.set_total(result.total_count)
                frame = self._frame(obj, _page(result), columns)
                bar.update(len(frame))
                if len(frame) or offset == 0:
                    yield frame
                if not result.num_remaining or not len(frame):
                    return
                offset += len(frame)

    def query(
        self,
        obj: str,
        *,
        select: Sequence[str],
        filter: Filter | Mapping[str, Any] | None = None,
        order_by: Sequence[tuple[str, Literal["ascending", "descending"]]] | None = None,
        page_size: int | None = None,
        case_insensitive: bool = False,
        docparid: str | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """All pages of :meth:`iter_query` as one typed DataFrame."""
        return _concat(
            self.iter_query(
                obj,
                select=select,
                filter=filter,
                order_by=order_by,
                page_size=page_size,
                case_insensitive=case_insensitive,
                docparid=docparid,
                progress=progress,
            )
        )

    def read(
        self, obj: str, keys: Iterable[int | str], *, fields: str | Sequence[str] = "*"
    ) -> pd.DataFrame:
        """Records by ``RECORDNO`` (any number: sent 100 keys per function)."""
        return self._read_keys(obj, [str(k) for k in keys], fields, fn.read, "read")

    def read_by_name(
        self, obj: str, names: Iterable[str], *, fields: str | Sequence[str] = "*"
    ) -> pd.DataFrame:
        """Records by the object's ID field (``ACCOUNTNO``, ``CUSTOMERID``...)."""
        return self._read_keys(obj, list(names), fields, fn.read_by_name, "readByName")

    def _read_keys(
        self,
        obj: str,
        keys: list[str],
        fields: str | Sequence[str],
        build: Callable[..., etree._Element],
        name: str,
    ) -> pd.DataFrame:
        field_list = fields if isinstance(fields, str) else ",".join(fields)
        columns = None if field_list.strip() == "*" else [f.strip() for f in field_list.split(",")]
        chunks = [keys[i : i + _MAX_KEYS] for i in range(0, len(keys), _MAX_KEYS)]
        if not chunks:
            return self._frame(obj, [], columns)
        pages = []
        for start in range(0, len(chunks), self.batch_size):
            functions = [
                Function(
                    control_id=f"{name}-{start + i}", body=build(obj, chunk, fields=field_list)
                )
                for i, chunk in enumerate(chunks[start : start + self.batch_size])
            ]
            response = self.execute(functions, what=f"intacct {name} {obj}")
            for result in response.results:
                _raise_for_result(result)
                pages.append(self._frame(obj, _page(result), columns))
        return _concat(iter(pages))

    # -- writes ------------------------------------------------------------------------------

    def create(
        self,
        records: pd.DataFrame | Iterable[IntacctRecord | Mapping[str, Any]],
        *,
        object: str | None = None,
        keys: Sequence[str] | None = None,
        transaction: bool = False,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Create records; one outcome row per record, in input order.

        Records are attrs models (``Customer``, ``JournalEntry``...), mappings of Intacct field
        names, or DataFrame rows (dotted column names such as ``DISPLAYCONTACT.EMAIL1`` nest).
        Each record's control id derives from its identity: the model's ``key``, the given
        ``keys``, else a hash of its content and its rank among identical records, so running
        the same create again is refused by the gateway instead of writing twice (such rows
        come back with status ``duplicate`` and ``done`` true).

        Args:
            records: what to create.
            object: the Intacct object, for mappings and DataFrames.
            keys: an identity per record (e.g. the CRM id it came from).
            transaction: all or nothing: if one record fails none is kept, and the others come
                back ``aborted`` (at most ``batch_size`` records).
            progress: show a progress bar.

        Returns:
            The outcome frame (:data:`OUTCOME_COLUMNS`).

        Raises:
            InputError: a record cannot be written as given (names the row and field).
            IncompleteWriteError: the run stopped part way; ``.outcomes`` says what is known.
        """
        writes = self._writes("create", records, object, keys, fn.create)
        return self._write(writes, transaction=transaction, progress=progress, what="create")

    def update(
        self,
        records: pd.DataFrame | Iterable[IntacctRecord | Mapping[str, Any]],
        *,
        object: str | None = None,
        keys: Sequence[str] | None = None,
        transaction: bool = False,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Update records (each names ``RECORDNO`` or its ID field); see :meth:`create`.

        An update's control id covers its content as well as its identity: the same change sent
        twice runs once, a different change to the same record runs.
        """
        writes = self._writes("update", records, object, keys, fn.update)
        return self._write(writes, transaction=transaction, progress=progress, what="update")

    def delete(
        self,
        obj: str,
        keys: Iterable[int | str],
        *,
        transaction: bool = False,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Delete records by ``RECORDNO``; one outcome row per key."""
        writes = []
        for row, key in enumerate(keys):
            text = str(key)
            cid = control_id("delete", obj, text)
            writes.append(
                PendingWrite(
                    row=row,
                    obj=obj,
                    key=text,
                    function=Function(control_id=cid, body=fn.delete(obj, text), is_write=True),
                )
            )
        return self._write(writes, transaction=transaction, progress=progress, what="delete")

    def control_id_for(
        self,
        record: IntacctRecord | SalesOrder,
        *,
        op: Literal["create", "update"] = "create",
        key: str | None = None,
    ) -> str:
        """The control id a write of ``record`` is sent under (without sending anything).

        Workflows write it to their ledger *before* posting, so a crash between sending and
        recording can be finished by a rerun under the same id.

        Args:
            record: a model (``JournalEntry``, ``Customer``...) or a ``SalesOrder``.
            op: ``create`` or ``update`` (an update's id also covers its content).
            key: the identity, when it is not the model's ``key``.
        """
        if op == "create" or isinstance(record, SalesOrder):
            return create_control_id(record, key=key)
        writes = self._writes(op, [record], None, None if key is None else [key], fn.update)
        return writes[0].function.control_id

    def create_sales_orders(
        self, orders: Iterable[SalesOrder], *, progress: bool = False
    ) -> pd.DataFrame:
        """Create order-entry transactions with ``create_sotransaction``, once each.

        The control id derives from each order's ``key`` (the CRM opportunity id); the outcome's
        ``id`` column holds the document id Intacct returns (``Sales Order-SO0042``).
        """
        writes = []
        for row, order in enumerate(orders):
            body = fn.create_sotransaction(
                transaction_type=order.transaction_type,
                date_created=order.date,
                customer_id=order.customer_id,
                items=[line.to_item() for line in order.lines],
                reference_no=order.reference_no,
                term_name=order.term_name,
                date_due=order.date_due,
                message=order.message,
                state=order.state,
                custom_fields=order.custom_fields or None,
            )
            cid = create_control_id(order)
            writes.append(
                PendingWrite(
                    row=row,
                    obj="SODOCUMENT",
                    key=order.key,
                    function=Function(control_id=cid, body=body, is_write=True),
                )
            )
        return self._write(
            writes, transaction=False, progress=progress, what="create_sotransaction"
        )

    def _writes(
        self,
        op: str,
        records: pd.DataFrame | Iterable[IntacctRecord | Mapping[str, Any]],
        obj: str | None,
        keys: Sequence[str] | None,
        build: Callable[[str, Mapping[str, Any]], etree._Element],
    ) -> list[PendingWrite]:
        items: list[Any] = (
            frames.frame_to_records(records) if isinstance(records, pd.DataFrame) else list(records)
        )
        if keys is not None and len(keys) != len(items):
            raise InputError(
                f"keys has {len(keys)} item(s) for {len(items)} record(s)", field="keys"
            )
        writes: list[PendingWrite] = []
        occurrences: dict[str, int] = {}
        for row, item in enumerate(items):
            if isinstance(item, Mapping):
                if obj is None:
                    raise InputError("object= is required for mappings and DataFrames", row=row)
                record_obj = obj
                fields = nest_fields(item, row)
                identity = None
            else:
                record_obj = item.OBJECT
                fields = item.to_fields()
                identity = item.key
            if keys is not None:
                identity = str(keys[row])
            try:
                body = build(record_obj, fields)
            except (TypeError, ValueError) as exc:
                raise InputError(f"cannot write record: {exc}", row=row) from None
            content = etree.tostring(body)
            if identity is None or op == "update":
                basis = content.decode() if identity is None else f"{identity}|{content.decode()}"
                occurrence = occurrences.get(basis, 0)
                occurrences[basis] = occurrence + 1
                identity_text = f"{basis}|{occurrence}"
            else:
                identity_text = identity
            writes.append(
                PendingWrite(
                    row=row,
                    obj=record_obj,
                    key=identity or id_value(record_obj, fields),
                    function=Function(
                        control_id=control_id(op, record_obj, identity_text),
                        body=body,
                        is_write=True,
                    ),
                )
            )
        return writes

    def _write(
        self, writes: list[PendingWrite], *, transaction: bool, progress: bool, what: str
    ) -> pd.DataFrame:
        if transaction and len(writes) > self.batch_size:
            raise InputError(
                f"transaction=True writes at most batch_size={self.batch_size} records in one "
                f"request; got {len(writes)}",
                field="transaction",
            )
        outcomes: list[dict[str, Any]] = []
        with progress_bar(
            enabled=progress, desc=f"intacct {what}", total=len(writes), unit="records"
        ) as bar:
            for start in range(0, len(writes), self.batch_size):
                batch = writes[start : start + self.batch_size]
                try:
                    outcomes.extend(self._write_batch(batch, transaction=transaction, what=what))
                except IntacctSyncError as exc:
                    outcomes.extend(outcome(w, "unknown", errors=str(exc)) for w in batch)
                    outcomes.extend(
                        outcome(w, "not_sent") for w in writes[start + self.batch_size :]
                    )
                    raise IncompleteWriteError(
                        f"{what} stopped after {start} of {len(writes)} record(s): {exc}; "
                        "rerun the same write to finish (already written records are refused "
                        "as duplicates)",
                        outcomes=frames.frame_from_records(outcomes, OUTCOME_COLUMNS),
                    ) from exc
                bar.update(len(batch))
        frame = frames.frame_from_records(outcomes, OUTCOME_COLUMNS)
        counts = frame["status"].value_counts().to_dict() if len(frame) else {}
        log.info("intacct %s: %d record(s) %s", what, len(frame), counts)
        return frame

    def _write_batch(
        self, batch: list[PendingWrite], *, transaction: bool, what: str
    ) -> list[dict[str, Any]]:
        pending = list(batch)
        done: dict[int, dict[str, Any]] = {}
        for attempt in range(self.retry.max_retries + 1):
            response = self.execute(
                [w.function for w in pending],
                unique_id=True,
                transaction=transaction,
                what=f"intacct {what} x{len(pending)}",
            )
            if len(response.results) != len(pending):
                raise ProtocolError(
                    f"sent {len(pending)} function(s), got {len(response.results)} result(s)"
                )
            retry_later = []
            for write, result in zip(pending, response.results, strict=True):
                if result.in_process and not transaction:
                    retry_later.append(write)
                else:
                    done[write.row] = result_outcome(write, result)
            if not retry_later:
                break
            if attempt == self.retry.max_retries:
                for write in retry_later:
                    done[write.row] = outcome(
                        write, "unknown", errors="still in process at the gateway"
                    )
                break
            pending = retry_later
            self._sleep(self.retry.delay(attempt + 1, None, lambda: 1.0))
        return [done[w.row] for w in batch]


# -- helpers -----------------------------------------------------------------------------------


def _child_text(parent: etree._Element | None, tag: str) -> str:
    if parent is None:
        return ""
    child = parent.find(tag)
    return "" if child is None or child.text is None else child.text.strip()


def _single(response: Response, name: str) -> Result:
    if len(response.results) != 1:
        raise ProtocolError(f"{name}: expected one result, got {len(response.results)}")
    result = response.results[0]
    _raise_for_result(result)
    return result


def _raise_for_result(result: Result) -> None:
    if not result.ok:
        raise FunctionError(
            f"{result.function or 'function'} {result.status}",
            function=result.function,
            function_control_id=result.control_id,
            status=result.status,
            errors=result.errors,
        )


def _check_endpoint(endpoint: str, configured: str) -> None:
    # The session endpoint comes from the server; never send credentials to a foreign host.
    parts, mine = urlsplit(endpoint), urlsplit(configured)
    host = (parts.hostname or "").lower()
    trusted = parts.scheme == "https" and (host == "intacct.com" or host.endswith(".intacct.com"))
    same = (parts.scheme, parts.netloc) == (mine.scheme, mine.netloc)
    if not (trusted or same):
        raise ProtocolError(
            f"getAPISession returned endpoint {endpoint!r}, which is neither an https "
            f"intacct.com host nor the configured gateway's host; refusing to use it"
        )


def _recordno(record: etree._Element) -> int | None:
    element = record.find("RECORDNO")
    text = None if element is None else (element.text or "").strip()
    return int(text) if text else None


def _page(result: Result) -> Records:
    # The <data> element is itself the sequence of its records; listing them costs a pass.
    return [] if result.data is None else result.data


def _select_column(item: str) -> str:
    func, _, name = item.rpartition(":")
    return f"{func.upper()}.{name}" if func else name


def _aggregate_kind(name: str, kinds: Mapping[str, frames.Kind]) -> frames.Kind:
    func, _, base = name.partition(".")
    if func == "COUNT":
        return "integer"
    if func in ("SUM", "AVG"):
        return "decimal"
    if func in ("MIN", "MAX"):
        return kinds.get(base, "text")
    return "text"


def _concat(pages: Iterator[pd.DataFrame]) -> pd.DataFrame:
    collected = list(pages)
    if len(collected) == 1:
        return collected[0]
    children: dict[str, list[pd.DataFrame]] = {}
    offset = 0
    for page in collected:
        for name, child in page.attrs.get("children", {}).items():
            shifted = child.copy()
            shifted["_parent_row"] = shifted["_parent_row"] + offset
            children.setdefault(name, []).append(shifted)
        offset += len(page)
    frame = pd.concat([p for p in collected if len(p)] or collected[:1], ignore_index=True)
    frame.attrs = {}
    if children:
        frame.attrs["children"] = {n: pd.concat(c, ignore_index=True) for n, c in children.items()}
    return frame

"""The REST client's reads: the query service (start/size paging to the end, reference
``intacct-rest-api.md`` §4) behind the XML client's read calls and frames.
"""

from __future__ import annotations

import collections
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal

import pandas as pd

from intacct_sync import frames
from intacct_sync._http.progress import progress as progress_bar
from intacct_sync.arrow import DtypeBackend, backend_converter
from intacct_sync.errors import (
    InputError,
)
from intacct_sync.intacct._fields import DIMENSION_COLUMNS
from intacct_sync.intacct._query_string import parse_query_string
from intacct_sync.intacct.filters import Filter, to_filter
from intacct_sync.intacct.rest import _protocol as wire
from intacct_sync.intacct.rest._base import RestBase
from intacct_sync.intacct.rest._names import RestObject, split_aggregate
from intacct_sync.intacct.rest._reads import column_name, page_frame, rest_select, select_kinds

__all__ = ["RestReads"]

log = logging.getLogger("intacct_sync.intacct.rest")

_KEYS_PER_QUERY = 500
#: query pages in flight at once at most, whatever the governor allows (memory: a few pages)
_MAX_PAGES_IN_FLIGHT = 4
#: objects whose lines a ``read`` returns as children, and the line field naming the parent
_LINE_PARENTS = {"GLBATCH": "BATCHNO", "SODOCUMENT": "DOCHDRNO"}


class RestReads(RestBase):
    """Reads as typed frames (a part of :class:`~intacct_sync.intacct.rest.IntacctRestClient`)."""

    # -- reads -------------------------------------------------------------------------------

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
        dtype_backend: DtypeBackend | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield one typed DataFrame per page of the query service; memory bounded by a page.

        Same arguments and frames as :meth:`IntacctClient.iter_query`: XML field names in
        ``select``, ``filter`` and ``order_by`` are translated through the name map (names
        not in it are sent as REST paths). Without ``order_by`` rows are ordered by ``key``
        (RECORDNO), so pages are stable (§4: each page is evaluated on its own).

        Args:
            obj: the XML object name or a REST object path.
            select: field names (XML names, or REST paths).
            filter: a :class:`~intacct_sync.intacct.filters.Filter` or ``{field: value}``.
            order_by: ``[(field, "ascending" | "descending")]``.
            page_size: records per page (at most the API's maximum).
            case_insensitive: compare strings without case.
            docparid: transaction definition, for order-entry documents.
            progress: show a progress bar.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Yields:
            One typed DataFrame per page (an empty read yields one empty frame).

        Raises:
            InputError: no REST object is on record for ``obj``, a filter value of an
                unsupported type, or a ``dtype_backend`` that is not a backend name (before
                any request).
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        convert = backend_converter(dtype_backend)
        spec = None if filter is None else to_filter(filter)
        size = min(page_size or self.page_size, wire.MAX_PAGE_SIZE)
        yielded = False
        with progress_bar(enabled=progress, desc=f"query {obj}") as bar:
            for plain in self._targets(obj, docparid):
                target = self._with_udds(plain)
                for frame in self._iter_target(
                    target, select, spec, order_by, size, case_insensitive
                ):
                    bar.update(len(frame))
                    if len(frame) or not yielded:
                        yielded = True
                        yield convert(frame)

    def _iter_target(
        self,
        target: RestObject,
        select: Sequence[str],
        spec: Filter | None,
        order_by: Sequence[tuple[str, str]] | None,
        size: int,
        case_insensitive: bool,
    ) -> Iterator[pd.DataFrame]:
        columns = [column_name(s) for s in select]
        fields = [rest_select(target, s) for s in select]
        aggregating = any(split_aggregate(s)[0] for s in select)
        if order_by is None:
            order_by = []
        order = [
            (target.rest_name(n), "desc" if d.startswith("desc") else "asc") for n, d in order_by
        ]
        if not aggregating and "key" not in {name for name, _ in order}:
            # Each page is evaluated on its own (§4): the record key, which every object has
            # (§3.2), is the last sort key so the order is total and pages neither miss nor
            # repeat rows, as the XML client's query does with RECORDNO.
            order.append(("key", "asc"))
        filters, expression = wire.filter_to_rest(spec, target)
        kinds = self._kinds_for(target, select, columns)
        url = wire.service_url(self.base_url, "core/query")

        def fetch(start: int | None) -> wire.QueryPage:
            body = wire.query_body(
                target.path,
                fields,
                filters=filters,
                expression=expression,
                order_by=order,
                start=start,
                size=size,
                case_insensitive=case_insensitive,
            )
            _, data = self.request(
                "POST", url, body=body, idempotent=True, what=f"intacct query {target.path}"
            )
            return wire.parse_page(data)

        first = True
        for page in self._pages(fetch, size):
            frame = page_frame(target, page.rows, select, fields, kinds)
            if len(frame) or first:
                yield frame
            first = False

    def _pages(
        self, fetch: Callable[[int | None], wire.QueryPage], size: int
    ) -> Iterator[wire.QueryPage]:
        """Every page of one query, in order; pages after the first fetched concurrently.

        The first request leaves ``start`` to the server (its origin, 0 or 1, is not settled,
        reference §10.2). When its answer gives ``totalCount`` and where the next page starts
        (§4: ``ia::meta`` carries both), every later ``start`` is known, so up to the
        governor's limit of requests are in flight at once (the company's concurrency, §8),
        results are yielded in order and at most that many pages wait in memory. Without a
        total the pages are followed one by one (``next``, or start + rows).
        """
        page = fetch(None)
        fetched = len(page.rows)
        yield page
        start = wire.next_start(page, sent_start=None, asked=size, fetched=fetched)
        step = len(page.rows)
        workers = min(self.governor.limit or 1, _MAX_PAGES_IN_FLIGHT)
        if start is not None and page.total is not None and step and workers > 1:
            planned = [start + i * step for i in range(-(-(page.total - fetched) // step))]
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="intacct-query")
            try:
                waiting: collections.deque[Future[wire.QueryPage]] = collections.deque()
                todo = iter(planned)
                for s in itertools.islice(todo, workers):
                    waiting.append(pool.submit(fetch, s))
                while waiting:
                    page = waiting.popleft().result()
                    if not page.rows:
                        return  # the data shrank since the first page: nothing further
                    fetched += len(page.rows)
                    yield page
                    following = next(todo, None)
                    if following is not None:
                        waiting.append(pool.submit(fetch, following))
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            sent = planned[-1] if planned else start
            start = wire.next_start(page, sent_start=sent, asked=size, fetched=fetched)
            if start is not None and planned and start <= planned[-1]:
                start = None  # the planned pages covered the total the server gave
        while start is not None:  # no total, or rows added while reading: one by one
            sent = start
            page = fetch(start)
            fetched += len(page.rows)
            yield page
            start = wire.next_start(page, sent_start=sent, asked=size, fetched=fetched)

    def _kinds_for(
        self, target: RestObject, select: Sequence[str], columns: Sequence[str]
    ) -> dict[str, frames.Kind]:
        for item in select:
            mapped = target.by_xml.get(split_aggregate(item)[1].upper())
            if mapped is not None and mapped.inferred:
                self._check_inferred(target, mapped)
        unmapped = any(target.by_xml.get(split_aggregate(s)[1].upper()) is None for s in select)
        model = self._model_kinds(target) if unmapped else {}
        return select_kinds(target, select, columns, model)

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
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """All pages of :meth:`iter_query` as one typed DataFrame.

        Args:
            obj: the XML object name or a REST object path.
            select: field names (XML names, or REST paths).
            filter: a :class:`~intacct_sync.intacct.filters.Filter` or ``{field: value}``.
            order_by: ``[(field, "ascending" | "descending")]``.
            page_size: records per page.
            case_insensitive: compare strings without case.
            docparid: transaction definition, for order-entry documents.
            progress: show a progress bar.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One typed DataFrame of every matching record.

        Raises:
            InputError: as :meth:`iter_query`.
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        pages = list(
            self.iter_query(
                obj,
                select=select,
                filter=filter,
                order_by=order_by,
                page_size=page_size,
                case_insensitive=case_insensitive,
                docparid=docparid,
                progress=progress,
                dtype_backend=dtype_backend,
            )
        )
        return frames.concat_pages(pages)

    def _all_fields(self, obj: str, fields: str | Sequence[str]) -> list[str]:
        if isinstance(fields, str):
            if fields.strip() != "*":
                return [f.strip() for f in fields.split(",")]
            return self._star(self._target(obj))
        return list(fields)

    def _star(self, target: RestObject) -> list[str]:
        # ``*`` is every mapped field the company has: an inferred name its model does not list
        # is left out with a warning naming it (a named select of it raises instead, naming it,
        # in _kinds_for), never read as a column of nulls.
        fields = [f for f in target.fields if not f.write_only]
        model = self._model_kinds(target) if any(f.inferred for f in fields) else {}
        missing = [f for f in fields if f.inferred and model and f.rest not in model]
        if missing:
            log.warning(
                "%s: inferred REST name(s) not in this company's model, left out of '*': %s",
                target.path,
                ", ".join(f"{f.xml} ({f.rest})" for f in missing),
            )
        return [f.xml for f in fields if f not in missing]

    def read(
        self,
        obj: str,
        keys: Iterable[int | str],
        *,
        fields: str | Sequence[str] = "*",
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """Records by ``RECORDNO`` (REST ``key``), through the query service (flat rows, §4).

        Args:
            obj: the XML object name or a REST object path.
            keys: record numbers.
            fields: ``"*"`` or field names.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``; child frames too), each page converted as it arrives; None
                keeps the typed dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One typed DataFrame with a row per record found.

        Raises:
            InputError: no REST object is on record for ``obj``, or ``dtype_backend`` is not
                a backend name (before any request).
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        return self._read_by(obj, "RECORDNO", [str(k) for k in keys], fields, dtype_backend)

    def read_by_name(
        self,
        obj: str,
        names: Iterable[str],
        *,
        fields: str | Sequence[str] = "*",
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """Records by the object's ID field (REST ``id``).

        Args:
            obj: the XML object name or a REST object path.
            names: ID field values (``CUSTOMERID`` values for ``CUSTOMER``).
            fields: ``"*"`` or field names.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``; child frames too), each page converted as it arrives; None
                keeps the typed dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One typed DataFrame with a row per record found.

        Raises:
            InputError: the object has no ID field, no REST object is on record for it, or
                ``dtype_backend`` is not a backend name (before any request).
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        backend_converter(dtype_backend)  # a wrong name is refused before anything else
        target = self._target(obj)
        if target.id_field is None:
            raise InputError("object has no ID field; use read", field="object", value=obj)
        return self._read_by(obj, target.id_field, list(names), fields, dtype_backend)

    def _read_by(
        self,
        obj: str,
        field: str,
        values: list[str],
        fields: str | Sequence[str],
        dtype_backend: DtypeBackend | None,
    ) -> pd.DataFrame:
        from intacct_sync.intacct.filters import in_

        convert = backend_converter(dtype_backend)  # before the first request
        select = self._all_fields(obj, fields)
        if not values:
            target = self._target(obj)
            columns = [column_name(s) for s in select]
            kinds = self._kinds_for(target, select, columns)
            return convert(frames.build_frame({}, kinds, order=columns))
        # Each query's pages converted as they arrive; the lines are converted in _attach_lines.
        pages = [
            self.query(
                obj,
                select=select,
                filter=in_(field, values[i : i + _KEYS_PER_QUERY]),
                dtype_backend=dtype_backend,
            )
            for i in range(0, len(values), _KEYS_PER_QUERY)
        ]
        frame = frames.concat_pages(pages)
        parent_field = _LINE_PARENTS.get(obj.upper())
        # As over XML: the lines come with every field ("*") or when the collection is named.
        target = self._target(obj)
        collection = target.line_collection[0] if target.line_collection else ""
        wanted = fields.strip() == "*" if isinstance(fields, str) else collection in fields
        if parent_field is not None and wanted and "RECORDNO" in frame.columns and len(frame):
            self._attach_lines(obj, frame, parent_field, convert)
        return frame

    def _attach_lines(
        self,
        obj: str,
        frame: pd.DataFrame,
        parent_field: str,
        convert: Callable[[pd.DataFrame], pd.DataFrame],
    ) -> None:
        # XML's read nests owned lines in each record (ENTRIES/glentry, intacct-api.md §7);
        # REST reads them from their own object (§3.4), by the parent's key. They land where
        # the XML client puts them (frame.attrs["children"], keyed by the parent's RECORDNO).
        from intacct_sync.intacct.filters import in_

        target = self._target(obj)
        if target.lines is None or target.line_collection is None:
            return
        relationship, line_obj = target.line_collection[0], target.line_collection[1]
        line_fields = self._star(self._with_udds(target.lines[1]))
        keys = [str(k) for k in frame["RECORDNO"].dropna()]
        parts = [
            self.query(line_obj, select=line_fields, filter=in_(parent_field, keys[i : i + 500]))
            for i in range(0, len(keys), 500)
        ]
        lines = frames.concat_pages(parts)
        lines.insert(0, frames.PARENT_ID, lines[parent_field].astype("string"))
        # Converted once parent_id is in, so the child frame is Arrow-backed like its parent.
        children = {relationship: convert(lines)}
        frame.attrs["children"] = frames.ChildFrames(children, parent_key="RECORDNO")

    def iter_read_by_query(
        self,
        obj: str,
        query: str = "",
        *,
        fields: str | Sequence[str] = "*",
        page_size: int | None = None,
        docparid: str | None = None,
        progress: bool = False,
        dtype_backend: DtypeBackend | None = None,
    ) -> Iterator[pd.DataFrame]:
        """``readByQuery`` served by the query service: the query string is read into the
        filter DSL (:mod:`intacct_sync.intacct._query_string`), ``"*"`` is every mapped field.

        Args:
            obj: the XML object name or a REST object path.
            query: the readByQuery filter string; empty for every record.
            fields: ``"*"`` or field names.
            page_size: records per page.
            docparid: transaction definition, for order-entry documents.
            progress: show a progress bar.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Yields:
            One typed DataFrame per page.

        Raises:
            InputError: a query string construct the DSL cannot hold (use :meth:`iter_query`),
                no REST object is on record for ``obj``, or ``dtype_backend`` is not a backend
                name (before any request).
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        backend_converter(dtype_backend)  # "*" may ask for the model: refuse a bad name first
        yield from self.iter_query(
            obj,
            select=self._all_fields(obj, fields),
            filter=parse_query_string(query),
            page_size=page_size,
            docparid=docparid,
            progress=progress,
            dtype_backend=dtype_backend,
        )

    def read_by_query(
        self,
        obj: str,
        query: str = "",
        *,
        fields: str | Sequence[str] = "*",
        page_size: int | None = None,
        docparid: str | None = None,
        progress: bool = False,
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """All pages of :meth:`iter_read_by_query` as one typed DataFrame.

        Args:
            obj: the XML object name or a REST object path.
            query: the readByQuery filter string; empty for every record.
            fields: ``"*"`` or field names.
            page_size: records per page.
            docparid: transaction definition, for order-entry documents.
            progress: show a progress bar.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One typed DataFrame of every matching record.

        Raises:
            InputError: as :meth:`iter_read_by_query`.
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        return frames.concat_pages(
            list(
                self.iter_read_by_query(
                    obj,
                    query,
                    fields=fields,
                    page_size=page_size,
                    docparid=docparid,
                    progress=progress,
                    dtype_backend=dtype_backend,
                )
            )
        )

    def read_by_query_batch(
        self,
        reads: Sequence[tuple[str, str, Sequence[str]]],
        *,
        dtype_backend: DtypeBackend | None = None,
    ) -> list[pd.DataFrame]:
        """Several reads as text frames, as the XML call returns them; one query (or more,
        paging) per read, since REST has no multi-query request outside composite (§7.2).

        Args:
            reads: ``(object, query string, fields)`` per read.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One text frame per read, in order.

        Raises:
            InputError: as :meth:`iter_read_by_query`, or ``dtype_backend`` is not a backend
                name (before any request).
            FunctionError: Intacct refused the request (an unknown object or field).
            AuthenticationError: the token was refused again after one refresh.
        """
        convert = backend_converter(dtype_backend)
        out = []
        for obj, query, fields in reads:
            wanted: str | Sequence[str] = "*" if list(fields) == ["*"] else fields
            frame = self.read_by_query(obj, query, fields=wanted)
            values = {
                name: [None if pd.isna(v) else _wire_text(v) for v in frame[name]]
                for name in frame.columns
            }
            out.append(convert(frames.build_frame(values, {}, order=list(frame.columns))))
        return out

    def dimensions(self, *, dtype_backend: DtypeBackend | None = None) -> pd.DataFrame:
        """The company's dimensions in the columns of the XML ``getDimensions`` frame
        (``objectName`` = REST's ``dimensionName``, ``termLabel`` = ``termName``...).

        Args:
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A DataFrame with one row per dimension, as :meth:`IntacctClient.dimensions`.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
            FunctionError: Intacct refused the request.
            AuthenticationError: the token was refused again after one refresh.
        """
        convert = backend_converter(dtype_backend)
        rows = [
            {
                "objectName": r.get("dimensionName"),
                "objectLabel": r.get("dimensionLabel"),
                "termLabel": r.get("termName"),
                "userDefinedDimension": _bool_text(r.get("isUserDefinedDimension")),
                "enabledInGL": _bool_text(r.get("isEnabledInGL")),
            }
            for r in self.dimension_list()
        ]
        return convert(frames.frame_from_records(rows, DIMENSION_COLUMNS))


def _bool_text(value: Any) -> str | None:
    if value is None:
        return None
    return "true" if value is True or str(value).lower() == "true" else "false"


def _wire_text(value: Any) -> str:
    # The XML call's text frames hold the gateway's words; money keeps its exact digits.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%m/%d/%Y") if value == value.normalize() else str(value)
    return str(value)

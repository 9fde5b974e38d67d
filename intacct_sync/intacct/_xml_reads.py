"""Reads of the XML client: ``readByQuery``/``readMore``, ``query`` (offset paging),
``read``/``readByName`` and ``getDimensions``; each public call is served by the REST backend
when the client speaks REST.

Over 600 lines for a reason: one public method per read form of the facade, each with the
full docstring users read in a notebook; the wire work lives in ``_functions``, ``_pages`` and
``_xml_types``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import pandas as pd
from lxml import etree

from intacct_sync import frames
from intacct_sync._http.governor import DEFAULT_LIMITS
from intacct_sync._http.progress import Progress
from intacct_sync._http.progress import progress as progress_bar
from intacct_sync.arrow import DtypeBackend, backend_converter
from intacct_sync.errors import FunctionError
from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._columns import Records
from intacct_sync.intacct._fields import DIMENSION_COLUMNS, FieldNames, spell_query
from intacct_sync.intacct._pages import offset_pages
from intacct_sync.intacct._protocol import Function, Result
from intacct_sync.intacct._session import child_text, raise_for_result
from intacct_sync.intacct._xml_types import XmlTypes, columns_of
from intacct_sync.intacct.filters import Filter

__all__ = ["XmlReads", "concat"]

log = logging.getLogger("intacct_sync.intacct")

_EXPIRED_RESULT = re.compile(r"invalid or expired resultid", re.I)
_MAX_KEYS = 100


class XmlReads(XmlTypes):
    """Paged reads as typed frames (a mixin of :class:`~intacct_sync.IntacctClient`)."""

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
        """Yield one typed DataFrame per page of ``readByQuery`` / ``readMore``.

        Memory is bounded by one page. If Intacct expires the ``resultId`` midway, the read
        restarts and skips the records already yielded (by ``RECORDNO``).

        Args:
            obj: object name (``GLACCOUNT``).
            query: readByQuery filter string; build it with
                :func:`intacct_sync.intacct.filters.query_string` when values come from users.
            fields: ``"*"`` or field names.
            page_size: records per page (1..1000).
            docparid: transaction definition (``Sales Order``): an order-entry read then
                carries that definition's document-specific fields (reference §13.4).
            progress: show a progress bar (needs tqdm).
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Yields:
            One typed DataFrame per page (an empty read yields one empty frame).

        Raises:
            InputError: ``page_size`` is out of range, or ``dtype_backend`` is not a backend
                name (before any request); over REST, an object with no REST counterpart on
                record.
            FunctionError: Intacct refused the read (an unknown object or field, a query it
                cannot parse).
        """
        convert = backend_converter(dtype_backend)
        if self._rest is not None:
            yield from self._rest.iter_read_by_query(
                obj,
                query,
                fields=fields,
                page_size=page_size,
                docparid=docparid,
                progress=progress,
                dtype_backend=dtype_backend,
            )
            return
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
                    fn.read_by_query(
                        obj, query=query, fields=field_list, page_size=size, docparid=docparid
                    ),
                    f"intacct readByQuery {obj}",
                    page=True,
                )
                bar.set_total(result.total_count)
                try:
                    while True:
                        page: Result | Records = result
                        if restart:
                            page = [r for r in result.records if _recordno(r) not in seen]
                        frame = self._frame(obj, page, columns)
                        if "RECORDNO" in frame.columns:
                            seen.update(int(n) for n in frame["RECORDNO"].dropna())
                        else:
                            restartable = False
                        yielded += len(frame)
                        bar.update(len(frame))
                        if len(frame) or yielded == 0:
                            yield convert(frame)
                        if not result.num_remaining or not result.result_id:
                            return
                        # One request at a time: readMore continues the resultId's cursor
                        # and names no page (reference §2.5; see intacct._pages).
                        result = self._call(
                            fn.read_more(result.result_id), f"intacct readMore {obj}", page=True
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
        docparid: str | None = None,
        progress: bool = False,
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """Every record of ``obj`` that matches ``query``, all pages, as one typed DataFrame.

        The ``readByQuery`` read: a SQL-like filter string, as Sage's documentation writes it
        (``STATUS = 'T'``, ``ACCOUNTTYPE = 'N'``: this dialect spells status ``T``/``F``,
        reference §13.3), and ``"*"`` or a field list. Build the string with
        :func:`~intacct_sync.intacct.filters.query_string` when values come from users or
        from a DataFrame, so a quote in a name cannot change the query. Columns keep
        Intacct's field names and are typed from the object's ``lookup`` (cached): dates as
        datetime64, money as exact decimals. For the ``query`` function's filter trees, see
        :meth:`query`.

        >>> ia.read_by_query("GLACCOUNT", "STATUS = 'T'", fields=["ACCOUNTNO", "TITLE"])
        ...  # doctest: +SKIP
        >>> ia.read_by_query("CUSTOMER", query_string("NAME = {}", "Jane's Deli"))
        ...  # doctest: +SKIP

        Args:
            obj: object name (``GLACCOUNT``).
            query: the readByQuery filter string; empty for every record.
            fields: ``"*"`` or field names.
            page_size: records per request (1..1000).
            docparid: transaction definition, for order-entry documents (reference §13.4).
            progress: show a progress bar (needs tqdm).
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One typed DataFrame of every matching record; an empty result has the same
            columns.

        Raises:
            InputError: ``page_size`` is out of range; over REST, an object with no REST
                counterpart on record.
            FunctionError: Intacct refused the read (an unknown object or field, a query it
                cannot parse).
        """
        pages = self.iter_read_by_query(
            obj,
            query,
            fields=fields,
            page_size=page_size,
            docparid=docparid,
            progress=progress,
            dtype_backend=dtype_backend,
        )
        return concat(pages)

    def read_by_query_batch(
        self,
        reads: Sequence[tuple[str, str, Sequence[str]]],
        *,
        dtype_backend: DtypeBackend | None = None,
    ) -> list[pd.DataFrame]:
        """Several ``readByQuery`` reads in one request, as text frames (no ``lookup``).

        For callers that need a few small lists at the cost of one request (a preflight reads
        accounts and dimension values this way); a read with more than 1,000 records goes on
        with ``readMore``, one request per further page.

        Args:
            reads: ``(object, query, fields)`` per read; ``["*"]`` reads every field.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One frame per read, in order, with exactly ``fields`` (every field returned, for
            ``["*"]``) as ``string`` columns.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
            FunctionError: a read was refused.
        """
        convert = backend_converter(dtype_backend)
        if self._rest is not None:
            return self._rest.read_by_query_batch(reads, dtype_backend=dtype_backend)
        if not reads:
            return []
        functions = [
            Function(
                control_id=f"read{n}",
                body=fn.read_by_query(
                    obj, query=query, fields=",".join(fields), page_size=fn.MAX_READ_PAGE
                ),
            )
            for n, (obj, query, fields) in enumerate(reads)
        ]
        response = self.execute(functions, what=f"intacct readByQuery x{len(functions)}")
        out: list[pd.DataFrame] = []
        for (obj, _, fields), result in zip(reads, response.results, strict=True):
            raise_for_result(result)
            wanted = [] if list(fields) == ["*"] else list(fields)
            columns: dict[str, list[str | None]] = {name: [] for name in wanted}
            rows = 0
            while True:
                values, _ = columns_of(result)
                count = len(next(iter(values.values()))) if values else 0
                for name in list(columns) + [n for n in values if n not in columns]:
                    column = columns.setdefault(name, [None] * rows)
                    column.extend(values.get(name) or [None] * count)
                rows += count
                if not result.num_remaining or not result.result_id:
                    break
                result = self._call(fn.read_more(result.result_id), f"intacct readMore {obj}")
            out.append(convert(frames.build_frame(columns, {}, order=wanted or list(columns))))
        return out

    def dimensions(self, *, dtype_backend: DtypeBackend | None = None) -> pd.DataFrame:
        """The company's dimensions (``getDimensions``): ``objectName``, ``objectLabel``,
        ``termLabel``, ``userDefinedDimension``, ``enabledInGL``.

        A user-defined dimension's ``objectName`` is its integration name: its values are read
        with :meth:`query` on that object (``id``, ``name``) and a journal line takes the
        value's ``id`` in ``GLDIM<objectName>`` (reference §13.5).

        Args:
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A DataFrame with one row per dimension, booleans as ``boolean``.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
            FunctionError: Intacct refused the call.
        """
        convert = backend_converter(dtype_backend)
        if self._rest is not None:
            return self._rest.dimensions(dtype_backend=dtype_backend)
        result = self._call(fn.get_dimensions(), "intacct getDimensions")
        nodes = [] if result.data is None else list(result.data.iter("dimension"))
        rows = [
            {name: child_text(node, name) or None for name in DIMENSION_COLUMNS} for node in nodes
        ]
        return convert(frames.frame_from_records(rows, DIMENSION_COLUMNS))

    def iter_query(
        self,
        obj: str,
        *,
        select: str | Sequence[str] | None = None,
        filter: Filter | Mapping[str, Any] | None = None,
        order_by: Sequence[tuple[str, Literal["ascending", "descending"]]] | None = None,
        page_size: int | None = None,
        case_insensitive: bool = False,
        docparid: str | None = None,
        progress: bool = False,
        dtype_backend: DtypeBackend | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Yield one typed DataFrame per page of the ``query`` function (offset paging).

        Memory is bounded by a few pages. Field names in ``select``, ``filter`` and
        ``order_by`` are matched without regard to case and sent in the object's own spelling
        (``accountno`` reads the ``ACCOUNTNO`` column); a name the object does not have is
        refused before anything is sent, with the closest right spelling. Without ``select``
        (or with ``"*"``) every field of the object is read: Intacct's ``query`` does not take
        ``*``, so the fields come from the object's definition (``lookup``, else ``inspect``;
        one request, cached per client).

        Each page is a new query, so the order must be total or offset paging can miss or
        repeat rows: the record key (``RECORDNO``; ``id`` on a platform object such as a
        user-defined dimension) is always the last sort key, added to the request's select when
        the caller did not select it and dropped from the frames again. Aggregates are ordered
        by their group fields.

        ``STATUS`` is filtered with the words ``active``/``inactive`` here (``T``/``F`` is
        ``readByQuery``'s spelling and is refused, reference §13.3). Filter values may be the
        pandas and NumPy scalars a DataFrame holds (``pd.Timestamp``, ``np.int64``).

        >>> for page in ia.iter_query("GLENTRY", select=["RECORDNO", "TRX_AMOUNT"],
        ...                           filter={"ACCOUNTNO": "4000"}):  # doctest: +SKIP
        ...     print(len(page))

        Args:
            obj: object name.
            select: field names (a list, or one comma-separated string), dotted paths into
                related objects (``JOURNAL.SYMBOL``), aggregates written
                ``"sum:TRX_AMOUNT"``; None or ``"*"`` for every field.
            filter: a :class:`~intacct_sync.intacct.filters.Filter` or ``{field: value}``.
            order_by: ``[(field, "ascending" | "descending")]``.
            page_size: records per page (1..2000).
            case_insensitive: compare strings without case.
            docparid: transaction definition, for order-entry documents.
            progress: show a progress bar.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Yields:
            One typed DataFrame per page, its columns the selected fields in their own
            spelling (an empty read yields one empty frame with those columns).

        Raises:
            InputError: a field the object does not have (the closest spelling named), a
                filter value that is missing or of an unsupported type, ``STATUS`` filtered
                with ``T``/``F``, ``"*"`` for an object whose definition cannot be read, or a
                ``dtype_backend`` that is not a backend name (before any request).
            FunctionError: Intacct refused the query.
        """
        # Checked first: spelling the names may already ask for the object's definition.
        convert = backend_converter(dtype_backend)
        every = select is None or (isinstance(select, str) and select.strip() == "*")
        select, filter, order_by = spell_query(
            obj, self._query_names(obj, docparid, every=every), select, filter, order_by
        )
        if self._rest is not None:
            yield from self._rest.iter_query(
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
            return
        select, order_by, columns = self._stable_query(obj, select, order_by)
        size = min(page_size or max(self.page_size, fn.MAX_QUERY_PAGE), fn.MAX_QUERY_PAGE)
        with progress_bar(enabled=progress, desc=f"query {obj}") as bar:
            pages = self._offset_pages(
                obj,
                lambda offset: fn.query(
                    obj,
                    select=select,
                    filter=filter,
                    order_by=order_by,
                    page_size=size,
                    offset=offset,
                    case_insensitive=case_insensitive,
                    docparid=docparid,
                ),
                columns,
                bar,
            )
            yield from map(convert, pages)  # lazy: each page converted as it is handed over

    def _offset_pages(
        self,
        obj: str,
        build: Callable[[int], etree._Element],
        columns: list[str],
        bar: Progress,
    ) -> Iterator[pd.DataFrame]:
        """The typed pages of an offset-paged ``query``, fetched side by side within the
        company's governor (:func:`~intacct_sync.intacct._pages.offset_pages`), in order.
        """
        what = f"intacct query {obj}"

        def fetch(offset: int) -> Result:
            return self._call(build(offset), what, page=True)

        def frame_of(result: Result) -> pd.DataFrame:
            bar.set_total(result.total_count)
            frame = self._frame(obj, result, columns)
            frame = frame[columns] if list(frame.columns) != columns else frame
            bar.update(len(frame))
            return frame

        # None is an unlimited governor: the company's own limit still applies (§13.7).
        workers = self.governor.limit or DEFAULT_LIMITS["intacct"]
        yield from offset_pages(fetch, frame_of, workers=workers, name=f"intacct-{obj}")

    def _stable_query(
        self,
        obj: str,
        select: Sequence[str],
        order_by: Sequence[tuple[str, Literal["ascending", "descending"]]] | None,
    ) -> tuple[list[str], list[tuple[str, Literal["ascending", "descending"]]], list[str]]:
        """The select and order sent, and the columns the caller asked for."""
        columns = [_select_column(s) for s in select]
        wanted = list(select)
        order = list(order_by or [])
        plain = [s for s in select if ":" not in s]
        if len(plain) != len(select):
            # Aggregates: one row per group, so the group fields give a total order.
            ordered = {name.upper() for name, _ in order}
            order += [(name, "ascending") for name in plain if name.upper() not in ordered]
            return wanted, order, columns
        key = self._record_key(obj, select)
        if key.upper() not in {name.upper() for name, _ in order}:
            order.append((key, "ascending"))
        if key.upper() not in {name.upper() for name in select}:
            wanted.append(key)
        return wanted, order, columns

    def _record_key(self, obj: str, select: Sequence[str]) -> str:
        # §13.5: platform objects (user-defined dimensions) are keyed by `id`, not RECORDNO.
        if "RECORDNO" in (s.upper() for s in select):
            return "RECORDNO"
        if "id" in select:
            return "id"
        known = self._schema(obj).order
        return "id" if "id" in known and "RECORDNO" not in known else "RECORDNO"

    def _query_names(self, obj: str, docparid: str | None, *, every: bool) -> FieldNames:
        """The names ``query()`` may use on ``obj``, from one cached definition request.

        An untyped client (``typed=False``) asks for no definition unless ``every`` field is
        wanted: its names are then sent as given.
        """
        if self._rest is not None:
            # REST: the name map's XML names (UDD members included), then the company's model
            # (one cached request), whose paths the REST backend also accepts as names.
            rest = self._rest
            mapped: list[str] = []
            paths: list[str] = []
            dates: set[str] = set()
            for plain in rest._targets(obj, docparid):
                target = rest._with_udds(plain)
                model = rest._model_kinds(target)
                mapped += [f.xml for f in target.fields]
                paths += [target.xml_name(p) for p in model] + list(model)
                dates |= {f.xml for f in target.fields if f.kind == "date"}
                dates |= {target.xml_name(p) for p, kind in model.items() if kind == "date"}
            star = tuple(rest._all_fields(obj, "*"))
            return FieldNames(
                every=star, known=(*mapped, *paths), closed=bool(paths), dates=frozenset(dates)
            )
        key = f"{obj.upper()}|names"
        types = self._schema(obj) if self.typed else self._kinds_cache.get(key)
        if types is None and not every:
            return FieldNames(every=(), known=(), closed=False)
        if types is None:
            types = self._kinds_cache[key] = self._definition(obj)
        # A transaction definition (docparid) adds its own fields, which the object's lookup
        # does not list (reference §13.4): there names are spelled, never refused.
        return FieldNames(
            every=tuple(types.order),
            known=(*types.order, *types.kinds),
            closed=bool(types.order) and docparid is None,
            dates=frozenset(name for name, kind in types.kinds.items() if kind == "date"),
        )

    def query(
        self,
        obj: str,
        *,
        select: str | Sequence[str] | None = None,
        filter: Filter | Mapping[str, Any] | None = None,
        order_by: Sequence[tuple[str, Literal["ascending", "descending"]]] | None = None,
        page_size: int | None = None,
        case_insensitive: bool = False,
        docparid: str | None = None,
        progress: bool = False,
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """All pages of :meth:`iter_query` as one typed DataFrame (the ``query`` function).

        The analyst's read: any object, any fields, a filter built from Python values, all
        pages. Field names are matched as :meth:`iter_query` says (any case; refused with the
        right spelling when the object has no such field); no ``select`` reads every field.

        >>> ia.query("GLACCOUNT")  # doctest: +SKIP
        >>> ia.query("GLACCOUNT", select=["accountno", "title"],
        ...          filter={"STATUS": "active"}, order_by=[("ACCOUNTNO", "ascending")])
        ...  # doctest: +SKIP

        Args:
            obj: object name.
            select: field names, dotted paths, aggregates; None or ``"*"`` for every field.
            filter: a :class:`~intacct_sync.intacct.filters.Filter` or ``{field: value}``.
            order_by: ``[(field, "ascending" | "descending")]``.
            page_size: records per page (1..2000).
            case_insensitive: compare strings without case.
            docparid: transaction definition, for order-entry documents.
            progress: show a progress bar.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One typed DataFrame of every matching record, its columns the selected fields in
            the object's own spelling; an empty result has the same columns.

        Raises:
            InputError: as :meth:`iter_query` (a wrong field name, a bad filter value).
            FunctionError: Intacct refused the query.
        """
        pages = self.iter_query(
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
        return concat(pages)

    def read(
        self,
        obj: str,
        keys: Iterable[int | str],
        *,
        fields: str | Sequence[str] = "*",
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """The records of ``obj`` with these record numbers (``RECORDNO``), as one typed frame.

        Any number of keys: they are sent 100 per ``read`` function, several functions per
        request. A key that matches no record is simply absent from the frame.

        >>> ia.read("CUSTOMER", keys=[149, 150], fields=["CUSTOMERID", "NAME"])  # doctest: +SKIP

        Args:
            obj: object name.
            keys: record numbers.
            fields: ``"*"`` or field names.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``; child frames too), each page converted as it arrives; None
                keeps the typed dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One typed DataFrame with a row per record found; owned lines (``ENTRIES``) in
            ``attrs["children"]``.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
            FunctionError: Intacct refused a read (an unknown object or field).
        """
        convert = backend_converter(dtype_backend)
        if self._rest is not None:
            return self._rest.read(obj, keys, fields=fields, dtype_backend=dtype_backend)
        return self._read_keys(obj, [str(k) for k in keys], fields, fn.read, "read", convert)

    def read_by_name(
        self,
        obj: str,
        names: Iterable[str],
        *,
        fields: str | Sequence[str] = "*",
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """The records of ``obj`` with these ids (its ID field: ``ACCOUNTNO``, ``CUSTOMERID``).

        Any number of names, sent 100 per ``readByName`` function; a name that matches no
        record is absent from the frame.

        >>> ia.read_by_name("GLACCOUNT", names=["4000", "5000"])  # doctest: +SKIP

        Args:
            obj: object name.
            names: values of the object's ID field.
            fields: ``"*"`` or field names.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``; child frames too), each page converted as it arrives; None
                keeps the typed dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            One typed DataFrame with a row per record found.

        Raises:
            InputError: a name contains a comma (the keys are sent comma-separated), or
                ``dtype_backend`` is not a backend name (before any request); over REST, an
                object with no ID field.
            FunctionError: Intacct refused a read (an unknown object or field).
        """
        convert = backend_converter(dtype_backend)
        if self._rest is not None:
            return self._rest.read_by_name(obj, names, fields=fields, dtype_backend=dtype_backend)
        return self._read_keys(obj, list(names), fields, fn.read_by_name, "readByName", convert)

    def _read_keys(
        self,
        obj: str,
        keys: list[str],
        fields: str | Sequence[str],
        build: Callable[..., etree._Element],
        name: str,
        convert: Callable[[pd.DataFrame], pd.DataFrame],
    ) -> pd.DataFrame:
        field_list = fields if isinstance(fields, str) else ",".join(fields)
        columns = None if field_list.strip() == "*" else [f.strip() for f in field_list.split(",")]
        chunks = [keys[i : i + _MAX_KEYS] for i in range(0, len(keys), _MAX_KEYS)]
        if not chunks:
            return convert(self._frame(obj, [], columns))
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
                raise_for_result(result)
                # Each answer converted as it is read: one answer's Decimal objects at a time.
                pages.append(convert(self._frame(obj, result, columns)))
        return concat(iter(pages))


# -- helpers -----------------------------------------------------------------------------------


def _recordno(record: etree._Element) -> int | None:
    element = record.find("RECORDNO")
    text = None if element is None else (element.text or "").strip()
    return int(text) if text else None


def _select_column(item: str) -> str:
    func, _, name = item.rpartition(":")
    return f"{func.upper()}.{name}" if func else name


def concat(pages: Iterator[pd.DataFrame]) -> pd.DataFrame:
    return frames.concat_pages(list(pages))

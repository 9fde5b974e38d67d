"""Reads of the XML client: ``readByQuery``/``readMore``, ``query`` (offset paging),
``read``/``readByName`` and ``getDimensions``; each public call is served by the REST backend
when the client speaks REST.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import pandas as pd
from lxml import etree

from intacct_sync import frames
from intacct_sync._http.progress import progress as progress_bar
from intacct_sync.errors import FunctionError
from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._fields import DIMENSION_COLUMNS
from intacct_sync.intacct._protocol import Function, Records, Result, page_columns
from intacct_sync.intacct._session import child_text, raise_for_result
from intacct_sync.intacct._xml_types import XmlTypes
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
        """
        if self._rest is not None:
            yield from self._rest.iter_read_by_query(
                obj, query, fields=fields, page_size=page_size, docparid=docparid, progress=progress
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
        docparid: str | None = None,
        progress: bool = False,
    ) -> pd.DataFrame:
        """All pages of :meth:`iter_read_by_query` as one typed DataFrame."""
        return concat(
            self.iter_read_by_query(
                obj,
                query,
                fields=fields,
                page_size=page_size,
                docparid=docparid,
                progress=progress,
            )
        )

    def read_by_query_batch(
        self, reads: Sequence[tuple[str, str, Sequence[str]]]
    ) -> list[pd.DataFrame]:
        """Several ``readByQuery`` reads in one request, as text frames (no ``lookup``).

        For callers that need a few small lists at the cost of one request (a preflight reads
        accounts and dimension values this way); a read with more than 1,000 records goes on
        with ``readMore``, one request per further page.

        Args:
            reads: ``(object, query, fields)`` per read; ``["*"]`` reads every field.

        Returns:
            One frame per read, in order, with exactly ``fields`` (every field returned, for
            ``["*"]``) as ``string`` columns.

        Raises:
            FunctionError: a read was refused.
        """
        if self._rest is not None:
            return self._rest.read_by_query_batch(reads)
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
                values, _ = page_columns(_page(result))
                count = len(next(iter(values.values()))) if values else 0
                for name in list(columns) + [n for n in values if n not in columns]:
                    column = columns.setdefault(name, [None] * rows)
                    column.extend(values.get(name) or [None] * count)
                rows += count
                if not result.num_remaining or not result.result_id:
                    break
                result = self._call(fn.read_more(result.result_id), f"intacct readMore {obj}")
            out.append(frames.build_frame(columns, {}, order=wanted or list(columns)))
        return out

    def dimensions(self) -> pd.DataFrame:
        """The company's dimensions (``getDimensions``): ``objectName``, ``objectLabel``,
        ``termLabel``, ``userDefinedDimension``, ``enabledInGL``.

        A user-defined dimension's ``objectName`` is its integration name: its values are read
        with :meth:`query` on that object (``id``, ``name``) and a journal line takes the
        value's ``id`` in ``GLDIM<objectName>`` (reference §13.5).
        """
        if self._rest is not None:
            return self._rest.dimensions()
        result = self._call(fn.get_dimensions(), "intacct getDimensions")
        nodes = [] if result.data is None else list(result.data.iter("dimension"))
        rows = [
            {name: child_text(node, name) or None for name in DIMENSION_COLUMNS} for node in nodes
        ]
        return frames.frame_from_records(rows, DIMENSION_COLUMNS)

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

        Each page is a new query, so the order must be total or offset paging can miss or
        repeat rows: the record key (``RECORDNO``; ``id`` on a platform object such as a
        user-defined dimension) is always the last sort key, added to the request's select when
        the caller did not select it and dropped from the frames again. Aggregates are ordered
        by their group fields.

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
            )
            return
        select, order_by, columns = self._stable_query(obj, select, order_by)
        size = min(page_size or max(self.page_size, fn.MAX_QUERY_PAGE), fn.MAX_QUERY_PAGE)
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
                frame = frame[columns] if list(frame.columns) != columns else frame
                bar.update(len(frame))
                if len(frame) or offset == 0:
                    yield frame
                if not result.num_remaining or not len(frame):
                    return
                offset += len(frame)

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
        return concat(
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
        if self._rest is not None:
            return self._rest.read(obj, keys, fields=fields)
        return self._read_keys(obj, [str(k) for k in keys], fields, fn.read, "read")

    def read_by_name(
        self, obj: str, names: Iterable[str], *, fields: str | Sequence[str] = "*"
    ) -> pd.DataFrame:
        """Records by the object's ID field (``ACCOUNTNO``, ``CUSTOMERID``...)."""
        if self._rest is not None:
            return self._rest.read_by_name(obj, names, fields=fields)
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
                raise_for_result(result)
                pages.append(self._frame(obj, _page(result), columns))
        return concat(iter(pages))


# -- helpers -----------------------------------------------------------------------------------


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


def concat(pages: Iterator[pd.DataFrame]) -> pd.DataFrame:
    return frames.concat_pages(list(pages))

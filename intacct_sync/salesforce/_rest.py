"""REST reads: describe global, limits, SOQL query paging with child cursors, replication."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd

from intacct_sync._http.progress import progress as progress_bar
from intacct_sync.arrow import DtypeBackend, backend_converter
from intacct_sync.frames import Kind, build_frame, frame_from_records
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce._session import _Session


class _RestMixin(_Session):
    """The REST query and sObject reads."""

    def sobjects(self, *, dtype_backend: DtypeBackend | None = None) -> pd.DataFrame:
        """Describe Global: one row per sObject (name, label, keyPrefix, custom, queryable...).

        Args:
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A DataFrame with one row per sObject.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
        """
        convert = backend_converter(dtype_backend)
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
        return convert(frame_from_records(rows, kinds))

    def limits(self, *, dtype_backend: DtypeBackend | None = None) -> pd.DataFrame:
        """The org's limits: one row per limit with ``Name``, ``Max``, ``Remaining``, ``Used``.

        Args:
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A DataFrame with one row per limit.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
        """
        convert = backend_converter(dtype_backend)
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
        return convert(frame_from_records(rows, kinds))

    # ------------------------------------------------------------------ query

    def query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        progress: bool = False,
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """Run a SOQL query and return every page as one typed DataFrame.

        Columns keep the API names; parent fields are flattened with dots (``Account.Name``,
        ``PricebookEntry.Product2.Name``) and are null when the parent is. Types come from
        describe: dates and datetimes as datetime64 (datetimes in UTC), currency, percent and
        double as exact ``Decimal``, int as ``Int64``, checkboxes as ``boolean``, everything
        else (ids, picklists, multi-select picklists ``"a;b"``) as ``string``.

        Child subqueries come back as data: ``frame.attrs["children"]`` (a
        :class:`~intacct_sync.salesforce.ChildFrames`) holds one long frame per relationship
        whose first column ``parent_id`` is the parent's ``Id``. They join by that Id, so they
        stay right after ``sort_values``, filtering or ``head()``;
        :func:`~intacct_sync.salesforce.children` gives the child rows of the parents a derived
        frame still holds.

        Args:
            soql: the query; build literals with :func:`~intacct_sync.salesforce.soql`.
            include_deleted: use ``queryAll`` (deleted and archived rows too).
            progress: show a progress bar (needs tqdm).
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            The rows; an empty result has the same columns and dtypes.

        Raises:
            SalesforceError: e.g. ``MALFORMED_QUERY``, ``INVALID_FIELD``.

        >>> opps = sf.query("SELECT Id, Amount, (SELECT Quantity FROM OpportunityLineItems) "
        ...                 "FROM Opportunity")  # doctest: +SKIP
        >>> lines = opps.attrs["children"]["OpportunityLineItems"]  # doctest: +SKIP
        >>> lines.merge(opps, left_on="parent_id", right_on="Id")  # doctest: +SKIP
        """
        pages = list(
            self.iter_query(
                soql,
                include_deleted=include_deleted,
                progress=progress,
                dtype_backend=dtype_backend,
            )
        )
        if len(pages) == 1:
            return pages[0]
        return wire.concat_pages(pages)

    def query_all(
        self, soql: str, *, progress: bool = False, dtype_backend: DtypeBackend | None = None
    ) -> pd.DataFrame:
        """Like :meth:`query` through ``queryAll``: deleted and archived rows included.

        Args:
            soql: the SOQL statement.
            progress: show a progress bar (needs tqdm).
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A typed DataFrame of every row, deleted and archived ones included.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
        """
        return self.query(
            soql, include_deleted=True, progress=progress, dtype_backend=dtype_backend
        )

    def iter_query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        progress: bool = False,
        dtype_backend: DtypeBackend | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Run a SOQL query and yield one typed DataFrame per page (memory: one page).

        Every page has the same columns and dtypes; see :meth:`query` for typing and children.
        A ``SELECT COUNT() ...`` query yields one frame with one ``count`` column.

        Args:
            soql: the SOQL statement.
            include_deleted: read through ``queryAll`` (deleted and archived rows too).
            progress: show a progress bar (needs tqdm).
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`); the child
                frames of a page too.

        Yields:
            One typed DataFrame per page, every page with the same columns and dtypes.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
        """
        # Before describe, which is a request of its own.
        convert = backend_converter(dtype_backend)
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
                    yield convert(build_frame({"count": [page.total_size]}, {"count": "integer"}))
                    return
                yield convert(self._page_frame(shape, page, headers))
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
            # SOQL field names are CamelCase or end in __c: parent_id never collides with one.
            leading = {wire.PARENT_ID: parents}
            frames[name] = shape.child_shape(name).frame(records, leading=leading)
        frame.attrs["children"] = wire.ChildFrames(frames, parent_key=wire.PARENT_KEY)
        frame.attrs["total_size"] = page.total_size
        return frame

    # ------------------------------------------------------------------ incremental sync

    def updated(self, sobject: str, *, start: Any, end: Any) -> list[str]:
        """Ids of records changed between ``start`` and ``end`` (timezone-aware datetimes).

        Args:
            sobject: the sObject.
            start: the window's start (timezone-aware).
            end: the window's end (timezone-aware).

        Returns:
            The ids of the changed records.
        """
        data = self._json(
            "GET",
            f"sobjects/{quote(sobject, safe='')}/updated/?{_window(start, end)}",
            idempotent=True,
        )
        return [str(i) for i in (data or {}).get("ids") or ()]

    def deleted(
        self,
        sobject: str,
        *,
        start: Any,
        end: Any,
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """Records deleted between ``start`` and ``end``: columns ``id``, ``deletedDate``.

        Salesforce keeps this for at most 15 days.

        Args:
            sobject: the sObject.
            start: the window's start (timezone-aware).
            end: the window's end (timezone-aware).
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A DataFrame with ``id`` and ``deletedDate`` per record.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
        """
        convert = backend_converter(dtype_backend)
        data = self._json(
            "GET",
            f"sobjects/{quote(sobject, safe='')}/deleted/?{_window(start, end)}",
            idempotent=True,
        )
        rows = (data or {}).get("deletedRecords") or []
        return convert(frame_from_records(rows, {"id": "text", "deletedDate": "timestamp"}))


def _window(start: Any, end: Any) -> str:
    from intacct_sync.salesforce.soql import literal

    return urlencode({"start": literal(start), "end": literal(end)})

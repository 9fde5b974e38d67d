"""Field types of the XML client: ``lookup``/``inspect`` (cached per client) and records to
typed frames with their child collections.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd
from lxml import etree

from intacct_sync import frames
from intacct_sync.arrow import DtypeBackend, backend_converter
from intacct_sync.errors import FunctionError
from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._columns import Collections, Columns, Records, page_columns
from intacct_sync.intacct._fields import (
    INSPECT_COLUMNS,
    LOOKUP_COLUMNS,
    FieldTypes,
    inspect_rows,
    lookup_rows,
    sniff_kind,
    types_from_inspect,
    types_from_lookup,
)
from intacct_sync.intacct._protocol import Result
from intacct_sync.intacct._session import XmlSession
from intacct_sync.intacct._writes import _ID_FIELDS

__all__ = ["XmlTypes", "columns_of"]

log = logging.getLogger("intacct_sync.intacct")


class XmlTypes(XmlSession):
    """Field types and frames (a mixin of :class:`~intacct_sync.IntacctClient`)."""

    def lookup(self, obj: str, *, dtype_backend: DtypeBackend | None = None) -> pd.DataFrame:
        """The object's field definitions (``lookup``): one row per field.

        Columns: ``ID``, ``LABEL``, ``DESCRIPTION``, ``REQUIRED``, ``READONLY``, ``DATATYPE``,
        ``ISCUSTOM``, ``VALIDVALUES`` (``#~#``-joined).

        Args:
            obj: object name (``GLBATCH``).
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A DataFrame with one row per field of the object (its own spelling in ``ID``).

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
        """
        convert = backend_converter(dtype_backend)
        if self._rest is not None:
            return self._rest.lookup(obj, dtype_backend=dtype_backend)
        result = self._call(fn.lookup(obj), f"intacct lookup {obj}")
        return convert(frames.frame_from_records(lookup_rows(result.data), LOOKUP_COLUMNS))

    def inspect(self, obj: str, *, dtype_backend: DtypeBackend | None = None) -> pd.DataFrame:
        """The object's legacy field definitions (``inspect detail="1"``): one row per field.

        Columns: ``Name``, ``GroupName``, ``dataName``, ``externalDataName`` (``string``,
        ``integer``, ``number``, ``boolean``, ``datetime``), ``isRequired``, ``isReadOnly``,
        ``maxLength``, ``DisplayLabel``, ``Description``, ``id``. Typing falls back to it when
        ``lookup`` is refused.

        Args:
            obj: object name (``GLBATCH``).
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A DataFrame with one row per field of the object.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before any request).
        """
        convert = backend_converter(dtype_backend)
        self._xml_only("inspect")
        result = self._call(fn.inspect(obj), f"intacct inspect {obj}")
        return convert(frames.frame_from_records(inspect_rows(result.data), INSPECT_COLUMNS))

    def field_kinds(self, obj: str) -> dict[str, frames.Kind]:
        """Column kinds of ``obj`` from its ``lookup`` (or ``inspect``), cached per client.

        Args:
            obj: object name (``GLBATCH``).

        Returns:
            Field name -> frame kind (``text``, ``integer``, ``decimal``, ``date``, ``datetime``,
            ``boolean``) for the fields a definition typed.
        """
        if self._rest is not None:
            return self._rest.field_kinds(obj)
        return dict(self._schema(obj).kinds)

    def _schema(self, obj: str) -> FieldTypes:
        key = obj.upper()
        cached = self._kinds_cache.get(key)
        if cached is not None:
            return cached
        types = FieldTypes(kinds={"RECORDNO": "integer"}, order=[])
        if self.typed:
            types = self._definition(obj)
        self._kinds_cache[key] = types
        return types

    def _definition(self, obj: str) -> FieldTypes:
        """Types from ``lookup``; when it is refused, from ``inspect`` (§13.4); when both are
        refused, none (columns are then recognised by Intacct's own value formats).
        """
        try:
            return types_from_lookup(
                lookup_rows(self._call(fn.lookup(obj), f"intacct lookup {obj}").data)
            )
        except FunctionError as exc:
            lookup_error = str(exc)
        try:
            types = types_from_inspect(
                inspect_rows(self._call(fn.inspect(obj), f"intacct inspect {obj}").data)
            )
        except FunctionError as exc:
            log.warning(
                "lookup and inspect of %s failed (%s; %s); its columns are typed by their values",
                obj,
                lookup_error,
                exc,
            )
            return FieldTypes(
                kinds={"RECORDNO": "integer"},
                order=[],
                missing_reason=f"lookup and inspect of {obj} were refused",
            )
        log.info("lookup of %s failed (%s); typed from inspect", obj, lookup_error)
        return types

    def _column_kinds(
        self, obj: str, types: FieldTypes, values: Mapping[str, Sequence[str | None]]
    ) -> dict[str, frames.Kind]:
        """Kinds for one page: known ones, aggregates, then Intacct's value formats.

        A column of unknown type is decided by the first page holding a value in it, and the
        decision is kept for the rest of the read, so every page has the same dtypes. A column
        left as text for want of a type is reported once per client, object and field.
        """
        kinds = dict(types.kinds)
        for name, column in values.items():
            undecided = name in types.untyped or name in types.maybe_dates or name not in kinds
            if not undecided:
                continue
            if _is_aggregate(name):
                kinds[name] = _aggregate_kind(name, kinds)
                continue
            if not self.typed or not any(v not in (None, "") for v in column):
                continue
            found = sniff_kind(column)
            if name in types.maybe_dates:
                # Declared `string` by inspect: only a date format overrides that.
                types.maybe_dates.discard(name)
                if found in ("date", "datetime"):
                    types.kinds[name] = kinds[name] = found
                continue
            reason = types.untyped.pop(name, None)
            if found is not None:
                types.kinds[name] = kinds[name] = found
                continue
            types.kinds[name] = kinds[name] = "text"
            why = (
                reason
                or types.missing_reason
                or f"{name} is not in the {types.source or 'definition'} answer"
            )
            log.warning(
                "%s.%s is read as text: %s, and its values are not in an Intacct date, "
                "datetime or decimal format",
                obj,
                name,
                why,
            )
        return kinds

    def _frame(
        self, obj: str, page: Result | Records, columns: Sequence[str] | None
    ) -> pd.DataFrame:
        types = self._schema(obj)
        values, children = columns_of(page)
        kinds = self._column_kinds(obj, types, values)
        order = list(columns) if columns is not None else list(types.order)
        frame = frames.build_frame(values, kinds, order=order)
        if children:
            frame.attrs["children"] = self._child_frames(obj, values, children)
        return frame

    def _child_frames(
        self,
        obj: str,
        values: Mapping[str, Sequence[str | None]],
        children: Mapping[str, list[tuple[int, etree._Element]]],
    ) -> frames.ChildFrames:
        # `read` returns owned collections nested in the parent (ENTRIES/glentry,
        # SODOCUMENTENTRIES/sodocumententry: reference/intacct-api.md §7). Children are keyed
        # by the parent's id taken from the parent record itself, never by its row position,
        # which is wrong as soon as the parent frame is sorted, filtered or cut.
        id_field = _ID_FIELDS.get(obj.upper())
        key = "RECORDNO" if "RECORDNO" in values else id_field if id_field in values else None
        if key is None:
            log.warning(
                "%s read without RECORDNO or its id field: its child rows cannot name their "
                "parent (parent_id is empty)",
                obj,
            )
        ids = values[key] if key is not None else []
        built = {}
        for name, items in children.items():
            child = self._frame(str(items[0][1].tag).upper(), [el for _, el in items], None)
            parent_ids = [ids[row] if key is not None else None for row, _ in items]
            child.insert(0, frames.PARENT_ID, pd.Series(parent_ids, dtype="string"))
            built[name] = child
        return frames.ChildFrames(built, parent_key=key)

    @staticmethod
    def children(frame: pd.DataFrame, relationship: str) -> pd.DataFrame:
        """The ``relationship`` child rows (``ENTRIES``) of the parent rows still in ``frame``.

        Reads return owned collections apart, in ``frame.attrs["children"]`` (relationship
        name -> frame whose first column ``parent_id`` is the parent's ``RECORDNO`` as text,
        else its id field). They join by that id, so this works after ``sort_values``,
        filtering and ``head()``; see :func:`intacct_sync.frames.children`.

        >>> batches = ia.read("GLBATCH", [101, 102])  # doctest: +SKIP
        >>> ia.children(batches[batches["STATE"] == "Posted"], "ENTRIES")  # doctest: +SKIP

        Args:
            frame: a frame returned by a read.
            relationship: the child collection (``ENTRIES``).

        Returns:
            A DataFrame of the child rows whose parent is still in ``frame``.

        Raises:
            KeyError: the frame carries no such children (see :func:`frames.children`).
        """
        return frames.children(frame, relationship)


def _is_aggregate(name: str) -> bool:
    return name.partition(".")[0] in ("COUNT", "SUM", "AVG", "MIN", "MAX")


def _aggregate_kind(name: str, kinds: Mapping[str, frames.Kind]) -> frames.Kind:
    func, _, base = name.partition(".")
    if func == "COUNT":
        return "integer"
    if func in ("SUM", "AVG"):
        return "decimal"
    if func in ("MIN", "MAX"):
        return kinds.get(base, "text")
    return "text"


def columns_of(page: Result | Records) -> tuple[Columns, Collections]:
    """A page's columns and owned collections: as read from the answer's text
    (``parse_response(page=True)``), or from its records' tree.
    """
    if not isinstance(page, Result):
        return page_columns(page)
    if page.columns is not None:
        return page.columns, {}
    # The <data> element is itself the sequence of its records; listing them costs a pass.
    return page_columns(page.data if page.data is not None else [])

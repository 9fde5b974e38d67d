"""Query records -> typed frames: columns fixed from the SELECT and describe, children as data.

Child subquery rows use the layout both clients share (:class:`intacct_sync.frames.ChildFrames`):
one frame per relationship whose first column ``parent_id`` is the parent's ``Id``; the
accessor :func:`intacct_sync.frames.children` gives a derived frame's child rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs
import pandas as pd

from intacct_sync.errors import (
    ProtocolError,
)
from intacct_sync.frames import ChildFrames, Kind, build_frame
from intacct_sync.frames import concat_pages as concat_frame_pages
from intacct_sync.salesforce._select import (
    _DATE_FUNCTIONS,
    _WRAPPERS,
    FieldItem,
    FunctionItem,
    Select,
    TypeOfItem,
)
from intacct_sync.salesforce._wire import snippet
from intacct_sync.salesforce.models import FieldInfo, SObjectDescribe

#: the parent frame's column a child frame's ``parent_id`` (:data:`PARENT_ID`) refers to
PARENT_KEY = "Id"
Describer = Callable[[str], SObjectDescribe | None]


# --------------------------------------------------------------------------- columns and kinds

_KIND_BY_TYPE: Mapping[str, Kind] = {
    "boolean": "boolean",
    "int": "integer",
    "long": "integer",
    "double": "decimal",
    "currency": "decimal",
    "percent": "decimal",
    "date": "date",
    "datetime": "timestamp",
}
_COMPOUND_TYPES = frozenset({"address", "location"})


def kind_for(field: FieldInfo) -> Kind:
    """The frame kind for a describe field type (text for ids, picklists, strings...)."""
    return _KIND_BY_TYPE.get(field.type, "text")


@attrs.define
class Column:
    """One output column: its name and how it is found in a flattened record.

    ``kind`` is ``None`` when describe could not say; it is then guessed from the values.
    """

    name: str
    kind: Kind | None
    key: str = ""  # lower-cased flattened record key
    #: the spelling is canonical (from describe or from a record), not just the SOQL's
    canonical: bool = False

    def __attrs_post_init__(self) -> None:
        if not self.key:
            self.key = self.name.lower()


def _resolve(
    describe: Describer, obj: str | None, path: Sequence[str]
) -> tuple[list[str], FieldInfo | None]:
    """Canonical spelling of a path and its field, walking lookups through describe."""
    canonical: list[str] = []
    candidates = [obj] if obj else []
    for segment in path[:-1]:
        found = None
        for candidate in candidates[:1]:
            info = describe(candidate)
            found = info.relationship(segment) if info else None
        if found is None or found.relationship_name is None:
            return canonical + list(path[len(canonical) :]), None
        canonical.append(found.relationship_name)
        # Polymorphic lookups (What, Who, Owner) point at several objects: try a few.
        candidates = list(found.reference_to[:3])
    for candidate in candidates:
        info = describe(candidate)
        field = info.field(path[-1]) if info else None
        if field is not None:
            return [*canonical, field.name], field
    return [*canonical, path[-1]], None


def _strip_qualifier(path: tuple[str, ...], names: Iterable[str | None]) -> tuple[str, ...]:
    lowered = {n.lower() for n in names if n}
    if len(path) > 1 and path[0].lower() in lowered:
        return path[1:]
    return path


def _singular(name: str) -> list[str]:
    # Without describe, a child subquery's qualifier is guessed from the relationship name.
    base = name[:-3] if name.lower().endswith("__r") else name
    forms = [base, base + "__c"]
    if base.lower().endswith("ies"):
        forms.append(base[:-3] + "y")
    if base.lower().endswith("s"):
        forms.append(base[:-1])
    if base.lower().endswith("es"):
        forms.append(base[:-2])
    return forms


@attrs.define
class QueryShape:
    """The columns of a query's rows and of each child subquery, fixed before rows arrive.

    Built once per query from the SELECT list and describe, so every page of a read has the same
    columns and dtypes and an empty result still has them.
    """

    columns: list[Column]
    children: dict[str, QueryShape]
    open: bool = False
    count_only: bool = False
    _guessed: dict[str, Kind] = attrs.field(factory=dict)

    @classmethod
    def build(cls, select: Select | None, describe: Describer) -> QueryShape:
        """Shape for a parsed SELECT (``None`` = unparsable: columns come from the rows)."""
        if select is None:
            return cls(columns=[], children={}, open=True)
        if select.count_only:
            return cls(columns=[], children={}, count_only=True)
        return cls._build(select, select.object, [select.object, select.alias], describe)

    @classmethod
    def _build(
        cls,
        select: Select,
        obj: str | None,
        qualifiers: list[str | None],
        describe: Describer,
    ) -> QueryShape:
        columns: list[Column] = []
        children: dict[str, QueryShape] = {}
        aggregate = select.aggregate
        expr = 0
        for item in select.items:
            if isinstance(item, FieldItem):
                path = _strip_qualifier(item.path, qualifiers)
                names, info = _resolve(describe, obj, path)
                if info is not None and info.type in _COMPOUND_TYPES:
                    continue  # its parts arrive as a nested object and are added from the rows
                kind = kind_for(info) if info else None
                # AggregateResult rows name a grouped relationship field by its last part.
                name = names[-1] if aggregate else ".".join(names)
                columns.append(Column(name, kind, canonical=info is not None))
            elif isinstance(item, FunctionItem):
                info = None
                names = []
                if item.arg is not None:
                    names, info = _resolve(describe, obj, _strip_qualifier(item.arg, qualifiers))
                if item.function in _WRAPPERS:
                    name = item.alias or (names[-1] if aggregate else ".".join(names))
                    kind = "text" if item.function in ("tolabel", "format") else None
                    if item.function == "convertcurrency":
                        kind = "decimal"
                    columns.append(Column(name, kind))
                    continue
                if item.alias:
                    name = item.alias
                else:
                    name = f"expr{expr}"
                    expr += 1
                columns.append(Column(name, cls._function_kind(item.function, info)))
            elif isinstance(item, TypeOfItem):
                for field in item.fields:
                    columns.append(Column(f"{item.relationship}.{field}", None))
            else:
                info_parent = describe(obj) if obj else None
                child = info_parent.child(item.relationship) if info_parent else None
                rel_name, child_obj = child if child else (item.relationship, None)
                quals: list[str | None] = [child_obj, item.select.alias, item.relationship]
                if child_obj is None:
                    quals += _singular(item.relationship)
                shape = cls._build(item.select, child_obj, quals, describe)
                children[rel_name] = shape
        return cls(
            columns=columns,
            children=children,
            open=select.open,
            count_only=select.count_only,
        )

    @staticmethod
    def _function_kind(function: str, info: FieldInfo | None) -> Kind | None:
        if function in ("count", "count_distinct", "grouping"):
            return "integer"
        if function in ("sum", "avg"):
            return "decimal"
        if function == "day_only":
            return "date"
        if function in _DATE_FUNCTIONS:
            return "integer"
        return kind_for(info) if info else None  # MIN/MAX keep the field's kind

    def child_shape(self, name: str) -> QueryShape:
        """Shape of child relationship ``name`` (any casing); an open shape if unknown."""
        for key, shape in self.children.items():
            if key.lower() == name.lower():
                return shape
        shape = QueryShape(columns=[], children={}, open=True)
        self.children[name] = shape
        return shape

    def child_name(self, name: str) -> str:
        """The declared spelling of child relationship ``name``."""
        for key in self.children:
            if key.lower() == name.lower():
                return key
        return name

    def frame(
        self, rows: Sequence[Mapping[str, Any]], *, leading: Mapping[str, Sequence[Any]] = {}
    ) -> pd.DataFrame:
        """A typed frame of flattened rows (see :func:`flatten`).

        Columns the SELECT did not predict (``FIELDS(ALL)``, compound address parts, an
        unparsable query) are added from the rows and kept for later pages.

        Args:
            rows: flattened records.
            leading: extra columns put first (the parent key of child rows), typed as text.
        """
        observed: dict[str, str] = {}
        # Every distinct key once, in first-seen order, without a Python loop per row and key.
        for key in dict.fromkeys(itertools.chain.from_iterable(rows)):
            observed.setdefault(key.lower(), key)
        self._add_extras(rows, observed)
        data: dict[str, Sequence[Any]] = {}
        kinds: dict[str, Kind] = {}
        for name, values in leading.items():
            data[name] = values
            kinds[name] = "text"
        for column in self.columns:
            key = observed.get(column.key, column.name)
            if not column.canonical and column.key in observed:
                # Records use the schema's casing (PricebookEntry) whatever the SOQL said.
                column.name, column.canonical = key, True
            if column.name in data:
                continue
            values = [row.get(key) for row in rows]
            data[column.name] = values
            kinds[column.name] = column.kind or self._guess(column.name, values)
        order = list(data)
        return build_frame(data if rows else {}, kinds, order=order)

    def _add_extras(self, rows: Sequence[Mapping[str, Any]], observed: Mapping[str, str]) -> None:
        known = {c.key for c in self.columns}
        prefixes: set[str] = set()
        for column in self.columns:
            parts = column.key.split(".")
            prefixes.update(".".join(parts[:i]) for i in range(1, len(parts)))
        children = {c.lower() for c in self.children}
        for lowered, key in observed.items():
            if lowered in known or lowered in children:
                continue
            all_none = self._all_none(rows, key)
            # A parent that came back null shows up as a bare key holding None: not a column.
            if all_none and (lowered in prefixes or not self.open):
                continue
            self.columns.append(Column(key, None, canonical=True))
            known.add(lowered)

    @staticmethod
    def _all_none(rows: Sequence[Mapping[str, Any]], key: str) -> bool:
        return all(row.get(key) is None for row in rows)

    def _guess(self, name: str, values: Sequence[Any]) -> Kind:
        known = self._guessed.get(name)
        present = [v for v in values if v is not None]
        if not present:
            return known or "text"
        if all(isinstance(v, bool) for v in present):
            kind: Kind = "boolean"
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            kind = "decimal" if known == "decimal" else "integer"
        elif all(isinstance(v, int | Decimal) and not isinstance(v, bool) for v in present):
            kind = "decimal"
        else:
            kind = "text"
        self._guessed[name] = kind
        return kind


# --------------------------------------------------------------------------- records and pages


@attrs.frozen(kw_only=True)
class QueryPage:
    """One page of ``/query`` or ``/queryAll`` (or a child subquery's nested result)."""

    total_size: int
    done: bool
    next_records_url: str | None
    records: list[dict[str, Any]]

    @classmethod
    def from_json(cls, data: Any, *, raw: bytes = b"") -> QueryPage:
        """Read a query result object.

        Raises:
            ProtocolError: the object lacks ``records`` or ``done``.
        """
        if not isinstance(data, Mapping) or "records" not in data or "done" not in data:
            raise ProtocolError(f"not a query result: {snippet(raw)!r}", raw=raw)
        return cls(
            total_size=int(data.get("totalSize") or 0),
            done=bool(data["done"]),
            next_records_url=data.get("nextRecordsUrl") or None,
            records=list(data.get("records") or ()),
        )


def _is_child_result(value: Mapping[str, Any]) -> bool:
    return "records" in value and ("done" in value or "totalSize" in value)


def flatten(
    record: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Mapping[str, Any] | None]]:
    """Flatten one record: parents become dotted keys, ``attributes`` go.

    Returns:
        ``(fields, children)``: the flat fields, and each child relationship's nested query
        result (``None`` when the parent has no children).
    """
    out: dict[str, Any] = {}
    children: dict[str, Mapping[str, Any] | None] = {}
    for key, value in record.items():
        # JSON objects are exact dicts; ``type() is`` is the cheapest test on this hot path.
        if type(value) is dict:
            if key == "attributes":
                continue
            if _is_child_result(value):
                children[key] = value
            else:
                _flatten_parent(value, key + ".", out)
        else:
            out[key] = value
    return out, children


def _flatten_parent(record: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in record.items():
        if type(value) is dict:
            if key != "attributes":
                _flatten_parent(value, prefix + key + ".", out)
        else:
            out[prefix + key] = value


def record_id(record: Mapping[str, Any]) -> str | None:
    """The record's Id: the ``Id`` field, or the last part of ``attributes.url``."""
    value = record.get("Id")
    if isinstance(value, str) and value:
        return value
    attributes = record.get("attributes")
    if isinstance(attributes, Mapping):
        url = attributes.get("url")
        if isinstance(url, str) and "/" in url:
            return url.rstrip("/").rsplit("/", 1)[-1]
    return None


def concat_pages(pages: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Query pages as one frame, their children concatenated per relationship."""
    total = pages[0].attrs.get("total_size")
    frame = concat_frame_pages(pages)
    if not isinstance(frame.attrs.get("children"), ChildFrames):
        frame.attrs["children"] = ChildFrames({}, parent_key=PARENT_KEY)
    frame.attrs["total_size"] = len(frame) if total is None else total
    return frame

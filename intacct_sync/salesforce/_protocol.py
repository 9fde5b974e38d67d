"""The Salesforce REST wire format: JSON and CSV in, JSON and CSV out.

Everything here is pure: no I/O, no clock. The client sends what this module builds and hands
back what arrives. Numbers are parsed with ``parse_float=Decimal`` so money never passes through
a binary float; JSON integers in decimal columns become ``Decimal`` exactly as well.

Error bodies come in several shapes and all are read here (``errorCode`` arrays from REST,
``statusCode`` items in collections, ``{error, error_description}`` from OAuth, URL arrays for a
300, ``sf__Error`` CSV columns from Bulk 2.0). Anything that is not JSON where JSON was expected
(an HTML error page from a proxy, a truncated body) becomes a
:class:`~intacct_sync.errors.ProtocolError` quoting its first bytes.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs
import pandas as pd

from intacct_sync.errors import (
    InputError,
    IntacctSyncError,
    ProtocolError,
    SalesforceAuthenticationError,
    SalesforceError,
    SalesforceErrorDetail,
)
from intacct_sync.frames import Kind, build_frame
from intacct_sync.salesforce.models import FieldInfo, SObjectDescribe

__all__ = [
    "COLLECTION_SIZE",
    "PARENT_ID",
    "RETRYABLE_CODES",
    "Column",
    "QueryPage",
    "QueryShape",
    "Select",
    "SubrequestOutcome",
    "dumps",
    "error_from_response",
    "kind_for",
    "loads",
    "outcome_rows",
    "parse_bulk_error",
    "parse_composite",
    "parse_csv",
    "parse_select",
    "prepare_records",
    "records_to_csv",
    "snippet",
]

#: records per sObject Collections request (the API's maximum)
COLLECTION_SIZE = 200
#: name of the column that links a child row to its parent's Id
PARENT_ID = "ParentId"
#: error codes that mean "the same call may work a little later"
RETRYABLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"})
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
_ROLLED_BACK_CODES = frozenset({"ALL_OR_NONE_OPERATION_ROLLED_BACK", "PROCESSING_HALTED"})
_SNIPPET_BYTES = 120

Describer = Callable[[str], SObjectDescribe | None]
Operation = Literal["create", "update", "upsert", "delete"]


# --------------------------------------------------------------------------- JSON


def snippet(body: bytes) -> str:
    """The first bytes of a body, for error messages."""
    text = body[:_SNIPPET_BYTES].decode("utf-8", "replace")
    return text + ("..." if len(body) > _SNIPPET_BYTES else "")


def loads(body: bytes, *, http_status: int | None = None) -> Any:
    """Parse a JSON body with exact decimals.

    Raises:
        ProtocolError: the body is not JSON (HTML error page, truncated answer).
    """
    try:
        return json.loads(body.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(
            f"expected JSON from Salesforce, got: {snippet(body)!r}",
            raw=body,
            http_status=http_status,
            should_retry=http_status in _RETRYABLE_STATUS,
        ) from None


def _number_text(value: Decimal | float, row: object, field: str) -> str:
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not number.is_finite():
        raise InputError("NaN and infinity cannot be sent to Salesforce", row=row, field=field)
    return format(number, "f")


def _datetime_text(value: datetime.datetime, row: object, field: str) -> str | datetime.date:
    if value.tzinfo is None or value.utcoffset() is None:
        if value.time() == datetime.time(0):
            # A naive midnight is what a date column of a frame holds: send it as a date.
            return value.date()
        raise InputError(
            "naive datetime: give a timezone (Salesforce datetimes are absolute)",
            row=row,
            field=field,
            value=value,
        )
    utc = value.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _encode(value: Any, out: list[str], row: object, field: str) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal | float):
        out.append(_number_text(value, row, field))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, datetime.datetime):
        text = _datetime_text(value, row, field)
        out.append(json.dumps(text if isinstance(text, str) else text.isoformat()))
    elif isinstance(value, datetime.date):
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out, row, field or str(key))
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, row, field)
        out.append("]")
    else:
        raise InputError(
            f"cannot send a {type(value).__name__} to Salesforce", row=row, field=field, value=value
        )


def dumps(value: Any, *, row: object = None) -> bytes:
    """JSON for a request body: ``Decimal`` as an exact number, dates ISO, datetimes UTC.

    Raises:
        InputError: a value has no JSON form (NaN, a naive non-midnight datetime, an object).
    """
    out: list[str] = []
    _encode(value, out, row, "")
    return "".join(out).encode("utf-8")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def prepare_records(
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Records to send, as dicts; the rules for missing values are documented here.

    * From a DataFrame, a missing cell (``None``, ``NaN``, ``NA``, ``NaT``) is **left out** of
      the record, so the field is not touched.
    * From dicts, ``None`` is kept and **clears** the field; ``NaN``/``NA``/``NaT`` are left out.

    A key called ``attributes`` is dropped (the client sets it).
    """
    if isinstance(records, pd.DataFrame):
        from intacct_sync.frames import frame_to_records

        return [
            {k: v for k, v in rec.items() if v is not None and k != "attributes"}
            for rec in frame_to_records(records)
        ]
    prepared = []
    for rec in records:
        if not isinstance(rec, Mapping):
            raise InputError("records must be mappings or a DataFrame", value=rec)
        prepared.append(
            {
                str(k): v
                for k, v in rec.items()
                if k != "attributes" and (v is None or not _is_missing(v))
            }
        )
    return prepared


# --------------------------------------------------------------------------- errors


def _details(items: Iterable[Any]) -> list[SalesforceErrorDetail]:
    details = []
    for item in items:
        if isinstance(item, Mapping):
            details.append(
                SalesforceErrorDetail(
                    error_code=str(item.get("errorCode") or item.get("statusCode") or ""),
                    message=str(item.get("message") or ""),
                    fields=tuple(str(f) for f in item.get("fields") or ()),
                )
            )
        else:
            details.append(SalesforceErrorDetail(message=str(item)))
    return details


def error_from_response(
    status: int, body: bytes, *, retry_after: float | None = None
) -> IntacctSyncError:
    """The error a non-2xx answer means; ``should_retry`` set for throttling and outages.

    Returns:
        A :class:`SalesforceAuthenticationError` for 401 and OAuth errors, a
        :class:`SalesforceError` for other JSON error bodies, a :class:`ProtocolError` for a body
        that is not JSON.
    """
    retry_status = status in _RETRYABLE_STATUS
    if not body.strip():
        details = [SalesforceErrorDetail(error_code=f"HTTP_{status}", message="empty body")]
        return _error(status, details, body, retry_status, retry_after)
    try:
        data = loads(body, http_status=status)
    except ProtocolError as exc:
        return exc
    if isinstance(data, Mapping) and "error" in data:
        # OAuth token endpoint: {"error": "invalid_grant", "error_description": "..."}
        detail = SalesforceErrorDetail(
            error_code=str(data.get("error") or ""),
            message=str(data.get("error_description") or ""),
        )
        return SalesforceAuthenticationError(
            [detail],
            http_status=status,
            raw=body,
            should_retry=retry_status,
            retry_after=retry_after,
        )
    if status == 300 and isinstance(data, list) and all(isinstance(u, str) for u in data):
        detail = SalesforceErrorDetail(
            error_code="MULTIPLE_CHOICES",
            message=f"the external id matched {len(data)} records: {', '.join(data)}",
        )
        return _error(status, [detail], body, False, retry_after)
    if isinstance(data, list):
        details = _details(data)
    elif isinstance(data, Mapping):
        details = _details([data])
    else:
        details = [SalesforceErrorDetail(message=str(data))]
    return _error(status, details, body, retry_status, retry_after)


def _error(
    status: int,
    details: Sequence[SalesforceErrorDetail],
    body: bytes,
    retry_status: bool,
    retry_after: float | None,
) -> SalesforceError:
    codes = {d.error_code for d in details}
    should_retry = retry_status or bool(codes & RETRYABLE_CODES)
    cls = (
        SalesforceAuthenticationError
        if status == 401 or "INVALID_SESSION_ID" in codes
        else SalesforceError
    )
    return cls(
        details, http_status=status, raw=body, should_retry=should_retry, retry_after=retry_after
    )


# --------------------------------------------------------------------------- SELECT parsing

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*)"
    r"|(?P<other>[^\s(),']+))",
    re.DOTALL,
)
_AGGREGATES = frozenset({"count", "count_distinct", "sum", "avg", "min", "max"})
_DATE_FUNCTIONS = frozenset(
    {
        "calendar_month",
        "calendar_quarter",
        "calendar_year",
        "day_in_month",
        "day_in_week",
        "day_in_year",
        "day_only",
        "fiscal_month",
        "fiscal_quarter",
        "fiscal_year",
        "hour_in_day",
        "week_in_month",
        "week_in_year",
        "grouping",
    }
)
_WRAPPERS = frozenset({"tolabel", "convertcurrency", "format"})
_CLAUSES = frozenset(
    {"where", "with", "group", "order", "limit", "offset", "for", "using", "update", "having"}
)


@attrs.frozen
class FieldItem:
    """A field or dotted relationship path in a SELECT list."""

    path: tuple[str, ...]
    alias: str | None = None


@attrs.frozen
class FunctionItem:
    """``SUM(Amount) total``, ``COUNT()``, ``toLabel(StageName)``..."""

    function: str
    arg: tuple[str, ...] | None
    alias: str | None = None


@attrs.frozen
class SubqueryItem:
    """A parent-to-child subquery: ``(SELECT ... FROM OpportunityLineItems)``."""

    relationship: str
    select: Select


@attrs.frozen
class TypeOfItem:
    """``TYPEOF What WHEN Account THEN Name, Phone ELSE Id END``: the union of the branches."""

    relationship: str
    fields: tuple[str, ...]


SelectItem = FieldItem | FunctionItem | SubqueryItem | TypeOfItem


@attrs.frozen
class Select:
    """What a SELECT asks for: enough to name and type the columns before any row arrives.

    Attributes:
        object: the FROM sObject (for a subquery, the FROM path's last part, i.e. the child
            relationship name).
        alias: the FROM alias, if any.
        items: the SELECT list in order.
        grouped: the query has a GROUP BY (or aggregate functions): rows are AggregateResults.
        open: the list holds ``FIELDS(...)``: which fields come back is known only from the rows.
    """

    object: str
    alias: str | None
    items: tuple[SelectItem, ...]
    grouped: bool = False
    open: bool = False

    @property
    def count_only(self) -> bool:
        """``SELECT COUNT() FROM ...``: no rows, only ``totalSize``."""
        return (
            len(self.items) == 1
            and isinstance(self.items[0], FunctionItem)
            and self.items[0].function == "count"
            and self.items[0].arg is None
        )

    @property
    def aggregate(self) -> bool:
        """Rows are AggregateResult records."""
        return not self.count_only and (
            self.grouped
            or any(
                isinstance(i, FunctionItem) and i.function in _AGGREGATES | _DATE_FUNCTIONS
                for i in self.items
            )
        )


class _Unparsable(Exception):
    pass


def _tokenize(soql: str) -> list[str]:
    tokens = []
    pos = 0
    text = soql.strip()
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise _Unparsable(text[pos:])
        pos = match.end()
        token = match.group("string") or match.group("punct") or match.group("word")
        token = token or match.group("other")
        if token:
            tokens.append(token)
    return tokens


def parse_select(soql: str) -> Select | None:
    """Parse the SELECT list and FROM of a query; ``None`` when it is beyond the subset.

    The subset: fields, dotted relationship paths, parent-to-child subqueries in parentheses,
    ``TYPEOF`` blocks, aggregate and date functions with or without aliases, ``COUNT()``,
    ``toLabel``/``convertCurrency``/``FORMAT`` wrappers and ``FIELDS(...)``. When this returns
    ``None`` the columns are taken from the records instead.
    """
    try:
        tokens = _tokenize(soql)
        select, pos = _parse(tokens, 0)
    except (_Unparsable, IndexError):
        return None
    return select if pos == len(tokens) else None


def _expect(tokens: list[str], pos: int, word: str) -> int:
    if tokens[pos].lower() != word:
        raise _Unparsable(tokens[pos])
    return pos + 1


def _path(token: str) -> tuple[str, ...]:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", token):
        raise _Unparsable(token)
    return tuple(token.split("."))


def _alias(tokens: list[str], pos: int) -> tuple[str | None, int]:
    tok = tokens[pos]
    if tok in (",", ")") or tok.lower() == "from" or "." in tok:
        return None, pos
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tok):
        return tok, pos + 1
    raise _Unparsable(tok)


def _parse(tokens: list[str], pos: int) -> tuple[Select, int]:
    pos = _expect(tokens, pos, "select")
    items: list[SelectItem] = []
    open_ = False
    while True:
        tok = tokens[pos]
        if tok == "(":
            sub, pos = _parse(tokens, pos + 1)
            pos = _expect(tokens, pos, ")")
            items.append(SubqueryItem(sub.object, sub))
        elif tok.lower() == "typeof":
            relationship = tokens[pos + 1]
            pos += 2
            fields: list[str] = []
            while tokens[pos].lower() != "end":
                word = tokens[pos]
                if word.lower() == "when":
                    pos += 3  # WHEN <type> THEN
                    if tokens[pos - 1].lower() != "then":
                        raise _Unparsable(word)
                    continue
                if word.lower() == "else" or word == ",":
                    pos += 1
                    continue
                name = ".".join(_path(word))
                if name.lower() not in {f.lower() for f in fields}:
                    fields.append(name)
                pos += 1
            pos += 1
            items.append(TypeOfItem(relationship, tuple(fields)))
        elif tokens[pos + 1] == "(":
            function = tok.lower()
            pos += 2
            args: list[str] = []
            depth = 1
            while depth:
                if tokens[pos] == "(":
                    depth += 1
                elif tokens[pos] == ")":
                    depth -= 1
                if depth:
                    args.append(tokens[pos])
                pos += 1
            fn_alias, pos = _alias(tokens, pos)
            if function == "fields":
                open_ = True
            elif function in _AGGREGATES | _DATE_FUNCTIONS | _WRAPPERS:
                if len(args) > 1:
                    # nested functions (FORMAT(MIN(x)), convertCurrency inside SUM) are rare:
                    # keep the innermost path, which names the column's field.
                    args = [a for a in args if a not in ("(", ")")][-1:]
                    if function not in _WRAPPERS:
                        raise _Unparsable(function)
                arg = _path(args[0]) if args else None
                items.append(FunctionItem(function, arg, fn_alias))
            else:
                raise _Unparsable(function)
        else:
            items.append(FieldItem(_path(tok)))
            pos += 1
        if tokens[pos] == ",":
            pos += 1
            continue
        break
    pos = _expect(tokens, pos, "from")
    obj = _path(tokens[pos])[-1]
    pos += 1
    from_alias: str | None = None
    if pos < len(tokens) and tokens[pos] != ")" and tokens[pos].lower() not in _CLAUSES:
        from_alias = tokens[pos]
        pos += 1
    grouped = False
    depth = 0
    while pos < len(tokens):
        tok = tokens[pos]
        if tok == "(":
            depth += 1
        elif tok == ")":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and tok.lower() == "group":
            grouped = True
        pos += 1
    return Select(obj, from_alias, tuple(items), grouped, open_), pos


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


# --------------------------------------------------------------------------- writes


def outcome_rows(
    results: Any,
    *,
    operation: Operation,
    rows: Sequence[int],
    raw: bytes = b"",
) -> list[dict[str, Any]]:
    """Outcome rows (see ``SalesforceClient.create``) for one collections response.

    Raises:
        ProtocolError: the answer is not a list with one result per record sent.
    """
    if not isinstance(results, list) or len(results) != len(rows):
        raise ProtocolError(
            f"expected {len(rows)} results from sObject Collections, got: {snippet(raw)!r}",
            raw=raw,
        )
    out = []
    for row, result in zip(rows, results, strict=True):
        if not isinstance(result, Mapping):
            raise ProtocolError(f"unexpected collections result: {snippet(raw)!r}", raw=raw)
        out.append(save_outcome(result, operation=operation, row=row))
    return out


def save_outcome(result: Mapping[str, Any], *, operation: Operation, row: int) -> dict[str, Any]:
    """One outcome row from a SaveResult/UpsertResult/DeleteResult."""
    errors = _details(result.get("errors") or ())
    success = bool(result.get("success"))
    created = result.get("created")
    if operation == "create":
        created = success
    elif operation in ("update", "delete"):
        created = False if success else None
    if success:
        status = {"create": "created", "update": "updated", "delete": "deleted"}.get(
            operation, "created" if created else "updated"
        )
    elif errors and all(e.error_code in _ROLLED_BACK_CODES for e in errors):
        status = "rolled_back"
    else:
        status = "failed"
    return outcome(
        row=row,
        id=result.get("id") or None,
        success=success,
        created=created if isinstance(created, bool) else None,
        status=status,
        errors=errors,
    )


def outcome(
    *,
    row: int,
    id: str | None,
    success: bool | None,
    created: bool | None,
    status: str,
    errors: Sequence[SalesforceErrorDetail] = (),
) -> dict[str, Any]:
    """An outcome row with the fixed columns."""
    fields = sorted({f for e in errors for f in e.fields})
    return {
        "row": row,
        "id": id,
        "success": success,
        "created": created,
        "status": status,
        "errors": "; ".join(f"{e.error_code}: {e.message}" for e in errors) or None,
        "error_codes": ",".join(e.error_code for e in errors) or None,
        "fields": ",".join(fields) or None,
    }


OUTCOME_KINDS: Mapping[str, Kind] = {
    "row": "integer",
    "id": "text",
    "success": "boolean",
    "created": "boolean",
    "status": "text",
    "errors": "text",
    "error_codes": "text",
    "fields": "text",
}


@attrs.frozen(kw_only=True)
class SubrequestOutcome:
    """One subrequest's answer inside a composite response.

    Attributes:
        reference_id: the ``referenceId`` it was sent with.
        http_status: its own status (the composite call itself is always 200).
        body: its parsed body (a save result, a query result, an error list, or ``None``).
        success: 2xx.
        id: the record id for a create or upsert.
        errors: the error items of a failed subrequest.
        location: the ``Location`` header, when given.
    """

    reference_id: str
    http_status: int
    body: Any = attrs.field(repr=False)
    success: bool
    id: str | None = None
    errors: tuple[SalesforceErrorDetail, ...] = ()
    location: str | None = None

    @property
    def rolled_back(self) -> bool:
        """The subrequest failed only because another one did (``PROCESSING_HALTED``)."""
        return bool(self.errors) and all(e.error_code in _ROLLED_BACK_CODES for e in self.errors)


def parse_composite(data: Any, *, raw: bytes = b"") -> list[SubrequestOutcome]:
    """Read ``{"compositeResponse": [...]}``.

    Raises:
        ProtocolError: the body has another shape.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("compositeResponse"), list):
        raise ProtocolError(f"not a composite response: {snippet(raw)!r}", raw=raw)
    outcomes = []
    for sub in data["compositeResponse"]:
        status = int(sub.get("httpStatusCode") or 0)
        body = sub.get("body")
        success = 200 <= status < 300
        errors: list[SalesforceErrorDetail] = []
        if not success:
            errors = _details(body if isinstance(body, list) else [body] if body else [])
        elif isinstance(body, Mapping) and body.get("errors"):
            errors = _details(body["errors"])
        headers = sub.get("httpHeaders") or {}
        outcomes.append(
            SubrequestOutcome(
                reference_id=str(sub.get("referenceId") or ""),
                http_status=status,
                body=body,
                success=success,
                id=(body.get("id") or None) if isinstance(body, Mapping) else None,
                errors=tuple(errors),
                location=headers.get("Location") if isinstance(headers, Mapping) else None,
            )
        )
    return outcomes


def parse_graph(data: Any, *, raw: bytes = b"") -> dict[str, tuple[bool, list[SubrequestOutcome]]]:
    """Read a composite graph response: graph id -> ``(isSuccessful, outcomes)``.

    Raises:
        ProtocolError: the body has another shape.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("graphs"), list):
        raise ProtocolError(f"not a composite graph response: {snippet(raw)!r}", raw=raw)
    return {
        str(g.get("graphId")): (
            bool(g.get("isSuccessful")),
            parse_composite(g.get("graphResponse"), raw=raw),
        )
        for g in data["graphs"]
    }


# --------------------------------------------------------------------------- Bulk API 2.0 CSV


def _csv_value(value: Any, row: object, field: str) -> str:
    if value is None:
        return "#N/A"  # Bulk 2.0: an empty cell leaves the field alone; #N/A clears it
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal | float):
        return _number_text(value, row, field)
    if isinstance(value, datetime.datetime):
        text = _datetime_text(value, row, field)
        return text if isinstance(text, str) else text.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    raise InputError(
        f"cannot send a {type(value).__name__} to Salesforce", row=row, field=field, value=value
    )


def records_to_csv(records: Sequence[Mapping[str, Any]], *, rows: Sequence[int]) -> bytes:
    """CSV for a Bulk 2.0 upload (comma, LF, header of API names).

    A key that is absent from a record gives an empty cell (field untouched); ``None`` gives
    ``#N/A`` (field cleared).
    """
    columns: list[str] = []
    seen: set[str] = set()
    for rec in records:
        for key in rec:
            if key not in seen:
                seen.add(key)
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row, rec in zip(rows, records, strict=True):
        writer.writerow([_csv_value(rec[c], row, c) if c in rec else "" for c in columns])
    return buffer.getvalue().encode("utf-8")


def parse_csv(body: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a Bulk 2.0 CSV result (empty body -> no columns, no rows).

    Raises:
        ProtocolError: the body is not UTF-8 CSV.
    """
    try:
        text = body.decode("utf-8-sig")
        reader = csv.reader(io.StringIO(text, newline=""))
        table = [row for row in reader if row]
    except (UnicodeDecodeError, csv.Error):
        raise ProtocolError(f"expected CSV, got: {snippet(body)!r}", raw=body) from None
    if not table:
        return [], []
    header, rows = table[0], table[1:]
    width = len(header)
    if any(len(row) != width for row in rows):
        raise ProtocolError(f"ragged CSV (truncated?): {snippet(body)!r}", raw=body)
    return header, rows


def parse_bulk_error(text: str) -> SalesforceErrorDetail:
    """Read an ``sf__Error`` cell: ``CODE:message:fields --``."""
    text = text.strip()
    code, _, rest = text.partition(":")
    fields: tuple[str, ...] = ()
    if rest.endswith("--"):
        message, sep, tail = rest[:-2].rstrip().rpartition(":")
        if sep:
            fields = tuple(f.strip() for f in tail.split(",") if f.strip())
            rest = message
        else:
            rest = rest[:-2].rstrip()
    return SalesforceErrorDetail(error_code=code, message=rest, fields=fields)

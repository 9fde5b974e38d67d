"""Filters for Intacct reads, built so that no value can change a query's structure.

Two dialects exist. The ``query`` function takes an XML filter tree; build it with the functions
here (``equal_to("STATE", "Posted") & greater_than("BATCH_DATE", date(2025, 1, 1))``) or pass a
``{"FIELD": value}`` mapping for equality on every field. ``readByQuery`` takes a SQL-like string;
build it with :func:`query_string`, which quotes and escapes each value.

>>> query_string("STATUS = {} AND NAME = {}", "T", "Jane's Deli")
"STATUS = 'T' AND NAME = 'Jane\\\\'s Deli'"
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs
import numpy as np
import pandas as pd
from lxml import etree

from intacct_sync.errors import InputError

__all__ = [
    "Filter",
    "and_",
    "between",
    "equal_to",
    "greater_than",
    "greater_than_or_equal_to",
    "in_",
    "is_not_null",
    "is_null",
    "less_than",
    "less_than_or_equal_to",
    "like",
    "not_equal_to",
    "not_in",
    "not_like",
    "or_",
    "query_string",
    "to_filter",
]

MAX_IN_VALUES = 1000
_FIELD_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _field(name: str) -> str:
    if not _FIELD_RE.match(name):
        raise InputError("not a valid Intacct field name", field="field", value=name)
    return name


def _value(value: Any) -> str:
    # Values taken from a DataFrame are NumPy scalars (np.int64, np.float64, np.bool_) or pandas
    # Timestamps (a datetime): read as the Python value they hold. A float is read through its
    # shortest repr, as frames.parse_decimal reads money, so 1.1 filters as 1.1.
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        raise InputError("a filter value is missing (NaN/NaT/NA)", value=str(value))
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%m/%d/%Y")
    if isinstance(value, str):
        return value
    raise InputError(
        f"filter values must be str, int, Decimal, bool, date or datetime, not {type(value).__name__}",
        value=value,
    )


@attrs.frozen
class Filter:
    """A node of a ``query`` filter: an operator over a field, or ``and``/``or`` over nodes.

    Combine nodes with ``&`` and ``|``.
    """

    op: str
    field: str = ""
    values: tuple[str, ...] = ()
    children: tuple[Filter, ...] = ()

    def __and__(self, other: Filter) -> Filter:
        return and_(self, other)

    def __or__(self, other: Filter) -> Filter:
        return or_(self, other)

    def to_element(self) -> etree._Element:
        """The ``<filter>`` child for this node.

        Returns:
            An lxml element for the request's ``<filter>``.
        """
        element = etree.Element(self.op)
        if self.op in ("and", "or"):
            for child in self.children:
                element.append(child.to_element())
            return element
        etree.SubElement(element, "field").text = self.field
        for value in self.values:
            etree.SubElement(element, "value").text = value
        return element


#: ``STATUS`` as ``readByQuery`` strings spell it, and as the ``query`` function filters on it.
_STATUS_WORDS = {"T": "active", "F": "inactive"}


def _op(op: str, field: str, *values: Any) -> Filter:
    shown = tuple(_value(v) for v in values)
    if field.rsplit(".", 1)[-1].upper() == "STATUS":
        # Reference §13.3: readByQuery strings use T/F ("STATUS = 'T'"), the query function
        # filters on the display words; a T here matches nothing, silently. Refused with the
        # spelling that works rather than translated: the caller's intent is then explicit.
        wrong = [v for v in shown if v.upper() in _STATUS_WORDS]
        if wrong:
            right = _STATUS_WORDS[wrong[0].upper()]
            raise InputError(
                f"query() filters {field} with the words active/inactive: write {right!r}, not "
                f"{wrong[0]!r} (T/F is readByQuery's spelling: STATUS = 'T')",
                field=field,
                value=wrong[0],
            )
    return Filter(op, _field(field), shown)


def equal_to(field: str, value: Any) -> Filter:
    """``field = value``.

    Args:
        field: the field (dotted paths into related objects allowed).
        value: a str, int, Decimal, float, bool, date, datetime, or a NumPy/pandas scalar.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("equalto", field, value)


def not_equal_to(field: str, value: Any) -> Filter:
    """``field != value``.

    Args:
        field: the field (dotted paths into related objects allowed).
        value: a str, int, Decimal, float, bool, date, datetime, or a NumPy/pandas scalar.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("notequalto", field, value)


def less_than(field: str, value: Any) -> Filter:
    """``field < value``.

    Args:
        field: the field (dotted paths into related objects allowed).
        value: a str, int, Decimal, float, bool, date, datetime, or a NumPy/pandas scalar.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("lessthan", field, value)


def less_than_or_equal_to(field: str, value: Any) -> Filter:
    """``field <= value``.

    Args:
        field: the field (dotted paths into related objects allowed).
        value: a str, int, Decimal, float, bool, date, datetime, or a NumPy/pandas scalar.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("lessthanorequalto", field, value)


def greater_than(field: str, value: Any) -> Filter:
    """``field > value``.

    Args:
        field: the field (dotted paths into related objects allowed).
        value: a str, int, Decimal, float, bool, date, datetime, or a NumPy/pandas scalar.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("greaterthan", field, value)


def greater_than_or_equal_to(field: str, value: Any) -> Filter:
    """``field >= value``.

    Args:
        field: the field (dotted paths into related objects allowed).
        value: a str, int, Decimal, float, bool, date, datetime, or a NumPy/pandas scalar.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("greaterthanorequalto", field, value)


def between(field: str, low: Any, high: Any) -> Filter:
    """``low <= field <= high``.

    Args:
        field: the field.
        low: the lowest value matched.
        high: the highest value matched.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("between", field, low, high)


def _many(op: str, field: str, values: Iterable[Any]) -> Filter:
    items = list(values)
    if not items:
        raise InputError(f"{op} needs at least one value", field=field)
    if len(items) > MAX_IN_VALUES:
        raise InputError(
            f"{op} takes at most {MAX_IN_VALUES} values, got {len(items)}", field=field
        )
    return _op(op, field, *items)


def in_(field: str, values: Iterable[Any]) -> Filter:
    """``field in (values)``; at most 1,000 values.

    Args:
        field: the field.
        values: 1 to 1,000 values.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _many("in", field, values)


def not_in(field: str, values: Iterable[Any]) -> Filter:
    """``field not in (values)``; at most 1,000 values.

    Args:
        field: the field.
        values: 1 to 1,000 values.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _many("notin", field, values)


def like(field: str, pattern: str) -> Filter:
    """``field like pattern`` (``%`` matches any run of characters).

    Args:
        field: the field.
        pattern: the pattern (``%`` matches any run of characters).

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("like", field, pattern)


def not_like(field: str, pattern: str) -> Filter:
    """``field not like pattern``.

    Args:
        field: the field.
        pattern: the pattern (``%`` matches any run of characters).

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("notlike", field, pattern)


def is_null(field: str) -> Filter:
    """``field is null``.

    Args:
        field: the field.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("isnull", field)


def is_not_null(field: str) -> Filter:
    """``field is not null``.

    Args:
        field: the field.

    Returns:
        A :class:`Filter` node; combine nodes with ``&`` and ``|``.
    """
    return _op("isnotnull", field)


def _group(op: str, filters: tuple[Filter, ...]) -> Filter:
    flat: list[Filter] = []
    for item in filters:
        flat.extend(item.children if item.op == op else (item,))
    if len(flat) == 1:
        return flat[0]
    if not flat:
        raise InputError(f"{op} needs at least one filter")
    return Filter(op, children=tuple(flat))


def and_(*filters: Filter) -> Filter:
    """All of ``filters``.

    Args:
        *filters: the filters, at least one.

    Returns:
        A filter node; nested ``and`` nodes are flattened, one filter is returned as is.
    """
    return _group("and", filters)


def or_(*filters: Filter) -> Filter:
    """Any of ``filters``.

    Args:
        *filters: the filters, at least one.

    Returns:
        A filter node; nested ``or`` nodes are flattened, one filter is returned as is.
    """
    return _group("or", filters)


def to_filter(spec: Filter | Mapping[str, Any]) -> Filter:
    """A :class:`Filter` from a filter or a ``{field: value}`` mapping (equality, all true).

    A list or tuple value means ``in``; ``None`` means ``is null``.

    Args:
        spec: a :class:`Filter`, or a ``{field: value}`` mapping.

    Returns:
        A :class:`Filter` (``spec`` itself when it is one).
    """
    if isinstance(spec, Filter):
        return spec
    parts: list[Filter] = []
    for field, value in spec.items():
        if value is None:
            parts.append(is_null(field))
        elif isinstance(value, list | tuple | set | frozenset):
            parts.append(in_(field, value))
        else:
            parts.append(equal_to(field, value))
    return and_(*parts)


def _quote(value: Any) -> str:
    if value is None:
        raise InputError("use IS NULL in the query string instead of a None value")
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        if not items:
            raise InputError("an IN list needs at least one value")
        return "(" + ", ".join(_quote(v) for v in items) + ")"
    text = _value(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return text
    # readByQuery strings escape a single quote with a backslash (Sage's Queries page).
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def query_string(template: str, *values: Any) -> str:
    """Fill ``{}`` placeholders of a ``readByQuery`` query with safely quoted literals.

    Strings, dates and booleans are quoted with embedded quotes and backslashes escaped;
    numbers are written bare; lists become ``(a, b, c)`` for ``IN``.

    Args:
        template: the query with ``{}`` placeholders.
        *values: one value per placeholder.

    Returns:
        The readByQuery query string.

    Raises:
        InputError: a placeholder count mismatch, a named placeholder, or an unsupported value.
    """
    fields = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    if any(fields):
        raise InputError("query_string takes positional '{}' placeholders only", value=template)
    if len(fields) != len(values):
        raise InputError(
            f"query_string has {len(fields)} placeholder(s) but {len(values)} value(s)",
            value=template,
        )
    return template.format(*(_quote(v) for v in values))

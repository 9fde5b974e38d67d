"""The filter DSL in the query service's words (reference ``intacct-rest-api.md`` §4): the
``filters`` list and its ``filterExpression``, field names through the name map, values in
REST's formats. Pure functions.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

from intacct_sync.errors import InputError
from intacct_sync.intacct.filters import Filter
from intacct_sync.intacct.rest._names import RestObject

__all__ = ["filter_to_rest"]

_XML_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})(?: (\d{2}:\d{2}:\d{2}))?$")


def _filter_value(text: str) -> str:
    # The DSL stores values as the XML gateway writes them (mm/dd/yyyy); REST compares ISO.
    match = _XML_DATE.match(text)
    if match is None:
        return text
    month, day, year, time = match.groups()
    return f"{year}-{month}-{day}" + (f"T{time}Z" if time else "")


#: The widest offset of any time zone from UTC (UTC+14, Kiribati).
_MAX_UTC_OFFSET = dt.timedelta(hours=14)


def _widened(op: str, values: list[str]) -> list[str]:
    # A datetime in the DSL is the company's local time, as the XML gateway compares it; REST's
    # audit datetimes are UTC (§3.2) and the company's zone is not known to the client. A range
    # bound is therefore moved out by the widest offset, so a "changed since" read may return
    # rows again (the workflows recognise them) but never misses one, in any zone.
    if op in ("greaterthan", "greaterthanorequalto"):
        return [_shift(values[0], -_MAX_UTC_OFFSET)]
    if op in ("lessthan", "lessthanorequalto"):
        return [_shift(values[0], _MAX_UTC_OFFSET)]
    if op == "between" and len(values) == 2:
        return [_shift(values[0], -_MAX_UTC_OFFSET), _shift(values[1], _MAX_UTC_OFFSET)]
    return values


def _shift(text: str, delta: dt.timedelta) -> str:
    try:
        stamp = dt.datetime.fromisoformat(text.removesuffix("Z"))
    except ValueError:
        return text
    return (stamp + delta).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


# -- filters -----------------------------------------------------------------------------------

_COMPARE: Final = {
    "equalto": "$eq",
    "notequalto": "$ne",
    "lessthan": "$lt",
    "lessthanorequalto": "$lte",
    "greaterthan": "$gt",
    "greaterthanorequalto": "$gte",
}


def filter_to_rest(
    f: Filter | None, obj: RestObject | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """The query service's ``filters`` and ``filterExpression`` for one DSL filter (§4).

    Field names are translated through ``obj``'s name map and values into REST's words; nested
    ``and``/``or`` become a 1-based ``filterExpression`` such as ``"(1 and 2) or 3"``.

    ``like`` translates only where REST has the operator: ``x%`` -> ``$startsWith``, ``%x`` ->
    ``$endsWith``, ``%x%`` -> ``$contains``. ``isnull`` / ``isnotnull`` become ``$eq`` /
    ``$ne`` with ``null``: REST lists no null operator (§4), so this is the plausible reading.

    Raises:
        InputError: a LIKE pattern REST cannot express (``_`` or an inner ``%``).
    """
    if f is None:
        return [], None
    filters: list[dict[str, Any]] = []

    def leaf(node: Filter) -> str:
        field = obj.by_xml.get(node.field.upper()) if obj is not None else None
        name = field.rest if field is not None else node.field
        values = [_filter_value(v) for v in node.values]
        if field is not None and field.kind == "datetime":
            values = _widened(node.op, values)
        if field is not None:
            values = [field.to_rest(v) for v in values]
        op = node.op
        if op in _COMPARE:
            item: dict[str, Any] = {_COMPARE[op]: {name: values[0]}}
        elif op in ("in", "notin"):
            item = {"$in" if op == "in" else "$notIn": {name: values}}
        elif op == "between":
            item = {"$between": {name: values[:2]}}
        elif op in ("isnull", "isnotnull"):
            item = {"$eq" if op == "isnull" else "$ne": {name: None}}
        elif op in ("like", "notlike"):
            item = _like(op, name, node.values[0])
        else:
            raise InputError("filter operator has no REST form", field=node.field, value=op)
        filters.append(item)
        return str(len(filters))

    def walk(node: Filter, top: bool) -> str:
        if node.op in ("and", "or"):
            inner = f" {node.op} ".join(walk(c, False) for c in node.children)
            return inner if top else f"({inner})"
        return leaf(node)

    expression = walk(f, True)
    if len(filters) == 1:
        return filters, None
    return filters, expression


def _like(op: str, name: str, pattern: str) -> dict[str, Any]:
    negate = op == "notlike"
    body = pattern
    starts, ends = body.endswith("%"), body.startswith("%")
    core = body.strip("%")
    if "%" in core or "_" in core or not core:
        raise InputError(
            "this LIKE pattern has no REST equivalent ($contains, $startsWith, $endsWith only)",
            field=name,
            value=pattern,
        )
    if starts and ends:
        key = "$notContains" if negate else "$contains"
    elif starts:
        key = "$notStartsWith" if negate else "$startsWith"
    elif ends:
        key = "$notEndsWith" if negate else "$endsWith"
    else:
        key = "$ne" if negate else "$eq"
    return {key: {name: core}}

"""Query rows to typed frames: the REST client's read side, pure.

The query service answers flat rows keyed by the requested field strings (reference
``intacct-rest-api.md`` §4); these functions name the columns as the XML client does
(``ACCOUNTNO``, ``SUM.TRX_AMOUNT``), type them by the name map and the model service (§5), and
turn REST's values back into the XML vocabulary so both protocols give equal frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import pandas as pd

from intacct_sync import frames
from intacct_sync.intacct.rest._names import RestField, RestObject, split_aggregate

__all__ = ["column_name", "from_rest", "page_frame", "rest_select", "select_kinds"]


def column_name(item: str) -> str:
    """The frame column of a select item, as the XML client names it (``SUM.TRX_AMOUNT``)."""
    func, name = split_aggregate(item)
    return f"{func.upper()}.{name}" if func else name


def rest_select(target: RestObject, item: str) -> str:
    """The query service's field string of a select item (``sum:txnAmount``)."""
    func, name = split_aggregate(item)
    rest = target.rest_name(name)
    return f"{func}:{rest}" if func else rest


def select_kinds(
    target: RestObject,
    select: Sequence[str],
    columns: Sequence[str],
    model: Mapping[str, frames.Kind],
) -> dict[str, frames.Kind]:
    """Column kinds: the name map's kind, else the model's (by REST path), else text; counts
    are integers, sums and averages decimals, min/max the field's kind.
    """
    kinds: dict[str, frames.Kind] = {}
    for item, column in zip(select, columns, strict=True):
        func, name = split_aggregate(item)
        mapped = target.by_xml.get(name.upper())
        base = mapped.kind if mapped is not None else model.get(name, "text")
        if func == "count":
            kinds[column] = "integer"
        elif func in ("sum", "avg"):
            kinds[column] = "decimal"
        else:
            kinds[column] = base
    return kinds


def from_rest(value: Any, field: RestField | None, kind: frames.Kind) -> Any:
    """One REST value in the form the XML frames read (the XML word, a naive timestamp)."""
    if isinstance(value, Mapping):  # a reference object where a scalar was asked
        value = value.get("id", value.get("key"))
    if field is not None:
        value = field.to_xml(value)
    if kind == "datetime" and isinstance(value, str) and "T" in value:
        # §3.2: audit datetimes are ISO-8601 UTC (``Z``); the frames' datetime kind is naive.
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            return value  # let the frame builder name the bad value
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp.replace(microsecond=0).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "date" and isinstance(value, str) and "T" in value:
        return value[:10]
    return value


def page_frame(
    target: RestObject,
    rows: Sequence[Mapping[str, Any]],
    select: Sequence[str],
    fields: Sequence[str],
    kinds: Mapping[str, frames.Kind],
) -> pd.DataFrame:
    """One page of rows as a typed frame with the columns of ``select``, in order."""
    columns = [column_name(s) for s in select]
    values: dict[str, list[Any]] = {}
    if rows:
        for item, path, column in zip(select, fields, columns, strict=True):
            mapped = None if split_aggregate(item)[0] else target.by_xml.get(item.upper())
            kind = kinds.get(column, "text")
            try:  # the query service keys every row by every requested field (§4)
                raw = list(map(itemgetter(path), rows))
            except KeyError:
                raw = [row.get(path) for row in rows]
            # Most columns need no conversion (no word map, not a REST datetime, no reference
            # objects): the frame builder takes the wire values as they are. The types present
            # are found at C speed (JSON gives dicts for objects), not by a per-cell isinstance.
            types = set(map(type, raw))
            objects = any(t is not str and issubclass(t, Mapping) for t in types)
            plain = (mapped is None or not mapped.values) and kind not in ("datetime", "date")
            if plain and not objects:
                values[column] = raw
            elif objects or not types <= {str, type(None)}:
                values[column] = [from_rest(v, mapped, kind) for v in raw]
            else:
                # Text values of few distinct words or dates: each converted once.
                seen: dict[Any, Any] = {}
                values[column] = [
                    seen[v] if v in seen else seen.setdefault(v, from_rest(v, mapped, kind))
                    for v in raw
                ]
    return frames.build_frame(values, kinds, order=columns)

"""Field definitions of Intacct objects: ``lookup`` and ``inspect`` answers read into rows.

Both calls describe an object's fields; they use different vocabularies for a field's type.
The words mapped here are the ones the public record shows (``../shared/reference/
intacct-api.md`` §13.4); any other word is read as text, because guessing a type from an unknown
word would silently mistype real data.

The same field list spells the names an analyst types into ``query()``
(:func:`spell_query`): matched without regard to case, to the object's own spelling, or
refused with the closest right spelling before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs
from lxml import etree

from intacct_sync import frames
from intacct_sync.errors import InputError
from intacct_sync.intacct.filters import Filter

__all__ = [
    "DATATYPE_KINDS",
    "DIMENSION_COLUMNS",
    "INSPECT_COLUMNS",
    "INSPECT_KINDS",
    "LOOKUP_COLUMNS",
    "FieldNames",
    "FieldTypes",
    "inspect_rows",
    "lookup_rows",
    "sniff_kind",
    "spell_query",
    "types_from_inspect",
    "types_from_lookup",
]

#: ``lookup`` DATATYPE -> frame kind. §13.4: INTEGER and TEXT are in the docs' sample; PERCENT,
#: DECIMAL, BOOLEAN, DATE and TIMESTAMP are the words two production taps branch on; ENUM
#: appears on custom objects. Standard enumerations come as TEXT with VALIDVALUES.
DATATYPE_KINDS: Mapping[str, frames.Kind] = {
    "TEXT": "text",
    "ENUM": "text",
    "INTEGER": "integer",
    "DECIMAL": "decimal",
    "PERCENT": "decimal",
    "DATE": "date",
    "TIMESTAMP": "datetime",
    "BOOLEAN": "boolean",
}

#: ``inspect detail="1"`` externalDataName -> frame kind (§13.4, the 174-field CUSTOMER
#: capture: string, integer, number, boolean, datetime). ``number`` is decimal: CREDITLIMIT and
#: TOTALDUE are money.
INSPECT_KINDS: Mapping[str, frames.Kind] = {
    "string": "text",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "datetime": "datetime",
}

LOOKUP_COLUMNS: Mapping[str, frames.Kind] = {
    "ID": "text",
    "LABEL": "text",
    "DESCRIPTION": "text",
    "REQUIRED": "boolean",
    "READONLY": "boolean",
    "DATATYPE": "text",
    "ISCUSTOM": "boolean",
    "VALIDVALUES": "text",
}

#: ``getDimensions`` entries (reference §6, §13.5); booleans are ``true``/``false``.
DIMENSION_COLUMNS: Mapping[str, frames.Kind] = {
    "objectName": "text",
    "objectLabel": "text",
    "termLabel": "text",
    "userDefinedDimension": "boolean",
    "enabledInGL": "boolean",
}

INSPECT_COLUMNS: Mapping[str, frames.Kind] = {
    "Name": "text",
    "GroupName": "text",
    "dataName": "text",
    "externalDataName": "text",
    "isRequired": "boolean",
    "isReadOnly": "boolean",
    "maxLength": "integer",
    "DisplayLabel": "text",
    "Description": "text",
    "id": "text",
}


def _text(parent: etree._Element, tag: str) -> str:
    child = parent.find(tag)
    return "" if child is None or child.text is None else child.text.strip()


def lookup_rows(data: etree._Element | None) -> list[dict[str, Any]]:
    """One row per ``Type/Fields/Field`` of a ``lookup`` answer (VALIDVALUES ``#~#``-joined)."""
    rows: list[dict[str, Any]] = []
    for field in [] if data is None else data.iter("Field"):
        row: dict[str, Any] = {name: _text(field, name) for name in LOOKUP_COLUMNS}
        row["VALIDVALUES"] = "#~#".join(v.text or "" for v in field.iter("VALIDVALUE"))
        rows.append(row)
    return rows


def inspect_rows(data: etree._Element | None) -> list[dict[str, Any]]:
    """One row per field of an ``inspect detail="1"`` answer.

    ``inspect detail="0"`` lists bare names (``<Field>RECORDNO</Field>``); those rows carry the
    name only.
    """
    rows: list[dict[str, Any]] = []
    for field in [] if data is None else data.iter("Field"):
        if len(field) == 0:
            rows.append({"Name": (field.text or "").strip()})
            continue
        row: dict[str, Any] = {name: _text(field, name) or None for name in INSPECT_COLUMNS}
        length = row["maxLength"]
        row["maxLength"] = int(length) if length and length.lstrip("-").isdigit() else None
        rows.append(row)
    return rows


@attrs.define(kw_only=True)
class FieldTypes:
    """What a client knows about one object's field types, and why a column is text.

    Attributes:
        kinds: field -> frame kind, for the fields a definition call typed.
        order: every field the definition listed, in its order (the ``*`` column order).
        source: ``lookup``, ``inspect``, or ``""`` when neither answered.
        untyped: field -> why it is read as text although a definition listed it (a type word
            not on record).
        missing_reason: why no definition answered (empty when one did).
        maybe_dates: fields declared text that may hold dates: ``inspect`` calls date fields
            ``string`` (LAST_INVOICEDATE in the CUSTOMER capture), so their values decide.
    """

    kinds: dict[str, frames.Kind]
    order: list[str]
    source: str = ""
    untyped: dict[str, str] = attrs.field(factory=dict)
    missing_reason: str = ""
    maybe_dates: set[str] = attrs.field(factory=set)


def types_from_lookup(rows: Sequence[Mapping[str, Any]]) -> FieldTypes:
    """Field kinds from ``lookup`` rows (:func:`lookup_rows`).

    A DATATYPE word outside :data:`DATATYPE_KINDS` is read as text and noted in ``untyped``: a
    guess from an unknown word (``CURRENCY``, ``SEQUENCE``: no source, §13.4) could mistype
    real data, and a silent text column would hide that the word needs a mapping.
    """
    types = FieldTypes(kinds={"RECORDNO": "integer"}, order=[], source="lookup")
    for row in rows:
        name, word = str(row["ID"]), str(row["DATATYPE"] or "").upper()
        types.order.append(name)
        kind = DATATYPE_KINDS.get(word)
        if kind is None:
            types.untyped[name] = f"lookup DATATYPE {word or '(empty)'!r} is not a known type"
            kind = "text"
        types.kinds[name] = kind
    return types


def types_from_inspect(rows: Sequence[Mapping[str, Any]]) -> FieldTypes:
    """Field kinds from ``inspect detail="1"`` rows (:func:`inspect_rows`), by
    ``externalDataName``; bare-name rows (``detail="0"``) give order without types.
    """
    types = FieldTypes(kinds={"RECORDNO": "integer"}, order=[], source="inspect")
    for row in rows:
        name = str(row.get("Name") or "")
        if not name:
            continue
        types.order.append(name)
        word = str(row.get("externalDataName") or "")
        kind = INSPECT_KINDS.get(word)
        if kind is None:
            types.untyped[name] = (
                f"inspect externalDataName {word or '(none)'!r} is not a known type"
            )
            continue
        types.kinds[name] = kind
        if word == "string":
            types.maybe_dates.add(name)
    return types


# Intacct's own wire formats (reference §7): `07/24/2017 15:19:46` timestamps, `mm/dd/yyyy`
# dates, plain decimals. A decimal needs a point somewhere in the column: integers without one
# stay text, because ids (ACCOUNTNO 4000, 0100) look like numbers and must keep their spelling.
_WIRE_DATETIME = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}")
_WIRE_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")
_WIRE_DECIMAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?")


def sniff_kind(values: Sequence[str | None]) -> frames.Kind | None:
    """The kind every present value of a column of unknown type is written in, or None.

    Only Intacct's own formats count: ``mm/dd/yyyy HH:MM:SS`` (datetime), ``mm/dd/yyyy``
    (date), plain decimals with at least one value carrying a decimal point (decimal).
    A column with no present value, or one value in another form, is None (read as text).

    >>> sniff_kind(["07/24/2017 15:19:46", None])
    'datetime'
    >>> sniff_kind(["4000", "4010"]) is None
    True
    """
    present = [v.strip() for v in values if v is not None and v.strip() != ""]
    if not present:
        return None
    if all(_WIRE_DATETIME.fullmatch(v) for v in present):
        return "datetime"
    if all(_WIRE_DATE.fullmatch(v) for v in present):
        return "date"
    if all(_WIRE_DECIMAL.fullmatch(v) for v in present) and any("." in v for v in present):
        return "decimal"
    return None


# -- the names an analyst types ----------------------------------------------------------------

Order = Literal["ascending", "descending"]
# (name, where it was written) -> the object's spelling
_Speller = Callable[[str, str], str]


@attrs.frozen(kw_only=True)
class FieldNames:
    """The field names of one object, as a query may name them.

    Attributes:
        every: what ``select="*"`` reads, in the definition's order (empty when unknown).
        known: every name the object answers to (``every`` and any others, e.g. REST paths).
        closed: ``known`` is the whole list, so a name outside it is wrong; False when no
            definition answered (or a definition's fields cannot be listed), and then names
            are only matched, never refused.
        dates: the fields typed as dates (not datetimes).
    """

    every: tuple[str, ...]
    known: tuple[str, ...]
    closed: bool = True
    dates: frozenset[str] = frozenset()


def spell_query(
    obj: str,
    names: FieldNames,
    select: str | Sequence[str] | None,
    filter: Filter | Mapping[str, Any] | None,
    order_by: Sequence[tuple[str, Order]] | None,
) -> tuple[list[str], Filter | Mapping[str, Any] | None, list[tuple[str, Order]] | None]:
    """``select``, ``filter`` and ``order_by`` with each field in the object's own spelling.

    ``select`` None or ``"*"`` is every field of the object (the ``query`` function does not
    take ``*``, reference §2.5); a string is a comma-separated list. Names are matched without
    regard to case: generic functions take the object's own (UPPERCASE) field names, but a
    platform object's fields are lower/camel case (``id``, ``name``, §2.5, §13.5), and whether
    Intacct itself would match another case is not on record, so the object's spelling is
    what is sent. Dotted paths into related objects and aggregates' functions
    (``sum:TRX_AMOUNT``) pass with their field spelled.

    >>> names = FieldNames(every=("RECORDNO", "ACCOUNTNO"), known=("RECORDNO", "ACCOUNTNO"))
    >>> spell_query("GLACCOUNT", names, ["accountno", "ACCOUNTNO"], {"recordno": 1}, None)
    (['ACCOUNTNO'], {'RECORDNO': 1}, None)

    Args:
        obj: the object, for messages.
        names: the object's field names.
        select: field names, ``"*"`` or None (every field).
        filter: a filter tree or a ``{field: value}`` mapping.
        order_by: ``[(field, direction)]``.

    Returns:
        The select (a list without repeats), the filter and the order, respelled.

    Raises:
        InputError: a name the object does not have (the message gives the closest right
            spelling), an empty select, two filter keys naming one field, or ``"*"`` when
            the object's field list could not be read.
    """
    spellings = _spellings(names.known)

    def spell(name: str, where: str) -> str:
        return _spell(obj, name, where, spellings, closed=names.closed)

    dates = {name.upper() for name in names.dates}

    if select is None or (isinstance(select, str) and select.strip() == "*"):
        if not names.every:
            raise InputError(
                f"select='*' needs the field list of {obj}, and no definition of it could be "
                "read (over XML: lookup and inspect were refused): name the fields in select",
                field="select",
                value="*",
            )
        wanted: list[str] = list(names.every)
    else:
        items = select.split(",") if isinstance(select, str) else list(select)
        wanted = [_spell_select(str(item).strip(), spell) for item in items]
        if not wanted or any(not item for item in wanted):
            raise InputError("select needs field names, or '*' for every field", field="select")
    return (
        list(dict.fromkeys(wanted)),
        _spell_filter(filter, spell, dates),
        _spell_order(order_by, spell),
    )


def _spellings(known: Iterable[str]) -> dict[str, str]:
    # The first spelling wins when a list names one field twice in different cases.
    out: dict[str, str] = {}
    for name in known:
        out.setdefault(name.upper(), name)
    return out


def _spell(obj: str, name: str, where: str, spellings: Mapping[str, str], *, closed: bool) -> str:
    found = spellings.get(name.upper())
    if found is not None:
        return name if name in spellings.values() else found
    # A path into a related object (JOURNAL.SYMBOL) is not in the object's own field list.
    if "." in name or not closed:
        return name
    close = difflib.get_close_matches(name.upper(), list(spellings), n=1, cutoff=0.6)
    hint = f": did you mean {spellings[close[0]]!r}?" if close else ""
    raise InputError(f"{obj} has no field {name!r} (in {where}){hint}", field=name)


def _spell_select(item: str, spell: _Speller) -> str:
    func, colon, name = item.rpartition(":")
    if not item:
        return item
    return f"{func}{colon}{spell(name.strip(), 'select')}" if colon else spell(item, "select")


# A date column of a frame holds midnight timestamps (datetime64), and a filter built from
# one writes `mm/dd/yyyy 00:00:00` (reference §7). Whether Intacct takes that for a DATE field
# is not on record, so on a field typed as a date such a value is sent as the date it means.
_MIDNIGHT = re.compile(r"(\d{2}/\d{2}/\d{4}) 00:00:00")


def _as_date(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(_as_date(v) for v in value)
    at_midnight = isinstance(value, dt.datetime) and value.tzinfo is None
    if at_midnight and value.time() == dt.time(0):
        return value.date()
    return value


def _spell_filter(
    spec: Filter | Mapping[str, Any] | None, spell: _Speller, dates: set[str]
) -> Filter | Mapping[str, Any] | None:
    if spec is None:
        return None
    if isinstance(spec, Filter):
        return _spell_node(spec, spell, dates)
    out: dict[str, Any] = {}
    for key, value in spec.items():
        name = spell(str(key), "filter")
        if name in out:
            raise InputError(
                f"filter names {name} twice ({key!r} and another spelling)", field=name
            )
        out[name] = _as_date(value) if name.upper() in dates else value
    return out


def _spell_node(node: Filter, spell: _Speller, dates: set[str]) -> Filter:
    if node.children:
        children = tuple(_spell_node(c, spell, dates) for c in node.children)
        return attrs.evolve(node, children=children)
    if not node.field:
        return node
    name = spell(node.field, "filter")
    values = node.values
    if name.upper() in dates:
        values = tuple(_MIDNIGHT.sub(r"\1", v) if _MIDNIGHT.fullmatch(v) else v for v in values)
    return attrs.evolve(node, field=name, values=values)


def _spell_order(
    order_by: Sequence[tuple[str, Order]] | None, spell: _Speller
) -> list[tuple[str, Order]] | None:
    if order_by is None:
        return None
    return [(spell(name, "order_by"), direction) for name, direction in order_by]

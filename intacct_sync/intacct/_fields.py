"""Field definitions of Intacct objects: ``lookup`` and ``inspect`` answers read into rows.

Both calls describe an object's fields; they use different vocabularies for a field's type.
The words mapped here are the ones the public record shows (``../shared/reference/
intacct-api.md`` §13.4); any other word is read as text, because guessing a type from an unknown
word would silently mistype real data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from lxml import etree

from intacct_sync import frames

__all__ = [
    "DATATYPE_KINDS",
    "DIMENSION_COLUMNS",
    "INSPECT_COLUMNS",
    "INSPECT_KINDS",
    "LOOKUP_COLUMNS",
    "FieldTypes",
    "inspect_rows",
    "lookup_rows",
    "sniff_kind",
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

"""Field definitions of Intacct objects: ``lookup`` and ``inspect`` answers read into rows.

Both calls describe an object's fields; they use different vocabularies for a field's type.
The words mapped here are the ones the public record shows (``../shared/reference/
intacct-api.md`` §13.4); any other word is read as text, because guessing a type from an unknown
word would silently mistype real data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from intacct_sync import frames

__all__ = [
    "DATATYPE_KINDS",
    "INSPECT_COLUMNS",
    "INSPECT_KINDS",
    "LOOKUP_COLUMNS",
    "inspect_rows",
    "lookup_rows",
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

"""XML building blocks of the Intacct emulator's responses (lxml only, never string assembly).

Shapes follow the conformance samples in ``../shared/conformance/intacct``: ``control`` ->
``operation`` (``authentication``, ``result``\\*) or a top-level ``errormessage``; every error is
``error/{errorno, description, description2, correction}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from copy import copy

import attrs
from lxml import etree

__all__ = [
    "CONTENT_TYPE",
    "Err",
    "add_errors",
    "flat_records",
    "nested_record",
    "serialize",
    "text_el",
]

CONTENT_TYPE = 'text/xml; encoding="UTF-8";charset=UTF-8'

#: the hardened request parser (no DTDs, no entity expansion, no network)
PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=True
)


@attrs.frozen
class Err:
    """One ``<error>``."""

    errorno: str
    description2: str = ""
    description: str = ""
    correction: str = ""


def text_el(parent: etree._Element, tag: str, text: str | None = "") -> etree._Element:
    """Append ``<tag>text</tag>`` to ``parent``."""
    el = etree.SubElement(parent, tag)
    el.text = text or ""
    return el


def add_errors(parent: etree._Element, errors: Sequence[Err]) -> None:
    """Append ``<errormessage>`` with one ``<error>`` per entry."""
    msg = etree.SubElement(parent, "errormessage")
    for err in errors:
        el = etree.SubElement(msg, "error")
        text_el(el, "errorno", err.errorno)
        text_el(el, "description", err.description)
        text_el(el, "description2", err.description2)
        text_el(el, "correction", err.correction)


XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def serialize(root: etree._Element, *, pretty: bool) -> bytes:
    """The document with an ``<?xml version="1.0" encoding="UTF-8"?>`` declaration.

    lxml writes its declaration with single quotes; the gateway's has double quotes, so the
    constant declaration goes in front of lxml's declaration-less serialization.
    """
    return XML_DECLARATION + etree.tostring(
        root, xml_declaration=False, encoding="UTF-8", pretty_print=pretty
    )


def flat_records(
    data: etree._Element,
    tag: str,
    columns: Sequence[str],
    indexes: Sequence[int],
    rows: Sequence[Sequence[str | None]],
    *,
    extra_index: int | None = None,
) -> None:
    """Append one ``<tag>`` per row with one child per column (dotted names kept).

    The hot path of readByQuery/readMore/query pages: each record is a deep copy of a
    pre-built template whose children then get their text, which is several times faster than
    creating every element.

    Args:
        data: the ``<data>`` element.
        tag: record element name.
        columns: element names, in order.
        indexes: position of each column's value in a row.
        rows: the rows.
        extra_index: position of the ``_extra`` JSON (custom fields are appended) or None.
    """
    template = etree.Element(tag)
    for name in columns:
        etree.SubElement(template, name)
    append = data.append
    pairs = list(enumerate(indexes))
    for row in rows:
        rec = copy(template)  # lxml's __copy__ copies the subtree, without deepcopy's memo
        children = list(rec)
        for pos, idx in pairs:
            value = row[idx]
            if value:
                children[pos].text = value
        if extra_index is not None and row[extra_index]:
            for key, value in json.loads(str(row[extra_index])).items():
                text_el(rec, key, value)
        append(rec)


def nested_record(
    parent: etree._Element, tag: str, values: dict[str, str], fields: Sequence[str]
) -> etree._Element:
    """Append ``<tag>`` with ``fields`` from ``values``, dotted names nested
    (``DISPLAYCONTACT.MAILADDRESS.CITY`` -> ``DISPLAYCONTACT/MAILADDRESS/CITY``).
    """
    rec = etree.SubElement(parent, tag)
    groups: dict[tuple[str, ...], etree._Element] = {}
    for name in fields:
        *path, leaf = name.split(".")
        node = rec
        for depth in range(len(path)):
            key = tuple(path[: depth + 1])
            if key not in groups:
                groups[key] = etree.SubElement(node, path[depth])
            node = groups[key]
        text_el(node, leaf, values.get(name, ""))
    return rec

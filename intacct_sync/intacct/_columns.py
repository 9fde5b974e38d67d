"""A page of records, as the gateway answers a read, into column-wise wire text.

Two ways to the same columns, each declining (None) to the next when a page is not its shape:

1. The page's text, for a page of uniform flat records (every record the same leaf fields in
   the same order, as ``query`` and ``readByQuery`` pages are): :func:`split_page` cuts the
   answer into the envelope and the ``<data>`` content, and :func:`text_records` reads that
   content with one regular expression built from the first record's fields, which must
   cover it exactly, and whose grammar (with the checks on characters) leaves no XML rule
   unchecked. :func:`~intacct_sync.intacct._protocol.parse_response` does this for a page
   request (``page=True``) and parses the envelope with lxml, so no tree of the records is
   built at all.
2. The tree: :func:`page_columns`, in one pass in document order sliced per column when the
   records are uniform, else record by record, which also flattens nested fields and splits
   off owned collections.

Both give the same values: ``tests/test_fast_conversion.py`` holds them equal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from lxml import etree

__all__ = ["Records", "page_columns", "record_values", "split_page", "text_records"]

#: A page's records: a list of record elements, or the ``<data>`` element holding them.
Records = Sequence[etree._Element] | etree._Element

Columns = dict[str, list[str | None]]
Collections = dict[str, list[tuple[int, etree._Element]]]


def page_columns(records: Records) -> tuple[Columns, Collections]:
    """Column-wise values of a page of records, and owned collections with their row index.

    Args:
        records: the page's record elements, or the ``<data>`` element holding them.

    Returns:
        ``(columns, collections)``: field name -> one value per record (None when empty), and
        collection name -> ``(record index, element)`` pairs.
    """
    fast = _uniform_flat_columns(records)
    if fast is not None:
        return fast, {}
    return _columns_by_record(records)


def record_values(
    record: etree._Element,
) -> tuple[dict[str, str | None], dict[str, list[etree._Element]]]:
    """Flatten one record element.

    Nested scalars become dotted names (``DISPLAYCONTACT.MAILADDRESS.CITY``), so ``read`` and
    ``query`` spell a field the same way. Owned collections (``ENTRIES/GLENTRY``, elements whose
    children repeat one tag) are returned apart, by collection name.

    Returns:
        ``(fields, collections)``.
    """
    fields: dict[str, str | None] = {}
    collections: dict[str, list[etree._Element]] = {}
    for child in record:
        if len(child) == 0:
            fields[child.tag] = child.text  # type: ignore[index]
        elif _is_collection(child):
            collections[str(child.tag)] = list(child)
        else:
            _flatten(child, str(child.tag), fields)
    return fields, collections


def _is_collection(element: etree._Element) -> bool:
    tags = [c.tag for c in element]
    return len(tags) >= 1 and len(set(tags)) == 1 and len(element[0]) > 0


def _flatten(element: etree._Element, prefix: str, out: dict[str, str | None]) -> None:
    for child in element:
        name = f"{prefix}.{child.tag!s}"
        if len(child) == 0:
            out[name] = child.text
        else:
            _flatten(child, name, out)


def _columns_by_record(records: Records) -> tuple[Columns, Collections]:
    rows: list[dict[str, str | None]] = []
    children: Collections = {}
    names: dict[str, None] = {}
    for index, record in enumerate(records):
        row, owned = record_values(record)
        for name, items in owned.items():
            children.setdefault(name, []).extend((index, item) for item in items)
        names.update(dict.fromkeys(row))
        rows.append(row)
    return {name: [row.get(name) for row in rows] for name in names}, children


def _uniform_flat_columns(records: Records) -> Columns | None:
    # Pages of a read usually hold records with the same flat fields in the same order. Then
    # one pass over the tree in document order gives every column by slicing, which is several
    # times faster than visiting records one by one. The tag sequence is the whole proof: any
    # nested element, repeated record shape break, comment, PI or entity reference (which
    # iter() also yields) makes it differ, and the page is read record by record.
    if len(records) == 0:
        return {}
    first = records[0]
    data = first.getparent()
    if data is None or len(data) != len(records) or any(len(child) for child in first):
        return None
    names = [str(child.tag) for child in first]
    if len(set(names)) != len(names):
        return None
    tags = [element.tag for element in data.iter()]
    if tags != [data.tag] + ([first.tag, *names] * len(records)):
        return None
    texts = [element.text for element in data.iter()]
    width = len(names) + 1
    return {name: texts[2 + i :: width] for i, name in enumerate(names)}


# -- the page from its text ---------------------------------------------------------------------

# Names the text path reads: ASCII XML names (so every one is a valid XML name, within
# libxml2's length limit), no namespace and no prefix, so the name in the text is the tag.
_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]{0,255}"
_PLAIN_NAME = re.compile(_NAME)
_UTF8 = frozenset({"UTF-8", "UTF8", "ASCII", "US-ASCII"})
_DECLARED = re.compile(rb"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']")
_DATA_START = re.compile(r"<data(?=[ \t\r\n/>])[^>]*>")
# XML's white space (Python's \s would also take text such as a no-break space).
_SPACE = " \t\r\n"
_GAP = "[ \t\r\n]*+"
# A field's start tag (or empty-element tag) inside the first record.
_FIELD_START = re.compile(f"<({_NAME}){_GAP}/?>")
_NOT_XML_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
# The references an answer without a DTD can hold: any other makes the page go to the tree.
_REFERENCE = re.compile(r"&(?:#x([0-9A-Fa-f]+)|#([0-9]+)|(lt|gt|amp|quot|apos));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


def split_page(body: bytes) -> tuple[bytes, str] | None:
    """``(envelope, content)``: the answer without the ``<data>`` element's content, and that
    content, or None when the cut cannot be proven to fall at that element's own tags.

    The proof: the envelope holds no comment, CDATA section, DTD or processing instruction
    (``<!``, ``<?`` past the declaration), so every ``<`` in it opens a tag, and the first
    ``<data`` and the last ``</data`` are real tags. That the content is only records (so the
    end tag is the start tag's own) is for :func:`text_records` to prove.

    What the record grammar does not see of XML's rules on text is checked here, on the whole
    answer: valid UTF-8, no character XML refuses (C0 controls but tab, LF and CR; U+FFFE,
    U+FFFF), no ``]]>``. The envelope itself is then parsed by lxml, as any answer is.
    """
    declared = _DECLARED.match(body, 0, 256)
    if declared is not None and declared.group(1).decode("ascii").upper() not in _UTF8:
        return None
    if len(body.translate(None, _NOT_XML_BYTES)) != len(body) or _cdata_end(body):
        return None
    if not body.isascii() and (b"\xef\xbf\xbe" in body or b"\xef\xbf\xbf" in body):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    opened = _DATA_START.search(text)
    if opened is None or text[opened.end() - 2] == "/":
        return None
    start, end = opened.end(), text.rfind("</data")
    if end < start:
        return None
    envelope = text[:start] + text[end:]
    declaration = 1 if envelope.lstrip("\ufeff").startswith("<?") else 0
    if "<!" in envelope or envelope.count("<?") != declaration:
        return None
    return envelope.encode("utf-8"), text[start:end]


def _cdata_end(body: bytes) -> bool:
    # "]]>" searched as "]]" (rare in an answer) then ">", not as "]]>": a search ending in ">"
    # stops at every tag.
    found = body.find(b"]]")
    while found >= 0:
        if body[found + 2 : found + 3] == b">":
            return True
        found = body.find(b"]]", found + 1)
    return False


@functools.lru_cache(maxsize=64)
def _record_pattern(
    tag: str, names: tuple[str, ...], *, spaced: bool, short: bool
) -> re.Pattern[str]:
    """One record exactly: the record tag without attributes, then each field once, in order,
    as ``<F>text</F>`` (text holds no markup: no ``<``), or also ``<F/>`` when ``short``, with
    white space between the tags only when ``spaced`` (a pretty-printed answer, as the
    reference samples are). The narrower patterns are faster, so the first record chooses.
    """
    gap = _GAP if spaced else ""
    cells = []
    for name in map(re.escape, names):
        full = f"<{name}>([^<]*)</{name}>"
        cells.append(f"{gap}(?:{full}|<{name}{_GAP}/>)" if short else f"{gap}{full}")
    return re.compile(f"<{re.escape(tag)}>{''.join(cells)}{gap}</{re.escape(tag)}{_GAP}>")


def _first_record(content: str) -> tuple[str, list[str], str] | None:
    """``(tag, field names, the text inside it)`` of the first record: the names of the start
    tags inside it, in order. Whatever else the record holds (nesting, attributes), the record
    pattern then refuses.
    """
    body = content.lstrip(_SPACE)
    closing = body.find(">")
    tag = body[1:closing]
    if closing < 0 or not body.startswith("<") or not _PLAIN_NAME.fullmatch(tag):
        return None
    end = body.find(f"</{tag}", closing)
    if end < 0:
        return None
    inner = body[closing + 1 : end]
    names = _FIELD_START.findall(inner)
    if not names or len(set(names)) != len(names):
        return None
    return tag, names, inner


def text_records(content: str) -> Columns | None:
    """The columns of a ``<data>`` element's content that is nothing but uniform flat records
    (and white space between them), read from its text; None for any other content.

    The text must have passed :func:`split_page`'s checks on characters; with them, content
    this reads is well-formed XML. Each value is what the parser would give: references
    replaced, line ends read as LF, None for an empty field. A reference that is not the
    predefined or a character one, or names a character XML refuses, makes it None.
    """
    first = _first_record(content)
    if first is None:
        return None
    tag, names, inner = first
    width = len(names) + 1
    narrow = _record_pattern(
        tag, tuple(names), spaced=not inner.startswith("<"), short="/>" in inner
    )
    wide = _record_pattern(tag, tuple(names), spaced=True, short=True)
    # The first record alone first: a page that is not flat (a nested field) is refused
    # here, not after a pass over all its text.
    record = f"<{tag}>{inner}</{tag}>"
    if wide.fullmatch(record) is None:
        return None
    pieces = narrow.split(content)
    if not _covered(pieces, width):
        pieces = wide.split(content) if wide is not narrow else pieces
        if not _covered(pieces, width):
            return None
    escaped = "&" in content or "\r" in content
    columns: Columns = {}
    for index, name in enumerate(names):
        column: list[str | None] = pieces[1 + index :: width]
        if not all(column):  # an empty field: "" (<F></F>) or None (<F/>)
            column = [value or None for value in column] if any(column) else [None] * len(column)
        if escaped and _escaped(column):
            parsed = [None if value is None else _xml_text(value) for value in column]
            if any(value is _BAD for value in parsed):
                return None
            column = parsed
        columns[name] = column
    return columns


def _covered(pieces: list[Any], width: int) -> bool:
    # re.split gives the text between matches, then each match's groups: between matches
    # there must be white space only, or some text was not a record.
    if len(pieces) < 1 + width or (len(pieces) - 1) % width:
        return False
    return not "".join(pieces[::width]).strip(_SPACE)


def _escaped(column: list[str | None]) -> bool:
    joined = "".join(value for value in column if value)
    return "&" in joined or "\r" in joined


_BAD = "\x00"  # never a value: XML text cannot hold NUL


def _xml_text(raw: str) -> str:
    # Line ends first (the raw CR of the text), then references (a &#13; stays a CR).
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" not in raw:
        return raw
    text, replaced = _REFERENCE.subn(_reference, raw)
    return text if replaced == raw.count("&") and _BAD not in text else _BAD


def _reference(match: re.Match[str]) -> str:
    hexadecimal, decimal, name = match.groups()
    if name is not None:
        return _NAMED[name]
    code = int(hexadecimal, 16) if hexadecimal is not None else int(decimal)
    # XML's Char production: a reference to anything else is not well-formed.
    allowed = code in (9, 10, 13) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD
    return chr(code) if allowed or 0x10000 <= code <= 0x10FFFF else _BAD

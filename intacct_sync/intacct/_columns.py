"""A page of records, as the gateway answers a read, into column-wise wire text.

The records come from the tree :func:`~intacct_sync.intacct._protocol.parse_response` built
with the hardened parser; that parse is what vouches for the body. Three ways to the same
columns, fastest first, each declining (None) to the next when a page is not of its shape:

1. The body's text, for a page of uniform flat records (every record the same leaf fields in
   the same order, as ``query`` and ``readByQuery`` pages are): one regular expression built
   from the first record's field names reads every record; the tree proves the matches are
   exactly its records (see :func:`_text_columns`). No Python object per element is made.
2. One pass over the tree in document order, sliced per column.
3. Record by record, which also flattens nested fields and splits off owned collections.

All three give the same values: ``tests/test_fast_conversion.py`` holds them equal.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from lxml import etree

__all__ = ["Records", "page_columns", "record_values"]

#: A page's records: a list of record elements, or the ``<data>`` element holding them.
Records = Sequence[etree._Element] | etree._Element

Columns = dict[str, list[str | None]]
Collections = dict[str, list[tuple[int, etree._Element]]]


def page_columns(records: Records, *, source: bytes | None = None) -> tuple[Columns, Collections]:
    """Column-wise values of a page of records, and owned collections with their row index.

    Args:
        records: the page's record elements, or the ``<data>`` element holding them.
        source: the response body the records were parsed from; with it, a page of uniform
            flat records is read from the text (the same values, faster).

    Returns:
        ``(columns, collections)``: field name -> one value per record (None when empty), and
        collection name -> ``(record index, element)`` pairs.
    """
    fast = _uniform_flat_columns(records, source)
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


def _uniform_flat_columns(records: Records, source: bytes | None = None) -> Columns | None:
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
    if source is not None:
        found = _text_columns(data, str(first.tag), names, source)
        if found is not None:
            return found
    tags = [element.tag for element in data.iter()]
    if tags != [data.tag] + ([first.tag, *names] * len(records)):
        return None
    texts = [element.text for element in data.iter()]
    width = len(names) + 1
    return {name: texts[2 + i :: width] for i, name in enumerate(names)}


# -- the page from the body's text --------------------------------------------------------------

# Names the text path reads: no namespace (lxml spells it "{uri}name") and no prefix, so the
# name in the text is the element's tag.
_PLAIN_NAME = re.compile(r"[A-Za-z_][\w.\-]*")
_UTF8 = frozenset({"UTF-8", "UTF8", "ASCII", "US-ASCII"})
# XML's white space (Python's \s would also take text such as a no-break space).
_GAP = "[ \t\r\n]*+"


@functools.lru_cache(maxsize=64)
def _record_pattern(
    tag: str, names: tuple[str, ...], *, spaced: bool, short: bool
) -> re.Pattern[str]:
    """One record exactly: the record tag without attributes, then each field once, in order,
    as ``<F>text</F>`` (text holds no markup: no ``<``), or also ``<F/>`` when ``short``, with
    white space between the tags only when ``spaced`` (a pretty-printed answer, as the
    reference samples are). The narrower patterns are faster, so the page's first record
    chooses.
    """
    gap = _GAP if spaced else ""
    cells = []
    for name in map(re.escape, names):
        full = f"<{name}>([^<]*)</{name}>"
        cells.append(f"{gap}(?:{full}|<{name}{_GAP}/>)" if short else f"{gap}{full}")
    return re.compile(f"<{re.escape(tag)}>{''.join(cells)}{gap}</{re.escape(tag)}{_GAP}>")


def _text_columns(
    data: etree._Element, tag: str, names: list[str], source: bytes
) -> Columns | None:
    # Why the matches are exactly the page's records, in order, with their values:
    # - the parse succeeded, so the text is well-formed XML, and without a DTD it holds no
    #   entity references but the predefined and character ones;
    # - every child of <data> is a `tag` element and the text holds no more "<tag" than <data>
    #   has children: each record's start tag is one, so there is no other `tag` element and
    #   no "<tag" inside a comment, CDATA section or PI either;
    # - each match opens at one of those start tags (matches do not overlap) and runs over
    #   consecutive markup ("<" in text always opens markup, and a comment or CDATA section
    #   in a record stops the match), so as many matches as records means every record is the
    #   fields in order, each text only, in document order;
    # - a value's raw text is what the parser gives, except for references (&amp;) and line
    #   ends (CR LF is read as LF): a value with "&" or CR is taken from the tree instead.
    if not names or not _PLAIN_NAME.fullmatch(tag):
        return None
    if not all(_PLAIN_NAME.fullmatch(n) for n in names):
        return None
    tree = data.getroottree()
    encoding = tree.docinfo.encoding
    if tree.docinfo.internalDTD is not None or (encoding and encoding.upper() not in _UTF8):
        return None
    count = len(data)
    # Not XPath: the first XPath on a document costs more than this page's whole extraction.
    if sum(1 for _ in data.iterchildren(tag)) != count:
        return None
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.count(f"<{tag}") != count:
        return None
    opened = text.find(f"<{tag}>")
    first = text[opened + len(tag) + 2 : text.find(f"</{tag}", opened)] if opened >= 0 else ""
    spaced, short = not first.startswith("<"), "/>" in first
    key = tuple(names)
    matches = _record_pattern(tag, key, spaced=spaced, short=short).findall(text)
    if len(matches) != count and not (spaced and short):
        matches = _record_pattern(tag, key, spaced=True, short=True).findall(text)
    if len(matches) != count:
        return None
    cells: list[Sequence[str]] = [matches] if len(names) == 1 else list(zip(*matches, strict=True))
    escaped = "&" in text or "\r" in text
    columns: Columns = {}
    for index, (name, column) in enumerate(zip(names, cells, strict=True)):
        empty = column.count("")
        values: list[str | None]
        if empty == 0:
            values = list(column)
        elif empty == count:
            values = [None] * count
        else:
            values = [v or None for v in column]
        # Pretty-printed with CR LF puts CR between tags, not in values: look per column.
        if escaped and ("&" in (joined := "".join(column)) or "\r" in joined):
            for row, value in enumerate(values):
                if value is not None and ("&" in value or "\r" in value):
                    values[row] = data[row][index].text
        columns[name] = values
    return columns

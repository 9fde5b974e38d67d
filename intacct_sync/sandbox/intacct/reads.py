"""The emulator's read functions: readByQuery, readMore, read, readByName, query, lookup,
inspect.

Record element casing follows the samples: readByQuery/readMore lowercase (``<glaccount>``),
read/readByName/query UPPERCASE (``<GLACCOUNT>``). readByQuery, readMore and query return
nested fields under their dotted names (``DISPLAYCONTACT.EMAIL1``); read and readByName nest
them (``DISPLAYCONTACT/EMAIL1``) and add owned lines (``ENTRIES/glentry``).

A ``query`` in record-key order without filter or aggregates is read a page at a time off the
store's primary key (as a database cursor would: a first page on 100,000 rows costs its own
rows); any other is evaluated once per data generation and paged from that. The module is a
little over 600 lines because every read function shares its helpers (fields, paging checks).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from lxml import etree

from intacct_sync.sandbox.intacct.context import Ctx, FnResult, FunctionFailed, ResultSet
from intacct_sync.sandbox.intacct.query import (
    QueryError,
    compile_filter,
    compile_readbyquery,
    sort_key,
)
from intacct_sync.sandbox.intacct.schema import (
    NUMERIC_TYPES,
    OBJECTS,
    UDDS,
    Field,
    ObjectDef,
    get_object,
)
from intacct_sync.sandbox.intacct.store import Row, row_dict
from intacct_sync.sandbox.intacct.xml import Err, flat_records, nested_record, text_el

__all__ = ["READ_FUNCTIONS", "query_rows"]

QUERY_FAILED = "Query Failed"


def _object(el: etree._Element, errorno: str = QUERY_FAILED) -> ObjectDef:
    name = (el.findtext("object") or "").strip()
    obj = get_object(name)
    if obj is None:
        raise FunctionFailed(Err(errorno, f"Object definition {name.upper()} not found"))
    return obj


def _int(el: etree._Element, tag: str, default: int, low: int, high: int, errorno: str) -> int:
    text = (el.findtext(tag) or "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise FunctionFailed(Err(errorno, f"{tag} must be an integer from {low} to {high}"))
    return value


def _fields(obj: ObjectDef, text: str | None) -> list[str] | None:
    """Requested field names; None for ``*`` (every field, custom fields included)."""
    text = (text or "").strip()
    if text in ("", "*"):
        return None
    names = [obj.canonical(n) or n.strip().upper() for n in text.split(",") if n.strip()]
    known = obj.field_map
    bad = [n for n in names if n not in known]
    if bad:
        raise FunctionFailed(Err(f"Invalid fields list {','.join(bad)}"))
    return names


def _filtered(obj: ObjectDef, rows: list[Row], docparid: str) -> list[Row]:
    if docparid and "DOCPARID" in obj.columns:
        idx = obj.columns.index("DOCPARID")
        rows = [r for r in rows if r[idx] == docparid]
    return rows


def _format(el: etree._Element, tag: str) -> None:
    fmt = (el.findtext(tag) or "xml").strip().lower()
    if fmt != "xml":
        raise FunctionFailed(
            Err(QUERY_FAILED, f"returnFormat {fmt} is not supported by the sandbox; use xml")
        )


def _page_data(
    listtype: str, count: int, total: int, remaining: int, result_id: str
) -> etree._Element:
    return etree.Element(
        "data",
        {
            "listtype": listtype,
            "count": str(count),
            "totalcount": str(total),
            "numremaining": str(remaining),
            "resultId": result_id,
        },
    )


def read_by_query(ctx: Ctx, el: etree._Element) -> FnResult:
    """readByQuery: filter with the query string, answer the first page, keep the rest."""
    obj = _object(el)
    names = _fields(obj, el.findtext("fields"))
    pagesize = _int(el, "pagesize", 100, 1, 1000, QUERY_FAILED)
    _format(el, "returnFormat")
    try:
        pred = compile_readbyquery(el.findtext("query") or "", obj)
    except QueryError as exc:
        raise FunctionFailed(Err(QUERY_FAILED, str(exc))) from exc
    rows = _filtered(obj, ctx.store.rows(ctx.company, obj), el.findtext("docparid") or "")
    if pred is not None:
        rows = [r for r in rows if pred(r)]
    columns = obj.columns if names is None else tuple(names)
    indexes = tuple(obj.columns.index(c) for c in columns)
    extra_index = len(obj.columns) if names is None else None
    page, total = rows[:pagesize], len(rows)
    result_id = ""
    if total > len(page):
        result_id = ctx.results.add(
            ResultSet(
                company=ctx.company,
                obj=obj,
                tag=obj.name.lower(),
                columns=columns,
                indexes=indexes,
                extra_index=extra_index,
                rows=rows,
                pagesize=pagesize,
                position=len(page),
                expires=time.monotonic() + ctx.result_ttl,
            )
        )
    data = _page_data(obj.name.lower(), len(page), total, total - len(page), result_id)
    flat_records(data, obj.name.lower(), columns, indexes, page, extra_index=extra_index)
    return FnResult(function="readByQuery", controlid=ctx.controlid, data=data)


def read_more(ctx: Ctx, el: etree._Element) -> FnResult:
    """readMore: the next page of a snapshotted readByQuery (by resultId, or latest by object)."""
    result_id = (el.findtext("resultId") or "").strip()
    if not result_id and (el.findtext("object") or "").strip():
        result_id = ctx.results.latest(ctx.company, (el.findtext("object") or "").upper()) or ""
    rs = ctx.results.get(ctx.company, result_id) if result_id else None
    if rs is None:
        raise FunctionFailed(
            Err(
                "readMore failed",
                f"Attempt to readMore with an invalid or expired resultId: {result_id}",
            )
        )
    page = rs.rows[rs.position : rs.position + rs.pagesize]
    rs.position += len(page)
    rs.expires = time.monotonic() + ctx.result_ttl
    remaining = len(rs.rows) - rs.position
    if remaining == 0:
        ctx.results.drop(result_id)
    data = _page_data(rs.tag, len(page), len(rs.rows), remaining, result_id)
    flat_records(data, rs.tag, rs.columns, rs.indexes, page, extra_index=rs.extra_index)
    return FnResult(function="readMore", controlid=ctx.controlid, data=data)


def _read_records(
    ctx: Ctx, obj: ObjectDef, rows: Sequence[Row], names: list[str] | None, function: str
) -> FnResult:
    data = etree.Element("data", {"listtype": obj.name, "count": str(len(rows))})
    for row in rows:
        values = row_dict(obj, row)
        fields = list(values) if names is None else names
        rec = nested_record(data, obj.name, values, fields)
        if names is None and obj.lines is not None:
            line_obj = OBJECTS[obj.lines.object]
            coll = etree.SubElement(rec, obj.lines.collection)
            lines = ctx.store.rows(
                ctx.company, line_obj, where={obj.lines.parent_field: values["RECORDNO"]}
            )
            for line in lines:
                lv = row_dict(line_obj, line)
                nested_record(coll, line_obj.name.lower(), lv, list(lv))
    return FnResult(function=function, controlid=ctx.controlid, data=data)


def _keys(el: etree._Element) -> list[str]:
    keys = [k.strip() for k in (el.findtext("keys") or "").split(",") if k.strip()]
    if not keys:
        raise FunctionFailed(Err("Read Failed", "keys is required: give one or more keys"))
    return keys


def read(ctx: Ctx, el: etree._Element) -> FnResult:
    """read: records by RECORDNO (CSV ``keys``); unknown keys are skipped."""
    obj = _object(el)
    names = _fields(obj, el.findtext("fields"))
    _format(el, "returnFormat")
    rows: list[Row] = []
    for key in _keys(el):
        if key.isdigit():
            row = ctx.store.get(ctx.company, obj, int(key))
            if row is not None:
                rows.append(row)
    rows = _filtered(obj, rows, el.findtext("docparid") or "")
    return _read_records(ctx, obj, rows, names, "read")


def read_by_name(ctx: Ctx, el: etree._Element) -> FnResult:
    """readByName: records by the object's ID field (CSV ``keys``)."""
    obj = _object(el)
    if obj.id_field is None:
        raise FunctionFailed(Err(QUERY_FAILED, f"Object {obj.name} has no name field; use read"))
    names = _fields(obj, el.findtext("fields"))
    _format(el, "returnFormat")
    rows = [r for k in _keys(el) if (r := ctx.store.find_id(ctx.company, obj, k)) is not None]
    rows = _filtered(obj, rows, el.findtext("docparid") or "")
    return _read_records(ctx, obj, rows, names, "readByName")


_AGGREGATES = ("count", "sum", "min", "max", "avg")


def _aggregate(kind: str, obj: ObjectDef, field: str, values: list[str | None]) -> str:
    present = [v for v in values if v]
    if kind == "count":
        return str(len(present))
    if not present:
        return ""
    spec = obj.field_map[field]
    if kind in ("min", "max"):
        pick = min if kind == "min" else max
        return pick(present, key=lambda v: sort_key(spec, v))
    if spec.datatype not in NUMERIC_TYPES:
        raise FunctionFailed(Err(QUERY_FAILED, f"{kind} needs a numeric field, not {field}"))
    total = sum((Decimal(v) for v in present), Decimal(0))
    if kind == "sum":
        return format(total, "f")
    return format((total / len(present)).quantize(Decimal("0.0000000001")).normalize(), "f")


def query(ctx: Ctx, el: etree._Element) -> FnResult:
    """query: select/filter/orderby with offset paging; aggregates group by the plain fields."""
    obj, items, fold, (offset, pagesize) = _parse_query(el, paging=True)
    in_key_order = _key_order_page(ctx, obj, el, items, offset, pagesize)
    if in_key_order is not None:
        names, positions, page, total = in_key_order
    else:
        found = _evaluated(ctx, obj, el, items, fold)
        names, positions, total = found.names, found.positions, len(found.rows)
        page = found.rows[offset : offset + pagesize]
    return _page(obj, names, positions, page, total, offset, ctx)


def query_rows(ctx: Ctx, el: etree._Element) -> tuple[ObjectDef, list[str], list[dict[str, str]]]:
    """Every row of a ``query`` function (select/filter/orderby; paging ignored), as stored
    text by selected name (``SUM.TRX_AMOUNT`` for aggregates). Shared by the XML ``query`` and
    the REST query service, which pages the same evaluated rows without building XML.

    Raises:
        FunctionFailed: an unknown object, field or select element.
    """
    obj, items, fold, _ = _parse_query(el, paging=False)
    found = _evaluated(ctx, obj, el, items, fold)
    return obj, found.names, found.records()


class _Evaluated:
    """A ``query``'s rows in answer order: ``rows[i][positions[k]]`` is ``names[k]``'s value
    (None when empty); the rows may hold more columns (filter and order fields).
    """

    def __init__(self, names: list[str], positions: list[int], rows: list[Row]) -> None:
        self.names, self.positions, self.rows = names, positions, rows
        self._records: list[dict[str, str]] | None = None

    def records(self) -> list[dict[str, str]]:
        # Built once per evaluation: the REST service reads the whole list for every page.
        if self._records is None:
            pairs = list(zip(self.names, self.positions, strict=True))
            self._records = [{n: row[p] or "" for n, p in pairs} for row in self.rows]
        return self._records


def _parse_query(
    el: etree._Element, *, paging: bool
) -> tuple[ObjectDef, list[tuple[str, str]], bool, tuple[int, int]]:
    obj = _object(el)
    select = el.find("select")
    items: list[tuple[str, str]] = []
    for child in select if select is not None else []:
        if isinstance(child.tag, str):
            raw = (child.text or "").strip()
            items.append((str(child.tag), obj.canonical(raw) or raw.upper()))
    if not items:
        raise FunctionFailed(Err(QUERY_FAILED, "select needs at least one field"))
    known = obj.field_map
    for kind, name in items:
        if kind not in ("field", *_AGGREGATES):
            raise FunctionFailed(Err(QUERY_FAILED, f"Unknown select element <{kind}>"))
        if name not in known:
            raise FunctionFailed(Err(QUERY_FAILED, f"Invalid field {name!r} for {obj.name}"))
    fold = (el.findtext("options/caseinsensitive") or "").strip().lower() == "true"
    paged = (0, 0)
    if paging:  # checked where the XML function always checked them, before evaluating
        pagesize = _int(el, "pagesize", 100, 1, 2000, QUERY_FAILED)
        offset = _int(el, "offset", 0, 0, 2**31, QUERY_FAILED)
        _format(el, "options/returnformat")
        paged = (offset, pagesize)
    return obj, items, fold, paged


def _docparid(obj: ObjectDef, el: etree._Element) -> dict[str, str]:
    """The ``docparid`` restriction as an exact match on the stored rows (as :func:`_filtered`)."""
    docparid = el.findtext("docparid") or ""
    return {"DOCPARID": docparid} if docparid and "DOCPARID" in obj.columns else {}


def _key_order_page(
    ctx: Ctx,
    obj: ObjectDef,
    el: etree._Element,
    items: list[tuple[str, str]],
    offset: int,
    pagesize: int,
) -> tuple[list[str], list[int], list[Row], int] | None:
    """One page read straight off the record-key order, or None when the query needs the
    whole evaluation (a filter, aggregates, another order).

    Without a filter or aggregates, and ordered by nothing or first by the record key
    ascending (unique, so later orders change nothing), the answer is the stored rows in
    RECORDNO order: the page is one slice of the primary key and the total one count, so a
    page costs its own rows whatever the table's size, as a database cursor's would. The rows
    and order are those :func:`_evaluate_query` gives; each page sees the data as it is when
    asked, as the evaluated result (cached per data generation) does.
    """
    filt = el.find("filter")
    if filt is not None and any(isinstance(c.tag, str) for c in filt):
        return None
    if any(kind != "field" for kind, _ in items):
        return None
    orders = el.findall("orderby/order")
    known = obj.field_map
    for order in orders:
        raw = (order.findtext("field") or "").strip()
        if (obj.canonical(raw) or raw.upper()) not in known:
            return None  # the evaluation reports the invalid field
    if orders:
        first = orders[0]
        name = obj.canonical((first.findtext("field") or "").strip())
        descending = first.find("descending") is not None
        if name != obj.key_column or descending or not _in_store_order(obj, name):
            return None
    names = [n for _, n in items]
    layout = list(dict.fromkeys(names))
    where = _docparid(obj, el)
    rows = ctx.store.rows(
        ctx.company, obj, where=where, columns=layout, limit=pagesize, offset=offset
    )
    total = ctx.store.count(ctx.company, obj, where=where)
    return names, [layout.index(n) for n in names], rows, total


def _in_store_order(obj: ObjectDef, name: str | None) -> bool:
    """Whether sorting ascending on ``name`` keeps the store's RECORDNO order: the record key,
    a number (never empty), sorts as the integer the store orders by.
    """
    return name == obj.key_column and obj.field_map[name].datatype in NUMERIC_TYPES


def _evaluated(
    ctx: Ctx, obj: ObjectDef, el: etree._Element, items: list[tuple[str, str]], fold: bool
) -> _Evaluated:
    # Offset paging asks the same query once per page; evaluate it once per data generation.
    signature = b"".join(
        etree.tostring(child) for child in el if child.tag not in ("offset", "pagesize")
    )
    cache_key = (ctx.company, signature, ctx.store.generation)
    cached = ctx.store.query_cache.get(cache_key)
    if isinstance(cached, _Evaluated):
        return cached
    found = _evaluate_query(ctx, obj, el, items, fold)
    if len(ctx.store.query_cache) >= 8:
        ctx.store.query_cache.clear()
    ctx.store.query_cache[cache_key] = found
    return found


def _evaluate_query(
    ctx: Ctx, obj: ObjectDef, el: etree._Element, items: list[tuple[str, str]], fold: bool
) -> _Evaluated:
    filt = el.find("filter")
    ops = [c for c in filt if isinstance(c.tag, str)] if filt is not None else []
    if len(ops) > 1:
        raise FunctionFailed(Err(QUERY_FAILED, "filter takes one operator; nest with and/or"))
    # Only the columns the query names are fetched: the selected ones, then the filter's.
    layout = list(dict.fromkeys(n for _, n in items))
    pred = None
    if ops:
        try:
            pred = compile_filter(ops[0], obj, fold=fold, layout=layout)
        except QueryError as exc:
            raise FunctionFailed(Err(QUERY_FAILED, str(exc))) from exc
    orders = _orders(obj, el)
    aggregated = any(kind != "field" for kind, _ in items)
    if not aggregated:
        # A field the query orders by is read even when it is not selected.
        layout += [name for _, name, _ in orders if name not in layout]
    rows = ctx.store.rows(ctx.company, obj, where=_docparid(obj, el), columns=layout)
    if pred is not None:
        rows = [r for r in rows if pred(r)]
    index = {c: i for i, c in enumerate(layout)}
    names: list[str]
    if aggregated:
        plain = [n for k, n in items if k == "field"]
        groups: dict[tuple[str | None, ...], list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(row[index[n]] for n in plain), []).append(row)
        out: list[dict[str, str]] = []
        names = [n if k == "field" else f"{k.upper()}.{n}" for k, n in items]
        for key, members in groups.items():
            rec = dict(zip(plain, (v or "" for v in key), strict=True))
            for kind, name in items:
                if kind != "field":
                    col = [m[index[name]] for m in members]
                    rec[f"{kind.upper()}.{name}"] = _aggregate(kind, obj, name, col)
            out.append(rec)
        for spec, name, desc in orders:
            out.sort(key=_order_key(spec, name), reverse=desc)
        positions = list(range(len(names)))
        return _Evaluated(names, positions, [tuple(rec.get(n) for n in names) for rec in out])
    names = [n for _, n in items]
    natural = True  # rows are in RECORDNO order until sorted otherwise
    for spec, name, desc in orders:
        if natural and not desc and _in_store_order(obj, name):
            continue  # already in that order
        rows.sort(key=_row_key(spec, index[name]), reverse=desc)
        natural = False
    return _Evaluated(names, [index[n] for n in names], rows)


def _orders(obj: ObjectDef, el: etree._Element) -> list[tuple[Field, str, bool]]:
    """The ``orderby`` fields in the order their stable sorts apply (the last given first)."""
    known = obj.field_map
    out = []
    for order in reversed(el.findall("orderby/order")):
        raw = (order.findtext("field") or "").strip()
        name = obj.canonical(raw) or raw.upper()
        if name not in known:
            raise FunctionFailed(Err(QUERY_FAILED, f"Invalid orderby field {name!r}"))
        out.append((known[name], name, order.find("descending") is not None))
    return out


def _page(
    obj: ObjectDef,
    names: list[str],
    positions: list[int],
    page: Sequence[Row],
    total: int,
    offset: int,
    ctx: Ctx,
) -> FnResult:
    data = etree.Element(
        "data",
        {
            "listtype": obj.name,
            "totalcount": str(total),
            "offset": str(offset),
            "count": str(len(page)),
            "numremaining": str(max(total - offset - len(page), 0)),
        },
    )
    pairs = list(zip(names, positions, strict=True))
    for row in page:
        node = etree.SubElement(data, obj.name)
        for name, position in pairs:
            text_el(node, name, row[position] or "")
    return FnResult(function="query", controlid=ctx.controlid, data=data)


def _row_key(spec: Field, position: int) -> Callable[[Row], Any]:
    def key(row: Row) -> Any:
        return sort_key(spec, row[position] or None)

    return key


def _order_key(spec: Field, name: str) -> Callable[[dict[str, str]], Any]:
    def key(rec: dict[str, str]) -> Any:
        return sort_key(spec, rec.get(name) or None)

    return key


def lookup(ctx: Ctx, el: etree._Element) -> FnResult:
    """lookup: the object's field definitions and many-to-one relationships."""
    obj = _object(el)
    data = etree.Element("data", {"listtype": "All", "count": "1"})
    typ = etree.SubElement(data, "Type", {"Name": obj.name, "DocumentType": ""})
    fields = etree.SubElement(typ, "Fields")
    for f in obj.fields:
        node = etree.SubElement(fields, "Field")
        text_el(node, "ID", f.name)
        text_el(node, "LABEL", f.display_label)
        text_el(node, "DESCRIPTION", f.display_label)
        text_el(node, "REQUIRED", "true" if f.required else "false")
        text_el(node, "READONLY", "true" if f.readonly else "false")
        text_el(node, "DATATYPE", f.datatype)
        valid = etree.SubElement(node, "VALIDVALUES")
        for v in f.valid_values:
            text_el(valid, "VALIDVALUE", v)
        text_el(node, "ISCUSTOM", "false")
    rels = etree.SubElement(typ, "Relationships")
    for f in obj.fields:
        if f.ref:
            rel = etree.SubElement(rels, "Relationship")
            text_el(rel, "OBJECTPATH", f.name)
            text_el(rel, "OBJECTNAME", f.ref)
            text_el(rel, "LABEL", f.display_label)
            text_el(rel, "RELATIONSHIPTYPE", "MANY2ONE")
            text_el(rel, "RELATEDBY", f.name)
    return FnResult(function="lookup", controlid=ctx.controlid, data=data)


#: sandbox DATATYPE -> inspect (dataName, externalDataName, maxLength), as the CUSTOMER capture
#: spells them (resp_inspect_detail_customer.xml, reference §13.4): money is Pt_FieldDouble /
#: number, date fields (LAST_INVOICEDATE) are Pt_FieldString / string, audit timestamps
#: Pt_FieldDateTime / datetime. maxLength per type is the capture's most common value.
_INSPECT_TYPES: dict[str, tuple[str, str, str]] = {
    "TEXT": ("Pt_FieldString", "string", "0"),
    "INTEGER": ("Pt_FieldInt", "integer", "8"),
    "DECIMAL": ("Pt_FieldDouble", "number", "20"),
    "PERCENT": ("Pt_FieldDouble", "number", "10"),
    "BOOLEAN": ("Pt_FieldBoolean", "boolean", "0"),
    "DATE": ("Pt_FieldString", "string", "0"),
    "TIMESTAMP": ("Pt_FieldDateTime", "datetime", "22"),
}


def inspect(ctx: Ctx, el: etree._Element) -> FnResult:
    """inspect: ``detail="1"`` the legacy field definitions shaped like the CUSTOMER capture;
    otherwise bare field names (``<Field>RECORDNO</Field>``, §13.4).
    """
    obj = _object(el)
    detail = (el.get("detail") or "0").strip() == "1"
    data = etree.Element("data", {"listtype": "All", "count": "1"})
    typ = etree.SubElement(data, "Type", {"Name": obj.name})
    if detail:
        attributes = etree.SubElement(typ, "Attributes")
        text_el(attributes, "SingularName", obj.label)
        text_el(attributes, "PluralName", obj.label + "s")
        text_el(attributes, "Description", "")
    fields = etree.SubElement(typ, "Fields")
    for n, f in enumerate(obj.fields, start=1):
        if not detail:
            text_el(fields, "Field", f.name)
            continue
        data_name, external, length = _INSPECT_TYPES[f.datatype]
        node = etree.SubElement(fields, "Field")
        text_el(node, "Name", f.name)
        text_el(node, "GroupName", "")
        text_el(node, "dataName", data_name)
        text_el(node, "externalDataName", external)
        text_el(node, "isRequired", "true" if f.required else "false")
        text_el(node, "isReadOnly", "true" if f.readonly else "false")
        text_el(node, "maxLength", length)
        text_el(node, "DisplayLabel", f.display_label)
        text_el(node, "Description", f.display_label)
        # Synthetic: the capture's ids are 15-digit field ids whose scheme is not on record.
        text_el(node, "id", f"99950260{n:07d}")
    return FnResult(function="inspect", controlid=ctx.controlid, data=data)


#: the standard dimensions the demo companies use, as getDimensions lists them
_STANDARD_DIMENSIONS = (
    ("LOCATION", "Location"),
    ("DEPARTMENT", "Department"),
    ("CLASS", "Class"),
    ("CUSTOMER", "Customer"),
    ("ITEM", "Item"),
)


def get_dimensions(ctx: Ctx, el: etree._Element) -> FnResult:
    """getDimensions: ``dimension/{objectName, objectLabel, termLabel, userDefinedDimension,
    enabledInGL}`` per dimension (reference §6, §13.5); UDDs have userDefinedDimension true and
    their integration name as objectName.
    """
    entries = [(name, label, False) for name, label in _STANDARD_DIMENSIONS]
    entries += [(name, label, True) for name, label in UDDS.items()]
    data = etree.Element("data", {"listtype": "dimension", "count": str(len(entries))})
    for name, label, user_defined in entries:
        node = etree.SubElement(data, "dimension")
        text_el(node, "objectName", name)
        text_el(node, "objectLabel", label)
        text_el(node, "termLabel", label)
        text_el(node, "userDefinedDimension", "true" if user_defined else "false")
        text_el(node, "enabledInGL", "true")
    return FnResult(function="getDimensions", controlid=ctx.controlid, data=data)


READ_FUNCTIONS: dict[str, Callable[[Ctx, etree._Element], FnResult]] = {
    "readByQuery": read_by_query,
    "readMore": read_more,
    "read": read,
    "readByName": read_by_name,
    "query": query,
    "lookup": lookup,
    "inspect": inspect,
    "getDimensions": get_dimensions,
}

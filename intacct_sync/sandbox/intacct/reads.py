"""The emulator's read functions: readByQuery, readMore, read, readByName, query, lookup,
inspect.

Record element casing follows the samples: readByQuery/readMore lowercase (``<glaccount>``),
read/readByName/query UPPERCASE (``<GLACCOUNT>``). readByQuery, readMore and query return
nested fields under their dotted names (``DISPLAYCONTACT.EMAIL1``); read and readByName nest
them (``DISPLAYCONTACT/EMAIL1``) and add owned lines (``ENTRIES/glentry``).
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
    obj, names, out, (offset, pagesize) = _query(ctx, el, paging=True)
    return _page(obj, names, out, offset, pagesize, ctx)


def query_rows(ctx: Ctx, el: etree._Element) -> tuple[ObjectDef, list[str], list[dict[str, str]]]:
    """Every row of a ``query`` function (select/filter/orderby; paging ignored), as stored
    text by selected name (``SUM.TRX_AMOUNT`` for aggregates). Shared by the XML ``query`` and
    the REST query service, which pages the same evaluated rows without building XML.

    Raises:
        FunctionFailed: an unknown object, field or select element.
    """
    obj, names, out, _ = _query(ctx, el, paging=False)
    return obj, names, out


def _query(
    ctx: Ctx, el: etree._Element, *, paging: bool
) -> tuple[ObjectDef, list[str], list[dict[str, str]], tuple[int, int]]:
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
    # Offset paging asks the same query once per page; evaluate it once per data generation.
    signature = b"".join(
        etree.tostring(child) for child in el if child.tag not in ("offset", "pagesize")
    )
    cache_key = (ctx.company, signature, ctx.store.generation)
    cached = ctx.store.query_cache.get(cache_key)
    if cached is not None:
        names, out = cached  # type: ignore[misc]
    else:
        names, out = _evaluate_query(ctx, obj, el, items, fold)
        if len(ctx.store.query_cache) >= 8:
            ctx.store.query_cache.clear()
        ctx.store.query_cache[cache_key] = (names, out)
    return obj, names, out, paged


def _evaluate_query(
    ctx: Ctx, obj: ObjectDef, el: etree._Element, items: list[tuple[str, str]], fold: bool
) -> tuple[list[str], list[dict[str, str]]]:
    known = obj.field_map
    rows = _filtered(obj, ctx.store.rows(ctx.company, obj), el.findtext("docparid") or "")

    filt = el.find("filter")
    ops = [c for c in filt if isinstance(c.tag, str)] if filt is not None else []
    if len(ops) > 1:
        raise FunctionFailed(Err(QUERY_FAILED, "filter takes one operator; nest with and/or"))
    if ops:
        try:
            pred = compile_filter(ops[0], obj, fold=fold)
        except QueryError as exc:
            raise FunctionFailed(Err(QUERY_FAILED, str(exc))) from exc
        rows = [r for r in rows if pred(r)]
    index = {c: i for i, c in enumerate(obj.columns)}
    out: list[dict[str, str]]
    names: list[str]
    if any(kind != "field" for kind, _ in items):
        plain = [n for k, n in items if k == "field"]
        groups: dict[tuple[str | None, ...], list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(row[index[n]] for n in plain), []).append(row)
        out = []
        names = [n if k == "field" else f"{k.upper()}.{n}" for k, n in items]
        for key, members in groups.items():
            rec = dict(zip(plain, (v or "" for v in key), strict=True))
            for kind, name in items:
                if kind != "field":
                    col = [m[index[name]] for m in members]
                    rec[f"{kind.upper()}.{name}"] = _aggregate(kind, obj, name, col)
            out.append(rec)
    else:
        names = [n for _, n in items]
        out = [{n: row[index[n]] or "" for n in names} for row in rows]
    for order in reversed(el.findall("orderby/order")):
        raw = (order.findtext("field") or "").strip()
        name = obj.canonical(raw) or raw.upper()
        if name not in known:
            raise FunctionFailed(Err(QUERY_FAILED, f"Invalid orderby field {name!r}"))
        spec = known[name]
        desc = order.find("descending") is not None
        out.sort(key=_order_key(spec, name), reverse=desc)
    return names, out


def _page(
    obj: ObjectDef,
    names: list[str],
    out: list[dict[str, str]],
    offset: int,
    pagesize: int,
    ctx: Ctx,
) -> FnResult:
    page = out[offset : offset + pagesize]
    total = len(out)
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
    for rec in page:
        node = etree.SubElement(data, obj.name)
        for name in names:
            text_el(node, name, rec.get(name, ""))
    return FnResult(function="query", controlid=ctx.controlid, data=data)


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

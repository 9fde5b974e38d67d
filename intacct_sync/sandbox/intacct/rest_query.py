"""The query and model services of the sandbox's REST emulator (reference
``intacct-rest-api.md`` §4, §5): a REST query becomes the XML gateway's ``query`` function over
the same store, its rows are renamed and re-typed into REST's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lxml import etree

from intacct_sync.intacct.rest._names import RestField, split_aggregate
from intacct_sync.sandbox._http import Reply
from intacct_sync.sandbox.intacct.context import Ctx, FunctionFailed
from intacct_sync.sandbox.intacct.gateway import IntacctGateway, _Auth
from intacct_sync.sandbox.intacct.reads import query_rows
from intacct_sync.sandbox.intacct.rest_wire import (
    _LIKE,
    _OPS,
    _expression,
    _Fail,
    _json,
    _Obj,
    _resolve,
    _to_rest,
    _to_xml_literal,
    _xml_errors,
)
from intacct_sync.sandbox.intacct.schema import OBJECTS
from intacct_sync.sandbox.intacct.store import row_dict
from intacct_sync.sandbox.intacct.xml import Err, text_el

__all__ = ["QueryService"]


class QueryService:
    """The query and model services (a mixin of :class:`IntacctRestApi`)."""

    gateway: IntacctGateway
    page_origin: int
    max_page_size: int
    send_total_count: bool

    def _ctx(self, auth: _Auth) -> Ctx:
        return Ctx(
            store=self.gateway.store,
            company=auth.company,
            controlid="rest",
            now=datetime.now().astimezone().replace(tzinfo=None, microsecond=0),
            results=self.gateway._results,
            result_ttl=self.gateway.result_ttl,
        )

    def _object(self, path: str) -> _Obj:
        obj = _resolve(path)
        if obj is None:
            raise _Fail(404, "notFound", f"Unknown object {path}", "REST-1002")
        return obj

    def _query(self, auth: _Auth, body: Any) -> Reply:
        if not isinstance(body, Mapping):
            raise _Fail(400, "invalidRequest", "The query needs a JSON object body", "REST-1028")
        obj = self._object(str(body.get("object", "")))
        fmap = obj.fields
        requested = [str(f) for f in body.get("fields") or []]
        if not requested:
            raise _Fail(400, "invalidRequest", "fields is required", "REST-1043")
        el = etree.Element("query")
        text_el(el, "object", obj.store.name)
        select = etree.SubElement(el, "select")
        columns = []
        for item in requested:
            func, name = split_aggregate(item)
            field = self._field(fmap, name)
            text_el(select, func.lower() or "field", field.xml)
            columns.append(f"{func.upper()}.{field.xml}" if func else field.xml)
        filt = self._filters(auth, obj, body)
        if filt is not None:
            etree.SubElement(el, "filter").append(filt)
        order_el = etree.SubElement(el, "orderby")
        for order in body.get("orderBy") or []:
            for name, direction in dict(order).items():
                item_el = etree.SubElement(order_el, "order")
                text_el(item_el, "field", self._field(fmap, name).xml)
                etree.SubElement(
                    item_el, "descending" if str(direction).lower() == "desc" else "ascending"
                )
        params = body.get("filterParameters") or {}
        if params.get("caseSensitiveComparison") is False:
            text_el(etree.SubElement(el, "options"), "caseinsensitive", "true")
        if obj.docparid:
            text_el(el, "docparid", obj.docparid)
        start = int(body.get("start", self.page_origin))
        size = min(max(int(body.get("size", 100)), 1), self.max_page_size)
        offset = max(start - self.page_origin, 0)
        with self.gateway.store.lock:
            ctx = self._ctx(auth)
            try:
                # The rows the XML ``query`` function pages, evaluated once per data generation
                # and shared with it (reads.query_rows), read here without building any XML.
                _, _, out = query_rows(ctx, el)
            except FunctionFailed as failed:
                raise _query_failed(failed.errors) from failed
        total = len(out)
        page = out[offset : offset + size]
        # Column by column, each column's conversion decided once (and each distinct stored
        # text converted once): a page is thousands of rows of few distinct dates and words.
        converted = [
            _column([rec.get(col) or "" for rec in page], *self._converter(fmap, req))
            for req, col in zip(requested, columns, strict=True)
        ]
        rows = [
            dict(zip(requested, values, strict=True)) for values in zip(*converted, strict=True)
        ]
        nxt = start + len(rows) if offset + len(rows) < total else None
        prev = max(start - size, self.page_origin) if offset > 0 else None
        meta: dict[str, Any] = {
            "totalCount": total,
            "start": start,
            "pageSize": size,
            "next": nxt,
            "previous": prev,
        }
        if not self.send_total_count:
            del meta["totalCount"]
        return _json(200, {"ia::result": rows, "ia::meta": meta})

    def _field(self, fmap: Mapping[str, RestField], name: str) -> RestField:
        field = fmap.get(name)
        if field is None:
            # §4: the text "field does not exist" is what a peer parses (exact wording unverified)
            raise _Fail(
                400,
                "invalidRequest",
                f"The field {name} does not exist",
                "REST-1043",
                [
                    {
                        "code": "invalidRequest",
                        "message": f"field does not exist: {name}",
                        "target": f"/{name}",
                    }
                ],
            )
        return field

    def _converter(
        self, fmap: Mapping[str, RestField], requested: str
    ) -> tuple[str, RestField, str]:
        func, name = split_aggregate(requested)
        field = fmap[name]
        return func.lower(), field, self._datatype(field)

    def _datatype(self, field: RestField) -> str:
        return {
            "date": "DATE",
            "datetime": "TIMESTAMP",
            "boolean": "BOOLEAN",
            "integer": "INTEGER",
            "decimal": "DECIMAL",
        }.get(field.kind, "TEXT")

    def _filters(self, auth: _Auth, obj: _Obj, body: Mapping[str, Any]) -> etree._Element | None:
        items = [self._leaf(obj.fields, dict(f)) for f in body.get("filters") or []]
        node: etree._Element | None = None
        if items:
            node = _expression(str(body.get("filterExpression") or "and"), items)
        scope = self._scope(auth, obj)
        if scope is None:
            return node
        if node is None:
            return scope
        both = etree.Element("and")
        both.append(node)
        both.append(scope)
        return both

    def _scope(self, auth: _Auth, obj: _Obj) -> etree._Element | None:
        # XML keeps regular and statistical journals and entries together; REST splits them.
        if obj.statistical is None:
            return None
        if obj.store.name in ("GLJOURNAL", "GLENTRY"):
            # GLJOURNAL says true/false; a GLENTRY line carries a T/F flag (intacct-api.md §13.2)
            flag = ("true", "false") if obj.store.name == "GLJOURNAL" else ("T", "F")
            el = etree.Element("equalto")
            text_el(el, "field", "STATISTICAL")
            text_el(el, "value", flag[0] if obj.statistical else flag[1])
            return el
        symbols = self._stat_journals(auth)
        el = etree.Element("in" if obj.statistical else "notin")
        text_el(el, "field", "JOURNAL")
        for symbol in symbols or ["\x00none"]:
            text_el(el, "value", symbol)
        return el

    def _stat_journals(self, auth: _Auth) -> list[str]:
        journal = OBJECTS["GLJOURNAL"]
        rows = self.gateway.store.rows(auth.company, journal)
        return [
            d["SYMBOL"] for d in (row_dict(journal, r) for r in rows) if d["STATISTICAL"] == "true"
        ]

    def _leaf(self, fmap: Mapping[str, RestField], item: dict[str, Any]) -> etree._Element:
        if len(item) != 1:
            raise _Fail(400, "invalidRequest", "Each filter takes one operator", "REST-1044")
        ((op, inner),) = item.items()
        if not isinstance(inner, Mapping) or len(inner) != 1:
            raise _Fail(400, "invalidRequest", f"Filter {op} takes one field", "REST-1044")
        ((name, value),) = inner.items()
        field = self._field(fmap, name)
        values = value if isinstance(value, list) else [value]
        texts = [_to_xml_literal(field, v) for v in values]
        if value is None and op in ("$eq", "$ne"):
            tag = "isnull" if op == "$eq" else "isnotnull"
            texts = []
        elif op in _LIKE:
            tag, pattern = _LIKE[op]
            texts = [pattern.format(texts[0])]
        elif op in _OPS:
            tag = _OPS[op]
        else:
            raise _Fail(400, "invalidRequest", f"Unknown filter operator {op}", "REST-1045")
        el = etree.Element(tag)
        text_el(el, "field", field.xml)
        for text in texts:
            text_el(el, "value", text)
        return el

    def _model(self, name: str) -> Reply:
        obj = self._object(name)
        fields: dict[str, Any] = {}
        groups: dict[str, Any] = {}
        refs: dict[str, Any] = {}
        for path, field in obj.fields.items():
            spec: dict[str, Any] = {
                "type": "string",
                "readOnly": field.read_only,
                "required": False,
            }
            dt = self._datatype(field)
            if dt == "DATE":
                spec["format"] = "date"
            elif dt == "TIMESTAMP":
                spec["format"] = "date-time"
            elif dt == "BOOLEAN":
                spec["type"] = "boolean"
            elif dt == "INTEGER" and not (path == "key" or path.endswith(".key")):
                spec["type"] = "integer"
            elif dt == "DECIMAL":
                spec["format"] = "decimal-precision-2"  # synthetic: the model's word is unverified
            if field.values:
                spec["enum"] = list(field.values.values())
            head, _, leaf = path.rpartition(".")
            if not head:
                fields[leaf] = spec
            elif leaf in ("id", "key", "entityId") or "." in head:
                refs.setdefault(head, {"fields": {}})["fields"][leaf] = spec
            else:
                groups.setdefault(head, {"fields": {}})["fields"][leaf] = spec
        lists = [obj.names.lines[0]] if obj.names.lines else []
        result = {
            "fields": fields,
            "groups": groups,
            "refs": refs,
            "lists": lists,
            "httpMethods": "OPTIONS,GET,POST,DELETE,PATCH",
            "idempotenceSupported": True,
            "apiObject": f"objects/{name}",
            "type": "rootObject",
        }
        return _json(200, {"ia::result": result, "ia::meta": {"totalCount": 1}})


def _query_failed(errors: Sequence[Err]) -> _Fail:
    return _Fail(
        400, "invalidRequest", "Query failed", "REST-1064", _xml_errors(list(errors))["details"]
    )


def _column(texts: list[str], func: str, field: RestField, datatype: str) -> list[Any]:
    """One column of stored texts in REST's JSON values (empty = null)."""
    if func == "count":
        return [int(t) if t else None for t in texts]
    if func in ("sum", "avg"):
        return [t or None for t in texts]
    is_key = field.rest == "key" or field.rest.endswith(".key")
    if not field.values and (datatype in ("TEXT", "DECIMAL") or (datatype == "INTEGER" and is_key)):
        return [t or None for t in texts]  # the stored text is the JSON string
    seen: dict[str, Any] = {}
    out: list[Any] = []
    for t in texts:
        if not t:
            out.append(None)
            continue
        value = seen.get(t, seen)
        if value is seen:
            value = seen[t] = _to_rest(field, datatype, t)
        out.append(value)
    return out

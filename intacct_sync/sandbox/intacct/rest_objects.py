"""The object paths of the sandbox's REST emulator (reference ``intacct-rest-api.md`` §3,
§7.1): single records and batches become the XML gateway's ``create``, ``update``, ``delete``
and ``create_sotransaction`` functions, run by the gateway with its validation; results come
back as REST references, 207 items and error envelopes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lxml import etree

from intacct_sync.intacct.rest._names import RestField
from intacct_sync.sandbox._http import Reply
from intacct_sync.sandbox.intacct.context import FnResult
from intacct_sync.sandbox.intacct.gateway import _Auth
from intacct_sync.sandbox.intacct.rest_query import QueryService
from intacct_sync.sandbox.intacct.rest_wire import (
    API_PATH,
    _envelope,
    _Fail,
    _json,
    _leaves,
    _nest,
    _Obj,
    _split_date,
    _to_xml_literal,
    _xml_errors,
)
from intacct_sync.sandbox.intacct.store import row_dict
from intacct_sync.sandbox.intacct.xml import text_el

__all__ = ["ObjectService"]


class ObjectService(QueryService):
    """The object paths (a mixin of :class:`IntacctRestApi`)."""

    def _objects(self, auth: _Auth, method: str, rest: str, body: Any, transaction: bool) -> Reply:
        parts = rest.split("/")
        path, keys_text = "/".join(parts[:2]), "/".join(parts[2:])
        obj = self._object(path)
        keys = [k for k in keys_text.split(",") if k]
        if method == "GET":
            return self._get(auth, obj, keys)
        if method == "DELETE" and keys:
            functions = [self._delete_fn(obj, k) for k in keys]
            return self._write(auth, obj, functions, transaction, "delete")
        if method in ("POST", "PATCH") and body is not None:
            records = body if isinstance(body, list) else [body]
            if not records or len(records) > 500:
                raise _Fail(400, "invalidRequest", "A batch takes 1 to 500 records", "REST-1051")
            if method == "PATCH" and keys:
                if len(records) != 1 or len(keys) != 1:
                    raise _Fail(
                        400, "invalidRequest", "PATCH of one key takes one object", "REST-1052"
                    )
                records = [{**records[0], "key": keys[0]}]
            functions = [self._write_fn(auth, obj, dict(r), method) for r in records]
            reply = self._write(
                auth, obj, functions, transaction, "create" if method == "POST" else "update"
            )
            if not isinstance(body, list) and reply.status == 200:
                answer = json.loads(reply.body)
                return _json(
                    201 if method == "POST" else 200,
                    {"ia::result": answer["ia::result"][0], "ia::meta": answer["ia::meta"]},
                )
            if not isinstance(body, list) and reply.status == 207:
                answer = json.loads(reply.body)["ia::result"][0]
                return _envelope(int(answer["ia::status"]), answer["ia::error"])
            return reply
        raise _Fail(405, "methodNotAllowed", f"{method} is not supported here", "REST-1005")

    def _get(self, auth: _Auth, obj: _Obj, keys: list[str]) -> Reply:
        fields = list(obj.fields)
        body: dict[str, Any] = {
            "object": obj.names.path,
            "fields": ["key", "id"] if not keys else fields,
            "size": 100,
        }
        if keys:
            body["filters"] = [{"$in": {"key": keys}}]
        answer = json.loads(self._query(auth, body).body)
        rows = answer["ia::result"]
        if not keys:
            refs = [
                {
                    "key": r["key"],
                    "id": r.get("id"),
                    "href": f"{API_PATH}/objects/{obj.names.path}/{r['key']}",
                }
                for r in rows
            ]
            return _json(200, {"ia::result": refs, "ia::meta": answer["ia::meta"]})
        nested = [_nest(r) for r in rows]
        if not nested:
            raise _Fail(404, "notFound", "No record with this key", "REST-1003")
        return _json(
            200,
            {
                "ia::result": nested[0] if len(keys) == 1 else nested,
                "ia::meta": {"totalCount": len(nested)},
            },
        )

    def _delete_fn(self, obj: _Obj, key: str) -> etree._Element:
        fn = etree.Element("function", controlid=f"rest-delete-{key}")
        el = etree.SubElement(fn, "delete")
        text_el(el, "object", obj.store.name)
        text_el(el, "keys", key)
        return fn

    def _write_fn(
        self, auth: _Auth, obj: _Obj, record: dict[str, Any], method: str
    ) -> etree._Element:
        fn = etree.Element("function", controlid="rest")
        if obj.store.name == "SODOCUMENT" and method == "POST":
            fn.append(self._sotransaction(obj, record))
            return fn
        op = etree.SubElement(fn, "create" if method == "POST" else "update")
        rec = etree.SubElement(op, obj.store.name)
        if method == "PATCH":
            key = str(record.pop("key", "") or "")
            if not key:
                raise _Fail(400, "invalidRequest", "A PATCH batch item needs its key", "REST-1053")
            text_el(rec, "RECORDNO", key)
        lines = record.pop("lines", None)
        self._put_fields(rec, obj.fields, record)
        if obj.store.name == "GLBATCH":
            self._check_journal(auth, obj, record)
            if lines is not None:
                line_obj = self._object(obj.names.lines[1].path) if obj.names.lines else obj
                entries = etree.SubElement(rec, "ENTRIES")
                for line in lines:
                    self._put_fields(
                        etree.SubElement(entries, "GLENTRY"), line_obj.fields, dict(line)
                    )
        return fn

    def _check_journal(self, auth: _Auth, obj: _Obj, record: Mapping[str, Any]) -> None:
        ref = record.get("statisticalJournal" if obj.statistical else "glJournal")
        symbol = ref.get("id") if isinstance(ref, Mapping) else None
        if symbol and (symbol in self._stat_journals(auth)) != obj.statistical:
            kind = "a statistical" if obj.statistical else "a regular"
            raise _Fail(
                422, "invalidRequest", f"Journal {symbol} is not {kind} journal", "REST-1064"
            )

    def _put_fields(
        self, rec: etree._Element, fmap: Mapping[str, RestField], record: Mapping[str, Any]
    ) -> None:
        for path, value in _leaves(record):
            field = fmap.get(path)
            if field is None:
                detail = {
                    "code": "invalidRequest",
                    "message": f"{path} is not a valid field",
                    "errorId": "REST-1043",
                    "target": f"/{path}",
                }
                raise _Fail(400, "invalidRequest", "Payload contains errors", "REST-1064", [detail])
            if field.read_only or path == "key":
                continue
            if "." not in field.xml:  # most fields; the name map is one to one per object
                etree.SubElement(rec, field.xml).text = _to_xml_literal(field, value, write=True)
                continue
            target = rec
            for part in field.xml.split("."):
                found = target.find(part)
                target = found if found is not None else etree.SubElement(target, part)
            target.text = _to_xml_literal(field, value, write=True)

    def _sotransaction(self, obj: _Obj, record: Mapping[str, Any]) -> etree._Element:
        el = etree.Element("create_sotransaction")
        text_el(el, "transactiontype", obj.docparid or "")
        _split_date(el, "datecreated", str(record.get("txnDate") or ""))
        customer = record.get("customer") or {}
        text_el(
            el, "customerid", str(customer.get("id", "")) if isinstance(customer, Mapping) else ""
        )
        # The order of create_sotransaction's elements (reference §8, the schema).
        if record.get("documentNumber"):
            text_el(el, "documentno", str(record["documentNumber"]))
        if record.get("referenceNumber"):
            text_el(el, "referenceno", str(record["referenceNumber"]))
        term = record.get("term")
        if isinstance(term, Mapping) and term.get("id"):
            text_el(el, "termname", str(term["id"]))
        if record.get("dueDate"):
            _split_date(el, "datedue", str(record["dueDate"]))
        for tag, name in (("message", "message"), ("externalid", "externalId")):
            if record.get(name):
                text_el(el, tag, str(record[name]))
        for tag, name in (("basecurr", "baseCurrency"), ("currency", "txnCurrency")):
            if record.get(name):
                text_el(el, tag, str(record[name]))
        if record.get("state"):
            text_el(el, "state", str(obj.names.by_rest["state"].to_xml(record["state"])))
        items = etree.SubElement(el, "sotransitems")
        for line in record.get("lines") or []:
            item = etree.SubElement(items, "sotransitem")
            dims = line.get("dimensions") or {}
            text_el(item, "itemid", str((dims.get("item") or {}).get("id", "")))
            if line.get("itemDescription") is not None:
                text_el(item, "itemdesc", str(line["itemDescription"]))
            text_el(item, "quantity", str(line.get("unitQuantity", "")))
            for tag, value in (
                ("price", line.get("unitPrice")),
                ("discountpercent", line.get("discountPercent")),
                ("memo", line.get("memo")),
                ("locationid", (dims.get("location") or {}).get("id")),
                ("departmentid", (dims.get("department") or {}).get("id")),
            ):
                if value is not None:
                    text_el(item, tag, str(value))
        return el

    def _write(
        self, auth: _Auth, obj: _Obj, functions: list[etree._Element], transaction: bool, op: str
    ) -> Reply:
        for n, fn in enumerate(functions):
            fn.set("controlid", f"rest-{op}-{n}")
        host = "127.0.0.1"
        results = self.gateway._run(auth, functions, transaction, False, set(), host)
        items: list[dict[str, Any]] = []
        for result in results:
            if result.status == "success":
                items.append(self._written(auth, obj, result, op))
            elif result.status == "aborted":
                error = {
                    "code": "unprocessed",
                    "message": "Rolled back: atomic transaction failure",
                    "errorId": "REST-1070",
                }
                items.append({"ia::error": error, "ia::status": 422})
            else:
                status = (
                    404
                    if any(
                        "Cannot find" in e.description2 or "non-existing" in e.errorno
                        for e in result.errors
                    )
                    else 422
                )
                items.append({"ia::error": _xml_errors(result.errors), "ia::status": status})
        ok = sum(1 for i in items if "ia::error" not in i)
        meta = {"totalCount": len(items), "totalSuccess": ok, "totalError": len(items) - ok}
        if ok == len(items):
            if op == "delete":
                return Reply(status=204, body=b"")
            for item in items:
                item.pop("ia::status", None)
            return _json(200, {"ia::result": items, "ia::meta": meta})
        return _json(207, {"ia::result": items, "ia::meta": meta})

    def _written(self, auth: _Auth, obj: _Obj, result: FnResult, op: str) -> dict[str, Any]:
        if op == "delete":
            return {"ia::status": 204}
        if result.key is not None:  # create_sotransaction answers the document id
            row = self.gateway.store.find_id(auth.company, obj.store, result.key)
            key = row_dict(obj.store, row)["RECORDNO"] if row else ""
            ident = result.key
        else:
            rec = next(iter(result.data)) if result.data is not None and len(result.data) else None
            key = (rec.findtext("RECORDNO") or "") if rec is not None else ""
            ident = (
                (rec.findtext(obj.store.id_field) or key)
                if rec is not None and obj.store.id_field
                else key
            )
        return {
            "key": key,
            "id": ident,
            "href": f"{API_PATH}/objects/{obj.names.path}/{key}",
            "ia::status": 201 if op == "create" else 200,
        }

    # -- helpers for tests --------------------------------------------------------------------

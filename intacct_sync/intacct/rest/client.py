"""``IntacctRestClient``: the REST API behind the same calls and frames as the XML client.

Reads go through the query service (reference §4) with the same filter DSL, typed by the
field map of :mod:`._names` and the model service (§5, cached per company); writes go in batches
of up to 500 records (§7.1) with an ``Idempotency-Key`` derived from the same record identity
the XML path's control ids use (§7.4), and come back in the outcome contract of
:mod:`intacct_sync.outcomes`. It is longer than the
usual module because it mirrors every read and write call of the XML client (same names,
arguments and frames); the wire format lives in :mod:`._protocol`, rows to frames in
:mod:`._reads` and outcome bookkeeping in :mod:`._writes`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import pandas as pd

from intacct_sync import frames, outcomes
from intacct_sync._http.progress import progress as progress_bar
from intacct_sync.errors import (
    IncompleteWriteError,
    InputError,
    IntacctSyncError,
)
from intacct_sync.intacct._writes import control_id, create_control_id, nest_fields
from intacct_sync.intacct.models import IntacctRecord, JournalEntry, SalesOrder
from intacct_sync.intacct.rest import _names
from intacct_sync.intacct.rest import _protocol as wire
from intacct_sync.intacct.rest._names import RestObject
from intacct_sync.intacct.rest._writes import (
    INTACCT_EXTRAS,
    RestWrite,
    batch_outcomes,
    flatten,
    get_path,
    line_fields,
    outcome_row,
    sales_order_body,
    set_path,
)

__all__ = ["INTACCT_EXTRAS", "IntacctRestClient"]

from intacct_sync.intacct.rest._queries import RestReads

log = logging.getLogger("intacct_sync.intacct.rest")


class IntacctRestClient(RestReads):
    """A client of the Sage Intacct REST API with OAuth 2.0.

    >>> ia = IntacctRestClient(client_id=..., client_secret=..., company_id="acme",
    ...                        user_id="ws_user")  # doctest: +SKIP
    >>> ia.query("GLACCOUNT", select=["ACCOUNTNO", "TITLE"])  # doctest: +SKIP

    Args:
        client_id: the application's client id (Sage App Registry, §2.1).
        client_secret: its secret.
        company_id: the company (client credentials: part of ``username``).
        user_id: the Web Services user (client credentials).
        entity_id: scope every request to this entity (``X-IA-API-Param-Entity``, §2.3);
            with ``entity_in_token`` the token itself is minted for the entity instead
            (``user@company|entity``).
        grant: :class:`AuthorizationCode` for a person's sign-in; client credentials by default.
        base_url: API base (``https://api.intacct.com/ia/api/v1``).
        token_cache: where tokens persist (see :func:`default_token_cache`); None = memory.
        page_size: rows per query page (1..4000; 2000 by default, §10.1).
        batch_size: records per write request (1..500, §7.1).
        typed: use the model service for columns the name map does not type.
        governor: keeps the company's requests in flight within its limit; default: the
            process-wide governor of ``company_id``, shared with the XML client's.
    """

    # -- writes ------------------------------------------------------------------------------

    def create(
        self,
        object: str,
        records: pd.DataFrame | Iterable[IntacctRecord | Mapping[str, Any]],
        *,
        keys: Sequence[str] | None = None,
        transaction: bool = False,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Create records; one outcome row per record, in input order (``outcomes.py``).

        ``object`` is the XML object name (``GLBATCH``) or a REST path. Each request carries an ``Idempotency-Key``
        from the records' identities (the XML control ids), so a repeat after a lost answer
        replays Intacct's first answer instead of writing twice.

        Args:
            object: the XML object name or a REST object path.
            records: models, mappings of field names, or DataFrame rows.
            keys: an identity per record (e.g. the CRM id it came from).
            transaction: all or nothing (one composite request).
            progress: show a progress bar.

        Returns:
            The outcome frame (:data:`~intacct_sync.outcomes.OUTCOME_COLUMNS`).

        Raises:
            InputError: a record cannot be written over REST as given (names row and field),
                ``keys`` does not match the records, or ``transaction=True`` over more than
                ``batch_size`` records.
            IncompleteWriteError: the run stopped part way; ``.outcomes`` says what is known.
        """
        obj, items = object, _records(records)
        writes = self._writes("create", obj, items, keys)
        return self._run("create", writes, transaction=transaction, progress=progress)

    def update(
        self,
        object: str,
        records: pd.DataFrame | Iterable[IntacctRecord | Mapping[str, Any]],
        *,
        keys: Sequence[str] | None = None,
        transaction: bool = False,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Update records (PATCH: omitted fields unchanged, §3); each names ``RECORDNO`` or its
        ID field (looked up by the query service, since paths take only keys, §3).

        Args:
            object: the XML object name or a REST object path.
            records: models, mappings of field names, or DataFrame rows.
            keys: an identity per record.
            transaction: all or nothing.
            progress: show a progress bar.

        Returns:
            The outcome frame, one row per record in input order.

        Raises:
            InputError: a record cannot be written over REST as given (names row and field),
                ``keys`` does not match the records, or ``transaction=True`` over more than
                ``batch_size`` records.
            IncompleteWriteError: the run stopped part way; ``.outcomes`` says what is known.
        """
        obj, items = object, _records(records)
        writes = self._writes("update", obj, items, keys)
        return self._run("update", writes, transaction=transaction, progress=progress)

    def delete(
        self,
        object: str,
        ids: Iterable[int | str],
        *,
        transaction: bool = False,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Delete records by ``RECORDNO`` (keys comma-joined in the path, §3); one outcome row
        per key.

        Args:
            object: the XML object name or a REST object path.
            ids: the records' ``RECORDNO`` values.
            transaction: all or nothing.
            progress: show a progress bar.

        Returns:
            The outcome frame, one row per id in order.

        Raises:
            InputError: no REST object is on record for ``object``, or ``transaction=True``
                over more than ``batch_size`` records.
            IncompleteWriteError: the run stopped part way; ``.outcomes`` says what is known.
        """
        target = self._target(object)
        writes = [
            RestWrite(
                row=row,
                obj=target,
                key=str(k),
                control_id=control_id("delete", target.xml, str(k)),
                body={},
                record_key=str(k),
            )
            for row, k in enumerate(ids)
        ]
        return self._run("delete", writes, transaction=transaction, progress=progress)

    def create_sales_orders(
        self, orders: Iterable[SalesOrder], *, progress: bool = False
    ) -> pd.DataFrame:
        """Create order-entry documents (``order-entry/document::<definition>``, §3.3), once
        each; the outcome's ``id`` is the document id (``Sales Order-SO0042``).

        Args:
            orders: the orders, each with its lines.
            progress: show a progress bar.

        Returns:
            The outcome frame, one row per order in input order.

        Raises:
            InputError: an order value with no REST field on record (never dropped silently).
            IncompleteWriteError: the run stopped part way; ``.outcomes`` says what is known.
        """
        writes = []
        for row, order in enumerate(orders):
            target = _names.sales_document(order.transaction_type)
            body = sales_order_body(order, target)
            # Every header and line value of the order is sent or refused by name: one the name
            # map has no REST path for raises, never silently drops out of the order.
            header = {
                "DOCNO": order.document_no,
                "TERMNAME": order.term_name,
                "MESSAGE": order.message,
                "EXTERNALID": order.external_id,
                "CURRENCY": order.currency,
                "BASECURR": order.base_currency,
                "EXCHRATE": order.exchange_rate,
                "EXCHRATETYPE": order.exchange_rate_type,
                "EXCHRATEDATE": order.exchange_rate_date,
                **dict(order.custom_fields or {}),
            }
            given = {k: v for k, v in header.items() if v is not None and v != ""}
            _merge(body, self._rest_fields(target, given, row, lines=False))
            line_obj = _names.SALES_DOCUMENT_LINE
            for line, sent in zip(order.lines, body["lines"], strict=True):
                extra = {"ITEMDESC": line.description, "DISCOUNTPERCENT": line.discount_percent}
                given = {k: v for k, v in extra.items() if v is not None and v != ""}
                _merge(sent, self._rest_fields(line_obj, given, row, lines=False))
            writes.append(
                RestWrite(
                    row=row,
                    obj=target,
                    key=order.key,
                    control_id=create_control_id(order),
                    body=body,
                )
            )
        return self._run("create", writes, transaction=False, progress=progress)

    def _statistical_journal(self, symbol: str) -> bool:
        if symbol not in self._statistical:
            from intacct_sync.intacct.filters import equal_to

            found = self.query(
                "general-ledger/statistical-journal", select=["id"], filter=equal_to("id", symbol)
            )
            self._statistical[symbol] = len(found) > 0
        return self._statistical[symbol]

    def _writes(
        self,
        op: str,
        obj: str,
        items: list[Any],
        keys: Sequence[str] | None,
    ) -> list[RestWrite]:
        if keys is not None and len(keys) != len(items):
            raise InputError(
                f"keys has {len(keys)} item(s) for {len(items)} record(s)", field="keys"
            )
        writes: list[RestWrite] = []
        occurrences: dict[str, int] = {}
        for row, item in enumerate(items):
            if isinstance(item, Mapping):
                xml_obj = obj
                fields = nest_fields(item, row)
                identity = None
            else:
                xml_obj = obj
                fields = item.to_fields()
                identity = item.key
            if keys is not None:
                identity = str(keys[row])
            statistical = False
            if xml_obj.upper() == "GLBATCH":
                if isinstance(item, JournalEntry):
                    statistical = item.statistical
                elif fields.get("JOURNAL"):
                    statistical = self._statistical_journal(str(fields["JOURNAL"]))
            target = self._with_udds(self._target(xml_obj, statistical=statistical))
            record_key = None
            if op == "update":
                record_key = _text(fields.pop("RECORDNO", None)) or None
            body = self._rest_fields(target, fields, row)
            if identity is None or op == "update":
                # Only a record without an identity is known by its content.
                content = json.dumps(body, sort_keys=True, default=str)
                basis = content if identity is None else f"{identity}|{content}"
                occurrence = occurrences.get(basis, 0)
                occurrences[basis] = occurrence + 1
                cid = control_id(op, target.xml, f"{basis}|{occurrence}")
            else:
                cid = (
                    create_control_id(item, key=identity)
                    if not isinstance(item, Mapping)
                    else control_id(op, target.xml, identity)
                )
            id_value = _text(fields.get(target.id_field)) if target.id_field else ""
            writes.append(
                RestWrite(
                    row=row,
                    obj=target,
                    key=identity or id_value or (record_key or ""),
                    control_id=cid,
                    body=body,
                    record_key=record_key,
                )
            )
        if op == "update":
            writes = self._resolve_keys(writes)
        return writes

    def _resolve_keys(self, writes: list[RestWrite]) -> list[RestWrite]:
        # PATCH paths and batch items take the system key (§3, §7.1); find it by id.
        missing: dict[str, list[int]] = {}
        for i, w in enumerate(writes):
            if w.record_key is None and w.obj.id_field:
                missing.setdefault(w.obj.path, []).append(i)
        out = list(writes)
        for path, indexes in missing.items():
            ids = [str(get_path(writes[i].body, "id") or "") for i in indexes]
            found = self.query(
                path, select=["key", "id"], filter={"id": [i for i in ids if i] or ["-"]}
            )
            by_id = {str(i): str(k) for k, i in zip(found["key"], found["id"], strict=True)}
            for i, ident in zip(indexes, ids, strict=True):
                if ident in by_id:
                    out[i] = attrs.evolve(out[i], record_key=by_id[ident])
        return out

    def _rest_fields(
        self, target: RestObject, fields: Mapping[str, Any], row: int, *, lines: bool = True
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        line_coll = target.line_collection
        for name, value in flatten(fields):
            if value is None:
                continue
            if lines and line_coll and name == line_coll[0]:
                assert target.lines is not None
                line_obj = self._with_udds(target.lines[1])
                body[target.lines[0]] = [
                    self._rest_fields(line_obj, line_fields(line, line_coll[1], row), row)
                    for line in value
                ]
                continue
            field = target.by_xml.get(name.upper())
            if field is None:
                path = self._unmapped(target, name, row)
            elif field.read_only:
                continue
            else:
                self._check_inferred(target, field, row)
                path = field.rest
            wire_value = wire.rest_value(value, row=row, field=name)
            if field is not None:
                if field.kind == "date" and isinstance(wire_value, str):
                    wire_value = wire.iso_date(wire_value, row=row, field=name)
                wire_value = field.to_rest(wire_value)
            set_path(body, path, wire_value)
        return body

    def _unmapped(self, target: RestObject, name: str, row: int) -> str:
        if name != name.upper():
            return name  # already a REST path (custom fields are named per company)
        raise InputError(
            f"{target.xml} field has no REST name on record (nor in the company's model); "
            "pass the REST field path instead",
            row=row,
            field=name,
        )

    def _run(
        self, op: str, writes: list[RestWrite], *, transaction: bool, progress: bool
    ) -> pd.DataFrame:
        if transaction and len(writes) > self.batch_size:
            raise InputError(
                f"transaction=True writes at most batch_size={self.batch_size} records in one "
                f"request; got {len(writes)}",
                field="transaction",
            )
        rows: dict[int, dict[str, Any]] = {}
        batches: list[list[RestWrite]] = []
        by_path: dict[str, list[RestWrite]] = {}
        for w in writes:
            by_path.setdefault(w.obj.path, []).append(w)
        for group in by_path.values():
            if transaction and len(by_path) > 1:
                raise InputError(
                    "transaction=True needs records of one REST object", field="transaction"
                )
            batches += [
                group[i : i + self.batch_size] for i in range(0, len(group), self.batch_size)
            ]
        with progress_bar(
            enabled=progress, desc=f"intacct {op}", total=len(writes), unit="records"
        ) as bar:
            for n, batch in enumerate(batches):
                try:
                    for outcome in self._send_batch(op, batch, transaction=transaction):
                        rows[outcome["row"]] = outcome
                except IntacctSyncError as exc:
                    for w in batch:
                        rows[w.row] = outcome_row(op, w, "unknown", errors=str(exc))
                    for later in batches[n + 1 :]:
                        for w in later:
                            rows[w.row] = outcome_row(op, w, "not_sent")
                    frame = outcomes.outcome_frame([rows[k] for k in sorted(rows)], INTACCT_EXTRAS)
                    raise IncompleteWriteError(
                        f"{op} stopped after {sum(len(b) for b in batches[:n])} of {len(writes)} "
                        f"record(s): {exc}; rerun the same write to finish (each request carries "
                        "an Idempotency-Key)",
                        outcomes=frame,
                    ) from exc
                bar.update(len(batch))
        frame = outcomes.outcome_frame([rows[w.row] for w in writes], INTACCT_EXTRAS)
        log.info(
            "intacct rest %s: %d record(s) %s",
            op,
            len(frame),
            frame["status"].value_counts().to_dict() if len(frame) else {},
        )
        return frame

    def _send_batch(
        self, op: str, batch: list[RestWrite], *, transaction: bool
    ) -> list[dict[str, Any]]:
        target = batch[0].obj
        headers: dict[str, str] = {}
        if transaction:
            headers[wire.TRANSACTION_HEADER] = "true"
        what = f"intacct {op} {target.path} x{len(batch)}"
        todo = [w for w in batch if op != "update" or w.record_key]
        sent = {w.row for w in todo}
        results: dict[int, dict[str, Any]] = {
            w.row: outcome_row(
                op, w, "failed", errors=f"no {target.xml} with this id", codes="notFound"
            )
            for w in batch
            if w.row not in sent
        }
        if not todo:
            return [results[w.row] for w in batch]
        if op == "delete":
            url = wire.object_url(self.base_url, target.path, [w.record_key or "" for w in todo])
            # A repeated DELETE deletes nothing more (§7.4: DELETE is idempotent already).
            response, data = self._write_request(
                "DELETE", url, None, headers, what, idempotent=True
            )
        else:
            # §7.4: the key goes on POST and PATCH; §7.1: batches are arrays, one record an object.
            headers[wire.IDEMPOTENCY_HEADER] = wire.idempotency_key([w.control_id for w in todo])
            if op == "create":
                url = wire.object_url(self.base_url, target.path)
                body: Any = todo[0].body if len(todo) == 1 else [w.body for w in todo]
            elif len(todo) == 1:
                url = wire.object_url(self.base_url, target.path, [todo[0].record_key or ""])
                body = todo[0].body
            else:
                url = wire.object_url(self.base_url, target.path)
                body = [{**w.body, "key": w.record_key} for w in todo]
            response, data = self._write_request(
                "POST" if op == "create" else "PATCH",
                url,
                body,
                headers,
                what,
                idempotent=self._supports_idempotency(target),
            )
        results.update(
            batch_outcomes(
                op,
                todo,
                status=response.status,
                data=data,
                replay=response.header(wire.CACHED_DATE_HEADER) is not None,
                transaction=transaction,
            )
        )
        return [results[w.row] for w in batch]


# -- helpers -----------------------------------------------------------------------------------


def _records(records: pd.DataFrame | Iterable[Any]) -> list[Any]:
    if isinstance(records, pd.DataFrame):
        return frames.frame_to_records(records)
    return list(records)


def _merge(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for name, value in extra.items():
        inner = body.get(name)
        if isinstance(inner, dict) and isinstance(value, Mapping):
            _merge(inner, value)
        else:
            body[name] = value


def _text(value: Any) -> str:
    return "" if value is None else str(value)

"""Writes of the XML client: many functions per request, each under a deterministic control
id with ``uniqueid=true``; each public call is served by the REST backend when the client
speaks REST.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Unpack

import pandas as pd
from lxml import etree

from intacct_sync import frames
from intacct_sync._http.progress import progress as progress_bar
from intacct_sync.errors import IncompleteWriteError, InputError, IntacctSyncError, ProtocolError
from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._call_forms import (
    DeleteByName,
    WriteByName,
    WriteRecords,
    one_of,
    write_arguments,
)
from intacct_sync.intacct._protocol import Function
from intacct_sync.intacct._session import XmlSession
from intacct_sync.intacct._writes import (
    OUTCOME_COLUMNS,
    PendingWrite,
    canonical_fields,
    control_id,
    create_control_id,
    id_value,
    nest_fields,
    outcome,
    outcome_frame,
    replay_kind,
    result_outcome,
)
from intacct_sync.intacct.models import IntacctRecord, SalesOrder

__all__ = ["OUTCOME_COLUMNS", "XmlWrites"]

log = logging.getLogger("intacct_sync.intacct")


class XmlWrites(XmlSession):
    """Batched idempotent writes (a mixin of :class:`~intacct_sync.IntacctClient`)."""

    def create(
        self,
        object: str | WriteRecords | None = None,
        records: WriteRecords | None = None,
        /,
        *,
        keys: Sequence[str] | None = None,
        transaction: bool = False,
        progress: bool = False,
        **by_name: Unpack[WriteByName],
    ) -> pd.DataFrame:
        """Create records of ``object``; one outcome row per record, in input order.

        ``ia.create("CUSTOMER", records)``, the same shape as ``SalesforceClient.create``. The
        old form ``ia.create(records, object="CUSTOMER")`` (or ``ia.create(models)``) still
        works for one release and warns with a :class:`DeprecationWarning`.

        Records are attrs models (``Customer``, ``JournalEntry``...), mappings of Intacct field
        names, or DataFrame rows (dotted column names such as ``DISPLAYCONTACT.EMAIL1`` nest).
        Each record's control id derives from its identity: the model's ``key``, the given
        ``keys``, else a hash of its content and its rank among identical records, so running
        the same create again is refused by the gateway instead of writing twice (such rows
        come back with status ``already_done`` and ``done`` true).

        Args:
            object: the Intacct object (``CUSTOMER``, ``GLBATCH``); a model's own ``OBJECT``
                must be the same.
            records: what to create.
            keys: an identity per record (e.g. the CRM id it came from).
            transaction: all or nothing: if one record fails none is kept, and the others come
                back ``aborted`` (at most ``batch_size`` records).
            progress: show a progress bar.
            **by_name: ``object=`` and ``records=`` given by name (the old
                ``create(records, object=...)`` form warns).

        Returns:
            The outcome frame (:data:`OUTCOME_COLUMNS`).

        Raises:
            InputError: a record cannot be written as given (names the row and field).
            IncompleteWriteError: the run stopped part way; ``.outcomes`` says what is known.
        """
        obj, items = write_arguments("create", object, records, by_name)
        if self._rest is not None:
            rows = items if isinstance(items, pd.DataFrame) else list(items)
            return self._rest.create(
                _rest_object(obj, rows),
                rows,
                keys=keys,
                transaction=transaction,
                progress=progress,
            )
        writes = self._writes("create", items, obj, keys, fn.create)
        return self._write(writes, transaction=transaction, progress=progress, what="create")

    def update(
        self,
        object: str | WriteRecords | None = None,
        records: WriteRecords | None = None,
        /,
        *,
        keys: Sequence[str] | None = None,
        transaction: bool = False,
        progress: bool = False,
        **by_name: Unpack[WriteByName],
    ) -> pd.DataFrame:
        """Update records of ``object`` (each names ``RECORDNO`` or its ID field).

        ``ia.update("CUSTOMER", records)``; arguments, old form and outcome as in
        :meth:`create`. An update's control id covers its content as well as its identity: the
        same change sent twice runs once, a different change to the same record runs.

        Args:
            object: object name.
            records: records (mappings or models), each naming its key field.
            keys: the outcome ``key`` of each record (default: its key field).
            transaction: all or nothing per request.
            progress: show a progress bar (needs tqdm).
            **by_name: ``object=`` and ``records=`` given by name (the old
                ``update(records, object=...)`` form warns).

        Returns:
            The outcome frame (:data:`OUTCOME_COLUMNS`).

        Raises:
            InputError: a record cannot be written as given (names the row and field).
            IncompleteWriteError: the run stopped part way; ``.outcomes`` says what is known.
        """
        obj, items = write_arguments("update", object, records, by_name)
        if self._rest is not None:
            rows = items if isinstance(items, pd.DataFrame) else list(items)
            return self._rest.update(
                _rest_object(obj, rows),
                rows,
                keys=keys,
                transaction=transaction,
                progress=progress,
            )
        writes = self._writes("update", items, obj, keys, fn.update)
        return self._write(writes, transaction=transaction, progress=progress, what="update")

    def delete(
        self,
        object: str | None = None,
        ids: Iterable[int | str] | None = None,
        /,
        *,
        transaction: bool = False,
        progress: bool = False,
        **by_name: Unpack[DeleteByName],
    ) -> pd.DataFrame:
        """Delete records of ``object`` by ``RECORDNO``; one outcome row per id, in order.

        ``ia.delete("CLASS", [6, 7])``, the same shape as ``SalesforceClient.delete``; the old
        keyword ``keys=`` still works for one release and warns with a
        :class:`DeprecationWarning`.

        Args:
            object: the Intacct object.
            ids: the records' ``RECORDNO`` values.
            transaction: all or nothing (see :meth:`create`).
            progress: show a progress bar.
            **by_name: ``object=`` and ``ids=`` given by name (the old ``keys=`` warns).

        Returns:
            The outcome frame (:data:`OUTCOME_COLUMNS`).

        Raises:
            IncompleteWriteError: the run stopped part way; ``.outcomes`` says what is known.
        """
        obj = one_of("delete", "object", object, by_name.get("object"))
        ids = one_of("delete", "ids", ids, by_name.get("ids"))
        if "keys" in by_name:
            warnings.warn(
                "ia.delete(object, keys=...) is deprecated and will be removed in the next "
                "release; use ia.delete(object, ids)",
                DeprecationWarning,
                stacklevel=2,
            )
            ids = one_of("delete", "ids", ids, by_name["keys"])
        if obj is None or ids is None:
            raise TypeError("delete() needs the object and the ids: ia.delete(object, ids)")
        if self._rest is not None:
            return self._rest.delete(obj, ids, transaction=transaction, progress=progress)
        writes = []
        for row, key in enumerate(ids):
            text = str(key)
            cid = control_id("delete", obj, text)
            writes.append(
                PendingWrite(
                    row=row,
                    obj=obj,
                    key=text,
                    function=Function(control_id=cid, body=fn.delete(obj, text), is_write=True),
                )
            )
        return self._write(writes, transaction=transaction, progress=progress, what="delete")

    def control_id_for(
        self,
        record: IntacctRecord | SalesOrder,
        *,
        op: Literal["create", "update"] = "create",
        key: str | None = None,
    ) -> str:
        """The control id a write of ``record`` is sent under (without sending anything).

        Workflows write it to their ledger *before* posting, so a crash between sending and
        recording can be finished by a rerun under the same id.

        Args:
            record: a model (``JournalEntry``, ``Customer``...) or a ``SalesOrder``.
            op: ``create`` or ``update`` (an update's id also covers its content).
            key: the identity, when it is not the model's ``key``.

        Returns:
            The control id (the same for the same record key, on every run).
        """
        if op == "create" or isinstance(record, SalesOrder):
            return create_control_id(record, key=key)
        writes = self._writes(op, [record], None, None if key is None else [key], fn.update)
        return writes[0].function.control_id

    def create_sales_orders(
        self, orders: Iterable[SalesOrder], *, progress: bool = False
    ) -> pd.DataFrame:
        """Create order-entry transactions with ``create_sotransaction``, once each.

        The control id derives from each order's ``key`` (the CRM opportunity id); the outcome's
        ``id`` column holds the document id Intacct returns (``Sales Order-SO0042``).

        Args:
            orders: the sales orders (:class:`~intacct_sync.intacct.models.SalesOrder`).
            progress: show a progress bar (needs tqdm).

        Returns:
            The outcome frame: one row per order, in the outcome contract's columns.
        """
        if self._rest is not None:
            return self._rest.create_sales_orders(orders, progress=progress)
        writes = []
        for row, order in enumerate(orders):
            body = fn.create_sotransaction(**order.sotransaction_arguments())
            cid = create_control_id(order)
            writes.append(
                PendingWrite(
                    row=row,
                    obj="SODOCUMENT",
                    key=order.key,
                    function=Function(control_id=cid, body=body, is_write=True),
                )
            )
        return self._write(
            writes, transaction=False, progress=progress, what="create_sotransaction"
        )

    def _writes(
        self,
        op: str,
        records: pd.DataFrame | Iterable[IntacctRecord | Mapping[str, Any]],
        obj: str | None,
        keys: Sequence[str] | None,
        build: Callable[[str, Mapping[str, Any]], etree._Element],
    ) -> list[PendingWrite]:
        items: list[Any] = (
            frames.frame_to_records(records) if isinstance(records, pd.DataFrame) else list(records)
        )
        if keys is not None and len(keys) != len(items):
            raise InputError(
                f"keys has {len(keys)} item(s) for {len(items)} record(s)", field="keys"
            )
        writes: list[PendingWrite] = []
        occurrences: dict[str, int] = {}
        for row, item in enumerate(items):
            if isinstance(item, Mapping):
                if obj is None:
                    raise InputError("object= is required for mappings and DataFrames", row=row)
                record_obj = obj
                fields = nest_fields(item, row)
                identity = None
            else:
                record_obj = item.OBJECT
                fields = item.to_fields()
                identity = item.key
            if keys is not None:
                identity = str(keys[row])
            try:
                body = build(record_obj, fields)
            except (TypeError, ValueError) as exc:
                raise InputError(f"cannot write record: {exc}", row=row) from None
            # The identity of unkeyed records is their content with amounts canonical, so the
            # same record written 10.0 and then 10.00 is one record, not two postings.
            content = etree.tostring(build(record_obj, canonical_fields(fields)))
            if identity is None or op == "update":
                basis = content.decode() if identity is None else f"{identity}|{content.decode()}"
                occurrence = occurrences.get(basis, 0)
                occurrences[basis] = occurrence + 1
                identity_text = f"{basis}|{occurrence}"
            else:
                identity_text = identity
            writes.append(
                PendingWrite(
                    row=row,
                    obj=record_obj,
                    key=identity or id_value(record_obj, fields),
                    function=Function(
                        control_id=control_id(op, record_obj, identity_text),
                        body=body,
                        is_write=True,
                    ),
                )
            )
        return writes

    def _write(
        self, writes: list[PendingWrite], *, transaction: bool, progress: bool, what: str
    ) -> pd.DataFrame:
        if transaction and len(writes) > self.batch_size:
            raise InputError(
                f"transaction=True writes at most batch_size={self.batch_size} records in one "
                f"request; got {len(writes)}",
                field="transaction",
            )
        outcomes: list[dict[str, Any]] = []
        with progress_bar(
            enabled=progress, desc=f"intacct {what}", total=len(writes), unit="records"
        ) as bar:
            for start in range(0, len(writes), self.batch_size):
                batch = writes[start : start + self.batch_size]
                try:
                    outcomes.extend(self._write_batch(batch, transaction=transaction, what=what))
                except IntacctSyncError as exc:
                    outcomes.extend(outcome(w, "unknown", errors=str(exc)) for w in batch)
                    outcomes.extend(
                        outcome(w, "not_sent") for w in writes[start + self.batch_size :]
                    )
                    raise IncompleteWriteError(
                        f"{what} stopped after {start} of {len(writes)} record(s): {exc}; "
                        "rerun the same write to finish (already written records are refused "
                        "by their control id and come back already_done)",
                        outcomes=outcome_frame(outcomes),
                    ) from exc
                bar.update(len(batch))
        frame = outcome_frame(outcomes)
        counts = frame["status"].value_counts().to_dict() if len(frame) else {}
        log.info("intacct %s: %d record(s) %s", what, len(frame), counts)
        return frame

    def _write_batch(
        self, batch: list[PendingWrite], *, transaction: bool, what: str
    ) -> list[dict[str, Any]]:
        pending = list(batch)
        done: dict[int, dict[str, Any]] = {}
        for attempt in range(self.retry.max_retries + 1):
            response = self.execute(
                [w.function for w in pending],
                unique_id=True,
                transaction=transaction,
                what=f"intacct {what} x{len(pending)}",
            )
            if len(response.results) != len(pending):
                raise ProtocolError(
                    f"sent {len(pending)} function(s), got {len(response.results)} result(s)"
                )
            retry_later = []
            for write, result in zip(pending, response.results, strict=True):
                if not transaction and replay_kind(result, write.function.control_id) == (
                    "in_process"
                ):
                    retry_later.append(write)
                else:
                    done[write.row] = result_outcome(write, result)
            if not retry_later:
                break
            if attempt == self.retry.max_retries:
                for write in retry_later:
                    done[write.row] = outcome(
                        write, "unknown", errors="still in process at the gateway"
                    )
                break
            pending = retry_later
            self._sleep(self.retry.delay(attempt + 1, None, lambda: 1.0))
        return [done[w.row] for w in batch]


def _rest_object(obj: str | None, items: WriteRecords) -> str:
    # Models carry their object; the REST backend is always told it (one call, one object).
    if obj is not None:
        return obj
    found = {str(getattr(item, "OBJECT", "")) for item in items if not isinstance(item, Mapping)}
    if len(found) != 1:
        raise InputError(
            "name the object: ia.create(object, records)", field="object", value=sorted(found)
        )
    return found.pop()

"""Sending a masters plan's writes: batched, idempotent, in crash-safe order.

:func:`write_object` is the only code of the masters sync that writes to Salesforce or Intacct;
:func:`~intacct_sync.o2c.masters.apply_masters` calls it per object and then records the id map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import IncompleteWriteError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.o2c.mapping import PRICE_FIELD, ObjectMapping, canon, wire
from intacct_sync.o2c.masters_report import MastersReport
from intacct_sync.o2c.matching import MasterChange
from intacct_sync.o2c.snapshots import read_prices
from intacct_sync.salesforce.client import SalesforceClient

__all__: list[str] = []


def _merge(
    changes: Iterable[MasterChange], key: Callable[[MasterChange], str]
) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for change in changes:
        target = merged.setdefault(key(change), {})
        for field, (_before, after) in change.changes.items():
            target[field] = after
    return merged


def _wire_sf(mapping: ObjectMapping, field: str, value: Any) -> Any:
    for fm in mapping.fields:
        if fm.salesforce == field:
            return wire(fm.kind, canon(fm.kind, value), "salesforce")
    return value


def _wire_ia(mapping: ObjectMapping, field: str, value: Any) -> Any:
    for fm in mapping.fields:
        if fm.intacct == field:
            return wire(fm.kind, canon(fm.kind, value), "intacct")
    return value


def write_object(
    sf: SalesforceClient,
    ia: IntacctClient,
    mapping: ObjectMapping,
    changes: list[MasterChange],
    result: MastersReport,
    pricebook_id: str | None,
) -> None:
    """Send one object's planned writes, in the order that makes a crash safe to rerun.

    Args:
        sf: the Salesforce client.
        ia: the Intacct client.
        mapping: the object's field mapping.
        changes: the object's planned changes (conflicts are not written).
        result: the report to record each write's outcome in.
        pricebook_id: the price book new products' prices go in; None creates no prices.

    Raises:
        IncompleteWriteError: a batch stopped part way (``result`` holds what is known).
    """
    obj = mapping.name
    writes = [c for c in changes if c.target and c.action != "conflict"]
    # 1. Salesforce external ids first: a crash after the Intacct create is then matched by id.
    links = _merge(
        (c for c in writes if c.action == "link" and c.target == "salesforce"),
        lambda c: str(c.salesforce_id),
    )
    if links:
        records = [{"Id": sid, **fields} for sid, fields in links.items()]
        _sf_write(
            result, "update", obj, records, lambda r: r["Id"], lambda: sf.update(obj, records)
        )
    # 2. Intacct creates, keyed by the new id (a repeat is refused as a duplicate = done).
    creates = [c for c in writes if c.action == "create" and c.target == "intacct"]
    if creates:
        rows = [{k: _wire_ia(mapping, k, v) for k, (_b, v) in c.changes.items()} for c in creates]
        keys = [str(c.intacct_id) for c in creates]
        _ia_write(
            result,
            "create",
            mapping,
            keys,
            lambda: ia.create(mapping.intacct_object, rows, keys=keys),
        )
    # 3. Intacct updates and deactivations, one record each with every changed field.
    ia_updates = _merge(
        (c for c in writes if c.target == "intacct" and c.action in ("update", "deactivate")),
        lambda c: str(c.intacct_id),
    )
    if ia_updates:
        rows = [
            {mapping.intacct_id_field: iid, **{k: _wire_ia(mapping, k, v) for k, v in f.items()}}
            for iid, f in ia_updates.items()
        ]
        keys = list(ia_updates)
        _ia_write(
            result,
            "update",
            mapping,
            keys,
            lambda: ia.update(mapping.intacct_object, rows),
        )
    # 4. Salesforce creates as upserts by external id (safe to repeat).
    sf_creates = [c for c in writes if c.action == "create" and c.target == "salesforce"]
    price_creates: list[tuple[str, Any]] = []
    if sf_creates:
        records = []
        for c in sf_creates:
            fields = {k: _wire_sf(mapping, k, v) for k, (_b, v) in c.changes.items()}
            price = fields.pop(PRICE_FIELD, None)
            if price is not None:
                price_creates.append((str(c.intacct_id), price))
            records.append(fields)
        frame = _sf_write(
            result,
            "upsert",
            obj,
            records,
            lambda r: r[mapping.salesforce_key_field],
            lambda: sf.upsert(obj, records, external_id_field=mapping.salesforce_key_field),
        )
        if frame is not None:
            for rec, row in zip(records, frames.frame_to_records(frame), strict=True):
                if row.get("id"):
                    result.created_ids[(obj, rec[mapping.salesforce_key_field])] = str(row["id"])
    # 5. Salesforce updates and deactivations; prices go to the standard price book entry.
    sf_updates = _merge(
        (c for c in writes if c.target == "salesforce" and c.action in ("update", "deactivate")),
        lambda c: str(c.salesforce_id),
    )
    price_updates: list[tuple[str, Any]] = []
    records = []
    for sid, fields in sf_updates.items():
        wired = {k: _wire_sf(mapping, k, v) for k, v in fields.items()}
        if PRICE_FIELD in wired:
            price_updates.append((sid, wired.pop(PRICE_FIELD)))
        if wired:
            records.append({"Id": sid, **wired})
    if records:
        _sf_write(
            result, "update", obj, records, lambda r: r["Id"], lambda: sf.update(obj, records)
        )
    if mapping.name == "Product2" and (price_creates or price_updates):
        _apply_prices(sf, pricebook_id, result, price_creates, price_updates)


def _apply_prices(
    sf: SalesforceClient,
    book: str | None,
    result: MastersReport,
    creates: list[tuple[str, Any]],
    updates: list[tuple[str, Any]],
) -> None:
    _, existing = read_prices(sf)  # re-read: a crashed earlier run may have created some already
    product_ids = [(result.created_ids.get(("Product2", iid)), price) for iid, price in creates]
    todo = [(pid, price) for pid, price in product_ids if pid] + list(updates)
    new, changed = [], []
    for pid, price in todo:
        if pid in existing:
            changed.append({"Id": existing[pid][0], "UnitPrice": price})
        elif book is not None and price is not None:
            new.append(
                {"Pricebook2Id": book, "Product2Id": pid, "UnitPrice": price, "IsActive": True}
            )
    if changed:
        _sf_write(
            result,
            "update",
            "PricebookEntry",
            changed,
            lambda r: r["Id"],
            lambda: sf.update("PricebookEntry", changed),
        )
    if new:
        _sf_write(
            result,
            "create",
            "PricebookEntry",
            new,
            lambda r: r["Product2Id"],
            lambda: sf.create("PricebookEntry", new),
        )


def _sf_write(
    result: MastersReport,
    operation: str,
    obj: str,
    records: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], Any],
    call: Callable[[], pd.DataFrame],
) -> pd.DataFrame | None:
    try:
        frame = call()
    except IncompleteWriteError as exc:
        result.incomplete = True
        _sf_outcomes(result, operation, obj, records, key, _outcomes(exc))
        raise
    _sf_outcomes(result, operation, obj, records, key, frame)
    return frame


def _sf_outcomes(
    result: MastersReport,
    operation: str,
    obj: str,
    records: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], Any],
    frame: pd.DataFrame | None,
) -> None:
    by_row = {int(r["row"]): r for r in frames.frame_to_records(frame)} if frame is not None else {}
    for n, record in enumerate(records):
        row = by_row.get(n)
        status = str(row["status"]) if row else "not_sent"
        done = bool(row and row.get("done"))
        result.add(
            "salesforce", operation, obj, str(key(record)), status, done, row and row.get("errors")
        )


def _ia_write(
    result: MastersReport,
    operation: str,
    mapping: ObjectMapping,
    keys: list[str],
    call: Callable[[], pd.DataFrame],
) -> None:
    try:
        frame = call()
    except IncompleteWriteError as exc:
        result.incomplete = True
        _ia_outcomes(result, operation, mapping, keys, _outcomes(exc))
        raise
    _ia_outcomes(result, operation, mapping, keys, frame)


def _ia_outcomes(
    result: MastersReport,
    operation: str,
    mapping: ObjectMapping,
    keys: list[str],
    frame: pd.DataFrame | None,
) -> None:
    by_row = {int(r["row"]): r for r in frames.frame_to_records(frame)} if frame is not None else {}
    for n, key in enumerate(keys):
        row = by_row.get(n)
        status = str(row["status"]) if row else "not_sent"
        done = bool(row and row.get("done"))
        if row and row.get("RECORDNO") is not None:
            result.record_nos[(mapping.name, key)] = str(row["RECORDNO"])
        result.add(
            "intacct",
            operation,
            mapping.intacct_object,
            key,
            status,
            done,
            row and row.get("errors"),
        )


def _outcomes(exc: IncompleteWriteError) -> pd.DataFrame:
    return exc.outcomes

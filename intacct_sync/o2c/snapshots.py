"""Reading the masters: both systems' records and the stored sync state as frozen snapshots.

:func:`read_masters` is the only part of the masters sync that reads Salesforce and Intacct;
:meth:`StoredMasters.read` the only part that reads the state store. What they return is plain
frozen data, so :func:`~intacct_sync.o2c.masters.plan_masters` can be a pure function of it.

With watermarks from an earlier run (and ``MastersConfig.full`` off) an object is read
incrementally: the records modified since (per object and direction) plus the counterparts of
the mapped ones; a changed record that is not in the id map (and not ignored) makes the read
full, because matching it needs everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from zoneinfo import ZoneInfo

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.filters import query_string
from intacct_sync.o2c.mapping import (
    PRICE_FIELD,
    MastersConfig,
    ObjectMapping,
    Side,
    address_key,
    canon,
    domain_key,
    normalise_name,
)
from intacct_sync.o2c.timestamps import to_utc
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import IdMapping, StateStore

__all__ = [
    "MasterRecord",
    "MastersSnapshot",
    "ObjectSnapshot",
    "StoredMasters",
    "StoredObject",
    "read_masters",
]

ReadMode = Literal["full", "incremental", "full (new records)"]

#: The agreed values' key for the active flag (no mapped field is named like this).
ACTIVE = "(active)"
SHADOW_NS = "o2c.masters.shadow."
DECISION_NS = "o2c.masters.decisions."
PENDING_NS = "o2c.masters.pending"
_IN_CHUNK = 300


def watermark_name(obj: str, side: str) -> str:
    """The state store's watermark name for ``obj`` read from ``side``."""
    return f"o2c.masters.{obj}.{side}"


@attrs.frozen(kw_only=True)
class MasterRecord:
    """One customer or product as read from one side, in comparable form.

    Attributes:
        side: the system it was read from.
        id: its id there (Salesforce Id; Intacct ``CUSTOMERID``/``ITEMID``).
        name: its name as written.
        values: mapped field (by Salesforce name) -> canonical text (see ``mapping.canon``).
        active: not deactivated, flagged deleted or in the recycle bin.
        modified: the last modification, UTC.
        ext_key: Salesforce only: the external id holding the Intacct id.
        record_no: Intacct only: ``RECORDNO``.
        erased: Salesforce only: in the recycle bin (it cannot be updated any more).
        extra: side facts the writer needs (price book entry id, product code).
        match: the normalised baseline keys (``name``, ``domain``, ``address``), empty ones left
            out.
    """

    side: Side
    id: str
    name: str
    values: Mapping[str, str | None]
    active: bool
    modified: dt.datetime | None
    ext_key: str | None = None
    record_no: str | None = None
    erased: bool = False
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    match: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ObjectSnapshot:
    """What was read of one object (``Account``, ``Product2``) from both sides.

    Attributes:
        object: the Salesforce object name.
        salesforce: Salesforce Id -> record.
        intacct: Intacct id -> record.
        mode: ``full`` (everything), ``incremental`` (changes since the watermarks and their
            counterparts only) or ``full (new records)`` (incremental, widened because a new
            unmapped record needs matching).
    """

    object: str
    salesforce: Mapping[str, MasterRecord]
    intacct: Mapping[str, MasterRecord]
    mode: ReadMode = "full"

    @property
    def complete(self) -> bool:
        """Everything in scope was read (a record missing on one side is gone, not unread)."""
        return self.mode != "incremental"


@attrs.frozen(kw_only=True)
class MastersSnapshot:
    """Both systems' masters as read by :func:`read_masters`.

    Attributes:
        config: the configuration it was read with.
        objects: object name -> what was read.
        pricebook_id: the Salesforce standard price book (None: none, or products not read).
    """

    config: MastersConfig
    objects: Mapping[str, ObjectSnapshot]
    pricebook_id: str | None = None


@attrs.frozen(kw_only=True)
class StoredObject:
    """What the state store knows about one object's sync.

    Attributes:
        id_map: the linked pairs.
        agreed: Salesforce Id -> the values both sides last agreed on (mapped fields by
            Salesforce name, and the active flag).
        decisions: a person's decisions (:func:`~intacct_sync.o2c.masters.decide`) keyed by the
            Salesforce Id or ``i:`` + the Intacct id: ``distinct`` or ``ignore``.
        pending: the duplicate and ambiguous rows still waiting for a decision (as stored by the
            last full run), shown again by incremental runs.
        watermark_salesforce: the latest Salesforce modification read by the last complete run.
        watermark_intacct: the same for Intacct.
    """

    id_map: tuple[IdMapping, ...] = ()
    agreed: Mapping[str, Mapping[str, str | None]] = attrs.field(factory=dict)
    decisions: Mapping[str, str] = attrs.field(factory=dict)
    pending: tuple[Mapping[str, Any], ...] = ()
    watermark_salesforce: dt.datetime | None = None
    watermark_intacct: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class StoredMasters:
    """The stored sync state of every object (see :class:`StoredObject`)."""

    objects: Mapping[str, StoredObject] = attrs.field(factory=dict)

    def of(self, obj: str) -> StoredObject:
        """The stored state of ``obj`` (empty when nothing is stored).

        Args:
            obj: the mapped object.

        Returns:
            The object's stored id map, agreed values, decisions and watermarks.
        """
        return self.objects.get(obj) or StoredObject()

    @classmethod
    def read(cls, state: StateStore, config: MastersConfig | None = None) -> StoredMasters:
        """Read the id map, agreed values, decisions, pending rows and watermarks of ``state``.

        Args:
            state: the state store.
            config: the masters mapping (default mappings).

        Returns:
            What the store holds for every mapped object.
        """
        cfg = config or MastersConfig()
        objects: dict[str, StoredObject] = {}
        for mapping in cfg.mappings():
            obj = mapping.name
            decisions: dict[str, str] = {}
            for key, value in state.values(DECISION_NS + obj).items():
                side, _, rid = key.partition(":")
                decisions[rid if side == "salesforce" else f"i:{rid}"] = str(value)
            objects[obj] = StoredObject(
                id_map=tuple(state.id_map(obj)),
                agreed={k: dict(v) for k, v in state.values(SHADOW_NS + obj).items() if v},
                decisions=decisions,
                pending=tuple(state.get_value(PENDING_NS, obj) or ()),
                watermark_salesforce=state.get_watermark(watermark_name(obj, "salesforce")),
                watermark_intacct=state.get_watermark(watermark_name(obj, "intacct")),
            )
        return cls(objects=objects)


def read_masters(
    sf: SalesforceClient,
    ia: IntacctClient,
    stored: StoredMasters,
    config: MastersConfig | None = None,
) -> MastersSnapshot:
    """Read both systems' customers and products (only reads).

    Args:
        sf: the Salesforce client.
        ia: the Intacct client.
        stored: the stored sync state (its watermarks and id map decide what is read).
        config: mappings and time zone (default: :class:`MastersConfig`).

    Returns:
        A :class:`MastersSnapshot`.

    Raises:
        InputError: an unknown time zone.
    """
    cfg = config or MastersConfig()
    zone = cfg.zone()
    objects: dict[str, ObjectSnapshot] = {}
    pricebook_id: str | None = None
    for mapping in cfg.mappings():
        prices: dict[str, tuple[str, Any]] = {}
        if mapping.name == "Product2":
            pricebook_id, prices = read_prices(sf)
        objects[mapping.name] = _read_object(
            sf, ia, mapping, cfg, zone, prices, stored.of(mapping.name)
        )
    return MastersSnapshot(config=cfg, objects=objects, pricebook_id=pricebook_id)


def _read_object(
    sf: SalesforceClient,
    ia: IntacctClient,
    mapping: ObjectMapping,
    config: MastersConfig,
    zone: ZoneInfo,
    prices: Mapping[str, tuple[str, Any]],
    stored: StoredObject,
) -> ObjectSnapshot:
    obj = mapping.name
    id_map = {m.salesforce_id: m for m in stored.id_map}
    by_ia = {m.intacct_id: m.salesforce_id for m in stored.id_map}
    wm_sf, wm_ia = stored.watermark_salesforce, stored.watermark_intacct
    incremental = not config.full and wm_sf is not None and wm_ia is not None
    if incremental:
        sf_changed = sf_records(_read_sf(sf, mapping, since=wm_sf), mapping, prices)
        ia_changed = ia_records(_read_ia(ia, mapping, zone, since=wm_ia), mapping, zone)
        decided = stored.decisions
        new_sf = [r for r in sf_changed if r not in id_map and decided.get(r) != "ignore"]
        new_ia = [r for r in ia_changed if r not in by_ia and decided.get(f"i:{r}") != "ignore"]
        if not (new_sf or new_ia):
            # Fetch the counterparts of changed mapped records; nothing else is read. An
            # ignored record has no counterpart to fetch.
            want_ia = sorted(
                {id_map[s].intacct_id for s in sf_changed if s in id_map} - set(ia_changed)
            )
            want_sf = sorted({by_ia[i] for i in ia_changed if i in by_ia} - set(sf_changed))
            sf_recs = dict(sf_changed)
            ia_recs = dict(ia_changed)
            if want_ia:
                ia_recs.update(ia_records(_read_ia(ia, mapping, zone, ids=want_ia), mapping, zone))
            if want_sf:
                sf_recs.update(sf_records(_read_sf(sf, mapping, ids=want_sf), mapping, prices))
            return ObjectSnapshot(
                object=obj, salesforce=sf_recs, intacct=ia_recs, mode="incremental"
            )
    return ObjectSnapshot(
        object=obj,
        salesforce=sf_records(_read_sf(sf, mapping), mapping, prices),
        intacct=ia_records(_read_ia(ia, mapping, zone), mapping, zone),
        mode="full (new records)" if incremental else "full",
    )


# -- frames to records --------------------------------------------------------------------------


def _salesforce_fields(mapping: ObjectMapping) -> list[str]:
    fields = ["Id", "IsDeleted", "LastModifiedDate", "Is_Deleted__c", mapping.salesforce_key_field]
    if mapping.name == "Product2":
        fields += ["IsActive", "ProductCode"]
    if mapping.name == "Account":
        fields += ["Website", "BillingStreet", "BillingPostalCode"]
    fields += [f.salesforce for f in mapping.fields if f.salesforce != PRICE_FIELD]
    return list(dict.fromkeys(fields))


def _intacct_fields(mapping: ObjectMapping) -> list[str]:
    fields = ["RECORDNO", mapping.intacct_id_field, "NAME", "STATUS", "WHENMODIFIED"]
    if mapping.intacct_object == "CUSTOMER":
        fields += [
            "DISPLAYCONTACT.EMAIL1",
            "DISPLAYCONTACT.URL1",
            "DISPLAYCONTACT.MAILADDRESS.ADDRESS1",
            "DISPLAYCONTACT.MAILADDRESS.ZIP",
        ]
    fields += [f.intacct for f in mapping.fields]
    return list(dict.fromkeys(fields))


def _row_value(row: Mapping[str, Any], name: str) -> Any:
    value = row.get(name)
    return None if value is pd.NA else value


def sf_records(
    frame: pd.DataFrame, mapping: ObjectMapping, prices: Mapping[str, tuple[str, Any]]
) -> dict[str, MasterRecord]:
    records: dict[str, MasterRecord] = {}
    for row in frames.frame_to_records(frame):
        rid = str(row["Id"])
        values: dict[str, str | None] = {}
        for fm in mapping.fields:
            raw = prices.get(rid, (None, None))[1] if fm.salesforce == PRICE_FIELD else None
            if fm.salesforce != PRICE_FIELD:
                raw = _row_value(row, fm.salesforce)
            values[fm.salesforce] = canon(fm.kind, raw)
        erased = bool(_row_value(row, "IsDeleted"))
        flagged = bool(_row_value(row, "Is_Deleted__c"))
        active = not (erased or flagged)
        if mapping.name == "Product2" and _row_value(row, "IsActive") is False:
            active = False
        match = {
            "name": normalise_name(_row_value(row, "Name")),
            "domain": domain_key(_row_value(row, "Website")),
            "address": address_key(
                _row_value(row, "BillingStreet"), _row_value(row, "BillingPostalCode")
            ),
        }
        extra: dict[str, Any] = {}
        if rid in prices:
            extra["pricebook_entry_id"] = prices[rid][0]
        if mapping.name == "Product2":
            extra["product_code"] = canon("text", _row_value(row, "ProductCode"))
        records[rid] = MasterRecord(
            side="salesforce",
            id=rid,
            name=str(_row_value(row, "Name") or ""),
            values=values,
            active=active,
            modified=to_utc(_row_value(row, "LastModifiedDate"), None),
            ext_key=canon("text", _row_value(row, mapping.salesforce_key_field)),
            erased=erased,
            extra=extra,
            match={k: v for k, v in match.items() if v},
        )
    return records


def ia_records(
    frame: pd.DataFrame, mapping: ObjectMapping, zone: ZoneInfo
) -> dict[str, MasterRecord]:
    records: dict[str, MasterRecord] = {}
    for row in frames.frame_to_records(frame):
        rid = str(row[mapping.intacct_id_field])
        values = {
            fm.salesforce: canon(fm.kind, _row_value(row, fm.intacct)) for fm in mapping.fields
        }
        match = {
            "name": normalise_name(_row_value(row, "NAME")),
            "domain": domain_key(_row_value(row, "DISPLAYCONTACT.EMAIL1"))
            or domain_key(_row_value(row, "DISPLAYCONTACT.URL1")),
            "address": address_key(
                _row_value(row, "DISPLAYCONTACT.MAILADDRESS.ADDRESS1"),
                _row_value(row, "DISPLAYCONTACT.MAILADDRESS.ZIP"),
            ),
        }
        records[rid] = MasterRecord(
            side="intacct",
            id=rid,
            name=str(_row_value(row, "NAME") or ""),
            values=values,
            active=str(_row_value(row, "STATUS") or "active").lower() in ("active", "t", "true"),
            modified=to_utc(_row_value(row, "WHENMODIFIED"), zone),
            record_no=None if row.get("RECORDNO") is None else str(row["RECORDNO"]),
            match={k: v for k, v in match.items() if v},
        )
    return records


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _read_sf(
    sf: SalesforceClient,
    mapping: ObjectMapping,
    *,
    since: dt.datetime | None = None,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    base = f"SELECT {', '.join(_salesforce_fields(mapping))} FROM {mapping.name}"
    conditions = [f"({mapping.salesforce_where})"] if mapping.salesforce_where else []
    if ids is not None:
        pages = [
            sf.query_all(base + " WHERE " + " AND ".join([*conditions, soql("Id IN {}", chunk)]))
            for chunk in _chunks(list(ids))
        ]
        return pages[0] if len(pages) == 1 else pd.concat(pages, ignore_index=True)
    if since is not None:
        conditions.append(soql("LastModifiedDate >= {}", since))
    # Always a WHERE: the sandbox's queryAll rejects a query without one (an emulator bug).
    return sf.query_all(base + " WHERE " + " AND ".join(conditions or ["Id != null"]))


def _read_ia(
    ia: IntacctClient,
    mapping: ObjectMapping,
    zone: ZoneInfo,
    *,
    since: dt.datetime | None = None,
    ids: Sequence[str] | None = None,
) -> pd.DataFrame:
    fields = _intacct_fields(mapping)
    if ids is not None:
        return ia.read_by_name(mapping.intacct_object, list(ids), fields=fields)
    conditions = [f"({mapping.intacct_query})"] if mapping.intacct_query else []
    if since is not None:
        local = since.astimezone(zone).replace(tzinfo=None)
        conditions.append(query_string("WHENMODIFIED >= {}", local))
    return ia.read_by_query(mapping.intacct_object, " AND ".join(conditions), fields=fields)


def read_prices(sf: SalesforceClient) -> tuple[str | None, dict[str, tuple[str, Any]]]:
    books = sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
    book = None if books.empty else str(books["Id"].iloc[0])
    entries = sf.query(
        "SELECT Id, Product2Id, UnitPrice FROM PricebookEntry WHERE Pricebook2.IsStandard = true"
    )
    prices = {
        str(r["Product2Id"]): (str(r["Id"]), r["UnitPrice"])
        for r in frames.frame_to_records(entries)
    }
    return book, prices


# -- decisions ----------------------------------------------------------------------------------

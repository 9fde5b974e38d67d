"""The masters sync's rules, as pure functions of what was read: matching, conflicts, soft deletes.

:func:`plan_object` turns one object's :class:`~intacct_sync.o2c.snapshots.ObjectSnapshot` and
its :class:`~intacct_sync.o2c.snapshots.StoredObject` into :class:`MasterChange` rows and the
pairs to record once their writes are confirmed. Nothing here reads or writes a system or a
state store. The rules (see ``docs/order-to-cash.md``):

* **Baseline match** for records not yet in the id map: the external id first
  (``Account.Intacct_Customer_ID__c`` = ``CUSTOMERID``, ``Product2.Intacct_Item_ID__c`` =
  ``ITEMID``, exact), then the normalised name (case, punctuation and legal suffixes such as
  ``Inc``/``LLC``/``Corp`` ignored), the e-mail/web domain and the normalised address. A pair
  is matched only when each record has exactly one candidate on the other side; anything else is
  reported as ``ambiguous``. Records whose normalised names collide within one system are
  reported as ``duplicate``. Nothing is written for either until a person decides.
* **Conflicts**: a field that changed on both sides since the last sync (or differs at the first
  sync of a pair) is a conflict, settled per field by its ``system_of_record`` if it has one,
  else by the :class:`~intacct_sync.o2c.mapping.ConflictRule` (``last_modified``: the later of
  Salesforce ``LastModifiedDate`` and Intacct ``WHENMODIFIED``, both compared in UTC).
* **Soft deletes only**: a record deleted or deactivated on one side becomes inactive on the
  other (Intacct ``STATUS = inactive``; Salesforce ``Is_Deleted__c = true``, and
  ``IsActive = false`` on products); if both moved, the deactivation wins. Nothing is erased.

The module is a little over 600 lines on purpose: every rule a person may need to check against
``docs/order-to-cash.md`` is in this one file, and splitting baseline from pairs would separate
rules that hand work to each other (a baseline link is settled by the pair rules in the same
plan).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from intacct_sync.o2c.mapping import (
    ConflictRule,
    FieldMap,
    MastersConfig,
    ObjectMapping,
    Side,
    wire,
)
from intacct_sync.o2c.snapshots import (
    ACTIVE,
    MasterRecord,
    ObjectSnapshot,
    StoredObject,
    watermark_name,
)
from intacct_sync.reports import value_text, when
from intacct_sync.state import IdMapping

__all__ = ["MasterChange", "ObjectPlan", "PlannedLink", "decide_hint", "plan_object"]

Action = Literal["create", "update", "deactivate", "link", "conflict", "duplicate", "ambiguous"]


_SYSTEM = {"salesforce": "Salesforce", "intacct": "Intacct"}


def decide_hint(
    obj: str, *, salesforce_id: str | None = None, intacct_id: str | None = None
) -> str:
    """The command a person types to decide about a duplicate or ambiguous record.

    >>> decide_hint("Account", salesforce_id="001A")
    'decide with: intacct-sync o2c decide Account distinct --salesforce-id 001A (or ignore, or link with --intacct-id ID)'

    Args:
        obj: the mapped object.
        salesforce_id: the Salesforce record, if known.
        intacct_id: the Intacct record, if known.

    Returns:
        The text to show, naming the ``intacct-sync o2c decide`` command.
    """
    if salesforce_id and intacct_id:
        ids = f"--salesforce-id {salesforce_id} --intacct-id {intacct_id}"
        return f"decide with: intacct-sync o2c decide {obj} link {ids} (or distinct, or ignore)"
    if salesforce_id:
        ids, other = f"--salesforce-id {salesforce_id}", "--intacct-id ID"
    else:
        ids, other = f"--intacct-id {intacct_id}", "--salesforce-id ID"
    return (
        f"decide with: intacct-sync o2c decide {obj} distinct {ids} "
        f"(or ignore, or link with {other})"
    )


@attrs.frozen(kw_only=True)
class MasterChange:
    """One row of a plan.

    Attributes:
        object: ``Account`` or ``Product2``.
        action: ``create``, ``update``, ``deactivate``, ``link`` (write the Intacct id into the
            Salesforce external id), ``conflict`` (informational: how a conflict is settled),
            ``duplicate`` or ``ambiguous`` (nothing written; a person decides).
        target: the system written (``salesforce``/``intacct``), empty for report-only rows.
        salesforce_id: the Salesforce Id (None for a record still to be created there).
        intacct_id: the Intacct id.
        name: the record's name.
        changes: field -> (before, after), in the target's field names.
        reason: why (match method, conflict resolution, what a person must decide).
    """

    object: str
    action: Action
    target: Side | Literal[""]
    salesforce_id: str | None
    intacct_id: str | None
    name: str
    changes: Mapping[str, tuple[Any, Any]] = attrs.field(factory=dict)
    reason: str = ""


@attrs.frozen(kw_only=True)
class PlannedLink:
    """A pair to record in the id map (with the values both sides then agree on) once every
    write planned for it is confirmed.

    Attributes:
        object: ``Account`` or ``Product2``.
        salesforce_id: the Salesforce Id (None: created by the apply; found by external id).
        intacct_id: the Intacct id.
        record_no: the Intacct ``RECORDNO`` when known.
        shadow: the agreed values (mapped fields by Salesforce name, and the active flag).
    """

    object: str
    salesforce_id: str | None
    intacct_id: str
    record_no: str | None
    shadow: Mapping[str, str | None]


@attrs.frozen(kw_only=True)
class ObjectPlan:
    """One object's part of a masters plan.

    Attributes:
        changes: the plan's rows, in order.
        links: the pairs to record after the apply.
        watermarks: watermark name -> the latest modification read.
        pending: the duplicate/ambiguous rows to store for incremental runs to show (None: a
            partial read, the stored ones stay).
    """

    changes: tuple[MasterChange, ...]
    links: tuple[PlannedLink, ...]
    watermarks: Mapping[str, dt.datetime]
    pending: tuple[Mapping[str, Any], ...] | None


@attrs.define
class _Builder:
    mapping: ObjectMapping
    config: MastersConfig
    stored: StoredObject
    changes: list[MasterChange] = attrs.field(factory=list)
    links: list[PlannedLink] = attrs.field(factory=list)


def plan_object(
    mapping: ObjectMapping, config: MastersConfig, read: ObjectSnapshot, stored: StoredObject
) -> ObjectPlan:
    """Plan one object: match, create, update, settle conflicts, soft-delete (pure).

    Args:
        mapping: the object's mapping.
        config: the conflict rule and the create switches.
        read: both sides' records as read.
        stored: the id map, agreed values, decisions and watermarks.

    Returns:
        An :class:`ObjectPlan`.
    """
    b = _Builder(mapping=mapping, config=config, stored=stored)
    id_map = {m.salesforce_id: m for m in stored.id_map}
    sf_recs, ia_recs = dict(read.salesforce), dict(read.intacct)
    watermarks: dict[str, dt.datetime] = {}
    if not read.complete:
        _advance(
            watermarks,
            mapping.name,
            sf_recs,
            ia_recs,
            stored.watermark_salesforce,
            stored.watermark_intacct,
        )
        _pairs(b, id_map, sf_recs, ia_recs, complete=False)
        for row in stored.pending:
            b.changes.append(MasterChange(**{**row, "changes": {}}))
        return ObjectPlan(
            changes=tuple(b.changes), links=tuple(b.links), watermarks=watermarks, pending=None
        )
    _advance(watermarks, mapping.name, sf_recs, ia_recs, None, None)
    pending = _baseline(b, id_map, sf_recs, ia_recs)
    _pairs(b, id_map, sf_recs, ia_recs, complete=True)
    rows = tuple(
        {k: v for k, v in attrs.asdict(c).items() if k != "changes"}
        for c in pending
        if c.action in ("duplicate", "ambiguous")
    )
    return ObjectPlan(
        changes=tuple(b.changes), links=tuple(b.links), watermarks=watermarks, pending=rows
    )


def _advance(
    watermarks: dict[str, dt.datetime],
    obj: str,
    sf_recs: Mapping[str, MasterRecord],
    ia_recs: Mapping[str, MasterRecord],
    wm_sf: dt.datetime | None,
    wm_ia: dt.datetime | None,
) -> None:
    # The watermark is the latest modification *read*, so a change made while the sync runs is
    # read again next time (the comparison with the agreed values makes a re-read harmless).
    for side, recs, old in (("salesforce", sf_recs, wm_sf), ("intacct", ia_recs, wm_ia)):
        stamps = [r.modified for r in recs.values() if r.modified is not None]
        if old is not None:
            stamps.append(old)
        if stamps:
            watermarks[watermark_name(obj, side)] = max(stamps)


def _baseline(
    b: _Builder,
    id_map: dict[str, IdMapping],
    sf_recs: dict[str, MasterRecord],
    ia_recs: dict[str, MasterRecord],
) -> list[MasterChange]:
    """Match unmapped records; plan creates for the rest; report duplicates and ambiguity."""
    mapping, obj = b.mapping, b.mapping.name
    decided = b.stored.decisions
    mapped_ia = {m.intacct_id for m in id_map.values()}
    free_sf = [r for r in sf_recs.values() if r.id not in id_map and decided.get(r.id) != "ignore"]
    free_ia = [
        r
        for r in ia_recs.values()
        if r.id not in mapped_ia and decided.get(f"i:{r.id}") != "ignore"
    ]
    pending: list[MasterChange] = []

    # 1. External ids (exact).
    ia_free_ids = {r.id: r for r in free_ia}
    for rec in list(free_sf):
        if rec.ext_key and rec.ext_key in ia_free_ids:
            partner = ia_free_ids.pop(rec.ext_key)
            id_map[rec.id] = IdMapping(object=obj, salesforce_id=rec.id, intacct_id=partner.id)
            b.changes.append(
                MasterChange(
                    object=obj,
                    action="link",
                    target="",
                    salesforce_id=rec.id,
                    intacct_id=partner.id,
                    name=rec.name,
                    reason=f"matched by external id {mapping.salesforce_key_field}",
                )
            )
    free_sf = [r for r in free_sf if r.id not in id_map]
    free_ia = list(ia_free_ids.values())

    # 2. Duplicates within each system (by normalised name), unless decided distinct.
    blocked: set[str] = set()
    for side, recs in (("salesforce", sf_recs), ("intacct", ia_recs)):
        groups: dict[str, list[MasterRecord]] = defaultdict(list)
        for rec in recs.values():
            key = rec.id if side == "salesforce" else f"i:{rec.id}"
            if rec.match.get("name") and decided.get(key) not in ("distinct", "ignore"):
                groups[rec.match["name"]].append(rec)
        for members in groups.values():
            if len(members) < 2:
                continue
            names = " | ".join(f"{m.name} ({m.id})" for m in members)
            for m in members:
                key = m.id if side == "salesforce" else f"i:{m.id}"
                mapped = m.id in id_map if side == "salesforce" else m.id in mapped_ia
                if not mapped:
                    blocked.add(key)
                change = MasterChange(
                    object=obj,
                    action="duplicate",
                    target="",
                    salesforce_id=m.id if side == "salesforce" else None,
                    intacct_id=m.id if side == "intacct" else None,
                    name=m.name,
                    reason=f"possible duplicates in {side}: {names}"
                    + ("" if not mapped else " (already linked; kept in sync)")
                    + "; "
                    + decide_hint(
                        obj,
                        salesforce_id=m.id if side == "salesforce" else None,
                        intacct_id=m.id if side == "intacct" else None,
                    ),
                )
                b.changes.append(change)
                pending.append(change)

    # 3. Normalised name, e-mail/web domain, address.
    cand_sf: dict[str, list[tuple[MasterRecord, list[str]]]] = defaultdict(list)
    cand_ia: dict[str, list[str]] = defaultdict(list)
    index: dict[tuple[str, str], list[MasterRecord]] = defaultdict(list)
    for rec in free_ia:
        for kind, value in rec.match.items():
            index[(kind, value)].append(rec)
    for rec in free_sf:
        found: dict[str, list[str]] = defaultdict(list)
        partners: dict[str, MasterRecord] = {}
        for kind, value in rec.match.items():
            for other in index.get((kind, value), []):
                found[other.id].append(kind)
                partners[other.id] = other
        for oid, reasons in found.items():
            cand_sf[rec.id].append((partners[oid], reasons))
            cand_ia[oid].append(rec.id)
    taken_ia: set[str] = set()
    for rec in free_sf:
        cands = cand_sf.get(rec.id, [])
        if not cands:
            continue
        if rec.id in blocked:
            continue
        unique = len(cands) == 1 and len(cand_ia[cands[0][0].id]) == 1
        partner, reasons = cands[0]
        if unique and f"i:{partner.id}" not in blocked:
            id_map[rec.id] = IdMapping(object=obj, salesforce_id=rec.id, intacct_id=partner.id)
            taken_ia.add(partner.id)
            note = ""
            if rec.ext_key and rec.ext_key != partner.id:
                note = f"; Salesforce had {mapping.salesforce_key_field}={rec.ext_key}"
            b.changes.append(
                MasterChange(
                    object=obj,
                    action="link",
                    target="",
                    salesforce_id=rec.id,
                    intacct_id=partner.id,
                    name=rec.name,
                    reason="matched by " + " + ".join(reasons) + note,
                )
            )
            continue
        options = "; ".join(f"{p.name} ({p.id}) by {'+'.join(r)}" for p, r in cands)
        rivals = sorted({s for p, _ in cands for s in cand_ia[p.id]} - {rec.id})
        extra = f"; also claimed by Salesforce {', '.join(rivals)}" if rivals else ""
        change = MasterChange(
            object=obj,
            action="ambiguous",
            target="",
            salesforce_id=rec.id,
            intacct_id=", ".join(p.id for p, _ in cands),
            name=rec.name,
            reason=f"candidates in Intacct: {options}{extra}; link the right one with: "
            f"intacct-sync o2c decide {obj} link --salesforce-id {rec.id} --intacct-id ID "
            "(or distinct, or ignore)",
        )
        b.changes.append(change)
        pending.append(change)
        blocked.add(rec.id)
        blocked.update(f"i:{p.id}" for p, _ in cands)

    # 4. One side only: create on the other (active records only).
    for rec in free_sf:
        if rec.id in id_map or rec.id in blocked or not rec.active:
            continue
        if not b.config.create_in_intacct or rec.erased:
            continue
        new_id = rec.ext_key or f"{mapping.id_prefix}{rec.id}"
        if new_id in ia_recs:
            change = MasterChange(
                object=obj,
                action="ambiguous",
                target="",
                salesforce_id=rec.id,
                intacct_id=new_id,
                name=rec.name,
                reason=f"{mapping.salesforce_key_field}={new_id} is already linked to another "
                "Salesforce record",
            )
            b.changes.append(change)
            pending.append(change)
            continue
        _plan_create_in_intacct(b, rec, new_id)
    for rec in free_ia:
        if rec.id in taken_ia or f"i:{rec.id}" in blocked or not rec.active:
            continue
        if not b.config.create_in_salesforce:
            continue
        _plan_create_in_salesforce(b, rec)
    return pending


def _payload(
    mapping: ObjectMapping, values: Mapping[str, str | None], side: Side
) -> dict[str, Any]:
    """The mapped fields of ``values`` (keyed by Salesforce name) as ``side`` writes them."""
    skip = "to_salesforce" if side == "intacct" else "to_intacct"
    payload: dict[str, Any] = {}
    for fm in mapping.fields:
        if fm.direction == skip or fm.salesforce not in values:
            continue
        name = fm.intacct if side == "intacct" else fm.salesforce
        payload[name] = wire(fm.kind, values[fm.salesforce], side)
    return payload


def _plan_create_in_intacct(b: _Builder, rec: MasterRecord, new_id: str) -> None:
    mapping = b.mapping
    payload = {mapping.intacct_id_field: new_id, **_payload(mapping, rec.values, "intacct")}
    payload = {k: v for k, v in payload.items() if v not in (None, "")}
    payload["STATUS"] = "active"
    if mapping.intacct_object == "CUSTOMER" and "NAME" in payload:
        payload.setdefault("DISPLAYCONTACT.PRINTAS", payload["NAME"])
    if mapping.intacct_object == "ITEM":
        payload.setdefault("ITEMTYPE", "Non-Inventory (Sales only)")
    if rec.ext_key != new_id:
        b.changes.append(
            MasterChange(
                object=mapping.name,
                action="link",
                target="salesforce",
                salesforce_id=rec.id,
                intacct_id=new_id,
                name=rec.name,
                changes={mapping.salesforce_key_field: (rec.ext_key, new_id)},
                reason="Intacct id given before the Intacct record is created",
            )
        )
    b.changes.append(
        MasterChange(
            object=mapping.name,
            action="create",
            target="intacct",
            salesforce_id=rec.id,
            intacct_id=new_id,
            name=rec.name,
            changes={k: (None, v) for k, v in payload.items()},
            reason="only in Salesforce",
        )
    )
    b.links.append(
        PlannedLink(
            object=mapping.name,
            salesforce_id=rec.id,
            intacct_id=new_id,
            record_no=None,
            shadow={**rec.values, ACTIVE: "true"},
        )
    )


def _plan_create_in_salesforce(b: _Builder, rec: MasterRecord) -> None:
    mapping = b.mapping
    payload = {mapping.salesforce_key_field: rec.id, **_payload(mapping, rec.values, "salesforce")}
    payload = {k: v for k, v in payload.items() if v is not None}
    payload["Is_Deleted__c"] = False
    if mapping.name == "Product2":
        payload["IsActive"] = True
    b.changes.append(
        MasterChange(
            object=mapping.name,
            action="create",
            target="salesforce",
            salesforce_id=None,
            intacct_id=rec.id,
            name=rec.name,
            changes={k: (None, v) for k, v in payload.items()},
            reason="only in Intacct",
        )
    )
    b.links.append(
        PlannedLink(
            object=mapping.name,
            salesforce_id=None,
            intacct_id=rec.id,
            record_no=rec.record_no,
            shadow={**rec.values, ACTIVE: "true"},
        )
    )


def _pairs(
    b: _Builder,
    id_map: Mapping[str, IdMapping],
    sf_recs: Mapping[str, MasterRecord],
    ia_recs: Mapping[str, MasterRecord],
    *,
    complete: bool,
) -> None:
    """Plan updates, conflicts and deactivations for every mapped pair that was read."""
    mapping, rule = b.mapping, b.config.conflict
    obj = mapping.name
    for sf_id, link in sorted(id_map.items()):
        s, i = sf_recs.get(sf_id), ia_recs.get(link.intacct_id)
        if s is None and i is None:
            continue
        if s is None or i is None:
            if not complete or mapping.salesforce_where or mapping.intacct_query:
                continue  # counterpart not read in an incremental run
            _plan_vanished(b, sf_id, link.intacct_id, s, i)
            continue
        shadow = b.stored.agreed.get(sf_id)
        to_ia: dict[str, tuple[Any, Any]] = {}
        to_sf: dict[str, tuple[Any, Any]] = {}
        agreed: dict[str, str | None] = {}
        for fm in mapping.fields:
            f = fm.salesforce
            sv, iv = s.values.get(f), i.values.get(f)
            if sv == iv:
                agreed[f] = sv
                continue
            s_changed = shadow is None or f not in shadow or sv != shadow.get(f)
            i_changed = shadow is None or f not in shadow or iv != shadow.get(f)
            if fm.direction == "to_intacct":
                winner: Side = "salesforce"
            elif fm.direction == "to_salesforce":
                winner = "intacct"
            elif s_changed and not i_changed:
                winner = "salesforce"
            elif i_changed and not s_changed:
                winner = "intacct"
            else:
                winner, why = _resolve(fm, rule, s, i)
                b.changes.append(
                    MasterChange(
                        object=obj,
                        action="conflict",
                        target="intacct" if winner == "salesforce" else "salesforce",
                        salesforce_id=s.id,
                        intacct_id=i.id,
                        name=s.name,
                        changes={f: (sv, iv)},
                        reason=f"{f}: Salesforce {value_text(sv)} vs Intacct {value_text(iv)}; "
                        f"{_SYSTEM[winner]} wins ({why})",
                    )
                )
            if winner == "salesforce":
                agreed[f] = sv
                to_ia[fm.intacct] = (iv, sv)
            else:
                agreed[f] = iv
                to_sf[f] = (sv, iv)
        # Active flag: a deactivation on either side wins (soft delete, never erase).
        was = (shadow or {}).get(ACTIVE)
        s_act, i_act = ("true" if s.active else "false"), ("true" if i.active else "false")
        active = s_act
        if s_act != i_act:
            s_moved = was is None or s_act != was
            i_moved = was is None or i_act != was
            # Both moved (or first sync): the deactivation wins.
            active = "false" if s_moved and i_moved else (s_act if s_moved else i_act)
        agreed[ACTIVE] = active
        if s.erased:
            to_sf.clear()  # a record in the recycle bin cannot be updated
        key_change = {}
        if s.ext_key != i.id and not s.erased:
            key_change = {mapping.salesforce_key_field: (s.ext_key, i.id)}
        _emit_pair(b, s, i, to_ia, to_sf, active, key_change)
        b.links.append(
            PlannedLink(
                object=obj,
                salesforce_id=s.id,
                intacct_id=i.id,
                record_no=i.record_no,
                shadow=agreed,
            )
        )


def _resolve(
    fm: FieldMap, rule: ConflictRule, s: MasterRecord, i: MasterRecord
) -> tuple[Side, str]:
    if fm.system_of_record is not None:
        return fm.system_of_record, "field's system of record"
    if rule.mode == "system_of_record":
        return rule.system_of_record, "system of record"
    if s.modified and i.modified and s.modified != i.modified:
        later: Side = "salesforce" if s.modified > i.modified else "intacct"
        return later, f"last modified {when(max(s.modified, i.modified))}"
    return rule.system_of_record, "same time; tie goes to the system of record"


def _emit_pair(
    b: _Builder,
    s: MasterRecord,
    i: MasterRecord,
    to_ia: dict[str, tuple[Any, Any]],
    to_sf: dict[str, tuple[Any, Any]],
    active: str,
    key_change: dict[str, tuple[Any, Any]],
) -> None:
    obj = b.mapping.name
    if key_change:
        b.changes.append(
            MasterChange(
                object=obj,
                action="link",
                target="salesforce",
                salesforce_id=s.id,
                intacct_id=i.id,
                name=s.name,
                changes=key_change,
                reason="Salesforce external id set to the matched Intacct id",
            )
        )
    if to_ia:
        b.changes.append(
            MasterChange(
                object=obj,
                action="update",
                target="intacct",
                salesforce_id=s.id,
                intacct_id=i.id,
                name=s.name,
                changes=to_ia,
            )
        )
    if to_sf:
        b.changes.append(
            MasterChange(
                object=obj,
                action="update",
                target="salesforce",
                salesforce_id=s.id,
                intacct_id=i.id,
                name=s.name,
                changes=to_sf,
            )
        )
    want = active == "true"
    if i.active != want:
        b.changes.append(
            MasterChange(
                object=obj,
                action="deactivate" if not want else "update",
                target="intacct",
                salesforce_id=s.id,
                intacct_id=i.id,
                name=s.name,
                changes={"STATUS": (_status(i.active), _status(want))},
                reason="inactive in Salesforce" if not want else "reactivated in Salesforce",
            )
        )
    if s.active != want and not s.erased:
        changes: dict[str, tuple[Any, Any]] = {"Is_Deleted__c": (not s.active, not want)}
        if obj == "Product2":
            changes["IsActive"] = (s.active, want)
        b.changes.append(
            MasterChange(
                object=obj,
                action="deactivate" if not want else "update",
                target="salesforce",
                salesforce_id=s.id,
                intacct_id=i.id,
                name=s.name,
                changes=changes,
                reason="inactive in Intacct" if not want else "reactivated in Intacct",
            )
        )


def _status(active: bool) -> str:
    return "active" if active else "inactive"


def _plan_vanished(
    b: _Builder, sf_id: str, ia_id: str, s: MasterRecord | None, i: MasterRecord | None
) -> None:
    """One side of a mapped pair no longer exists at all: make the other inactive."""
    obj = b.mapping.name
    if s is None and i is not None and i.active:
        b.changes.append(
            MasterChange(
                object=obj,
                action="deactivate",
                target="intacct",
                salesforce_id=sf_id,
                intacct_id=ia_id,
                name=i.name,
                changes={"STATUS": ("active", "inactive")},
                reason="erased in Salesforce",
            )
        )
    if i is None and s is not None and s.active and not s.erased:
        changes: dict[str, tuple[Any, Any]] = {"Is_Deleted__c": (False, True)}
        if obj == "Product2":
            changes["IsActive"] = (True, False)
        b.changes.append(
            MasterChange(
                object=obj,
                action="deactivate",
                target="salesforce",
                salesforce_id=sf_id,
                intacct_id=ia_id,
                name=s.name,
                changes=changes,
                reason="no longer in Intacct",
            )
        )

"""Customer and product masters kept in step both ways: Account <-> CUSTOMER, Product2 <-> ITEM.

The masters sync has three steps, each its own function:

1. **read** (:func:`~intacct_sync.o2c.snapshots.read_masters`,
   :meth:`~intacct_sync.o2c.snapshots.StoredMasters.read`): both systems' records and the stored
   id map, agreed values, decisions and watermarks, as frozen snapshots;
2. **plan** (:func:`plan_masters`): a pure function of those snapshots and the
   :class:`~intacct_sync.o2c.mapping.MastersConfig`, returning a frozen :class:`MastersPlan`
   (creates, updates with each changed field before and after, deactivations, conflicts,
   duplicates and ambiguous matches; the rules are in :mod:`~intacct_sync.o2c.matching`);
3. **apply** (:func:`apply_masters`): the batched idempotent writes of both clients, then the id
   map, the agreed values and the watermarks; returns a
   :class:`~intacct_sync.o2c.masters_report.MastersReport` whose ``status`` says whether records
   wait for a decision.

``plan_masters(sf, ia, state)`` reads and plans in one call.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import InputError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.o2c.mapping import (
    MastersConfig,
)
from intacct_sync.o2c.masters_report import MastersReport
from intacct_sync.o2c.masters_writes import write_object
from intacct_sync.o2c.matching import MasterChange, PlannedLink, plan_object
from intacct_sync.o2c.snapshots import (
    DECISION_NS,
    PENDING_NS,
    SHADOW_NS,
    MastersSnapshot,
    StoredMasters,
    read_masters,
    watermark_name,
)
from intacct_sync.reports import Report, Scope
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.state import IdMapping, StateStore
from intacct_sync.state.tenancy import bind_tenant

__all__ = ["MastersPlan", "apply_masters", "decide", "plan_masters"]

log = logging.getLogger("intacct_sync.o2c.masters")

_ACTIONS = ("create", "update", "deactivate", "link", "conflict", "duplicate", "ambiguous")
_PLAN_KINDS: dict[str, frames.Kind] = {
    k: "text"
    for k in (
        "object",
        "action",
        "target",
        "salesforce_id",
        "intacct_id",
        "name",
        "changes",
        "reason",
    )
}


def _summary_counts(changes: Sequence[MasterChange]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for change in changes:
        counts[change.action] += 1
    return ", ".join(f"{counts[a]} {a}" for a in _ACTIONS if counts[a]) or "no changes"


def _show(value: Any) -> str:
    return "" if value is None else str(value)


def _change_text(field: str, before: Any, after: Any) -> str:
    # A field set for the first time reads "FIELD = value"; a change "FIELD: old -> new".
    if before is None or before == "":
        return f"{field} = {_show(after)}"
    return f"{field}: {_show(before)} -> {_show(after) or '(empty)'}"


@attrs.frozen(kw_only=True, repr=False)
class MastersPlan(Report):
    """What a masters sync would do (frozen data; :func:`apply_masters` does it).

    ``to_frame()`` has one row per change: object, action, target, salesforce_id, intacct_id,
    name, changes (``field: before -> after; ...``), reason.

    Attributes:
        config: the configuration planned with.
        changes: the rows, in order.
        links: the pairs recorded in the id map once their writes are confirmed.
        watermarks: the watermarks set when every write succeeded.
        pending: object -> the duplicate/ambiguous rows stored for incremental runs to show
            (objects read in full only).
        pricebook_id: the Salesforce standard price book new products' prices go to.
        mode: how each object was read (``Account full, Product2 incremental``).
    """

    config: MastersConfig
    changes: tuple[MasterChange, ...]
    links: tuple[PlannedLink, ...] = ()
    watermarks: Mapping[str, dt.datetime] = attrs.field(factory=dict)
    pending: Mapping[str, tuple[Mapping[str, Any], ...]] = attrs.field(factory=dict)
    pricebook_id: str | None = None
    mode: str = ""

    @property
    def writes(self) -> list[MasterChange]:
        """The changes that write something."""
        return [c for c in self.changes if c.target and c.action != "conflict"]

    def needs_decision(self) -> list[MasterChange]:
        """Duplicates and ambiguous matches waiting for a person (see :func:`decide`).

        Returns:
            The changes waiting for a decision, in plan order.
        """
        return [c for c in self.changes if c.action in ("duplicate", "ambiguous")]

    def to_frame(self) -> pd.DataFrame:
        """One row per change (see the class docstring).

        Returns:
            A DataFrame with one row per planned change.
        """
        rows = [
            {
                "object": c.object,
                "action": c.action,
                "target": c.target,
                "salesforce_id": c.salesforce_id,
                "intacct_id": c.intacct_id,
                "name": c.name,
                "changes": "; ".join(_change_text(f, b, a) for f, (b, a) in c.changes.items()),
                "reason": c.reason,
            }
            for c in self.changes
        ]
        return frames.frame_from_records(rows, _PLAN_KINDS)

    def summary(self) -> str:
        """Counts per action.

        Returns:
            One line, for a person.
        """
        return f"Masters plan ({self.mode}): {_summary_counts(self.changes)}"


# -- planning -----------------------------------------------------------------------------------


@overload
def plan_masters(
    snapshot: MastersSnapshot,
    stored: StoredMasters,
    config: MastersConfig | None = None,
    /,
) -> MastersPlan: ...


@overload
def plan_masters(
    sf: SalesforceClient,
    ia: IntacctClient,
    state: StateStore,
    config: MastersConfig | None = None,
    /,
) -> MastersPlan: ...


def plan_masters(
    first: MastersSnapshot | SalesforceClient,
    second: StoredMasters | IntacctClient,
    third: StateStore | MastersConfig | None = None,
    config: MastersConfig | None = None,
    /,
) -> MastersPlan:
    """Compare the masters of both systems and plan what to write (nothing is written).

    Two forms:

    * ``plan_masters(snapshot, stored, config=None)``: a pure function of what
      :func:`~intacct_sync.o2c.snapshots.read_masters` and
      :meth:`~intacct_sync.o2c.snapshots.StoredMasters.read` returned (``config`` defaults to
      the one the snapshot was read with);
    * ``plan_masters(sf, ia, state, config=None)``: reads both, then plans.

    Args:
        first: the snapshot, or the Salesforce client.
        second: the stored sync state, or the Intacct client.
        third: the state store (the reading form only).
        config: mapping, conflict rule, time zone; the defaults sync Account <-> CUSTOMER and
            Product2 <-> ITEM.

    Returns:
        A frozen :class:`MastersPlan`; :func:`apply_masters` carries it out.

    Raises:
        InputError: an unknown time zone; the snapshot lacks an object the config maps.
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.

    >>> plan = plan_masters(sf, ia, state)  # doctest: +SKIP
    >>> plan.to_frame().query("action == 'ambiguous'")  # doctest: +SKIP
    """
    if isinstance(first, MastersSnapshot) and isinstance(second, StoredMasters):
        # ``third`` is the config in this form (it sits where the state store does).
        cfg = config or (third if isinstance(third, MastersConfig) else None) or first.config
        return _plan(first, second, cfg)
    if (
        isinstance(first, SalesforceClient)
        and isinstance(second, IntacctClient)
        and third is not None
        and not isinstance(third, MastersConfig)
    ):
        bind_tenant(third, second)
        cfg = config or MastersConfig()
        stored = StoredMasters.read(third, cfg)
        return _plan(read_masters(first, second, stored, cfg), stored, cfg)
    raise InputError(
        "plan_masters takes (snapshot, stored[, config]) or (sf, ia, state[, config])",
        field="arguments",
        value=f"{type(first).__name__}, {type(second).__name__}",
    )


def _plan(snapshot: MastersSnapshot, stored: StoredMasters, cfg: MastersConfig) -> MastersPlan:
    changes: list[MasterChange] = []
    links: list[PlannedLink] = []
    watermarks: dict[str, dt.datetime] = {}
    pending: dict[str, tuple[Mapping[str, Any], ...]] = {}
    modes = []
    for mapping in cfg.mappings():
        read = snapshot.objects.get(mapping.name)
        if read is None:
            raise InputError(
                "the snapshot holds no records of this object", field="object", value=mapping.name
            )
        part = plan_object(mapping, cfg, read, stored.of(mapping.name))
        modes.append(f"{mapping.name} {read.mode}")
        changes += part.changes
        links += part.links
        watermarks.update(part.watermarks)
        if part.pending is not None:
            pending[mapping.name] = part.pending
    return MastersPlan(
        config=cfg,
        changes=tuple(changes),
        links=tuple(links),
        watermarks=watermarks,
        pending=pending,
        pricebook_id=snapshot.pricebook_id,
        mode=", ".join(modes),
    )


# -- applying -----------------------------------------------------------------------------------


def apply_masters(
    plan: MastersPlan, sf: SalesforceClient, ia: IntacctClient, state: StateStore
) -> MastersReport:
    """Carry a plan out, then record the id map, the agreed values and the watermarks.

    Order: Salesforce external ids first (so a crash after an Intacct create is matched by id
    on the rerun), then Intacct creates and updates, then Salesforce upserts and updates. Every
    write is idempotent (Intacct control ids from the record id, Salesforce upserts by external
    id and updates by Id), so applying twice, or rerunning after a crash, writes nothing twice.
    A pair enters the id map only when all its writes are confirmed; watermarks move only when
    every write succeeded.

    Args:
        plan: from :func:`plan_masters`.
        sf: the Salesforce client.
        ia: the Intacct client.
        state: the state store written.

    Returns:
        A :class:`~intacct_sync.o2c.masters_report.MastersReport` (one row per write; its
        ``status`` is ``needs_attention`` when records wait for a decision, ``failed`` when a
        write was refused).

    Raises:
        IncompleteWriteError: a batch stopped part way (e.g. a dropped connection); what was
            confirmed is recorded first, so the rerun finishes the rest.
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    bind_tenant(state, ia)
    report = MastersReport(needs_decision=tuple(plan.needs_decision()), scope=Scope.of(ia))
    try:
        for mapping in plan.config.mappings():
            mine = [c for c in plan.changes if c.object == mapping.name]
            write_object(sf, ia, mapping, mine, report, plan.pricebook_id)
    finally:
        _record(plan, report, state)
    if report.status != "done":
        log.info("masters applied: %s (%s)", report.status, report.reason)
    return report


def _record(plan: MastersPlan, report: MastersReport, state: StateStore) -> None:
    for obj, rows in plan.pending.items():
        state.set_value(PENDING_NS, obj, [dict(r) for r in rows])
    # A pair is recorded (id map + agreed values) only when every write planned for it is
    # confirmed done; a write never sent (a crash before it) counts as not done, so the rerun
    # plans it again.
    done = {(r["system"], r["key"]) for r in report.rows if r["done"]}
    created = report.created_ids
    # Index the writes by the records they touch (a scan per pair is quadratic).
    touching: dict[tuple[str, str, str], list[MasterChange]] = defaultdict(list)
    for change in plan.writes:
        if change.salesforce_id is not None:
            touching[(change.object, "s", change.salesforce_id)].append(change)
        if change.intacct_id is not None:
            touching[(change.object, "i", change.intacct_id)].append(change)
    for link in plan.links:
        sf_id = link.salesforce_id or created.get((link.object, link.intacct_id))
        if sf_id is None:
            continue
        related = touching.get((link.object, "i", link.intacct_id), [])
        if link.salesforce_id is not None:
            related = related + touching.get((link.object, "s", link.salesforce_id), [])
        if not all(_confirmed(c, done) for c in related):
            continue
        record_no = link.record_no or report.record_nos.get((link.object, link.intacct_id))
        state.id_map_put(
            IdMapping(
                object=link.object,
                salesforce_id=sf_id,
                intacct_id=link.intacct_id,
                intacct_record_no=record_no,
            )
        )
        state.set_value(SHADOW_NS + link.object, sf_id, dict(link.shadow))
    if report.ok:
        for name, value in plan.watermarks.items():
            state.set_watermark(name, value)


def _confirmed(change: MasterChange, done: set[tuple[str, str]]) -> bool:
    if change.target == "intacct":
        return ("intacct", str(change.intacct_id)) in done
    if change.salesforce_id is None:  # a create: upserted by its external id
        return ("salesforce", str(change.intacct_id)) in done
    return ("salesforce", change.salesforce_id) in done


# -- decisions ----------------------------------------------------------------------------------


def decide(
    state: StateStore,
    obj: str,
    decision: Literal["link", "distinct", "ignore"],
    *,
    salesforce_id: str | None = None,
    intacct_id: str | None = None,
) -> None:
    """Record a person's decision about a duplicate or ambiguous record.

    * ``link``: ``salesforce_id`` and ``intacct_id`` are the same record (written to the id map;
      the next sync treats them as a pair).
    * ``distinct``: the record (give one id) is not a duplicate of anything; it is matched or
      created like any other.
    * ``ignore``: never sync the record (give one id).

    The object's watermarks are cleared so that the next plan reads everything again.

    Args:
        state: the state store.
        obj: the mapped object (``Account``, ``Product2``).
        decision: ``link``, ``distinct`` or ``ignore``.
        salesforce_id: the Salesforce record.
        intacct_id: the Intacct record.

    Raises:
        InputError: the ids do not fit the decision.
    """
    if decision == "link":
        if not (salesforce_id and intacct_id):
            raise InputError("link needs salesforce_id and intacct_id", field="decision")
        state.id_map_put(IdMapping(object=obj, salesforce_id=salesforce_id, intacct_id=intacct_id))
    else:
        if bool(salesforce_id) == bool(intacct_id):
            raise InputError(f"{decision} needs exactly one of salesforce_id and intacct_id")
        key = f"salesforce:{salesforce_id}" if salesforce_id else f"intacct:{intacct_id}"
        state.set_value(DECISION_NS + obj, key, decision)
    state.set_value(PENDING_NS, obj, [])
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for direction in ("salesforce", "intacct"):
        state.set_watermark(watermark_name(obj, direction), epoch)

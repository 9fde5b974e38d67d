"""Customer and product masters kept in step both ways: Account <-> CUSTOMER, Product2 <-> ITEM.

The mapping between the two systems is data (:class:`ObjectMapping` of :class:`FieldMap` rows),
so a caller can add custom fields or drop standard ones. :func:`plan_masters` reads both sides and
returns a :class:`MastersPlan` (creates, updates with each changed field before and after,
deactivations, conflicts, duplicates and ambiguous matches); :meth:`MastersPlan.apply` carries it
out with the batched idempotent writes of both clients and records the id map.

Rules (see ``docs/order-to-cash.md``):

* **Baseline match** for records not yet in the id map: the external id first
  (``Account.Intacct_Customer_ID__c`` = ``CUSTOMERID``, ``Product2.Intacct_Item_ID__c`` =
  ``ITEMID``, exact), then the normalised name (case, punctuation and legal suffixes such as
  ``Inc``/``LLC``/``Corp`` ignored), the e-mail/web domain and the normalised address. A pair
  is matched only when each record has exactly one candidate on the other side; anything else is
  reported as ``ambiguous``. Records whose normalised names collide within one system are
  reported as ``duplicate``. Nothing is written for either until a person decides
  (:func:`decide`).
* **Conflicts**: a field that changed on both sides since the last sync (or differs at the first
  sync of a pair) is a conflict, settled per field by its ``system_of_record`` if it has one,
  else by the :class:`ConflictRule` (``last_modified``: the later of Salesforce
  ``LastModifiedDate`` and Intacct ``WHENMODIFIED``, both compared in UTC; Intacct's timestamp
  is naive and read in :attr:`MastersConfig.intacct_timezone`).
* **Soft deletes only**: a record deleted or deactivated on one side becomes inactive on the
  other (Intacct ``STATUS = inactive``; Salesforce ``Is_Deleted__c = true``, and
  ``IsActive = false`` on products). Nothing is ever erased.
* **Incremental**: with watermarks from an earlier run, only records modified since then (per
  object and direction) are read; a new unmapped record triggers a full read for matching.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import IncompleteWriteError, InputError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.filters import query_string
from intacct_sync.reports import Report
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import IdMapping, StateStore

__all__ = [
    "DEFAULT_ACCOUNT_MAPPING",
    "DEFAULT_PRODUCT_MAPPING",
    "PRICE_FIELD",
    "ApplyResult",
    "ConflictRule",
    "FieldMap",
    "MasterChange",
    "MastersConfig",
    "MastersPlan",
    "ObjectMapping",
    "decide",
    "normalise_name",
    "plan_masters",
]

log = logging.getLogger("intacct_sync.o2c.masters")

Side = Literal["salesforce", "intacct"]
Kind = Literal["text", "decimal", "boolean"]
Direction = Literal["both", "to_intacct", "to_salesforce"]
Action = Literal["create", "update", "deactivate", "link", "conflict", "duplicate", "ambiguous"]

#: The Salesforce side of a product's price: the standard price book entry's ``UnitPrice``.
PRICE_FIELD = "PricebookEntry.UnitPrice"
_ACTIVE = "(active)"
_SHADOW_NS = "o2c.masters.shadow."
_DECISION_NS = "o2c.masters.decisions."
_PENDING_NS = "o2c.masters.pending"
_IN_CHUNK = 300


@attrs.frozen(kw_only=True)
class FieldMap:
    """One field kept in step.

    Attributes:
        salesforce: the Salesforce API name (``BillingCity``; :data:`PRICE_FIELD` for a
            product's standard price).
        intacct: the Intacct field, nested parts dotted (``DISPLAYCONTACT.MAILADDRESS.CITY``).
        kind: how values compare: ``text`` (trimmed, empty = null), ``decimal`` (exact) or
            ``boolean``.
        direction: ``both``, or one way only (``to_intacct``: Salesforce is the source).
        system_of_record: the side that wins a conflict on this field, whatever the
            :class:`ConflictRule` says; None follows the rule.
    """

    salesforce: str
    intacct: str
    kind: Kind = "text"
    direction: Direction = "both"
    system_of_record: Side | None = None


@attrs.frozen(kw_only=True)
class ObjectMapping:
    """How one Salesforce object maps to one Intacct object.

    Attributes:
        name: the Salesforce object (``Account``, ``Product2``); also the id map's object name.
        intacct_object: ``CUSTOMER`` or ``ITEM``.
        intacct_id_field: the Intacct ID field (``CUSTOMERID``, ``ITEMID``).
        salesforce_key_field: the Salesforce external id holding the Intacct id.
        fields: the mapped fields.
        salesforce_where: a SOQL condition restricting the Salesforce records synced.
        intacct_query: a readByQuery condition restricting the Intacct records synced.
        id_prefix: prefix of the Intacct id given to a record created from Salesforce when it
            has no external id, followed by its 18-character Salesforce id (the case-safe form:
            15-character ids differ only in case, and external ids compare case-insensitively);
            ``SF`` + 18 characters fits ``Intacct_Customer_ID__c`` (20).
    """

    name: str
    intacct_object: str
    intacct_id_field: str
    salesforce_key_field: str
    fields: tuple[FieldMap, ...]
    salesforce_where: str | None = None
    intacct_query: str = ""
    id_prefix: str = "SF"

    def with_fields(self, *extra: FieldMap, drop: Iterable[str] = ()) -> ObjectMapping:
        """A copy with ``extra`` fields added (replacing same-named ones) and ``drop`` removed.

        >>> m = DEFAULT_ACCOUNT_MAPPING.with_fields(FieldMap(salesforce="Industry__c",
        ...     intacct="CUSTTYPE", direction="to_intacct"), drop=["Phone"])
        >>> [f.salesforce for f in m.fields][-1]
        'Industry__c'
        """
        names = {f.salesforce for f in extra} | set(drop)
        kept = tuple(f for f in self.fields if f.salesforce not in names)
        return attrs.evolve(self, fields=kept + tuple(extra))


#: Account <-> CUSTOMER: name, phone, web site and billing address.
DEFAULT_ACCOUNT_MAPPING = ObjectMapping(
    name="Account",
    intacct_object="CUSTOMER",
    intacct_id_field="CUSTOMERID",
    salesforce_key_field="Intacct_Customer_ID__c",
    fields=(
        FieldMap(salesforce="Name", intacct="NAME"),
        FieldMap(salesforce="Phone", intacct="DISPLAYCONTACT.PHONE1"),
        FieldMap(salesforce="Website", intacct="DISPLAYCONTACT.URL1"),
        FieldMap(salesforce="BillingStreet", intacct="DISPLAYCONTACT.MAILADDRESS.ADDRESS1"),
        FieldMap(salesforce="BillingCity", intacct="DISPLAYCONTACT.MAILADDRESS.CITY"),
        FieldMap(salesforce="BillingState", intacct="DISPLAYCONTACT.MAILADDRESS.STATE"),
        FieldMap(salesforce="BillingPostalCode", intacct="DISPLAYCONTACT.MAILADDRESS.ZIP"),
        FieldMap(salesforce="BillingCountry", intacct="DISPLAYCONTACT.MAILADDRESS.COUNTRY"),
    ),
)

#: Product2 (+ standard price book entry) <-> ITEM: name, description and list price.
DEFAULT_PRODUCT_MAPPING = ObjectMapping(
    name="Product2",
    intacct_object="ITEM",
    intacct_id_field="ITEMID",
    salesforce_key_field="Intacct_Item_ID__c",
    fields=(
        FieldMap(salesforce="Name", intacct="NAME"),
        FieldMap(salesforce="Description", intacct="EXTENDED_DESCRIPTION"),
        FieldMap(salesforce=PRICE_FIELD, intacct="BASEPRICE", kind="decimal"),
    ),
)


@attrs.frozen(kw_only=True)
class ConflictRule:
    """Who wins when a field changed on both sides.

    Attributes:
        mode: ``last_modified`` (the record modified later wins, compared in UTC) or
            ``system_of_record`` (always :attr:`system_of_record`).
        system_of_record: the winner in ``system_of_record`` mode, and on a tie.
    """

    mode: Literal["last_modified", "system_of_record"] = "last_modified"
    system_of_record: Side = "intacct"


@attrs.frozen(kw_only=True)
class MastersConfig:
    """Settings of the masters sync.

    Attributes:
        accounts: the Account <-> CUSTOMER mapping (None: not synced).
        products: the Product2 <-> ITEM mapping (None: not synced).
        conflict: the conflict rule.
        intacct_timezone: the IANA zone Intacct's naive ``WHENMODIFIED`` timestamps are in (the
            company's time zone; the sandbox uses the host's, UTC on CI).
        create_in_intacct: create Intacct records for active Salesforce-only records.
        create_in_salesforce: create Salesforce records for active Intacct-only records.
        full: ignore the watermarks and read everything.
    """

    accounts: ObjectMapping | None = DEFAULT_ACCOUNT_MAPPING
    products: ObjectMapping | None = DEFAULT_PRODUCT_MAPPING
    conflict: ConflictRule = ConflictRule()
    intacct_timezone: str = "UTC"
    create_in_intacct: bool = True
    create_in_salesforce: bool = True
    full: bool = False

    def mappings(self) -> list[ObjectMapping]:
        """The object mappings synced, accounts first."""
        return [m for m in (self.accounts, self.products) if m is not None]


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
class _Rec:
    side: Side
    id: str
    name: str
    values: dict[str, str | None]
    active: bool
    modified: dt.datetime | None
    ext_key: str | None = None
    record_no: str | None = None
    erased: bool = False  # in the Salesforce recycle bin: cannot be updated any more
    extra: dict[str, Any] = attrs.field(factory=dict)
    match: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class _Link:
    object: str
    salesforce_id: str | None
    intacct_id: str
    record_no: str | None
    shadow: dict[str, str | None]


def _summary_counts(changes: Sequence[MasterChange]) -> str:
    counts: dict[str, int] = defaultdict(int)
    for change in changes:
        counts[change.action] += 1
    order = ("create", "update", "deactivate", "link", "conflict", "duplicate", "ambiguous")
    return ", ".join(f"{counts[a]} {a}" for a in order if counts[a]) or "no changes"


def _show(value: Any) -> str:
    return "" if value is None else str(value)


class MastersPlan(Report):
    """What a masters sync would do; :meth:`apply` does it.

    ``to_frame()`` has one row per change: object, action, target, salesforce_id, intacct_id,
    name, changes (``field: before -> after; ...``), reason.
    """

    def __init__(
        self,
        *,
        sf: SalesforceClient,
        ia: IntacctClient,
        state: StateStore,
        config: MastersConfig,
        changes: list[MasterChange],
        links: list[_Link],
        watermarks: dict[str, dt.datetime],
        pricebook_id: str | None,
        mode: str,
    ) -> None:
        self._sf, self._ia, self._state, self.config = sf, ia, state, config
        self.changes = changes
        self._links = links
        self._watermarks = watermarks
        self._pricebook_id = pricebook_id
        self.mode = mode
        self.result: ApplyResult | None = None

    @property
    def writes(self) -> list[MasterChange]:
        """The changes that write something."""
        return [c for c in self.changes if c.target and c.action != "conflict"]

    def needs_decision(self) -> list[MasterChange]:
        """Duplicates and ambiguous matches waiting for a person (see :func:`decide`)."""
        return [c for c in self.changes if c.action in ("duplicate", "ambiguous")]

    def to_frame(self) -> pd.DataFrame:
        """One row per change (see the class docstring)."""
        rows = [
            {
                "object": c.object,
                "action": c.action,
                "target": c.target,
                "salesforce_id": c.salesforce_id,
                "intacct_id": c.intacct_id,
                "name": c.name,
                "changes": "; ".join(
                    f"{f}: {_show(b)!s} -> {_show(a)!s}" for f, (b, a) in c.changes.items()
                ),
                "reason": c.reason,
            }
            for c in self.changes
        ]
        kinds: dict[str, frames.Kind] = {
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
        return frames.frame_from_records(rows, kinds)

    def summary(self) -> str:
        """Counts per action."""
        return f"Masters plan ({self.mode}): {_summary_counts(self.changes)}"

    def apply(self) -> ApplyResult:
        """Carry the plan out, then record the id map, the agreed values and the watermarks.

        Order: Salesforce external ids first (so a crash after an Intacct create is matched by
        id on the rerun), then Intacct creates and updates, then Salesforce upserts and updates.
        Every write is idempotent (Intacct control ids from the record id, Salesforce upserts by
        external id and updates by Id), so applying twice, or rerunning after a crash, writes
        nothing twice. Watermarks move only when every write succeeded.

        Returns:
            An :class:`ApplyResult` (one row per write).

        Raises:
            IncompleteWriteError: a batch stopped part way (e.g. a dropped connection); what
                was confirmed is recorded first, so the rerun finishes the rest.
        """
        if self.result is not None:
            return self.result
        result = ApplyResult()
        try:
            _apply(self, result)
        finally:
            self._record(result)
        self.result = result
        return result

    def _record(self, result: ApplyResult) -> None:
        # A pair is recorded (id map + agreed values) only when every write planned for it is
        # confirmed done; a write never sent (a crash before it) counts as not done, so the
        # rerun plans it again.
        done = {(r["system"], r["key"]) for r in result.rows if r["done"]}
        created = result.created_ids
        # Index the writes by the records they touch (a scan per pair is quadratic).
        touching: dict[tuple[str, str, str], list[MasterChange]] = defaultdict(list)
        for change in self.writes:
            if change.salesforce_id is not None:
                touching[(change.object, "s", change.salesforce_id)].append(change)
            if change.intacct_id is not None:
                touching[(change.object, "i", change.intacct_id)].append(change)
        for link in self._links:
            sf_id = link.salesforce_id or created.get((link.object, link.intacct_id))
            if sf_id is None:
                continue
            related = touching.get((link.object, "i", link.intacct_id), [])
            if link.salesforce_id is not None:
                related = related + touching.get((link.object, "s", link.salesforce_id), [])
            if not all(_confirmed(c, done) for c in related):
                continue
            record_no = link.record_no or result.record_nos.get((link.object, link.intacct_id))
            self._state.id_map_put(
                IdMapping(
                    object=link.object,
                    salesforce_id=sf_id,
                    intacct_id=link.intacct_id,
                    intacct_record_no=record_no,
                )
            )
            self._state.set_value(_SHADOW_NS + link.object, sf_id, link.shadow)
        if result.ok and not result.incomplete:
            for name, value in self._watermarks.items():
                self._state.set_watermark(name, value)


def _confirmed(change: MasterChange, done: set[tuple[str, str]]) -> bool:
    if change.target == "intacct":
        return ("intacct", str(change.intacct_id)) in done
    if change.salesforce_id is None:  # a create: upserted by its external id
        return ("salesforce", str(change.intacct_id)) in done
    return ("salesforce", change.salesforce_id) in done


@attrs.define
class ApplyResult(Report):
    """What :meth:`MastersPlan.apply` wrote: one row per record written."""

    rows: list[dict[str, Any]] = attrs.field(factory=list)
    incomplete: bool = False
    created_ids: dict[tuple[str, str], str] = attrs.field(factory=dict)
    record_nos: dict[tuple[str, str], str] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """True when every write is done."""
        return all(r["done"] for r in self.rows) and not self.incomplete

    def failed_keys(self, system: Side) -> set[str]:
        """Keys of the records whose write is not done."""
        return {r["key"] for r in self.rows if r["system"] == system and not r["done"]}

    def confirmed(self, *keys: str) -> bool:
        """Every write touching one of ``keys`` is confirmed done."""
        wanted = set(keys)
        return all(r["done"] for r in self.rows if r["key"] in wanted)

    def add(
        self, system: Side, operation: str, obj: str, key: str, status: str, done: bool, error: Any
    ) -> None:
        """Append one outcome row."""
        self.rows.append(
            {
                "system": system,
                "operation": operation,
                "object": obj,
                "key": key,
                "status": status,
                "done": bool(done),
                "error": None if error is None or error != error else str(error),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Columns: system, operation, object, key, status, done, error."""
        kinds: dict[str, frames.Kind] = {
            "system": "text",
            "operation": "text",
            "object": "text",
            "key": "text",
            "status": "text",
            "done": "boolean",
            "error": "text",
        }
        return frames.frame_from_records(self.rows, kinds)

    def summary(self) -> str:
        """Writes per system and how many are not done."""
        per: dict[str, int] = defaultdict(int)
        for r in self.rows:
            per[r["system"]] += 1
        failed = sum(1 for r in self.rows if not r["done"])
        parts = ", ".join(f"{n} {s}" for s, n in sorted(per.items())) or "nothing"
        return f"Masters applied: {parts} write(s); {failed} not done"


# -- normalisation and matching -----------------------------------------------------------------

_SUFFIXES = {
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "corp",
    "corporation",
    "co",
    "company",
    "plc",
    "gmbh",
    "sa",
    "ag",
    "lp",
    "llp",
}
_FREE_MAIL = {"gmail", "yahoo", "hotmail", "outlook", "aol", "icloud", "proton", "live", "msn"}


def normalise_name(name: str | None) -> str:
    """A name reduced for matching: accents, case, punctuation, ``&``/``and`` and legal suffixes.

    >>> normalise_name("ACME Robotics, Inc") == normalise_name("Acme Robotics Inc.")
    True
    >>> normalise_name("Globex Corp.") == normalise_name("Globex Corporation")
    True
    """
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and ")).split()
    while words and words[-1] in _SUFFIXES:
        words.pop()
    words = [w for w in words if w not in ("the", "and")]
    return " ".join(words)


def _domain_key(value: str | None) -> str:
    """The first label of an e-mail or web domain (``www.`` dropped): ``northwindtraders``."""
    text = (value or "").strip().lower()
    if not text:
        return ""
    host = text.rsplit("@", 1)[1] if "@" in text else (urlsplit(text).hostname or "")
    if not host and "://" not in text:
        host = urlsplit("//" + text).hostname or ""
    labels = [p for p in host.split(".") if p]
    if labels and labels[0] == "www":
        labels = labels[1:]
    if not labels or labels[0] in _FREE_MAIL:
        return ""
    return labels[0]


def _address_key(street: str | None, postal: str | None) -> str:
    street_key = " ".join(re.sub(r"[^a-z0-9]+", " ", (street or "").lower()).split())
    postal_key = re.sub(r"[^a-z0-9]", "", (postal or "").lower())
    return f"{street_key}|{postal_key}" if street_key and postal_key else ""


# -- values -------------------------------------------------------------------------------------


def _canon(kind: Kind, value: Any) -> str | None:
    """A comparable text form: trimmed text, exact decimals without trailing zeros, booleans."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if kind == "decimal":
        amount = frames.parse_decimal(value)
        if amount is None:
            return None
        text = format(amount.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if kind == "boolean":
        if isinstance(value, str):
            return "true" if value.strip().lower() in ("true", "t", "1", "yes") else "false"
        return "true" if bool(value) else "false"
    text = str(value).strip()
    return text or None


def _wire(kind: Kind, value: str | None, system: Side) -> Any:
    """A canonical value as the target system takes it."""
    if kind == "decimal":
        return None if value is None else Decimal(value)
    if kind == "boolean":
        return None if value is None else value == "true"
    if value is None:
        # Intacct clears a field given empty; Salesforce clears one given null.
        return "" if system == "intacct" else None
    return value


# -- reading ------------------------------------------------------------------------------------


def _to_utc(value: Any, zone: ZoneInfo | None) -> dt.datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(zone or dt.UTC)
    return stamp.to_pydatetime().astimezone(dt.UTC)


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


def _sf_records(
    frame: pd.DataFrame, mapping: ObjectMapping, prices: Mapping[str, tuple[str, Any]]
) -> dict[str, _Rec]:
    records: dict[str, _Rec] = {}
    for row in frames.frame_to_records(frame):
        rid = str(row["Id"])
        values: dict[str, str | None] = {}
        for fm in mapping.fields:
            raw = prices.get(rid, (None, None))[1] if fm.salesforce == PRICE_FIELD else None
            if fm.salesforce != PRICE_FIELD:
                raw = _row_value(row, fm.salesforce)
            values[fm.salesforce] = _canon(fm.kind, raw)
        erased = bool(_row_value(row, "IsDeleted"))
        flagged = bool(_row_value(row, "Is_Deleted__c"))
        active = not (erased or flagged)
        if mapping.name == "Product2" and _row_value(row, "IsActive") is False:
            active = False
        match = {
            "name": normalise_name(_row_value(row, "Name")),
            "domain": _domain_key(_row_value(row, "Website")),
            "address": _address_key(
                _row_value(row, "BillingStreet"), _row_value(row, "BillingPostalCode")
            ),
        }
        extra: dict[str, Any] = {}
        if rid in prices:
            extra["pricebook_entry_id"] = prices[rid][0]
        if mapping.name == "Product2":
            extra["product_code"] = _canon("text", _row_value(row, "ProductCode"))
        records[rid] = _Rec(
            side="salesforce",
            id=rid,
            name=str(_row_value(row, "Name") or ""),
            values=values,
            active=active,
            modified=_to_utc(_row_value(row, "LastModifiedDate"), None),
            ext_key=_canon("text", _row_value(row, mapping.salesforce_key_field)),
            erased=erased,
            extra=extra,
            match={k: v for k, v in match.items() if v},
        )
    return records


def _ia_records(frame: pd.DataFrame, mapping: ObjectMapping, zone: ZoneInfo) -> dict[str, _Rec]:
    records: dict[str, _Rec] = {}
    for row in frames.frame_to_records(frame):
        rid = str(row[mapping.intacct_id_field])
        values = {
            fm.salesforce: _canon(fm.kind, _row_value(row, fm.intacct)) for fm in mapping.fields
        }
        match = {
            "name": normalise_name(_row_value(row, "NAME")),
            "domain": _domain_key(_row_value(row, "DISPLAYCONTACT.EMAIL1"))
            or _domain_key(_row_value(row, "DISPLAYCONTACT.URL1")),
            "address": _address_key(
                _row_value(row, "DISPLAYCONTACT.MAILADDRESS.ADDRESS1"),
                _row_value(row, "DISPLAYCONTACT.MAILADDRESS.ZIP"),
            ),
        }
        records[rid] = _Rec(
            side="intacct",
            id=rid,
            name=str(_row_value(row, "NAME") or ""),
            values=values,
            active=str(_row_value(row, "STATUS") or "active").lower() in ("active", "t", "true"),
            modified=_to_utc(_row_value(row, "WHENMODIFIED"), zone),
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


def _prices(sf: SalesforceClient) -> tuple[str | None, dict[str, tuple[str, Any]]]:
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
        state.set_value(_DECISION_NS + obj, key, decision)
    state.set_value(_PENDING_NS, obj, [])
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for direction in ("salesforce", "intacct"):
        state.set_watermark(_wm(obj, direction), epoch)


def _wm(obj: str, side: str) -> str:
    return f"o2c.masters.{obj}.{side}"


# -- planning -----------------------------------------------------------------------------------


@attrs.define
class _Builder:
    mapping: ObjectMapping
    config: MastersConfig
    changes: list[MasterChange] = attrs.field(factory=list)
    links: list[_Link] = attrs.field(factory=list)


def plan_masters(
    sf: SalesforceClient,
    ia: IntacctClient,
    state: StateStore,
    config: MastersConfig | None = None,
    *,
    now: Callable[[], dt.datetime] | None = None,
) -> MastersPlan:
    """Compare the masters of both systems and plan what to write.

    Args:
        sf: the Salesforce client.
        ia: the Intacct client.
        state: the state store (id map, last agreed values, watermarks, decisions).
        config: mapping, conflict rule, time zone; the defaults sync Account <-> CUSTOMER and
            Product2 <-> ITEM.
        now: the clock (tests).

    Returns:
        A :class:`MastersPlan`; nothing is written until :meth:`MastersPlan.apply`.

    Raises:
        InputError: an unknown time zone.

    >>> plan = plan_masters(sf, ia, state)  # doctest: +SKIP
    >>> plan.to_frame().query("action == 'ambiguous'")  # doctest: +SKIP
    """
    cfg = config or MastersConfig()
    try:
        zone = ZoneInfo(cfg.intacct_timezone)
    except (KeyError, ValueError) as exc:
        raise InputError(
            "unknown time zone", field="intacct_timezone", value=cfg.intacct_timezone
        ) from exc
    changes: list[MasterChange] = []
    links: list[_Link] = []
    watermarks: dict[str, dt.datetime] = {}
    pricebook_id: str | None = None
    modes = []
    for mapping in cfg.mappings():
        prices: dict[str, tuple[str, Any]] = {}
        if mapping.name == "Product2":
            pricebook_id, prices = _prices(sf)
        builder = _Builder(mapping=mapping, config=cfg)
        mode = _plan_object(sf, ia, state, builder, zone, prices, watermarks)
        modes.append(f"{mapping.name} {mode}")
        changes += builder.changes
        links += builder.links
    return MastersPlan(
        sf=sf,
        ia=ia,
        state=state,
        config=cfg,
        changes=changes,
        links=links,
        watermarks=watermarks,
        pricebook_id=pricebook_id,
        mode=", ".join(modes),
    )


def _plan_object(
    sf: SalesforceClient,
    ia: IntacctClient,
    state: StateStore,
    b: _Builder,
    zone: ZoneInfo,
    prices: Mapping[str, tuple[str, Any]],
    watermarks: dict[str, dt.datetime],
) -> str:
    mapping = b.mapping
    obj = mapping.name
    id_map = {m.salesforce_id: m for m in state.id_map(obj)}
    by_ia = {m.intacct_id: m.salesforce_id for m in id_map.values()}
    wm_sf = state.get_watermark(_wm(obj, "salesforce"))
    wm_ia = state.get_watermark(_wm(obj, "intacct"))
    incremental = not b.config.full and wm_sf is not None and wm_ia is not None
    full = True
    if incremental:
        sf_changed = _sf_records(_read_sf(sf, mapping, since=wm_sf), mapping, prices)
        ia_changed = _ia_records(_read_ia(ia, mapping, zone, since=wm_ia), mapping, zone)
        decided = _decided(state, obj)
        new_sf = [r for r in sf_changed if r not in id_map and decided.get(r) != "ignore"]
        new_ia = [r for r in ia_changed if r not in by_ia and decided.get(f"i:{r}") != "ignore"]
        full = bool(new_sf or new_ia)
        if not full:
            # Fetch the counterparts of changed mapped records; nothing else is read.
            want_ia = sorted({id_map[s].intacct_id for s in sf_changed} - set(ia_changed))
            want_sf = sorted({by_ia[i] for i in ia_changed} - set(sf_changed))
            sf_recs = dict(sf_changed)
            ia_recs = dict(ia_changed)
            if want_ia:
                ia_recs.update(_ia_records(_read_ia(ia, mapping, zone, ids=want_ia), mapping, zone))
            if want_sf:
                sf_recs.update(_sf_records(_read_sf(sf, mapping, ids=want_sf), mapping, prices))
            _advance(watermarks, obj, sf_recs, ia_recs, wm_sf, wm_ia)
            _pairs(state, b, id_map, sf_recs, ia_recs, complete=False)
            for row in state.get_value(_PENDING_NS, obj) or []:
                b.changes.append(MasterChange(**{**row, "changes": {}}))
            return "incremental"
    sf_recs = _sf_records(_read_sf(sf, mapping), mapping, prices)
    ia_recs = _ia_records(_read_ia(ia, mapping, zone), mapping, zone)
    _advance(watermarks, obj, sf_recs, ia_recs, None, None)
    pending = _baseline(state, b, id_map, sf_recs, ia_recs)
    _pairs(state, b, id_map, sf_recs, ia_recs, complete=True)
    state.set_value(
        _PENDING_NS,
        obj,
        [
            {k: v for k, v in attrs.asdict(c).items() if k != "changes"}
            for c in pending
            if c.action in ("duplicate", "ambiguous")
        ],
    )
    return "full" if not incremental else "full (new records)"


def _decided(state: StateStore, obj: str) -> dict[str, str]:
    raw = state.values(_DECISION_NS + obj)
    out: dict[str, str] = {}
    for key, value in raw.items():
        side, _, rid = key.partition(":")
        out[rid if side == "salesforce" else f"i:{rid}"] = str(value)
    return out


def _advance(
    watermarks: dict[str, dt.datetime],
    obj: str,
    sf_recs: Mapping[str, _Rec],
    ia_recs: Mapping[str, _Rec],
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
            watermarks[_wm(obj, side)] = max(stamps)


def _baseline(
    state: StateStore,
    b: _Builder,
    id_map: dict[str, IdMapping],
    sf_recs: dict[str, _Rec],
    ia_recs: dict[str, _Rec],
) -> list[MasterChange]:
    """Match unmapped records; plan creates for the rest; report duplicates and ambiguity."""
    mapping, obj = b.mapping, b.mapping.name
    decided = _decided(state, obj)
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
        groups: dict[str, list[_Rec]] = defaultdict(list)
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
                    + "; decide with decide(state, obj, 'link'|'distinct'|'ignore', ...)",
                )
                b.changes.append(change)
                pending.append(change)

    # 3. Normalised name, e-mail/web domain, address.
    cand_sf: dict[str, list[tuple[_Rec, list[str]]]] = defaultdict(list)
    cand_ia: dict[str, list[str]] = defaultdict(list)
    index: dict[tuple[str, str], list[_Rec]] = defaultdict(list)
    for rec in free_ia:
        for kind, value in rec.match.items():
            index[(kind, value)].append(rec)
    for rec in free_sf:
        found: dict[str, list[str]] = defaultdict(list)
        partners: dict[str, _Rec] = {}
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
            reason=f"candidates in Intacct: {options}{extra}; decide with decide(...)",
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
        payload[name] = _wire(fm.kind, values[fm.salesforce], side)
    return payload


def _plan_create_in_intacct(b: _Builder, rec: _Rec, new_id: str) -> None:
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
        _Link(
            object=mapping.name,
            salesforce_id=rec.id,
            intacct_id=new_id,
            record_no=None,
            shadow={**rec.values, _ACTIVE: "true"},
        )
    )


def _plan_create_in_salesforce(b: _Builder, rec: _Rec) -> None:
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
        _Link(
            object=mapping.name,
            salesforce_id=None,
            intacct_id=rec.id,
            record_no=rec.record_no,
            shadow={**rec.values, _ACTIVE: "true"},
        )
    )


def _pairs(
    state: StateStore,
    b: _Builder,
    id_map: Mapping[str, IdMapping],
    sf_recs: Mapping[str, _Rec],
    ia_recs: Mapping[str, _Rec],
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
        shadow: dict[str, str | None] | None = state.get_value(_SHADOW_NS + obj, sf_id)
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
                        reason=f"{f}: Salesforce {sv!r} vs Intacct {iv!r}; {winner} wins ({why})",
                    )
                )
            if winner == "salesforce":
                agreed[f] = sv
                to_ia[fm.intacct] = (iv, sv)
            else:
                agreed[f] = iv
                to_sf[f] = (sv, iv)
        # Active flag: a deactivation on either side wins (soft delete, never erase).
        was = (shadow or {}).get(_ACTIVE)
        s_act, i_act = ("true" if s.active else "false"), ("true" if i.active else "false")
        active = s_act
        if s_act != i_act:
            s_moved = was is None or s_act != was
            i_moved = was is None or i_act != was
            # Both moved (or first sync): the deactivation wins.
            active = "false" if s_moved and i_moved else (s_act if s_moved else i_act)
        agreed[_ACTIVE] = active
        if s.erased:
            to_sf.clear()  # a record in the recycle bin cannot be updated
        key_change = {}
        if s.ext_key != i.id and not s.erased:
            key_change = {mapping.salesforce_key_field: (s.ext_key, i.id)}
        _emit_pair(b, s, i, to_ia, to_sf, active, key_change)
        b.links.append(
            _Link(
                object=obj,
                salesforce_id=s.id,
                intacct_id=i.id,
                record_no=i.record_no,
                shadow=agreed,
            )
        )


def _resolve(fm: FieldMap, rule: ConflictRule, s: _Rec, i: _Rec) -> tuple[Side, str]:
    if fm.system_of_record is not None:
        return fm.system_of_record, "field's system of record"
    if rule.mode == "system_of_record":
        return rule.system_of_record, "system of record"
    if s.modified and i.modified and s.modified != i.modified:
        later: Side = "salesforce" if s.modified > i.modified else "intacct"
        return later, f"last modified {max(s.modified, i.modified).isoformat()} UTC"
    return rule.system_of_record, "same time; tie goes to the system of record"


def _emit_pair(
    b: _Builder,
    s: _Rec,
    i: _Rec,
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


def _plan_vanished(b: _Builder, sf_id: str, ia_id: str, s: _Rec | None, i: _Rec | None) -> None:
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


# -- applying -----------------------------------------------------------------------------------


def _apply(plan: MastersPlan, result: ApplyResult) -> None:
    for mapping in plan.config.mappings():
        mine = [c for c in plan.changes if c.object == mapping.name]
        _apply_object(plan, mapping, mine, result)


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
            return _wire(fm.kind, _canon(fm.kind, value), "salesforce")
    return value


def _wire_ia(mapping: ObjectMapping, field: str, value: Any) -> Any:
    for fm in mapping.fields:
        if fm.intacct == field:
            return _wire(fm.kind, _canon(fm.kind, value), "intacct")
    return value


def _apply_object(
    plan: MastersPlan, mapping: ObjectMapping, changes: list[MasterChange], result: ApplyResult
) -> None:
    sf, ia = plan._sf, plan._ia
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
            lambda: ia.create(rows, object=mapping.intacct_object, keys=keys),
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
            result, "update", mapping, keys, lambda: ia.update(rows, object=mapping.intacct_object)
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
            lambda: sf.upsert(obj, external_id_field=mapping.salesforce_key_field, records=records),
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
        _apply_prices(plan, result, price_creates, price_updates)


def _apply_prices(
    plan: MastersPlan,
    result: ApplyResult,
    creates: list[tuple[str, Any]],
    updates: list[tuple[str, Any]],
) -> None:
    sf = plan._sf
    book = plan._pricebook_id
    _, existing = _prices(sf)  # re-read: a crashed earlier run may have created some already
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
    result: ApplyResult,
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
    result: ApplyResult,
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
        done = bool(row and row.get("success"))
        result.add(
            "salesforce", operation, obj, str(key(record)), status, done, row and row.get("errors")
        )


def _ia_write(
    result: ApplyResult,
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
    result: ApplyResult,
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


def _outcomes(exc: IncompleteWriteError) -> pd.DataFrame | None:
    return exc.outcomes if isinstance(exc.outcomes, pd.DataFrame) else None

"""What the masters sync keeps in step and how values compare: mappings, config, normalisation.

The mapping between the two systems is data (:class:`ObjectMapping` of :class:`FieldMap` rows),
so a caller can add custom fields or drop standard ones; :class:`MastersConfig` adds the conflict
rule and the Intacct time zone. The value helpers here (canonical text forms, the wire form of a
value for each system, the normalised keys the baseline matches on) are pure and shared by the
reader (:mod:`~intacct_sync.o2c.snapshots`), the rules (:mod:`~intacct_sync.o2c.matching`) and
the writer (:mod:`~intacct_sync.o2c.masters`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.o2c import timestamps

__all__ = [
    "DEFAULT_ACCOUNT_MAPPING",
    "DEFAULT_PRODUCT_MAPPING",
    "PRICE_FIELD",
    "ConflictRule",
    "FieldMap",
    "MastersConfig",
    "ObjectMapping",
    "normalise_name",
]

Side = Literal["salesforce", "intacct"]
Kind = Literal["text", "decimal", "boolean"]
Direction = Literal["both", "to_intacct", "to_salesforce"]


#: The Salesforce side of a product's price: the standard price book entry's ``UnitPrice``.
PRICE_FIELD = "PricebookEntry.UnitPrice"


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

        Args:
            *extra: fields to add.
            drop: field names to remove.

        Returns:
            A new mapping; this one is unchanged.
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
        """The object mappings synced, accounts first.

        Returns:
            The mappings, accounts before products.
        """
        return [m for m in (self.accounts, self.products) if m is not None]

    def zone(self) -> ZoneInfo:
        """The zone of :attr:`intacct_timezone`.

        Returns:
            The time zone Intacct's timestamps are read in.

        Raises:
            InputError: an unknown time zone.
        """
        return timestamps.zone(self.intacct_timezone)


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

    Args:
        name: a company or product name.

    Returns:
        The reduced name (equal for names a person would call the same).
    """
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and ")).split()
    while words and words[-1] in _SUFFIXES:
        words.pop()
    words = [w for w in words if w not in ("the", "and")]
    return " ".join(words)


def domain_key(value: str | None) -> str:
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


def address_key(street: str | None, postal: str | None) -> str:
    street_key = " ".join(re.sub(r"[^a-z0-9]+", " ", (street or "").lower()).split())
    postal_key = re.sub(r"[^a-z0-9]", "", (postal or "").lower())
    return f"{street_key}|{postal_key}" if street_key and postal_key else ""


# -- values -------------------------------------------------------------------------------------


def canon(kind: Kind, value: Any) -> str | None:
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


def wire(kind: Kind, value: str | None, system: Side) -> Any:
    """A canonical value as the target system takes it."""
    if kind == "decimal":
        return None if value is None else Decimal(value)
    if kind == "boolean":
        return None if value is None else value == "true"
    if value is None:
        # Intacct clears a field given empty; Salesforce clears one given null.
        return "" if system == "intacct" else None
    return value

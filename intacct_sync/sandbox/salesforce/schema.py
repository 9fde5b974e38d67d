"""The sObjects the Salesforce emulator knows: fields, types, relationships, describe bodies, ids.

The catalog is static: standard objects reduced to the fields the workflows and demos use, plus
the custom fields and objects documented in ``docs/sandbox-salesforce.md``. Describe bodies are
built from it in the shape of the recorded samples (``describe_opportunity_excerpt.json``,
``describe_custom_object_payment.json``, ``describe_global_excerpt.json``).

Longer than 600 lines on purpose: most of it is the catalog itself (declarative field lists,
one object after another), which is easiest to check against the samples in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = [
    "OBJECTS",
    "ChildRelationship",
    "FieldDef",
    "SObjectDef",
    "describe_global",
    "describe_sobject",
    "id18",
    "looks_like_id",
    "make_id",
    "object_for_id",
    "sobject",
]

#: field types whose values are text (stored with case-insensitive collation)
TEXT_TYPES = frozenset(
    {"string", "textarea", "picklist", "multipicklist", "email", "phone", "url", "combobox"}
)
ID_TYPES = frozenset({"id", "reference"})
NUMBER_TYPES = frozenset({"currency", "double", "percent", "int"})
_SOAP = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


@attrs.frozen(kw_only=True)
class FieldDef:
    """One field of an sObject, as describe reports it."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    external_id: bool = False
    id_lookup: bool = False
    unique: bool = False
    custom: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    #: name of the child relationship this lookup creates on its parent
    child_relationship: str | None = None
    cascade_delete: bool = False
    default: Any = None
    auto_number: str | None = None
    calculated: bool = False
    name_field: bool = False
    system: bool = False

    @property
    def required(self) -> bool:
        """Must be given on create (not nillable, writable, no default)."""
        return (
            not self.nillable
            and self.createable
            and self.default is None
            and self.type != "boolean"
            and self.auto_number is None
        )

    @property
    def long_text(self) -> bool:
        """Long text areas cannot be filtered, grouped or sorted in SOQL."""
        return self.type == "textarea" and self.length > 255

    @property
    def sql_type(self) -> str:
        """Column declaration in the SQLite table."""
        if self.type in TEXT_TYPES:
            return "TEXT COLLATE NOCASE"
        if self.type in {"int", "boolean"}:
            return "INTEGER"
        if self.type in NUMBER_TYPES:
            return "REAL"
        return "TEXT"


@attrs.frozen(kw_only=True)
class ChildRelationship:
    """A parent-to-child relationship (``OpportunityLineItems`` on Opportunity)."""

    name: str
    child: str
    field: str
    cascade_delete: bool


@attrs.define(kw_only=True)
class SObjectDef:
    """One sObject: its fields in describe order and its child relationships."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef]
    children: dict[str, ChildRelationship] = attrs.field(factory=dict)
    _lower: dict[str, FieldDef] = attrs.field(factory=dict)
    _rel: dict[str, FieldDef] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self._lower = {name.lower(): f for name, f in self.fields.items()}
        self._rel = {
            f.relationship_name.lower(): f for f in self.fields.values() if f.relationship_name
        }

    @property
    def table(self) -> str:
        """SQLite table name."""
        return f"sf_{self.name}"

    def field(self, name: str) -> FieldDef | None:
        """Field by case-insensitive API name."""
        return self._lower.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """Lookup field by case-insensitive relationship name (``Account``, ``Donor__r``)."""
        return self._rel.get(name.lower())

    def child(self, name: str) -> ChildRelationship | None:
        """Child relationship by case-insensitive name."""
        lowered = name.lower()
        for rel in self.children.values():
            if rel.name.lower() == lowered:
                return rel
        return None

    @property
    def name_field(self) -> FieldDef | None:
        """The object's name field, if any."""
        return next((f for f in self.fields.values() if f.name_field), None)


# ---------------------------------------------------------------------------------------------
# ids


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
#: the sandbox org's pod/instance part of every id
_POD = "8d0000"


def id18(id15: str) -> str:
    """Append Salesforce's case-safe checksum to a 15-character id."""
    suffix = []
    for start in (0, 5, 10):
        bits = 0
        for pos, char in enumerate(id15[start : start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << pos
        suffix.append(_SUFFIX[bits])
    return id15 + "".join(suffix)


def make_id(prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record with key prefix ``prefix``."""
    digits = []
    for _ in range(6):
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    return id18(prefix + _POD + "".join(reversed(digits)))


def looks_like_id(value: str) -> bool:
    """A 15- or 18-character alphanumeric id (the 18-character suffix is not verified)."""
    return bool(_ID_RE.match(value))


def normalize_id(value: str) -> str:
    """An id as 18 characters (15-character ids get their suffix)."""
    return id18(value) if len(value) == 15 else value


# ---------------------------------------------------------------------------------------------
# field builders


def _label(name: str) -> str:
    base = name.removesuffix("__c").removesuffix("Id") if name != "Id" else name
    base = base.replace("_", " ")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", base).strip() or name


def _f(name: str, type_: str, **kw: Any) -> FieldDef:
    kw.setdefault("label", _label(name))
    kw.setdefault("custom", name.endswith("__c"))
    return FieldDef(name=name, type=type_, **kw)


def text(name: str, length: int = 255, **kw: Any) -> FieldDef:
    """Text(length)."""
    return _f(name, "string", length=length, **kw)


def ext_id(name: str, length: int = 40) -> FieldDef:
    """Text, unique, external id (and hence id lookup)."""
    return _f(name, "string", length=length, external_id=True, id_lookup=True, unique=True)


def money(name: str, precision: int = 18, scale: int = 2, **kw: Any) -> FieldDef:
    """Currency(precision, scale)."""
    return _f(name, "currency", precision=precision, scale=scale, **kw)


def number(name: str, precision: int = 18, scale: int = 2, **kw: Any) -> FieldDef:
    """Number(precision, scale): describe type ``double``."""
    return _f(name, "double", precision=precision, scale=scale, **kw)


def checkbox(name: str, default: bool = False, **kw: Any) -> FieldDef:
    """Checkbox (never null)."""
    return _f(name, "boolean", nillable=False, default=default, **kw)


def date(name: str, **kw: Any) -> FieldDef:
    """Date."""
    return _f(name, "date", **kw)


def datetime_(name: str, **kw: Any) -> FieldDef:
    """Date/Time."""
    return _f(name, "datetime", **kw)


def picklist(name: str, values: Iterable[str], *, restricted: bool = False, **kw: Any) -> FieldDef:
    """Picklist (restricted picklists refuse values outside the list)."""
    return _f(name, "picklist", length=255, picklist=tuple(values), restricted=restricted, **kw)


def lookup(
    name: str,
    to: str,
    relationship: str,
    *,
    child: str | None = None,
    cascade: bool = False,
    **kw: Any,
) -> FieldDef:
    """Lookup (reference) field."""
    return _f(
        name,
        "reference",
        length=18,
        reference_to=(to,),
        relationship_name=relationship,
        child_relationship=child,
        cascade_delete=cascade,
        **kw,
    )


def _system_fields(owner: bool) -> list[FieldDef]:
    ro: dict[str, Any] = {"createable": False, "updateable": False, "system": True}
    fields = [
        _f("IsDeleted", "boolean", label="Deleted", nillable=False, **ro),
        _f("CreatedDate", "datetime", label="Created Date", nillable=False, **ro),
        lookup("CreatedById", "User", "CreatedBy", label="Created By ID", nillable=False, **ro),
        _f("LastModifiedDate", "datetime", label="Last Modified Date", nillable=False, **ro),
        lookup(
            "LastModifiedById",
            "User",
            "LastModifiedBy",
            label="Last Modified By ID",
            nillable=False,
            **ro,
        ),
        _f("SystemModstamp", "datetime", label="System Modstamp", nillable=False, **ro),
    ]
    if owner:
        # defaulted to the calling user on create, hence not "required"
        fields.insert(
            0, lookup("OwnerId", "User", "Owner", label="Owner ID", nillable=False, default="")
        )
    return fields


def _object(
    name: str,
    prefix: str,
    fields: list[FieldDef],
    *,
    label: str | None = None,
    plural: str | None = None,
    owner: bool = True,
) -> SObjectDef:
    id_field = _f(
        "Id",
        "id",
        label=f"{label or _label(name)} ID",
        length=18,
        nillable=False,
        createable=False,
        updateable=False,
        id_lookup=True,
        system=True,
    )
    all_fields = [id_field, *fields, *_system_fields(owner)]
    return SObjectDef(
        name=name,
        label=label or _label(name),
        label_plural=plural or f"{label or _label(name)}s",
        key_prefix=prefix,
        custom=name.endswith("__c"),
        fields={f.name: f for f in all_fields},
    )


def _name(length: int = 80, *, auto: str | None = None, label: str = "Name") -> FieldDef:
    if auto:
        return _f(
            "Name",
            "string",
            label=label,
            length=length,
            nillable=False,
            createable=False,
            updateable=False,
            auto_number=auto,
            name_field=True,
            id_lookup=True,
            custom=False,
        )
    return _f(
        "Name",
        "string",
        label=label,
        length=length,
        nillable=False,
        name_field=True,
        id_lookup=True,
        custom=False,
    )


def _calc(field: FieldDef) -> FieldDef:
    return attrs.evolve(field, createable=False, updateable=False, calculated=True)


STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
#: default Probability per stage (as Salesforce's standard sales process sets it)
STAGE_PROBABILITY = {
    "Prospecting": 10,
    "Qualification": 10,
    "Needs Analysis": 20,
    "Value Proposition": 50,
    "Id. Decision Makers": 60,
    "Perception Analysis": 70,
    "Proposal/Price Quote": 75,
    "Negotiation/Review": 90,
    "Closed Won": 100,
    "Closed Lost": 0,
}
ACTION_TYPES = ("Donation", "Membership", "Ticket")
ACTION_STATUSES = ("New", "Ready", "Posted", "System Needs Review", "Excluded")
INVOICE_STATES = ("Draft", "Posted", "Partially Paid", "Paid", "Reversed")


def _catalog() -> dict[str, SObjectDef]:
    objects = [
        _object(
            "User",
            "005",
            [
                text("Username", 80, nillable=False, unique=True, id_lookup=True),
                text("FirstName", 40, label="First Name"),
                text("LastName", 80, label="Last Name", nillable=False),
                _calc(text("Name", 121, label="Full Name", name_field=True, id_lookup=True)),
                _f("Email", "email", length=128, nillable=False),
                text("Alias", 8),
                checkbox("IsActive", default=True, label="Active"),
            ],
            owner=False,
        ),
        _object(
            "Account",
            "001",
            [
                _name(255, label="Account Name"),
                text("AccountNumber", 40, label="Account Number"),
                picklist(
                    "Type",
                    ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"],
                    label="Account Type",
                ),
                picklist(
                    "Industry",
                    [
                        "Technology",
                        "Healthcare",
                        "Finance",
                        "Manufacturing",
                        "Retail",
                        "Education",
                        "Government",
                        "Not For Profit",
                        "Other",
                    ],
                ),
                _f("Phone", "phone", length=40),
                _f("Website", "url", length=255),
                _f("BillingStreet", "textarea", length=255, label="Billing Street"),
                text("BillingCity", 40, label="Billing City"),
                text("BillingState", 80, label="Billing State/Province"),
                text("BillingPostalCode", 20, label="Billing Zip/Postal Code"),
                text("BillingCountry", 80, label="Billing Country"),
                _f("NumberOfEmployees", "int", precision=8, digits=8, label="Employees"),
                money("AnnualRevenue", 18, 0, label="Annual Revenue"),
                _f("Description", "textarea", length=32000, label="Account Description"),
                ext_id("Intacct_Customer_ID__c", 20),
                checkbox("Is_Deleted__c"),
                money("AR_Current__c", 16, 2, label="AR Current"),
                money("AR_1_30__c", 16, 2, label="AR 1-30"),
                money("AR_31_60__c", 16, 2, label="AR 31-60"),
                money("AR_61_90__c", 16, 2, label="AR 61-90"),
                money("AR_91_120__c", 16, 2, label="AR 91-120"),
                money("AR_Over_120__c", 16, 2, label="AR Over 120"),
            ],
        ),
        _object(
            "Contact",
            "003",
            [
                lookup(
                    "AccountId",
                    "Account",
                    "Account",
                    child="Contacts",
                    cascade=True,
                    label="Account ID",
                ),
                text("FirstName", 40, label="First Name"),
                text("LastName", 80, label="Last Name", nillable=False),
                _calc(text("Name", 121, label="Full Name", name_field=True, id_lookup=True)),
                _f("Email", "email", length=80, id_lookup=True),
                _f("Phone", "phone", length=40, label="Business Phone"),
                text("Title", 128),
                _f("MailingStreet", "textarea", length=255, label="Mailing Street"),
                text("MailingCity", 40, label="Mailing City"),
                text("MailingState", 80, label="Mailing State/Province"),
                text("MailingPostalCode", 20, label="Mailing Zip/Postal Code"),
                text("MailingCountry", 80, label="Mailing Country"),
                ext_id("Donor_ID__c", 20),
            ],
        ),
        _object(
            "Product2",
            "01t",
            [
                _name(255, label="Product Name"),
                text("ProductCode", 255, label="Product Code"),
                picklist(
                    "Family",
                    [
                        "Managed Services",
                        "Professional Services",
                        "Software",
                        "Hardware",
                        "Support",
                    ],
                    label="Product Family",
                ),
                checkbox("IsActive", label="Active"),
                _f("Description", "textarea", length=4000, label="Product Description"),
                picklist("QuantityUnitOfMeasure", ["Each", "Hour", "Month"], label="Quantity Unit"),
                ext_id("Intacct_Item_ID__c", 30),
                checkbox("Is_Deleted__c"),
            ],
            label="Product",
            owner=False,
        ),
        _object(
            "Pricebook2",
            "01s",
            [
                _name(255, label="Price Book Name"),
                checkbox("IsActive", label="Active"),
                _f(
                    "IsStandard",
                    "boolean",
                    label="Is Standard Price Book",
                    nillable=False,
                    createable=False,
                    updateable=False,
                    default=False,
                ),
                text("Description", 255),
            ],
            label="Price Book",
            owner=False,
        ),
        _object(
            "PricebookEntry",
            "01u",
            [
                _calc(text("Name", 255, label="Product Name", name_field=True)),
                lookup(
                    "Pricebook2Id",
                    "Pricebook2",
                    "Pricebook2",
                    child="PricebookEntries",
                    nillable=False,
                    updateable=False,
                    label="Price Book ID",
                ),
                lookup(
                    "Product2Id",
                    "Product2",
                    "Product2",
                    child="PricebookEntries",
                    nillable=False,
                    updateable=False,
                    label="Product ID",
                ),
                money("UnitPrice", label="List Price", nillable=False),
                checkbox("IsActive", label="Active"),
                checkbox("UseStandardPrice", label="Use Standard Price"),
                _calc(text("ProductCode", 255, label="Product Code")),
            ],
            label="Price Book Entry",
            plural="Price Book Entries",
            owner=False,
        ),
        _object(
            "Opportunity",
            "006",
            [
                lookup(
                    "AccountId",
                    "Account",
                    "Account",
                    child="Opportunities",
                    cascade=True,
                    label="Account ID",
                ),
                _name(120),
                _f("Description", "textarea", length=32000),
                picklist("StageName", STAGES, label="Stage", nillable=False),
                money("Amount"),
                _f("Probability", "percent", precision=3, scale=0, label="Probability (%)"),
                _f("CloseDate", "date", label="Close Date", nillable=False),
                picklist(
                    "Type",
                    [
                        "New Customer",
                        "Existing Customer - Upgrade",
                        "Existing Customer - Replacement",
                        "Existing Customer - Downgrade",
                    ],
                    label="Opportunity Type",
                ),
                picklist(
                    "LeadSource",
                    ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"],
                    label="Lead Source",
                ),
                _calc(checkbox("IsClosed", label="Closed")),
                _calc(checkbox("IsWon", label="Won")),
                lookup("Pricebook2Id", "Pricebook2", "Pricebook2", label="Price Book ID"),
                text("Intacct_Document_ID__c", 40),
            ],
            plural="Opportunities",
        ),
        _object(
            "OpportunityLineItem",
            "00k",
            [
                lookup(
                    "OpportunityId",
                    "Opportunity",
                    "Opportunity",
                    child="OpportunityLineItems",
                    cascade=True,
                    nillable=False,
                    updateable=False,
                    label="Opportunity ID",
                ),
                lookup(
                    "PricebookEntryId",
                    "PricebookEntry",
                    "PricebookEntry",
                    child="OpportunityLineItems",
                    nillable=False,
                    updateable=False,
                    label="Price Book Entry ID",
                ),
                lookup("Product2Id", "Product2", "Product2", updateable=False, label="Product ID"),
                _calc(text("ProductCode", 255, label="Product Code")),
                _calc(text("Name", 376, label="Opportunity Product Name", name_field=True)),
                number("Quantity", 12, 2, nillable=False),
                money("TotalPrice", label="Total Price"),
                money("UnitPrice", label="Sales Price"),
                _calc(money("ListPrice", label="List Price")),
                date("ServiceDate", label="Date"),
                _f("Discount", "percent", precision=5, scale=2),
                text("Description", 255, label="Line Description"),
            ],
            label="Opportunity Product",
            owner=False,
        ),
        _object(
            "Intacct_Invoice__c",
            "a01",
            [
                _name(80, label="Invoice Name"),
                lookup(
                    "Account__c",
                    "Account",
                    "Account__r",
                    child="Intacct_Invoices__r",
                    label="Account",
                ),
                ext_id("Invoice_Number__c", 40),
                date("Invoice_Date__c"),
                date("Due_Date__c"),
                date("Paid_Date__c"),
                money("Total__c", 16, 2),
                money("Paid__c", 16, 2),
                money("Due__c", 16, 2),
                picklist("State__c", INVOICE_STATES),
                number("Days_Overdue__c", 18, 0),
                text("Sales_Order__c", 40),
                text("Intacct_Record_No__c", 40),
            ],
            label="Intacct Invoice",
        ),
        _object(
            "Gift__c",
            "a02",
            [
                _name(80, auto="GIFT-{000000}", label="Gift Number"),
                lookup("Donor__c", "Contact", "Donor__r", child="Gifts__r", label="Donor"),
                date("Gift_Date__c", nillable=False),
                money("Amount__c", 16, 2, nillable=False),
                picklist("Type__c", ACTION_TYPES, restricted=True, default="Donation"),
            ],
            label="Gift",
        ),
        _object(
            "Action__c",
            "a03",
            [
                _name(80, label="Action Name"),
                picklist("Action_Type__c", ACTION_TYPES, restricted=True, nillable=False),
                money("Amount__c", 16, 2),
                datetime_("Happened_At__c"),
                lookup("Contact__c", "Contact", "Contact__r", child="Actions__r", label="Contact"),
                text("Summary__c", 255),
                _f("Action_URL__c", "url", length=255, label="Action URL"),
                _f("Tags__c", "textarea", length=32768, label="Tags"),
                picklist("Status__c", ACTION_STATUSES, restricted=True, default="New"),
                checkbox("Intacct_Posted__c"),
                text("Intacct_Record_No__c", 40),
            ],
            label="Action",
        ),
        _object(
            "Intacct_Tag__c",
            "a04",
            [
                _name(80, label="Tag Label"),
                text("Category__c", 255),
                picklist("Side__c", ("CR", "DR"), restricted=True),
                picklist(
                    "Dimension__c",
                    ("account", "location", "department", "class", "custom"),
                    restricted=True,
                ),
                text("Value__c", 255),
                checkbox("Active__c", default=True),
                ext_id("Tag_Key__c", 255),
            ],
            label="Intacct Tag",
        ),
        _object(
            "KPI_Daily_Total__c",
            "a05",
            [
                _name(80, auto="KPI-{000000}", label="KPI Daily Total Number"),
                text("KPI_Name__c", 80, nillable=False, label="KPI Name"),
                date("Date__c", nillable=False),
                number("Value__c", 18, 2),
                ext_id("Key__c", 120),
            ],
            label="KPI Daily Total",
        ),
    ]
    catalog = {obj.name: obj for obj in objects}
    for obj in objects:
        for f in obj.fields.values():
            if f.child_relationship:
                parent = catalog[f.reference_to[0]]
                parent.children[f.child_relationship] = ChildRelationship(
                    name=f.child_relationship,
                    child=obj.name,
                    field=f.name,
                    cascade_delete=f.cascade_delete,
                )
    return catalog


#: every sObject the sandbox serves, by API name
OBJECTS: Mapping[str, SObjectDef] = _catalog()
_OBJECTS_LOWER = {name.lower(): obj for name, obj in OBJECTS.items()}
_BY_PREFIX = {obj.key_prefix: obj for obj in OBJECTS.values()}


def sobject(name: str) -> SObjectDef | None:
    """SObject by case-insensitive API name."""
    return _OBJECTS_LOWER.get(name.lower())


def object_for_id(value: str) -> SObjectDef | None:
    """The sObject whose key prefix starts ``value``."""
    return _BY_PREFIX.get(value[:3])


# ---------------------------------------------------------------------------------------------
# describe


def _describe_field(f: FieldDef) -> dict[str, Any]:
    text_like = f.type in TEXT_TYPES or f.type in ID_TYPES
    numeric = f.type in NUMBER_TYPES
    return {
        "aggregatable": not f.long_text,
        "aiPredictionField": False,
        "autoNumber": f.auto_number is not None,
        "byteLength": f.length * 3 if f.type in TEXT_TYPES else (18 if text_like else 0),
        "calculated": f.calculated,
        "calculatedFormula": None,
        "cascadeDelete": f.cascade_delete,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": f.default if f.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.default is not None or f.system or f.auto_number is not None,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": f.digits,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": None,
        "filterable": not f.long_text,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": not f.long_text and not numeric and f.type != "datetime",
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.id_lookup,
        "inlineHelpText": None,
        "label": f.label,
        "length": f.length if text_like else 0,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": False,
        "nillable": f.nillable,
        "permissionable": f.custom or (f.nillable and not f.system),
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == f.default,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in f.picklist
        ],
        "polymorphicForeignKey": False,
        "precision": f.precision if numeric and f.type != "int" else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": 0 if f.custom and f.reference_to and not f.nillable else None,
        "restrictedDelete": False,
        "restrictedPicklist": f.restricted,
        "scale": f.scale if numeric else 0,
        "searchPrefilterable": f.type == "reference",
        "soapType": _SOAP.get(f.type, "xsd:string"),
        "sortable": not f.long_text,
        "type": f.type,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def _urls(obj: SObjectDef, version: str, base_url: str) -> dict[str, str]:
    root = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "compactLayouts": f"{root}/describe/compactLayouts",
        "rowTemplate": f"{root}/{{ID}}",
        "approvalLayouts": f"{root}/describe/approvalLayouts",
        "uiDetailTemplate": f"{base_url}/{{ID}}",
        "uiEditTemplate": f"{base_url}/{{ID}}/e",
        "listviews": f"{root}/listviews",
        "describe": f"{root}/describe",
        "uiNewRecord": f"{base_url}/{obj.key_prefix}/e",
        "defaultValues": f"{root}/defaultValues?recordTypeId&fields",
        "quickActions": f"{root}/quickActions",
        "layouts": f"{root}/describe/layouts",
        "sobject": root,
    }


def _object_flags(obj: SObjectDef) -> dict[str, Any]:
    return {
        "activateable": False,
        "createable": True,
        "custom": obj.custom,
        "customSetting": False,
        "deletable": True,
        "deprecatedAndHidden": False,
        "feedEnabled": not obj.custom,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": True,
        "mergeable": obj.name in {"Account", "Contact"},
        "mruEnabled": True,
        "name": obj.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": True,
        "triggerable": True,
        "undeletable": True,
        "updateable": True,
    }


def describe_sobject(obj: SObjectDef, version: str, base_url: str) -> dict[str, Any]:
    """``GET /sobjects/{Type}/describe`` body."""
    flags = _object_flags(obj)
    body: dict[str, Any] = {
        "actionOverrides": [],
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "childRelationships": [
            {
                "cascadeDelete": rel.cascade_delete,
                "childSObject": rel.child,
                "deprecatedAndHidden": False,
                "field": rel.field,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
                "relationshipName": rel.name,
                "restrictedDelete": False,
            }
            for rel in obj.children.values()
        ],
        "compactLayoutable": True,
        "deepCloneable": obj.name == "Opportunity",
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [_describe_field(f) for f in obj.fields.values()],
        "hasSubtypes": False,
        "implementedBy": None,
        "implementsInterfaces": None,
        "isInterface": False,
        "isSubtype": False,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": None,
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {
                    "layout": f"/services/data/v{version}/sobjects/{obj.name}"
                    "/describe/layouts/012000000000000AAA"
                },
            }
        ],
        "searchLayoutable": True,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": [{"label": "All", "name": "everything"}],
        "urls": _urls(obj, version, base_url),
    }
    body.update(flags)
    return dict(sorted(body.items()))


def describe_global(version: str) -> dict[str, Any]:
    """``GET /sobjects`` body."""
    sobjects = []
    for obj in OBJECTS.values():
        root = f"/services/data/v{version}/sobjects/{obj.name}"
        entry = _object_flags(obj)
        entry["urls"] = {
            "sobject": root,
            "describe": f"{root}/describe",
            "rowTemplate": f"{root}/{{ID}}",
        }
        sobjects.append(entry)
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}

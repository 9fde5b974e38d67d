"""REST names <-> the field names frames use (the XML gateway's), per object.

Frames keep one vocabulary on both protocols: the XML gateway's field names (``ACCOUNTNO``,
``RECORDNO``) and its value words (``balancesheet``, ``TR_TYPE`` 1/-1, ``Posted``), so a frame
read over REST equals the frame read over XML for the same data, columns and dtypes. Each
:class:`RestField` maps one XML field to one REST query path (dotted, as the query service
takes and answers them: ``glAccount.id``) and, where the two spell a value differently, the
words both ways.

Sources: ``../shared/reference/intacct-rest-api.md`` §3.2-§3.4 (paths and names), §5 (audit
group). Entries marked ``inferred`` follow a documented pattern of the same sheet (a reference
``{id}`` named like the object) without a source naming that exact field; they are listed in
``docs/xml-or-rest.md`` so a real tenant's model answer can confirm them. Kinds are the XML
field's ``lookup`` DATATYPE (the sandbox schema), so both protocols type a column alike.
Fields flagged ``inferred=True`` are checked against the company's model before the client
reads or writes them (``RestBase._check_inferred``).

The module is longer than the usual ~600 lines because it is one table, an entry per mapped
object and field; splitting it would only scatter the map the docs describe in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from intacct_sync import frames

__all__ = [
    "REST_OBJECTS",
    "RestField",
    "RestObject",
    "for_path",
    "for_xml",
    "sales_document",
    "split_aggregate",
    "user_defined_dimension",
]


@attrs.frozen(kw_only=True)
class RestField:
    """One XML field and its REST query path.

    Attributes:
        xml: the frame column (XML field name).
        rest: the REST path, dotted (``glAccount.id``).
        kind: the column's kind on both protocols.
        values: XML word -> REST word, where they differ (enumerations).
        read_only: REST computes it; never sent on writes.
        inferred: no source names this REST path (it follows a documented pattern); the client
            checks it against the company's model before using it (docs/xml-or-rest.md).
        write_only: sent on writes, never read (not part of ``*`` or of child frames).
    """

    xml: str
    rest: str
    kind: frames.Kind = "text"
    values: Mapping[str, str] = attrs.field(factory=dict)
    read_only: bool = False
    inferred: bool = False
    write_only: bool = False

    def to_rest(self, value: Any) -> Any:
        """A wire value in REST's words (unchanged when the field has no word map)."""
        if not self.values or value is None:
            return value
        text = str(value)
        for xml_word, rest_word in self.values.items():
            if xml_word.lower() == text.lower():
                return rest_word
        return value

    def to_xml(self, value: Any) -> Any:
        """A REST value in the XML word (unchanged when unknown: a new enum member reads as is)."""
        if not self.values or value is None:
            return value
        text = str(value)
        for xml_word, rest_word in self.values.items():
            if rest_word.lower() == text.lower():
                return xml_word
        return value


@attrs.frozen(kw_only=True)
class RestObject:
    """One REST object and the XML object it corresponds to.

    Attributes:
        xml: XML object name (``GLACCOUNT``).
        path: REST object name under ``/objects/`` (``general-ledger/account``).
        fields: mapped fields, in frame column order.
        id_field: the XML ID field (REST ``id``), if the object has one.
        lines: REST collection name and the line object (journal-entry ``lines``).
        line_collection: the XML element holding lines on writes (``ENTRIES``) and of one line.
    """

    xml: str
    path: str
    fields: tuple[RestField, ...]
    id_field: str | None = None
    lines: tuple[str, RestObject] | None = None
    line_collection: tuple[str, str] | None = None
    # Built once: writes look fields up per value (thousands per batch).
    _by_xml: dict[str, RestField] = attrs.field(init=False, eq=False, repr=False, hash=False)
    _by_rest: dict[str, RestField] = attrs.field(init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_by_xml", {f.xml.upper(): f for f in self.fields})
        object.__setattr__(self, "_by_rest", {f.rest: f for f in self.fields})

    @property
    def by_xml(self) -> dict[str, RestField]:
        """Fields by XML name (upper case)."""
        return self._by_xml

    @property
    def by_rest(self) -> dict[str, RestField]:
        """Fields by REST path."""
        return self._by_rest

    def rest_name(self, name: str) -> str:
        """The REST path of an XML field name; a name not in the map is taken as a REST path
        (custom fields and UDD members are named per company, read from the model service).
        """
        found = self.by_xml.get(name.upper())
        return found.rest if found is not None else name

    def xml_name(self, rest: str) -> str:
        """The frame column of a REST path (the path itself when unmapped)."""
        found = self.by_rest.get(rest)
        return found.xml if found is not None else rest


def _audit(*, document_dates: bool = False) -> list[RestField]:
    # §3.2: every standard object has the audit group; XML's WHENCREATED is the document date on
    # AR and OE documents, so there it is mapped by the object instead.
    fields = [
        RestField(xml="WHENMODIFIED", rest="audit.modifiedDateTime", kind="datetime"),
        RestField(xml="CREATEDBY", rest="audit.createdByUser.key", kind="integer"),
        RestField(xml="MODIFIEDBY", rest="audit.modifiedByUser.key", kind="integer"),
    ]
    if not document_dates:
        fields.insert(
            0, RestField(xml="WHENCREATED", rest="audit.createdDateTime", kind="datetime")
        )
    return fields


_KEY = RestField(xml="RECORDNO", rest="key", kind="integer", read_only=True)
_STATUS = RestField(xml="STATUS", rest="status")


def _require(prefix: str = "requireDimensions") -> list[RestField]:
    # §3.3 GL account: requireDimensions{department, location, class, ...} (XML REQUIREDEPT...)
    return [
        RestField(xml="REQUIREDEPT", rest=f"{prefix}.department", kind="boolean"),
        RestField(xml="REQUIRELOC", rest=f"{prefix}.location", kind="boolean"),
        RestField(xml="REQUIRECLASS", rest=f"{prefix}.class", kind="boolean"),
    ]


def _dimensions() -> list[RestField]:
    # §3.4: LOCATION, DEPARTMENT, CLASSID, CUSTOMERID, ITEMID -> dimensions{...}{id}
    return [
        RestField(xml="LOCATION", rest="dimensions.location.id"),
        RestField(xml="DEPARTMENT", rest="dimensions.department.id"),
        RestField(xml="CLASSID", rest="dimensions.class.id"),
        RestField(xml="CUSTOMERID", rest="dimensions.customer.id"),
        RestField(xml="ITEMID", rest="dimensions.item.id"),
    ]


_GL_STATES = {
    "Draft": "draft",
    "Submitted": "submitted",
    "Partially Approved": "partiallyApproved",
    "Approved": "approved",
    "Posted": "posted",
    "Declined": "declined",
    "Reversal pending": "reversalPending",
    "Reversed": "reversed",
}


def _dimension_object(xml: str, path: str, id_field: str, name_field: str) -> RestObject:
    return RestObject(
        xml=xml,
        path=path,
        id_field=id_field,
        fields=(
            _KEY,
            RestField(xml=id_field, rest="id"),
            RestField(xml=name_field, rest="name"),
            RestField(xml="PARENTID", rest="parent.id"),
            _STATUS,
            *_audit(),
        ),
    )


def _entry_lines(path: str, account: str, sides: Mapping[str, str]) -> RestObject:
    return RestObject(
        xml="GLENTRY",
        path=path,
        fields=(
            _KEY,
            RestField(xml="BATCHNO", rest="journalEntry.key", kind="integer", read_only=True),
            RestField(xml="LINE_NO", rest="lineNumber", kind="integer", read_only=True),
            RestField(xml="ENTRY_DATE", rest="entryDate", kind="date", read_only=True),
            # Inferred: the header's posting date through the line's journalEntry reference
            # (§3.4 names only journalEntry{key} on lines; XML GLENTRY has no JOURNAL,
            # intacct-api.md §13.2).
            RestField(
                xml="BATCH_DATE",
                rest="journalEntry.postingDate",
                kind="date",
                read_only=True,
                inferred=True,
            ),
            RestField(xml="DOCUMENT", rest="documentId"),
            RestField(xml="ACCOUNTNO", rest=f"{account}.id"),
            RestField(xml="TR_TYPE", rest="txnType", kind="integer", values=sides),
            RestField(xml="TRX_AMOUNT", rest="txnAmount", kind="decimal"),
            RestField(xml="AMOUNT", rest="baseAmount", kind="decimal", read_only=True),
            RestField(xml="CURRENCY", rest="currency.txnCurrency"),
            RestField(xml="DESCRIPTION", rest="description"),
            *_dimensions(),
            *_audit(),
        ),
    )


def _entry(path: str, journal: str, lines: RestObject) -> RestObject:
    return RestObject(
        xml="GLBATCH",
        path=path,
        fields=(
            _KEY,
            RestField(xml="BATCHNO", rest="txnNumber", kind="integer", read_only=True),
            RestField(xml="BATCH_TITLE", rest="description"),
            RestField(xml="JOURNAL", rest=f"{journal}.id"),
            RestField(xml="BATCH_DATE", rest="postingDate", kind="date"),
            RestField(xml="REFERENCENO", rest="referenceNumber"),
            RestField(xml="BASELOCATION_NO", rest="baseLocation.key"),
            RestField(xml="MODULE", rest="moduleName", read_only=True),
            RestField(xml="STATE", rest="state", values=_GL_STATES),
            *_audit(),
        ),
        lines=("lines", lines),
        line_collection=("ENTRIES", "GLENTRY"),
    )


JOURNAL_ENTRY_LINE = _entry_lines(
    "general-ledger/journal-entry-line", "glAccount", {"1": "debit", "-1": "credit"}
)
STAT_ENTRY_LINE = _entry_lines(
    "general-ledger/statistical-journal-entry-line",
    "statisticalAccount",
    {"1": "increase", "-1": "decrease"},
)
JOURNAL_ENTRY = _entry("general-ledger/journal-entry", "glJournal", JOURNAL_ENTRY_LINE)
STAT_JOURNAL_ENTRY = _entry(
    "general-ledger/statistical-journal-entry", "statisticalJournal", STAT_ENTRY_LINE
)

_SO_STATES = {
    "Draft": "draft",
    "Pending": "pending",
    "In Progress": "inProgress",
    "Partially Converted": "partiallyConverted",
    "Converted": "converted",
    "Closed": "closed",
}

SALES_DOCUMENT_LINE = RestObject(
    xml="SODOCUMENTENTRY",
    path="order-entry/document-line",
    # In the XML read's column order (``SODOCUMENTENTRIES`` children), so a read of documents
    # with their lines gives the same child frame on both protocols.
    fields=(
        _KEY,
        # Inferred from the journal-entry line's ``journalEntry{key}`` (§3.4): the line's
        # reference to its document. No source names it for order-entry lines.
        RestField(
            xml="DOCHDRNO", rest="documentHeader.key", kind="integer", read_only=True, inferred=True
        ),
        RestField(xml="DOCHDRID", rest="documentHeader.id", read_only=True, inferred=True),
        # Inferred from the journal-entry line's lineNumber (§3.4).
        RestField(xml="LINE_NO", rest="lineNumber", kind="integer", read_only=True, inferred=True),
        # §3.3: lines[]{dimensions{item, warehouse, location, ...}, unit, unitQuantity,
        # unitPrice, memo}
        RestField(xml="ITEMID", rest="dimensions.item.id"),
        RestField(xml="ITEMDESC", rest="itemDescription", inferred=True),
        RestField(xml="QUANTITY", rest="unitQuantity", kind="decimal"),
        RestField(xml="UNIT", rest="unit"),
        RestField(xml="PRICE", rest="unitPrice", kind="decimal"),
        # Inferred (no source names a line's amounts): transaction-currency price and value,
        # and the line total.
        RestField(xml="UIPRICE", rest="txnPrice", kind="decimal", read_only=True, inferred=True),
        RestField(xml="TOTAL", rest="total", kind="decimal", read_only=True, inferred=True),
        RestField(xml="UIVALUE", rest="txnValue", kind="decimal", read_only=True, inferred=True),
        RestField(xml="MEMO", rest="memo"),
        RestField(xml="LOCATION", rest="dimensions.location.id"),
        # §3.3 lists "dimensions{item, warehouse, location, ...}"; department is in the "..."
        # by the journal-entry line's dimension set (§3.4).
        RestField(xml="DEPARTMENT", rest="dimensions.department.id"),
        *_audit(),
        # Inferred, and sent only: create_sotransaction takes a line discount that a read of
        # the line does not return (intacct-api.md §8).
        RestField(
            xml="DISCOUNTPERCENT",
            rest="discountPercent",
            kind="decimal",
            inferred=True,
            write_only=True,
        ),
    ),
)


def sales_document(transaction_definition: str = "Sales Order") -> RestObject:
    """The order-entry document object of one transaction definition (§3.3:
    ``order-entry/document::{definition}``, created and listed per definition).
    """
    return RestObject(
        xml="SODOCUMENT",
        path=f"order-entry/document::{transaction_definition}",
        id_field="DOCID",
        fields=(
            _KEY,
            RestField(xml="DOCID", rest="id", read_only=True),
            RestField(xml="DOCNO", rest="documentNumber"),
            RestField(xml="DOCPARID", rest="documentType", read_only=True),
            RestField(xml="STATE", rest="state", values=_SO_STATES),
            RestField(xml="WHENCREATED", rest="txnDate", kind="date"),
            RestField(xml="WHENDUE", rest="dueDate", kind="date"),
            RestField(xml="CUSTVENDID", rest="customer.id"),
            # Inferred from the journal entry's referenceNumber (§3.4); §3.3 does not list it.
            RestField(xml="REFERENCENO", rest="referenceNumber", inferred=True),
            RestField(xml="CURRENCY", rest="txnCurrency"),
            RestField(xml="BASECURR", rest="baseCurrency"),
            RestField(xml="SUBTOTAL", rest="subtotal", kind="decimal", read_only=True),
            RestField(xml="TOTAL", rest="total", kind="decimal", read_only=True),
            # Inferred: §3.3 shows history[]{convertedFrom}; a flat name is not on record.
            RestField(xml="CREATEDFROM", rest="createdFrom", read_only=True, inferred=True),
            RestField(xml="MESSAGE", rest="message", inferred=True),
            RestField(xml="TERMNAME", rest="term.id", inferred=True),
            RestField(xml="EXTERNALID", rest="externalId", inferred=True),
            *_audit(document_dates=True),
        ),
        lines=("lines", SALES_DOCUMENT_LINE),
        line_collection=("SODOCUMENTENTRIES", "SODOCUMENTENTRY"),
    )


def user_defined_dimension(xml: str, integration_name: str) -> RestObject:
    """A UDD's records: ``platform-apps/nsp::<integrationName>`` (§3.3; the name as created,
    not the upper-case dimension name).

    XML reads a UDD as a Platform object whose ``id`` is the record number (the integer a line's
    ``GLDIM<name>`` holds) and ``name`` its name (intacct-api.md §13.5); REST's ``key`` is the
    record number (§3.2). Other member fields are per company: read them from the model.
    """
    return RestObject(
        xml=xml,
        path=f"platform-apps/nsp::{integration_name}",
        id_field="name",
        fields=(
            RestField(xml="id", rest="key", kind="integer", read_only=True),
            RestField(xml="name", rest="name"),
            RestField(xml="createdBy", rest="audit.createdByUser.key", kind="integer"),
            RestField(xml="updatedBy", rest="audit.modifiedByUser.key", kind="integer"),
            RestField(xml="createdAt", rest="audit.createdDateTime", kind="datetime"),
            RestField(xml="updatedAt", rest="audit.modifiedDateTime", kind="datetime"),
        ),
    )


_OBJECTS: list[RestObject] = [
    RestObject(
        xml="GLACCOUNT",
        path="general-ledger/account",
        id_field="ACCOUNTNO",
        fields=(
            _KEY,
            RestField(xml="ACCOUNTNO", rest="id"),
            RestField(xml="TITLE", rest="name"),
            RestField(
                xml="ACCOUNTTYPE",
                rest="accountType",
                values={"balancesheet": "balanceSheet", "incomestatement": "incomeStatement"},
            ),
            RestField(xml="NORMALBALANCE", rest="normalBalance"),
            RestField(
                xml="CLOSINGTYPE",
                rest="closingType",
                values={
                    "non-closing account": "nonClosingAccount",
                    "closing account": "closingAccount",
                    "closed to account": "closedToAccount",
                },
            ),
            RestField(xml="CLOSINGACCOUNTNO", rest="closeToGLAccount.id"),
            RestField(xml="CATEGORY", rest="category"),
            _STATUS,
            *_require(),
            *_audit(),
        ),
    ),
    RestObject(
        xml="STATACCOUNT",
        path="general-ledger/statistical-account",
        id_field="ACCOUNTNO",
        fields=(
            _KEY,
            RestField(xml="ACCOUNTNO", rest="id"),
            RestField(xml="TITLE", rest="name"),
            # §3.3: reportType forPeriod (XML forperiod); "cumulative" is inferred.
            RestField(
                xml="ACCOUNTTYPE",
                rest="reportType",
                values={"forperiod": "forPeriod", "cumulative": "cumulative"},
            ),
            RestField(xml="CATEGORY", rest="category"),
            _STATUS,
            *_require(),
            *_audit(),
        ),
    ),
    RestObject(
        xml="STATJOURNAL",
        path="general-ledger/statistical-journal",
        id_field="SYMBOL",
        fields=(
            _KEY,
            RestField(xml="SYMBOL", rest="id"),
            RestField(xml="TITLE", rest="name"),
            _STATUS,
            *_audit(),
        ),
    ),
    # The regular journal's path is inferred from the glJournal reference (§3.4).
    RestObject(
        xml="GLJOURNAL",
        path="general-ledger/journal",
        id_field="SYMBOL",
        fields=(
            _KEY,
            RestField(xml="SYMBOL", rest="id"),
            RestField(xml="TITLE", rest="name"),
            _STATUS,
            *_audit(),
        ),
    ),
    _dimension_object("LOCATION", "company-config/location", "LOCATIONID", "NAME"),
    _dimension_object("DEPARTMENT", "company-config/department", "DEPARTMENTID", "TITLE"),
    _dimension_object("CLASS", "company-config/class", "CLASSID", "NAME"),
    user_defined_dimension("FUND", "fund"),
    RestObject(
        xml="CUSTOMER",
        path="accounts-receivable/customer",
        id_field="CUSTOMERID",
        fields=(
            _KEY,
            RestField(xml="CUSTOMERID", rest="id"),
            RestField(xml="NAME", rest="name"),
            _STATUS,
            # Inferred from the dimensions' parent{} reference (§3.3); §3.3 lists for customers
            # only name, id and status.
            RestField(xml="PARENTID", rest="parent.id", inferred=True),
            RestField(xml="TERMNAME", rest="term.id", inferred=True),
            RestField(xml="CREDITLIMIT", rest="creditLimit", kind="decimal", inferred=True),
            # The display contact: no source names its REST paths (§3.3 lists none); these
            # follow the documented group style and are checked against the company's model.
            *(
                RestField(
                    xml=f"DISPLAYCONTACT.{xml}", rest=f"contacts.default.{rest}", inferred=True
                )
                for xml, rest in (
                    ("PRINTAS", "printAs"),
                    ("COMPANYNAME", "companyName"),
                    ("PHONE1", "phone1"),
                    ("EMAIL1", "email1"),
                    ("URL1", "URL1"),
                    ("MAILADDRESS.ADDRESS1", "mailingAddress.addressLine1"),
                    ("MAILADDRESS.CITY", "mailingAddress.city"),
                    ("MAILADDRESS.STATE", "mailingAddress.state"),
                    ("MAILADDRESS.ZIP", "mailingAddress.postCode"),
                    ("MAILADDRESS.COUNTRY", "mailingAddress.country"),
                )
            ),
            *_audit(),
        ),
    ),
    RestObject(
        xml="ITEM",
        path="inventory-control/item",
        id_field="ITEMID",
        fields=(
            _KEY,
            RestField(xml="ITEMID", rest="id"),
            RestField(xml="NAME", rest="name"),
            RestField(
                xml="ITEMTYPE",
                rest="itemType",
                values={
                    "Inventory": "inventory",
                    "Non-Inventory": "nonInventory",
                    "Non-Inventory (Purchase only)": "purchaseOnlyNonInventory",
                    "Non-Inventory (Sales only)": "salesOnlyNonInventory",
                    "Kit": "kit",
                    "Stockable Kit": "stockableKit",
                },
            ),
            _STATUS,
            # Inferred (no source names them), checked against the company's model.
            RestField(xml="EXTENDED_DESCRIPTION", rest="extendedDescription", inferred=True),
            RestField(xml="BASEPRICE", rest="basePrice", kind="decimal", inferred=True),
            *_audit(),
        ),
    ),
    JOURNAL_ENTRY,
    JOURNAL_ENTRY_LINE,
    STAT_JOURNAL_ENTRY,
    STAT_ENTRY_LINE,
    sales_document(),
    SALES_DOCUMENT_LINE,
    RestObject(
        xml="ARINVOICE",
        path="accounts-receivable/invoice",
        id_field="RECORDID",
        fields=(
            _KEY,
            RestField(xml="RECORDID", rest="invoiceNumber"),
            RestField(
                xml="STATE",
                rest="state",
                values={k: k.lower() for k in ("Draft", "Posted", "Paid", "Reversed")}
                | {"Partially Paid": "partiallyPaid"},
            ),
            RestField(xml="CUSTOMERID", rest="customer.id"),
            RestField(xml="WHENCREATED", rest="invoiceDate", kind="date"),
            RestField(xml="WHENDUE", rest="dueDate", kind="date"),
            # [CPW]: totalTxnAmount / totalTxnAmountDue are the invoice's amounts.
            RestField(
                xml="TRX_TOTALENTERED", rest="totalTxnAmount", kind="decimal", read_only=True
            ),
            RestField(xml="TRX_TOTALDUE", rest="totalTxnAmountDue", kind="decimal", read_only=True),
            # Inferred from that pattern (no source names them; docs/xml-or-rest.md): the base
            # currency totals and the paid figures the invoice status sync reads.
            RestField(
                xml="TRX_TOTALPAID",
                rest="totalTxnAmountPaid",
                kind="decimal",
                read_only=True,
                inferred=True,
            ),
            RestField(
                xml="TOTALENTERED",
                rest="totalBaseAmount",
                kind="decimal",
                read_only=True,
                inferred=True,
            ),
            RestField(
                xml="TOTALPAID",
                rest="totalBaseAmountPaid",
                kind="decimal",
                read_only=True,
                inferred=True,
            ),
            RestField(
                xml="TOTALDUE",
                rest="totalBaseAmountDue",
                kind="decimal",
                read_only=True,
                inferred=True,
            ),
            RestField(xml="WHENPAID", rest="paidDate", kind="date", read_only=True, inferred=True),
            *_audit(document_dates=True),
        ),
    ),
    RestObject(
        xml="ARPYMT",
        path="accounts-receivable/payment",
        fields=(
            _KEY,
            # Inferred from the invoice's customer{} reference (§3.3); the payment's row there
            # names no customer field.
            RestField(xml="CUSTOMERID", rest="customer.id", inferred=True),
            RestField(
                xml="PAYMENTMETHOD",
                rest="paymentMethod",
                # §3.3 / §10.11: one snapshot spells onlineACHDebit; reads accept both.
                values={
                    "Printed Check": "printedCheck",
                    "Cash": "cash",
                    "EFT": "eft",
                    "Credit Card": "creditCard",
                    "Online Charge Card": "onlineChargeCard",
                    "Online ACH Debit": "onlineAchDebit",
                },
            ),
            RestField(xml="DOCNUMBER", rest="documentNumber"),
            RestField(xml="DESCRIPTION", rest="description"),
            RestField(xml="UNDEPOSITEDACCOUNTNO", rest="undepositedGLAccount.id"),
            RestField(xml="FINANCIALENTITY", rest="financialEntity.entityId"),
            RestField(xml="STATE", rest="state"),
            # Inferred (no source names them): the receipt date and the base-currency amount.
            RestField(xml="RECEIPTDATE", rest="receiptDate", kind="date", inferred=True),
            RestField(
                xml="TOTALENTERED",
                rest="totalBaseAmount",
                kind="decimal",
                read_only=True,
                inferred=True,
            ),
            *_audit(document_dates=True),
        ),
    ),
]

#: every mapped object by REST path
REST_OBJECTS: dict[str, RestObject] = {o.path: o for o in _OBJECTS}
_BY_XML: dict[str, RestObject] = {}
for _obj in _OBJECTS:
    _BY_XML.setdefault(_obj.xml, _obj)


_AGGREGATE = re.compile(r"^(count|sum|avg|min|max):(?!:)(.+)$", re.IGNORECASE)


def split_aggregate(item: str) -> tuple[str, str]:
    """``("sum", "txnAmount")`` for ``"sum:txnAmount"``; ``("", item)`` for a plain field.

    Only the query service's aggregate prefixes count (§4): ``nsp::fund`` is a name.
    """
    match = _AGGREGATE.match(item)
    return (match.group(1).lower(), match.group(2)) if match else ("", item)


def for_xml(name: str, *, statistical: bool = False) -> RestObject | None:
    """The REST object of an XML object name (``GLBATCH`` with ``statistical=True`` is the
    statistical journal entry, a separate REST object, §3.4).
    """
    key = name.strip().upper()
    if statistical and key == "GLBATCH":
        return STAT_JOURNAL_ENTRY
    if statistical and key == "GLENTRY":
        return STAT_ENTRY_LINE
    return _BY_XML.get(key)


def for_path(path: str) -> RestObject | None:
    """The mapped object of a REST object path (document paths match any definition)."""
    found = REST_OBJECTS.get(path)
    if found is None and path.startswith("order-entry/document::"):
        return sales_document(path.split("::", 1)[1])
    return found


def known_paths() -> Iterable[str]:
    """Every mapped REST object path."""
    return REST_OBJECTS.keys()

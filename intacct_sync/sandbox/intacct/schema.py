"""Field definitions of the objects the Intacct emulator stores.

Field names and value vocabularies follow ``../shared/reference/intacct-api.md`` §6-§7. Nested
fields (``DISPLAYCONTACT.MAILADDRESS.CITY``) are stored flat under their dotted names; ``read``
nests them again. ``DATATYPE`` words are the ones the public record shows (reference §13.4: TEXT,
INTEGER, DECIMAL, PERCENT, DATE, TIMESTAMP, BOOLEAN); enumerations of standard objects are TEXT
with VALIDVALUES, as the docs' GLBATCH ``STATE`` is. No real ``lookup`` answer is on record, so
the rest of the answer's shape is the documented one (marked in docs/sandbox-coverage.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["DATATYPES", "OBJECTS", "UDDS", "Field", "LineDef", "ObjectDef", "get_object"]

DATATYPES = ("TEXT", "INTEGER", "DECIMAL", "PERCENT", "DATE", "TIMESTAMP", "BOOLEAN")
NUMERIC_TYPES = frozenset({"INTEGER", "DECIMAL", "PERCENT"})


@attrs.frozen(kw_only=True)
class Field:
    """One field of an object.

    Attributes:
        name: UPPERCASE name; nested fields use dots (``DISPLAYCONTACT.EMAIL1``).
        datatype: one of :data:`DATATYPES`.
        label: display label for ``lookup``.
        required: must be given on create.
        readonly: set by the emulator; ignored on create/update.
        valid_values: display words an ENUM accepts.
        codes: readByQuery query-string codes mapped to display words (``T`` -> ``active``).
        ref: object whose ID field this field references (a ``lookup`` relationship).
    """

    name: str
    datatype: str = "TEXT"
    label: str = ""
    required: bool = False
    readonly: bool = False
    valid_values: tuple[str, ...] = ()
    codes: Mapping[str, str] = attrs.field(factory=dict)
    ref: str | None = None

    @property
    def display_label(self) -> str:
        """The label, or one made from the name."""
        return self.label or self.name.split(".")[-1].replace("_", " ").title()


@attrs.frozen(kw_only=True)
class LineDef:
    """An owned collection of lines (GLBATCH ENTRIES, SODOCUMENT SODOCUMENTENTRIES).

    Attributes:
        collection: element holding the lines in create and read (``ENTRIES``).
        create_element: one line's element on create (``GLENTRY``).
        object: the line object's name (``GLENTRY``).
        parent_field: the line field holding the header's RECORDNO (``BATCHNO``).
    """

    collection: str
    create_element: str
    object: str
    parent_field: str


@attrs.frozen(kw_only=True)
class ObjectDef:
    """One object: its fields in output order, its ID field, its lines."""

    name: str
    label: str
    id_field: str | None
    fields: tuple[Field, ...]
    creatable: bool = True
    lines: LineDef | None = None
    #: a Platform custom object (a user-defined dimension): lower/camel field names, ``id`` is
    #: the record key (reference §13.5)
    platform: bool = False

    @property
    def key_column(self) -> str:
        """The column that holds the record number: ``RECORDNO``, or ``id`` on platform objects."""
        return "id" if self.platform else "RECORDNO"

    def canonical(self, name: str) -> str | None:
        """The field's own spelling for ``name`` in any case, or None if there is no such field.

        Standard objects spell fields UPPERCASE and platform objects lower/camel case; a caller
        may write either in any case (the gateway reads names without case, §13.2 create side).
        """
        key = name.strip().upper()
        for field in self.fields:
            if field.name.upper() == key:
                return field.name
        return None

    @property
    def columns(self) -> tuple[str, ...]:
        """Field names in storage and output order (RECORDNO first)."""
        return tuple(f.name for f in self.fields)

    @property
    def field_map(self) -> dict[str, Field]:
        """Fields by name."""
        return {f.name: f for f in self.fields}

    @property
    def has_status(self) -> bool:
        """Whether the object has an active/inactive STATUS."""
        return any(f.name == "STATUS" for f in self.fields)


def _f(name: str, datatype: str = "TEXT", **kw: object) -> Field:
    return Field(name=name, datatype=datatype, **kw)  # type: ignore[arg-type]


STATUS = _f(
    "STATUS",
    "TEXT",
    label="Status",
    valid_values=("active", "inactive"),
    codes={"T": "active", "F": "inactive"},
)


def _obj(
    name: str,
    label: str,
    id_field: str | None,
    fields: list[Field],
    *,
    document_dates: bool = False,
    creatable: bool = True,
    lines: LineDef | None = None,
) -> ObjectDef:
    """Wrap ``fields`` with RECORDNO first and the audit fields last.

    ``document_dates``: WHENCREATED is the document date (DATE), as on AR and OE documents;
    elsewhere it is the audit timestamp.
    """
    head = [_f("RECORDNO", "INTEGER", label="Record number", readonly=True)]
    when_created = (
        _f("WHENCREATED", "DATE", label="Date")
        if document_dates
        else _f("WHENCREATED", "TIMESTAMP", label="When created", readonly=True)
    )
    tail = [
        when_created,
        _f("WHENMODIFIED", "TIMESTAMP", label="When modified", readonly=True),
        _f("CREATEDBY", "INTEGER", label="Created by", readonly=True),
        _f("MODIFIEDBY", "INTEGER", label="Modified by", readonly=True),
    ]
    names = {f.name for f in fields}
    tail = [f for f in tail if f.name not in names]
    return ObjectDef(
        name=name,
        label=label,
        id_field=id_field,
        fields=tuple(head + fields + tail),
        creatable=creatable,
        lines=lines,
    )


def _platform(name: str, label: str) -> ObjectDef:
    """A user-defined dimension's Platform object (reference §13.5)."""
    return ObjectDef(
        name=name,
        label=label,
        id_field="name",
        fields=(
            _f("id", "INTEGER", label="Record number", readonly=True),
            _f("name", required=True, label="Name"),
            _f("createdBy", "INTEGER", readonly=True),
            _f("updatedBy", "INTEGER", readonly=True),
            _f("createdAt", "TIMESTAMP", readonly=True),
            _f("updatedAt", "TIMESTAMP", readonly=True),
        ),
        platform=True,
    )


#: user-defined dimensions: integration name (GLDIM suffix) -> termLabel (getDimensions)
UDDS: Mapping[str, str] = {"FUND": "Fund"}

#: account-level dimension requirements, booleans written true/false (reference §13.3)
_REQUIRE = [
    _f("REQUIREDEPT", "BOOLEAN"),
    _f("REQUIRELOC", "BOOLEAN"),
    _f("REQUIREPROJECT", "BOOLEAN"),
    _f("REQUIRETASK", "BOOLEAN"),
    _f("REQUIRECUSTOMER", "BOOLEAN"),
    _f("REQUIREVENDOR", "BOOLEAN"),
    _f("REQUIREEMPLOYEE", "BOOLEAN"),
    _f("REQUIREITEM", "BOOLEAN"),
    _f("REQUIRECLASS", "BOOLEAN"),
    _f("REQUIRECONTRACT", "BOOLEAN"),
    _f("REQUIREWAREHOUSE", "BOOLEAN"),
    _f("REQUIREGLDIMFUND", "BOOLEAN"),
]

_CONTACT = [
    _f("DISPLAYCONTACT.PRINTAS", label="Print as"),
    _f("DISPLAYCONTACT.CONTACTNAME"),
    _f("DISPLAYCONTACT.COMPANYNAME"),
    _f("DISPLAYCONTACT.FIRSTNAME"),
    _f("DISPLAYCONTACT.LASTNAME"),
    _f("DISPLAYCONTACT.PHONE1"),
    _f("DISPLAYCONTACT.EMAIL1"),
    _f("DISPLAYCONTACT.EMAIL2"),
    _f("DISPLAYCONTACT.URL1"),
    _f("DISPLAYCONTACT.MAILADDRESS.ADDRESS1"),
    _f("DISPLAYCONTACT.MAILADDRESS.ADDRESS2"),
    _f("DISPLAYCONTACT.MAILADDRESS.CITY"),
    _f("DISPLAYCONTACT.MAILADDRESS.STATE"),
    _f("DISPLAYCONTACT.MAILADDRESS.ZIP"),
    _f("DISPLAYCONTACT.MAILADDRESS.COUNTRY"),
    _f("DISPLAYCONTACT.MAILADDRESS.COUNTRYCODE"),
]

_GLBATCH_STATES = (
    "Draft",
    "Submitted",
    "Partially Approved",
    "Approved",
    "Posted",
    "Declined",
    "Reversal pending",
    "Reversed",
)

_OBJECTS: list[ObjectDef] = [
    _obj(
        "GLACCOUNT",
        "Account",
        "ACCOUNTNO",
        [
            _f("ACCOUNTNO", required=True, label="Account number"),
            _f("TITLE", required=True, label="Title"),
            _f(
                "ACCOUNTTYPE",
                "TEXT",
                valid_values=("balancesheet", "incomestatement"),
                codes={"N": "balancesheet", "I": "incomestatement"},
            ),
            _f("NORMALBALANCE", "TEXT", valid_values=("debit", "credit")),
            _f("CLOSINGTYPE", "TEXT", valid_values=("non-closing account", "closing account")),
            _f("CLOSINGACCOUNTNO", ref="GLACCOUNT"),
            _f("CATEGORY"),
            STATUS,
            *_REQUIRE,
        ],
    ),
    _obj(
        "STATACCOUNT",
        "Statistical Account",
        "ACCOUNTNO",
        [
            _f("ACCOUNTNO", required=True, label="Account number"),
            _f("TITLE", required=True, label="Title"),
            _f("ACCOUNTTYPE", "TEXT", valid_values=("forperiod", "cumulative")),
            _f("CATEGORY"),
            STATUS,
            *_REQUIRE,
        ],
    ),
    _obj(
        "GLJOURNAL",
        "Journal",
        "SYMBOL",
        [
            _f("SYMBOL", required=True, label="Journal symbol"),
            _f("TITLE", required=True, label="Title"),
            _f("STATISTICAL", "BOOLEAN", label="Statistical journal"),
            STATUS,
        ],
    ),
    _obj(
        "LOCATION",
        "Location",
        "LOCATIONID",
        [
            _f("LOCATIONID", required=True, label="Location ID"),
            _f("NAME", required=True),
            _f("PARENTID", ref="LOCATION"),
            _f("SUPERVISORID"),
            _f("STARTDATE", "DATE"),
            _f("ENDDATE", "DATE"),
            _f("CUSTTITLE"),
            STATUS,
        ],
    ),
    _obj(
        "DEPARTMENT",
        "Department",
        "DEPARTMENTID",
        [
            _f("DEPARTMENTID", required=True, label="Department ID"),
            _f("TITLE", required=True),
            _f("PARENTID", ref="DEPARTMENT"),
            _f("SUPERVISORID"),
            _f("CUSTTITLE"),
            STATUS,
        ],
    ),
    _obj(
        "CLASS",
        "Class",
        "CLASSID",
        [
            _f("CLASSID", required=True, label="Class ID"),
            _f("NAME", required=True),
            _f("DESCRIPTION"),
            STATUS,
            _f("PARENTKEY", "INTEGER", readonly=True),
            _f("PARENTID", ref="CLASS"),
            _f("PARENTNAME", readonly=True),
        ],
    ),
    # §13.5: a user-defined dimension is a Platform custom object named by its integration name
    # (getDimensions ``objectName``); its values are read with ``query`` on fields ``id, name,
    # createdBy, updatedBy`` (+ ``createdAt, updatedAt``); ``id`` is the integer GLDIM<name>
    # takes; readByName keys on ``name``. No STATUS is on record for UDD values.
    _platform("FUND", "Fund"),
    _obj(
        "CUSTOMER",
        "Customer",
        "CUSTOMERID",
        [
            _f("CUSTOMERID", required=True, label="Customer ID"),
            _f("NAME", required=True),
            *_CONTACT,
            STATUS,
            _f("ONETIME", "BOOLEAN"),
            _f("CUSTTYPE"),
            _f("PARENTID", ref="CUSTOMER"),
            _f("TERMNAME"),
            _f("CREDITLIMIT", "DECIMAL"),
            _f("TOTALDUE", "DECIMAL", readonly=True),
            _f("ONHOLD", "BOOLEAN"),
            _f("CURRENCY"),
            _f("COMMENTS"),
        ],
    ),
    _obj(
        "ITEM",
        "Item",
        "ITEMID",
        [
            _f("ITEMID", required=True, label="Item ID"),
            _f("NAME", required=True),
            _f(
                "ITEMTYPE",
                "TEXT",
                required=True,
                valid_values=(
                    "Inventory",
                    "Non-Inventory",
                    "Non-Inventory (Purchase only)",
                    "Non-Inventory (Sales only)",
                    "Kit",
                    "Stockable Kit",
                ),
                codes={
                    "I": "Inventory",
                    "NI": "Non-Inventory",
                    "NP": "Non-Inventory (Purchase only)",
                    "NS": "Non-Inventory (Sales only)",
                    "K": "Kit",
                    "SK": "Stockable Kit",
                },
            ),
            STATUS,
            _f("PRODUCTLINEID"),
            _f("EXTENDED_DESCRIPTION"),
            _f("BASEPRICE", "DECIMAL"),
            _f("UOMGRP"),
            _f("TAXABLE", "BOOLEAN"),
            _f("GLGROUP"),
        ],
    ),
    _obj(
        "GLBATCH",
        "Journal Entry",
        None,
        [
            _f("BATCHNO", "INTEGER", readonly=True, label="Batch number"),
            _f("BATCH_TITLE", required=True, label="Description"),
            _f("JOURNAL", required=True, ref="GLJOURNAL"),
            _f("BATCH_DATE", "DATE", required=True, label="Posting date"),
            _f("REVERSEDATE", "DATE"),
            _f("HISTORY_COMMENT"),
            _f("REFERENCENO", label="Reference number"),
            _f("BASELOCATION_NO"),
            _f("SUPDOCID"),
            _f("ADJ", "BOOLEAN", readonly=True),
            _f("MODULE", readonly=True),
            _f(
                "STATE",
                "TEXT",
                valid_values=_GLBATCH_STATES,
                codes=dict(zip("ISXAPRLZ", _GLBATCH_STATES, strict=True)),
            ),
        ],
        lines=LineDef(
            collection="ENTRIES", create_element="GLENTRY", object="GLENTRY", parent_field="BATCHNO"
        ),
    ),
    # Reference §13.2: GLENTRY has no JOURNAL and no BATCH_TITLE. BATCHNO is the parent
    # GLBATCH's RECORDNO, BATCH_NUMBER the parent's per-journal BATCHNO, BATCHTITLE (no
    # underscore) its title, STATISTICAL a one-letter flag (T/F). The journal of a line is
    # reached through its batch.
    _obj(
        "GLENTRY",
        "Journal Entry Line",
        None,
        [
            _f("BATCHNO", "INTEGER", readonly=True, ref="GLBATCH"),
            _f("LINE_NO", "INTEGER", readonly=True),
            _f("TR_TYPE", "INTEGER", required=True, valid_values=("1", "-1")),
            _f("ENTRY_DATE", "DATE", readonly=True),
            _f("AMOUNT", "DECIMAL", readonly=True),
            _f("TRX_AMOUNT", "DECIMAL", required=True),
            _f("BATCH_NUMBER", "INTEGER", readonly=True),
            _f("BATCH_DATE", "DATE", readonly=True),
            _f("BATCHTITLE", readonly=True),
            _f("ACCOUNTNO", required=True, ref="GLACCOUNT"),
            _f("ACCOUNTTITLE", readonly=True),
            _f("STATISTICAL", "TEXT", readonly=True, valid_values=("T", "F")),
            _f("DOCUMENT"),
            _f("DESCRIPTION", label="Memo"),
            _f("CURRENCY"),
            _f("BASECURR", readonly=True),
            _f("EXCHANGE_RATE", "DECIMAL"),
            _f("EXCH_RATE_DATE", "DATE"),
            _f("EXCH_RATE_TYPE_ID"),
            _f("LOCATION", ref="LOCATION"),
            _f("DEPARTMENT", ref="DEPARTMENT"),
            _f("CLASSID", ref="CLASS"),
            # §13.2/§13.5: GLDIM<name> holds the UDD record's integer id; its lookup DATATYPE is
            # not on record, so TEXT (the client keeps the id's spelling either way).
            _f("GLDIMFUND", "TEXT", ref="FUND", label="Fund"),
            _f("CUSTOMERID", ref="CUSTOMER"),
            _f("ITEMID", ref="ITEM"),
            _f("STATE", "TEXT", readonly=True, valid_values=_GLBATCH_STATES),
        ],
        creatable=False,
    ),
    _obj(
        "SODOCUMENT",
        "Sales Transaction",
        "DOCID",
        [
            _f("DOCID", readonly=True, label="Document ID"),
            _f("DOCNO", label="Document number"),
            _f("DOCPARID", required=True, label="Transaction definition"),
            _f(
                "STATE",
                "TEXT",
                valid_values=(
                    "Draft",
                    "Pending",
                    "In Progress",
                    "Partially Converted",
                    "Converted",
                    "Closed",
                ),
            ),
            _f("WHENCREATED", "DATE", required=True, label="Date"),
            _f("WHENDUE", "DATE"),
            _f("CUSTVENDID", required=True, ref="CUSTOMER", label="Customer ID"),
            _f("CUSTVENDNAME", readonly=True, label="Customer name"),
            _f("PONUMBER"),
            _f("REFERENCENO"),
            _f("TERMNAME"),
            _f("MESSAGE"),
            _f("CREATEDFROM"),
            _f("EXTERNALID"),
            _f("CURRENCY"),
            _f("BASECURR"),
            _f("SUBTOTAL", "DECIMAL", readonly=True),
            _f("TOTAL", "DECIMAL", readonly=True),
            _f("PRRECORDKEY", "INTEGER", readonly=True),
        ],
        creatable=False,
        lines=LineDef(
            collection="SODOCUMENTENTRIES",
            create_element="SODOCUMENTENTRY",
            object="SODOCUMENTENTRY",
            parent_field="DOCHDRNO",
        ),
    ),
    _obj(
        "SODOCUMENTENTRY",
        "Sales Transaction Detail",
        None,
        [
            _f("DOCHDRNO", "INTEGER", readonly=True, ref="SODOCUMENT"),
            _f("DOCHDRID", readonly=True),
            _f("LINE_NO", "INTEGER", readonly=True),
            _f("ITEMID", required=True, ref="ITEM"),
            _f("ITEMDESC"),
            _f("QUANTITY", "DECIMAL", required=True),
            _f("UNIT"),
            _f("PRICE", "DECIMAL"),
            _f("UIPRICE", "DECIMAL"),
            _f("TOTAL", "DECIMAL"),
            _f("UIVALUE", "DECIMAL"),
            _f("MEMO"),
            _f("LOCATION", ref="LOCATION"),
            _f("DEPARTMENT", ref="DEPARTMENT"),
        ],
        creatable=False,
    ),
    _obj(
        "ARINVOICE",
        "AR Invoice",
        "RECORDID",
        [
            _f("RECORDTYPE", readonly=True),
            _f("RECORDID", label="Invoice number"),
            _f(
                "STATE",
                "TEXT",
                valid_values=("Draft", "Posted", "Partially Paid", "Paid", "Reversed"),
            ),
            _f("CUSTOMERID", required=True, ref="CUSTOMER"),
            _f("CUSTOMERNAME", readonly=True),
            _f("DOCNUMBER"),
            _f("DESCRIPTION"),
            _f("TERMNAME"),
            _f("WHENCREATED", "DATE", required=True, label="Date"),
            _f("WHENPOSTED", "DATE"),
            _f("WHENDUE", "DATE", required=True),
            _f("WHENPAID", "DATE"),
            _f("BASECURR"),
            _f("CURRENCY"),
            _f("TOTALENTERED", "DECIMAL", required=True),
            _f("TOTALPAID", "DECIMAL"),
            _f("TOTALDUE", "DECIMAL"),
            _f("TRX_TOTALENTERED", "DECIMAL"),
            _f("TRX_TOTALPAID", "DECIMAL"),
            _f("TRX_TOTALDUE", "DECIMAL"),
            _f("MODULEKEY", readonly=True),
        ],
        document_dates=True,
    ),
    _obj(
        "ARPYMT",
        "AR Payment",
        None,
        [
            _f("CUSTOMERID", required=True, ref="CUSTOMER"),
            _f("CUSTOMERNAME", readonly=True),
            _f(
                "PAYMENTMETHOD",
                "TEXT",
                required=True,
                valid_values=(
                    "Printed Check",
                    "Cash",
                    "EFT",
                    "Credit Card",
                    "Online Charge Card",
                    "Online ACH Debit",
                ),
            ),
            _f("DOCNUMBER"),
            _f("DESCRIPTION"),
            _f("RECEIPTDATE", "DATE", required=True),
            _f("PAYMENTDATE", "DATE"),
            _f("WHENCREATED", "DATE", label="Date"),
            _f("CURRENCY"),
            _f("BASECURR"),
            _f("UNDEPOSITEDACCOUNTNO", ref="GLACCOUNT"),
            _f("FINANCIALENTITY"),
            _f("TOTALENTERED", "DECIMAL", required=True),
            _f("TRX_TOTALENTERED", "DECIMAL"),
            _f("STATE", "TEXT", valid_values=("Draft", "Submitted", "Posted", "Reversed")),
        ],
        document_dates=True,
    ),
]

OBJECTS: dict[str, ObjectDef] = {o.name: o for o in _OBJECTS}


def get_object(name: str) -> ObjectDef | None:
    """The object named ``name`` (case-insensitive), or None."""
    return OBJECTS.get(name.strip().upper())

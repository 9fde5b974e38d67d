"""Typed Intacct records for the objects the workflows write.

Each model is a frozen attrs class with ``OBJECT`` (the Intacct object name), ``key`` (the
identity its write control id is derived from) and ``to_fields()`` (the element tree the generic
``create``/``update`` functions take). Money is :class:`~decimal.Decimal`; a binary float is
refused.

It is long (over 600 lines) because every record the workflows write is here, each in Sage's schema
element order, so the order can be checked in one file against the XSD.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol

import attrs

from intacct_sync.errors import InputError

__all__ = [
    "ARInvoice",
    "ARPayment",
    "ClassValue",
    "Customer",
    "Department",
    "DimensionValue",
    "GLAccount",
    "IntacctRecord",
    "Item",
    "JournalEntry",
    "JournalLine",
    "Location",
    "SalesDocument",
    "SalesOrder",
    "SalesOrderLine",
    "StatAccount",
]

Status = Literal["active", "inactive"]


class IntacctRecord(Protocol):
    """What the client's ``create``/``update`` accept besides DataFrames and mappings."""

    OBJECT: ClassVar[str]

    @property
    def key(self) -> str:
        """The record's identity (its ID field), used to derive idempotent control ids."""
        ...

    def to_fields(self) -> dict[str, Any]:
        """Fields as the generic functions take them (nested mappings, collections).

        Returns:
            Intacct field name -> value, in the order the element is written.
        """
        ...


def _money(value: object) -> Decimal:
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int) and not isinstance(value, bool):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except ArithmeticError:
            raise InputError("not a plain decimal amount", field="amount", value=value) from None
    else:
        raise InputError(
            "amounts must be Decimal, int or str (never float)", field="amount", value=value
        )
    if not result.is_finite():
        raise InputError("amount is not finite", field="amount", value=value)
    return result


def _opt_money(value: object) -> Decimal | None:
    return None if value is None else _money(value)


def _custom(fields: dict[str, Any], custom: Mapping[str, Any]) -> dict[str, Any]:
    for name, value in custom.items():
        if name in fields:
            raise InputError("custom field shadows a standard field", field=name, value=value)
        fields[name] = value
    return fields


class _FieldMapped:
    """Records whose fields map one to one onto Intacct fields; the first is the ID field."""

    OBJECT: ClassVar[str]
    #: attribute name -> Intacct field name, ID field first
    WIRE: ClassVar[Mapping[str, str]]

    @property
    def key(self) -> str:
        """The ID field's value."""
        return str(getattr(self, next(iter(self.WIRE))))

    def to_fields(self) -> dict[str, Any]:
        """Fields for ``create``/``update`` (``None`` values are not sent).

        Returns:
            Intacct field name -> value, one per mapped attribute.
        """
        return {wire: getattr(self, attribute) for attribute, wire in self.WIRE.items()}


@attrs.frozen(kw_only=True)
class GLAccount(_FieldMapped):
    """A general ledger account (``GLACCOUNT``)."""

    OBJECT: ClassVar[str] = "GLACCOUNT"
    WIRE: ClassVar[Mapping[str, str]] = {
        "account_no": "ACCOUNTNO",
        "title": "TITLE",
        "account_type": "ACCOUNTTYPE",
        "normal_balance": "NORMALBALANCE",
        "category": "CATEGORY",
        "status": "STATUS",
    }
    account_no: str
    title: str
    account_type: Literal["balancesheet", "incomestatement"] = "incomestatement"
    normal_balance: Literal["debit", "credit"] = "debit"
    status: Status = "active"
    category: str | None = None


@attrs.frozen(kw_only=True)
class StatAccount(_FieldMapped):
    """A statistical account (``STATACCOUNT``), e.g. a donor count."""

    OBJECT: ClassVar[str] = "STATACCOUNT"
    WIRE: ClassVar[Mapping[str, str]] = {
        "account_no": "ACCOUNTNO",
        "title": "TITLE",
        "category": "CATEGORY",
        "status": "STATUS",
    }
    account_no: str
    title: str
    status: Status = "active"
    category: str | None = None


@attrs.frozen(kw_only=True)
class Location(_FieldMapped):
    """A location dimension value (``LOCATION``)."""

    OBJECT: ClassVar[str] = "LOCATION"
    WIRE: ClassVar[Mapping[str, str]] = {
        "location_id": "LOCATIONID",
        "name": "NAME",
        "parent_id": "PARENTID",
        "status": "STATUS",
    }
    location_id: str
    name: str
    parent_id: str | None = None
    status: Status = "active"


@attrs.frozen(kw_only=True)
class Department(_FieldMapped):
    """A department dimension value (``DEPARTMENT``; its name field is ``TITLE``)."""

    OBJECT: ClassVar[str] = "DEPARTMENT"
    WIRE: ClassVar[Mapping[str, str]] = {
        "department_id": "DEPARTMENTID",
        "title": "TITLE",
        "parent_id": "PARENTID",
        "status": "STATUS",
    }
    department_id: str
    title: str
    parent_id: str | None = None
    status: Status = "active"


@attrs.frozen(kw_only=True)
class ClassValue(_FieldMapped):
    """A class dimension value (``CLASS``)."""

    OBJECT: ClassVar[str] = "CLASS"
    WIRE: ClassVar[Mapping[str, str]] = {
        "class_id": "CLASSID",
        "name": "NAME",
        "description": "DESCRIPTION",
        "parent_id": "PARENTID",
        "status": "STATUS",
    }
    class_id: str
    name: str
    description: str | None = None
    parent_id: str | None = None
    status: Status = "active"


@attrs.frozen(kw_only=True)
class DimensionValue:
    """A value of a user-defined dimension (a custom object enabled as a GL dimension).

    Lines reference it through ``GLDIM<name>``; pass it in ``JournalLine.dimensions``.
    """

    object: str
    id_field: str
    id: str
    name: str
    status: Status = "active"

    @property
    def OBJECT(self) -> str:
        """The dimension's object name."""
        return self.object

    @property
    def key(self) -> str:
        """The value's id."""
        return self.id

    def to_fields(self) -> dict[str, Any]:
        """Fields for ``create``/``update``.

        Returns:
            The dimension's ID field, ``NAME`` and ``STATUS``.
        """
        return {self.id_field: self.id, "NAME": self.name, "STATUS": self.status}


@attrs.frozen(kw_only=True)
class Customer:
    """An AR customer (``CUSTOMER``) with its display contact."""

    OBJECT: ClassVar[str] = "CUSTOMER"
    customer_id: str
    name: str
    email: str | None = None
    phone: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    term_name: str | None = None
    credit_limit: Decimal | None = attrs.field(default=None, converter=_opt_money)
    status: Status = "active"
    custom_fields: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def key(self) -> str:
        """``CUSTOMERID``."""
        return self.customer_id

    def to_fields(self) -> dict[str, Any]:
        """Fields for ``create``/``update``.

        Returns:
            Intacct field name -> value, the contact nested under ``DISPLAYCONTACT``, custom
            fields last.
        """
        fields: dict[str, Any] = {
            "CUSTOMERID": self.customer_id,
            "NAME": self.name,
            "DISPLAYCONTACT": {
                "PRINTAS": self.name,
                "COMPANYNAME": self.name,
                # The SDK's order (conformance req_fn_create_customer_full.xml): phone first.
                "PHONE1": self.phone,
                "EMAIL1": self.email,
                "MAILADDRESS": {
                    "ADDRESS1": self.address1,
                    "CITY": self.city,
                    "STATE": self.state,
                    "ZIP": self.zip,
                    "COUNTRY": self.country,
                },
            },
            "STATUS": self.status,
            "TERMNAME": self.term_name,
            "CREDITLIMIT": self.credit_limit,
        }
        return _custom(fields, self.custom_fields)


@attrs.frozen(kw_only=True)
class Item:
    """A sellable item (``ITEM``)."""

    OBJECT: ClassVar[str] = "ITEM"
    item_id: str
    name: str
    item_type: str = "Non-Inventory (Sales only)"
    base_price: Decimal | None = attrs.field(default=None, converter=_opt_money)
    status: Status = "active"
    custom_fields: Mapping[str, Any] = attrs.field(factory=dict)

    @property
    def key(self) -> str:
        """``ITEMID``."""
        return self.item_id

    def to_fields(self) -> dict[str, Any]:
        """Fields for ``create``/``update``.

        Returns:
            Intacct field name -> value, custom fields last.
        """
        fields: dict[str, Any] = {
            "ITEMID": self.item_id,
            "NAME": self.name,
            "STATUS": self.status,
            "ITEMTYPE": self.item_type,
            "BASEPRICE": self.base_price,
        }
        return _custom(fields, self.custom_fields)


def _journal_lines(value: Iterable[JournalLine]) -> tuple[JournalLine, ...]:
    return tuple(value)


def _order_lines(value: Iterable[SalesOrderLine]) -> tuple[SalesOrderLine, ...]:
    return tuple(value)


def _tr_type(value: int) -> int:
    if value not in (1, -1):
        raise InputError(
            "TR_TYPE must be 1 (debit / increase) or -1 (credit / decrease)",
            field="tr_type",
            value=value,
        )
    return value


@attrs.frozen(kw_only=True)
class JournalLine:
    """One ``GLENTRY`` of a journal entry.

    ``amount`` is the absolute amount; ``tr_type`` says the side: ``1`` debit (statistical:
    increase), ``-1`` credit (statistical: decrease). ``dimensions`` holds user-defined
    dimensions by field name, each the UDD record's integer ``id`` (``{"GLDIMFUND": "10001"}``,
    reference §13.5).

    Multi-currency companies (reference §13.6): ``currency`` is required on each line, then
    ``exchange_rate`` (4 decimals) **or** ``exch_rate_type_id``; with neither, an empty
    ``EXCH_RATE_TYPE_ID`` is sent, as the PHP SDK does, and Intacct applies its default rate
    type. ``exch_rate_date`` defaults to the entry's ``BATCH_DATE`` on Intacct's side.
    Statistical lines take no currency.
    """

    account_no: str
    amount: Decimal = attrs.field(converter=_money)
    tr_type: int = attrs.field(converter=_tr_type)
    memo: str | None = None
    location: str | None = None
    department: str | None = None
    class_id: str | None = None
    dimensions: Mapping[str, str] = attrs.field(factory=dict)
    document: str | None = None
    currency: str | None = None
    exchange_rate: Decimal | None = attrs.field(default=None, converter=_opt_money)
    exch_rate_type_id: str | None = None
    exch_rate_date: dt.date | None = None
    custom_fields: Mapping[str, Any] = attrs.field(factory=dict)

    @exchange_rate.validator
    def _one_rate(self, attribute: attrs.Attribute[Decimal | None], value: Decimal | None) -> None:
        if value is not None and self.exch_rate_type_id is not None:
            raise InputError(
                "give exchange_rate or exch_rate_type_id, not both (reference §13.6)",
                field="exchange_rate",
                value=value,
            )
        if value is not None and value <= 0:
            raise InputError(
                "an exchange rate must be positive", field="exchange_rate", value=value
            )
        rated = value is not None or self.exch_rate_type_id is not None
        if (rated or self.exch_rate_date is not None) and not self.currency:
            raise InputError(
                "an exchange rate, rate type or rate date needs the line's currency",
                field="currency",
                value=self.currency,
            )

    @amount.validator
    def _positive(self, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
        if value <= 0:
            raise InputError(
                "line amounts must be positive; the side is TR_TYPE", field="amount", value=value
            )

    @property
    def signed_amount(self) -> Decimal:
        """``amount`` with the sign of ``tr_type`` (debits positive)."""
        return self.amount * self.tr_type

    def to_fields(self) -> dict[str, Any]:
        """The ``GLENTRY`` element's fields.

        Returns:
            Intacct field name -> value in the gateway's order; the amount stays ``Decimal``.
        """
        # The order of req_fn_glentry_all_dimensions.xml (the PHP SDK's): document, account,
        # side, amount, currency block, dimensions, memo, custom fields.
        fields: dict[str, Any] = {
            "DOCUMENT": self.document,
            "ACCOUNTNO": self.account_no,
            "TR_TYPE": self.tr_type,
            "TRX_AMOUNT": self.amount,
        }
        if self.currency is not None:
            fields["CURRENCY"] = self.currency
            fields["EXCH_RATE_DATE"] = self.exch_rate_date
            if self.exchange_rate is not None:
                fields["EXCHANGE_RATE"] = self.exchange_rate
            else:
                fields["EXCH_RATE_TYPE_ID"] = self.exch_rate_type_id or ""
        fields.update(
            {
                "LOCATION": self.location,
                "DEPARTMENT": self.department,
                "CLASSID": self.class_id,
            }
        )
        for name, value in self.dimensions.items():
            fields[name] = value
        fields["DESCRIPTION"] = self.memo
        return _custom(fields, self.custom_fields)


@attrs.frozen(kw_only=True)
class JournalEntry:
    """A journal entry (``GLBATCH``), regular or statistical.

    A regular entry must balance; a statistical one (``statistical=True``, posted to a
    statistical journal and statistical accounts) need not. ``key`` is the identity its posting
    control id is derived from (a CRM action id, a KPI and day...).
    """

    OBJECT: ClassVar[str] = "GLBATCH"
    key: str
    journal: str
    batch_date: dt.date
    title: str
    lines: tuple[JournalLine, ...] = attrs.field(converter=_journal_lines)
    statistical: bool = False
    reference_no: str | None = None
    state: Literal["Posted", "Draft"] = "Posted"
    reverse_date: dt.date | None = None
    history_comment: str | None = None
    #: multi-entity: ``BASELOCATION_NO``, the entity an entry unbalanced by entity is balanced
    #: against (reference §13.6); every line then needs a LOCATION
    base_location: str | None = None
    custom_fields: Mapping[str, Any] = attrs.field(factory=dict)

    @lines.validator
    def _lines(
        self, attribute: attrs.Attribute[tuple[JournalLine, ...]], value: tuple[JournalLine, ...]
    ) -> None:
        minimum = 1 if self.statistical else 2
        if len(value) < minimum:
            kind = "statistical" if self.statistical else "regular"
            raise InputError(
                f"a {kind} journal entry needs at least {minimum} line(s)",
                row=self.key,
                field="lines",
                value=len(value),
            )

    @property
    def imbalance(self) -> Decimal:
        """Debits minus credits (zero for a balanced entry)."""
        return sum((line.signed_amount for line in self.lines), Decimal(0))

    def to_fields(self) -> dict[str, Any]:
        """The ``GLBATCH`` element's fields.

        Returns:
            The header fields, then ``ENTRIES`` with one ``GLENTRY`` per line.
        """
        fields: dict[str, Any] = {
            "JOURNAL": self.journal,
            "BATCH_DATE": self.batch_date,
            "REVERSEDATE": self.reverse_date,
            "BATCH_TITLE": self.title,
            "HISTORY_COMMENT": self.history_comment,
            "REFERENCENO": self.reference_no,
            "BASELOCATION_NO": self.base_location,
            "STATE": self.state,
        }
        _custom(fields, self.custom_fields)
        fields["ENTRIES"] = [("GLENTRY", line.to_fields()) for line in self.lines]
        return fields


@attrs.frozen(kw_only=True)
class SalesOrderLine:
    """One ``sotransitem``."""

    item_id: str
    quantity: Decimal = attrs.field(converter=_money)
    price: Decimal | None = attrs.field(default=None, converter=_opt_money)
    discount_percent: Decimal | None = attrs.field(default=None, converter=_opt_money)
    description: str | None = None
    memo: str | None = None
    location_id: str | None = None
    department_id: str | None = None

    def to_item(self) -> dict[str, Any]:
        """The line as ``create_sotransaction`` takes it.

        Returns:
            The ``sotransitem`` fields (``itemid``, ``quantity``, ``price``...).
        """
        return {
            "itemid": self.item_id,
            "itemdesc": self.description,
            "quantity": self.quantity,
            "discountpercent": self.discount_percent,
            "price": self.price,
            "locationid": self.location_id,
            "departmentid": self.department_id,
            "memo": self.memo,
        }


@attrs.frozen(kw_only=True)
class SalesOrder:
    """A sales order (or another order-entry transaction) for ``create_sotransaction``.

    ``key`` is the identity the creation control id is derived from (the CRM opportunity id).
    """

    key: str
    customer_id: str
    date: dt.date
    lines: tuple[SalesOrderLine, ...] = attrs.field(converter=_order_lines)
    transaction_type: str = "Sales Order"
    #: ignored by Intacct when the transaction definition numbers documents itself (§13.8)
    document_no: str | None = None
    reference_no: str | None = None
    term_name: str | None = None
    date_due: dt.date | None = None
    message: str | None = None
    #: set only at creation; an update can address the document by it (§13.8)
    external_id: str | None = None
    #: multi-currency (§13.8): ``basecurr``, ``currency``, then ``exchange_rate`` **or**
    #: ``exchange_rate_type`` (blank = Intacct Daily Rate), ``exchange_rate_date``
    base_currency: str | None = None
    currency: str | None = None
    exchange_rate: Decimal | None = attrs.field(default=None, converter=_opt_money)
    exchange_rate_type: str | None = None
    exchange_rate_date: dt.date | None = None
    state: str | None = None
    custom_fields: Mapping[str, Any] = attrs.field(factory=dict)

    @exchange_rate.validator
    def _one_rate(self, attribute: attrs.Attribute[Decimal | None], value: Decimal | None) -> None:
        if value is not None and self.exchange_rate_type is not None:
            raise InputError(
                "give exchange_rate or exchange_rate_type, not both (reference §13.8)",
                row=self.key,
                field="exchange_rate",
                value=value,
            )
        rated = value is not None or self.exchange_rate_type is not None
        if (rated or self.base_currency or self.exchange_rate_date) and not self.currency:
            raise InputError(
                "a base currency or exchange rate needs the order's currency",
                row=self.key,
                field="currency",
                value=self.currency,
            )

    def sotransaction_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``create_sotransaction`` for this order (header and lines).

        Returns:
            Argument name -> value, the lines as :meth:`SalesOrderLine.to_item` gives them.
        """
        return {
            "transaction_type": self.transaction_type,
            "date_created": self.date,
            "customer_id": self.customer_id,
            "items": [line.to_item() for line in self.lines],
            "document_no": self.document_no,
            "reference_no": self.reference_no,
            "term_name": self.term_name,
            "date_due": self.date_due,
            "message": self.message,
            "external_id": self.external_id,
            "base_currency": self.base_currency,
            "currency": self.currency,
            "exchange_rate": self.exchange_rate,
            "exchange_rate_type": self.exchange_rate_type,
            "exchange_rate_date": self.exchange_rate_date,
            "state": self.state,
            "custom_fields": self.custom_fields or None,
        }

    @lines.validator
    def _lines(
        self,
        attribute: attrs.Attribute[tuple[SalesOrderLine, ...]],
        value: tuple[SalesOrderLine, ...],
    ) -> None:
        if not value:
            raise InputError("a sales order needs at least one line", row=self.key, field="lines")

    @property
    def total(self) -> Decimal:
        """Sum of quantity x price less line discounts (lines without a price count as 0)."""
        total = Decimal(0)
        for line in self.lines:
            amount = line.quantity * (line.price or Decimal(0))
            if line.discount_percent:
                amount -= amount * line.discount_percent / 100
            total += amount
        return total


def _date(row: Mapping[Any, Any], name: str) -> dt.date | None:
    value = row.get(name)
    if value is None or value != value:  # NaN/NaT
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "date"):
        return value.date()  # type: ignore[no-any-return]
    text = str(value).strip()
    if not text:
        return None
    for fmt in ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%Y %H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - Intacct dates are naive
        except ValueError:
            continue
    raise InputError("not a date", field=name, value=value)


def _text(row: Mapping[Any, Any], name: str) -> str:
    value = row.get(name)
    return "" if value is None or value != value else str(value)


def _amount(row: Mapping[Any, Any], name: str) -> Decimal:
    value = row.get(name)
    if value is None or value != value or value == "":
        return Decimal(0)
    return _money(value)


@attrs.frozen(kw_only=True)
class ARInvoice:
    """An AR invoice as read (``ARINVOICE``); build one from a row with :meth:`from_row`."""

    record_no: int
    invoice_no: str
    customer_id: str
    state: str
    created: dt.date | None
    due: dt.date | None
    paid: dt.date | None
    total: Decimal
    total_paid: Decimal
    total_due: Decimal

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ARInvoice:
        """From a row of ``read_by_query("ARINVOICE")`` (typed or text).

        Args:
            row: one row (a mapping or ``frame.iloc[i]``) with at least ``RECORDNO``.

        Returns:
            The invoice, amounts as ``Decimal`` (missing amounts are 0).

        Raises:
            InputError: a date or amount column that does not read as one (names the field).
        """
        return cls(
            record_no=int(row["RECORDNO"]),
            invoice_no=_text(row, "RECORDID"),
            customer_id=_text(row, "CUSTOMERID"),
            state=_text(row, "STATE"),
            created=_date(row, "WHENCREATED"),
            due=_date(row, "WHENDUE"),
            paid=_date(row, "WHENPAID"),
            total=_amount(row, "TOTALENTERED"),
            total_paid=_amount(row, "TOTALPAID"),
            total_due=_amount(row, "TOTALDUE"),
        )

    def days_overdue(self, today: dt.date) -> int:
        """Days past due: to the paid date when paid, else to ``today``; never negative.

        Args:
            today: the date to count to for an unpaid invoice (the ageing date).

        Returns:
            Whole days from the due date; 0 when not yet due or no due date is set.
        """
        if self.due is None:
            return 0
        end = self.paid or today
        return max(0, (end - self.due).days)


@attrs.frozen(kw_only=True)
class ARPayment:
    """An AR payment as read (``ARPYMT``)."""

    record_no: int
    customer_id: str
    state: str
    received: dt.date | None
    amount: Decimal

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> ARPayment:
        """From a row of ``read_by_query("ARPYMT")``.

        Args:
            row: one row (a mapping or ``frame.iloc[i]``) with at least ``RECORDNO``.

        Returns:
            The payment; ``received`` is the receipt date, else the creation date.

        Raises:
            InputError: a date or amount column that does not read as one (names the field).
        """
        return cls(
            record_no=int(row["RECORDNO"]),
            customer_id=_text(row, "CUSTOMERID"),
            state=_text(row, "STATE"),
            received=_date(row, "RECEIPTDATE") or _date(row, "WHENCREATED"),
            amount=_amount(row, "TOTALENTERED"),
        )


@attrs.frozen(kw_only=True)
class SalesDocument:
    """An order-entry document as read (``SODOCUMENT``)."""

    record_no: int
    doc_id: str
    doc_no: str
    definition: str
    customer_id: str
    state: str
    created: dt.date | None
    total: Decimal

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> SalesDocument:
        """From a row of ``read_by_query("SODOCUMENT")``.

        Args:
            row: one row (a mapping or ``frame.iloc[i]``) with at least ``RECORDNO``.

        Returns:
            The document, its total as ``Decimal``.

        Raises:
            InputError: a date or amount column that does not read as one (names the field).
        """
        return cls(
            record_no=int(row["RECORDNO"]),
            doc_id=_text(row, "DOCID"),
            doc_no=_text(row, "DOCNO"),
            definition=_text(row, "DOCPARID"),
            customer_id=_text(row, "CUSTVENDID"),
            state=_text(row, "STATE"),
            created=_date(row, "WHENCREATED"),
            total=_amount(row, "TOTAL"),
        )

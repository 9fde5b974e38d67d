"""Function bodies of the Intacct gateway, in the element order Sage's schema requires."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from lxml import etree

from intacct_sync.errors import InputError
from intacct_sync.intacct._protocol import element_from_mapping, value_text
from intacct_sync.intacct.filters import Filter, to_filter

__all__ = [
    "create",
    "create_sotransaction",
    "delete",
    "get_api_session",
    "get_dimensions",
    "inspect",
    "lookup",
    "query",
    "read",
    "read_by_name",
    "read_by_query",
    "read_more",
    "update",
]

MAX_READ_PAGE = 1000
MAX_QUERY_PAGE = 2000


def _el(tag: str, *children: tuple[str, str | None]) -> etree._Element:
    element = etree.Element(tag)
    for name, text in children:
        if text is not None:
            etree.SubElement(element, name).text = text
    return element


def get_api_session(entity_id: str | None = None) -> etree._Element:
    """``<getAPISession>``; ``entity_id=""`` asks for the top level explicitly."""
    return _el("getAPISession", ("locationid", entity_id))


def read_by_query(
    obj: str,
    *,
    query: str = "",
    fields: str = "*",
    page_size: int = MAX_READ_PAGE,
    docparid: str | None = None,
) -> etree._Element:
    """``<readByQuery>`` (page size 1..1000); ``docparid`` selects a transaction definition,
    whose document-specific fields an order-entry read then returns (reference §13.4).
    """
    if not 1 <= page_size <= MAX_READ_PAGE:
        raise InputError(f"readByQuery page size must be 1..{MAX_READ_PAGE}", value=page_size)
    return _el(
        "readByQuery",
        ("object", obj),
        ("query", query),
        ("fields", fields),
        ("pagesize", str(page_size)),
        ("returnFormat", "xml"),
        ("docparid", docparid),
    )


def read_more(result_id: str) -> etree._Element:
    """``<readMore>`` by ``resultId``."""
    return _el("readMore", ("resultId", result_id))


def read(
    obj: str, keys: Sequence[int | str], *, fields: str = "*", docparid: str | None = None
) -> etree._Element:
    """``<read>`` by ``RECORDNO`` keys (at most 100)."""
    return _el(
        "read",
        ("object", obj),
        ("keys", ",".join(str(k) for k in keys)),
        ("fields", fields),
        ("returnFormat", "xml"),
        ("docparid", docparid),
    )


def read_by_name(obj: str, names: Sequence[str], *, fields: str = "*") -> etree._Element:
    """``<readByName>`` by the object's ID field (at most 100)."""
    for name in names:
        if "," in name:
            raise InputError("readByName keys cannot contain commas", field="names", value=name)
    return _el(
        "readByName",
        ("object", obj),
        ("keys", ",".join(names)),
        ("fields", fields),
        ("returnFormat", "xml"),
    )


def query(
    obj: str,
    *,
    select: Sequence[str],
    filter: Filter | Mapping[str, Any] | None = None,
    order_by: Sequence[tuple[str, str]] = (),
    page_size: int = MAX_QUERY_PAGE,
    offset: int = 0,
    case_insensitive: bool = False,
    docparid: str | None = None,
) -> etree._Element:
    """``<query>``: select, object, docparid, filter, orderby, options, pagesize, offset.

    ``select`` items are field names or aggregates written ``"count:RECORDNO"``.
    """
    if not select:
        raise InputError("query needs at least one field in select ('*' is not supported)")
    if not 1 <= page_size <= MAX_QUERY_PAGE:
        raise InputError(f"query page size must be 1..{MAX_QUERY_PAGE}", value=page_size)
    if offset < 0:
        raise InputError("query offset must be >= 0", value=offset)
    body = etree.Element("query")
    select_el = etree.SubElement(body, "select")
    for item in select:
        func, _, name = item.rpartition(":")
        func = func.lower()
        if func and func not in ("count", "sum", "avg", "min", "max"):
            raise InputError("unknown aggregate in select", field="select", value=item)
        etree.SubElement(select_el, func or "field").text = name
    etree.SubElement(body, "object").text = obj
    if docparid is not None:
        etree.SubElement(body, "docparid").text = docparid
    if filter is not None:
        etree.SubElement(body, "filter").append(to_filter(filter).to_element())
    if order_by:
        orderby = etree.SubElement(body, "orderby")
        for field, direction in order_by:
            if direction not in ("ascending", "descending"):
                raise InputError(
                    "order direction must be 'ascending' or 'descending'",
                    field=field,
                    value=direction,
                )
            order = etree.SubElement(orderby, "order")
            etree.SubElement(order, "field").text = field
            etree.SubElement(order, direction)
    if case_insensitive:
        options = etree.SubElement(body, "options")
        etree.SubElement(options, "caseinsensitive").text = "true"
    etree.SubElement(body, "pagesize").text = str(page_size)
    etree.SubElement(body, "offset").text = str(offset)
    return body


def lookup(obj: str) -> etree._Element:
    """``<lookup>``: the object's field definitions."""
    return _el("lookup", ("object", obj))


def get_dimensions() -> etree._Element:
    """``<getDimensions/>``: the company's dimensions, user-defined ones included (§13.5)."""
    return etree.Element("getDimensions")


def inspect(obj: str, *, detail: bool = True) -> etree._Element:
    """``<inspect detail="1">``: the legacy field definitions (reference §13.4)."""
    body = _el("inspect", ("object", obj))
    body.set("detail", "1" if detail else "0")
    return body


def create(obj: str, fields: Mapping[str, Any]) -> etree._Element:
    """``<create>`` of one object."""
    body = etree.Element("create")
    body.append(element_from_mapping(obj, fields))
    return body


def update(obj: str, fields: Mapping[str, Any]) -> etree._Element:
    """``<update>`` of one object (identified by ``RECORDNO`` or its ID field)."""
    body = etree.Element("update")
    body.append(element_from_mapping(obj, fields))
    return body


def delete(obj: str, key: int | str) -> etree._Element:
    """``<delete>`` of one record by ``RECORDNO``."""
    return _el("delete", ("object", obj), ("keys", str(key)))


def _legacy_date(parent: etree._Element, tag: str, value: dt.date | None) -> None:
    if value is None:
        return
    element = etree.SubElement(parent, tag)
    etree.SubElement(element, "year").text = f"{value.year:04d}"
    etree.SubElement(element, "month").text = f"{value.month:02d}"
    etree.SubElement(element, "day").text = f"{value.day:02d}"


def _currency_block(
    body: etree._Element,
    base_currency: str | None,
    currency: str | None,
    rate: Any,
    rate_type: str | None,
    rate_date: dt.date | None,
) -> None:
    """api.xsd: ``basecurr?, currency, ((exchratedate?, exchratetype) | exchrate)``."""
    if currency is None:
        if base_currency is not None or rate is not None or rate_type or rate_date:
            raise InputError(
                "a base currency or exchange rate needs the order's currency", field="currency"
            )
        return
    if rate is not None and rate_type is not None:
        raise InputError(
            "give an exchange rate or a rate type, not both", field="exchrate", value=rate
        )
    if base_currency is not None:
        etree.SubElement(body, "basecurr").text = base_currency
    etree.SubElement(body, "currency").text = currency
    if rate is not None:
        if rate_date is not None:
            raise InputError(
                "a fixed exchange rate takes no rate date", field="exchratedate", value=rate_date
            )
        etree.SubElement(body, "exchrate").text = value_text(rate)
        return
    _legacy_date(body, "exchratedate", rate_date)
    # §13.8: the PHP SDK writes an empty exchratetype when only currencies are given; blank
    # means Intacct Daily Rate.
    etree.SubElement(body, "exchratetype").text = rate_type or ""


# Element order of create_sotransaction and sotransitem per Sage's api.xsd (a sequence).
_SO_ITEM_ORDER = (
    "bundlenumber",
    "itemid",
    "itemdesc",
    "taxable",
    "warehouseid",
    "quantity",
    "unit",
    "linelevelsimpletaxtype",
    "discountpercent",
    "price",
    "sourcelinekey",
    "discsurchargememo",
    "locationid",
    "departmentid",
    "memo",
    "projectid",
    "customerid",
    "classid",
)


def create_sotransaction(
    *,
    transaction_type: str,
    date_created: dt.date,
    customer_id: str,
    items: Sequence[Mapping[str, Any]],
    document_no: str | None = None,
    reference_no: str | None = None,
    term_name: str | None = None,
    date_due: dt.date | None = None,
    message: str | None = None,
    external_id: str | None = None,
    currency: str | None = None,
    state: str | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    base_currency: str | None = None,
    exchange_rate: Any = None,
    exchange_rate_type: str | None = None,
    exchange_rate_date: dt.date | None = None,
) -> etree._Element:
    """Legacy ``<create_sotransaction>`` (the only documented way to create a sales order).

    Args:
        transaction_type: the transaction definition (``Sales Order``, ``Sales Invoice``...).
        date_created: document date.
        customer_id: ``CUSTOMERID`` of the customer.
        items: lines with keys from ``itemid``, ``itemdesc``, ``quantity``, ``unit``,
            ``discountpercent``, ``price``, ``locationid``, ``departmentid``, ``memo``.
        document_no: document number (when the definition does not number documents itself).
        reference_no: reference number (we put the CRM opportunity id here).
        term_name: payment terms (``N30``).
        date_due: due date.
        message: message printed on the document.
        external_id: an external id kept on the document (set only at creation, §13.8).
        currency: transaction currency.
        state: ``Pending``, ``Draft``, ``Closed``...
        custom_fields: header custom fields by integration name.
        base_currency: the base currency (``basecurr``), multi-currency companies.
        exchange_rate: a fixed rate (``exchrate``); or
        exchange_rate_type: a rate type (``exchratetype``; blank = Intacct Daily Rate, §13.8),
            with
        exchange_rate_date: the rate's date (``exchratedate``).

    Raises:
        InputError: a line is malformed; a rate and a rate type both given; a base currency
            or rate without a currency (the schema's currency block needs ``currency``).
    """
    if not items:
        raise InputError("a sales order needs at least one line", field="items")
    body = etree.Element("create_sotransaction")
    etree.SubElement(body, "transactiontype").text = transaction_type
    _legacy_date(body, "datecreated", date_created)
    for tag, value in (("customerid", customer_id), ("documentno", document_no)):
        if value is not None:
            etree.SubElement(body, tag).text = value
    for tag, value in (("referenceno", reference_no), ("termname", term_name)):
        if value is not None:
            etree.SubElement(body, tag).text = value
    _legacy_date(body, "datedue", date_due)
    if message is not None:
        etree.SubElement(body, "message").text = message
    if external_id is not None:
        etree.SubElement(body, "externalid").text = external_id
    _currency_block(
        body, base_currency, currency, exchange_rate, exchange_rate_type, exchange_rate_date
    )
    if custom_fields:
        box = etree.SubElement(body, "customfields")
        for name, value in custom_fields.items():
            item = etree.SubElement(box, "customfield")
            etree.SubElement(item, "customfieldname").text = name
            etree.SubElement(item, "customfieldvalue").text = value_text(value)
    if state is not None:
        etree.SubElement(body, "state").text = state
    lines = etree.SubElement(body, "sotransitems")
    for index, line in enumerate(items):
        unknown = set(line) - set(_SO_ITEM_ORDER)
        if unknown:
            raise InputError(
                f"unknown sales order line field(s): {', '.join(sorted(unknown))}",
                row=index,
                field=sorted(unknown)[0],
            )
        if not line.get("itemid"):
            raise InputError("a sales order line needs an itemid", row=index, field="itemid")
        item_el = etree.SubElement(lines, "sotransitem")
        for tag in _SO_ITEM_ORDER:
            value = line.get(tag)
            if value is not None:
                etree.SubElement(item_el, tag).text = value_text(value)
    return body

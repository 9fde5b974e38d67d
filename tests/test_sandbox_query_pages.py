"""The emulator's ``query`` pages: the same records, order and counts whichever way a page is
read (a slice of the record-key order, or the evaluated query), and each page sees the data as
it is when asked.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree
from lxml.builder import E

from intacct_sync.sandbox import COMPANIES
from intacct_sync.sandbox._http import Exchange
from intacct_sync.sandbox.intacct.gateway import (
    ENDPOINT_PATH,
    SENDER_ID,
    SENDER_PASSWORD,
    USER_ID,
    USER_PASSWORD,
    IntacctGateway,
)

NP = COMPANIES["nonprofit"]
PAGE = 300
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def _query(gw: IntacctGateway, *parts: etree._Element) -> etree._Element:
    body = E.request(
        E.control(
            E.senderid(SENDER_ID),
            E.password(SENDER_PASSWORD),
            E.controlid("c"),
            E.uniqueid("false"),
            E.dtdversion("3.0"),
            E.includewhitespace("false"),
        ),
        E.operation(
            E.authentication(
                E.login(E.userid(USER_ID), E.companyid(NP), E.password(USER_PASSWORD))
            ),
            E.content(E.function(E.query(E.object("GLENTRY"), *parts), controlid="q")),
        ),
    )
    reply = gw.handle(
        Exchange(method="POST", path=ENDPOINT_PATH, headers={}, body=etree.tostring(body))
    )
    result = etree.fromstring(reply.body, PARSER).find("operation/result")
    assert result is not None and result.findtext("status") == "success", reply.body[:500]
    data = result.find("data")
    assert data is not None
    return data


def _page(gw: IntacctGateway, offset: int, *parts: etree._Element) -> etree._Element:
    return _query(gw, *parts, E.pagesize(str(PAGE)), E.offset(str(offset)))


def _records(data: etree._Element) -> list[tuple[str, ...]]:
    return [tuple(f"{field.tag!s}={field.text or ''}" for field in rec) for rec in data]


def _counts(data: etree._Element) -> tuple[str | None, ...]:
    return tuple(data.get(a) for a in ("totalcount", "offset", "count", "numremaining"))


SELECT = E.select(E.field("RECORDNO"), E.field("ACCOUNTNO"), E.field("TRX_AMOUNT"))
#: a filter every row passes: the query is then evaluated whole, not read off the key order
EVERY_ROW = E.filter(E.greaterthan(E.field("RECORDNO"), E.value("0")))


def _by(*orders: tuple[str, bool]) -> etree._Element:
    return E.orderby(
        *[E.order(E.field(f), E.descending() if desc else E.ascending()) for f, desc in orders]
    )


@pytest.fixture(scope="module")
def gl() -> IntacctGateway:
    gw = IntacctGateway()
    gw.seed_gl_entries(NP, 2_000)
    return gw


@pytest.mark.parametrize(
    "order",
    [(), (("RECORDNO", False),), (("recordno", False), ("ACCOUNTNO", True))],
    ids=["no order", "by key", "by key then another field"],
)
def test_pages_in_key_order_are_the_stored_rows_with_the_evaluated_counts(
    gl: IntacctGateway, order: tuple[tuple[str, bool], ...]
) -> None:
    stored = gl.records(NP, "GLENTRY")
    total = len(stored)
    assert total > 6 * PAGE
    ordering = [_by(*order)] if order else []
    read: list[tuple[str, ...]] = []
    for offset in range(0, total + PAGE, PAGE):
        page = _page(gl, offset, SELECT, *ordering)
        evaluated = _page(gl, offset, SELECT, EVERY_ROW, *ordering)
        assert _records(page) == _records(evaluated)
        assert _counts(page) == _counts(evaluated)
        count = min(PAGE, max(total - offset, 0))
        assert _counts(page) == (
            str(total),
            str(offset),
            str(count),
            str(max(total - offset - count, 0)),
        )
        read += _records(page)
    numbers = [int(rec[0].removeprefix("RECORDNO=")) for rec in read]
    assert numbers == sorted(int(r["RECORDNO"]) for r in stored)
    amounts = {r["RECORDNO"]: r["TRX_AMOUNT"] for r in stored}
    assert [rec[2] for rec in read] == [f"TRX_AMOUNT={amounts[str(n)]}" for n in numbers]


def test_descending_by_key_and_other_orders_still_sort(gl: IntacctGateway) -> None:
    down = _page(gl, 0, SELECT, _by(("RECORDNO", True)))
    numbers = [int(rec.findtext("RECORDNO") or "") for rec in down]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) == PAGE
    assert numbers[0] == max(int(r["RECORDNO"]) for r in gl.records(NP, "GLENTRY"))
    by_account = _page(gl, 0, SELECT, _by(("ACCOUNTNO", False), ("RECORDNO", True)))
    pairs = [
        (rec.findtext("ACCOUNTNO") or "", int(rec.findtext("RECORDNO") or "")) for rec in by_account
    ]
    assert pairs == sorted(pairs, key=lambda p: (p[0], -p[1]))


def test_a_filter_on_a_field_not_selected_filters_without_adding_it(gl: IntacctGateway) -> None:
    account = gl.records(NP, "GLENTRY")[0]["ACCOUNTNO"]
    data = _page(
        gl,
        0,
        E.select(E.field("RECORDNO")),
        E.filter(E.equalto(E.field("ACCOUNTNO"), E.value(account))),
    )
    expected = [r["RECORDNO"] for r in gl.records(NP, "GLENTRY") if r["ACCOUNTNO"] == account]
    assert data.get("totalcount") == str(len(expected))
    assert [rec.findtext("RECORDNO") for rec in data] == expected[:PAGE]
    assert {field.tag for rec in data for field in rec} == {"RECORDNO"}


@pytest.mark.parametrize("filtered", [False, True], ids=["key order", "evaluated"])
def test_each_page_sees_the_rows_added_before_it(filtered: bool) -> None:
    gw = IntacctGateway()
    gw.seed_gl_entries(NP, 1_000)
    parts = [SELECT, _by(("RECORDNO", False))] + ([EVERY_ROW] if filtered else [])
    before = int(_page(gw, 0, *parts).get("totalcount") or "")
    gw.seed_gl_entries(NP, 100)
    after = _page(gw, PAGE, *parts)
    assert int(after.get("totalcount") or "") == before + 100 == gw.count(NP, "GLENTRY")
    assert int(after.get("numremaining") or "") == before + 100 - 2 * PAGE


def test_an_order_on_a_field_not_selected_sorts_without_adding_it(gl: IntacctGateway) -> None:
    # The emulator used to sort on the selected values only, so this order changed nothing.
    data = _query(gl, E.select(E.field("RECORDNO")), _by(("TRX_AMOUNT", True)))
    stored = gl.records(NP, "GLENTRY")
    amounts = {r["RECORDNO"]: Decimal(r["TRX_AMOUNT"] or "0") for r in stored}
    got = [rec.findtext("RECORDNO") or "" for rec in data]
    assert len(got) == min(len(stored), 100)
    assert [amounts[n] for n in got] == sorted((amounts[n] for n in amounts), reverse=True)[
        : len(got)
    ]
    assert {field.tag for rec in data for field in rec} == {"RECORDNO"}

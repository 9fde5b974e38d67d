"""The Intacct XML gateway emulator, driven with raw XML requests (no client code)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree
from lxml.builder import E

from intacct_sync._http.transport import HttpRequest, RequestsTransport, Timeout
from intacct_sync.errors import TransportError
from intacct_sync.sandbox import COMPANIES
from intacct_sync.sandbox._http import Exchange, LoopbackServer
from intacct_sync.sandbox.intacct.gateway import (
    ENDPOINT_PATH,
    SENDER_ID,
    SENDER_PASSWORD,
    USER_ID,
    USER_PASSWORD,
    IntacctGateway,
)

NP = COMPANIES["nonprofit"]
#: the seeded nonprofit's GENERAL fund: the first user-defined dimension record (ids from 10001)
GENERAL_FUND_ID = "10001"
IT = COMPANIES["itservices"]
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "intacct"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


# -- helpers --------------------------------------------------------------------------------------


def request(
    *functions: tuple[str, etree._Element],
    company: str = NP,
    session: str | None = None,
    uniqueid: bool = False,
    transaction: bool = False,
    sender: str = SENDER_ID,
    sender_password: str = SENDER_PASSWORD,
    user_password: str = USER_PASSWORD,
    locationid: str | None = None,
) -> bytes:
    """A full request envelope; ``functions`` = (controlid, function body element)."""
    if session is not None:
        auth = E.authentication(E.sessionid(session))
    else:
        login = E.login(E.userid(USER_ID), E.companyid(company), E.password(user_password))
        if locationid is not None:
            login.append(E.locationid(locationid))
        auth = E.authentication(login)
    content = E.content(*[E.function(body, controlid=cid) for cid, body in functions])
    root = E.request(
        E.control(
            E.senderid(sender),
            E.password(sender_password),
            E.controlid("req-1"),
            E.uniqueid("true" if uniqueid else "false"),
            E.dtdversion("3.0"),
            E.includewhitespace("false"),
        ),
        E.operation(auth, content, transaction="true" if transaction else "false"),
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def send(gw: IntacctGateway, body: bytes) -> etree._Element:
    reply = gw.handle(
        Exchange(method="POST", path=ENDPOINT_PATH, headers={"Host": "127.0.0.1:8123"}, body=body)
    )
    assert reply.status == 200, reply.body
    assert reply.content_type == 'text/xml; encoding="UTF-8";charset=UTF-8'
    assert reply.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return etree.fromstring(reply.body, PARSER)


def call(
    gw: IntacctGateway, *functions: tuple[str, etree._Element], **kw: object
) -> etree._Element:
    return send(gw, request(*functions, **kw))  # type: ignore[arg-type]


def results(root: etree._Element) -> list[etree._Element]:
    return root.findall("operation/result")


def one(gw: IntacctGateway, body: etree._Element, **kw: object) -> etree._Element:
    (result,) = results(call(gw, ("f1", body), **kw))
    return result


def ok_data(result: etree._Element) -> etree._Element:
    assert result.findtext("status") == "success", etree.tostring(result)
    data = result.find("data")
    assert data is not None
    return data


def errors(result: etree._Element) -> list[tuple[str, str]]:
    return [
        (e.findtext("errorno") or "", e.findtext("description2") or "")
        for e in result.findall("errormessage/error")
    ]


def rbq(obj: str, query: str = "", fields: str = "*", pagesize: int = 100) -> etree._Element:
    return E.readByQuery(
        E.object(obj),
        E.query(query),
        E.fields(fields),
        E.pagesize(str(pagesize)),
        E.returnFormat("xml"),
    )


def glbatch(
    journal: str,
    lines: list[tuple[str, int, str]],
    *,
    date: str = "01/15/2026",
    ref: str = "T1",
    **dims: str,
) -> etree._Element:
    entries = []
    for account, tr_type, amount in lines:
        entry = E.GLENTRY(E.ACCOUNTNO(account), E.TR_TYPE(str(tr_type)), E.TRX_AMOUNT(amount))
        for key, value in dims.items():
            entry.append(E(key, value))
        entries.append(entry)
    return E.GLBATCH(
        E.JOURNAL(journal),
        E.BATCH_DATE(date),
        E.BATCH_TITLE("test entry"),
        E.REFERENCENO(ref),
        E.ENTRIES(*entries),
    )


@pytest.fixture(scope="module")
def shared() -> IntacctGateway:
    """A gateway the read-only tests share."""
    return IntacctGateway()


@pytest.fixture
def gw() -> IntacctGateway:
    """A fresh gateway for tests that write or change settings."""
    return IntacctGateway()


# -- envelope and authentication ------------------------------------------------------------------


def test_login_get_api_session_then_session_auth(shared: IntacctGateway) -> None:
    root = call(shared, ("s1", E.getAPISession()))
    assert root.findtext("control/status") == "success"
    assert root.findtext("operation/authentication/companyid") == NP
    timeout = root.findtext("operation/authentication/sessiontimeout") or ""
    assert timeout[-6] in "+-" and "T" in timeout
    api = ok_data(results(root)[0]).find("api")
    assert api is not None
    assert api.findtext("endpoint") == "http://127.0.0.1:8123/ia/xml/xmlgw.phtml"
    session = api.findtext("sessionid") or ""
    data = ok_data(one(shared, rbq("GLJOURNAL"), session=session))
    assert data.get("totalcount") == "4"


def test_both_companies_sign_in_with_the_same_user(shared: IntacctGateway) -> None:
    data = ok_data(one(shared, rbq("CUSTOMER"), company=IT))
    assert data.get("totalcount") == "25"
    assert ok_data(one(shared, rbq("CUSTOMER"), company=NP)).get("totalcount") == "0"


def test_wrong_sender_is_a_control_failure(shared: IntacctGateway) -> None:
    root = send(shared, request(("f", E.getAPISession()), sender_password="nope"))
    assert root.findtext("control/status") == "failure"
    assert root.find("operation") is None
    assert errors(root) == [("XL03000006", "Invalid Web Services Authorization")]


def test_wrong_user_password_is_an_authentication_failure(shared: IntacctGateway) -> None:
    root = send(shared, request(("f", E.getAPISession()), user_password="nope"))
    assert root.findtext("control/status") == "success"
    assert root.findtext("operation/authentication/status") == "failure"
    assert root.findtext("operation/authentication/userid") == USER_ID
    assert [
        (e.findtext("errorno"), e.findtext("description2"))
        for e in root.findall("operation/errormessage/error")
    ] == [("XL03000006", "Sign-in information is incorrect")]
    assert not results(root)
    unknown = send(shared, request(("f", E.getAPISession()), company="NO-SUCH-CO"))
    assert unknown.findtext("operation/authentication/status") == "failure"


def _auth_error(root: etree._Element) -> str:
    return root.findtext("operation/errormessage/error/description2") or ""


def test_unknown_or_expired_session(gw: IntacctGateway) -> None:
    root = call(gw, ("f", rbq("CLASS")), session="not-a-session..")
    assert root.findtext("operation/authentication/status") == "failure"
    assert root.findtext("operation/authentication/userid") == ""
    assert root.findtext("operation/authentication/companyid") == ""
    assert _auth_error(root).startswith("Invalid session")
    gw.session_ttl = 0.4
    api = ok_data(one(gw, E.getAPISession())).find("api")
    assert api is not None
    session = api.findtext("sessionid") or ""
    for _ in range(3):  # sliding: every call resets the clock
        time.sleep(0.2)
        ok_data(one(gw, rbq("CLASS"), session=session))
    time.sleep(0.6)
    assert _auth_error(call(gw, ("f", rbq("CLASS")), session=session)).startswith("Invalid session")
    api = ok_data(one(gw, E.getAPISession())).find("api")
    assert api is not None
    session = api.findtext("sessionid") or ""
    gw.expire_sessions()
    assert _auth_error(call(gw, ("f", rbq("CLASS")), session=session)).startswith("Invalid session")


def test_entity_location(shared: IntacctGateway) -> None:
    root = call(shared, ("s", E.getAPISession(E.locationid("NORTH"))), locationid="HQ")
    assert root.findtext("operation/authentication/locationid") == "HQ"
    api = ok_data(results(root)[0]).find("api")
    assert api is not None and api.findtext("locationid") == "NORTH"
    bad = call(shared, ("s", E.getAPISession()), locationid="NOWHERE")
    assert bad.findtext("operation/authentication/status") == "failure"


@pytest.mark.parametrize(
    "body",
    [
        b"<request><control><senderid>x</senderid></control>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]><request>&x;</request>',
        b'<!DOCTYPE r SYSTEM "http://example.invalid/x.dtd"><request/>',
        b"not xml at all",
    ],
)
def test_malformed_or_dtd_is_a_parse_control_failure(shared: IntacctGateway, body: bytes) -> None:
    root = send(shared, body)
    assert root.findtext("control/status") == "failure"
    assert errors(root)[0][0] == "XL03000003"
    assert "XML Parse schema error" in errors(root)[0][1]


def test_unknown_function_and_object(shared: IntacctGateway) -> None:
    result = one(shared, E.fly_to_moon())
    assert result.findtext("status") == "failure"
    bad = one(shared, rbq("BADOBJECT"))
    assert errors(bad) == [("Query Failed", "Object definition BADOBJECT not found")]


# -- readByQuery / readMore ------------------------------------------------------------------------


def test_readbyquery_pages_to_the_end_with_readmore(shared: IntacctGateway) -> None:
    data = ok_data(one(shared, rbq("GLACCOUNT", pagesize=10)))
    assert (data.get("listtype"), data.get("count"), data.get("totalcount")) == (
        "glaccount",
        "10",
        "42",
    )
    assert data.get("numremaining") == "32"
    result_id = data.get("resultId") or ""
    seen = [r.findtext("RECORDNO") for r in data]
    while True:
        more = ok_data(one(shared, E.readMore(E.resultId(result_id))))
        assert more.get("resultId") == result_id and more.get("totalcount") == "42"
        seen += [r.findtext("RECORDNO") for r in more]
        if more.get("numremaining") == "0":
            break
    assert len(seen) == len(set(seen)) == 42
    gone = one(shared, E.readMore(E.resultId(result_id)))
    assert errors(gone)[0][0] == "readMore failed"
    last = ok_data(one(shared, rbq("GLJOURNAL")))
    assert last.get("resultId") == "" and last.get("numremaining") == "0"


def test_readmore_result_expiry(gw: IntacctGateway) -> None:
    data = ok_data(one(gw, rbq("GLACCOUNT", pagesize=5)))
    gw.expire_results()
    failed = one(gw, E.readMore(E.resultId(data.get("resultId") or "")))
    assert failed.findtext("status") == "failure"
    assert errors(failed) == [
        (
            "readMore failed",
            f"Attempt to readMore with an invalid or expired resultId: {data.get('resultId')}",
        )
    ]
    gw.result_ttl = 0.05
    data = ok_data(one(gw, rbq("GLACCOUNT", pagesize=5)))
    time.sleep(0.1)
    assert (
        one(gw, E.readMore(E.resultId(data.get("resultId") or ""))).findtext("status") == "failure"
    )


def test_readmore_serves_the_snapshot(gw: IntacctGateway) -> None:
    data = ok_data(one(gw, rbq("CLASS", pagesize=2)))
    ok_data(one(gw, E.create(E.CLASS(E.CLASSID("NEW"), E.NAME("New class")))))
    more = ok_data(one(gw, E.readMore(E.resultId(data.get("resultId") or ""))))
    assert more.get("totalcount") == "5"
    assert "NEW" not in [r.findtext("CLASSID") for r in more]


def _expected(
    gw: IntacctGateway, company: str, obj: str, test: Callable[[dict[str, str]], bool]
) -> int:
    return sum(1 for r in gw.records(company, obj) if test(r))


QUERY_CASES = [
    ("GLACCOUNT", "ACCOUNTNO = '1000'", lambda r: r["ACCOUNTNO"] == "1000"),
    ("GLACCOUNT", "ACCOUNTNO != '1000'", lambda r: r["ACCOUNTNO"] != "1000"),
    ("GLACCOUNT", "ACCOUNTNO <> '1000'", lambda r: r["ACCOUNTNO"] != "1000"),
    ("GLACCOUNT", "ACCOUNTNO < '2000'", lambda r: r["ACCOUNTNO"] < "2000"),
    ("GLACCOUNT", "ACCOUNTNO <= '2000'", lambda r: r["ACCOUNTNO"] <= "2000"),
    ("GLACCOUNT", "RECORDNO > 40", lambda r: int(r["RECORDNO"]) > 40),
    ("GLACCOUNT", "RECORDNO >= 40", lambda r: int(r["RECORDNO"]) >= 40),
    ("GLACCOUNT", "TITLE like 'Cash%'", lambda r: r["TITLE"].startswith("Cash")),
    ("GLACCOUNT", "TITLE not like 'Cash%'", lambda r: not r["TITLE"].startswith("Cash")),
    ("GLACCOUNT", "TITLE = 'cash - operating'", lambda r: False),
    (
        "GLACCOUNT",
        "ACCOUNTNO in ('1000', '1010', '9999')",
        lambda r: r["ACCOUNTNO"] in ("1000", "1010"),
    ),
    (
        "GLACCOUNT",
        "ACCOUNTNO not in ('1000','1010')",
        lambda r: r["ACCOUNTNO"] not in ("1000", "1010"),
    ),
    ("GLACCOUNT", "CLOSINGACCOUNTNO IS NULL", lambda r: not r["CLOSINGACCOUNTNO"]),
    ("GLACCOUNT", "CLOSINGACCOUNTNO IS NOT NULL", lambda r: bool(r["CLOSINGACCOUNTNO"])),
    ("GLACCOUNT", "STATUS = 'F'", lambda r: r["STATUS"] == "inactive"),
    (
        "GLACCOUNT",
        "STATUS = 'T' AND ACCOUNTTYPE = 'N'",
        lambda r: r["STATUS"] == "active" and r["ACCOUNTTYPE"] == "balancesheet",
    ),
    ("GLACCOUNT", "NOT (STATUS = 'T')", lambda r: r["STATUS"] != "active"),
    (
        "GLACCOUNT",
        "(ACCOUNTNO = '1000' OR ACCOUNTNO = '4000') AND NOT TITLE like '%Individuals'",
        lambda r: r["ACCOUNTNO"] == "1000",
    ),
    ("GLENTRY", "TRX_AMOUNT > 10000", lambda r: Decimal(r["TRX_AMOUNT"]) > 10000),
    (
        "GLENTRY",
        "TRX_AMOUNT >= 9.5 AND TR_TYPE = -1",
        lambda r: Decimal(r["TRX_AMOUNT"]) >= Decimal("9.5") and r["TR_TYPE"] == "-1",
    ),
    ("GLBATCH", "JOURNAL = 'STAT' AND STATE = 'P'", lambda r: r["JOURNAL"] == "STAT"),
]


@pytest.mark.parametrize(("obj", "query", "test"), QUERY_CASES)
def test_readbyquery_operators(
    shared: IntacctGateway, obj: str, query: str, test: Callable[[dict[str, str]], bool]
) -> None:
    data = ok_data(one(shared, rbq(obj, query, fields="RECORDNO", pagesize=1000)))
    assert int(data.get("totalcount") or -1) == _expected(shared, NP, obj, test)


def test_readbyquery_dates_escapes_and_errors(shared: IntacctGateway) -> None:
    batches = shared.records(NP, "GLBATCH")
    cutoff = sorted(b["BATCH_DATE"][6:] + b["BATCH_DATE"][:5] for b in batches)[40]
    mmddyyyy = f"{cutoff[4:]}/{cutoff[:4]}"
    data = ok_data(one(shared, rbq("GLBATCH", f"BATCH_DATE >= '{mmddyyyy}'", "RECORDNO")))
    expected = sum(1 for b in batches if b["BATCH_DATE"][6:] + b["BATCH_DATE"][:5] >= cutoff)
    assert int(data.get("totalcount") or 0) == expected
    escaped = ok_data(
        one(shared, rbq("CUSTOMER", r"DISPLAYCONTACT.LASTNAME = 'O\'Neill'"), company=IT)
    )
    assert escaped.get("count") == "1"
    assert escaped[0].findtext("DISPLAYCONTACT.MAILADDRESS.CITY") == "Portland"
    for bad in ("ACCOUNTNO = ", "NOSUCHFIELD = '1'", "RECORDNO > 'abc'", "(ACCOUNTNO = '1'"):
        failure = one(shared, rbq("GLACCOUNT", bad))
        assert errors(failure)[0][0] == "Query Failed", bad


# -- read / readByName / query / lookup ------------------------------------------------------------


def test_record_element_casing(shared: IntacctGateway) -> None:
    root = call(
        shared,
        ("a", rbq("GLACCOUNT", "ACCOUNTNO = '1000'")),
        ("b", E.read(E.object("GLACCOUNT"), E.keys("1,2"), E.fields("*"))),
        ("c", E.readByName(E.object("GLACCOUNT"), E.keys("1000,9999"), E.fields("RECORDNO,TITLE"))),
        ("d", E.query(E.select(E.field("ACCOUNTNO")), E.object("GLACCOUNT"), E.pagesize("1"))),
    )
    a, b, c, d = (ok_data(r) for r in results(root))
    assert a.get("listtype") == "glaccount" and a[0].tag == "glaccount"
    assert b.get("listtype") == "GLACCOUNT" and [r.tag for r in b] == ["GLACCOUNT"] * 2
    assert c.get("count") == "1" and [x.tag for x in c[0]] == ["RECORDNO", "TITLE"]
    assert d.get("listtype") == "GLACCOUNT" and d[0].tag == "GLACCOUNT"


def test_read_nests_contact_and_lines(shared: IntacctGateway) -> None:
    data = ok_data(one(shared, E.readByName(E.object("CUSTOMER"), E.keys("C1013")), company=IT))
    assert data[0].findtext("DISPLAYCONTACT/MAILADDRESS/CITY") == "Portland"
    batch = ok_data(one(shared, E.read(E.object("GLBATCH"), E.keys("1"), E.fields("*"))))
    lines = batch[0].findall("ENTRIES/glentry")
    assert len(lines) > 2 and all(line.findtext("BATCHNO") == "1" for line in lines)
    missing_keys = one(shared, E.read(E.object("GLBATCH"), E.keys(""), E.fields("*")))
    assert missing_keys.findtext("status") == "failure"


def _q(gw: IntacctGateway, filt: etree._Element | None, **kw: str) -> etree._Element:
    parts: list[etree._Element] = [
        E.select(E.field("RECORDNO"), E.field("ACCOUNTNO")),
        E.object("GLACCOUNT"),
    ]
    if filt is not None:
        parts.append(E.filter(filt))
    if "order" in kw:
        parts.append(E.orderby(E.order(E.field(kw["order"]), E.descending())))
    if "ci" in kw:
        parts.append(E.options(E.caseinsensitive("true")))
    parts += [E.pagesize(kw.get("pagesize", "100")), E.offset(kw.get("offset", "0"))]
    return ok_data(one(gw, E.query(*parts)))


def _cond(op: str, field: str, *values: str) -> etree._Element:
    return E(op, E.field(field), *[E.value(v) for v in values])


FILTER_CASES = [
    (_cond("equalto", "ACCOUNTNO", "1000"), lambda r: r["ACCOUNTNO"] == "1000"),
    (_cond("notequalto", "ACCOUNTNO", "1000"), lambda r: r["ACCOUNTNO"] != "1000"),
    (_cond("lessthan", "RECORDNO", "5"), lambda r: int(r["RECORDNO"]) < 5),
    (_cond("lessthanorequalto", "RECORDNO", "5"), lambda r: int(r["RECORDNO"]) <= 5),
    (_cond("greaterthan", "RECORDNO", "30"), lambda r: int(r["RECORDNO"]) > 30),
    (_cond("greaterthanorequalto", "RECORDNO", "30"), lambda r: int(r["RECORDNO"]) >= 30),
    (_cond("between", "RECORDNO", "3", "7"), lambda r: 3 <= int(r["RECORDNO"]) <= 7),
    (_cond("in", "ACCOUNTNO", "1000", "4000"), lambda r: r["ACCOUNTNO"] in ("1000", "4000")),
    (_cond("notin", "ACCOUNTNO", "1000", "4000"), lambda r: r["ACCOUNTNO"] not in ("1000", "4000")),
    (_cond("like", "TITLE", "Contributions%"), lambda r: r["TITLE"].startswith("Contributions")),
    (_cond("notlike", "TITLE", "%s"), lambda r: not r["TITLE"].endswith("s")),
    (_cond("isnull", "CLOSINGACCOUNTNO"), lambda r: not r["CLOSINGACCOUNTNO"]),
    (_cond("isnotnull", "CLOSINGACCOUNTNO"), lambda r: bool(r["CLOSINGACCOUNTNO"])),
    (_cond("equalto", "STATUS", "inactive"), lambda r: r["STATUS"] == "inactive"),
    (
        E.or_(
            E.and_(
                _cond("equalto", "ACCOUNTTYPE", "balancesheet"), _cond("lessthan", "RECORDNO", "4")
            ),
            E.and_(
                _cond("like", "TITLE", "Grants%"),
                E.or_(_cond("equalto", "ACCOUNTNO", "4300"), _cond("equalto", "ACCOUNTNO", "4310")),
            ),
        ),
        lambda r: int(r["RECORDNO"]) < 4 or r["ACCOUNTNO"] in ("4300", "4310"),
    ),
]
for _case in FILTER_CASES:  # lxml.builder cannot name elements "and"/"or" directly
    for _el in _case[0].iter():
        if isinstance(_el.tag, str) and _el.tag in ("or_", "and_"):
            _el.tag = _el.tag[:-1]


@pytest.mark.parametrize(("filt", "test"), FILTER_CASES)
def test_query_filter_operators(
    shared: IntacctGateway, filt: etree._Element, test: Callable[[dict[str, str]], bool]
) -> None:
    data = _q(shared, filt)
    assert int(data.get("totalcount") or -1) == _expected(shared, NP, "GLACCOUNT", test)


def test_query_offset_paging_order_and_case(shared: IntacctGateway) -> None:
    first = _q(shared, None, pagesize="15", order="ACCOUNTNO")
    assert (first.get("totalcount"), first.get("offset"), first.get("count")) == ("42", "0", "15")
    assert first.get("numremaining") == "27" and first.get("resultId") is None
    numbers = [r.findtext("ACCOUNTNO") or "" for r in first]
    assert numbers == sorted(numbers, reverse=True)
    last = _q(shared, None, pagesize="15", offset="30", order="ACCOUNTNO")
    assert (last.get("count"), last.get("numremaining")) == ("12", "0")
    assert _q(shared, _cond("equalto", "TITLE", "cash - operating")).get("count") == "0"
    assert _q(shared, _cond("equalto", "TITLE", "cash - operating"), ci="1").get("count") == "1"


def test_query_aggregates_and_dotted_names(shared: IntacctGateway) -> None:
    data = ok_data(
        one(
            shared,
            E.query(
                E.select(
                    E.field("STATE"), E.count("RECORDNO"), E.sum("TOTALDUE"), E.max("WHENDUE")
                ),
                E.object("ARINVOICE"),
            ),
            company=IT,
        )
    )
    states = {r.findtext("STATE"): r for r in data}
    assert set(states) == {"Paid", "Partially Paid", "Posted"}
    assert sum(int(r.findtext("COUNT.RECORDNO") or 0) for r in data) == 60
    assert states["Paid"].findtext("SUM.TOTALDUE") == "0.00"
    contact = ok_data(
        one(
            shared,
            E.query(
                E.select(E.field("CUSTOMERID"), E.field("DISPLAYCONTACT.EMAIL1")),
                E.object("CUSTOMER"),
                E.filter(_cond("equalto", "DISPLAYCONTACT.MAILADDRESS.STATE", "MA")),
            ),
            company=IT,
        )
    )
    assert int(contact.get("count") or 0) >= 3
    assert all("@" in (r.findtext("DISPLAYCONTACT.EMAIL1") or "") for r in contact)


def test_lookup(shared: IntacctGateway) -> None:
    data = ok_data(one(shared, E.lookup(E.object("GLENTRY"))))
    assert (data.get("listtype"), data.get("count")) == ("All", "1")
    typ = data.find("Type")
    assert typ is not None and typ.get("Name") == "GLENTRY" and typ.get("DocumentType") == ""
    types = {f.findtext("ID"): f.findtext("DATATYPE") for f in typ.findall("Fields/Field")}
    # Reference §13.4: only the words on record; money is DECIMAL, enumerations are TEXT.
    assert types["TRX_AMOUNT"] == "DECIMAL" and types["BATCH_DATE"] == "DATE"
    assert types["WHENMODIFIED"] == "TIMESTAMP" and types["GLDIMFUND"] == "TEXT"
    assert set(types.values()) <= {
        "TEXT",
        "INTEGER",
        "DECIMAL",
        "PERCENT",
        "DATE",
        "TIMESTAMP",
        "BOOLEAN",
    }
    assert typ.find("Relationships") is not None


# -- writes -----------------------------------------------------------------------------------------


def test_create_update_delete(gw: IntacctGateway) -> None:
    data = ok_data(
        one(
            gw,
            E.create(E.CLASS(E.CLASSID("UT01"), E.NAME("One")), E.FUND(E.name("Nine"))),
        )
    )
    assert data.get("listtype") == "objects" and data.get("count") == "2"
    assert [(r.tag, r.findtext("CLASSID") or r.findtext("name")) for r in data] == [
        ("class", "UT01"),
        ("fund", "Nine"),
    ]
    # §13.5: a UDD value is a platform record keyed by an integer id (10000+ on record).
    assert int(data[1].findtext("id") or "0") > 10000
    recordno = data[0].findtext("RECORDNO") or ""
    rec = next(r for r in gw.records(NP, "CLASS") if r["CLASSID"] == "UT01")
    assert rec["STATUS"] == "active" and len(rec["WHENCREATED"]) == 19
    dup = one(
        gw,
        E.create(
            E.CLASS(E.CLASSID("UT02"), E.NAME("Two")), E.CLASS(E.CLASSID("UT01"), E.NAME("Again"))
        ),
    )
    assert dup.findtext("status") == "failure"
    assert dup.find("data").get("count") == "1"
    assert [no for no, _ in errors(dup)] == ["BL34000061", "BL01001973"]
    assert gw.count(NP, "CLASS", {"CLASSID": "UT02"}) == 1
    upd = ok_data(
        one(
            gw,
            E.update(
                E.CLASS(E.RECORDNO(recordno), E.NAME("Renamed")),
                E.CLASS(E.CLASSID("UT02"), E.STATUS("inactive")),
            ),
        )
    )
    assert upd.get("count") == "2"
    assert gw.count(NP, "CLASS", {"NAME": "Renamed"}) == 1
    assert gw.count(NP, "CLASS", {"CLASSID": "UT02", "STATUS": "inactive"}) == 1
    partial = one(
        gw,
        E.update(
            E.CLASS(E.CLASSID("UT01"), E.DESCRIPTION("d")), E.CLASS(E.CLASSID("UT99"), E.NAME("x"))
        ),
    )
    assert partial.findtext("status") == "failure" and partial.find("data").get("count") == "1"
    assert errors(partial) == [("Cannot update non-existing CLASS with CLASSID=UT99.", "")]
    bad_value = one(gw, E.update(E.CLASS(E.CLASSID("UT01"), E.STATUS("maybe"))))
    assert errors(bad_value)[0][0] == "BL01001973"
    deleted = one(gw, E.delete(E.object("CLASS"), E.keys(recordno)))
    assert deleted.findtext("status") == "success" and deleted.find("data") is None
    missing = one(gw, E.delete(E.object("CLASS"), E.keys(recordno)))
    assert errors(missing) == [
        ("BL01001973", f"Cannot find class with key '{recordno}' to delete.")
    ]


def test_glbatch_posts_and_validates(gw: IntacctGateway) -> None:
    before = gw.count(NP, "GLBATCH")
    good = glbatch(
        "GJ",
        [("5000", 1, "100.10"), ("6000", 1, "50"), ("1000", -1, "150.10")],
        LOCATION="HQ",
        DEPARTMENT="PROG",
        CLASSID="EDU",
        GLDIMFUND=GENERAL_FUND_ID,
    )
    data = ok_data(one(gw, E.create(good)))
    recordno = data[0].findtext("RECORDNO")
    lines = [r for r in gw.records(NP, "GLENTRY") if r["BATCHNO"] == recordno]
    assert [(r["LINE_NO"], r["ACCOUNTNO"], r["TR_TYPE"], r["AMOUNT"]) for r in lines] == [
        ("1", "5000", "1", "100.10"),
        ("2", "6000", "1", "50"),
        ("3", "1000", "-1", "150.10"),
    ]
    assert {r["GLDIMFUND"] for r in lines} == {GENERAL_FUND_ID}
    assert lines[0]["BATCH_DATE"] == "01/15/2026"
    # §13.2: the line names its batch by RECORDNO (BATCHNO) and per-journal number
    # (BATCH_NUMBER); BATCHTITLE without underscore; STATISTICAL a one-letter flag; no JOURNAL.
    header = next(r for r in gw.records(NP, "GLBATCH") if r["RECORDNO"] == recordno)
    assert {r["BATCH_NUMBER"] for r in lines} == {header["BATCHNO"]} != {recordno}
    assert {r["BATCHTITLE"] for r in lines} == {header["BATCH_TITLE"]}
    assert {r["STATISTICAL"] for r in lines} == {"F"}
    assert not {"JOURNAL", "BATCH_TITLE"} & set(lines[0])
    cases = {
        "out of balance": glbatch("GJ", [("5000", 1, "100"), ("1000", -1, "99.99")]),
        "Line 2: ACCOUNTNO '9999'": glbatch("GJ", [("5000", 1, "1"), ("9999", -1, "1")]),
        "Line 1: ACCOUNTNO '4900' is inactive": glbatch(
            "GJ", [("4900", 1, "1"), ("1000", -1, "1")]
        ),
        "Line 1: LOCATION 'WEST' is inactive": glbatch(
            "GJ", [("5000", 1, "1"), ("1000", -1, "1")], LOCATION="WEST"
        ),
        "Line 1: CLASSID 'ARTS' is inactive": glbatch(
            "GJ", [("5000", 1, "1"), ("1000", -1, "1")], CLASSID="ARTS"
        ),
        # §13.3 [OC spec]: an unknown dimension value, in the recorded wording.
        "Invalid Location 'MARS' specified.": glbatch(
            "GJ", [("5000", 1, "1"), ("1000", -1, "1")], LOCATION="MARS"
        ),
        # §13.5: GLDIM<name> takes the UDD record's id; the value's name is not an id.
        "Invalid Fund 'GENERAL' specified.": glbatch(
            "GJ", [("5000", 1, "1"), ("1000", -1, "1")], GLDIMFUND="GENERAL"
        ),
        "Line 1: TR_TYPE '2'": glbatch("GJ", [("5000", 2, "1"), ("1000", -1, "1")]),
        "Line 1: TRX_AMOUNT '-5'": glbatch("GJ", [("5000", 1, "-5"), ("1000", -1, "5")]),
        "at least 2 GLENTRY": glbatch("GJ", [("5000", 1, "1")]),
        "Journal 'ADJ' is inactive": glbatch("ADJ", [("5000", 1, "1"), ("1000", -1, "1")]),
        "Journal 'XX' does not exist": glbatch("XX", [("5000", 1, "1"), ("1000", -1, "1")]),
        "BATCH_DATE": glbatch("GJ", [("5000", 1, "1"), ("1000", -1, "1")], date="2026-01-15"),
        "statistical account (STATACCOUNT)": glbatch("STAT", [("1000", 1, "5")]),
    }
    for text, body in cases.items():
        result = one(gw, E.create(body))
        assert result.findtext("status") == "failure", text
        found = errors(result)
        assert all(no == "BL01001973" for no, _ in found), found
        assert any(text in d for _, d in found), (text, found)
    stat = ok_data(one(gw, E.create(glbatch("STAT", [("9030", 1, "12")]))))
    stat2 = ok_data(one(gw, E.create(glbatch("STAT", [("9000", 1, "12"), ("9040", -1, "3")]))))
    assert stat.get("count") == stat2.get("count") == "1"
    assert gw.count(NP, "GLBATCH") == before + 3


def test_create_sotransaction(gw: IntacctGateway) -> None:
    body = E.create_sotransaction(
        E.transactiontype("Sales Order"),
        E.datecreated(E.year("2026"), E.month("03"), E.day("02")),
        E.customerid("C1005"),
        E.referenceno("OPP-1"),
        E.customfields(E.customfield(E.customfieldname("SFDC_ID"), E.customfieldvalue("006xx"))),
        E.state("Pending"),
        E.sotransitems(
            E.sotransitem(E.itemid("SVC-CONSULT"), E.quantity("10")),
            E.sotransitem(E.itemid("SUB-BACKUP"), E.quantity("2"), E.price("199.5")),
        ),
    )
    result = one(gw, body, company=IT)
    assert result.findtext("status") == "success" and result.find("data") is None
    key = result.findtext("key")
    assert key == "Sales Order-SO0007"
    (doc,) = [r for r in gw.records(IT, "SODOCUMENT") if r["DOCID"] == key]
    assert (doc["DOCNO"], doc["CUSTVENDID"], doc["TOTAL"], doc["WHENCREATED"]) == (
        "SO0007",
        "C1005",
        "2149.00",
        "03/02/2026",
    )
    assert doc["SFDC_ID"] == "006xx"
    assert gw.count(IT, "SODOCUMENTENTRY", {"DOCHDRID": key}) == 2
    read = ok_data(one(gw, E.read(E.object("SODOCUMENT"), E.keys(doc["RECORDNO"])), company=IT))
    assert len(read[0].findall("SODOCUMENTENTRIES/sodocumententry")) == 2
    bad = one(
        gw,
        E.create_sotransaction(
            E.transactiontype("Sales Order"),
            E.datecreated(E.year("2026"), E.month("1"), E.day("1")),
            E.customerid("NOPE"),
            E.sotransitems(E.sotransitem(E.itemid("SVC-PM"), E.quantity("1"))),
        ),
        company=IT,
    )
    assert bad.findtext("status") == "failure"


# -- idempotency, transactions, concurrency ----------------------------------------------------------


def test_uniqueid_replay_is_not_executed_twice(gw: IntacctGateway) -> None:
    body = E.create(glbatch("GJ", [("5000", 1, "10"), ("1000", -1, "10")], ref="JE-42"))
    first = one(gw, body, uniqueid=True)
    assert first.findtext("status") == "success"
    replay = one(gw, body, uniqueid=True)
    assert replay.findtext("status") == "failure"
    assert errors(replay) == [
        (
            "DUPLICATE_CONTROLID",
            "A successful transaction has already been recorded with the control id f1",
        )
    ]
    assert gw.journal_entries_by_reference(NP)["JE-42"] == 1
    assert gw.journal_entries_by_control_id(NP)["f1"] == 1
    # a gateway that forgets completed control ids runs the replay again
    gw.forget_control_ids = True
    assert one(gw, body, uniqueid=True).findtext("status") == "success"
    assert gw.journal_entries_by_reference(NP)["JE-42"] == 2
    gw.forget_control_ids = False
    # control ids are unique per company: the other company runs the same function id
    assert one(gw, body, company=IT, uniqueid=True).findtext("status") == "success"
    one(gw, body, uniqueid=False)
    assert gw.journal_entries_by_reference(NP)["JE-42"] == 3


def test_uniqueid_in_process(gw: IntacctGateway) -> None:
    gw.work_delay = 0.5
    body = request(
        ("same", E.create(glbatch("GJ", [("5000", 1, "10"), ("1000", -1, "10")], ref="SLOW"))),
        uniqueid=True,
    )
    answers: list[etree._Element] = []
    worker = threading.Thread(target=lambda: answers.append(send(gw, body)))
    worker.start()
    time.sleep(0.2)
    gw.work_delay = 0.0
    second = results(send(gw, body))[0]
    worker.join()
    assert errors(second) == [
        (
            "DUPLICATE_CONTROLID_IN_PROCESS",
            "A request's function with the control ID same is in process.",
        )
    ]
    assert results(answers[0])[0].findtext("status") == "success"
    assert gw.journal_entries_by_reference(NP)["SLOW"] == 1


def test_transaction_rolls_back_everything(gw: IntacctGateway) -> None:
    root = call(
        gw,
        ("t1", E.create(E.CLASS(E.CLASSID("TX1"), E.NAME("Tx")))),
        ("t2", E.create(glbatch("GJ", [("5000", 1, "10"), ("1000", -1, "9")]))),
        ("t3", rbq("CLASS")),
        transaction=True,
        uniqueid=True,
    )
    r1, r2, r3 = results(root)
    rolled = (
        "XL03000009",
        "The entire transaction in this operation has been rolled back due to an error.",
    )
    assert r1.findtext("status") == "aborted" and errors(r1) == [rolled] and r1.find("data") is None
    assert r2.findtext("status") == "failure" and errors(r2)[-1] == rolled and len(errors(r2)) == 3
    assert r3.findtext("status") == "aborted"
    assert gw.count(NP, "CLASS", {"CLASSID": "TX1"}) == 0
    again = one(gw, E.create(E.CLASS(E.CLASSID("TX1"), E.NAME("Tx"))), uniqueid=True)
    assert again.findtext("status") == "success"  # the rolled-back control id was not recorded
    free = call(
        gw,
        ("a", E.create(E.CLASS(E.CLASSID("TX2"), E.NAME("Tx")))),
        ("b", E.create(E.CLASS(E.CLASSID("TX2"), E.NAME("Tx")))),
    )
    assert [r.findtext("status") for r in results(free)] == ["success", "failure"]
    assert gw.count(NP, "CLASS", {"CLASSID": "TX2"}) == 1


def test_concurrency_limit_per_company(gw: IntacctGateway) -> None:
    gw.max_concurrent, gw.busy_wait, gw.work_delay = 1, 0.05, 0.4
    answers: list[etree._Element] = []
    threads = [
        threading.Thread(target=lambda: answers.append(call(gw, ("r", rbq("CLASS")))))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    refused = [a for a in answers if a.findtext("control/status") == "failure"]
    assert len(refused) == 1
    assert errors(refused[0]) == [
        ("TOO_MANY_OPERATIONS", "There are too many operations running for this company (200024)")
    ]


# -- faults -----------------------------------------------------------------------------------------


def _raw(gw: IntacctGateway, body: bytes) -> tuple[int, bytes, dict[str, str], bool, str]:
    reply = gw.handle(Exchange(method="POST", path=ENDPOINT_PATH, headers={}, body=body))
    return reply.status, reply.body, dict(reply.headers), reply.drop, reply.content_type


def test_faults(gw: IntacctGateway) -> None:
    read = request(("r", rbq("CLASS")))
    gw.faults.throttle_rate, gw.throttle_retry_after = 1.0, "3"
    status, body, headers, _, ctype = _raw(gw, read)
    assert (status, headers, ctype.startswith("text/xml")) == (429, {"Retry-After": "3"}, True)
    root = etree.fromstring(body, PARSER)
    assert (
        root.findtext("errormessage/error/errorno"),
        root.findtext("errormessage/error/description"),
    ) == ("GW-0010", "Rate limit exceeded")
    gw.faults.clear()
    gw.faults.unavailable_rate = 1.0
    status, body, _, _, ctype = _raw(gw, read)
    assert status == 503 and ctype.startswith("text/html") and b"<html>" in body
    gw.faults.clear()
    gw.faults.busy_rate = 1.0
    assert errors(etree.fromstring(_raw(gw, read)[1], PARSER))[0][0] == "TOO_MANY_OPERATIONS"
    gw.faults.clear()
    gw.faults.drop_after_commit_rate = 1.0
    assert _raw(gw, read)[3] is False  # reads are never dropped
    write = request(("w", E.create(E.CLASS(E.CLASSID("DROP1"), E.NAME("d")))))
    assert _raw(gw, write)[3] is True
    assert gw.count(NP, "CLASS", {"CLASSID": "DROP1"}) == 1  # committed before the drop
    gw.faults.clear()
    gw.faults.malformed_rate = 1.0
    first, second = _raw(gw, read), _raw(gw, read)
    assert first[0] == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(first[1], PARSER)
    assert second[0] == 502 and second[4].startswith("text/html")
    gw.faults.clear()
    gw.faults.reseed(7)
    gw.faults.throttle_rate = 0.5
    draws = [_raw(gw, read)[0] for _ in range(10)]
    gw.faults.reseed(7)
    assert [_raw(gw, read)[0] for _ in range(10)] == draws


def test_stats_and_bulk_seed(gw: IntacctGateway) -> None:
    before = gw.stats
    call(gw, ("a", rbq("CLASS")), ("b", E.create(E.CLASS(E.CLASSID("S1"), E.NAME("s")))))
    after = gw.stats
    assert after.http_requests == before.http_requests + 1
    assert after.functions["readByQuery"] == before.functions.get("readByQuery", 0) + 1
    assert after.writes_committed == before.writes_committed + 1
    entries = gw.count(NP, "GLENTRY")
    batches = gw.seed_gl_entries(NP, 20_001)
    assert batches == 2000 and gw.count(NP, "GLENTRY") == entries + 20_001
    data = ok_data(
        one(
            gw,
            E.query(
                E.select(E.field("TR_TYPE"), E.sum("TRX_AMOUNT")),
                E.object("GLENTRY"),
                E.filter(_cond("like", "BATCHTITLE", "Bulk entry%")),
            ),
        )
    )
    sums = {r.findtext("TR_TYPE"): r.findtext("SUM.TRX_AMOUNT") for r in data}
    assert sums["1"] == sums["-1"]


# -- over HTTP --------------------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[IntacctGateway, str]]:
    gateway = IntacctGateway()
    server = LoopbackServer(gateway).start()
    try:
        yield gateway, server.url + ENDPOINT_PATH
    finally:
        server.stop()


def test_over_http_with_the_real_transport(served: tuple[IntacctGateway, str]) -> None:
    gateway, url = served
    transport = RequestsTransport()
    try:
        resp = transport.send(
            HttpRequest(
                method="POST",
                url=url,
                headers={"Content-Type": "application/xml"},
                body=request(("s", E.getAPISession())),
            ),
            timeout=Timeout(connect=2, read=5),
        )
        assert (
            resp.status == 200
            and resp.header("Content-Type") == 'text/xml; encoding="UTF-8";charset=UTF-8'
        )
        root = etree.fromstring(resp.body, PARSER)
        endpoint = root.findtext("operation/result/data/api/endpoint")
        assert endpoint == url
        gateway.faults.drop_after_commit_rate = 1.0
        with pytest.raises(TransportError):
            transport.send(
                HttpRequest(
                    method="POST",
                    url=url,
                    body=request(("w", E.create(E.CLASS(E.CLASSID("H1"), E.NAME("h"))))),
                ),
                timeout=Timeout(connect=2, read=5),
            )
        assert gateway.count(NP, "CLASS", {"CLASSID": "H1"}) == 1
    finally:
        transport.close()


# -- conformance: response shapes match the samples --------------------------------------------------

_OPTIONAL_AUTH = {"locationid", "sessiontimeout", "sessiontimestamp"}


def _shape(root: etree._Element) -> set[str]:
    """Tag paths, cut below record elements, without the authentication children that older
    gateway output omits; data attribute names are part of the path."""
    out: set[str] = set()

    def walk(el: etree._Element, path: str, depth_in_data: int) -> None:
        tag = str(el.tag)
        if path.endswith("/authentication") and tag in _OPTIONAL_AUTH:
            return
        here = f"{path}/{tag}"
        if tag == "data":
            here += "[" + ",".join(sorted(el.attrib)) + "]"
            depth_in_data = 0
        out.add(here)
        if depth_in_data == 1 and not (path.endswith("/api") or tag == "api"):
            return  # a record: its fields are data, not shape
        for child in el:
            if isinstance(child.tag, str):
                walk(child, here, depth_in_data + 1 if depth_in_data >= 0 else -1)

    walk(root, "", -1)
    return out


def _sample(name: str) -> etree._Element:
    return etree.parse(str(SAMPLES / name), PARSER).getroot()


def test_responses_have_the_shape_of_the_samples(gw: IntacctGateway) -> None:
    rid = ok_data(one(gw, rbq("GLACCOUNT", pagesize=1))).get("resultId") or ""
    cls = (
        ok_data(one(gw, E.create(E.CLASS(E.CLASSID("K1"), E.NAME("k")))))[0].findtext("RECORDNO")
        or ""
    )
    pairs: list[tuple[str, bytes]] = [
        ("resp_getapisession_success.xml", request(("f", E.getAPISession()))),
        ("resp_readbyquery_class_page1_of_2.xml", request(("f", rbq("CLASS", pagesize=1)))),
        (
            "resp_readbyquery_empty_selfclosing_data.xml",
            request(("f", rbq("DEPARTMENT", "STATUS = 'F'"))),
        ),
        ("resp_readmore_glaccount_page2.xml", request(("f", E.readMore(E.resultId(rid))))),
        (
            "resp_readmore_failure_expired_resultid.xml",
            request(("f", E.readMore(E.resultId("nope")))),
        ),
        ("resp_readbyquery_failure_object_not_found.xml", request(("f", rbq("BADOBJECT")))),
        (
            "resp_read_customer_uppercase.xml",
            request(("f", E.read(E.object("CUSTOMER"), E.keys("1"))), company=IT),
        ),
        (
            "resp_create_objects_success.xml",
            request(
                (
                    "f",
                    E.create(
                        E.CLASS(E.CLASSID("K2"), E.NAME("k")), E.CLASS(E.CLASSID("K3"), E.NAME("k"))
                    ),
                )
            ),
        ),
        (
            "resp_create_failure_duplicate.xml",
            request(("f", E.create(E.CLASS(E.CLASSID("K1"), E.NAME("k"))))),
        ),
        (
            "resp_update_partial_failure.xml",
            request(
                (
                    "f",
                    E.update(
                        E.CLASS(E.CLASSID("K1"), E.NAME("x")),
                        E.CLASS(E.CLASSID("UT99"), E.NAME("x")),
                    ),
                )
            ),
        ),
        ("resp_delete_failure.xml", request(("f", E.delete(E.object("CLASS"), E.keys("999999"))))),
        ("resp_delete_success.xml", request(("f", E.delete(E.object("CLASS"), E.keys(cls))))),
        (
            "resp_legacy_create_class_key.xml",
            request(
                (
                    "f",
                    E.create_sotransaction(
                        E.transactiontype("Sales Order"),
                        E.datecreated(E.year("2026"), E.month("1"), E.day("5")),
                        E.customerid("C1001"),
                        E.sotransitems(E.sotransitem(E.itemid("SVC-PM"), E.quantity("1"))),
                    ),
                ),
                company=IT,
            ),
        ),
        (
            "resp_auth_failure_signin_incorrect.xml",
            request(("f", E.getAPISession()), user_password="bad"),
        ),
        (
            "jfcote87_auth_failure_invalid_session.xml",
            request(("f", E.getAPISession()), session="zz.."),
        ),
        (
            "resp_control_failure_invalid_policy.xml",
            request(("f", E.getAPISession()), sender="bad"),
        ),
        (
            "resp_transaction_aborted_then_failure.xml",
            request(
                ("a", E.getAPISession()),
                ("b", E.getAPISession(E.locationid("NOWHERE"))),
                transaction=True,
            ),
        ),
    ]
    for sample, body in pairs:
        assert _shape(send(gw, body)) == _shape(_sample(sample)), sample
    parse = gw.handle(
        Exchange(method="POST", path=ENDPOINT_PATH, headers={}, body=b"<request><control>")
    )
    assert _shape(etree.fromstring(parse.body, PARSER)) == _shape(
        _sample("jfcote87_control_failure_xml_parse.xml")
    )

"""Bad input and abuse: hostile answers, hostile values, hostile files.

Answers: every client call that meets an HTML page, a truncated body, an XML bomb, an external
entity, a refused request or a 100 MB field raises one clear typed error, in bounded time and
Python memory (the parse-level cases of tests/test_intacct_conformance.py, here through the
clients' retry loops). Values: XML metacharacters and ``</function>`` text in every written
field are stored verbatim by the gateway, in requests that still validate against Sage's
schema; quotes, backslashes and keywords in query values select exactly the row named by them.
Files: a CSV import with bad encoding, dates or amounts names the line and field and posts
nothing.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from lxml import etree

from intacct_sync import HttpRequest, HttpResponse, RetryPolicy, Timeout, journals, sandbox
from intacct_sync._http.transport import RequestsTransport
from intacct_sync.errors import (
    ControlError,
    InputError,
    ProtocolError,
    ValidationError,
)
from intacct_sync.intacct import IntacctClient
from intacct_sync.intacct._protocol import safe_parser
from intacct_sync.intacct.filters import equal_to, query_string
from intacct_sync.intacct.models import (
    ClassValue,
    Customer,
    JournalEntry,
    JournalLine,
    SalesOrder,
    SalesOrderLine,
)
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import SQLiteStateStore
from intacct_sync.testing import MockTransport

T = TypeVar("T")
FAST = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.005)
NONPROFIT = sandbox.COMPANIES["nonprofit"]
ITSERVICES = sandbox.COMPANIES["itservices"]
SCHEMA = (
    Path(__file__).resolve().parents[2] / "shared" / "conformance" / "intacct" / "schema"
) / "api.v3.0.xsd"
HUGE = 100_000_000  # bytes of one text field
DEADLINE = 60.0  # seconds any single abusive call may take before the test calls it a hang


def _bounded(call: Callable[[], T]) -> tuple[T | BaseException, int]:
    """Run ``call`` under a deadline; return its result or exception and the traced peak."""

    def traced() -> tuple[T | BaseException, int]:
        tracemalloc.start()
        try:
            try:
                result: T | BaseException = call()
            except BaseException as exc:
                result = exc
            return result, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(traced)
        try:
            return future.result(timeout=DEADLINE)
        except concurrent.futures.TimeoutError:
            pytest.fail(f"the call did not return within {DEADLINE}s")


# -- hostile answers: Intacct ---------------------------------------------------------------------

_LOGIN = (
    b"<response><control><status>success</status><senderid>s</senderid>"
    b"<controlid>c</controlid><uniqueid>false</uniqueid><dtdversion>3.0</dtdversion></control>"
    b"<operation><authentication><status>success</status><userid>u</userid>"
    b"<companyid>C</companyid><locationid/><sessiontimestamp>2026-11-23T10:00:00+00:00"
    b"</sessiontimestamp></authentication><result><status>success</status>"
    b"<function>getAPISession</function><controlid>sessionProvider</controlid><data><api>"
    b"<sessionid>mock-session..</sessionid>"
    b"<endpoint>https://api.intacct.com/ia/xml/xmlgw.phtml</endpoint><locationid/></api>"
    b"</data></result></operation></response>"
)


def _intacct(body: bytes, status: int = 200) -> tuple[IntacctClient, MockTransport]:
    def answer(request: HttpRequest) -> HttpResponse:
        if request.body is not None and b"<getAPISession" in request.body:
            return HttpResponse(status=200, body=_LOGIN)
        return HttpResponse(status=status, body=body)

    transport = MockTransport(answer)
    client = IntacctClient(
        sender_id="s",
        sender_password="sender-password",
        company_id="C",
        user_id="u",
        user_password="user-password",
        endpoint_url="https://api.intacct.com/ia/xml/xmlgw.phtml",
        transport=transport,
        retry=FAST,
        typed=False,
        sleep=lambda seconds: None,
    )
    return client, transport


_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b"]><response><control><status>success</status></control><operation><authentication>"
    b"<status>success</status></authentication><result><status>success</status>"
    b"<function>readByQuery</function><controlid>readByQuery</controlid>"
    b'<data listtype="GLACCOUNT" count="1" totalcount="1" numremaining="0" resultId="">'
    b"<GLACCOUNT><TITLE>&lol9;</TITLE></GLACCOUNT></data></result></operation></response>"
)


def _xxe(secret: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<response><control><status>success</status></control><operation><authentication>"
        "<status>success</status></authentication><result><status>success</status>"
        "<function>readByQuery</function><controlid>readByQuery</controlid>"
        '<data listtype="GLACCOUNT" count="1" totalcount="1" numremaining="0" resultId="">'
        "<GLACCOUNT><TITLE>&x;</TITLE></GLACCOUNT></data></result></operation></response>"
    ).encode()


_CONTROL_FAILURE = (
    b"<response><control><status>failure</status><senderid>s</senderid>"
    b"<controlid>c</controlid><uniqueid>false</uniqueid><dtdversion>3.0</dtdversion></control>"
    b"<errormessage><error><errorno>XL03000006</errorno>"
    b"<description>Invalid Web Services Authorization</description>"
    b"<description2>The sender ID s is not authorized</description2></error></errormessage>"
    b"</response>"
)


@pytest.mark.parametrize(
    ("name", "body", "status", "kind", "message", "requests"),
    [
        (
            "html-200",
            b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
            b"<body><p>Back soon</p></body></html>",
            200,
            ProtocolError,
            "expected a <response> document, got <html> (HTTP 200)",
            1,
        ),
        (
            "html-not-xml-200",
            b"<html><body><p>Login<br>required</body></html>",
            200,
            ProtocolError,
            "response is not well-formed XML (HTTP 200",
            1,
        ),
        (
            "html-502",
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            502,
            ProtocolError,
            "got <html> (HTTP 502)",
            4,  # a 5xx is retried: 1 + max_retries
        ),
        (
            "truncated",
            _LOGIN[: len(_LOGIN) // 2],
            200,
            ProtocolError,
            "response is not well-formed XML (HTTP 200",
            1,
        ),
        (
            "control-failure",
            _CONTROL_FAILURE,
            200,
            ControlError,
            "request refused by the gateway: XL03000006 Invalid Web Services Authorization",
            1,
        ),
    ],
)
def test_intacct_client_turns_a_bad_answer_into_one_typed_error(
    name: str, body: bytes, status: int, kind: type[Exception], message: str, requests: int
) -> None:
    ia, transport = _intacct(body, status)
    outcome, _ = _bounded(lambda: ia.read_by_query("GLACCOUNT"))
    assert type(outcome) is kind, outcome
    assert message in str(outcome)
    assert len(transport.requests) == 1 + requests  # the sign-in, then the read (and retries)


def test_intacct_client_refuses_an_xml_bomb_without_expanding_it() -> None:
    ia, _ = _intacct(_BOMB)
    outcome, peak = _bounded(lambda: ia.read_by_query("GLACCOUNT"))
    # With entities left unexpanded the title is empty, never 10^9 "lol"s; or parsing refuses.
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, ProtocolError), outcome
        assert "lollollol" not in str(outcome)
    else:
        assert outcome["TITLE"].fillna("").map(len).max() < 100
    assert peak < 20_000_000


def test_intacct_client_never_reads_an_external_entity(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    ia, _ = _intacct(_xxe(secret))
    outcome, _ = _bounded(lambda: ia.read_by_query("GLACCOUNT"))
    if isinstance(outcome, BaseException):
        assert isinstance(outcome, ProtocolError), outcome
        assert "TOP-SECRET" not in str(outcome)
    else:
        assert "TOP-SECRET" not in outcome.to_string()


def test_intacct_client_refuses_a_100_mb_text_field_in_bounded_memory() -> None:
    head, tail = _BOMB.split(b"]>", 1)[1].split(b"&lol9;")
    body = head + b"A" * HUGE + tail
    ia, _ = _intacct(body)
    outcome, peak = _bounded(lambda: ia.read_by_query("GLACCOUNT"))
    assert isinstance(outcome, ProtocolError), outcome
    assert "not well-formed XML (HTTP 200" in str(outcome)
    assert len(str(outcome)) < 2_000  # quotes the start of the body, not the body
    assert not outcome.should_retry
    # Python-side memory stays far below the body (lxml stops at its 10 MB text-node limit).
    assert peak < 20_000_000, peak


# -- hostile answers: Salesforce ------------------------------------------------------------------


def _salesforce(body: bytes, status: int = 200) -> tuple[SalesforceClient, MockTransport]:
    transport = MockTransport(lambda request: HttpResponse(status=status, body=body))
    client = SalesforceClient(
        "https://example.my.salesforce.com",
        access_token="00Dmock!token",
        transport=transport,
        retry=FAST,
        sleep=lambda seconds: None,
    )
    return client, transport


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (
            b"<!DOCTYPE html><html><body>Salesforce is down for maintenance</body></html>",
            200,
            "expected JSON from Salesforce, got: '<!DOCTYPE html><html><body>Salesforce",
        ),
        (b'{"totalSize": 3, "done": true, "records": [{"attri', 200, "expected JSON"),
        (b"<html>Service Unavailable</html>", 503, "expected JSON"),
    ],
)
def test_salesforce_client_turns_a_bad_answer_into_a_protocol_error(
    body: bytes, status: int, message: str
) -> None:
    sf, _ = _salesforce(body, status)
    outcome, _ = _bounded(lambda: sf.query("SELECT Id FROM Account"))
    assert type(outcome) is ProtocolError, outcome
    assert message in str(outcome)
    assert outcome.http_status == status


def test_salesforce_client_refuses_a_huge_unterminated_string_in_bounded_memory() -> None:
    body = b'{"totalSize":1,"done":true,"records":[{"Name":"' + b"A" * HUGE
    sf, _ = _salesforce(body)
    outcome, peak = _bounded(lambda: sf.query("SELECT Name FROM Account"))
    assert type(outcome) is ProtocolError, outcome
    assert str(outcome).startswith('expected JSON from Salesforce, got: \'{"totalSize":1')
    assert len(str(outcome)) < 2_000
    # One decoded copy of the body is made before parsing (utf-8 -> str); no more.
    assert peak < 1.5 * HUGE, peak


# -- hostile values in written fields -------------------------------------------------------------

HOSTILE = (
    '</function><function controlid="x"><delete><object>GLBATCH</object><keys>1</keys>'
    "</delete> <&>\"' ]]> &amp; &#60; <![CDATA[x]]> Ünïcødé ✓"
)


class _Recording(RequestsTransport):
    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        with self._lock:
            self.bodies.append(request.body or b"")
        return super().send(request, timeout=timeout)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA), parser=safe_parser()))


def _validate_writes(bodies: list[bytes], schema: etree.XMLSchema) -> int:
    """Validate every write request against Sage's schema; return how many were sent."""
    writes = 0
    for body in bodies:
        document = etree.fromstring(body, parser=safe_parser())
        functions = document.findall("operation/content/function")
        # the hostile text opened no function and closed none early
        assert all(len(f) == 1 for f in functions)
        if any(f[0].tag in ("create", "create_sotransaction") for f in functions):
            assert schema.validate(document), schema.error_log
            writes += 1
    return writes


def test_hostile_text_in_every_journal_entry_field_is_stored_verbatim(
    shared_sb: sandbox.Sandbox, schema: etree.XMLSchema
) -> None:
    transport = _Recording()
    ia = shared_sb.intacct_client(transport=transport, retry=FAST)
    before = shared_sb.intacct.count(NONPROFIT, "GLBATCH")
    entry = JournalEntry(
        key=HOSTILE,
        journal="GJ",
        batch_date=dt.date(2026, 11, 2),
        title=HOSTILE,
        reference_no=HOSTILE,
        history_comment=HOSTILE,
        lines=[
            JournalLine(account_no="1000", amount=Decimal("12.34"), tr_type=1, memo=HOSTILE),
            JournalLine(account_no="4000", amount=Decimal("12.34"), tr_type=-1, memo=HOSTILE),
        ],
    )
    outcome = ia.create("GLBATCH", [entry])
    assert outcome["status"].tolist() == ["created"]
    assert shared_sb.intacct.count(NONPROFIT, "GLBATCH") == before + 1
    record_no = str(outcome["RECORDNO"].iloc[0])
    stored = next(
        r for r in shared_sb.intacct.records(NONPROFIT, "GLBATCH") if r["RECORDNO"] == record_no
    )
    assert (stored["BATCH_TITLE"], stored["REFERENCENO"], stored["HISTORY_COMMENT"]) == (
        HOSTILE,
        HOSTILE,
        HOSTILE,
    )
    lines = [
        r for r in shared_sb.intacct.records(NONPROFIT, "GLENTRY") if r["BATCHNO"] == record_no
    ]
    assert [r["DESCRIPTION"] for r in lines] == [HOSTILE, HOSTILE]
    # The client reads it back exactly too, and a replay is refused by the same control id.
    read = ia.read("GLBATCH", [int(record_no)], fields=["BATCH_TITLE", "REFERENCENO"])
    assert (read["BATCH_TITLE"].iloc[0], read["REFERENCENO"].iloc[0]) == (HOSTILE, HOSTILE)
    assert ia.create("GLBATCH", [entry])["status"].tolist() == ["already_done"]
    assert _validate_writes(transport.bodies, schema) == 2
    ia.close()
    transport.close()


@pytest.mark.parametrize("field", ["account_no", "location", "department", "class_id", "journal"])
def test_hostile_text_in_a_reference_field_fails_alone_and_names_the_value(
    shared_sb: sandbox.Sandbox, field: str
) -> None:
    ia = shared_sb.intacct_client(retry=FAST)
    before = shared_sb.intacct.count(NONPROFIT, "GLBATCH")
    line: dict[str, Any] = {"account_no": "1000", field: HOSTILE} if field != "journal" else {}
    entry = JournalEntry(
        key=f"hostile-ref-{field}",
        journal=HOSTILE if field == "journal" else "GJ",
        batch_date=dt.date(2026, 11, 2),
        title="reference field test",
        lines=[
            JournalLine(**{"account_no": "1000", **line, "amount": Decimal(1), "tr_type": 1}),
            JournalLine(account_no="4000", amount=Decimal(1), tr_type=-1),
        ],
    )
    outcome = ia.create("GLBATCH", [entry])
    assert outcome["status"].tolist() == ["failed"]
    # The gateway's message quotes the value as data (it may shorten a long one, and the
    # client decodes HTML entities in messages, so compare the start).
    errors = str(outcome["errors"].iloc[0])
    assert HOSTILE[:60] in errors, errors
    assert shared_sb.intacct.count(NONPROFIT, "GLBATCH") == before
    ia.close()


def test_hostile_text_in_every_customer_field_is_stored_verbatim(
    shared_sb: sandbox.Sandbox, schema: etree.XMLSchema
) -> None:
    transport = _Recording()
    ia = shared_sb.intacct_client("itservices", transport=transport, retry=FAST)
    customer_id = "C-" + HOSTILE.replace(",", "")  # readByName keys cannot hold commas
    customer = Customer(
        customer_id=customer_id,
        name=HOSTILE,
        email=HOSTILE,
        phone=HOSTILE,
        address1=HOSTILE,
        city=HOSTILE,
        state=HOSTILE,
        zip=HOSTILE,
        country=HOSTILE,
    )
    outcome = ia.create("CUSTOMER", [customer])
    assert outcome["status"].tolist() == ["created"], outcome["errors"].tolist()
    stored = next(
        r
        for r in shared_sb.intacct.records(ITSERVICES, "CUSTOMER")
        if r["CUSTOMERID"] == customer_id
    )
    for field in (
        "NAME",
        "DISPLAYCONTACT.PRINTAS",
        "DISPLAYCONTACT.COMPANYNAME",
        "DISPLAYCONTACT.EMAIL1",
        "DISPLAYCONTACT.PHONE1",
        "DISPLAYCONTACT.MAILADDRESS.ADDRESS1",
        "DISPLAYCONTACT.MAILADDRESS.CITY",
        "DISPLAYCONTACT.MAILADDRESS.STATE",
        "DISPLAYCONTACT.MAILADDRESS.ZIP",
        "DISPLAYCONTACT.MAILADDRESS.COUNTRY",
    ):
        assert stored[field] == HOSTILE, field
    read = ia.read_by_name("CUSTOMER", [customer_id])
    assert read["NAME"].tolist() == [HOSTILE]
    assert read["DISPLAYCONTACT.MAILADDRESS.CITY"].tolist() == [HOSTILE]
    assert _validate_writes(transport.bodies, schema) == 1
    ia.close()
    transport.close()


def test_hostile_text_in_every_sales_order_field_is_stored_verbatim(
    shared_sb: sandbox.Sandbox, schema: etree.XMLSchema
) -> None:
    transport = _Recording()
    ia = shared_sb.intacct_client("itservices", transport=transport, retry=FAST)
    customer = shared_sb.intacct.records(ITSERVICES, "CUSTOMER")[0]["CUSTOMERID"]
    item = shared_sb.intacct.records(ITSERVICES, "ITEM")[0]["ITEMID"]
    order = SalesOrder(
        key=HOSTILE,
        customer_id=customer,
        date=dt.date(2026, 11, 1),
        reference_no=HOSTILE,
        message=HOSTILE,
        lines=[
            SalesOrderLine(
                item_id=item,
                quantity=Decimal(1),
                price=Decimal("10.00"),
                description=HOSTILE,
                memo=HOSTILE,
            )
        ],
    )
    outcome = ia.create_sales_orders([order])
    assert outcome["status"].tolist() == ["created"], outcome["errors"].tolist()
    doc_id = str(outcome["id"].iloc[0])
    stored = next(
        r for r in shared_sb.intacct.records(ITSERVICES, "SODOCUMENT") if r["DOCID"] == doc_id
    )
    assert (stored["REFERENCENO"], stored["MESSAGE"]) == (HOSTILE, HOSTILE)
    lines = [
        r
        for r in shared_sb.intacct.records(ITSERVICES, "SODOCUMENTENTRY")
        if r["DOCHDRID"] == doc_id
    ]
    assert [(r["ITEMDESC"], r["MEMO"]) for r in lines] == [(HOSTILE, HOSTILE)]
    assert _validate_writes(transport.bodies, schema) == 1
    ia.close()
    transport.close()


# -- hostile values in queries --------------------------------------------------------------------

QUERY_VALUES = [
    "O'Brien",
    "x' OR Name != '",
    "x\\' OR Name != \\'",
    "\\",
    "\\'",
    "' OR 1=1 --",
    "Name = 'A' LIMIT 1",
    "SELECT Id FROM Account WHERE Name != null",
    'double "quoted" name',
    "percent % and _ underscore",
    "tab\tand\nnewline",
]


def test_hostile_soql_values_select_exactly_the_row_they_name(shared_sb: sandbox.Sandbox) -> None:
    sf = shared_sb.salesforce_client(retry=FAST)
    created = sf.create("Account", [{"Name": value} for value in QUERY_VALUES])
    assert created["done"].all(), created["errors"].tolist()
    total = shared_sb.salesforce.count("Account")
    for value in QUERY_VALUES:
        rows = sf.query(soql("SELECT Id, Name FROM Account WHERE Name = {}", value))
        assert rows["Name"].tolist() == [value], value
        others = sf.query(soql("SELECT Id FROM Account WHERE Name != {}", value))
        assert len(others) == total - 1, value
    sf.close()


def test_hostile_intacct_query_values_select_exactly_the_row_they_name(
    shared_sb: sandbox.Sandbox,
) -> None:
    ia = shared_sb.intacct_client(retry=FAST)
    values = [v for v in QUERY_VALUES if "\t" not in v] + [HOSTILE]
    created = ia.create(
        "CLASS", [ClassValue(class_id=f"HQ-{i:02d}", name=value) for i, value in enumerate(values)]
    )
    assert created["status"].tolist() == ["created"] * len(values), created["errors"].tolist()
    for i, value in enumerate(values):
        by_query = ia.read_by_query("CLASS", query_string("NAME = {}", value), fields=["CLASSID"])
        assert by_query["CLASSID"].tolist() == [f"HQ-{i:02d}"], value
        by_filter = ia.query("CLASS", select=["CLASSID", "NAME"], filter=equal_to("NAME", value))
        assert by_filter["NAME"].tolist() == [value], value
    ia.close()


# -- hostile files --------------------------------------------------------------------------------

HEADER = "entry,date,description,account,debit,credit\n"


def _csv(tmp_path: Path, lines: list[str], *, name: str = "lines.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def _balanced(
    entry: str, debit: str = "10.00", credit: str = "10.00", day: str = "2026-02-01"
) -> list[str]:
    return [f"{entry},{day},Entry {entry},1000,{debit},\n", f"{entry},{day},,4000,,{credit}\n"]


@pytest.mark.parametrize(
    ("debit", "message"),
    [
        ('"1,234.50"', "no thousands separators"),
        ("$10.00", "currency signs"),
        ("€10.00", "currency signs"),
        ("10.00 USD", "not a plain decimal amount"),
        ("-10.00", "greater than zero"),
        ("0", "greater than zero"),
        ("0.00", "greater than zero"),
        ("1.23457E+11", "not a plain decimal amount"),
        ("NaN", "not a plain decimal amount"),
    ],
)
def test_a_bad_amount_is_reported_with_its_line_and_field(
    tmp_path: Path, debit: str, message: str
) -> None:
    path = _csv(tmp_path, _balanced("JE-1") + _balanced("JE-2", debit=debit))
    imported = journals.read_journal_lines(path)
    assert not imported.ok
    assert [(r.line, r.entry, r.field) for r in imported.issues.itertuples()] == [
        (4, "JE-2", "debit")
    ]
    assert message in imported.issues["message"].iloc[0]
    assert imported.issues["value"].iloc[0] == debit.strip('"')
    assert [e.reference_no for e in imported.plan.entries] == ["JE-1"]


def test_an_amount_in_exponent_notation_is_refused_not_rounded(tmp_path: Path) -> None:
    mangled = "1.23457E+11"  # how Excel displays, and may save, 123456789012.34
    path = _csv(tmp_path, _balanced("JE-1", debit=mangled, credit=mangled))
    imported = journals.read_journal_lines(path)
    assert [(r.line, r.field, r.value) for r in imported.issues.itertuples()] == [
        (2, "debit", mangled),
        (3, "credit", mangled),
    ]
    assert imported.plan.entries == ()


@pytest.mark.parametrize(
    "day", ["11/02/2026", "2026-13-01", "02.11.2026", "2026-02-30", "tomorrow"]
)
def test_a_bad_date_is_reported_with_its_line_and_field(tmp_path: Path, day: str) -> None:
    path = _csv(tmp_path, _balanced("JE-1") + _balanced("JE-2", day=day))
    imported = journals.read_journal_lines(path)
    issues = [(r.line, r.field, r.value) for r in imported.issues.itertuples()]
    assert issues == [(4, "date", day), (5, "date", day)]
    assert imported.invalid_entries == ("JE-2",)


def test_a_non_utf8_byte_deep_in_a_big_file_names_its_line(tmp_path: Path) -> None:
    lines = [line for i in range(2000) for line in _balanced(f"JE-{i}")]
    data = bytearray((HEADER + "".join(lines)).encode())
    at = data.index(b"Entry JE-1500,")
    data[at : at + 5] = "Éntry".encode("latin-1")
    path = tmp_path / "latin.csv"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="not UTF-8") as caught:
        journals.read_journal_lines(path)
    assert caught.value.row == 2 + 1500 * 2  # header, then two lines per entry
    assert caught.value.field == "encoding"
    assert caught.value.value == "0xc9"


def test_thousands_of_rows_with_one_bad_one_post_nothing(
    shared_sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    lines = [line for i in range(2500) for line in _balanced(f"BIG-{i}", day="2026-03-01")]
    bad = 2 + 1733 * 2  # the debit line of entry BIG-1733
    lines[bad - 2] = lines[bad - 2].replace(",10.00,", ",10.0O,")  # a letter O for a zero
    path = _csv(tmp_path, lines, name="big.csv")
    imported = journals.read_journal_lines(path)
    assert imported.lines == 5000
    assert [(r.line, r.entry, r.field, r.value) for r in imported.issues.itertuples()] == [
        (bad, "BIG-1733", "debit", "10.0O")
    ]
    ia = shared_sb.intacct_client(retry=FAST)
    state = SQLiteStateStore(":memory:")
    before = shared_sb.intacct.count(NONPROFIT, "GLBATCH")
    with pytest.raises(ValidationError, match="nothing was posted"):
        journals.post_journal_lines(ia, imported, state)
    assert shared_sb.intacct.count(NONPROFIT, "GLBATCH") == before
    assert state.ledger(journals.IMPORT_WORKFLOW) == []
    ia.close()

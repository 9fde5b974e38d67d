"""IntacctClient behaviour against a scripted fake gateway (MockTransport): sessions, retries,
idempotent batched writes and their outcome rows."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pandas as pd
import pytest
from lxml import etree

from intacct_sync import HttpRequest, HttpResponse, RetryPolicy
from intacct_sync.errors import (
    AuthenticationError,
    IncompleteWriteError,
    InputError,
    ProtocolError,
    TransportError,
)
from intacct_sync.intacct import IntacctClient
from intacct_sync.intacct.models import JournalEntry
from intacct_sync.testing import MockTransport
from tests.builders import balanced_entry

ENDPOINT = "https://api.intacct.com/ia/xml/xmlgw.phtml"
FAST = RetryPolicy(max_retries=3, initial_delay=0.0, max_delay=0.0, jitter=False)


def _response(results: str, *, auth_ok: bool = True) -> bytes:
    auth = (
        "<authentication><status>success</status><userid>u</userid><companyid>c</companyid>"
        "<sessiontimestamp>2026-01-01T00:00:00+00:00</sessiontimestamp></authentication>"
        if auth_ok
        else "<authentication><status>failure</status><userid></userid><companyid></companyid>"
        "</authentication><errormessage><error><errorno>XL03000006</errorno><description/>"
        "<description2>Invalid session</description2><correction/></error></errormessage>"
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><response><control><status>success</status>"
        "<senderid>s</senderid><controlid>x</controlid><uniqueid>false</uniqueid>"
        f"<dtdversion>3.0</dtdversion></control><operation>{auth}{results}</operation></response>"
    ).encode()


def _session_result(session: str = "SESSION-1", endpoint: str = ENDPOINT) -> str:
    return (
        "<result><status>success</status><function>getAPISession</function>"
        "<controlid>sessionProvider</controlid><data><api>"
        f"<sessionid>{session}</sessionid><endpoint>{endpoint}</endpoint><locationid/></api>"
        "</data></result>"
    )


class FakeGateway:
    """Answers getAPISession itself; everything else goes to ``on_request``."""

    def __init__(self, on_request: Callable[[etree._Element, int], bytes | HttpResponse]) -> None:
        self.on_request = on_request
        self.calls = 0
        self.logins = 0
        self.transport = MockTransport(self.handle)

    def handle(self, request: HttpRequest) -> HttpResponse:
        assert request.body is not None
        doc = etree.fromstring(request.body)
        if doc.find(".//getAPISession") is not None:
            self.logins += 1
            return HttpResponse(
                status=200, body=_response(_session_result(f"SESSION-{self.logins}"))
            )
        self.calls += 1
        answer = self.on_request(doc, self.calls)
        return answer if isinstance(answer, HttpResponse) else HttpResponse(status=200, body=answer)


def _client(gateway: FakeGateway, **options: object) -> IntacctClient:
    client = IntacctClient(
        sender_id="sender",
        sender_password="sender-secret",
        company_id="co",
        user_id="user",
        user_password="user-secret",
        endpoint_url=ENDPOINT,
        transport=gateway.transport,
        retry=FAST,
        typed=False,
        **options,  # type: ignore[arg-type]
    )
    client._sleep = lambda _: None
    return client


def _ok(fn: str, control_id: str, data: str = "") -> str:
    return (
        f"<result><status>success</status><function>{fn}</function>"
        f"<controlid>{control_id}</controlid>{data}</result>"
    )


def test_session_is_opened_once_and_used_with_session_auth() -> None:
    seen: list[etree._Element] = []

    def answer(doc: etree._Element, call: int) -> bytes:
        seen.append(doc)
        data = (
            '<data listtype="glaccount" count="1" totalcount="1" numremaining="0" resultId="">'
            "<glaccount><RECORDNO>1</RECORDNO><ACCOUNTNO>1000</ACCOUNTNO></glaccount></data>"
        )
        return _response(_ok("readByQuery", "readByQuery", data))

    gateway = FakeGateway(answer)
    ia = _client(gateway)
    frame = ia.read_by_query("GLACCOUNT")
    ia.read_by_query("GLACCOUNT")
    assert gateway.logins == 1
    assert list(frame["ACCOUNTNO"]) == ["1000"]
    assert all(d.findtext(".//sessionid") == "SESSION-1" for d in seen)
    assert all(d.find(".//login") is None for d in seen)
    assert all(d.findtext("control/uniqueid") == "false" for d in seen)


def test_expired_session_is_renewed_once() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        if doc.findtext(".//sessionid") == "SESSION-1":
            return _response("", auth_ok=False)
        return _response(
            _ok("readByQuery", "r", '<data count="0" totalcount="0" numremaining="0"/>')
        )

    gateway = FakeGateway(answer)
    frame = _client(gateway).read_by_query("CLASS")
    assert gateway.logins == 2
    assert len(frame) == 0


def test_a_session_refused_twice_raises_authentication_error() -> None:
    gateway = FakeGateway(lambda doc, call: _response("", auth_ok=False))
    with pytest.raises(AuthenticationError, match="Invalid session"):
        _client(gateway).read_by_query("CLASS")
    assert gateway.logins == 2


def test_foreign_session_endpoint_is_refused() -> None:
    def handle(request: HttpRequest) -> HttpResponse:
        return HttpResponse(
            status=200, body=_response(_session_result(endpoint="https://evil.example.com/gw"))
        )

    ia = IntacctClient(
        sender_id="s",
        sender_password="p",
        company_id="c",
        user_id="u",
        user_password="p2",
        transport=MockTransport(handle),
    )
    with pytest.raises(ProtocolError, match="refusing"):
        ia.read_by_query("CLASS")


def test_reads_are_retried_on_throttling_and_5xx() -> None:
    def answer(doc: etree._Element, call: int) -> bytes | HttpResponse:
        if call == 1:
            return HttpResponse(
                status=429,
                headers={"Retry-After": "0"},
                body=b"<response><control><status>failure</status></control><errormessage>"
                b"<error><errorno>GW-0010</errorno><description>Rate limit</description></error>"
                b"</errormessage></response>",
            )
        if call == 2:
            return HttpResponse(status=503, body=b"<html>unavailable</html>")
        return _response(
            _ok("readByQuery", "r", '<data count="0" totalcount="0" numremaining="0"/>')
        )

    gateway = FakeGateway(answer)
    _client(gateway).read_by_query("CLASS")
    assert gateway.calls == 3


def _entry(key: str, amount: str = "10.00") -> JournalEntry:
    return balanced_entry(
        key, amount, title=f"Donation {key}", day=dt.date(2026, 1, 15), reference=False
    )


def _create_answer(doc: etree._Element, statuses: dict[int, str] | None = None) -> bytes:
    results = []
    for index, function in enumerate(doc.iter("function")):
        status = (statuses or {}).get(index, "success")
        cid = function.get("controlid")
        if status == "success":
            data = (
                '<data listtype="objects" count="1"><glbatch>'
                f"<RECORDNO>{100 + index}</RECORDNO></glbatch></data>"
            )
            results.append(_ok("create", str(cid), data))
        else:
            text = {
                "duplicate": "A request's function with the control ID {cid} has already been executed.",
                "in_process": "A request's function with the control ID {cid} is in process.",
                "failure": "Account 9999 does not exist",
            }[status].format(cid=cid)
            code = "DUPLICATE_CONTROLID" if status == "duplicate" else "BL01001973"
            results.append(
                f"<result><status>failure</status><function>create</function>"
                f"<controlid>{cid}</controlid><errormessage><error><errorno>{code}</errorno>"
                f"<description/><description2>{text}</description2><correction/></error>"
                "</errormessage></result>"
            )
    return _response("".join(results))


def test_writes_batch_functions_with_deterministic_control_ids_and_uniqueid() -> None:
    docs: list[etree._Element] = []

    def answer(doc: etree._Element, call: int) -> bytes:
        docs.append(doc)
        return _create_answer(doc)

    gateway = FakeGateway(answer)
    ia = _client(gateway, batch_size=100)
    entries = [_entry(f"A-{i}") for i in range(250)]
    outcomes = ia.create(entries)
    assert gateway.calls == 3  # 100 + 100 + 50 functions
    assert all(d.findtext("control/uniqueid") == "true" for d in docs)
    assert list(outcomes["row"]) == list(range(250))
    assert outcomes["done"].all()
    assert outcomes["status"].eq("success").all()
    assert outcomes["RECORDNO"].iloc[0] == 100
    first_ids = list(outcomes["control_id"])
    again = ia.create(entries)
    assert list(again["control_id"]) == first_ids  # same identity, same control id
    assert len(set(first_ids)) == 250


def test_replayed_writes_count_as_done_and_failures_do_not_stop_the_batch() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        return _create_answer(doc, {0: "duplicate", 2: "failure"})

    outcomes = _client(FakeGateway(answer)).create([_entry("a"), _entry("b"), _entry("c")])
    assert list(outcomes["status"]) == ["duplicate", "success", "failure"]
    assert list(outcomes["done"]) == [True, True, False]
    assert "Account 9999" in outcomes["errors"].iloc[2]
    assert outcomes["errornos"].iloc[2] == "BL01001973"


def test_functions_still_in_process_are_sent_again() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        return _create_answer(doc, {0: "in_process"} if call == 1 else {})

    gateway = FakeGateway(answer)
    outcomes = _client(gateway).create([_entry("a"), _entry("b")])
    assert gateway.calls == 2
    assert outcomes["status"].eq("success").all()


def test_lost_answer_to_a_write_is_retried_safely() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        if call == 1:
            raise TransportError("connection dropped", request_sent=True)
        return _create_answer(doc, {0: "duplicate"})

    gateway = FakeGateway(answer)
    outcomes = _client(gateway).create([_entry("a")])
    assert gateway.calls == 2
    assert outcomes["done"].all()


def test_a_write_that_cannot_finish_reports_what_is_known() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        if call >= 2:
            raise TransportError("down", request_sent=True)
        return _create_answer(doc)

    ia = _client(FakeGateway(answer), batch_size=2)
    with pytest.raises(IncompleteWriteError) as info:
        ia.create([_entry(str(i)) for i in range(5)])
    outcomes = info.value.outcomes
    assert isinstance(outcomes, pd.DataFrame)
    assert list(outcomes["status"]) == ["success", "success", "unknown", "unknown", "not_sent"]


def test_transaction_is_all_or_nothing_and_bounded() -> None:
    docs: list[etree._Element] = []

    def answer(doc: etree._Element, call: int) -> bytes:
        docs.append(doc)
        return _create_answer(doc)

    ia = _client(FakeGateway(answer), batch_size=10)
    ia.create([_entry("a"), _entry("b")], transaction=True)
    assert docs[0].find("operation").get("transaction") == "true"
    with pytest.raises(InputError, match="at most batch_size"):
        ia.create([_entry(str(i)) for i in range(11)], transaction=True)


def test_mappings_need_an_object_and_refuse_floats() -> None:
    ia = _client(FakeGateway(lambda doc, call: _create_answer(doc)))
    with pytest.raises(InputError, match="object="):
        ia.create([{"CLASSID": "A"}])
    with pytest.raises(InputError, match="floats") as info:
        ia.create([{"CLASSID": "A", "AMOUNT": 1.5}], object="CLASS")
    assert info.value.row == 0 and info.value.field == "AMOUNT"


def test_identical_mapping_records_get_distinct_but_stable_control_ids() -> None:
    ia = _client(FakeGateway(lambda doc, call: _create_answer(doc)))
    rows = [{"CLASSID": "A", "NAME": "Same"}, {"CLASSID": "A", "NAME": "Same"}]
    first = list(ia.create(rows, object="CLASS")["control_id"])
    second = list(ia.create(rows, object="CLASS")["control_id"])
    assert first == second
    assert first[0] != first[1]


def test_secrets_stay_out_of_repr_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    gateway = FakeGateway(
        lambda doc, call: _response(
            _ok("readByQuery", "r", '<data count="0" totalcount="0" numremaining="0"/>')
        )
    )
    ia = _client(gateway)
    with caplog.at_level(logging.DEBUG, logger="intacct_sync"):
        ia.read_by_query("CLASS")
    text = caplog.text + repr(ia) + repr(ia.credentials)
    for secret in ("sender-secret", "user-secret", "SESSION-1"):
        assert secret not in text
    assert "readByQuery CLASS" in caplog.text


def test_control_id_for_predicts_the_id_a_write_is_sent_under() -> None:
    ia = _client(FakeGateway(lambda doc, call: _create_answer(doc)))
    entry = _entry("predict-1")
    predicted = ia.control_id_for(entry)
    outcomes = ia.create([entry])
    assert outcomes["control_id"].iloc[0] == predicted
    assert ia.control_id_for(entry, key="other") != predicted

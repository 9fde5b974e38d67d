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
        sleep=lambda _: None,
        **options,  # type: ignore[arg-type]
    )
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
    outcomes = ia.create("GLBATCH", entries)
    assert gateway.calls == 3  # 100 + 100 + 50 functions
    assert all(d.findtext("control/uniqueid") == "true" for d in docs)
    assert list(outcomes["row"]) == list(range(250))
    assert outcomes["done"].all()
    assert outcomes["status"].eq("created").all()
    assert outcomes["RECORDNO"].iloc[0] == 100
    first_ids = list(outcomes["control_id"])
    again = ia.create("GLBATCH", entries)
    assert list(again["control_id"]) == first_ids  # same identity, same control id
    assert len(set(first_ids)) == 250


def test_replayed_writes_count_as_done_and_failures_do_not_stop_the_batch() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        return _create_answer(doc, {0: "duplicate", 2: "failure"})

    outcomes = _client(FakeGateway(answer)).create(
        "GLBATCH", [_entry("a"), _entry("b"), _entry("c")]
    )
    assert list(outcomes["status"]) == ["already_done", "created", "failed"]
    assert list(outcomes["done"]) == [True, True, False]
    assert "Account 9999" in outcomes["errors"].iloc[2]
    assert outcomes["error_codes"].iloc[2] == "BL01001973"


def test_functions_still_in_process_are_sent_again() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        return _create_answer(doc, {0: "in_process"} if call == 1 else {})

    gateway = FakeGateway(answer)
    outcomes = _client(gateway).create("GLBATCH", [_entry("a"), _entry("b")])
    assert gateway.calls == 2
    assert outcomes["status"].eq("created").all()


def test_lost_answer_to_a_write_is_retried_safely() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        if call == 1:
            raise TransportError("connection dropped", request_sent=True)
        return _create_answer(doc, {0: "duplicate"})

    gateway = FakeGateway(answer)
    outcomes = _client(gateway).create("GLBATCH", [_entry("a")])
    assert gateway.calls == 2
    assert outcomes["done"].all()


def test_a_write_that_cannot_finish_reports_what_is_known() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        if call >= 2:
            raise TransportError("down", request_sent=True)
        return _create_answer(doc)

    ia = _client(FakeGateway(answer), batch_size=2)
    with pytest.raises(IncompleteWriteError) as info:
        ia.create("GLBATCH", [_entry(str(i)) for i in range(5)])
    outcomes = info.value.outcomes
    assert isinstance(outcomes, pd.DataFrame)
    assert list(outcomes["status"]) == ["created", "created", "unknown", "unknown", "not_sent"]


def test_transaction_is_all_or_nothing_and_bounded() -> None:
    docs: list[etree._Element] = []

    def answer(doc: etree._Element, call: int) -> bytes:
        docs.append(doc)
        return _create_answer(doc)

    ia = _client(FakeGateway(answer), batch_size=10)
    ia.create("GLBATCH", [_entry("a"), _entry("b")], transaction=True)
    assert docs[0].find("operation").get("transaction") == "true"
    with pytest.raises(InputError, match="at most batch_size"):
        ia.create("GLBATCH", [_entry(str(i)) for i in range(11)], transaction=True)


def test_mappings_need_an_object_and_refuse_floats() -> None:
    ia = _client(FakeGateway(lambda doc, call: _create_answer(doc)))
    # Only the old call form can leave the object out (the new one takes it first).
    with (
        pytest.warns(DeprecationWarning, match="deprecated"),
        pytest.raises(InputError, match="object="),
    ):
        ia.create([{"CLASSID": "A"}])
    with pytest.raises(InputError, match="floats") as info:
        ia.create("CLASS", [{"CLASSID": "A", "AMOUNT": 1.5}])
    assert info.value.row == 0 and info.value.field == "AMOUNT"


def test_identical_mapping_records_get_distinct_but_stable_control_ids() -> None:
    ia = _client(FakeGateway(lambda doc, call: _create_answer(doc)))
    rows = [{"CLASSID": "A", "NAME": "Same"}, {"CLASSID": "A", "NAME": "Same"}]
    first = list(ia.create("CLASS", rows)["control_id"])
    second = list(ia.create("CLASS", rows)["control_id"])
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
    outcomes = ia.create("GLBATCH", [entry])
    assert outcomes["control_id"].iloc[0] == predicted
    assert ia.control_id_for(entry, key="other") != predicted


# -- child rows as data -------------------------------------------------------------------------


def _batch(recordno: int, title: str, lines: list[str]) -> str:
    entries = "".join(
        f"<glentry><RECORDNO>{recordno * 10 + i}</RECORDNO><BATCHNO>{recordno}</BATCHNO>"
        f"<MEMO>{memo}</MEMO></glentry>"
        for i, memo in enumerate(lines)
    )
    return (
        f"<glbatch><RECORDNO>{recordno}</RECORDNO><BATCH_TITLE>{title}</BATCH_TITLE>"
        f"<ENTRIES>{entries}</ENTRIES></glbatch>"
    )


def _batches_gateway(pages: list[list[str]]) -> FakeGateway:
    """readByQuery / readMore answers: one page per call, GLBATCH records with ENTRIES."""

    def answer(doc: etree._Element, call: int) -> bytes:
        page = pages[call - 1]
        remaining = sum(len(p) for p in pages[call:])
        data = (
            f'<data listtype="glbatch" count="{len(page)}" totalcount="9" '
            f'numremaining="{remaining}" resultId="{"R1" if remaining else ""}">'
            f"{''.join(page)}</data>"
        )
        return _response(_ok("readByQuery", "r", data))

    return FakeGateway(answer)


def _belongs(parents: pd.DataFrame, lines: pd.DataFrame) -> None:
    # Every child row joins the parent it came with: its BATCHNO is its parent's RECORDNO, and
    # the join on parent_id reaches a parent whose title names the line.
    joined = lines.merge(
        parents.assign(parent_id=parents["RECORDNO"].astype("string")), on="parent_id"
    )
    assert len(joined) == len(lines)
    assert (joined["BATCHNO"].astype("string") == joined["parent_id"]).all()
    assert all(
        str(memo).startswith(str(title))
        for memo, title in zip(joined["MEMO"], joined["BATCH_TITLE"], strict=True)
    )


def test_children_are_keyed_by_the_parent_id_and_survive_sort_filter_and_head() -> None:
    page = [
        _batch(7, "b7", ["b7-a", "b7-b"]),
        _batch(3, "b3", ["b3-a"]),
        _batch(5, "b5", ["b5-a", "b5-b", "b5-c"]),
    ]
    batches = _client(_batches_gateway([page])).read_by_query("GLBATCH")
    entries = batches.attrs["children"]["ENTRIES"]
    assert list(entries.columns[:1]) == ["parent_id"]
    assert str(entries["parent_id"].dtype) == "string"
    assert entries["parent_id"].tolist() == ["7", "7", "3", "5", "5", "5"]

    ordered = batches.sort_values("BATCH_TITLE")
    kept = batches[batches["BATCH_TITLE"] != "b3"]
    first_two = ordered.head(2)
    for derived in (ordered, kept, first_two):
        # pandas carries attrs into derived frames; the mapping stays the same object.
        assert derived.attrs["children"] is batches.attrs["children"]
        lines = IntacctClient.children(derived, "ENTRIES")
        _belongs(derived, lines)
        assert set(lines["parent_id"]) == set(derived["RECORDNO"].astype(str))
    # In the parents' current order, each parent's lines in theirs.
    assert IntacctClient.children(first_two, "ENTRIES")["MEMO"].tolist() == [
        "b3-a",
        "b5-a",
        "b5-b",
        "b5-c",
    ]
    assert IntacctClient.children(kept, "ENTRIES")["MEMO"].tolist() == [
        "b7-a",
        "b7-b",
        "b5-a",
        "b5-b",
        "b5-c",
    ]
    # A plain dict of frames in attrs made merge and concat raise; the mapping does not.
    assert len(batches.merge(batches[["RECORDNO"]], on="RECORDNO")) == 3
    assert len(pd.concat([batches, batches])) == 6


def test_children_of_every_page_join_their_own_parent() -> None:
    pages = [
        [_batch(1, "b1", ["b1-a"]), _batch(2, "b2", ["b2-a", "b2-b"])],
        [_batch(3, "b3", ["b3-a", "b3-b"])],
    ]
    batches = _client(_batches_gateway(pages)).read_by_query("GLBATCH", page_size=2)
    assert batches["RECORDNO"].tolist() == [1, 2, 3]
    entries = batches.attrs["children"]["ENTRIES"]
    # Row positions of the second page start again at 0; ids do not, so nothing shifts.
    assert entries["parent_id"].tolist() == ["1", "2", "2", "3", "3"]
    _belongs(batches, entries)
    _belongs(batches.tail(1), IntacctClient.children(batches.tail(1), "ENTRIES"))


def test_children_fall_back_to_the_object_id_field_without_recordno() -> None:
    def answer(doc: etree._Element, call: int) -> bytes:
        data = (
            '<data listtype="customer" count="2" totalcount="2" numremaining="0">'
            "<customer><CUSTOMERID>C2</CUSTOMERID><CONTACTS><contact><NAME>c2-x</NAME></contact>"
            "</CONTACTS></customer>"
            "<customer><CUSTOMERID>C1</CUSTOMERID><CONTACTS><contact><NAME>c1-x</NAME></contact>"
            "<contact><NAME>c1-y</NAME></contact></CONTACTS></customer></data>"
        )
        return _response(_ok("readByQuery", "r", data))

    customers = _client(FakeGateway(answer)).read_by_query("CUSTOMER", fields="CUSTOMERID")
    contacts = customers.attrs["children"]["CONTACTS"]
    assert contacts["parent_id"].tolist() == ["C2", "C1", "C1"]
    only_c1 = customers[customers["CUSTOMERID"] == "C1"]
    assert IntacctClient.children(only_c1, "CONTACTS")["NAME"].tolist() == ["c1-x", "c1-y"]


def test_children_of_a_frame_that_lost_them_or_its_id_raise_key_error() -> None:
    batches = _client(_batches_gateway([[_batch(1, "b1", ["b1-a"])]])).read_by_query("GLBATCH")
    with pytest.raises(KeyError, match="no child frames"):
        IntacctClient.children(pd.DataFrame(batches), "ENTRIES")
    with pytest.raises(KeyError, match="RECORDNO"):
        IntacctClient.children(batches[["BATCH_TITLE"]], "ENTRIES")
    with pytest.raises(KeyError):
        IntacctClient.children(batches, "NOPE")


# -- write call forms ---------------------------------------------------------------------------


def test_old_write_call_forms_warn_and_send_the_same_functions() -> None:
    ia = _client(FakeGateway(lambda doc, call: _create_answer(doc)))
    rows = [{"CLASSID": "A", "NAME": "One"}]
    new = ia.create("CLASS", rows)
    by_name = ia.create(object="CLASS", records=rows)
    with pytest.warns(DeprecationWarning, match=r"ia\.create\(object, records\)"):
        old = ia.create(rows, object="CLASS")
    assert old["control_id"].tolist() == new["control_id"].tolist()
    assert by_name["control_id"].tolist() == new["control_id"].tolist()
    with pytest.warns(DeprecationWarning, match=r"ia\.create\(object, records\)"):
        old_models = ia.create([_entry("m")])
    assert (
        old_models["control_id"].tolist()
        == ia.create("GLBATCH", [_entry("m")])["control_id"].tolist()
    )
    with pytest.warns(DeprecationWarning, match=r"ia\.update\(object, records\)"):
        old_update = ia.update(rows, object="CLASS")
    assert old_update["control_id"].tolist() == ia.update("CLASS", rows)["control_id"].tolist()


def test_old_delete_keyword_warns_and_deletes_the_same_ids() -> None:
    sent: list[list[str]] = []

    def answer(doc: etree._Element, call: int) -> bytes:
        sent.append([k.text or "" for k in doc.iter("keys")])
        return _response(
            "".join(_ok("delete", str(f.get("controlid"))) for f in doc.iter("function"))
        )

    ia = _client(FakeGateway(answer))
    ia.delete("CLASS", [6, 7])
    with pytest.warns(DeprecationWarning, match=r"ia\.delete\(object, ids\)"):
        ia.delete("CLASS", keys=[6, 7])
    assert sent == [["6", "7"], ["6", "7"]]


def test_write_arguments_that_contradict_each_other_are_refused() -> None:
    ia = _client(FakeGateway(lambda doc, call: _create_answer(doc)))
    rows = [{"CLASSID": "A"}]
    with pytest.raises(TypeError, match="object twice"):
        ia.create("CLASS", rows, object="DEPARTMENT")
    with pytest.raises(TypeError, match="object first"):
        ia.create(rows, rows)
    with pytest.raises(TypeError, match="needs the object and the records"):
        ia.create("CLASS")
    with pytest.raises(TypeError, match="needs the object and the ids"):
        ia.delete("CLASS")


def test_a_model_written_as_another_object_is_refused_before_sending() -> None:
    gateway = FakeGateway(lambda doc, call: _create_answer(doc))
    with pytest.raises(InputError) as info:
        _client(gateway).create("CUSTOMER", [_entry("x")])
    assert (info.value.row, info.value.field, info.value.value) == (0, "OBJECT", "GLBATCH")
    assert gateway.calls == 0

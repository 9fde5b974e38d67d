"""IntacctRestClient end to end against the sandbox's REST API, over the XML gateway's store."""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import os
import stat
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from intacct_sync import RetryPolicy, sandbox
from intacct_sync._http.governor import Governor
from intacct_sync._http.transport import HttpRequest, HttpResponse, RequestsTransport, Timeout
from intacct_sync.errors import AuthenticationError
from intacct_sync.intacct import IntacctClient, filters
from intacct_sync.intacct.models import JournalEntry, JournalLine, SalesOrder, SalesOrderLine
from intacct_sync.intacct.rest import (
    AuthorizationCode,
    FileTokenCache,
    IntacctRestClient,
)
from intacct_sync.sandbox.intacct.rest import RestServer, rest_server
from intacct_sync.sandbox.intacct.rest_oauth import CLIENT_ID, CLIENT_SECRET
from tests.builders import balanced_entry

FAST = RetryPolicy(max_retries=8, initial_delay=0.001, max_delay=0.01)


class Recording(RequestsTransport):
    """A requests transport that remembers each answer's status."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[tuple[str, int]] = []

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        response = super().send(request, timeout=timeout)
        self.statuses.append((urlsplit(request.url).path, response.status))
        return response


@pytest.fixture(scope="module")
def server(shared_sb: sandbox.Sandbox) -> Iterator[RestServer]:
    with rest_server(shared_sb.intacct) as srv:
        yield srv


@pytest.fixture
def rest(server: RestServer) -> Iterator[IntacctRestClient]:
    server.api.faults.clear()
    server.api.page_origin = 1
    server.api.max_page_size = 4000
    server.api.send_total_count = True
    client: IntacctRestClient = server.client(retry=FAST)
    yield client
    client.close()
    server.api.faults.clear()


@pytest.fixture
def xml(shared_sb: sandbox.Sandbox) -> Iterator[IntacctClient]:
    client = shared_sb.intacct_client(retry=FAST)
    yield client
    client.close()


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# -- frames equal across protocols -----------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "select"),
    [
        ("GLACCOUNT", ["RECORDNO", "ACCOUNTNO", "TITLE", "ACCOUNTTYPE", "STATUS", "REQUIREDEPT"]),
        ("STATACCOUNT", ["RECORDNO", "ACCOUNTNO", "TITLE", "ACCOUNTTYPE", "STATUS"]),
        ("LOCATION", ["RECORDNO", "LOCATIONID", "NAME", "PARENTID", "STATUS", "WHENMODIFIED"]),
        (
            "GLENTRY",
            [
                "RECORDNO",
                "BATCHNO",
                "ACCOUNTNO",
                "TR_TYPE",
                "TRX_AMOUNT",
                "LOCATION",
                "GLDIMFUND",
                "BATCH_DATE",
                "WHENMODIFIED",
            ],
        ),
    ],
)
def test_frames_have_the_same_columns_dtypes_and_values_on_both_protocols(
    rest: IntacctRestClient, xml: IntacctClient, obj: str, select: list[str]
) -> None:
    over_rest = rest.query(obj, select=select).sort_values("RECORDNO", ignore_index=True)
    over_xml = xml.query(obj, select=select).sort_values("RECORDNO", ignore_index=True)
    assert len(over_rest) > 0
    pd.testing.assert_frame_equal(over_rest, over_xml)
    if "TRX_AMOUNT" in select:
        assert all(isinstance(v, Decimal) for v in over_rest["TRX_AMOUNT"])


def test_filters_translate_from_the_same_dsl(rest: IntacctRestClient, xml: IntacctClient) -> None:
    spec = filters.equal_to("ACCOUNTTYPE", "incomestatement") & (
        filters.like("TITLE", "%e%") | filters.in_("ACCOUNTNO", ["1000", "1010"])
    )
    select = ["RECORDNO", "ACCOUNTNO", "TITLE", "ACCOUNTTYPE"]
    over_rest = rest.query("GLACCOUNT", select=select, filter=spec)
    over_xml = xml.query("GLACCOUNT", select=select, filter=spec)
    assert 0 < len(over_rest) < len(rest.query("GLACCOUNT", select=["RECORDNO"]))
    pd.testing.assert_frame_equal(over_rest, over_xml)


def test_an_empty_result_has_the_columns_and_dtypes_of_a_full_one(rest: IntacctRestClient) -> None:
    select = ["RECORDNO", "ACCOUNTNO", "TRX_AMOUNT", "BATCH_DATE"]
    empty = rest.query("GLENTRY", select=select, filter={"ACCOUNTNO": "no-such-account"})
    full = rest.query("GLENTRY", select=select, page_size=5, filter={"ACCOUNTNO": "1000"})
    assert len(empty) == 0 and len(full) > 0
    assert list(empty.columns) == select
    assert empty.dtypes.to_dict() == full.dtypes.to_dict()


@pytest.mark.parametrize(("origin", "cap"), [(1, 4000), (0, 4000), (1, 3), (0, 3)])
def test_query_pages_to_the_end_under_either_page_origin_and_a_server_cap(
    rest: IntacctRestClient, server: RestServer, xml: IntacctClient, origin: int, cap: int
) -> None:
    server.api.page_origin = origin
    server.api.max_page_size = cap
    expected = xml.query("GLACCOUNT", select=["RECORDNO"])
    pages = list(rest.iter_query("GLACCOUNT", select=["RECORDNO", "ACCOUNTNO"], page_size=7))
    got = pd.concat(pages, ignore_index=True)
    assert got["RECORDNO"].tolist() == expected["RECORDNO"].tolist()  # none skipped or repeated
    assert max(len(p) for p in pages) <= min(7, cap)


@pytest.mark.parametrize("total", [True, False], ids=["with totalCount", "without totalCount"])
@pytest.mark.parametrize(("origin", "cap"), [(1, 4000), (0, 3)])
def test_pages_are_fetched_concurrently_within_the_governor_and_yielded_in_order(
    server: RestServer, xml: IntacctClient, origin: int, cap: int, total: bool
) -> None:
    server.api.page_origin, server.api.max_page_size = origin, cap
    server.api.send_total_count = total
    governor = Governor("intacct:paging-test", limit=2)
    server.api.faults.latency = 0.02  # requests overlap only if sent together
    try:
        with server.client(retry=FAST, governor=governor) as client:
            client.query("GLACCOUNT", select=["RECORDNO"], page_size=1)  # token and types
            before = governor.stats().requests
            pages = list(
                client.iter_query("GLACCOUNT", select=["RECORDNO", "ACCOUNTNO"], page_size=5)
            )
    finally:
        server.api.faults.latency = 0.0
        server.api.send_total_count = True
    expected = xml.query("GLACCOUNT", select=["RECORDNO"])["RECORDNO"].tolist()
    got = pd.concat(pages, ignore_index=True)["RECORDNO"].tolist()
    assert got == expected  # in order, none skipped or repeated
    stats = governor.stats()
    assert stats.peak_in_flight <= 2
    # With the total known every later start is known: two in flight at once. Without it the
    # pages are followed one by one.
    assert (stats.peak_in_flight == 2) is total
    assert stats.requests - before == -(-len(expected) // min(5, cap))  # no request wasted


def test_an_abandoned_stream_stops_fetching(server: RestServer) -> None:
    governor = Governor("intacct:abandon-test", limit=2)
    with server.client(retry=FAST, governor=governor) as client:
        client.query("GLACCOUNT", select=["RECORDNO"], page_size=1)
        before = governor.stats().requests
        stream = client.iter_query("GLACCOUNT", select=["RECORDNO"], page_size=1)
        first = next(stream)
        stream.close()
        sent = governor.stats().requests - before
    assert len(first) == 1 and sent <= 1 + 2  # the first page and at most the two in flight


# -- writes --------------------------------------------------------------------------------------


def test_an_entry_posted_over_rest_reads_back_over_xml(
    rest: IntacctRestClient, xml: IntacctClient, shared_sb: sandbox.Sandbox
) -> None:
    key = _key("rest-je")
    out = rest.create("GLBATCH", [balanced_entry(key, "12.34", title="posted over REST")])
    assert out.loc[0, "status"] == "created" and bool(out.loc[0, "done"])
    assert list(out.columns[:7]) == ["row", "key", "id", "status", "done", "errors", "error_codes"]
    batch = xml.query(
        "GLBATCH",
        select=["RECORDNO", "JOURNAL", "BATCH_TITLE", "STATE"],
        filter={"REFERENCENO": key},
    )
    assert batch["RECORDNO"].tolist() == [out.loc[0, "RECORDNO"]]
    assert batch.loc[0, "STATE"] == "Posted" and batch.loc[0, "JOURNAL"] == "GJ"
    lines = xml.query(
        "GLENTRY",
        select=["ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT"],
        filter={"BATCHNO": str(out.loc[0, "RECORDNO"])},
    )
    assert sorted(zip(lines["ACCOUNTNO"], lines["TR_TYPE"], lines["TRX_AMOUNT"], strict=True)) == [
        ("1000", 1, Decimal("12.34")),
        ("4000", -1, Decimal("12.34")),
    ]


def test_an_entry_posted_over_xml_reads_back_over_rest(
    rest: IntacctRestClient, xml: IntacctClient
) -> None:
    key = _key("xml-je")
    out = xml.create("GLBATCH", [balanced_entry(key, "7.05", title="posted over XML")])
    recordno = out.loc[0, "RECORDNO"]
    found = rest.query(
        "GLBATCH",
        select=["RECORDNO", "BATCH_TITLE", "BATCH_DATE", "STATE"],
        filter={"REFERENCENO": key},
    )
    assert found["RECORDNO"].tolist() == [recordno]
    assert found.loc[0, "BATCH_DATE"] == pd.Timestamp("2026-11-02")
    lines = rest.query(
        "GLENTRY", select=["TR_TYPE", "TRX_AMOUNT"], filter={"BATCHNO": str(recordno)}
    )
    assert sorted(lines["TR_TYPE"].tolist()) == [-1, 1]
    assert set(lines["TRX_AMOUNT"]) == {Decimal("7.05")}


def test_a_statistical_entry_goes_to_its_own_rest_object_and_reads_back_over_xml(
    rest: IntacctRestClient, xml: IntacctClient, server: RestServer
) -> None:
    key = _key("stat")
    entry = JournalEntry(
        key=key,
        journal="STAT",
        batch_date=dt.date(2026, 11, 3),
        title="donors",
        reference_no=key,
        statistical=True,
        lines=[JournalLine(account_no="9010", amount=Decimal("3"), tr_type=-1)],
    )
    before = server.api.requests.get("POST /objects/general-ledger", 0)
    out = rest.create("GLBATCH", [entry])
    assert out.loc[0, "status"] == "created"
    assert server.api.requests["POST /objects/general-ledger"] == before + 1
    lines = xml.query(
        "GLENTRY",
        select=["ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT"],
        filter={"BATCHNO": str(out.loc[0, "RECORDNO"])},
    )
    assert lines.to_dict("records") == [
        {"ACCOUNTNO": "9010", "TR_TYPE": -1, "TRX_AMOUNT": Decimal("3")}
    ]


def test_a_statistical_mapping_is_routed_by_its_journal(
    rest: IntacctRestClient, xml: IntacctClient
) -> None:
    key = _key("stat-map")
    record = {
        "JOURNAL": "STAT",
        "BATCH_DATE": dt.date(2026, 11, 4),
        "BATCH_TITLE": "members",
        "REFERENCENO": key,
        "ENTRIES": [("GLENTRY", {"ACCOUNTNO": "9050", "TR_TYPE": 1, "TRX_AMOUNT": Decimal("2")})],
    }
    out = rest.create("GLBATCH", [record], keys=[key])
    assert out.loc[0, "status"] == "created", out.loc[0, "errors"]


def test_the_same_create_twice_replays_instead_of_posting_again(
    rest: IntacctRestClient, shared_sb: sandbox.Sandbox
) -> None:
    key = _key("replay")
    first = rest.create("GLBATCH", [balanced_entry(key, title="once")])
    again = rest.create("GLBATCH", [balanced_entry(key, title="once")])
    assert first.loc[0, "status"] == "created"
    assert again.loc[0, "status"] == "already_done" and bool(again.loc[0, "done"])
    assert again["RECORDNO"].tolist() == first["RECORDNO"].tolist()
    assert first["control_id"].tolist() == again["control_id"].tolist()
    assert shared_sb.intacct.journal_entries_by_reference(sandbox.COMPANIES["nonprofit"])[key] == 1


def test_a_batch_with_one_bad_record_reports_each_record(rest: IntacctRestClient) -> None:
    good, bad = _key("good"), _key("bad")
    out = rest.create(
        "GLBATCH",
        [balanced_entry(good, title="good"), balanced_entry(bad, title="bad", account="0000")],
    )
    assert out["status"].tolist() == ["created", "failed"]
    assert "0000" in str(out.loc[1, "errors"])
    assert out["RECORDNO"].isna().tolist() == [False, True]


def test_a_transaction_is_all_or_nothing(
    rest: IntacctRestClient, shared_sb: sandbox.Sandbox
) -> None:
    good, bad = _key("tx-good"), _key("tx-bad")
    out = rest.create(
        "GLBATCH",
        [balanced_entry(good, title="good"), balanced_entry(bad, title="bad", account="0000")],
        transaction=True,
    )
    assert out["status"].tolist() == ["aborted", "failed"]
    assert good not in shared_sb.intacct.journal_entries_by_reference(
        sandbox.COMPANIES["nonprofit"]
    )


def test_create_update_delete_outcomes(rest: IntacctRestClient, xml: IntacctClient) -> None:
    dept = _key("D")[:20]
    created = rest.create("DEPARTMENT", [{"DEPARTMENTID": dept, "TITLE": "Outreach"}])
    assert created.loc[0, "status"] == "created" and created.loc[0, "id"] == dept
    updated = rest.update("DEPARTMENT", [{"DEPARTMENTID": dept, "TITLE": "Outreach and events"}])
    assert updated.loc[0, "status"] == "updated"
    title = xml.query("DEPARTMENT", select=["TITLE"], filter={"DEPARTMENTID": dept})
    assert title["TITLE"].tolist() == ["Outreach and events"]
    missing = rest.update("DEPARTMENT", [{"DEPARTMENTID": "no-such-dept", "TITLE": "x"}])
    assert missing.loc[0, "status"] == "failed" and not bool(missing.loc[0, "done"])
    deleted = rest.delete("DEPARTMENT", [int(created["RECORDNO"].iloc[0])])
    assert deleted.loc[0, "status"] == "deleted"
    assert len(xml.query("DEPARTMENT", select=["RECORDNO"], filter={"DEPARTMENTID": dept})) == 0


def test_an_unmapped_xml_field_is_refused_naming_it(rest: IntacctRestClient) -> None:
    from intacct_sync.errors import InputError

    with pytest.raises(InputError, match="NOTAREALFIELD"):
        rest.create("DEPARTMENT", [{"DEPARTMENTID": "X1", "TITLE": "t", "NOTAREALFIELD": "v"}])


def test_sales_orders_over_rest_read_back_over_xml(
    server: RestServer, shared_sb: sandbox.Sandbox
) -> None:
    rest = server.client(sandbox.COMPANIES["itservices"], retry=FAST)
    xml = shared_sb.intacct_client("itservices", retry=FAST)
    customers = xml.query("CUSTOMER", select=["CUSTOMERID"], filter={"STATUS": "active"})
    items = xml.query("ITEM", select=["ITEMID"], filter={"STATUS": "active"})
    key = _key("opp")
    order = SalesOrder(
        key=key,
        customer_id=str(customers["CUSTOMERID"].iloc[0]),
        date=dt.date(2026, 11, 5),
        reference_no=key,
        lines=[
            SalesOrderLine(
                item_id=str(items["ITEMID"].iloc[0]), quantity=Decimal("2"), price=Decimal("150.00")
            )
        ],
    )
    out = rest.create_sales_orders([order])
    assert out.loc[0, "status"] == "created", out.loc[0, "errors"]
    docid = str(out.loc[0, "id"])
    assert docid.startswith("Sales Order-")
    doc = xml.query("SODOCUMENT", select=["DOCID", "TOTAL"], filter={"DOCID": docid})
    assert doc["TOTAL"].tolist() == [Decimal("300.00")]
    over_rest = rest.query(
        "SODOCUMENT",
        select=["DOCID", "TOTAL", "CUSTVENDID"],
        docparid="Sales Order",
        filter={"DOCID": docid},
    )
    assert over_rest["TOTAL"].tolist() == [Decimal("300.00")]
    rest.close()
    xml.close()


# -- auth, retries -----------------------------------------------------------------------------


def test_an_expired_token_is_refreshed_once(rest: IntacctRestClient, server: RestServer) -> None:
    rest.query("CLASS", select=["CLASSID"])
    minted = rest.oauth.refreshes
    server.api.oauth.expire_tokens()
    assert len(rest.query("CLASS", select=["CLASSID"])) > 0
    assert rest.oauth.refreshes == minted + 1


def test_a_refused_client_secret_is_an_authentication_error_without_the_secret(
    server: RestServer,
) -> None:
    client = IntacctRestClient(
        client_id=CLIENT_ID,
        client_secret="wrong-secret-value-123",
        company_id=sandbox.COMPANIES["nonprofit"],
        user_id="sandbox_user",
        base_url=server.base_url,
        retry=FAST,
    )
    with client, pytest.raises(AuthenticationError) as info:
        client.query("CLASS", select=["CLASSID"])
    assert "wrong-secret-value-123" not in str(info.value) + repr(info.value) + repr(client)


def test_throttling_is_retried_honouring_the_loop(server: RestServer) -> None:
    transport = Recording()
    client = server.client(retry=FAST, transport=transport)
    client.oauth.access_token()
    server.api.faults.throttle_rate = 0.5
    server.api.faults.reseed(7)
    try:
        frame = client.query("GLACCOUNT", select=["RECORDNO"], page_size=10)
    finally:
        server.api.faults.clear()
        transport.close()
    assert len(frame) > 10
    assert any(status == 429 for _, status in transport.statuses)


def _browser(server: RestServer, *, tamper: bool = False) -> tuple[list[str], object]:
    opened: list[str] = []

    def open_browser(url: str) -> bool:
        # The "person": the sandbox consents at once; follow its redirect to the loopback.
        opened.append(url)
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
        conn.request("GET", f"{parts.path}?{parts.query}")
        redirect = conn.getresponse()
        redirect.read()
        location = redirect.getheader("Location") or ""
        conn.close()
        if tamper:
            location = location.replace("state=", "state=x")
        back = urlsplit(location)
        conn = http.client.HTTPConnection(back.hostname or "", back.port)
        conn.request("GET", f"{back.path}?{back.query}")
        conn.getresponse().read()
        conn.close()
        return True

    return opened, open_browser


def test_authorization_code_with_pkce_and_a_persisted_rotating_refresh_token(
    server: RestServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FileTokenCache(tmp_path / "tokens.json")
    opened, open_browser = _browser(server)
    caplog.set_level(logging.DEBUG, logger="intacct_sync")
    client = IntacctRestClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant=AuthorizationCode(open_browser=open_browser, timeout=10),  # type: ignore[arg-type]
        base_url=server.base_url,
        token_cache=cache,
        retry=FAST,
    )
    with client:
        assert len(client.query("CLASS", select=["CLASSID"])) > 0
    assert len(opened) == 1 and "code_challenge_method=S256" in opened[0]
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.json").st_mode) == 0o600
    first = cache.load(client.oauth.cache_key)
    assert first and first["refresh_token"]

    # A new process: the cached refresh token is used (and rotated), no browser.
    def no_browser(url: str) -> bool:
        raise AssertionError("the browser must not open")

    server.api.oauth.expire_tokens()
    again = IntacctRestClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant=AuthorizationCode(open_browser=no_browser, interactive=False),
        base_url=server.base_url,
        token_cache=cache,
        retry=FAST,
    )
    with again:
        assert len(again.query("CLASS", select=["CLASSID"])) > 0
    second = cache.load(again.oauth.cache_key)
    assert second and second["refresh_token"] != first["refresh_token"]
    for secret in (first["refresh_token"], first["access_token"], second["access_token"]):
        assert secret not in caplog.text


def test_a_redirect_with_the_wrong_state_is_refused(server: RestServer) -> None:
    _, open_browser = _browser(server, tamper=True)
    client = IntacctRestClient(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant=AuthorizationCode(open_browser=open_browser, timeout=10),  # type: ignore[arg-type]
        base_url=server.base_url,
        retry=FAST,
    )
    with client, pytest.raises(AuthenticationError, match="state"):
        client.query("CLASS", select=["CLASSID"])


def test_the_sandbox_checks_the_pkce_verifier(server: RestServer) -> None:
    from intacct_sync.intacct.rest import _oauth

    _, challenge = _oauth.pkce_pair()
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
    query = (
        f"response_type=code&client_id={CLIENT_ID}&redirect_uri=http://127.0.0.1:1/callback"
        f"&state=s&code_challenge={challenge}&code_challenge_method=S256"
    )
    conn.request("GET", f"/ia/api/v1/oauth2/authorize?{query}")
    redirect = conn.getresponse()
    redirect.read()
    location = redirect.getheader("Location") or ""
    code = location.split("code=")[1].split("&")[0]
    body = (
        f"grant_type=authorization_code&code={code}&redirect_uri=http://127.0.0.1:1/callback"
        f"&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&code_verifier=not-the-verifier"
    )
    conn.request(
        "POST",
        "/ia/api/v1/oauth2/token",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    answer = conn.getresponse()
    assert answer.status == 400 and b"REST-2102" in answer.read()
    conn.close()


def test_the_rest_token_bridges_to_an_xml_session(rest: IntacctRestClient) -> None:
    session_id, expires_in = rest.xml_session()
    assert session_id and expires_in > 0


def test_a_lost_answer_is_retried_under_the_same_key_and_posts_once(
    rest: IntacctRestClient, server: RestServer, shared_sb: sandbox.Sandbox
) -> None:
    key = _key("lost")
    rest.oauth.access_token()
    rest.model("GLBATCH")
    # Seed 1 drops the first write's answer after the commit and lets the repeat through.
    server.api.faults.drop_after_commit_rate = 0.5
    server.api.faults.reseed(1)
    try:
        out = rest.create("GLBATCH", [balanced_entry(key, title="lost answer")])
    finally:
        server.api.faults.clear()
    assert bool(out.loc[0, "done"]) and out.loc[0, "status"] == "already_done"
    assert shared_sb.intacct.journal_entries_by_reference(sandbox.COMPANIES["nonprofit"])[key] == 1


def test_composite_runs_steps_in_order_with_references(rest: IntacctRestClient) -> None:
    dept = _key("C")[:20]
    steps = [
        {
            "method": "POST",
            "path": "/objects/company-config/department",
            "body": {"id": dept, "name": "Parent"},
            "resultReference": "parent",
        },
        {
            "method": "POST",
            "path": "/objects/company-config/department",
            "body": {"id": dept + "x", "name": "Child", "parent": {"id": "@{parent.id}"}},
        },
        {"method": "POST", "path": "/objects/company-config/department", "body": {"name": "no id"}},
        {"method": "GET", "path": "/objects/company-config/department"},
    ]
    url = rest.base_url + "/services/core/composite"
    response, data = rest.request("POST", url, body=steps, idempotent=False, what="composite")
    assert response.status == 207
    statuses = [item["ia::status"] for item in data["ia::result"]]
    assert statuses[:2] == [201, 201] and statuses[2] >= 400
    assert data["ia::result"][3]["ia::error"]["code"] == "unprocessed"
    child = rest.query("DEPARTMENT", select=["PARENTID"], filter={"DEPARTMENTID": dept + "x"})
    assert child["PARENTID"].tolist() == [dept]


def test_one_record_reads_back_nested_by_key(rest: IntacctRestClient) -> None:
    accounts = rest.query("GLACCOUNT", select=["RECORDNO", "ACCOUNTNO"], page_size=1)
    key = str(accounts["RECORDNO"].iloc[0])
    url = rest.base_url + "/objects/general-ledger/account/" + key
    _, data = rest.request("GET", url, idempotent=True, what="read")
    record = data["ia::result"]
    assert record["key"] == key and record["id"] == accounts["ACCOUNTNO"].iloc[0]
    assert "modifiedDateTime" in record["audit"]
    by_key = rest.read("GLACCOUNT", [int(key)], fields=["RECORDNO", "ACCOUNTNO"])
    assert by_key["ACCOUNTNO"].tolist() == [record["id"]]

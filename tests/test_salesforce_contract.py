"""SalesforceClient's promises: the outcome contract, children as data, pinned URLs, limits.

Over MockTransport (see ``test_salesforce_client``) except the Bulk UploadComplete recovery,
which runs against the loopback sandbox with its drop-after-commit fault.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from intacct_sync import outcomes, sandbox
from intacct_sync._http.transport import HttpRequest, HttpResponse, Timeout, Transport
from intacct_sync.errors import (
    ConfigError,
    IncompleteWriteError,
    InputError,
    SalesforceLimitError,
    UnsafeUrlError,
)
from intacct_sync.salesforce import SalesforceClient, children
from tests.test_salesforce_client import (
    INSTANCE,
    TOKEN,
    FakeOrg,
    Sleeps,
    V,
    client,
    echo_collection,
    jresp,
    opp,
    token_endpoint,
)


@pytest.fixture
def org() -> FakeOrg:
    return FakeOrg()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


# ----------------------------------------------------------------------------- outcome contract


def test_every_write_returns_the_outcome_contract(org: FakeOrg) -> None:
    org.on("POST", f"{V}/composite/sobjects", echo_collection)
    org.on("PATCH", f"{V}/composite/sobjects", echo_collection)
    org.on("PATCH", f"{V}/composite/sobjects/Account/Ext__c", echo_collection)
    org.on(
        "DELETE",
        f"{V}/composite/sobjects",
        lambda r: jresp(
            [
                {"id": i, "success": True, "errors": []}
                for i in parse_qs(urlsplit(r.url).query)["ids"][0].split(",")
            ]
        ),
    )
    sf = client(org)
    expected = [*outcomes.OUTCOME_COLUMNS, "created", "fields"]
    created = sf.create("Account", [{"Name": "n1"}, {"Name": "bad"}], keys=["K-1", "K-2"])
    updated = sf.update("Account", [{"Id": "001000000000000007", "Name": "n"}])
    upserted = sf.upsert("Account", [{"Ext__c": "E-9", "Name": "new"}], external_id_field="Ext__c")
    deleted = sf.delete("Account", ["001000000000000001"])
    for frame in (created, updated, upserted, deleted):
        assert list(frame.columns) == expected
        assert set(frame["status"]) <= set(outcomes.STATUSES)
        assert frame["done"].tolist() == frame["status"].isin(outcomes.DONE_STATUSES).tolist()
    # key is the caller's: keys= for a create, the Id for update/delete, the external id value
    assert created["key"].tolist() == ["K-1", "K-2"]
    assert created["status"].tolist() == ["created", "failed"]
    assert created["done"].tolist() == [True, False]
    assert updated["key"].tolist() == ["001000000000000007"]
    assert upserted["key"].tolist() == ["E-9"] and upserted["status"].tolist() == ["created"]
    assert deleted["key"].tolist() == ["001000000000000001"]
    assert sf.create("Account", [{"Name": "n"}])["key"].isna().all()


def test_keys_must_match_the_records(org: FakeOrg) -> None:
    sf = client(org)
    with pytest.raises(InputError, match="one key per record"):
        sf.create("Account", [{"Name": "a"}, {"Name": "b"}], keys=["only one"])
    with pytest.raises(InputError, match="not a string"):
        sf.create("Account", [{"Name": "a"}, {"Name": "b"}], keys="ab")
    assert org.transport.requests == []


def test_old_call_forms_still_work_and_warn(org: FakeOrg) -> None:
    org.on("PATCH", f"{V}/composite/sobjects/Account/Ext__c", echo_collection)
    org.on(
        "DELETE",
        f"{V}/composite/sobjects",
        lambda r: jresp([{"id": "001000000000000001", "success": True, "errors": []}]),
    )
    sf = client(org)
    with pytest.deprecated_call():
        upserted = sf.upsert(
            "Account", external_id_field="Ext__c", records=[{"Ext__c": "1", "Name": "new"}]
        )
    assert upserted["status"].tolist() == ["created"] and upserted["key"].tolist() == ["1"]
    with pytest.deprecated_call():
        deleted = sf.delete(["001000000000000001"])
    assert deleted["status"].tolist() == ["deleted"]
    with pytest.deprecated_call(), pytest.raises(InputError, match="needs the object"):
        sf.delete(["001000000000000001"], use_bulk=True)
    with pytest.raises(TypeError):
        sf.upsert("Account", external_id_field="Ext__c", rows=[{"Ext__c": "1"}])


# ----------------------------------------------------------------------------- children


def line(n: int) -> dict[str, Any]:
    return {"attributes": {"type": "OpportunityLineItem"}, "Id": f"00k{n:015d}", "Quantity": n}


def nested(*lines: dict[str, Any]) -> dict[str, Any]:
    return {"totalSize": len(lines), "done": True, "records": list(lines)}


def opportunities_with_lines(org: FakeOrg) -> pd.DataFrame:
    records = [
        opp(1, Amount=300, OpportunityLineItems=nested(line(11), line(12))),
        opp(2, Amount=100, OpportunityLineItems=None),
        opp(3, Amount=200, OpportunityLineItems=nested(line(31))),
        opp(4, Amount=400, OpportunityLineItems=nested(line(41), line(42), line(43))),
    ]
    org.on("GET", f"{V}/query", jresp({"totalSize": 4, "done": True, "records": records}))
    return client(org).query(
        "SELECT Id, Amount, (SELECT Id, Quantity FROM OpportunityLineItems) FROM Opportunity"
    )


def parent_of(line_id: str) -> str:
    # Line 00k...0NM belongs to opportunity N: the fixture's own truth, not the client's.
    return f"006{int(line_id[3:]) // 10:015d}"


@pytest.mark.parametrize(
    "derive",
    [
        lambda f: f.sort_values("Amount", ascending=False),
        lambda f: f[f["Amount"] > 150],
        lambda f: f.head(2),
        lambda f: f.sort_values("Amount").reset_index(drop=True).iloc[1:],
    ],
    ids=["sort_values", "mask", "head", "sort-reset-slice"],
)
def test_children_join_to_the_right_parent_after_sort_filter_head(
    org: FakeOrg, derive: Any
) -> None:
    frame = opportunities_with_lines(org)
    derived = derive(frame)
    lines = derived.attrs["children"]["OpportunityLineItems"]
    assert lines.columns[0] == "parent_id" and str(lines["parent_id"].dtype) == "string"
    joined = lines.merge(derived[["Id", "Amount"]], left_on="parent_id", right_on="Id")
    assert len(joined) > 0
    assert all(parent_of(c) == p for c, p in zip(joined["Id_x"], joined["Id_y"], strict=True))
    # the accessor: exactly the children of the parents still present, in their order
    mine = children(derived, "OpportunityLineItems")
    assert set(mine["parent_id"]) == set(derived["Id"]) - {"006000000000000002"}
    assert all(parent_of(c) == p for c, p in zip(mine["Id"], mine["parent_id"], strict=True))
    order = list(dict.fromkeys(mine["parent_id"]))
    assert order == [i for i in derived["Id"] if i in set(order)]


def test_children_accessor_without_attrs_says_so(org: FakeOrg) -> None:
    frame = opportunities_with_lines(org)
    rebuilt = pd.DataFrame(frame.to_dict("records"))
    with pytest.raises(KeyError, match="no child frames"):
        children(rebuilt, "OpportunityLineItems")
    assert len(children(frame, "opportunitylineitems")) == 6  # relationship names: any case


# ----------------------------------------------------------------------------- pinned URLs

FOREIGN_LOCATORS = [
    "https://evil.example.com/services/data/v62.0/query/01g-2",
    "//evil.example.com/services/data/v62.0/query/01g-2",
    "https://evil\\@acme.my.salesforce.com/services/data/v62.0/query/01g-2",
    "https://acme.my.salesforce.com@evil.example.com/services/data/v62.0/query/01g-2",
    "http://acme.my.salesforce.com/services/data/v62.0/query/01g-2",
    "https://acme.my.salesforce.com:8443/services/data/v62.0/query/01g-2",
    "https://acme.my.salesforce.com.evil.example.com/services/data/v62.0/query/01g-2",
]


@pytest.mark.parametrize("locator", FOREIGN_LOCATORS)
def test_next_records_url_elsewhere_is_refused_before_sending(org: FakeOrg, locator: str) -> None:
    page = {"totalSize": 4, "done": False, "nextRecordsUrl": locator, "records": [opp(1)]}
    org.on("GET", f"{V}/query", jresp(page))
    with pytest.raises(UnsafeUrlError):
        client(org).query("SELECT Id FROM Opportunity")
    hosts = {urlsplit(r.url).netloc for r in org.transport.requests}
    assert hosts == {"acme.my.salesforce.com"}
    assert len(org.calls("GET", f"{V}/query.*")) == 1  # the read is not silently cut short


def test_same_origin_next_records_url_is_followed(org: FakeOrg) -> None:
    page1 = {
        "totalSize": 2,
        "done": False,
        "nextRecordsUrl": f"{INSTANCE}{V}/query/01g-2",
        "records": [opp(1)],
    }
    org.on("GET", f"{V}/query", jresp(page1))
    org.on("GET", f"{V}/query/01g-2", jresp({"totalSize": 2, "done": True, "records": [opp(2)]}))
    assert len(client(org).query("SELECT Id FROM Opportunity")) == 2


@pytest.mark.parametrize(
    "returned",
    [
        "http://acme.my.salesforce.com",
        "https://evil.example.com",
        "https://evil\\@acme.my.salesforce.com",
        "https://acme.my.salesforce.com:444",
    ],
)
def test_token_answer_instance_url_is_pinned(org: FakeOrg, returned: str) -> None:
    org.on("POST", "/services/oauth2/token", token_endpoint(["00Dx!PINNED_SECRET"], returned))
    sf = SalesforceClient.client_credentials(
        instance_url=INSTANCE, client_id="cid", client_secret="s", transport=org.transport
    )
    with pytest.raises(UnsafeUrlError):
        sf.query("SELECT Id FROM Account")
    assert [urlsplit(r.url).path for r in org.transport.requests] == ["/services/oauth2/token"]
    assert sf.instance_url == INSTANCE


@pytest.mark.parametrize(
    "url",
    [
        "http://acme.my.salesforce.com",
        "https://user:pw@acme.my.salesforce.com",
        "https://acme.my.salesforce.com:8443",
        "https://evil\\@acme.my.salesforce.com",
    ],
)
def test_configured_instance_must_be_safe(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        SalesforceClient(url, TOKEN)
    assert "pw" not in str(info.value)


def test_loopback_sandbox_may_use_http() -> None:
    sf = SalesforceClient("http://127.0.0.1:8123", TOKEN)
    assert sf.instance_url == "http://127.0.0.1:8123"


# ----------------------------------------------------------------------------- limits


def daily_limit(used: int = 15000) -> HttpResponse:
    return jresp(
        [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
        403,
        {"Sforce-Limit-Info": f"api-usage={used}/15000"},
    )


def test_daily_limit_stops_at_once(org: FakeOrg, sleeps: Sleeps) -> None:
    org.on("GET", f"{V}/query", daily_limit())
    sf = client(org, sleeps)
    with pytest.raises(SalesforceLimitError) as info:
        sf.query("SELECT Id FROM Account")
    assert len(org.calls("GET", f"{V}/query")) == 1 and sleeps.waits == []
    assert (info.value.used, info.value.allowed) == (15000, 15000)
    assert "15,000 of 15,000" in "".join(info.value.__notes__)
    assert sf.api_usage is not None and sf.api_usage.remaining == 0


def test_daily_limit_mid_write_says_what_was_done_and_what_remains(
    org: FakeOrg, sleeps: Sleeps
) -> None:
    calls: list[int] = []

    def handler(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        return daily_limit() if len(calls) == 2 else echo_collection(request)

    org.on("POST", f"{V}/composite/sobjects", handler)
    with pytest.raises(IncompleteWriteError) as info:
        client(org, sleeps).create("Account", [{"Name": f"n{i}"} for i in range(500)])
    frame = info.value.outcomes
    assert frame["status"].value_counts().to_dict() == {
        "created": 200,
        "failed": 200,
        "not_sent": 100,
    }
    assert set(frame.loc[frame["status"] == "failed", "error_codes"]) == {"REQUEST_LIMIT_EXCEEDED"}
    assert isinstance(info.value.__cause__, SalesforceLimitError)
    message = str(info.value)
    assert "200 done" in message and "100 not_sent" in message and "Rerun" in message
    assert len(calls) == 2 and sleeps.waits == []  # nothing after the refusal, no retries


def test_concurrency_limit_is_retried(org: FakeOrg, sleeps: Sleeps) -> None:
    busy = jresp(
        [
            {
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
                "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
            }
        ],
        403,
    )
    answers = [busy, jresp({"totalSize": 0, "done": True, "records": []})]
    org.on("GET", f"{V}/query", lambda r: answers.pop(0))
    assert client(org, sleeps).query("SELECT Id FROM Account").empty
    assert len(sleeps.waits) == 1


# ----------------------------------------------------------------------------- Bulk recovery


class _DropUploadComplete:
    """A transport that switches the sandbox's drop-after-commit fault on for one request: the
    Bulk ``UploadComplete`` PATCH. The sandbox commits it, then drops the connection."""

    def __init__(self, inner: Transport, shared_sb: sandbox.Sandbox) -> None:
        self.inner, self.shared_sb, self.dropped = inner, shared_sb, 0

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        closing = request.method == "PATCH" and b"UploadComplete" in (request.body or b"")
        if closing and not self.dropped:
            self.dropped += 1
            self.shared_sb.salesforce.faults.drop_after_commit_rate = 1.0
        try:
            return self.inner.send(request, timeout=timeout)
        finally:
            self.shared_sb.salesforce.faults.drop_after_commit_rate = 0.0

    def close(self) -> None:
        self.inner.close()


def test_lost_upload_complete_answer_is_settled_by_the_job_state(
    shared_sb: sandbox.Sandbox,
) -> None:
    from intacct_sync._http.transport import RequestsTransport

    inner = RequestsTransport()
    dropping = _DropUploadComplete(inner, shared_sb)
    records = pd.DataFrame(
        {
            "Name": [f"Drop {i}" for i in range(4)],
            "Intacct_Customer_ID__c": [f"DRP-{i}" for i in range(4)],
        }
    )
    with shared_sb.salesforce_client(transport=dropping, sleep=lambda s: None) as sf:
        out = sf.upsert(
            "Account", records, external_id_field="Intacct_Customer_ID__c", use_bulk=True
        )
        assert dropping.dropped == 1
        assert out["status"].tolist() == ["created"] * 4 and out["done"].all()
        assert out["key"].tolist() == [f"DRP-{i}" for i in range(4)]
        back = sf.query("SELECT Id FROM Account WHERE Intacct_Customer_ID__c LIKE 'DRP-%'")
        assert len(back) == 4  # in the books exactly once
    inner.close()
    patches = [
        r
        for r in shared_sb.salesforce.request_log
        if r.method == "PATCH" and "jobs/ingest" in r.path
    ]
    assert len(patches) == 1  # the close was not sent again: the job's state said it happened


def test_the_client_takes_the_shared_client_options(org: FakeOrg) -> None:
    from intacct_sync._http.base import ClientBase
    from intacct_sync._http.transport import Timeout as TimeoutType

    closed: list[bool] = []

    class Owned:
        def send(self, request: HttpRequest, *, timeout: TimeoutType) -> HttpResponse:
            return org.transport.send(request, timeout=timeout)

        def close(self) -> None:
            closed.append(True)

    with SalesforceClient(INSTANCE, TOKEN, transport=Owned()) as sf:
        assert isinstance(sf, ClientBase)
    assert closed == []  # a transport passed in stays the caller's to close


def test_a_lost_answer_to_a_locked_row_resend_leaves_the_saved_rows_done(
    org: FakeOrg, sleeps: Sleeps
) -> None:
    from intacct_sync.errors import TransportError

    attempts: list[list[str]] = []

    def handler(request: HttpRequest) -> HttpResponse:
        names = [r["Name"] for r in json.loads(request.body or b"")["records"]]
        attempts.append(names)
        if len(attempts) == 2:
            raise TransportError("connection reset", request_sent=True)
        locked = {
            "success": False,
            "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "x"}],
        }
        return jresp(
            [
                locked if n == "b" else {"id": f"001{i:015d}", "success": True, "errors": []}
                for i, n in enumerate(names)
            ]
        )

    org.on("POST", f"{V}/composite/sobjects", handler)
    with pytest.raises(IncompleteWriteError) as info:
        client(org, sleeps).create("Account", [{"Name": n} for n in "abc"])
    assert attempts == [["a", "b", "c"], ["b"]]
    assert info.value.outcomes["status"].tolist() == ["created", "unknown", "created"]


def test_a_failed_token_request_sends_nothing_and_says_not_sent(
    org: FakeOrg, sleeps: Sleeps
) -> None:
    from intacct_sync.errors import TransportError

    def refuse(request: HttpRequest) -> HttpResponse:
        raise TransportError("connection refused", request_sent=False)

    org.on("POST", "/services/oauth2/token", refuse)
    sf = SalesforceClient.client_credentials(
        instance_url=INSTANCE,
        client_id="c",
        client_secret="s",
        transport=org.transport,
        sleep=sleeps,
    )
    with pytest.raises(IncompleteWriteError) as info:
        sf.create("Account", [{"Name": "a"}, {"Name": "b"}])
    assert info.value.outcomes["status"].tolist() == ["not_sent", "not_sent"]
    assert org.calls("POST", f"{V}/composite/sobjects") == []

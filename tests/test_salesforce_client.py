"""SalesforceClient over MockTransport: paging, children, typing, writes, retries, auth, bulk."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pandas as pd
import pytest

from intacct_sync._http.retry import RetryPolicy
from intacct_sync._http.transport import HttpRequest, HttpResponse
from intacct_sync.errors import (
    ConfigError,
    IncompleteWriteError,
    InputError,
    ProtocolError,
    SalesforceAuthenticationError,
    SalesforceError,
    TransportError,
)
from intacct_sync.salesforce import BULK_THRESHOLD, SalesforceClient, soql
from intacct_sync.salesforce.models import ApiUsage
from intacct_sync.testing import MockTransport

CONFORMANCE = Path(__file__).parents[1].parent / "shared" / "conformance" / "salesforce"
INSTANCE = "https://acme.my.salesforce.com"
TOKEN = "00Dx0000000BV7z!SECRET_TOKEN_VALUE_1"
V = "/services/data/v62.0"

Handler = Callable[[HttpRequest], HttpResponse]


def jresp(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def raw_json(text: str, status: int = 200) -> HttpResponse:
    return HttpResponse(status=status, body=text.encode(), headers={})


OPPORTUNITY = json.loads((CONFORMANCE / "describe_opportunity_excerpt.json").read_text())
LINE_ITEM = {
    "name": "OpportunityLineItem",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Quantity", "type": "double", "scale": 2},
        {"name": "UnitPrice", "type": "currency", "scale": 2},
        {
            "name": "PricebookEntryId",
            "type": "reference",
            "relationshipName": "PricebookEntry",
            "referenceTo": ["PricebookEntry"],
        },
    ],
}
ACCOUNT = {
    "name": "Account",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Name", "type": "string"},
        {"name": "AnnualRevenue", "type": "currency", "scale": 2},
        {"name": "NumberOfEmployees", "type": "int"},
    ],
}
OPPORTUNITY_WITH_ACCOUNT = {
    **OPPORTUNITY,
    "fields": OPPORTUNITY["fields"],
}


class FakeOrg:
    """Routes requests to handlers by method and path regex; counts describes."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.describes: dict[str, dict[str, Any]] = {
            "opportunity": OPPORTUNITY,
            "opportunitylineitem": LINE_ITEM,
            "account": ACCOUNT,
        }
        self.describe_calls: list[str] = []
        self.transport = MockTransport(self.handle)

    def on(self, method: str, path: str, handler: Handler | HttpResponse) -> None:
        fn = handler if callable(handler) else (lambda _r, h=handler: h)
        self.routes.insert(0, (method, re.compile(path), fn))

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = urlsplit(request.url).path
        match = re.fullmatch(rf"{V}/sobjects/(\w+)/describe", path)
        if request.method == "GET" and match:
            self.describe_calls.append(match.group(1))
            data = self.describes.get(match.group(1).lower())
            if data is None:
                return jresp([{"errorCode": "NOT_FOUND", "message": "nope"}], 404)
            return jresp(data)
        for method, pattern, fn in self.routes:
            if method == request.method and pattern.fullmatch(path):
                return fn(request)
        raise AssertionError(f"unexpected {request.method} {request.url}")

    def calls(self, method: str, pattern: str) -> list[HttpRequest]:
        return [
            r
            for r in self.transport.requests
            if r.method == method and re.fullmatch(pattern, urlsplit(r.url).path)
        ]


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def org() -> FakeOrg:
    return FakeOrg()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def client(org: FakeOrg, sleeps: Sleeps | None = None, **options: Any) -> SalesforceClient:
    return SalesforceClient(
        INSTANCE, TOKEN, transport=org.transport, sleep=sleeps or Sleeps(), **options
    )


def soql_of(request: HttpRequest) -> str:
    return parse_qs(urlsplit(request.url).query)["q"][0]


def opp(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "attributes": {"type": "Opportunity", "url": f"{V}/sobjects/Opportunity/006{i:015d}"},
        "Id": f"006{i:015d}",
        **extra,
    }


# ----------------------------------------------------------------------------- query


def test_query_follows_next_records_url_and_types_from_describe(org: FakeOrg) -> None:
    page1 = {
        "totalSize": 3,
        "done": False,
        "nextRecordsUrl": f"{V}/query/01gX-2",
        "records": [
            opp(
                1,
                Amount=1300,
                CloseDate="2024-01-31",
                IsWon=True,
                Probability=100,
                CreatedDate="2024-01-02T03:04:05.000+0000",
                Account={"attributes": {}, "Name": "A"},
            ),
            opp(
                2,
                Amount=23.10,
                CloseDate=None,
                IsWon=False,
                Probability=33.5,
                CreatedDate=None,
                Account=None,
            ),
        ],
    }
    page2 = {
        "totalSize": 3,
        "done": True,
        "records": [
            opp(
                3,
                Amount=None,
                CloseDate="2023-12-01",
                IsWon=True,
                Probability=None,
                CreatedDate="2023-12-01T00:00:00.000+0000",
                Account={"attributes": {}, "Name": "C"},
            ),
        ],
    }
    org.describes["account"] = ACCOUNT
    org.on("GET", f"{V}/query", lambda r: raw_json(json.dumps(page1).replace("23.1", "23.10")))
    org.on("GET", f"{V}/query/01gX-2", jresp(page2))
    sf = client(org)
    query = "SELECT Id, Amount, CloseDate, IsWon, Probability, CreatedDate, Account.Name FROM Opportunity"
    pages = list(sf.iter_query(query))
    assert [len(p) for p in pages] == [2, 1]
    assert [list(p.dtypes.astype(str)) for p in pages] == [
        ["string", "object", "datetime64[us]", "boolean", "object", "datetime64[us, UTC]", "string"]
    ] * 2
    frame = sf.query(query)
    assert frame["Amount"].tolist()[:2] == [Decimal(1300), Decimal("23.10")]
    assert all(isinstance(v, Decimal) for v in frame["Amount"].dropna())
    assert frame["Probability"].tolist()[:2] == [Decimal(100), Decimal("33.5")]
    assert frame["Account.Name"].tolist()[0] == "A" and pd.isna(frame["Account.Name"][1])
    assert frame.loc[0, "CreatedDate"] == pd.Timestamp("2024-01-02T03:04:05Z")
    assert frame.attrs["total_size"] == 3
    # describe is cached per client: Opportunity and Account once each for two queries
    assert sorted(org.describe_calls) == ["Account", "Opportunity"]
    assert "q=" in org.transport.requests[-2].url and "%20" in org.transport.requests[-2].url


def test_query_all_uses_queryall_and_batch_size_header(org: FakeOrg) -> None:
    org.on("GET", f"{V}/queryAll", jresp({"totalSize": 0, "done": True, "records": []}))
    sf = client(org, batch_size=500)
    frame = sf.query_all("SELECT Id, Amount FROM Opportunity WHERE IsDeleted = true")
    assert list(frame.columns) == ["Id", "Amount"] and len(frame) == 0
    request = org.calls("GET", f"{V}/queryAll")[0]
    assert request.headers["Sforce-Query-Options"] == "batchSize=500"


def test_empty_result_keeps_columns_dtypes_and_children(org: FakeOrg) -> None:
    org.on("GET", f"{V}/query", jresp({"totalSize": 0, "done": True, "records": []}))
    frame = client(org).query(
        "SELECT Id, Amount, CloseDate, Account.Name, "
        "(SELECT Id, Quantity, UnitPrice FROM OpportunityLineItems) FROM Opportunity"
    )
    assert list(frame.columns) == ["Id", "Amount", "CloseDate", "Account.Name"]
    assert list(frame.dtypes.astype(str)) == ["string", "object", "datetime64[us]", "string"]
    lines = frame.attrs["children"]["OpportunityLineItems"]
    assert list(lines.columns) == ["parent_id", "Id", "Quantity", "UnitPrice"] and lines.empty


def test_null_parents_still_give_their_columns(org: FakeOrg) -> None:
    records = [opp(1, Account=None, Owner=None), opp(2, Account=None, Owner=None)]
    org.on("GET", f"{V}/query", jresp({"totalSize": 2, "done": True, "records": records}))
    frame = client(org).query(
        "SELECT Id, Account.Name, Account.Owner.Name, Owner.Name FROM Opportunity"
    )
    assert list(frame.columns) == ["Id", "Account.Name", "Account.Owner.Name", "Owner.Name"]
    assert frame["Account.Name"].isna().all() and str(frame["Account.Name"].dtype) == "string"


def test_two_fields_of_one_parent_and_nested_parents(org: FakeOrg) -> None:
    records = [
        opp(
            1,
            CreatedBy={"attributes": {"type": "User"}, "Name": "Ann"},
            LastModifiedBy={"attributes": {"type": "User"}, "Name": "Bob"},
            Account={"attributes": {}, "Name": "A", "Owner": {"attributes": {}, "Name": "Cy"}},
        )
    ]
    org.on("GET", f"{V}/query", jresp({"totalSize": 1, "done": True, "records": records}))
    frame = client(org).query(
        "SELECT Id, CreatedBy.Name, LastModifiedBy.Name, Account.Name, Account.Owner.Name "
        "FROM Opportunity"
    )
    assert frame.iloc[0].to_dict() == {
        "Id": "006000000000000001",
        "CreatedBy.Name": "Ann",
        "LastModifiedBy.Name": "Bob",
        "Account.Name": "A",
        "Account.Owner.Name": "Cy",
    }


def test_paged_child_subquery_is_read_before_the_next_parent_page(org: FakeOrg) -> None:
    def line(n: int, price: Any) -> dict[str, Any]:
        return {
            "attributes": {"type": "OpportunityLineItem"},
            "Id": f"00k{n:015d}",
            "Quantity": 1,
            "UnitPrice": price,
        }

    page1 = {
        "totalSize": 2,
        "done": False,
        "nextRecordsUrl": f"{V}/query/01gP-1",
        "records": [
            opp(
                1,
                OpportunityLineItems={
                    "totalSize": 3,
                    "done": False,
                    "nextRecordsUrl": f"{V}/query/01gC-2",
                    "records": [line(1, 10), line(2, 10.5)],
                },
            ),
        ],
    }
    child2 = {"totalSize": 3, "done": True, "records": [line(3, 0)]}
    page2 = {"totalSize": 2, "done": True, "records": [opp(2, OpportunityLineItems=None)]}
    org.on("GET", f"{V}/query", jresp(page1))
    org.on("GET", f"{V}/query/01gC-2", jresp(child2))
    org.on("GET", f"{V}/query/01gP-1", jresp(page2))
    frame = client(org).query(
        "SELECT Id, (SELECT Id, Quantity, UnitPrice FROM OpportunityLineItems) FROM Opportunity"
    )
    lines = frame.attrs["children"]["OpportunityLineItems"]
    assert lines["parent_id"].tolist() == ["006000000000000001"] * 3
    assert lines["UnitPrice"].tolist() == [Decimal(10), Decimal("10.5"), Decimal(0)]
    paths = [urlsplit(r.url).path for r in org.transport.requests if "describe" not in r.url]
    assert paths == [f"{V}/query", f"{V}/query/01gC-2", f"{V}/query/01gP-1"]
    assert list(frame["Id"]) == ["006000000000000001", "006000000000000002"]
    # the children mapping is shared, not deep-copied, by pandas operations
    assert frame.head(1).attrs["children"] is frame.attrs["children"]


def test_aggregate_and_count_queries(org: FakeOrg) -> None:
    org.on(
        "GET",
        f"{V}/query",
        lambda r: jresp(
            {"totalSize": 42, "done": True, "records": []}
            if "COUNT()" in soql_of(r)
            else {
                "totalSize": 2,
                "done": True,
                "records": [
                    {
                        "attributes": {"type": "AggregateResult"},
                        "StageName": "Won",
                        "total": 10.5,
                        "expr0": 3,
                    },
                    {
                        "attributes": {"type": "AggregateResult"},
                        "StageName": "Lost",
                        "total": 7,
                        "expr0": 1,
                    },
                ],
            }
        ),
    )
    sf = client(org)
    assert sf.query("SELECT COUNT() FROM Opportunity")["count"].tolist() == [42]
    frame = sf.query(
        "SELECT StageName, SUM(Amount) total, COUNT(Id) FROM Opportunity GROUP BY StageName"
    )
    assert list(frame.columns) == ["StageName", "total", "expr0"]
    assert frame["total"].tolist() == [Decimal("10.5"), Decimal(7)]
    assert str(frame["expr0"].dtype) == "Int64"


def test_unparsable_select_falls_back_to_record_columns(org: FakeOrg) -> None:
    records = [opp(1, Name="X", Amount=5)]
    org.on("GET", f"{V}/query", jresp({"totalSize": 1, "done": True, "records": records}))
    frame = client(org).query(
        "SELECT Id, Name, DISTANCE(Loc__c, GEOLOCATION(1,2), 'mi') FROM Opportunity"
    )
    assert list(frame.columns) == ["Id", "Name", "Amount"]


# ----------------------------------------------------------------------------- errors


def test_query_errors_are_typed(org: FakeOrg) -> None:
    org.on(
        "GET",
        f"{V}/query",
        raw_json((CONFORMANCE / "error_400_malformed_query.json").read_text(), 400),
    )
    with pytest.raises(SalesforceError) as info:
        client(org).query("SELEKT Name FROM Account")
    assert (info.value.error_code, info.value.http_status) == ("MALFORMED_QUERY", 400)


def test_html_and_truncated_bodies_are_protocol_errors(org: FakeOrg) -> None:
    org.on("GET", f"{V}/query", HttpResponse(status=200, body=b'{"totalSize": 3, "done": fa'))
    with pytest.raises(ProtocolError) as info:
        client(org).query("SELECT Id FROM Account")
    assert '{"totalSize": 3' in str(info.value)
    org.on(
        "GET", f"{V}/query", HttpResponse(status=502, body=b"<html><body>Bad gateway</body></html>")
    )
    with pytest.raises(ProtocolError) as info:
        client(org, retry=RetryPolicy(max_retries=0)).query("SELECT Id FROM Account")
    assert "<html><body>Bad gateway" in str(info.value) and info.value.should_retry


@pytest.mark.parametrize(
    "failure",
    [
        jresp(
            [
                {
                    "errorCode": "REQUEST_LIMIT_EXCEEDED",
                    "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                }
            ],
            403,
        ),
        jresp([{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}], 503),
        HttpResponse(status=503, body=b""),
        jresp([{"errorCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}], 400),
    ],
)
def test_throttling_and_outages_are_retried_with_backoff(
    org: FakeOrg, sleeps: Sleeps, failure: HttpResponse
) -> None:
    answers = [failure, failure, jresp({"totalSize": 0, "done": True, "records": []})]
    org.on("GET", f"{V}/query", lambda r: answers.pop(0))
    frame = client(org, sleeps).query("SELECT Id FROM Account")
    assert frame.empty and answers == []
    assert len(sleeps.waits) == 2


def test_retry_gives_up_after_the_policy(org: FakeOrg, sleeps: Sleeps) -> None:
    org.on(
        "GET",
        f"{V}/query",
        jresp(
            [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "ConcurrentRequests exceeded"}],
            403,
            {"Retry-After": "7"},
        ),
    )
    with pytest.raises(SalesforceError) as info:
        client(org, sleeps, retry=RetryPolicy(max_retries=2, jitter=False)).query(
            "SELECT Id FROM Account"
        )
    assert info.value.error_code == "REQUEST_LIMIT_EXCEEDED" and info.value.http_status == 403
    assert sleeps.waits == [7.0, 7.0]  # Retry-After honoured


def test_api_usage_and_limits(org: FakeOrg) -> None:
    org.on("GET", f"{V}/limits", lambda r: raw_json((CONFORMANCE / "limits.json").read_text()))
    org.on(
        "GET",
        f"{V}/query",
        jresp(
            {"totalSize": 0, "done": True, "records": []},
            headers={"Sforce-Limit-Info": "api-usage=16/100000"},
        ),
    )
    sf = client(org)
    assert sf.api_usage is None
    sf.query("SELECT Id FROM Account")
    usage: ApiUsage | None = sf.api_usage
    assert usage == ApiUsage(used=16, limit=100000)
    assert usage.remaining == 99984
    limits = sf.limits()
    row = limits[limits["Name"] == "DailyApiRequests"].iloc[0]
    assert (row["Max"], row["Remaining"], row["Used"]) == (15000, 14998, 2)


# ----------------------------------------------------------------------------- writes


def echo_collection(request: HttpRequest) -> HttpResponse:
    body = json.loads(request.body or b"{}")
    results = []
    for i, record in enumerate(body["records"]):
        if record.get("Name") == "bad":
            results.append(
                {
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "REQUIRED_FIELD_MISSING",
                            "message": "Required fields are missing: [X]",
                            "fields": ["X"],
                        }
                    ],
                }
            )
        else:
            results.append(
                {
                    "id": f"001{i:015d}",
                    "success": True,
                    "errors": [],
                    "created": record.get("Name", "").startswith("new"),
                }
            )
    return jresp(results)


def test_create_chunks_by_200_and_keeps_input_order(org: FakeOrg) -> None:
    org.on("POST", f"{V}/composite/sobjects", echo_collection)
    records = [{"Name": "bad" if i in (5, 420) else f"n{i}"} for i in range(450)]
    outcomes = client(org).create("Account", records)
    calls = org.calls("POST", f"{V}/composite/sobjects")
    assert [len(json.loads(c.body or b"")["records"]) for c in calls] == [200, 200, 50]
    assert json.loads(calls[0].body or b"")["allOrNone"] is False
    assert json.loads(calls[0].body or b"")["records"][0]["attributes"] == {"type": "Account"}
    assert outcomes["row"].tolist() == list(range(450))
    assert list(outcomes.columns) == [
        "row",
        "key",
        "id",
        "status",
        "done",
        "errors",
        "error_codes",
        "created",
        "fields",
    ]
    failed = outcomes[outcomes["status"] == "failed"]
    assert failed["row"].tolist() == [5, 420]
    assert failed["error_codes"].tolist() == ["REQUIRED_FIELD_MISSING"] * 2
    assert failed["fields"].tolist() == ["X", "X"]
    assert (outcomes["status"] == "created").sum() == 448


def test_all_or_none_is_selectable(org: FakeOrg) -> None:
    org.on(
        "POST",
        f"{V}/composite/sobjects",
        raw_json((CONFORMANCE / "collections_create_allornone_rolled_back.json").read_text()),
    )
    outcomes = client(org).create(
        "Contact", [{"LastName": "a"}, {"LastName": "b"}], all_or_none=True
    )
    assert json.loads(org.transport.requests[0].body or b"")["allOrNone"] is True
    assert outcomes["status"].tolist() == ["failed", "aborted"]


def test_values_are_sent_exactly(org: FakeOrg) -> None:
    org.on("POST", f"{V}/composite/sobjects", echo_collection)
    frame = pd.DataFrame(
        {
            "Name": pd.array(["new a", "new b"], dtype="string"),
            "Amount": pd.array([Decimal("1234.10"), None], dtype=object),
            "CloseDate": pd.to_datetime(pd.Series(["2024-01-31", None])),
            "When__c": pd.to_datetime(pd.Series(["2024-01-31T10:00:00Z", None]), utc=True),
            "Count__c": pd.array([3, None], dtype="Int64"),
            "Flag__c": pd.array([True, None], dtype="boolean"),
        }
    )
    client(org).create("Opportunity", frame)
    body = (org.transport.requests[0].body or b"").decode()
    assert '"Amount":1234.10' in body  # a JSON number with the exact digits
    sent = json.loads(body)["records"]
    assert sent[0] == {
        "attributes": {"type": "Opportunity"},
        "Name": "new a",
        "Amount": 1234.1,
        "CloseDate": "2024-01-31",
        "When__c": "2024-01-31T10:00:00.000Z",
        "Count__c": 3,
        "Flag__c": True,
    }
    assert sent[1] == {"attributes": {"type": "Opportunity"}, "Name": "new b"}  # NA omitted


def test_dict_none_clears_and_nan_is_omitted(org: FakeOrg) -> None:
    org.on("PATCH", f"{V}/composite/sobjects", echo_collection)
    client(org).update(
        "Account", [{"Id": "001000000000000001", "Phone": None, "Fax": float("nan")}]
    )
    sent = json.loads(org.transport.requests[0].body or b"")["records"][0]
    assert sent == {"attributes": {"type": "Account"}, "Id": "001000000000000001", "Phone": None}


def test_bad_values_are_input_errors(org: FakeOrg) -> None:
    sf = client(org)
    with pytest.raises(InputError, match="NaN"):
        sf.create("Account", [{"AnnualRevenue": Decimal("NaN")}])
    with pytest.raises(InputError, match="Id"):
        sf.update("Account", [{"Name": "x"}])
    with pytest.raises(InputError, match="external id"):
        sf.upsert("Account", [{"Name": "x"}], external_id_field="Ext__c")
    with pytest.raises(InputError, match="record id"):
        sf.delete("Account", ["001'; x"])
    assert org.transport.requests == []


def test_upsert_by_external_id_reports_created(org: FakeOrg) -> None:
    org.on(
        "PATCH",
        f"{V}/composite/sobjects/Contact/Email",
        raw_json((CONFORMANCE / "collections_upsert_created_mixed.json").read_text()),
    )
    outcomes = client(org).upsert(
        "Contact",
        [{"Email": f"{c}@example.com", "LastName": c} for c in "abcd"],
        external_id_field="Email",
    )
    assert outcomes["status"].tolist() == ["updated", "updated", "updated", "created"]
    assert outcomes["created"].tolist() == [False, False, False, True]


def test_delete_sends_ids(org: FakeOrg) -> None:
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
    outcomes = client(org).delete(
        "Account", pd.Series(["001000000000000001", "001000000000000002"])
    )
    query = parse_qs(urlsplit(org.transport.requests[0].url).query)
    assert query["allOrNone"] == ["false"]
    assert outcomes["status"].tolist() == ["deleted", "deleted"]


def test_upsert_is_retried_but_create_is_not(org: FakeOrg, sleeps: Sleeps) -> None:
    unavailable = jresp([{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}], 503)
    answers = [unavailable]
    org.on(
        "PATCH",
        f"{V}/composite/sobjects/Account/Ext__c",
        lambda r: answers.pop(0) if answers else echo_collection(r),
    )
    outcomes = client(org, sleeps).upsert("Account", [{"Ext__c": "1"}], external_id_field="Ext__c")
    assert outcomes["done"].tolist() == [True] and len(sleeps.waits) == 1

    org.on("POST", f"{V}/composite/sobjects", unavailable)
    outcomes = client(org, sleeps).create("Account", [{"Name": "x"}])
    # The whole call was refused: reported on the row, never sent twice.
    assert len(org.calls("POST", f"{V}/composite/sobjects")) == 1
    assert outcomes["status"].tolist() == ["failed"]
    assert outcomes["error_codes"].tolist() == ["SERVER_UNAVAILABLE"]


def test_locked_rows_are_resent_alone(org: FakeOrg, sleeps: Sleeps) -> None:
    attempts: list[list[str]] = []

    def handler(request: HttpRequest) -> HttpResponse:
        records = json.loads(request.body or b"")["records"]
        attempts.append([r["Ext__c"] for r in records])
        first = len(attempts) == 1
        return jresp(
            [
                {
                    "success": False,
                    "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}],
                }
                if first and r["Ext__c"] == "b"
                else {
                    "id": f"001{ord(r['Ext__c']):015d}",
                    "success": True,
                    "errors": [],
                    "created": True,
                }
                for r in records
            ]
        )

    org.on("PATCH", f"{V}/composite/sobjects/Account/Ext__c", handler)
    outcomes = client(org, sleeps).upsert(
        "Account", [{"Ext__c": c} for c in "abc"], external_id_field="Ext__c"
    )
    assert attempts == [["a", "b", "c"], ["b"]]
    assert outcomes["status"].tolist() == ["created"] * 3 and len(sleeps.waits) == 1


def test_network_failure_mid_write_says_what_is_known(org: FakeOrg) -> None:
    calls = []

    def handler(request: HttpRequest) -> HttpResponse:
        calls.append(1)
        if len(calls) == 2:
            raise TransportError("connection reset", request_sent=True)
        return echo_collection(request)

    org.on("POST", f"{V}/composite/sobjects", handler)
    with pytest.raises(IncompleteWriteError) as info:
        client(org).create("Account", [{"Name": f"n{i}"} for i in range(500)])
    outcomes = info.value.outcomes
    assert isinstance(outcomes, pd.DataFrame)
    counts = outcomes["status"].value_counts().to_dict()
    assert counts == {"created": 200, "unknown": 200, "not_sent": 100}
    assert len(calls) == 2  # a create is not repeated once it may have arrived


def test_composite_prefixes_urls_and_reports_each_subrequest(org: FakeOrg) -> None:
    org.on(
        "POST",
        f"{V}/composite",
        raw_json((CONFORMANCE / "composite_allornone_processing_halted.json").read_text()),
    )
    result = client(org).composite(
        [
            {
                "method": "POST",
                "url": "sobjects/blng__Payment__c",
                "referenceId": "NewPayment1",
                "body": {"Amount__c": Decimal("10.00")},
            },
            {
                "method": "POST",
                "url": "sobjects/blng__Payment__c",
                "referenceId": "NewPayment2",
                "body": {"Ref__c": "@{NewPayment1.id}"},
            },
        ],
        all_or_none=True,
    )
    sent = json.loads(org.transport.requests[0].body or b"")
    assert sent["allOrNone"] is True
    assert sent["compositeRequest"][0]["url"] == f"{V}/sobjects/blng__Payment__c"
    assert b'"Amount__c":10.00' in (org.transport.requests[0].body or b"")
    assert not result.ok and result["NewPayment1"].rolled_back
    assert result.to_frame()["status"].tolist() == ["aborted", "failed"]
    with pytest.raises(InputError):
        client(org).composite(
            [{"method": "GET", "url": "x", "referenceId": str(i)} for i in range(26)]
        )


def test_updated_and_deleted(org: FakeOrg) -> None:
    import datetime as dt

    org.on(
        "GET",
        f"{V}/sobjects/Contact/updated/",
        raw_json((CONFORMANCE / "sobject_get_updated.json").read_text()),
    )
    org.on(
        "GET",
        f"{V}/sobjects/Contact/deleted/",
        raw_json((CONFORMANCE / "sobject_get_deleted.json").read_text()),
    )
    sf = client(org)
    start, end = dt.datetime(2015, 8, 1, tzinfo=dt.UTC), dt.datetime(2015, 8, 19, tzinfo=dt.UTC)
    assert len(sf.updated("Contact", start=start, end=end)) == 7
    assert "start=2015-08-01T00%3A00%3A00Z" in org.transport.requests[0].url
    deleted = sf.deleted("Contact", start=start, end=end)
    assert deleted.loc[0, "deletedDate"] == pd.Timestamp("2013-05-07T22:07:19Z")


# ----------------------------------------------------------------------------- auth


def token_endpoint(tokens: list[str], instance: str = INSTANCE) -> Handler:
    def handler(request: HttpRequest) -> HttpResponse:
        return jresp(
            {
                "access_token": tokens.pop(0),
                "instance_url": instance,
                "token_type": "Bearer",
                "issued_at": "1",
            }
        )

    return handler


def test_client_credentials_and_one_refresh_on_401(
    org: FakeOrg, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = ["00Dx!FIRST_SECRET", "00Dx!SECOND_SECRET", "00Dx!THIRD_SECRET"]
    org.on("POST", "/services/oauth2/token", token_endpoint(tokens))
    expired = raw_json((CONFORMANCE / "error_401_invalid_session_id.json").read_text(), 401)
    seen: list[str] = []

    def query(request: HttpRequest) -> HttpResponse:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"].endswith("FIRST_SECRET"):
            return expired
        return jresp({"totalSize": 0, "done": True, "records": []})

    org.on("GET", f"{V}/query", query)
    caplog.set_level(logging.DEBUG, logger="intacct_sync")
    sf = SalesforceClient.client_credentials(
        instance_url=INSTANCE,
        client_id="cid",
        client_secret="csecret-VALUE",
        transport=org.transport,
        sleep=Sleeps(),
    )
    sf.query("SELECT Id FROM Account")
    assert seen == ["Bearer 00Dx!FIRST_SECRET", "Bearer 00Dx!SECOND_SECRET"]
    form = parse_qs((org.calls("POST", "/services/oauth2/token")[0].body or b"").decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["cid"],
        "client_secret": ["csecret-VALUE"],
    }
    assert org.calls("POST", "/services/oauth2/token")[0].url == f"{INSTANCE}/services/oauth2/token"
    for secret in ("FIRST_SECRET", "SECOND_SECRET", "csecret-VALUE"):
        assert secret not in caplog.text and secret not in repr(sf) and secret not in str(sf)
    assert "REDACTED" in caplog.text
    # one INFO line per call: token, describe, query (401), token, query
    assert sum("-> HTTP" in r.message for r in caplog.records if r.levelno == logging.INFO) == 5


def test_a_second_401_is_raised_not_looped(org: FakeOrg) -> None:
    org.on("POST", "/services/oauth2/token", token_endpoint(["00Dx!A", "00Dx!B", "00Dx!C"]))
    org.on(
        "GET",
        f"{V}/query",
        raw_json((CONFORMANCE / "error_401_invalid_session_id.json").read_text(), 401),
    )
    sf = SalesforceClient.client_credentials(
        instance_url=INSTANCE, client_id="cid", client_secret="s", transport=org.transport
    )
    with pytest.raises(SalesforceAuthenticationError) as info:
        sf.query("SELECT Id FROM Account")
    assert info.value.error_code == "INVALID_SESSION_ID"
    assert len(org.calls("POST", "/services/oauth2/token")) == 2
    assert len(org.calls("GET", f"{V}/query")) == 2
    assert "00Dx!" not in str(info.value) and "00Dx!" not in repr(info.value)


def test_a_given_token_cannot_be_refreshed(org: FakeOrg) -> None:
    org.on(
        "GET",
        f"{V}/query",
        raw_json((CONFORMANCE / "error_401_invalid_session_id.json").read_text(), 401),
    )
    with pytest.raises(SalesforceAuthenticationError) as info:
        client(org).query("SELECT Id FROM Account")
    assert len(org.calls("GET", f"{V}/query")) == 1
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)


def test_token_never_in_repr_str_or_debug_logs(
    org: FakeOrg, caplog: pytest.LogCaptureFixture
) -> None:
    org.on("GET", f"{V}/query", jresp({"totalSize": 0, "done": True, "records": []}))
    caplog.set_level(logging.DEBUG, logger="intacct_sync")
    sf = client(org)
    sf.query("SELECT Id FROM Account")
    assert TOKEN not in caplog.text and TOKEN not in repr(sf) and TOKEN not in str(sf)
    assert "SELECT" in caplog.text  # the query itself is logged at DEBUG


def test_refresh_token_flow_takes_up_a_rotated_token(org: FakeOrg) -> None:
    answers = [
        {"access_token": "00Dx!T1", "refresh_token": "rotated-2"},
        {"access_token": "00Dx!T2"},
    ]
    org.on("POST", "/services/oauth2/token", lambda r: jresp(answers.pop(0)))
    org.on(
        "GET",
        f"{V}/query",
        lambda r: (
            raw_json((CONFORMANCE / "error_401_invalid_session_id.json").read_text(), 401)
            if r.headers["Authorization"] == "Bearer 00Dx!T1"
            else jresp({"totalSize": 0, "done": True, "records": []})
        ),
    )
    sf = SalesforceClient.refresh_token_flow(
        instance_url=INSTANCE, client_id="cid", refresh_token="rt-1", transport=org.transport
    )
    sf.query("SELECT Id FROM Account")
    forms = [
        parse_qs((r.body or b"").decode()) for r in org.calls("POST", "/services/oauth2/token")
    ]
    assert [f["refresh_token"] for f in forms] == [["rt-1"], ["rotated-2"]]
    assert forms[0]["grant_type"] == ["refresh_token"] and "client_secret" not in forms[0]


def test_oauth_error_is_an_authentication_error(org: FakeOrg) -> None:
    org.on(
        "POST",
        "/services/oauth2/token",
        raw_json((CONFORMANCE / "auth_oauth_error_invalid_grant.json").read_text(), 400),
    )
    sf = SalesforceClient.client_credentials(
        instance_url=INSTANCE, client_id="cid", client_secret="s", transport=org.transport
    )
    with pytest.raises(SalesforceAuthenticationError) as info:
        sf.query("SELECT Id FROM Account")
    assert info.value.error_code == "invalid_grant" and len(org.transport.requests) == 1


def test_jwt_bearer_signs_rs256(org: FakeOrg, tmp_path: Path) -> None:
    jwt = pytest.importorskip("jwt")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "server.key"
    key_file.write_bytes(pem)
    uat = "https://acme--uat.sandbox.my.salesforce.com"
    org.on("POST", "/services/oauth2/token", token_endpoint(["00Dx!JWT"], uat))
    org.on("GET", f"{V}/query", jresp({"totalSize": 0, "done": True, "records": []}))
    sf = SalesforceClient.jwt_bearer(
        instance_url=uat,
        client_id="cid",
        username="int@acme.com",
        private_key_file=str(key_file),
        transport=org.transport,
    )
    assert "BEGIN" not in repr(sf)
    sf.query("SELECT Id FROM Account")
    form = parse_qs((org.transport.requests[0].body or b"").decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(
        form["assertion"][0],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
    )
    assert (claims["iss"], claims["sub"]) == ("cid", "int@acme.com")
    with pytest.raises(ConfigError, match="private key file"):
        SalesforceClient.jwt_bearer(
            instance_url=INSTANCE,
            client_id="c",
            username="u",
            private_key_file=str(tmp_path / "missing.key"),
        )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "SF_INSTANCE_URL"),
        ({"SF_INSTANCE_URL": INSTANCE}, "no Salesforce credentials"),
        ({"SF_INSTANCE_URL": INSTANCE, "SF_CLIENT_ID": "c"}, "SF_CLIENT_SECRET"),
        ({"SF_INSTANCE_URL": INSTANCE, "SF_USERNAME": "u"}, "SF_CLIENT_ID, SF_PRIVATE_KEY_FILE"),
        ({"SF_INSTANCE_URL": INSTANCE, "SF_REFRESH_TOKEN": "r"}, "SF_CLIENT_ID"),
        ({"SF_INSTANCE_URL": INSTANCE, "SF_ACCESS_TOKEN": "t", "SF_API_VERSION": "40.0"}, "46.0"),
        ({"SF_INSTANCE_URL": "acme", "SF_ACCESS_TOKEN": "t"}, "http"),
    ],
)
def test_from_env_names_what_is_missing(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SalesforceClient.from_env(env)


def test_from_env_chooses_the_flow() -> None:
    base = {"SF_INSTANCE_URL": INSTANCE}
    assert "access token" in repr(SalesforceClient.from_env({**base, "SF_ACCESS_TOKEN": "t"}))
    cc = SalesforceClient.from_env(
        {**base, "SF_CLIENT_ID": "c", "SF_CLIENT_SECRET": "s", "SF_API_VERSION": "63.0"}
    )
    assert "ClientCredentialsFlow" in repr(cc) and cc.api_version == "63.0"
    rt = SalesforceClient.from_env(
        {**base, "SF_ACCESS_TOKEN": "t", "SF_CLIENT_ID": "c", "SF_REFRESH_TOKEN": "r"}
    )
    assert "RefreshTokenFlow" in repr(rt)
    for sf in (cc, rt):
        sf.close()


# ----------------------------------------------------------------------------- bulk


def bulk_org(
    org: FakeOrg, *, fail_names: AbstractSet[str] = frozenset(), polls: int = 2
) -> dict[str, Any]:
    state: dict[str, Any] = {"polls": 0, "csv": b""}
    org.on("POST", f"{V}/jobs/ingest", lambda r: jresp({"id": "750J", "state": "Open"}))

    def upload(request: HttpRequest) -> HttpResponse:
        state["csv"] = request.body
        assert request.headers["Content-Type"] == "text/csv"
        return HttpResponse(status=201)

    org.on("PUT", f"{V}/jobs/ingest/750J/batches", upload)
    org.on(
        "PATCH", f"{V}/jobs/ingest/750J", lambda r: jresp({"id": "750J", "state": "UploadComplete"})
    )

    def info(request: HttpRequest) -> HttpResponse:
        state["polls"] += 1
        done = state["polls"] > polls
        return jresp({"id": "750J", "state": "JobComplete" if done else "InProgress"})

    org.on("GET", f"{V}/jobs/ingest/750J", info)

    def results(kind: str) -> Handler:
        def handler(request: HttpRequest) -> HttpResponse:
            import csv
            import io

            rows = list(csv.reader(io.StringIO(state["csv"].decode())))
            header, data = rows[0], rows[1:]
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            name_at = header.index("Name")
            if kind == "successfulResults":
                writer.writerow(["sf__Id", "sf__Created", *header])
                for i, row in reversed(list(enumerate(data))):  # any order
                    if row[name_at] not in fail_names:
                        writer.writerow([f"001{i:015d}", "true", *row])
            elif kind == "failedResults":
                writer.writerow(["sf__Id", "sf__Error", *header])
                for row in data:
                    if row[name_at] in fail_names:
                        writer.writerow(
                            [
                                "",
                                "REQUIRED_FIELD_MISSING:Required fields are missing: [X]:X --",
                                *row,
                            ]
                        )
            else:
                writer.writerow(header)
            return HttpResponse(status=200, body=out.getvalue().encode())

        return handler

    for kind in ("successfulResults", "failedResults", "unprocessedrecords"):
        org.on("GET", f"{V}/jobs/ingest/750J/{kind}", results(kind))
    return state


def test_large_writes_go_through_bulk_automatically(org: FakeOrg, sleeps: Sleeps) -> None:
    state = bulk_org(org, fail_names={"n7"})
    records = [
        {"Name": f"n{i}", "AnnualRevenue": Decimal(i) / 100} for i in range(BULK_THRESHOLD + 1)
    ]
    outcomes = client(org, sleeps).create("Account", records)
    assert org.calls("POST", f"{V}/composite/sobjects") == []
    job = json.loads(org.calls("POST", f"{V}/jobs/ingest")[0].body or b"")
    assert job == {
        "object": "Account",
        "operation": "insert",
        "contentType": "CSV",
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }
    assert state["csv"].splitlines()[:2] == [b"Name,AnnualRevenue", b"n0,0"]
    assert state["csv"].splitlines()[2] == b"n1,0.01"
    assert outcomes["row"].tolist() == list(range(BULK_THRESHOLD + 1))
    assert outcomes.loc[7, "status"] == "failed" and outcomes.loc[7, "fields"] == "X"
    assert outcomes.loc[8, "id"] == "001000000000000008"
    assert (outcomes["status"] == "created").sum() == BULK_THRESHOLD
    assert sleeps.waits == [0.5, 1.0]  # polling backs off


def test_small_writes_can_ask_for_bulk_and_ingest_returns_frames(org: FakeOrg) -> None:
    bulk_org(org, fail_names={"b"}, polls=0)
    result = client(org).ingest("Account", "insert", pd.DataFrame({"Name": ["a", "b"]}))
    assert result.job.state == "JobComplete" and not result.ok
    assert result.successful["Name"].tolist() == ["a"]
    assert str(result.successful["sf__Created"].dtype) == "boolean"
    assert result.failed["sf__Error"].str.startswith("REQUIRED_FIELD_MISSING").all()
    outcomes = client(org).create("Account", [{"Name": "a"}], use_bulk=True)
    assert outcomes["status"].tolist() == ["created"]


def test_bulk_poll_timeout(org: FakeOrg) -> None:
    bulk_org(org, polls=10_000)
    with pytest.raises(TransportError, match="still InProgress"):
        client(org).ingest("Account", "insert", [{"Name": "a"}], timeout=3)


def test_bulk_query_pages_by_locator(org: FakeOrg) -> None:
    org.on("POST", f"{V}/jobs/query", jresp({"id": "750Q", "state": "UploadComplete"}))
    org.on("GET", f"{V}/jobs/query/750Q", jresp({"id": "750Q", "state": "JobComplete"}))

    def results(request: HttpRequest) -> HttpResponse:
        locator = parse_qs(urlsplit(request.url).query).get("locator")
        if not locator:
            return HttpResponse(
                status=200,
                headers={"Sforce-Locator": "MTAwMDA"},
                body=b'Id,Amount,CloseDate,Account.Name\n006A,1300.5,2024-01-31,"Acme, Inc."\n',
            )
        assert locator == ["MTAwMDA"]
        return HttpResponse(
            status=200,
            headers={"Sforce-Locator": "null"},
            body=b"Id,Amount,CloseDate,Account.Name\n006B,,,\n",
        )

    org.on("GET", f"{V}/jobs/query/750Q/results", results)
    frame = client(org).bulk_query("SELECT Id, Amount, CloseDate, Account.Name FROM Opportunity")
    spec = json.loads(org.calls("POST", f"{V}/jobs/query")[0].body or b"")
    assert spec["operation"] == "query"
    assert frame["Amount"].tolist()[0] == Decimal("1300.5") and frame["Amount"].tolist()[1] is None
    assert frame["Account.Name"].tolist()[0] == "Acme, Inc."
    assert str(frame["CloseDate"].dtype) == "datetime64[us]"


def test_failed_bulk_query_raises(org: FakeOrg) -> None:
    org.on("POST", f"{V}/jobs/query", jresp({"id": "750Q", "state": "UploadComplete"}))
    org.on(
        "GET",
        f"{V}/jobs/query/750Q",
        jresp({"id": "750Q", "state": "Failed", "errorMessage": "subqueries not supported"}),
    )
    with pytest.raises(SalesforceError, match="subqueries not supported"):
        client(org).bulk_query("SELECT Id FROM Account")


def test_context_manager_and_constructor_checks(org: FakeOrg) -> None:
    with client(org) as sf:
        assert sf.instance_url == INSTANCE and sf.api_version == "62.0"
    with pytest.raises(ConfigError):
        SalesforceClient(INSTANCE)
    with pytest.raises(ConfigError):
        SalesforceClient(INSTANCE, "t", batch_size=50)
    with pytest.raises(ConfigError):
        SalesforceClient(INSTANCE, "t", api_version="v45.0")


def test_soql_values_reach_the_wire_encoded(org: FakeOrg) -> None:
    org.on("GET", f"{V}/query", jresp({"totalSize": 0, "done": True, "records": []}))
    client(org).query(soql("SELECT Id FROM Account WHERE Name = {}", "A&B + 'C'"))
    assert (
        soql_of(org.transport.requests[-1]) == "SELECT Id FROM Account WHERE Name = 'A&B + \\'C\\''"
    )
    assert unquote(org.transport.requests[-1].url).count("&") == 1  # the & is percent-encoded

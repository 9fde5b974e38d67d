"""Salesforce sandbox: OAuth, describe, sObject rows, upsert, collections, composite, limits,
faults, over real HTTP where it matters, and the conformance samples' shapes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jwt
import pytest

from intacct_sync._http.transport import HttpRequest, HttpResponse, RequestsTransport, Timeout
from intacct_sync.errors import TransportError
from intacct_sync.sandbox._http import Exchange, LoopbackServer
from intacct_sync.sandbox.salesforce.api import (
    API_VERSION,
    CLIENT_ID,
    CLIENT_SECRET,
    JWT_PRIVATE_KEY_PEM,
    REFRESH_TOKEN,
    USERNAME,
    SalesforceApi,
)
from tests.sf_emulator import Sf

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "salesforce"
V = f"/services/data/v{API_VERSION}"


@pytest.fixture
def api() -> SalesforceApi:
    return SalesforceApi()


@pytest.fixture
def sf(api: SalesforceApi) -> Sf:
    return Sf(api)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SalesforceApi, LoopbackServer, RequestsTransport]]:
    api = SalesforceApi()
    server = LoopbackServer(api).start()
    api.base_url = server.url
    transport = RequestsTransport()
    yield api, server, transport
    transport.close()
    server.stop()


def http(
    served: tuple[SalesforceApi, LoopbackServer, RequestsTransport],
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    _, server, transport = served
    request = HttpRequest(method=method, url=server.url + path, headers=headers or {}, body=body)
    return transport.send(request, timeout=Timeout(connect=2, read=10))


def form(**fields: str) -> bytes:
    return urlencode(fields).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def assert_shape(expected: Any, actual: Any, where: str = "$") -> None:
    """Every key of the sample exists in the answer, recursively, with a compatible kind."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r} (have {sorted(actual)})"
            assert_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected array, got {actual!r}"
        if expected and actual:
            assert_shape(expected[0], actual[0], f"{where}[0]")
    elif expected is not None and actual is not None:
        kinds = (bool, int | float, str)
        kind = next(k for k in kinds if isinstance(expected, k))
        assert isinstance(actual, kind), f"{where}: {actual!r} is not like {expected!r}"


# -- OAuth --------------------------------------------------------------------------------------


def test_client_credentials_over_http(served: Any) -> None:
    server = served[1]
    resp = http(
        served,
        "POST",
        "/services/oauth2/token",
        form(grant_type="client_credentials", client_id=CLIENT_ID, client_secret=CLIENT_SECRET),
        FORM,
    )
    assert resp.status == 200
    body = json.loads(resp.body)
    assert_shape(sample("auth_oauth_token_success.json"), body)
    assert body["instance_url"] == server.url and body["token_type"] == "Bearer"
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    assert body["access_token"].startswith("00D") and "!" in body["access_token"]
    data = http(
        served, "GET", f"{V}/limits", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert data.status == 200
    assert (data.header("Sforce-Limit-Info") or "").startswith("api-usage=")


def test_client_credentials_basic_auth_and_errors(served: Any) -> None:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    resp = http(
        served,
        "POST",
        "/services/oauth2/token",
        form(grant_type="client_credentials"),
        {**FORM, "Authorization": f"Basic {basic}"},
    )
    assert resp.status == 200
    bad = http(
        served,
        "POST",
        "/services/oauth2/token",
        form(grant_type="client_credentials", client_id=CLIENT_ID, client_secret="wrong"),
        FORM,
    )
    assert bad.status == 400
    assert_shape(sample("auth_oauth_error_invalid_grant.json"), json.loads(bad.body))
    assert json.loads(bad.body)["error"] == "invalid_client"
    unknown = http(served, "POST", "/services/oauth2/token", form(grant_type="magic"), FORM)
    assert json.loads(unknown.body)["error"] == "unsupported_grant_type"


def test_refresh_token_grant(api: SalesforceApi) -> None:
    def token(**fields: str) -> tuple[int, Any]:
        reply = api.handle(
            Exchange(
                method="POST", path="/services/oauth2/token", headers=FORM, body=form(**fields)
            )
        )
        return reply.status, json.loads(reply.body)

    status, body = token(
        grant_type="refresh_token", refresh_token=REFRESH_TOKEN, client_id=CLIENT_ID
    )
    assert status == 200 and "refresh_token" not in body
    status, body = token(
        grant_type="client_credentials",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scope="api refresh_token",
    )
    issued = body["refresh_token"]
    assert token(grant_type="refresh_token", refresh_token=issued)[0] == 200
    status, body = token(grant_type="refresh_token", refresh_token="nope")
    assert status == 400 and body == sample("auth_oauth_error_expired_refresh_token.json")
    api.auth.revoke_refresh_tokens()
    assert token(grant_type="refresh_token", refresh_token=REFRESH_TOKEN)[0] == 400


def test_jwt_bearer_grant(api: SalesforceApi) -> None:
    def assertion(key: str = JWT_PRIVATE_KEY_PEM, **claims: Any) -> str:
        payload = {
            "iss": CLIENT_ID,
            "sub": USERNAME,
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 180,
        }
        payload.update(claims)
        return jwt.encode(payload, key, algorithm="RS256")

    def grant(value: str) -> tuple[int, Any]:
        body = form(grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=value)
        reply = api.handle(
            Exchange(method="POST", path="/services/oauth2/token", headers=FORM, body=body)
        )
        return reply.status, json.loads(reply.body)

    assert grant(assertion())[0] == 200
    assert grant(assertion(sub="someone@else.example"))[1]["error"] == "invalid_grant"
    assert grant(assertion(iss="other-app"))[1]["error"] == "invalid_client_id"
    assert grant(assertion(exp=int(time.time()) - 10))[0] == 400
    assert grant("not-a-jwt")[0] == 400
    unsigned = jwt.encode({"iss": CLIENT_ID, "sub": USERNAME}, "", algorithm="none")
    assert grant(unsigned)[1]["error_description"] == "invalid assertion"


def test_expired_and_unknown_tokens_get_401(api: SalesforceApi, sf: Sf) -> None:
    assert sf.call("GET", f"{V}/limits")[0] == 200
    api.expire_tokens()
    status, body, headers = sf.call("GET", f"{V}/limits")
    assert status == 401 and headers["WWW-Authenticate"] == "Token"
    assert body == sample("error_401_invalid_session_id.json")
    api.token_ttl = 0.05
    sf.token = api.issue_token()
    time.sleep(0.1)
    assert sf.call("GET", f"{V}/limits")[0] == 401
    no_auth = api.handle(Exchange(method="GET", path=f"{V}/limits", headers={}, body=b""))
    assert no_auth.status == 401


# -- describe, limits ---------------------------------------------------------------------------


def test_describe_global_and_sobject(sf: Sf) -> None:
    status, body, _ = sf.call("GET", f"{V}/sobjects/")
    assert status == 200
    assert_shape(sample("describe_global_excerpt.json"), body)
    names = {s["name"] for s in body["sobjects"]}
    assert {"Account", "Opportunity", "Gift__c", "Action__c", "Intacct_Tag__c"} <= names
    status, opp, _ = sf.call("GET", f"{V}/sobjects/Opportunity/describe")
    assert_shape(sample("describe_opportunity_excerpt.json"), opp)
    fields = {f["name"]: f for f in opp["fields"]}
    assert (fields["Amount"]["type"], fields["Amount"]["precision"], fields["Amount"]["scale"]) == (
        "currency",
        18,
        2,
    )
    assert (
        fields["AccountId"]["referenceTo"] == ["Account"]
        and fields["AccountId"]["relationshipName"] == "Account"
    )
    assert "Closed Won" in [p["value"] for p in fields["StageName"]["picklistValues"]]
    assert {c["relationshipName"] for c in opp["childRelationships"]} == {"OpportunityLineItems"}
    status, gift, _ = sf.call("GET", f"{V}/sobjects/gift__c/describe")
    assert_shape(sample("describe_custom_object_payment.json"), gift)
    donor = next(f for f in gift["fields"] if f["name"] == "Donor__c")
    assert (
        donor["relationshipName"] == "Donor__r"
        and gift["keyPrefix"] == "a02"
        and gift["custom"] is True
    )
    assert sf.call("GET", f"{V}/sobjects/Nope__c/describe")[0] == 404


def test_limits_and_usage_header(sf: Sf) -> None:
    _, body, headers = sf.call("GET", f"{V}/limits")
    assert_shape(sample("limits.json")["DailyApiRequests"], body["DailyApiRequests"])
    used = int(headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    assert body["DailyApiRequests"]["Remaining"] == 15000 - used
    _, _, again = sf.call("GET", f"{V}/limits")
    assert again["Sforce-Limit-Info"] == f"api-usage={used + 1}/15000"


# -- sObject rows -------------------------------------------------------------------------------


def test_create_get_update_delete(sf: Sf) -> None:
    status, body, headers = sf.call(
        "POST", f"{V}/sobjects/Account", {"Name": "New Co", "NumberOfEmployees": 7}
    )
    assert status == 201 and body["success"] is True
    assert_shape(sample("sobject_create_201.json"), body)
    new_id = body["id"]
    assert new_id.startswith("001") and len(new_id) == 18
    assert headers["Location"] == f"{V}/sobjects/Account/{new_id}"
    status, rec, _ = sf.call("GET", f"{V}/sobjects/Account/{new_id}")
    assert rec["Name"] == "New Co" and rec["attributes"]["type"] == "Account"
    assert rec["Is_Deleted__c"] is False and rec["OwnerId"].startswith("005")
    created = rec["LastModifiedDate"]
    time.sleep(0.002)
    assert sf.call("PATCH", f"{V}/sobjects/Account/{new_id}", {"Name": "Renamed"})[0] == 204
    _, rec, _ = sf.call("GET", f"{V}/sobjects/Account/{new_id}?fields=Name,LastModifiedDate")
    assert set(rec) == {"attributes", "Name", "LastModifiedDate"} and rec["Name"] == "Renamed"
    assert rec["LastModifiedDate"] >= created
    assert sf.call("DELETE", f"{V}/sobjects/Account/{new_id}")[0] == 204
    status, err, _ = sf.call("GET", f"{V}/sobjects/Account/{new_id}")
    assert status == 404 and err == sample("error_404_entity_is_deleted.json")


def test_write_validation_errors(sf: Sf) -> None:
    status, body, _ = sf.call(
        "POST", f"{V}/sobjects/Account", {"Name": "x", "FavoritePet__c": "cat"}
    )
    assert status == 400 and body == [
        {
            "message": "No such column 'FavoritePet__c' on sobject of type Account",
            "errorCode": "INVALID_FIELD",
        }
    ]
    status, body, _ = sf.call("POST", f"{V}/sobjects/Opportunity", {"Name": "x"})
    assert body[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert_shape(sample("error_400_required_field_missing.json"), body)
    assert set(body[0]["fields"]) == {"StageName", "CloseDate"}
    status, body, _ = sf.call(
        "POST",
        f"{V}/sobjects/Gift__c",
        {"Gift_Date__c": "2024-01-01", "Amount__c": 5, "Type__c": "Bake Sale"},
    )
    assert_shape(sample("error_400_restricted_picklist.json"), body)
    assert body[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" and body[0][
        "fields"
    ] == ["Type__c"]
    status, body, _ = sf.call("PATCH", f"{V}/sobjects/Account/a00B000000FSjVUIB1", {"Name": "x"})
    assert status == 400 and body[0]["errorCode"] == "MALFORMED_ID"
    assert_shape(sample("error_400_malformed_id.json"), body)
    status, body, _ = sf.call(
        "POST", f"{V}/sobjects/Contact", {"LastName": "x", "AccountId": "006000000000000"}
    )
    assert body[0]["errorCode"] == "MALFORMED_ID" and body[0]["fields"] == ["AccountId"]
    status, body, _ = sf.call(
        "POST",
        f"{V}/sobjects/Opportunity",
        {"Name": "x", "StageName": "Prospecting", "CloseDate": "soon"},
    )
    assert body[0]["errorCode"] == "JSON_PARSER_ERROR"
    status, body, _ = sf.call("POST", f"{V}/sobjects/Opportunity", {"IsWon": True})
    assert body[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    status, body, _ = sf.call(
        "POST", f"{V}/sobjects/Account", {"Name": "dup", "Intacct_Customer_ID__c": "C-1001"}
    )
    assert body[0]["errorCode"] == "DUPLICATE_VALUE"
    assert sf.call("GET", f"{V}/sobjects/Account/0018d000000zzzzAAA")[0] == 404


def test_derived_fields(api: SalesforceApi, sf: Sf) -> None:
    acc = api.rows("Account", fields=["Id"])[0]["Id"]
    entry = api.rows(
        "PricebookEntry",
        "Product2.ProductCode = 'PS-CONSULT'",
        fields=["Id", "UnitPrice", "Product2Id"],
    )[0]
    _, body, _ = sf.call(
        "POST",
        f"{V}/sobjects/Opportunity",
        {"Name": "Derived", "AccountId": acc, "StageName": "Closed Won", "CloseDate": "2024-05-01"},
    )
    opp = body["id"]
    _, line, _ = sf.call(
        "POST",
        f"{V}/sobjects/OpportunityLineItem",
        {"OpportunityId": opp, "PricebookEntryId": entry["Id"], "Quantity": 4, "Discount": 10},
    )
    rec = api.rows(
        "OpportunityLineItem",
        f"Id = '{line['id']}'",
        fields=["UnitPrice", "TotalPrice", "ListPrice", "Product2Id"],
    )[0]
    assert rec == {
        "UnitPrice": entry["UnitPrice"],
        "TotalPrice": round(4 * entry["UnitPrice"] * 0.9, 2),
        "ListPrice": entry["UnitPrice"],
        "Product2Id": entry["Product2Id"],
    }
    won = api.rows("Opportunity", f"Id = '{opp}'", fields=["IsWon", "IsClosed", "Probability"])[0]
    assert won == {"IsWon": True, "IsClosed": True, "Probability": 100.0}


def test_upsert_single_201_200_300_404(api: SalesforceApi, sf: Sf) -> None:
    url = f"{V}/sobjects/Account/Intacct_Customer_ID__c/C-9001"
    status, body, _ = sf.call("PATCH", url, {"Name": "Upserted"})
    assert status == 201 and body["created"] is True
    assert_shape(sample("sobject_upsert_201_created.json"), body)
    status, body2, _ = sf.call("PATCH", url, {"Name": "Upserted again"})
    assert status == 200 and body2 == {
        "id": body["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    status, rec, _ = sf.call("GET", url)
    assert status == 200 and rec["Name"] == "Upserted again"
    api.insert(
        "Contact",
        [
            {"LastName": "A", "Email": "same@x.example"},
            {"LastName": "B", "Email": "same@x.example"},
        ],
    )
    status, body, _ = sf.call(
        "PATCH", f"{V}/sobjects/Contact/Email/same@x.example", {"LastName": "C"}
    )
    assert status == 300 and len(body) == 2
    assert_shape(sample("sobject_upsert_300_multiple_matches.json"), body)
    assert body[0].startswith(f"{V}/sobjects/Contact/003")
    status, body, _ = sf.call("PATCH", f"{V}/sobjects/Account/Namez/x", {"Name": "C"})
    assert status == 404 and body == [
        {
            "message": "Provided external ID field does not exist or is not accessible: Namez",
            "errorCode": "NOT_FOUND",
        }
    ]
    assert body == sample("error_404_external_id_field_not_found.json")


def test_write_with_foreign_key_by_external_id(api: SalesforceApi, sf: Sf) -> None:
    status, body, _ = sf.call(
        "POST",
        f"{V}/sobjects/Intacct_Invoice__c",
        {
            "Name": "INV-1",
            "Invoice_Number__c": "INV-1",
            "Account__r": {"Intacct_Customer_ID__c": "C-1002"},
            "Total__c": 100,
            "Due__c": 40,
        },
    )
    assert status == 201, body
    rec = api.rows("Intacct_Invoice__c", fields=["Account__r.Intacct_Customer_ID__c", "Due__c"])[0]
    assert rec == {"Account__r": {"Intacct_Customer_ID__c": "C-1002"}, "Due__c": 40.0}
    status, body, _ = sf.call(
        "POST",
        f"{V}/sobjects/Intacct_Invoice__c",
        {"Name": "INV-2", "Account__r": {"Intacct_Customer_ID__c": "C-0000"}},
    )
    assert status == 400 and "Foreign key external ID: C-0000 not found" in body[0]["message"]


# -- sObject Collections ------------------------------------------------------------------------


def test_collections_create_partial_and_all_or_none(api: SalesforceApi, sf: Sf) -> None:
    records = [
        {"attributes": {"type": "Account"}, "Name": "Good"},
        {"attributes": {"type": "Account"}},
    ]
    status, body, _ = sf.call(
        "POST", f"{V}/composite/sobjects", {"allOrNone": False, "records": records}
    )
    assert status == 200 and body[0]["success"] and not body[1]["success"]
    assert "id" not in body[1] and body[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert_shape(sample("collections_create_partial_failure.json")[1], body[0])
    assert_shape(sample("collections_create_partial_failure.json")[0], body[1])
    before = api.count("Account")
    records = [
        {"attributes": {"type": "Account"}},
        {"attributes": {"type": "Account"}, "Name": "Rolled"},
    ]
    status, body, _ = sf.call(
        "POST", f"{V}/composite/sobjects", {"allOrNone": True, "records": records}
    )
    assert api.count("Account") == before
    assert body[1]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert_shape(sample("collections_create_allornone_rolled_back.json"), body)
    too_many = [{"attributes": {"type": "Account"}, "Name": str(i)} for i in range(201)]
    status, body, _ = sf.call("POST", f"{V}/composite/sobjects", {"records": too_many})
    assert status == 400 and body[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_collections_update_delete_and_get(api: SalesforceApi, sf: Sf) -> None:
    ids = api.insert("Product2", [{"Name": "P1"}, {"Name": "P2"}])
    records = [{"attributes": {"type": "Product2"}, "Id": i, "IsActive": True} for i in ids]
    records.append({"attributes": {"type": "Product2"}, "IsActive": True})
    _, body, _ = sf.call("PATCH", f"{V}/composite/sobjects", {"records": records})
    assert [r["success"] for r in body] == [True, True, False]
    assert body[2]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert api.count("Product2", "IsActive = true AND Name LIKE 'P_'") == 2
    _, got, _ = sf.call("GET", f"{V}/composite/sobjects/Product2?ids={ids[0]},{ids[1]}&fields=Name")
    assert [r["Name"] for r in got] == ["P1", "P2"]
    _, body, _ = sf.call("DELETE", f"{V}/composite/sobjects?ids={ids[0]},{ids[1]}&allOrNone=false")
    assert [r["id"] for r in body] == ids and all(r["success"] for r in body)
    _, body, _ = sf.call("DELETE", f"{V}/composite/sobjects?ids={ids[0]}")
    assert body[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_collections_upsert_created_mixed(api: SalesforceApi, sf: Sf) -> None:
    records = [
        {
            "attributes": {"type": "Account"},
            "Intacct_Customer_ID__c": "C-1001",
            "Name": "Acme Logistics",
        },
        {
            "attributes": {"type": "Account"},
            "Intacct_Customer_ID__c": "C-5000",
            "Name": "Brand New",
        },
        {"attributes": {"type": "Account"}, "Intacct_Customer_ID__c": "C-5001", "Name": "Dup A"},
        {"attributes": {"type": "Account"}, "Intacct_Customer_ID__c": "c-5001", "Name": "Dup B"},
        {"attributes": {"type": "Account"}, "Name": "No key"},
    ]
    status, body, _ = sf.call(
        "PATCH",
        f"{V}/composite/sobjects/Account/Intacct_Customer_ID__c",
        {"allOrNone": False, "records": records},
    )
    assert status == 200
    assert_shape(sample("collections_upsert_created_mixed.json"), body[:2])
    assert [r.get("created") for r in body[:2]] == [False, True]
    assert [r["errors"][0]["statusCode"] for r in body[2:]] == [
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_EXTERNAL_ID",
        "MISSING_ARGUMENT",
    ]
    status, body, _ = sf.call(
        "PATCH", f"{V}/composite/sobjects/Account/Nope__c", {"records": records[:1]}
    )
    assert status == 404


def test_collections_upsert_200_is_fast(api: SalesforceApi, sf: Sf) -> None:
    records = [
        {
            "attributes": {"type": "Account"},
            "Intacct_Customer_ID__c": f"B-{i}",
            "Name": f"Bulk {i}",
            "AR_Current__c": i,
        }
        for i in range(200)
    ]
    status, body, _ = sf.call(
        "PATCH", f"{V}/composite/sobjects/Account/Intacct_Customer_ID__c", {"records": records}
    )
    assert status == 200 and all(r["created"] for r in body)


# -- composite ----------------------------------------------------------------------------------


def test_composite_references_and_results(api: SalesforceApi, sf: Sf) -> None:
    requests = [
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": "acct",
            "body": {"Name": "Composite Co"},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Contact",
            "referenceId": "ct",
            "body": {"LastName": "Ref", "AccountId": "@{acct.id}"},
        },
        {
            "method": "GET",
            "url": f"{V}/sobjects/Account/@{{acct.id}}?fields=Name",
            "referenceId": "read",
        },
        {
            "method": "GET",
            "url": f"{V}/query/?q=" + quote("SELECT Id FROM Contact WHERE LastName = 'Ref'"),
            "referenceId": "q",
        },
        {
            "method": "PATCH",
            "url": f"{V}/sobjects/Contact/@{{q.records[0].Id}}",
            "referenceId": "upd",
            "body": {"Title": "Boss"},
        },
    ]
    status, body, headers = sf.call(
        "POST", f"{V}/composite", {"allOrNone": True, "compositeRequest": requests}
    )
    assert status == 200 and "Sforce-Limit-Info" in headers
    res = body["compositeResponse"]
    assert_shape(
        sample("composite_success_custom_object_payments.json")["compositeResponse"][0], res[0]
    )
    assert [r["httpStatusCode"] for r in res] == [201, 201, 200, 200, 204]
    assert res[2]["body"]["Name"] == "Composite Co"
    assert api.rows("Contact", "LastName = 'Ref'", fields=["Title", "Account.Name"]) == [
        {"Title": "Boss", "Account": {"Name": "Composite Co"}}
    ]


def test_composite_all_or_none_processing_halted(api: SalesforceApi, sf: Sf) -> None:
    before = api.count("Account")
    requests = [
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": "ok",
            "body": {"Name": "Will roll back"},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": "bad",
            "body": {"Bogus__c": 1},
        },
        {
            "method": "POST",
            "url": f"{V}/sobjects/Account",
            "referenceId": "after",
            "body": {"Name": "Never"},
        },
    ]
    _, body, _ = sf.call(
        "POST", f"{V}/composite", {"allOrNone": True, "compositeRequest": requests}
    )
    res = body["compositeResponse"]
    assert_shape(sample("composite_allornone_processing_halted.json"), body)
    assert [r["body"][0]["errorCode"] for r in res] == [
        "PROCESSING_HALTED",
        "INVALID_FIELD",
        "PROCESSING_HALTED",
    ]
    assert api.count("Account") == before
    requests[1]["body"] = {"Name": "Fine"}
    requests.append(
        {
            "method": "GET",
            "url": f"{V}/query?q=select+count()+from+XYZZY",
            "referenceId": "refXYZZY",
        }
    )
    _, body, _ = sf.call(
        "POST", f"{V}/composite", {"allOrNone": False, "compositeRequest": requests}
    )
    res = body["compositeResponse"]
    assert [r["httpStatusCode"] for r in res] == [201, 201, 201, 400]
    assert res[3]["body"][0]["errorCode"] == "INVALID_TYPE"
    too_many = [{"method": "GET", "url": f"{V}/limits", "referenceId": f"r{i}"} for i in range(26)]
    assert sf.call("POST", f"{V}/composite", {"compositeRequest": too_many})[0] == 400


def test_composite_graph(api: SalesforceApi, sf: Sf) -> None:
    good = {
        "graphId": "1",
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "a",
                "body": {"Name": "Graph Co"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Opportunity",
                "referenceId": "o",
                "body": {
                    "Name": "Graph Opp",
                    "AccountId": "@{a.id}",
                    "StageName": "Prospecting",
                    "CloseDate": "2030-01-01",
                },
            },
        ],
    }
    bad = {
        "graphId": "graph0",
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "referenceId0",
                "body": {"Name": "Rolled"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "referenceId1",
                "body": {"FirstName": "No last name"},
            },
        ],
    }
    _, body, _ = sf.call("POST", f"{V}/composite/graph", {"graphs": [good, bad]})
    assert_shape(sample("composite_graph_success.json")["graphs"][0], body["graphs"][0])
    assert_shape(
        sample("composite_graph_failure_processing_halted.json")["graphs"][0], body["graphs"][1]
    )
    assert [g["isSuccessful"] for g in body["graphs"]] == [True, False]
    assert api.count("Account", "Name IN ('Graph Co', 'Rolled')") == 1


# -- faults -------------------------------------------------------------------------------------


def test_daily_limit_refuses_every_call_once_spent(api: SalesforceApi, sf: Sf) -> None:
    from intacct_sync.sandbox.salesforce.api import DAILY_API_LIMIT

    api.api_usage = DAILY_API_LIMIT - 1
    assert sf.call("GET", f"{V}/limits")[0] == 200  # off: counted, never refused
    api.enforce_daily_limit = True
    status, body, headers = sf.call("GET", f"{V}/limits")
    assert status == 403 and body == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert headers["Sforce-Limit-Info"] == f"api-usage={DAILY_API_LIMIT}/{DAILY_API_LIMIT}"
    assert api.api_usage == DAILY_API_LIMIT  # a refused call spends nothing


def test_fault_throttle_unavailable_busy(api: SalesforceApi, sf: Sf) -> None:
    api.faults.throttle_rate = 1.0
    status, body, _ = sf.call("GET", f"{V}/limits")
    assert status == 403 and body == [
        {
            "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    api.faults.clear()
    api.faults.unavailable_rate = 1.0
    status, body, _ = sf.call("GET", f"{V}/limits")
    assert status == 503 and body[0]["errorCode"] == "SERVER_UNAVAILABLE"
    api.faults.clear()
    api.faults.busy_rate = 1.0
    status, body, _ = sf.call("POST", f"{V}/sobjects/Account", {"Name": "Locked"})
    assert status == 400 and body[0] == {
        "message": "unable to obtain exclusive access to this record",
        "errorCode": "UNABLE_TO_LOCK_ROW",
        "fields": [],
    }
    _, body, _ = sf.call(
        "POST",
        f"{V}/composite/sobjects",
        {"records": [{"attributes": {"type": "Account"}, "Name": "L"}]},
    )
    assert body[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert sf.call("GET", f"{V}/limits")[0] == 200  # reads are never "busy"
    api.faults.clear()
    assert api.count("Account", "Name IN ('Locked', 'L')") == 0


def test_fault_malformed_body(api: SalesforceApi, sf: Sf) -> None:
    api.faults.malformed_rate = 1.0
    reply = api.handle(
        Exchange(
            method="GET",
            path=f"{V}/limits",
            headers={"Authorization": f"Bearer {sf.token}"},
            body=b"",
        )
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.body)


def test_fault_drop_after_commit_over_http(served: Any) -> None:
    api = served[0]
    token = api.issue_token()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    api.faults.drop_after_commit_rate = 1.0
    try:
        with pytest.raises(TransportError):
            http(
                served,
                "POST",
                f"{V}/sobjects/Account",
                json.dumps({"Name": "Dropped but saved"}).encode(),
                headers,
            )
        ok = http(served, "GET", f"{V}/limits", headers=headers)  # reads are not dropped
        assert ok.status == 200
    finally:
        api.faults.clear()
    assert api.count("Account", "Name = 'Dropped but saved'") == 1
    api.faults.drop_before_rate = 1.0
    try:
        with pytest.raises(TransportError):
            http(served, "GET", f"{V}/limits", headers=headers)
    finally:
        api.faults.clear()


def test_latency_fault_over_http(served: Any) -> None:
    api = served[0]
    api.faults.latency = 0.05
    try:
        started = time.perf_counter()
        http(served, "GET", "/services/data/")
        assert time.perf_counter() - started >= 0.05
    finally:
        api.faults.clear()


def test_inspection_stats(api: SalesforceApi, sf: Sf) -> None:
    api.reset_stats()
    sf.records("SELECT Id FROM Account")
    sf.call("GET", f"{V}/sobjects/Account/describe")
    sf.call(
        "POST",
        f"{V}/composite/sobjects",
        {"records": [{"attributes": {"type": "Account"}, "Name": "S"}]},
    )
    assert api.stats["query"] == 1 and api.stats["describe"] == 1 and api.stats["collections"] == 1
    assert api.api_usage == 3
    assert [r.kind for r in api.request_log] == ["query", "describe", "collections"]
    assert api.rows("Account", "Name = 'S'", fields=["Name"]) == [{"Name": "S"}]


def test_sqlite_file_persists(tmp_path: Path) -> None:
    db = str(tmp_path / "sf.db")
    first = SalesforceApi(db_path=db)
    first.insert("Account", [{"Name": "Persisted"}])
    second = SalesforceApi(db_path=db)
    assert second.count("Account", "Name = 'Persisted'") == 1
    assert second.count("Account") == first.count("Account")

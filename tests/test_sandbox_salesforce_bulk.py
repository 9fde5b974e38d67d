"""Salesforce sandbox: Bulk API 2.0 jobs, the seeded demo data and large-volume paging."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from intacct_sync._http.transport import HttpRequest, RequestsTransport, Timeout
from intacct_sync.sandbox._http import LoopbackServer
from intacct_sync.sandbox.salesforce.api import API_VERSION, SalesforceApi
from intacct_sync.sandbox.salesforce.seed import EXCLUDE_TAG
from tests.sf_emulator import Sf

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "salesforce"
V = f"/services/data/v{API_VERSION}"


@pytest.fixture
def api() -> SalesforceApi:
    return SalesforceApi()


@pytest.fixture
def sf(api: SalesforceApi) -> Sf:
    return Sf(api)


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_ingest_insert_end_to_end(api: SalesforceApi, sf: Sf) -> None:
    status, job, _ = sf.call(
        "POST",
        f"{V}/jobs/ingest",
        {"object": "Account", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"},
    )
    assert status == 200 and job["state"] == "Open"
    job_id = job["id"]
    assert job["contentUrl"] == f"services/data/v{API_VERSION}/jobs/ingest/{job_id}/batches"
    data = 'Name,Description,NumberOfEmployees\nBulk One,"Has, comma",30\n,No name,40\nBulk "Three",,50\n'
    status, _, _ = sf.call(
        "PUT",
        f"{V}/jobs/ingest/{job_id}/batches",
        raw=data.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert status == 201
    status, info, _ = sf.call("PATCH", f"{V}/jobs/ingest/{job_id}", {"state": "UploadComplete"})
    assert info["state"] == "UploadComplete"
    status, info, _ = sf.call("GET", f"{V}/jobs/ingest/{job_id}")
    assert info["state"] == "JobComplete"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (3, 1)
    expected = sample("bulk2_ingest_job_info_complete.json")
    assert set(expected) <= set(info)
    _, ok, _ = sf.call("GET", f"{V}/jobs/ingest/{job_id}/successfulResults")
    good = rows_of(ok)
    assert (
        ok.splitlines()[0]
        == (SAMPLES / "bulk2_ingest_successful_results.csv").read_text().splitlines()[0]
    )
    assert [r["Name"] for r in good] == ["Bulk One", 'Bulk "Three"'] and good[0][
        "sf__Created"
    ] == "true"
    assert api.rows(
        "Account", f"Id = '{good[0]['sf__Id']}'", fields=["Description", "NumberOfEmployees"]
    ) == [{"Description": "Has, comma", "NumberOfEmployees": 30}]
    _, failed, _ = sf.call("GET", f"{V}/jobs/ingest/{job_id}/failedResults")
    assert (
        failed.splitlines()[0]
        == (SAMPLES / "bulk2_ingest_failed_results.csv").read_text().splitlines()[0]
    )
    assert (
        rows_of(failed)[0]["sf__Error"]
        == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    )
    _, unprocessed, _ = sf.call("GET", f"{V}/jobs/ingest/{job_id}/unprocessedrecords")
    assert unprocessed.strip() == "Name,Description,NumberOfEmployees"
    status, _, _ = sf.call("PUT", f"{V}/jobs/ingest/{job_id}/batches", raw=b"Name\nLate\n")
    assert status == 409


def test_bulk_ingest_upsert_update_delete(api: SalesforceApi, sf: Sf) -> None:
    def run(spec: dict[str, Any], data: str) -> dict[str, Any]:
        _, job, _ = sf.call("POST", f"{V}/jobs/ingest", {"contentType": "CSV", **spec})
        sf.call("PUT", f"{V}/jobs/ingest/{job['id']}/batches", raw=data.encode())
        sf.call("PATCH", f"{V}/jobs/ingest/{job['id']}", {"state": "UploadComplete"})
        return dict(sf.call("GET", f"{V}/jobs/ingest/{job['id']}")[1])

    info = run(
        {"object": "Product2", "operation": "upsert", "externalIdFieldName": "Intacct_Item_ID__c"},
        "Intacct_Item_ID__c,Name,IsActive\nMS-100,Renamed managed,true\nNEW-1,New item,false\n",
    )
    assert info["numberRecordsFailed"] == 0 and info["externalIdFieldName"] == "Intacct_Item_ID__c"
    assert api.count("Product2", "Name IN ('Renamed managed', 'New item')") == 2
    target = api.rows("Product2", "Intacct_Item_ID__c = 'NEW-1'", fields=["Id"])[0]["Id"]
    info = run(
        {"object": "Product2", "operation": "update"}, f"Id,Description\n{target},#N/A\nbogus,x\n"
    )
    assert info["numberRecordsFailed"] == 1
    info = run({"object": "Product2", "operation": "delete"}, f"Id\n{target}\n")
    assert (
        info["numberRecordsFailed"] == 0
        and api.count("Product2", "Intacct_Item_ID__c = 'NEW-1'") == 0
    )
    status, body, _ = sf.call(
        "POST",
        f"{V}/jobs/ingest",
        {"object": "Account", "operation": "upsert", "externalIdFieldName": "Nope"},
    )
    assert status == 400 and body[0]["errorCode"] == "INVALIDJOB"


def test_bulk_ingest_abort_leaves_unprocessed(sf: Sf) -> None:
    _, job, _ = sf.call("POST", f"{V}/jobs/ingest", {"object": "Account", "operation": "insert"})
    sf.call("PUT", f"{V}/jobs/ingest/{job['id']}/batches", raw=b"Name\nNever\n")
    _, info, _ = sf.call("PATCH", f"{V}/jobs/ingest/{job['id']}", {"state": "Aborted"})
    assert info["state"] == "Aborted"
    _, text, _ = sf.call("GET", f"{V}/jobs/ingest/{job['id']}/unprocessedrecords")
    assert rows_of(text) == [{"Name": "Never"}]


def test_bulk_query_job_with_locator_paging(sf: Sf) -> None:
    status, job, _ = sf.call(
        "POST",
        f"{V}/jobs/query",
        {
            "operation": "query",
            "query": "SELECT Id, Name, Account.Name, IsWon FROM Opportunity ORDER BY Name",
        },
    )
    assert status == 200
    _, info, _ = sf.call("GET", f"{V}/jobs/query/{job['id']}")
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 40
    assert set(sample("bulk2_query_job_info_complete.json")) <= set(info)
    seen: list[dict[str, str]] = []
    locator = ""
    while True:
        url = f"{V}/jobs/query/{job['id']}/results?maxRecords=15" + (
            f"&locator={locator}" if locator else ""
        )
        status, text, headers = sf.call("GET", url)
        assert status == 200 and text.splitlines()[0] == "Id,Name,Account.Name,IsWon"
        page = rows_of(text)
        assert headers["Sforce-NumberOfRecords"] == str(len(page))
        seen += page
        locator = headers["Sforce-Locator"]
        if locator == "null":
            break
    assert len(seen) == 40 and {r["IsWon"] for r in seen} == {"true", "false"}
    status, body, _ = sf.call(
        "POST",
        f"{V}/jobs/query",
        {"operation": "query", "query": "SELECT Id, (SELECT Id FROM Contacts) FROM Account"},
    )
    assert status == 400 and body[0]["errorCode"] == "API_ERROR"
    assert sf.call("GET", f"{V}/jobs/query/7508d0000000zzzAAA")[0] == 404


def test_seeded_order_to_cash(api: SalesforceApi) -> None:
    assert api.count("Account") == 30
    assert api.count("Account", "Intacct_Customer_ID__c != null") == 20
    names = {r["Name"] for r in api.rows("Account", fields=["Name"])}
    assert {
        "Northwind Traders",
        "Northwind Traders, Inc.",
        "Globex Corporation",
        "Globex Corp.",
    } <= names
    assert api.count("Product2") == 12 and api.count("Product2", "IsActive = false") == 1
    assert api.count("Pricebook2", "IsStandard = true") == 1
    assert api.count("Opportunity") == 40
    assert api.count("Opportunity", "IsWon = true") == 18
    assert api.count("Opportunity", "IsClosed = true AND IsWon = false") == 8
    assert api.count("User") == 5


def test_seeded_nonprofit(api: SalesforceApi) -> None:
    assert 300 <= api.count("Contact", "Donor_ID__c != null") <= 500
    assert api.count("Gift__c") > 2000
    assert api.count("Gift__c", "Gift_Date__c < LAST_N_YEARS:11") > 0  # twelve years of history
    sums = api.query_records(
        "SELECT Donor__c, SUM(Amount__c) total FROM Gift__c WHERE Gift_Date__c = LAST_N_DAYS:730 "
        "GROUP BY Donor__c"
    )
    majors = [r for r in sums if r["total"] > 50000]
    assert len(majors) >= 5
    lapsed = api.count(
        "Contact",
        "Donor_ID__c != null AND Id NOT IN (SELECT Donor__c FROM Gift__c WHERE Gift_Date__c = LAST_N_DAYS:730)",
    )
    assert lapsed > 50
    actions = api.rows(
        "Action__c", fields=["Name", "Tags__c", "Amount__c", "CreatedDate", "Status__c"]
    )
    assert len(actions) == 200 and all(a["Status__c"] == "New" for a in actions)
    assert api.count("Action__c", "CreatedDate = LAST_N_DAYS:30") == 200
    assert sum(EXCLUDE_TAG in a["Tags__c"] for a in actions) == 5
    assert sum(a["Amount__c"] <= 0 for a in actions) == 2
    tags = {t for a in actions for t in a["Tags__c"].split(";")}
    assert {
        "CR Account: 4000 Contributions - Individuals",
        "DR Account: 1000 Cash - Operating",
        "CR Location: HQ",
    } <= tags
    assert api.count("Intacct_Tag__c") == 0 and api.count("KPI_Daily_Total__c") == 0


def test_seed_is_deterministic() -> None:
    first, second = SalesforceApi(), SalesforceApi()
    soql = "SELECT Id, Name, Amount FROM Opportunity ORDER BY Id"
    assert first.query_records(soql) == second.query_records(soql)


def test_100k_opportunities_paged_over_http() -> None:
    api = SalesforceApi()
    # Speed is a benchmark figure (benchmarks/salesforce.py), never a timed assertion.
    api.seed_bulk("Opportunity", 100_000)
    server = LoopbackServer(api).start()
    api.base_url = server.url
    transport = RequestsTransport()
    try:
        headers = {"Authorization": f"Bearer {api.issue_token()}"}
        soql = "SELECT Id, Name, Amount, Account.Name, Owner.Name FROM Opportunity"
        url: str | None = f"{server.url}{V}/query?q={quote(soql)}"
        total = pages = 0
        while url:
            resp = transport.send(
                HttpRequest(method="GET", url=url, headers=headers), timeout=Timeout()
            )
            body = json.loads(resp.body)
            total += len(body["records"])
            pages += 1
            url = server.url + body["nextRecordsUrl"] if not body["done"] else None
        assert total == 100_040 and pages == 51
        assert body["records"][-1]["Owner"]["Name"]
    finally:
        transport.close()
        server.stop()

"""SalesforceClient end to end against the loopback Salesforce emulator."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from intacct_sync import sandbox
from intacct_sync._http.retry import RetryPolicy
from intacct_sync.errors import SalesforceError
from intacct_sync.salesforce import SalesforceClient, soql


class _NoSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sf(shared_sb: sandbox.Sandbox) -> Iterator[SalesforceClient]:
    shared_sb.salesforce.faults.clear()
    with shared_sb.salesforce_client(sleep=_NoSleep()) as client:
        yield client
    shared_sb.salesforce.faults.clear()


def test_paging_by_batch_size_gives_the_same_rows(shared_sb: sandbox.Sandbox) -> None:
    query = (
        "SELECT Id, Name, Amount__c, Gift_Date__c, Donor__r.LastName FROM Gift__c "
        "WHERE Gift_Date__c >= 2020-01-01 ORDER BY Id"
    )
    with (
        shared_sb.salesforce_client() as whole,
        shared_sb.salesforce_client(batch_size=200) as paged,
    ):
        everything = whole.query(query)
        pages = list(paged.iter_query(query))
    assert len(everything) > 200, "the seed should need more than one page of 200"
    assert len(pages) > 1 and all(len(p) <= 200 for p in pages)
    assert all(list(p.dtypes) == list(everything.dtypes) for p in pages)
    combined = pd.concat(pages, ignore_index=True)
    assert combined["Id"].tolist() == everything["Id"].tolist()
    assert str(everything["Gift_Date__c"].dtype) == "datetime64[us]"
    assert all(isinstance(v, Decimal) for v in everything["Amount__c"])
    assert everything["Donor__r.LastName"].notna().any()


def test_closed_won_with_line_items(sf: SalesforceClient) -> None:
    opps = sf.query(
        "SELECT Id, Name, Amount, Account.Name, (SELECT Id, Quantity, UnitPrice, TotalPrice, "
        "PricebookEntry.Product2.Name FROM OpportunityLineItems) FROM Opportunity "
        "WHERE StageName = 'Closed Won'"
    )
    lines = opps.attrs["children"]["OpportunityLineItems"]
    assert len(opps) > 0 and len(lines) > 0
    assert set(lines["parent_id"]) <= set(opps["Id"])
    assert lines["PricebookEntry.Product2.Name"].notna().any()
    assert all(isinstance(v, Decimal) for v in lines["UnitPrice"])


def test_empty_result_keeps_typed_columns(sf: SalesforceClient) -> None:
    frame = sf.query(
        soql("SELECT Id, Amount, CloseDate, IsWon FROM Opportunity WHERE Name = {}", "no ' such")
    )
    assert frame.empty
    assert [str(t) for t in frame.dtypes] == ["string", "object", "datetime64[us]", "boolean"]


def test_count_and_aggregate(sf: SalesforceClient) -> None:
    count = sf.query("SELECT COUNT() FROM Account")["count"][0]
    assert count > 0
    totals = sf.query("SELECT StageName, SUM(Amount) total FROM Opportunity GROUP BY StageName")
    assert list(totals.columns) == ["StageName", "total"]


def test_upsert_created_then_updated(sf: SalesforceClient) -> None:
    records: list[dict[str, Any]] = [
        {
            "Name": "Upsert Co A",
            "Intacct_Customer_ID__c": "UPS-A",
            "AR_Current__c": Decimal("10.10"),
        },
        {"Name": "Upsert Co B", "Intacct_Customer_ID__c": "UPS-B"},
    ]
    first = sf.upsert("Account", records, external_id_field="Intacct_Customer_ID__c")
    assert first["status"].tolist() == ["created", "created"]
    again = sf.upsert("Account", records, external_id_field="Intacct_Customer_ID__c")
    assert again["status"].tolist() == ["updated", "updated"]
    assert again["id"].tolist() == first["id"].tolist()
    back = sf.query(soql("SELECT AR_Current__c FROM Account WHERE Id = {}", first["id"][0]))
    assert back["AR_Current__c"][0] == Decimal("10.10")


def test_collections_create_update_delete(sf: SalesforceClient) -> None:
    created = sf.create("Account", [{"Name": f"Bulk-ish {i}"} for i in range(250)] + [{}])
    assert created["status"].tolist()[:250] == ["created"] * 250
    assert created["status"].tolist()[250] == "failed"  # Name is required
    ids = created["id"].dropna().tolist()
    updated = sf.update("Account", [{"Id": i, "Phone": "555"} for i in ids[:3]])
    assert updated["status"].tolist() == ["updated"] * 3
    deleted = sf.delete("Account", ids)
    assert (deleted["status"] == "deleted").all()
    gone = sf.query_all(soql("SELECT Id, IsDeleted FROM Account WHERE Id IN {}", ids[:2]))
    assert gone["IsDeleted"].all()


def test_composite_opportunity_with_line(sf: SalesforceClient) -> None:
    entry = sf.query("SELECT Id, UnitPrice FROM PricebookEntry LIMIT 1")
    account = sf.query("SELECT Id FROM Account LIMIT 1")["Id"][0]
    result = sf.composite(
        [
            {
                "method": "POST",
                "url": "sobjects/Opportunity",
                "referenceId": "opp",
                "body": {
                    "Name": "Composite opp",
                    "StageName": "Prospecting",
                    "CloseDate": "2025-06-30",
                    "AccountId": account,
                },
            },
            {
                "method": "POST",
                "url": "sobjects/OpportunityLineItem",
                "referenceId": "line",
                "body": {
                    "OpportunityId": "@{opp.id}",
                    "PricebookEntryId": entry["Id"][0],
                    "Quantity": 2,
                    "UnitPrice": Decimal("99.95"),
                },
            },
        ],
        all_or_none=True,
    )
    assert result.ok, result.to_frame()
    assert result["opp"].id and result["line"].id


def test_bulk_ingest_and_query(sf: SalesforceClient) -> None:
    records = pd.DataFrame(
        {
            "Name": [f"Bulk {i}" for i in range(5)],
            "Intacct_Customer_ID__c": [f"BLK-{i}" for i in range(5)],
        }
    )
    outcomes = sf.upsert(
        "Account", records, external_id_field="Intacct_Customer_ID__c", use_bulk=True
    )
    assert outcomes["status"].tolist() == ["created"] * 5
    frame = sf.bulk_query(
        "SELECT Id, Name, Intacct_Customer_ID__c FROM Account "
        "WHERE Intacct_Customer_ID__c LIKE 'BLK-%'"
    )
    assert sorted(frame["Intacct_Customer_ID__c"]) == [f"BLK-{i}" for i in range(5)]


def test_throttling_is_retried(shared_sb: sandbox.Sandbox) -> None:
    shared_sb.salesforce.faults.throttle_rate = 0.5
    shared_sb.salesforce.faults.reseed(7)
    sleeps = _NoSleep()
    try:
        with shared_sb.salesforce_client(sleep=sleeps, retry=RetryPolicy(max_retries=10)) as sf:
            for _ in range(5):
                assert len(sf.query("SELECT Id FROM Account LIMIT 3")) == 3
    finally:
        shared_sb.salesforce.faults.clear()
    assert sleeps.waits, "some calls should have been throttled and retried"


def test_malformed_query_is_an_error(sf: SalesforceClient) -> None:
    with pytest.raises(SalesforceError) as info:
        sf.query("SELECT Bacon__c FROM Account")
    assert info.value.error_code in ("INVALID_FIELD", "MALFORMED_QUERY")


def test_limits_and_usage(sf: SalesforceClient) -> None:
    limits = sf.limits()
    assert "DailyApiRequests" in set(limits["Name"])
    assert sf.api_usage is not None and sf.api_usage.limit > 0

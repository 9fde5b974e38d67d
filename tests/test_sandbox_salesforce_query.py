"""Salesforce sandbox: SOQL query, paging, relationships, aggregates and the subset's limits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from intacct_sync.sandbox.salesforce.api import SalesforceApi
from intacct_sync.sandbox.salesforce.schema import OBJECTS
from intacct_sync.sandbox.salesforce.soql import SoqlError, compile_query, decode_string
from tests.sf_emulator import Sf


@pytest.fixture(scope="module")
def sf() -> Sf:
    return Sf(SalesforceApi())


def ok(result: tuple[int, Any, dict[str, str]]) -> Any:
    status, body, _ = result
    assert status == 200, body
    return body


def error(result: tuple[int, Any, dict[str, str]], code: str, status: int = 400) -> str:
    got_status, body, _ = result
    assert got_status == status, body
    assert body[0]["errorCode"] == code, body
    return str(body[0]["message"])


def test_simple_query_shapes_records(sf: Sf) -> None:
    body = ok(sf.query("SELECT Id, Name, IsActive, Family FROM Product2 ORDER BY ProductCode"))
    assert body["totalSize"] == 12 and body["done"] is True and "nextRecordsUrl" not in body
    rec = body["records"][0]
    assert list(rec) == ["attributes", "Id", "Name", "IsActive", "Family"]
    assert rec["attributes"] == {
        "type": "Product2",
        "url": f"/services/data/v62.0/sobjects/Product2/{rec['Id']}",
    }
    assert isinstance(rec["IsActive"], bool)
    assert len(rec["Id"]) == 18 and rec["Id"].startswith("01t")


def test_types_serialise_like_salesforce(sf: Sf) -> None:
    body = ok(sf.query("SELECT Amount, CloseDate, CreatedDate, IsWon FROM Opportunity LIMIT 1"))
    rec = body["records"][0]
    assert isinstance(rec["Amount"], int | float)
    dt.date.fromisoformat(rec["CloseDate"])
    assert dt.datetime.strptime(rec["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z").tzinfo is not None
    assert rec["CreatedDate"].endswith("+0000")
    assert isinstance(rec["IsWon"], bool)


def test_paging_to_the_end_with_batch_size(sf: Sf) -> None:
    first = ok(sf.query("SELECT Id FROM Gift__c ORDER BY Gift_Date__c", batch=500))
    total = first["totalSize"]
    assert total > 2000 and len(first["records"]) == 500 and first["done"] is False
    url = first["nextRecordsUrl"]
    assert url.startswith("/services/data/v62.0/query/01g") and url.endswith("-500")
    seen = [r["Id"] for r in first["records"]]
    while url:
        page = ok(sf.call("GET", url))
        assert page["totalSize"] == total
        seen += [r["Id"] for r in page["records"]]
        url = page.get("nextRecordsUrl")
        assert (url is None) == page["done"]
    assert len(seen) == total == len(set(seen))


def test_default_batch_is_2000_and_small_batch_clamped(sf: Sf) -> None:
    assert len(ok(sf.query("SELECT Id FROM Gift__c"))["records"]) == 2000
    assert len(ok(sf.query("SELECT Id FROM Gift__c", batch=10))["records"]) == 200


def test_invalid_locator(sf: Sf) -> None:
    result = sf.call("GET", "/services/data/v62.0/query/01g8d0000000zzzAAA-2000")
    error(result, "INVALID_QUERY_LOCATOR")


def test_parent_relationships_and_null_parent(sf: Sf) -> None:
    body = ok(
        sf.query(
            "SELECT Name, Account.Name, Account.Owner.Name, Owner.Name FROM Contact "
            "WHERE Donor_ID__c = 'D-00001'"
        )
    )
    rec = body["records"][0]
    assert rec["Account"] is None
    assert rec["Owner"]["attributes"]["type"] == "User"
    with_account = ok(sf.query("SELECT Account.Owner.Name FROM Contact WHERE AccountId != null"))
    owner = with_account["records"][0]["Account"]["Owner"]
    assert owner["attributes"]["type"] == "User" and owner["Name"]


def test_two_hop_parent_on_line_items(sf: Sf) -> None:
    body = ok(
        sf.query(
            "SELECT Id, pricebookentry.product2.Family, PricebookEntry.Name "
            "FROM OpportunityLineItem LIMIT 3"
        )
    )
    rec = body["records"][0]
    assert set(rec["PricebookEntry"]) == {"attributes", "Product2", "Name"}
    assert set(rec["PricebookEntry"]["Product2"]) == {"attributes", "Family"}


def test_child_subquery_nested_and_null(sf: Sf) -> None:
    body = ok(
        sf.query(
            "SELECT Name, (SELECT Quantity, UnitPrice, TotalPrice, Product2Id "
            "FROM OpportunityLineItems ORDER BY TotalPrice DESC) FROM Opportunity "
            "WHERE StageName = 'Closed Won' ORDER BY Name"
        )
    )
    nested = [r["OpportunityLineItems"] for r in body["records"]]
    assert None in nested  # a Closed Won opportunity without lines
    some = next(n for n in nested if n)
    assert list(some) == ["totalSize", "done", "records"]
    totals = [r["TotalPrice"] for r in some["records"]]
    assert totals == sorted(totals, reverse=True)


def test_seeded_validation_cases(sf: Sf) -> None:
    body = ok(
        sf.query(
            "SELECT Id, Amount, (SELECT TotalPrice, Product2Id FROM OpportunityLineItems) "
            "FROM Opportunity WHERE IsWon = true"
        )
    )
    mismatched = lacking = 0
    for rec in body["records"]:
        lines = (rec["OpportunityLineItems"] or {}).get("records", [])
        if lines and round(sum(x["TotalPrice"] for x in lines), 2) != rec["Amount"]:
            mismatched += 1
        lacking += sum(1 for x in lines if x["Product2Id"] is None)
    assert mismatched == 1 and lacking == 1


def test_child_subquery_paging_above_200() -> None:
    api = SalesforceApi()
    sf = Sf(api)
    opp = api.rows("Opportunity", "IsWon = true", fields=["Id", "Pricebook2Id"])[0]
    entry = api.rows("PricebookEntry", fields=["Id"])[0]["Id"]
    lines = [
        {"OpportunityId": opp["Id"], "PricebookEntryId": entry, "Quantity": 1} for _ in range(450)
    ]
    api.store.insert_many(OBJECTS["OpportunityLineItem"], lines)
    body = ok(
        sf.query(
            f"SELECT Id, (SELECT Id FROM OpportunityLineItems) FROM Opportunity "
            f"WHERE Id = '{opp['Id']}'"
        )
    )
    nested = body["records"][0]["OpportunityLineItems"]
    total = nested["totalSize"]
    assert total > 450 and nested["done"] is False and len(nested["records"]) == 200
    ids = [r["Id"] for r in nested["records"]]
    more = ok(sf.call("GET", nested["nextRecordsUrl"]))
    assert more["done"] is True
    ids += [r["Id"] for r in more["records"]]
    assert len(ids) == len(set(ids)) == total


def test_where_operators(sf: Sf) -> None:
    def count(where: str) -> int:
        return int(ok(sf.query(f"SELECT COUNT() FROM Opportunity WHERE {where}"))["totalSize"])

    total = count("Name != null")
    won, lost = count("StageName = 'Closed Won'"), count("StageName = 'closed lost'")
    assert won == 18 and lost == 8
    assert count("StageName IN ('Closed Won', 'Closed Lost')") == won + lost
    assert count("StageName NOT IN ('Closed Won', 'Closed Lost')") == total - won - lost
    assert count("NOT (IsClosed = true)") == total - won - lost
    assert count("(IsWon = true OR StageName = 'Closed Lost') AND Amount >= 0") == won + lost
    assert count("Amount >= 0 AND Amount <= 100000000") == total
    assert count("CloseDate < TODAY") == won + lost
    assert count("CloseDate > 2000-01-01 AND CreatedDate < 2999-01-01T00:00:00Z") == total
    assert count("Account.Name LIKE 'north%'") >= 1
    assert count("Intacct_Document_ID__c = null") == total - 3
    assert count("CloseDate = LAST_N_DAYS:365 OR CloseDate = NEXT_N_DAYS:365") == total


def test_semi_join(sf: Sf) -> None:
    body = ok(
        sf.query(
            "SELECT COUNT() FROM Contact WHERE Id IN (SELECT Donor__c FROM Gift__c "
            "WHERE Amount__c > 25000)"
        )
    )
    assert body["totalSize"] >= 8


def test_order_limit_offset_nulls(sf: Sf) -> None:
    names = [
        r["Name"]
        for r in ok(sf.query("SELECT Name FROM Account ORDER BY Name DESC LIMIT 5 OFFSET 2"))[
            "records"
        ]
    ]
    everything = [r["Name"] for r in ok(sf.query("SELECT Name FROM Account"))["records"]]
    assert names == sorted(everything, key=str.lower, reverse=True)[2:7]
    first = ok(sf.query("SELECT Intacct_Item_ID__c FROM Product2 ORDER BY Intacct_Item_ID__c"))
    assert first["records"][0]["Intacct_Item_ID__c"] is None  # nulls first by default
    last = ok(
        sf.query("SELECT Intacct_Item_ID__c FROM Product2 ORDER BY Intacct_Item_ID__c NULLS LAST")
    )
    assert last["records"][-1]["Intacct_Item_ID__c"] is None
    limited = ok(sf.query("SELECT Id FROM Gift__c LIMIT 2500"))
    assert limited["totalSize"] == 2500


def test_aggregates(sf: Sf) -> None:
    body = ok(
        sf.query(
            "SELECT StageName, COUNT(Id), SUM(Amount) total FROM Opportunity GROUP BY StageName ORDER BY StageName"
        )
    )
    rec = body["records"][0]
    assert rec["attributes"] == {"type": "AggregateResult"}
    assert list(rec) == ["attributes", "StageName", "expr0", "total"]
    assert sum(r["expr0"] for r in body["records"]) == 40
    single = ok(sf.query("SELECT COUNT(Id), MAX(CloseDate), AVG(Amount) FROM Opportunity"))
    assert set(single["records"][0]) == {"attributes", "expr0", "expr1", "expr2"}
    error(sf.query("SELECT Name, COUNT(Id) FROM Account GROUP BY Industry"), "MALFORMED_QUERY")


def test_query_all_includes_deleted() -> None:
    api = SalesforceApi()
    sf = Sf(api)
    target = api.rows("Account", "Intacct_Customer_ID__c = 'C-1001'", fields=["Id"])[0]["Id"]
    assert sf.call("DELETE", f"/services/data/v62.0/sobjects/Account/{target}")[0] == 204
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{target}'"
    assert ok(sf.query(soql))["totalSize"] == 0
    rec = ok(sf.query(soql, all_rows=True))["records"][0]
    assert rec["IsDeleted"] is True
    # cascade: its opportunities and their line items are deleted too
    assert api.count("Opportunity", f"AccountId = '{target}'") == 0
    assert api.count("Opportunity", f"AccountId = '{target}'", include_deleted=True) > 0


@pytest.mark.parametrize(
    "value",
    [
        "O'Malley",
        "back\\slash",
        'double "quote"',
        "' OR Name != '",
        "%_wild",
        "line\nbreak",
        "\\' OR 1=1 --",
    ],
)
def test_hostile_literals_are_data(value: str) -> None:
    api = SalesforceApi()
    sf = Sf(api)
    api.insert("Account", [{"Name": value}])
    escaped = (
        value.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"').replace("\n", "\\n")
    )
    body = ok(sf.query(f"SELECT Name FROM Account WHERE Name = '{escaped}'"))
    assert [r["Name"] for r in body["records"]] == [value]
    like = escaped.replace("%", "\\%").replace("_", "\\_")
    assert ok(sf.query(f"SELECT Name FROM Account WHERE Name LIKE '{like}'"))["totalSize"] == 1


def test_decode_string_escapes() -> None:
    assert decode_string(r"'a\'b\"c\\d\n\t\u00e9'") == "a'b\"c\\d\n\té"
    assert decode_string(r"'50\%\_x%'", like=True) == "50\\%\\_x%"
    with pytest.raises(SoqlError):
        decode_string(r"'bad\q'")


@pytest.mark.parametrize(
    "soql",
    [
        "SELEKT Id FROM Account",
        "SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
        "SELECT FIELDS(ALL) FROM Account LIMIT 200",
        "SELECT Id FROM Account WITH SECURITY_ENFORCED",
        "SELECT Id FROM Account FOR UPDATE",
        "SELECT Id, TYPEOF Owner WHEN User THEN Name END FROM Account",
        "SELECT Id FROM Account WHERE Name = :name",
        'SELECT Id FROM Account WHERE Name = "x"',
        "SELECT Id FROM Account WHERE Name = 'unterminated",
        "SELECT Name, COUNT(Id) FROM Account GROUP BY Name HAVING COUNT(Id) > 1",
        "SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2024",
        "SELECT Id FROM Account LIMIT",
        "SELECT Id FROM Account ORDER BY",
        "",
    ],
)
def test_unsupported_syntax_is_malformed_query(sf: Sf, soql: str) -> None:
    error(sf.query(soql), "MALFORMED_QUERY")


def test_invalid_field_and_type_shapes(sf: Sf) -> None:
    message = error(sf.query("SELECT Bacon__c FROM Account LIMIT 2"), "INVALID_FIELD")
    assert message.startswith(
        "\nSELECT Bacon__c FROM Account LIMIT 2\n       ^\nERROR at Row:1:Column:8\n"
    )
    assert "No such column 'Bacon__c' on entity 'Account'" in message
    assert "relationship 'Nope'" in error(
        sf.query("SELECT Nope.Name FROM Account"), "INVALID_FIELD"
    )
    assert "'XYZZY' is not supported" in error(
        sf.query("select count() from XYZZY"), "INVALID_TYPE"
    )
    error(sf.query("SELECT Id, (SELECT Id FROM Nothing) FROM Account"), "INVALID_TYPE")
    error(sf.query("SELECT Id FROM Account WHERE Name = 5"), "INVALID_FIELD")
    error(sf.query("SELECT Id FROM Opportunity WHERE Amount = '5'"), "INVALID_FIELD")
    error(sf.query("SELECT Id FROM Action__c WHERE Tags__c LIKE '%CR%'"), "INVALID_FIELD")
    error(sf.query("SELECT Id FROM Account WHERE Id = 'nope'"), "INVALID_QUERY_FILTER_OPERATOR")
    error(sf.query("SELECT Id FROM Account OFFSET 2001"), "NUMBER_OUTSIDE_VALID_RANGE")


def test_compile_never_interpolates_literals() -> None:
    compiled = compile_query("SELECT Id FROM Account WHERE Name = 'x\\' OR 1=1'")
    assert "OR 1=1" not in compiled.sql and compiled.params == ["x' OR 1=1"]


def test_api_version_rules(sf: Sf) -> None:
    assert sf.call("GET", "/services/data/v45.0/query?q=SELECT+Id+FROM+Account")[0] == 404
    assert sf.call("GET", "/services/data/v46.0/query?q=SELECT+Id+FROM+Account")[0] == 200
    status, versions, _ = sf.call("GET", "/services/data/")
    assert status == 200 and versions[-1]["version"] == "62.0"
    assert set(versions[0]) == {"label", "url", "version"}


def test_query_all_without_where_returns_every_row(sf: Sf) -> None:
    status, body, _ = sf.query("SELECT Id FROM Account", all_rows=True)
    assert status == 200, body
    assert body["totalSize"] >= 30

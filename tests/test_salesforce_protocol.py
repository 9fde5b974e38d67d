"""The Salesforce wire format: SELECT parsing, flattening, typing, errors, JSON and CSV out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from intacct_sync.errors import (
    InputError,
    ProtocolError,
    SalesforceAuthenticationError,
    SalesforceError,
    SalesforceLimitError,
)
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce.models import SObjectDescribe


def columns(soql: str) -> list[str] | None:
    select = wire.parse_select(soql)
    if select is None:
        return None
    return [c.name for c in wire.QueryShape.build(select, lambda _: None).columns]


@pytest.mark.parametrize(
    ("soql", "expected"),
    [
        ("SELECT Id, Name FROM Account", ["Id", "Name"]),
        ("select id,name from account where name = 'a, (b)' limit 5", ["id", "name"]),
        (
            "SELECT Account.Name, Owner.Profile.Name FROM Opportunity",
            ["Account.Name", "Owner.Profile.Name"],
        ),
        ("SELECT a.Name FROM Account a WHERE a.Name != null", ["Name"]),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Account", ["Id"]),
        (
            "SELECT Name, SUM(Amount), MAX(CloseDate) latest, COUNT(Id) FROM Opportunity GROUP BY Name",
            ["Name", "expr0", "latest", "expr1"],
        ),
        (
            "SELECT Account.Name, COUNT(Id) FROM Opportunity GROUP BY Account.Name",
            ["Name", "expr0"],
        ),
        (
            "SELECT CALENDAR_YEAR(CloseDate) yr, SUM(Amount) FROM Opportunity GROUP BY CALENDAR_YEAR(CloseDate)",
            ["yr", "expr0"],
        ),
        ("SELECT toLabel(StageName), FORMAT(Amount) amt FROM Opportunity", ["StageName", "amt"]),
        ("SELECT COUNT() FROM Account", []),
        ("SELECT FIELDS(STANDARD) FROM Account LIMIT 200", []),
        (
            "SELECT Id, TYPEOF What WHEN Account THEN Name, Phone WHEN Opportunity THEN Amount ELSE Name END FROM Event",
            ["Id", "What.Name", "What.Phone", "What.Amount"],
        ),
        (
            "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact) ORDER BY Name",
            ["Id"],
        ),
        ("SELECT Id FROM Account WITH SECURITY_ENFORCED", ["Id"]),
    ],
)
def test_select_list(soql: str, expected: list[str]) -> None:
    assert columns(soql) == expected


@pytest.mark.parametrize(
    "soql",
    [
        "SELEKT Id FROM Account",
        "SELECT FROM Account",
        "SELECT Id",
        "SELECT DISTANCE(a, GEOLOCATION(1,2), 'mi') FROM X",
        "SELECT Id FROM Account WHERE Name = 'unterminated",
        "",
    ],
)
def test_unparsable_select_is_none(soql: str) -> None:
    assert wire.parse_select(soql) is None


def test_count_only_and_aggregate_flags() -> None:
    count = wire.parse_select("SELECT COUNT() FROM Account")
    assert count is not None and count.count_only and not count.aggregate
    grouped = wire.parse_select("SELECT Name FROM Account GROUP BY Name")
    assert grouped is not None and grouped.aggregate


def test_subquery_structure() -> None:
    select = wire.parse_select(
        "SELECT Id, (SELECT Id, PricebookEntry.Product2.Name FROM OpportunityLineItems "
        "WHERE Quantity > 1 ORDER BY Id) FROM Opportunity WHERE IsWon = true"
    )
    assert select is not None
    sub = select.items[1]
    assert isinstance(sub, wire.SubqueryItem) and sub.relationship == "OpportunityLineItems"
    assert sub.select.items == (
        wire.FieldItem(("Id",)),
        wire.FieldItem(("PricebookEntry", "Product2", "Name")),
    )


DESCRIBES = {
    "opportunitylineitem": SObjectDescribe.from_json(
        {
            "name": "OpportunityLineItem",
            "fields": [
                {"name": "UnitPrice", "type": "currency", "scale": 2},
                {
                    "name": "PricebookEntryId",
                    "type": "reference",
                    "relationshipName": "PricebookEntry",
                    "referenceTo": ["PricebookEntry"],
                },
            ],
        }
    ),
    "pricebookentry": SObjectDescribe.from_json(
        {
            "name": "PricebookEntry",
            "fields": [
                {
                    "name": "Product2Id",
                    "type": "reference",
                    "relationshipName": "Product2",
                    "referenceTo": ["Product2"],
                },
            ],
        }
    ),
    "product2": SObjectDescribe.from_json(
        {
            "name": "Product2",
            "fields": [{"name": "Name", "type": "string"}, {"name": "IsActive", "type": "boolean"}],
        }
    ),
}


def test_describe_walk_gives_canonical_names_and_kinds() -> None:
    select = wire.parse_select(
        "SELECT unitprice, pricebookentry.product2.name, PriceBookEntry.Product2.isactive "
        "FROM OpportunityLineItem"
    )
    shape = wire.QueryShape.build(select, lambda n: DESCRIBES.get(n.lower()))
    assert [(c.name, c.kind) for c in shape.columns] == [
        ("UnitPrice", "decimal"),
        ("PricebookEntry.Product2.Name", "text"),
        ("PricebookEntry.Product2.IsActive", "boolean"),
    ]


def test_currency_int_and_float_are_both_exact_decimals() -> None:
    select = wire.parse_select("SELECT UnitPrice FROM OpportunityLineItem")
    shape = wire.QueryShape.build(select, lambda n: DESCRIBES.get(n.lower()))
    records = wire.loads(
        b'[{"UnitPrice": 1300}, {"UnitPrice": 0.1}, {"UnitPrice": 1e2},'
        b' {"UnitPrice": 12345678901234567.89}, {"UnitPrice": null}]'
    )
    frame = shape.frame([wire.flatten(r)[0] for r in records])
    assert frame["UnitPrice"].tolist() == [
        Decimal(1300),
        Decimal("0.1"),
        Decimal("1E+2"),
        Decimal("12345678901234567.89"),
        None,
    ]


def test_flatten_drops_attributes_and_separates_children() -> None:
    record = {
        "attributes": {"type": "Account", "url": "/x/001A"},
        "Name": "A",
        "Owner": {"attributes": {"type": "User"}, "Name": "O", "Manager": None},
        "Parent": None,
        "Contacts": {"totalSize": 1, "done": True, "records": [{"LastName": "L"}]},
        "Opportunities": None,
        "BillingAddress": {"city": "Paris", "country": "FR"},
    }
    flat, children = wire.flatten(record)
    assert flat == {
        "Name": "A",
        "Owner.Name": "O",
        "Owner.Manager": None,
        "Parent": None,
        "Opportunities": None,
        "BillingAddress.city": "Paris",
        "BillingAddress.country": "FR",
    }
    assert list(children) == ["Contacts"]
    assert wire.record_id(record) == "001A"


def test_guessed_kinds_without_describe() -> None:
    shape = wire.QueryShape.build(wire.parse_select("SELECT A, B, C, D FROM X"), lambda _: None)
    frame = shape.frame(
        [
            {"A": 1, "B": True, "C": Decimal("1.5"), "D": "t"},
            {"A": None, "B": None, "C": 2, "D": None},
        ]
    )
    assert [str(t) for t in frame.dtypes] == ["Int64", "boolean", "object", "string"]


@pytest.mark.parametrize(
    ("status", "body", "code", "retry", "cls"),
    [
        (
            403,
            b'[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"TotalRequests Limit exceeded."}]',
            "REQUEST_LIMIT_EXCEEDED",
            False,  # the daily allocation: retrying spends more of a spent limit
            SalesforceLimitError,
        ),
        (
            403,
            b'[{"errorCode":"REQUEST_LIMIT_EXCEEDED",'
            b'"message":"ConcurrentPerOrgLongTxn Limit exceeded."}]',
            "REQUEST_LIMIT_EXCEEDED",
            True,  # too many at once: frees in seconds
            SalesforceError,
        ),
        (
            403,
            b'[{"errorCode":"REQUEST_LIMIT_EXCEEDED","message":"some other wording"}]',
            "REQUEST_LIMIT_EXCEEDED",
            False,  # unrecognised: taken for the daily limit, never retried blindly
            SalesforceLimitError,
        ),
        (
            503,
            b'[{"errorCode":"SERVER_UNAVAILABLE","message":"x"}]',
            "SERVER_UNAVAILABLE",
            True,
            SalesforceError,
        ),
        (
            400,
            b'[{"errorCode":"UNABLE_TO_LOCK_ROW","message":"x"}]',
            "UNABLE_TO_LOCK_ROW",
            True,
            SalesforceError,
        ),
        (
            500,
            b'[{"errorCode":"UNKNOWN_EXCEPTION","message":"x"}]',
            "UNKNOWN_EXCEPTION",
            True,
            SalesforceError,
        ),
        (
            400,
            b'[{"errorCode":"MALFORMED_QUERY","message":"x"}]',
            "MALFORMED_QUERY",
            False,
            SalesforceError,
        ),
        (
            401,
            b'[{"errorCode":"INVALID_SESSION_ID","message":"x"}]',
            "INVALID_SESSION_ID",
            False,
            SalesforceAuthenticationError,
        ),
        (
            400,
            b'{"error":"invalid_client","error_description":"bad"}',
            "invalid_client",
            False,
            SalesforceAuthenticationError,
        ),
        (
            400,
            b'{"errorCode":"INVALIDJOB","message":"bulk shape"}',
            "INVALIDJOB",
            False,
            SalesforceError,
        ),
        (503, b"", "HTTP_503", True, SalesforceError),
    ],
)
def test_error_bodies(status: int, body: bytes, code: str, retry: bool, cls: type) -> None:
    exc = wire.error_from_response(status, body, retry_after=3.0)
    assert type(exc) is cls
    assert isinstance(exc, SalesforceError)
    assert (exc.error_code, exc.should_retry, exc.http_status) == (code, retry, status)
    assert exc.retry_after == 3.0
    assert not body or body.decode() not in repr(exc)  # raw stays out of repr
    assert exc.raw == body


def test_html_error_quotes_first_bytes() -> None:
    exc = wire.error_from_response(503, b"<!DOCTYPE html><html>Maintenance</html>")
    assert isinstance(exc, ProtocolError) and exc.should_retry
    assert "<!DOCTYPE html>" in str(exc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": Decimal("1.10")}, b'{"a":1.10}'),
        ({"a": Decimal("1E+3")}, b'{"a":1000}'),
        ({"a": 0.1}, b'{"a":0.1}'),
        ({"d": dt.date(2024, 2, 29)}, b'{"d":"2024-02-29"}'),
        ({"d": dt.datetime(2024, 2, 29, 0, 0)}, b'{"d":"2024-02-29"}'),
        (
            {"t": dt.datetime(2024, 2, 29, 1, 2, 3, 456789, tzinfo=dt.UTC)},
            b'{"t":"2024-02-29T01:02:03.456Z"}',
        ),
        ({"s": 'é"\\'}, '{"s":"é\\"\\\\"}'.encode()),
        ({"n": None, "b": False, "l": [1, "x"]}, b'{"n":null,"b":false,"l":[1,"x"]}'),
    ],
)
def test_dumps(value: Any, expected: bytes) -> None:
    assert wire.dumps(value) == expected


@pytest.mark.parametrize(
    "value", [float("nan"), Decimal("sNaN"), dt.datetime(2024, 1, 1, 9, 30), object()]
)
def test_dumps_refuses(value: Any) -> None:
    with pytest.raises(InputError):
        wire.dumps({"x": value}, row=3)


def test_prepare_records_rules() -> None:
    frame = pd.DataFrame({"A": [1.0, None], "B": pd.array(["x", None], dtype="string")})
    assert wire.prepare_records(frame) == [{"A": 1.0, "B": "x"}, {}]
    assert wire.prepare_records([{"A": None, "B": float("nan"), "C": pd.NA, "attributes": {}}]) == [
        {"A": None}
    ]


def test_records_to_csv_quotes_and_nulls() -> None:
    body = wire.records_to_csv(
        [{"Name": 'A, "B"\nC', "Amount": Decimal("1.50")}, {"Name": None, "Flag": True}],
        rows=[0, 1],
    )
    assert body == b'Name,Amount,Flag\n"A, ""B""\nC",1.50,\n#N/A,,true\n'
    _, rows = wire.parse_csv(body)
    assert rows[0] == ['A, "B"\nC', "1.50", ""]


def test_truncated_csv_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        wire.parse_csv(b"a,b\n1,2\n3")


def test_bulk_error_without_fields() -> None:
    detail = wire.parse_bulk_error(
        "DUPLICATE_VALUE:duplicate value found: Ext__c duplicates value on record with id: 001:--"
    )
    assert detail.error_code == "DUPLICATE_VALUE"
    assert detail.message.startswith("duplicate value found: Ext__c")


def test_outcome_rows_must_match_the_records_sent() -> None:
    with pytest.raises(ProtocolError):
        wire.outcome_rows([{"success": True}], operation="create", rows=[0, 1])

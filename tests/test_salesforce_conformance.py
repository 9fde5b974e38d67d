"""Every sample in ../shared/conformance/salesforce is read by the parsers and its meaning asserted.

A new sample without an entry in ``CHECKS`` fails ``test_every_sample_has_a_check``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pandas as pd
import pytest

from intacct_sync._http.transport import HttpResponse
from intacct_sync.errors import SalesforceAuthenticationError, SalesforceError
from intacct_sync.outcomes import DONE_STATUSES
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce.auth import parse_token_response
from intacct_sync.salesforce.client import IngestResult
from intacct_sync.salesforce.models import ApiUsage, BulkJob, SObjectDescribe

CONFORMANCE = Path(__file__).parents[1].parent / "shared" / "conformance" / "salesforce"
INDEX = {e["file"]: e for e in json.loads((CONFORMANCE / "index.json").read_text())}
SAMPLES = sorted(p.name for p in CONFORMANCE.iterdir() if p.suffix in (".json", ".csv"))


def body(name: str) -> bytes:
    return (CONFORMANCE / name).read_bytes()


def soql_of(name: str) -> str:
    endpoint = unquote(INDEX[name]["http"]["endpoint"])
    return endpoint.split("q=", 1)[1]


def opportunity_describe() -> SObjectDescribe:
    return SObjectDescribe.from_json(json.loads(body("describe_opportunity_excerpt.json")))


def describer(*describes: SObjectDescribe) -> Callable[[str], SObjectDescribe | None]:
    by_name = {d.name.lower(): d for d in describes}
    return lambda name: by_name.get(name.lower())


def run_query(
    name: str,
    describe: Callable[[str], SObjectDescribe | None] = lambda _: None,
    *,
    soql: str | None = None,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], wire.QueryPage]:
    """Parse a query sample the way the client does (no child paging needed here)."""
    shape = wire.QueryShape.build(wire.parse_select(soql or soql_of(name)), describe)
    page = wire.QueryPage.from_json(wire.loads(body(name)))
    rows = []
    kids: dict[str, tuple[list[Any], list[dict[str, Any]]]] = {}
    for record in page.records:
        flat, children = wire.flatten(record)
        rows.append(flat)
        for rel, nested in children.items():
            bucket = kids.setdefault(rel, ([], []))
            if nested is None:
                continue
            for child in wire.QueryPage.from_json(nested).records:
                bucket[0].append(wire.record_id(record))
                bucket[1].append(wire.flatten(child)[0])
    frames = {
        rel: shape.child_shape(rel).frame(recs, leading={wire.PARENT_ID: parents})
        for rel, (parents, recs) in kids.items()
    }
    return shape.frame(rows), frames, page


def na(value: Any) -> bool:
    return bool(pd.isna(value))


def error_of(name: str) -> SalesforceError:
    status = INDEX[name]["http"]["status"]
    exc = wire.error_from_response(status, body(name))
    assert isinstance(exc, SalesforceError)
    return exc


# ----------------------------------------------------------------------------- OAuth


def check_auth_oauth_token_success() -> None:
    token = parse_token_response(
        HttpResponse(status=200, body=body("auth_oauth_token_success.json"))
    )
    assert token.access_token.startswith("00Dx0000000BV7z!")
    assert token.instance_url == "https://na1.salesforce.com"
    assert token.issued_at == 1278448832702  # epoch millis sent as a string
    assert token.identity_url == "https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P"
    assert "PLACEHOLDER" not in repr(token)


def check_auth_oauth_error_invalid_grant() -> None:
    response = HttpResponse(status=400, body=body("auth_oauth_error_invalid_grant.json"))
    with pytest.raises(SalesforceAuthenticationError) as info:
        parse_token_response(response)
    assert info.value.error_code == "invalid_grant"
    assert info.value.message == "authentication failure - Invalid Password"
    assert not info.value.should_retry


def check_auth_oauth_error_expired_refresh_token() -> None:
    exc = error_of("auth_oauth_error_expired_refresh_token.json")
    assert isinstance(exc, SalesforceAuthenticationError)
    assert (exc.error_code, exc.message) == ("invalid_grant", "expired access/refresh token")


# ----------------------------------------------------------------------------- query


def check_query_single_page() -> None:
    frame, children, page = run_query("query_single_page.json")
    assert (page.total_size, page.done, page.next_records_url) == (5, True, None)
    assert list(frame.columns) == ["Name"]
    assert str(frame["Name"].dtype) == "string"
    assert frame["Name"].tolist()[:3] == ["An awesome test account", "Global Media", "Acme"]
    assert children == {}
    headers = INDEX["query_single_page.json"]["http"]["headers"]
    assert ApiUsage.from_header(headers["Sforce-Limit-Info"]) == ApiUsage(used=16, limit=100000)


def check_query_empty() -> None:
    page = wire.QueryPage.from_json(wire.loads(body("query_empty.json")))
    assert (page.total_size, page.done, page.records) == (0, True, [])
    select = wire.parse_select("SELECT Id, Amount, CloseDate, IsWon FROM Opportunity")
    shape = wire.QueryShape.build(select, describer(opportunity_describe()))
    frame = shape.frame(page.records)
    assert list(frame.columns) == ["Id", "Amount", "CloseDate", "IsWon"]
    assert [str(t) for t in frame.dtypes] == ["string", "object", "datetime64[us]", "boolean"]
    assert len(frame) == 0


def check_query_more_page1() -> None:
    frame, _, page = run_query("query_more_page1.json")
    assert page.done is False
    assert page.next_records_url == "/services/data/v51.0/query/01gB000003KL1aaIAD-1"
    assert page.total_size == 2 and len(page.records) == 1
    # The SOQL said "id, name": columns take the records' canonical casing.
    assert frame.to_dict("records") == [{"Id": "00390000001TdgeAAC", "Name": "Caroline Roth"}]


def check_query_more_page2_last() -> None:
    frame, _, page = run_query("query_more_page2_last.json", soql=soql_of("query_more_page1.json"))
    assert (page.done, page.next_records_url, page.total_size) == (True, None, 2)
    assert frame["Name"].tolist() == ["Dalil Djidel"]


def check_query_field_types_parent_and_child_relationship() -> None:
    whizbang = SObjectDescribe.from_json(
        {
            "name": "Whizbang",
            "fields": [
                {"name": "Checkbox_Label", "type": "boolean"},
                {"name": "Text_Label", "type": "string"},
                {"name": "Date_Label", "type": "date"},
                {"name": "DateTime_Label", "type": "datetime"},
                {"name": "Picklist_Multiselect_Label", "type": "multipicklist"},
                {
                    "name": "ParentWhizbang__c",
                    "type": "reference",
                    "relationshipName": "ParentWhizbang__r",
                    "referenceTo": ["Whizbang"],
                },
                {"name": "Name", "type": "string"},
            ],
            "childRelationships": [
                {"relationshipName": "Whizbangs__r", "childSObject": "Whizbang"}
            ],
        }
    )
    soql = (
        "SELECT Checkbox_Label, Text_Label, Date_Label, DateTime_Label, "
        "Picklist_Multiselect_Label, ParentWhizbang__r.Name, ParentWhizbang__r.Text_Label, "
        "(SELECT Name FROM Whizbangs__r) FROM Whizbang"
    )
    shape = wire.QueryShape.build(wire.parse_select(soql), describer(whizbang))
    page = wire.QueryPage.from_json(
        wire.loads(body("query_field_types_parent_and_child_relationship.json"))
    )
    flat, children = wire.flatten(page.records[0])
    frame = shape.frame([flat])
    row = frame.iloc[0]
    assert row["Checkbox_Label"] is False or bool(row["Checkbox_Label"]) is False
    assert row["Date_Label"] == pd.Timestamp("2010-01-01")
    assert row["DateTime_Label"] == pd.Timestamp("2011-07-07T00:37:00Z")
    assert str(frame["DateTime_Label"].dtype) == "datetime64[us, UTC]"
    assert row["Picklist_Multiselect_Label"] == "four;six"
    assert row["ParentWhizbang__r.Name"] == "Parent Whizbang"
    assert row["ParentWhizbang__r.Text_Label"] == "Hello"
    assert set(children) == {"Whizbangs__r"}
    child = wire.QueryPage.from_json(children["Whizbangs__r"]).records[0]
    assert wire.flatten(child)[0] == {"Name": "Child Whizbang"}


def check_query_child_subquery_contacts() -> None:
    frame, children, _ = run_query("query_child_subquery_contacts.json")
    # "SELECT Account.Name ... FROM Account": the object qualifier is dropped, as Salesforce does.
    assert list(frame.columns) == ["Name"]
    contacts = children["Contacts"]
    assert list(contacts.columns) == ["parent_id", "FirstName", "LastName"]
    assert len(contacts) == 7
    singapore = contacts[contacts["parent_id"] == "0017Q00000EZlbxQAD"]
    assert singapore["LastName"].tolist() == ["Ripley", "D'Cruz"]


def check_query_child_subquery_null_children() -> None:
    frame, children, page = run_query("query_child_subquery_null_children.json")
    assert len(frame) == 50 == page.total_size
    assert "AWコンピュータ" in frame["Name"].tolist()
    assert "Contacts" not in frame.columns
    parents_with_children = {
        r["attributes"]["url"].rsplit("/", 1)[1] for r in page.records if r["Contacts"]
    }
    assert set(children["Contacts"]["parent_id"]) == parents_with_children
    nulls = sum(1 for r in page.records if r["Contacts"] is None)
    assert nulls > 0  # null means no children, not an empty list


def check_query_opportunity_lineitems_pricebookentry_product2() -> None:
    frame, children, _ = run_query(
        "query_opportunity_lineitems_pricebookentry_product2.json",
        describer(opportunity_describe()),
    )
    amount: Any = frame.loc[0, "Amount"]
    assert amount == Decimal("1300")  # a JSON integer, exact Decimal
    assert isinstance(amount, Decimal)
    assert frame.loc[0, "CloseDate"] == pd.Timestamp("2022-02-01")
    lines = children["OpportunityLineItems"]
    # The SOQL said PriceBookEntry / product2; columns use the response's canonical casing.
    assert list(lines.columns) == [
        "parent_id",
        "Id",
        "ListPrice",
        "PricebookEntry.UnitPrice",
        "PricebookEntry.Name",
        "PricebookEntry.Id",
        "PricebookEntry.Product2.Family",
    ]
    assert lines.loc[0, "parent_id"] == "0063F00000RdvMKQAZ"
    assert lines.loc[0, "PricebookEntry.Product2.Family"] == "None"  # the string, not null


def check_query_opportunity_lineitems_zero_values() -> None:
    frame, children, _ = run_query(
        "query_opportunity_lineitems_zero_values.json", describer(opportunity_describe())
    )
    assert frame.loc[0, "Amount"] == Decimal(0) and not na(frame.loc[0, "Amount"])
    assert children["OpportunityLineItems"].loc[0, "UnitPrice"] == 0


def check_query_parent_relationship_owner() -> None:
    frame, _, _ = run_query("query_parent_relationship_owner.json")
    assert frame.to_dict("records") == [{"Name": "TestAccount5", "Owner.Name": "Guy Smiley"}]


def check_query_polymorphic_typeof_null_parent() -> None:
    frame, _, _ = run_query("query_polymorphic_typeof_null_parent.json")
    assert "What.Name" in frame.columns and "Who.LastName" in frame.columns
    assert na(frame.loc[0, "What.Name"])  # "What": null -> nulls in its columns
    assert frame.loc[1, "What.Name"] == "Tom Cruise"
    assert frame["DurationInMinutes"].tolist() == [60, 60, 60]
    assert str(frame["DurationInMinutes"].dtype) == "Int64"
    assert na(frame.loc[0, "Who.Email"])


def check_query_aggregate_result() -> None:
    frame, _, _ = run_query("query_aggregate_result.json", describer(opportunity_describe()))
    assert list(frame.columns) == ["CampaignId", "expr0"]
    # 300.0 (float) and 400 (int) are both exact Decimals.
    assert frame["expr0"].tolist() == [Decimal("300.0"), Decimal("100.0"), Decimal(400)]
    assert all(isinstance(v, Decimal) for v in frame["expr0"])
    assert na(frame.loc[2, "CampaignId"])


def check_query_aggregate_nulls_and_large_ints() -> None:
    frame, _, _ = run_query("query_aggregate_nulls_and_large_ints.json")
    assert list(frame.columns) == ["Name", "expr0"]
    values = dict(zip(frame["Name"], frame["expr0"], strict=True))
    assert values["United Oil & Gas Corp."] == Decimal(5600000000)
    assert values["sForce"] is None
    assert len(frame) == 16


# ----------------------------------------------------------------------------- records


def check_sobject_get_all_field_types() -> None:
    flat, children = wire.flatten(wire.loads(body("sobject_get_all_field_types.json")))
    assert "attributes" not in flat and children == {}
    assert flat["Currency_Label"] == Decimal("23.0")
    assert flat["Percent_Label"] == Decimal("33.0")  # 33 percent, not 0.33
    assert flat["Picklist_Multiselect_Label"] == "four;six"
    assert flat["OtherDateTime_Label"] is None


def check_sobject_get_compound_address() -> None:
    flat, _ = wire.flatten(wire.loads(body("sobject_get_compound_address.json")))
    assert flat["Address.country"] == "US"
    assert flat["Country"] == "US"
    assert flat["Address.city"] is None


def check_sobject_create_201() -> None:
    row = wire.save_outcome(wire.loads(body("sobject_create_201.json")), operation="create", row=0)
    assert (row["id"], row["status"] in DONE_STATUSES, row["created"], row["status"]) == (
        "a00B000000FSkcvIAD",
        True,
        True,
        "created",
    )


def check_sobject_upsert_201_created() -> None:
    data = wire.loads(body("sobject_upsert_201_created.json"))
    row = wire.save_outcome({**data, "created": True}, operation="upsert", row=0)
    assert (row["id"], row["status"]) == ("foo", "created")


def check_sobject_upsert_300_multiple_matches() -> None:
    exc = error_of("sobject_upsert_300_multiple_matches.json")
    assert exc.error_code == "MULTIPLE_CHOICES" and exc.http_status == 300
    assert "/services/data/v23.0/sobjects/Whizbang/bar" in exc.message


def check_sobject_get_deleted() -> None:
    data = wire.loads(body("sobject_get_deleted.json"))
    assert data["deletedRecords"] == [
        {"id": "a00D0000008pQRAIA2", "deletedDate": "2013-05-07T22:07:19.000+0000"}
    ]


def check_sobject_get_updated() -> None:
    data = wire.loads(body("sobject_get_updated.json"))
    assert len(data["ids"]) == 7 and data["ids"][0] == "003q000000KvQ1tAAF"


# ----------------------------------------------------------------------------- errors


def check_error_401_invalid_session_id() -> None:
    exc = error_of("error_401_invalid_session_id.json")
    assert isinstance(exc, SalesforceAuthenticationError)
    assert (exc.error_code, exc.message, exc.http_status) == (
        "INVALID_SESSION_ID",
        "Session expired or invalid",
        401,
    )


def check_error_400_malformed_query() -> None:
    exc = error_of("error_400_malformed_query.json")
    assert (exc.error_code, exc.message, exc.fields) == (
        "MALFORMED_QUERY",
        "unexpected token: SELEKT",
        (),
    )
    assert not exc.should_retry


def check_error_400_invalid_field_query() -> None:
    exc = error_of("error_400_invalid_field_query.json")
    assert exc.error_code == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:8" in exc.message


def check_error_400_invalid_field_write() -> None:
    assert error_of("error_400_invalid_field_write.json").error_code == "INVALID_FIELD"


def check_error_400_restricted_picklist() -> None:
    exc = error_of("error_400_restricted_picklist.json")
    assert exc.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert exc.fields == ("Rating__c",)


def check_error_400_required_field_missing() -> None:
    exc = error_of("error_400_required_field_missing.json")
    assert (exc.error_code, exc.fields) == ("REQUIRED_FIELD_MISSING", ("Website__c",))


def check_error_400_malformed_id() -> None:
    exc = error_of("error_400_malformed_id.json")
    assert (exc.error_code, exc.fields, exc.http_status) == ("MALFORMED_ID", ("Id",), 400)


def check_error_404_entity_is_deleted() -> None:
    exc = error_of("error_404_entity_is_deleted.json")
    assert (exc.error_code, exc.fields, exc.http_status) == ("ENTITY_IS_DELETED", (), 404)


def check_error_404_external_id_field_not_found() -> None:
    exc = error_of("error_404_external_id_field_not_found.json")
    assert exc.error_code == "NOT_FOUND" and exc.message.endswith("Namez")


# ----------------------------------------------------------------------------- composite


def check_composite_success_custom_object_payments() -> None:
    outcomes = wire.parse_composite(
        wire.loads(body("composite_success_custom_object_payments.json"))
    )
    assert [(o.reference_id, o.http_status, o.success, o.id) for o in outcomes] == [
        ("NewPayment1", 201, True, "a1V3E000000EXomUAM"),
        ("NewPayment2", 201, True, "a1V3E000000EXomUAG"),
    ]
    assert (
        outcomes[0].location == "/services/data/v41.0/sobjects/blng__Payment__c/a1V3E000000EXomUAM"
    )


def check_composite_allornone_processing_halted() -> None:
    outcomes = wire.parse_composite(wire.loads(body("composite_allornone_processing_halted.json")))
    halted, failed = outcomes
    assert halted.rolled_back and not halted.success
    assert failed.errors[0].error_code == "INVALID_FIELD" and not failed.rolled_back


def check_composite_query_partial_error_invalid_type() -> None:
    ok, bad = wire.parse_composite(
        wire.loads(body("composite_query_partial_error_invalid_type.json"))
    )
    assert ok.success and wire.QueryPage.from_json(ok.body).total_size == 17
    assert (bad.http_status, bad.errors[0].error_code) == (400, "INVALID_TYPE")


def check_composite_graph_success() -> None:
    graphs = wire.parse_graph(wire.loads(body("composite_graph_success.json")))
    ok, outcomes = graphs["1"]
    assert ok and [o.id for o in outcomes] == [
        "001R00000064wc7IAA",
        "003R000000DDMlTIAX",
        "006R0000003FPYxIAO",
    ]


def check_composite_graph_failure_processing_halted() -> None:
    ok, outcomes = wire.parse_graph(
        wire.loads(body("composite_graph_failure_processing_halted.json"))
    )["graph0"]
    assert not ok
    assert outcomes[0].rolled_back
    assert outcomes[1].http_status == 403
    assert outcomes[1].errors[0].error_code == "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"


# ----------------------------------------------------------------------------- collections


def check_collections_upsert_created_mixed() -> None:
    rows = wire.outcome_rows(
        wire.loads(body("collections_upsert_created_mixed.json")),
        operation="upsert",
        rows=[0, 1, 2, 3],
    )
    assert [r["status"] for r in rows] == ["updated", "updated", "updated", "created"]
    assert rows[3]["id"] == "0035500001H9kaAAAR" and rows[3]["created"] is True


def check_collections_create_partial_failure() -> None:
    rows = wire.outcome_rows(
        wire.loads(body("collections_create_partial_failure.json")), operation="create", rows=[0, 1]
    )
    assert rows[0]["status"] == "failed" and rows[0]["id"] is None
    assert rows[0]["error_codes"] == "DUPLICATES_DETECTED"
    assert rows[0]["errors"] == "DUPLICATES_DETECTED: Use one of these records?"
    assert (rows[1]["status"], rows[1]["id"]) == ("created", "003RM0000068xVCYAY")


def check_collections_create_allornone_rolled_back() -> None:
    rows = wire.outcome_rows(
        wire.loads(body("collections_create_allornone_rolled_back.json")),
        operation="create",
        rows=[0, 1],
    )
    assert [r["status"] for r in rows] == ["failed", "aborted"]


# ----------------------------------------------------------------------------- bulk


def check_bulk2_ingest_job_info_complete() -> None:
    job = BulkJob.from_json(wire.loads(body("bulk2_ingest_job_info_complete.json")))
    assert (job.id, job.state, job.operation, job.object) == (
        "7508Z00000lSXvxQAG",
        "JobComplete",
        "insert",
        "Account",
    )
    assert job.finished and job.number_records_processed == 3 and job.number_records_failed == 0


def check_bulk2_query_job_info_complete() -> None:
    job = BulkJob.from_json(wire.loads(body("bulk2_query_job_info_complete.json")))
    assert (job.state, job.number_records_processed) == ("JobComplete", 51)
    headers = INDEX["bulk2_query_job_info_complete.json"]["http"]["headers"]
    assert ApiUsage.from_header(headers["Sforce-Limit-Info"]) == ApiUsage(used=23, limit=5000000)


def check_bulk2_ingest_successful_results() -> None:
    header, rows = wire.parse_csv(body("bulk2_ingest_successful_results.csv"))
    assert header == ["sf__Id", "sf__Created", "Name", "Description", "NumberOfEmployees"]
    assert [r[0] for r in rows] == [
        "0018Z00002rGc7YQAS",
        "0018Z00002rGc7ZQAS",
        "0018Z00002rGc7aQAC",
    ]


def check_bulk2_ingest_failed_results() -> None:
    header, rows = wire.parse_csv(body("bulk2_ingest_failed_results.csv"))
    assert header[:2] == ["sf__Id", "sf__Error"] and len(rows) == 2
    error = wire.parse_bulk_error(rows[0][1])
    assert error.error_code == "REQUIRED_FIELD_MISSING"
    assert error.message == "Required fields are missing: [Name]"
    assert error.fields == ("Name",)


def check_bulk2_ingest_unprocessed_records() -> None:
    header, rows = wire.parse_csv(body("bulk2_ingest_unprocessed_records.csv"))
    assert header == ["Name", "Description", "NumberOfEmployees"]
    assert rows == [["TestAccount3", "Yet another description", "50"]]


def check_bulk2_query_results() -> None:
    header, rows = wire.parse_csv(body("bulk2_query_results.csv"))
    assert header == ["Id"] and len(rows) == 3
    shape = wire.QueryShape.build(wire.parse_select("SELECT Id FROM Account"), lambda _: None)
    frame = shape.frame([dict(zip(header, r, strict=True)) for r in rows])
    assert frame["Id"].tolist()[0] == "0018Z00002eGbDRQA0"


# ----------------------------------------------------------------------------- metadata


def check_limits() -> None:
    data = wire.loads(body("limits.json"))
    assert data["DailyApiRequests"] == {"Max": 15000, "Remaining": 14998}


def check_describe_global_excerpt() -> None:
    data = wire.loads(body("describe_global_excerpt.json"))
    assert data["maxBatchSize"] == 200 == wire.COLLECTION_SIZE
    assert [s["name"] for s in data["sobjects"]] == ["Account"]


def check_describe_opportunity_excerpt() -> None:
    describe = opportunity_describe()
    amount = describe.field("amount")
    assert amount is not None and (amount.type, amount.precision, amount.scale) == (
        "currency",
        18,
        2,
    )
    assert wire.kind_for(amount) == "decimal"
    kinds = {f.name: wire.kind_for(f) for f in describe.fields}
    assert kinds["Probability"] == "decimal" and kinds["CloseDate"] == "date"
    assert kinds["CreatedDate"] == "timestamp" and kinds["IsWon"] == "boolean"
    assert kinds["StageName"] == "text" and kinds["AccountId"] == "text"
    account = describe.relationship("account")
    assert account is not None and account.reference_to == ("Account",)
    assert describe.child("opportunitylineitems") == ("OpportunityLineItems", "OpportunityLineItem")


def check_describe_custom_object_payment() -> None:
    describe = SObjectDescribe.from_json(wire.loads(body("describe_custom_object_payment.json")))
    assert describe.custom and describe.name == "blng__Payment__c"
    invoice = describe.relationship("blng__Invoice__r")
    assert invoice is not None and invoice.name == "blng__Invoice__c"
    assert invoice.reference_to == ("blng__Invoice__c",)


def check_index() -> None:
    listed = set(INDEX)
    assert listed == set(SAMPLES) - {"index.json"}


CHECKS: dict[str, Callable[[], None]] = {
    name.removeprefix("check_").replace("_", "-"): fn
    for name, fn in list(globals().items())
    if name.startswith("check_") and callable(fn)
}


def _key(sample: str) -> str:
    return sample.rsplit(".", 1)[0].replace("_", "-")


def test_every_sample_has_a_check() -> None:
    missing = [s for s in SAMPLES if _key(s) not in CHECKS]
    assert not missing, f"conformance samples without an assertion: {missing}"


@pytest.mark.parametrize("sample", SAMPLES)
def test_sample(sample: str) -> None:
    CHECKS[_key(sample)]()


def test_bulk_results_map_back_to_input_rows() -> None:
    """The three result CSVs of one job become one outcome per uploaded row, in order."""
    uploaded = wire.records_to_csv(
        [
            {
                "Name": "TestAccount1",
                "Description": "Description of TestAccount1",
                "NumberOfEmployees": 30,
            },
            {"Name": "TestAccount2", "Description": "Another description", "NumberOfEmployees": 40},
            {
                "Name": "TestAccount3",
                "Description": "Yet another description",
                "NumberOfEmployees": 50,
            },
        ],
        rows=range(3),
    )
    job = BulkJob.from_json(wire.loads(body("bulk2_ingest_job_info_complete.json")))

    def frame(name: str) -> pd.DataFrame:
        header, rows = wire.parse_csv(body(name))
        from intacct_sync.frames import build_frame

        return build_frame(
            {h: [r[i] for r in rows] for i, h in enumerate(header)}, {}, order=header
        )

    result = IngestResult(
        job=job,
        successful=frame("bulk2_ingest_successful_results.csv").head(2),
        failed=frame("bulk2_ingest_failed_results.csv").head(0),
        unprocessed=frame("bulk2_ingest_unprocessed_records.csv"),
    )
    outcomes = wire.bulk_outcomes("create", result, uploaded, 0, 3)
    assert [o["status"] for o in outcomes] == ["created", "created", "not_sent"]
    assert outcomes[1]["id"] == "0018Z00002rGc7ZQAS"


def test_datetime_wire_format_parses_as_utc() -> None:
    assert pd.Timestamp("2011-07-07T00:37:00.000+0000") == pd.Timestamp(
        dt.datetime(2011, 7, 7, 0, 37, tzinfo=dt.UTC)
    )

"""IntacctClient end to end against the Intacct sandbox gateway on loopback."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest

from intacct_sync import RetryPolicy
from intacct_sync.errors import FunctionError, ProtocolError
from intacct_sync.intacct import IntacctClient, filters
from intacct_sync.intacct.models import (
    ClassValue,
    JournalEntry,
    SalesOrder,
    SalesOrderLine,
)
from intacct_sync.sandbox import COMPANIES
from intacct_sync.sandbox._http import LoopbackServer
from intacct_sync.sandbox.intacct import gateway as gw
from tests.builders import balanced_entry

FAST = RetryPolicy(max_retries=8, initial_delay=0.001, max_delay=0.01)
NONPROFIT = COMPANIES["nonprofit"]


@pytest.fixture(scope="module")
def gateway() -> Iterator[gw.IntacctGateway]:
    gateway = gw.IntacctGateway()
    server = LoopbackServer(gateway).start()
    gateway.url = server.url  # type: ignore[attr-defined]
    yield gateway
    server.stop()


@pytest.fixture
def ia(gateway: gw.IntacctGateway) -> Iterator[IntacctClient]:
    gateway.faults.clear()
    client = _client(gateway)
    yield client
    client.close()
    gateway.faults.clear()


def _client(
    gateway: gw.IntacctGateway, company: str = NONPROFIT, **options: object
) -> IntacctClient:
    return IntacctClient(
        sender_id=gw.SENDER_ID,
        sender_password=gw.SENDER_PASSWORD,
        company_id=company,
        user_id=gw.USER_ID,
        user_password=gw.USER_PASSWORD,
        endpoint_url=gateway.url + gw.ENDPOINT_PATH,  # type: ignore[attr-defined]
        retry=FAST,
        **options,  # type: ignore[arg-type]
    )


def test_read_by_query_pages_to_the_end_with_typed_columns(ia: IntacctClient) -> None:
    whole = ia.read_by_query("GLACCOUNT", page_size=1000)
    pages = list(ia.iter_read_by_query("GLACCOUNT", page_size=10))
    assert len(pages) == -(-len(whole) // 10)
    assert sum(len(p) for p in pages) == len(whole)
    assert whole["RECORDNO"].is_unique
    assert str(whole["RECORDNO"].dtype) == "Int64"
    assert str(whole["ACCOUNTNO"].dtype) == "string"
    assert str(whole["WHENMODIFIED"].dtype) == "datetime64[us]"
    assert all(list(p.columns) == list(whole.columns) for p in pages)


def test_an_empty_result_has_the_columns_and_dtypes_of_a_full_one(ia: IntacctClient) -> None:
    full = ia.read_by_query("GLACCOUNT")
    empty = ia.read_by_query("GLACCOUNT", filters.query_string("ACCOUNTNO = {}", "no-such"))
    assert len(empty) == 0
    assert list(empty.columns) == list(full.columns)
    assert list(empty.dtypes) == list(full.dtypes)
    select = ["RECORDNO", "ACCOUNTNO", "TRX_AMOUNT", "ENTRY_DATE"]
    none = ia.query("GLENTRY", select=select, filter={"ACCOUNTNO": "no-such"})
    some = ia.query("GLENTRY", select=select, filter={"ACCOUNTNO": "4000"})
    assert list(none.columns) == list(some.columns) == select
    assert list(none.dtypes) == list(some.dtypes)


def test_query_offset_paging_is_complete_and_ordered(ia: IntacctClient) -> None:
    select = ["RECORDNO", "ACCOUNTNO", "TRX_AMOUNT", "TR_TYPE", "ENTRY_DATE"]
    one = ia.query("GLENTRY", select=select, page_size=2000)
    paged = ia.query("GLENTRY", select=select, page_size=37)
    assert len(one) > 100
    pd.testing.assert_frame_equal(one, paged)
    assert paged["RECORDNO"].is_monotonic_increasing
    amounts = paged["TRX_AMOUNT"]
    assert all(isinstance(v, Decimal) for v in amounts)
    assert str(paged["ENTRY_DATE"].dtype) == "datetime64[us]"


def test_query_filters_reach_the_gateway(ia: IntacctClient) -> None:
    frame = ia.query(
        "GLENTRY",
        select=["RECORDNO", "ACCOUNTNO", "TRX_AMOUNT"],
        filter=filters.in_("ACCOUNTNO", ["4000", "4010"])
        & filters.greater_than("TRX_AMOUNT", Decimal("1000")),
    )
    assert len(frame) > 0
    assert set(frame["ACCOUNTNO"]) <= {"4000", "4010"}
    assert all(v > 1000 for v in frame["TRX_AMOUNT"])


def test_read_and_read_by_name_chunk_many_keys(ia: IntacctClient) -> None:
    lines = ia.query("GLENTRY", select=["RECORDNO"], page_size=2000)
    keys = [int(k) for k in lines["RECORDNO"][:250]]
    read = ia.read("GLENTRY", keys, fields=["RECORDNO", "ACCOUNTNO"])
    assert sorted(read["RECORDNO"]) == sorted(keys)
    by_name = ia.read_by_name("GLACCOUNT", ["1000", "4000"])
    assert sorted(by_name["ACCOUNTNO"]) == ["1000", "4000"]


def test_an_expired_result_id_restarts_the_read_without_duplicates(
    ia: IntacctClient, gateway: gw.IntacctGateway
) -> None:
    expected = ia.read_by_query("GLENTRY", fields=["RECORDNO"], page_size=1000)
    pages = ia.iter_read_by_query("GLENTRY", fields=["RECORDNO"], page_size=100)
    first = next(pages)
    gateway.expire_results()
    rest = list(pages)
    got = pd.concat([first, *rest], ignore_index=True)
    assert got["RECORDNO"].is_unique
    assert sorted(got["RECORDNO"]) == sorted(expected["RECORDNO"])


def test_an_expired_session_is_renewed_transparently(
    ia: IntacctClient, gateway: gw.IntacctGateway
) -> None:
    ia.read_by_name("GLACCOUNT", ["1000"])
    gateway.expire_sessions()
    assert len(ia.read_by_name("GLACCOUNT", ["1000"])) == 1


def _entry(key: str, amount: str = "125.50", *, account: str = "4000") -> JournalEntry:
    return balanced_entry(
        key, amount, title=f"Test donation {key} <&> 'quoted'", account=account, location="HQ"
    )


def _batches_with_reference(ia: IntacctClient, reference: str) -> int:
    frame = ia.query("GLBATCH", select=["RECORDNO"], filter={"REFERENCENO": reference})
    return len(frame)


def test_journal_entries_post_once_and_a_rerun_is_a_duplicate(ia: IntacctClient) -> None:
    first = ia.create("GLBATCH", [_entry("it-once-1"), _entry("it-once-2")])
    assert list(first["status"]) == ["created", "created"]
    assert first["RECORDNO"].notna().all()
    again = ia.create("GLBATCH", [_entry("it-once-1"), _entry("it-once-2")])
    assert list(again["status"]) == ["already_done", "already_done"]
    assert again["done"].all()
    assert _batches_with_reference(ia, "it-once-1") == 1
    posted = ia.read("GLBATCH", [int(first["RECORDNO"].iloc[0])])
    assert posted["BATCH_TITLE"].iloc[0] == "Test donation it-once-1 <&> 'quoted'"


def test_a_bad_entry_fails_alone_with_the_gateway_reason(ia: IntacctClient) -> None:
    outcomes = ia.create("GLBATCH", [_entry("it-bad-ok"), _entry("it-bad-acct", account="9999")])
    assert list(outcomes["status"]) == ["created", "failed"]
    assert "9999" in outcomes["errors"].iloc[1]
    assert _batches_with_reference(ia, "it-bad-acct") == 0


def test_transaction_true_rolls_back_everything(ia: IntacctClient) -> None:
    outcomes = ia.create(
        "GLBATCH",
        [_entry("it-tx-1"), _entry("it-tx-2", account="9999"), _entry("it-tx-3")],
        transaction=True,
    )
    assert list(outcomes["status"]) == ["aborted", "failed", "aborted"]
    assert not outcomes["done"].any()
    assert all(_batches_with_reference(ia, f"it-tx-{i}") == 0 for i in (1, 2, 3))


def test_lost_answers_and_throttling_still_post_each_entry_exactly_once(
    ia: IntacctClient, gateway: gw.IntacctGateway
) -> None:
    gateway.faults.reseed(7)
    gateway.faults.drop_after_commit_rate = 0.3
    gateway.faults.throttle_rate = 0.2
    client = _client(gateway, batch_size=10)
    entries = [_entry(f"it-fault-{i}") for i in range(60)]
    outcomes = client.create("GLBATCH", entries)
    gateway.faults.clear()
    assert outcomes["done"].all(), outcomes[~outcomes["done"]]
    counts = [_batches_with_reference(ia, f"it-fault-{i}") for i in range(60)]
    assert counts == [1] * 60


def test_parallel_use_of_one_client_survives_the_concurrency_limit(
    gateway: gw.IntacctGateway,
) -> None:
    gateway.faults.clear()
    client = _client(gateway)
    client.read_by_name("GLACCOUNT", ["1000"])
    errors: list[BaseException] = []
    sizes: list[int] = []

    def work() -> None:
        try:
            sizes.append(len(client.query("GLENTRY", select=["RECORDNO"], page_size=200)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(sizes)) == 1


def test_malformed_bodies_raise_a_protocol_error_quoting_them(
    ia: IntacctClient, gateway: gw.IntacctGateway
) -> None:
    gateway.faults.malformed_rate = 1.0
    with pytest.raises(ProtocolError, match="starts with"):
        ia.read_by_name("GLACCOUNT", ["1000"])


def test_update_and_delete_report_per_record(ia: IntacctClient) -> None:
    created = ia.create("CLASS", [ClassValue(class_id="IT-CLS", name="Integration test class")])
    assert created["status"].iloc[0] in ("created", "already_done")
    updated = ia.update("CLASS", [ClassValue(class_id="IT-CLS", name="Renamed class")])
    assert updated["status"].iloc[0] == "updated"
    row = ia.read_by_name("CLASS", ["IT-CLS"])
    assert row["NAME"].iloc[0] == "Renamed class"
    record_no = int(row["RECORDNO"].iloc[0])
    deleted = ia.delete("CLASS", [record_no, 987654321])
    assert list(deleted["status"]) == ["deleted", "failed"]
    assert len(ia.read_by_name("CLASS", ["IT-CLS"])) == 0


def test_a_failed_read_raises_function_error_with_details(ia: IntacctClient) -> None:
    with pytest.raises(FunctionError) as info:
        ia.read_by_query("NO_SUCH_OBJECT")
    assert info.value.function == "readByQuery"
    assert info.value.errors


def test_sales_orders_are_created_once(gateway: gw.IntacctGateway) -> None:
    client = _client(gateway, company=COMPANIES["itservices"])
    customers = client.read_by_query("CUSTOMER", fields=["CUSTOMERID"])
    items = client.read_by_query("ITEM", fields=["ITEMID"])
    order = SalesOrder(
        key="006IT0000000001AAA",
        customer_id=str(customers["CUSTOMERID"].iloc[0]),
        date=dt.date(2026, 11, 1),
        reference_no="006IT0000000001AAA",
        lines=[
            SalesOrderLine(
                item_id=str(items["ITEMID"].iloc[0]), quantity=Decimal(2), price=Decimal("150.00")
            ),
        ],
    )
    first = client.create_sales_orders([order])
    assert first["status"].iloc[0] == "created"
    assert str(first["id"].iloc[0]).startswith("Sales Order-")
    again = client.create_sales_orders([order])
    assert again["status"].iloc[0] == "already_done"


def test_ar_reads_become_typed_models(gateway: gw.IntacctGateway) -> None:
    from intacct_sync.intacct.models import ARInvoice, ARPayment, SalesDocument

    client = _client(gateway, company=COMPANIES["itservices"])
    invoices = [ARInvoice.from_row(r) for r in client.read_by_query("ARINVOICE").to_dict("records")]
    assert len(invoices) >= 60
    assert all(i.total_paid + i.total_due == i.total for i in invoices)
    today = dt.date(2026, 11, 23)
    overdue = [i for i in invoices if i.paid is None and i.days_overdue(today) > 0]
    assert overdue
    assert all(i.days_overdue(today) == (today - i.due).days for i in overdue if i.due)
    payments = [ARPayment.from_row(r) for r in client.read_by_query("ARPYMT").to_dict("records")]
    assert payments
    assert all(p.amount > 0 for p in payments)
    docs = [
        SalesDocument.from_row(r) for r in client.read_by_query("SODOCUMENT").to_dict("records")
    ]
    assert docs
    assert all(d.doc_id.startswith(d.definition) for d in docs)


def test_read_glbatch_entries_join_their_batch_after_sort_filter_and_head(
    ia: IntacctClient,
) -> None:
    numbers = ia.query("GLBATCH", select=["RECORDNO"], page_size=6)["RECORDNO"].head(6).tolist()
    batches = ia.read("GLBATCH", numbers)
    entries = batches.attrs["children"]["ENTRIES"]
    assert entries.columns[0] == "parent_id" and len(entries) > len(batches)
    # The sandbox stores each line's batch in BATCHNO: the link read from the wire agrees.
    assert (entries["parent_id"] == entries["BATCHNO"].astype("string")).all()
    desc = batches.sort_values("RECORDNO", ascending=False)
    for derived in (desc, batches[batches["RECORDNO"] % 2 == 0], desc.head(2)):
        lines = ia.children(derived, "ENTRIES")
        parents = derived["RECORDNO"].astype("string")
        assert set(lines["parent_id"]) == set(parents)
        assert (lines["parent_id"] == lines["BATCHNO"].astype("string")).all()
        joined = lines.merge(derived.assign(parent_id=parents), on="parent_id")
        assert len(joined) == len(lines)
        assert len(lines) == int(entries["parent_id"].isin(parents).sum())

"""Order to cash, masters: baseline match, duplicates, conflicts, soft deletes, idempotency."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from intacct_sync import sandbox, sync
from intacct_sync._http.retry import NO_RETRY
from intacct_sync.errors import IncompleteWriteError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.state import SQLiteStateStore

CO = sandbox.COMPANIES["itservices"]


@pytest.fixture
def clients(sb: sandbox.Sandbox) -> Iterator[tuple[SalesforceClient, IntacctClient]]:
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        yield sf, ia


def _counts(sb: sandbox.Sandbox) -> dict[str, int]:
    return {
        "CUSTOMER": sb.intacct.count(CO, "CUSTOMER"),
        "ITEM": sb.intacct.count(CO, "ITEM"),
        "SODOCUMENT": sb.intacct.count(CO, "SODOCUMENT"),
        "Account": sb.salesforce.count("Account", "Id != null", include_deleted=True),
        "Product2": sb.salesforce.count("Product2", "Id != null", include_deleted=True),
        "PricebookEntry": sb.salesforce.count("PricebookEntry", "Id != null", include_deleted=True),
        "Intacct_Invoice__c": sb.salesforce.count(
            "Intacct_Invoice__c", "Id != null", include_deleted=True
        ),
    }


def _baseline(sf: SalesforceClient, ia: IntacctClient) -> tuple[SQLiteStateStore, sync.MastersPlan]:
    state = SQLiteStateStore(":memory:")
    plan = sync.plan_masters(sf, ia, state)
    sync.apply_masters(plan, sf, ia, state)
    return state, plan


def test_baseline_reports_duplicates_within_each_system_and_writes_nothing_for_them(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    sf, ia = clients
    state = SQLiteStateStore(":memory:")
    plan = sync.plan_masters(sf, ia, state)
    frame = plan.to_frame()
    dups = frame[frame["action"] == "duplicate"]
    assert set(dups["intacct_id"].dropna()) == {"C1001", "C1002", "C1003", "C1004"}
    assert set(dups["name"]) >= {"Northwind Traders, Inc.", "Globex Corp.", "Globex Corporation"}
    sync.apply_masters(plan, sf, ia, state)
    # Nothing is created for a record waiting for a decision, on either side.
    assert sb.intacct.count(CO, "CUSTOMER", {"NAME": "Northwind Traders, Inc."}) == 0
    assert sb.intacct.count(CO, "CUSTOMER", {"NAME": "Globex Corp."}) == 0
    assert sb.salesforce.count("Account", "Name LIKE 'Acme Robotics%'") == 0
    assert sb.salesforce.count("Account", "Name = 'Northwind Traders LLC'") == 0
    # Matched by normalised name across systems; the Salesforce external id is corrected.
    consulting = sb.salesforce.rows("Product2", "Name = 'Consulting Hour'")[0]
    assert consulting["Intacct_Item_ID__c"] == "SVC-CONSULT"
    assert {m.intacct_id for m in state.id_map("Product2")} >= {"SVC-CONSULT", "SVC-PM"}


def test_decide_distinct_releases_a_duplicate(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    sf, ia = clients
    state, _ = _baseline(sf, ia)
    sync.decide(state, "Account", "ignore", intacct_id="C1002")
    plan = sync.plan_masters(sf, ia, state)
    created = plan.to_frame().query("action == 'create' and target == 'salesforce'")
    assert list(created["intacct_id"]) == ["C1001"]
    sync.apply_masters(plan, sf, ia, state)
    assert sb.salesforce.count("Account", "Intacct_Customer_ID__c = 'C1001'") == 1


def test_rerun_writes_nothing_and_counts_stay(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    sf, ia = clients
    state = SQLiteStateStore(":memory:")
    sync.sync_order_to_cash(sf, ia, state)
    before = _counts(sb)
    written = sb.intacct.stats.records_written
    sb.salesforce.reset_stats()
    run = sync.sync_order_to_cash(sf, ia, state)
    assert run.masters.writes == []
    assert run.orders is not None and run.orders.ready == []
    assert run.invoices is not None and run.invoices.upserts == ()
    assert run.invoices.account_updates == ()
    assert _counts(sb) == before
    assert sb.intacct.stats.records_written == written
    assert not {"collections", "sobject_patch", "sobject_create"} & set(
        k for k, v in sb.salesforce.stats.items() if v
    )


def test_conflict_last_modified_salesforce_wins(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    sf, ia = clients
    state, _ = _baseline(sf, ia)
    account = sb.salesforce.rows("Account", "Intacct_Customer_ID__c = 'C1005'")[0]
    ia.update("CUSTOMER", [{"CUSTOMERID": "C1005", "DISPLAYCONTACT.PHONE1": "111-INTACCT"}])
    time.sleep(1.1)  # Intacct stamps whole seconds
    sf.update("Account", [{"Id": account["Id"], "Phone": "222-SALESFORCE"}])
    plan = sync.plan_masters(sf, ia, state)
    conflicts = plan.to_frame().query("action == 'conflict'")
    assert len(conflicts) == 1 and "Salesforce wins" in conflicts["reason"].iloc[0]
    sync.apply_masters(plan, sf, ia, state)
    row = sb.intacct.records(CO, "CUSTOMER")
    phone = next(r for r in row if r["CUSTOMERID"] == "C1005")["DISPLAYCONTACT.PHONE1"]
    assert phone == "222-SALESFORCE"
    assert sync.plan_masters(sf, ia, state).writes == []


def test_conflict_system_of_record_intacct_wins(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    sf, ia = clients
    state, _ = _baseline(sf, ia)
    config = sync.MastersConfig(conflict=sync.ConflictRule(mode="system_of_record"))
    account = sb.salesforce.rows("Account", "Intacct_Customer_ID__c = 'C1006'")[0]
    sf.update("Account", [{"Id": account["Id"], "BillingCity": "Boulder"}])
    ia.update("CUSTOMER", [{"CUSTOMERID": "C1006", "DISPLAYCONTACT.MAILADDRESS.CITY": "Aurora"}])
    plan = sync.plan_masters(sf, ia, state, config)
    assert "Intacct wins" in plan.to_frame().query("action == 'conflict'")["reason"].iloc[0]
    sync.apply_masters(plan, sf, ia, state)
    assert sb.salesforce.rows("Account", f"Id = '{account['Id']}'")[0]["BillingCity"] == "Aurora"


def test_one_sided_change_flows_without_conflict(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    sf, ia = clients
    state, _ = _baseline(sf, ia)
    ia.update("ITEM", [{"ITEMID": "SVC-PM", "BASEPRICE": "160.00"}])
    plan = sync.plan_masters(sf, ia, state)
    assert plan.to_frame().query("action == 'conflict'").empty
    sync.apply_masters(plan, sf, ia, state)
    product = sb.salesforce.rows("Product2", "Intacct_Item_ID__c = 'SVC-PM'")[0]
    entry = sb.salesforce.rows("PricebookEntry", f"Product2Id = '{product['Id']}'")[0]
    assert str(entry["UnitPrice"]) in ("160", "160.0", "160.00")


def test_soft_delete_salesforce_to_intacct(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    sf, ia = clients
    state, _ = _baseline(sf, ia)
    before = _counts(sb)
    account = sb.salesforce.rows("Account", "Intacct_Customer_ID__c = 'C-1004'")[0]
    sf.update("Account", [{"Id": account["Id"], "Is_Deleted__c": True}])
    product = sb.salesforce.rows("Product2", "Intacct_Item_ID__c = 'HW-100'")[0]
    sf.delete("Product2", [product["Id"]])  # to the recycle bin: still read with queryAll
    plan = sync.plan_masters(sf, ia, state)
    deactivations = plan.to_frame().query("action == 'deactivate'")
    assert set(deactivations["intacct_id"]) == {"C-1004", "HW-100"}
    sync.apply_masters(plan, sf, ia, state)
    records = {r["CUSTOMERID"]: r for r in sb.intacct.records(CO, "CUSTOMER")}
    items = {r["ITEMID"]: r for r in sb.intacct.records(CO, "ITEM")}
    assert records["C-1004"]["STATUS"] == "inactive"
    assert items["HW-100"]["STATUS"] == "inactive"
    assert _counts(sb) == before  # nothing erased
    assert sync.plan_masters(sf, ia, state).writes == []


def test_soft_delete_intacct_to_salesforce(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    sf, ia = clients
    state, _ = _baseline(sf, ia)
    ia.update("CUSTOMER", [{"CUSTOMERID": "C1007", "STATUS": "inactive"}])
    plan = sync.plan_masters(sf, ia, state)
    assert list(plan.to_frame().query("action == 'deactivate'")["target"]) == ["salesforce"]
    sync.apply_masters(plan, sf, ia, state)
    account = sb.salesforce.rows("Account", "Intacct_Customer_ID__c = 'C1007'")[0]
    assert account["Is_Deleted__c"] is True or account["Is_Deleted__c"] == 1
    assert sb.salesforce.count("Account", "Intacct_Customer_ID__c = 'C1007'") == 1


@pytest.mark.parametrize("system", ["intacct", "salesforce"])
def test_crash_mid_apply_then_rerun_duplicates_nothing(sb: sandbox.Sandbox, system: str) -> None:
    with sandbox.running() as clean:
        with clean.salesforce_client() as sf0, clean.intacct_client("itservices") as ia0:
            _baseline(sf0, ia0)
        expected = _counts(clean)
    state = SQLiteStateStore(":memory:")
    faults = sb.intacct.faults if system == "intacct" else sb.salesforce.faults
    faults.reseed(7)
    faults.drop_after_commit_rate = 1.0
    with (
        sb.salesforce_client(retry=NO_RETRY) as sf,
        sb.intacct_client("itservices", retry=NO_RETRY) as ia,
        pytest.raises(IncompleteWriteError),
    ):
        sync.apply_masters(sync.plan_masters(sf, ia, state), sf, ia, state)
    faults.drop_after_commit_rate = 0.0
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        sync.apply_masters(sync.plan_masters(sf, ia, state), sf, ia, state)
        assert sync.plan_masters(sf, ia, state).writes == []
    assert _counts(sb) == expected


def test_normalise_name() -> None:
    assert sync.normalise_name("ACME Robotics, Inc") == sync.normalise_name("Acme Robotics Inc.")
    assert sync.normalise_name("Northwind Traders LLC") == "northwind traders"
    assert sync.normalise_name("Acme Logistics") != sync.normalise_name("Acme Robotics")


def test_mapping_is_data_with_custom_fields() -> None:
    mapping = sync.DEFAULT_ACCOUNT_MAPPING.with_fields(
        sync.FieldMap(salesforce="AccountNumber", intacct="CUSTREPID", direction="to_intacct"),
        drop=["Phone"],
    )
    names = [f.salesforce for f in mapping.fields]
    assert "Phone" not in names and names[-1] == "AccountNumber"


def test_undecided_duplicates_are_a_report_status_not_an_exception(
    clients: tuple[SalesforceClient, IntacctClient],
) -> None:
    sf, ia = clients
    state = SQLiteStateStore(":memory:")
    report = sync.apply_masters(sync.plan_masters(sf, ia, state), sf, ia, state)
    assert report.ok and report.status == "needs_attention"
    assert {c.intacct_id for c in report.needs_decision} >= {"C1001", "C1002", "C1003", "C1004"}
    assert "wait for a decision" in report.reason
    # The pending rows are stored by the apply (the plan writes nothing), for incremental runs.
    stored = state.get_value("o2c.masters.pending", "Account")
    assert {r["intacct_id"] for r in stored} >= {"C1001", "C1002", "C1003", "C1004"}
    assert len(sync.plan_masters(sf, ia, state).needs_decision()) == len(report.needs_decision)


def test_plan_writes_nothing_to_the_state_store(
    clients: tuple[SalesforceClient, IntacctClient],
) -> None:
    sf, ia = clients
    state = SQLiteStateStore(":memory:")
    sync.plan_masters(sf, ia, state)
    assert state.id_map("Account") == [] and state.values("o2c.masters.pending") == {}
    assert state.get_watermark("o2c.masters.Account.intacct") is None


def test_whenmodified_in_the_repeated_hour_syncs_masters_and_invoices(
    sb: sandbox.Sandbox, clients: tuple[SalesforceClient, IntacctClient]
) -> None:
    from intacct_sync.sandbox.intacct.schema import OBJECTS

    sf, ia = clients
    store = sb.intacct.store
    with store.lock:
        store.begin()
        for name in ("CUSTOMER", "ARINVOICE"):
            for row in sb.intacct.records(CO, name):
                store.update(
                    CO, OBJECTS[name], int(row["RECORDNO"]), {"WHENMODIFIED": "11/01/2026 01:30:00"}
                )
        store.commit()
    state = SQLiteStateStore(":memory:")
    config = sync.MastersConfig(intacct_timezone="America/New_York")
    sync.apply_masters(sync.plan_masters(sf, ia, state, config), sf, ia, state)
    earlier = dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)  # 01:30 EDT, not 01:30 EST
    assert state.get_watermark("o2c.masters.Account.intacct") == earlier
    invoices = sync.plan_invoices(sf, ia, state, intacct_timezone="America/New_York")
    assert invoices.watermark == earlier

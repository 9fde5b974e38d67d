"""Order to cash: closed won -> sales orders, invoice status back, reconciliation, CLI."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import io
import json
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from intacct_sync import sandbox, sync
from intacct_sync._http.retry import NO_RETRY
from intacct_sync.cli import o2c as cli_o2c
from intacct_sync.errors import IncompleteWriteError, InputError
from intacct_sync.posting import engine
from intacct_sync.state import SQLiteStateStore

CO = sandbox.COMPANIES["itservices"]


def _masters(sb: sandbox.Sandbox, state: SQLiteStateStore) -> None:
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        sync.apply_masters(sync.plan_masters(sf, ia, state), sf, ia, state)


def test_bad_opportunities_are_rejected_with_the_reason(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        plan = sync.plan_orders(sf, ia, state)
    rejected = {r.name: r.reason for r in plan.rows if r.status == "rejected"}
    reasons = " | ".join(rejected.values())
    assert len(rejected) == 3
    assert "does not equal the sum of its lines' TotalPrice" in reasons
    assert "(difference 500" in reasons
    assert "line without a product: Custom work (no product)" in reasons
    assert "the opportunity has no line items" in reasons
    # the three with an Intacct document id already are not taken again
    assert len(plan.rows) == 15


def test_orders_created_once_written_back_and_recorded(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        report = sync.apply_orders(sync.plan_orders(sf, ia, state), ia, sf, state)
        done = [r for r in report.rows if r.status == "posted"]
        assert len(done) == 12
        assert sb.intacct.count(CO, "SODOCUMENT") == 6 + 12
        first = done[0]
        opp = sb.salesforce.rows("Opportunity", f"Id = '{first.opportunity_id}'")[0]
        assert opp["Intacct_Document_ID__c"] == first.document_id
        entry = state.ledger_get("orders", first.opportunity_id)
        assert entry is not None and entry.status == "posted"
        assert entry.record_no == first.document_id
        assert {m.intacct_id for m in state.id_map("Opportunity")} >= {first.document_id}
        doc = next(
            r for r in sb.intacct.records(CO, "SODOCUMENT") if r["DOCID"] == first.document_id
        )
        assert doc["REFERENCENO"] == first.opportunity_id
        again = sync.plan_orders(sf, ia, state)
        assert again.ready == []
        sync.apply_orders(again, ia, sf, state)
    assert sb.intacct.count(CO, "SODOCUMENT") == 18


def test_straight_to_invoice_mode_uses_the_configured_definition(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    config = sync.OrdersConfig(transaction_type="Sales Invoice")
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        report = sync.apply_orders(sync.plan_orders(sf, ia, state, config), ia, sf, state)
    docs = [r.document_id for r in report.rows if r.status == "posted"]
    assert docs and all(str(d).startswith("Sales Invoice-") for d in docs)


def test_blocked_when_the_customer_is_not_in_intacct(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")  # no masters sync: C-10xx do not exist in Intacct
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        plan = sync.plan_orders(sf, ia, state)
    blocked = [r for r in plan.rows if r.status == "blocked"]
    assert blocked and all("does not exist in Intacct" in r.reason for r in blocked)
    assert plan.ready == []


def test_crash_while_creating_orders_then_rerun(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "RECOVERY_ROUNDS", 0)  # the stop reaches the run
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    sb.intacct.faults.drop_after_commit_rate = 1.0
    with (
        sb.salesforce_client() as sf,
        sb.intacct_client("itservices", retry=NO_RETRY) as ia,
        pytest.raises(IncompleteWriteError),
    ):
        sync.apply_orders(sync.plan_orders(sf, ia, state), ia, sf, state)
    pending = list(state.iter_ledger("orders", "pending"))
    assert len(pending) == 12
    sb.intacct.faults.drop_after_commit_rate = 0.0
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        report = sync.apply_orders(sync.plan_orders(sf, ia, state), ia, sf, state)
    assert sum(r.status == "posted" for r in report.rows) == 12
    assert sb.intacct.count(CO, "SODOCUMENT") == 18  # nothing twice
    assert (
        sb.salesforce.count("Opportunity", "Intacct_Document_ID__c LIKE 'Sales Order-SO0%'") == 12
    )


def test_crash_while_creating_orders_then_rerun_without_gateway_memory(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "RECOVERY_ROUNDS", 0)  # the stop reaches the run
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    sb.intacct.forget_control_ids = True  # only the look in the books stands between a rerun
    sb.intacct.faults.drop_after_commit_rate = 1.0  # and a second copy of every order
    with (
        sb.salesforce_client() as sf,
        sb.intacct_client("itservices", retry=NO_RETRY) as ia,
        pytest.raises(IncompleteWriteError) as info,
    ):
        sync.apply_orders(sync.plan_orders(sf, ia, state), ia, sf, state)
    assert set(info.value.outcomes["status"]) >= {"pending"}
    sb.intacct.faults.drop_after_commit_rate = 0.0
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        report = sync.apply_orders(sync.plan_orders(sf, ia, state), ia, sf, state)
    assert sum(r.status == "posted" for r in report.rows) == 12
    assert sb.intacct.count(CO, "SODOCUMENT") == 18  # nothing twice
    docs = {r.document_id for r in report.rows if r.status == "posted"}
    assert len(docs) == 12 and all(str(d).startswith("Sales Order-") for d in docs)


def test_a_changed_sales_order_is_drift_not_a_second_order(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        plan = sync.plan_orders(sf, ia, state)
        first = plan.ready[0]
        assert first.order is not None
        sync.apply_orders(sync.OrdersPlan(config=plan.config, rows=(first,)), ia, sf, state)
        line = first.order.lines[0]
        changed_order = attrs.evolve(
            first.order, lines=[attrs.evolve(line, quantity=line.quantity + 1)]
        )
        changed = attrs.evolve(first, status="done", order=changed_order)
        report = sync.apply_orders(
            sync.OrdersPlan(config=plan.config, rows=(changed,)), ia, sf, state
        )
    (row,) = report.rows
    assert row.status == "drift" and "nothing was sent" in row.reason
    assert sb.intacct.count(CO, "SODOCUMENT") == 6 + 1


def test_invoices_and_aging_back_to_the_crm(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    today = dt.datetime.now(dt.UTC).date()
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        plan = sync.plan_invoices(sf, ia, state, today=today)
        sync.apply_invoices(plan, sf, state)
        invoices = ia.read_by_query("ARINVOICE")
        again = sync.plan_invoices(sf, ia, state, today=today)
    assert again.upserts == () and again.account_updates == ()
    linked = {r["Invoice_Number__c"]: r for r in sb.salesforce.rows("Intacct_Invoice__c")}
    assert len(linked) == len(plan.upserts) > 40
    inv = next(
        r for r in invoices.to_dict("records") if r["RECORDID"] in linked and r["STATE"] == "Posted"
    )
    copy = linked[inv["RECORDID"]]
    assert Decimal(str(copy["Due__c"])) == inv["TOTALDUE"]
    assert copy["Days_Overdue__c"] == max(0, (today - inv["WHENDUE"].date()).days)
    # The aging of one account adds up to its customer's open balance.
    customer = inv["CUSTOMERID"]
    account = sb.salesforce.rows("Account", f"Intacct_Customer_ID__c = '{customer}'")[0]
    aging = sum(Decimal(str(account[f] or 0)) for f in sync.AGING_FIELDS)
    open_due = sum(
        (r["TOTALDUE"] for r in invoices.to_dict("records") if r["CUSTOMERID"] == customer),
        Decimal(0),
    )
    assert aging == open_due


def test_reconcile_lists_what_to_act_on(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        sync.sync_order_to_cash(sf, ia, state)
        report = sync.reconcile(sf, ia, state)
    counts = report.counts()
    assert counts["document missing in Intacct"] == 3
    assert counts["won without sales order"] == 3
    assert counts["invoice not in CRM"] == 8  # customers waiting for a duplicate decision
    assert "differs" not in counts
    assert "Reconciliation:" in str(report) and "<table" in report._repr_html_()


def test_cli_sync_dry_run_json_and_exit_code(tmp_path: object) -> None:
    parser = argparse.ArgumentParser()
    cli_o2c.add_commands(parser.add_subparsers(dest="command"))
    state = str(tmp_path) + "/state.sqlite3"
    args = parser.parse_args(
        ["o2c", "sync", "--sandbox", "--dry-run", "--format", "json", "--state", state]
    )
    out = io.StringIO()
    assert args.run(args, out) == 3  # duplicates wait for a decision; rejected opportunities
    document = json.loads(out.getvalue())
    assert document["dry_run"] is True
    assert any(r["action"] == "duplicate" for r in document["masters"])


def test_example_baseline_match_runs(capsys: pytest.CaptureFixture[str]) -> None:
    # Loaded from its path: examples/ is a folder of scripts, not a package.
    path = Path(__file__).resolve().parents[1] / "examples" / "baseline_match.py"
    spec = importlib.util.spec_from_file_location("baseline_match", path)
    assert spec is not None and spec.loader is not None
    baseline_match = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline_match)
    assert baseline_match.main(["--sandbox", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "For a person to decide" in out and "nothing written" in out


def _deactivate_customer_of_one_order(sb: sandbox.Sandbox, state: SQLiteStateStore) -> str:
    """Close the Intacct customer of one ready opportunity; returns that customer id."""
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        customer = str(sync.plan_orders(sf, ia, state).ready[0].customer_id)
        record = next(r for r in sb.intacct.records(CO, "CUSTOMER") if r["CUSTOMERID"] == customer)
        done = ia.update("CUSTOMER", [{"RECORDNO": record["RECORDNO"], "STATUS": "inactive"}])
    assert done["done"].all()
    return customer


def test_orders_halt_on_an_order_intacct_would_refuse_when_on_invalid_is_halt(
    sb: sandbox.Sandbox,
) -> None:
    # Issue 14: the order run's invalid-record policy. halt: no order is sent while one is
    # blocked (Intacct would refuse it: its customer is inactive) or rejected.
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    customer = _deactivate_customer_of_one_order(sb, state)
    config = sync.OrdersConfig(on_invalid="halt")
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        report = sync.apply_orders(sync.plan_orders(sf, ia, state, config), ia, sf, state)
    assert sb.intacct.count(CO, "SODOCUMENT") == 6  # nothing sent
    assert report.halted and report.summary().startswith(
        "Sales orders applied (Sales Order): HALTED: nothing sent; "
    )
    blocked = [r for r in report.rows if r.status == "skipped" and "inactive" in r.reason]
    assert blocked and all(f"customer {customer} is inactive" in r.reason for r in blocked)
    held = [r for r in report.rows if r.status == "held"]
    assert held and report.count("posted") == 0
    # Each held order names the ones that stopped the run, by opportunity id and reason.
    assert all(blocked[0].opportunity_id in r.reason for r in held)
    assert all(f"customer {customer} is inactive" in r.reason for r in held)
    assert report.to_dict()["halted"] is True and report.to_dict()["counts"]["held"] == len(held)
    # The CLI's exit code: a held order needs attention.
    run = sync.OrderToCashRun(
        masters=sync.MastersPlan(config=sync.MastersConfig(), changes=()),
        orders=None,
        invoices=None,
        dry_run=False,
        orders_report=report,
    )
    assert cli_o2c.needs_attention(run)


def test_orders_skip_only_the_order_intacct_would_refuse_by_default(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")
    _masters(sb, state)
    customer = _deactivate_customer_of_one_order(sb, state)
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        plan = sync.plan_orders(sf, ia, state)
        report = sync.apply_orders(plan, ia, sf, state)
    refused = {r.opportunity_id for r in plan.rows if r.status in ("rejected", "blocked")}
    assert {r.opportunity_id for r in report.rows if r.status == "skipped"} == refused
    assert any(f"customer {customer} is inactive" in r.reason for r in report.rows)
    posted = report.count("posted")
    assert posted == len(plan.ready) and sb.intacct.count(CO, "SODOCUMENT") == 6 + posted
    assert not report.halted and report.count("held") == 0
    with pytest.raises(InputError):
        sync.OrdersConfig(on_invalid="ignore")  # type: ignore[arg-type]


def test_every_o2c_report_names_the_company_and_entity(sb: sandbox.Sandbox) -> None:
    state = SQLiteStateStore(":memory:")
    with sb.salesforce_client() as sf, sb.intacct_client("itservices") as ia:
        run = sync.sync_order_to_cash(sf, ia, state)
        reconciled = sync.reconcile(sf, ia, state)
    where = f"; company {CO}, top level"
    reports = [run, run.masters_report, run.orders_report, run.invoices_report, reconciled]
    for report in reports:
        assert report is not None
        assert report.summary().endswith(where), report.summary()
        document = report.to_dict()
        assert (document["company"], document["entity"]) == (CO, None)
        json.dumps(document, default=str)  # one JSON document
    assert run.orders is not None and run.orders.summary().endswith(where)
    with sb.salesforce_client() as sf, sb.intacct_client("itservices", entity_id="REMOTE") as east:
        plan = sync.plan_orders(sf, east, SQLiteStateStore(":memory:"))
    assert plan.summary().endswith(f"; company {CO}, entity REMOTE")


def test_cli_sync_and_reconcile_json_name_the_company_and_entity(tmp_path: object) -> None:
    parser = argparse.ArgumentParser()
    cli_o2c.add_commands(parser.add_subparsers(dest="command"))
    state = str(tmp_path) + "/state.sqlite3"
    for argv in (["o2c", "sync", "--sandbox"], ["o2c", "reconcile", "--sandbox"]):
        args = parser.parse_args([*argv, "--format", "json", "--state", state])
        out = io.StringIO()
        args.run(args, out)
        document = json.loads(out.getvalue())
        assert (document["company"], document["entity"]) == (CO, None)
        assert document["summary"].endswith(f"; company {CO}, top level")

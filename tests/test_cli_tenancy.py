"""State is per tenant: a default file per company, the sandbox never near it, and a store that
belongs to another company refused, by the CLI and by every workflow entry point a Python user
calls; nothing falls back to the sandbox silently."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import os
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

from intacct_sync import IntacctClient, actions, kpi, o2c, posting, sandbox
from intacct_sync.actions import journal_import
from intacct_sync.cli.main import main
from intacct_sync.errors import StateError
from intacct_sync.sandbox import COMPANIES
from intacct_sync.state import SQLiteStateStore, StateStore
from intacct_sync.state.tenancy import (
    bind_tenant,
    claim_tenant,
    default_state_file,
    tenant_key,
    tenant_of,
)
from intacct_sync.testing import MockTransport

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_the_default_state_file_is_keyed_by_company_and_entity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_state_file("ACME") == tmp_path / ".intacct_sync" / "ACME" / "state.sqlite3"
    assert default_state_file("ACME", "EAST").parent.name == "ACME-EAST"
    assert default_state_file("../evil").parent.parent == tmp_path / ".intacct_sync"


def test_a_store_belongs_to_the_first_tenant_that_uses_it(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with SQLiteStateStore(path) as state:
        claim_tenant(state, tenant_key("ACME"))
        claim_tenant(state, tenant_key("ACME"))  # the same tenant again: fine
    with (
        SQLiteStateStore(path) as state,
        pytest.raises(StateError, match="belongs to intacct:ACME"),
    ):
        claim_tenant(state, tenant_key("ACME", sandbox=True))
    assert tenant_key("ACME", "EAST", org_id="00D1") == "intacct:ACME/EAST salesforce:00D1"


def test_a_sandbox_run_never_touches_the_home_state_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    code = main(["o2c", "reconcile", "--sandbox"], out=io.StringIO())
    assert code == 0
    assert not (tmp_path / ".intacct_sync").exists()


def test_a_run_refuses_another_tenants_state_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.sqlite3"
    with SQLiteStateStore(path) as state:
        claim_tenant(state, tenant_key(COMPANIES["itservices"]))  # a production company's file
    code = main(["o2c", "reconcile", "--sandbox", "--state", str(path)], out=io.StringIO())
    assert code == 1
    err = capsys.readouterr().err
    assert "StateError" in err and "belongs to intacct:" in err


def test_the_sandbox_state_store_is_claimed_for_the_sandbox(tmp_path: Path) -> None:
    from intacct_sync import sandbox

    path = str(tmp_path / "state.sqlite3")
    with sandbox.running() as sb:
        sb.state_store("itservices", path).close()
    with SQLiteStateStore(path) as state, pytest.raises(StateError):
        claim_tenant(state, tenant_key(COMPANIES["itservices"]))


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["import_journal_lines", "backfill_kpis", "baseline_match"])
def test_examples_refuse_without_credentials_or_sandbox(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in ("INTACCT_SENDER_ID", "INTACCT_PROFILE", "SF_INSTANCE_URL"):
        monkeypatch.delenv(key, raising=False)
    args = ["--dry-run"]
    assert _example(name).main(args) == 2
    assert "--sandbox" in capsys.readouterr().err


def test_the_import_example_says_where_it_posts(capsys: pytest.CaptureFixture[str]) -> None:
    example = _example("import_journal_lines")
    assert example.main([str(EXAMPLES / "data" / "journal_lines.csv"), "--sandbox"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"Intacct company {COMPANIES['nonprofit']}") and "sandbox" in first


# -- one rule at every workflow entry point ---------------------------------------------------

NP = COMPANIES["nonprofit"]
CO = COMPANIES["itservices"]


def production_client(company: str) -> IntacctClient:
    """A client of the real company of that id; any request it sends fails the test."""
    return IntacctClient(
        sender_id="sender",
        sender_password="sender-secret",
        company_id=company,
        user_id="ws_user",
        user_password="user-secret",
        transport=MockTransport(_never_sent),
        typed=False,
    )


def _never_sent(request: Any) -> Any:
    raise AssertionError(f"a refused run sent {request.method} {request.url}")


def _changes() -> pd.DataFrame:
    totals = pd.DataFrame([{"date": dt.date(2026, 3, 2), "kpi": "donors", "value": Decimal(5)}])
    return kpi.changes(totals)


def _journal() -> journal_import.JournalImport:
    return journal_import.read_journal_lines(EXAMPLES / "data" / "journal_lines.csv")


# Each entry point, called with the production client `ia` on a store the sandbox used.
ENTRY_POINTS: dict[str, Callable[[sandbox.Sandbox, Any, Any, StateStore], Any]] = {
    "ActionSync.run": lambda sb, ia, sf, state: actions.ActionSync(ia, sf, state).run(),
    "ActionSync.run dry": lambda sb, ia, sf, state: actions.ActionSync(ia, sf, state).run(
        dry_run=True
    ),
    "journals.post": lambda sb, ia, sf, state: actions.journals.post(ia, _journal().plan, state),
    "post_journal_lines": lambda sb, ia, sf, state: journal_import.post_journal_lines(
        ia, _journal(), state
    ),
    "kpi.post_changes": lambda sb, ia, sf, state: kpi.post_changes(
        ia, _changes(), state=state, dry_run=True
    ),
    "sync_order_to_cash": lambda sb, ia, sf, state: o2c.sync_order_to_cash(
        sf, ia, state, dry_run=True
    ),
    "plan_masters": lambda sb, ia, sf, state: o2c.plan_masters(sf, ia, state),
    "plan_orders": lambda sb, ia, sf, state: o2c.plan_orders(sf, ia, state),
    "plan_invoices": lambda sb, ia, sf, state: o2c.plan_invoices(sf, ia, state),
    "reconcile": lambda sb, ia, sf, state: o2c.reconcile(sf, ia, state),
    # The engine itself, for a caller that posts without a workflow.
    "posting.post": lambda sb, ia, sf, state: posting.post(
        ia,
        state,
        "journal_import",
        [posting.Posting(key=e.key, record=e, reference=e.key) for e in _journal().plan.entries],
    ),
}


O2C = {"sync_order_to_cash", "plan_masters", "plan_orders", "plan_invoices", "reconcile"}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_every_entry_point_refuses_a_sandbox_store_for_a_production_client(
    entry: str, shared_sb: sandbox.Sandbox
) -> None:
    alias: Any = "itservices" if entry in O2C else "nonprofit"
    company = COMPANIES[alias]
    state = shared_sb.state_store(alias)  # claimed for sandbox:<company>
    with shared_sb.salesforce_client() as sf, pytest.raises(StateError) as refused:
        ENTRY_POINTS[entry](shared_sb, production_client(company), sf, state)
    message = str(refused.value)
    assert f"sandbox:{company}" in message and f"intacct:{company}" in message
    assert state.get_value("meta", "tenant") == f"sandbox:{company}"  # nothing rewritten


def test_the_apply_steps_refuse_a_plan_made_on_the_sandbox(sb: sandbox.Sandbox) -> None:
    state = sb.state_store("itservices")
    with sb.intacct_client("itservices") as ia, sb.salesforce_client() as sf:
        masters = o2c.plan_masters(sf, ia, state)
        orders = o2c.plan_orders(sf, ia, state)
    production = production_client(CO)
    with sb.salesforce_client() as sf:
        with pytest.raises(StateError, match=f"sandbox:{CO}, not intacct:{CO}"):
            o2c.apply_masters(masters, sf, production, state)
        with pytest.raises(StateError, match=f"sandbox:{CO}, not intacct:{CO}"):
            o2c.apply_orders(orders, production, sf, state)
    assert state.get_value("meta", "tenant") == f"sandbox:{CO}"


def test_the_dagster_adapters_refuse_another_tenants_store(shared_sb: sandbox.Sandbox) -> None:
    dagster = pytest.importorskip("intacct_sync.integrations.dagster")
    production = production_client(NP)
    with shared_sb.salesforce_client() as sf:
        for run in (
            lambda state: dagster.run_actions(production, sf, state, dry_run=True),
            lambda state: dagster.run_kpi(
                production,
                sf,
                state,
                start=dt.date(2026, 3, 1),
                end=dt.date(2026, 3, 2),
                dry_run=True,
            ),
            lambda state: dagster.run_order_to_cash(production, sf, state, dry_run=True),
        ):
            with pytest.raises(StateError, match=f"sandbox:{NP}"):
                run(shared_sb.state_store("nonprofit"))


@pytest.mark.parametrize("protocol", ["xml", "rest"])
def test_a_sandbox_client_is_the_sandbox_tenant_on_both_protocols(
    protocol: Any, shared_sb: sandbox.Sandbox
) -> None:
    with shared_sb.intacct_client("nonprofit", protocol=protocol) as ia:
        assert tenant_of(ia) == f"sandbox:{NP}"
        bind_tenant(shared_sb.state_store("nonprofit"), ia)  # the sandbox's own store: fine
    assert tenant_of(production_client(NP)) == f"intacct:{NP}"


def test_a_store_without_a_tenant_takes_the_first_clients_and_keeps_it() -> None:
    state = SQLiteStateStore(":memory:")
    assert bind_tenant(state, production_client("ACME")) == "intacct:ACME"
    assert bind_tenant(state, production_client("ACME")) == "intacct:ACME"
    with pytest.raises(StateError, match="belongs to intacct:ACME, not intacct:BETA"):
        bind_tenant(state, production_client("BETA"))


@pytest.mark.parametrize("opened_for", ["ACME", "intacct:ACME"])
def test_a_store_opened_for_a_tenant_refuses_another_company(opened_for: str) -> None:
    state = SQLiteStateStore(":memory:", tenant=opened_for)
    with pytest.raises(StateError) as refused:
        bind_tenant(state, production_client("BETA"))
    assert opened_for in str(refused.value) and "intacct:BETA" in str(refused.value)
    assert state.get_value("meta", "tenant") is None  # the refused client claimed nothing
    assert bind_tenant(state, production_client("ACME")) == "intacct:ACME"


def test_a_store_opened_for_a_company_is_held_to_its_first_client(
    shared_sb: sandbox.Sandbox,
) -> None:
    state = SQLiteStateStore(":memory:", tenant=NP)
    with shared_sb.intacct_client("nonprofit") as ia:
        bind_tenant(state, ia)
    with pytest.raises(StateError, match=f"belongs to sandbox:{NP}, not intacct:{NP}"):
        bind_tenant(state, production_client(NP))


def test_an_entity_store_refuses_the_top_level_client() -> None:
    state = SQLiteStateStore(":memory:", tenant="ACME/EAST")
    with pytest.raises(StateError, match="opened for tenant ACME/EAST"):
        bind_tenant(state, production_client("ACME"))


@pytest.fixture
def pg_dsn() -> str:
    dsn = os.environ.get("INTACCT_SYNC_TEST_POSTGRES_DSN")
    if dsn is None:
        pytest.skip("INTACCT_SYNC_TEST_POSTGRES_DSN is not set (scripts/pg_test_server.sh)")
    return dsn


def test_the_postgres_store_follows_the_same_rule(pg_dsn: str, shared_sb: sandbox.Sandbox) -> None:
    from intacct_sync.state import PostgresStateStore

    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        with PostgresStateStore(pg_dsn, schema=schema) as state:
            with shared_sb.intacct_client("nonprofit") as ia:
                assert bind_tenant(state, ia) == f"sandbox:{NP}"
            with shared_sb.salesforce_client() as sf, pytest.raises(StateError) as refused:
                actions.ActionSync(production_client(NP), sf, state).run()
            assert f"sandbox:{NP}" in str(refused.value)
            assert f"intacct:{NP}" in str(refused.value)
        with (
            PostgresStateStore(pg_dsn, schema=schema, tenant="ACME") as state,
            pytest.raises(StateError, match="opened for tenant ACME"),
        ):
            bind_tenant(state, production_client("BETA"))
    finally:
        import psycopg

        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

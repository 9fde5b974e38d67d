"""State is per tenant: a default file per company, the sandbox never near it, and a store that
belongs to another company refused; nothing falls back to the sandbox silently."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from types import ModuleType

import pytest

from intacct_sync.cli.main import main
from intacct_sync.errors import StateError
from intacct_sync.sandbox import COMPANIES
from intacct_sync.state import SQLiteStateStore
from intacct_sync.state.tenancy import claim_tenant, default_state_file, tenant_key

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

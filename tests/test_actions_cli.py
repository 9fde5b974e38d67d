"""The ``actions``/``journals`` commands, the demo and the import example."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from intacct_sync import sandbox
from intacct_sync.cli import actions as cli_actions
from intacct_sync.cli.common import Connection

COMPANY = sandbox.COMPANIES["nonprofit"]
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SAMPLE = EXAMPLES / "data" / "journal_lines.csv"


def load_example() -> ModuleType:
    # Loaded from its path: examples/ is a folder of scripts, not a package.
    spec = importlib.util.spec_from_file_location(
        "import_journal_lines", EXAMPLES / "import_journal_lines.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="intacct-sync")
    cli_actions.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    out = io.StringIO()
    code = args.run(args, out)
    return code, out.getvalue()


def test_sync_halts_with_exit_3_and_lists_the_invalid_actions() -> None:
    code, text = run("actions", "sync", "--sandbox")
    assert code == cli_actions.EXIT_VALIDATION
    assert "HALTED" in text and "A-00195" in text and "missing_required_tag" in text


def test_sync_skip_json_is_one_document(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    code, text = run(
        "actions",
        "sync",
        "--sandbox",
        "--on-invalid",
        "skip",
        "--mode",
        "batch",
        "--state",
        str(state),
        "--format",
        "json",
    )
    assert code == cli_actions.EXIT_VALIDATION  # 6 invalid actions skipped: needs attention
    document = json.loads(text)
    assert document["counts"]["posted"] == 189 and document["counts"]["invalid"] == 6
    assert document["mode"] == "batch" and len(document["issues"]) == 6
    assert document["watermark_after"] is not None


def test_sync_dry_run_and_since() -> None:
    code, text = run(
        "actions",
        "sync",
        "--sandbox",
        "--dry-run",
        "--on-invalid",
        "skip",
        "--since",
        "2000-01-01T00:00:00Z",
    )
    assert code == cli_actions.EXIT_VALIDATION and "189 would post" in text


def test_since_without_time_zone_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        run("actions", "sync", "--sandbox", "--since", "2026-01-01T00:00:00")
    assert caught.value.code == 2


def test_journals_import_dry_run_and_post(tmp_path: Path) -> None:
    code, text = run("journals", "import", str(SAMPLE), "--dry-run", "--sandbox")
    assert code == 0 and "IMP-2026-001" in text and "would be posted" in text
    code, text = run("journals", "import", str(SAMPLE), "--sandbox", "--format", "json")
    document = json.loads(text)
    assert code == 0 and [p["status"] for p in document["posted"]] == ["posted", "posted"]


def test_journals_import_bad_rows_exit_3_unless_skip_invalid(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        SAMPLE.read_text()
        + 'IMP-X,2026-01-31,Bad,1000,"1,000",,,,,,\nIMP-X,2026-01-31,,4000,,1000,,,,,\n'
    )
    code, text = run("journals", "import", str(bad), "--sandbox")
    assert code == 3 and "1,000" in text and "Nothing was posted" in text
    code, text = run("journals", "import", str(bad), "--sandbox", "--skip-invalid")
    assert code == 3 and "2 posted" in text  # the bad entry was not posted: needs attention


def test_demo_halts_fixes_posts_and_reruns() -> None:
    out = io.StringIO()
    with sandbox.running() as sb:
        cli_actions.demo(sb, out)
    text = out.getvalue()
    assert "HALTED: nothing posted" in text
    assert "195 posted" in text and "at most 1 each" in text
    assert "0 actions read" in text


def test_example_runs_against_the_sandbox(capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example()
    assert example.main([str(SAMPLE), "--sandbox", "--dry-run"]) == 0
    assert example.main([str(SAMPLE), "--sandbox"]) == 0
    out = capsys.readouterr().out
    assert "2 posted" in out and "Foundation grant received" in out


def test_journals_import_dry_run_runs_the_preflight_and_the_real_run_refuses_the_same(
    tmp_path: Path,
) -> None:
    # Issue 14: account 9999 and location MARS were listed as "would be posted"; the real run
    # then posted part of the file and exited 0.
    path = tmp_path / "mars.csv"
    path.write_text(
        "entry,date,description,account,debit,credit,memo,location,department,class\n"
        "JE-1,2026-02-01,Grant received,1000,50,,,,,\n"
        "JE-1,2026-02-01,,4300,,50,,,,\n"
        "JE-2,2026-02-03,Transfer,1000,10,,,MARS,,\n"
        "JE-2,2026-02-03,,9999,,10,,,,\n"
    )
    code, text = run("journals", "import", str(path), "--dry-run", "--sandbox")
    assert code == 3
    refused, _, preview = text.partition("would be posted")
    assert "unknown_account" in refused and "9999" in refused
    assert "unknown_dimension_value" in refused and "MARS" in refused and "4, 5" in refused
    assert "JE-1" in preview and "JE-2" not in preview
    # Without --skip-invalid the real run halts on the breach: nothing is posted (JE-1 held).
    code, text = run("journals", "import", str(path), "--sandbox", "--format", "json")
    document = json.loads(text)
    assert code == 3
    assert {p["source_id"]: p["status"] for p in document["posted"]} == {
        "GJ:JE-1": "held",
        "GJ:JE-2": "skipped",
    }
    # With it, only the breaching entry is refused.
    code, text = run(
        "journals", "import", str(path), "--sandbox", "--skip-invalid", "--format", "json"
    )
    document = json.loads(text)
    assert code == 3
    assert {p["source_id"]: p["status"] for p in document["posted"]} == {
        "GJ:JE-1": "posted",
        "GJ:JE-2": "skipped",
    }


MARS = (
    "entry,date,description,account,debit,credit,memo,location,department,class\n"
    "JE-1,2026-02-01,Grant received,1000,50,,,,,\n"
    "JE-1,2026-02-01,,4300,,50,,,,\n"
    "JE-2,2026-02-03,Transfer,1000,10,,,MARS,,\n"
    "JE-2,2026-02-03,,9999,,10,,,,\n"
)


def test_journals_import_halts_on_a_preflight_breach_naming_csv_line_field_value_and_rule(
    tmp_path: Path,
) -> None:
    # Issue 14: without --skip-invalid a breach halts the import: exit 3, nothing posted, and
    # each breach shown whole with its line in the file, the field, the value and the rule.
    path = tmp_path / "mars.csv"
    path.write_text(MARS)
    code, text = run("journals", "import", str(path), "--sandbox")
    assert code == 3
    assert "0 posted" in text and "1 held" in text and "1 skipped" in text
    assert "company DEMO-NONPROFIT, top level" in text
    assert "CSV line 4 LOCATION 'MARS': no such value (unknown_dimension_value)" in text
    assert "CSV line 5 ACCOUNTNO '9999': no such account (unknown_account)" in text
    assert "Nothing was posted" in text and "--skip-invalid" in text
    code, text = run("journals", "import", str(path), "--sandbox", "--skip-invalid")
    assert code == 3 and "1 posted" in text and "1 skipped" in text
    assert "Nothing was posted" not in text


def test_journals_import_dry_run_says_nothing_would_be_posted_without_skip_invalid(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mars.csv"
    path.write_text(MARS)
    code, text = run("journals", "import", str(path), "--sandbox", "--dry-run")
    assert code == 3 and "nothing would be posted without --skip-invalid" in text
    assert "company DEMO-NONPROFIT, top level" in text
    code, text = run("journals", "import", str(path), "--sandbox", "--dry-run", "--format", "json")
    document = json.loads(text)
    assert document["company"] == "DEMO-NONPROFIT" and document["entity"] is None
    preflight = document["preflight"]
    assert preflight["refused"] == ["JE-2"] and preflight["company"] == "DEMO-NONPROFIT"
    assert {
        (b["csv_line"], b["csv_lines"], b["field"], b["value"], b["rule"])
        for b in preflight["breaches"]
    } == {
        (4, "4, 5", "LOCATION", "MARS", "unknown_dimension_value"),
        (5, "4, 5", "ACCOUNTNO", "9999", "unknown_account"),
    }


def test_journals_import_json_names_the_company_and_entity(tmp_path: Path) -> None:
    code, text = run("journals", "import", str(SAMPLE), "--sandbox", "--format", "json")
    document = json.loads(text)
    assert code == 0 and document["company"] == "DEMO-NONPROFIT" and document["entity"] is None
    assert document["summary"].endswith("; company DEMO-NONPROFIT, top level")


def test_sync_json_names_the_company_and_entity(tmp_path: Path) -> None:
    _, text = run("actions", "sync", "--sandbox", "--on-invalid", "skip", "--format", "json")
    document = json.loads(text)
    assert document["company"] == "DEMO-NONPROFIT" and document["entity"] is None
    _, text = run("actions", "sync", "--sandbox", "--dry-run")
    assert "Intacct: company DEMO-NONPROFIT, top level" in text


# -- --correct-drift (issue 12: the opt-in correcting entry) -------------------------------------


@pytest.fixture
def one_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[sandbox.Sandbox]:
    """Every command of the test talks to the same sandbox (``--sandbox`` reseeds per run)."""
    with sandbox.running() as sb:

        @contextlib.contextmanager
        def connect(
            args: argparse.Namespace, *, salesforce: bool = True, **_: object
        ) -> Iterator[Connection]:
            with sb.intacct_client() as ia, sb.salesforce_client() as sf:
                yield Connection(ia, sf if salesforce else None, sandbox=True)

        monkeypatch.setattr(cli_actions, "connect", connect)
        yield sb


def _entry_csv(tmp_path: Path, amount: str) -> str:
    path = tmp_path / f"je-{amount}.csv"
    path.write_text(
        "entry,date,description,account,debit,credit\n"
        f"FIX-1,2026-11-02,Grant,1000,{amount},\n"
        f"FIX-1,2026-11-02,,4300,,{amount}\n"
    )
    return str(path)


def test_journals_import_correct_drift_dry_run_lists_then_posts_the_correction(
    one_sandbox: sandbox.Sandbox, tmp_path: Path
) -> None:
    state = str(tmp_path / "state.sqlite3")
    code, _ = run("journals", "import", _entry_csv(tmp_path, "1000.00"), "--state", state)
    assert code == 0
    record_no = next(
        str(r["RECORDNO"])
        for r in one_sandbox.intacct.records(COMPANY, "GLBATCH")
        if r["REFERENCENO"] == "FIX-1"
    )
    edited = _entry_csv(tmp_path, "1250.00")
    code, text = run("journals", "import", edited, "--state", state)
    assert code == 3 and "drift" in text and "--correct-drift" in text
    writes = one_sandbox.intacct.stats.writes_committed
    code, text = run("journals", "import", edited, "--state", state, "--dry-run", "--correct-drift")
    assert code == 0
    assert (
        f"1 entry would be corrected: would reverse RECORDNO {record_no} (1,000.00) and repost "
        "(1,250.00)"
    ) in text
    assert f"FIX-1~R{record_no}" in text and f"FIX-1~C{record_no}" in text
    assert one_sandbox.intacct.stats.writes_committed == writes
    code, text = run("journals", "import", edited, "--state", state, "--correct-drift")
    assert code == 0
    assert (
        f"1 entry corrected: reversed RECORDNO {record_no} (1,000.00) and reposted (1,250.00)"
    ) in text
    books = one_sandbox.intacct.journal_entries_by_reference(COMPANY)
    assert [books.get(f"FIX-1{s}", 0) for s in ("", f"~R{record_no}", f"~C{record_no}")] == [1] * 3
    code, text = run("journals", "import", edited, "--state", state, "--correct-drift")
    assert code == 0 and "1 already posted" in text


def test_actions_sync_correct_drift_dry_run_lists_then_posts_the_correction(
    one_sandbox: sandbox.Sandbox, tmp_path: Path
) -> None:
    state = str(tmp_path / "state.sqlite3")
    run("actions", "sync", "--on-invalid", "skip", "--state", state)
    posted = next(
        r
        for r in one_sandbox.intacct.records(COMPANY, "GLBATCH")
        if str(r["REFERENCENO"] or "").startswith("a0")
    )
    action_id, record_no = str(posted["REFERENCENO"]), str(posted["RECORDNO"])
    (row,) = one_sandbox.salesforce.rows("Action__c", f"Id = '{action_id}'", fields=["Amount__c"])
    old = Decimal(str(row["Amount__c"]))
    with one_sandbox.salesforce_client() as sf:
        sf.update("Action__c", [{"Id": action_id, "Amount__c": str(old + 10)}])
    since = "2000-01-01T00:00:00+00:00"
    again = ("actions", "sync", "--on-invalid", "skip", "--state", state, "--since", since)
    writes = one_sandbox.intacct.stats.writes_committed
    _, text = run(*again, "--dry-run", "--correct-drift")
    expected = f"reverse RECORDNO {record_no} ({old:,.2f}) and repost ({old + 10:,.2f})"
    assert f"1 entry would be corrected: would {expected}" in text
    assert "Corrections the real run would post" in text
    assert one_sandbox.intacct.stats.writes_committed == writes
    _, text = run(*again, "--correct-drift")
    assert f"1 entry corrected: reversed RECORDNO {record_no} ({old:,.2f}) and reposted" in text
    assert "Entries corrected" in text
    books = one_sandbox.intacct.journal_entries_by_reference(COMPANY)
    assert books[f"{action_id}~R{record_no}"] == 1 and books[f"{action_id}~C{record_no}"] == 1


def test_correct_drift_is_documented_in_both_commands_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in (("actions", "sync"), ("journals", "import")):
        with pytest.raises(SystemExit):
            run(*command, "--help")
        text = " ".join(capsys.readouterr().out.split())
        assert "--correct-drift" in text and "debit and credit swapped" in text
        assert "Without it drift is reported and nothing is sent" in text

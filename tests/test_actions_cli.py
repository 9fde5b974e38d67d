"""The ``actions``/``journals`` commands, the demo and the import example."""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
from pathlib import Path
from types import ModuleType

import pytest

from intacct_sync import sandbox
from intacct_sync.cli import actions as cli_actions

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
    code, text = run("journals", "import", str(path), "--sandbox", "--format", "json")
    document = json.loads(text)
    assert code == 3
    assert {p["source_id"]: p["status"] for p in document["posted"]} == {
        "GJ:JE-1": "posted",
        "GJ:JE-2": "skipped",
    }

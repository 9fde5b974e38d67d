"""Every ``intacct-sync`` command explains itself: a description, help on every option, and the
one exit-code table; the shared options are on every command that talks to a system."""

from __future__ import annotations

import argparse
import importlib
import io
import subprocess
import sys
from collections.abc import Iterator

import pytest

from intacct_sync.__about__ import __version__
from intacct_sync.cli.common import EXIT_CODES

# The package re-exports main(), which hides the module of the same name from attribute access.
cli_main = importlib.import_module("intacct_sync.cli.main")

#: Commands that do not talk to a configured system (they start the sandbox themselves).
_NO_CONNECTION = {"intacct-sync", "intacct-sync demo", "intacct-sync sandbox"}
#: Commands that write somewhere and so take --dry-run.
_WRITES = {
    "intacct-sync actions sync",
    "intacct-sync journals import",
    "intacct-sync kpi post",
    "intacct-sync o2c sync",
}


def _walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _walk(child)


PARSERS = list(_walk(cli_main._parser()))
COMMANDS = {p.prog: p for p in PARSERS}


def _leaves() -> list[str]:
    return [
        prog
        for prog, p in COMMANDS.items()
        if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)
    ]


def test_the_walk_finds_every_command() -> None:
    leaves = set(_leaves())
    assert {
        "intacct-sync demo",
        "intacct-sync sandbox",
        "intacct-sync intacct read",
        "intacct-sync salesforce read",
        "intacct-sync actions sync",
        "intacct-sync journals import",
        "intacct-sync kpi post",
        "intacct-sync kpi compare",
        "intacct-sync o2c sync",
        "intacct-sync o2c reconcile",
        "intacct-sync o2c decide",
    } <= leaves


@pytest.mark.parametrize("prog", sorted(COMMANDS))
def test_help_has_a_description_and_the_exit_code_table(prog: str) -> None:
    parser = COMMANDS[prog]
    text = parser.format_help()
    assert parser.description and len(parser.description) > 20, prog
    assert "exit codes:" in text
    for line in EXIT_CODES.splitlines():
        assert line in text, (prog, line)


@pytest.mark.parametrize("prog", sorted(COMMANDS))
def test_every_option_has_help_text(prog: str) -> None:
    missing = [
        "/".join(action.option_strings) or action.dest
        for action in COMMANDS[prog]._actions
        if not isinstance(action, argparse._SubParsersAction)
        and (action.help is None or action.help == argparse.SUPPRESS or not action.help.strip())
    ]
    assert not missing, f"{prog}: options without help: {missing}"


@pytest.mark.parametrize("prog", sorted(set(_leaves()) - _NO_CONNECTION))
def test_every_command_has_the_shared_options(prog: str) -> None:
    options = {o for a in COMMANDS[prog]._actions for o in a.option_strings}
    assert {"--sandbox", "--profile", "--format"} <= options, prog
    formats = next(a for a in COMMANDS[prog]._actions if "--format" in a.option_strings)
    assert formats.choices is not None and {"text", "json", "csv"} <= set(formats.choices)
    assert ("--dry-run" in options) == (prog in _WRITES), prog


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli_main.main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_the_top_help_does_not_open_with_internals() -> None:
    text = cli_main._parser().format_help()
    assert "Thin" not in text and "Salesforce and Sage Intacct" in text


def test_sandbox_print_env_names_the_o2c_company(monkeypatch: pytest.MonkeyPatch) -> None:
    from intacct_sync.sandbox import COMPANIES

    def stop(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main.time, "sleep", stop)
    out = io.StringIO()
    assert cli_main.main(["sandbox", "--print-env"], out=out) == 0
    text = out.getvalue()
    assert f"INTACCT_COMPANY_ID={COMPANIES['nonprofit']}" in text
    assert f"INTACCT_COMPANY_ID={COMPANIES['itservices']}" in text and "o2c" in text


def test_a_closed_pipe_is_quiet() -> None:
    # `intacct-sync salesforce read ... | head -1`: the reader leaves after one line.
    command = (
        f"{sys.executable} -m intacct_sync.cli salesforce read --sandbox "
        "'SELECT Id, Name FROM Account' --max-rows 500 | head -1"
    )
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=120, check=False
    )
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
    assert done.stdout.startswith("salesforce read: Salesforce ")  # says which system first


def test_salesforce_read_json(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    out = io.StringIO()
    code = cli_main.main(
        ["salesforce", "read", "--sandbox", "--format", "json", "SELECT Id, Name FROM Account"],
        out=out,
    )
    assert code == 0
    rows = json.loads(out.getvalue())["rows"]
    assert rows and set(rows[0]) == {"Id", "Name"}
    assert "Salesforce" in capsys.readouterr().err  # the system is named, off the document


def test_intacct_read_takes_sandbox_and_json() -> None:
    import json

    out = io.StringIO()
    code = cli_main.main(
        ["intacct", "read", "GLACCOUNT", "--sandbox", "--format", "json", "--fields", "ACCOUNTNO"],
        out=out,
    )
    assert code == 0
    assert {r["ACCOUNTNO"] for r in json.loads(out.getvalue())["rows"]} >= {"4000"}

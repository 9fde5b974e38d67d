"""A dry run says exactly what the real run that follows it on the same data will do (sandbox).

For order to cash and for the actions sync: the dry run's plan is compared, row by row, with
what the real run then did; and what a dry run prints never claims a write that did not happen.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
from pathlib import Path

import pytest

from intacct_sync import actions, sandbox, sync
from intacct_sync.cli import actions as cli_actions
from intacct_sync.cli import o2c as cli_o2c
from intacct_sync.errors import ValidationError
from intacct_sync.state import SQLiteStateStore


def _changes(plan: sync.MastersPlan) -> set[tuple[str, str, str, str | None, str | None]]:
    return {(c.object, c.action, c.target, c.salesforce_id, c.intacct_id) for c in plan.changes}


def test_o2c_dry_run_matches_the_run_that_follows(sb: sandbox.Sandbox, tmp_path: Path) -> None:
    with (
        sb.salesforce_client() as sf,
        sb.intacct_client("itservices") as ia,
        SQLiteStateStore(tmp_path / "state.sqlite3") as state,
    ):
        preview = sync.sync_order_to_cash(sf, ia, state, dry_run=True)
        run = sync.sync_order_to_cash(sf, ia, state)
        # The masters: the same changes, and every planned write was done.
        assert _changes(preview.masters) == _changes(run.masters)
        assert run.masters_report is not None and run.masters_report.ok
        # The first run creates customers the orders need: the preview must not call those
        # orders blocked (the "12 blocked, 60 without an account", then all done).
        assert preview.waiting_on_masters > 0
        assert preview.orders is None and preview.invoices is None
        assert "not previewed" in preview.summary()
        assert run.orders_report is not None and run.orders_report.count("posted") > 0

        # Steady state: new opportunities only; now the preview covers every step.
        preview = sync.sync_order_to_cash(sf, ia, state, dry_run=True)
        run = sync.sync_order_to_cash(sf, ia, state)
        assert _changes(preview.masters) == _changes(run.masters)
        assert preview.waiting_on_masters == 0
        assert preview.orders is not None and run.orders_report is not None
        would = {r.opportunity_id for r in preview.orders.rows if r.status == "ready"}
        did = {r.opportunity_id for r in run.orders_report.rows if r.status == "posted"}
        assert would == did
        blocked = {r.opportunity_id for r in preview.orders.rows if r.status == "blocked"}
        assert blocked == {
            r.opportunity_id for r in run.orders_report.rows if r.status == "blocked"
        }
        assert preview.invoices is not None and run.invoices is not None
        assert len(preview.invoices.upserts) == len(run.invoices.upserts)


def _run_cli(module: object, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="intacct-sync")
    module.add_commands(parser.add_subparsers(dest="command", required=True))  # type: ignore[attr-defined]
    args = parser.parse_args(list(argv))
    out = io.StringIO()
    code = int(args.run(args, out))
    return code, out.getvalue()


def test_o2c_cli_dry_run_and_run_exit_alike(tmp_path: Path) -> None:
    dry, _ = _run_cli(cli_o2c, "o2c", "sync", "--sandbox", "--dry-run")
    real, text = _run_cli(cli_o2c, "o2c", "sync", "--sandbox")
    assert dry == real == 3  # duplicates wait for a decision either way
    assert "o2c decide" in text  # the decision is given as the command to type


def test_actions_dry_run_matches_the_run_that_follows(sb: sandbox.Sandbox) -> None:
    with (
        sb.intacct_client() as ia,
        sb.salesforce_client() as sf,
        SQLiteStateStore(":memory:") as st,
    ):
        sync_ = actions.ActionSync(ia, sf, st, on_invalid="skip")
        since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        preview = sync_.run(since=since, dry_run=True)
        run = sync_.run(since=since)
        outcome = preview.actions.set_index("action_id")["outcome"]
        done = run.actions.set_index("action_id")["outcome"]
        would = set(outcome[outcome == "would_post"].index)
        assert would == set(done[done == "posted"].index)
        assert set(outcome[outcome == "invalid"].index) == set(done[done == "invalid"].index)
        # The dry run flagged nothing in the CRM; the real run did.
        assert preview.dry_run and not run.dry_run


def test_a_halted_dry_run_lists_nothing_as_would_be_posted() -> None:
    code, text = _run_cli(cli_actions, "actions", "sync", "--sandbox", "--dry-run")
    assert code == 3
    assert "would halt" in text
    assert "would post" not in text.split("\n", 2)[1].replace("0 would post", "")
    assert "Entries the real run would post" not in text
    # Nothing was flagged by a dry run: the text says the real run would flag them.
    assert "flagged 'System Needs Review' in the CRM)" not in text
    assert "would be flagged 'System Needs Review'" in text


def test_skip_prints_what_it_posted() -> None:
    code, text = _run_cli(cli_actions, "actions", "sync", "--sandbox", "--on-invalid", "skip")
    assert code == 3  # six invalid actions were skipped: needs attention, never 0
    assert "Entries posted:" in text and "| posted" in text


@pytest.mark.parametrize("halt", [True, False])
def test_library_dry_run_raises_like_the_run(sb: sandbox.Sandbox, halt: bool) -> None:
    with (
        sb.intacct_client() as ia,
        sb.salesforce_client() as sf,
        SQLiteStateStore(":memory:") as st,
    ):
        sync_ = actions.ActionSync(ia, sf, st, on_invalid="halt" if halt else "skip")
        outcomes = []
        for dry_run in (True, False):
            try:
                report = sync_.run(dry_run=dry_run)
                outcomes.append(("ok", report.count("invalid")))
            except ValidationError as exc:
                halted = exc.report
                outcomes.append(
                    ("halted", halted.count("invalid"))
                    if isinstance(halted, actions.SyncReport)
                    else ("no report", 0)
                )
        assert outcomes[0] == outcomes[1]

"""The actions watermark cannot skip: an overlap window, a ceiling at the run's start, and
records dated in the future reported instead of followed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from intacct_sync import actions, sandbox
from intacct_sync.errors import InputError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.sandbox.salesforce.schema import OBJECTS
from intacct_sync.sandbox.salesforce.store import format_datetime
from intacct_sync.state import SQLiteStateStore

COMPANY = sandbox.COMPANIES["nonprofit"]
_COPIED = (
    "Action_Type__c",
    "Amount__c",
    "Happened_At__c",
    "Contact__c",
    "Summary__c",
    "Action_URL__c",
    "Tags__c",
)


@pytest.fixture
def ia(sb: sandbox.Sandbox) -> Iterator[IntacctClient]:
    with sb.intacct_client() as client:
        yield client


@pytest.fixture
def sf(sb: sandbox.Sandbox) -> Iterator[SalesforceClient]:
    with sb.salesforce_client() as client:
        yield client


def add_action(sb: sandbox.Sandbox, created: dt.datetime, **changes: Any) -> str:
    """A valid action (a copy of A-00001) committed now with ``CreatedDate`` = ``created``,
    the way a late-committing transaction or an audit-field data load writes one."""
    (template,) = sb.salesforce.rows("Action__c", "Name = 'A-00001'", fields=list(_COPIED))
    row = {**template, "Status__c": "New", "Intacct_Posted__c": False}
    row.update(CreatedDate=format_datetime(created), **changes)
    (new_id,) = sb.salesforce.store.insert_many(OBJECTS["Action__c"], [row])
    return new_id


def in_books(sb: sandbox.Sandbox, action_id: str) -> int:
    return sb.intacct.journal_entries_by_reference(COMPANY).get(action_id, 0)


def outcome_of(report: actions.SyncReport, action_id: str) -> str:
    rows = report.actions[report.actions["action_id"] == action_id]
    assert len(rows) == 1, f"{action_id} was not read"
    return str(rows["outcome"].iloc[0])


def test_an_action_committed_late_just_before_or_at_the_watermark_is_read(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient
) -> None:
    sync = actions.ActionSync(ia, sf, SQLiteStateStore(":memory:"), on_invalid="skip")
    sync.run()
    watermark = sync.last_sync_at
    assert watermark is not None
    before = add_action(sb, watermark - dt.timedelta(seconds=1))
    at = add_action(sb, watermark)
    report = sync.run()
    assert outcome_of(report, before) == "posted" and outcome_of(report, at) == "posted"
    assert in_books(sb, before) == 1 and in_books(sb, at) == 1
    # The overlap's other actions were read again and recognised, none posted twice.
    assert report.count("posted") == 2
    assert set(sb.intacct.journal_entries_by_reference(COMPANY).values()) == {1}
    assert report.since == watermark - actions.DEFAULT_OVERLAP
    assert report.overlap == actions.DEFAULT_OVERLAP


def test_the_overlap_is_configurable(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient
) -> None:
    sync = actions.ActionSync(
        ia, sf, SQLiteStateStore(":memory:"), on_invalid="skip", overlap=dt.timedelta(hours=3)
    )
    sync.run()
    assert sync.last_sync_at is not None
    late = add_action(sb, sync.last_sync_at - dt.timedelta(hours=2))
    assert outcome_of(sync.run(), late) == "posted"
    assert in_books(sb, late) == 1
    with pytest.raises(InputError, match="overlap"):
        actions.ActionSync(ia, sf, SQLiteStateStore(":memory:"), overlap=-dt.timedelta(hours=1))


def test_a_record_dated_in_the_future_is_reported_and_never_moves_the_watermark(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient
) -> None:
    future = add_action(sb, dt.datetime(2031, 1, 1, 9, 0, tzinfo=dt.UTC))
    sync = actions.ActionSync(ia, sf, SQLiteStateStore(":memory:"), on_invalid="skip")
    report = sync.run()
    assert outcome_of(report, future) == "posted" and in_books(sb, future) == 1
    assert report.future_dated["action_id"].tolist() == [future]
    assert "after this run started" in str(report.future_dated["message"].iloc[0])
    assert "dated after the run started" in report.summary()
    assert sync.last_sync_at is not None and sync.last_sync_at <= report.started_at
    # An action created after that run is still read, and the 2031 one is not posted again.
    now = dt.datetime.now(dt.UTC)
    later = add_action(sb, now - dt.timedelta(seconds=5))
    again = sync.run()
    assert outcome_of(again, later) == "posted" and in_books(sb, later) == 1
    assert outcome_of(again, future) == "already_posted" and in_books(sb, future) == 1
    assert sync.last_sync_at <= again.started_at


def test_the_watermark_never_passes_the_runs_start(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient
) -> None:
    created = [r["CreatedDate"] for r in sb.salesforce.rows("Action__c", fields=["CreatedDate"])]
    assert created
    # A run whose clock says it started ten days ago: actions stamped after that (a clock gone
    # wrong somewhere) are posted but the watermark stays at or before the start.
    started = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    sync = actions.ActionSync(
        ia, sf, SQLiteStateStore(":memory:"), on_invalid="skip", clock=lambda: started
    )
    report = sync.run()
    assert report.count("posted") == 189
    assert len(report.future_dated) > 0
    assert sync.last_sync_at is not None and sync.last_sync_at <= started
    assert (
        actions.next_watermark([(started + dt.timedelta(days=1), True)], None, ceiling=started)
        is None
    )


def test_in_batch_mode_an_action_read_again_the_next_day_is_already_posted_not_drift(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient
) -> None:
    # A batch-mode entry is dated by the run that posts it: the overlap window re-reads the
    # last hour's actions on the next night, which dates them differently. That is the same
    # posting (nothing to correct), or every nightly run would need attention.
    state = SQLiteStateStore(":memory:")
    today = dt.datetime.now(dt.UTC)
    first = actions.ActionSync(
        ia, sf, state, on_invalid="skip", mode="batch", clock=lambda: today
    ).run()
    assert first.count("posted") > 0
    tomorrow = today + dt.timedelta(days=1)
    again = actions.ActionSync(
        ia, sf, state, on_invalid="skip", mode="batch", clock=lambda: tomorrow
    ).run()
    reread = again.actions[~again.actions["outcome"].isin(["invalid", "excluded"])]
    assert len(reread) > 0  # the overlap read something again
    assert set(reread["outcome"]) == {"already_posted"}, reread[["action_id", "outcome"]]
    assert again.count("drift") == 0
    assert set(sb.intacct.journal_entries_by_reference(COMPANY).values()) == {1}

"""The nightly sync against the sandbox: halting, skipping, modes, reruns, crashes, catalog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from intacct_sync import RetryPolicy, actions, journals, sandbox
from intacct_sync.errors import IncompleteWriteError, IntacctSyncError, ValidationError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.state import SQLiteStateStore

COMPANY = sandbox.COMPANIES["nonprofit"]
INVALID = ("A-00195", "A-00196", "A-00197", "A-00198", "A-00199", "A-00200")
EXCLUDED = ("A-00190", "A-00191", "A-00192", "A-00193", "A-00194")


@pytest.fixture
def ia(sb: sandbox.Sandbox) -> Iterator[IntacctClient]:
    with sb.intacct_client() as client:
        yield client


@pytest.fixture
def sf(sb: sandbox.Sandbox) -> Iterator[SalesforceClient]:
    with sb.salesforce_client() as client:
        yield client


@pytest.fixture
def state() -> SQLiteStateStore:
    return SQLiteStateStore(":memory:")


def posted_per_action(sb: sandbox.Sandbox) -> dict[str, int]:
    """GLBATCH count per REFERENCENO, for the references that are action ids."""
    counts = sb.intacct.journal_entries_by_reference(COMPANY)
    return {ref: n for ref, n in counts.items() if ref.startswith("a03")}


def names_to_ids(sb: sandbox.Sandbox) -> dict[str, str]:
    return {r["Name"]: r["Id"] for r in sb.salesforce.rows("Action__c", fields=["Id", "Name"])}


def fix_seeded(sf: SalesforceClient, sb: sandbox.Sandbox) -> None:
    rows = {r["Name"]: r for r in sb.salesforce.rows("Action__c", fields=["Id", "Name", "Tags__c"])}
    updates: list[dict[str, Any]] = []
    for name in ("A-00195", "A-00196"):
        tags = rows[name]["Tags__c"] + ";DR Account: 1000 Cash - Operating"
        updates.append({"Id": rows[name]["Id"], "Tags__c": tags})
    for name in ("A-00197", "A-00198"):
        updates.append(
            {"Id": rows[name]["Id"], "Tags__c": rows[name]["Tags__c"] + ";DR Location: NORTH"}
        )
    for name in ("A-00199", "A-00200"):
        updates.append({"Id": rows[name]["Id"], "Amount__c": "25.00"})
    assert sf.update("Action__c", updates)["done"].all()


def test_halt_posts_nothing_flags_the_invalid_and_keeps_the_watermark(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    sync = actions.ActionSync(ia, sf, state)
    with pytest.raises(ValidationError) as caught:
        sync.run()
    report = caught.value.report
    assert isinstance(report, actions.SyncReport) and report.halted
    assert sorted(report.issues["name"]) == sorted(INVALID)
    assert report.count("held") == 189 and report.count("excluded") == 5
    assert posted_per_action(sb) == {}
    flagged = sb.salesforce.rows("Action__c", "Status__c = 'System Needs Review'", fields=["Name"])
    assert sorted(r["Name"] for r in flagged) == sorted(INVALID)
    assert sync.last_sync_at is None and state.ledger("actions") == []


def test_skip_posts_the_valid_once_writes_back_and_stops_the_watermark_before_the_invalid(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    sync = actions.ActionSync(ia, sf, state, on_invalid="skip")
    report = sync.run()
    assert (report.count("posted"), report.count("invalid"), report.count("excluded")) == (
        189,
        6,
        5,
    )
    per_action = posted_per_action(sb)
    assert len(per_action) == 189 and set(per_action.values()) == {1}
    ids = names_to_ids(sb)
    assert not {ids[n] for n in INVALID + EXCLUDED} & set(per_action)
    # CRM write-back: flag and the RECORDNO of the GLBATCH carrying the action's reference.
    batches = {r["REFERENCENO"]: r["RECORDNO"] for r in sb.intacct.records(COMPANY, "GLBATCH")}
    marked = sb.salesforce.rows(
        "Action__c", "Intacct_Posted__c = true", fields=["Id", "Intacct_Record_No__c", "Status__c"]
    )
    assert len(marked) == 189
    assert all(r["Intacct_Record_No__c"] == batches[r["Id"]] for r in marked)
    assert {r["Status__c"] for r in marked} == {"Posted"}
    ledger = state.ledger("actions")
    assert len(ledger) == 189 and {e.status for e in ledger} == {"posted"}
    # The watermark stops just before the earliest action that was not posted.
    created = report.actions.set_index("name")["CreatedDate"]
    first_unsettled = min(created[n] for n in INVALID)
    assert sync.last_sync_at is not None
    assert sync.last_sync_at < first_unsettled.to_pydatetime()
    assert sync.last_sync_at == max(c for c in created if c < first_unsettled).to_pydatetime()

    # Once fixed, the next run posts exactly the six; the rest are recognised, not reposted.
    fix_seeded(sf, sb)
    again = sync.run()
    assert again.count("posted") == 6 and again.count("invalid") == 0
    assert again.count("already_posted") == again.counts["read"] - 6 - again.count("excluded")
    assert len(posted_per_action(sb)) == 195 and set(posted_per_action(sb).values()) == {1}
    assert sync.last_sync_at == created.max().to_pydatetime()
    nothing = sync.run()
    # Only the overlap window before the watermark is read again, and nothing in it is new.
    assert nothing.watermark_after == sync.last_sync_at
    assert nothing.count("posted") == 0
    assert nothing.count("already_posted") + nothing.count("excluded") == nothing.counts["read"]
    assert all(
        c > sync.last_sync_at - actions.DEFAULT_OVERLAP for c in nothing.actions["CreatedDate"]
    )


def test_rerun_with_a_lost_ledger_posts_nothing_twice(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient
) -> None:
    first = actions.ActionSync(ia, sf, SQLiteStateStore(":memory:"), on_invalid="skip").run()
    assert first.count("posted") == 189
    # Forget everything the SDK knew: a new state store and the CRM flags cleared.
    ids = [r["Id"] for r in sb.salesforce.rows("Action__c", fields=["Id"])]
    sf.update("Action__c", [{"Id": i, "Intacct_Posted__c": False} for i in ids])
    fresh = SQLiteStateStore(":memory:")
    second = actions.ActionSync(ia, sf, fresh, on_invalid="skip").run()
    # The gateway refuses the same control ids; the run counts them posted and finds RECORDNOs.
    assert second.count("posted") == 189
    assert set(posted_per_action(sb).values()) == {1} and len(posted_per_action(sb)) == 189
    batches = {r["REFERENCENO"]: r["RECORDNO"] for r in sb.intacct.records(COMPANY, "GLBATCH")}
    assert {e.record_no for e in fresh.ledger("actions")} == {
        batches[e.source_id] for e in fresh.ledger("actions")
    }


def test_posting_modes_date_the_entries(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient
) -> None:
    started = dt.datetime(2026, 6, 30, 23, 0, tzinfo=dt.UTC)
    batch = actions.ActionSync(
        ia, sf, SQLiteStateStore(":memory:"), mode="batch", on_invalid="skip", clock=lambda: started
    )
    batch.run()
    dates = {r["REFERENCENO"]: r["BATCH_DATE"] for r in sb.intacct.records(COMPANY, "GLBATCH")}
    assert {dates[i] for i in posted_per_action(sb)} == {"06/30/2026"}


def test_individual_mode_uses_happened_at(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    report = actions.ActionSync(ia, sf, state, on_invalid="skip", journal="GJ").run()
    happened = {
        r["Id"]: pd.Timestamp(r["Happened_At__c"]).date()
        for r in sb.salesforce.rows("Action__c", fields=["Id", "Happened_At__c"])
    }
    batches = {r["REFERENCENO"]: r for r in sb.intacct.records(COMPANY, "GLBATCH")}
    for action_id in report.actions.loc[report.actions["outcome"] == "posted", "action_id"]:
        batch = batches[action_id]
        assert batch["BATCH_DATE"] == happened[action_id].strftime("%m/%d/%Y")
        assert batch["JOURNAL"] == "GJ"


def test_dry_run_writes_nothing(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    report = actions.ActionSync(ia, sf, state, on_invalid="skip").run(dry_run=True)
    assert report.count("would_post") == 189 and report.plan is not None
    assert len(report.plan.lines_frame()) == 2 * 189
    assert posted_per_action(sb) == {}
    assert sb.salesforce.count("Action__c", "Status__c = 'System Needs Review'") == 0
    assert state.get_watermark(actions.WATERMARK) is None and state.ledger("actions") == []


def test_crash_after_commit_then_rerun_posts_every_action_exactly_once(
    sb: sandbox.Sandbox, sf: SalesforceClient
) -> None:
    fix_seeded(sf, sb)
    # Few retries and small batches, so dropped answers end some runs part way.
    ia = sb.intacct_client(
        retry=RetryPolicy(max_retries=1, initial_delay=0.0, jitter=False), batch_size=20
    )
    statuses: list[str] = []
    incomplete = 0
    create = ia.create

    def spy(*args: Any, **kwargs: Any) -> pd.DataFrame:
        nonlocal incomplete
        try:
            out = create(*args, **kwargs)
        except IncompleteWriteError:
            incomplete += 1
            raise
        statuses.extend(out["status"].tolist())
        return out

    ia.create = spy  # type: ignore[method-assign]
    state = SQLiteStateStore(":memory:")
    sync = actions.ActionSync(ia, sf, state)
    faults = sb.intacct.faults
    faults.reseed(7)
    faults.drop_after_commit_rate = 0.4
    faults.throttle_rate = 0.2
    for _ in range(8):
        try:
            sync.run()
        except IntacctSyncError:
            continue
    faults.drop_after_commit_rate = faults.throttle_rate = 0.0
    final = sync.run(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert incomplete or "already_done" in statuses, "the faults never hit a posting"
    per_action = posted_per_action(sb)
    assert len(per_action) == 195 and set(per_action.values()) == {1}
    assert final.count("already_posted") + final.count("posted") == 195
    assert {e.status for e in state.ledger("actions")} == {"posted"}
    assert sb.salesforce.count("Action__c", "Intacct_Posted__c = true") == 195
    batches = {r["REFERENCENO"]: r["RECORDNO"] for r in sb.intacct.records(COMPANY, "GLBATCH")}
    for row in sb.salesforce.rows(
        "Action__c", "Intacct_Posted__c = true", fields=["Id", "Intacct_Record_No__c"]
    ):
        assert row["Intacct_Record_No__c"] == batches[row["Id"]]
    ia.close()


def test_catalog_written_back_without_duplicates_and_retired_when_gone(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient
) -> None:
    catalog = actions.build_catalog(ia)
    assert "CR Location: WEST" not in catalog["tag"].tolist()  # inactive in Intacct
    first = actions.write_catalog(sf, catalog)
    assert first.count("created") == len(catalog)
    second = actions.write_catalog(sf, catalog)
    assert second.count("created") == 0 and second.count("updated") == len(catalog)
    assert sb.salesforce.count("Intacct_Tag__c") == len(catalog)
    outcome = ia.update("LOCATION", [{"LOCATIONID": "SOUTH", "STATUS": "inactive"}])
    assert outcome["done"].all()
    third = actions.write_catalog(sf, actions.build_catalog(ia))
    assert sorted(third.to_frame()["key"]) == ["location:CR:SOUTH", "location:DR:SOUTH"]
    assert sb.salesforce.count("Intacct_Tag__c", "Active__c = false") == 2
    assert sb.salesforce.count("Intacct_Tag__c") == len(catalog)


def test_journals_post_is_idempotent_on_its_own(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    sync = actions.ActionSync(ia, sf, state, on_invalid="skip")
    plan = journals.from_actions(sync.load_actions(), sync.catalog, on_invalid="skip")
    first = journals.post(ia, plan, state)
    second = journals.post(ia, plan, state)
    assert first.count("posted") == second.count("already_posted") == 189
    assert len(posted_per_action(sb)) == 189


def test_next_watermark_rule() -> None:
    t = [dt.datetime(2026, 1, d, tzinfo=dt.UTC) for d in range(1, 6)]
    assert actions.next_watermark([], None) is None
    assert actions.next_watermark([(t[0], True), (t[1], True)], None) == t[1]
    assert actions.next_watermark([(t[0], True), (t[1], False), (t[2], True)], None) == t[0]
    assert actions.next_watermark([(t[1], False), (t[2], True)], t[0]) == t[0]
    # ties with an unsettled action stay behind it; never backwards
    assert actions.next_watermark([(t[2], True), (t[2], False)], t[1]) == t[1]
    assert actions.next_watermark([(t[0], True)], t[3]) == t[3]


def add_valid_actions(sb: sandbox.Sandbox, n: int) -> list[str]:
    """``n`` valid actions (copies of A-00001), created a minute apart an hour ago."""
    from intacct_sync.sandbox.salesforce.schema import OBJECTS
    from intacct_sync.sandbox.salesforce.store import format_datetime

    fields = ["Action_Type__c", "Amount__c", "Happened_At__c", "Contact__c", "Tags__c"]
    (template,) = sb.salesforce.rows("Action__c", "Name = 'A-00001'", fields=fields)
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            **template,
            "Summary__c": f"Gift {i}",
            "Action_URL__c": f"https://crm.sandbox.example/actions/extra-{i}",
            "Status__c": "New",
            "Intacct_Posted__c": False,
            "CreatedDate": format_datetime(now - dt.timedelta(minutes=90 - i)),
        }
        for i in range(n)
    ]
    return sb.salesforce.store.insert_many(OBJECTS["Action__c"], rows)


@pytest.fixture
def with_one_bad_action(sb: sandbox.Sandbox, sf: SalesforceClient) -> str:
    """250 valid actions (the 195 seeded once fixed, 55 more), one with a summary pasted from
    Word (a vertical tab), positioned past the first posting batch. Returns its Name."""
    fix_seeded(sf, sb)
    add_valid_actions(sb, 55)
    ordered = sf.query("SELECT Id, Name, Tags__c FROM Action__c ORDER BY CreatedDate, Id")
    valid = ordered[~ordered["Tags__c"].str.contains("Exclude from Sage Intacct")]
    assert len(valid) == 250
    bad = valid.iloc[120]
    update = {"Id": bad["Id"], "Summary__c": "Donation\vfrom the gala"}
    assert sf.update("Action__c", [update])["done"].all()
    return str(bad["Name"])


def test_one_unencodable_action_is_refused_by_name_and_the_rest_are_posted_under_skip(
    sb: sandbox.Sandbox,
    ia: IntacctClient,
    sf: SalesforceClient,
    state: SQLiteStateStore,
    with_one_bad_action: str,
) -> None:
    sync = actions.ActionSync(ia, sf, state, on_invalid="skip")
    report = sync.run()
    assert report.count("posted") == 249 and report.count("invalid") == 1
    bad = report.actions[report.actions["outcome"] == "invalid"].iloc[0]
    assert bad["name"] == with_one_bad_action
    assert "Summary__c" in bad["message"] and "U+000B" in bad["message"]
    assert "row" not in bad["message"]
    issue = report.issues.iloc[0]
    assert (issue["rule"], issue["field"], issue["name"]) == (
        "not_encodable",
        "Summary__c",
        with_one_bad_action,
    )
    assert len(posted_per_action(sb)) == 249
    # The watermark waits just before it (never past it) ...
    created = report.actions.set_index("name")["CreatedDate"]
    assert sync.last_sync_at is not None
    assert sync.last_sync_at < created[with_one_bad_action].to_pydatetime()
    # ... the next run posts nothing twice and still refuses it ...
    again = sync.run()
    assert again.count("posted") == 0 and again.count("invalid") == 1
    # ... and once fixed it is posted and the watermark moves past it.
    sf.update("Action__c", [{"Id": bad["action_id"], "Summary__c": "Donation from the gala"}])
    fixed = sync.run()
    assert fixed.count("posted") == 1 and fixed.count("invalid") == 0
    per_action = posted_per_action(sb)
    assert len(per_action) == 250 and set(per_action.values()) == {1}
    assert sync.last_sync_at == created.max().to_pydatetime()


def test_one_unencodable_action_halts_the_run_naming_it(
    sb: sandbox.Sandbox,
    ia: IntacctClient,
    sf: SalesforceClient,
    state: SQLiteStateStore,
    with_one_bad_action: str,
) -> None:
    sync = actions.ActionSync(ia, sf, state)
    with pytest.raises(ValidationError, match=with_one_bad_action) as caught:
        sync.run()
    report = caught.value.report
    assert isinstance(report, actions.SyncReport) and report.halted
    assert report.count("held") == 249 and report.count("invalid") == 1
    assert posted_per_action(sb) == {} and sync.last_sync_at is None


def test_an_unencodable_entry_given_to_post_is_skipped_by_key_and_the_rest_posted(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    import attrs

    sync = actions.ActionSync(ia, sf, state, on_invalid="skip")
    plan = journals.from_actions(sync.load_actions(), sync.catalog, on_invalid="skip")
    entries = list(plan.entries)
    entries[20] = attrs.evolve(entries[20], title="pasted\x1ffrom Word")
    report = journals.post(ia, attrs.evolve(plan, entries=tuple(entries)), state)
    assert report.count("posted") == 188 and report.count("skipped") == 1
    row = report.outcomes[report.outcomes["status"] == "skipped"].iloc[0]
    assert row["source_id"] == plan.source_ids[20]
    assert plan.source_ids[20] in row["errors"] and "BATCH_TITLE" in row["errors"]
    assert plan.source_ids[20] not in posted_per_action(sb)


def test_an_edited_action_read_again_is_drift_with_both_amounts(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    sync = actions.ActionSync(ia, sf, state, on_invalid="skip")
    first = sync.run()
    posted = first.actions[first.actions["outcome"] == "posted"].iloc[0]
    action_id = str(posted["action_id"])
    (row,) = sb.salesforce.rows("Action__c", f"Id = '{action_id}'", fields=["Amount__c"])
    old = Decimal(str(row["Amount__c"]))
    sf.update("Action__c", [{"Id": action_id, "Amount__c": str(old + 10)}])
    watermark = sync.last_sync_at
    again = sync.run(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    drift = again.actions[again.actions["outcome"] == "drift"]
    assert drift["action_id"].tolist() == [action_id]
    message = str(drift["message"].iloc[0])
    assert str(old) in message and str(old + 10) in message and "Reverse" in message
    assert drift["RECORDNO"].iloc[0] == posted["RECORDNO"]
    assert action_id in again.to_frame()["action_id"].tolist()  # needs attention
    assert again.count("posted") == 0 and posted_per_action(sb)[action_id] == 1
    assert "1 drift" in again.summary()
    assert sync.last_sync_at == watermark  # drift is not settled; never backwards either


def test_an_edited_action_is_corrected_when_asked_and_the_crm_names_the_repost(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    first = actions.ActionSync(ia, sf, state, on_invalid="skip").run()
    posted = first.actions[first.actions["outcome"] == "posted"].iloc[0]
    action_id, record_no = str(posted["action_id"]), str(posted["RECORDNO"])
    (row,) = sb.salesforce.rows("Action__c", f"Id = '{action_id}'", fields=["Amount__c"])
    old = Decimal(str(row["Amount__c"]))
    sf.update("Action__c", [{"Id": action_id, "Amount__c": str(old + 10)}])
    sync = actions.ActionSync(ia, sf, state, on_invalid="skip", correct_drift=True)
    since = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    writes = sb.intacct.stats.writes_committed
    dry = sync.run(since=since, dry_run=True)
    assert dry.actions.loc[dry.actions["outcome"] == "would_correct", "action_id"].tolist() == [
        action_id
    ]
    assert sb.intacct.stats.writes_committed == writes
    expected = f"RECORDNO {record_no} ({old:,.2f}) and repost"
    assert f"1 entry would be corrected: would reverse {expected} ({old + 10:,.2f})" in (
        dry.summary()
    )
    watermark = sync.last_sync_at
    report = sync.run(since=since)
    fixed = report.actions[report.actions["outcome"] == "corrected"]
    assert fixed["action_id"].tolist() == [action_id]
    repost = str(fixed["RECORDNO"].iloc[0])
    assert repost != record_no
    assert (
        f"1 entry corrected: reversed RECORDNO {record_no} ({old:,.2f}) and reposted "
        f"({old + 10:,.2f})"
    ) in report.summary()
    # Exactly one reversal and one repost; the CRM names the repost; the watermark is not held.
    books = sb.intacct.journal_entries_by_reference(COMPANY)
    assert books[action_id] == 1
    assert books[f"{action_id}~R{record_no}"] == 1 and books[f"{action_id}~C{record_no}"] == 1
    (crm,) = sb.salesforce.rows("Action__c", f"Id = '{action_id}'", fields=["Intacct_Record_No__c"])
    assert crm["Intacct_Record_No__c"] == repost
    assert sync.last_sync_at is not None and watermark is not None
    assert sync.last_sync_at >= watermark
    again = sync.run(since=since)
    assert again.actions.set_index("action_id").loc[action_id, "outcome"] == "already_posted"
    assert sb.intacct.journal_entries_by_reference(COMPANY) == books


def test_a_halted_run_still_reports_drift_of_posted_actions_and_sends_nothing(
    sb: sandbox.Sandbox, ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    first = actions.ActionSync(ia, sf, state, on_invalid="skip").run()
    action_id = str(first.actions.loc[first.actions["outcome"] == "posted", "action_id"].iloc[0])
    sf.update("Action__c", [{"Id": action_id, "Amount__c": "12345.67"}])
    books_before = posted_per_action(sb)
    with pytest.raises(ValidationError) as caught:
        actions.ActionSync(ia, sf, state).run(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    report = caught.value.report
    assert isinstance(report, actions.SyncReport) and report.halted and report.plan is None
    assert report.count("invalid") == 6 and report.count("held") == 0
    assert report.count("drift") == 1 and report.count("already_posted") == 188
    drift = report.actions[report.actions["outcome"] == "drift"].iloc[0]
    assert drift["action_id"] == action_id and "12345.67" in drift["message"]
    assert posted_per_action(sb) == books_before


def test_the_run_report_shows_the_salesforce_api_usage_and_the_entity(
    ia: IntacctClient, sf: SalesforceClient, state: SQLiteStateStore
) -> None:
    # Issue 13: the daily API usage (Sforce-Limit-Info) is visible in the run report.
    report = actions.ActionSync(ia, sf, state, on_invalid="skip").run()
    usage = report.salesforce_api
    assert usage is not None and 0 < usage.used <= usage.limit
    assert f"Salesforce API {usage.used:,} of {usage.limit:,} requests used today" in (
        report.summary()
    )
    document = report.to_json()
    assert document["salesforce_api"] == {"used": usage.used, "limit": usage.limit}
    assert document["entity"] is None and report.entity == ""  # the top level
    assert (
        document["company"] == ia.company_id
        and f"company {ia.company_id}, top level" in report.summary()
    )

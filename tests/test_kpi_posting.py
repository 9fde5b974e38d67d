"""Statistical entries and their posting: signs, zero change, idempotency, corrections, drift."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from intacct_sync import kpi, sandbox
from intacct_sync.errors import IncompleteWriteError, InputError, ValidationError
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.posting import engine
from intacct_sync.state import SQLiteStateStore

NP = sandbox.COMPANIES["nonprofit"]
DAY = dt.date(2026, 3, 2)
ACCOUNTS = {"donors": "9000", "active_donors": "9010"}


def totals(rows: dict[str, list[int]], start: dt.date = DAY) -> pd.DataFrame:
    records = [
        {"date": start + dt.timedelta(days=i), "kpi": name, "value": Decimal(v)}
        for name, series in rows.items()
        for i, v in enumerate(series)
    ]
    return pd.DataFrame(records)


def ours(sb: sandbox.Sandbox) -> dict[str, int]:
    return {
        ref: n
        for ref, n in sb.intacct.journal_entries_by_reference(NP).items()
        if ref.startswith("kpi|")
    }


def test_changes_signs_prior_day_and_opening() -> None:
    history = totals({"donors": [100]}, start=DAY - dt.timedelta(days=3))
    chg = kpi.changes(totals({"donors": [104, 101, 101], "active_donors": [7, 7, 9]}), history)
    rows = {(r.kpi, r.date.date()): r for r in chg.itertuples()}
    first = rows[("donors", DAY)]
    assert (first.prior_value, first.change, first.direction, first.magnitude) == (
        100,
        4,
        "increase",
        4,
    )
    assert first.prior_date.date() == DAY - dt.timedelta(days=3)  # prior *recorded* day
    second = rows[("donors", DAY + dt.timedelta(days=1))]
    assert (second.change, second.direction, second.magnitude) == (-3, "decrease", 3)
    assert rows[("donors", DAY + dt.timedelta(days=2))].direction == "none"
    opening = rows[("active_donors", DAY)]
    assert (opening.prior_value, opening.change) == (0, 7)
    assert opening.prior_date is pd.NaT


def test_statistical_entries_one_line_per_changed_kpi() -> None:
    chg = kpi.changes(
        totals({"donors": [10, 8, 8], "active_donors": [5, 5, 6], "other": [1, 2, 3]})
    )
    entries = kpi.statistical_entries(
        chg, ACCOUNTS, journal="STAT", location="HQ", dimensions={"GLDIMFUND": "GENERAL"}
    )
    assert [
        (e.key, e.lines[0].account_no, e.lines[0].tr_type, e.lines[0].amount) for e in entries
    ] == [
        ("kpi|active_donors|2026-03-02", "9010", 1, Decimal(5)),
        ("kpi|donors|2026-03-02", "9000", 1, Decimal(10)),
        ("kpi|donors|2026-03-03", "9000", -1, Decimal(2)),
        ("kpi|active_donors|2026-03-04", "9010", 1, Decimal(1)),
    ]
    entry = entries[2]
    assert entry.statistical and entry.journal == "STAT"
    assert entry.batch_date == DAY + dt.timedelta(days=1)
    assert "donors" in entry.title and "2026-03-03" in entry.title and "prior 10" in entry.title
    line: JournalLine = entry.lines[0]
    assert line.to_fields()["GLDIMFUND"] == "GENERAL" and line.location == "HQ"


def test_post_rerun_is_idempotent_and_holdings_match(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    day_totals = totals({"donors": [381, 383, 380], "active_donors": [219, 219, 219]})
    chg = kpi.changes(day_totals, kpi.recorded_totals(state=state))
    report = kpi.post_changes(ia, chg, state=state, accounts=ACCOUNTS)
    assert report.new_entries == 4  # 2 openings, +2, -3; active unchanged twice
    assert sorted(report.to_frame()["status"]) == ["posted"] * 4 + ["unchanged"] * 2
    lines = sb.intacct.records(NP, "GLENTRY")
    # GLENTRY carries no JOURNAL (reference §13.2): the journal is the parent batch's.
    journal_of = {b["RECORDNO"]: b["JOURNAL"] for b in sb.intacct.records(NP, "GLBATCH")}
    posted = [
        (line["ACCOUNTNO"], line["TR_TYPE"], line["TRX_AMOUNT"], journal_of[line["BATCHNO"]])
        for line in lines
        if (line["DESCRIPTION"] or "").startswith("KPI ")
    ]
    assert sorted(posted) == sorted(
        [
            ("9000", "1", "381", "STAT"),
            ("9000", "1", "2", "STAT"),
            ("9000", "-1", "3", "STAT"),
            ("9010", "1", "219", "STAT"),
        ]
    )
    kpi.record_totals(day_totals, state=state)
    assert kpi.check_holdings(ia, day_totals, accounts=ACCOUNTS).ok
    before = ours(sb)
    # Rerun the same days, with the recorded history this time: nothing new.
    again = kpi.post_changes(
        ia,
        kpi.changes(day_totals, kpi.recorded_totals(state=state)),
        state=state,
        accounts=ACCOUNTS,
    )
    assert again.new_entries == 0
    assert set(again.to_frame()["status"]) == {"already_posted", "unchanged"}
    assert ours(sb) == before and all(n == 1 for n in before.values())
    ledger = state.ledger(kpi.WORKFLOW)
    assert len(ledger) == 4 and {e.status for e in ledger} == {"posted"}


def test_a_correction_posts_only_the_difference(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    first = totals({"donors": [50, 52]})
    kpi.post_changes(ia, kpi.changes(first), state=state, accounts=ACCOUNTS)
    kpi.record_totals(first, state=state)
    # A late gift: day 2 was really 53. Recompute day 2 only, against the recorded history.
    corrected = totals({"donors": [53]}, start=DAY + dt.timedelta(days=1))
    report = kpi.post_changes(
        ia, kpi.changes(corrected, kpi.recorded_totals(state=state)), state=state, accounts=ACCOUNTS
    )
    row = report.to_frame().iloc[0]
    assert (row["status"], row["tr_type"], row["amount"], row["key"]) == (
        "posted",
        1,
        1,
        "kpi|donors|2026-03-03|r2",
    )
    assert row["already_posted"] == 2
    kpi.record_totals(corrected, state=state)
    assert ours(sb) == {
        "kpi|donors|2026-03-02": 1,
        "kpi|donors|2026-03-03": 1,
        "kpi|donors|2026-03-03|r2": 1,
    }
    assert kpi.check_holdings(ia, {"donors": Decimal(53)}, accounts=ACCOUNTS).ok
    # Recomputing again changes nothing.
    rerun = kpi.post_changes(
        ia, kpi.changes(corrected, kpi.recorded_totals(state=state)), state=state, accounts=ACCOUNTS
    )
    assert rerun.new_entries == 0


def test_zero_change_posts_nothing_and_dry_run_sends_nothing(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    history = totals({"donors": [10]}, start=DAY - dt.timedelta(days=1))
    # The books hold the prior day's 10 (the change is computed against the books, not the
    # recorded history alone).
    opening = kpi.post_changes(ia, kpi.changes(history), state=state, accounts=ACCOUNTS)
    assert list(opening.to_frame()["status"]) == ["posted"]
    before = ours(sb)
    report = kpi.post_changes(
        ia, kpi.changes(totals({"donors": [10]}), history), state=state, accounts=ACCOUNTS
    )
    assert list(report.to_frame()["status"]) == ["unchanged"]
    dry = kpi.post_changes(
        ia,
        kpi.changes(totals({"donors": [12]}), history),
        state=state,
        accounts=ACCOUNTS,
        dry_run=True,
    )
    assert list(dry.to_frame()["status"]) == ["would post"]
    assert ours(sb) == before and len(state.ledger(kpi.WORKFLOW)) == 1


@pytest.mark.parametrize("forgetful", [False, True], ids=["gateway-remembers", "gateway-forgets"])
def test_a_lost_answer_leaves_pending_rows_that_a_rerun_finishes_once(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch, forgetful: bool
) -> None:
    sb.intacct.forget_control_ids = forgetful
    monkeypatch.setattr(engine, "RECOVERY_ROUNDS", 0)  # the stop reaches the run: a rerun ends it
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    chg = kpi.changes(totals({"donors": [20, 21]}))
    real_create = ia.create

    def create_then_lose_answer(*args: Any, **options: Any) -> pd.DataFrame:
        outcome = real_create(*args, **options)  # committed at the gateway...
        lost = outcome.assign(status="unknown", done=False)
        raise IncompleteWriteError("connection dropped", outcomes=lost)  # ...answer lost

    monkeypatch.setattr(ia, "create", create_then_lose_answer)
    with pytest.raises(IncompleteWriteError):
        kpi.post_changes(ia, chg, state=state, accounts=ACCOUNTS)
    assert {e.status for e in state.ledger(kpi.WORKFLOW)} == {"pending"}
    monkeypatch.undo()
    report = kpi.post_changes(ia, chg, state=state, accounts=ACCOUNTS)
    # found in the books by their reference (an earlier attempt created them): nothing resent
    assert set(report.to_frame()["status"]) == {"posted"}
    assert {e.status for e in state.ledger(kpi.WORKFLOW)} == {"posted"}
    assert ours(sb) == {"kpi|donors|2026-03-02": 1, "kpi|donors|2026-03-03": 1}


def test_holdings_drift_is_an_error_listing_accounts_and_amounts(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    day_totals = totals({"donors": [30], "active_donors": [12]})
    kpi.post_changes(ia, kpi.changes(day_totals), state=state, accounts=ACCOUNTS)
    # Someone keys a statistical entry by hand under the workflow's reference prefix.
    manual = JournalEntry(
        key="manual",
        journal="STAT",
        batch_date=DAY,
        title="hand-keyed",
        reference_no="kpi|donors|manual",
        statistical=True,
        lines=[JournalLine(account_no="9000", amount=Decimal(5), tr_type=1)],
    )
    assert ia.create("GLBATCH", [manual])["done"].all()
    with pytest.raises(ValidationError, match="9000") as info:
        kpi.check_holdings(ia, day_totals, accounts=ACCOUNTS)
    report = info.value.report
    assert isinstance(report, kpi.HoldingsReport)
    frame = report.to_frame().set_index("account")
    assert frame.loc["9000", "drift"] == 5 and frame.loc["9000", "held"] == 35
    assert bool(frame.loc["9010", "ok"])
    assert "drift +5" in str(info.value)
    # A value that moved without being posted is a drift too (reported, not raised).
    quiet = kpi.check_holdings(
        ia, {"active_donors": Decimal(13)}, accounts=ACCOUNTS, raise_on_drift=False
    )
    assert not quiet.ok and quiet.to_frame()["drift"].tolist() == [Decimal(-1)]


def test_totals_recorded_in_the_crm_give_the_prior_day(sb: sandbox.Sandbox) -> None:
    sf = sb.salesforce_client()
    first = totals({"donors": [40]})
    outcome = kpi.record_totals(first, sf=sf)
    assert outcome is not None and outcome["done"].all()
    kpi.record_totals(first, sf=sf)  # upsert by Key__c: no duplicate
    assert sb.salesforce.count("KPI_Daily_Total__c") == 1
    assert sb.salesforce.rows("KPI_Daily_Total__c")[0]["Key__c"] == "donors|2026-03-02"
    chg = kpi.changes(
        totals({"donors": [43]}, start=DAY + dt.timedelta(days=1)), kpi.recorded_totals(sf=sf)
    )
    assert chg["prior_value"].tolist() == [40] and chg["change"].tolist() == [3]


def net_held(sb: sandbox.Sandbox, account: str) -> Decimal:
    """Net of this workflow's statistical lines on ``account``, read from the sandbox's tables."""
    refs = {
        b["RECORDNO"]: b["REFERENCENO"]
        for b in sb.intacct.records(NP, "GLBATCH")
        if (b["REFERENCENO"] or "").startswith("kpi|")
    }
    return sum(
        (
            Decimal(line["TRX_AMOUNT"]) * int(line["TR_TYPE"])
            for line in sb.intacct.records(NP, "GLENTRY")
            if line["BATCHNO"] in refs and line["ACCOUNTNO"] == account
        ),
        Decimal(0),
    )


def test_a_lost_state_file_posts_the_books_difference_not_the_ledgers(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    kpi.post_changes(ia, kpi.changes(totals({"donors": [5]})), state=SQLiteStateStore(":memory:"))
    assert net_held(sb, "9000") == 5
    # The state file is gone: no ledger, no recorded totals. The next day's KPI is 7, which
    # the changes against an empty history call an opening of 7; the books hold 5: post +2.
    fresh = SQLiteStateStore(":memory:")
    day2 = totals({"donors": [7]}, start=DAY + dt.timedelta(days=1))
    report = kpi.post_changes(ia, kpi.changes(day2), state=fresh, accounts=ACCOUNTS)
    row = report.to_frame().iloc[0]
    assert (row["status"], row["tr_type"], row["amount"], row["held"]) == ("posted", 1, 2, 5)
    assert net_held(sb, "9000") == 7 and report.done
    assert kpi.check_holdings(ia, {"donors": Decimal(7)}, accounts=ACCOUNTS).ok


def test_an_old_backup_restored_converges_on_the_books(sb: sandbox.Sandbox, tmp_path: Any) -> None:
    import shutil

    ia = sb.intacct_client()
    path = tmp_path / "state.sqlite"
    state = SQLiteStateStore(str(path))
    first = totals({"donors": [9]})
    kpi.post_changes(ia, kpi.changes(first), state=state, accounts=ACCOUNTS)
    kpi.record_totals(first, state=state)
    state.close()
    shutil.copy(path, tmp_path / "backup.sqlite")
    state = SQLiteStateStore(str(path))
    second = totals({"donors": [11]}, start=DAY + dt.timedelta(days=1))
    kpi.post_changes(
        ia, kpi.changes(second, kpi.recorded_totals(state=state)), state=state, accounts=ACCOUNTS
    )
    state.close()
    assert net_held(sb, "9000") == 11
    # The backup (which knows only day 1 = 9) is restored; day 3 is 9 again. Against the
    # restored history that is no change, but the books hold 11: post -2.
    restored = SQLiteStateStore(str(tmp_path / "backup.sqlite"))
    third = totals({"donors": [9]}, start=DAY + dt.timedelta(days=2))
    chg = kpi.changes(third, kpi.recorded_totals(state=restored))
    assert chg["change"].tolist() == [0]
    report = kpi.post_changes(ia, chg, state=restored, accounts=ACCOUNTS)
    row = report.to_frame().iloc[0]
    assert (row["status"], row["tr_type"], row["amount"], row["held"]) == ("posted", -1, 2, 11)
    assert net_held(sb, "9000") == 9
    again = kpi.post_changes(ia, chg, state=restored, accounts=ACCOUNTS)
    assert again.new_entries == 0 and again.done
    restored.close()


def test_two_hosts_with_two_state_files_post_each_change_once(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    host_a, host_b = SQLiteStateStore(":memory:"), SQLiteStateStore(":memory:")
    series = [5, 7, 6, 6, 10]
    for i, value in enumerate(series):
        day = totals({"donors": [value]}, start=DAY + dt.timedelta(days=i))
        for state in (host_a, host_b) if i % 2 == 0 else (host_b, host_a):
            kpi.post_changes(ia, kpi.changes(day, kpi.recorded_totals(state=state)), state=state)
            kpi.record_totals(day, state=state)
        assert net_held(sb, "9000") == value
    assert all(n == 1 for n in ours(sb).values())
    assert kpi.check_holdings(ia, {"donors": Decimal(10)}, accounts=ACCOUNTS).ok


def test_books_are_read_in_a_handful_of_requests(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    days = totals({"donors": list(range(100, 160)), "active_donors": list(range(60, 0, -1))})
    kpi.post_changes(ia, kpi.changes(days), state=state, accounts=ACCOUNTS)
    calls: list[str] = []
    real_query = ia.query

    def counting(obj: str, **options: Any) -> pd.DataFrame:
        calls.append(obj)
        return real_query(obj, **options)

    monkeypatch.setattr(ia, "query", counting)
    rerun = kpi.post_changes(ia, kpi.changes(days), state=state, accounts=ACCOUNTS)
    assert rerun.new_entries == 0 and rerun.done
    # 120 entries: one GLBATCH read and one GLENTRY read, whatever the number of days.
    assert calls == ["GLBATCH", "GLENTRY"]


def test_a_failed_posting_is_not_done(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    report = kpi.post_changes(
        ia, kpi.changes(totals({"donors": [3]})), state=state, accounts={"donors": "NOPE"}
    )
    # Refused by the preflight (no such statistical account), never sent.
    assert list(report.to_frame()["status"]) == ["skipped"] and not report.done


def test_holdings_drift_is_not_done_and_the_next_post_corrects_it(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    day_totals = totals({"donors": [30]})
    kpi.post_changes(ia, kpi.changes(day_totals), state=state, accounts=ACCOUNTS)
    manual = JournalEntry(
        key="manual",
        journal="STAT",
        batch_date=DAY,
        title="hand-keyed",
        reference_no="kpi|donors|manual",
        statistical=True,
        lines=[JournalLine(account_no="9000", amount=Decimal(5), tr_type=1)],
    )
    assert ia.create("GLBATCH", [manual])["done"].all()
    drifting = kpi.check_holdings(ia, day_totals, accounts=ACCOUNTS, raise_on_drift=False)
    assert not drifting.done and "NOT DONE" in drifting.summary()
    # The books hold 35 for a KPI of 30: the next post run sends -5 and the holdings match.
    report = kpi.post_changes(ia, kpi.changes(day_totals), state=state, accounts=ACCOUNTS)
    row = report.to_frame().iloc[0]
    assert (row["status"], row["tr_type"], row["amount"], row["held"]) == ("posted", -1, 5, 35)
    assert report.done and kpi.check_holdings(ia, day_totals, accounts=ACCOUNTS).done


def test_a_preflight_breach_halts_the_kpi_post_by_default(sb: sandbox.Sandbox) -> None:
    # Issue 14: the workflow's invalid-record policy is the preflight's; posting to the books
    # halts by default: nothing is sent, the breaching KPI named by its key and the rule.
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    accounts = {"donors": "9000", "active_donors": "NOPE"}
    chg = kpi.changes(totals({"donors": [3], "active_donors": [2]}))
    report = kpi.post_changes(ia, chg, state=state, accounts=accounts)
    rows = report.to_frame().set_index("kpi")
    assert rows.loc["active_donors", "status"] == "skipped"
    assert rows.loc["donors", "status"] == "held"
    errors = str(rows.loc["active_donors", "errors"])
    assert "ACCOUNTNO 'NOPE'" in errors and "(unknown_account)" in errors
    assert rows.loc["active_donors", "key"] == f"kpi|active_donors|{DAY.isoformat()}"
    assert ours(sb) == {} and report.failed == 2 and not report.done
    # skip: only the breaching KPI is refused.
    skipped = kpi.post_changes(ia, chg, state=state, accounts=accounts, on_invalid="skip")
    statuses = dict(zip(skipped.to_frame()["kpi"], skipped.to_frame()["status"], strict=True))
    assert statuses == {"donors": "posted", "active_donors": "skipped"}
    assert ours(sb) == {f"kpi|donors|{DAY.isoformat()}": 1}
    with pytest.raises(InputError):
        kpi.post_changes(ia, chg, state=state, on_invalid="ignore")  # type: ignore[arg-type]


def test_kpi_reports_name_the_company_and_entity(sb: sandbox.Sandbox) -> None:
    chg = kpi.changes(totals({"donors": [3]}))
    with sb.intacct_client() as top, sb.intacct_client(entity_id="NORTH") as north:
        at_top = kpi.post_changes(top, chg, state=SQLiteStateStore(":memory:"), dry_run=True)
        posted = kpi.post_changes(north, chg, state=SQLiteStateStore(":memory:"), accounts=ACCOUNTS)
        holdings = kpi.check_holdings(north, {"donors": Decimal(3)}, accounts=ACCOUNTS)
    assert at_top.summary().endswith("; company DEMO-NONPROFIT, top level")
    assert at_top.to_dict()["company"] == "DEMO-NONPROFIT" and at_top.to_dict()["entity"] is None
    assert posted.summary().endswith("; company DEMO-NONPROFIT, entity NORTH")
    assert posted.to_dict()["entity"] == "NORTH" and posted.to_dict()["rows"][0]["kpi"] == "donors"
    assert holdings.summary().endswith("; company DEMO-NONPROFIT, entity NORTH")
    assert holdings.to_dict()["ok"] is True and holdings.to_dict()["entity"] == "NORTH"


def test_cli_kpi_post_names_the_company_and_entity(tmp_path: Any) -> None:
    import argparse
    import io
    import json

    from intacct_sync.cli import kpi as cli_kpi

    root = argparse.ArgumentParser(prog="intacct-sync")
    cli_kpi.add_commands(root.add_subparsers(dest="command", required=True))
    base = ["kpi", "post", "--sandbox", "--state", str(tmp_path / "s.sqlite3")]
    for extra in (["--format", "json"], []):
        args = root.parse_args([*base, "--date", "2026-03-02", *extra])
        out = io.StringIO()
        assert args.run(args, out) == 0
        if extra:
            document = json.loads(out.getvalue())
            assert (document["company"], document["entity"]) == (NP, None)
            assert document["posting"]["summary"].endswith(f"; company {NP}, top level")
            assert document["holdings"]["summary"].endswith(f"; company {NP}, top level")
        else:
            assert f"; company {NP}, top level" in out.getvalue()
    assert root.parse_args([*base, "--on-invalid", "skip"]).on_invalid == "skip"
    assert root.parse_args(base).on_invalid == "halt"

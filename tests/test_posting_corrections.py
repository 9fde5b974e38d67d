"""The opt-in correcting entry for drift (issue 12, "never a silent second entry").

An edited journal entry is ``drift`` by default and nothing is sent. With ``correct_drift`` on,
the engine reverses what the books hold for it and reposts the new content, both exactly once:
these tests read the books back from the sandbox after every scenario (crashes, lost answers, a
forgetful gateway, a lost state file, a second edit, a closed period) and check that the books'
net for the entry is the new content, with one reversal and one repost per edit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from intacct_sync import journals, sandbox
from intacct_sync._http.retry import NO_RETRY
from intacct_sync.intacct import filters
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.posting import Posting, corrections_planned, corrections_text, post
from intacct_sync.state import LedgerEntry, SQLiteStateStore
from tests.builders import balanced_entry

COMPANY = sandbox.COMPANIES["nonprofit"]
WORKFLOW = "corrections-test"


def _posting(key: str, amount: str, *, day: dt.date = dt.date(2026, 11, 2)) -> Posting:
    return Posting(
        key=key,
        record=balanced_entry(key, amount, title=f"Edited {key}", day=day, location="HQ"),
        reference=key,
    )


def _family(sb: sandbox.Sandbox, key: str) -> dict[str, int]:
    """GLBATCHes per reference of ``key`` and its corrections (``key~R…``, ``key~C…``)."""
    counts = sb.intacct.journal_entries_by_reference(COMPANY)
    return {r: n for r, n in counts.items() if r == key or r.startswith(f"{key}~")}


def _net(ia: IntacctClient, references: list[str]) -> dict[str, Decimal]:
    """Signed net (debits positive) per account of every entry carrying ``references``."""
    batches = ia.read_by_query(
        "GLBATCH",
        filters.query_string("REFERENCENO IN {}", references),
        fields=["RECORDNO", "REFERENCENO"],
    )
    record_nos = [str(n) for n in batches["RECORDNO"].tolist()]
    lines = ia.read_by_query(
        "GLENTRY",
        filters.query_string("BATCHNO IN {}", record_nos),
        fields=["BATCHNO", "ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT", "LOCATION"],
    )
    net: dict[str, Decimal] = {}
    for row in lines.to_dict("records"):
        assert str(row["LOCATION"]) == "HQ"  # the dimension travels with the reversal
        signed = Decimal(str(row["TRX_AMOUNT"])) * int(row["TR_TYPE"])
        net[str(row["ACCOUNTNO"])] = net.get(str(row["ACCOUNTNO"]), Decimal(0)) + signed
    return {account: amount for account, amount in net.items() if amount}


def _one_correction_each(family: dict[str, int], key: str, edits: int) -> None:
    """The books hold ``key`` once and, per edit, one reversal and one repost, each once."""
    assert family.pop(key) == 1
    assert set(family.values()) == {1}
    marks = Counter(reference[len(key) : len(key) + 2] for reference in family)
    assert marks == {"~R": edits, "~C": edits}


def test_drift_with_the_option_off_sends_nothing_and_says_how_to_correct(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    post(ia, state, WORKFLOW, [_posting("e-off", "10.00")])
    writes = sb.intacct.stats.writes_committed
    drift = post(ia, state, WORKFLOW, [_posting("e-off", "12.50")]).outcomes[0]
    assert drift.status == "drift"
    assert drift.action is not None and "correct_drift=True" in drift.action
    assert sb.intacct.stats.writes_committed == writes
    assert _family(sb, "e-off") == {"e-off": 1}


def test_an_edited_entry_is_reversed_and_reposted_once_and_the_books_net_is_the_new_content(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    first = post(ia, state, WORKFLOW, [_posting("e-1", "10.00")]).outcomes[0]
    result = post(ia, state, WORKFLOW, [_posting("e-1", "12.50")], correct_drift=True)
    fixed = result.outcomes[0]
    assert fixed.status == "corrected"
    assert (fixed.reversed_record_no, fixed.posted_amount, fixed.amount) == (
        first.record_no,
        "10",
        "12.5",
    )
    assert fixed.reversal_record_no and fixed.record_no not in (None, first.record_no)
    family = _family(sb, "e-1")
    assert family == {
        "e-1": 1,
        f"e-1~R{first.record_no}": 1,
        f"e-1~C{first.record_no}": 1,
    }
    assert _net(ia, list(family)) == {"1000": Decimal("12.50"), "4000": Decimal("-12.50")}
    # The key's row names the new content and both record numbers.
    row = state.ledger_get(WORKFLOW, "e-1")
    assert row is not None and row.status == "posted" and row.record_no == fixed.record_no
    assert row.detail["amount"] == "12.5"
    assert row.detail["corrections"] == [
        {
            "reversed": first.record_no,
            "reversal": fixed.reversal_record_no,
            "repost": fixed.record_no,
            "reversed_amount": "10",
            "amount": "12.5",
        }
    ]
    # A rerun sends nothing.
    writes = sb.intacct.stats.writes_committed
    again = post(ia, state, WORKFLOW, [_posting("e-1", "12.50")], correct_drift=True)
    assert again.outcomes[0].status == "already_posted"
    assert again.outcomes[0].record_no == fixed.record_no
    assert sb.intacct.stats.writes_committed == writes
    assert corrections_text([(fixed.reversed_record_no, Decimal("1000"), Decimal("1250"))]) == (
        f"1 entry corrected: reversed RECORDNO {first.record_no} (1,000.00) and reposted (1,250.00)"
    )


def test_a_second_edit_reverses_version_2_and_posts_version_3(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    post(ia, state, WORKFLOW, [_posting("e-2", "10.00")])
    v2 = post(ia, state, WORKFLOW, [_posting("e-2", "20.00")], correct_drift=True).outcomes[0]
    v3 = post(ia, state, WORKFLOW, [_posting("e-2", "30.00")], correct_drift=True).outcomes[0]
    assert (v3.status, v3.reversed_record_no, v3.posted_amount) == ("corrected", v2.record_no, "20")
    family = _family(sb, "e-2")
    assert family[f"e-2~R{v2.record_no}"] == 1 and family[f"e-2~C{v2.record_no}"] == 1
    _one_correction_each(dict(family), "e-2", 2)
    assert _net(ia, list(family)) == {"1000": Decimal("30.00"), "4000": Decimal("-30.00")}
    row = state.ledger_get(WORKFLOW, "e-2")
    assert row is not None and len(row.detail["corrections"]) == 2
    # Back to an earlier version: corrected again, never taken for the old repost.
    back = post(ia, state, WORKFLOW, [_posting("e-2", "20.00")], correct_drift=True).outcomes[0]
    assert back.status == "corrected"
    family = _family(sb, "e-2")
    _one_correction_each(dict(family), "e-2", 3)
    assert _net(ia, list(family)) == {"1000": Decimal("20.00"), "4000": Decimal("-20.00")}


def test_a_lost_answer_between_reversal_and_repost_then_rerun_completes_without_doubling(
    sb: sandbox.Sandbox,
) -> None:
    gateway = sb.intacct
    gateway.forget_control_ids = True
    ia = sb.intacct_client(retry=NO_RETRY)
    state = SQLiteStateStore(":memory:")
    first = post(ia, state, WORKFLOW, [_posting("e-lost", "10.00")]).outcomes[0]
    gateway.faults.drop_after_commit_rate = 1.0
    stopped = post(
        ia, state, WORKFLOW, [_posting("e-lost", "15.00")], correct_drift=True, recovery_rounds=0
    )
    assert stopped.stopped is not None
    assert stopped.outcomes[0].status == "pending"
    # The reversal reached the books; the repost was not sent.
    assert _family(sb, "e-lost") == {"e-lost": 1, f"e-lost~R{first.record_no}": 1}
    gateway.faults.clear()
    done = post(ia, state, WORKFLOW, [_posting("e-lost", "15.00")], correct_drift=True)
    assert done.outcomes[0].status == "corrected"
    family = _family(sb, "e-lost")
    assert family == {"e-lost": 1, f"e-lost~R{first.record_no}": 1, f"e-lost~C{first.record_no}": 1}
    assert _net(ia, list(family)) == {"1000": Decimal("15.00"), "4000": Decimal("-15.00")}


def test_every_answer_lost_is_recovered_in_the_same_run(sb: sandbox.Sandbox) -> None:
    gateway = sb.intacct
    gateway.forget_control_ids = True
    ia = sb.intacct_client(retry=NO_RETRY)
    state = SQLiteStateStore(":memory:")
    post(ia, state, WORKFLOW, [_posting("e-all", "10.00")])
    gateway.faults.drop_after_commit_rate = 1.0
    result = post(ia, state, WORKFLOW, [_posting("e-all", "11.00")], correct_drift=True)
    gateway.faults.clear()
    assert result.outcomes[0].status in ("corrected", "posted")
    family = _family(sb, "e-all")
    _one_correction_each(dict(family), "e-all", 1)
    assert _net(ia, list(family)) == {"1000": Decimal("11.00"), "4000": Decimal("-11.00")}
    assert post(ia, state, WORKFLOW, [_posting("e-all", "11.00")]).outcomes[0].status == (
        "already_posted"
    )


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


class _KilledBeforeTheRepost(SQLiteStateStore):
    """Dies as the repost's ledger row is about to be written (the reversal is in the books)."""

    def ledger_put(self, entry: LedgerEntry) -> None:
        if "~C" in entry.source_id:
            raise _Killed
        super().ledger_put(entry)


class _KilledAfterTheRepost(SQLiteStateStore):
    """Dies as the sent repost's outcome is about to be recorded."""

    def ledger_put(self, entry: LedgerEntry) -> None:
        if "~C" in entry.source_id and entry.status != "pending":
            raise _Killed
        super().ledger_put(entry)


@pytest.mark.parametrize("store", [_KilledBeforeTheRepost, _KilledAfterTheRepost])
def test_a_kill_during_the_correction_then_rerun_converges_to_one_reversal_and_one_repost(
    sb: sandbox.Sandbox, tmp_path: Path, store: type[SQLiteStateStore]
) -> None:
    sb.intacct.forget_control_ids = True
    ia = sb.intacct_client()
    path = tmp_path / "state.sqlite3"
    with SQLiteStateStore(path) as state:
        post(ia, state, WORKFLOW, [_posting("e-kill", "10.00")])
    with pytest.raises(_Killed), store(path) as dying:
        post(ia, dying, WORKFLOW, [_posting("e-kill", "17.00")], correct_drift=True)
    with SQLiteStateStore(path) as state:
        rerun = post(ia, state, WORKFLOW, [_posting("e-kill", "17.00")], correct_drift=True)
        assert rerun.outcomes[0].status in ("corrected", "posted")
        assert post(ia, state, WORKFLOW, [_posting("e-kill", "17.00")]).outcomes[0].status == (
            "already_posted"
        )
    family = _family(sb, "e-kill")
    _one_correction_each(dict(family), "e-kill", 1)
    assert _net(ia, list(family)) == {"1000": Decimal("17.00"), "4000": Decimal("-17.00")}


def test_a_state_file_lost_after_the_correction_finds_reversal_and_repost_in_the_books(
    sb: sandbox.Sandbox,
) -> None:
    sb.intacct.forget_control_ids = True
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    post(ia, state, WORKFLOW, [_posting("e-state", "10.00")])
    fixed = post(ia, state, WORKFLOW, [_posting("e-state", "14.00")], correct_drift=True)
    writes = sb.intacct.stats.writes_committed
    for correct in (True, False):
        fresh = SQLiteStateStore(":memory:")
        found = post(ia, fresh, WORKFLOW, [_posting("e-state", "14.00")], correct_drift=correct)
        outcome = found.outcomes[0]
        assert (outcome.status, outcome.record_no) == ("posted", fixed.outcomes[0].record_no)
        assert outcome.errors is not None and "corrected earlier" in outcome.errors
        assert sb.intacct.stats.writes_committed == writes
    family = _family(sb, "e-state")
    _one_correction_each(dict(family), "e-state", 1)
    # A lost state file and a source back at the first version: the books hold version 2, so
    # that is drift (and corrected when asked), never "found in the books" by the reversed one.
    back = post(ia, SQLiteStateStore(":memory:"), WORKFLOW, [_posting("e-state", "10.00")])
    assert back.outcomes[0].status == "drift"
    assert back.outcomes[0].posted_amount == "14"


def test_a_dry_run_lists_the_reversals_and_reposts_and_sends_nothing(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    first = post(ia, state, WORKFLOW, [_posting("e-dry", "1000.00"), _posting("e-same", "5.00")])
    writes = sb.intacct.stats.writes_committed
    rows = list(state.ledger(WORKFLOW))
    planned = corrections_planned(
        ia, state, WORKFLOW, [_posting("e-dry", "1250.00"), _posting("e-same", "5.00")]
    )
    assert sb.intacct.stats.writes_committed == writes
    assert list(state.ledger(WORKFLOW)) == rows
    assert len(planned) == 1
    plan = planned[0]
    record_no = first.outcomes[0].record_no
    assert (plan.key, plan.reversed_record_no, plan.reversed_amount, plan.amount) == (
        "e-dry",
        record_no,
        Decimal("1000"),
        Decimal("1250.00"),
    )
    assert (plan.reversal_reference, plan.repost_reference) == (
        f"e-dry~R{record_no}",
        f"e-dry~C{record_no}",
    )
    text = corrections_text(
        [(p.reversed_record_no, p.reversed_amount, p.amount) for p in planned], planned=True
    )
    assert text == (
        f"1 entry would be corrected: would reverse RECORDNO {record_no} (1,000.00) and repost "
        "(1,250.00)"
    )


def test_a_reversal_of_an_entry_in_a_closed_period_is_dated_as_the_repost(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    october = dt.date(2026, 10, 15)
    first = post(ia, state, WORKFLOW, [_posting("e-closed", "10.00", day=october)]).outcomes[0]
    sb.intacct.closed_through[COMPANY] = dt.date(2026, 10, 31)
    edited = _posting("e-closed", "12.00", day=dt.date(2026, 11, 3))
    fixed = post(ia, state, WORKFLOW, [edited], correct_drift=True).outcomes[0]
    assert fixed.status == "corrected"
    reversal = ia.read_by_query(
        "GLBATCH",
        filters.query_string("REFERENCENO = {}", f"e-closed~R{first.record_no}"),
        fields=["BATCH_DATE"],
    )
    assert reversal["BATCH_DATE"].iloc[0].date() == dt.date(2026, 11, 3)  # the repost's
    family = _family(sb, "e-closed")
    assert _net(ia, list(family)) == {"1000": Decimal("12.00"), "4000": Decimal("-12.00")}


def test_a_repost_intacct_would_refuse_reverses_nothing(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    post(ia, state, WORKFLOW, [_posting("e-refused", "10.00")])
    sb.intacct.closed_through[COMPANY] = dt.date(2026, 11, 30)
    # The books learn the closed period from this run's refusal of another entry.
    post(ia, state, WORKFLOW, [_posting("e-probe", "1.00", day=dt.date(2026, 11, 30))])
    edited = _posting("e-refused", "12.00")  # still dated 2026-11-02: closed
    outcome = post(ia, state, WORKFLOW, [edited], correct_drift=True).outcomes[0]
    assert outcome.status in ("failed", "skipped")
    # Whatever the order of learning, the books never lose the entry: either nothing was
    # reversed, or the reversal waits for a repost the next run sends once the date is fixed.
    family = _family(sb, "e-refused")
    net = _net(ia, list(family))
    assert net in ({"1000": Decimal("10.00"), "4000": Decimal("-10.00")}, {})
    sb.intacct.closed_through.clear()
    redated = post(ia, state, WORKFLOW, [edited], correct_drift=True).outcomes[0]
    assert redated.status == "corrected"
    family = _family(sb, "e-refused")
    _one_correction_each(dict(family), "e-refused", 1)
    assert _net(ia, list(family)) == {"1000": Decimal("12.00"), "4000": Decimal("-12.00")}


def _csv(amount: str, entry: str = "C-9") -> bytes:
    return (
        "entry,date,description,account,debit,credit,location\n"
        f"{entry},2026-11-02,Corrected,1000,{amount},,HQ\n"
        f"{entry},2026-11-02,,4000,,{amount},HQ\n"
    ).encode()


def test_a_corrected_csv_reimported_on_a_new_state_file_is_corrected_when_asked(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client()
    first = journals.post_journal_lines(
        ia, journals.read_journal_lines(_csv("100.00")), SQLiteStateStore(":memory:")
    )
    record_no = first.outcomes["RECORDNO"].iloc[0]
    fresh = SQLiteStateStore(":memory:")
    drift = journals.post_journal_lines(ia, journals.read_journal_lines(_csv("90.00")), fresh)
    assert drift.outcomes["status"].tolist() == ["drift"]
    fixed = journals.post_journal_lines(
        ia, journals.read_journal_lines(_csv("90.00")), fresh, correct_drift=True
    )
    row = fixed.outcomes.iloc[0]
    assert (row["status"], row["reversed_RECORDNO"]) == ("corrected", record_no)
    assert "corrected: reversed RECORDNO" in fixed.summary()
    family = _family(sb, "C-9")
    assert family == {"C-9": 1, f"C-9~R{record_no}": 1, f"C-9~C{record_no}": 1}
    assert _net(ia, list(family)) == {"1000": Decimal("90.00"), "4000": Decimal("-90.00")}

"""The posting engine: exactly once, resting on the books (issue 12 items 1, 2, 5, 6 and 8).

Each scenario of the issue is a test here: a refusal that quotes the user's own value, the real
gateway's replay wording, content-aware identities (edited amounts, corrected CSV files, NFC and
NFD keys, 10.0 and 10.00), the CRM flag set by hand, and a gateway that forgets every control id
(lost answers, a kill between the send and the ledger commit, a lost state file).
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from intacct_sync import actions, journals, sandbox
from intacct_sync._http.retry import NO_RETRY, RetryPolicy
from intacct_sync.actions.journals import _post_entries
from intacct_sync.errors import ErrorDetail, IncompleteWriteError
from intacct_sync.intacct import create_control_id
from intacct_sync.intacct._protocol import Result
from intacct_sync.intacct._writes import OUTCOME_COLUMNS, canonical_fields, replay_kind
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import JournalEntry
from intacct_sync.posting import Posting, content_hash, engine, nfc, post
from intacct_sync.posting.identity import amount_text
from intacct_sync.state import LedgerEntry, SQLiteStateStore
from tests.builders import balanced_entry

COMPANY = sandbox.COMPANIES["nonprofit"]
WORKFLOW = "engine-test"
CID = "create-GLBATCH-0123456789abcdef0123456789abcdef01234567"


def _posting(key: str, amount: str = "10.00") -> Posting:
    return Posting(
        key=key, record=balanced_entry(key, amount, title=f"Engine {key}"), reference=key
    )


def _in_books(sb: sandbox.Sandbox) -> dict[str, int]:
    return sb.intacct.journal_entries_by_reference(COMPANY)


def _refusal(description2: str, errorno: str = "BL01001973") -> Result:
    return Result(
        status="failure",
        function="create",
        control_id=CID,
        errors=(ErrorDetail(errorno=errorno, description2=description2),),
    )


# -- replay detection that cannot be fooled (items 1 and 2) ----------------------------------------


@pytest.mark.parametrize(
    ("text", "errorno", "kind"),
    [
        # the real gateway's wording (reference §13.1), naming our id: done
        (
            f"A successful transaction has already been recorded with the control id {CID}",
            "",
            "done",
        ),
        (
            f"a successful transaction has already been recorded with the control id {CID}.",
            "",
            "done",
        ),
        # the same wording naming another function's id: an ordinary failure
        (
            "A successful transaction has already been recorded with the control id other-1",
            "",
            None,
        ),
        # our id is only the start of a longer id: another function
        (
            f"A successful transaction has already been recorded with the control id {CID}9",
            "",
            None,
        ),
        # the sandbox's earlier wording, naming our id
        (f"A request's function with the control ID {CID} has already been executed.", "", "done"),
        # user data echoed in a refusal (issue 12 item 1): never done
        ("Invalid account 'control id x has already been executed' specified.", "BL01001973", None),
        ("Invalid account 'control id x already exists'", "", None),
        # the sandbox's (synthetic) errorno
        ("whatever the text", "DUPLICATE_CONTROLID", "done"),
        # still running: retry later under the same id, not done
        (f"A request's function with the control ID {CID} is in process.", "", "in_process"),
        ("Concurrent request in process", "", "in_process"),
        ("Invalid department 'Concurrent request in process'", "", None),
    ],
)
def test_a_refusal_is_a_replay_only_when_it_names_this_functions_control_id(
    text: str, errorno: str, kind: str | None
) -> None:
    assert replay_kind(_refusal(text, errorno), CID) == kind


def test_the_outcome_row_keeps_the_gateway_text_and_follows_the_contract(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client()
    echo = "control id x has already been executed"
    entry = balanced_entry("echo-1", title="echo", account=echo)
    outcome = ia.create("GLBATCH", [entry])
    assert list(outcome.columns) == list(OUTCOME_COLUMNS)
    assert outcome["status"].tolist() == ["failed"] and not outcome["done"].iloc[0]
    assert echo in str(outcome["errors"].iloc[0])
    assert outcome["error_codes"].iloc[0]
    assert _in_books(sb).get("echo-1") is None


def test_the_sandbox_answers_a_replay_in_the_real_wording_and_the_client_counts_it_done(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client()
    entry = balanced_entry("replay-1", title="replay")
    first = ia.create("GLBATCH", [entry])
    again = ia.create("GLBATCH", [entry])
    assert (first["status"].iloc[0], again["status"].iloc[0]) == ("created", "already_done")
    cid = str(first["control_id"].iloc[0])
    assert f"A successful transaction has already been recorded with the control id {cid}" in str(
        again["errors"].iloc[0]
    )
    assert _in_books(sb)["replay-1"] == 1


def test_a_csv_value_quoting_the_replay_wording_is_refused_before_sending(
    sb: sandbox.Sandbox,
) -> None:
    """Issue 12 item 1, with the preflight on: the unknown account never leaves."""
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    echo = "control id x has already been executed"
    data = (
        "entry,date,description,account,debit,credit\n"
        f"E-1,2026-11-02,Echo,{echo},10.00,\n"
        "E-1,2026-11-02,,4000,,10.00\n"
    ).encode()
    for _ in range(2):
        report = journals.post_journal_lines(ia, journals.read_journal_lines(data), state)
        row = report.outcomes.iloc[0]
        assert row["status"] == "skipped" and echo in str(row["errors"])
        assert "unknown_account" in str(row["errors"])
    assert _in_books(sb).get("E-1") is None


def test_a_csv_value_quoting_the_replay_wording_fails_and_stays_failed(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 item 1: reported posted, ledger posted, nothing in the books, text erased."""
    # The gateway's own refusal, as when the preflight cannot know (no check skips it).
    monkeypatch.setattr(engine, "_preflight", lambda ia, rules, to_send, results: to_send)
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    echo = "control id x has already been executed"
    data = (
        "entry,date,description,account,debit,credit\n"
        f"E-1,2026-11-02,Echo,{echo},10.00,\n"
        "E-1,2026-11-02,,4000,,10.00\n"
    ).encode()
    report = journals.post_journal_lines(ia, journals.read_journal_lines(data), state)
    row = report.outcomes.iloc[0]
    assert row["status"] == "failed" and echo in str(row["errors"])
    entry = state.ledger_get(journals.IMPORT_WORKFLOW, "GJ:E-1")
    assert entry is not None and entry.status == "failed" and echo in entry.detail["errors"]
    again = journals.post_journal_lines(ia, journals.read_journal_lines(data), state)
    assert again.outcomes["status"].tolist() == ["failed"]
    assert _in_books(sb).get("E-1") is None


# -- content-aware identities (item 5) -------------------------------------------------------------


def test_amounts_are_normalised_before_hashing_and_before_control_ids() -> None:
    assert amount_text(Decimal("10.0")) == amount_text(Decimal("10.00")) == "10"
    assert amount_text(Decimal("0.50")) == "0.5" and amount_text(Decimal("-0.00")) == "0"
    ten = balanced_entry("k", "10.0", title="a")
    assert content_hash(ten) == content_hash(balanced_entry("k", "10.00", title="reworded"))
    assert content_hash(ten) != content_hash(balanced_entry("k", "10.01", title="a"))
    assert canonical_fields({"A": Decimal("10.0"), "B": {"C": Decimal("1.50")}}) == {
        "A": Decimal("10"),
        "B": {"C": Decimal("1.5")},
    }
    assert nfc(unicodedata.normalize("NFD", "café")) == "café"


def test_create_of_the_same_record_written_10_0_then_10_00_is_one_record(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client()
    item = {"ITEMID": "NORM-1", "NAME": "Normalised", "ITEMTYPE": "Non-Inventory"}
    first = ia.create("ITEM", [{**item, "BASEPRICE": Decimal("10.0")}])
    again = ia.create("ITEM", [{**item, "BASEPRICE": Decimal("10.00")}])
    assert first["control_id"].iloc[0] == again["control_id"].iloc[0]
    assert (first["status"].iloc[0], again["status"].iloc[0]) == ("created", "already_done")


def test_an_entry_written_10_0_then_10_00_posts_once(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    assert post(ia, state, WORKFLOW, [_posting("ten", "10.0")]).outcomes[0].status == "posted"
    assert post(ia, state, WORKFLOW, [_posting("ten", "10.00")]).outcomes[0].status == (
        "already_posted"
    )
    assert _in_books(sb)["ten"] == 1


def test_an_edited_amount_is_drift_with_both_values_and_nothing_is_sent(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    first = post(ia, state, WORKFLOW, [_posting("edited", "10.00")]).outcomes[0]
    writes = sb.intacct.stats.writes_committed
    drift = post(ia, state, WORKFLOW, [_posting("edited", "12.50")]).outcomes[0]
    assert drift.status == "drift"
    assert (drift.posted_amount, drift.amount) == ("10", "12.5")
    assert drift.posted_hash != drift.content_hash and drift.record_no == first.record_no
    assert drift.action and "Reverse" in drift.action
    assert sb.intacct.stats.writes_committed == writes
    assert _in_books(sb)["edited"] == 1
    # The ledger keeps what was posted.
    entry = state.ledger_get(WORKFLOW, "edited")
    assert entry is not None and entry.detail["amount"] == "10"


def test_an_edited_action_is_drift_in_the_journal_report(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    key = "a03EDITED"
    _post_entries(ia, state, "actions", [(key, balanced_entry(key, "10.00", title="x"))])
    report = _post_entries(ia, state, "actions", [(key, balanced_entry(key, "11.00", title="x"))])
    row = report.outcomes.iloc[0]
    assert (row["status"], row["amount"], row["posted_amount"]) == (
        "drift",
        Decimal("11"),
        Decimal("10"),
    )
    assert "drift" in report.summary() and row["action"]
    assert _in_books(sb)[key] == 1


def _csv(amount: str, entry: str = "C-1") -> bytes:
    return (
        "entry,date,description,account,debit,credit\n"
        f"{entry},2026-11-02,Corrected,1000,{amount},\n"
        f"{entry},2026-11-02,,4000,,{amount}\n"
    ).encode()


def test_a_corrected_csv_on_a_new_state_file_is_drift_with_the_old_record(
    sb: sandbox.Sandbox,
) -> None:
    """Issue 12 item 5: the old RECORDNO was reported while the books held the old amount."""
    ia = sb.intacct_client()
    first = journals.post_journal_lines(
        ia, journals.read_journal_lines(_csv("100.00")), SQLiteStateStore(":memory:")
    )
    record_no = first.outcomes["RECORDNO"].iloc[0]
    fresh = SQLiteStateStore(":memory:")
    corrected = journals.post_journal_lines(ia, journals.read_journal_lines(_csv("90.00")), fresh)
    row = corrected.outcomes.iloc[0]
    assert (row["status"], row["RECORDNO"]) == ("drift", record_no)
    assert (row["posted_amount"], row["amount"]) == (Decimal("100"), Decimal("90"))
    assert _in_books(sb)["C-1"] == 1
    # The same file again on a third state file is found in the books, not posted again.
    same = journals.post_journal_lines(
        ia, journals.read_journal_lines(_csv("100.0")), SQLiteStateStore(":memory:")
    )
    assert same.outcomes[["status", "RECORDNO"]].values.tolist() == [["posted", record_no]]
    assert _in_books(sb)["C-1"] == 1


def test_the_same_entry_id_in_nfc_and_nfd_posts_once(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    sb.intacct.forget_control_ids = True
    composed = unicodedata.normalize("NFC", "Café-7")
    decomposed = unicodedata.normalize("NFD", "Café-7")
    assert composed != decomposed
    first = journals.post_journal_lines(
        ia, journals.read_journal_lines(_csv("5.00", composed)), SQLiteStateStore(":memory:")
    )
    state = SQLiteStateStore(":memory:")
    second = journals.post_journal_lines(
        ia, journals.read_journal_lines(_csv("5.00", decomposed)), state
    )
    assert first.outcomes["status"].tolist() == ["posted"]
    assert second.outcomes["status"].tolist() == ["posted"]  # found in the books
    assert second.outcomes["RECORDNO"].tolist() == first.outcomes["RECORDNO"].tolist()
    assert _in_books(sb)[composed] == 1 and decomposed not in _in_books(sb)
    third = journals.post_journal_lines(
        ia, journals.read_journal_lines(_csv("5.00", decomposed)), state
    )
    assert third.outcomes["status"].tolist() == ["already_posted"]


# -- the CRM flag is not trusted alone (item 6) ----------------------------------------------------


def test_intacct_posted_set_by_hand_on_an_unposted_action_does_not_stop_it(
    sb: sandbox.Sandbox,
) -> None:
    with sb.salesforce_client() as sf, sb.intacct_client() as ia:
        rows = sb.salesforce.rows("Action__c", fields=["Id", "Name"])
        target = next(r["Id"] for r in rows if r["Name"] == "A-00001")
        assert sf.update("Action__c", [{"Id": target, "Intacct_Posted__c": True}])["done"].all()
        report = actions.ActionSync(ia, sf, SQLiteStateStore(":memory:"), on_invalid="skip").run()
    outcome = report.actions.set_index("action_id").loc[target, "outcome"]
    assert outcome == "posted"
    assert _in_books(sb)[target] == 1


# -- a gateway that forgets every control id (item 8) ----------------------------------------------


def test_lost_answers_after_commit_then_rerun_post_each_entry_once_without_gateway_memory(
    sb: sandbox.Sandbox,
) -> None:
    gateway = sb.intacct
    gateway.forget_control_ids = True
    ia = sb.intacct_client(retry=NO_RETRY, batch_size=10)
    state = SQLiteStateStore(":memory:")
    postings = [_posting(f"lost-{i:02d}") for i in range(30)]
    gateway.faults.drop_after_commit_rate = 1.0
    result = post(ia, state, WORKFLOW, postings, recovery_rounds=0)
    assert result.stopped is not None
    statuses = [o.status for o in result.outcomes]
    assert statuses == ["pending"] * 10 + ["held"] * 20
    gateway.faults.clear()
    again = post(ia, state, WORKFLOW, postings)
    assert again.stopped is None and {o.status for o in again.outcomes} == {"posted"}
    assert all(o.record_no for o in again.outcomes)
    books = _in_books(sb)
    assert [books.get(p.key, 0) for p in postings] == [1] * 30
    assert {e.status for e in state.ledger(WORKFLOW)} == {"posted"}


def test_lost_answers_are_recovered_in_the_same_run_from_the_books(sb: sandbox.Sandbox) -> None:
    # Every answer lost after commit, a gateway with no memory of control ids, and a client
    # that never resends a write itself: one run still ends with each entry in the books once.
    gateway = sb.intacct
    gateway.forget_control_ids = True
    ia = sb.intacct_client(retry=NO_RETRY, batch_size=10)
    state = SQLiteStateStore(":memory:")
    postings = [_posting(f"once-{i:02d}") for i in range(30)]
    gateway.faults.drop_after_commit_rate = 1.0
    result = post(ia, state, WORKFLOW, postings)
    assert result.stopped is None
    assert {o.status for o in result.outcomes} == {"posted"}
    assert all(o.record_no for o in result.outcomes)
    books = _in_books(sb)
    assert [books.get(p.key, 0) for p in postings] == [1] * 30


def test_random_lost_answers_and_reruns_never_double_post_without_gateway_memory(
    sb: sandbox.Sandbox,
) -> None:
    gateway = sb.intacct
    gateway.forget_control_ids = True
    gateway.faults.reseed(11)
    gateway.faults.drop_after_commit_rate = 0.5
    ia = sb.intacct_client(retry=NO_RETRY, batch_size=5)
    state = SQLiteStateStore(":memory:")
    postings = [_posting(f"rand-{i:02d}") for i in range(40)]
    for _ in range(30):
        result = post(ia, state, WORKFLOW, postings)
        if result.stopped is None:
            break
    gateway.faults.clear()
    final = post(ia, state, WORKFLOW, postings)
    assert {o.status for o in final.outcomes} <= {"posted", "already_posted"}
    books = _in_books(sb)
    assert [books.get(p.key, 0) for p in postings] == [1] * 40


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even ``except Exception``."""


class _KilledAtLedgerCommit(SQLiteStateStore):
    """Dies when the outcome of a sent posting is about to be recorded."""

    def ledger_put(self, entry: LedgerEntry) -> None:
        if entry.status != "pending":
            raise _Killed
        super().ledger_put(entry)


def test_a_kill_between_the_send_and_the_ledger_commit_then_rerun_posts_once(
    sb: sandbox.Sandbox, tmp_path: Path
) -> None:
    sb.intacct.forget_control_ids = True
    ia = sb.intacct_client(batch_size=10)
    path = tmp_path / "state.sqlite3"
    postings = [_posting(f"kill-{i:02d}") for i in range(25)]
    with pytest.raises(_Killed), _KilledAtLedgerCommit(path) as dying:
        post(ia, dying, WORKFLOW, postings)
    with SQLiteStateStore(path) as state:
        assert [e.status for e in state.ledger(WORKFLOW)] == ["pending"] * 10
        again = post(ia, state, WORKFLOW, postings)
        assert {o.status for o in again.outcomes} == {"posted"}
    books = _in_books(sb)
    assert [books.get(p.key, 0) for p in postings] == [1] * 25


def test_a_lost_state_file_with_a_forgetful_gateway_sends_nothing_again(
    sb: sandbox.Sandbox,
) -> None:
    sb.intacct.forget_control_ids = True
    ia = sb.intacct_client()
    postings = [_posting(f"lost-state-{i:02d}") for i in range(12)]
    post(ia, SQLiteStateStore(":memory:"), WORKFLOW, postings)
    writes = sb.intacct.stats.writes_committed
    again = post(ia, SQLiteStateStore(":memory:"), WORKFLOW, postings)
    assert {o.status for o in again.outcomes} == {"posted"}
    assert sb.intacct.stats.writes_committed == writes
    assert set(_in_books(sb)[p.key] for p in postings) == {1}


def test_a_thousand_pending_postings_cost_at_most_five_lookups(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    postings = [_posting(f"bulk-{i:04d}") for i in range(1000)]
    first = SQLiteStateStore(":memory:")
    post(ia, first, WORKFLOW, postings)
    # Another host's state file: every row pending (its answers were lost).
    second = SQLiteStateStore(":memory:")
    for entry in first.ledger(WORKFLOW):
        second.ledger_put(
            LedgerEntry(
                workflow=WORKFLOW,
                source_id=entry.source_id,
                control_id=entry.control_id,
                status="pending",
                detail=entry.detail,
            )
        )
    before = sb.intacct.stats
    result = post(ia, second, WORKFLOW, postings)
    after = sb.intacct.stats
    assert result.count("posted") == 1000
    lookups = after.functions.get("query", 0) - before.functions.get("query", 0)
    assert 1 <= lookups <= 5
    assert after.writes_committed == before.writes_committed


# -- the engine's own rules ------------------------------------------------------------------------


def test_a_key_given_twice_in_one_run_is_skipped_not_posted_twice(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    nfd = unicodedata.normalize("NFD", "dup-é")
    result = post(ia, state, WORKFLOW, [_posting("dup-é"), _posting(nfd)])
    assert [o.status for o in result.outcomes] == ["posted", "skipped"]
    assert _in_books(sb)["dup-é"] == 1


def test_the_ledger_row_is_pending_with_its_control_id_before_the_send(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    posting = _posting("before-send")
    seen: list[LedgerEntry | None] = []
    real_create = ia.create

    def create(*args: Any, **kwargs: Any) -> pd.DataFrame:
        seen.append(state.ledger_get(WORKFLOW, "before-send"))
        return real_create(*args, **kwargs)

    monkeypatch.setattr(ia, "create", create)
    post(ia, state, WORKFLOW, [posting])
    (entry,) = seen
    assert entry is not None and entry.status == "pending"
    assert entry.control_id == create_control_id(posting.record)
    assert entry.detail["content_hash"] == content_hash(posting.record)


def test_incomplete_write_error_outcomes_is_always_a_frame(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(TypeError):
        IncompleteWriteError("x", outcomes=object())
    # No in-run recovery: the stop reaches the workflow, which raises.
    monkeypatch.setattr(engine, "RECOVERY_ROUNDS", 0)
    ia: IntacctClient = sb.intacct_client(retry=NO_RETRY)
    sb.intacct.faults.drop_after_commit_rate = 1.0
    entry: JournalEntry = balanced_entry("frame-1", title="frame")
    with pytest.raises(IncompleteWriteError) as info:
        _post_entries(ia, SQLiteStateStore(":memory:"), "actions", [("frame-1", entry)])
    assert isinstance(info.value.outcomes, pd.DataFrame)
    assert info.value.outcomes["status"].tolist() == ["pending"]
    assert isinstance(info.value.report, journals.PostReport)
    sb.intacct.faults.clear()


def test_a_ledger_from_before_content_hashes_still_vouches_for_its_postings(
    sb: sandbox.Sandbox,
) -> None:
    """State files written by earlier versions hold no hash: their posted rows stay posted."""
    ia = sb.intacct_client()
    state = SQLiteStateStore(":memory:")
    posting = _posting("legacy-1")
    post(ia, state, WORKFLOW, [posting])
    old = state.ledger_get(WORKFLOW, "legacy-1")
    assert old is not None
    state.ledger_put(
        LedgerEntry(
            workflow=WORKFLOW,
            source_id=old.source_id,
            control_id=old.control_id,
            status="posted",
            record_no=old.record_no,
            detail={"amount": "10.00"},
        )
    )
    (again,) = post(ia, state, WORKFLOW, [posting]).outcomes
    assert (again.status, again.record_no) == ("already_posted", old.record_no)
    assert _in_books(sb)["legacy-1"] == 1


def test_the_client_never_resends_a_posting_whose_answer_was_lost_even_with_retries_on(
    sb: sandbox.Sandbox,
) -> None:
    # Reproduced: with the default retry policy the transport resent unanswered batches under
    # uniqueid=true; a gateway that forgets control ids then ran them twice (30 of 100 here).
    gateway = sb.intacct
    gateway.forget_control_ids = True
    gateway.faults.reseed(7)
    gateway.faults.drop_after_commit_rate = 0.3
    ia = sb.intacct_client(retry=RetryPolicy(max_retries=5, initial_delay=0.0), batch_size=10)
    state = SQLiteStateStore(":memory:")
    postings = [_posting(f"retry-{i:03d}") for i in range(100)]
    for _ in range(10):
        if post(ia, state, WORKFLOW, postings).stopped is None:
            break
    gateway.faults.clear()
    final = post(ia, state, WORKFLOW, postings)
    assert {o.status for o in final.outcomes} <= {"posted", "already_posted"}
    books = _in_books(sb)
    assert [books.get(p.key, 0) for p in postings] == [1] * 100

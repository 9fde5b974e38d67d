"""Faults: lost answers, throttling, killed processes, expired tokens and sessions, busy gateway.

Builds on tests/test_intacct_client_sandbox.py (lost answers on one write call, 5 reading
threads, resultId and session expiry between reads) and tests/test_actions_sync.py (crash after
commit, then rerun): here at the scale of a 1,000-action nightly sync, with the process killed
by SIGKILL at random points, tokens expiring in the middle of paged reads and sessions in the
middle of batched writes, and 8 threads writing through one client into a gateway that admits 2.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import threading
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from intacct_sync import HttpRequest, HttpResponse, RetryPolicy, Timeout, actions, sandbox
from intacct_sync._http.governor import Governor
from intacct_sync._http.transport import RequestsTransport
from intacct_sync.errors import IntacctSyncError, TransportError
from intacct_sync.intacct.models import JournalEntry
from intacct_sync.state import SQLiteStateStore
from tests.builders import balanced_entry

COMPANY = sandbox.COMPANIES["nonprofit"]
FAST = RetryPolicy(max_retries=8, initial_delay=0.001, max_delay=0.01)
SOAK = Path(__file__).resolve().parents[1] / "scripts" / "soak_kill.py"


def _soak() -> ModuleType:
    """scripts/soak_kill.py, which holds the kill-and-rerun loop this suite runs briefly."""
    spec = importlib.util.spec_from_file_location("soak_kill", SOAK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _entry(key: str, amount: str = "10.00") -> JournalEntry:
    return balanced_entry(key, amount, title=f"Reliability {key}")


# -- (a) a 1,000-action sync under lost answers and throttling -----------------------------------


class _Counting(RequestsTransport):
    """Counts answers by HTTP status and connections dropped without an answer."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []
        self.dropped = 0
        self._lock = threading.Lock()

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        try:
            response = super().send(request, timeout=timeout)
        except TransportError:
            with self._lock:
                self.dropped += 1
            raise
        with self._lock:
            self.statuses.append(response.status)
        return response


def test_a_thousand_action_sync_posts_each_action_exactly_once_under_faults(
    sb: sandbox.Sandbox,
) -> None:
    soak = _soak()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    names = [f"B-{i:06d}" for i in range(1000)]
    created = [now - dt.timedelta(minutes=1000 - i) for i in range(1000)]
    extra = soak.seed_actions(sb.salesforce, names, created, seed=5)
    assert len(extra) == 1000
    sb.intacct.max_concurrent = 8
    seen = _Counting()
    # Batches of 10: ~120 write requests, so 5% lost answers means several, not none.
    ia = sb.intacct_client(retry=FAST, batch_size=10, transport=seen)
    sf = sb.salesforce_client(retry=FAST, transport=seen)
    state = SQLiteStateStore(":memory:")
    sync = actions.ActionSync(ia, sf, state, on_invalid="skip")
    for faults in (sb.intacct.faults, sb.salesforce.faults):
        faults.reseed(11)
        faults.drop_after_commit_rate = 0.05
        faults.throttle_rate = 0.10
    runs: list[str] = []
    report = None
    for _ in range(12):
        try:
            report = sync.run()
        except IntacctSyncError as exc:
            runs.append(type(exc).__name__)
            continue
        runs.append("ok")
        if report.count("pending") == 0 and report.count("failed") == 0:
            break
    assert report is not None, runs
    stats = sb.intacct.stats
    for faults in (sb.intacct.faults, sb.salesforce.faults):
        faults.clear()
    valid = set(extra) | {
        r["Id"] for r in sb.salesforce.rows("Action__c", "Name < 'A-00190'", fields=["Id", "Name"])
    }
    assert len(valid) == 1189
    per_reference = sb.intacct.journal_entries_by_reference(COMPANY)
    counts = {action_id: per_reference.get(action_id, 0) for action_id in valid}
    assert sorted(set(counts.values())) == [1], {k: v for k, v in counts.items() if v != 1}
    # Nothing else was posted under an action's reference (invalid and excluded ones stay out).
    assert sum(n for ref, n in per_reference.items() if ref.startswith("a03")) == 1189
    assert {e.status for e in state.ledger("actions")} == {"posted"}
    assert len(state.ledger("actions")) == 1189
    # The faults did hit: some write answers were lost (found in the books on rerun), some
    # requests were throttled; the gateway executed each posting function once.
    assert stats.functions.get("create", 0) == 1189
    assert "ok" in runs
    assert seen.dropped >= 3 and seen.statuses.count(429) >= 10, (seen.dropped, runs)
    assert seen.statuses.count(403) >= 1  # Salesforce's REQUEST_LIMIT_EXCEEDED
    # A clean rerun over everything finds every action posted and sends nothing.
    again = sync.run(since=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert again.count("posted") == 0 and again.count("already_posted") == 1189
    assert sb.salesforce.count("Action__c", "Intacct_Posted__c = true") == 1189
    # The watermark stops just before the earliest invalid action (the seeded A-00195..200).
    frame = again.actions
    first_invalid = frame.loc[frame["outcome"] == "invalid", "CreatedDate"].min()
    settled_before = frame.loc[frame["CreatedDate"] < first_invalid, "CreatedDate"]
    assert sync.last_sync_at == settled_before.max().to_pydatetime()
    ia.close()
    sf.close()
    seen.close()


# -- (b) the process killed at random points -------------------------------------------------------


def test_a_sync_killed_at_random_points_then_rerun_posts_everything_once(tmp_path: Path) -> None:
    soak = _soak()
    summary = soak.run_trials(20, actions=30, seed=1, workdir=tmp_path)
    assert summary.failures == []
    assert len(summary.trials) == 20
    # The kills landed at different points: before any posting and part way through it.
    assert summary.killed_mid_posting >= 3, summary.text()
    assert any(t.killed and t.posted_before_kill == 0 for t in summary.trials), summary.text()


# -- (c) Salesforce token expiry in the middle of a paged query ------------------------------------


def test_an_expired_salesforce_token_between_pages_does_not_break_the_read(
    sb: sandbox.Sandbox,
) -> None:
    sb.salesforce.seed_bulk("Account", 700)
    sf = sb.salesforce_client(retry=FAST, batch_size=200)
    query = "SELECT Id, Name FROM Account ORDER BY Id"
    expected = sf.query(query)
    assert len(expected) > 600
    issued_before = sb.salesforce.stats["oauth"]
    pages = sf.iter_query(query)
    first = next(pages)
    assert len(first) == 200
    sb.salesforce.expire_tokens()
    rest = list(pages)
    got = pd.concat([first, *rest], ignore_index=True)
    assert got["Id"].is_unique
    assert got["Id"].tolist() == expected["Id"].tolist()
    # The read went on after one new token, not by restarting the query.
    assert sb.salesforce.stats["oauth"] == issued_before + 1
    sf.close()


# -- (d) Intacct session expiry in the middle of a batched write -----------------------------------


class _ExpireAfterWrites(RequestsTransport):
    """Expires every gateway session after the n-th request carrying a create."""

    def __init__(self, sb: sandbox.Sandbox, after: int) -> None:
        super().__init__()
        self.sb, self.after, self.writes = sb, after, 0

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        response = super().send(request, timeout=timeout)
        if request.body is not None and b"<create>" in request.body:
            self.writes += 1
            if self.writes == self.after:
                self.sb.intacct.expire_sessions()
        return response


def test_session_expiry_between_batches_of_a_write_posts_each_entry_once(
    sb: sandbox.Sandbox,
) -> None:
    transport = _ExpireAfterWrites(sb, after=2)
    ia = sb.intacct_client(retry=FAST, batch_size=5, transport=transport)
    keys = [f"sess-{i:02d}" for i in range(20)]
    outcomes = ia.create("GLBATCH", [_entry(k) for k in keys])
    assert outcomes["status"].tolist() == ["created"] * 20
    per_reference = sb.intacct.journal_entries_by_reference(COMPANY)
    assert [per_reference.get(k, 0) for k in keys] == [1] * 20
    # The third batch was refused for its session, then sent again after a new sign-in.
    assert transport.writes == 5
    transport.close()


def test_session_expiry_mid_sync_with_lost_answers_still_posts_once(sb: sandbox.Sandbox) -> None:
    transport = _ExpireAfterWrites(sb, after=1)
    ia = sb.intacct_client(retry=FAST, batch_size=3, transport=transport)
    sb.intacct.faults.reseed(3)
    sb.intacct.faults.drop_after_commit_rate = 0.5
    keys = [f"sess-drop-{i:02d}" for i in range(12)]
    outcomes = ia.create("GLBATCH", [_entry(k) for k in keys])
    sb.intacct.faults.clear()
    assert outcomes["done"].all()
    assert "already_done" in set(outcomes["status"])
    per_reference = sb.intacct.journal_entries_by_reference(COMPANY)
    assert [per_reference.get(k, 0) for k in keys] == [1] * 12
    transport.close()


# -- (e) the concurrency limit under parallel writes through one client -----------------------------


def test_eight_threads_writing_through_one_client_past_the_concurrency_limit(
    sb: sandbox.Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="intacct_sync.retry")
    gateway = sb.intacct
    gateway.max_concurrent = 2
    gateway.busy_wait = 0.005
    gateway.work_delay = 0.01  # hold each slot a little, so threads collide
    # Without a governor (it would keep the threads within the limit): the gateway's refusal
    # and the client's retry are what is tested here.
    ia = sb.intacct_client(
        retry=RetryPolicy(max_retries=40, initial_delay=0.002, max_delay=0.02),
        batch_size=4,
        governor=Governor("intacct:ungoverned", None),
    )
    ia.read_by_name("GLACCOUNT", ["1000"])  # sign in once before the threads start
    results: dict[int, pd.DataFrame] = {}
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            results[n] = ia.create("GLBATCH", [_entry(f"par-{n}-{i}") for i in range(8)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert all(results[n]["status"].tolist() == ["created"] * 8 for n in range(8))
    per_reference = gateway.journal_entries_by_reference(COMPANY)
    assert [per_reference.get(f"par-{n}-{i}", 0) for n in range(8) for i in range(8)] == [1] * 64
    # The limit was hit and survived by retrying, not avoided.
    busy = [r for r in caplog.records if "too many operations" in r.getMessage().lower()]
    assert busy, "no request was refused as too many operations"
    ia.close()


# -- the limits docs/reliability.md states -------------------------------------------------------


def test_limit_a_transaction_rerun_after_a_lost_answer_reports_posted_rows_as_aborted(
    sb: sandbox.Sandbox,
) -> None:
    ia = sb.intacct_client(retry=RetryPolicy(max_retries=0))
    sb.intacct.faults.drop_after_commit_rate = 1.0
    entries = [_entry("tx-lost-a"), _entry("tx-lost-b")]
    with pytest.raises(IntacctSyncError):
        ia.create("GLBATCH", entries, transaction=True)
    sb.intacct.faults.clear()
    again = ia.create("GLBATCH", entries, transaction=True)
    # Both were committed by the first request; the replay of the first is refused, which
    # fails the transaction, so the second is reported aborted although it is in the books.
    assert again["status"].tolist() == ["already_done", "aborted"]
    per_reference = sb.intacct.journal_entries_by_reference(COMPANY)
    assert (per_reference.get("tx-lost-a"), per_reference.get("tx-lost-b")) == (1, 1)
    # Without transaction=True the same rerun reports both done.
    assert ia.create("GLBATCH", entries)["status"].tolist() == ["already_done", "already_done"]
    ia.close()


def test_limit_a_hard_deleted_entry_is_not_reposted_by_a_rerun(sb: sandbox.Sandbox) -> None:
    ia = sb.intacct_client(retry=FAST)
    state = SQLiteStateStore(":memory:")
    entry = _entry("deleted-then-rerun")
    first = ia.create("GLBATCH", [entry])
    record_no = int(first["RECORDNO"].iloc[0])
    assert ia.delete("GLBATCH", [record_no])["status"].tolist() == ["deleted"]
    # The gateway remembers the control id, so the same key is refused, not posted again;
    # the domain layer then finds no RECORDNO for it.
    from intacct_sync.actions.journals import _post_entries

    report = _post_entries(ia, state, "limits", [("src-1", entry)])
    assert report.outcomes["status"].tolist() == ["posted"]
    assert report.outcomes["RECORDNO"].isna().all()
    assert sb.intacct.journal_entries_by_reference(COMPANY).get("deleted-then-rerun") is None
    ia.close()

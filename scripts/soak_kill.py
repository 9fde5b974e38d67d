"""Soak test: kill the action sync at random points, rerun it, check nothing is lost or doubled.

Each trial seeds a small batch of valid ``Action__c`` rows into the sandbox's Salesforce
emulator, starts a child process that runs :class:`intacct_sync.actions.ActionSync` against the
sandbox with a state store in a *file*, kills the child with ``SIGKILL`` after a random delay,
then reruns the sync to completion in this process with the same state file. It then checks:

- every action of the trial is posted exactly once in Intacct (GLBATCH count per REFERENCENO);
- every ledger row of the trial is ``posted`` with the RECORDNO Intacct holds;
- every action is marked ``Intacct_Posted__c`` in Salesforce with that RECORDNO;
- the watermark equals what a clean, uninterrupted run produces (the latest ``CreatedDate``).

The sandbox is served by this process (loopback threads); children are spawned (never forked)
and one spare child is kept warm so its import time overlaps the previous trial.

Usage (from the repository root)::

    .venv/bin/python scripts/soak_kill.py --trials 200
    .venv/bin/python scripts/soak_kill.py --trials 50 --actions 60 --seed 3

Exit status: 0 when every trial passed, 1 otherwise (failures are printed).

``tests/test_reliability_faults.py`` runs the same loop with 20 trials.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import attrs

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from intacct_sync import RetryPolicy, sandbox  # noqa: E402
from intacct_sync.actions import WATERMARK, ActionSync  # noqa: E402
from intacct_sync.state.sqlite import SQLiteStateStore  # noqa: E402

COMPANY = sandbox.COMPANIES["nonprofit"]
#: tiny delays: the sandbox answers at once, and the kill is what is being tested
FAST = RetryPolicy(max_retries=8, initial_delay=0.001, max_delay=0.01)
#: Each trial has its own state file and a watermark just before its own actions; the sync's
#: overlap window would re-read the previous trials' actions (other state files' work) and move
#: the posting phase the kills aim at, so the soak reads no overlap.
NO_OVERLAP = dt.timedelta(0)


@attrs.frozen(kw_only=True)
class Trial:
    """What one trial did.

    Attributes:
        number: the trial's index.
        delay: seconds between "go" and SIGKILL.
        killed: True when the child was still running when killed.
        posted_before_kill: GLBATCHes of the trial that existed after the kill.
        failures: what went wrong (empty: the trial passed).
    """

    number: int
    delay: float
    killed: bool
    posted_before_kill: int
    failures: tuple[str, ...]


@attrs.frozen(kw_only=True)
class Summary:
    """All trials of a run."""

    trials: tuple[Trial, ...]
    seconds: float

    @property
    def failures(self) -> list[str]:
        """Every failure, prefixed with its trial number."""
        return [f"trial {t.number}: {f}" for t in self.trials for f in t.failures]

    @property
    def killed_mid_posting(self) -> int:
        """Trials killed while some but not all of their entries were posted."""
        return sum(1 for t in self.trials if t.killed and t.posted_before_kill > 0)

    def text(self) -> str:
        """One line of counts."""
        killed = sum(1 for t in self.trials if t.killed)
        return (
            f"{len(self.trials)} trial(s) in {self.seconds:.1f}s: {killed} killed while running "
            f"({self.killed_mid_posting} part way through posting), "
            f"{len(self.failures)} failure(s)"
        )


# -- seeding -------------------------------------------------------------------------------------


def seed_actions(
    api: Any, names: Sequence[str], created: Sequence[dt.datetime], *, seed: int = 0
) -> list[str]:
    """Insert valid ``Action__c`` rows (tags copied from seeded valid actions); return their ids.

    Args:
        api: the sandbox's :class:`~intacct_sync.sandbox.salesforce.api.SalesforceApi`.
        names: the actions' ``Name`` values.
        created: each action's ``CreatedDate`` (timezone-aware).
        seed: seed of the amounts and tag choice.
    """
    from intacct_sync.sandbox.salesforce.schema import OBJECTS
    from intacct_sync.sandbox.salesforce.store import format_datetime

    rng = random.Random(seed)
    valid = api.rows("Action__c", "Name <= 'A-00150'", fields=["Tags__c", "Contact__c"])
    rows = []
    for name, when in zip(names, created, strict=True):
        donor = rng.choice(valid)
        rows.append(
            {
                "Name": name,
                "Action_Type__c": "Donation",
                "Amount__c": rng.randint(500, 500_000) / 100,
                "Happened_At__c": format_datetime(when - dt.timedelta(minutes=30)),
                "Contact__c": donor["Contact__c"],
                "Summary__c": f"Donation {name}",
                "Action_URL__c": f"https://crm.example/actions/{name}",
                "Tags__c": donor["Tags__c"],
                "Status__c": "New",
                "Intacct_Posted__c": False,
                "CreatedDate": format_datetime(when),
            }
        )
    before = {r["Id"] for r in api.rows("Action__c", fields=["Id"])}
    api.store.insert_many(OBJECTS["Action__c"], rows)
    wanted = set(names)
    return [
        r["Id"]
        for r in api.rows("Action__c", fields=["Id", "Name"])
        if r["Id"] not in before and r["Name"] in wanted
    ]


def latest_created(api: Any) -> dt.datetime:
    """The latest ``CreatedDate`` of any ``Action__c`` (UTC)."""
    rows = api.rows("Action__c", fields=["CreatedDate"])
    return max(dt.datetime.strptime(r["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z") for r in rows)


# -- the child -----------------------------------------------------------------------------------


def child_main(stdin: IO[str], stdout: IO[str]) -> int:
    """Wait for a job on stdin (one JSON line), run the sync it names, and exit."""
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient
    from intacct_sync.sandbox.intacct import gateway as gw
    from intacct_sync.sandbox.salesforce import api as sfa

    stdout.write("ready\n")
    stdout.flush()
    line = stdin.readline()
    if not line.strip():
        return 0  # a spare child that was never used
    job = json.loads(line)
    ia = IntacctClient(
        sender_id=gw.SENDER_ID,
        sender_password=gw.SENDER_PASSWORD,
        company_id=COMPANY,
        user_id=gw.USER_ID,
        user_password=gw.USER_PASSWORD,
        endpoint_url=job["intacct_url"],
        retry=FAST,
        batch_size=job["batch_size"],
    )
    sf = SalesforceClient.client_credentials(
        instance_url=job["salesforce_url"],
        client_id=sfa.CLIENT_ID,
        client_secret=sfa.CLIENT_SECRET,
        retry=FAST,
    )
    with SQLiteStateStore(job["state"]) as state:
        ActionSync(ia, sf, state, on_invalid="skip", overlap=NO_OVERLAP).run()
    stdout.write("done\n")
    stdout.flush()
    return 0


def _spawn() -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(  # noqa: S603 - this very script, by absolute path
        [sys.executable, str(Path(__file__).resolve()), "--child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def _ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        raise RuntimeError(f"child did not start (said {line!r}, exit {proc.poll()})")


# -- the trial loop ------------------------------------------------------------------------------


def _posted(sb: sandbox.Sandbox, ids: Sequence[str]) -> dict[str, int]:
    counts = sb.intacct.journal_entries_by_reference(COMPANY)
    return {i: counts.get(i, 0) for i in ids}


def _check(
    sb: sandbox.Sandbox, ids: Sequence[str], state_path: Path, expected_watermark: dt.datetime
) -> list[str]:
    failures: list[str] = []
    counts = _posted(sb, ids)
    doubled = sorted(i for i, n in counts.items() if n > 1)
    missing = sorted(i for i, n in counts.items() if n == 0)
    if doubled:
        failures.append(f"posted more than once: {doubled}")
    if missing:
        failures.append(f"never posted: {missing}")
    batches = {r["REFERENCENO"]: r["RECORDNO"] for r in sb.intacct.records(COMPANY, "GLBATCH")}
    with SQLiteStateStore(state_path) as state:
        ledger = {e.source_id: e for e in state.ledger("actions")}
        watermark = state.get_watermark(WATERMARK)
    for action_id in ids:
        entry = ledger.get(action_id)
        if entry is None or entry.status != "posted":
            failures.append(f"ledger of {action_id}: {entry}")
        elif entry.record_no != batches.get(action_id):
            failures.append(
                f"ledger RECORDNO of {action_id}: {entry.record_no} != {batches.get(action_id)}"
            )
    marked = {
        r["Id"]: r
        for r in sb.salesforce.rows(
            "Action__c",
            "Intacct_Posted__c = true",
            fields=["Id", "Intacct_Record_No__c", "Status__c"],
        )
    }
    for action_id in ids:
        row = marked.get(action_id)
        if row is None:
            failures.append(f"{action_id} not marked posted in Salesforce")
        elif row["Intacct_Record_No__c"] != batches.get(action_id):
            failures.append(f"{action_id} marked with RECORDNO {row['Intacct_Record_No__c']}")
    if watermark != expected_watermark:
        failures.append(f"watermark {watermark} != clean-run watermark {expected_watermark}")
    return failures


def run_trials(
    trials: int,
    *,
    actions: int = 30,
    seed: int = 0,
    batch_size: int = 5,
    latency: float = 0.002,
    workdir: Path | None = None,
    progress: IO[str] | None = None,
) -> Summary:
    """Run ``trials`` kill-and-rerun trials against one sandbox.

    Args:
        trials: how many trials.
        actions: actions seeded per trial.
        seed: seed of the kill delays and the data.
        batch_size: Intacct functions per request in the child (small: more points to die at).
        latency: seconds the emulators add to each answer (widens the window to die in).
        workdir: where the state files go (default: a temporary directory).
        progress: where to write one line per trial (None: quiet).

    Returns:
        A :class:`Summary`; ``summary.failures`` is empty when every trial passed.
    """
    rng = random.Random(seed)
    started = time.perf_counter()
    done: list[Trial] = []
    with tempfile.TemporaryDirectory() as tmp, sandbox.running() as sb:
        base = Path(workdir or tmp)
        sb.intacct.faults.latency = sb.salesforce.faults.latency = latency
        for server in sb._servers:
            # A killed child resets its connections: that is the point, not an error to print.
            server._server.handle_error = lambda request, address: None  # type: ignore[method-assign,assignment]
        spare = _spawn()
        # The first child runs to the end unkilled: its time from "go" to "done" is the window
        # kills are drawn from, and when its first and last entries appeared is the posting
        # phase, which every other trial aims at (it is where a kill can split a batch).
        window: float | None = None
        posting = (0.0, 0.0)
        try:
            for number in range(trials):
                child, spare = spare, _spawn()
                _ready(child)
                start = latest_created(sb.salesforce) + dt.timedelta(seconds=1)
                created = [start + dt.timedelta(seconds=i) for i in range(actions)]
                names = [f"K{number:04d}-{i:03d}" for i in range(actions)]
                ids = seed_actions(sb.salesforce, names, created, seed=seed * 100_003 + number)
                state_path = base / f"state-{number}.sqlite3"
                with SQLiteStateStore(state_path) as state:
                    # Runs start from just before this trial's actions, as a clean run would.
                    state.set_watermark(WATERMARK, start - dt.timedelta(seconds=1))
                job = {
                    "intacct_url": sb.intacct_url,
                    "salesforce_url": sb.salesforce_url,
                    "state": str(state_path),
                    "batch_size": batch_size,
                }
                assert child.stdin is not None
                assert child.stdout is not None
                child.stdin.write(json.dumps(job) + "\n")
                child.stdin.flush()
                went = time.perf_counter()
                if window is None:
                    first = last = 0.0
                    while child.poll() is None:
                        posted = sum(1 for n in _posted(sb, ids).values() if n)
                        now = time.perf_counter() - went
                        if posted and not first:
                            first = now
                        if posted < len(ids):
                            last = now
                        time.sleep(0.005)
                    window = time.perf_counter() - went
                    posting = (first, max(first, last))
                    delay = window
                elif number % 2:
                    delay = rng.uniform(*posting)
                    time.sleep(delay)
                else:
                    delay = rng.uniform(0.0, window * 1.1)
                    time.sleep(delay)
                killed = child.poll() is None
                if killed:
                    child.send_signal(signal.SIGKILL)
                child.wait(timeout=30)
                child.stdin.close()
                child.stdout.close()
                before = sum(1 for n in _posted(sb, ids).values() if n)
                ia = sb.intacct_client(retry=FAST)
                sf = sb.salesforce_client(retry=FAST)
                try:
                    with SQLiteStateStore(state_path) as state:
                        ActionSync(ia, sf, state, on_invalid="skip", overlap=NO_OVERLAP).run()
                finally:
                    ia.close()
                    sf.close()
                failures = _check(sb, ids, state_path, created[-1])
                trial = Trial(
                    number=number,
                    delay=delay,
                    killed=killed,
                    posted_before_kill=before,
                    failures=tuple(failures),
                )
                done.append(trial)
                if progress is not None:
                    status = "ok" if not failures else "FAILED: " + "; ".join(failures)
                    progress.write(
                        f"trial {number:4d}: kill after {delay:.3f}s, "
                        f"{'killed' if killed else 'finished'} with {before}/{actions} posted; "
                        f"{status}\n"
                    )
                    progress.flush()
        finally:
            if spare.poll() is None:
                spare.kill()
            spare.wait(timeout=30)
            for stream in (spare.stdin, spare.stdout):
                if stream is not None:
                    stream.close()
    return Summary(trials=tuple(done), seconds=time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak; 0 when every trial passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--actions", type=int, default=30, help="actions per trial")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(sys.stdin, sys.stdout)
    summary = run_trials(
        args.trials,
        actions=args.actions,
        seed=args.seed,
        batch_size=args.batch_size,
        progress=sys.stdout,
    )
    print(summary.text())
    for failure in summary.failures:
        print(failure)
    return 1 if summary.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

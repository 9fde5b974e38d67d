"""Exactly once under faults: a forgetful gateway, lost answers, throttling, two processes, kills.

Three soaks against one in-process sandbox whose gateway forgets every control id
(``forget_control_ids``), loses 5% of answers after committing and throttles 10% of requests:

* actions: a sync of N CRM actions (10,000; 1,000 with ``--quick``);
* KPI: 2,000 KPI days (300) posted as statistical entries from the books;
* sales orders: 1,000 orders (200) through the posting engine.

Each round starts two child processes on one state file at once (the run lease lets one through;
the other waits or refuses) and kills one or both with SIGKILL after a random delay, 20 kills per
soak in all (6 with ``--quick``); rounds go on until a child finishes a whole run. A last run in
this process, with the faults off, finishes anything still pending. The figures: how many
records are in the books more than once (the goal: none) or not at all (none), and how many
requests the books lookup costs per 1,000 pending records (goal: at most 5).

Children run this module (``python -m benchmarks.exactly_once --child``); the kill and seeding
helpers are those of ``scripts/soak_kill.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pandas as pd

from intacct_sync import sandbox
from intacct_sync.intacct.models import SalesOrder, SalesOrderLine
from intacct_sync.posting import Posting
from intacct_sync.state import LedgerEntry, SQLiteStateStore
from scripts.soak_kill import FAST, seed_actions

ROOT = Path(__file__).resolve().parents[1]
NP = sandbox.COMPANIES["nonprofit"]
ITS = sandbox.COMPANIES["itservices"]
ORDERS_WORKFLOW = "orders-bench"
KPI_ACCOUNT = "9000"
KPI_START = dt.date(2020, 1, 1)
# Child exit codes.
DONE, REFUSED, STOPPED = 0, 3, 4


# -- the child ---------------------------------------------------------------------------------


def _kpi_totals(days: int) -> pd.DataFrame:
    rng = random.Random(17)
    value, rows = 1000, []  # a random walk of a donor count
    for i in range(days):
        value = max(0, value + rng.randint(-5, 6))
        rows.append(
            {"date": KPI_START + dt.timedelta(days=i), "kpi": "donors", "value": Decimal(value)}
        )
    return pd.DataFrame(rows)


def _orders(ia: Any, n: int) -> list[Posting]:
    active = ia.read_by_query("CUSTOMER", query="STATUS = 'T'", fields=["CUSTOMERID"])
    customers = sorted(str(c) for c in active["CUSTOMERID"])
    items = sorted(str(i) for i in ia.read_by_query("ITEM", fields=["ITEMID"])["ITEMID"])
    postings = []
    for i in range(n):
        key = f"BENCH-SO-{i:05d}"
        order = SalesOrder(
            key=key,
            customer_id=customers[i % len(customers)],
            date=dt.date(2026, 11, 1),
            reference_no=key,
            lines=[
                SalesOrderLine(
                    item_id=items[i % len(items)],
                    quantity=Decimal(1 + i % 3),
                    price=Decimal(100 + i % 50),
                )
            ],
        )
        postings.append(Posting(key=key, record=order, reference=key))
    return postings


def child_main() -> int:
    """Run the job named on stdin (one JSON line) once; the exit code says how it ended."""
    from intacct_sync import kpi, posting
    from intacct_sync.actions import ActionSync
    from intacct_sync.errors import IntacctSyncError, LeaseHeldError
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient
    from intacct_sync.sandbox.intacct import gateway as gw
    from intacct_sync.sandbox.salesforce import api as sfa

    print("ready", flush=True)
    line = sys.stdin.readline()
    if not line.strip():
        return DONE
    job = json.loads(line)
    ia = IntacctClient(
        sender_id=gw.SENDER_ID,
        sender_password=gw.SENDER_PASSWORD,
        company_id=job["company"],
        user_id=gw.USER_ID,
        user_password=gw.USER_PASSWORD,
        endpoint_url=job["intacct_url"],
        retry=FAST,
        batch_size=job["batch_size"],
    )
    try:
        with SQLiteStateStore(job["state"]) as state:
            if job["kind"] == "actions":
                sf = SalesforceClient.client_credentials(
                    instance_url=job["salesforce_url"],
                    client_id=sfa.CLIENT_ID,
                    client_secret=sfa.CLIENT_SECRET,
                    retry=FAST,
                )
                ActionSync(ia, sf, state, on_invalid="skip").run()
            elif job["kind"] == "kpi":
                chg = kpi.changes(_kpi_totals(job["n"]))
                kpi.post_changes(ia, chg, state=state, accounts={"donors": KPI_ACCOUNT})
            else:
                result = posting.post(ia, state, ORDERS_WORKFLOW, _orders(ia, job["n"]))
                if result.stopped is not None:
                    return STOPPED
    except LeaseHeldError:
        return REFUSED
    except IntacctSyncError:
        return STOPPED
    return DONE


def _spawn(errors: IO[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.exactly_once", "--child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"benchmark child did not start (exit {proc.wait()})")
    return proc


# -- the soak ----------------------------------------------------------------------------------


def _soak(
    job: dict[str, Any], *, kills: int, max_delay: float, rng: random.Random, base: Path
) -> str:
    """Rounds of two concurrent children, killed at random, until one finishes a run."""
    killed = rounds = 0
    codes: Counter[int] = Counter()
    started = time.perf_counter()
    log = base / f"{job['kind']}-children.log"
    window = max_delay
    with log.open("w") as errors:
        while rounds < 500:
            rounds += 1
            procs = [_spawn(errors), _spawn(errors)]
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(job) + "\n")
                proc.stdin.flush()
            went = time.perf_counter()
            hit = False
            if killed < kills:
                # Aim within the last unkilled round's length: a kill after the end hits nothing.
                time.sleep(rng.uniform(0.05, window))
                victims = procs if rng.random() < 0.25 else [rng.choice(procs)]
                for proc in victims:
                    if proc.poll() is None and killed < kills:
                        proc.send_signal(signal.SIGKILL)
                        killed += 1
                        hit = True
            ended = []
            for proc in procs:
                ended.append(proc.wait(timeout=3600))
                for stream in (proc.stdin, proc.stdout):
                    if stream is not None:
                        stream.close()
            codes.update(ended)
            if not hit:
                window = max(0.1, time.perf_counter() - went)
            if killed >= kills and DONE in ended:
                break
    crashed = sum(n for code, n in codes.items() if code not in (DONE, REFUSED, STOPPED, -9))
    last = log.read_text().strip().splitlines()[-1:] if crashed else []
    return (
        f"{rounds} round(s) of 2 processes in {time.perf_counter() - started:.0f}s: {killed} "
        f"killed, {codes[REFUSED]} refused by the run lease, {codes[STOPPED]} stopped part way, "
        f"{codes[DONE]} finished"
        + (f", {crashed} crashed (last: {last[0] if last else '?'})" if crashed else "")
    )


def _faulty(sb: sandbox.Sandbox, seed: int) -> None:
    gateway = sb.intacct
    gateway.forget_control_ids = True
    gateway.faults.reseed(seed)
    gateway.faults.drop_after_commit_rate = 0.05
    gateway.faults.throttle_rate = 0.10


def _calm(sb: sandbox.Sandbox) -> None:
    sb.intacct.faults.drop_after_commit_rate = sb.intacct.faults.throttle_rate = 0.0


def _quiet(sb: sandbox.Sandbox) -> None:
    for server in sb._servers:
        # A killed child resets its connections: that is the point, not an error to print.
        server._server.handle_error = lambda request, address: None  # type: ignore[method-assign,assignment]


def _verdict(counts: dict[str, int], wanted: Sequence[str]) -> str:
    doubled = sum(1 for k in wanted if counts.get(k, 0) > 1)
    missing = sum(1 for k in wanted if counts.get(k, 0) == 0)
    once = sum(1 for k in wanted if counts.get(k, 0) == 1)
    return f"{once:,} of {len(wanted):,} in the books exactly once, {doubled} twice or more, {missing} missing"


def _actions(n: int, kills: int, rng: random.Random, base: Path) -> None:
    from intacct_sync.actions import ActionSync

    with sandbox.running() as sb:
        _quiet(sb)
        now = dt.datetime.now(dt.UTC)
        created = [now - dt.timedelta(seconds=n + 60 - i) for i in range(n)]
        ids = seed_actions(sb.salesforce, [f"X-{i:06d}" for i in range(n)], created, seed=1)
        _faulty(sb, 1)
        state = base / "actions.sqlite3"
        job = {
            "kind": "actions",
            "company": NP,
            "intacct_url": sb.intacct_url,
            "salesforce_url": sb.salesforce_url,
            "state": str(state),
            "batch_size": 100,
        }
        print(f"- actions, {n:,}: " + _soak(job, kills=kills, max_delay=8.0, rng=rng, base=base))
        before = _verdict(sb.intacct.journal_entries_by_reference(NP), ids)
        _calm(sb)
        with (
            SQLiteStateStore(state) as store,
            sb.intacct_client() as ia,
            sb.salesforce_client() as sf,
        ):
            last = ActionSync(ia, sf, store, on_invalid="skip").run()
        after = _verdict(sb.intacct.journal_entries_by_reference(NP), ids)
        print(
            f"  after the soak: {before}; a last calm run posted {last.count('posted')} more: "
            f"{after}"
        )


def _kpi_books(sb: sandbox.Sandbox) -> tuple[dict[str, int], dict[dt.date, Decimal]]:
    heads = {
        b["RECORDNO"]: b
        for b in sb.intacct.records(NP, "GLBATCH")
        if str(b["REFERENCENO"] or "").startswith("kpi|")
    }
    copies: dict[str, int] = {}
    for b in heads.values():
        copies[str(b["REFERENCENO"])] = copies.get(str(b["REFERENCENO"]), 0) + 1
    by_day: dict[dt.date, Decimal] = {}
    for line in sb.intacct.records(NP, "GLENTRY"):
        head = heads.get(line["BATCHNO"])
        if head is None or line["ACCOUNTNO"] != KPI_ACCOUNT:
            continue
        day = dt.datetime.strptime(str(head["BATCH_DATE"]), "%m/%d/%Y").date()
        signed = Decimal(str(line["TRX_AMOUNT"])) * int(line["TR_TYPE"])
        by_day[day] = by_day.get(day, Decimal(0)) + signed
    return copies, by_day


def _kpi_check(sb: sandbox.Sandbox, days: int) -> str:
    copies, by_day = _kpi_books(sb)
    totals = _kpi_totals(days)
    held, wrong = Decimal(0), 0
    for day, value in zip(totals["date"], totals["value"], strict=True):
        held += by_day.get(day, Decimal(0))
        wrong += held != value
    doubled = sum(1 for n in copies.values() if n > 1)
    return (
        f"{len(copies):,} entries, {doubled} reference(s) twice or more; the books hold the "
        f"KPI's value on {days - wrong:,} of {days:,} days"
    )


def _kpi(days: int, kills: int, rng: random.Random, base: Path) -> None:
    from intacct_sync import kpi

    with sandbox.running() as sb:
        _quiet(sb)
        _faulty(sb, 2)
        state = base / "kpi.sqlite3"
        job = {
            "kind": "kpi",
            "company": NP,
            "intacct_url": sb.intacct_url,
            "state": str(state),
            "batch_size": 50,
            "n": days,
        }
        print(
            f"- KPI, {days:,} days: " + _soak(job, kills=kills, max_delay=4.0, rng=rng, base=base)
        )
        before = _kpi_check(sb, days)
        _calm(sb)
        with SQLiteStateStore(state) as store, sb.intacct_client() as ia:
            last = kpi.post_changes(
                ia, kpi.changes(_kpi_totals(days)), state=store, accounts={"donors": KPI_ACCOUNT}
            )
        print(
            f"  after the soak: {before}; a last calm run posted {last.new_entries} more: "
            f"{_kpi_check(sb, days)}"
        )


def _order_counts(sb: sandbox.Sandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in sb.intacct.records(ITS, "SODOCUMENT"):
        ref = str(row["REFERENCENO"] or "")
        counts[ref] = counts.get(ref, 0) + 1
    return counts


def _sales_orders(n: int, kills: int, rng: random.Random, base: Path) -> None:
    from intacct_sync import posting

    with sandbox.running() as sb:
        _quiet(sb)
        _faulty(sb, 3)
        state = base / "orders.sqlite3"
        job = {
            "kind": "orders",
            "company": ITS,
            "intacct_url": sb.intacct_url,
            "state": str(state),
            "batch_size": 50,
            "n": n,
        }
        print(
            f"- sales orders, {n:,}: " + _soak(job, kills=kills, max_delay=4.0, rng=rng, base=base)
        )
        wanted = [f"BENCH-SO-{i:05d}" for i in range(n)]
        before = _verdict(_order_counts(sb), wanted)
        _calm(sb)
        with SQLiteStateStore(state) as store, sb.intacct_client("itservices") as ia:
            last = posting.post(ia, store, ORDERS_WORKFLOW, _orders(ia, n))
        print(
            f"  after the soak: {before}; a last calm run posted {last.count('posted')} more "
            f"(found in the books or sent): {_verdict(_order_counts(sb), wanted)}"
        )


def _lookups(sb: sandbox.Sandbox, ia: Any, postings: list[Posting], workflow: str) -> float:
    from intacct_sync import posting

    first = SQLiteStateStore(":memory:")
    posting.post(ia, first, workflow, postings)
    second = SQLiteStateStore(":memory:")  # another host's ledger: every row pending
    for entry in first.ledger(workflow):
        second.ledger_put(
            LedgerEntry(
                workflow=workflow,
                source_id=entry.source_id,
                control_id=entry.control_id,
                status="pending",
                detail=entry.detail,
            )
        )
    before = sb.intacct.stats
    posting.post(ia, second, workflow, postings)
    after = sb.intacct.stats
    # Every lookup is a query function in a request of its own; nothing is written again.
    assert after.writes_committed == before.writes_committed
    queries = after.functions.get("query", 0) - before.functions.get("query", 0)
    return queries * 1000 / len(postings)


def _reconciliation() -> None:
    from tests.builders import balanced_entry

    with sandbox.running() as sb:
        with sb.intacct_client() as ia:
            entries = [
                Posting(
                    key=f"R-{i:05d}",
                    record=balanced_entry(f"R-{i:05d}", title="r"),
                    reference=f"R-{i:05d}",
                )
                for i in range(1000)
            ]
            per_entries = _lookups(sb, ia, entries, "recon-entries")
        with sb.intacct_client("itservices") as ia:
            per_orders = _lookups(sb, ia, _orders(ia, 1000), "recon-orders")
    print(
        f"- reconciliation of 1,000 pending records (another host's ledger, all in the books): "
        f"{per_entries:.0f} request(s) for journal entries, {per_orders:.0f} for sales orders "
        "(goal: at most 5)"
    )


def run(*, quick: bool = False, peers: bool = False) -> None:
    rng = random.Random(12)
    kills = 6 if quick else 20
    steps: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        steps = [
            lambda: _actions(1_000 if quick else 10_000, kills, rng, base),
            lambda: _kpi(300 if quick else 2_000, kills, rng, base),
            lambda: _sales_orders(200 if quick else 1_000, kills, rng, base),
            _reconciliation,
        ]
        for step in steps:
            step()
            sys.stdout.flush()


if __name__ == "__main__":
    if "--child" in sys.argv:
        raise SystemExit(child_main())
    run(quick="--quick" in sys.argv)

"""Fleet: 200 companies synced nightly by 8 worker processes sharing one state store, governor on.

Each company has three nightly jobs (three posting workflows, so two or three workers can hold
jobs of one company at once); each job opens a fresh client, as a short-lived orchestrator
worker does, and posts its journal entries through the posting engine under the run lease.
Every client shares its company's governor through the state store (lock files beside a SQLite
file, or advisory locks in PostgreSQL when ``INTACCT_SYNC_TEST_POSTGRES_DSN`` is set).

The gateway emulator (this process, loopback threads) allows 2 requests in flight per company
(reference §13.7), holds each request ``work_delay`` seconds and drops 2% of write answers after
committing them; the gateway itself counts the requests in flight per company. A second night
settles what the first left pending (by looking in the books) and must send nothing new.

Figures: total time per night, peak requests in flight per company (must never exceed 2),
gateway refusals, governor waiting time, and postings per reference in the books (exactly 1).
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing as mp
import os
import queue
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

LIMIT = 2
WORKFLOWS = ("actions", "journal_import", "kpi")
WORKERS = 8


def _companies(n: int) -> list[str]:
    return [f"FLEET-{k:03d}" for k in range(n)]


def _store(where: str, company: str, schema: str) -> Any:
    from intacct_sync.state import PostgresStateStore, SQLiteStateStore

    if where.startswith("postgresql://"):
        return PostgresStateStore(where, tenant=company, schema=schema)
    return SQLiteStateStore(where, tenant=company)


def _job(url: str, where: str, schema: str, company: str, workflow: str, entries: int) -> Any:
    from intacct_sync import IntacctClient
    from intacct_sync._http.retry import RetryPolicy
    from intacct_sync.intacct.models import JournalEntry, JournalLine
    from intacct_sync.posting import Posting, post
    from intacct_sync.sandbox.intacct import gateway as gw
    from intacct_sync.state import shared_governor

    state = _store(where, company, schema)
    governor = shared_governor(state, "intacct", company)
    before = governor.stats().wait_seconds
    ia = IntacctClient(
        sender_id=gw.SENDER_ID,
        sender_password=gw.SENDER_PASSWORD,
        company_id=company,
        user_id=gw.USER_ID,
        user_password=gw.USER_PASSWORD,
        endpoint_url=url,
        retry=RetryPolicy(max_retries=8, initial_delay=0.01, max_delay=0.1),
        batch_size=5,
        governor=governor,
    )
    postings = []
    for i in range(entries):
        key = f"{company}-{workflow}-{i:03d}"
        amount = Decimal(10 + i) + Decimal("0.25")
        entry = JournalEntry(
            key=key,
            journal="GJ",
            batch_date=dt.date(2026, 11, 30),
            title=f"Nightly {workflow} {i}",
            reference_no=key,
            lines=[
                JournalLine(account_no="1000", amount=amount, tr_type=1),
                JournalLine(account_no="4000", amount=amount, tr_type=-1),
            ],
        )
        postings.append(Posting(key=key, record=entry, reference=key))
    try:
        result = post(ia, state, workflow, postings)
        statuses = collections.Counter(o.status for o in result.outcomes)
    finally:
        ia.close()
        state.close()
    return dict(statuses), governor.stats().wait_seconds - before


def _worker(jobs: Any, results: Any, url: str, where: str, schema: str, entries: int) -> None:
    while True:
        try:
            company, workflow = jobs.get(timeout=1)
        except queue.Empty:
            return
        try:
            statuses, waited = _job(url, where, schema, company, workflow, entries)
            results.put((company, workflow, statuses, waited, ""))
        except Exception as exc:  # reported, never hidden
            results.put((company, workflow, {}, 0.0, f"{type(exc).__name__}: {exc}"))


def _setup(sb: Any, companies: list[str]) -> None:
    from intacct_sync.sandbox.intacct import gateway as gw
    from intacct_sync.sandbox.intacct.schema import OBJECTS
    from intacct_sync.sandbox.intacct.seed import NONPROFIT
    from intacct_sync.sandbox.intacct.store import row_dict

    # The emulator knows two seeded companies; the fleet's are registered beside them with the
    # nonprofit's chart of accounts and journals (a benchmark-only shortcut into the emulator).
    store = sb.intacct.store
    with store.lock:
        store.begin()
        for name in ("GLACCOUNT", "GLJOURNAL"):
            obj = OBJECTS[name]
            rows = [row_dict(obj, r) for r in store.rows(NONPROFIT, obj)]
            for row in rows:
                row.pop("RECORDNO", None)
            for company in companies:
                store.insert_many(company, obj, rows)
        store.commit()
    for company in companies:
        gw._COMPANY_IDS[company.upper()] = company


class _Peak:
    def __init__(self, gateway: Any) -> None:
        self.peak: collections.Counter[str] = collections.Counter()
        self.refused = 0
        self.dropped = 0  # write answers lost after the commit: what exactly-once must survive
        original = gateway._acquire
        handle = gateway.handle

        def counted(exchange: Any) -> Any:
            reply = handle(exchange)
            if reply.drop:
                with gateway._slots:
                    self.dropped += 1
            return reply

        gateway.handle = counted

        def acquire(company: str) -> bool:
            admitted = original(company)
            with gateway._slots:
                if admitted:
                    self.peak[company] = max(self.peak[company], gateway._in_flight[company])
                else:
                    self.refused += 1
            return bool(admitted)

        gateway._acquire = acquire


def _night(
    url: str, where: str, schema: str, companies: list[str], entries: int
) -> tuple[float, list[Any]]:
    ctx = mp.get_context("spawn")
    jobs = ctx.Queue()
    results = ctx.Queue()
    for company in companies:  # a company's three jobs side by side: they overlap in time
        for workflow in WORKFLOWS:
            jobs.put((company, workflow))
    start = time.perf_counter()
    procs = [
        ctx.Process(target=_worker, args=(jobs, results, url, where, schema, entries))
        for _ in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    out = [results.get(timeout=600) for _ in range(len(companies) * len(WORKFLOWS))]
    for proc in procs:
        proc.join(timeout=60)
    return time.perf_counter() - start, out


def run(*, quick: bool = False, peers: bool = False) -> None:
    from intacct_sync import sandbox

    n_companies, entries = (40, 4) if quick else (200, 6)
    companies = _companies(n_companies)
    dsn = os.environ.get("INTACCT_SYNC_TEST_POSTGRES_DSN")
    schema = f"fleet_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp, sandbox.running() as sb:
        where = dsn or str(Path(tmp) / "fleet.sqlite3")
        _setup(sb, companies)
        gateway = sb.intacct
        gateway.max_concurrent = LIMIT
        gateway.busy_wait = 0.05
        gateway.work_delay = 0.01
        gateway.forget_control_ids = True  # exactly once must rest on the ledger and the books
        gateway.faults.reseed(17)
        gateway.faults.drop_after_commit_rate = 0.02
        peak = _Peak(gateway)
        _store(where, companies[0], schema).close()  # migrate once before the workers start
        print(
            f"{n_companies} companies x {len(WORKFLOWS)} jobs x {entries} entries, "
            f"{WORKERS} worker processes, limit {LIMIT} per company, state: "
            f"{'PostgreSQL' if dsn else 'SQLite file'}; 2% of write answers lost"
        )
        for night in (1, 2):
            dropped = peak.dropped
            seconds, out = _night(sb.intacct_url, where, schema, companies, entries)
            statuses: collections.Counter[str] = collections.Counter()
            for _, _, counted, _, _ in out:
                statuses.update(counted)
            errors = [f"{c}/{w}: {e}" for c, w, _, _, e in out if e]
            waited = sum(w for _, _, _, w, _ in out)
            print(
                f"  night {night}: {seconds:6.1f} s; statuses {dict(sorted(statuses.items()))}; "
                f"governor wait {waited:.1f} s in total; job errors {len(errors)}; write "
                f"answers lost after commit {peak.dropped - dropped}"
            )
            for line in errors[:5]:
                print(f"    {line}")
            gateway.faults.drop_after_commit_rate = 0.0  # the second night runs clean
        per_company = [peak.peak[c] for c in companies]
        copies: collections.Counter[int] = collections.Counter()
        for company in companies:
            per_reference = gateway.journal_entries_by_reference(company)
            for workflow in WORKFLOWS:
                for i in range(entries):
                    copies[per_reference.get(f"{company}-{workflow}-{i:03d}", 0)] += 1
        expected = n_companies * len(WORKFLOWS) * entries
        print(
            f"  peak requests in flight per company: max {max(per_company)}, "
            f"companies at the limit {sum(1 for p in per_company if p == LIMIT)}/{n_companies} "
            f"(limit {LIMIT}: {'never exceeded' if max(per_company) <= LIMIT else 'EXCEEDED'}); "
            f"gateway refusals {peak.refused}"
        )
        print(
            f"  postings in the books: {copies.get(1, 0)}/{expected} exactly once, "
            f"{sum(v for k, v in copies.items() if k > 1)} doubled, {copies.get(0, 0)} missing"
        )
        if dsn:
            import psycopg

            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

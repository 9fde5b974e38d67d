"""Order to cash: plan and apply a masters sync of many accounts and products, then a no-change rerun.

The emulators run in this process (threads) with a fixed latency per answer, so wall times include
the emulators' own work; request counts are the client's alone.
"""

from __future__ import annotations

from benchmarks._support import CountingTransport, timed
from intacct_sync import sandbox, sync
from intacct_sync.sandbox.intacct.schema import OBJECTS
from intacct_sync.state import SQLiteStateStore

CO = sandbox.COMPANIES["itservices"]


def _seed(sb: sandbox.Sandbox, accounts: int, products: int) -> None:
    sb.salesforce.seed_bulk("Account", accounts)
    ids = sb.salesforce.insert(
        "Product2",
        [
            {"Name": f"Bulk Product {k:05d}", "ProductCode": f"BP-{k:05d}", "IsActive": True}
            for k in range(products)
        ],
    )
    book = sb.salesforce.rows("Pricebook2", "IsStandard = true")[0]["Id"]
    sb.salesforce.insert(
        "PricebookEntry",
        [
            {
                "Pricebook2Id": book,
                "Product2Id": pid,
                "UnitPrice": float(100 + k % 50),
                "IsActive": True,
            }
            for k, pid in enumerate(ids)
        ],
    )
    # Intacct-only customers (a tenth), inserted straight into the gateway's store.
    store = sb.intacct.store
    with store.lock:
        store.begin()
        store.insert_many(
            CO,
            OBJECTS["CUSTOMER"],
            [
                {
                    "CUSTOMERID": f"BULK{k:06d}",
                    "NAME": f"Intacct Bulk Customer {k:06d}",
                    "STATUS": "active",
                }
                for k in range(accounts // 10)
            ],
        )
        store.commit()


def run(*, quick: bool = False, peers: bool = False) -> None:
    accounts, products = (2_000, 200) if quick else (50_000, 5_000)
    latency = 0.02
    with sandbox.running() as sb:
        _seed(sb, accounts, products)
        sb.intacct.faults.latency = latency
        sb.salesforce.faults.latency = latency
        t_sf, t_ia = CountingTransport(), CountingTransport()
        state = SQLiteStateStore(":memory:")
        with (
            sb.salesforce_client(transport=t_sf) as sf,
            sb.intacct_client("itservices", transport=t_ia) as ia,
        ):
            seconds, plan = timed(lambda: sync.plan_masters(sf, ia, state))
            print(
                f"- {accounts:,} accounts + {products:,} products (+ {accounts // 10:,} Intacct-only "
                f"customers), {latency * 1000:.0f} ms latency"
            )
            print(
                f"- plan: {seconds:.1f} s, {len(plan.writes):,} writes planned; requests so far: "
                f"Salesforce {t_sf.requests:,}, Intacct {t_ia.requests:,}"
            )
            r_sf, r_ia = t_sf.requests, t_ia.requests
            seconds, result = timed(lambda: sync.apply_masters(plan, sf, ia, state))
            print(
                f"- apply: {seconds:.1f} s, {len(result.rows):,} records written "
                f"({sum(not r['done'] for r in result.rows)} not done); requests: Salesforce "
                f"{t_sf.requests - r_sf:,}, Intacct {t_ia.requests - r_ia:,}"
            )
            r_sf, r_ia = t_sf.requests, t_ia.requests
            seconds, again = timed(lambda: sync.plan_masters(sf, ia, state))
            print(
                f"- first rerun plan (reads back the records just written): {seconds:.1f} s, "
                f"{len(again.writes)} writes"
            )
            sync.apply_masters(again, sf, ia, state)
            r_sf, r_ia = t_sf.requests, t_ia.requests
            seconds, idle = timed(lambda: sync.plan_masters(sf, ia, state))
            print(
                f"- no-change rerun plan ({idle.mode}): {seconds:.2f} s, {len(idle.writes)} writes; "
                f"requests: Salesforce {t_sf.requests - r_sf}, Intacct {t_ia.requests - r_ia}"
            )

"""Order-to-cash reconciliation: what a finance person should look at, with the next step.

:func:`reconcile` reads both systems (nothing is written) and reports, one row per finding:

* ``only in Salesforce`` / ``only in Intacct``: an active customer or product with no
  counterpart (not in the id map, no matching external id);
* ``differs``: a linked pair whose mapped fields disagree, or whose status does (one inactive);
* ``won without sales order``: a Closed Won opportunity with no Intacct document;
* ``document missing in Intacct``: an opportunity naming a document Intacct does not have;
* ``invoice not in CRM`` / ``invoice differs in CRM``: an AR invoice with no (or a stale)
  ``Intacct_Invoice__c``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from intacct_sync import frames
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import ARInvoice
from intacct_sync.o2c import masters as m
from intacct_sync.reports import Report
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import StateStore

__all__ = ["ReconcileReport", "reconcile"]

_KINDS: dict[str, frames.Kind] = {
    "finding": "text",
    "object": "text",
    "salesforce_id": "text",
    "intacct_id": "text",
    "name": "text",
    "detail": "text",
    "action": "text",
}


class ReconcileReport(Report):
    """Findings, one row each: finding, object, salesforce_id, intacct_id, name, detail, action."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def to_frame(self) -> pd.DataFrame:
        """One row per finding."""
        return frames.frame_from_records(self.rows, _KINDS)

    def counts(self) -> dict[str, int]:
        """Findings per kind."""
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["finding"]] = out.get(r["finding"], 0) + 1
        return out

    def summary(self) -> str:
        """Counts per finding."""
        parts = ", ".join(f"{n} {k}" for k, n in sorted(self.counts().items()))
        return f"Reconciliation: {parts or 'nothing to report; both systems agree'}"


def _row(
    finding: str, obj: str, sf_id: Any, ia_id: Any, name: str, detail: str, action: str
) -> dict[str, Any]:
    return {
        "finding": finding,
        "object": obj,
        "salesforce_id": sf_id,
        "intacct_id": ia_id,
        "name": name,
        "detail": detail,
        "action": action,
    }


def reconcile(
    sf: SalesforceClient,
    ia: IntacctClient,
    state: StateStore,
    config: m.MastersConfig | None = None,
) -> ReconcileReport:
    """Compare both systems and list what a person should act on (reads only).

    Args:
        sf: the Salesforce client.
        ia: the Intacct client.
        state: the state store (its id map says which records are linked).
        config: the masters mapping compared (default mappings).

    Returns:
        A :class:`ReconcileReport`.

    >>> print(reconcile(sf, ia, state))  # doctest: +SKIP
    """
    cfg = config or m.MastersConfig()
    zone = ZoneInfo(cfg.intacct_timezone)
    rows: list[dict[str, Any]] = []
    for mapping in cfg.mappings():
        prices: dict[str, tuple[str, Any]] = {}
        if mapping.name == "Product2":
            _, prices = m._prices(sf)
        sf_recs = m._sf_records(m._read_sf(sf, mapping), mapping, prices)
        ia_recs = m._ia_records(m._read_ia(ia, mapping, zone), mapping, zone)
        links = {x.salesforce_id: x.intacct_id for x in state.id_map(mapping.name)}
        for rec in sf_recs.values():
            if rec.id not in links and rec.ext_key and rec.ext_key in ia_recs:
                links[rec.id] = rec.ext_key
        linked_ia = set(links.values())
        for s in sf_recs.values():
            if s.id not in links and s.active:
                rows.append(
                    _row(
                        "only in Salesforce",
                        mapping.name,
                        s.id,
                        s.ext_key,
                        s.name,
                        f"no {mapping.intacct_object} linked",
                        "run the masters sync, or decide the duplicate/ambiguous match",
                    )
                )
        for i in ia_recs.values():
            if i.id not in linked_ia and i.active:
                rows.append(
                    _row(
                        "only in Intacct",
                        mapping.name,
                        None,
                        i.id,
                        i.name,
                        f"no {mapping.name} linked",
                        "run the masters sync, or decide the duplicate/ambiguous match",
                    )
                )
        for sf_id, ia_id in links.items():
            pair_sf, pair_ia = sf_recs.get(sf_id), ia_recs.get(ia_id)
            if pair_sf is None or pair_ia is None:
                continue
            s, i = pair_sf, pair_ia
            diffs = [
                f"{f.salesforce}: {s.values.get(f.salesforce)!r} vs {i.values.get(f.salesforce)!r}"
                for f in mapping.fields
                if s.values.get(f.salesforce) != i.values.get(f.salesforce)
            ]
            if s.active != i.active:
                diffs.append(f"active: Salesforce {s.active} vs Intacct {i.active}")
            if diffs:
                rows.append(
                    _row(
                        "differs",
                        mapping.name,
                        sf_id,
                        ia_id,
                        s.name,
                        "; ".join(diffs),
                        "run the masters sync (the conflict rule decides)",
                    )
                )
    rows += _orders(sf, ia)
    rows += _invoices(sf, ia)
    return ReconcileReport(rows)


def _orders(sf: SalesforceClient, ia: IntacctClient) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    won = sf.query(
        "SELECT Id, Name, Amount, Intacct_Document_ID__c FROM Opportunity WHERE "
        + soql("StageName = {}", "Closed Won")
    )
    docs = set(ia.read_by_query("SODOCUMENT", fields=["DOCID"])["DOCID"].dropna().astype(str))
    for r in frames.frame_to_records(won):
        doc = r.get("Intacct_Document_ID__c")
        doc = None if doc is pd.NA else doc
        if not doc:
            rows.append(
                _row(
                    "won without sales order",
                    "Opportunity",
                    r["Id"],
                    None,
                    str(r["Name"]),
                    f"Amount {r.get('Amount')}",
                    "run o2c sync; if rejected, fix the amount or the lines in Salesforce",
                )
            )
        elif str(doc) not in docs:
            rows.append(
                _row(
                    "document missing in Intacct",
                    "Opportunity",
                    r["Id"],
                    str(doc),
                    str(r["Name"]),
                    f"Intacct has no document {doc}",
                    "check the document id; clear it in Salesforce to create the order again",
                )
            )
    return rows


def _invoices(sf: SalesforceClient, ia: IntacctClient) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    invoices = [
        ARInvoice.from_row(r) for r in frames.frame_to_records(ia.read_by_query("ARINVOICE"))
    ]
    crm = sf.query("SELECT Invoice_Number__c, Total__c, Due__c, State__c FROM Intacct_Invoice__c")
    known = {str(r["Invoice_Number__c"]): r for r in frames.frame_to_records(crm)}
    for inv in invoices:
        copy = known.get(inv.invoice_no)
        if copy is None:
            rows.append(
                _row(
                    "invoice not in CRM",
                    "ARINVOICE",
                    None,
                    inv.invoice_no,
                    inv.customer_id,
                    f"{inv.state}, total {inv.total}, due {inv.total_due}",
                    "link the customer to an Account (masters), then run o2c sync",
                )
            )
            continue
        total = frames.parse_decimal(copy.get("Total__c"))
        due = frames.parse_decimal(copy.get("Due__c"))
        if total != inv.total or due != inv.total_due or copy.get("State__c") != inv.state:
            rows.append(
                _row(
                    "invoice differs in CRM",
                    "ARINVOICE",
                    None,
                    inv.invoice_no,
                    inv.customer_id,
                    f"Intacct {inv.state} {inv.total}/{inv.total_due}; CRM "
                    f"{copy.get('State__c')} {total}/{due}",
                    "run o2c sync",
                )
            )
    return rows

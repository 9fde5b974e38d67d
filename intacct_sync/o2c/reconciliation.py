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

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import ARInvoice
from intacct_sync.o2c.mapping import MastersConfig
from intacct_sync.o2c.snapshots import StoredMasters, read_masters
from intacct_sync.reports import Report, Scope, plural, value_text
from intacct_sync.salesforce.client import SalesforceClient
from intacct_sync.salesforce.soql import soql
from intacct_sync.state import StateStore
from intacct_sync.state.tenancy import bind_tenant

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
    """Findings, one row each: finding, object, salesforce_id, intacct_id, name, detail, action.

    ``scope`` is the Intacct company and entity compared.
    """

    def __init__(self, rows: list[dict[str, Any]], *, scope: Scope | None = None) -> None:
        self.rows = rows
        self.scope = scope or Scope()

    def to_frame(self) -> pd.DataFrame:
        """One row per finding.

        Returns:
            A DataFrame with one row per finding.
        """
        return frames.frame_from_records(self.rows, _KINDS)

    def counts(self) -> dict[str, int]:
        """Findings per kind.

        Returns:
            The number of findings per kind.
        """
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["finding"]] = out.get(r["finding"], 0) + 1
        return out

    def summary(self) -> str:
        """Counts per finding, and the Intacct company and entity compared.

        Returns:
            One line, for a person.
        """
        counts = self.counts()
        if not counts:
            return self.scope.after("Reconciliation: nothing to report; both systems agree")
        parts = ", ".join(f"{k} ({n:,})" for k, n in sorted(counts.items()))
        return self.scope.after(
            f"Reconciliation: {plural(sum(counts.values()), 'finding')}: {parts}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-able document: summary, scope, counts and every finding.

        Returns:
            A dict that ``json.dumps`` can write.
        """
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "counts": self.counts(),
            "findings": frames.frame_to_records(self.to_frame()),
        }


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
    config: MastersConfig | None = None,
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

    Raises:
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.
    """
    bind_tenant(state, ia)
    # Everything is read (no watermarks): a finding must not depend on what changed lately.
    cfg = attrs.evolve(config or MastersConfig(), full=True)
    stored = StoredMasters.read(state, cfg)
    snapshot = read_masters(sf, ia, stored, cfg)
    rows: list[dict[str, Any]] = []
    for mapping in cfg.mappings():
        read = snapshot.objects[mapping.name]
        sf_recs, ia_recs = read.salesforce, read.intacct
        links = {x.salesforce_id: x.intacct_id for x in stored.of(mapping.name).id_map}
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
                f"{f.salesforce}: Salesforce {value_text(s.values.get(f.salesforce))} vs "
                f"Intacct {value_text(i.values.get(f.salesforce))}"
                for f in mapping.fields
                if s.values.get(f.salesforce) != i.values.get(f.salesforce)
            ]
            if s.active != i.active:
                diffs.append(
                    f"active: Salesforce {value_text(s.active)} vs Intacct {value_text(i.active)}"
                )
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
    return ReconcileReport(rows, scope=Scope.of(ia))


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
                    f"Amount {value_text(frames.parse_decimal(r.get('Amount')))}",
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
                    f"{inv.state}, total {value_text(inv.total)}, due {value_text(inv.total_due)}",
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
                    f"Intacct {inv.state}, total {value_text(inv.total)}, due "
                    f"{value_text(inv.total_due)}; CRM {copy.get('State__c') or '(empty)'}, "
                    f"total {value_text(total)}, due {value_text(due)}",
                    "run o2c sync",
                )
            )
    return rows

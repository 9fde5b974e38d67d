"""Composite and composite graph: dependent subrequests in one call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from intacct_sync.errors import (
    InputError,
)
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce._session import _Session

_MAX_COMPOSITE = 25


class _CompositeMixin(_Session):
    """``POST /composite`` and ``/composite/graph``."""

    def composite(
        self,
        subrequests: Sequence[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
        collate_subrequests: bool | None = None,
    ) -> wire.CompositeResult:
        """Run up to 25 dependent subrequests in one call (``POST /composite``).

        Each subrequest is ``{"method", "url", "referenceId", "body"?}``; ``url`` may be
        relative to the versioned root (``"sobjects/Opportunity"``). Later subrequests refer to
        earlier results with ``@{referenceId.id}``.

        Args:
            subrequests: the subrequests, in order.
            all_or_none: roll everything back when one fails (the others report
                ``PROCESSING_HALTED``).
            collate_subrequests: Salesforce's ``collateSubrequests`` (default: theirs).

        Returns:
            The outcomes by ``referenceId``; ``.to_frame()`` gives one row each.

        >>> sf.composite([
        ...     {"method": "POST", "url": "sobjects/Opportunity", "referenceId": "opp",
        ...      "body": {"Name": "Renewal", "StageName": "Closed Won", "CloseDate": "2025-01-31"}},
        ...     {"method": "POST", "url": "sobjects/OpportunityLineItem", "referenceId": "line",
        ...      "body": {"OpportunityId": "@{opp.id}", "PricebookEntryId": "01u...",
        ...               "Quantity": 2, "UnitPrice": Decimal("150.00")}},
        ... ], all_or_none=True)  # doctest: +SKIP
        """
        if not subrequests or len(subrequests) > _MAX_COMPOSITE:
            raise InputError(f"a composite request takes 1 to {_MAX_COMPOSITE} subrequests")
        payload: dict[str, Any] = {
            "allOrNone": all_or_none,
            "compositeRequest": [self._subrequest(s) for s in subrequests],
        }
        if collate_subrequests is not None:
            payload["collateSubrequests"] = collate_subrequests
        idempotent = all(str(s.get("method", "")).upper() == "GET" for s in subrequests)
        data = self._json("POST", "composite", payload=payload, idempotent=idempotent)
        return wire.CompositeResult(tuple(wire.parse_composite(data)))

    def composite_graph(
        self, graphs: Mapping[str, Sequence[Mapping[str, Any]]]
    ) -> dict[str, wire.CompositeResult]:
        """Run composite graphs (each all-or-nothing, up to 500 nodes): graph id -> outcomes.

        Args:
            graphs: graph id -> its subrequests.

        Returns:
            The outcomes of each graph, by graph id.
        """
        payload = {
            "graphs": [
                {"graphId": graph_id, "compositeRequest": [self._subrequest(s) for s in subs]}
                for graph_id, subs in graphs.items()
            ]
        }
        data = self._json("POST", "composite/graph", payload=payload, idempotent=False)
        return {
            graph_id: wire.CompositeResult(tuple(outcomes), successful=ok)
            for graph_id, (ok, outcomes) in wire.parse_graph(data).items()
        }

    def _subrequest(self, sub: Mapping[str, Any]) -> dict[str, Any]:
        missing = {"method", "url", "referenceId"} - set(sub)
        if missing:
            raise InputError(f"subrequest lacks {', '.join(sorted(missing))}", value=dict(sub))
        url = str(sub["url"])
        if not url.startswith("/services/"):
            url = f"/services/data/v{self._api_version}/{url.lstrip('/')}"
        return {**sub, "url": url}

"""What applying a masters plan did: :class:`MastersReport`, one row per record written.

A run that leaves records waiting for a person (duplicates, ambiguous matches) or has writes
that were refused is an expected outcome, so it is a report with a :attr:`~MastersReport.status`
and the records concerned, never an exception.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Literal

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.o2c.mapping import Side
from intacct_sync.o2c.matching import MasterChange
from intacct_sync.reports import Report, Scope, plural

_SYSTEM = {"salesforce": "Salesforce", "intacct": "Intacct"}

__all__ = ["ApplyResult", "MastersReport", "MastersStatus"]

#: ``done``: every planned write is confirmed and nothing waits for a decision;
#: ``needs_attention``: every write is done, but records wait for a decision (nothing was
#: written for them; see :attr:`MastersReport.needs_decision`); ``failed``: a write was
#: refused or not confirmed (the rerun retries it; see ``to_frame()``).
MastersStatus = Literal["done", "needs_attention", "failed"]

_KINDS: dict[str, frames.Kind] = {
    "system": "text",
    "operation": "text",
    "object": "text",
    "key": "text",
    "status": "text",
    "done": "boolean",
    "error": "text",
}


@attrs.define(repr=False)
class MastersReport(Report):
    """What :func:`~intacct_sync.o2c.masters.apply_masters` wrote: one row per record written.

    Attributes:
        rows: one dict per write (system, operation, object, key, status, done, error).
        needs_decision: the plan's duplicate and ambiguous rows, nothing written for them.
        incomplete: a batch stopped part way (the apply then raised ``IncompleteWriteError``).
        created_ids: (object, Intacct id) -> the Salesforce Id an upsert created.
        record_nos: (object, Intacct id) -> the ``RECORDNO`` an Intacct write returned.
        scope: the Intacct company and entity written in.
    """

    rows: list[dict[str, Any]] = attrs.field(factory=list)
    needs_decision: tuple[MasterChange, ...] = ()
    incomplete: bool = False
    created_ids: dict[tuple[str, str], str] = attrs.field(factory=dict)
    record_nos: dict[tuple[str, str], str] = attrs.field(factory=dict)
    scope: Scope = attrs.field(factory=Scope)

    @property
    def ok(self) -> bool:
        """True when every write is done (records waiting for a decision do not count)."""
        return all(r["done"] for r in self.rows) and not self.incomplete

    @property
    def status(self) -> MastersStatus:
        """``failed``, ``needs_attention`` or ``done`` (see :data:`MastersStatus`)."""
        if not self.ok:
            return "failed"
        return "needs_attention" if self.needs_decision else "done"

    @property
    def reason(self) -> str:
        """Why the status is not ``done`` (empty when it is)."""
        if not self.ok:
            failed = sum(1 for r in self.rows if not r["done"])
            return (
                f"{plural(failed, 'write')} not done; rerun to retry them "
                "(nothing is written twice)"
            )
        if self.needs_decision:
            return (
                f"{plural(len(self.needs_decision), 'record')} wait for a decision (duplicate "
                "or ambiguous); each row's reason gives the intacct-sync o2c decide command"
            )
        return ""

    def failed_keys(self, system: Side) -> set[str]:
        """Keys of the records whose write is not done.

        Args:
            system: ``intacct`` or ``salesforce``.

        Returns:
            The keys (a set; empty when everything was written).
        """
        return {r["key"] for r in self.rows if r["system"] == system and not r["done"]}

    def confirmed(self, *keys: str) -> bool:
        """Every write touching one of ``keys`` is confirmed done.

        Args:
            *keys: record keys.

        Returns:
            True when every such write is done.
        """
        wanted = set(keys)
        return all(r["done"] for r in self.rows if r["key"] in wanted)

    def add(
        self, system: Side, operation: str, obj: str, key: str, status: str, done: bool, error: Any
    ) -> None:
        """Append one outcome row.

        Args:
            system: ``intacct`` or ``salesforce``.
            operation: the write (``create``, ``update``, ``upsert``...).
            obj: the object written.
            key: the record's key.
            status: the outcome status.
            done: whether the write is confirmed.
            error: the refusal, when there is one.
        """
        self.rows.append(
            {
                "system": system,
                "operation": operation,
                "object": obj,
                "key": key,
                "status": status,
                "done": bool(done),
                "error": None if error is None or error != error else str(error),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """Columns: system, operation, object, key, status, done, error.

        Returns:
            A DataFrame with one row per write.
        """
        return frames.frame_from_records(self.rows, _KINDS)

    def summary(self) -> str:
        """Writes per system, how many are not done, and the Intacct company and entity.

        Returns:
            One line, for a person.
        """
        per: dict[str, int] = defaultdict(int)
        for r in self.rows:
            per[r["system"]] += 1
        failed = sum(1 for r in self.rows if not r["done"])
        if not per:
            return self.scope.after("Masters applied: nothing to write")
        parts = ", ".join(
            f"{plural(n, 'write')} to {_SYSTEM.get(s, s)}" for s, n in sorted(per.items())
        )
        return self.scope.after(f"Masters applied: {parts}; {failed:,} not done")

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-able document: summary, scope, status and every write.

        Returns:
            A dict that ``json.dumps`` can write.
        """
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "status": self.status,
            "writes": frames.frame_to_records(self.to_frame()),
        }


#: The name :class:`MastersReport` had before plans became data.
ApplyResult = MastersReport

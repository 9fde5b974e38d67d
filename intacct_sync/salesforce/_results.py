"""Write outcomes: Collections, Composite and Bulk 2.0 answers -> the outcome contract."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import attrs
import pandas as pd

from intacct_sync import outcomes
from intacct_sync.errors import (
    ProtocolError,
    SalesforceErrorDetail,
)
from intacct_sync.frames import Kind, frame_from_records
from intacct_sync.salesforce._wire import error_details, parse_bulk_error, parse_csv, snippet
from intacct_sync.salesforce.models import BulkJob

_ROLLED_BACK_CODES = frozenset({"ALL_OR_NONE_OPERATION_ROLLED_BACK", "PROCESSING_HALTED"})
Operation = Literal["create", "update", "upsert", "delete"]


# --------------------------------------------------------------------------- writes


def outcome_rows(
    results: Any,
    *,
    operation: Operation,
    rows: Sequence[int],
    raw: bytes = b"",
) -> list[dict[str, Any]]:
    """Outcome rows (see ``SalesforceClient.create``) for one collections response.

    Raises:
        ProtocolError: the answer is not a list with one result per record sent.
    """
    if not isinstance(results, list) or len(results) != len(rows):
        raise ProtocolError(
            f"expected {len(rows)} results from sObject Collections, got: {snippet(raw)!r}",
            raw=raw,
        )
    out = []
    for row, result in zip(rows, results, strict=True):
        if not isinstance(result, Mapping):
            raise ProtocolError(f"unexpected collections result: {snippet(raw)!r}", raw=raw)
        out.append(save_outcome(result, operation=operation, row=row))
    return out


def save_outcome(result: Mapping[str, Any], *, operation: Operation, row: int) -> dict[str, Any]:
    """One outcome row from a SaveResult/UpsertResult/DeleteResult."""
    errors = error_details(result.get("errors") or ())
    success = bool(result.get("success"))
    created = result.get("created")
    if operation == "create":
        created = success
    elif operation in ("update", "delete"):
        created = False if success else None
    status: outcomes.OutcomeStatus
    if success:
        status = _DONE_STATUS.get(operation) or ("created" if created else "updated")
    elif errors and all(e.error_code in _ROLLED_BACK_CODES for e in errors):
        status = "aborted"
    else:
        status = "failed"
    return outcome(
        row=row,
        id=result.get("id") or None,
        created=created if isinstance(created, bool) else None,
        status=status,
        errors=errors,
    )


_DONE_STATUS: Mapping[str, outcomes.OutcomeStatus] = {
    "create": "created",
    "update": "updated",
    "delete": "deleted",
}


def outcome(
    *,
    row: int,
    id: str | None,
    status: outcomes.OutcomeStatus,
    created: bool | None = None,
    errors: Sequence[SalesforceErrorDetail] = (),
) -> dict[str, Any]:
    """An outcome row of the contract (:mod:`intacct_sync.outcomes`) without its ``key``.

    ``key`` is the caller's and is set by :func:`outcome_frame`; ``done`` follows ``status``.
    """
    fields = sorted({f for e in errors for f in e.fields})
    return {
        "row": row,
        "id": id,
        "status": status,
        "errors": "; ".join(f"{e.error_code}: {e.message}" for e in errors) or None,
        "error_codes": ",".join(e.error_code for e in errors) or None,
        "created": created,
        "fields": ",".join(fields) or None,
    }


#: Salesforce's columns after the contract's: ``created`` (an upsert inserted), ``fields``
#: (the fields the errors name, ``,``-joined)
OUTCOME_EXTRAS: Mapping[str, Kind] = {"created": "boolean", "fields": "text"}


def outcome_frame(
    rows: Iterable[Mapping[str, Any]], keys: Sequence[str | None] | None = None
) -> pd.DataFrame:
    """The outcome frame of ``rows`` (from :func:`outcome`), ``key`` taken from ``keys[row]``."""
    keyed = [{**r, "key": keys[r["row"]] if keys is not None else None} for r in rows]
    return outcomes.outcome_frame(keyed, OUTCOME_EXTRAS)


@attrs.frozen(kw_only=True)
class SubrequestOutcome:
    """One subrequest's answer inside a composite response.

    Attributes:
        reference_id: the ``referenceId`` it was sent with.
        http_status: its own status (the composite call itself is always 200).
        body: its parsed body (a save result, a query result, an error list, or ``None``).
        success: 2xx.
        id: the record id for a create or upsert.
        errors: the error items of a failed subrequest.
        location: the ``Location`` header, when given.
    """

    reference_id: str
    http_status: int
    body: Any = attrs.field(repr=False)
    success: bool
    id: str | None = None
    errors: tuple[SalesforceErrorDetail, ...] = ()
    location: str | None = None

    @property
    def rolled_back(self) -> bool:
        """The subrequest failed only because another one did (``PROCESSING_HALTED``)."""
        return bool(self.errors) and all(e.error_code in _ROLLED_BACK_CODES for e in self.errors)


def parse_composite(data: Any, *, raw: bytes = b"") -> list[SubrequestOutcome]:
    """Read ``{"compositeResponse": [...]}``.

    Raises:
        ProtocolError: the body has another shape.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("compositeResponse"), list):
        raise ProtocolError(f"not a composite response: {snippet(raw)!r}", raw=raw)
    outcomes = []
    for sub in data["compositeResponse"]:
        status = int(sub.get("httpStatusCode") or 0)
        body = sub.get("body")
        success = 200 <= status < 300
        errors: list[SalesforceErrorDetail] = []
        if not success:
            errors = error_details(body if isinstance(body, list) else [body] if body else [])
        elif isinstance(body, Mapping) and body.get("errors"):
            errors = error_details(body["errors"])
        headers = sub.get("httpHeaders") or {}
        outcomes.append(
            SubrequestOutcome(
                reference_id=str(sub.get("referenceId") or ""),
                http_status=status,
                body=body,
                success=success,
                id=(body.get("id") or None) if isinstance(body, Mapping) else None,
                errors=tuple(errors),
                location=headers.get("Location") if isinstance(headers, Mapping) else None,
            )
        )
    return outcomes


def parse_graph(data: Any, *, raw: bytes = b"") -> dict[str, tuple[bool, list[SubrequestOutcome]]]:
    """Read a composite graph response: graph id -> ``(isSuccessful, outcomes)``.

    Raises:
        ProtocolError: the body has another shape.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("graphs"), list):
        raise ProtocolError(f"not a composite graph response: {snippet(raw)!r}", raw=raw)
    return {
        str(g.get("graphId")): (
            bool(g.get("isSuccessful")),
            parse_composite(g.get("graphResponse"), raw=raw),
        )
        for g in data["graphs"]
    }


@attrs.frozen(kw_only=True)
class IngestResult:
    """What a Bulk API 2.0 ingest job did.

    Attributes:
        job: the job's final state (``JobComplete``, ``Failed`` or ``Aborted``).
        successful: ``sf__Id``, ``sf__Created`` then the uploaded columns.
        failed: ``sf__Id``, ``sf__Error`` (``CODE:message:fields --``) then the uploaded columns.
        unprocessed: the uploaded columns of rows never processed.
    """

    job: BulkJob
    successful: pd.DataFrame = attrs.field(eq=False, repr=False)
    failed: pd.DataFrame = attrs.field(eq=False, repr=False)
    unprocessed: pd.DataFrame = attrs.field(eq=False, repr=False)

    @property
    def ok(self) -> bool:
        """The job completed and no row failed or stayed unprocessed."""
        return self.job.state == "JobComplete" and self.failed.empty and self.unprocessed.empty


@attrs.frozen
class CompositeResult:
    """Per-subrequest outcomes of a composite request, in request order.

    Index it by ``referenceId``: ``result["NewOpp"].id``.
    """

    outcomes: tuple[SubrequestOutcome, ...]
    successful: bool = True

    def __getitem__(self, reference_id: str) -> SubrequestOutcome:
        for outcome in self.outcomes:
            if outcome.reference_id == reference_id:
                return outcome
        raise KeyError(reference_id)

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[SubrequestOutcome]:
        return iter(self.outcomes)

    @property
    def ok(self) -> bool:
        """Every subrequest succeeded."""
        return all(o.success for o in self.outcomes)

    def to_frame(self) -> pd.DataFrame:
        """One row per subrequest: reference_id, http_status, done, id, status, errors...

        ``status`` is ``ok``, ``failed`` or ``aborted`` (rolled back because another failed).

        Returns:
            A DataFrame with one row per subrequest.
        """
        rows = []
        for o in self.outcomes:
            status = "ok" if o.success else "aborted" if o.rolled_back else "failed"
            fields = sorted({f for e in o.errors for f in e.fields})
            rows.append(
                {
                    "reference_id": o.reference_id,
                    "http_status": o.http_status,
                    "done": o.success,
                    "id": o.id,
                    "status": status,
                    "errors": "; ".join(f"{e.error_code}: {e.message}" for e in o.errors) or None,
                    "error_codes": ",".join(e.error_code for e in o.errors) or None,
                    "fields": ",".join(fields) or None,
                }
            )
        kinds: dict[str, Kind] = {
            "reference_id": "text",
            "http_status": "integer",
            "done": "boolean",
            "id": "text",
            "status": "text",
            "errors": "text",
            "error_codes": "text",
            "fields": "text",
        }
        return frame_from_records(rows, kinds)


def bulk_outcomes(
    operation: Operation, result: IngestResult, csv_body: bytes, start: int, count: int
) -> list[dict[str, Any]]:
    """Map Bulk result rows back to input rows by the uploaded values they echo."""
    header, rows = parse_csv(csv_body)
    by_values: dict[tuple[str, ...], deque[int]] = defaultdict(deque)
    for i, row in enumerate(rows):
        by_values[tuple(row)].append(i)
    found: dict[int, dict[str, Any]] = {}

    def take(frame: pd.DataFrame) -> Iterator[tuple[int | None, Mapping[Any, Any]]]:
        for record in frame.to_dict("records"):
            values = tuple("" if pd.isna(record.get(c)) else str(record.get(c)) for c in header)
            queue = by_values.get(values)
            yield (queue.popleft() if queue else None), record

    for index, record in take(result.successful):
        if index is None:
            continue
        created = (
            bool(record.get("sf__Created")) if operation == "upsert" else operation == "create"
        )
        status = _DONE_STATUS.get(operation) or ("created" if created else "updated")
        found[index] = outcome(
            row=start + index,
            id=_text(record.get("sf__Id")),
            created=created if operation in ("create", "upsert") else False,
            status=status,
        )
    for index, record in take(result.failed):
        if index is None:
            continue
        error = parse_bulk_error(_text(record.get("sf__Error")) or "")
        found[index] = outcome(
            row=start + index,
            id=_text(record.get("sf__Id")),
            status="failed",
            errors=[error],
        )
    for index, _record in take(result.unprocessed):
        if index is not None:
            found[index] = outcome(row=start + index, id=None, status="not_sent")
    return [found.get(i) or outcome(row=start + i, id=None, status="unknown") for i in range(count)]


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return str(value) or None

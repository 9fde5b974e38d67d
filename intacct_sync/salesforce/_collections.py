"""REST writes through sObject Collections: 200 records a call, per-record outcomes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

import pandas as pd

from intacct_sync._http.progress import progress as progress_bar
from intacct_sync.errors import (
    IncompleteWriteError,
    ProtocolError,
    SalesforceAuthenticationError,
    SalesforceError,
    SalesforceLimitError,
    TransportError,
)
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce._bulk import _BulkMixin
from intacct_sync.salesforce._session import log

#: writes of more records than this go through Bulk API 2.0 when ``use_bulk`` is ``None``
BULK_THRESHOLD = 2000


class _CollectionsMixin(_BulkMixin):
    """Create, update, upsert and delete through sObject Collections (Bulk above a size)."""

    def _write(
        self,
        operation: wire.Operation,
        sobject: str,
        records: list[dict[str, Any]],
        keys: Sequence[str | None],
        external_id_field: str | None,
        all_or_none: bool,
        use_bulk: bool | None,
        progress: bool,
    ) -> pd.DataFrame:
        bulk = use_bulk if use_bulk is not None else len(records) > BULK_THRESHOLD
        if bulk:
            return self._bulk_write(operation, sobject, records, keys, external_id_field, progress)
        outcomes: list[dict[str, Any] | None] = [None] * len(records)
        positions = list(range(len(records)))
        chunks = [
            positions[i : i + wire.COLLECTION_SIZE]
            for i in range(0, len(positions), wire.COLLECTION_SIZE)
        ]
        with progress_bar(
            enabled=progress, desc=f"Salesforce {operation} {sobject}", total=len(records)
        ) as bar:
            for number, chunk in enumerate(chunks):
                try:
                    self._write_chunk(
                        operation, sobject, records, chunk, external_id_field, all_or_none, outcomes
                    )
                except (TransportError, ProtocolError, SalesforceLimitError) as exc:
                    for row in chunk:
                        if outcomes[row] is None:  # the token request failed: nothing left
                            outcomes[row] = wire.outcome(row=row, id=None, status="not_sent")
                    for later in chunks[number + 1 :]:
                        for row in later:
                            outcomes[row] = wire.outcome(row=row, id=None, status="not_sent")
                    frame = wire.outcome_frame([o for o in outcomes if o is not None], keys)
                    raise IncompleteWriteError(
                        _stopped(f"{operation} {sobject}", frame, exc), outcomes=frame
                    ) from exc
                bar.update(len(chunk))
        return wire.outcome_frame([o for o in outcomes if o is not None], keys)

    def _write_chunk(
        self,
        operation: wire.Operation,
        sobject: str,
        records: Sequence[dict[str, Any]],
        chunk: list[int],
        external_id_field: str | None,
        all_or_none: bool,
        outcomes: list[dict[str, Any] | None],
    ) -> None:
        if self._token is None:
            self._authenticate()  # before any row is in flight: a failure here sent nothing
        todo = chunk
        attempt = 0
        while True:
            for i in todo:
                # What a call that never answers leaves behind: it may have happened.
                outcomes[i] = wire.outcome(row=i, id=None, status="unknown")
            try:
                results = self._send_collection(
                    operation, sobject, [records[i] for i in todo], external_id_field, all_or_none
                )
                rows = wire.outcome_rows(results, operation=operation, rows=todo)
            except SalesforceAuthenticationError:
                raise
            except SalesforceLimitError as exc:
                for i in todo:
                    outcomes[i] = wire.outcome(row=i, id=None, status="failed", errors=exc.errors)
                raise
            except SalesforceError as exc:
                # The whole call was refused (400 malformed, a bad external id field...): say
                # so on each of its rows and go on with the next call.
                rows = [
                    wire.outcome(row=i, id=None, status="failed", errors=exc.errors) for i in todo
                ]
            for row in rows:
                outcomes[row["row"]] = row
            locked = [r["row"] for r in rows if "UNABLE_TO_LOCK_ROW" in (r["error_codes"] or "")]
            if not locked or attempt >= self.retry.max_retries:
                return
            if all_or_none:
                locked = todo  # nothing of the call was saved: send all of it again
            # A record that failed was not saved, so sending it again is safe for any operation.
            attempt += 1
            wait = self.retry.delay(attempt, None, random.random)
            log.warning(
                "%s %s: %d record(s) hit UNABLE_TO_LOCK_ROW; retry %d/%d in %.2fs",
                operation,
                sobject,
                len(locked),
                attempt,
                self.retry.max_retries,
                wait,
            )
            self._sleep(wait)
            todo = locked

    def _send_collection(
        self,
        operation: wire.Operation,
        sobject: str,
        records: list[dict[str, Any]],
        external_id_field: str | None,
        all_or_none: bool,
    ) -> Any:
        if operation == "delete":
            query = urlencode(
                {"ids": ",".join(r["Id"] for r in records), "allOrNone": str(all_or_none).lower()}
            )
            return self._json("DELETE", f"composite/sobjects?{query}", idempotent=True)
        payload = {
            "allOrNone": all_or_none,
            "records": [{"attributes": {"type": sobject}, **r} for r in records],
        }
        if operation == "create":
            # Not repeated once it may have reached the server: it would insert twice.
            return self._json("POST", "composite/sobjects", payload=payload, idempotent=False)
        if operation == "update":
            return self._json("PATCH", "composite/sobjects", payload=payload, idempotent=True)
        path = (
            f"composite/sobjects/{quote(sobject, safe='')}/{quote(str(external_id_field), safe='')}"
        )
        return self._json("PATCH", path, payload=payload, idempotent=True)


def _stopped(what: str, frame: pd.DataFrame, exc: Exception) -> str:
    """What a stopped write did and what remains, for the exception's message."""
    counts = frame["status"].value_counts()
    done = int(frame["done"].fillna(False).sum())
    parts = [f"{done} done"] + [
        f"{int(counts[s])} {s}" for s in ("failed", "unknown", "not_sent") if s in counts
    ]
    text = f"{what} stopped ({', '.join(parts)} of {len(frame)} records): {exc}"
    if isinstance(exc, SalesforceLimitError):
        text += ". " + " ".join(getattr(exc, "__notes__", ()))
        text += " The failed and not_sent rows are safe to send again."
    return text

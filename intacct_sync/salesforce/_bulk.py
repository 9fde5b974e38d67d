"""Bulk API 2.0: ingest jobs (CSV upload, poll, results) and query jobs (locator paging)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote, urlencode

import pandas as pd

from intacct_sync._http.ahead import read_ahead
from intacct_sync._http.progress import progress as progress_bar
from intacct_sync._http.transport import HttpResponse
from intacct_sync.arrow import DtypeBackend, backend_converter
from intacct_sync.errors import (
    IncompleteWriteError,
    InputError,
    ProtocolError,
    RequestTimeout,
    SalesforceAuthenticationError,
    SalesforceError,
    SalesforceErrorDetail,
    SalesforceLimitError,
    TransportError,
)
from intacct_sync.frames import Kind, build_frame
from intacct_sync.salesforce import _protocol as wire
from intacct_sync.salesforce._session import Records, _Session, log
from intacct_sync.salesforce.models import BulkJob

_BULK_JOB_RECORDS = 100_000
_BULK_MAX_UPLOAD = 100_000_000
IngestOperation = Literal["insert", "update", "upsert", "delete", "hardDelete"]


class _BulkMixin(_Session):
    """Bulk API 2.0 ingest and query jobs."""

    def ingest(
        self,
        sobject: str,
        operation: IngestOperation,
        records: Records,
        *,
        external_id_field: str | None = None,
        timeout: float = 1800.0,
    ) -> wire.IngestResult:
        """Run one Bulk API 2.0 ingest job: CSV upload, poll until done, fetch the results.

        Args:
            sobject: the sObject.
            operation: ``insert``, ``update``, ``upsert``, ``delete`` or ``hardDelete``.
            records: a DataFrame (missing cells become empty cells: the field is left alone) or
                dicts (``None`` becomes ``#N/A``: the field is cleared).
            external_id_field: required for ``upsert``.
            timeout: seconds to keep polling before giving up.

        Returns:
            The job and its successful, failed and unprocessed rows.

        Raises:
            RequestTimeout: the job did not finish in time (it keeps running at Salesforce).
        """
        prepared = wire.prepare_records(records)
        return self._ingest(sobject, operation, prepared, external_id_field, timeout)[0]

    def _ingest(
        self,
        sobject: str,
        operation: IngestOperation,
        records: Sequence[Mapping[str, Any]],
        external_id_field: str | None,
        timeout: float,
    ) -> tuple[wire.IngestResult, bytes]:
        if operation == "upsert" and not external_id_field:
            raise InputError("a Bulk upsert needs external_id_field=")
        csv_body = wire.records_to_csv(records, rows=range(len(records)))
        if len(csv_body) > _BULK_MAX_UPLOAD:
            raise InputError(
                f"the CSV is {len(csv_body):,} bytes; Bulk 2.0 takes up to "
                f"{_BULK_MAX_UPLOAD:,} per job: send fewer records at a time"
            )
        spec: dict[str, Any] = {
            "object": sobject,
            "operation": operation,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        if external_id_field:
            spec["externalIdFieldName"] = external_id_field
        job = self._upload(spec, csv_body)
        self._upload_complete(job.id)
        job = self._wait_for_job("ingest", job.id, timeout)
        frames = []
        for resource, kinds in (
            ("successfulResults", {"sf__Id": "text", "sf__Created": "boolean"}),
            ("failedResults", {"sf__Id": "text", "sf__Error": "text"}),
            ("unprocessedrecords", {}),
        ):
            try:
                response = self._call(
                    "GET",
                    f"{_job_path('ingest', job.id)}/{resource}",
                    accept="text/csv",
                    idempotent=True,
                )
                header, rows = wire.parse_csv(response.body)
            except SalesforceError:
                if job.state == "JobComplete":
                    raise
                header, rows = [], []  # a failed or aborted job may have no result files
            typed: dict[str, Kind] = dict(kinds)  # type: ignore[arg-type]
            columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
            frames.append(build_frame(columns, typed, order=header or list(typed)))
        result = wire.IngestResult(
            job=job, successful=frames[0], failed=frames[1], unprocessed=frames[2]
        )
        return result, csv_body

    def _upload(self, spec: Mapping[str, Any], csv_body: bytes) -> BulkJob:
        """A new Open job holding ``csv_body``.

        A lost answer to the upload leaves no way to tell whether the data landed (the job is
        Open either way), so that job is aborted (an aborted job processes nothing) and the
        upload goes to a fresh job, once.
        """
        for attempt in range(2):
            data = self._json("POST", "jobs/ingest", payload=spec, idempotent=True)
            job = BulkJob.from_json(data)
            try:
                self._call(
                    "PUT",
                    f"{_job_path('ingest', job.id)}/batches",
                    body=csv_body,
                    content_type="text/csv",
                    idempotent=False,
                )
                return job
            except (TransportError, ProtocolError) as exc:
                if attempt:
                    raise
                log.warning(
                    "bulk job %s: upload unanswered (%s); aborting it, new job", job.id, exc
                )
                self._json(
                    "PATCH",
                    _job_path("ingest", job.id),
                    payload={"state": "Aborted"},
                    idempotent=True,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _upload_complete(self, job_id: str) -> None:
        """Close the upload; a lost or refused answer is settled by reading the job's state.

        The PATCH is not repeated blindly: if its answer was lost after Salesforce took it, the
        job has moved on and a second PATCH is refused as a state error, although everything
        was uploaded and will be processed (issue 12 item 9). Whatever went wrong, the job's
        own state decides: still ``Open`` means the close did not happen (send it again once);
        any later state means it did.
        """
        path = _job_path("ingest", job_id)
        for attempt in range(2):
            try:
                self._json("PATCH", path, payload={"state": "UploadComplete"}, idempotent=False)
                return
            except (SalesforceAuthenticationError, SalesforceLimitError):
                raise
            except (TransportError, ProtocolError, SalesforceError) as exc:
                state = BulkJob.from_json(self._json("GET", path, idempotent=True)).state
                if state != "Open":
                    log.info(
                        "bulk job %s: UploadComplete answered %s; job is %s", job_id, exc, state
                    )
                    return
                if attempt or isinstance(exc, SalesforceError):
                    raise
                log.warning(
                    "bulk job %s: UploadComplete unanswered (%s); job still Open", job_id, exc
                )

    def _wait_for_job(self, kind: str, job_id: str, timeout: float) -> BulkJob:
        waited = 0.0
        delay = 0.5
        while True:
            data = self._json("GET", _job_path(kind, job_id), idempotent=True)
            job = BulkJob.from_json(data)
            if job.finished:
                if job.state != "JobComplete":
                    log.warning(
                        "bulk %s job %s ended %s: %s", kind, job_id, job.state, job.error_message
                    )
                return job
            if waited >= timeout:
                raise RequestTimeout(
                    f"bulk {kind} job {job_id} still {job.state} after {waited:.0f}s; "
                    "it keeps running at Salesforce",
                    method="GET",
                    url=self._url(_job_path(kind, job_id)),
                    should_retry=False,
                )
            self._sleep(delay)
            waited += delay
            delay = min(delay * 2, 10.0)

    def _bulk_write(
        self,
        operation: wire.Operation,
        sobject: str,
        records: list[dict[str, Any]],
        keys: Sequence[str | None],
        external_id_field: str | None,
        progress: bool,
    ) -> pd.DataFrame:
        bulk_operation: IngestOperation = "insert" if operation == "create" else operation
        outcomes: list[dict[str, Any]] = []
        with progress_bar(
            enabled=progress, desc=f"Salesforce bulk {operation} {sobject}", total=len(records)
        ) as bar:
            for start in range(0, len(records), _BULK_JOB_RECORDS):
                part = records[start : start + _BULK_JOB_RECORDS]
                try:
                    result, csv_body = self._ingest(
                        sobject, bulk_operation, part, external_id_field, 1800.0
                    )
                except (TransportError, ProtocolError, SalesforceLimitError) as exc:
                    # This job may have run (unknown); later ones were never created.
                    outcomes += [
                        wire.outcome(row=start + i, id=None, status="unknown")
                        for i in range(len(part))
                    ]
                    outcomes += [
                        wire.outcome(row=i, id=None, status="not_sent")
                        for i in range(start + len(part), len(records))
                    ]
                    frame = wire.outcome_frame(outcomes, keys)
                    raise IncompleteWriteError(
                        f"bulk {operation} {sobject} stopped at record {start} of "
                        f"{len(records)}: {exc}",
                        outcomes=frame,
                    ) from exc
                outcomes.extend(wire.bulk_outcomes(operation, result, csv_body, start, len(part)))
                bar.update(len(part))
        return wire.outcome_frame(outcomes, keys)

    def bulk_query(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        timeout: float = 1800.0,
        dtype_backend: DtypeBackend | None = None,
    ) -> pd.DataFrame:
        """Run a Bulk API 2.0 query job and return the rows, typed like :meth:`query`.

        For large extracts without child subqueries (Bulk 2.0 does not take subqueries,
        aggregates, ``TYPEOF`` or ``OFFSET``). The next result page is fetched while this one
        is parsed (one request ahead; see the comment in the body for why not more).

        Args:
            soql: the query.
            include_deleted: ``queryAll`` (deleted and archived rows too).
            timeout: seconds to wait for the job.
            dtype_backend: ``"pyarrow"`` for ``pd.ArrowDtype`` columns (money as exact
                ``decimal128``), each page converted as it arrives; None keeps the typed
                dtypes (:func:`intacct_sync.arrow.with_backend`).

        Returns:
            A typed DataFrame of every row.

        Raises:
            InputError: ``dtype_backend`` is not a backend name (before the job is created).
            SalesforceError: the job failed (``JOB_FAILED`` with Salesforce's message).
            RequestTimeout: the job did not finish in time.
        """
        convert = backend_converter(dtype_backend)  # before describe and the job request
        shape = wire.QueryShape.build(wire.parse_select(soql), self._describe_or_none)
        spec = {
            "operation": "queryAll" if include_deleted else "query",
            "query": soql,
            "contentType": "CSV",
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }
        # Creating a query job changes nothing: repeating it after a lost answer is harmless.
        job = BulkJob.from_json(self._json("POST", "jobs/query", payload=spec, idempotent=True))
        job = self._wait_for_job("query", job.id, timeout)
        if job.state != "JobComplete":
            detail = SalesforceErrorDetail(
                error_code=f"JOB_{job.state.upper()}", message=job.error_message or job.state
            )
            raise SalesforceError([detail])
        pages = []
        # Locators are opaque and pseudo-random from v49 (salesforce-api.md §8, query
        # lifecycle): page n+1 can only be asked for with the locator page n answered, so pages
        # cannot be fetched side by side. What overlaps is the fetch of page n+1 (one background
        # request, through the org's governor like any other) with the parsing of page n.
        for response in read_ahead(self._result_pages(job.id), name="salesforce-bulk"):
            header, rows = wire.parse_csv(response.body)
            records = [dict(zip(header, row, strict=True)) for row in rows]
            pages.append(convert(shape.frame(records)))
        frame = pages[0] if len(pages) == 1 else wire.concat_pages(pages)
        frame.attrs["total_size"] = len(frame)
        return frame

    def _result_pages(self, job_id: str) -> Iterator[HttpResponse]:
        """The answers of a query job's result pages, by locator, first to last."""
        locator: str | None = ""
        while locator is not None:
            suffix = f"?{urlencode({'locator': locator})}" if locator else ""
            response = self._call(
                "GET",
                f"{_job_path('query', job_id)}/results{suffix}",
                accept="text/csv",
                idempotent=True,
            )
            next_locator = response.header("Sforce-Locator")
            locator = next_locator if next_locator and next_locator != "null" else None
            yield response


def _job_path(kind: str, job_id: str) -> str:
    # The id comes from the server: quoted, it can name a job but never another resource.
    return f"jobs/{kind}/{quote(job_id, safe='')}"

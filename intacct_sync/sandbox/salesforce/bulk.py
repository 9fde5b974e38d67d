"""Bulk API 2.0 of the Salesforce emulator: ingest jobs and query jobs.

Ingest jobs are processed synchronously when the client sets ``UploadComplete``: the PATCH
answers ``UploadComplete`` and the next ``GET`` shows ``JobComplete`` with the counts. Query jobs
are evaluated when created; results are served as CSV pages (``maxRecords``, ``locator``) with
``Sforce-Locator`` (the string ``null`` on the last page) and ``Sforce-NumberOfRecords``.
"""

from __future__ import annotations

import base64
import csv
import io
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from intacct_sync.sandbox.salesforce import schema
from intacct_sync.sandbox.salesforce.soql import SoqlError, build_record, compile_query
from intacct_sync.sandbox.salesforce.store import WriteError, format_datetime, utcnow

if TYPE_CHECKING:
    from intacct_sync.sandbox.salesforce.api import Call, Out, SalesforceApi

__all__ = ["BulkJobs"]

_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
_OPERATIONS = {"insert", "update", "upsert", "delete", "hardDelete"}


@attrs.define
class Job:
    """One Bulk 2.0 job."""

    id: str
    kind: str  # ingest | query
    operation: str
    object: str
    version: str
    created: str
    state: str = "Open"
    modstamp: str = ""
    external_id: str | None = None
    line_ending: str = "LF"
    delimiter: str = "COMMA"
    data: list[str] = attrs.field(factory=list)
    processed: int = 0
    failed: int = 0
    success_csv: list[list[str]] = attrs.field(factory=list)
    failed_csv: list[list[str]] = attrs.field(factory=list)
    unprocessed: list[list[str]] = attrs.field(factory=list)
    header: list[str] = attrs.field(factory=list)
    query_columns: list[str] = attrs.field(factory=list)
    query_rows: list[list[Any]] = attrs.field(factory=list)
    error: str | None = None


class BulkJobs:
    """The ``/jobs/ingest`` and ``/jobs/query`` resources."""

    def __init__(self, api: SalesforceApi) -> None:
        self.api = api
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._seq = 0
        self._batches = 0

    def query_job_count(self) -> int:
        """Query jobs created so far (for ``/limits``)."""
        return sum(1 for j in self._jobs.values() if j.kind == "query")

    def batch_count(self) -> int:
        """Ingest uploads so far (for ``/limits``)."""
        return self._batches

    # -- routing --------------------------------------------------------------------------------

    def handle(self, call: Call) -> Out:
        """Answer one ``/jobs/...`` call."""
        from intacct_sync.sandbox.salesforce.api import ApiError

        kind = call.parts[1]
        rest = call.parts[2:]
        if not rest:
            if call.method == "POST":
                return self._create(call, kind)
            if call.method == "GET":
                return self._list(kind, call)
            raise ApiError(405, "METHOD_NOT_ALLOWED", "Method not allowed")
        with self._lock:
            job = self._jobs.get(rest[0])
        if job is None or job.kind != kind:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(rest) == 1:
            if call.method == "GET":
                return self._out(self._info(job))
            if call.method == "PATCH":
                return self._patch(job, call)
            if call.method == "DELETE":
                with self._lock:
                    self._jobs.pop(job.id, None)
                return self._out(None, status=204)
        if len(rest) == 2:
            if kind == "ingest" and rest[1] == "batches" and call.method == "PUT":
                return self._upload(job, call)
            results = {"successfulResults", "failedResults", "unprocessedrecords"}
            if kind == "ingest" and call.method == "GET" and rest[1] in results:
                return self._ingest_results(job, rest[1])
            if kind == "query" and rest[1] == "results" and call.method == "GET":
                return self._query_results(job, call)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    @staticmethod
    def _out(payload: Any, status: int = 200) -> Out:
        from intacct_sync.sandbox.salesforce.api import Out

        return Out(status=status, payload=payload)

    # -- jobs -----------------------------------------------------------------------------------

    def _new_id(self) -> str:
        with self._lock:
            self._seq += 1
            return schema.make_id("750", self._seq)

    def _create(self, call: Call, kind: str) -> Out:
        from intacct_sync.sandbox.salesforce.api import ApiError

        body = call.json()
        if not isinstance(body, dict):
            raise ApiError(400, "INVALIDJOB", "The request body must be a JSON object")
        now = format_datetime(utcnow())
        if kind == "ingest":
            operation = str(body.get("operation", ""))
            obj = schema.sobject(str(body.get("object", "")))
            if operation not in _OPERATIONS:
                raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
            if obj is None:
                raise ApiError(
                    400, "INVALIDJOB", f"InvalidJob : Unable to find object: {body.get('object')}"
                )
            ext = body.get("externalIdFieldName")
            if operation == "upsert":
                f = obj.field(str(ext or ""))
                if f is None or not (f.external_id or f.id_lookup):
                    raise ApiError(
                        400,
                        "INVALIDJOB",
                        f"InvalidJob : Field name provided, {ext} does not match an External ID, "
                        f"Salesforce Id, or indexed field for {obj.name}",
                    )
                ext = f.name
            delimiter = str(body.get("columnDelimiter", "COMMA"))
            if delimiter not in _DELIMITERS or body.get("contentType", "CSV") != "CSV":
                raise ApiError(400, "INVALIDJOB", "InvalidJob : unsupported content format")
            job = Job(
                id=self._new_id(),
                kind="ingest",
                operation=operation,
                object=obj.name,
                version=call.version,
                created=now,
                modstamp=now,
                external_id=ext if operation == "upsert" else None,
                line_ending=str(body.get("lineEnding", "LF")),
                delimiter=delimiter,
            )
        else:
            operation = str(body.get("operation", "query"))
            if operation not in {"query", "queryAll"}:
                raise ApiError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
            try:
                compiled = compile_query(
                    str(body.get("query", "")), include_deleted=operation == "queryAll"
                )
            except SoqlError as err:
                raise ApiError(400, err.code, err.message) from None
            if compiled.mode != "records" or compiled.children:
                raise ApiError(
                    400,
                    "API_ERROR",
                    "Aggregate queries and parent-to-child subqueries are not supported by Bulk "
                    "API 2.0 query",
                )
            job = Job(
                id=self._new_id(),
                kind="query",
                operation=operation,
                object=compiled.sobject,
                version=call.version,
                created=now,
                modstamp=now,
                state="UploadComplete",
                line_ending=str(body.get("lineEnding", "LF")),
                delimiter=str(body.get("columnDelimiter", "COMMA")),
            )
            with self.api.store.lock:
                rows = self.api.store.conn.execute(compiled.sql, compiled.params).fetchall()
                assert compiled.node is not None
                job.query_columns = compiled.columns
                for row in rows:
                    rec = build_record(compiled.node, row, "", {})
                    job.query_rows.append([_flat(rec, c) for c in compiled.columns])
            job.processed = len(rows)
        with self._lock:
            self._jobs[job.id] = job
        info = self._info(job)
        if job.kind == "query" and job.state == "UploadComplete":
            job.state = "JobComplete"
        return self._out(info)

    def _list(self, kind: str, call: Call) -> Out:
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.kind == kind]
        return self._out(
            {"done": True, "records": [self._info(j) for j in jobs], "nextRecordsUrl": None}
        )

    def _info(self, job: Job) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdById": self.api.store.default_user_id,
            "createdDate": job.created,
            "systemModstamp": job.modstamp,
            "state": job.state,
        }
        if job.external_id:
            info["externalIdFieldName"] = job.external_id
        info.update(
            concurrencyMode="Parallel",
            contentType="CSV",
            apiVersion=float(job.version),
            jobType="V2Ingest" if job.kind == "ingest" else "V2Query",
        )
        if job.kind == "ingest" and job.state == "Open":
            info["contentUrl"] = f"services/data/v{job.version}/jobs/ingest/{job.id}/batches"
        info.update(lineEnding=job.line_ending, columnDelimiter=job.delimiter)
        info["numberRecordsProcessed"] = job.processed
        if job.kind == "ingest":
            info["numberRecordsFailed"] = job.failed
        info["retries"] = 0
        info["totalProcessingTime"] = 0
        if job.kind == "ingest":
            info["apiActiveProcessingTime"] = 0
            info["apexProcessingTime"] = 0
        if job.error:
            info["errorMessage"] = job.error
        return info

    def _upload(self, job: Job, call: Call) -> Out:
        from intacct_sync.sandbox.salesforce.api import ApiError

        if job.state != "Open":
            raise ApiError(
                409, "INVALIDJOBSTATE", f"Unable to upload data to a job in state {job.state}"
            )
        job.data.append(call.body.decode("utf-8-sig"))
        self._batches += 1
        return self._out(None, status=201)

    def _patch(self, job: Job, call: Call) -> Out:
        from intacct_sync.sandbox.salesforce.api import ApiError

        body = call.json()
        state = body.get("state") if isinstance(body, dict) else None
        if state == "Aborted" and job.state in {"Open", "UploadComplete"}:
            job.state = "Aborted"
            if job.kind == "ingest":
                header, rows = self._parse(job)
                job.header = header
                job.unprocessed = rows
        elif state == "UploadComplete" and job.kind == "ingest" and job.state == "Open":
            job.state = "UploadComplete"
            info = self._info(job)
            self._process(job)
            return self._out(info)
        else:
            raise ApiError(
                400, "INVALIDJOBSTATE", f"Invalid state transition from {job.state} to {state}"
            )
        job.modstamp = format_datetime(utcnow())
        return self._out(self._info(job))

    # -- ingest processing ----------------------------------------------------------------------

    def _parse(self, job: Job) -> tuple[list[str], list[list[str]]]:
        header: list[str] = []
        rows: list[list[str]] = []
        for chunk in job.data:
            reader = csv.reader(
                io.StringIO(chunk, newline=""), delimiter=_DELIMITERS[job.delimiter]
            )
            lines = [r for r in reader if r]
            if not lines:
                continue
            if not header:
                header = lines[0]
            rows.extend(lines[1:])
        return header, rows

    def _process(self, job: Job) -> None:
        from intacct_sync.sandbox.salesforce.api import ApiError

        header, rows = self._parse(job)
        job.header = header
        obj = schema.sobject(job.object)
        assert obj is not None
        store = self.api.store
        with store.savepoint():
            for row in rows:
                body: dict[str, Any] = {}
                for name, value in zip(header, row, strict=False):
                    if value == "":
                        continue
                    parsed: Any = None if value == "#N/A" else value
                    if "." in name:
                        rel, ext = name.split(".", 1)
                        body[rel] = {ext: parsed}
                    else:
                        body[name] = parsed
                job.processed += 1
                try:
                    if self.api.faults.draw(self.api.faults.busy_rate):
                        raise WriteError(
                            "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                        )
                    with store.savepoint():
                        record_id, created = self._apply(job, obj, body)
                    job.success_csv.append([record_id, "true" if created else "false", *row])
                except WriteError as err:
                    job.failed += 1
                    raw_id = body.get("Id")
                    fields = ",".join(err.fields)
                    job.failed_csv.append(
                        [
                            raw_id if isinstance(raw_id, str) else "",
                            f"{err.code}:{err.message}:{fields} --",
                            *row,
                        ]
                    )
                except ApiError as err:  # pragma: no cover - defensive
                    job.failed += 1
                    job.failed_csv.append(["", f"UNKNOWN_EXCEPTION:{err}: --", *row])
        job.state = "JobComplete"
        job.modstamp = format_datetime(utcnow())
        job.data.clear()

    def _apply(self, job: Job, obj: schema.SObjectDef, body: dict[str, Any]) -> tuple[str, bool]:
        store = self.api.store
        op = job.operation
        if op == "insert":
            return store.create(obj, body), True
        if op == "upsert":
            assert job.external_id is not None
            f = obj.fields[job.external_id]
            value = body.pop(f.name, None) if f.name != "Id" else body.pop("Id", "")
            if value is None and f.name != "Id":
                raise WriteError("MISSING_ARGUMENT", f"{f.name} not specified", [f.name])
            result = store.upsert(obj, f, str(value or ""), body)
            if isinstance(result, list):
                raise WriteError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"more than one record found for external id field: {result}",
                    [f.name],
                )
            return result
        raw = body.pop("Id", None)
        if not isinstance(raw, str) or not schema.looks_like_id(raw) or raw[:3] != obj.key_prefix:
            raise WriteError(
                "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {raw}", ["Id"]
            )
        record_id = schema.normalize_id(raw)
        if op == "update":
            store.update(obj, record_id, body)
        else:
            store.delete(obj, record_id)
        return record_id, False

    def _csv(self, job: Job, header: list[str], rows: list[list[Any]]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(
            buffer,
            delimiter=_DELIMITERS.get(job.delimiter, ","),
            lineterminator="\r\n" if job.line_ending == "CRLF" else "\n",
        )
        writer.writerow(header)
        writer.writerows(rows)
        return buffer.getvalue()

    def _ingest_results(self, job: Job, which: str) -> Out:
        from intacct_sync.sandbox.salesforce.api import ApiError, Out

        if job.state not in {"JobComplete", "Failed", "Aborted"}:
            raise ApiError(
                409, "INVALIDJOBSTATE", f"Results are not available for a job in state {job.state}"
            )
        if which == "successfulResults":
            text = self._csv(job, ["sf__Id", "sf__Created", *job.header], job.success_csv)
        elif which == "failedResults":
            text = self._csv(job, ["sf__Id", "sf__Error", *job.header], job.failed_csv)
        else:
            text = self._csv(job, job.header, job.unprocessed)
        return Out(payload=None, text=text, content_type="text/csv")

    def _query_results(self, job: Job, call: Call) -> Out:
        from intacct_sync.sandbox.salesforce.api import ApiError, Out

        if job.state != "JobComplete":
            raise ApiError(412, "JOB_NOT_COMPLETE", f"Job {job.id} is not complete")
        locator = call.params.get("locator", "")
        try:
            start = (
                int(base64.b64decode(locator + "=" * (-len(locator) % 4)).decode())
                if locator
                else 0
            )
        except ValueError:
            raise ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None
        size_raw = call.params.get("maxRecords", "")
        size = int(size_raw) if size_raw.isdigit() and int(size_raw) > 0 else 50000
        page = job.query_rows[start : start + size]
        end = start + len(page)
        next_locator = (
            base64.b64encode(str(end).encode()).decode().rstrip("=")
            if end < len(job.query_rows)
            else "null"
        )
        text = self._csv(job, job.query_columns, [[_csv_value(v) for v in r] for r in page])
        return Out(
            payload=None,
            text=text,
            content_type="text/csv",
            headers={"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(page))},
        )


def _flat(record: Mapping[str, Any] | None, column: str) -> Any:
    value: Any = record
    for part in column.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

"""A minimal caller of the Salesforce emulator without sockets, shared by its tests."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from intacct_sync.sandbox._http import Exchange
from intacct_sync.sandbox.salesforce.api import API_VERSION, SalesforceApi

V = f"/services/data/v{API_VERSION}"


class Sf:
    """Calls ``api.handle`` directly with a token the emulator issued."""

    def __init__(self, api: SalesforceApi) -> None:
        self.api = api
        self.token = api.issue_token()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        raw: bytes | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """One request: JSON ``body`` or ``raw`` bytes; returns (status, payload, headers)."""
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
        reply = self.api.handle(
            Exchange(
                method=method,
                path=path,
                headers={"Authorization": f"Bearer {self.token}", **(headers or {})},
                body=data,
            )
        )
        payload: Any = reply.body.decode()
        if reply.body and reply.content_type.startswith("application/json"):
            payload = json.loads(reply.body)
        return reply.status, payload, dict(reply.headers)

    def query(
        self, soql: str, *, all_rows: bool = False, batch: int | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        """``GET …/query`` (or ``queryAll``), optionally with a batch size."""
        headers = {"Sforce-Query-Options": f"batchSize={batch}"} if batch else None
        resource = "queryAll" if all_rows else "query"
        return self.call("GET", f"{V}/{resource}?q={quote(soql)}", None, headers)

    def records(self, soql: str) -> Any:
        """The body of a successful query."""
        status, body, _ = self.query(soql)
        assert status == 200, body
        return body

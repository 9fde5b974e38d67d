"""REST facts the client depends on: every REST throttling and concurrency form retried through
the one retry loop (a quota stops), an inferred field name the company's model does not list
refused by name, and every error text of the REST emulator on record or marked synthetic."""

from __future__ import annotations

import ast
import importlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest

from intacct_sync import sandbox
from intacct_sync._http.transport import HttpResponse
from intacct_sync.errors import ControlError, FunctionError, InputError
from intacct_sync.intacct.rest import _protocol as wire

ROOT = Path(__file__).resolve().parents[1]
SANDBOX = ROOT / "intacct_sync" / "sandbox" / "intacct"


def _response(status: int, body: Any = None, **headers: str) -> HttpResponse:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    return HttpResponse(status=status, body=raw, headers=headers)


def _nested(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ia::result": {"ia::error": {"code": code, "message": message, **extra}}}


# -- throttling and concurrency: every plausible form ------------------------------------------

RETRYABLE = {
    "429 with Retry-After": (_response(429, _nested("GW-0010", "x"), **{"Retry-After": "3"}), 3),
    "429 without Retry-After": (_response(429, _nested("GW-0010", "x")), None),
    "429 with no body": (_response(429), None),
    "429 with an X-IA header only": (
        _response(429, None, **{"X-IA-Minute-Rate-Limit-Retry-After": "7"}),
        7,
    ),
    "503 html": (_response(503, b"<html>Service Unavailable</html>"), None),
    "503 with Retry-After": (_response(503, b"", **{"Retry-After": "2"}), 2),
    "400 naming GW-0010": (_response(400, {"ia::error": {"code": "GW-0010"}}), None),
    "422 with the concurrency wording in details": (
        _response(
            422,
            _nested(
                "invalidRequest",
                "Payload contains errors",
                errorId="REST-1064",
                details=[
                    {"message": "There are too many operations running for this company (200024)"}
                ],
            ),
        ),
        None,
    ),
    "bare error naming a rate limit": (
        _response(400, {"error": {"code": "x", "message": "API rate limit exceeded"}}),
        None,
    ),
}


@pytest.mark.parametrize("form", list(RETRYABLE))
def test_every_throttling_and_concurrency_form_is_retryable(form: str) -> None:
    response, wait = RETRYABLE[form]
    with pytest.raises(ControlError) as info:
        wire.raise_for_status(response, what="query", max_wait=30)
    assert info.value.should_retry, form
    assert info.value.retry_after == wait


def test_a_validation_error_is_not_mistaken_for_throttling() -> None:
    body = _nested("invalidRequest", "txnAmount is not a valid number", errorId="REST-1064")
    with pytest.raises(FunctionError):
        wire.raise_for_status(_response(422, body), what="create", max_wait=30)


@pytest.mark.parametrize(
    "response",
    [
        _response(429, _nested("GW-0010", "The daily API limit for this tier was reached")),
        _response(
            429,
            _nested("GW-0010", "Monthly quota exceeded"),
            **{"X-IA-Hour-Rate-Limit-Retry-After": "3600"},
        ),
    ],
    ids=["daily without a wait", "monthly with a long wait"],
)
def test_a_usage_quota_stops_with_a_clear_report(response: HttpResponse) -> None:
    with pytest.raises(ControlError, match="stopping") as info:
        wire.raise_for_status(response, what="query", max_wait=30)
    assert not info.value.should_retry
    assert "limit" in str(info.value).lower()


def test_throttling_and_concurrency_refusals_are_outwaited_on_the_sandbox(
    sb: sandbox.Sandbox,
) -> None:
    api = sb.intacct_rest
    api.throttle_retry_after = None  # the form without Retry-After: the policy's backoff
    with sb.intacct_client(protocol="rest") as ia:
        ia.query("GLACCOUNT", select=["ACCOUNTNO"])  # token and types first
        api.faults.throttle_rate = 0.5
        try:
            frame = ia.query("GLACCOUNT", select=["ACCOUNTNO", "TITLE"])
        finally:
            api.faults.throttle_rate = 0.0
        assert len(frame) > 0


def test_the_sandbox_answers_throttling_in_the_documented_envelope(sb: sandbox.Sandbox) -> None:
    from intacct_sync.sandbox._http import Exchange

    api = sb.intacct_rest
    api.faults.throttle_rate = 1.0
    try:
        with sb.intacct_client(protocol="rest") as ia:
            token = ia.rest_backend.oauth.access_token()
        exchange = Exchange(
            method="POST",
            path="/ia/api/v1/services/core/query",
            headers={"authorization": f"Bearer {token}"},
            body=b"{}",
        )
        reply = api.handle(exchange)
    finally:
        api.faults.throttle_rate = 0.0
    assert reply.status == 429  # §6.1, §6.3
    body = json.loads(reply.body)
    assert body["ia::result"]["ia::error"]["code"] == "GW-0010"  # §6.2 shape
    assert "totalError" in body["ia::meta"]


# -- inferred names checked against the company's model ----------------------------------------


@pytest.fixture
def model_without_credit_limit(
    sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> sandbox.Sandbox:
    api = sb.intacct_rest
    real = api._model

    def model(name: str) -> Any:
        reply = real(name)
        if name != "accounts-receivable/customer":
            return reply
        data = json.loads(reply.body)
        data["ia::result"]["fields"].pop("creditLimit")
        return type(reply)(status=reply.status, body=json.dumps(data).encode(), headers={})

    monkeypatch.setattr(api, "_model", model)
    return sb


def test_an_inferred_name_missing_from_the_model_is_refused_by_name_on_reads(
    model_without_credit_limit: sandbox.Sandbox,
) -> None:
    ia = model_without_credit_limit.intacct_client(protocol="rest")
    with ia, pytest.raises(InputError, match="CREDITLIMIT") as info:
        ia.query("CUSTOMER", select=["CUSTOMERID", "CREDITLIMIT"])
    assert info.value.field == "CREDITLIMIT" and info.value.value == "creditLimit"


def test_an_inferred_name_missing_from_the_model_is_left_out_of_star_with_a_warning(
    model_without_credit_limit: sandbox.Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    ia = model_without_credit_limit.intacct_client(protocol="rest")
    with ia, caplog.at_level(logging.WARNING, logger="intacct_sync.intacct.rest"):
        frame = ia.read_by_query("CUSTOMER", "")
    assert "CREDITLIMIT" not in frame.columns and "CUSTOMERID" in frame.columns
    assert "CREDITLIMIT (creditLimit)" in caplog.text


def test_an_inferred_name_missing_from_the_model_is_refused_by_name_on_writes(
    model_without_credit_limit: sandbox.Sandbox,
) -> None:
    ia = model_without_credit_limit.intacct_client(protocol="rest")
    with ia, pytest.raises(InputError, match="CREDITLIMIT") as info:
        ia.create("CUSTOMER", [{"CUSTOMERID": "C-NEW", "NAME": "New", "CREDITLIMIT": "10"}])
    assert info.value.row == 0
    records = model_without_credit_limit.intacct.records(sandbox.COMPANIES["nonprofit"], "CUSTOMER")
    assert not any(r.get("CUSTOMERID") == "C-NEW" for r in records)  # nothing was sent


def test_model_kinds_read_nested_groups_so_a_listed_field_is_found() -> None:
    model = {
        "ia::result": {
            "fields": {"id": {"type": "string"}},
            "groups": {
                "contacts": {
                    "groups": {"default": {"fields": {"printAs": {"type": "string"}}}},
                    "refs": {"term": {"fields": {"id": {"type": "string"}}}},
                }
            },
        }
    }
    kinds = wire.model_kinds(model)
    assert {"id", "contacts.default.printAs", "contacts.term.id"} <= set(kinds)


# -- the REST emulator's texts: on record or marked synthetic ----------------------------------

#: REST error texts on record (``../shared/reference/intacct-rest-api.md``), with where
REST_FACT_BACKED = {
    "The token is not valid": "§2.2, §6.2 [NANGO] (REST-2102 tokenInvalid)",
    "There are too many operations running for this company (200024)": (
        "intacct-api.md §13.7 (the XML wording; its REST use is marked synthetic below)"
    ),
}


def _text(node: ast.expr, module: object) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
        return str(getattr(module, node.id))
    return None


def _rest_texts() -> dict[str, str]:
    """Every message the REST emulator can answer (``_Fail`` messages, ``message`` members of
    error dicts) -> where it is written."""
    found: dict[str, str] = {}
    for path in sorted(SANDBOX.glob("rest*.py")):
        module = importlib.import_module(f"intacct_sync.sandbox.intacct.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text())):
            texts: list[str | None] = []
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_Fail":
                if len(node.args) >= 3:
                    texts.append(_text(node.args[2], module))
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value in ("message", "description"):
                        texts.append(_text(value, module))
            for text in texts:
                if text is not None:
                    found.setdefault(text, f"{path.name}:{getattr(node, 'lineno', 0)}")
    return found


def _documented_rest_synthetic() -> set[str]:
    doc = (ROOT / "docs" / "sandbox-coverage.md").read_text()
    block = "synthetic-rest-texts"
    section = doc.split(f"<!-- {block}:start -->")[1].split(f"<!-- {block}:end -->")[0]
    return set(re.findall(r"^- `(.*)`$", section, flags=re.M))


def test_zero_synthetic_rest_texts_left_unmarked() -> None:
    texts = _rest_texts()
    assert len(texts) > 10  # the scan sees the REST server's answers
    synthetic = _documented_rest_synthetic()
    unmarked = {t: w for t, w in texts.items() if t not in REST_FACT_BACKED and t not in synthetic}
    assert not unmarked, f"mark these in docs/sandbox-coverage.md (REST) or cite them: {unmarked}"
    stale = synthetic - set(texts)
    assert not stale, f"no longer said by the REST emulator: {stale}"

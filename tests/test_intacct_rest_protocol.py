"""The REST wire format, pure: envelopes, filter translation, errors, 207, paging, names, OAuth
helpers (no network)."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from intacct_sync._http.transport import HttpResponse
from intacct_sync.errors import (
    AuthenticationError,
    ConfigError,
    ControlError,
    FunctionError,
    InputError,
    ProtocolError,
)
from intacct_sync.intacct import filters as f
from intacct_sync.intacct._query_string import parse_query_string
from intacct_sync.intacct._writes import create_control_id
from intacct_sync.intacct.rest import _names, _oauth
from intacct_sync.intacct.rest import _protocol as wire
from tests.builders import balanced_entry

GLACCOUNT = _names.for_xml("GLACCOUNT")
GLENTRY = _names.for_xml("GLENTRY")
assert GLACCOUNT is not None and GLENTRY is not None


def _response(status: int, body: Any = None, **headers: str) -> HttpResponse:
    raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
    return HttpResponse(status=status, body=raw, headers=headers)


# -- urls and values ---------------------------------------------------------------------------


def test_object_urls_encode_document_names_and_join_batch_keys() -> None:
    base = "https://api.intacct.com/ia/api/v1"
    assert wire.object_url(base, "order-entry/document::Sales Order") == (
        base + "/objects/order-entry/document::Sales%20Order"
    )
    assert wire.object_url(base, "accounts-payable/bill", ["194", "195"]).endswith("/bill/194,195")


def test_values_go_out_as_rest_spells_them_and_floats_are_refused() -> None:
    assert wire.rest_value(Decimal("100.10")) == "100.10"
    assert wire.rest_value(dt.date(2026, 1, 31)) == "2026-01-31"
    assert wire.rest_value(dt.datetime(2026, 1, 31, 8, 0, tzinfo=dt.UTC)) == "2026-01-31T08:00:00Z"
    with pytest.raises(InputError, match="float"):
        wire.rest_value(0.1, row=3, field="TRX_AMOUNT")


# -- filters -----------------------------------------------------------------------------------


def test_filters_translate_names_values_and_nesting() -> None:
    spec = f.equal_to("ACCOUNTTYPE", "incomestatement") & (
        f.greater_than_or_equal_to("WHENMODIFIED", dt.datetime(2025, 5, 1, 0, 0))
        | f.in_("ACCOUNTNO", ["4000", "4010"])
    )
    filters, expression = wire.filter_to_rest(spec, GLACCOUNT)
    assert filters == [
        {"$eq": {"accountType": "incomeStatement"}},
        # local 2025-05-01 00:00, widened by the widest UTC offset (REST audit stamps are UTC)
        {"$gte": {"audit.modifiedDateTime": "2025-04-30T10:00:00Z"}},
        {"$in": {"id": ["4000", "4010"]}},
    ]
    assert expression == "1 and (2 or 3)"


def test_a_single_filter_needs_no_expression_and_dates_become_iso() -> None:
    filters, expression = wire.filter_to_rest(
        f.between("BATCH_DATE", dt.date(2025, 1, 1), dt.date(2025, 1, 31)), GLENTRY
    )
    assert filters == [{"$between": {"journalEntry.postingDate": ["2025-01-01", "2025-01-31"]}}]
    assert expression is None
    tr, _ = wire.filter_to_rest(f.equal_to("TR_TYPE", -1), GLENTRY)
    assert tr == [{"$eq": {"txnType": "credit"}}]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (f.like("TITLE", "Cash%"), {"$startsWith": {"name": "Cash"}}),
        (f.like("TITLE", "%Cash"), {"$endsWith": {"name": "Cash"}}),
        (f.like("TITLE", "%Cash%"), {"$contains": {"name": "Cash"}}),
        (f.not_like("TITLE", "%Cash%"), {"$notContains": {"name": "Cash"}}),
        (f.is_null("CATEGORY"), {"$eq": {"category": None}}),
        (f.is_not_null("CATEGORY"), {"$ne": {"category": None}}),
        (f.not_in("STATUS", ["inactive"]), {"$notIn": {"status": ["inactive"]}}),
    ],
)
def test_each_operator_has_its_rest_form(node: f.Filter, expected: dict[str, Any]) -> None:
    assert wire.filter_to_rest(node, GLACCOUNT)[0] == [expected]


def test_a_like_pattern_rest_cannot_express_is_refused_naming_it() -> None:
    with pytest.raises(InputError, match="C_sh"):
        wire.filter_to_rest(f.like("TITLE", "C_sh%"), GLACCOUNT)


def test_unmapped_names_pass_through_as_rest_paths() -> None:
    filters, _ = wire.filter_to_rest(f.equal_to("customField_c", "x"), GLACCOUNT)
    assert filters == [{"$eq": {"customField_c": "x"}}]


def test_query_body_puts_filter_parameters_inside_their_object() -> None:
    body = wire.query_body(
        "general-ledger/account",
        ["id"],
        filters=[{"$eq": {"id": "1"}}, {"$eq": {"id": "2"}}],
        expression="1 or 2",
        order_by=[("key", "asc")],
        case_insensitive=True,
        size=2000,
    )
    assert body["filterParameters"] == {"caseSensitiveComparison": False}
    assert "caseSensitiveComparison" not in body and "start" not in body
    assert body["orderBy"] == [{"key": "asc"}] and body["filterExpression"] == "1 or 2"
    with pytest.raises(InputError):
        wire.query_body("general-ledger/account", ["id"], size=4001)
    with pytest.raises(InputError):
        wire.query_body("general-ledger/account", [])


# -- paging ------------------------------------------------------------------------------------


def _page(rows: int, **meta: Any) -> wire.QueryPage:
    return wire.parse_page({"ia::result": [{"key": str(i)} for i in range(rows)], "ia::meta": meta})


@pytest.mark.parametrize("origin", [0, 1])
def test_next_is_followed_whatever_the_origin(origin: int) -> None:
    first = _page(3, totalCount=5, start=origin, pageSize=3, next=origin + 3, previous=None)
    assert wire.next_start(first, sent_start=None, asked=3, fetched=3) == origin + 3
    last = _page(2, totalCount=5, start=origin + 3, pageSize=3, next=None, previous=origin)
    assert wire.next_start(last, sent_start=origin + 3, asked=3, fetched=5) is None


@pytest.mark.parametrize("origin", [0, 1])
@pytest.mark.parametrize("cap", [2000, 4000])
def test_without_next_the_answers_own_start_and_size_drive_paging(origin: int, cap: int) -> None:
    # Asked 4000; a server capping at `cap` returns `cap` rows and says so in pageSize.
    page = _page(cap, totalCount=10_000, start=origin, pageSize=cap)
    assert wire.next_start(page, sent_start=None, asked=4000, fetched=cap) == origin + cap
    short = _page(cap - 1, start=origin, pageSize=cap)
    assert wire.next_start(short, sent_start=None, asked=4000, fetched=cap - 1) is None


def test_paging_stops_on_an_empty_page_or_the_total() -> None:
    assert wire.next_start(_page(0, next=7), sent_start=1, asked=5, fetched=5) is None
    assert wire.next_start(_page(5, totalCount=10), sent_start=6, asked=5, fetched=10) is None
    assert wire.next_start(_page(5), sent_start=None, asked=5, fetched=5) == 6  # origin unknown: 1


def test_a_query_answer_that_is_not_an_envelope_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        wire.parse_page({"ia::result": {"key": "1"}})
    with pytest.raises(ProtocolError):
        wire.parse_json(b"<html>busy</html>", http_status=502)


def test_money_reads_exactly_from_strings_and_json_numbers() -> None:
    data = wire.parse_json(b'{"ia::result": [{"txnAmount": "0.10", "exchangeRate": 0.78}]}')
    assert data["ia::result"][0]["exchangeRate"] == Decimal("0.78")


# -- errors ------------------------------------------------------------------------------------

_ERROR: dict[str, Any] = {
    "code": "invalidRequest",
    "message": "Payload contains errors",
    "errorId": "REST-1064",
    "supportId": "abc%7E1",
    "details": [
        {
            "code": "invalidRequest",
            "message": "newDate is not a valid field",
            "errorId": "REST-1043",
            "target": "/newDate",
        }
    ],
}
_NESTED: dict[str, Any] = {
    "ia::result": {"ia::error": _ERROR},
    "ia::meta": {"totalCount": 1, "totalSuccess": 0, "totalError": 1},
}


@pytest.mark.parametrize(
    "body",
    [
        _NESTED,
        {"ia::error": _ERROR},
        {"error": _ERROR},
    ],
)
def test_every_error_shape_maps_to_function_error_items(body: dict[str, Any]) -> None:
    with pytest.raises(FunctionError) as info:
        wire.raise_for_status(_response(422, body), what="create", max_wait=30)
    errors = info.value.errors
    assert [e.errorno for e in errors] == ["REST-1064", "REST-1043"]
    assert errors[1].description == "newDate is not a valid field"
    assert errors[1].description2 == "/newDate"
    assert info.value.http_status == 422 and not info.value.should_retry


@pytest.mark.parametrize(
    "response",
    [
        _response(
            401,
            {
                "error": {
                    "code": "tokenInvalid",
                    "message": "The token is not valid",
                    "errorId": "REST-2102",
                }
            },
        ),
        _response(400, {"ia::error": {"code": "invalidRequest", "message": "Invalid token"}}),
        _response(401, b""),
    ],
)
def test_token_refusals_are_authentication_errors(response: HttpResponse) -> None:
    with pytest.raises(AuthenticationError):
        wire.raise_for_status(response, what="query", max_wait=30)


def test_throttling_is_retryable_with_the_longest_wait_asked() -> None:
    response = _response(
        429,
        {"ia::error": {"code": "GW-0010"}},
        **{"Retry-After": "2", "X-IA-Minute-Rate-Limit-Retry-After": "5"},
    )
    with pytest.raises(ControlError) as info:
        wire.raise_for_status(response, what="query", max_wait=30)
    assert info.value.should_retry and info.value.retry_after == 5


def test_a_limit_longer_than_the_policy_allows_stops_with_a_clear_error() -> None:
    response = _response(429, None, **{"X-IA-Hour-Rate-Limit-Retry-After": "3600"})
    with pytest.raises(ControlError, match="3600s") as info:
        wire.raise_for_status(response, what="query", max_wait=30)
    assert not info.value.should_retry


def test_server_errors_and_html_pages_are_retryable() -> None:
    with pytest.raises(ControlError) as info:
        wire.raise_for_status(_response(503, b"<html>down</html>"), what="q", max_wait=30)
    assert info.value.should_retry
    with pytest.raises(ProtocolError):
        wire.raise_for_status(_response(200, b"<html>"), what="q", max_wait=30)


def test_success_answers_return_their_json() -> None:
    assert wire.raise_for_status(_response(204), what="delete", max_wait=1) is None
    assert wire.raise_for_status(
        _response(201, {"ia::result": {"key": "5"}}), what="c", max_wait=1
    ) == {"ia::result": {"key": "5"}}


# -- 207 ---------------------------------------------------------------------------------------


def test_a_multi_status_answer_becomes_one_result_per_record_in_order() -> None:
    body = {
        "ia::result": [
            {"key": "10", "id": "A", "href": "/x/10", "ia::status": 201},
            {
                "ia::error": {
                    "code": "invalidRequest",
                    "message": "bad account",
                    "errorId": "BL01001973",
                },
                "ia::status": 422,
            },
            {"ia::result": {"key": "12", "id": "C"}, "ia::status": 201},
        ],
        "ia::meta": {"totalCount": 3, "totalSuccess": 2, "totalError": 1},
    }
    items = wire.parse_items(body, http_status=207, sent=3)
    assert [(i.ok, i.key, i.status) for i in items] == [
        (True, "10", 201),
        (False, None, 422),
        (True, "12", 201),
    ]
    assert items[1].errors[0].errorno == "BL01001973"


def test_deletes_correlate_by_position_and_one_status_may_cover_all() -> None:
    assert [i.ok for i in wire.parse_items(None, http_status=204, sent=3)] == [True, True, True]
    covered = {"ia::result": {"ia::error": {"code": "unprocessed", "message": "x"}}}
    items = wire.parse_items(covered, http_status=207, sent=2)
    assert [(i.ok, i.code) for i in items] == [(False, "unprocessed"), (False, "unprocessed")]
    with pytest.raises(ProtocolError):
        wire.parse_items({"ia::result": [{}, {}, {}]}, http_status=207, sent=2)


# -- idempotency, model, names -----------------------------------------------------------------


def test_one_records_idempotency_key_is_its_xml_control_id() -> None:
    entry = balanced_entry("crm-1", title="t")
    cid = create_control_id(entry)
    assert wire.idempotency_key([cid]) == cid
    batch = wire.idempotency_key([cid, create_control_id(balanced_entry("crm-2", title="t"))])
    assert batch == wire.idempotency_key(
        [cid, create_control_id(balanced_entry("crm-2", title="t"))]
    )
    assert batch != wire.idempotency_key(
        [create_control_id(balanced_entry("crm-2", title="t")), cid]
    )
    assert len(wire.idempotency_key(["x" * 300])) <= 256


def test_model_kinds_read_fields_groups_and_refs() -> None:
    model = {
        "ia::result": {
            "fields": {
                "id": {"type": "string"},
                "postingDate": {"type": "string", "format": "date"},
                "lineNumber": {"type": "integer"},
                "isTaxable": {"type": "boolean"},
                "exchangeRate": {"type": "number"},
                "odd": {"type": "mystery"},
            },
            "groups": {
                "audit": {"fields": {"modifiedDateTime": {"type": "string", "format": "date-time"}}}
            },
            "refs": {"glAccount": {"fields": {"id": {}, "key": {}}}},
        }
    }
    assert wire.model_kinds(model) == {
        "id": "text",
        "postingDate": "date",
        "lineNumber": "integer",
        "isTaxable": "boolean",
        "exchangeRate": "decimal",
        "odd": "text",
        "audit.modifiedDateTime": "datetime",
        "glAccount.id": "text",
        "glAccount.key": "text",
    }


def test_the_name_map_is_one_to_one_per_object_and_words_round_trip() -> None:
    for obj in _names.REST_OBJECTS.values():
        assert len({fld.xml for fld in obj.fields}) == len(obj.fields), obj.path
        assert len({fld.rest for fld in obj.fields}) == len(obj.fields), obj.path
        for fld in obj.fields:
            for xml_word, rest_word in fld.values.items():
                assert fld.to_rest(xml_word) == rest_word and fld.to_xml(rest_word) == xml_word
    payment = _names.for_xml("ARPYMT")
    assert payment is not None
    assert payment.by_xml["PAYMENTMETHOD"].to_xml("onlineACHDebit") == "Online ACH Debit"
    assert _names.for_xml("GLBATCH", statistical=True) is _names.STAT_JOURNAL_ENTRY
    assert _names.split_aggregate("sum:txnAmount") == ("sum", "txnAmount")
    assert _names.split_aggregate("dimensions.nsp::fund.key") == ("", "dimensions.nsp::fund.key")


# -- OAuth helpers -----------------------------------------------------------------------------


def test_client_credentials_usernames() -> None:
    assert _oauth.compose_username("ws", "acme") == "ws@acme"
    assert _oauth.compose_username("ws", "acme", "east") == "ws@acme|east"
    with pytest.raises(ConfigError):
        _oauth.compose_username("ws@x", "acme")


def test_pkce_challenge_is_the_s256_of_the_verifier() -> None:
    import base64
    import hashlib

    verifier, challenge = _oauth.pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert challenge == digest.decode()


def test_the_token_cache_file_is_owner_only_and_replaced_whole(tmp_path: Path) -> None:
    cache = _oauth.FileTokenCache(tmp_path / "sub" / "tokens.json")
    cache.save("a", {"refresh_token": "r1"})
    cache.save("b", {"refresh_token": "r2"})
    cache.save("a", {"refresh_token": "r3"})
    path = tmp_path / "sub" / "tokens.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cache.load("a") == {"refresh_token": "r3"} and cache.load("b") == {"refresh_token": "r2"}
    assert [p.name for p in path.parent.iterdir()] == ["tokens.json"]  # no temp file left
    assert "r3" not in repr(cache)


def test_secrets_stay_out_of_reprs() -> None:
    token = _oauth.Token(access_token="acc-secret-1", refresh_token="ref-secret-1", expires_at=0)
    app = _oauth.OAuthApp(client_id="cid", client_secret="client-secret-1")
    assert "secret-1" not in repr(token) + repr(app)
    assert not token.fresh(0) and _oauth.Token(access_token="a", expires_at=100).fresh(39)


def test_a_token_without_expires_in_expires_at_its_jwt_exp() -> None:
    import base64

    payload = base64.urlsafe_b64encode(json.dumps({"exp": 1_900_000_000}).encode()).rstrip(b"=")
    jwt = f"e30.{payload.decode()}.sig"
    assert _oauth._jwt_exp(jwt) == 1_900_000_000
    assert _oauth._jwt_exp("opaque-token") is None
    assert _oauth._jwt_exp("a.!!!.c") is None


def test_a_local_datetime_bound_on_a_utc_field_is_widened_so_no_zone_misses_a_row() -> None:
    since = dt.datetime(2026, 3, 2, 9, 30)
    (low,), _ = wire.filter_to_rest(f.greater_than("WHENMODIFIED", since), GLACCOUNT)
    (high,), _ = wire.filter_to_rest(f.less_than_or_equal_to("WHENMODIFIED", since), GLACCOUNT)
    (both,), _ = wire.filter_to_rest(f.between("WHENMODIFIED", since, since), GLACCOUNT)
    assert low == {"$gt": {"audit.modifiedDateTime": "2026-03-01T19:30:00Z"}}
    assert high == {"$lte": {"audit.modifiedDateTime": "2026-03-02T23:30:00Z"}}
    assert both == {
        "$between": {"audit.modifiedDateTime": ["2026-03-01T19:30:00Z", "2026-03-02T23:30:00Z"]}
    }
    # dates are days, not instants: left as they are
    (day,), _ = wire.filter_to_rest(f.greater_than("BATCH_DATE", dt.date(2025, 1, 1)), GLENTRY)
    assert day == {"$gt": {"journalEntry.postingDate": "2025-01-01"}}


# -- readByQuery strings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("STATUS = 'T'", f.equal_to("STATUS", "active")),
        ("STATUS = 'F'", f.equal_to("STATUS", "inactive")),
        ("NAME = 'Jane\\'s Deli'", f.equal_to("NAME", "Jane's Deli")),
        ("TOTALDUE > 0", f.greater_than("TOTALDUE", 0)),
        ("A != 'x' AND B <> 'y'", f.not_equal_to("A", "x") & f.not_equal_to("B", "y")),
        (
            "(WHENMODIFIED >= '03/02/2026 09:30:00' OR TOTALDUE > 0) OR CUSTOMERID IN ('C1', 'C2')",
            f.or_(
                f.greater_than_or_equal_to("WHENMODIFIED", "03/02/2026 09:30:00"),
                f.greater_than("TOTALDUE", 0),
                f.in_("CUSTOMERID", ["C1", "C2"]),
            ),
        ),
        ("CREATEDFROM IS NOT NULL", f.is_not_null("CREATEDFROM")),
        ("PARENTID IS NULL", f.is_null("PARENTID")),
        ("NAME NOT LIKE 'Test%'", f.not_like("NAME", "Test%")),
        ("NOT ACCOUNTNO IN ('1000')", f.not_in("ACCOUNTNO", ["1000"])),
        ("ACCOUNTNO not in ('1000', '1010')", f.not_in("ACCOUNTNO", ["1000", "1010"])),
    ],
)
def test_read_by_query_strings_read_into_the_filter_dsl(
    text: str, expected: f.Filter | None
) -> None:
    assert parse_query_string(text) == expected


def test_query_strings_built_with_query_string_read_back_to_their_values() -> None:
    built = f.query_string("NAME = {} AND ACCOUNTNO IN {}", "O'Brien \\ Co", ["1", "2"])
    assert parse_query_string(built) == f.equal_to("NAME", "O'Brien \\ Co") & f.in_(
        "ACCOUNTNO", ["1", "2"]
    )


@pytest.mark.parametrize(
    "text",
    ["rownum < 10", "STATUS = ", "NOT (A = 'x' AND B = 'y')", "A = 'x' B = 'y'", "A = 'open"],
)
def test_query_strings_the_dsl_cannot_hold_are_refused_naming_the_query(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_query_string(text)
    assert caught.value.field == "query" and caught.value.value == text

"""Property tests: the XML builder, the SOQL formatter, and journal-entry balancing.

Builds on tests/test_intacct_properties.py (four JournalEntry fields, filters and query strings)
and tests/test_salesforce_soql.py (a fixed list of hostile strings): here *every* text field of
a JournalEntry and a Customer at once, any text through ``soql()`` checked by two independent
decoders (Salesforce's documented escapes, and the sandbox's own SOQL lexer), and balancing
checked against the sandbox gateway, which must accept every balanced entry and store nothing of
an unbalanced one.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from intacct_sync import RetryPolicy, sandbox
from intacct_sync.intacct import IntacctClient
from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._protocol import (
    Envelope,
    Function,
    SessionAuth,
    build_request,
    safe_parser,
)
from intacct_sync.intacct.models import Customer, JournalEntry, JournalLine
from intacct_sync.salesforce.soql import soql
from intacct_sync.sandbox.salesforce.soql import decode_string, tokenize

# Text XML 1.0 can carry (it has no way to write most C0 controls, lone surrogates, U+FFFE/F;
# a bare CR is normalised to LF by every XML parser, so it cannot survive either).
_NOT_XML = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n") + "\ufffe\uffff"
xml_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters=_NOT_XML),
    max_size=40,
)
markup = st.sampled_from(
    [
        '</function><function controlid="x"><delete>',
        "]]>",
        "&amp;",
        "&#60;",
        "<![CDATA[x]]>",
        "'\"<>&",
        "<?xml version='1.0'?>",
        "<!DOCTYPE r [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>&x;",
    ]
)
field_text = st.one_of(xml_text, markup, st.tuples(xml_text, markup, xml_text).map("".join))


def _request(body: etree._Element) -> etree._Element:
    raw = build_request(
        Envelope(sender_id="s", sender_password="p", control_id="c"),
        SessionAuth(session_id="x"),
        [Function(control_id="f1", body=body, is_write=True)],
    )
    return etree.fromstring(raw, parser=safe_parser())


def _shape(element: etree._Element) -> list[str]:
    return [element.getroottree().getpath(el) for el in element.iter()]


# -- the XML builder ------------------------------------------------------------------------------

ENTRY_FIELDS = ("title", "reference_no", "history_comment", "journal", "key")
LINE_FIELDS = ("account_no", "memo", "location", "department", "class_id")
ENTRY_PATHS = {
    "title": "BATCH_TITLE",
    "reference_no": "REFERENCENO",
    "history_comment": "HISTORY_COMMENT",
    "journal": "JOURNAL",
}
LINE_PATHS = {
    "account_no": "ACCOUNTNO",
    "memo": "DESCRIPTION",
    "location": "LOCATION",
    "department": "DEPARTMENT",
    "class_id": "CLASSID",
}


def _journal_entry(texts: dict[str, Any], line_texts: list[dict[str, Any]]) -> JournalEntry:
    return JournalEntry(
        batch_date=dt.date(2026, 2, 1),
        lines=[
            JournalLine(amount=Decimal("1.10"), tr_type=side, **texts_of_line)
            for side, texts_of_line in zip((1, -1), line_texts, strict=True)
        ],
        **texts,
    )


@settings(max_examples=150, deadline=None)
@given(
    texts=st.fixed_dictionaries({name: field_text for name in ENTRY_FIELDS}),
    lines=st.lists(
        st.fixed_dictionaries({name: field_text for name in LINE_FIELDS}), min_size=2, max_size=2
    ),
)
def test_any_text_in_any_journal_entry_field_parses_back_unchanged(
    texts: dict[str, Any], lines: list[dict[str, Any]]
) -> None:
    entry = _journal_entry(texts, lines)
    one: dict[str, Any] = dict.fromkeys(ENTRY_FIELDS, "x")
    each: dict[str, Any] = dict.fromkeys(LINE_FIELDS, "x")
    reference = _journal_entry(one, [each, each])
    parsed = _request(fn.create("GLBATCH", entry.to_fields()))
    assert _shape(parsed) == _shape(_request(fn.create("GLBATCH", reference.to_fields())))
    batch = parsed.find("operation/content/function/create/GLBATCH")
    assert batch is not None
    for name, tag in ENTRY_PATHS.items():
        assert (batch.findtext(tag) or "") == texts[name], name
    for element, line in zip(batch.findall("ENTRIES/GLENTRY"), lines, strict=True):
        for name, tag in LINE_PATHS.items():
            assert (element.findtext(tag) or "") == line[name], name
    assert [f.get("controlid") for f in parsed.iter("function")] == ["f1"]


CUSTOMER_FIELDS = {
    "customer_id": "CUSTOMERID",
    "name": "NAME",
    "email": "DISPLAYCONTACT/EMAIL1",
    "phone": "DISPLAYCONTACT/PHONE1",
    "address1": "DISPLAYCONTACT/MAILADDRESS/ADDRESS1",
    "city": "DISPLAYCONTACT/MAILADDRESS/CITY",
    "state": "DISPLAYCONTACT/MAILADDRESS/STATE",
    "zip": "DISPLAYCONTACT/MAILADDRESS/ZIP",
    "country": "DISPLAYCONTACT/MAILADDRESS/COUNTRY",
    "term_name": "TERMNAME",
}


@settings(max_examples=150, deadline=None)
@given(
    texts=st.fixed_dictionaries({name: field_text for name in CUSTOMER_FIELDS}),
    custom=field_text,
)
def test_any_text_in_any_customer_field_parses_back_unchanged(
    texts: dict[str, Any], custom: str
) -> None:
    customer = Customer(**texts, custom_fields={"SF_ACCOUNT_ID": custom})
    placeholders: dict[str, Any] = dict.fromkeys(CUSTOMER_FIELDS, "x")
    reference = Customer(**placeholders, custom_fields={"SF_ACCOUNT_ID": "x"})
    parsed = _request(fn.create("CUSTOMER", customer.to_fields()))
    assert _shape(parsed) == _shape(_request(fn.create("CUSTOMER", reference.to_fields())))
    record = parsed.find("operation/content/function/create/CUSTOMER")
    assert record is not None
    for name, path in CUSTOMER_FIELDS.items():
        assert (record.findtext(path) or "") == texts[name], name
    assert (record.findtext("DISPLAYCONTACT/PRINTAS") or "") == texts["name"]
    assert (record.findtext("SF_ACCOUNT_ID") or "") == custom


# -- the SOQL formatter ---------------------------------------------------------------------------

# Salesforce's quoted-string escapes (SOQL reference, "Quoted String Escape Sequences").
_SF_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'"}
_SF_ESCAPES["\\"] = "\\"


def _read_literal(query: str, start: int) -> tuple[str, int]:
    """Decode the quoted literal opening at ``query[start]`` the way Salesforce reads it;
    return the value and the index just past its closing quote."""
    assert query[start] == "'"
    out: list[str] = []
    i = start + 1
    while True:
        char = query[i]
        if char == "'":
            return "".join(out), i + 1
        if char == "\\":
            nxt = query[i + 1]
            if nxt in "uU":
                out.append(chr(int(query[i + 2 : i + 6], 16)))
                i += 6
                continue
            assert nxt.lower() in _SF_ESCAPES or nxt in _SF_ESCAPES, f"bad escape \\{nxt}"
            out.append(_SF_ESCAPES.get(nxt, _SF_ESCAPES.get(nxt.lower(), "")))
            i += 2
            continue
        assert char not in "\n\r" and ord(char) >= 0x20, f"raw control {char!r} in a literal"
        out.append(char)
        i += 1


any_text = st.text(max_size=60) | st.sampled_from(
    ["'", "\\", "\\'", "' OR Name != '", "x') OR (Id != null", "%_", "\\u0027", "LIMIT 1 --"]
)


@settings(max_examples=300, deadline=None)
@given(value=any_text)
def test_any_text_becomes_a_literal_that_reads_back_exactly_and_stays_closed(value: str) -> None:
    prefix = "SELECT Id FROM Account WHERE Name = "
    query = soql(prefix + "{} AND Id != null", value)
    assert query.startswith(prefix)
    decoded, end = _read_literal(query, len(prefix))
    assert decoded == value
    # The quote closes exactly where the formatter ended the literal: the rest is ours.
    assert query[end:] == " AND Id != null"
    # The sandbox's lexer (an independent implementation of the same rules) agrees.
    tokens = tokenize(query)
    strings = [t for t in tokens if t.kind == "string"]
    assert len(strings) == 1 and decode_string(strings[0].value) == value
    assert [t.value for t in tokens if t.kind != "string"] == [
        t.value for t in tokenize(prefix + "'x' AND Id != null") if t.kind != "string"
    ]


# -- journal-entry balancing ----------------------------------------------------------------------

FAST = RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.005)
COMPANY = sandbox.COMPANIES["nonprofit"]
_keys = itertools.count()


@pytest.fixture(scope="module")
def ia(shared_sb: sandbox.Sandbox) -> Iterator[IntacctClient]:
    with shared_sb.intacct_client(retry=FAST) as client:
        yield client


cents = st.integers(min_value=1, max_value=10**9)  # 0.01 .. 10,000,000.00


@st.composite
def balanced_sides(draw: Any) -> tuple[list[Decimal], list[Decimal]]:
    """Positive debit amounts, and a split of their total into positive credit amounts."""
    debits = draw(st.lists(cents, min_size=1, max_size=5))
    total = sum(debits)
    parts = draw(st.integers(min_value=1, max_value=min(5, total)))
    cuts = sorted(
        draw(
            st.lists(
                st.integers(min_value=1, max_value=total - 1),
                min_size=parts - 1,
                max_size=parts - 1,
                unique=True,
            )
        )
        if total > 1
        else []
    )
    bounds = [0, *cuts, total]
    credits = [b - a for a, b in itertools.pairwise(bounds)]
    return [Decimal(c).scaleb(-2) for c in debits], [Decimal(c).scaleb(-2) for c in credits]


def _entry(debits: list[Decimal], credits: list[Decimal]) -> JournalEntry:
    key = f"prop-balance-{next(_keys)}"
    return JournalEntry(
        key=key,
        journal="GJ",
        batch_date=dt.date(2026, 5, 4),
        title="balancing property",
        reference_no=key,
        lines=[JournalLine(account_no="1000", amount=a, tr_type=1) for a in debits]
        + [JournalLine(account_no="4000", amount=a, tr_type=-1) for a in credits],
    )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sides=balanced_sides())
def test_a_balanced_entry_has_no_imbalance_and_is_accepted(
    shared_sb: sandbox.Sandbox, ia: IntacctClient, sides: tuple[list[Decimal], list[Decimal]]
) -> None:
    debits, credits = sides
    entry = _entry(debits, credits)
    assert entry.imbalance == 0
    assert all(line.amount > 0 for line in entry.lines)
    outcome = ia.create("GLBATCH", [entry])
    assert outcome["status"].tolist() == ["created"], outcome["errors"].tolist()
    assert shared_sb.intacct.journal_entries_by_reference(COMPANY).get(entry.key) == 1


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sides=balanced_sides(),
    delta=st.integers(min_value=-(10**6), max_value=10**6).filter(bool),
    which=st.integers(min_value=0),
)
def test_an_unbalanced_entry_is_refused_and_nothing_is_stored(
    shared_sb: sandbox.Sandbox,
    ia: IntacctClient,
    sides: tuple[list[Decimal], list[Decimal]],
    delta: int,
    which: int,
) -> None:
    debits, credits = sides
    i = which % len(credits)
    shifted = credits[i] + Decimal(delta).scaleb(-2)
    if shifted <= 0:  # keep every line positive: move the difference to the debit side
        debits = [*debits[:-1], debits[-1] + Decimal(abs(delta)).scaleb(-2)]
    else:
        credits = [*credits[:i], shifted, *credits[i + 1 :]]
    entry = _entry(debits, credits)
    assert entry.imbalance != 0
    before = shared_sb.intacct.count(COMPANY, "GLBATCH")
    outcome = ia.create("GLBATCH", [entry])
    assert outcome["status"].tolist() == ["failed"]
    assert not outcome["done"].iloc[0]
    assert "balance" in str(outcome["errors"].iloc[0])
    assert shared_sb.intacct.count(COMPANY, "GLBATCH") == before
    assert entry.key not in shared_sb.intacct.journal_entries_by_reference(COMPANY)

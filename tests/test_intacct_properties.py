"""Property tests: arbitrary text in any field round-trips through build and parse without
changing the XML structure; filters and query strings keep user values as data."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._columns import page_columns
from intacct_sync.intacct._protocol import (
    Envelope,
    Function,
    SessionAuth,
    build_request,
    safe_parser,
)
from intacct_sync.intacct.filters import equal_to, query_string
from intacct_sync.intacct.models import JournalEntry, JournalLine

# XML 1.0 cannot carry most control characters at all; everything else must survive.
xml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=["Cs"],
        blacklist_characters="\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
        "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\ufffe\uffff\r",
    ),
    max_size=60,
)
hostile = st.one_of(
    xml_text,
    st.sampled_from(
        ["</function><function controlid='x'><delete>", "]]>", "&amp;", "<![CDATA[x]]>", "'\"<>&"]
    ),
)


def _tags(element: etree._Element) -> list[str]:
    return [str(el.tag) for el in element.iter()]


@settings(max_examples=150, deadline=None)
@given(title=hostile, memo=hostile, location=hostile, comment=hostile)
def test_journal_entry_text_round_trips_without_changing_structure(
    title: str, memo: str, location: str, comment: str
) -> None:
    entry = JournalEntry(
        key="k",
        journal="GJ",
        batch_date=dt.date(2026, 2, 1),
        title=title,
        history_comment=comment,
        lines=[
            JournalLine(account_no="1000", amount=Decimal("1.10"), tr_type=1, memo=memo),
            JournalLine(
                account_no="4000", amount=Decimal("1.10"), tr_type=-1, location=location or "HQ"
            ),
        ],
    )
    body = build_request(
        Envelope(sender_id="s", sender_password="p", control_id="c"),
        SessionAuth(session_id="x"),
        [Function(control_id="f1", body=fn.create("GLBATCH", entry.to_fields()))],
    )
    reference = build_request(
        Envelope(sender_id="s", sender_password="p", control_id="c"),
        SessionAuth(session_id="x"),
        [
            Function(
                control_id="f1",
                body=fn.create(
                    "GLBATCH",
                    JournalEntry(
                        key="k",
                        journal="GJ",
                        batch_date=dt.date(2026, 2, 1),
                        title="t",
                        history_comment="c",
                        lines=[
                            JournalLine(
                                account_no="1000", amount=Decimal("1.10"), tr_type=1, memo="m"
                            ),
                            JournalLine(
                                account_no="4000", amount=Decimal("1.10"), tr_type=-1, location="HQ"
                            ),
                        ],
                    ).to_fields(),
                ),
            )
        ],
    )
    parsed = etree.fromstring(body, parser=safe_parser())
    assert _tags(parsed) == _tags(etree.fromstring(reference, parser=safe_parser()))
    glbatch = parsed.find(".//GLBATCH")
    assert (glbatch.findtext("BATCH_TITLE") or "") == title
    assert (glbatch.findtext("HISTORY_COMMENT") or "") == comment
    assert (glbatch.findtext("ENTRIES/GLENTRY/DESCRIPTION") or "") == memo


@settings(max_examples=150, deadline=None)
@given(values=st.lists(hostile, min_size=1, max_size=5))
def test_record_values_parse_back_exactly(values: list[str]) -> None:
    record = etree.Element("customer")
    for i, value in enumerate(values):
        etree.SubElement(record, f"F{i}").text = value
    data = etree.fromstring(etree.tostring(etree.ElementTree(record)), parser=safe_parser())
    columns, _ = page_columns([data])
    assert [columns[f"F{i}"][0] or "" for i in range(len(values))] == values


@settings(max_examples=150, deadline=None)
@given(value=hostile)
def test_filter_values_stay_values(value: str) -> None:
    element = equal_to("NAME", value).to_element()
    parsed = etree.fromstring(etree.tostring(element), parser=safe_parser())
    assert _tags(parsed) == ["equalto", "field", "value"]
    assert (parsed.findtext("value") or "") == value


@settings(max_examples=200, deadline=None)
@given(value=hostile)
def test_query_string_literals_cannot_close_their_quotes(value: str) -> None:
    text = query_string("NAME = {}", value)
    literal = text[len("NAME = ") :]
    assert literal.startswith("'") and literal.endswith("'")
    inner = literal[1:-1]
    # every quote inside is escaped by an odd run of backslashes
    i = 0
    while i < len(inner):
        if inner[i] == "\\":
            i += 2
            continue
        assert inner[i] != "'"
        i += 1
    assert re.sub(r"\\(.)", r"\1", inner, flags=re.S) == value

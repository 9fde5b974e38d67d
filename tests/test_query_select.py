"""``query()`` the way an analyst types it, on both protocols: no ``select`` (or ``"*"``) reads
every field, field names in any case give the object's own column, a misspelt name is refused
with the right spelling before anything is sent, ``STATUS`` means the same on both read calls,
and the values a DataFrame holds filter as they read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from intacct_sync import IntacctClient, sandbox
from intacct_sync._http.transport import HttpRequest, HttpResponse, RequestsTransport, Timeout
from intacct_sync.config import IntacctProtocol
from intacct_sync.errors import InputError
from intacct_sync.intacct import filters
from intacct_sync.sandbox.intacct import reads as sandbox_reads
from intacct_sync.sandbox.intacct.context import FunctionFailed
from intacct_sync.sandbox.intacct.xml import Err

PROTOCOLS: tuple[IntacctProtocol, ...] = ("xml", "rest")


class Counting(RequestsTransport):
    """A requests transport that keeps each request's URL and body, to count what was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        self.sent.append(request.url.encode() + b" " + (request.body or b""))
        return super().send(request, timeout=timeout)

    def count(self, marker: bytes) -> int:
        return sum(marker in sent for sent in self.sent)


def _refuse(name: str) -> object:
    def refused(ctx: object, el: etree._Element) -> object:
        raise FunctionFailed(Err("DL02000001", f"{name} refused"))

    return refused


@pytest.fixture(params=PROTOCOLS)
def ia(request: pytest.FixtureRequest, shared_sb: sandbox.Sandbox) -> Iterator[IntacctClient]:
    with shared_sb.intacct_client("nonprofit", protocol=request.param) as client:
        yield client


def test_no_select_and_star_read_every_field_of_the_object(ia: IntacctClient) -> None:
    every = ia.query("GLACCOUNT")
    assert ia.query("GLACCOUNT", select="*").equals(every)
    assert ia.query("GLACCOUNT", select=" * ").equals(every)
    defined = list(ia.lookup("GLACCOUNT")["ID"])
    if ia.protocol == "xml":
        assert list(every.columns) == defined  # lookup's fields, in its order
    assert set(every.columns) <= set(defined)
    assert {"RECORDNO", "ACCOUNTNO", "TITLE", "STATUS"} <= set(every.columns)
    # every record, and the same records as readByQuery's "*"
    assert sorted(every["ACCOUNTNO"]) == sorted(ia.read_by_query("GLACCOUNT")["ACCOUNTNO"])
    pages = list(ia.iter_query("GLACCOUNT", page_size=15))
    assert sum(len(p) for p in pages) == len(every) and len(pages) >= 3


def test_star_is_every_field_on_both_protocols_alike(shared_sb: sandbox.Sandbox) -> None:
    read: dict[str, pd.DataFrame] = {}
    for protocol in PROTOCOLS:
        with shared_sb.intacct_client("nonprofit", protocol=protocol) as client:
            read[protocol] = client.query("GLACCOUNT", order_by=[("ACCOUNTNO", "ascending")])
    xml, rest = read["xml"], read["rest"]
    # REST reads the fields its name map holds (docs/xml-or-rest.md); those agree with XML's.
    shared = [c for c in rest.columns if c in xml.columns]
    assert shared == list(rest.columns) and len(shared) >= 10
    assert xml[shared].reset_index(drop=True).equals(rest[shared].reset_index(drop=True))


def test_star_asks_for_the_definition_once(shared_sb: sandbox.Sandbox) -> None:
    transport = Counting()
    with shared_sb.intacct_client("nonprofit", transport=transport) as client:
        client.query("DEPARTMENT")
        client.query("DEPARTMENT", select="*")
        client.query("DEPARTMENT", select=["departmentid"])
    assert transport.count(b"<lookup>") == 1
    assert transport.count(b"*") == 0  # query does not take *: the fields are named


def test_star_comes_from_inspect_when_lookup_is_refused(
    shared_sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    with shared_sb.intacct_client("nonprofit", typed=False) as client:
        untyped = client.query("DEPARTMENT")  # an untyped client still expands *
    monkeypatch.setitem(sandbox_reads.READ_FUNCTIONS, "lookup", _refuse("lookup"))
    with shared_sb.intacct_client("nonprofit") as client:
        from_inspect = client.query("DEPARTMENT")
        assert list(client.query("DEPARTMENT", select=["departmentid"]).columns) == ["DEPARTMENTID"]
    assert list(from_inspect.columns) == list(untyped.columns)
    assert {"DEPARTMENTID", "TITLE"} <= set(untyped.columns)


def test_without_any_definition_names_are_sent_as_given_and_star_is_explained(
    shared_sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sandbox_reads.READ_FUNCTIONS, "lookup", _refuse("lookup"))
    monkeypatch.setitem(sandbox_reads.READ_FUNCTIONS, "inspect", _refuse("inspect"))
    with shared_sb.intacct_client("nonprofit") as client:
        with pytest.raises(InputError, match=r"select='\*' needs the field list of GLACCOUNT"):
            client.query("GLACCOUNT")
        # Nothing to check the name against: Intacct's own answer decides.
        assert list(client.query("GLACCOUNT", select=["ACCOUNTNO"]).columns) == ["ACCOUNTNO"]


def test_field_names_in_any_case_give_the_objects_own_column(ia: IntacctClient) -> None:
    exact = ia.query(
        "GLACCOUNT",
        select=["ACCOUNTNO", "TITLE"],
        filter={"ACCOUNTTYPE": "incomestatement"},
        order_by=[("ACCOUNTNO", "descending")],
    )
    typed = ia.query(
        "GLACCOUNT",
        select=["accountno", "Title", "ACCOUNTNO"],
        filter=filters.equal_to("accounttype", "incomestatement"),
        order_by=[("AccountNo", "descending")],
    )
    assert list(typed.columns) == ["ACCOUNTNO", "TITLE"]
    assert typed.equals(exact) and len(exact) > 5
    assert list(ia.query("GLACCOUNT", select="accountno, title").columns) == [
        "ACCOUNTNO",
        "TITLE",
    ]
    assert list(ia.query("GLENTRY", select=["sum:trx_amount", "accountno"]).columns) == [
        "SUM.TRX_AMOUNT",
        "ACCOUNTNO",
    ]


def test_a_platform_objects_lowercase_fields_keep_their_spelling(ia: IntacctClient) -> None:
    values = ia.query("FUND", select=["ID", "Name"], order_by=[("ID", "ascending")])
    assert list(values.columns) == ["id", "name"]
    assert "GENERAL" in set(values["name"])


@pytest.mark.parametrize(
    ("call", "wrong", "right"),
    [
        ({"select": ["ACOUNTNO", "TITLE"]}, "ACOUNTNO", "ACCOUNTNO"),
        ({"select": ["sum:NORMALBALANC"]}, "NORMALBALANC", "NORMALBALANCE"),
        ({"select": ["TITLE"], "filter": {"STAUS": "active"}}, "STAUS", "STATUS"),
        ({"select": ["TITLE"], "filter": filters.like("titel", "S%")}, "titel", "TITLE"),
        ({"select": ["TITLE"], "order_by": [("acountno", "ascending")]}, "acountno", "ACCOUNTNO"),
    ],
)
def test_a_misspelt_field_is_refused_with_the_right_spelling_before_sending(
    shared_sb: sandbox.Sandbox, call: dict[str, Any], wrong: str, right: str
) -> None:
    for protocol in PROTOCOLS:
        transport = Counting()
        with shared_sb.intacct_client("nonprofit", protocol=protocol, transport=transport) as c:
            with pytest.raises(InputError) as refused:
                c.query("GLACCOUNT", **call)
            assert refused.value.field == wrong
            assert f"did you mean {right!r}" in str(refused.value)
            assert "GLACCOUNT" in str(refused.value)
        assert transport.count(b"<query>") == transport.count(b"core/query") == 0, protocol


def test_a_name_with_no_close_match_is_still_refused(ia: IntacctClient) -> None:
    with pytest.raises(InputError, match=r"GLACCOUNT has no field 'zzz' \(in select\)") as err:
        ia.query("GLACCOUNT", select=["zzz"])
    assert "did you mean" not in str(err.value)
    with pytest.raises(InputError, match="select needs field names"):
        ia.query("GLACCOUNT", select=[])


def test_status_means_the_same_on_both_read_calls(ia: IntacctClient) -> None:
    by_query = ia.read_by_query("GLACCOUNT", "STATUS = 'T'", fields=["ACCOUNTNO"])
    by_filter = ia.query("GLACCOUNT", select=["ACCOUNTNO"], filter={"STATUS": "active"})
    assert sorted(by_query["ACCOUNTNO"]) == sorted(by_filter["ACCOUNTNO"])
    assert 0 < len(by_filter) < len(ia.query("GLACCOUNT", select=["ACCOUNTNO"]))
    inactive = ia.read_by_query("GLACCOUNT", "STATUS = 'F'", fields=["ACCOUNTNO"])
    assert sorted(inactive["ACCOUNTNO"]) == sorted(
        ia.query("GLACCOUNT", select=["ACCOUNTNO"], filter={"status": "inactive"})["ACCOUNTNO"]
    )
    # T/F in a query() filter would silently match nothing on a real tenant (§13.3): refused
    # with the word that works.
    with pytest.raises(InputError, match="write 'active', not 'T'"):
        ia.query("GLACCOUNT", select=["ACCOUNTNO"], filter={"STATUS": "T"})
    with pytest.raises(InputError, match="write 'inactive', not 'f'"):
        ia.query("GLACCOUNT", select=["ACCOUNTNO"], filter=filters.equal_to("status", "f"))


def test_values_taken_from_a_frame_filter_as_they_read(ia: IntacctClient) -> None:
    entries = ia.query(
        "GLENTRY",
        select=["RECORDNO", "ENTRY_DATE", "TRX_AMOUNT"],
        order_by=[("RECORDNO", "ascending")],
    )
    row = entries.iloc[len(entries) // 2]
    recordno, day = row["RECORDNO"], row["ENTRY_DATE"]
    assert isinstance(day, pd.Timestamp)
    one = ia.query("GLENTRY", select=["RECORDNO"], filter={"RECORDNO": np.int64(recordno)})
    assert list(one["RECORDNO"]) == [recordno]
    on_day = ia.query("GLENTRY", select=["RECORDNO", "ENTRY_DATE"], filter={"entry_date": day})
    assert len(on_day) == int((entries["ENTRY_DATE"] == day).sum()) > 0
    several = ia.query(
        "GLENTRY", select=["RECORDNO"], filter={"RECORDNO": list(entries["RECORDNO"][:3])}
    )
    assert sorted(several["RECORDNO"]) == sorted(entries["RECORDNO"][:3])
    later = ia.query("GLENTRY", select=["RECORDNO"], filter=filters.greater_than("ENTRY_DATE", day))
    assert len(later) == int((entries["ENTRY_DATE"] > day).sum())

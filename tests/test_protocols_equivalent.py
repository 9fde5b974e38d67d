"""Every workflow on either protocol: the same calls over the XML gateway and over the REST API
land the same records in the books, and the same reads give the same frames."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from intacct_sync import IntacctClient, actions, kpi, sandbox, sync
from intacct_sync.config import IntacctProtocol
from intacct_sync.errors import ConfigError, FunctionError
from intacct_sync.intacct import filters
from intacct_sync.state import SQLiteStateStore

NP = sandbox.COMPANIES["nonprofit"]
CO = sandbox.COMPANIES["itservices"]
PROTOCOLS: tuple[IntacctProtocol, ...] = ("xml", "rest")
# What the books assign on their own: record numbers, batch numbers, audit stamps.
_ASSIGNED = {"RECORDNO", "BATCHNO", "BATCH_NUMBER", "WHENCREATED", "WHENMODIFIED", "DOCNO"}
_ASSIGNED |= {"CREATEDBY", "MODIFIEDBY", "DOCID", "PRRECORDKEY", "DOCHDRNO", "DOCHDRID"}


def books(sb: sandbox.Sandbox, company: str, obj: str) -> list[tuple[tuple[str, Any], ...]]:
    """The object's records as the store holds them, without what the books assign."""
    rows = sb.intacct.records(company, obj)
    return sorted(
        tuple(sorted((k, v) for k, v in row.items() if k not in _ASSIGNED and "KEY" not in k))
        for row in rows
    )


def run_on(
    protocol: IntacctProtocol, company: sandbox.Company, work: Any
) -> tuple[sandbox.Sandbox, Any]:
    """Run ``work(sb, ia, sf)`` on a fresh sandbox; the sandbox is stopped on return."""
    with sandbox.running() as sb:
        with sb.intacct_client(company, protocol=protocol) as ia, sb.salesforce_client() as sf:
            result = work(sb, ia, sf)
        return sb, result


@pytest.fixture(scope="module")
def shared() -> Iterator[sandbox.Sandbox]:
    with sandbox.running() as running:
        yield running


def test_actions_to_journal_entries_land_the_same_entries_on_both() -> None:
    landed: dict[str, Any] = {}
    for protocol in PROTOCOLS:

        def work(sb: sandbox.Sandbox, ia: IntacctClient, sf: Any) -> Any:
            report = actions.ActionSync(ia, sf, SQLiteStateStore(":memory:"), on_invalid="skip")
            first = report.run()
            second = report.run()  # a rerun posts nothing: the books are read over each
            return (
                first.count("posted"),
                first.count("invalid"),
                second.count("posted"),
                books(sb, NP, "GLBATCH"),
                books(sb, NP, "GLENTRY"),
            )

        landed[protocol] = run_on(protocol, "nonprofit", work)[1]
    assert landed["xml"][:3] == landed["rest"][:3] == (189, 6, 0)
    assert landed["rest"][3] == landed["xml"][3]
    assert landed["rest"][4] == landed["xml"][4]


def test_kpi_statistical_entries_land_the_same_entries_on_both() -> None:
    day = dt.date(2026, 3, 2)
    totals = pd.DataFrame(
        [
            {"date": day + dt.timedelta(days=i), "kpi": name, "value": Decimal(v)}
            for name, series in {
                "donors": [381, 383, 380],
                "active_donors": [219, 219, 221],
            }.items()
            for i, v in enumerate(series)
        ]
    )
    accounts = {"donors": "9000", "active_donors": "9010"}
    landed: dict[str, Any] = {}
    for protocol in PROTOCOLS:

        def work(sb: sandbox.Sandbox, ia: IntacctClient, sf: Any) -> Any:
            state = SQLiteStateStore(":memory:")
            report = kpi.post_changes(
                ia,
                kpi.changes(totals, kpi.recorded_totals(state=state)),
                state=state,
                accounts=accounts,
            )
            kpi.record_totals(totals, state=state)
            holdings = kpi.check_holdings(ia, totals, accounts=accounts).ok
            return report.new_entries, holdings, books(sb, NP, "GLBATCH"), books(sb, NP, "GLENTRY")

        landed[protocol] = run_on(protocol, "nonprofit", work)[1]
    assert landed["xml"][:2] == landed["rest"][:2] == (5, True)
    assert landed["rest"][2:] == landed["xml"][2:]


def test_order_to_cash_and_reconciliation_land_the_same_documents_on_both() -> None:
    landed: dict[str, Any] = {}
    for protocol in PROTOCOLS:

        def work(sb: sandbox.Sandbox, ia: IntacctClient, sf: Any) -> Any:
            state = SQLiteStateStore(":memory:")
            sync.sync_order_to_cash(sf, ia, state)
            counts = sync.reconcile(sf, ia, state).counts()
            crm = sorted(
                (r["Invoice_Number__c"], str(r["Due__c"]), r["Days_Overdue__c"])
                for r in sb.salesforce.rows("Intacct_Invoice__c")
            )
            return counts, crm, books(sb, CO, "SODOCUMENT"), books(sb, CO, "CUSTOMER")

        landed[protocol] = run_on(protocol, "itservices", work)[1]
    assert landed["rest"][0] == landed["xml"][0]
    assert landed["xml"][0]["document missing in Intacct"] == 3
    assert landed["rest"][1] == landed["xml"][1] and len(landed["xml"][1]) > 40
    assert landed["rest"][2] == landed["xml"][2]
    assert landed["rest"][3] == landed["xml"][3]


@pytest.mark.parametrize(
    ("obj", "query", "fields"),
    [
        ("GLACCOUNT", "STATUS = 'T'", ["ACCOUNTNO", "TITLE", "ACCOUNTTYPE", "NORMALBALANCE"]),
        ("STATACCOUNT", "", ["ACCOUNTNO", "TITLE", "STATUS"]),
        ("LOCATION", "", ["LOCATIONID", "NAME", "STATUS"]),
        ("DEPARTMENT", "STATUS = 'T' AND NOT DEPARTMENTID = 'ZZZ'", ["DEPARTMENTID", "TITLE"]),
        ("GLBATCH", "", ["RECORDNO", "JOURNAL", "BATCH_DATE", "REFERENCENO", "STATE"]),
        ("GLENTRY", "TR_TYPE = 1", ["RECORDNO", "BATCHNO", "ACCOUNTNO", "TRX_AMOUNT"]),
    ],
)
def test_read_by_query_gives_the_same_frame_on_both(
    shared: sandbox.Sandbox, obj: str, query: str, fields: list[str]
) -> None:
    with shared.intacct_client() as xml, shared.intacct_client(protocol="rest") as rest:
        a, b = (
            xml.read_by_query(obj, query, fields=fields),
            rest.read_by_query(obj, query, fields=fields),
        )
    assert len(a) > 0
    sort = [fields[0]]
    pd.testing.assert_frame_equal(
        a.sort_values(sort, ignore_index=True), b.sort_values(sort, ignore_index=True)
    )


def test_query_and_read_give_the_same_frames_on_both(shared: sandbox.Sandbox) -> None:
    select = ["RECORDNO", "BATCHNO", "ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT", "LOCATION"]
    with shared.intacct_client() as xml, shared.intacct_client(protocol="rest") as rest:
        frames = [
            ia.query("GLENTRY", select=select, filter=filters.equal_to("ACCOUNTNO", "4000"))
            for ia in (xml, rest)
        ]
        names = [
            ia.read_by_name("GLACCOUNT", ["1000", "4000"], fields=["ACCOUNTNO"])
            for ia in (xml, rest)
        ]
        dims = [ia.dimensions() for ia in (xml, rest)]
        kinds = [ia.field_kinds("GLACCOUNT")["ACCOUNTNO"] for ia in (xml, rest)]
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert all(isinstance(v, Decimal) for v in frames[0]["TRX_AMOUNT"])
    pd.testing.assert_frame_equal(names[0], names[1])
    pd.testing.assert_frame_equal(dims[0], dims[1])
    assert kinds[0] == kinds[1] == "text"


def test_read_returns_the_same_line_children_on_both(shared: sandbox.Sandbox) -> None:
    with shared.intacct_client() as xml, shared.intacct_client(protocol="rest") as rest:
        keys = list(xml.query("GLBATCH", select=["RECORDNO"])["RECORDNO"][:4])
        parents = [ia.read("GLBATCH", keys) for ia in (xml, rest)]
        lines = [
            ia.children(p[p["RECORDNO"] != keys[0]], "ENTRIES")
            for ia, p in zip((xml, rest), parents, strict=True)
        ]
    columns = ["parent_id", "RECORDNO", "BATCHNO", "LINE_NO", "ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT"]
    a, b = (frame[columns].sort_values("RECORDNO", ignore_index=True) for frame in lines)
    assert len(a) > 0 and str(keys[0]) not in set(a["parent_id"])
    pd.testing.assert_frame_equal(a, b)


def test_sales_documents_come_with_the_same_line_frames_on_both(
    shared: sandbox.Sandbox,
) -> None:
    with (
        shared.intacct_client("itservices") as xml,
        shared.intacct_client("itservices", protocol="rest") as rest,
    ):
        orders = xml.read_by_query("SODOCUMENT", docparid="Sales Order", fields=["RECORDNO"])
        keys = list(orders["RECORDNO"][:3])
        parents = [ia.read("SODOCUMENT", keys) for ia in (xml, rest)]
        lines = [
            ia.children(p, "SODOCUMENTENTRIES") for ia, p in zip((xml, rest), parents, strict=True)
        ]
    a, b = (frame.sort_values("RECORDNO", ignore_index=True) for frame in lines)
    assert len(a) >= len(keys) and set(a["parent_id"]) == {str(k) for k in keys}
    assert list(a.columns) == list(b.columns) and all(isinstance(v, Decimal) for v in a["PRICE"])
    assert a.attrs.get("kinds") == b.attrs.get("kinds")
    pd.testing.assert_frame_equal(a, b)


def test_a_user_defined_dimension_is_read_by_its_xml_name_over_rest(
    shared: sandbox.Sandbox,
) -> None:
    with shared.intacct_client() as xml, shared.intacct_client(protocol="rest") as rest:
        a, b = (ia.query("FUND", select=["id", "name"]) for ia in (xml, rest))
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


def test_xml_only_calls_over_rest_are_refused_by_name(shared: sandbox.Sandbox) -> None:
    with shared.intacct_client(protocol="rest") as rest:
        with pytest.raises(ConfigError, match="inspect is an XML gateway call"):
            rest.inspect("GLACCOUNT")
        with pytest.raises(ConfigError, match="execute is an XML gateway call"):
            rest.execute([])
        with pytest.raises(AttributeError, match="rest_credentials"):
            _ = rest.credentials
        assert rest.protocol == "rest" and rest.company_id == NP and rest.batch_size == 500


def test_from_env_chooses_the_protocol_from_the_environment(
    shared: sandbox.Sandbox, tmp_path: Any
) -> None:
    env = shared.intacct_env(protocol="rest")
    with IntacctClient.from_env(environ=env, profile_file=tmp_path / "none.ini") as ia:
        assert ia.protocol == "rest"
        assert len(ia.read_by_query("GLACCOUNT", fields=["ACCOUNTNO"])) > 0
    profile = tmp_path / "credentials.ini"
    profile.write_text(
        "[default]\nprotocol = rest\n"
        + "".join(
            f"{k[len('INTACCT_') :].lower()} = {v}\n"
            for k, v in env.items()
            if k != "INTACCT_PROTOCOL"
        )
    )
    profile.chmod(0o600)
    with IntacctClient.from_env(environ={}, profile_file=profile) as ia:
        assert ia.protocol == "rest" and ia.company_id == NP
    with IntacctClient.from_env(
        environ=shared.intacct_env(), profile_file=profile, protocol="xml"
    ) as ia:
        assert ia.protocol == "xml"
    with pytest.raises(ConfigError, match="INTACCT_PROTOCOL must be 'xml' or 'rest'"):
        IntacctClient.from_env(environ={"INTACCT_PROTOCOL": "soap"})


def test_no_rest_secret_in_repr_or_errors(shared: sandbox.Sandbox) -> None:
    from intacct_sync.sandbox.intacct.rest_oauth import CLIENT_SECRET

    with shared.intacct_client(protocol="rest") as ia:
        ia.read_by_query("GLACCOUNT", fields=["ACCOUNTNO"])
        shown = repr(ia) + repr(ia.rest_credentials) + repr(ia.rest_backend.oauth)
    assert CLIENT_SECRET not in shown
    with pytest.raises(ConfigError) as caught:
        IntacctClient(protocol="rest", client_secret=CLIENT_SECRET, company_id="c", user_id="u")
    assert CLIENT_SECRET not in str(caught.value)


def test_a_rest_run_at_debug_logs_no_secret_or_token(
    shared: sandbox.Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    from intacct_sync.sandbox.intacct.rest_oauth import CLIENT_SECRET

    caplog.set_level(logging.DEBUG)
    with shared.intacct_client(protocol="rest") as ia:
        ia.read_by_query("GLACCOUNT", "STATUS = 'T'", fields=["ACCOUNTNO"])
        token = ia.rest_backend.oauth.access_token()
        session_id, _ = ia.rest_backend.xml_session()
        with pytest.raises(FunctionError) as refused:
            # A dotted path passes the client's own select check and is refused by the server.
            ia.query("GLACCOUNT", select=["nosuch.field"])
    text = caplog.text + str(refused.value) + repr(refused.value)
    assert token and session_id
    for secret in (CLIENT_SECRET, token, session_id):
        assert secret not in text

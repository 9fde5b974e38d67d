"""One test per fact about real Intacct tenants (``../shared/reference/intacct-api.md`` §13),
each reading the conformance sample or quoting the fact sheet's example, checked against the
sandbox and the client. The last tests scan the emulator for error texts that are neither on
record nor marked synthetic in docs/sandbox-coverage.md.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import logging
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree
from lxml.builder import E

from intacct_sync import sandbox
from intacct_sync.actions import TagSettings, build_catalog, validate
from intacct_sync.actions.catalog import CustomDimension
from intacct_sync.errors import FunctionError, InputError
from intacct_sync.intacct import IntacctClient, filters
from intacct_sync.intacct import _functions as fn
from intacct_sync.intacct._fields import inspect_rows, sniff_kind, types_from_inspect
from intacct_sync.intacct._protocol import element_from_mapping
from intacct_sync.intacct.models import JournalEntry, JournalLine, SalesOrder, SalesOrderLine
from intacct_sync.kpi import trends
from intacct_sync.sandbox.intacct import gateway
from intacct_sync.sandbox.intacct import reads as sandbox_reads
from intacct_sync.sandbox.intacct import writes as sandbox_writes
from intacct_sync.sandbox.intacct.context import FunctionFailed
from intacct_sync.sandbox.intacct.gateway import IntacctGateway
from intacct_sync.sandbox.intacct.xml import Err
from tests.test_sandbox_intacct_gateway import NP, call, errors, glbatch, ok_data, one, rbq

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "conformance" / "intacct"
SANDBOX = ROOT / "intacct_sync" / "sandbox" / "intacct"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="module")
def shared_sb() -> Iterator[sandbox.Sandbox]:
    with sandbox.running() as running:
        yield running


@pytest.fixture
def gw() -> IntacctGateway:
    return IntacctGateway()


# -- §13.2 GLENTRY and GLBATCH field names ------------------------------------------------------


def _lookup_ids(gw: IntacctGateway, obj: str) -> set[str]:
    data = ok_data(one(gw, E.lookup(E.object(obj))))
    return {f.findtext("ID") or "" for f in data.iter("Field")}


def test_glentry_has_the_recorded_fields_and_no_journal(gw: IntacctGateway) -> None:
    """§13.2: the docs' readByQuery row shows RECORDNO, BATCHNO, LINE_NO, TR_TYPE, ENTRY_DATE,
    AMOUNT, TRX_AMOUNT, BATCH_NUMBER, BATCH_DATE, BATCHTITLE, ACCOUNTNO, ACCOUNTTITLE,
    STATISTICAL; no source shows JOURNAL or BATCH_TITLE on GLENTRY."""
    fields = _lookup_ids(gw, "GLENTRY")
    recorded = {
        "RECORDNO", "BATCHNO", "LINE_NO", "TR_TYPE", "ENTRY_DATE", "AMOUNT", "TRX_AMOUNT",
        "BATCH_NUMBER", "BATCH_DATE", "BATCHTITLE", "ACCOUNTNO", "ACCOUNTTITLE", "STATISTICAL",
        "CURRENCY", "BASECURR", "EXCHANGE_RATE", "EXCH_RATE_DATE",
    }  # fmt: skip
    assert recorded <= fields
    assert not {"JOURNAL", "BATCH_TITLE"} & fields


def test_glbatch_carries_journal_title_and_base_location(gw: IntacctGateway) -> None:
    """§13.2: the docs' GLBATCH sample has JOURNAL, BATCHNO, BATCH_TITLE, REFERENCENO,
    BASELOCATION_NO, STATE."""
    assert {"JOURNAL", "BATCHNO", "BATCH_TITLE", "REFERENCENO", "BASELOCATION_NO", "STATE"} <= (
        _lookup_ids(gw, "GLBATCH")
    )


def test_line_batchno_is_the_parent_recordno_and_batch_number_its_journal_number(
    shared_sb: sandbox.Sandbox,
) -> None:
    """§13.2: lines of the entry whose RECORDNO is 6679 are selected with BATCHNO = '6679',
    while BATCH_NUMBER holds the entry's per-journal BATCHNO (249 in the sample);
    STATISTICAL reads as a one-letter flag."""
    ia = shared_sb.intacct_client()
    batches = ia.query(
        "GLBATCH", select=["RECORDNO", "BATCHNO", "JOURNAL"], filter={"JOURNAL": "STAT"}
    )
    batch = batches.iloc[-1]
    lines = ia.query(
        "GLENTRY",
        select=["BATCHNO", "BATCH_NUMBER", "STATISTICAL"],
        filter=filters.equal_to("BATCHNO", int(batch["RECORDNO"])),
    )
    assert len(lines) and set(lines["BATCHNO"]) == {batch["RECORDNO"]}
    assert set(lines["BATCH_NUMBER"]) == {batch["BATCHNO"]}
    assert set(lines["STATISTICAL"]) == {"T"}


def test_journal_filter_goes_through_glbatch(shared_sb: sandbox.Sandbox) -> None:
    """§13.9: the journal of a line is read from GLBATCH (RECORDNO, JOURNAL) joined on
    GLENTRY.BATCHNO; GLENTRY is never filtered or selected on JOURNAL."""
    ia = shared_sb.intacct_client()
    sent: list[etree._Element] = []
    original = ia._execute  # every request goes through it

    def spy(functions, **kw):
        sent.extend(f.body for f in functions)
        return original(functions, **kw)

    ia._execute = spy  # type: ignore[method-assign]
    crj = trends.gl_by_period(ia, ["1000"], journals=["CRJ"], by=["ACCOUNTNO", "JOURNAL"])
    everything = trends.gl_by_period(ia, ["1000"], by=["ACCOUNTNO", "JOURNAL"])
    assert set(crj["JOURNAL"]) == {"CRJ"}
    assert {"CRJ", "GJ"} <= set(everything["JOURNAL"])
    glentry = [q for q in sent if q.tag == "query" and q.findtext("object") == "GLENTRY"]
    assert glentry and all("JOURNAL" not in etree.tostring(q).decode() for q in glentry)
    assert any(q.findtext("object") == "GLBATCH" for q in sent if q.tag == "query")


# -- §13.5 user-defined dimensions ----------------------------------------------------------


def test_udds_are_listed_by_get_dimensions(shared_sb: sandbox.Sandbox) -> None:
    """§13.5: getDimensions entries with userDefinedDimension true; objectName is the
    integration name, termLabel the label."""
    dims = shared_sb.intacct_client().dimensions()
    udds = dims[dims["userDefinedDimension"].fillna(False).astype(bool)]
    assert udds["objectName"].tolist() == ["FUND"] and udds["termLabel"].tolist() == ["Fund"]
    assert not bool(dims.loc[dims["objectName"] == "LOCATION", "userDefinedDimension"].iloc[0])
    assert CustomDimension.discover(shared_sb.intacct_client()).line_field == "GLDIMFUND"


def test_udd_values_are_platform_records_with_integer_ids(shared_sb: sandbox.Sandbox) -> None:
    """§13.5: values are read with query on the objectName, fields id, name, createdBy,
    updatedBy; live rows look like {id: '10003', name: 'CCC', createdBy: '10', ...}."""
    values = shared_sb.intacct_client().query(
        "FUND", select=["id", "name", "createdBy", "updatedBy"]
    )
    assert list(values.columns) == ["id", "name", "createdBy", "updatedBy"]
    assert values["id"].min() > 10000 and "GENERAL" in set(values["name"])
    assert set(values["createdBy"]) == {10}


def test_gldim_takes_the_udd_id_not_its_name(gw: IntacctGateway) -> None:
    """§13.5: writing GLDIM<integration name> takes the UDD record's integer id; the read gives
    the id back (GLDIMPLACE 10031 in a live tenant's rows, §13.2)."""
    fund = next(r for r in gw.records(NP, "FUND") if r["name"] == "GENERAL")
    lines = [("5000", 1, "10"), ("1000", -1, "10")]
    posted = ok_data(one(gw, E.create(glbatch("GJ", lines, GLDIMFUND=fund["id"]))))
    recordno = posted[0].findtext("RECORDNO")
    stored = [r for r in gw.records(NP, "GLENTRY") if r["BATCHNO"] == recordno]
    assert {r["GLDIMFUND"] for r in stored} == {fund["id"]}
    refused = one(gw, E.create(glbatch("GJ", lines, GLDIMFUND="GENERAL")))
    assert ("BL01001973", "Invalid Fund 'GENERAL' specified.") in errors(refused)


def test_catalog_tags_carry_the_udd_name_and_lines_its_id(shared_sb: sandbox.Sandbox) -> None:
    """§13.5: the catalog reads the UDD by query; validation hands journal building the id."""
    ia = shared_sb.intacct_client()
    settings = TagSettings(custom="available")
    catalog = build_catalog(ia, settings)
    custom = catalog[catalog["attribute"] == "custom"]
    fund_ids = ia.query("FUND", select=["id", "name"])
    general = str(fund_ids.loc[fund_ids["name"] == "GENERAL", "id"].iloc[0])
    assert "CR Custom: GENERAL" in set(custom["tag"])
    assert set(custom.loc[custom["value"] == "GENERAL", "wire_value"]) == {general}
    tags = ";".join(
        [
            "CR Account: 4000 Contributions",
            "DR Account: 1000 Cash",
            "CR Custom: GENERAL",
            "DR Custom: GENERAL",
        ]
    )
    actions = pd.DataFrame(
        {
            "Id": ["a1"],
            "Amount__c": [Decimal("10")],
            "Happened_At__c": [pd.Timestamp("2026-01-05T10:00:00Z")],
            "Tags__c": [tags],
        }
    )
    report = validate(actions, catalog, settings)
    assert report.ok, report.issues
    assert report.valid["custom_cr"].tolist() == [general]


# -- §13.4 lookup, inspect, and typing without them ---------------------------------------------


def _shape(field: etree._Element) -> list[str]:
    return [str(child.tag) for child in field]


def test_sandbox_inspect_is_shaped_like_the_customer_capture(gw: IntacctGateway) -> None:
    """§13.4, corpus resp_inspect_detail_customer.xml: data listtype="All" count="1" -> Type
    -> Attributes{SingularName, PluralName, Description} + Fields/Field{Name, GroupName,
    dataName, externalDataName, isRequired, isReadOnly, maxLength, DisplayLabel, Description,
    id}; CREDITLIMIT is number, WHENCREATED datetime, STATUS string."""
    sample = etree.parse(str(SAMPLES / "resp_inspect_detail_customer.xml"), PARSER)
    real = sample.find(".//result/data")
    assert real is not None
    ours = ok_data(one(gw, fn.inspect("CUSTOMER")))
    assert (ours.get("listtype"), ours.get("count")) == (real.get("listtype"), real.get("count"))
    real_type, our_type = real.find("Type"), ours.find("Type")
    assert real_type is not None and our_type is not None
    assert _shape(our_type) == _shape(real_type)
    assert _shape(our_type[0]) == _shape(real_type[0])
    real_field = real_type.find("Fields/Field")
    assert real_field is not None
    assert all(_shape(f) == _shape(real_field) for f in our_type.iter("Field"))

    def words(data: etree._Element) -> dict[str, tuple[str, str]]:
        return {
            f.findtext("Name") or "": (
                f.findtext("dataName") or "",
                f.findtext("externalDataName") or "",
            )
            for f in data.iter("Field")
        }

    mine, theirs = words(ours), words(real)
    for name in ("CREDITLIMIT", "WHENCREATED", "STATUS", "RECORDNO", "ONHOLD"):
        assert mine[name] == theirs[name], name
    bare = ok_data(one(gw, fn.inspect("CUSTOMER", detail=False)))
    assert [str(f.text) for f in bare.iter("Field")][:2] == ["RECORDNO", "CUSTOMERID"]


def test_inspect_types_the_capture_and_keeps_dates_open() -> None:
    """§13.4: externalDataName string/integer/number/boolean/datetime; the capture calls date
    fields (LAST_INVOICEDATE) string, so their values decide."""
    sample = etree.parse(str(SAMPLES / "resp_inspect_detail_customer.xml"), PARSER)
    types = types_from_inspect(inspect_rows(sample.find(".//result/data")))
    assert types.kinds["CREDITLIMIT"] == "decimal" and types.kinds["WHENCREATED"] == "datetime"
    assert types.kinds["ONHOLD"] == "boolean" and types.kinds["STATUS"] == "text"
    assert "LAST_INVOICEDATE" in types.maybe_dates and len(types.order) == 174


def test_intacct_wire_formats_are_recognised_without_a_definition() -> None:
    """§13.4/§7: `07/24/2017 15:19:46` datetimes, mm/dd/yyyy dates, plain decimals; ids that
    look like integers keep their spelling."""
    assert sniff_kind(["07/24/2017 15:19:46", "", None]) == "datetime"
    assert sniff_kind(["07/24/2017", "12/31/2025"]) == "date"
    assert sniff_kind(["100.10", "5"]) == "decimal"
    assert sniff_kind(["4000", "0100"]) is None
    assert sniff_kind(["07/24/2017", "soon"]) is None


def _refuse(name: str) -> object:
    def refused(ctx: object, el: etree._Element) -> object:
        raise FunctionFailed(Err("DL02000001", f"{name} refused"))

    return refused


def test_lookup_refused_falls_back_to_inspect(
    shared_sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sandbox_reads.READ_FUNCTIONS, "lookup", _refuse("lookup"))
    frame = shared_sb.intacct_client().read_by_query(
        "CUSTOMER", fields=["CUSTOMERID", "CREDITLIMIT", "WHENCREATED"]
    )
    assert str(frame["WHENCREATED"].dtype).startswith("datetime64")
    assert all(type(v).__name__ == "Decimal" for v in frame["CREDITLIMIT"].dropna())


def test_without_lookup_or_inspect_formats_still_type_and_text_says_why_once(
    shared_sb: sandbox.Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(sandbox_reads.READ_FUNCTIONS, "lookup", _refuse("lookup"))
    monkeypatch.setitem(sandbox_reads.READ_FUNCTIONS, "inspect", _refuse("inspect"))
    ia = shared_sb.intacct_client()
    caplog.set_level(logging.WARNING, logger="intacct_sync.intacct.client")
    select = ["RECORDNO", "ENTRY_DATE", "TRX_AMOUNT", "WHENMODIFIED", "DESCRIPTION"]
    pages = list(ia.iter_query("GLENTRY", select=select, page_size=100))
    assert len(pages) > 1
    frame = pages[0]
    assert str(frame["ENTRY_DATE"].dtype).startswith("datetime64")
    assert str(frame["WHENMODIFIED"].dtype).startswith("datetime64")
    assert all(type(v).__name__ == "Decimal" for v in frame["TRX_AMOUNT"].dropna())
    assert all(str(p["ENTRY_DATE"].dtype) == str(frame["ENTRY_DATE"].dtype) for p in pages)
    said = [r.getMessage() for r in caplog.records if "GLENTRY.DESCRIPTION" in r.getMessage()]
    assert len(said) == 1 and "lookup and inspect of GLENTRY were refused" in said[0]


# -- query paging order ---------------------------------------------------------------------------


def test_query_pages_in_record_order_and_drops_the_key_it_added(
    shared_sb: sandbox.Sandbox,
) -> None:
    ia = shared_sb.intacct_client()
    sent: list[etree._Element] = []
    original = ia._execute  # every request goes through it

    def spy(functions, **kw):
        sent.extend(f.body for f in functions)
        return original(functions, **kw)

    ia._execute = spy  # type: ignore[method-assign]
    frame = ia.query("GLENTRY", select=["ACCOUNTNO", "TRX_AMOUNT"], page_size=200)
    query = next(q for q in sent if q.tag == "query")
    assert [f.text for f in query.iterfind("select/field")] == [
        "ACCOUNTNO",
        "TRX_AMOUNT",
        "RECORDNO",
    ]
    assert [o.findtext("field") for o in query.iterfind("orderby/order")] == ["RECORDNO"]
    assert list(frame.columns) == ["ACCOUNTNO", "TRX_AMOUNT"]
    everything = ia.query("GLENTRY", select=["RECORDNO"], page_size=2000)
    assert len(frame) == len(everything)
    sent.clear()
    ia.query("GLENTRY", select=["ACCOUNTNO"], order_by=[("ACCOUNTNO", "descending")], page_size=5)
    orders = [o.findtext("field") for o in sent[0].iterfind("orderby/order")]
    assert orders == ["ACCOUNTNO", "RECORDNO"]
    sent.clear()
    ia.query("FUND", select=["name"])
    fund = next(q for q in sent if q.tag == "query")
    assert [o.findtext("field") for o in fund.iterfind("orderby/order")] == ["id"]


# -- §13.3 closed periods, dimension requirements -------------------------------------------------


def test_a_closed_period_is_refused_with_the_recorded_wording(gw: IntacctGateway) -> None:
    """§13.3 [ISSUE net#105]: "Periods are closed. Your transaction date (mm/dd/yyyy) is
    within a period that's been closed. ..."; books are closed through a date."""
    gw.closed_through[NP] = dt.date(2026, 1, 31)
    lines = [("5000", 1, "10"), ("1000", -1, "10")]
    refused = one(gw, E.create(glbatch("GJ", lines, date="01/15/2026")))
    texts = [d for _, d in errors(refused)]
    assert any(
        t.startswith("Periods are closed. Your transaction date (01/15/2026) is within a period")
        for t in texts
    )
    ok_data(one(gw, E.create(glbatch("GJ", lines, date="02/01/2026"))))


def test_the_client_reports_a_closed_period_on_the_entry_alone(sb: sandbox.Sandbox) -> None:
    """§13.3: the refusal arrives as an ordinary result error; each entry gets its own."""
    sb.intacct.closed_through[NP] = dt.date(2026, 1, 31)
    ia = sb.intacct_client()

    def entry(key: str, day: dt.date) -> JournalEntry:
        return JournalEntry(
            key=key,
            journal="GJ",
            batch_date=day,
            title=key,
            lines=[
                JournalLine(account_no="5000", amount=Decimal(5), tr_type=1),
                JournalLine(account_no="1000", amount=Decimal(5), tr_type=-1),
            ],
        )

    outcome = ia.create(
        "GLBATCH", [entry("closed", dt.date(2026, 1, 20)), entry("open", dt.date(2026, 2, 2))]
    )
    rows = outcome.set_index("key")
    assert rows.loc["closed", "status"] == "failed"
    assert "Periods are closed" in str(rows.loc["closed", "errors"])
    assert rows.loc["open", "status"] == "created"


def test_an_account_requiring_a_dimension_refuses_a_line_without_it(gw: IntacctGateway) -> None:
    """§13.3: "This transaction is missing the Department dimension for the Account 16200"."""
    account = next(r for r in gw.records(NP, "GLACCOUNT") if r["ACCOUNTNO"] == "5000")
    one(gw, E.update(E.GLACCOUNT(E.RECORDNO(account["RECORDNO"]), E.REQUIREDEPT("true"))))
    refused = one(gw, E.create(glbatch("GJ", [("5000", 1, "10"), ("1000", -1, "10")])))
    assert (
        "BL01001973",
        "This transaction is missing the Department dimension for the Account 5000",
    ) in errors(refused)


def test_a_foreign_currency_without_multi_currency_is_refused(gw: IntacctGateway) -> None:
    """§13.6 [SCORO]: "Enable foreign-currency transactions, and try again"."""
    refused = one(
        gw, E.create(glbatch("GJ", [("5000", 1, "10"), ("1000", -1, "10")], CURRENCY="EUR"))
    )
    assert any("Enable foreign-currency transactions" in d for _, d in errors(refused))


# -- §13.7 concurrency ---------------------------------------------------------------------------


def test_the_concurrency_refusal_uses_the_recorded_wording() -> None:
    assert gateway.TOO_MANY_OPERATIONS_TEXT == (
        "There are too many operations running for this company (200024)"
    )


def test_a_third_concurrent_request_is_held_then_refused(gw: IntacctGateway) -> None:
    """§13.7 [VENA-TMO]: one API job and one offline job per company; a third concurrent
    request waits ~30 s (here `busy_wait`, scaled down), then fails."""
    assert gw.max_concurrent == 2
    gw.busy_wait, gw.work_delay = 0.2, 0.6
    answers: list[tuple[float, etree._Element]] = []

    def run() -> None:
        started = time.monotonic()
        answer = call(gw, ("r", rbq("CLASS")))
        answers.append((time.monotonic() - started, answer))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join()
    refused = [(s, a) for s, a in answers if a.findtext("control/status") == "failure"]
    assert len(refused) == 1
    held, answer = refused[0]
    assert held >= gw.busy_wait
    assert errors(answer)[0][1] == "There are too many operations running for this company (200024)"


def test_a_busy_company_is_retried_by_the_client(shared_sb: sandbox.Sandbox) -> None:
    """§13.7: a third concurrent request is held, then refused; the client retries it later."""
    faults = shared_sb.intacct.faults
    ia = shared_sb.intacct_client()
    ia.read_by_query("CLASS", fields=["CLASSID"])  # signed in, types known
    before = shared_sb.intacct.stats
    faults.reseed(3)
    faults.busy_rate = 0.5
    try:
        frame = ia.read_by_query("CLASS", fields=["CLASSID"])
    finally:
        faults.busy_rate = 0.0
    after = shared_sb.intacct.stats
    ran = sum(after.functions.values()) - sum(before.functions.values())
    assert len(frame) > 0 and ran == 1
    assert after.http_requests - before.http_requests > 1  # refused, then retried


# -- §13.6 / §13.8 multi-currency, multi-entity, order-entry fields ------------------------------


def _tags(element: etree._Element) -> list[str]:
    return [str(child.tag) for child in element if isinstance(child.tag, str)]


def test_glentry_currency_fields_follow_the_sample_order() -> None:
    """§13.6: CURRENCY, then EXCH_RATE_TYPE_ID or EXCHANGE_RATE, EXCH_RATE_DATE; the order of
    req_fn_glentry_all_dimensions.xml. A currency without rate or type sends an empty
    EXCH_RATE_TYPE_ID (the PHP SDK)."""
    sample = etree.parse(str(SAMPLES / "req_fn_glentry_all_dimensions.xml"), PARSER).getroot()
    order = _tags(sample)
    line = JournalLine(
        account_no="1010",
        amount=Decimal("1456.54"),
        tr_type=1,
        document="212",
        currency="USD",
        exch_rate_date=dt.date(2016, 6, 30),
        exch_rate_type_id="Intacct Daily Rate",
        location="100",
        department="ADM",
        class_id="C200",
        memo="my memo",
    )
    built = element_from_mapping("GLENTRY", line.to_fields())
    ours = _tags(built)
    assert ours == [t for t in order if t in ours]
    assert built.findtext("EXCH_RATE_TYPE_ID") == sample.findtext("EXCH_RATE_TYPE_ID")
    assert built.findtext("EXCH_RATE_DATE") == sample.findtext("EXCH_RATE_DATE")
    bare = element_from_mapping(
        "GLENTRY",
        JournalLine(account_no="1", amount=Decimal(1), tr_type=1, currency="EUR").to_fields(),
    )
    assert bare.find("EXCH_RATE_TYPE_ID") is not None and not bare.findtext("EXCH_RATE_TYPE_ID")
    rated = JournalLine(
        account_no="1", amount=Decimal(1), tr_type=1, currency="EUR", exchange_rate="1.0842"
    ).to_fields()
    assert rated["EXCHANGE_RATE"] == Decimal("1.0842") and "EXCH_RATE_TYPE_ID" not in rated
    with pytest.raises(InputError):
        JournalLine(
            account_no="1",
            amount=Decimal(1),
            tr_type=1,
            currency="EUR",
            exchange_rate="1.1",
            exch_rate_type_id="Intacct Daily Rate",
        )
    with pytest.raises(InputError):
        JournalLine(account_no="1", amount=Decimal(1), tr_type=1, exchange_rate="1.1")


def test_base_location_sits_where_the_sample_puts_it() -> None:
    """§13.6: BASELOCATION_NO on the header when lines do not balance per entity; order of
    req_fn_create_glbatch_journal_entry.xml."""
    sample = etree.parse(str(SAMPLES / "req_fn_create_glbatch_journal_entry.xml"), PARSER)
    header = sample.getroot().find("create/GLBATCH")
    assert header is not None
    order = _tags(header)
    entry = JournalEntry(
        key="k",
        journal="GJ",
        batch_date=dt.date(2016, 6, 30),
        title="My desc",
        reference_no="123",
        base_location="100",
        lines=[
            JournalLine(account_no="1", amount=Decimal(1), tr_type=1, location="100"),
            JournalLine(account_no="2", amount=Decimal(1), tr_type=-1, location="200"),
        ],
    )
    built = element_from_mapping("GLBATCH", entry.to_fields())
    ours = _tags(built)
    assert "BASELOCATION_NO" in ours and ours == [t for t in order if t in ours]
    assert built.findtext("BASELOCATION_NO") == "100"


def test_sales_order_currency_defaults_to_an_empty_rate_type(shared_sb: sandbox.Sandbox) -> None:
    """§13.8: basecurr, currency, then exchratetype or exchrate; the SDK writes an empty
    exchratetype when only currencies are given; documentno and externalid are sent."""
    order = SalesOrder(
        key="006X",
        customer_id="C1005",
        date=dt.date(2026, 3, 2),
        lines=[SalesOrderLine(item_id="SVC-ONSITE", quantity=Decimal(1))],
        document_no="FACTS-1",
        external_id="006X",
        base_currency="USD",
        currency="USD",
    )
    body = fn.create_sotransaction(**order.sotransaction_arguments())
    tags = _tags(body)
    assert tags.index("documentno") < tags.index("externalid") < tags.index("basecurr")
    assert tags[tags.index("currency") + 1] == "exchratetype"
    assert body.findtext("exchratetype") == ""


def test_document_reads_pass_docparid(shared_sb: sandbox.Sandbox) -> None:
    """§13.4: docparid selects a transaction definition on reads of OE documents."""
    ia = shared_sb.intacct_client("itservices")
    orders = ia.read_by_query("SODOCUMENT", docparid="Sales Order", fields=["DOCID", "DOCPARID"])
    assert len(orders) and set(orders["DOCPARID"]) == {"Sales Order"}
    assert ia.read_by_query("SODOCUMENT", docparid="Sales Quote", fields=["DOCID"]).empty


# -- synthetic texts ------------------------------------------------------------------------------

#: error texts on record, as templates (``{}`` = a value), with where they are recorded
FACT_BACKED = {
    "The entire transaction in this operation has been rolled back due to an error.": "corpus",
    "There are too many operations running for this company (200024)": "§13.7 [VENA-TMO]",
    "XML Parse schema error: Fatal Error {}: {}. Line: {}, column: {}.": "corpus",
    "Invalid Web Services Authorization": "§2.1 [D-REQ]",
    "Sign-in information is incorrect": "corpus",
    "Invalid session {}....": "corpus jfcote87_auth_failure_invalid_session.xml",
    "A request's function with the control ID {} is in process.": "§13.1 [VENA-CID]",
    "A successful transaction has already been recorded with the control id {}": "§13.1 [OC]",
    "There was an error processing the request.": "corpus",
    "Object definition {} not found": "corpus",
    "Attempt to readMore with an invalid or expired resultId: {}": "corpus",
    "Could not create Sales Transaction record!": "corpus (Could not create … record!)",
    "Could not {} GLBATCH record!": "corpus (Could not create … record!)",
    "Could not {} {} record!": "corpus (Could not create … record!)",
    "Could not create {} record!": "corpus",
    "Could not update {} record!": "corpus (Could not create … record!)",
    "Another {} with the given value(s) {}  already exists": "corpus",
    "Another Sales Transaction with the given value(s) {}  already exists": "corpus",
    "Cannot find {} with key '{}' to delete.": "corpus",
    "Cannot update non-existing {} with {}={}.": "corpus (an errorno holding the text)",
    "Invalid fields list {}": "corpus (an errorno holding the text)",
    "Invalid {} '{}' specified.": "§13.3 [OC spec]",
    "This transaction is missing the {} dimension for the Account {}": "§13.3 [FYAPI]",
    re.sub(r"\{[^}]*\}", "{}", sandbox_writes.PERIODS_CLOSED): "§13.3 [ISSUE net#105]",
    sandbox_writes.FOREIGN_CURRENCY_OFF: "§13.6 [SCORO]",
}
#: texts composed of other scanned texts or of the caller's own input
_COMPOSED = {"<expr>"}


def _template(node: ast.expr, module: object) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
        return str(getattr(module, node.id))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and isinstance(node.func.value, ast.Name)
    ):
        return re.sub(r"\{[^}]*\}", "{}", str(getattr(module, node.func.value.id)))
    return "<expr>"


def _sandbox_texts() -> dict[str, str]:
    """Every error text the XML emulator can answer -> where it is written."""
    found: dict[str, str] = {}
    for path in sorted(SANDBOX.glob("*.py")):
        if path.name.startswith("rest"):
            continue  # the REST emulator answers JSON messages, listed in its own module
        module = importlib.import_module(f"intacct_sync.sandbox.intacct.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            name, args = node.func.id, node.args
            if name == "Err" and args:
                text = _template(args[1] if len(args) > 1 else args[0], module)
            elif name == "QueryError" and args:
                text = _template(args[0], module)
            elif name == "_AuthFailure" and len(args) >= 3:
                text = _template(args[2], module)
            else:
                continue
            found.setdefault(text, f"{path.name}:{node.lineno}")
    return found


def _documented(block: str = "synthetic-error-texts") -> set[str]:
    doc = (ROOT / "docs" / "sandbox-coverage.md").read_text()
    section = doc.split(f"<!-- {block}:start -->")[1].split(f"<!-- {block}:end -->")[0]
    return set(re.findall(r"^- `(.*)`$", section, flags=re.M))


def _documented_synthetic() -> set[str]:
    return _documented()


#: error numbers on record (corpus, reference §3.4)
FACT_BACKED_ERRORNOS = {
    "XL03000003", "XL03000006", "XL03000009", "BL01001973", "BL34000061", "DL02000001",
    "Query Failed", "readMore failed", "Get API Session Failed",
}  # fmt: skip


def _sandbox_errornos() -> dict[str, str]:
    """Every errorno the XML emulator gives (two-argument ``Err`` calls) -> where."""
    found: dict[str, str] = {}
    for path in sorted(SANDBOX.glob("*.py")):
        if path.name.startswith("rest"):
            continue
        module = importlib.import_module(f"intacct_sync.sandbox.intacct.{path.stem}")
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or getattr(node.func, "id", None) != "Err":
                continue
            if len(node.args) > 1:
                found.setdefault(_template(node.args[0], module), f"{path.name}:{node.lineno}")
    return found


def test_zero_synthetic_errornos_left_unmarked() -> None:
    numbers = _sandbox_errornos()
    synthetic = _documented("synthetic-errornos")
    # `errorno` / `err.errorno` pass on a number chosen by the caller (Query Failed, readMore
    # failed), which the literals scanned here cover.
    unmarked = {
        n: where
        for n, where in numbers.items()
        if n not in FACT_BACKED_ERRORNOS and n not in synthetic and n != "<expr>"
    }
    assert not unmarked, f"mark these in docs/sandbox-coverage.md or cite them: {unmarked}"
    assert synthetic <= set(numbers), synthetic - set(numbers)


def test_zero_synthetic_texts_left_unmarked() -> None:
    texts = _sandbox_texts()
    assert len(texts) > 40
    synthetic = _documented_synthetic()
    unmarked = {
        t: where
        for t, where in texts.items()
        if t not in FACT_BACKED and t not in synthetic and t not in _COMPOSED
    }
    assert not unmarked, f"mark these in docs/sandbox-coverage.md or cite them: {unmarked}"
    assert not synthetic & set(FACT_BACKED), "a text cannot be both on record and synthetic"


def test_the_synthetic_list_names_only_texts_the_sandbox_still_says() -> None:
    stale = _documented_synthetic() - set(_sandbox_texts())
    assert not stale, f"no longer said by the sandbox: {stale}"


def test_lookup_refusal_reaches_the_caller_only_when_typing_is_the_question(
    shared_sb: sandbox.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An explicit lookup still raises; only the typing path falls back."""
    monkeypatch.setitem(sandbox_reads.READ_FUNCTIONS, "lookup", _refuse("lookup"))
    ia: IntacctClient = shared_sb.intacct_client()
    with pytest.raises(FunctionError):
        ia.lookup("GLACCOUNT")

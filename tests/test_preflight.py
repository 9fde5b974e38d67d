"""Preflight: what the company would refuse, found before sending (reference §13.3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from intacct_sync import sandbox
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.posting.preflight import PostingRules, preflight
from intacct_sync.sandbox.intacct.xml import Err

DAY = dt.date(2026, 1, 5)


def _line(account: str, side: int, amount: str = "1", **kw: object) -> JournalLine:
    return JournalLine(account_no=account, amount=Decimal(amount), tr_type=side, **kw)  # type: ignore[arg-type]


def _entry(
    key: str, *lines: JournalLine, statistical: bool = False, day: dt.date = DAY
) -> JournalEntry:
    return JournalEntry(
        key=key,
        journal="STAT" if statistical else "GJ",
        batch_date=day,
        title=key,
        lines=lines,
        statistical=statistical,
        reference_no=f"ref-{key}",
    )


def test_each_rule_names_entry_line_field_value(shared_sb: sandbox.Sandbox) -> None:
    fund = next(
        r for r in shared_sb.intacct.records("DEMO-NONPROFIT", "FUND") if r["name"] == "GENERAL"
    )
    entries = [
        _entry("ok", _line("5000", 1, location="HQ"), _line("1000", -1, location="HQ")),
        _entry(
            "bad",
            _line("9999", 1, location="MARS"),
            _line("1000", -1, location="WEST", dimensions={"GLDIMFUND": "123"}),
            _line("9000", 1),
            _line("4900", -1, dimensions={"GLDIMFUND": fund["id"]}),
        ),
        _entry("stat", _line("1000", 1), statistical=True),
    ]
    report = preflight(entries, PostingRules.read(shared_sb.intacct_client(), entries))
    found = {
        (r["entry"], r["line"], r["field"], r["value"], r["rule"])
        for r in report.to_frame().to_dict("records")
    }
    assert found == {
        ("bad", 1, "ACCOUNTNO", "9999", "unknown_account"),
        ("bad", 1, "LOCATION", "MARS", "unknown_dimension_value"),
        ("bad", 2, "LOCATION", "WEST", "inactive_dimension_value"),
        ("bad", 2, "GLDIMFUND", "123", "unknown_dimension_value"),
        ("bad", 3, "ACCOUNTNO", "9000", "statistical_account_in_regular_entry"),
        ("bad", 4, "ACCOUNTNO", "4900", "inactive_account"),
        ("stat", 1, "ACCOUNTNO", "1000", "regular_account_in_statistical_entry"),
    }
    assert report.breaching == {"bad", "stat"} and not report.ok
    assert set(report.to_frame()["reference"]) == {"ref-bad", "ref-stat"}


def test_required_dimensions_come_from_the_account(shared_sb: sandbox.Sandbox) -> None:
    """§13.3: REQUIREDEPT / REQUIREGLDIM<name> true means every line on the account needs it."""
    gw, company = shared_sb.intacct, "DEMO-NONPROFIT"
    ia = shared_sb.intacct_client()
    account = next(r for r in gw.records(company, "GLACCOUNT") if r["ACCOUNTNO"] == "7000")
    ia.update(
        "GLACCOUNT",
        [{"RECORDNO": account["RECORDNO"], "REQUIREDEPT": "true", "REQUIREGLDIMFUND": "true"}],
    )
    entries = [_entry("needs", _line("7000", 1), _line("1000", -1))]
    report = preflight(entries, PostingRules.read(ia, entries))
    assert set(zip(report.breaches["field"], report.breaches["rule"], strict=True)) == {
        ("DEPARTMENT", "missing_required_dimension"),
        ("GLDIMFUND", "missing_required_dimension"),
    }
    assert "requires the Department dimension" in " ".join(report.breaches["message"])


def test_a_closed_period_refusal_is_remembered_for_the_run() -> None:
    rules = PostingRules()
    refusal = Err(
        "BL01001973",
        "Periods are closed. Your transaction date (01/15/2026) is within a period that's been "
        "closed. You can add, modify, or delete a transaction only if the date of the "
        "transaction is within a period that's open.",
    )
    assert not rules.remember_refusal([Err("BL01001973", "Invalid Location 'X' specified.")], DAY)
    assert rules.remember_refusal([refusal], dt.date(2026, 1, 15))
    entries = [
        _entry("early", _line("1", 1), _line("2", -1), day=dt.date(2026, 1, 10)),
        _entry("later", _line("1", 1), _line("2", -1), day=dt.date(2026, 2, 1)),
    ]
    closed = preflight(entries, rules).to_frame()
    closed = closed[closed["rule"] == "closed_period"]
    assert closed["entry"].tolist() == ["early"] and closed["line"].tolist() == [0]


def test_ten_thousand_lines_cost_a_few_requests(
    shared_sb: sandbox.Sandbox,
) -> None:
    ia = shared_sb.intacct_client()
    ia.read_by_query("CLASS", fields=["CLASSID"])  # signed in
    locations = ["HQ", "NORTH", "SOUTH"]
    entries = [
        _entry(
            f"e{n}",
            *[
                _line(
                    "5000" if i % 2 == 0 else "1000",
                    1 if i % 2 == 0 else -1,
                    location=locations[(n + i) % 3],
                    department="PROG",
                    class_id="EDU",
                )
                for i in range(10)
            ],
        )
        for n in range(1000)
    ]
    before = shared_sb.intacct.stats.http_requests
    # The time figure (under 1 s of client time) is printed by benchmarks/preflight.py.
    rules = PostingRules.read(ia, entries)
    report = preflight(entries, rules)
    assert report.lines == 10_000 and report.ok, report.breaches.head()
    assert shared_sb.intacct.stats.http_requests - before <= 6


# -- each workflow's invalid-record policy is the preflight's (issue 14) --------------------------


def _close_account(sb: sandbox.Sandbox, account_no: str, company: str = "DEMO-NONPROFIT") -> None:
    """Make ``account_no`` inactive in Intacct, as a controller would between two runs."""
    record = next(
        r for r in sb.intacct.records(company, "GLACCOUNT") if r["ACCOUNTNO"] == account_no
    )
    with sb.intacct_client() as ia:
        done = ia.update("GLACCOUNT", [{"RECORDNO": record["RECORDNO"], "STATUS": "inactive"}])
    assert done["done"].all()


def _event_actions(sb: sandbox.Sandbox) -> set[str]:
    """The valid seeded actions crediting 4200 (after the seeded invalid ones are fixed)."""
    rows = sb.salesforce.rows("Action__c", fields=["Id", "Tags__c"])
    return {
        str(r["Id"])
        for r in rows
        if "CR Account: 4200" in (r["Tags__c"] or "") and "Exclude" not in (r["Tags__c"] or "")
    }


def _posted_actions(sb: sandbox.Sandbox) -> set[str]:
    counts = sb.intacct.journal_entries_by_reference("DEMO-NONPROFIT")
    return {ref for ref in counts if ref.startswith("a03")}


@pytest.mark.parametrize("policy", ["halt", "skip"])
def test_action_sync_follows_its_invalid_policy_on_a_preflight_breach(
    sb: sandbox.Sandbox, policy: str
) -> None:
    from intacct_sync import actions
    from intacct_sync.state import SQLiteStateStore
    from tests.test_actions_sync import fix_seeded

    with sb.intacct_client() as ia, sb.salesforce_client() as sf:
        fix_seeded(sf, sb)
        # The tag catalog was read while 4200 was open; the account closes before the run.
        catalog = actions.build_catalog(ia)
        _close_account(sb, "4200")
        breaching = _event_actions(sb)
        assert breaching
        sync = actions.ActionSync(
            ia,
            sf,
            SQLiteStateStore(":memory:"),
            catalog=catalog,
            on_invalid=policy,  # type: ignore[arg-type]
        )
        report = sync.run()
    outcomes = dict(zip(report.actions["action_id"], report.actions["outcome"], strict=True))
    messages = dict(zip(report.actions["action_id"], report.actions["message"], strict=True))
    assert {a for a, o in outcomes.items() if o == "skipped"} == breaching
    for action_id in breaching:  # named by its business key, with the field, value and rule
        assert "ACCOUNTNO '4200'" in messages[action_id]
        assert "(inactive_account)" in messages[action_id]
    if policy == "halt":
        assert _posted_actions(sb) == set()
        others = {a for a, o in outcomes.items() if o not in ("skipped", "excluded")}
        assert others and {outcomes[a] for a in others} == {"held"}
    else:
        assert _posted_actions(sb) == {a for a, o in outcomes.items() if o == "posted"}
        assert len(_posted_actions(sb)) == 195 - len(breaching)
    assert report.count("posted") == (0 if policy == "halt" else 195 - len(breaching))


def test_the_preflight_report_names_the_company_and_entity(shared_sb: sandbox.Sandbox) -> None:
    entries = [_entry("bad", _line("9999", 1), _line("1000", -1))]
    with shared_sb.intacct_client(entity_id="NORTH") as north:
        report = preflight(entries, PostingRules.read(north, entries))
    assert report.summary().endswith("; company DEMO-NONPROFIT, entity NORTH")
    document = report.to_dict()
    assert (document["company"], document["entity"], document["refused"]) == (
        "DEMO-NONPROFIT",
        "NORTH",
        ["bad"],
    )
    assert [(b["line"], b["field"], b["value"], b["rule"]) for b in document["breaches"]] == [
        (1, "ACCOUNTNO", "9999", "unknown_account")
    ]
    # Rules built by hand know no company: the summary says nothing of one.
    assert "company" not in preflight(entries, PostingRules()).summary()

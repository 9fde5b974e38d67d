"""Building journal entries from actions, descriptions, and reading journal-line CSV files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from intacct_sync import actions, journals
from intacct_sync.errors import InputError, ValidationError
from tests.test_actions_validation import CATALOG, GOOD_TAGS, frame

SETTINGS = actions.TagSettings(custom="available")


def test_one_balanced_entry_per_action_with_dimensions_per_side() -> None:
    tags = GOOD_TAGS + ";CR Location: HQ;DR Location: NORTH;CR Custom: GENERAL;DR Custom: GENERAL"
    plan = journals.from_actions(
        frame({"Tags__c": tags, "Amount__c": Decimal("125.50")}), CATALOG, SETTINGS
    )
    (entry,) = plan.entries
    assert entry.journal == "CRJ"
    assert entry.reference_no == plan.source_ids[0]
    assert entry.imbalance == 0
    debit, credit = entry.lines
    assert (debit.account_no, debit.tr_type, debit.location) == ("1000", 1, "NORTH")
    assert (credit.account_no, credit.tr_type, credit.location) == ("4000", -1, "HQ")
    assert debit.amount == credit.amount == Decimal("125.50")
    assert debit.dimensions == {"GLDIMFUND": "GENERAL"}
    lines = plan.lines_frame()
    assert lines["ACCOUNTNO"].tolist() == ["1000", "4000"]
    assert lines["GLDIMFUND"].tolist() == ["GENERAL", "GENERAL"]
    assert plan.entries_frame()["amount"].tolist() == [Decimal("125.50")]


def test_individual_mode_dates_by_happened_at_in_the_time_zone() -> None:
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    plan = journals.from_actions(frame({"Happened_At__c": late}), CATALOG)
    assert plan.entries[0].batch_date == dt.date(2026, 3, 1)
    plan = journals.from_actions(frame({"Happened_At__c": late}), CATALOG, timezone="Europe/Berlin")
    assert plan.entries[0].batch_date == dt.date(2026, 3, 2)


def test_batch_mode_dates_every_entry_by_the_run_start() -> None:
    started = dt.datetime(2026, 4, 30, 22, 0, tzinfo=dt.UTC)
    plan = journals.from_actions(
        frame({}, {"Happened_At__c": dt.datetime(2026, 1, 2, tzinfo=dt.UTC)}),
        CATALOG,
        mode="batch",
        run_started=started,
    )
    assert {e.batch_date for e in plan.entries} == {dt.date(2026, 4, 30)}


def test_halt_is_the_default_and_skip_builds_the_valid_ones() -> None:
    bad = frame({}, {"Amount__c": Decimal(0)})
    with pytest.raises(ValidationError) as caught:
        journals.from_actions(bad, CATALOG)
    assert isinstance(caught.value.report, actions.ValidationReport)
    plan = journals.from_actions(bad, CATALOG, on_invalid="skip")
    assert plan.names == ("A-00000",)


def test_entry_key_and_control_id_derive_from_the_action_id_only() -> None:
    one = journals.from_actions(frame({}), CATALOG).entries[0]
    other = journals.from_actions(frame({"Amount__c": Decimal(99)}), CATALOG, mode="batch").entries[
        0
    ]
    assert one.key == "actions:a03000000000000000"
    assert journals.entry_control_id(one) == journals.entry_control_id(other)


def test_description_is_summary_name_and_url() -> None:
    d = journals.describe_action("Gift", "Ann Lee", "https://x.example/1")
    assert (d.text, d.cut, d.url_cut) == ("Gift - Ann Lee - https://x.example/1", "", False)


def test_long_description_cuts_the_summary_keeps_the_url_and_says_what_was_cut() -> None:
    url = "https://crm.example/actions/A-00001"
    d = journals.describe_action("Donation " + "x" * 80, "Ann Lee", url, limit=60)
    assert len(d.text) == 60
    assert d.text.endswith("... - " + url)
    assert d.text[: -len("... - " + url)] + d.cut == "Donation " + "x" * 80 + " - Ann Lee"
    assert not d.url_cut


def test_url_longer_than_the_limit_is_cut_and_flagged() -> None:
    url = "https://crm.example/" + "p" * 100
    d = journals.describe_action("Gift", "Ann", url, limit=40)
    assert len(d.text) == 40 and d.url_cut
    assert d.text == url[:37] + "..."
    assert d.cut == "Gift - Ann - " + url[37:]


def test_plan_reports_truncations() -> None:
    plan = journals.from_actions(
        frame({"Summary__c": "Donation " * 20}), CATALOG, description_limit=50
    )
    assert len(plan.entries[0].title) == 50
    assert plan.entries[0].lines[0].memo == plan.entries[0].title
    cut = plan.truncations.iloc[0]
    assert cut["source_id"] == plan.source_ids[0] and cut["limit"] == 50
    assert plan.entries_frame()["truncated"].tolist() == [True]


# -- CSV import ------------------------------------------------------------------------------

HEADER = "entry,date,description,account,debit,credit,memo,location,department,class,GLDIMFUND\n"


def write(tmp_path: Path, body: str, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / "lines.csv"
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def test_csv_lines_become_balanced_entries(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "JE-1,2026-02-01,Grant received,1000,5000.00,,,HQ,,,GENERAL\n"
        "JE-1,2026-02-01,,4300,,5000.00,,HQ,PROG,RESTRICTED,GENERAL\n"
        "JE-2,2026-02-03,Transfer,1010,10,,,,,,\n"
        "JE-2,2026-02-03,,1000,,10,,,,,\n",
    )
    imported = journals.read_journal_lines(path)
    assert imported.ok and imported.lines == 4
    first, second = imported.plan.entries
    assert (first.journal, first.batch_date, first.title) == (
        "GJ",
        dt.date(2026, 2, 1),
        "Grant received",
    )
    assert first.lines[1].class_id == "RESTRICTED"
    assert first.lines[0].dimensions == {"GLDIMFUND": "GENERAL"}
    assert second.key == "journal_import:GJ:JE-2"


def test_bad_rows_are_reported_with_line_field_and_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'JE-1,2026-02-01,Ok,1000,"1,000.00",,,,,,\n'  # line 2: thousands separator
        "JE-1,2026-02-01,,4000,,$1000,,,,,\n"  # line 3: currency sign
        "JE-2,02/03/2026,Bad date,1000,10,,,,,,\n"  # line 4
        "JE-2,02/03/2026,,1000,,10,,,,,\n"  # line 5
        "JE-3,2026-02-03,Unbalanced,1000,10,,,,,,\n"  # line 6
        "JE-3,2026-02-03,,4000,,9,,,,,\n"
        "JE-4,2026-02-03,Both,1000,10,10,,,,,\n"  # line 8
        "JE-4,2026-02-03,,4000,,10,,,,,\n",
    )
    imported = journals.read_journal_lines(path)
    issues = {(r.line, r.field, r.value) for r in imported.issues.itertuples()}
    assert (2, "debit", "1,000.00") in issues
    assert (3, "credit", "$1000") in issues
    assert (4, "date", "02/03/2026") in issues and (5, "date", "02/03/2026") in issues
    assert (6, "debit/credit", "1") in issues
    assert (8, "debit", "10/10") in issues
    assert imported.invalid_entries == ("JE-1", "JE-2", "JE-3", "JE-4")
    assert imported.plan.entries == ()


def test_non_utf8_file_is_a_clear_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "JE-1,2026-02-01,Café,1000,10,,,,,,\n", encoding="latin-1")
    with pytest.raises(InputError, match="not UTF-8") as caught:
        journals.read_journal_lines(path)
    assert caught.value.row == 2 and caught.value.field == "encoding"


def test_unknown_or_missing_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("entry,date,acount,debit,credit,description\n")
    with pytest.raises(InputError, match="missing column"):
        journals.read_journal_lines(path)
    path.write_text("entry,date,account,debit,credit,description,colour\n")
    with pytest.raises(InputError, match="unknown column"):
        journals.read_journal_lines(path)


def test_a_cell_xml_cannot_carry_is_refused_with_the_files_line_and_entry_id(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "JE-1,2026-02-01,Grant received,1000,50,,,,,,\n"
        "JE-1,2026-02-01,,4300,,50,,,,,\n"
        "JE-2,2026-02-03,Transfer,1010,10,,,,,,\n"
        "JE-2,2026-02-03,,1000,,10,pasted\vfrom Word,,,,\n",  # line 5
    )
    imported = journals.read_journal_lines(path)
    assert [(r.line, r.entry, r.field) for r in imported.issues.itertuples()] == [
        (5, "JE-2", "memo")
    ]
    assert "U+000B" in imported.issues["message"].iloc[0]
    assert imported.invalid_entries == ("JE-2",)
    assert [e.reference_no for e in imported.plan.entries] == ["JE-1"]


def test_an_entry_intacct_refuses_is_named_by_its_entry_id_and_csv_lines(tmp_path: Path) -> None:
    from intacct_sync import sandbox
    from intacct_sync.state import SQLiteStateStore

    path = write(
        tmp_path,
        "JE-1,2026-02-01,Grant received,1000,50,,,,,,\n"
        "JE-1,2026-02-01,,4300,,50,,,,,\n"
        "JE-2,2026-02-03,Transfer,1000,10,,,,,,\n"  # line 4
        "JE-2,2026-02-03,,NO-SUCH-ACCOUNT,,10,,,,,\n",  # line 5
    )
    imported = journals.read_journal_lines(path)
    assert imported.ok and imported.entry_lines["JE-2"] == (4, 5)
    with sandbox.running() as sb, sb.intacct_client() as ia:
        state = SQLiteStateStore(":memory:")
        halted = journals.post_journal_lines(ia, imported, state)
        books_after_halt = dict(
            sb.intacct.journal_entries_by_reference(sandbox.COMPANIES["nonprofit"])
        )
        report = journals.post_journal_lines(ia, imported, state, skip_invalid=True)
    # Issue 14: without skip_invalid a preflight breach halts the import (nothing sent).
    statuses = dict(zip(halted.outcomes["source_id"], halted.outcomes["status"], strict=True))
    assert statuses == {"GJ:JE-1": "held", "GJ:JE-2": "skipped"}
    assert "JE-1" not in books_after_halt and "JE-2" not in books_after_halt
    statuses = dict(zip(report.outcomes["source_id"], report.outcomes["status"], strict=True))
    # The preflight refuses the unknown account before sending; named the same way.
    assert statuses == {"GJ:JE-1": "posted", "GJ:JE-2": "skipped"}
    for refused in (halted, report):
        errors = refused.outcomes.set_index("source_id").loc["GJ:JE-2", "errors"]
        assert str(errors).startswith("entry JE-2 (CSV lines 4, 5): ")
        # The breach names the line in the file, the field, the value and the rule.
        assert "CSV line 5 ACCOUNTNO 'NO-SUCH-ACCOUNT'" in str(errors)
        assert "(unknown_account)" in str(errors)
    assert report.scope.company == "DEMO-NONPROFIT" and report.summary().endswith(
        "; company DEMO-NONPROFIT, top level"
    )
    assert report.to_dict()["counts"] == {"posted": 1, "skipped": 1}

"""Tag catalog and validation rules, on hand-made frames (no network)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from intacct_sync import actions
from intacct_sync.errors import InputError

CATALOG = actions.catalog_from_values(
    {
        "account": [("1000", "Cash - Operating"), ("4000", "Contributions - Individuals")],
        "location": [("HQ", "Headquarters"), ("NORTH", "North")],
        "department": [("FUND", "Fundraising")],
        "class": [("UNRESTRICTED", "Without Donor Restrictions")],
        "custom": [("GENERAL", "General Fund")],
    },
    actions.TagSettings(custom="available"),
)
GOOD_TAGS = "CR Account: 4000 Contributions - Individuals;DR Account: 1000 Cash - Operating"
WHEN = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    base = {
        "Name": None,
        "Amount__c": Decimal("10.00"),
        "Happened_At__c": WHEN,
        "Tags__c": GOOD_TAGS,
        "Summary__c": "Donation from Ann Lee",
        "Contact__r.Name": "Ann Lee",
        "Action_URL__c": "https://crm.example/a/1",
    }
    records = []
    for i, row in enumerate(rows):
        record = {**base, "Id": f"a03{i:015d}", "Name": f"A-{i:05d}", **row}
        records.append(record)
    return pd.DataFrame(records)


def rules(report: actions.ValidationReport) -> list[tuple[str, str]]:
    return sorted(zip(report.issues["name"], report.issues["rule"], strict=True))


def test_catalog_has_one_cr_and_one_dr_tag_per_value_in_categories() -> None:
    settings = actions.TagSettings(custom="available")
    assert len(CATALOG) == 2 * 7
    assert set(CATALOG["category"]) == {
        "[Sage Intacct] Accounts",
        "[Sage Intacct] Locations",
        "[Sage Intacct] Departments",
        "[Sage Intacct] Classes",
        f"[Sage Intacct] {settings.custom_dimension.label}",
    }
    account = CATALOG[CATALOG["key"] == "account:CR:4000"].iloc[0]
    assert account["tag"] == "CR Account: 4000 Contributions - Individuals"
    assert CATALOG[CATALOG["key"] == "location:DR:HQ"]["tag"].tolist() == ["DR Location: HQ"]
    assert set(CATALOG.groupby("value")["side"].agg(lambda s: "".join(sorted(s)))) == {"CRDR"}


def test_excluded_attributes_get_no_catalog_entries() -> None:
    catalog = actions.catalog_from_values(
        {"account": [("1000", "Cash")], "custom": [("GENERAL", "General")]},
        actions.TagSettings(),  # custom: exclude by default
    )
    assert set(catalog["attribute"]) == {"account"}


def test_settings_defaults_and_refusals() -> None:
    settings = actions.TagSettings()
    assert [settings.mode(a) for a in actions.ATTRIBUTES] == [
        "require",
        "available",
        "available",
        "available",
        "exclude",
    ]
    with pytest.raises(InputError, match="account is always required"):
        actions.TagSettings(account="available")
    with pytest.raises(InputError):
        actions.TagSettings(location="sometimes")


def test_parse_tag_reads_the_id_and_ignores_other_tags() -> None:
    assert actions.parse_tag("DR Account: 1000 Cash - Operating") == ("DR", "account", "1000")
    assert actions.parse_tag("CR Custom: GENERAL") == ("CR", "custom", "GENERAL")
    assert actions.parse_tag("Newsletter Signup") is None
    assert actions.parse_tag(actions.EXCLUDE_TAG) is None


def test_valid_action_resolves_its_tags_and_ignores_unrelated_ones() -> None:
    tags = GOOD_TAGS + ";CR Location: HQ;DR Location: HQ;Online;Board Member"
    report = actions.validate(frame({"Tags__c": tags}), CATALOG)
    assert report.ok and report.checked == 1
    row = report.valid.iloc[0]
    assert (row["account_cr"], row["account_dr"]) == ("4000", "1000")
    assert (row["location_cr"], row["location_dr"]) == ("HQ", "HQ")
    assert row["amount"] == Decimal("10.00")


def test_missing_required_side_is_reported_with_action_rule_and_field() -> None:
    report = actions.validate(
        frame({"Tags__c": "CR Account: 4000 Contributions - Individuals"}), CATALOG
    )
    issue = report.issues.iloc[0]
    assert (issue["name"], issue["rule"], issue["field"]) == (
        "A-00000",
        "missing_required_tag",
        "Tags__c",
    )
    assert "DR Account" in issue["message"]
    assert report.invalid_ids == ("a03000000000000000",)
    assert report.valid.empty


def test_required_dimension_needs_both_sides() -> None:
    settings = actions.TagSettings(location="require")
    report = actions.validate(frame({}), CATALOG, settings)
    assert rules(report) == [
        ("A-00000", "missing_required_tag"),
        ("A-00000", "missing_required_tag"),
    ]


def test_available_dimension_with_one_side_only_is_invalid() -> None:
    report = actions.validate(frame({"Tags__c": GOOD_TAGS + ";CR Location: NORTH"}), CATALOG)
    assert rules(report) == [("A-00000", "one_side_only")]
    assert report.issues.iloc[0]["value"] == "CR Location: NORTH"


def test_two_tags_of_one_side_are_invalid_but_a_repeated_tag_is_not() -> None:
    report = actions.validate(
        frame(
            {"Tags__c": GOOD_TAGS + ";CR Location: HQ;CR Location: NORTH;DR Location: HQ"},
            {"Tags__c": GOOD_TAGS + ";CR Location: HQ;CR Location: HQ;DR Location: HQ"},
        ),
        CATALOG,
    )
    assert rules(report) == [("A-00000", "multiple_tags")]


def test_unknown_or_inactive_values_are_invalid() -> None:
    report = actions.validate(
        frame(
            {"Tags__c": "CR Account: 4900 Old;DR Account: 1000 Cash"},
            {"Tags__c": GOOD_TAGS + ";CR Location: WEST;DR Location: WEST"},
        ),
        CATALOG,
    )
    assert rules(report) == [
        ("A-00000", "unknown_or_inactive_value"),
        ("A-00001", "unknown_or_inactive_value"),
        ("A-00001", "unknown_or_inactive_value"),
    ]
    assert "CR Account: 4900 Old" in report.issues["value"].tolist()


def test_tags_of_an_excluded_attribute_are_ignored() -> None:
    report = actions.validate(frame({"Tags__c": GOOD_TAGS + ";CR Custom: NOPE"}), CATALOG)
    assert report.ok


@pytest.mark.parametrize(
    ("amount", "rule"),
    [
        (Decimal("0"), "amount_not_positive"),
        (Decimal("-25"), "amount_not_positive"),
        ("abc", "amount_not_numeric"),
        ("1,000.00", "amount_not_numeric"),
        (None, "amount_not_numeric"),
    ],
)
def test_amount_rules(amount: object, rule: str) -> None:
    report = actions.validate(frame({"Amount__c": amount}), CATALOG)
    assert rules(report) == [("A-00000", rule)]
    assert report.issues.iloc[0]["field"] == "Amount__c"


def test_string_and_float_amounts_are_read_exactly() -> None:
    report = actions.validate(frame({"Amount__c": "12.30"}, {"Amount__c": 0.1}), CATALOG)
    assert report.valid["amount"].tolist() == [Decimal("12.30"), Decimal("0.1")]


def test_missing_date_is_invalid() -> None:
    report = actions.validate(frame({"Happened_At__c": None}), CATALOG)
    assert rules(report) == [("A-00000", "missing_happened_at")]


def test_excluded_actions_are_counted_not_checked() -> None:
    report = actions.validate(
        frame({"Tags__c": "Online;" + actions.EXCLUDE_TAG, "Amount__c": Decimal(-1)}, {}),
        CATALOG,
    )
    assert report.ok
    assert report.excluded_ids == ("a03000000000000000",)
    assert len(report.valid) == 1
    assert "1 excluded" in report.summary()


def test_report_renders_as_text_and_escaped_html() -> None:
    report = actions.validate(frame({"Tags__c": "CR Account: <b>4000"}), CATALOG)
    assert "missing_required_tag" in str(report)
    html = report._repr_html_()
    assert "<b>4000" not in html and "&lt;b&gt;4000" in html


def test_bad_frames_are_refused_naming_the_column_or_row() -> None:
    with pytest.raises(InputError, match="Tags__c"):
        actions.validate(frame({}).drop(columns=["Tags__c"]), CATALOG)
    twice = pd.concat([frame({}), frame({})], ignore_index=True)
    with pytest.raises(InputError, match="twice"):
        actions.validate(twice, CATALOG)


def test_a_udd_tag_names_the_value_and_the_line_gets_its_id() -> None:
    """Reference §13.5: GLDIM<name> takes the UDD record's integer id; tags carry the name."""
    settings = actions.TagSettings(custom="available")
    catalog = actions.catalog_from_values(
        {
            "account": [("1000", "Cash"), ("4000", "Contributions")],
            "custom": pd.DataFrame({"id": ["GENERAL"], "name": [None], "wire": ["10001"]}),
        },
        settings,
    )
    custom = catalog[catalog["attribute"] == "custom"]
    assert set(custom["tag"]) == {"CR Custom: GENERAL", "DR Custom: GENERAL"}
    assert set(custom["wire_value"]) == {"10001"}
    tags = GOOD_TAGS + ";CR Custom: GENERAL;DR Custom: GENERAL"
    report = actions.validate(frame({"Tags__c": tags}), catalog, settings)
    assert report.ok
    assert report.valid[["custom_cr", "custom_dr"]].iloc[0].tolist() == ["10001", "10001"]
    assert settings.custom_dimension.line_field == "GLDIMFUND"
    assert actions.CustomDimension(object="PLACE").line_field == "GLDIMPLACE"


def test_udd_names_in_journal_lines_become_ids_or_a_named_error() -> None:
    from intacct_sync.intacct.models import JournalEntry, JournalLine

    class FakeIntacct:
        calls = 0

        def query(self, obj: str, *, select: list[str]) -> pd.DataFrame:
            FakeIntacct.calls += 1
            assert obj == "FUND" and select == ["id", "name"]
            return pd.DataFrame({"id": ["10001", "10002"], "name": ["GENERAL", "CAPITAL"]})

    def entry(fund: str) -> JournalEntry:
        return JournalEntry(
            key=f"e-{fund}",
            journal="GJ",
            batch_date=dt.date(2026, 1, 5),
            title="t",
            lines=[
                JournalLine(account_no="1000", amount=1, tr_type=1, dimensions={"GLDIMFUND": fund}),
                JournalLine(account_no="4000", amount=1, tr_type=-1),
            ],
        )

    ia: Any = FakeIntacct()
    resolved = actions.resolve_udd_values(ia, [entry("CAPITAL"), entry("10001")])
    assert [e.lines[0].dimensions["GLDIMFUND"] for e in resolved] == ["10002", "10001"]
    assert FakeIntacct.calls == 1
    assert actions.resolve_udd_values(ia, [entry("10002")])[0].lines[0].dimensions == {
        "GLDIMFUND": "10002"
    }
    assert FakeIntacct.calls == 1  # ids only: nothing read
    with pytest.raises(InputError) as info:
        actions.resolve_udd_values(ia, [entry("NOPE")])
    assert (info.value.row, info.value.field, info.value.value) == ("e-NOPE", "GLDIMFUND", "NOPE")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("Summary__c", "Donation\vfrom Ann", "U+000B"),  # vertical tab pasted from Word
        ("Contact__r.Name", "Ann\x00Lee", "U+0000"),
        ("Action_URL__c", "https://crm.example/a/1\x1b", "U+001B"),
        ("Summary__c", "Donation \ufffe", "U+FFFE"),
    ],
)
def test_a_value_xml_cannot_carry_is_refused_with_the_action_and_field(
    field: str, value: str, code: str
) -> None:
    report = actions.validate(frame({}, {field: value}, {}), CATALOG)
    assert rules(report) == [("A-00001", "not_encodable")]
    issue = report.issues.iloc[0]
    assert (issue["action_id"], issue["field"], issue["value"]) == (
        "a03000000000000001",
        field,
        value,
    )
    assert code in issue["message"] and field in issue["message"]
    assert sorted(report.valid["action_id"]) == ["a03000000000000000", "a03000000000000002"]


def test_tabs_newlines_and_non_latin_text_are_encodable_and_excluded_actions_are_not_checked() -> (
    None
):
    report = actions.validate(
        frame(
            {"Summary__c": "Gala\tdinner\r\nthanks \u2014 Zo\u00eb \U0001f389 \u5bc4\u4ed8"},
            {"Summary__c": "bad\x07", "Tags__c": "Online;" + actions.EXCLUDE_TAG},
        ),
        CATALOG,
    )
    assert report.ok and len(report.valid) == 1 and len(report.excluded_ids) == 1

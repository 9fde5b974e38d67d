"""The masters sync's rules as a table: (Salesforce record, Intacct record, id map, config) ->
planned actions. Planning is a pure function of snapshots, so none of these starts a sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pandas as pd
import pytest

from intacct_sync import sync
from intacct_sync.errors import InputError
from intacct_sync.o2c import timestamps
from intacct_sync.o2c.mapping import canon, domain_key
from intacct_sync.o2c.snapshots import ACTIVE, ia_records
from intacct_sync.state import IdMapping

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
EARLY, LATE = T0, T0 + dt.timedelta(hours=1)
ACCOUNTS = sync.MastersConfig(products=None)


def sf(
    rid: str,
    name: str,
    *,
    ext: str | None = None,
    phone: str | None = None,
    website: str | None = None,
    active: bool = True,
    erased: bool = False,
    modified: dt.datetime = T0,
) -> sync.MasterRecord:
    match = {"name": sync.normalise_name(name), "domain": domain_key(website)}
    return sync.MasterRecord(
        side="salesforce",
        id=rid,
        name=name,
        values={"Name": canon("text", name), "Phone": phone, "Website": website},
        active=active,
        modified=modified,
        ext_key=ext,
        erased=erased,
        match={k: v for k, v in match.items() if v},
    )


def ia(
    rid: str,
    name: str,
    *,
    phone: str | None = None,
    website: str | None = None,
    active: bool = True,
    modified: dt.datetime = T0,
) -> sync.MasterRecord:
    match = {"name": sync.normalise_name(name), "domain": domain_key(website)}
    return sync.MasterRecord(
        side="intacct",
        id=rid,
        name=name,
        values={"Name": canon("text", name), "Phone": phone, "Website": website},
        active=active,
        modified=modified,
        record_no="1",
        match={k: v for k, v in match.items() if v},
    )


def agreed(name: str, phone: str | None = None, *, active: bool = True) -> dict[str, Any]:
    return {"Name": name, "Phone": phone, "Website": None, ACTIVE: "true" if active else "false"}


def plan(
    sf_recs: list[sync.MasterRecord],
    ia_recs: list[sync.MasterRecord],
    *,
    links: Mapping[str, str] | None = None,
    shadows: Mapping[str, dict[str, Any]] | None = None,
    decisions: Mapping[str, str] | None = None,
    config: sync.MastersConfig = ACCOUNTS,
    mode: str = "full",
) -> sync.MastersPlan:
    snapshot = sync.MastersSnapshot(
        config=config,
        objects={
            "Account": sync.ObjectSnapshot(
                object="Account",
                salesforce={r.id: r for r in sf_recs},
                intacct={r.id: r for r in ia_recs},
                mode=mode,  # type: ignore[arg-type]
            )
        },
    )
    stored = sync.StoredMasters(
        objects={
            "Account": sync.StoredObject(
                id_map=tuple(
                    IdMapping(object="Account", salesforce_id=s, intacct_id=i)
                    for s, i in (links or {}).items()
                ),
                agreed=shadows or {},
                decisions=decisions or {},
                watermark_salesforce=T0,
                watermark_intacct=T0,
            )
        }
    )
    return sync.plan_masters(snapshot, stored, config)


def actions(p: sync.MastersPlan) -> set[tuple[str, str]]:
    return {(c.action, c.target) for c in p.changes}


SOR = sync.MastersConfig(products=None, conflict=sync.ConflictRule(mode="system_of_record"))
PHONE_SOR_SF = attrs.evolve(
    ACCOUNTS,
    accounts=sync.DEFAULT_ACCOUNT_MAPPING.with_fields(
        sync.FieldMap(
            salesforce="Phone", intacct="DISPLAYCONTACT.PHONE1", system_of_record="salesforce"
        )
    ),
)
LINKED = {"001A": "C1"}

# (case, Salesforce records, Intacct records, plan arguments, expected actions, reason fragment)
RULES: list[tuple[str, list[Any], list[Any], dict[str, Any], set[tuple[str, str]], str]] = [
    (
        "external id matches exactly",
        [sf("001A", "Acme Ltd", ext="C1")],
        [ia("C1", "Something Else")],
        {},
        {("link", ""), ("conflict", "salesforce"), ("update", "salesforce")},
        "matched by external id",
    ),
    (
        "external id differing only in punctuation is no match",
        [sf("001A", "Acme Logistics", ext="C-1")],
        [ia("C1", "Acme Robotics")],
        {},
        # C-1 becomes the new Intacct id (the external id is kept), and C1 goes to Salesforce.
        {("create", "intacct"), ("create", "salesforce")},
        "only in",
    ),
    (
        "the id map pairs records whatever their names; nothing differs, nothing written",
        [sf("001A", "Acme", ext="C1", phone="1")],
        [ia("C1", "Totally Different", phone="1")],
        {"links": {"001A": "C1"}, "shadows": {"001A": agreed("Acme", "1")}},
        {("update", "salesforce")},
        "",
    ),
    (
        "normalised name matches across systems",
        [sf("001A", "ACME Robotics, Inc")],
        [ia("C1", "Acme Robotics Inc.")],
        {},
        # The spellings differ at the pair's first sync: a conflict, the tie to Intacct.
        {
            ("link", ""),
            ("link", "salesforce"),
            ("conflict", "salesforce"),
            ("update", "salesforce"),
        },
        "matched by name",
    ),
    (
        "web domain matches when names differ",
        [sf("001A", "Northwind", website="https://www.northwind.example")],
        [ia("C1", "NW Trading", website="www.northwind.example")],
        {},
        {
            ("link", ""),
            ("link", "salesforce"),
            ("conflict", "salesforce"),
            ("update", "salesforce"),
        },
        "matched by domain",
    ),
    (
        "two candidates on the other side: ambiguous, nothing created",
        [sf("001A", "Initech", website="initech.example")],
        [
            ia("C1", "Initech West", website="initech.example"),
            ia("C2", "Initech East", website="initech.example"),
        ],
        {},
        {("ambiguous", "")},
        "candidates in Intacct",
    ),
    (
        "duplicates within Salesforce: reported, nothing created for them",
        [sf("001A", "Globex Corp."), sf("001B", "Globex Corporation")],
        [],
        {},
        {("duplicate", "")},
        "possible duplicates in salesforce",
    ),
    (
        "duplicates within Intacct: reported, nothing created for them",
        [],
        [ia("C1", "Northwind Traders"), ia("C2", "Northwind Traders LLC")],
        {},
        {("duplicate", "")},
        "possible duplicates in intacct",
    ),
    (
        "a duplicate decided distinct is created like any other",
        [],
        [ia("C1", "Northwind Traders"), ia("C2", "Northwind Traders LLC")],
        {"decisions": {"i:C1": "distinct", "i:C2": "distinct"}},
        {("create", "salesforce")},
        "only in Intacct",
    ),
    (
        "an ignored record is never synced",
        [sf("001A", "Hooli")],
        [],
        {"decisions": {"001A": "ignore"}},
        set(),
        "",
    ),
    (
        "Salesforce-only active record: external id first, then the Intacct create",
        [sf("001A", "Hooli")],
        [],
        {},
        {("link", "salesforce"), ("create", "intacct")},
        "only in Salesforce",
    ),
    (
        "one-sided inactive records are not copied",
        [sf("001A", "Hooli", active=False)],
        [ia("C9", "Vandelay", active=False)],
        {},
        set(),
        "",
    ),
    (
        "changed on Salesforce only: flows to Intacct, no conflict",
        [sf("001A", "Acme", ext="C1", phone="new")],
        [ia("C1", "Acme", phone="old")],
        {"links": LINKED, "shadows": {"001A": agreed("Acme", "old")}},
        {("update", "intacct")},
        "",
    ),
    (
        "changed on Intacct only: flows to Salesforce, no conflict",
        [sf("001A", "Acme", ext="C1", phone="old")],
        [ia("C1", "Acme", phone="new")],
        {"links": LINKED, "shadows": {"001A": agreed("Acme", "old")}},
        {("update", "salesforce")},
        "",
    ),
    (
        "changed on both, Salesforce modified later: Salesforce wins",
        [sf("001A", "Acme", ext="C1", phone="sf", modified=LATE)],
        [ia("C1", "Acme", phone="ia", modified=EARLY)],
        {"links": LINKED, "shadows": {"001A": agreed("Acme", "old")}},
        {("conflict", "intacct"), ("update", "intacct")},
        "Salesforce wins (last modified",
    ),
    (
        "changed on both, Intacct modified later: Intacct wins",
        [sf("001A", "Acme", ext="C1", phone="sf", modified=EARLY)],
        [ia("C1", "Acme", phone="ia", modified=LATE)],
        {"links": LINKED, "shadows": {"001A": agreed("Acme", "old")}},
        {("conflict", "salesforce"), ("update", "salesforce")},
        "Intacct wins (last modified",
    ),
    (
        "same modification time: the tie goes to the system of record",
        [sf("001A", "Acme", ext="C1", phone="sf")],
        [ia("C1", "Acme", phone="ia")],
        {"links": LINKED, "shadows": {"001A": agreed("Acme", "old")}},
        {("conflict", "salesforce"), ("update", "salesforce")},
        "tie goes to the system of record",
    ),
    (
        "system_of_record mode: Intacct wins even when Salesforce is later",
        [sf("001A", "Acme", ext="C1", phone="sf", modified=LATE)],
        [ia("C1", "Acme", phone="ia", modified=EARLY)],
        {"links": LINKED, "shadows": {"001A": agreed("Acme", "old")}, "config": SOR},
        {("conflict", "salesforce"), ("update", "salesforce")},
        "Intacct wins (system of record)",
    ),
    (
        "a field's own system of record beats the rule",
        [sf("001A", "Acme", ext="C1", phone="sf", modified=EARLY)],
        [ia("C1", "Acme", phone="ia", modified=LATE)],
        {"links": LINKED, "shadows": {"001A": agreed("Acme", "old")}, "config": PHONE_SOR_SF},
        {("conflict", "intacct"), ("update", "intacct")},
        "field's system of record",
    ),
    (
        "soft delete Salesforce -> Intacct: STATUS inactive",
        [sf("001A", "Acme", ext="C1", active=False)],
        [ia("C1", "Acme")],
        {"links": LINKED, "shadows": {"001A": agreed("Acme")}},
        {("deactivate", "intacct")},
        "inactive in Salesforce",
    ),
    (
        "soft delete Intacct -> Salesforce: Is_Deleted__c",
        [sf("001A", "Acme", ext="C1")],
        [ia("C1", "Acme", active=False)],
        {"links": LINKED, "shadows": {"001A": agreed("Acme")}},
        {("deactivate", "salesforce")},
        "inactive in Intacct",
    ),
    (
        "first sync of a pair with one side inactive: the deactivation wins",
        [sf("001A", "Acme", ext="C1")],
        [ia("C1", "Acme", active=False)],
        {},
        {("link", ""), ("deactivate", "salesforce")},
        "inactive in Intacct",
    ),
    (
        "erased in Salesforce (gone from a full read): Intacct record made inactive",
        [],
        [ia("C1", "Acme")],
        {"links": LINKED, "shadows": {"001A": agreed("Acme")}},
        {("deactivate", "intacct")},
        "erased in Salesforce",
    ),
    (
        "gone from Intacct: Salesforce record made inactive",
        [sf("001A", "Acme", ext="C1")],
        [],
        {"links": LINKED, "shadows": {"001A": agreed("Acme")}},
        {("deactivate", "salesforce")},
        "no longer in Intacct",
    ),
    (
        "an incremental read that did not fetch the partner deactivates nothing",
        [sf("001A", "Acme", ext="C1")],
        [],
        {"links": LINKED, "shadows": {"001A": agreed("Acme")}, "mode": "incremental"},
        set(),
        "",
    ),
    (
        "in the recycle bin: Intacct deactivated, nothing written back to Salesforce",
        [sf("001A", "Acme", ext="C1", phone="sf", active=False, erased=True)],
        [ia("C1", "Acme", phone="ia")],
        {"links": LINKED, "shadows": {"001A": agreed("Acme", "ia")}},
        {("deactivate", "intacct"), ("update", "intacct")},
        "inactive in Salesforce",
    ),
]


@pytest.mark.parametrize(
    ("sf_recs", "ia_recs", "kwargs", "expected", "reason"),
    [pytest.param(*row[1:], id=row[0]) for row in RULES],
)
def test_rule(
    sf_recs: list[sync.MasterRecord],
    ia_recs: list[sync.MasterRecord],
    kwargs: dict[str, Any],
    expected: set[tuple[str, str]],
    reason: str,
) -> None:
    result = plan(sf_recs, ia_recs, **kwargs)
    assert actions(result) == expected
    if reason:
        assert any(reason in c.reason for c in result.changes), [c.reason for c in result.changes]


def test_a_plan_is_frozen_data_made_without_clients() -> None:
    result = plan([sf("001A", "Hooli")], [])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        result.changes = ()  # type: ignore[misc]
    # Planning twice from the same snapshots gives the same plan: nothing was consumed.
    assert plan([sf("001A", "Hooli")], []).changes == result.changes
    assert {c.action for c in result.needs_decision()} == set()


def test_plan_masters_refuses_arguments_of_neither_form() -> None:
    with pytest.raises(InputError):
        sync.plan_masters("sf", "ia", None)  # type: ignore[call-overload]


def test_full_plan_keeps_pending_decisions_for_the_apply_to_store() -> None:
    result = plan([sf("001A", "Globex Corp."), sf("001B", "Globex Corporation")], [])
    assert [r["salesforce_id"] for r in result.pending["Account"]] == ["001A", "001B"]
    # An incremental read leaves the stored ones alone.
    assert plan([], [], mode="incremental").pending == {}


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        # The repeated hour (EDT then EST): the earlier instant, 01:30 EDT.
        ("2026-11-01 01:30:00", dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)),
        # The skipped hour: shifted forward to 03:00 EDT, the first instant that exists.
        ("2026-03-08 02:30:00", dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.UTC)),
        # Ordinary times either side of the repeat.
        ("2026-11-01 00:59:59", dt.datetime(2026, 11, 1, 4, 59, 59, tzinfo=dt.UTC)),
        ("2026-11-01 02:00:00", dt.datetime(2026, 11, 1, 7, 0, tzinfo=dt.UTC)),
        # Already aware: converted as it is.
        ("2026-11-01T01:30:00-05:00", dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)),
    ],
)
def test_intacct_wall_times_in_daylight_saving_changes(wall: str, expected: dt.datetime) -> None:
    assert timestamps.to_utc(wall, NEW_YORK) == expected
    assert timestamps.to_utc(pd.Timestamp(wall), NEW_YORK) == expected


def test_missing_stamps_are_none() -> None:
    for value in (None, pd.NaT, pd.NA, float("nan"), ""):
        assert timestamps.to_utc(value, NEW_YORK) is None


def test_masters_read_a_whenmodified_in_the_repeated_hour() -> None:
    # Before: pandas' bare ValueError ("Cannot infer dst time") stopped every masters sync.
    frame = pd.DataFrame(
        {
            "RECORDNO": ["1", "2"],
            "CUSTOMERID": ["C1", "C2"],
            "NAME": ["Acme", "Globex"],
            "STATUS": ["active", "active"],
            "WHENMODIFIED": pd.to_datetime(["2026-11-01 01:30:00", "2026-03-08 02:30:00"]),
        }
    )
    records = ia_records(frame, sync.DEFAULT_ACCOUNT_MAPPING, NEW_YORK)
    assert records["C1"].modified == dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)
    assert records["C2"].modified == dt.datetime(2026, 3, 8, 7, 0, tzinfo=dt.UTC)


def test_unknown_time_zone_is_a_typed_error() -> None:
    with pytest.raises(InputError) as info:
        sync.MastersConfig(intacct_timezone="Mars/Olympus").zone()
    assert info.value.field == "intacct_timezone" and info.value.value == "Mars/Olympus"

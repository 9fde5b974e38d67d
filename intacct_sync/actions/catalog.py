"""CRM actions (donations, memberships, tickets) and their CR/DR tags: catalog and validation.

An *action* is a Salesforce ``Action__c`` record. Its ``Tags__c`` long text holds ``;``-separated
tag labels; the ones this workflow reads look like::

    <CR|DR> <Account|Location|Department|Class|Custom>: <Intacct id>[ <name>]

e.g. ``CR Account: 4000 Contributions - Individuals``, ``DR Account: 1000 Cash - Operating``,
``CR Location: HQ``. The id is the first word after the colon (Intacct ids hold no spaces); the
name after it is for people and is not checked. Any other tag is ignored, except
:data:`EXCLUDE_TAG`, which leaves the action out of the run.

The *catalog* is built from Intacct (:func:`build_catalog`): one CR and one DR tag per active
account and dimension value, grouped in categories (``[Sage Intacct] Accounts`` ...). It can be
written back to the CRM's ``Intacct_Tag__c`` object (:func:`write_catalog`) so people tag
actions by picking from it.

:func:`validate` checks a DataFrame of actions against the catalog and the per-attribute
:class:`TagSettings`, and returns a :class:`ValidationReport` naming each problem's action,
rule, field and value. Each rule is a small function in :data:`RULES`.

It is long (over 600 lines) because the tag catalog and the validation rules read the same tag
grammar and settings; splitting them would split one rule table in two.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.actions.dimensions import CustomDimension, resolve_udd_values
from intacct_sync.errors import InputError
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.reports import Report, plural
from intacct_sync.salesforce.client import SalesforceClient

__all__ = [
    "ACTION_COLUMNS",
    "ACTION_FIELDS",
    "ATTRIBUTES",
    "Attribute",
    "CATALOG_COLUMNS",
    "CatalogWriteReport",
    "CustomDimension",
    "EXCLUDE_TAG",
    "ISSUE_COLUMNS",
    "Mode",
    "NEEDS_REVIEW",
    "RULES",
    "TAG_OBJECT",
    "TagSettings",
    "ValidationReport",
    "build_catalog",
    "catalog_from_values",
    "catalog_records",
    "parse_tag",
    "resolve_udd_values",
    "tag_label",
    "validate",
    "write_catalog",
]

log = logging.getLogger("intacct_sync.actions.catalog")

#: The tag that leaves an action out of every run (exact text).
EXCLUDE_TAG = "[System] Auto-Generated: Exclude from Sage Intacct"
#: ``Status__c`` given to invalid actions in the CRM.
NEEDS_REVIEW = "System Needs Review"
#: The CRM object the catalog is written to.
TAG_OBJECT = "Intacct_Tag__c"

Attribute = Literal["account", "location", "department", "class", "custom"]
Mode = Literal["require", "available", "exclude"]
Side = Literal["CR", "DR"]

#: The attributes a tag can carry, in catalog order.
ATTRIBUTES: tuple[Attribute, ...] = ("account", "location", "department", "class", "custom")
_WORDS: Mapping[Attribute, str] = {
    "account": "Account",
    "location": "Location",
    "department": "Department",
    "class": "Class",
    "custom": "Custom",
}
_BY_WORD: Mapping[str, Attribute] = {w.lower(): a for a, w in _WORDS.items()}
_CATEGORIES: Mapping[Attribute, str] = {
    "account": "[Sage Intacct] Accounts",
    "location": "[Sage Intacct] Locations",
    "department": "[Sage Intacct] Departments",
    "class": "[Sage Intacct] Classes",
}
_TAG_RE = re.compile(
    r"^\s*(?P<side>CR|DR)\s+(?P<word>Account|Location|Department|Class|Custom)\s*:\s*"
    r"(?P<value>\S+)(?:\s+(?P<name>.*?))?\s*$",
    re.IGNORECASE,
)
# The same pattern for pandas' vectorised extract (named groups become columns).
_TAG_PATTERN = _TAG_RE.pattern

#: Columns of an actions frame (``Action__c`` API names, as :class:`ActionSync` queries them).
#: ``Id``, ``Amount__c``, ``Happened_At__c`` and ``Tags__c`` are required; the rest are optional.
ACTION_COLUMNS: Mapping[str, frames.Kind] = {
    "Id": "text",
    "Name": "text",
    "Action_Type__c": "text",
    "Amount__c": "decimal",
    "Happened_At__c": "timestamp",
    "Contact__r.Name": "text",
    "Summary__c": "text",
    "Action_URL__c": "text",
    "Tags__c": "text",
    "Status__c": "text",
    "Intacct_Posted__c": "boolean",
    "Intacct_Record_No__c": "text",
    "CreatedDate": "timestamp",
}
_REQUIRED_COLUMNS = ("Id", "Amount__c", "Happened_At__c", "Tags__c")
#: The SOQL select list for ``Action__c``.
ACTION_FIELDS: tuple[str, ...] = tuple(ACTION_COLUMNS)

#: Columns of the catalog frame.
CATALOG_COLUMNS: Mapping[str, frames.Kind] = {
    "tag": "text",
    "category": "text",
    "side": "text",
    "attribute": "text",
    "value": "text",
    "value_name": "text",
    "key": "text",
    "wire_value": "text",
}
#: Columns of a validation report's issues.
ISSUE_COLUMNS: Mapping[str, frames.Kind] = {
    "action_id": "text",
    "name": "text",
    "rule": "text",
    "field": "text",
    "value": "text",
    "message": "text",
}
_TAG_NAME_LENGTH = 80  # Intacct_Tag__c.Name


def tag_label(side: str, attribute: str, value: str, name: str | None = None) -> str:
    """The label of a CR/DR tag.

    >>> tag_label("CR", "account", "4000", "Contributions - Individuals")
    'CR Account: 4000 Contributions - Individuals'
    >>> tag_label("DR", "location", "HQ")
    'DR Location: HQ'

    Args:
        side: ``CR`` or ``DR``.
        attribute: the attribute the tag sets (``account``, ``location``...).
        value: the Intacct id of the value.
        name: the value's name, shown after the id; None for none.

    Returns:
        The tag's label, as users see it in the CRM.
    """
    word = _WORDS[_attribute(attribute)]
    text = f"{side.upper()} {word}: {value}"
    return f"{text} {name}" if name else text


def parse_tag(label: str) -> tuple[Side, Attribute, str] | None:
    """``(side, attribute, Intacct id)`` of a CR/DR tag, or None for any other tag.

    >>> parse_tag("CR Account: 4000 Contributions - Individuals")
    ('CR', 'account', '4000')
    >>> parse_tag("Newsletter Signup") is None
    True

    Args:
        label: a tag label as the CRM holds it.

    Returns:
        ``(side, attribute, Intacct id)`` for a CR/DR tag, or None for any other tag.
    """
    match = _TAG_RE.match(label)
    if match is None:
        return None
    side: Side = "CR" if match["side"].upper() == "CR" else "DR"
    return side, _BY_WORD[match["word"].lower()], match["value"]


def _attribute(name: str) -> Attribute:
    key = name.lower()
    for attribute in ATTRIBUTES:
        if attribute == key:
            return attribute
    raise InputError(f"unknown attribute; expected one of {', '.join(ATTRIBUTES)}", value=name)


# -- settings ----------------------------------------------------------------------------------


def _mode(value: str) -> Mode:
    if value == "require":
        return "require"
    if value == "available":
        return "available"
    if value == "exclude":
        return "exclude"
    raise InputError("a mode is 'require', 'available' or 'exclude'", value=value)


def _account_required(instance: Any, attribute: attrs.Attribute[Mode], value: Mode) -> None:
    if value != "require":
        raise InputError(
            "the account is always required: a journal entry cannot be built without one",
            field="account",
            value=value,
        )


@attrs.frozen(kw_only=True)
class TagSettings:
    """How each attribute's CR/DR tags are treated.

    ``require``: every action needs exactly one CR and one DR tag; ``available``: an action may
    carry a pair (both sides) or none; ``exclude``: the attribute is not used (its tags are
    ignored and no catalog entries are made).

    Attributes:
        account: always ``require`` (the default; anything else is refused).
        location: default ``available``.
        department: default ``available``.
        class_: default ``available`` (``class`` is a Python keyword).
        custom: default ``exclude``.
        custom_dimension: which Intacct object the ``Custom`` tags refer to.
    """

    account: Mode = attrs.field(default="require", converter=_mode, validator=_account_required)
    location: Mode = attrs.field(default="available", converter=_mode)
    department: Mode = attrs.field(default="available", converter=_mode)
    class_: Mode = attrs.field(default="available", converter=_mode)
    custom: Mode = attrs.field(default="exclude", converter=_mode)
    custom_dimension: CustomDimension = attrs.field(factory=CustomDimension)

    def mode(self, attribute: str) -> Mode:
        """The mode of ``attribute`` (``account`` ... ``custom``).

        Args:
            attribute: ``account``, ``location``, ``department``, ``class`` or ``custom``.

        Returns:
            ``require``, ``available`` or ``exclude``.
        """
        name = _attribute(attribute)
        value: Mode = getattr(self, "class_" if name == "class" else name)
        return value

    def used(self) -> tuple[Attribute, ...]:
        """The attributes that are not excluded, in order.

        Returns:
            The attributes whose mode is not ``exclude``, in catalog order.
        """
        return tuple(a for a in ATTRIBUTES if self.mode(a) != "exclude")

    def category(self, attribute: str) -> str:
        """The catalog category of ``attribute``.

        Args:
            attribute: ``account``, ``location``, ``department``, ``class`` or ``custom``.

        Returns:
            The category name the catalog files the attribute's tags under.
        """
        name = _attribute(attribute)
        if name == "custom":
            return f"[Sage Intacct] {self.custom_dimension.label}"
        return _CATEGORIES[name]


# -- catalog -----------------------------------------------------------------------------------


def _dimension_sources(settings: TagSettings) -> dict[Attribute, tuple[str, str, str]]:
    return {
        "account": ("GLACCOUNT", "ACCOUNTNO", "TITLE"),
        "location": ("LOCATION", "LOCATIONID", "NAME"),
        "department": ("DEPARTMENT", "DEPARTMENTID", "TITLE"),
        "class": ("CLASS", "CLASSID", "NAME"),
    }


def build_catalog(ia: IntacctClient, settings: TagSettings | None = None) -> pd.DataFrame:
    """Read accounts and dimension values from Intacct and make the CR/DR tag catalog.

    Accounts and standard dimensions: only active values (``STATUS = 'T'``). The custom
    dimension's values are read from its Platform object with ``query`` (``id``, ``name``,
    §13.5); no status is on record for them, so all are offered. Excluded attributes are not
    read at all.

    Args:
        ia: a client signed in to the company.
        settings: which attributes are used (default :class:`TagSettings`).

    Returns:
        The catalog (:data:`CATALOG_COLUMNS`): one CR and one DR row per active value;
        ``wire_value`` is what a journal line sends (the UDD ``id`` for custom tags).

    >>> catalog = build_catalog(ia)  # doctest: +SKIP
    >>> catalog[catalog["attribute"] == "location"]["tag"].tolist()  # doctest: +SKIP
    ['CR Location: HQ', 'DR Location: HQ', 'CR Location: NORTH', ...]
    """
    settings = settings or TagSettings()
    values: dict[str, pd.DataFrame | Iterable[tuple[str, str | None]]] = {}
    sources = _dimension_sources(settings)
    for attribute in settings.used():
        if attribute == "custom":
            custom = settings.custom_dimension
            frame = ia.query(custom.object, select=[custom.id_field, custom.name_field])
            # Tags carry the name; the line takes the id (GLDIM<name> = UDD id, §13.5).
            values[attribute] = pd.DataFrame(
                {
                    "id": frame[custom.name_field].astype("string"),
                    "name": pd.Series(pd.NA, index=frame.index, dtype="string"),
                    "wire": frame[custom.id_field].astype("string"),
                }
            )
            continue
        obj, id_field, name_field = sources[attribute]
        frame = ia.read_by_query(obj, "STATUS = 'T'", fields=[id_field, name_field])
        values[attribute] = pd.DataFrame(
            {"id": frame[id_field].astype("string"), "name": frame[name_field].astype("string")}
        )
    return catalog_from_values(values, settings)


def catalog_from_values(
    values: Mapping[str, pd.DataFrame | Iterable[tuple[str, str | None]]],
    settings: TagSettings | None = None,
) -> pd.DataFrame:
    """Make the catalog from active values already in hand (no Intacct call).

    Args:
        values: per attribute, a frame with ``id`` and ``name`` columns (and optionally
            ``wire``: what a journal line sends when it differs from the tag's id, as a UDD's
            integer ``id`` does) or ``(id, name)`` pairs. Attributes the settings exclude are
            skipped.
        settings: as for :func:`build_catalog`.

    >>> catalog_from_values({"account": [("4000", "Contributions")]})["tag"].tolist()
    ['CR Account: 4000 Contributions', 'DR Account: 4000 Contributions']

    Returns:
        The tag catalog: one CR and one DR row per active value, in the columns
        :func:`build_catalog` returns.
    """
    settings = settings or TagSettings()
    rows: list[dict[str, Any]] = []
    for name, given in values.items():
        attribute = _attribute(name)
        if settings.mode(attribute) == "exclude":
            continue
        wires: dict[str, str] = {}
        if isinstance(given, pd.DataFrame):
            pairs = list(zip(given["id"].tolist(), given["name"].tolist(), strict=True))
            if "wire" in given.columns:
                wires = {
                    str(i).strip(): str(w).strip()
                    for i, w in zip(given["id"].tolist(), given["wire"].tolist(), strict=True)
                    if not pd.isna(i) and not pd.isna(w)
                }
        else:
            pairs = list(given)
        for value_id, value_name in sorted(pairs, key=lambda p: str(p[0])):
            if value_id is None or value_id is pd.NA or str(value_id).strip() == "":
                continue
            text_id = str(value_id).strip()
            if re.search(r"\s", text_id):
                raise InputError(
                    "an Intacct id used in tags cannot contain spaces",
                    field=attribute,
                    value=text_id,
                )
            shown = None if value_name is None or value_name is pd.NA else str(value_name)
            for side in ("CR", "DR"):
                rows.append(
                    {
                        # Dimension tags carry the id only, as the CRM's existing tags do.
                        "tag": tag_label(
                            side, attribute, text_id, shown if attribute == "account" else None
                        ),
                        "category": settings.category(attribute),
                        "side": side,
                        "attribute": attribute,
                        "value": text_id,
                        "value_name": shown,
                        "key": f"{attribute}:{side}:{text_id}",
                        "wire_value": wires.get(text_id, text_id),
                    }
                )
    return frames.frame_from_records(rows, CATALOG_COLUMNS)


def catalog_records(catalog: pd.DataFrame) -> list[dict[str, Any]]:
    """The catalog as ``Intacct_Tag__c`` records (``Tag_Key__c`` is the external id).

    ``Name`` is the tag label cut to the field's 80 characters (the key, not the name, is the
    record's identity).

    Args:
        catalog: a catalog frame (:func:`build_catalog`, :func:`catalog_from_values`).

    Returns:
        One ``Intacct_Tag__c`` record (a dict of field values) per catalog row, ready to upsert by
        ``Tag_Key__c``.
    """
    return [
        {
            "Tag_Key__c": row["key"],
            "Name": str(row["tag"])[:_TAG_NAME_LENGTH],
            "Category__c": row["category"],
            "Side__c": row["side"],
            "Dimension__c": row["attribute"],
            "Value__c": row["value"],
            "Active__c": True,
        }
        for row in frames.frame_to_records(catalog)
    ]


@attrs.frozen(kw_only=True, eq=False, repr=False)
class CatalogWriteReport(Report):
    """What :func:`write_catalog` did to ``Intacct_Tag__c``.

    Attributes:
        outcomes: one row per tag written or retired: ``key``, ``tag``, ``change``
            (``created``, ``updated``, ``retired``, ``failed``), ``errors``.
    """

    outcomes: pd.DataFrame

    def count(self, change: str) -> int:
        """How many tags had ``change``.

        Args:
            change: a value of the ``change`` column (``created``, ``updated``, ``retired`` or
                ``failed``).

        Returns:
            The number of tags with that change.
        """
        return int((self.outcomes["change"] == change).sum())

    def to_frame(self) -> pd.DataFrame:
        """Rows that were not plain updates of an unchanged tag.

        Returns:
            A DataFrame of the tags created, deactivated or changed (one row per tag).
        """
        return self.outcomes[self.outcomes["change"] != "updated"].reset_index(drop=True)

    def summary(self) -> str:
        """Counts per change.

        Returns:
            One line of counts per change, for a person.
        """
        return (
            f"catalog written to {TAG_OBJECT}: {self.count('created')} created, "
            f"{self.count('updated')} updated, {self.count('retired')} retired, "
            f"{self.count('failed')} failed"
        )


def write_catalog(sf: SalesforceClient, catalog: pd.DataFrame) -> CatalogWriteReport:
    """Write the catalog to the CRM's ``Intacct_Tag__c`` and retire tags no longer offered.

    Tags are upserted by ``Tag_Key__c`` (``account:CR:4000``), so rerunning creates no
    duplicates; an active tag whose key is not in ``catalog`` gets ``Active__c = false`` (never
    deleted: actions may still carry it).

    Args:
        sf: the Salesforce client.
        catalog: the catalog to write (:func:`build_catalog`).

    Returns:
        A :class:`CatalogWriteReport`.
    """
    records = catalog_records(catalog)
    rows: list[dict[str, Any]] = []
    if records:
        outcome = sf.upsert(TAG_OBJECT, records, external_id_field="Tag_Key__c")
        for record, result in zip(records, frames.frame_to_records(outcome), strict=True):
            # The outcome contract (intacct_sync.outcomes): created / updated when done.
            status = result["status"]
            change = status if status in ("created", "updated") else "failed"
            rows.append(
                {
                    "key": record["Tag_Key__c"],
                    "tag": record["Name"],
                    "change": change,
                    "errors": result["errors"],
                }
            )
    existing = sf.query("SELECT Id, Name, Tag_Key__c FROM Intacct_Tag__c WHERE Active__c = true")
    wanted = {r["Tag_Key__c"] for r in records}
    stale = existing[~existing["Tag_Key__c"].isin(wanted)]
    if len(stale):
        retire = [{"Id": i, "Active__c": False} for i in stale["Id"].tolist()]
        outcome = sf.update(TAG_OBJECT, retire)
        for (_, old), result in zip(
            stale.iterrows(), frames.frame_to_records(outcome), strict=True
        ):
            rows.append(
                {
                    "key": old["Tag_Key__c"],
                    "tag": old["Name"],
                    "change": "retired" if result["done"] else "failed",
                    "errors": result["errors"],
                }
            )
    kinds: dict[str, frames.Kind] = {
        "key": "text",
        "tag": "text",
        "change": "text",
        "errors": "text",
    }
    report = CatalogWriteReport(outcomes=frames.frame_from_records(rows, kinds))
    log.info("%s", report.summary())
    return report


# -- validation --------------------------------------------------------------------------------


def _check_actions(actions: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _REQUIRED_COLUMNS if c not in actions.columns]
    if missing:
        raise InputError(
            f"the actions frame lacks required column(s) {', '.join(missing)}; expected the "
            f"Action__c API names {', '.join(ACTION_COLUMNS)}",
            field=missing[0],
        )
    frame = actions.reset_index(drop=True)
    ids = frame["Id"]
    blank = ids.isna() | (ids.astype("string").str.strip() == "")
    if bool(blank.any()):
        row = int(blank.to_numpy(dtype=bool, na_value=True).nonzero()[0][0])
        raise InputError("every action needs an Id", row=row, field="Id", value=ids.iloc[row])
    duplicated = ids.duplicated()
    if bool(duplicated.any()):
        row = int(duplicated.to_numpy().nonzero()[0][0])
        raise InputError("the same action Id appears twice", row=row, field="Id", value=ids[row])
    return frame


@attrs.frozen(kw_only=True, eq=False)
class _Context:
    """What the rules look at: the actions, their parsed tags, the catalog, the settings."""

    actions: pd.DataFrame  # positional index
    tags: pd.DataFrame  # pos, side, attribute, value, tag (used attributes only, de-duplicated)
    wide: pd.DataFrame  # index pos, columns "<attribute>_<cr|dr>" (first value per side)
    catalog_values: Mapping[str, frozenset[str]]
    settings: TagSettings
    amounts: list[Decimal | None]
    amount_errors: Mapping[int, str]


Issue = dict[str, Any]
Rule = Callable[[_Context], list[Issue]]


def _issue(ctx: _Context, pos: int, rule: str, field: str, value: Any, message: str) -> Issue:
    row = ctx.actions.iloc[pos]
    name = row["Name"] if "Name" in ctx.actions.columns else None
    return {
        "action_id": row["Id"],
        "name": None if name is None or name is pd.NA else name,
        "rule": rule,
        "field": field,
        "value": None if value is None or value is pd.NA else str(value),
        "message": message,
    }


def _side_column(attribute: str, side: str) -> str:
    return f"{attribute}_{side.lower()}"


def _present(ctx: _Context, attribute: str, side: str) -> pd.Series:
    column = _side_column(attribute, side)
    if column not in ctx.wide.columns:
        return pd.Series(False, index=ctx.wide.index)
    return ctx.wide[column].notna()


def rule_required_pair(ctx: _Context) -> list[Issue]:
    """A required attribute needs both its CR and its DR tag."""
    issues = []
    for attribute in ctx.settings.used():
        if ctx.settings.mode(attribute) != "require":
            continue
        for side in ("CR", "DR"):
            missing = ~_present(ctx, attribute, side)
            for pos in missing[missing].index:
                issues.append(
                    _issue(
                        ctx,
                        int(pos),
                        "missing_required_tag",
                        "Tags__c",
                        None,
                        f"no '{side} {_WORDS[attribute]}' tag; {attribute} is required",
                    )
                )
    return issues


def rule_one_side_only(ctx: _Context) -> list[Issue]:
    """An available attribute is used with both sides or not at all."""
    issues = []
    for attribute in ctx.settings.used():
        if ctx.settings.mode(attribute) != "available":
            continue
        cr, dr = _present(ctx, attribute, "CR"), _present(ctx, attribute, "DR")
        for pos in (cr ^ dr)[cr ^ dr].index:
            has, lacks = ("CR", "DR") if cr[pos] else ("DR", "CR")
            value = ctx.wide.at[pos, _side_column(attribute, has)]
            issues.append(
                _issue(
                    ctx,
                    int(pos),
                    "one_side_only",
                    "Tags__c",
                    tag_label(has, attribute, str(value)),
                    f"has a '{has} {_WORDS[attribute]}' tag but no '{lacks} {_WORDS[attribute]}' "
                    "tag; tag both sides or neither",
                )
            )
    return issues


def rule_multiple_tags(ctx: _Context) -> list[Issue]:
    """At most one tag per attribute and side (the same tag twice counts once)."""
    counts = ctx.tags.groupby(["pos", "attribute", "side"], sort=True)["value"].nunique()
    issues = []
    for key, n in counts[counts > 1].items():
        parts: tuple[Any, ...] = tuple(key)  # type: ignore[arg-type]
        pos, attribute, side = parts
        values = ctx.tags[
            (ctx.tags["pos"] == pos)
            & (ctx.tags["attribute"] == attribute)
            & (ctx.tags["side"] == side)
        ]["tag"].tolist()
        issues.append(
            _issue(
                ctx,
                int(pos),
                "multiple_tags",
                "Tags__c",
                "; ".join(values),
                f"{n} '{side} {_WORDS[_attribute(str(attribute))]}' tags; exactly one is allowed",
            )
        )
    return issues


def rule_known_value(ctx: _Context) -> list[Issue]:
    """Every tagged value is an active account or dimension value in the catalog."""
    issues = []
    for attribute, group in ctx.tags.groupby("attribute", sort=False):
        known = ctx.catalog_values.get(str(attribute), frozenset())
        unknown = group[~group["value"].isin(known)]
        for pos, tag, value in zip(
            unknown["pos"].tolist(), unknown["tag"].tolist(), unknown["value"].tolist(), strict=True
        ):
            issues.append(
                _issue(
                    ctx,
                    int(pos),
                    "unknown_or_inactive_value",
                    "Tags__c",
                    tag,
                    f"{attribute} '{value}' is not an active value in Intacct (unknown or "
                    "inactive); refresh the catalog or fix the tag",
                )
            )
    return issues


def rule_amount(ctx: _Context) -> list[Issue]:
    """The amount is a number greater than zero."""
    issues = []
    column = ctx.actions["Amount__c"]
    for pos, message in ctx.amount_errors.items():
        issues.append(
            _issue(ctx, pos, "amount_not_numeric", "Amount__c", column.iloc[pos], message)
        )
    for pos, amount in enumerate(ctx.amounts):
        if amount is not None and amount <= 0:
            issues.append(
                _issue(
                    ctx,
                    pos,
                    "amount_not_positive",
                    "Amount__c",
                    amount,
                    "the amount must be greater than zero",
                )
            )
    return issues


def rule_happened_at(ctx: _Context) -> list[Issue]:
    """The action has a date (``Happened_At__c``)."""
    missing = ctx.actions["Happened_At__c"].isna()
    return [
        _issue(ctx, int(pos), "missing_happened_at", "Happened_At__c", None, "no date")
        for pos in missing[missing].index
    ]


# XML 1.0 §2.2 ``Char``: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF. Every
# request is an XML document, and lxml refuses to build one holding anything else (a ValueError
# at send time), so such a value can never reach Intacct and is refused while validating.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The action fields a journal entry carries: REFERENCENO (the id) and the description.
_WIRE_TEXT_FIELDS = ("Id", "Summary__c", "Contact__r.Name", "Action_URL__c")


def unencodable(value: Any) -> str | None:
    """Why the text ``value`` cannot be sent to Intacct, or None when it can.

    A request is an XML 1.0 document, which cannot carry most control characters (U+0000-U+001F
    except tab, line feed and carriage return; often pasted from Word), lone surrogates or
    U+FFFE/U+FFFF.

    >>> unencodable("Gift\x0bfrom Ann")
    'holds U+000B at character 5, which an XML request to Intacct cannot carry; remove it'
    >>> unencodable("Gift from Ann") is None
    True
    """
    if not isinstance(value, str):
        return None
    match = _NOT_XML_CHAR.search(value)
    if match is None:
        return None
    return (
        f"holds U+{ord(match.group()):04X} at character {match.start() + 1}, which an XML "
        "request to Intacct cannot carry; remove it"
    )


def rule_encodable(ctx: _Context) -> list[Issue]:
    """Every value an entry carries can be written in an XML request (no control characters)."""
    issues = []
    included = set(ctx.wide.index.tolist())  # excluded actions are never sent
    for field in _WIRE_TEXT_FIELDS:
        if field not in ctx.actions.columns:
            continue
        for pos, value in enumerate(ctx.actions[field].tolist()):
            problem = unencodable(value)
            if problem is not None and pos in included:
                issues.append(_issue(ctx, pos, "not_encodable", field, value, f"{field} {problem}"))
    return issues


#: The validation rules, in report order; each takes the context and returns issues.
RULES: tuple[Rule, ...] = (
    rule_required_pair,
    rule_one_side_only,
    rule_multiple_tags,
    rule_known_value,
    rule_amount,
    rule_happened_at,
    rule_encodable,
)


def _parse_tags(actions: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Long frame of CR/DR tags (pos, side, attribute, value, tag) and the excluded mask."""
    split = actions["Tags__c"].astype("string").fillna("").str.split(";")
    long = split.explode()
    long = long.astype("string").str.strip()
    long = long[long.notna() & (long != "")]
    excluded_pos = set(long[long == EXCLUDE_TAG].index.tolist())
    excluded = pd.Series(
        [pos in excluded_pos for pos in range(len(actions))], index=actions.index, dtype=bool
    )
    matched = long.str.extract(_TAG_PATTERN, flags=re.IGNORECASE)
    keep = matched["side"].notna()
    matched = matched[keep]
    tags = pd.DataFrame(
        {
            "pos": matched.index.to_numpy(),
            "side": matched["side"].str.upper().to_numpy(),
            "attribute": matched["word"].str.lower().map(_BY_WORD).to_numpy(),
            "value": matched["value"].to_numpy(),
            "tag": long[keep].to_numpy(),
        }
    )
    return tags, excluded


def _amounts(values: pd.Series) -> tuple[list[Decimal | None], dict[int, str]]:
    out: list[Decimal | None] = []
    errors: dict[int, str] = {}
    for pos, value in enumerate(values.tolist()):
        if type(value) is Decimal and value.is_finite():
            out.append(value)
            continue
        try:
            amount = frames.parse_decimal(value, column="Amount__c", row=pos)
        except InputError:
            out.append(None)
            errors[pos] = "the amount is not a plain number"
            continue
        if amount is None:
            errors[pos] = "the amount is missing"
        out.append(amount)
    return out, errors


@attrs.frozen(kw_only=True, eq=False, repr=False)
class ValidationReport(Report):
    """The outcome of :func:`validate`.

    Attributes:
        issues: one row per problem (:data:`ISSUE_COLUMNS`): ``action_id``, ``name``,
            ``rule``, ``field``, ``value``, ``message``.
        checked: how many actions were given.
        excluded_ids: actions carrying :data:`EXCLUDE_TAG` (not checked, not posted).
        valid: the valid, not excluded actions with their resolved tags: ``action_id``,
            ``name``, ``amount`` (Decimal), ``happened_at``, ``summary``, ``constituent``,
            ``url``, and ``<attribute>_cr`` / ``<attribute>_dr`` per used attribute, each the
            value a journal line sends (the catalog's ``wire_value``: a UDD value's id).
        settings: the settings used.
    """

    issues: pd.DataFrame
    checked: int
    excluded_ids: tuple[str, ...]
    valid: pd.DataFrame
    settings: TagSettings

    @property
    def invalid_ids(self) -> tuple[str, ...]:
        """Ids of the invalid actions, in input order."""
        return tuple(dict.fromkeys(self.issues["action_id"].tolist()))

    @property
    def ok(self) -> bool:
        """True when no action is invalid."""
        return self.issues.empty

    def to_frame(self) -> pd.DataFrame:
        """The issues.

        Returns:
            A DataFrame with one row per issue found (empty when every action is valid).
        """
        return self.issues

    def summary(self) -> str:
        """Counts of checked, valid, invalid and excluded actions.

        Returns:
            One line of counts, for a person.
        """
        return (
            f"{plural(self.checked, 'action')} checked: {len(self.valid):,} valid, "
            f"{len(self.invalid_ids):,} invalid ({plural(len(self.issues), 'issue')}), "
            f"{len(self.excluded_ids):,} excluded"
        )


def _catalog_values(catalog: pd.DataFrame) -> dict[str, frozenset[str]]:
    missing = [c for c in ("attribute", "value") if c not in catalog.columns]
    if missing:
        raise InputError("not a catalog frame (see CATALOG_COLUMNS)", field=missing[0])
    return {
        str(attribute): frozenset(group["value"].astype(str).tolist())
        for attribute, group in catalog.groupby("attribute", sort=False)
    }


def validate(
    actions: pd.DataFrame,
    catalog: pd.DataFrame,
    settings: TagSettings | None = None,
    *,
    rules: Sequence[Rule] = RULES,
) -> ValidationReport:
    """Check actions against the catalog and the settings.

    Actions tagged :data:`EXCLUDE_TAG` are set aside (counted, not checked). Tags of excluded
    attributes and unrelated tags are ignored.

    Args:
        actions: a frame with the ``Action__c`` columns of :data:`ACTION_COLUMNS` (from
            :meth:`ActionSync.load_actions` or built by hand; ``Id``, ``Amount__c``,
            ``Happened_At__c`` and ``Tags__c`` are required).
        catalog: the tag catalog (:func:`build_catalog`).
        settings: per-attribute modes (default :class:`TagSettings`).
        rules: the rules to apply (default :data:`RULES`).

    Returns:
        A :class:`ValidationReport`.

    Raises:
        InputError: a required column is missing, or an ``Id`` is blank or repeated.

    >>> report = validate(actions, catalog)  # doctest: +SKIP
    >>> report.to_frame()[["action_id", "rule", "field", "value"]]  # doctest: +SKIP
    """
    settings = settings or TagSettings()
    frame = _check_actions(actions)
    tags, excluded = _parse_tags(frame)
    used = set(settings.used())
    tags = tags[tags["attribute"].isin(used) & ~tags["pos"].isin(excluded[excluded].index)]
    tags = tags.drop_duplicates(["pos", "attribute", "side", "value"]).reset_index(drop=True)
    included = frame[~excluded]
    first = tags.drop_duplicates(["pos", "attribute", "side"])
    wide = (
        first.assign(column=first["attribute"] + "_" + first["side"].str.lower())
        .pivot(index="pos", columns="column", values="value")
        .reindex(included.index)
    )
    for attribute in settings.used():
        for side in ("CR", "DR"):
            column = _side_column(attribute, side)
            if column not in wide.columns:
                wide[column] = pd.NA
    wide = wide[[_side_column(a, s) for a in settings.used() for s in ("CR", "DR")]]
    amounts, amount_errors = _amounts(frame["Amount__c"])
    included_pos = set(included.index.tolist())
    ctx = _Context(
        actions=frame,
        tags=tags,
        wide=wide,
        catalog_values=_catalog_values(catalog),
        settings=settings,
        amounts=[a if i in included_pos else None for i, a in enumerate(amounts)],
        amount_errors={p: m for p, m in amount_errors.items() if p in included_pos},
    )
    issues: list[Issue] = []
    for rule in rules:
        issues.extend(rule(ctx))
    issue_frame = frames.frame_from_records(issues, ISSUE_COLUMNS)
    bad = set(issue_frame["action_id"].tolist())
    good = included[~included["Id"].isin(bad)]
    valid = _resolved(good, wide.loc[good.index], amounts, _wire_values(catalog))
    report = ValidationReport(
        issues=issue_frame,
        checked=len(frame),
        excluded_ids=tuple(frame.loc[excluded, "Id"].tolist()),
        valid=valid,
        settings=settings,
    )
    log.info("%s", report.summary())
    return report


def _wire_values(catalog: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Per attribute, tag value -> the value a journal line sends, where they differ (a UDD's
    name -> its integer id, §13.5).
    """
    if "wire_value" not in catalog.columns:
        return {}
    out: dict[str, dict[str, str]] = {}
    for attribute, value, wire in zip(
        catalog["attribute"].tolist(),
        catalog["value"].tolist(),
        catalog["wire_value"].tolist(),
        strict=True,
    ):
        if not pd.isna(wire) and str(wire) != str(value):
            out.setdefault(str(attribute), {})[str(value)] = str(wire)
    return out


def _optional(frame: pd.DataFrame, column: str) -> pd.Series:
    if column in frame.columns:
        return frame[column].astype("string").reset_index(drop=True)
    return pd.Series(pd.NA, index=range(len(frame)), dtype="string")


def _resolved(
    good: pd.DataFrame,
    wide: pd.DataFrame,
    amounts: list[Decimal | None],
    wires: Mapping[str, Mapping[str, str]],
) -> pd.DataFrame:
    happened = pd.to_datetime(good["Happened_At__c"], utc=True).reset_index(drop=True)
    out = pd.DataFrame(
        {
            "action_id": good["Id"].astype("string").reset_index(drop=True),
            "name": _optional(good, "Name"),
            "amount": pd.Series([amounts[p] for p in good.index], dtype=object),
            "happened_at": happened,
            "summary": _optional(good, "Summary__c"),
            "constituent": _optional(good, "Contact__r.Name"),
            "url": _optional(good, "Action_URL__c"),
        }
    )
    for column in wide.columns:
        resolved = wide[column].astype("string").reset_index(drop=True)
        wire = wires.get(str(column).rpartition("_")[0])
        if wire:
            # What the line sends: a UDD value's integer id for its tagged name (§13.5).
            resolved = resolved.replace(wire).astype("string")
        out[column] = resolved
    return out

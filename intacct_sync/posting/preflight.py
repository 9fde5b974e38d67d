"""Posting rules checked locally, before anything is sent ("preflight").

What a company will refuse is known from what it says about itself (reference
``../shared/reference/intacct-api.md`` §13.3): each GL account's ``STATUS`` and ``REQUIRE*``
flags (a dimension the account needs on every line), each dimension value's ``STATUS``,
whether an account is statistical (``STATACCOUNT``) or not (``GLACCOUNT``), and the periods it
has closed. No API read of the closed-through date is on record, so that rule learns from the
closed-period refusals of the same run (:meth:`PostingRules.remember_refusal`): closing books
closes every date up to a period's end, so a refused date means every earlier date is closed
too.

:meth:`PostingRules.read` reads the rules for a set of entries in one request (plus one per UDD
the lines name, and one per further page of more than 1,000 accounts or values);
:func:`preflight` is then a pure check, one breach per line and rule, each naming the entry,
its line, the field, the value and the rule. Keep the :class:`PostingRules` for the run: later
checks cost nothing.

>>> rules = PostingRules.read(ia, entries)  # doctest: +SKIP
>>> report = preflight(entries, rules)  # doctest: +SKIP
>>> report.to_frame()[["entry", "line", "field", "value", "rule"]]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.intacct import filters
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.reports import Report, Scope, plural

__all__ = [
    "BREACH_COLUMNS",
    "PostingRules",
    "PreflightReport",
    "preflight",
]

#: Columns of a preflight report's breaches.
BREACH_COLUMNS: Mapping[str, frames.Kind] = {
    "entry": "text",
    "reference": "text",
    "line": "integer",
    "field": "text",
    "value": "text",
    "rule": "text",
    "message": "text",
}

#: account flag -> (line field, dimension label), reference §13.3 [D-GLACCT]
_REQUIRES: Mapping[str, tuple[str, str]] = {
    "REQUIREDEPT": ("DEPARTMENT", "Department"),
    "REQUIRELOC": ("LOCATION", "Location"),
    "REQUIRECLASS": ("CLASSID", "Class"),
    "REQUIREPROJECT": ("PROJECTID", "Project"),
    "REQUIRETASK": ("TASKID", "Task"),
    "REQUIRECUSTOMER": ("CUSTOMERID", "Customer"),
    "REQUIREVENDOR": ("VENDORID", "Vendor"),
    "REQUIREEMPLOYEE": ("EMPLOYEEID", "Employee"),
    "REQUIREITEM": ("ITEMID", "Item"),
    "REQUIRECONTRACT": ("CONTRACTID", "Contract"),
    "REQUIREWAREHOUSE": ("WAREHOUSEID", "Warehouse"),
}
#: line field -> (object, its ID field) of the standard dimensions whose status is checked
_DIMENSIONS: Mapping[str, tuple[str, str]] = {
    "LOCATION": ("LOCATION", "LOCATIONID"),
    "DEPARTMENT": ("DEPARTMENT", "DEPARTMENTID"),
    "CLASSID": ("CLASS", "CLASSID"),
}
_ACCOUNT_FIELDS = ("ACCOUNTNO", "STATUS", *_REQUIRES)
# §13.3 [ISSUE net#105]; a production integrator matches `period` + `closed` in description2.
_CLOSED = re.compile(r"period.*closed|closed.*period", re.I | re.S)


def _line_fields(line: JournalLine) -> dict[str, str]:
    """The line's dimension fields as sent (standard, GLDIM<name>, custom ones like PROJECTID)."""
    fields = {k: v for k, v in line.to_fields().items() if isinstance(v, str) and v != ""}
    return {k.upper(): v for k, v in fields.items()}


def _in_chunks(values: Iterable[str]) -> list[list[str]]:
    ordered = sorted(set(values))
    size = filters.MAX_IN_VALUES
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _quoted(field: str, values: Sequence[str]) -> str:
    return filters.query_string(f"{field} IN {{}}", list(values))


@attrs.frozen(kw_only=True)
class _Account:
    statistical: bool
    active: bool
    requires: tuple[str, ...]  # line fields this account needs


@attrs.define(kw_only=True)
class PostingRules:
    """What the company says about the accounts and values a run uses.

    Attributes:
        accounts: ACCOUNTNO -> status, kind and required line fields (both account objects).
        values: line field (``LOCATION``, ``GLDIMFUND``...) -> value -> active.
        required_labels: line field -> the dimension's label, for messages.
        closed_through: the latest date a closed-period refusal was seen for (None: none seen).
        scope: the company and entity the rules were read in (they hold there only).
    """

    accounts: dict[str, _Account] = attrs.field(factory=dict)
    values: dict[str, dict[str, bool]] = attrs.field(factory=dict)
    required_labels: dict[str, str] = attrs.field(factory=dict)
    closed_through: dt.date | None = None
    scope: Scope = attrs.field(factory=Scope)

    @classmethod
    def read(cls, ia: IntacctClient, entries: Sequence[JournalEntry]) -> PostingRules:
        """Read the rules for ``entries``: accounts of both kinds and the dimension values
        their lines use, in one request (more only for UDDs and lists over 1,000).

        Args:
            ia: the Intacct client.
            entries: the entries to be checked.

        Returns:
            The rules the entries are checked against.
        """
        accounts: set[str] = set()
        used: dict[str, set[str]] = {}
        for entry in entries:
            for line in entry.lines:
                accounts.add(line.account_no)
                for field, value in _line_fields(line).items():
                    if field in _DIMENSIONS or field.startswith("GLDIM"):
                        used.setdefault(field, set()).add(value)
        reads: list[tuple[str, str, Sequence[str]]] = []
        kinds: list[tuple[str, str]] = []  # (what, key) per read
        for chunk in _in_chunks(accounts):
            for obj in ("GLACCOUNT", "STATACCOUNT"):
                reads.append((obj, _quoted("ACCOUNTNO", chunk), ["*"]))
                kinds.append(("account", obj))
        for field, (obj, id_field) in _DIMENSIONS.items():
            for chunk in _in_chunks(used.get(field, ())):
                reads.append((obj, _quoted(id_field, chunk), [id_field, "STATUS"]))
                kinds.append(("value", field))
        rules = cls(scope=Scope.of(ia))
        # One request for every list. Accounts are read with every field ("*"): the REQUIRE*
        # flags a company has (REQUIREGLDIM<name> per UDD) are not known in advance.
        for (what, key), frame in zip(kinds, ia.read_by_query_batch(reads), strict=True):
            if what == "account":
                rules._add_accounts(frame, statistical=key == "STATACCOUNT")
            else:
                id_field = _DIMENSIONS[key][1]
                found = rules.values.setdefault(key, {})
                for value, status in zip(frame[id_field], frame["STATUS"], strict=True):
                    found[str(value)] = str(status).lower() in ("active", "t", "true")
        for field in sorted(f for f in used if f.startswith("GLDIM")):
            # §13.5: a UDD's values are a platform object read with `query`; no status on record.
            ids = ia.query(field[len("GLDIM") :], select=["id"])
            rules.values[field] = {str(v): True for v in ids["id"].dropna()}
        return rules

    def _add_accounts(self, frame: pd.DataFrame, *, statistical: bool) -> None:
        gldims = [c for c in frame.columns if str(c).upper().startswith("REQUIREGLDIM")]
        for row in frames.frame_to_records(frame):
            requires = [field for flag, (field, _) in _REQUIRES.items() if _true(row.get(flag))]
            requires += [f"GLDIM{str(c)[len('REQUIREGLDIM') :]}" for c in gldims if _true(row[c])]
            self.accounts[str(row["ACCOUNTNO"])] = _Account(
                statistical=statistical,
                active=str(row.get("STATUS") or "active").lower() in ("active", "t", "true"),
                requires=tuple(requires),
            )
        for field, label in _REQUIRES.values():
            self.required_labels.setdefault(field, label)
        for column in gldims:
            name = str(column)[len("REQUIREGLDIM") :]
            self.required_labels.setdefault(f"GLDIM{name}", name.title())

    def remember_refusal(self, errors: Iterable[Any], batch_date: dt.date) -> bool:
        """Learn from a posting refused as dated in a closed period (§13.3 wording): every date
        up to ``batch_date`` is closed. Returns whether the errors were such a refusal.

        Args:
            errors: the refusal's errors.
            batch_date: the refused entry's date.

        Returns:
            True when the errors were a closed-period refusal (and were learnt from).
        """
        text = " ".join(
            f"{getattr(e, 'description', '')} {getattr(e, 'description2', e)}" for e in errors
        )
        if not _CLOSED.search(text):
            return False
        if self.closed_through is None or batch_date > self.closed_through:
            self.closed_through = batch_date
        return True


def _true(value: object) -> bool:
    return str(value).strip().lower() in ("true", "t", "1")


@attrs.frozen(kw_only=True, eq=False, repr=False)
class PreflightReport(Report):
    """The breaches found before sending.

    Attributes:
        breaches: one row per line and rule (:data:`BREACH_COLUMNS`): ``entry`` (its key),
            ``reference``, ``line`` (1-based), ``field``, ``value``, ``rule``, ``message``.
        checked: entries checked.
        lines: lines checked.
        scope: the company and entity checked against.
    """

    breaches: pd.DataFrame
    checked: int
    lines: int
    scope: Scope = attrs.field(factory=Scope)

    @property
    def ok(self) -> bool:
        """True when nothing would be refused."""
        return self.breaches.empty

    @property
    def breaching(self) -> frozenset[str]:
        """Keys of the entries with a breach (never send them)."""
        return frozenset(self.breaches["entry"].dropna().astype(str).tolist())

    def to_frame(self) -> pd.DataFrame:
        """The breaches.

        Returns:
            A DataFrame with one row per breach (entry, line, field, value, rule, message).
        """
        return self.breaches

    def summary(self) -> str:
        """Counts of entries checked and breaching, and the company and entity checked in.

        Returns:
            One line, for a person.
        """
        return self.scope.after(
            f"preflight: {plural(self.checked, 'entry')}, {plural(self.lines, 'line')} checked; "
            f"{len(self.breaching):,} would be refused "
            f"({plural(len(self.breaches), 'breach', 'breaches')})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as one JSON-able document: counts, scope and every breach.

        Returns:
            A dict that ``json.dumps`` can write.
        """
        return {
            "summary": self.summary(),
            **self.scope.to_dict(),
            "checked": self.checked,
            "lines": self.lines,
            "refused": sorted(self.breaching),
            "breaches": frames.frame_to_records(self.breaches),
        }


def _account_breaches(
    entry: JournalEntry,
    n: int,
    line: JournalLine,
    account: _Account,
    fields: Mapping[str, str],
    rules: PostingRules,
    breach: Callable[[JournalEntry, int, str, Any, str, str], None],
) -> None:
    if account.statistical != entry.statistical:
        rule, text = (
            ("statistical_account_in_regular_entry", "a statistical account")
            if account.statistical
            else ("regular_account_in_statistical_entry", "not a statistical account")
        )
        breach(entry, n, "ACCOUNTNO", line.account_no, rule, text)
    if not account.active:
        breach(entry, n, "ACCOUNTNO", line.account_no, "inactive_account", "inactive")
    for field in account.requires:
        if not fields.get(field):
            label = rules.required_labels.get(field, field)
            breach(
                entry,
                n,
                field,
                None,
                "missing_required_dimension",
                f"account {line.account_no} requires the {label} dimension",
            )


def preflight(entries: Sequence[JournalEntry], rules: PostingRules) -> PreflightReport:
    """Check ``entries`` against the company's rules, without a request.

    Rules: ``unknown_account``, ``inactive_account``, ``statistical_account_in_regular_entry``,
    ``regular_account_in_statistical_entry``, ``missing_required_dimension``,
    ``unknown_dimension_value``, ``inactive_dimension_value``, ``closed_period``.

    Args:
        entries: the entries.
        rules: the company's rules (:meth:`PostingRules.read`).

    Returns:
        A :class:`PreflightReport`: every breach found, by entry (empty when every entry passes).
    """
    rows: list[dict[str, Any]] = []
    lines = 0

    def breach(entry: JournalEntry, n: int, field: str, value: Any, rule: str, text: str) -> None:
        rows.append(
            {
                "entry": entry.key,
                "reference": entry.reference_no,
                "line": n,
                "field": field,
                "value": None if value is None else str(value),
                "rule": rule,
                "message": text,
            }
        )

    for entry in entries:
        closed = rules.closed_through
        if closed is not None and entry.batch_date <= closed:
            breach(
                entry,
                0,
                "BATCH_DATE",
                entry.batch_date.isoformat(),
                "closed_period",
                f"the books are closed through at least {closed.isoformat()} (a refusal this run)",
            )
        for n, line in enumerate(entry.lines, start=1):
            lines += 1
            account = rules.accounts.get(line.account_no)
            fields = _line_fields(line)
            if account is None:
                breach(entry, n, "ACCOUNTNO", line.account_no, "unknown_account", "no such account")
            else:
                _account_breaches(entry, n, line, account, fields, rules, breach)
            for field, value in fields.items():
                known = rules.values.get(field)
                if known is None:
                    continue
                if value not in known:
                    breach(entry, n, field, value, "unknown_dimension_value", "no such value")
                elif not known[value]:
                    breach(entry, n, field, value, "inactive_dimension_value", "inactive")
    return PreflightReport(
        breaches=frames.frame_from_records(rows, BREACH_COLUMNS),
        checked=len(entries),
        lines=lines,
        scope=rules.scope,
    )

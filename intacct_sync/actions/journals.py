"""Journal entries (``GLBATCH``) from CRM actions and from CSV files; idempotent posting.

* :func:`from_actions` turns validated actions into one balanced entry each: a debit line on
  the DR account with the DR dimensions and a credit line on the CR account with the CR
  dimensions, for the action's amount (Decimal). The result, a :class:`JournalPlan`, previews
  as frames of entries and lines before anything is sent.
* :func:`post` sends a plan through the posting engine (:mod:`intacct_sync.posting`): each
  entry's control id derives from its action's id, anything the ledger cannot vouch for is first
  looked up in the books by ``REFERENCENO``, and every posting is written to the ledger
  (``pending`` before sending, ``posted``/``failed`` after), so a rerun or a retry after a crash
  never posts an action twice, even with a gateway that forgets control ids.
* CSV imports (:func:`read_journal_lines`, :func:`post_journal_lines`) live in
  :mod:`intacct_sync.actions.journal_import` and post through :func:`post`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.actions.catalog import (
    TagSettings,
    ValidationReport,
    unencodable,
    validate,
)
from intacct_sync.errors import IncompleteWriteError, InputError, ValidationError
from intacct_sync.intacct import create_control_id
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.posting import corrections
from intacct_sync.posting import engine as posting_engine
from intacct_sync.posting.engine import Posting
from intacct_sync.posting.identity import content_hash, entry_total
from intacct_sync.reports import Report, plural
from intacct_sync.state import StateStore
from intacct_sync.state.tenancy import bind_tenant

__all__ = [
    "ACTIONS_WORKFLOW",
    "DEFAULT_ACTIONS_JOURNAL",
    "DEFAULT_IMPORT_JOURNAL",
    "DESCRIPTION_LIMIT",
    "Description",
    "IMPORT_WORKFLOW",
    "JournalPlan",
    "OnInvalid",
    "PostReport",
    "PostingMode",
    "describe_action",
    "entry_control_id",
    "from_actions",
    "plan_corrections",
    "post",
]

log = logging.getLogger("intacct_sync.actions.journals")

PostingMode = Literal["individual", "batch"]
OnInvalid = Literal["halt", "skip"]

#: Ledger workflow of action postings.
ACTIONS_WORKFLOW = "actions"
#: Ledger workflow of CSV imports.
IMPORT_WORKFLOW = "journal_import"
#: Journal of action entries unless told otherwise (the sandbox nonprofit's cash receipts).
DEFAULT_ACTIONS_JOURNAL = "CRJ"
#: Journal of CSV imports unless told otherwise.
DEFAULT_IMPORT_JOURNAL = "GJ"
#: Longest description (``BATCH_TITLE`` and line memo) written, in characters. An assumption,
#: not a documented Intacct figure: pass ``description_limit=`` to match your tenant.
DESCRIPTION_LIMIT = 1000
_ELLIPSIS = "..."
_SEPARATOR = " - "

_ENTRY_COLUMNS: Mapping[str, frames.Kind] = {
    "source_id": "text",
    "name": "text",
    "control_id": "text",
    "JOURNAL": "text",
    "BATCH_DATE": "date",
    "REFERENCENO": "text",
    "BATCH_TITLE": "text",
    "amount": "decimal",
    "lines": "integer",
    "truncated": "boolean",
}
_LINE_COLUMNS: Mapping[str, frames.Kind] = {
    "source_id": "text",
    "line": "integer",
    "side": "text",
    "ACCOUNTNO": "text",
    "TR_TYPE": "integer",
    "TRX_AMOUNT": "decimal",
    "LOCATION": "text",
    "DEPARTMENT": "text",
    "CLASSID": "text",
    "DESCRIPTION": "text",
}
_TRUNCATION_COLUMNS: Mapping[str, frames.Kind] = {
    "source_id": "text",
    "limit": "integer",
    "length": "integer",
    "cut": "text",
    "url_cut": "boolean",
}
_POST_COLUMNS: Mapping[str, frames.Kind] = {
    "source_id": "text",
    "REFERENCENO": "text",
    "control_id": "text",
    "status": "text",
    "RECORDNO": "text",
    "errors": "text",
    "amount": "decimal",
    "posted_amount": "decimal",
    "content_hash": "text",
    "posted_hash": "text",
    "action": "text",
    "reversed_RECORDNO": "text",
    "reversal_RECORDNO": "text",
}


def entry_control_id(entry: JournalEntry) -> str:
    """The function control id :meth:`IntacctClient.create` sends ``entry`` under.

    It derives from ``entry.key`` alone, so the same action always gets the same id.

    Args:
        entry: the journal entry (its ``key`` decides).

    Returns:
        The control id (the same for the same entry key, on every run).
    """
    # The client owns the derivation; post() also checks the outcome's control id against it.
    return create_control_id(entry)


def _action_key(action_id: str) -> str:
    return f"{ACTIONS_WORKFLOW}:{action_id}"


# -- descriptions ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Description:
    """An entry description and what was cut from it to fit the limit.

    Attributes:
        text: what is written (at most ``limit`` characters).
        cut: the characters removed (``""`` when nothing was cut).
        url_cut: True when even the URL had to be shortened.
        length: the full description's length.
    """

    text: str
    cut: str = ""
    url_cut: bool = False
    length: int = 0


def describe_action(
    summary: str | None,
    constituent: str | None,
    url: str | None,
    *,
    limit: int = DESCRIPTION_LIMIT,
) -> Description:
    """The description of an action's entry: summary, constituent's name and URL.

    The parts are joined with ``" - "``. When the whole does not fit in ``limit`` characters,
    the summary and name are shortened (ending in ``...``) so the URL stays whole; only when
    the URL alone does not fit is the URL itself cut. Whatever is cut is returned in ``cut``,
    never dropped silently.

    >>> d = describe_action("Donation from Ann Lee", "Ann Lee", "https://x.example/a/1", limit=40)
    >>> d.text, d.cut
    ('Donation from... - https://x.example/a/1', ' Ann Lee - Ann Lee')

    Args:
        summary: the action's summary.
        constituent: the constituent's name.
        url: the action's URL.
        limit: the longest description allowed.

    Returns:
        The description, and whether it had to be cut to fit ``limit``.
    """
    if limit < len(_ELLIPSIS) + 1:
        raise InputError("description_limit is too small", field="description_limit", value=limit)
    head = _SEPARATOR.join(p for p in (summary, constituent) if p)
    link = url or ""
    full = _SEPARATOR.join(p for p in (head, link) if p)
    if len(full) <= limit:
        return Description(text=full, length=len(full))
    tail = f"{_SEPARATOR}{link}" if link else ""
    budget = limit - len(tail) - len(_ELLIPSIS)
    if head and budget >= 1:
        kept = head[:budget]
        return Description(text=f"{kept}{_ELLIPSIS}{tail}", cut=head[budget:], length=len(full))
    # The URL alone is too long: keep its start, and say so.
    keep = limit - len(_ELLIPSIS)
    cut = _SEPARATOR.join(p for p in (head, link[keep:]) if p)
    return Description(text=link[:keep] + _ELLIPSIS, cut=cut, url_cut=True, length=len(full))


# -- building entries from actions -------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False, repr=False)
class JournalPlan(Report):
    """Journal entries built from actions, not yet posted.

    Attributes:
        entries: one entry per valid action, in the actions' order.
        source_ids: the action id of each entry (parallel to ``entries``).
        names: the action's ``Name`` of each entry, when known.
        truncations: descriptions that were cut: ``source_id``, ``limit``, ``length``,
            ``cut`` (the removed text), ``url_cut``.
        validation: the validation report the plan was built from (None for CSV imports).
        mode: ``individual`` or ``batch``.
        journal: the journal symbol.
        workflow: the ledger workflow the entries are posted under.
    """

    entries: tuple[JournalEntry, ...]
    source_ids: tuple[str, ...]
    names: tuple[str | None, ...]
    truncations: pd.DataFrame
    validation: ValidationReport | None
    mode: str
    journal: str
    workflow: str = ACTIONS_WORKFLOW

    @property
    def dated(self) -> bool:
        """Whether an entry's date is part of its content (its hash; a changed date is drift).

        Not in ``batch`` mode, where an entry is dated by the run that posts it: the same
        action read again by a later run is the same posting.
        """
        return self.mode != "batch"

    def entries_frame(self) -> pd.DataFrame:
        """One row per entry: journal, date, reference, title, amount, control id.

        Returns:
            A DataFrame with one row per planned entry.
        """
        cut = set(self.truncations["source_id"].tolist())
        rows = [
            {
                "source_id": sid,
                "name": name,
                "control_id": entry_control_id(entry),
                "JOURNAL": entry.journal,
                "BATCH_DATE": entry.batch_date.isoformat(),
                "REFERENCENO": entry.reference_no,
                "BATCH_TITLE": entry.title,
                "amount": sum(
                    (line.amount for line in entry.lines if line.tr_type == 1), Decimal(0)
                ),
                "lines": len(entry.lines),
                "truncated": sid in cut,
            }
            for sid, name, entry in zip(self.source_ids, self.names, self.entries, strict=True)
        ]
        return frames.frame_from_records(rows, _ENTRY_COLUMNS)

    def lines_frame(self) -> pd.DataFrame:
        """One row per line: account, side, amount, dimensions, memo.

        Returns:
            A DataFrame with one row per planned line, amounts exact.
        """
        rows = []
        for sid, entry in zip(self.source_ids, self.entries, strict=True):
            for number, line in enumerate(entry.lines, start=1):
                row: dict[str, Any] = {
                    "source_id": sid,
                    "line": number,
                    "side": "debit" if line.tr_type == 1 else "credit",
                    "ACCOUNTNO": line.account_no,
                    "TR_TYPE": line.tr_type,
                    "TRX_AMOUNT": line.amount,
                    "LOCATION": line.location,
                    "DEPARTMENT": line.department,
                    "CLASSID": line.class_id,
                    "DESCRIPTION": line.memo,
                }
                row.update(line.dimensions)
                rows.append(row)
        return frames.frame_from_records(rows, _LINE_COLUMNS)

    def to_frame(self) -> pd.DataFrame:
        """The entries (see :meth:`entries_frame`).

        Returns:
            The entries frame (:meth:`entries_frame`).
        """
        return self.entries_frame()

    def summary(self) -> str:
        """How many entries, for how much, and how many descriptions were cut.

        Returns:
            One line, for a person.
        """
        total = sum(
            (line.amount for e in self.entries for line in e.lines if line.tr_type == 1),
            Decimal(0),
        )
        return (
            f"{plural(len(self.entries), 'journal entry', 'journal entries')} "
            f"({self.mode}, journal {self.journal}) totalling {total:,.2f}; "
            f"{plural(len(self.truncations), 'description')} cut to fit"
        )


def _date_in(value: pd.Timestamp | dt.datetime, tz: dt.tzinfo) -> dt.date:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(tz).date()


def _tz(timezone: str | dt.tzinfo) -> dt.tzinfo:
    if isinstance(timezone, dt.tzinfo):
        return timezone
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("unknown time zone", field="timezone", value=timezone) from None


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    return text or None


def from_actions(
    actions: pd.DataFrame | ValidationReport,
    catalog: pd.DataFrame | None = None,
    settings: TagSettings | None = None,
    *,
    journal: str = DEFAULT_ACTIONS_JOURNAL,
    mode: PostingMode = "individual",
    run_started: dt.datetime | None = None,
    on_invalid: OnInvalid = "halt",
    description_limit: int = DESCRIPTION_LIMIT,
    timezone: str | dt.tzinfo = "UTC",
) -> JournalPlan:
    """Build one ``GLBATCH`` per valid action.

    Each entry: ``JOURNAL`` = ``journal``; ``BATCH_DATE`` = the date of ``Happened_At__c``
    (``mode="individual"``) or of ``run_started`` (``mode="batch"``), both read in
    ``timezone``; ``REFERENCENO`` = the action id; ``BATCH_TITLE`` and each line's memo = the
    description (:func:`describe_action`); debit line on the DR account with the DR dimensions,
    credit line on the CR account with the CR dimensions, both for the amount. The entry's
    ``key`` is ``actions:<action id>``, from which its posting control id derives.

    Args:
        actions: an actions frame (validated here against ``catalog``), or a
            :class:`ValidationReport` already made.
        catalog: the tag catalog; required when ``actions`` is a frame.
        settings: per-attribute modes (default :class:`TagSettings`).
        journal: journal symbol.
        mode: ``individual`` or ``batch``.
        run_started: the run's start (timezone-aware; default now), for ``batch`` dates.
        on_invalid: ``halt`` raises when any action is invalid; ``skip`` builds the valid ones.
        description_limit: longest description in characters.
        timezone: time zone the dates are taken in (an IANA name or a tzinfo).

    Returns:
        A :class:`JournalPlan`.

    Raises:
        ValidationError: an action is invalid and ``on_invalid="halt"`` (``.report`` is the
            :class:`ValidationReport`).
        InputError: a bad argument (mode, timezone, naive ``run_started``...).

    >>> plan = from_actions(actions, catalog, mode="batch")  # doctest: +SKIP
    >>> plan.entries_frame(); plan.lines_frame()  # doctest: +SKIP
    """
    if mode not in ("individual", "batch"):
        raise InputError("mode is 'individual' or 'batch'", field="mode", value=mode)
    if on_invalid not in ("halt", "skip"):
        raise InputError("on_invalid is 'halt' or 'skip'", field="on_invalid", value=on_invalid)
    if isinstance(actions, ValidationReport):
        report = actions
    else:
        if catalog is None:
            raise InputError("a catalog is needed to validate actions", field="catalog")
        report = validate(actions, catalog, settings)
    if not report.ok and on_invalid == "halt":
        raise ValidationError(
            f"{plural(len(report.invalid_ids), 'invalid action')}; nothing was built: "
            f"{report.summary()}",
            report=report,
        )
    started = run_started or dt.datetime.now(dt.UTC)
    if started.tzinfo is None:
        raise InputError("run_started must be timezone-aware", field="run_started", value=started)
    tz = _tz(timezone)
    batch_date = _date_in(started, tz)
    custom_field = report.settings.custom_dimension.line_field
    valid = report.valid
    entries: list[JournalEntry] = []
    ids: list[str] = []
    names: list[str | None] = []
    cuts: list[dict[str, Any]] = []
    index = {name: i for i, name in enumerate(valid.columns)}

    def get(row: tuple[Any, ...], name: str) -> str | None:
        return _text(row[index[name]]) if name in index else None

    for row in valid.itertuples(index=False, name=None):
        action_id = str(row[index["action_id"]])
        described = describe_action(
            _text(row[index["summary"]]),
            _text(row[index["constituent"]]),
            _text(row[index["url"]]),
            limit=description_limit,
        )
        if described.cut:
            cuts.append(
                {
                    "source_id": action_id,
                    "limit": description_limit,
                    "length": described.length,
                    "cut": described.cut,
                    "url_cut": described.url_cut,
                }
            )
        amount: Decimal = row[index["amount"]]
        lines = []
        for side, tr_type in (("dr", 1), ("cr", -1)):
            custom = get(row, f"custom_{side}")
            lines.append(
                JournalLine(
                    account_no=str(row[index[f"account_{side}"]]),
                    amount=amount,
                    tr_type=tr_type,
                    memo=described.text,
                    location=get(row, f"location_{side}"),
                    department=get(row, f"department_{side}"),
                    class_id=get(row, f"class_{side}"),
                    dimensions={custom_field: custom} if custom else {},
                )
            )
        date = _date_in(row[index["happened_at"]], tz) if mode == "individual" else batch_date
        entries.append(
            JournalEntry(
                key=_action_key(action_id),
                journal=journal,
                batch_date=date,
                title=described.text,
                lines=lines,
                reference_no=action_id,
            )
        )
        ids.append(action_id)
        names.append(_text(row[index["name"]]))
    plan = JournalPlan(
        entries=tuple(entries),
        source_ids=tuple(ids),
        names=tuple(names),
        truncations=frames.frame_from_records(cuts, _TRUNCATION_COLUMNS),
        validation=report,
        mode=mode,
        journal=journal,
    )
    log.info("%s", plan.summary())
    return plan


# -- posting -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, eq=False, repr=False)
class PostReport(Report):
    """What :func:`post` did, one row per entry.

    Attributes:
        outcomes: ``source_id``, ``REFERENCENO``, ``control_id``, ``status`` (the posting
            engine's vocabulary, :mod:`intacct_sync.posting.status`: ``posted`` by this run or
            found in the books, ``already_posted``, ``failed``, ``pending``, ``skipped``,
            ``held``, ``drift``, ``corrected``), ``RECORDNO``, ``errors``; then ``amount``, and
            for ``drift`` rows ``posted_amount``, ``content_hash``, ``posted_hash`` and the
            ``action`` to take; for ``corrected`` rows (``correct_drift``) ``RECORDNO`` is the
            repost's, ``posted_amount`` what was reversed, ``reversed_RECORDNO`` the entry
            reversed and ``reversal_RECORDNO`` the reversal's own.
    """

    outcomes: pd.DataFrame

    def count(self, status: str) -> int:
        """Entries with ``status``.

        Args:
            status: an outcome status (``posted``, ``already_posted``, ``failed``...).

        Returns:
            The number of entries with that status.
        """
        return int((self.outcomes["status"] == status).sum())

    def to_frame(self) -> pd.DataFrame:
        """The outcomes.

        Returns:
            The outcome frame: one row per entry, in the outcome contract's columns.
        """
        return self.outcomes

    def summary(self) -> str:
        """Counts per status.

        Returns:
            One line of counts per status, for a person.
        """
        text = (
            f"{self.count('posted'):,} posted, {self.count('already_posted'):,} already posted, "
            f"{self.count('failed'):,} failed, {self.count('pending'):,} pending"
        )
        for status in ("drift", "held", "skipped"):
            if self.count(status):
                text += f", {self.count(status):,} {status}"
        corrected = self.outcomes[self.outcomes["status"] == "corrected"]
        if len(corrected):
            text += "; " + corrections.corrections_text(
                list(
                    zip(
                        corrected["reversed_RECORDNO"].tolist(),
                        corrected["posted_amount"].tolist(),
                        corrected["amount"].tolist(),
                        strict=True,
                    )
                )
            )
        return text


def _texts(fields: Mapping[str, Any], where: str = "") -> Iterator[tuple[str, Any]]:
    """Every scalar of a ``to_fields()`` mapping with its dotted path (owned lists numbered)."""
    for name, value in fields.items():
        path = f"{where}{name}"
        if isinstance(value, Mapping):
            yield from _texts(value, f"{path}.")
        elif isinstance(value, list | tuple):
            for number, item in enumerate(value, start=1):
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Mapping):
                    yield from _texts(item[1], f"{path}[{number}].")
        else:
            yield path, value


def _refusal(entry: JournalEntry) -> str | None:
    """Why ``entry`` cannot be written in an XML request (the field and the character), or None."""
    for path, value in _texts(entry.to_fields()):
        problem = unencodable(value)
        if problem is not None:
            return f"{path} {problem}"
    return None


def _post_entries(
    ia: IntacctClient,
    state: StateStore,
    workflow: str,
    items: Sequence[tuple[str, JournalEntry]],
    *,
    progress: bool = False,
    on_breach: OnInvalid = "skip",
    correct_drift: bool = False,
    dated: bool = True,
) -> PostReport:
    # An entry that cannot be written as XML would make the client refuse its whole batch (and
    # the run) at send time, naming only a batch position: refuse it here, by its key, and post
    # the rest.
    refused: dict[int, dict[str, Any]] = {}
    sendable: list[tuple[str, JournalEntry]] = []
    for position, (source_id, entry) in enumerate(items):
        problem = _refusal(entry)
        if problem is None:
            sendable.append((source_id, entry))
            continue
        refused[position] = {
            "source_id": source_id,
            "REFERENCENO": entry.reference_no,
            "control_id": entry_control_id(entry),
            "status": "skipped",
            "errors": f"{source_id}: {problem}; not sent",
            "amount": entry_total(entry),
            "action": "fix the value in the source and run again",
        }
    postings = _postings(sendable, dated=dated)
    result = posting_engine.post(
        ia,
        state,
        workflow,
        postings,
        progress=progress,
        on_breach=on_breach,
        correct_drift=correct_drift,
    )
    outcomes = iter(result.outcomes)
    rows = []
    for position in range(len(items)):
        if position in refused:
            rows.append(refused[position])
            continue
        o = next(outcomes)
        rows.append(
            {
                "source_id": o.key,
                "REFERENCENO": o.reference,
                "control_id": o.control_id,
                "status": o.status,
                "RECORDNO": o.record_no,
                "errors": o.errors,
                "amount": o.amount,
                "posted_amount": o.posted_amount,
                "content_hash": o.content_hash,
                "posted_hash": o.posted_hash,
                "action": o.action,
                "reversed_RECORDNO": o.reversed_record_no,
                "reversal_RECORDNO": o.reversal_record_no,
            }
        )
    report = PostReport(outcomes=frames.frame_from_records(rows, _POST_COLUMNS))
    log.info("post %s: %s", workflow, report.summary())
    if result.stopped is not None:
        raise IncompleteWriteError(
            f"posting stopped part way ({report.summary()}): {result.stopped}; rerun to finish "
            "(pending entries are looked up in the books and only the absent ones are sent)",
            outcomes=report.outcomes,
            report=report,
        ) from result.stopped
    return report


def plan_corrections(
    ia: IntacctClient, plan: JournalPlan, state: StateStore
) -> tuple[corrections.PlannedCorrection, ...]:
    """The correcting entries :func:`post` with ``correct_drift=True`` would make for ``plan``:
    read-only (the ledger and the books are read; nothing is written or sent), for dry runs.

    Args:
        ia: the Intacct client (the books are read).
        plan: from :func:`from_actions`.
        state: the state store holding the ledger.

    Returns:
        The planned corrections, one per entry whose booked figures drifted (empty when none did).
    """
    return corrections.corrections_planned(
        ia,
        state,
        plan.workflow,
        _postings(zip(plan.source_ids, plan.entries, strict=True), dated=plan.dated),
    )


def _postings(items: Iterable[tuple[str, JournalEntry]], *, dated: bool) -> list[Posting]:
    return [
        Posting(
            key=source_id,
            record=entry,
            reference=str(entry.reference_no or source_id),
            content_hash=content_hash(entry, dated=dated),
        )
        for source_id, entry in items
    ]


def post(
    ia: IntacctClient,
    plan: JournalPlan,
    state: StateStore,
    *,
    progress: bool = False,
    on_breach: OnInvalid = "skip",
    correct_drift: bool = False,
) -> PostReport:
    """Post a plan's entries once each, through the posting engine (:mod:`intacct_sync.posting`).

    Entries the ledger has as posted with the same content are ``already_posted``; with other
    figures, ``drift`` (nothing is sent). Everything else is first looked up in Intacct by its
    ``REFERENCENO`` (a previous attempt may have created it); only what is absent is written to
    the ledger as ``pending`` and sent, then recorded ``posted`` or ``failed``.

    Args:
        ia: the Intacct client.
        plan: from :func:`from_actions` (or :func:`read_journal_lines`' ``plan``).
        state: the state store holding the ledger.
        progress: show a progress bar.
        on_breach: what an entry the preflight finds Intacct would refuse does to the run:
            ``skip`` (only it is refused) or ``halt`` (nothing is sent; the others are
            ``held``); the workflow's own invalid-record policy.
        correct_drift: correct entries in ``drift`` instead of only reporting them: reverse
            what the books hold for each and repost its new figures, each exactly once
            (status ``corrected``; :mod:`intacct_sync.posting.corrections`).

    Returns:
        A :class:`PostReport`.

    Raises:
        IncompleteWriteError: the run stopped part way (network, gateway); ``.outcomes`` is
            the report's frame so far (``.report`` the :class:`PostReport`). Rerunning the same
            plan finishes the job.
        StateError: ``state`` belongs to another tenant than ``ia``
            (:func:`~intacct_sync.state.tenancy.bind_tenant`); nothing is read or written.

    >>> report = post(ia, plan, SQLiteStateStore())  # doctest: +SKIP
    """
    bind_tenant(state, ia)
    items = list(zip(plan.source_ids, plan.entries, strict=True))
    return _post_entries(
        ia,
        state,
        plan.workflow,
        items,
        progress=progress,
        on_breach=on_breach,
        correct_drift=correct_drift,
        dated=plan.dated,
    )

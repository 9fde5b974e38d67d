"""The posting engine: the one way anything is posted to Intacct, exactly once.

:func:`post` takes :class:`Posting` items (a business key, the record, the reference written on
it, its content hash) and, for each:

1. **identity**: the key and reference are NFC-normalised; the control id derives from the key
   (:func:`intacct_sync.intacct.create_control_id`), never from time or a counter;
2. **ledger**: a ledger row ``posted`` with the same content hash means ``already_posted``
   (nothing sent); with another hash, ``drift`` (nothing sent: see :data:`DRIFT_ACTION`);
3. **the books**: everything else (never posted, ``pending`` after a lost answer or a kill,
   ``failed``, or unknown because the state file was lost) is looked up in Intacct by its
   reference, in batches (:mod:`intacct_sync.posting.books`). What is found is ``posted``
   (found in the books, or ``drift`` when its figures differ); only what is provably absent
   is sent;
4. **ledger row before sending**: ``pending``, with the control id and the content hash;
5. **batched idempotent write** (``uniqueid=true``): the gateway's replay refusal, recognised
   only when it names this function's own control id, is a safety net, not the proof;
6. **outcome -> ledger**: ``posted`` (RECORDNO or document id), ``failed`` (error text kept),
   or left ``pending`` when the answer was lost.

A journal entry in ``drift`` is left alone unless ``correct_drift=True``: then it is reversed
as the books hold it and the new content is reposted, both as postings of this same path
(:mod:`intacct_sync.posting.corrections`), and the outcome is ``corrected``. Whether the books
hold a posting is always read through its corrections: an entry reversed and replaced earlier
stands for what replaced it.

Statuses are those of :mod:`intacct_sync.posting.status` (documented once, there and in
``docs/reliability.md``). The engine never raises for an expected outcome: a run that stopped
part way comes back with :attr:`PostingResult.stopped` set, ``pending`` rows for what was sent
unanswered and ``held`` rows for what was not sent; each workflow decides how to report it.

It is long (over 600 lines) because the engine's steps are meant to be read top to bottom in one
place: splitting the exactly-once path would hide the order its guarantees depend on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs
import pandas as pd

from intacct_sync import frames
from intacct_sync.errors import IncompleteWriteError, IntacctSyncError, StateError
from intacct_sync.intacct import create_control_id
from intacct_sync.intacct.models import JournalEntry, SalesOrder
from intacct_sync.posting import books, corrections
from intacct_sync.posting.identity import (
    Record,
    amount_text,
    content_hash,
    entry_total,
    nfc,
    normalise,
)
from intacct_sync.posting.preflight import PostingRules, preflight
from intacct_sync.posting.status import PostingStatus
from intacct_sync.reports import plural
from intacct_sync.state import LedgerEntry, StateStore, lease_name, run_lease
from intacct_sync.state.tenancy import bind_tenant

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient

__all__ = [
    "DRIFT_ACTION",
    "RECOVERY_ROUNDS",
    "RESULT_COLUMNS",
    "Posting",
    "PostingOutcome",
    "PostingResult",
    "post",
]

log = logging.getLogger("intacct_sync.posting.engine")

#: What to do about a ``drift`` row (the books hold an earlier version of the posting).
DRIFT_ACTION: Final = (
    "posted earlier with other figures; nothing was sent. Reverse it as the books hold it and "
    "repost the new figures with the correcting entry (correct_drift=True, --correct-drift), "
    "or restore the source record to what was posted"
)

#: Rounds of "look in the books, send what is absent" after a run stopped on a lost answer.
RECOVERY_ROUNDS: Final = 3

#: Columns of :meth:`PostingResult.to_frame`.
RESULT_COLUMNS: Final[Mapping[str, frames.Kind]] = {
    "key": "text",
    "reference": "text",
    "control_id": "text",
    "status": "text",
    "record_no": "text",
    "errors": "text",
    "content_hash": "text",
    "posted_hash": "text",
    "amount": "decimal",
    "posted_amount": "decimal",
    "action": "text",
    "reversed_record_no": "text",
    "reversal_record_no": "text",
}


@attrs.frozen(kw_only=True)
class Posting:
    """One thing to post.

    Attributes:
        key: the business key (action id, ``<journal>:<entry>``, ``kpi|<name>|<day>``,
            opportunity id): the ledger's ``source_id``.
        record: the ``JournalEntry`` or ``SalesOrder``; its ``key`` gives the control id.
        reference: what the engine writes on the record (``REFERENCENO``/``referenceno``) and
            looks it up by in the books; unique per journal (entries) or definition (orders).
        content_hash: the content's hash (default :func:`~intacct_sync.posting.identity.content_hash`).
        detail: extra JSON-able detail kept on the ledger row (amounts, names).
    """

    key: str
    record: Record
    reference: str
    content_hash: str = ""
    detail: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class PostingOutcome:
    """What became of one posting (see :mod:`intacct_sync.posting.status`).

    Attributes:
        record_no: the RECORDNO (or document id) that stands for the posting in the books; for
            ``corrected``, the repost's.
        posted_hash / posted_amount: for ``drift``, what the ledger (or the books) hold; for
            ``corrected``, what was reversed.
        action: what to do, for ``drift`` and ``failed`` rows.
        reversed_record_no / reversal_record_no: for ``corrected``, the entry reversed and the
            reversal's own RECORDNO.
    """

    key: str
    reference: str
    control_id: str
    status: PostingStatus
    record_no: str | None = None
    errors: str | None = None
    content_hash: str = ""
    posted_hash: str | None = None
    amount: Any = None
    posted_amount: Any = None
    action: str | None = None
    reversed_record_no: str | None = None
    reversal_record_no: str | None = None


@attrs.frozen(kw_only=True)
class PostingResult:
    """The outcome of every posting, in input order.

    Attributes:
        outcomes: one per posting.
        stopped: the error that stopped the run part way (None when it ran to the end).
    """

    outcomes: tuple[PostingOutcome, ...]
    stopped: IntacctSyncError | None = None

    def by_key(self) -> dict[str, PostingOutcome]:
        """Outcomes by (NFC) key.

        Returns:
            The outcome of each posting, by its NFC key.
        """
        return {o.key: o for o in self.outcomes}

    def count(self, status: str) -> int:
        """Postings with ``status``.

        Args:
            status: a posting status (``posted``, ``already_posted``...).

        Returns:
            The number of postings with that status.
        """
        return sum(1 for o in self.outcomes if o.status == status)

    def to_frame(self) -> pd.DataFrame:
        """One row per posting (:data:`RESULT_COLUMNS`).

        Returns:
            A DataFrame with one row per posting.
        """
        return frames.frame_from_records((attrs.asdict(o) for o in self.outcomes), RESULT_COLUMNS)


def _hash_of(posting: Posting) -> str:
    return posting.content_hash or content_hash(posting.record)


def _ledger_detail(posting: Posting, digest: str) -> dict[str, Any]:
    record = posting.record
    detail: dict[str, Any] = {
        "reference": posting.reference,
        "content_hash": digest,
        "amount": amount_text(entry_total(record)),
    }
    if isinstance(record, JournalEntry):
        detail.update(journal=record.journal, batch_date=record.batch_date.isoformat())
    else:
        detail.update(transaction_type=record.transaction_type, customer_id=record.customer_id)
    detail.update(posting.detail)
    return detail


def _where(record: Record, reference: str) -> tuple[str, str]:
    if isinstance(record, JournalEntry):
        return (nfc(record.journal), reference)
    return (nfc(record.transaction_type), reference)


def _send(ia: IntacctClient, records: Sequence[Record], progress: bool) -> pd.DataFrame:
    # Never resent by the client once it may have reached Intacct: what happened to an
    # unanswered posting is settled by a look in the books (the next round, or the next run).
    with ia.never_resend_writes():
        if all(isinstance(r, SalesOrder) for r in records):
            orders = [r for r in records if isinstance(r, SalesOrder)]
            return ia.create_sales_orders(orders, progress=progress)
        entries = [r for r in records if isinstance(r, JournalEntry)]
        if len(entries) != len(records):
            raise TypeError("one call posts journal entries or sales orders, not both")
        return ia.create("GLBATCH", entries, progress=progress)


def post(
    ia: IntacctClient,
    state: StateStore,
    workflow: str,
    postings: Sequence[Posting],
    *,
    progress: bool = False,
    recovery_rounds: int | None = None,
    checks: bool = True,
    on_breach: Literal["skip", "halt"] = "skip",
    correct_drift: bool = False,
) -> PostingResult:
    """Post each of ``postings`` exactly once ever (see the module docstring for the steps).

    Args:
        ia: the Intacct client.
        state: the state store holding the ledger.
        workflow: the ledger workflow (``actions``, ``journal_import``, ``kpi``, ``orders``).
        postings: what to post; one call takes journal entries or sales orders.
        progress: show a progress bar while sending.
        recovery_rounds: after a stop (an unanswered request), how many times to look in the
            books and send what is provably absent before returning ``pending``/``held`` rows
            for a later run; 0 returns at the first stop (default :data:`RECOVERY_ROUNDS`).
        checks: run the preflight (:mod:`~intacct_sync.posting.preflight`) on the journal
            entries about to be sent: what the company would refuse (an inactive or unknown
            account, a missing required dimension, a statistical account in a regular entry,
            an inactive dimension value, a closed period) is refused here, by key, before
            anything is sent. The rules are read once per call (one request, plus one per UDD).
        on_breach: ``skip`` sends the other entries; ``halt`` sends nothing when any entry
            breaches a rule (the others come back ``held``).
        correct_drift: post the correcting entry for a journal entry in ``drift``: a reversal
            of what the books hold for it, then the new content
            (:mod:`~intacct_sync.posting.corrections`); the outcome is ``corrected``. Off by
            default: drift is reported and nothing is sent. Sales orders are never corrected.

    Returns:
        A :class:`PostingResult`, one outcome per posting in input order.

    Raises:
        StateError: the client sent a posting under another control id than the ledger names,
            or the state store belongs to another tenant than the client's (the ledger would
            describe other books; :func:`intacct_sync.state.tenancy.bind_tenant`).
        InputError: a record cannot be written at all (names the row and field).
        LeaseHeldError: another run holds this store's lease for the company and workflow
            (names the holder); take the lease yourself with a ``wait`` to queue behind it.
    """
    # The engine is the one way to post, so it holds the store to the client's tenant itself
    # too: a caller using it directly gets the same refusal as every workflow.
    bind_tenant(state, ia)
    # One run at a time per state store, tenant and workflow (issue 12): two runs on one ledger
    # could both find a posting unsent and both send it. A caller that already holds the lease
    # (a workflow's run) shares it; nothing else waits here.
    with run_lease(state, lease_for(ia, workflow)):
        rules = _Rules(enabled=checks, on_breach=on_breach, correct_drift=correct_drift)
        result = _post(ia, state, workflow, postings, progress=progress, rules=rules)
        # A lost answer leaves postings pending (and the rest of the run held). The client never
        # resends a write that may have reached Intacct, since nothing says how long the gateway
        # remembers a control id; the next round looks in the books first, exactly as a rerun
        # would, and sends only what is provably absent.
        rounds = RECOVERY_ROUNDS if recovery_rounds is None else recovery_rounds
        for attempt in range(1, rounds + 1):
            unfinished = [
                i for i, o in enumerate(result.outcomes) if o.status in ("pending", "held")
            ]
            if result.stopped is None or not unfinished:
                break
            wait = ia.retry.delay(attempt, None, lambda: 1.0)
            log.info(
                "post %s: %d unfinished after a stop (%s); looking in the books in %.1fs",
                workflow,
                len(unfinished),
                result.stopped,
                wait,
            )
            ia._sleep(wait)
            again = _post(
                ia,
                state,
                workflow,
                [postings[i] for i in unfinished],
                progress=progress,
                rules=rules,
            )
            outcomes = list(result.outcomes)
            for position, outcome in zip(unfinished, again.outcomes, strict=True):
                outcomes[position] = outcome
            result = PostingResult(outcomes=tuple(outcomes), stopped=again.stopped)
        return result


def lease_for(ia: IntacctClient, workflow: str) -> str:
    """The run lease's name for ``workflow`` on the client's company and entity.

    A workflow's run takes this lease (``state.run_lease(state, lease_for(ia, workflow))``)
    around everything it reads and writes; the engine's own lease then nests inside it.
    """
    # The tenant: the company and entity the client works in (either protocol).
    company = getattr(ia, "company_id", None) or "UNKNOWN"
    return lease_name(company, workflow, getattr(ia, "entity_id", None))


@attrs.frozen(kw_only=True)
class _Item:
    """One posting on its way through :func:`_post`: NFC key and reference, normalised record."""

    position: int
    posting: Posting
    cid: str
    digest: str
    known: LedgerEntry | None = None

    @property
    def amount(self) -> str:
        return amount_text(entry_total(self.posting.record))

    def outcome(self, status: PostingStatus, **fields: Any) -> PostingOutcome:
        """This posting's outcome: key, reference, control id, content hash and amount are
        always the posting's own; the rest is what happened.
        """
        fields.setdefault("control_id", self.cid)
        return PostingOutcome(
            key=self.posting.key,
            reference=self.posting.reference,
            status=status,
            content_hash=self.digest,
            amount=self.amount,
            **fields,
        )


def _post(
    ia: IntacctClient,
    state: StateStore,
    workflow: str,
    postings: Sequence[Posting],
    *,
    progress: bool,
    rules: _Rules,
) -> PostingResult:
    results: dict[int, PostingOutcome] = {}
    items: list[_Item] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(postings):
        key, reference = nfc(raw.key), nfc(raw.reference)
        posting = attrs.evolve(raw, key=key, reference=reference)
        posting = attrs.evolve(posting, record=normalise(posting.record, reference))
        item = _Item(
            position=position,
            posting=posting,
            cid=create_control_id(posting.record),
            digest=_hash_of(posting),
        )
        if key in seen:
            results[position] = item.outcome(
                "skipped",
                errors=f"the key {key!r} appears twice in this run (first at {seen[key]})",
            )
            continue
        seen[key] = position
        items.append(item)

    # 2. The ledger. A row posted with the same content settles it. A journal entry posted with
    # other content goes on to the books: they say what stands for it now (its corrections
    # included) and what a correcting entry would reverse.
    unsettled: list[_Item] = []
    for item in items:
        known = state.ledger_get(workflow, item.posting.key)
        item = attrs.evolve(item, known=known)
        if known is not None and known.status == "posted":
            posted_hash = known.detail.get("content_hash")
            if posted_hash is None or posted_hash == item.digest:
                # A row from before content hashes counts as the same content.
                results[item.position] = item.outcome(
                    "already_posted", control_id=known.control_id, record_no=known.record_no
                )
                continue
            if not isinstance(item.posting.record, JournalEntry):
                results[item.position] = _drift(item, known.record_no, known.detail.get("amount"))
                continue
        unsettled.append(item)

    # 3. The books, for everything not settled in the ledger.
    found: dict[tuple[str, str], books.Found] = {}
    entries_wanted = [
        _where(i.posting.record, i.posting.reference)
        for i in unsettled
        if isinstance(i.posting.record, JournalEntry)
    ]
    orders_wanted = {
        i.posting.reference: i.posting.record.transaction_type
        for i in unsettled
        if isinstance(i.posting.record, SalesOrder)
    }
    if entries_wanted:
        found.update(books.journal_entries(ia, entries_wanted))
    if orders_wanted:
        found.update(books.sales_orders(ia, orders_wanted))

    to_send: list[_Item] = []
    to_compare: list[tuple[_Item, books.Found]] = []
    for item in unsettled:
        posting, known = item.posting, item.known
        hit = found.get(_where(posting.record, posting.reference))
        vouched = known is not None and known.detail.get("content_hash") in (None, item.digest)
        if hit is None:
            if known is not None and known.status == "posted":
                # Posted with other content, and gone from the books by its reference (deleted,
                # or the reference edited in Intacct): the ledger's word is all there is.
                results[item.position] = _drift(
                    item,
                    known.record_no,
                    known.detail.get("amount"),
                    errors=f"not found in the books by its reference {posting.reference!r}",
                )
            else:
                to_send.append(item)
            continue
        copies = (
            None
            if hit.copies == 1
            else f"{hit.copies} records in Intacct carry the reference {posting.reference!r}"
        )
        if isinstance(posting.record, JournalEntry) and not vouched:
            # Found, but the ledger cannot vouch for it (no row: the state file was lost or is
            # another host's; or a row with other content): the books decide, line by line.
            to_compare.append((item, hit))
        elif vouched:
            _record(state, workflow, item, "posted", hit.record_no, copies)
            results[item.position] = item.outcome("posted", record_no=hit.record_no, errors=copies)
        else:
            # An order sent earlier with other content and found in the books.
            results[item.position] = _drift(
                item, hit.record_no, known.detail.get("amount") if known else None, errors=copies
            )
    stopped: IntacctSyncError | None = None
    if to_compare:
        compared, stopped = corrections.compare_with_books(
            ia, state, workflow, to_compare, progress=progress, rules=rules
        )
        results.update(compared)

    to_send = _preflight(ia, rules, to_send, results)

    # 4-6. Ledger row, send, outcome.
    confirm: list[_Item] = []
    size = max(1, ia.batch_size)
    for start in range(0, len(to_send), size):
        chunk = to_send[start : start + size]
        if stopped is not None:
            for item in chunk:
                results[item.position] = _unsent(item, stopped)
            continue
        for item in chunk:
            # Written before sending: a crash from here on leaves a row the next run resolves
            # by looking in the books, whatever the gateway remembers.
            _record(state, workflow, item, "pending", None, None)
        try:
            frame = _send(ia, [i.posting.record for i in chunk], progress)
        except IncompleteWriteError as exc:
            frame, stopped = exc.outcomes, exc
        rows = {int(r["row"]): r for r in frames.frame_to_records(frame)} if len(frame) else {}
        for row, item in enumerate(chunk):
            posting, position = item.posting, item.position
            outcome = rows.get(row)
            status = None if outcome is None else str(outcome["status"])
            if outcome is not None and outcome["control_id"] != item.cid:
                raise StateError(
                    f"{posting.key} was sent under control id {outcome['control_id']}, the "
                    f"ledger names {item.cid}; the client's derivation changed"
                )
            errors = None if outcome is None else outcome["errors"]
            if status in ("created", "updated"):
                assert outcome is not None
                record_no = (
                    outcome["RECORDNO"]
                    if isinstance(posting.record, JournalEntry)
                    else outcome["id"]
                )
                record_no = None if record_no is None else str(record_no)
                _record(state, workflow, item, "posted", record_no, None)
                results[position] = item.outcome("posted", record_no=record_no)
            elif status == "already_done":
                # The gateway ran this very control id before: done. Read its id back.
                confirm.append(item)
            elif status in ("failed", "aborted"):
                if rules.read is not None and isinstance(posting.record, JournalEntry) and errors:
                    rules.read.remember_refusal([errors], posting.record.batch_date)
                _record(state, workflow, item, "failed", None, errors)
                results[position] = item.outcome(
                    "failed", errors=errors, action="fix the record in the source and run again"
                )
            elif status == "not_sent":
                results[position] = _unsent(item, stopped)
            else:  # unknown: sent, unanswered; the ledger row stays pending
                results[position] = item.outcome(
                    "pending",
                    errors=errors or "sent without an answer; the next run looks in the books",
                )
    if confirm:
        entries = [
            _where(i.posting.record, i.posting.reference)
            for i in confirm
            if isinstance(i.posting.record, JournalEntry)
        ]
        orders = {
            i.posting.reference: i.posting.record.transaction_type
            for i in confirm
            if isinstance(i.posting.record, SalesOrder)
        }
        again = {
            **(books.journal_entries(ia, entries) if entries else {}),
            **(books.sales_orders(ia, orders) if orders else {}),
        }
        for item in confirm:
            hit = again.get(_where(item.posting.record, item.posting.reference))
            record_no = None if hit is None else hit.record_no
            _record(state, workflow, item, "posted", record_no, None)
            results[item.position] = item.outcome(
                "posted",
                record_no=record_no,
                errors=None
                if hit is not None
                else "the gateway reports it done; not found by its reference",
            )
    result = PostingResult(
        outcomes=tuple(results[i] for i in range(len(postings))), stopped=stopped
    )
    log.info(
        "post %s: %s",
        workflow,
        ", ".join(f"{result.count(s)} {s}" for s in sorted({o.status for o in result.outcomes})),
    )
    return result


def _drift(
    item: _Item, record_no: str | None, posted_amount: Any, *, errors: str | None = None
) -> PostingOutcome:
    known = item.known
    return item.outcome(
        "drift",
        control_id=known.control_id if known is not None else item.cid,
        record_no=record_no,
        errors=errors,
        posted_hash=None if known is None else known.detail.get("content_hash"),
        posted_amount=posted_amount,
        action=DRIFT_ACTION,
    )


@attrs.define(kw_only=True)
class _Rules:
    """The settings of one :func:`post` call, and the preflight rules read for it (once)."""

    enabled: bool
    on_breach: Literal["skip", "halt"]
    correct_drift: bool = False
    read: PostingRules | None = None


def _preflight(
    ia: IntacctClient,
    rules: _Rules,
    to_send: list[_Item],
    results: dict[int, PostingOutcome],
) -> list[_Item]:
    """The postings still to send once what the company would refuse is taken out."""
    entries = [i.posting.record for i in to_send if isinstance(i.posting.record, JournalEntry)]
    if not rules.enabled or not entries:
        return to_send
    if rules.read is None:
        rules.read = PostingRules.read(ia, entries)
    report = preflight(entries, rules.read)
    if report.ok:
        return to_send
    reasons: dict[str, list[str]] = {}
    for row in frames.frame_to_records(report.breaches):
        where = f"line {row['line']} " if row["line"] else ""
        value = "" if row["value"] is None else f" {row['value']!r}"
        reasons.setdefault(str(row["entry"]), []).append(
            f"{where}{row['field']}{value}: {row['message']} ({row['rule']})"
        )
    log.warning("%s", report.summary())
    keep: list[_Item] = []
    for item in to_send:
        record = item.posting.record
        found = reasons.get(str(record.key)) if isinstance(record, JournalEntry) else None
        if found is None and rules.on_breach == "skip":
            keep.append(item)
            continue
        if found is None:
            others = plural(len(reasons), "other entry", "other entries")
            results[item.position] = item.outcome(
                "held",
                errors=f"not sent: the preflight refused {others}, and the run halts on a refusal",
            )
        else:
            results[item.position] = item.outcome(
                "skipped",
                errors="Intacct would refuse it: " + "; ".join(found),
                action="fix the record in the source (or the account/dimension in Intacct) "
                "and run again",
            )
    return keep


def _unsent(item: _Item, stopped: IntacctSyncError | None) -> PostingOutcome:
    return item.outcome("held", errors=f"not sent: the run stopped before this posting ({stopped})")


def _record(
    state: StateStore,
    workflow: str,
    item: _Item,
    status: Any,
    record_no: str | None,
    errors: str | None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    detail = _ledger_detail(item.posting, item.digest)
    detail.update(extra or {})
    if errors:
        detail["errors"] = errors
    state.ledger_put(
        LedgerEntry(
            workflow=workflow,
            source_id=item.posting.key,
            control_id=item.cid,
            status=status,
            record_no=record_no,
            updated_at=dt.datetime.now(dt.UTC),
            detail=detail,
        )
    )

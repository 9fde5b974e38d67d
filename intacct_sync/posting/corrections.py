"""Correcting entries for drift: reverse what the books hold, then repost the new content.

A journal entry posted earlier whose source changed since (an edited action, a corrected CSV
line) is ``drift``: by default nothing is sent and a person decides. With
``post(..., correct_drift=True)`` the engine corrects it instead, as an accountant would:

1. **reversal** of what the *books* hold for the entry (its GLENTRY lines read by the batch's
   ``RECORDNO``, reference §13.2; never the local ledger, which may be lost or stale): the same
   accounts, dimensions, currencies and amounts with debit and credit swapped, dated by
   :func:`reversal_date` (the original's date, or the repost's when the original's period is
   closed);
2. **repost** of the new content, once the reversal is in the books.

Both are ordinary postings of the engine (ledger row ``pending`` before sending, a look in the
books first, never resent by the client), under keys and references derived from the
original key and the ``RECORDNO`` of the entry they replace::

    <key>~R<RECORDNO>   reference <reference>~R<RECORDNO>   reverses that entry
    <key>~C<RECORDNO>   reference <reference>~C<RECORDNO>   replaces that entry

Naming them by the replaced entry's ``RECORDNO`` rather than by a content hash makes each link
findable from the books alone (a lost state file keeps nothing to recompute a hash from) and
unique even when a source goes back to an earlier version (A -> B -> A -> B would give the
second B the first B's hash-named reference, which a lookup would find, reversed). What the
books hold for a key is then a chain: the entry carrying the reference, reversed by ``~R<n>``
and replaced by ``~C<n>``, itself reversed by ``~R<m>`` and replaced by ``~C<m>``, ... The last
unreversed entry is the *live* one; a reversal with no replacement yet (a crash between the
two) means the repost is still to send. :func:`~intacct_sync.posting.books.held_in_books` walks the chains, one
lookup per link for every key at once, then reads the live entries' lines; everything else is decided from
that. A crash, a lost answer or a rerun at any point converges to exactly one reversal and one
repost per edit.

A little over the usual ~600 lines: building the two entries, their order, and the checks
between them (the repost's preflight before the reversal, the reversal's reference read back
before the repost) are one guarantee and read best together.

The length Intacct allows in ``REFERENCENO`` is not on record (reference §6.1 lists the field,
nothing bounds it; ``docs/sandbox-coverage.md``): a derived reference is the original plus
``~R`` or ``~C`` and the record number (a dozen characters). Whatever the limit, the result is
safe: a refusal is an ordinary ``failed`` reversal (nothing else is sent), and a reference cut
short by Intacct is caught by :func:`~intacct_sync.posting.books.unkept_references` before the repost is
sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from intacct_sync.errors import IntacctSyncError
from intacct_sync.intacct import create_control_id
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.posting import books, engine
from intacct_sync.posting.identity import entry_total, line_figures, nfc, normalise
from intacct_sync.posting.status import IN_BOOKS, PostingStatus
from intacct_sync.reports import plural, value_text

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.state import StateStore

__all__ = [
    "PlannedCorrection",
    "corrections_planned",
    "corrections_text",
    "repost_of",
    "reversal_date",
    "reversal_of",
    "same_content",
]


def _figures(
    account: str,
    tr_type: int,
    amount: Decimal,
    where: tuple[str, str, str],
    dims: Mapping[str, str],
    names: Sequence[str],
) -> tuple[Any, ...]:
    return (
        *line_figures(account, tr_type, amount),
        *where,
        tuple(books.text_of(dims.get(n)) for n in names),
    )


def same_content(held: books.Held, record: JournalEntry) -> bool:
    """Whether the live entry holds ``record``'s figures: its date and each line's account,
    side, amount, location, department, class and other dimensions (descriptions left out, as
    in the content hash).

    Args:
        held: what the books hold for the key.
        record: the entry to compare.

    Returns:
        True when the books hold the record's figures.
    """
    if held.live is None or held.date != record.batch_date.isoformat():
        return False
    names = sorted(
        {n for ln in held.lines for n in ln.dimensions}
        | {n.upper() for ln in record.lines for n in ln.dimensions}
    )
    books_side = sorted(
        _figures(
            ln.account_no,
            ln.tr_type,
            ln.amount,
            (ln.location, ln.department, ln.class_id),
            ln.dimensions,
            names,
        )
        for ln in held.lines
    )
    wanted = sorted(
        _figures(
            ln.account_no,
            ln.tr_type,
            ln.amount,
            (books.text_of(ln.location), books.text_of(ln.department), books.text_of(ln.class_id)),
            {k.upper(): v for k, v in ln.dimensions.items()},
            names,
        )
        for ln in record.lines
    )
    return books_side == wanted


def reversal_date(original: dt.date, closed_through: dt.date | None, repost: dt.date) -> dt.date:
    """The reversal's date: the original's when its period is open, else the repost's.

    No API read of the closed-through date is on record (reference §13.3): the preflight learns
    a lower bound from this run's closed-period refusals (a refused date closes every earlier
    one), never an open date. When the original's date is known closed, the one date the run
    has reason to hold open is the new content's, which is where a correction of a closed
    period belongs anyway: the reversal and the repost then sit in the same open period. When
    that date is known closed too the reversal is dated there all the same and Intacct's
    refusal (``failed``) stops the correction before anything is reposted.

    Args:
        original: the reversed entry's date.
        closed_through: the latest date known closed, or None.
        repost: the repost's date.

    Returns:
        The date to post the reversal on.
    """
    if closed_through is None or original > closed_through:
        return original
    return max(repost, original)


def reversal_of(
    held: books.Held,
    record: JournalEntry,
    key: str,
    reference: str,
    closed_through: dt.date | None,
) -> tuple[str, str, JournalEntry]:
    """Key, reference and entry of the reversal of ``held``'s live entry: every line the books
    hold for it, debit and credit swapped.

    Args:
        held: what the books hold for the key.
        record: the entry with the new figures.
        key: the posting's key.
        reference: the posting's reference.
        closed_through: the latest date known closed, or None.

    Returns:
        ``(key, reference, entry)`` of the reversal.
    """
    assert held.live is not None
    number = held.live
    multi_currency = any(ln.currency for ln in record.lines)
    lines = []
    for ln in held.lines:
        dims = dict(ln.dimensions)
        # A currency is sent only for a foreign-currency line or in a company whose entries
        # carry currencies: a company without foreign-currency transactions refuses it (§13.6).
        foreign = bool(ln.currency) and (multi_currency or ln.currency != ln.base_currency)
        lines.append(
            JournalLine(
                account_no=ln.account_no,
                amount=ln.amount,
                tr_type=-ln.tr_type,
                memo=f"Reversal of RECORDNO {number}",
                location=ln.location or None,
                department=ln.department or None,
                class_id=ln.class_id or None,
                dimensions=dims,
                currency=ln.currency if foreign else None,
                # The original's own rate, so the reversal undoes it exactly in base currency.
                exchange_rate=ln.exchange_rate if foreign else None,
            )
        )
    original = dt.date.fromisoformat(held.date) if held.date else record.batch_date
    entry = JournalEntry(
        key=books.derived(record.key, books.REVERSAL, number),
        journal=record.journal,
        batch_date=reversal_date(original, closed_through, record.batch_date),
        title=f"Reversal of RECORDNO {number} ({nfc(reference)})",
        lines=lines,
        statistical=record.statistical,
        reference_no=books.derived(reference, books.REVERSAL, number),
        base_location=record.base_location,
    )
    return (
        books.derived(key, books.REVERSAL, number),
        books.derived(reference, books.REVERSAL, number),
        entry,
    )


def repost_of(
    held: books.Held, record: JournalEntry, key: str, reference: str
) -> tuple[str, str, JournalEntry]:
    """Key, reference and entry of the repost of ``record`` replacing ``held``'s last entry.

    Args:
        held: what the books hold for the key.
        record: the entry with the new figures.
        key: the posting's key.
        reference: the posting's reference.

    Returns:
        ``(key, reference, entry)`` of the repost.
    """
    number = held.last
    entry = attrs.evolve(
        record,
        key=books.derived(record.key, books.REPOST, number),
        reference_no=books.derived(reference, books.REPOST, number),
    )
    return (
        books.derived(key, books.REPOST, number),
        books.derived(reference, books.REPOST, number),
        entry,
    )


# -- the correcting entry, through the engine -------------------------------------------------


def compare_with_books(
    ia: IntacctClient,
    state: StateStore,
    workflow: str,
    found: Sequence[tuple[engine._Item, books.Found]],
    *,
    progress: bool,
    rules: engine._Rules,
) -> tuple[dict[int, engine.PostingOutcome], IntacctSyncError | None]:
    """Journal entries found in the books that the ledger cannot vouch for: the same content
    (through any corrections made before) is ``posted``; other content is ``drift``, or is
    corrected when ``correct_drift`` is on.

    Returns:
        Outcomes by input position, and the error that stopped a correction part way
        (None when none did).
    """
    held = books.held_in_books(
        ia,
        {i.posting.key: (_journal(i.posting), i.posting.reference, hit) for i, hit in found},
    )
    results: dict[int, engine.PostingOutcome] = {}
    to_correct: list[tuple[engine._Item, books.Held]] = []
    for item, hit in found:
        books_hold = held[item.posting.key]
        assert isinstance(item.posting.record, JournalEntry)
        copies = (
            None
            if hit.copies == 1
            else f"{hit.copies} records in Intacct carry the reference {item.posting.reference!r}"
        )
        if books_hold.anomaly is not None:
            results[item.position] = engine._drift(
                item,
                books_hold.last,
                books.amount_of(books_hold.lines),
                errors=books_hold.anomaly,
            )
        elif same_content(books_hold, item.posting.record):
            # The books hold it: as first posted, or through corrections made before (a state
            # file lost after a correction, or a crash before its last ledger write).
            extra = {"corrections": list(books_hold.links)} if books_hold.links else {}
            engine._record(state, workflow, item, "posted", books_hold.live, copies, extra)
            note = (
                "; ".join(
                    f"corrected earlier: RECORDNO {link['reversed']} reversed by RECORDNO "
                    f"{link['reversal']} and replaced by RECORDNO {link['repost']}"
                    for link in books_hold.links
                )
                or None
            )
            results[item.position] = item.outcome(
                "posted",
                record_no=books_hold.live,
                errors="; ".join(t for t in (copies, note) if t) or None,
            )
        elif rules.correct_drift:
            to_correct.append((item, books_hold))
        elif books_hold.live is None:
            results[item.position] = engine._drift(
                item,
                books_hold.last,
                None,
                errors=f"RECORDNO {books_hold.last} is reversed (RECORDNO "
                f"{books_hold.reversal_no}) and its replacement is not in the books yet",
            )
        else:
            results[item.position] = engine._drift(
                item, books_hold.live, books.amount_of(books_hold.lines), errors=copies
            )
    if not to_correct:
        return results, None
    corrected, stopped = _correct(ia, state, workflow, to_correct, progress=progress, rules=rules)
    results.update(corrected)
    return results, stopped


def _journal(posting: engine.Posting) -> str:
    assert isinstance(posting.record, JournalEntry)
    return nfc(posting.record.journal)


def _correct(
    ia: IntacctClient,
    state: StateStore,
    workflow: str,
    items: Sequence[tuple[engine._Item, books.Held]],
    *,
    progress: bool,
    rules: engine._Rules,
) -> tuple[dict[int, engine.PostingOutcome], IntacctSyncError | None]:
    """Reverse what the books hold, then repost: each an exactly-once posting of the engine.

    The repost is checked by the preflight before anything is reversed, and sent only once its
    reversal is in the books under its own reference, so no refusal, crash or lost answer
    leaves both the old and the new figures counted (at worst neither, until the next run).
    """
    # The links are plain postings: never corrected themselves. The preflight rules (and what
    # they learn from a closed-period refusal) are shared with the call's own.
    sub = attrs.evolve(rules, correct_drift=False)

    def run(postings: Sequence[engine.Posting]) -> engine.PostingResult:
        result = engine._post(ia, state, workflow, postings, progress=progress, rules=sub)
        rules.read = sub.read
        return result

    def closed_through() -> dt.date | None:
        return None if sub.read is None else sub.read.closed_through

    results: dict[int, engine.PostingOutcome] = {}
    reposts: dict[int, engine.Posting] = {}
    for item, held in items:
        assert isinstance(item.posting.record, JournalEntry)
        key, reference, entry = repost_of(
            held, item.posting.record, item.posting.key, item.posting.reference
        )
        reposts[item.position] = engine.Posting(
            key=key, record=entry, reference=reference, detail={"replaces": held.last}
        )
    # What Intacct would refuse of the new content is refused before the old is reversed.
    refused: dict[int, engine.PostingOutcome] = {}
    checked = engine._preflight(
        ia,
        sub,
        [
            engine._Item(
                position=p, posting=r, cid=create_control_id(r.record), digest=engine._hash_of(r)
            )
            for p, r in reposts.items()
        ],
        refused,
    )
    rules.read = sub.read
    for item, held in items:
        if item.position in refused:
            why = refused[item.position]
            results[item.position] = item.outcome(
                why.status,
                record_no=held.live,
                errors=f"the repost {why.errors}; nothing was reversed",
                action=why.action,
            )
    wanted = {i.position for i in checked}
    items = [(i, h) for i, h in items if i.position in wanted]

    # (a) Reversals of the live entries (none for a chain whose last entry is reversed already).
    reversals: dict[int, engine.Posting] = {}
    for item, held in items:
        if held.live is None:
            continue
        assert isinstance(item.posting.record, JournalEntry)
        key, reference, entry = reversal_of(
            held, item.posting.record, item.posting.key, item.posting.reference, closed_through()
        )
        reversals[item.position] = engine.Posting(
            key=key,
            record=entry,
            reference=reference,
            detail={"reverses": held.live, "for": item.posting.key},
        )
    done: dict[int, engine.PostingOutcome] = {}
    stopped: IntacctSyncError | None = None
    if reversals:
        sent = run(list(reversals.values()))
        done, stopped = dict(zip(reversals, sent.outcomes, strict=True)), sent.stopped
        # Refused as dated in a closed period: once more, dated as the repost.
        closed = closed_through()
        moved: dict[int, engine.Posting] = {}
        for position, outcome in done.items():
            record, new = reversals[position].record, reposts[position].record
            assert isinstance(record, JournalEntry)
            assert isinstance(new, JournalEntry)
            day = reversal_date(record.batch_date, closed, new.batch_date)
            if outcome.status in ("failed", "skipped") and day != record.batch_date:
                moved[position] = attrs.evolve(
                    reversals[position], record=attrs.evolve(record, batch_date=day)
                )
        if moved and stopped is None:
            again = run(list(moved.values()))
            done.update(zip(moved, again.outcomes, strict=True))
            reversals.update(moved)
            stopped = again.stopped
        _check_references(ia, reversals, done)

    # (b) Reposts, once the reversal is in the books.
    reversal_no: dict[int, str] = {}
    ready: dict[int, engine.Posting] = {}
    for item, held in items:
        position = item.position
        if held.live is None:
            assert held.reversal_no is not None
            reversal_no[position] = held.reversal_no
        else:
            reversal = done.get(position)
            if reversal is None or reversal.status not in IN_BOOKS or not reversal.record_no:
                results[position] = _unfinished(item, held, reversal)
                continue
            reversal_no[position] = reversal.record_no
        ready[position] = reposts[position]
    if ready and stopped is None:
        sent = run(list(ready.values()))
        stopped = sent.stopped
        outcomes = dict(zip(ready, sent.outcomes, strict=True))
        for item, held in items:
            repost = outcomes.get(item.position)
            if repost is None:
                continue
            reversed_no, reversal_record = held.last, reversal_no[item.position]
            if repost.status not in IN_BOOKS or not repost.record_no:
                results[item.position] = item.outcome(
                    "pending" if repost.status in IN_BOOKS else repost.status,
                    record_no=reversed_no,
                    errors=f"RECORDNO {reversed_no} is reversed (RECORDNO {reversal_record}); the "
                    f"repost is {repost.status}: {repost.errors or 'see its own ledger row'}",
                    action=repost.action,
                )
                continue
            link = {
                "reversed": reversed_no,
                "reversal": reversal_record,
                "repost": repost.record_no,
                "reversed_amount": books.amount_of(held.lines) if held.lines else None,
                "amount": item.amount,
            }
            # The key's row now names the new content and the entry standing for it: the next
            # run finds it already posted; a later edit reverses the repost.
            engine._record(
                state,
                workflow,
                item,
                "posted",
                repost.record_no,
                None,
                {"corrections": [*held.links, link]},
            )
            results[item.position] = item.outcome(
                "corrected",
                record_no=repost.record_no,
                posted_hash=None if item.known is None else item.known.detail.get("content_hash"),
                posted_amount=link["reversed_amount"],
                reversed_record_no=reversed_no,
                reversal_record_no=reversal_record,
            )
    for item, _ in items:
        if item.position not in results:
            results[item.position] = engine._unsent(item, stopped)
    return results, stopped


def _check_references(
    ia: IntacctClient,
    reversals: Mapping[int, engine.Posting],
    done: dict[int, engine.PostingOutcome],
) -> None:
    """Fail each reversal the books do not show under its reference (Intacct cut or changed
    it): every later lookup would miss it, so the repost is not sent and a person decides.
    """
    kept = {p: o for p, o in done.items() if o.status in IN_BOOKS and o.record_no is not None}
    by_journal: dict[str, dict[str, str]] = {}
    for position, outcome in kept.items():
        record = reversals[position].record
        assert isinstance(record, JournalEntry)
        assert outcome.record_no is not None
        by_journal.setdefault(record.journal, {})[outcome.reference] = outcome.record_no
    for journal, sent in by_journal.items():
        lost = books.unkept_references(ia, journal, sent)
        for position, outcome in kept.items():
            if outcome.reference in lost:
                done[position] = attrs.evolve(
                    outcome,
                    status="failed",
                    errors=f"Intacct does not show the reversal RECORDNO {outcome.record_no} "
                    f"under its reference {outcome.reference!r} (cut or changed); the repost "
                    "was not sent",
                )


def _unfinished(
    item: engine._Item, held: books.Held, reversal: engine.PostingOutcome | None
) -> engine.PostingOutcome:
    """The outcome of a posting whose reversal is not in the books: nothing was reposted."""
    status: PostingStatus = "held" if reversal is None else reversal.status
    if status in IN_BOOKS:  # in the books without a RECORDNO: settled by the next lookup
        status = "pending"
    return item.outcome(
        status,
        record_no=held.live,
        errors=f"the reversal of RECORDNO {held.live} is {status}"
        + (f": {reversal.errors}" if reversal is not None and reversal.errors else "")
        + "; nothing was reposted",
        posted_amount=books.amount_of(held.lines),
        action=None if reversal is None else reversal.action,
    )


@attrs.frozen(kw_only=True)
class PlannedCorrection:
    """A correcting entry :func:`post` would make with ``correct_drift=True``.

    Attributes:
        key / reference: the posting's.
        reversed_record_no: the entry the books hold for it now, to be reversed (None: it is
            reversed already and only the repost is left).
        reversed_amount: that entry's amount (its debits).
        reversal_reference / repost_reference: the references the two would carry.
        reversal_date: the reversal's date.
        amount: the new content's amount.
    """

    key: str
    reference: str
    reversed_record_no: str | None
    reversed_amount: Decimal | None
    reversal_reference: str | None
    repost_reference: str
    reversal_date: dt.date | None
    amount: Decimal


def corrections_planned(
    ia: IntacctClient, state: StateStore, workflow: str, postings: Sequence[engine.Posting]
) -> tuple[PlannedCorrection, ...]:
    """The correcting entries ``post(..., correct_drift=True)`` would make, read-only.

    Reads the ledger and the books exactly as :func:`post` would (one lookup per 500 references,
    then the corrections' chains and lines), writes nothing and sends nothing: for dry runs.
    The reversal dates assume no closed period; a refusal would move them to the first open day.

    Args:
        ia: the Intacct client.
        state: the state store.
        workflow: the ledger's workflow.
        postings: the postings a run would make.

    Returns:
        The planned corrections, one per drifted entry (empty when nothing drifted).
    """
    items: list[engine._Item] = []
    for position, raw in enumerate(postings):
        if not isinstance(raw.record, JournalEntry):
            continue
        key, reference = nfc(raw.key), nfc(raw.reference)
        posting = attrs.evolve(
            raw, key=key, reference=reference, record=normalise(raw.record, reference)
        )
        item = engine._Item(
            position=position,
            posting=posting,
            cid=create_control_id(posting.record),
            digest=engine._hash_of(posting),
            known=state.ledger_get(workflow, key),
        )
        vouched = item.known is not None and item.known.detail.get("content_hash") in (
            None,
            item.digest,
        )
        if not vouched:
            items.append(item)
    found = (
        books.journal_entries(
            ia, [engine._where(i.posting.record, i.posting.reference) for i in items]
        )
        if items
        else {}
    )
    hits = {
        i.posting.key: (i, hit)
        for i in items
        if (hit := found.get(engine._where(i.posting.record, i.posting.reference))) is not None
    }
    held = (
        books.held_in_books(
            ia, {k: (_journal(i.posting), i.posting.reference, hit) for k, (i, hit) in hits.items()}
        )
        if hits
        else {}
    )
    planned: list[PlannedCorrection] = []
    for key, (item, _) in hits.items():
        books_hold = held[key]
        record = item.posting.record
        assert isinstance(record, JournalEntry)
        if books_hold.anomaly is not None or same_content(books_hold, record):
            continue
        reversal = (
            None
            if books_hold.live is None
            else reversal_of(books_hold, record, key, item.posting.reference, None)
        )
        _, repost_reference, _ = repost_of(books_hold, record, key, item.posting.reference)
        planned.append(
            PlannedCorrection(
                key=key,
                reference=item.posting.reference,
                reversed_record_no=books_hold.live,
                reversed_amount=None if reversal is None else books_hold.amount,
                reversal_reference=None if reversal is None else reversal[1],
                repost_reference=repost_reference,
                reversal_date=None if reversal is None else reversal[2].batch_date,
                amount=entry_total(record),
            )
        )
    return tuple(planned)


def corrections_text(
    corrected: Sequence[tuple[str | None, Any, Any]], *, planned: bool = False
) -> str:
    """Finance wording for correcting entries, from ``(reversed RECORDNO, reversed amount, new
    amount)``: ``2 entries corrected: reversed RECORDNO 123 (1,000.00) and reposted (1,250.00);
    ...`` (``planned``: ``2 entries would be corrected: would reverse ...``); ``""`` for none.

    Args:
        corrected: ``(reversed RECORDNO, reversed amount, new amount)`` per correction made.
        planned: word them as planned (a dry run), not made.

    Returns:
        One line, for a person.
    """
    if not corrected:
        return ""
    parts = []
    for record_no, was, now in corrected:
        new = value_text(_decimal(now))
        if record_no is None:
            parts.append(f"{'would repost' if planned else 'reposted'} ({new})")
        else:
            old = value_text(_decimal(was))
            parts.append(
                f"would reverse RECORDNO {record_no} ({old}) and repost ({new})"
                if planned
                else f"reversed RECORDNO {record_no} ({old}) and reposted ({new})"
            )
    verb = "would be corrected" if planned else "corrected"
    return f"{plural(len(corrected), 'entry', 'entries')} {verb}: " + "; ".join(parts)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None

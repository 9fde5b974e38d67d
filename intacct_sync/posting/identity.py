"""Identities and content hashes of postings.

A posting's identity is its business key (an action id, ``<journal>:<entry>``,
``kpi|<name>|<day>``, an opportunity id), NFC-normalised so that the same text typed on two
systems (composed or decomposed accents) is one key. Its content hash covers what the books
hold of it: for a journal entry the journal, the date and each line's account, side, amount
(normalised: ``10.0`` == ``10.00``) and dimensions; for a sales order the customer, the date,
the transaction definition and each line's item, quantity, price and discount. Descriptions
(titles, memos) are left out on purpose: rewording a summary does not change the books' figures
and is not drift.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from decimal import Decimal
from typing import Any

import attrs

from intacct_sync.intacct.models import JournalEntry, SalesOrder

__all__ = [
    "Record",
    "amount_text",
    "content_hash",
    "entry_total",
    "figures",
    "line_figures",
    "nfc",
    "normalise",
]

#: What the engine posts.
Record = JournalEntry | SalesOrder


def nfc(text: str) -> str:
    """``text`` in Unicode normal form C (the form keys are stored and compared in).

    Args:
        text: any text.

    Returns:
        The normalised text.
    """
    return unicodedata.normalize("NFC", text)


def amount_text(value: Decimal | None) -> str:
    """A decimal written without trailing zeros or exponent: ``10.0`` and ``10.00`` -> ``10``.

    Args:
        value: the decimal.

    Returns:
        The decimal as text.
    """
    if value is None:
        return ""
    if not value.is_finite():
        return str(value)
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _opt(text: str | None) -> str:
    return "" if text is None else nfc(text)


def line_figures(account: str, tr_type: int, amount: Decimal) -> tuple[str, int, str]:
    """One journal line as the books hold it, for comparing an entry with what was read.

    Args:
        account: the line's account.
        tr_type: 1 (debit) or -1 (credit).
        amount: the line's amount.

    Returns:
        ``(account, sign, amount)`` of the line.
    """
    return (nfc(str(account)), int(tr_type), amount_text(amount))


def figures(record: Record) -> dict[str, Any]:
    """The content of ``record`` that the books hold (what :func:`content_hash` covers).

    Args:
        record: a journal entry or sales order.

    Returns:
        A dict of the figures, amounts as normalised text.
    """
    if isinstance(record, JournalEntry):
        lines = sorted(
            [
                *line_figures(ln.account_no, ln.tr_type, ln.amount),
                _opt(ln.location),
                _opt(ln.department),
                _opt(ln.class_id),
                sorted((nfc(k), nfc(str(v))) for k, v in ln.dimensions.items()),
            ]
            for ln in record.lines
        )
        return {
            "journal": nfc(record.journal),
            "date": record.batch_date.isoformat(),
            "statistical": record.statistical,
            "lines": lines,
        }
    return {
        "customer": nfc(record.customer_id),
        "date": record.date.isoformat(),
        "type": nfc(record.transaction_type),
        "lines": [
            [
                nfc(ln.item_id),
                amount_text(ln.quantity),
                amount_text(ln.price),
                amount_text(ln.discount_percent),
            ]
            for ln in record.lines
        ],
    }


def content_hash(record: Record, *, dated: bool = True) -> str:
    """SHA-256 of :func:`figures` (hex): equal for equal content, whatever the amounts' scale.

    Args:
        record: a journal entry or sales order.
        dated: whether the date is content. False where the workflow dates an entry by the run
            that posts it (actions in ``batch`` mode): the same action read again by a later
            run gets that run's date, and is the same posting, not drift.

    Returns:
        64 hexadecimal characters.
    """
    content = figures(record)
    if not dated:
        content.pop("date")
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def entry_total(record: Record) -> Decimal:
    """A journal entry's debits (its amount), or a sales order's total.

    Args:
        record: a journal entry or sales order.

    Returns:
        The total, exact.
    """
    if isinstance(record, JournalEntry):
        return sum((ln.amount for ln in record.lines if ln.tr_type == 1), Decimal(0))
    return record.total


def normalise(record: Record, reference: str) -> Record:
    """``record`` with its key NFC-normalised and ``reference`` written as its reference.

    Args:
        record: a journal entry or sales order.
        reference: its reference.

    Returns:
        A new record; the input is not changed.
    """
    return attrs.evolve(record, key=nfc(record.key), reference_no=nfc(reference))

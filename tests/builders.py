"""Small builders shared by the tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from intacct_sync.intacct.models import JournalEntry, JournalLine


def balanced_entry(
    key: str,
    amount: str = "10.00",
    *,
    title: str,
    day: dt.date = dt.date(2026, 11, 2),
    account: str = "4000",
    location: str | None = None,
    reference: bool = True,
) -> JournalEntry:
    """A two-line GJ entry: debit 1000, credit ``account``, both for ``amount``."""
    return JournalEntry(
        key=key,
        journal="GJ",
        batch_date=day,
        title=title,
        reference_no=key if reference else None,
        lines=[
            JournalLine(account_no="1000", amount=Decimal(amount), tr_type=1, location=location),
            JournalLine(account_no=account, amount=Decimal(amount), tr_type=-1, location=location),
        ],
    )

"""Looking in the books: what a previous attempt may already have created, found by reference.

Every posting carries a reference the engine writes on it (journal entry ``REFERENCENO``, sales
order ``referenceno``). Before anything the ledger holds as unfinished (or does not know) is sent
again, these functions read Intacct for those references, in large ``IN`` lists (500 per
``query``, under the documented 1,000-value cap of :data:`intacct_sync.intacct.filters.MAX_IN_VALUES`,
one page each: ``query`` pages hold up to 2,000 rows, reference/intacct-api.md §5), so 1,000
pending postings cost two requests, not a thousand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from intacct_sync import frames
from intacct_sync.intacct import filters
from intacct_sync.posting.identity import line_figures, nfc

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient

__all__ = ["CHUNK", "Found", "journal_entries", "journal_lines", "sales_orders"]

#: References per lookup query.
CHUNK = 500
# One page per lookup: a chunk finds at most a few rows per reference.
_PAGE = 2000


@attrs.frozen(kw_only=True)
class Found:
    """A record found in the books by its reference.

    Attributes:
        record_no: GLBATCH ``RECORDNO`` or SODOCUMENT ``DOCID``.
        copies: how many records carry the reference (more than 1: posted twice before).
        date: the record's date as Intacct holds it (``YYYY-MM-DD``), when read.
    """

    record_no: str
    copies: int = 1
    date: str = ""


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def journal_entries(
    ia: IntacctClient, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Found]:
    """GLBATCHes of each ``(journal, reference)``, by ``REFERENCENO`` (the highest RECORDNO
    when several hold it).
    """
    pairs = {(nfc(j), nfc(r)) for j, r in wanted}
    references = sorted({r for _, r in pairs})
    found: dict[tuple[str, str], Found] = {}
    for chunk in _chunks(references):
        frame = ia.query(
            "GLBATCH",
            select=["RECORDNO", "REFERENCENO", "JOURNAL", "BATCH_DATE"],
            filter=filters.in_("REFERENCENO", chunk),
            page_size=_PAGE,
        )
        for row in frames.frame_to_records(frame):
            key = (nfc(str(row["JOURNAL"] or "")), nfc(str(row["REFERENCENO"] or "")))
            if key not in pairs:
                continue
            record_no = str(row["RECORDNO"])
            date = row["BATCH_DATE"]
            day = date.date().isoformat() if hasattr(date, "date") else str(date or "")
            known = found.get(key)
            if known is None:
                found[key] = Found(record_no=record_no, date=day)
            else:
                best = max(known.record_no, record_no, key=int)
                found[key] = Found(
                    record_no=best,
                    copies=known.copies + 1,
                    date=day if best == record_no else known.date,
                )
    return found


def journal_lines(
    ia: IntacctClient, record_nos: Sequence[str]
) -> dict[str, list[tuple[str, int, str]]]:
    """Account, side and amount of every line of the given GLBATCHes (by ``BATCHNO``, the
    parent's RECORDNO on GLENTRY, reference/intacct-api.md §13.2), sorted per batch.
    """
    lines: dict[str, list[tuple[str, int, str]]] = {}
    for chunk in _chunks(list(record_nos)):
        frame = ia.query(
            "GLENTRY",
            select=["BATCHNO", "ACCOUNTNO", "TR_TYPE", "TRX_AMOUNT"],
            filter=filters.in_("BATCHNO", chunk),
            page_size=_PAGE,
        )
        for row in frames.frame_to_records(frame):
            amount = frames.parse_decimal(row["TRX_AMOUNT"]) or Decimal(0)
            lines.setdefault(str(row["BATCHNO"]), []).append(
                line_figures(str(row["ACCOUNTNO"]), int(row["TR_TYPE"]), amount)
            )
    return {k: sorted(v) for k, v in lines.items()}


def sales_orders(ia: IntacctClient, wanted: Mapping[str, str]) -> dict[tuple[str, str], Found]:
    """Documents of each ``(transaction definition, reference)``; ``wanted`` maps reference ->
    transaction definition. Read per definition (SODOCUMENT depends on it, §13.4).
    """
    by_type: dict[str, list[str]] = {}
    for reference, doc_type in wanted.items():
        by_type.setdefault(nfc(doc_type), []).append(nfc(reference))
    found: dict[tuple[str, str], Found] = {}
    for doc_type, references in sorted(by_type.items()):
        for chunk in _chunks(sorted(set(references))):
            frame = ia.query(
                "SODOCUMENT",
                select=["DOCID", "REFERENCENO"],
                filter=filters.in_("REFERENCENO", chunk),
                docparid=doc_type,
                page_size=_PAGE,
            )
            for row in frames.frame_to_records(frame):
                key = (doc_type, nfc(str(row["REFERENCENO"] or "")))
                doc = str(row["DOCID"])
                known = found.get(key)
                found[key] = Found(
                    record_no=doc if known is None else known.record_no,
                    copies=1 if known is None else known.copies + 1,
                )
    return found

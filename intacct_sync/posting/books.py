"""Looking in the books: what a previous attempt may already have created, found by reference.

Every posting carries a reference the engine writes on it (journal entry ``REFERENCENO``, sales
order ``referenceno``). Before anything the ledger holds as unfinished (or does not know) is sent
again, these functions read Intacct for those references, in large ``IN`` lists (500 per
``query``, under the documented 1,000-value cap of :data:`intacct_sync.intacct.filters.MAX_IN_VALUES`,
one page each: ``query`` pages hold up to 2,000 rows, reference/intacct-api.md §5), so 1,000
pending postings cost two requests, not a thousand.

What the books hold for a posting is read through the correcting entries made for it
(:mod:`intacct_sync.posting.corrections`): :func:`held_in_books` follows each entry to the
reversal (``<reference>~R<RECORDNO>``) and the repost (``<reference>~C<RECORDNO>``) that
replaced it, one lookup per link for every posting at once, and reads the lines of the entry
that stands for the posting now.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import attrs

from intacct_sync import frames
from intacct_sync.intacct import filters
from intacct_sync.posting.identity import amount_text, line_figures, nfc

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient

__all__ = [
    "CHUNK",
    "REPOST",
    "REVERSAL",
    "BookLine",
    "Found",
    "Held",
    "book_lines",
    "derived",
    "held_in_books",
    "journal_entries",
    "journal_lines",
    "sales_orders",
]

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

    Args:
        ia: the Intacct client.
        wanted: the ``(journal, reference)`` pairs to look up.

    Returns:
        The entry found per ``(journal, reference)``; a pair absent from the books is absent from
        the dict.
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

    Args:
        ia: the Intacct client.
        record_nos: GLBATCH RECORDNOs.

    Returns:
        ``(account, side, amount)`` of each line, per batch RECORDNO.
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

    Args:
        ia: the Intacct client.
        wanted: reference -> transaction definition.

    Returns:
        The document found per ``(transaction definition, reference)``; absent ones are left out.
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


# -- through the corrections ---------------------------------------------------------------

#: Marks of the derived keys and references (``<ref>~R<RECORDNO>``, ``<ref>~C<RECORDNO>``).
REVERSAL: Final = "~R"
REPOST: Final = "~C"

# Standard dimension ids a GLENTRY line can carry besides LOCATION/DEPARTMENT/CLASSID
# (reference §6, [D-JE]); GLDIM<name> columns are taken whatever their name (§13.5).
_DIMENSION_IDS: Final = (
    "PROJECTID",
    "TASKID",
    "CUSTOMERID",
    "VENDORID",
    "EMPLOYEEID",
    "ITEMID",
    "CONTRACTID",
    "WAREHOUSEID",
    "COSTTYPEID",
)
# A chain longer than this is not a history of edits but a loop (a reference edited by hand).
_MAX_LINKS: Final = 50


@attrs.frozen(kw_only=True)
class BookLine:
    """One GLENTRY line as the books hold it (what a reversal swaps)."""

    account_no: str
    tr_type: int
    amount: Decimal
    location: str = ""
    department: str = ""
    class_id: str = ""
    dimensions: Mapping[str, str] = attrs.field(factory=dict)
    currency: str = ""
    base_currency: str = ""
    exchange_rate: Decimal | None = None


@attrs.frozen(kw_only=True)
class Held:
    """What the books hold for one posting's key.

    Attributes:
        first: RECORDNO of the entry carrying the posting's own reference.
        live: RECORDNO of the entry standing for the key now (None: the last one was reversed
            and its replacement is not in the books yet).
        last: RECORDNO of the last entry of the chain (``live``, or the reversed one awaiting
            its replacement).
        date: the live entry's date (``YYYY-MM-DD``).
        lines: the live entry's lines (empty when ``live`` is None).
        links: every completed correction: ``{"reversed", "reversal", "repost"}`` RECORDNOs.
        reversal_no: RECORDNO of the reversal of ``last`` (only when ``live`` is None).
        anomaly: the books hold a replacement without its reversal (someone deleted it): not
            corrected automatically.
    """

    first: str
    live: str | None
    last: str
    date: str = ""
    lines: tuple[BookLine, ...] = ()
    links: tuple[Mapping[str, str], ...] = ()
    reversal_no: str | None = None
    anomaly: str | None = None

    @property
    def amount(self) -> Decimal:
        """The live entry's debits (its amount), 0 when nothing is live."""
        return sum((ln.amount for ln in self.lines if ln.tr_type == 1), Decimal(0))


def derived(text: str, mark: str, record_no: str) -> str:
    """``text`` (a key, a reference or a record key) of the link ``mark`` for ``record_no``.

    Args:
        text: a key, a reference or a record key.
        mark: the link's marker.
        record_no: the RECORDNO the link is made for.

    Returns:
        ``<text><mark><record_no>``, NFC-normalised.
    """
    return f"{nfc(text)}{mark}{record_no}"


def held_in_books(
    ia: IntacctClient, wanted: Mapping[str, tuple[str, str, Found]]
) -> dict[str, Held]:
    """What the books hold for each key: ``wanted`` maps key -> (journal, reference, the entry
    found by that reference). One GLBATCH lookup per link depth for all keys (usually one or
    two), then one GLENTRY read of the live entries per 500.

    Args:
        ia: the Intacct client.
        wanted: key -> (journal, reference, entry).

    Returns:
        What the books hold, per key.
    """
    last = {k: hit.record_no for k, (_, _, hit) in wanted.items()}
    dates = {k: hit.date for k, (_, _, hit) in wanted.items()}
    links: dict[str, list[dict[str, str]]] = {k: [] for k in wanted}
    awaiting: dict[str, str] = {}  # key -> RECORDNO of the reversal whose repost is not in
    anomaly: dict[str, str] = {}
    walking = set(wanted)
    for _ in range(_MAX_LINKS):
        if not walking:
            break
        asks = [
            (wanted[k][0], derived(wanted[k][1], mark, last[k]))
            for k in walking
            for mark in (REVERSAL, REPOST)
        ]
        found = journal_entries(ia, asks)
        for key in sorted(walking):
            journal, reference, _ = wanted[key]
            reversal = found.get((nfc(journal), derived(reference, REVERSAL, last[key])))
            repost = found.get((nfc(journal), derived(reference, REPOST, last[key])))
            if reversal is not None and repost is not None:
                links[key].append(
                    {
                        "reversed": last[key],
                        "reversal": reversal.record_no,
                        "repost": repost.record_no,
                    }
                )
                last[key], dates[key] = repost.record_no, repost.date
                continue
            walking.discard(key)
            if reversal is not None:
                awaiting[key] = reversal.record_no
            elif repost is not None:
                anomaly[key] = (
                    f"the books hold a replacement of RECORDNO {last[key]} (RECORDNO "
                    f"{repost.record_no}) but no reversal of it"
                )
    live = sorted({last[k] for k in wanted if k not in awaiting})
    lines = book_lines(ia, live) if live else {}
    return {
        key: Held(
            first=hit.record_no,
            live=None if key in awaiting else last[key],
            last=last[key],
            date="" if key in awaiting else dates[key],
            lines=() if key in awaiting else tuple(lines.get(last[key], ())),
            links=tuple(links[key]),
            reversal_no=awaiting.get(key),
            anomaly=anomaly.get(key),
        )
        for key, (_, _, hit) in wanted.items()
    }


def text_of(value: Any) -> str:
    """A value read from the books as NFC text, stripped.

    Returns:
        The text; ``""`` for None or NaN.
    """
    return "" if value is None or value != value else nfc(str(value)).strip()


def book_lines(ia: IntacctClient, record_nos: Sequence[str]) -> dict[str, list[BookLine]]:
    """Every line of the given GLBATCHes with its dimensions and currency, by ``BATCHNO`` (the
    parent's RECORDNO on GLENTRY, reference §13.2). Read with every field (``*``): the UDDs a
    line carries (``GLDIM<name>``) differ per company and are not known in advance.

    Args:
        ia: the Intacct client.
        record_nos: GLBATCH RECORDNOs.

    Returns:
        RECORDNO -> its lines, in the order read.
    """
    out: dict[str, list[BookLine]] = {}
    for start in range(0, len(record_nos), CHUNK):
        chunk = list(record_nos[start : start + CHUNK])
        query = filters.query_string("BATCHNO IN {}", chunk)
        # readByQuery pages hold at most 1,000 rows (reference §5).
        frame = ia.read_by_query("GLENTRY", query, fields="*", page_size=1000)
        for row in frames.frame_to_records(frame):
            dims = {
                str(name): text_of(value)
                for name, value in row.items()
                if (str(name).startswith("GLDIM") or name in _DIMENSION_IDS) and text_of(value)
            }
            rate = row.get("EXCHANGE_RATE")
            out.setdefault(text_of(row["BATCHNO"]), []).append(
                BookLine(
                    account_no=text_of(row["ACCOUNTNO"]),
                    tr_type=int(row["TR_TYPE"]),
                    amount=frames.parse_decimal(row["TRX_AMOUNT"]) or Decimal(0),
                    location=text_of(row.get("LOCATION")),
                    department=text_of(row.get("DEPARTMENT")),
                    class_id=text_of(row.get("CLASSID")),
                    dimensions=dims,
                    currency=text_of(row.get("CURRENCY")),
                    base_currency=text_of(row.get("BASECURR")),
                    exchange_rate=None if not text_of(rate) else frames.parse_decimal(rate),
                )
            )
    return out


def unkept_references(ia: IntacctClient, journal: str, sent: Mapping[str, str]) -> dict[str, str]:
    """The references of ``sent`` (reference -> RECORDNO created) that the books do not show
    under that reference: Intacct cut or changed them, and a later lookup would miss them.

    Returns:
        The references not kept, with the RECORDNO each was created as.
    """
    found = journal_entries(ia, [(journal, r) for r in sent])
    return {
        r: n
        for r, n in sent.items()
        if (hit := found.get((nfc(journal), nfc(r)))) is None or hit.record_no != n
    }


def amount_of(lines: Sequence[BookLine]) -> str:
    """Debit total of ``lines`` as the ledger writes amounts.

    Returns:
        The total as :func:`~intacct_sync.posting.identity.amount_text` writes it.
    """
    return amount_text(sum((ln.amount for ln in lines if ln.tr_type == 1), Decimal(0)))

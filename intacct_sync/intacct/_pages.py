"""Offset-paged ``query`` reads with up to the company's allowed requests in flight, in order.

The first page gives the count of what remains, so the later offsets are known and up
to the company's allowed requests (the governor's limit: 2 by default, one API job and one
offline job per company, reference §13.7) are fetched at once; each
request still takes a governor slot, so reads and other clients of the company share
the one limit. At most twice that many pages are held (answered or asked for) besides the one
being yielded: a few MiB. An
error raises at its page after the earlier pages were yielded; an error or a consumer
that stops iterating cancels what was not started and waits for what was: the requests being
sent and the one waiting at the governor for a slot (one thread more than the limit, so that a
slot never waits on a thread parsing an answer). No thread is left sending once the generator
is closed.

Rows changing between pages: each offset call is a new query (reference §2.5), so a
row inserted or deleted before an offset shifts the later pages by one, whether the
pages are fetched one by one or side by side. The total order on the record key
(``XmlReads._stable_query``) bounds that to the rows that changed during the read (a row is
missed or repeated only at a page edge where rows moved); fetching in parallel
shortens the read and so the window. Each page's ``numremaining`` moves the end
(rows added go on being read, a page answered empty or with nothing remaining ends
the read), and a page shorter than the first while more remain re-plans the offsets
from its end, exactly as one-by-one paging would continue.

``readByQuery``/``readMore`` stays one request at a time: ``readMore`` continues one
``resultId`` (§2.5: it "ensures that your paged results are from the same originating
readByQuery call") and names no page, so each call is the next page of one server-side cursor;
two calls side by side would race for pages, not fetch two known ones.

Kept apart from :mod:`._xml_reads` so the paging rule (what is asked for when, what is held,
how a read stops) can be read and tested on its own.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pandas as pd

from intacct_sync.intacct._protocol import Result

__all__ = ["offset_pages"]

log = logging.getLogger("intacct_sync.intacct")

_Pending = collections.deque[tuple[int, "Future[Result]"]]


def offset_pages(
    fetch: Callable[[int], Result],
    frame_of: Callable[[Result], pd.DataFrame],
    *,
    workers: int,
    name: str,
) -> Iterator[pd.DataFrame]:
    """The frames of every page, in offset order, ``workers`` requests in flight at most.

    Args:
        fetch: sends the query at an offset (through the client's governed transport, with its
            retries) and returns the checked result.
        frame_of: the typed frame of a result (runs in the caller's thread, in order).
        workers: requests in flight at most (the governor's limit).
        name: the fetching threads' name prefix.
    """
    # The next requests are asked for before a page is converted, and twice as many are queued
    # as may be in flight (the governor holds the limit): a slot never waits on the consumer
    # typing a page, only on the server.
    first = fetch(0)
    rows = first.record_count
    if not first.num_remaining or not rows:
        yield frame_of(first)
        return
    step = rows
    next_offset = step
    end = step + first.num_remaining
    pending: _Pending = collections.deque()
    # One thread more than the limit: ``fetch`` parses its answer after giving the governor
    # slot back, and with only ``workers`` threads the slot idled for that parse (about 14 ms
    # of every 300 ms answer at 2,000 rows a page, 5% of the read). The spare waits at the
    # governor, which still holds the requests in flight to ``workers``, and sends the moment
    # a slot frees (hand-over about 1 ms; a thread per queued request measured no better and
    # would leave more requests to finish when the read stops early).
    pool = ThreadPoolExecutor(max_workers=workers + 1, thread_name_prefix=name)
    try:

        def fill() -> None:
            nonlocal next_offset
            while len(pending) < 2 * workers and next_offset < end:
                pending.append((next_offset, pool.submit(fetch, next_offset)))
                next_offset += step

        fill()
        yield frame_of(first)
        while pending:
            offset, future = pending.popleft()
            result = future.result()
            rows = result.record_count
            if not result.num_remaining or not rows:
                if rows:
                    yield frame_of(result)
                return
            end = offset + rows + result.num_remaining
            if rows != step:
                # The server cut this page short with rows after it: the offsets already asked
                # for would skip rows, so carry on from this page's end.
                log.debug("%s: page at %d had %d rows, not %d", name, offset, rows, step)
                _cancel(pending)
                next_offset = offset + rows
            fill()
            yield frame_of(result)
    finally:
        _cancel(pending)
        pool.shutdown(wait=True, cancel_futures=True)


def _cancel(pending: _Pending) -> None:
    # Requests not yet started are dropped; those being sent finish (their slot with them).
    while pending:
        pending.popleft()[1].cancel()

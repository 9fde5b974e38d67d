"""Offset-paged ``query`` reads with up to the company's allowed requests in flight, in order.

The first page gives the count of what remains, so the later offsets are known and up
to the company's allowed requests (the governor's limit: 2 by default, one API job and one
offline job per company, reference §13.7) are fetched at once; each
request still takes a governor slot, so reads and other clients of the company share
the one limit. At most that many pages are held besides the one being yielded. An
error raises at its page after the earlier pages were yielded; an error or a consumer
that stops iterating cancels what was not sent and waits for what was (no thread is
left sending once the generator is closed).

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
    first = fetch(0)
    frame = frame_of(first)
    if not first.num_remaining or not len(frame):
        yield frame
        return
    step = len(frame)
    next_offset = step
    end = step + first.num_remaining
    pending: _Pending = collections.deque()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:

        def fill() -> None:
            nonlocal next_offset
            while len(pending) < workers and next_offset < end:
                pending.append((next_offset, pool.submit(fetch, next_offset)))
                next_offset += step

        fill()
        yield frame
        while pending:
            offset, future = pending.popleft()
            result = future.result()
            frame = frame_of(result)
            if not result.num_remaining or not len(frame):
                if len(frame):
                    yield frame
                return
            end = offset + len(frame) + result.num_remaining
            if len(frame) != step:
                # The server cut this page short with rows after it: the offsets already asked
                # for would skip rows, so carry on from this page's end.
                log.debug("%s: page at %d had %d rows, not %d", name, offset, len(frame), step)
                _cancel(pending)
                next_offset = offset + len(frame)
            fill()
            yield frame
    finally:
        _cancel(pending)
        pool.shutdown(wait=True, cancel_futures=True)


def _cancel(pending: _Pending) -> None:
    # Requests not yet started are dropped; those being sent finish (their slot with them).
    while pending:
        pending.popleft()[1].cancel()

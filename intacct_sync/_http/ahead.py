"""Fetch the next page while the caller works on this one: one background step, in order.

For chained paging, where the next request needs something from the last answer (a Salesforce
Bulk 2.0 locator), pages cannot be asked for side by side; what can be overlapped is the wait
for page n+1 with the parsing of page n. :func:`read_ahead` runs the source iterator one step
ahead in a single background thread, so at most two pages are held (the one the caller has and
the one being fetched). Requests still go through the transport the source uses, so each takes
its governor slot as any other.

>>> list(read_ahead(iter([1, 2, 3]), name="demo"))
[1, 2, 3]
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")


def read_ahead(source: Iterator[T], *, name: str) -> Iterator[T]:
    """The items of ``source``, the next one fetched in a background thread meanwhile.

    An exception raised by ``source`` is raised here at its place in the order. When the caller
    stops early (closes this generator, or it is collected), the step in progress is waited for
    (no thread is left sending) and ``source`` is closed.

    Args:
        source: the pages, fetched as it is iterated (typically a generator).
        name: the background thread's name prefix (shown in thread dumps).
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def step() -> list[T]:
        # One item, or none at the end: a list keeps "no more" apart from an item that is None.
        for item in source:
            return [item]
        return []

    try:
        future = pool.submit(step)
        while True:
            got = future.result()
            if not got:
                return
            future = pool.submit(step)
            yield got[0]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        close = getattr(source, "close", None)
        if close is not None:
            close()

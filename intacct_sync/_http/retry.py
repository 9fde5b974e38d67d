"""The one retry loop: exponential backoff with full jitter, honouring ``Retry-After``.

What is retryable is decided by the error (``IntacctSyncError.should_retry``); whether a write
may be repeated is decided by the caller (``idempotent``). A non-idempotent call is repeated only
when the error proves the request never reached the server.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import attrs

from intacct_sync.errors import ControlError, IntacctSyncError, TransportError

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryPolicy", "call_with_retry"]

T = TypeVar("T")
log = logging.getLogger("intacct_sync.retry")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how patiently to repeat a failed call.

    Attributes:
        max_retries: repeats after the first attempt (0 = never repeat).
        initial_delay: seconds before the first repeat; doubles each time.
        max_delay: cap on any single wait, including a server's ``Retry-After``.
        jitter: draw each wait uniformly from ``[0, delay]`` ("full jitter") so that many
            clients throttled together do not come back together.
    """

    max_retries: int = 5
    initial_delay: float = 0.5
    max_delay: float = 30.0
    jitter: bool = True

    def delay(self, attempt: int, retry_after: float | None, rand: Callable[[], float]) -> float:
        """Seconds to wait before repeat number ``attempt`` (1-based).

        Args:
            attempt: the repeat about to be made, from 1.
            retry_after: the server's ``Retry-After`` seconds, if it sent one.
            rand: a source of uniform numbers in [0, 1) for the jitter.

        Returns:
            The seconds to wait (before jitter is applied by the caller).
        """
        backoff = min(self.max_delay, self.initial_delay * (2 ** (attempt - 1)))
        if self.jitter:
            backoff *= rand()
        if retry_after is not None:
            return float(min(self.max_delay, max(backoff, retry_after)))
        return float(backoff)


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(max_retries=0)


def call_with_retry(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    idempotent: bool,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
) -> T:
    """Run ``call`` and repeat it on retryable errors, as ``policy`` allows.

    Args:
        call: the attempt; raises :class:`IntacctSyncError` on failure.
        policy: limits and backoff.
        idempotent: whether repeating ``call`` after it may have reached the server is safe.
        what: short description for the log line of each repeat.
        sleep: injectable for tests.
        rand: injectable for tests.

    Returns:
        What ``call`` returned on its first success.

    Raises:
        IntacctSyncError: the last error, when it is not retryable or attempts ran out.
    """
    attempt = 0
    while True:
        try:
            return call()
        except IntacctSyncError as exc:
            attempt += 1
            if not _may_repeat(exc, idempotent) or attempt > policy.max_retries:
                raise
            wait = policy.delay(attempt, exc.retry_after, rand)
            log.warning(
                "%s failed (%s: %s); retry %d/%d in %.2fs",
                what,
                type(exc).__name__,
                exc,
                attempt,
                policy.max_retries,
                wait,
            )
            sleep(wait)


def _may_repeat(exc: IntacctSyncError, idempotent: bool) -> bool:
    if not exc.should_retry:
        return False
    if idempotent:
        return True
    if isinstance(exc, TransportError):
        return not exc.request_sent
    return _refused_unexecuted(exc)


def _refused_unexecuted(exc: IntacctSyncError) -> bool:
    # An answer proving nothing ran makes even a write safe to repeat: the gateway's control
    # block refuses a request as a whole before any function runs (intacct-api.md §3), and
    # HTTP 429 is a refusal to process the request at all (§13.7, GW-0010).
    return isinstance(exc, ControlError) or getattr(exc, "http_status", None) == 429

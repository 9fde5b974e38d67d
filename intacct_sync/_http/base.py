"""What both system clients share: the transport they own, timeouts, the retry policy, sleep.

Both :class:`~intacct_sync.IntacctClient` and :class:`~intacct_sync.SalesforceClient` take the
same options with the same meaning, are context managers and release what they own on
:meth:`ClientBase.close`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Self

from intacct_sync._http.retry import DEFAULT_RETRY, RetryPolicy
from intacct_sync._http.transport import DEFAULT_TIMEOUT, RequestsTransport, Timeout, Transport

__all__ = ["ClientBase"]


class ClientBase:
    """The options every client takes.

    Args:
        transport: how requests are sent; a ``requests`` session by default (closed by
            :meth:`close`; a transport you pass in stays yours to close).
        timeout: connect and read timeouts of every request.
        retry: the retry policy (throttling, outages, dropped connections).
        sleep: how the client waits between attempts (tests pass a fake).
    """

    def __init__(
        self,
        *,
        transport: Transport | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._transport: Transport = transport if transport is not None else RequestsTransport()
        self._owns_transport = transport is None
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._no_resends = threading.local()

    @property
    def resends_writes(self) -> bool:
        """Whether a write whose answer was lost may be sent again by the retry loop.

        True by default: the write carries a control id (Intacct ``uniqueid=true``) or an
        idempotency key the server remembers for a while. Inside :meth:`never_resend_writes`
        (on this thread) it is False.
        """
        return not getattr(self._no_resends, "active", False)

    @contextlib.contextmanager
    def never_resend_writes(self) -> Iterator[None]:
        """Within the block, a write that may have reached the server is never sent again.

        An unanswered write comes back with status ``unknown`` instead. The posting engine
        uses this so that exactly-once rests on a look in the books, not on how long the
        server remembers a control id (which Sage does not document).

        Yields:
            Nothing; the block runs with writes never resent (the setting is restored on exit).
        """
        previous = getattr(self._no_resends, "active", False)
        self._no_resends.active = True
        try:
            yield
        finally:
            self._no_resends.active = previous

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections of the transport this client created."""
        if self._owns_transport:
            self._transport.close()

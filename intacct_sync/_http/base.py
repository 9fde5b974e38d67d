"""What both system clients share: the transport they own, timeouts, the retry policy, sleep.

Both :class:`~intacct_sync.IntacctClient` and :class:`~intacct_sync.SalesforceClient` take the
same options with the same meaning, are context managers and release what they own on
:meth:`ClientBase.close`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections of the transport this client created."""
        if self._owns_transport:
            self._transport.close()

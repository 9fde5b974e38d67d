"""Public test helpers: a mock transport and the cassette wiring, for your tests and ours.

>>> from intacct_sync.testing import MockTransport
>>> from intacct_sync import HttpResponse
>>> transport = MockTransport(lambda request: HttpResponse(status=200, body=b"<response/>"))
"""

from __future__ import annotations

from collections.abc import Callable

from intacct_sync._transport import HttpRequest, HttpResponse, Timeout

__all__ = ["MockTransport"]


class MockTransport:
    """A transport that answers with ``handler(request)``; keeps every request it saw.

    The handler may raise :class:`~intacct_sync.errors.TransportError` to simulate network
    failures.
    """

    def __init__(self, handler: Callable[[HttpRequest], HttpResponse]) -> None:
        self.handler = handler
        self.requests: list[HttpRequest] = []

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        """Record ``request`` and return the handler's answer."""
        self.requests.append(request)
        return self.handler(request)

    def close(self) -> None:
        """Nothing to release."""

"""Public test helpers: a mock transport and recorded-traffic cassettes, for your tests and ours.

>>> from intacct_sync.testing import MockTransport
>>> from intacct_sync import HttpResponse
>>> transport = MockTransport(lambda request: HttpResponse(status=200, body=b"<response/>"))

Cassettes (:func:`cassette`) record real HTTP traffic with vcrpy, scrubbed by the same
redaction code the logs use, and replay it without a network. vcrpy is a test dependency; it is
imported only when a cassette is used.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from intacct_sync._http.redact import REDACTED, scrub_body, scrub_headers
from intacct_sync._http.transport import HttpRequest, HttpResponse, Timeout

__all__ = ["MockTransport", "cassette", "normalise_body"]


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


# The request-level <controlid> is a fresh uuid per request and never checked by Intacct;
# function control ids (attributes) are deterministic and stay part of the match.
_REQUEST_CONTROL_ID = re.compile(r"(<control>.*?<controlid>)[^<]*(</controlid>)", re.S)


def normalise_body(body: bytes | str | None) -> str:
    """A request body as cassettes compare it: scrubbed, without the per-request control id."""
    return _REQUEST_CONTROL_ID.sub(r"\1*\2", scrub_body(body))


def _rewrite(text: str, hosts: Mapping[str, str]) -> str:
    for real, placeholder in hosts.items():
        text = text.replace(real, placeholder)
    return text


@contextmanager
def cassette(
    path: str | Path,
    *,
    record_mode: str = "none",
    hosts: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """Record or replay HTTP traffic in a YAML cassette, secrets scrubbed.

    Args:
        path: the cassette file.
        record_mode: vcrpy's mode: ``"none"`` replays only (the default: tests never reach a
            server), ``"once"`` records when the file does not exist yet.
        hosts: real base URL -> placeholder base URL, rewritten in recorded URLs and bodies so
            a cassette recorded against a loopback port replays anywhere (e.g.
            ``{"http://127.0.0.1:53211": "http://intacct.sandbox.test"}``).

    Yields:
        The vcrpy cassette (``.play_count``, ``.all_played``...).
    """
    import vcr

    mapping = dict(hosts or {})

    def before_request(request: Any) -> Any:
        request.uri = _rewrite(request.uri, mapping)
        if request.body:
            request.body = _rewrite(normalise_body(request.body), mapping).encode()
        request.headers = {
            k: v for k, v in scrub_headers(dict(request.headers)).items() if v != REDACTED
        }
        return request

    def before_response(response: dict[str, Any]) -> dict[str, Any]:
        body = response.get("body", {}).get("string", b"")
        if body:
            response["body"]["string"] = _rewrite(scrub_body(body), mapping).encode()
        headers = response.get("headers", {})
        response["headers"] = {
            k: v
            for k, v in headers.items()
            if k.lower() not in ("set-cookie", "date", "content-length")
        }
        return response

    def body_matcher(first: Any, second: Any) -> None:
        if normalise_body(first.body) != normalise_body(second.body):
            raise AssertionError("request bodies differ")

    recorder = vcr.VCR(
        record_mode=record_mode,
        before_record_request=before_request,
        before_record_response=before_response,
        match_on=("method", "scheme", "host", "port", "path", "query", "scrubbed_body"),
        decode_compressed_response=True,
    )
    recorder.register_matcher("scrubbed_body", body_matcher)
    # vcrpy logs raw responses at INFO before our scrubbing runs; keep its loggers quiet.
    vcr_logger = logging.getLogger("vcr")
    level = vcr_logger.level
    vcr_logger.setLevel(logging.WARNING)
    try:
        with recorder.use_cassette(str(path)) as recorded:
            yield recorded
    finally:
        vcr_logger.setLevel(level)

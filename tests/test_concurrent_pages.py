"""``query`` pages fetched side by side within the company's governor, yielded in order."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pandas as pd
import pytest

from intacct_sync import FunctionError, HttpRequest, HttpResponse, RetryPolicy, Timeout
from intacct_sync._http.governor import Governor
from intacct_sync._http.transport import RequestsTransport
from intacct_sync.intacct import IntacctClient
from intacct_sync.intacct._pages import offset_pages
from intacct_sync.sandbox import COMPANIES, Sandbox

COMPANY = COMPANIES["nonprofit"]
SELECT = ["RECORDNO", "ACCOUNTNO", "TRX_AMOUNT"]
PAGE = 250
FAST = RetryPolicy(max_retries=6, initial_delay=0.0, max_delay=0.0, jitter=False)


class Rewriting(RequestsTransport):
    """A real transport that can rewrite a request's or an answer's body, and counts queries."""

    def __init__(
        self,
        *,
        request: Callable[[bytes], bytes] | None = None,
        answer: Callable[[bytes, bytes], bytes] | None = None,
    ) -> None:
        super().__init__()
        self.rewrite_request = request
        self.rewrite_answer = answer
        self.offsets: list[int] = []
        self._lock = threading.Lock()

    def send(self, request: HttpRequest, *, timeout: Timeout) -> HttpResponse:
        body = request.body or b""
        found = re.search(rb"<offset>(\d+)</offset>", body)
        if found:
            with self._lock:
                self.offsets.append(int(found.group(1)))
        if self.rewrite_request is not None:
            request = HttpRequest(
                method=request.method,
                url=request.url,
                headers=request.headers,
                body=self.rewrite_request(body),
            )
        response = super().send(request, timeout=timeout)
        if self.rewrite_answer is None:
            return response
        return HttpResponse(
            status=response.status,
            headers=response.headers,
            body=self.rewrite_answer(body, response.body),
            elapsed=response.elapsed,
        )


@pytest.fixture
def gl(sb: Sandbox) -> Sandbox:
    """The sandbox with 5,000 more GLENTRY rows (20 pages of 250 and then some)."""
    sb.intacct.seed_gl_entries(COMPANY, 5_000)
    return sb


def _client(sb: Sandbox, limit: int, **options: Any) -> IntacctClient:
    # A governor of its own per test: the process-wide one is shared with other tests.
    governor = Governor(f"intacct:test-{limit}-{time.monotonic_ns()}", limit)
    return sb.intacct_client(governor=governor, retry=FAST, **options)


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("intacct-GLENTRY")]


def _record_numbers(pages: Iterator[object]) -> list[int]:
    out: list[int] = []
    for page in pages:
        out += [int(n) for n in page["RECORDNO"]]  # type: ignore[index]
    return out


def test_pages_come_in_record_order_and_match_a_one_by_one_read(gl: Sandbox) -> None:
    expected = gl.intacct.count(COMPANY, "GLENTRY")
    with _client(gl, 1) as one, _client(gl, 2) as two:
        alone = one.query("GLENTRY", select=SELECT, page_size=PAGE)
        side_by_side = two.query("GLENTRY", select=SELECT, page_size=PAGE)
    numbers = [int(n) for n in side_by_side["RECORDNO"]]
    assert len(numbers) == expected > 20 * PAGE
    assert numbers == sorted(set(numbers))  # in order, none repeated
    assert numbers == [int(n) for n in alone["RECORDNO"]]
    assert side_by_side["TRX_AMOUNT"].tolist() == alone["TRX_AMOUNT"].tolist()
    assert side_by_side.attrs["kinds"] == alone.attrs["kinds"]


def test_at_most_the_governors_limit_is_in_flight_and_the_limit_is_used(gl: Sandbox) -> None:
    gl.intacct.work_delay = 0.02  # each request holds its gateway slot long enough to overlap
    gl.intacct.max_concurrent = 5  # the gateway would take more: the client must hold back
    for limit in (1, 2, 3):
        company = f"{COMPANY}-{limit}"
        with _client(gl, limit) as ia:
            before = gl.intacct.stats.peak_in_flight.get(COMPANY, 0)
            assert before <= limit
            start = time.perf_counter()
            frame = ia.query("GLENTRY", select=SELECT, page_size=PAGE)
            seconds = time.perf_counter() - start
            governor = ia.governor.stats()
        peak = gl.intacct.stats.peak_in_flight[COMPANY]
        assert governor.peak_in_flight == limit, company
        assert peak == limit, (company, seconds)
        assert len(frame) == gl.intacct.count(COMPANY, "GLENTRY")
        # A fresh sandbox peak per limit: the gateway's counter only ever grows.
        gl.intacct._peak_in_flight.clear()


def test_throttled_pages_are_retried_in_place(gl: Sandbox) -> None:
    gl.intacct.faults.reseed(3)
    gl.intacct.faults.throttle_rate = 0.3
    with _client(gl, 2) as ia:
        numbers = _record_numbers(ia.iter_query("GLENTRY", select=SELECT, page_size=PAGE))
    gl.intacct.faults.clear()
    assert numbers == sorted(set(numbers))
    assert len(numbers) == gl.intacct.count(COMPANY, "GLENTRY")


def test_an_error_on_page_three_raises_after_pages_one_and_two_and_leaves_no_thread(
    gl: Sandbox,
) -> None:
    def refuse_page_three(request: bytes, answer: bytes) -> bytes:
        if f"<offset>{2 * PAGE}</offset>".encode() not in request:
            return answer
        return re.sub(
            rb"<result>.*</result>",
            b"<result><status>failure</status><function>query</function>"
            b"<controlid>query</controlid><errormessage><error><errorno>BL03000018</errorno>"
            b"<description/><description2>Query failed</description2><correction/></error>"
            b"</errormessage></result>",
            answer,
            flags=re.S,
        )

    transport = Rewriting(answer=refuse_page_three)
    gl.intacct.work_delay = 0.01
    with _client(gl, 2, transport=transport) as ia:
        pages = ia.iter_query("GLENTRY", select=SELECT, page_size=PAGE)
        first, second = next(pages), next(pages)
        with pytest.raises(FunctionError, match="failure") as caught:
            next(pages)
        assert "Query failed" in str(caught.value.errors[0])
        assert _reader_threads() == []
        sent = len(transport.offsets)
        time.sleep(0.1)
        assert len(transport.offsets) == sent  # nothing goes on being sent
    assert [int(n) for n in first["RECORDNO"]] + [int(n) for n in second["RECORDNO"]] == sorted(
        int(n) for n in list(first["RECORDNO"]) + list(second["RECORDNO"])
    )
    assert len(first) == len(second) == PAGE
    # Page 3 failed with at most twice the limit (2) asked for ahead of the consumer (pages 3-6);
    # nothing later was asked for.
    assert max(transport.offsets) <= 6 * PAGE


def test_closing_the_generator_early_stops_fetching(gl: Sandbox) -> None:
    transport = Rewriting()
    gl.intacct.work_delay = 0.01
    with _client(gl, 2, transport=transport) as ia:
        pages = ia.iter_query("GLENTRY", select=SELECT, page_size=PAGE)
        assert isinstance(pages, Generator)  # so a consumer can close it
        next(pages)
        next(pages)
        pages.close()
        assert _reader_threads() == []
        sent = len(transport.offsets)
        time.sleep(0.1)
        assert len(transport.offsets) == sent
    # Two pages read, at most twice the limit (2) more asked for ahead of the consumer.
    assert sorted(transport.offsets) == [n * PAGE for n in range(sent)]
    assert sent <= 6


def test_a_page_cut_short_by_the_server_replans_the_offsets_without_losing_rows(
    gl: Sandbox,
) -> None:
    # The server answers the second page with fewer rows than asked (as if it capped the page):
    # the offsets already planned would skip the difference.
    def shorter_second_page(body: bytes) -> bytes:
        if f"<offset>{PAGE}</offset>".encode() in body:
            return body.replace(
                f"<pagesize>{PAGE}</pagesize>".encode(), f"<pagesize>{PAGE - 7}</pagesize>".encode()
            )
        return body

    transport = Rewriting(request=shorter_second_page)
    with _client(gl, 2, transport=transport) as ia:
        numbers = _record_numbers(ia.iter_query("GLENTRY", select=SELECT, page_size=PAGE))
    assert numbers == sorted(set(numbers))
    assert len(numbers) == gl.intacct.count(COMPANY, "GLENTRY")
    assert 2 * PAGE - 7 in transport.offsets  # the read went on from the short page's end


def test_rows_added_during_the_read_are_read_to_the_new_end(gl: Sandbox) -> None:
    with _client(gl, 2) as ia:
        pages = ia.iter_query("GLENTRY", select=SELECT, page_size=PAGE)
        numbers = [int(n) for n in next(pages)["RECORDNO"]]
        gl.intacct.seed_gl_entries(COMPANY, 1_000)  # new RECORDNOs sort after every page
        numbers += _record_numbers(pages)
    assert numbers == sorted(set(numbers))
    assert len(numbers) == gl.intacct.count(COMPANY, "GLENTRY")


def test_a_read_of_one_page_starts_no_thread(gl: Sandbox) -> None:
    transport = Rewriting()
    with _client(gl, 2, transport=transport) as ia:
        frame = ia.query("GLACCOUNT", select=["RECORDNO", "ACCOUNTNO"])
    assert len(frame) == gl.intacct.count(COMPANY, "GLACCOUNT")
    assert transport.offsets == [0]


class _Page:
    """What offset_pages reads of a result: its records, their count and the count after."""

    def __init__(self, offset: int, total: int, size: int) -> None:
        self.records = list(range(offset, min(offset + size, total)))
        self.record_count = len(self.records)
        self.num_remaining = max(total - offset - size, 0)


def test_the_next_request_goes_out_while_an_answer_is_parsed() -> None:
    # The client's fetch sends within a governor slot and parses the answer after giving the
    # slot back: a thread parsing page 2 must not hold up the request for page 3, or the
    # company's slot idles for every parse.
    governor = Governor(f"intacct:test-parse-{time.monotonic_ns()}", 1)
    sent: list[int] = []
    parsing, parsed = threading.Event(), threading.Event()

    def fetch(offset: int) -> Any:
        with governor.slot():
            sent.append(offset)
        if offset == 10:
            parsing.set()
            assert parsed.wait(10)
        return _Page(offset, 40, 10)

    pages = offset_pages(fetch, lambda r: pd.DataFrame({"n": r.records}), workers=1, name="t")
    assert next(pages)["n"].tolist() == list(range(10))
    assert parsing.wait(10)
    for _ in range(1000):  # a bound on the wait, not a timing: page 3 goes out or never does
        if 20 in sent:
            break
        time.sleep(0.01)
    sent_while_parsing = list(sent)
    parsed.set()
    rest = [n for page in pages for n in page["n"]]
    assert 20 in sent_while_parsing
    assert rest == list(range(10, 40))
    assert sorted(sent) == [0, 10, 20, 30]
    assert governor.stats().peak_in_flight == 1

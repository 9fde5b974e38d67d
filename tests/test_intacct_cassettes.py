"""The Intacct client paths replayed from vcrpy cassettes, with no server at all.

The cassettes in tests/cassettes/ were recorded against the sandbox gateway (pinned seed date)
through :func:`intacct_sync.testing.cassette`, which scrubs them with the same redaction code as
the logs. A missing cassette is recorded on the next run; CI only replays. Delete a cassette to
re-record it after a deliberate change of the wire format.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from intacct_sync import RetryPolicy
from intacct_sync.intacct import IntacctClient, filters
from intacct_sync.intacct.models import JournalEntry, JournalLine
from intacct_sync.sandbox import COMPANIES
from intacct_sync.sandbox._http import LoopbackServer
from intacct_sync.sandbox.intacct import gateway as gw
from intacct_sync.testing import cassette

CASSETTES = Path(__file__).parent / "cassettes"
PLACEHOLDER = "http://intacct.sandbox.test"
SEED_DAY = dt.date(2026, 11, 1)


@contextmanager
def _client(name: str) -> Iterator[IntacctClient]:
    path = CASSETTES / f"{name}.yaml"
    options = {
        "sender_id": gw.SENDER_ID,
        "sender_password": gw.SENDER_PASSWORD,
        "company_id": COMPANIES["nonprofit"],
        "user_id": gw.USER_ID,
        "user_password": gw.USER_PASSWORD,
        "retry": RetryPolicy(max_retries=0),
    }
    if path.exists():
        with cassette(path, record_mode="none") as recorded:
            with IntacctClient(endpoint_url=PLACEHOLDER + gw.ENDPOINT_PATH, **options) as ia:  # type: ignore[arg-type]
                yield ia
            assert recorded.all_played
        return
    gateway = gw.IntacctGateway(seed_anchor=SEED_DAY)
    server = LoopbackServer(gateway).start()
    try:
        with (
            cassette(path, record_mode="once", hosts={server.url: PLACEHOLDER}),
            IntacctClient(endpoint_url=server.url + gw.ENDPOINT_PATH, **options) as ia,  # type: ignore[arg-type]
        ):
            yield ia
    finally:
        server.stop()


def _paged_read(ia: IntacctClient) -> None:
    pages = list(
        ia.iter_read_by_query("GLACCOUNT", filters.query_string("STATUS = {}", "T"), page_size=15)
    )
    assert len(pages) == 3
    frame = pd.concat(pages, ignore_index=True)
    assert frame["ACCOUNTNO"].is_unique
    assert "4000" in set(frame["ACCOUNTNO"])
    assert str(frame["WHENCREATED"].dtype) == "datetime64[us]"


def _filtered_query(ia: IntacctClient) -> None:
    frame = ia.query(
        "GLENTRY",
        select=["RECORDNO", "ACCOUNTNO", "TRX_AMOUNT", "ENTRY_DATE"],
        filter=filters.equal_to("ACCOUNTNO", "4000")
        & filters.greater_than("TRX_AMOUNT", Decimal(5000)),
        page_size=20,
    )
    assert len(frame) > 20
    assert all(v > 5000 for v in frame["TRX_AMOUNT"])


def _post_twice(ia: IntacctClient) -> None:
    entry = JournalEntry(
        key="cassette-1",
        journal="GJ",
        batch_date=dt.date(2026, 11, 1),
        title="Recorded donation",
        reference_no="cassette-1",
        lines=[
            JournalLine(account_no="1000", amount=Decimal("75.00"), tr_type=1),
            JournalLine(account_no="4000", amount=Decimal("75.00"), tr_type=-1),
        ],
    )
    assert list(ia.create("GLBATCH", [entry])["status"]) == ["created"]
    assert list(ia.create("GLBATCH", [entry])["status"]) == ["already_done"]


SCENARIOS: dict[str, Callable[[IntacctClient], None]] = {
    "intacct_paged_read": _paged_read,
    "intacct_filtered_query": _filtered_query,
    "intacct_post_twice": _post_twice,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_client_path_replays_from_cassette(name: str) -> None:
    with _client(name) as ia:
        SCENARIOS[name](ia)


SECRETS = [gw.SENDER_PASSWORD, gw.USER_PASSWORD, "sandbox-client-secret"]


def test_no_secret_is_in_any_cassette() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files, "cassettes are missing"
    for path in files:
        text = path.read_text()
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in {path.name}"
        for element in ("password", "sessionid"):
            values = re.findall(rf"<{element}>([^<]*)</{element}>", text)
            assert all(v == "REDACTED" for v in values), (path.name, element)
        assert not re.search(r"(?i)authorization", text), path.name
        assert not re.search(r'"access_token"\s*:\s*"(?!REDACTED)', text), path.name

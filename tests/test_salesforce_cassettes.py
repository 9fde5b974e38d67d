"""The Salesforce client paths replayed from vcrpy cassettes, with no server at all.

Recorded against the Salesforce sandbox through :func:`intacct_sync.testing.cassette` (tokens
and client secrets scrubbed). A missing cassette is recorded on the next run; CI only replays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from intacct_sync.salesforce import SalesforceClient, soql
from intacct_sync.sandbox._http import LoopbackServer
from intacct_sync.sandbox.salesforce import api as sfa
from intacct_sync.testing import cassette

CASSETTES = Path(__file__).parent / "cassettes"
PLACEHOLDER = "http://salesforce.sandbox.test"


@contextmanager
def _client(name: str) -> Iterator[SalesforceClient]:
    path = CASSETTES / f"{name}.yaml"
    options = {"client_id": sfa.CLIENT_ID, "client_secret": sfa.CLIENT_SECRET, "batch_size": 200}
    if path.exists():
        with cassette(path, record_mode="none") as recorded:
            with SalesforceClient.client_credentials(instance_url=PLACEHOLDER, **options) as sf:  # type: ignore[arg-type]
                yield sf
            assert recorded.all_played
        return
    api = sfa.SalesforceApi()
    server = LoopbackServer(api).start()
    api.base_url = server.url
    try:
        with (
            cassette(path, record_mode="once", hosts={server.url: PLACEHOLDER}),
            SalesforceClient.client_credentials(instance_url=server.url, **options) as sf,  # type: ignore[arg-type]
        ):
            yield sf
    finally:
        server.stop()


def _paged_query_with_children(sf: SalesforceClient) -> None:
    gifts = sf.query(
        soql(
            "SELECT Id, Amount__c, Gift_Date__c, Donor__r.Name FROM Gift__c WHERE Amount__c > {}",
            Decimal(50),
        )
    )
    assert len(gifts) > 200  # more than one page of 200
    assert gifts["Id"].is_unique
    assert all(isinstance(v, Decimal) for v in gifts["Amount__c"])
    won = sf.query(
        "SELECT Id, Name, (SELECT Quantity, TotalPrice FROM OpportunityLineItems) "
        "FROM Opportunity WHERE StageName = 'Closed Won'"
    )
    lines = won.attrs["children"]["OpportunityLineItems"]
    assert set(lines["parent_id"]) <= set(won["Id"])


def _upsert_then_update(sf: SalesforceClient) -> None:
    records = pd.DataFrame(
        {"Intacct_Customer_ID__c": ["CAS-1", "CAS-2"], "Name": ["Cassette One", "Cassette Two"]}
    )
    first = sf.upsert("Account", records, external_id_field="Intacct_Customer_ID__c")
    assert list(first["status"]) == ["created", "created"]
    again = sf.upsert("Account", records, external_id_field="Intacct_Customer_ID__c")
    assert list(again["status"]) == ["updated", "updated"]


SCENARIOS: dict[str, Callable[[SalesforceClient], None]] = {
    "salesforce_paged_query": _paged_query_with_children,
    "salesforce_upsert": _upsert_then_update,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_client_path_replays_from_cassette(name: str) -> None:
    with _client(name) as sf:
        SCENARIOS[name](sf)

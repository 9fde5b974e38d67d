"""Public return types, pinned for type checkers: mypy (``make test``) checks this module.

``typing.assert_type`` does nothing at run time; mypy fails when a public call's declared
return type drifts (say to ``Any`` or a union), which users' own type checking relies on. The
function is never called, so nothing here needs a sandbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, assert_type

import pandas as pd

from intacct_sync import IntacctClient, SalesforceClient, sandbox
from intacct_sync.config import IntacctCredentials

if TYPE_CHECKING:

    def _pinned(ia: IntacctClient, sf: SalesforceClient, records: list[dict[str, str]]) -> None:
        assert_type(IntacctClient.from_env(), IntacctClient)
        assert_type(IntacctClient.from_env(profile="default", retry=ia.retry), IntacctClient)
        assert_type(IntacctCredentials.resolve(), IntacctCredentials)
        assert_type(SalesforceClient.from_env(), SalesforceClient)
        with IntacctClient.from_env() as entered:
            assert_type(entered, IntacctClient)
        with SalesforceClient.from_env() as entered_sf:
            assert_type(entered_sf, SalesforceClient)

        assert_type(ia.query("GLENTRY", select=["RECORDNO"]), pd.DataFrame)
        assert_type(ia.iter_query("GLENTRY", select=["RECORDNO"]), Iterator[pd.DataFrame])
        assert_type(ia.read_by_query("GLACCOUNT"), pd.DataFrame)
        assert_type(ia.iter_read_by_query("GLACCOUNT"), Iterator[pd.DataFrame])
        assert_type(ia.read("GLBATCH", [1]), pd.DataFrame)
        assert_type(ia.read_by_name("GLACCOUNT", ["1000"]), pd.DataFrame)
        assert_type(ia.children(ia.read("GLBATCH", [1]), "ENTRIES"), pd.DataFrame)

        assert_type(ia.create("CLASS", records), pd.DataFrame)
        assert_type(ia.update("CLASS", records), pd.DataFrame)
        assert_type(ia.delete("CLASS", [6]), pd.DataFrame)
        assert_type(ia.create_sales_orders([]), pd.DataFrame)

        assert_type(sf.query("SELECT Id FROM Account"), pd.DataFrame)
        assert_type(sf.create("Account", records), pd.DataFrame)
        assert_type(sf.update("Account", records), pd.DataFrame)
        assert_type(sf.upsert("Account", records, external_id_field="X__c"), pd.DataFrame)
        assert_type(sf.delete("Account", ["001000000000000001"]), pd.DataFrame)

        with sandbox.running() as sb:
            assert_type(sb.intacct_client(), IntacctClient)
            assert_type(sb.salesforce_client(), SalesforceClient)

"""The Salesforce adapter: REST, Composite and Bulk API 2.0 as typed DataFrames.

>>> from intacct_sync.salesforce import SalesforceClient, soql
>>> sf = SalesforceClient.from_env()  # doctest: +SKIP
>>> sf.query(soql("SELECT Id, Name FROM Account WHERE Name = {}", "O'Brien"))  # doctest: +SKIP

See ``docs/salesforce.md`` for the guide.
"""

from __future__ import annotations

from intacct_sync.salesforce._protocol import SubrequestOutcome, children
from intacct_sync.salesforce.auth import (
    ClientCredentialsFlow,
    JwtBearerFlow,
    RefreshTokenFlow,
    TokenFlow,
)
from intacct_sync.salesforce.client import (
    BULK_THRESHOLD,
    DEFAULT_API_VERSION,
    ChildFrames,
    CompositeResult,
    IngestResult,
    SalesforceClient,
)
from intacct_sync.salesforce.models import ApiUsage, BulkJob, FieldInfo, SObjectDescribe, Token
from intacct_sync.salesforce.soql import identifier, like, literal, soql

__all__ = [
    "BULK_THRESHOLD",
    "DEFAULT_API_VERSION",
    "ApiUsage",
    "BulkJob",
    "ChildFrames",
    "ClientCredentialsFlow",
    "CompositeResult",
    "FieldInfo",
    "IngestResult",
    "JwtBearerFlow",
    "RefreshTokenFlow",
    "SObjectDescribe",
    "SalesforceClient",
    "SubrequestOutcome",
    "Token",
    "TokenFlow",
    "children",
    "identifier",
    "like",
    "literal",
    "soql",
]

"""The Sage Intacct REST API (``/ia/api/v1``) with OAuth 2.0: names -> protocol -> client.

:class:`IntacctRestClient` has the same read and write calls as the XML
:class:`~intacct_sync.IntacctClient` and returns the same frames; see ``docs/xml-or-rest.md``.
"""

from intacct_sync.intacct.rest._oauth import (
    AuthorizationCode,
    ClientCredentials,
    FileTokenCache,
    OAuthApp,
    compose_username,
)
from intacct_sync.intacct.rest.client import IntacctRestClient

__all__ = [
    "AuthorizationCode",
    "ClientCredentials",
    "FileTokenCache",
    "IntacctRestClient",
    "OAuthApp",
    "compose_username",
]

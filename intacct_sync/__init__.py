"""intacct_sync: connect a CRM (Salesforce) with Sage Intacct, correctly and visibly.

>>> from intacct_sync import IntacctClient
>>> ia = IntacctClient.from_env()  # doctest: +SKIP
>>> ia.read_by_query("GLACCOUNT")  # doctest: +SKIP
"""

from __future__ import annotations

import logging

from intacct_sync import arrow as _arrow  # noqa: F401 - registers the frame.isync accessor
from intacct_sync.__about__ import __version__
from intacct_sync._http.retry import RetryPolicy
from intacct_sync._http.transport import HttpRequest, HttpResponse, Timeout, Transport
from intacct_sync.config import IntacctCredentials, SalesforceCredentials
from intacct_sync.errors import (
    ApiError,
    AuthenticationError,
    ConfigError,
    ControlError,
    FunctionError,
    IncompleteWriteError,
    InputError,
    IntacctError,
    IntacctSyncError,
    ProtocolError,
    SalesforceAuthenticationError,
    SalesforceError,
    StateError,
    TransportError,
    ValidationError,
)
from intacct_sync.intacct.client import IntacctClient
from intacct_sync.salesforce.client import SalesforceClient

logging.getLogger("intacct_sync").addHandler(logging.NullHandler())

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigError",
    "ControlError",
    "FunctionError",
    "HttpRequest",
    "HttpResponse",
    "IncompleteWriteError",
    "InputError",
    "IntacctClient",
    "IntacctCredentials",
    "IntacctError",
    "IntacctSyncError",
    "ProtocolError",
    "RetryPolicy",
    "SalesforceAuthenticationError",
    "SalesforceClient",
    "SalesforceCredentials",
    "SalesforceError",
    "StateError",
    "Timeout",
    "Transport",
    "TransportError",
    "ValidationError",
    "__version__",
]

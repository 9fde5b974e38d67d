"""The embedded sandbox: both APIs served on loopback, seeded with demo companies.

>>> from intacct_sync import sandbox
>>> with sandbox.running() as sb:  # doctest: +SKIP
...     ia, sf = sb.intacct_client(), sb.salesforce_client()
...     accounts = ia.read_by_query("GLACCOUNT")

The Intacct emulator speaks the XML gateway's envelopes; the Salesforce emulator speaks the REST
API's JSON. Both keep their data in SQLite (in memory unless a path is given) and have switchable
:class:`Faults` for tests. Sandbox credentials are fixed, public and useless anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from intacct_sync.sandbox._http import Faults, LoopbackServer
from intacct_sync.sandbox.intacct.seed import ITSERVICES, NONPROFIT

if TYPE_CHECKING:
    from intacct_sync.intacct.client import IntacctClient
    from intacct_sync.salesforce.client import SalesforceClient
    from intacct_sync.sandbox.intacct.gateway import IntacctGateway
    from intacct_sync.sandbox.salesforce.api import SalesforceApi

__all__ = ["COMPANIES", "Faults", "Sandbox", "running"]

#: company id of each seeded Intacct company
COMPANIES = {"nonprofit": NONPROFIT, "itservices": ITSERVICES}
Company = Literal["nonprofit", "itservices"]


class Sandbox:
    """Both emulators, started. Use :func:`running` rather than building one by hand.

    Attributes:
        intacct: the Intacct gateway emulator (its ``faults``, its SQLite store).
        salesforce: the Salesforce REST emulator.
    """

    def __init__(
        self,
        *,
        intacct_db: str | None = None,
        salesforce_db: str | None = None,
    ) -> None:
        from intacct_sync.sandbox.intacct.gateway import IntacctGateway
        from intacct_sync.sandbox.salesforce.api import SalesforceApi

        self.intacct: IntacctGateway = IntacctGateway(db_path=intacct_db)
        self.salesforce: SalesforceApi = SalesforceApi(db_path=salesforce_db)
        self._servers = [LoopbackServer(self.intacct), LoopbackServer(self.salesforce)]

    def start(self) -> Sandbox:
        """Start both servers."""
        for server in self._servers:
            server.start()
        self.salesforce.base_url = self._servers[1].url
        return self

    def stop(self) -> None:
        """Stop both servers."""
        for server in self._servers:
            server.stop()

    @property
    def intacct_url(self) -> str:
        """The gateway endpoint (``…/ia/xml/xmlgw.phtml``)."""
        from intacct_sync.sandbox.intacct.gateway import ENDPOINT_PATH

        return self._servers[0].url + ENDPOINT_PATH

    @property
    def salesforce_url(self) -> str:
        """The Salesforce instance URL."""
        return self._servers[1].url

    def intacct_env(self, company: Company = "nonprofit") -> dict[str, str]:
        """``INTACCT_*`` variables that point ``IntacctClient.from_env()`` at the sandbox."""
        from intacct_sync.sandbox.intacct import gateway as gw

        return {
            "INTACCT_SENDER_ID": gw.SENDER_ID,
            "INTACCT_SENDER_PASSWORD": gw.SENDER_PASSWORD,
            "INTACCT_COMPANY_ID": COMPANIES[company],
            "INTACCT_USER_ID": gw.USER_ID,
            "INTACCT_USER_PASSWORD": gw.USER_PASSWORD,
            "INTACCT_ENDPOINT_URL": self.intacct_url,
        }

    def salesforce_env(self) -> dict[str, str]:
        """``SF_*`` variables for the client-credentials flow against the sandbox."""
        from intacct_sync.sandbox.salesforce import api as sfa

        return {
            "SF_INSTANCE_URL": self.salesforce_url,
            "SF_CLIENT_ID": sfa.CLIENT_ID,
            "SF_CLIENT_SECRET": sfa.CLIENT_SECRET,
        }

    def intacct_client(self, company: Company = "nonprofit", **options: Any) -> IntacctClient:
        """An :class:`~intacct_sync.IntacctClient` signed in to a seeded company."""
        from intacct_sync.intacct.client import IntacctClient
        from intacct_sync.sandbox.intacct import gateway as gw

        return IntacctClient(
            sender_id=gw.SENDER_ID,
            sender_password=gw.SENDER_PASSWORD,
            company_id=COMPANIES[company],
            user_id=gw.USER_ID,
            user_password=gw.USER_PASSWORD,
            endpoint_url=self.intacct_url,
            **options,
        )

    def salesforce_client(self, **options: Any) -> SalesforceClient:
        """A :class:`~intacct_sync.SalesforceClient` using the client-credentials flow."""
        from intacct_sync.salesforce.client import SalesforceClient
        from intacct_sync.sandbox.salesforce import api as sfa

        return SalesforceClient.client_credentials(
            instance_url=self.salesforce_url,
            client_id=sfa.CLIENT_ID,
            client_secret=sfa.CLIENT_SECRET,
            **options,
        )

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running(
    *, intacct_db: str | None = None, salesforce_db: str | None = None
) -> Iterator[Sandbox]:
    """Start both emulators on loopback, seeded; stop them on exit.

    Args:
        intacct_db: SQLite file for the Intacct emulator (default: in memory).
        salesforce_db: SQLite file for the Salesforce emulator (default: in memory).
    """
    sandbox = Sandbox(intacct_db=intacct_db, salesforce_db=salesforce_db)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()

"""The embedded sandbox: both APIs served on loopback, seeded with demo companies.

>>> from intacct_sync import sandbox
>>> with sandbox.running() as sb:  # doctest: +SKIP
...     ia, sf = sb.intacct_client(), sb.salesforce_client()
...     accounts = ia.read_by_query("GLACCOUNT")

The Intacct emulator speaks the XML gateway's envelopes and, over the same store, the REST API
(``sb.intacct_client(protocol="rest")``); the Salesforce emulator speaks the REST API's JSON. Both keep their data in SQLite (in memory unless a path is given) and have switchable
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
    from intacct_sync.sandbox.intacct.rest import IntacctRestApi
    from intacct_sync.sandbox.salesforce.api import SalesforceApi

__all__ = ["COMPANIES", "Faults", "Sandbox", "running"]

#: company id of each seeded Intacct company
COMPANIES = {"nonprofit": NONPROFIT, "itservices": ITSERVICES}
Company = Literal["nonprofit", "itservices"]
Protocol = Literal["xml", "rest"]


class Sandbox:
    """Both emulators, started. Use :func:`running` rather than building one by hand.

    Attributes:
        intacct: the Intacct gateway emulator (its ``faults``, its SQLite store).
        intacct_rest: the Intacct REST API emulator over the same store (its own ``faults``).
        salesforce: the Salesforce REST emulator.
    """

    def __init__(
        self,
        *,
        intacct_db: str | None = None,
        salesforce_db: str | None = None,
    ) -> None:
        from intacct_sync.sandbox.intacct.gateway import IntacctGateway
        from intacct_sync.sandbox.intacct.rest import IntacctRestApi
        from intacct_sync.sandbox.salesforce.api import SalesforceApi

        self.intacct: IntacctGateway = IntacctGateway(db_path=intacct_db)
        self.salesforce: SalesforceApi = SalesforceApi(db_path=salesforce_db)
        self.intacct_rest: IntacctRestApi = IntacctRestApi(self.intacct)
        self._servers = [
            LoopbackServer(self.intacct),
            LoopbackServer(self.salesforce),
            LoopbackServer(self.intacct_rest),
        ]
        self._state = "not started"

    def start(self) -> Sandbox:
        """Start the servers (the Intacct gateway and REST API, Salesforce).

        Returns:
            The sandbox itself, so ``sb = Sandbox().start()`` reads in one line.
        """
        for server in self._servers:
            server.start()
        self.salesforce.base_url = self._servers[1].url
        self._state = "running"
        return self

    def stop(self) -> None:
        """Stop the servers."""
        for server in self._servers:
            server.stop()
        self._state = "stopped"

    def __repr__(self) -> str:
        # What a notebook user needs to see: is it up, where, and which demo companies it holds.
        # The credentials are fixed public constants, but they stay out of the repr all the same.
        companies = ", ".join(f"{k}={v}" for k, v in COMPANIES.items())
        if self._state != "running":
            return f"<Sandbox {self._state}; companies {companies}>"
        return (
            f"<Sandbox running: Intacct {self.intacct_url}, Salesforce {self.salesforce_url}; "
            f"companies {companies}>"
        )

    def state_store(self, company: Company = "nonprofit", path: str = ":memory:") -> Any:
        """A state store for work against a sandbox company: in memory unless ``path`` is given.

        The sandbox is reseeded on every start, so a lasting state file can only drift from
        it; and it must never share a production store (see
        :mod:`intacct_sync.state.tenancy`). The store is claimed for the sandbox company, so
        a production run refuses it.

        Args:
            company: ``"nonprofit"`` or ``"itservices"`` (:data:`COMPANIES`).
            path: an SQLite file, or ``":memory:"``.

        Returns:
            A :class:`~intacct_sync.state.SQLiteStateStore` bound to the sandbox company.

        Raises:
            StateError: the file at ``path`` belongs to another tenant.
        """
        from intacct_sync.state import SQLiteStateStore
        from intacct_sync.state.tenancy import claim_tenant, tenant_key

        store = SQLiteStateStore(path)
        claim_tenant(store, tenant_key(COMPANIES[company], sandbox=True))
        return store

    @property
    def intacct_url(self) -> str:
        """The gateway endpoint (``…/ia/xml/xmlgw.phtml``)."""
        from intacct_sync.sandbox.intacct.gateway import ENDPOINT_PATH

        return self._servers[0].url + ENDPOINT_PATH

    @property
    def intacct_rest_url(self) -> str:
        """The REST API base (``…/ia/api/v1``), served over the gateway's store."""
        from intacct_sync.sandbox.intacct.rest import API_PATH

        return self._servers[2].url + API_PATH

    @property
    def salesforce_url(self) -> str:
        """The Salesforce instance URL."""
        return self._servers[1].url

    def intacct_env(
        self, company: Company = "nonprofit", *, protocol: Protocol = "xml"
    ) -> dict[str, str]:
        """``INTACCT_*`` variables that point ``IntacctClient.from_env()`` at the sandbox
        (``protocol="rest"``: the REST API with the client-credentials grant).

        .. code-block:: python

            os.environ.update(sb.intacct_env("itservices"))  # then: intacct-sync ... --sandbox

        Args:
            company: ``"nonprofit"`` or ``"itservices"`` (:data:`COMPANIES`).
            protocol: ``"xml"`` (the gateway) or ``"rest"``.

        Returns:
            Variable name -> value, the sandbox's public credentials and its URL included.
        """
        from intacct_sync.sandbox.intacct import gateway as gw
        from intacct_sync.sandbox.intacct import rest_oauth

        if protocol == "rest":
            return {
                "INTACCT_PROTOCOL": "rest",
                "INTACCT_CLIENT_ID": rest_oauth.CLIENT_ID,
                "INTACCT_CLIENT_SECRET": rest_oauth.CLIENT_SECRET,
                "INTACCT_COMPANY_ID": COMPANIES[company],
                "INTACCT_USER_ID": gw.USER_ID,
                "INTACCT_REST_URL": self.intacct_rest_url,
            }
        return {
            "INTACCT_SENDER_ID": gw.SENDER_ID,
            "INTACCT_SENDER_PASSWORD": gw.SENDER_PASSWORD,
            "INTACCT_COMPANY_ID": COMPANIES[company],
            "INTACCT_USER_ID": gw.USER_ID,
            "INTACCT_USER_PASSWORD": gw.USER_PASSWORD,
            "INTACCT_ENDPOINT_URL": self.intacct_url,
        }

    def salesforce_env(self) -> dict[str, str]:
        """``SF_*`` variables for the client-credentials flow against the sandbox.

        Returns:
            ``SF_INSTANCE_URL``, ``SF_CLIENT_ID`` and ``SF_CLIENT_SECRET`` -> value.
        """
        from intacct_sync.sandbox.salesforce import api as sfa

        return {
            "SF_INSTANCE_URL": self.salesforce_url,
            "SF_CLIENT_ID": sfa.CLIENT_ID,
            "SF_CLIENT_SECRET": sfa.CLIENT_SECRET,
        }

    def intacct_client(
        self, company: Company = "nonprofit", *, protocol: Protocol = "xml", **options: Any
    ) -> IntacctClient:
        """An :class:`~intacct_sync.IntacctClient` signed in to a seeded company, over the XML
        gateway or (``protocol="rest"``) the REST API with the client-credentials grant.

        .. code-block:: python

            sb = sandbox.Sandbox().start()
            ia = sb.intacct_client("itservices", protocol="rest")
            ia.query("GLACCOUNT", select=["ACCOUNTNO", "TITLE"])

        Args:
            company: ``"nonprofit"`` or ``"itservices"`` (:data:`COMPANIES`).
            protocol: ``"xml"`` (the gateway) or ``"rest"``.
            **options: further :class:`~intacct_sync.IntacctClient` arguments
                (``page_size=``, ``retry=``...).

        Returns:
            A client for the sandbox company; its first requests sign in.

        Raises:
            ConfigError: an option the client refuses.
            InputError: ``batch_size`` or ``page_size`` out of range.
        """
        from intacct_sync.intacct.client import IntacctClient
        from intacct_sync.sandbox.intacct import gateway as gw
        from intacct_sync.sandbox.intacct import rest_oauth

        if protocol == "rest":
            return IntacctClient(
                protocol="rest",
                client_id=rest_oauth.CLIENT_ID,
                client_secret=rest_oauth.CLIENT_SECRET,
                company_id=COMPANIES[company],
                user_id=gw.USER_ID,
                rest_url=self.intacct_rest_url,
                **options,
            )
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
        """A :class:`~intacct_sync.SalesforceClient` using the client-credentials flow.

        Args:
            **options: further :meth:`~intacct_sync.SalesforceClient.client_credentials`
                arguments (``api_version=``, ``retry=``...).

        Returns:
            A client for the sandbox org; it fetches its token on the first request.
        """
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

    .. code-block:: python

        with sandbox.running() as sb:
            ia, sf = sb.intacct_client(), sb.salesforce_client()
            accounts = ia.read_by_query("GLACCOUNT")

    Args:
        intacct_db: SQLite file for the Intacct emulator (default: in memory).
        salesforce_db: SQLite file for the Salesforce emulator (default: in memory).

    Yields:
        The running sandbox; both servers stop when the block ends.
    """
    sandbox = Sandbox(intacct_db=intacct_db, salesforce_db=salesforce_db)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()

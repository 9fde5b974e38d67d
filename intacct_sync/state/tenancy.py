"""Whose state a store holds: one rule for the store's ``tenant`` and the client's company.

A state store remembers what was posted to one set of books. Used against another company (a
sandbox run's file reused for production, two companies sharing a file) it would skip real
postings as "already posted" or flag real customers deleted. One rule covers both notions of
tenant, the store's ``tenant=`` (every row carries it) and the Intacct client's company:

* a store's rows belong to its ``tenant``;
* a store opened **without** a tenant (``default``) takes the Intacct client's tenant key
  (:func:`tenant_of`: ``intacct:COMPANY[/ENTITY]``, ``sandbox:COMPANY`` for the embedded
  sandbox) at the first workflow call, and refuses another tenant's client afterwards;
* a store opened **with** a tenant (``tenant="ACME"``, ``"ACME/EAST"`` or a whole key such as
  ``"intacct:ACME"``) refuses a client of another company or entity, and is then held to the
  first client's key like any other store, so the sandbox's ``ACME`` and production's never
  share it.

:func:`bind_tenant` applies the rule; every workflow entry point (the CLI, ``ActionSync.run``,
the journal import, the KPI post, the order-to-cash steps, the Dagster adapters) calls it
before it reads or writes the store. The owner is recorded in the store's own partition
(``meta``/``tenant`` through the store protocol's ``get_value``/``set_value``: no schema
change). :func:`default_state_file` gives each tenant its own file,
``~/.intacct_sync/<company>[-<entity>]/state.sqlite3``.

>>> from intacct_sync.state import SQLiteStateStore
>>> state = SQLiteStateStore(":memory:")
>>> claim_tenant(state, tenant_key("ACME"))
'intacct:ACME'
>>> claim_tenant(state, tenant_key("ACME", sandbox=True))  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
intacct_sync.errors.StateError: this state store belongs to intacct:ACME, not sandbox:ACME: ...
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from intacct_sync.errors import StateError
from intacct_sync.state.store import StateStore

__all__ = [
    "DEFAULT_TENANT",
    "META_NAMESPACE",
    "STATE_DIR",
    "bind_tenant",
    "claim_tenant",
    "default_state_file",
    "tenant_key",
    "tenant_of",
]

#: The ``tenant`` of a store opened without one (both stores' default).
DEFAULT_TENANT = "default"
#: The store values namespace holding facts about the store itself.
META_NAMESPACE = "meta"
#: Where the per-tenant default state files live.
STATE_DIR = Path("~/.intacct_sync")
_UNSAFE_IN_PATH = re.compile(r"[^A-Za-z0-9._-]+")
_LOOPBACK = ("://127.0.0.1", "://localhost", "://[::1]")


def tenant_key(
    company_id: str, entity_id: str | None = None, *, sandbox: bool = False, org_id: str = ""
) -> str:
    """The tenant a store belongs to: ``intacct:COMPANY[/ENTITY][ salesforce:ORG]``.

    A sandbox company is ``sandbox:COMPANY``: the same company id on a real tenant is another
    set of books.

    Args:
        company_id: the Intacct company id.
        entity_id: the entity of a multi-entity company, or None for the top level.
        sandbox: the company is the embedded sandbox's.
        org_id: the Salesforce org id, when the tenant is a pair of systems.

    Returns:
        The key, e.g. ``"intacct:ACME/EAST"``.

    >>> tenant_key("ACME", "EAST")
    'intacct:ACME/EAST'
    """
    key = f"{'sandbox' if sandbox else 'intacct'}:{company_id}"
    if entity_id:
        key += f"/{entity_id}"
    if org_id:
        key += f" salesforce:{org_id}"
    return key


def tenant_of(ia: Any, sf: Any = None) -> str:
    """:func:`tenant_key` of an Intacct client (and a Salesforce client whose org id is known).

    A client pointed at loopback (the XML endpoint or the REST base URL) is the embedded
    sandbox.

    Args:
        ia: an :class:`~intacct_sync.IntacctClient` (either protocol).
        sf: a Salesforce client, to add its org id to the key; None for the Intacct key alone.

    Returns:
        The client's tenant key, e.g. ``"intacct:ACME"`` or ``"sandbox:ACME"``.
    """
    endpoint = _endpoint(ia)
    org = str(getattr(sf, "org_id", "") or "") if sf is not None else ""
    return tenant_key(
        str(ia.company_id),
        getattr(ia, "entity_id", None),
        sandbox=any(marker in endpoint for marker in _LOOPBACK),
        org_id=org,
    )


def _endpoint(ia: Any) -> str:
    # An XML client keeps its endpoint in `credentials` (an AttributeError over REST), a REST
    # client its base URL in `rest_credentials`; a sandbox client over REST is loopback too.
    rest = getattr(ia, "rest_credentials", None)
    if rest is not None:
        return str(getattr(rest, "rest_url", "") or "")
    return str(getattr(getattr(ia, "credentials", None), "endpoint_url", "") or "")


def default_state_file(company_id: str, entity_id: str | None = None) -> Path:
    """The tenant's own default state file, one file per company and entity.

    Args:
        company_id: the Intacct company id.
        entity_id: the entity, or None for the top level.

    Returns:
        ``~/.intacct_sync/<company>[-<entity>]/state.sqlite3``, expanded; characters unsafe in a
        path are replaced by ``_``, so an id cannot point outside the directory.
    """
    name = _UNSAFE_IN_PATH.sub("_", company_id)
    if entity_id:
        name += "-" + _UNSAFE_IN_PATH.sub("_", entity_id)
    return (STATE_DIR / name / "state.sqlite3").expanduser()


def claim_tenant(state: StateStore, tenant: str) -> str:
    """Record ``tenant`` as the store's owner on first use; refuse another tenant's store.

    Most callers want :func:`bind_tenant`, which also checks the store's own ``tenant``.

    Args:
        state: the state store.
        tenant: the tenant key (:func:`tenant_key`).

    Returns:
        ``tenant``.

    Raises:
        StateError: the store already belongs to another tenant (both are named, with the way
            out: the tenant's own state file).
    """
    owner = state.get_value(META_NAMESPACE, "tenant")
    if owner is None:
        state.set_value(META_NAMESPACE, "tenant", tenant)
        # Two first uses at once: the store keeps one owner, and the other is refused here
        # rather than running on books that are not its own.
        owner = state.get_value(META_NAMESPACE, "tenant")
    if owner != tenant:
        raise StateError(
            f"this state store belongs to {owner}, not {tenant}: its ledger and id map describe "
            "other books. Use the tenant's own state store (the CLI's default without --state) "
            "or a new one"
        )
    return tenant


def bind_tenant(state: StateStore, ia: Any) -> str:
    """Hold a state store to the Intacct client's tenant: the one check before a workflow runs.

    A store opened without a tenant takes the client's tenant key at the first call and
    refuses any other tenant's client afterwards. A store opened with a tenant
    (``tenant="ACME"``, ``"ACME/EAST"`` or a whole key such as ``"intacct:ACME"``) first
    refuses a client of another company or entity, then is held to the first client's key
    the same way (the sandbox's ``ACME`` is not production's). Idempotent: calling it again
    with a client of the same tenant is one read of the store.

    >>> from intacct_sync.state import SQLiteStateStore
    >>> with IntacctClient.from_env() as ia:  # doctest: +SKIP
    ...     bind_tenant(SQLiteStateStore(":memory:", tenant="ACME"), ia)
    'intacct:ACME'

    Args:
        state: the workflow's state store (``tenant`` attribute read when it has one).
        ia: the Intacct client the workflow posts with (either protocol).

    Returns:
        The client's tenant key (:func:`tenant_of`).

    Raises:
        StateError: the store was opened for another tenant, or already belongs to another
            tenant's client; the message names both.
    """
    key = tenant_of(ia)
    opened_for = str(getattr(state, "tenant", DEFAULT_TENANT) or DEFAULT_TENANT)
    if opened_for != DEFAULT_TENANT and opened_for not in (key, _company_part(key)):
        raise StateError(
            f"this state store was opened for tenant {opened_for}, but the Intacct client is "
            f"{key}: its ledger and id map describe other books. Open the store with the "
            "client's tenant, or use the client of the store's company"
        )
    return claim_tenant(state, key)


def _company_part(key: str) -> str:
    # "intacct:ACME/EAST salesforce:00D1" -> "ACME/EAST": what a store's tenant= names.
    body = key.split(" ", 1)[0]
    return body.split(":", 1)[1] if ":" in body else body

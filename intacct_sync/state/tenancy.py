"""Whose state a store holds: the tenant recorded on first use, and the default file per tenant.

A state store remembers what was posted to one set of books. Used against another company (a
sandbox run's file reused for production, two companies sharing a file) it would skip real
postings as "already posted" or flag real customers deleted, so:

* :func:`default_state_file` gives each tenant its own file,
  ``~/.intacct_sync/<company>[-<entity>]/state.sqlite3``;
* :func:`claim_tenant` records the tenant in the store on first use (``meta``/``tenant``
  through the store protocol's ``get_value``/``set_value``: no schema change) and refuses a
  store that already belongs to another tenant. Every CLI command calls it before it reads or
  writes anything.

>>> from intacct_sync.state import SQLiteStateStore
>>> state = SQLiteStateStore(":memory:")
>>> claim_tenant(state, tenant_key("ACME"))
'intacct:ACME'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from intacct_sync.errors import StateError
from intacct_sync.state.store import StateStore

__all__ = [
    "META_NAMESPACE",
    "STATE_DIR",
    "claim_tenant",
    "default_state_file",
    "tenant_key",
    "tenant_of",
]

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
    """
    key = f"{'sandbox' if sandbox else 'intacct'}:{company_id}"
    if entity_id:
        key += f"/{entity_id}"
    if org_id:
        key += f" salesforce:{org_id}"
    return key


def tenant_of(ia: Any, sf: Any = None) -> str:
    """:func:`tenant_key` of an Intacct client (and a Salesforce client whose org id is known).

    A client pointed at loopback is the embedded sandbox.
    """
    endpoint = str(getattr(getattr(ia, "credentials", None), "endpoint_url", "") or "")
    org = str(getattr(sf, "org_id", "") or "") if sf is not None else ""
    return tenant_key(
        str(ia.company_id),
        getattr(ia, "entity_id", None),
        sandbox=any(marker in endpoint for marker in _LOOPBACK),
        org_id=org,
    )


def default_state_file(company_id: str, entity_id: str | None = None) -> Path:
    """``~/.intacct_sync/<company>[-<entity>]/state.sqlite3`` (expanded), one file per tenant."""
    name = _UNSAFE_IN_PATH.sub("_", company_id)
    if entity_id:
        name += "-" + _UNSAFE_IN_PATH.sub("_", entity_id)
    return (STATE_DIR / name / "state.sqlite3").expanduser()


def claim_tenant(state: StateStore, tenant: str) -> str:
    """Record ``tenant`` as the store's owner on first use; refuse another tenant's store.

    Returns:
        ``tenant``.

    Raises:
        StateError: the store already belongs to another tenant (both are named, with the way
            out: the tenant's own state file).
    """
    owner = state.get_value(META_NAMESPACE, "tenant")
    if owner is None:
        state.set_value(META_NAMESPACE, "tenant", tenant)
        return tenant
    if owner != tenant:
        raise StateError(
            f"this state store belongs to {owner}, not {tenant}: its ledger and id map describe "
            "other books. Use the tenant's own state file (the default without --state) or a "
            "new one"
        )
    return tenant

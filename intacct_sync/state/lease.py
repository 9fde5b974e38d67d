"""The run lease: one run at a time per state store, tenant and workflow.

Two runs posting from one ledger at once can both see a posting as unsent and both send it;
with a gateway that forgets control ids that is a doubled entry (issue 12). :func:`run_lease`
takes the store's lease before a run writes anything, renews it from a background thread while
the run works, and releases it at the end. A crashed run stops renewing, so its lease expires
after ``ttl`` and the next run takes it over; a holder killed on this machine (its pid gone in
this pid namespace) is taken over at once.

>>> from intacct_sync.state import SQLiteStateStore, lease_name, run_lease
>>> state = SQLiteStateStore(":memory:")
>>> with run_lease(state, lease_name("DEMO", "actions")) as held:
...     state.lease_holder(held.lease.name) is not None
True
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from intacct_sync.errors import LeaseHeldError, LeaseLostError, StateError
from intacct_sync.state.store import Lease, StateStore

__all__ = ["DEFAULT_LEASE_TTL", "HeldLease", "default_holder", "lease_name", "run_lease"]

log = logging.getLogger("intacct_sync.state.lease")

#: How long a lease lives without renewal: how long a crashed run blocks the next one.
DEFAULT_LEASE_TTL: Final = dt.timedelta(minutes=2)

# Leases this context already holds, so a workflow that takes its lease and then calls the
# posting engine (which takes the same lease) nests instead of waiting for itself.
_held: contextvars.ContextVar[dict[tuple[int, str], HeldLease] | None] = contextvars.ContextVar(
    "intacct_sync_held_leases", default=None
)


def lease_name(company_id: str, workflow: str, entity_id: str | None = None) -> str:
    """The lease of one tenant (company and entity) and workflow: ``COMPANY/ENTITY/workflow``.

    Company ids are case-insensitive at the gateway, so the name is upper-cased there.

    Args:
        company_id: the Intacct company.
        workflow: the workflow (``actions``, ``kpi``...).
        entity_id: the entity, or None for the top level.

    Returns:
        The lease name.
    """
    if not company_id or not workflow:
        raise StateError(
            f"a lease needs a company id and a workflow, got {company_id!r}, {workflow!r}"
        )
    return f"{company_id.upper()}/{(entity_id or '-').upper()}/{workflow}"


def _namespace() -> str:
    # This boot of this machine and this pid namespace: two containers may share a host name,
    # never both of these, so a pid is only judged alive or dead where it means the same.
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        pid_ns = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return ""
    return hashlib.sha256(f"{boot}|{pid_ns}".encode()).hexdigest()[:12]


def default_holder() -> str:
    """``host:pid:run:ns``: who a lease names when no holder is given.

    ``run`` is random per run; ``ns`` names this boot and pid namespace, so a lease left by a
    killed process on this machine can be taken over at once (:func:`run_lease`).

    Returns:
        The holder name.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}:{_namespace()}"


def _holder_is_dead(lease: Lease) -> bool:
    """True only when the holder provably died: its pid, in this very pid namespace, is gone."""
    here = _namespace()
    parts = lease.holder.split(":")
    if not here or len(parts) != 4 or parts[3] != here or parts[1] != str(lease.pid):
        return False
    if lease.pid == os.getpid():
        return False
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive under another user
    return False


class HeldLease:
    """A lease :func:`run_lease` holds and renews.

    Attributes:
        lease: the lease as last renewed.
        lost: set when a renewal found the lease taken over by another run.
    """

    def __init__(self, state: StateStore, lease: Lease, ttl: dt.timedelta) -> None:
        self.state = state
        self.lease = lease
        self.ttl = ttl
        self.lost: LeaseLostError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._renew_loop, name=f"lease-{lease.name}", daemon=True
        )

    def check(self) -> None:
        """Raise :class:`~intacct_sync.errors.LeaseLostError` if the lease was taken over."""
        if self.lost is not None:
            raise self.lost

    def renew(self) -> None:
        """Renew the lease now (the background thread does it every third of the ttl)."""
        try:
            self.lease = self.state.renew_lease(self.lease, self.ttl)
        except LeaseLostError as exc:
            self.lost = exc
            log.error("run lease %s was taken over: %s", self.lease.name, exc)

    def _renew_loop(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                self.renew()
            except StateError as exc:  # a store outage: try again next time round
                log.warning("renewing run lease %s failed: %s", self.lease.name, exc)
            if self.lost is not None:
                return

    def _start(self) -> None:
        self._thread.start()

    def _stop_and_release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.lost is None:
            self.state.release_lease(self.lease)


def _held_error(name: str, holder: Lease | None, waited: float) -> LeaseHeldError:
    if holder is None:  # released between the refusal and the look
        return LeaseHeldError(
            f"the run lease {name} was held by another run for {waited:.1f} s",
            name=name,
            holder="",
            host="",
            pid=0,
            started_at=None,
            expires_at=None,
        )
    return LeaseHeldError(
        f"another run holds the lease {name}: {holder.holder} (host {holder.host}, pid "
        f"{holder.pid}, running since {holder.started_at.isoformat()}, lease expires "
        f"{holder.expires_at.isoformat()} unless renewed); waited {waited:.1f} s. Wait for it "
        "to finish, or, if that process is gone, rerun after the expiry",
        name=name,
        holder=holder.holder,
        host=holder.host,
        pid=holder.pid,
        started_at=holder.started_at,
        expires_at=holder.expires_at,
    )


@contextmanager
def run_lease(
    state: StateStore,
    name: str,
    *,
    ttl: dt.timedelta = DEFAULT_LEASE_TTL,
    wait: dt.timedelta = dt.timedelta(0),
    holder: str | None = None,
    poll: float = 0.5,
) -> Iterator[HeldLease]:
    """Hold lease ``name`` of ``state`` for the ``with`` block, renewed while it runs.

    Nested use with the same store and name in one thread (a workflow, then the posting engine
    it calls) shares the outer lease.

    Args:
        state: the state store the run writes to.
        name: the lease (:func:`lease_name`: tenant and workflow).
        ttl: how long the lease lives without renewal (renewed every ``ttl / 3``).
        wait: how long to wait for another run's lease to be released or expire.
        holder: who to name as the holder (default :func:`default_holder`).
        poll: seconds between attempts while waiting.

    Yields:
        The :class:`HeldLease`.

    Raises:
        LeaseHeldError: another run held the lease for all of ``wait`` (names the holder).
        LeaseLostError: the lease was taken over while the block ran (raised at its end).
    """
    held = _held.get() or {}
    nested = held.get((id(state), name))
    if nested is not None:
        yield nested
        return
    who = holder or default_holder()
    start = time.monotonic()
    deadline = start + wait.total_seconds()
    while True:
        lease = state.acquire_lease(name, who, ttl)
        if lease is not None:
            break
        current = state.lease_holder(name)
        if current is not None and _holder_is_dead(current):
            # Killed on this machine (SIGKILL, OOM): no need to wait out its expiry. Release
            # acts on its token only, so racing takers still get the lease one at a time.
            log.warning("run lease %s: holder %s is gone; taking over", name, current.holder)
            state.release_lease(current)
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            raise _held_error(name, current, time.monotonic() - start)
        time.sleep(min(poll, left))
    handle = HeldLease(state, lease, ttl)
    handle._start()
    token = _held.set({**held, (id(state), name): handle})
    try:
        yield handle
    finally:
        _held.reset(token)
        handle._stop_and_release()
    handle.check()

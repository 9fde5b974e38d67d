"""Versioned schema migrations, applied when a store is opened.

Each store keeps a ``schema_version`` table (one row per applied migration). Opening a store
applies, in one transaction and under the store's own lock (so two processes opening an old file
at once migrate it once), every migration above the recorded version. A store written by a newer
intacct_sync (a version above the code's) is refused rather than guessed at.

Migrations are append-only: a released migration is never edited; a change to the schema is a
new migration, tested from every earlier version (``tests/test_state_store.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from intacct_sync.errors import StateError

__all__ = ["Migration", "pending"]


@attrs.frozen(kw_only=True)
class Migration:
    """One step of a store's schema.

    Attributes:
        version: the schema version after this step (1, 2, ...).
        description: what changed, kept in ``schema_version``.
        statements: the SQL, run in order inside the migrating transaction.
    """

    version: int
    description: str
    statements: tuple[str, ...]


def pending(migrations: Sequence[Migration], current: int, where: str) -> list[Migration]:
    """The migrations above ``current``, in order.

    Args:
        migrations: every migration of the store, in order.
        current: the store's schema version.
        where: the store, named in an error.

    Returns:
        The migrations still to apply (empty when the store is current).

    Raises:
        StateError: the store is newer than this code.
    """
    latest = migrations[-1].version
    if current > latest:
        raise StateError(
            f"the state store {where} has schema version {current}, newer than this "
            f"intacct_sync knows ({latest}); upgrade intacct_sync to open it"
        )
    return [m for m in migrations if m.version > current]

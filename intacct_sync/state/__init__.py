"""State that must survive a crash: watermarks, values, the posting ledger, the id map and the
run lease.

:class:`StateStore` is the protocol every workflow takes; :class:`SQLiteStateStore` the default
implementation and :class:`PostgresStateStore` the one for fleets of workers (``pip install
intacct-sync[postgres]``). A store of your own only has to implement the protocol and pass
:func:`intacct_sync.testing.check_state_store`. See ``docs/state.md``.

>>> from intacct_sync.state import SQLiteStateStore
>>> state = SQLiteStateStore(":memory:")
"""

from __future__ import annotations

from intacct_sync.state import lease, migrations, postgres, slots, sqlite, store
from intacct_sync.state.lease import *  # noqa: F403
from intacct_sync.state.migrations import *  # noqa: F403
from intacct_sync.state.postgres import *  # noqa: F403
from intacct_sync.state.slots import *  # noqa: F403
from intacct_sync.state.sqlite import *  # noqa: F403
from intacct_sync.state.store import *  # noqa: F403

__all__: list[str] = []
__all__ += store.__all__
__all__ += sqlite.__all__
__all__ += postgres.__all__
__all__ += lease.__all__
__all__ += migrations.__all__
__all__ += slots.__all__

"""State that must survive a crash: watermarks, values, the posting ledger and the id map.

:class:`StateStore` is the protocol every workflow takes; :class:`SQLiteStateStore` the default
implementation. A store of your own only has to implement the protocol.

>>> from intacct_sync.state import SQLiteStateStore
>>> state = SQLiteStateStore(":memory:")
"""

from __future__ import annotations

from intacct_sync.state import sqlite, store
from intacct_sync.state.sqlite import *  # noqa: F403
from intacct_sync.state.store import *  # noqa: F403

__all__: list[str] = []
__all__ += store.__all__
__all__ += sqlite.__all__

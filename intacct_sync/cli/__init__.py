"""``intacct-sync``: the command line, one module per workflow (``python -m intacct_sync.cli``)."""

from intacct_sync.cli.main import main

__all__ = ["main"]

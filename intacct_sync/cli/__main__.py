"""``python -m intacct_sync.cli``: the same command line as ``intacct-sync``."""

import sys

from intacct_sync.cli.main import main

sys.exit(main())

import sys

from intacct_sync.cli.main import main

sys.exit(main())

"""``python -m init_lint``: the same as the ``init-lint`` command."""

import sys

from init_lint.cli import main

sys.exit(main())

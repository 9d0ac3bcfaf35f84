"""Session-wide test settings.

``init-lint check`` keeps a result cache in the current directory by default. The tests run
it many times over the same bytes (and some need each run to analyze afresh: interruption
mid-run, string-hashing independence), so the cache is off for every test and subprocess
unless a test names a cache directory with ``--cache-dir`` (tests/test_cache.py does).
"""

from __future__ import annotations

import os

os.environ["INIT_LINT_NO_CACHE"] = "1"

"""libcst's parse without its per-node validation.

Every libcst node checks its own fields when it is built (``CSTNode.__post_init__`` calls
``_validate``: parentheses that balance, whitespace where a keyword needs it). That guards
trees built by hand; a tree from libcst's own parser is valid by construction, and the
checks are ~11% of a parse (measured on transformers' modeling files: benchmarks/RESULTS.md;
libcst's own comment on ``__post_init__`` says as much). The analysis parses every kept file
and every function body it runs, so it parses with the checks off, for the time of the parse
only: the fixer's edits (``with_changes``) are built afterwards and are checked as always.
(A node another thread builds during a parse goes unchecked too: the checks only catch
programming errors in hand-built trees, never change one.)
"""

from __future__ import annotations

import threading

import libcst as cst
from libcst._nodes.base import CSTNode

_ORIGINAL = CSTNode.__dict__["__post_init__"]
_LOCK = threading.Lock()  # one switch for the process: parses in threads take turns


def _unchecked(self: CSTNode) -> None:
    """``__post_init__`` while the parser builds a tree: nothing to check."""


def parse_module(text: str) -> cst.Module:
    """``libcst.parse_module(text)`` with node validation off for the parse only; raises
    what it raises."""
    with _LOCK:
        CSTNode.__post_init__ = _unchecked  # type: ignore[method-assign]
        try:
            return cst.parse_module(text)
        finally:
            CSTNode.__post_init__ = _ORIGINAL  # type: ignore[method-assign]

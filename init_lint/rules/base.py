"""The shape every rule has: a code, documentation, examples, and a pure check function.

A rule reads the ``ModelGraph`` (built once per file by ``init_lint.analysis``) and yields
findings; it never walks the CST. Its class docstring is its documentation
(``init-lint explain INI00x`` prints it with the examples). ``VALID`` sources must produce
no finding of the rule; every line of an ``INVALID`` source marked ``# expect: INI00x``
must be flagged, and nothing else (one generic test runs them all).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import ClassVar

from init_lint.analysis.graph import ModelGraph
from init_lint.findings import Finding


@dataclass(frozen=True)
class Options:
    """Thresholds a user can configure (flake8 options, ``[tool.init-lint]``), and which
    rules are enabled: a fix repairs only what an enabled rule flags (a split fix leaves a
    layer only a deselected rule would flag as it is)."""

    std_factor: float = 2.0  # INI004: a constant std this many times off the recommended
    deep_relu_depth: int = 4  # INI005: plain rectifier stacks this deep or deeper
    # The enabled codes, sorted (a stable repr: the cache keys on it); None: every rule.
    enabled: tuple[str, ...] | None = None
    # Fixes that must re-check the fixed text do (off inside that re-check).
    verify_fixes: bool = field(default=True, repr=False, compare=False)

    def enables(self, code: str) -> bool:
        return self.enabled is None or code in self.enabled

    def enabling(self, codes: Iterable[str]) -> Options:
        """These options with exactly ``codes`` enabled."""
        return replace(self, enabled=tuple(sorted(set(codes))))


@dataclass(frozen=True)
class Example:
    """An INVALID example; ``fixed`` is the source after ``init-lint fix`` (if fixable)."""

    source: str
    fixed: str | None = None


class Rule:
    """Base class of all rules; subclasses set the class attributes and ``check``."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    off_by_default: ClassVar[bool] = False
    VALID: ClassVar[tuple[str, ...]] = ()
    INVALID: ClassVar[tuple[str | Example, ...]] = ()

    def check(self, graph: ModelGraph, options: Options) -> Iterator[Finding]:
        raise NotImplementedError

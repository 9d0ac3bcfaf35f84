"""The shape every rule has: a code, documentation, examples, and a pure check function.

A rule reads the ``ModelGraph`` (built once per file by ``init_lint.analysis``) and yields
findings; it never walks the CST. Its class docstring is its documentation
(``init-lint explain INI00x`` prints it with the examples). ``VALID`` sources must produce
no finding of the rule; every line of an ``INVALID`` source marked ``# expect: INI00x``
must be flagged, and nothing else (one generic test runs them all).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from init_lint.analysis.graph import ModelGraph
from init_lint.findings import Finding


@dataclass(frozen=True)
class Options:
    """Thresholds a user can configure (flake8 options, ``[tool.init-lint]``)."""

    std_factor: float = 2.0  # INI004: a constant std this many times off the recommended
    deep_relu_depth: int = 4  # INI005: plain rectifier stacks this deep or deeper


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

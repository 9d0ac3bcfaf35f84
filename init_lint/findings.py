"""The data every front end consumes: findings, and the edits that fix them.

Positions follow flake8 and ``ast``: lines are 1-based, columns 0-based (front ends that
print ``path:line:col`` add one to the column, as flake8 does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: The line breaks Python's tokenizer counts (a lone ``\r`` included), so line numbers
#: agree with ``ast`` and libcst.
LINE_BREAK = re.compile(r"\r\n|\r|\n")


def line_starts(text: str) -> list[int]:
    """Offsets where each line of ``text`` begins (the first line is ``starts[0]``)."""
    return [0, *(match.end() for match in LINE_BREAK.finditer(text))]


@dataclass(frozen=True, order=True)
class Position:
    line: int
    col: int


@dataclass(frozen=True)
class Edit:
    """Replace the source between ``start`` and ``end`` with ``text``."""

    start: Position
    end: Position
    text: str


@dataclass(frozen=True)
class Fix:
    """A certain replacement for a finding: edits plus the imports they need.

    ``imports`` are ``(module, name)`` pairs as ``AddImportsVisitor`` takes them
    (``("torch", "nn")`` for ``from torch import nn``; ``("torch.nn.init", None)`` for
    ``import torch.nn.init``).
    """

    description: str
    edits: tuple[Edit, ...]
    imports: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class Finding:
    """One problem at one init site."""

    code: str
    message: str  # without the code prefix; front ends prepend it
    start: Position
    end: Position
    fix: Fix | None = field(default=None, compare=False)
    note: str | None = field(default=None, compare=False)  # why there is no fix

    @property
    def line(self) -> int:
        return self.start.line

    @property
    def col(self) -> int:
        return self.start.col

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self) -> tuple[int, int, str]:
        return (self.start.line, self.start.col, self.code)

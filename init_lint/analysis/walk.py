"""Fast traversals of a libcst tree.

``CSTNode.children`` and ``CSTVisitor`` walks run libcst's visitor machinery on every
node, several times the cost of simply reading the dataclass fields. The analysis walks
trees for a few narrow questions (which names a class mentions, where imports are), so
it reads fields directly, and walks statements only where expressions cannot matter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import libcst as cst

_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}
#: type -> is it a CSTNode? (libcst's classes are ABCs: isinstance() on them runs
#: Python-level code, and a walk asks it of every field of every node)
_IS_NODE: dict[type, bool] = {}


def is_node(value: object) -> bool:
    kind = type(value)
    known = _IS_NODE.get(kind)
    if known is None:
        known = _IS_NODE[kind] = issubclass(kind, cst.CSTNode)
    return known


#: Fields that hold only layout (whitespace, comments, parentheses, commas, blank lines):
#: no question the analysis asks of a tree is about them, and they are most of its nodes.
_TRIVIA = frozenset({"lpar", "rpar", "comma", "leading_lines", "lines_after_decorators",
                     "header", "footer", "semicolon", "trailing_whitespace", "equal", "colon",
                     "newline"})


def _is_trivia(field: str) -> bool:
    return field in _TRIVIA or field.startswith("whitespace")


def child_nodes(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The direct children of a node that are not layout (``_TRIVIA``), from its
    dataclass fields."""
    kind = type(node)
    names = _FIELDS.get(kind)
    if names is None:
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind)
                                      if not _is_trivia(f.name))
    for name in names:
        value = getattr(node, name)
        if is_node(value):
            yield value
        elif type(value) in (tuple, list):
            for item in value:
                if is_node(item):
                    yield item


def descendants(node: cst.CSTNode | Sequence[cst.CSTNode],
                prune: tuple[type[cst.CSTNode], ...] = ()) -> Iterator[cst.CSTNode]:
    """Every node under ``node`` (included), depth first; ``prune`` types are yielded but
    not entered."""
    stack: list[cst.CSTNode] = list(node) if isinstance(node, (list, tuple)) else [node]  # type: ignore[list-item]
    pruned: dict[type, bool] = {}
    while stack:
        current = stack.pop()
        yield current
        if prune:
            kind = type(current)
            skip = pruned.get(kind)
            if skip is None:
                skip = pruned[kind] = issubclass(kind, prune)
            if skip:
                continue
        stack.extend(child_nodes(current))


def statements(body: Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Every statement (simple or compound) in a block, nested blocks included, without
    entering expressions."""
    stack = list(reversed(body))
    while stack:
        statement = stack.pop()
        yield statement
        if isinstance(statement, cst.SimpleStatementLine):
            continue
        blocks: list[cst.CSTNode] = []
        for name in ("body", "orelse", "finalbody"):
            part = getattr(statement, name, None)
            if isinstance(part, cst.BaseSuite):
                blocks.append(part)
            elif isinstance(part, (cst.Else, cst.Finally)):
                blocks.append(part.body)
            elif isinstance(part, cst.If):
                stack.append(part)
        for handler in getattr(statement, "handlers", ()):
            blocks.append(handler.body)
        for block in blocks:
            inner = block.body if isinstance(block, (cst.IndentedBlock,
                                                      cst.SimpleStatementSuite)) else ()
            stack.extend(reversed(list(inner)))

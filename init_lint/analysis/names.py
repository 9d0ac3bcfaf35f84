"""Qualified names from a module's imports: ``nn.Linear`` -> ``torch.nn.Linear``.

libcst's ``QualifiedNameProvider`` answers the same question but costs several times the
parse itself on large files; we only need the names a file imports, so a pass over the
import statements is enough. A test holds this resolver against ``QualifiedNameProvider``
on every fixture.

Limits (stated, and tested to stay silent): ``from torch.nn.init import *`` binds nothing;
a name that the module both imports and assigns (``init = nn.init``) is dropped. Names
bound inside functions (parameters, locals) shadow imports; the interpreter looks those up
first, so ``def f(init): init.zeros_(w)`` is not ``torch.nn.init``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence

import libcst as cst

#: Relative imports inside known packages that stand for that package's module.
_RELATIVE_MODULES: dict[str, str] = {
    "initialization": "transformers.initialization",
}


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _module_name(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    return dotted_name(node) or ""


def relative_target(module: str, name: str) -> str | None:
    """Map ``from ... import initialization`` style imports to the package module."""
    if name in _RELATIVE_MODULES:
        return _RELATIVE_MODULES[name]
    last = module.rsplit(".", 1)[-1] if module else ""
    if last in _RELATIVE_MODULES:
        return f"{_RELATIVE_MODULES[last]}.{name}"
    return None


class ImportCollector:
    """Collects ``local name -> qualified name`` from import statements."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.conflicts: set[str] = set()
        self.assigned: set[str] = set()

    def _bind(self, local: str, qualified: str) -> None:
        if self.aliases.get(local, qualified) != qualified:
            self.conflicts.add(local)
        self.aliases[local] = qualified

    def add(self, node: cst.Import | cst.ImportFrom) -> None:
        if isinstance(node, cst.Import):
            self.add_import(node)
        else:
            self.add_import_from(node)

    def add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _module_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, full)
            else:
                head = full.split(".", 1)[0]
                self._bind(head, head)

    def add_import_from(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = _module_name(node.module)
        relative = bool(node.relative)
        for alias in node.names:
            name = _module_name(alias.name)
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            if relative:
                target = relative_target(module, name)
                if target is None:
                    continue
                self._bind(local, target)
            else:
                self._bind(local, f"{module}.{name}" if module else name)

    def add_block(self, body: Sequence[cst.CSTNode], module_level: bool) -> None:
        """Imports anywhere in a block (statements only: imports are statements); names a
        module-level assignment rebinds (they become ambiguous)."""
        for statement in body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self.add(small)
                    elif module_level and isinstance(small, cst.Assign):
                        for target in small.targets:
                            if isinstance(target.target, cst.Name):
                                self.assigned.add(target.target.value)
            elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                self.add_block(_block(statement.body), False)
            else:
                for block in _blocks(statement):
                    self.add_block(block, module_level)


def _block(suite: cst.BaseSuite) -> Sequence[cst.CSTNode]:
    return suite.body if isinstance(suite, (cst.IndentedBlock, cst.SimpleStatementSuite)) else ()


def _blocks(statement: cst.CSTNode) -> list[Sequence[cst.CSTNode]]:
    """The statement blocks of a compound statement (if/elif/else, loops, try, with)."""
    found: list[Sequence[cst.CSTNode]] = []
    for name in ("body", "orelse", "finalbody"):
        part = getattr(statement, name, None)
        if isinstance(part, cst.BaseSuite):
            found.append(_block(part))
        elif isinstance(part, (cst.Else, cst.Finally)):
            found.append(_block(part.body))
        elif isinstance(part, cst.If):
            found.append([part])
    for handler in getattr(statement, "handlers", ()):
        found.append(_block(handler.body))
    return found


def import_statements(body: Sequence[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements anywhere in a block of CPython's tree, in source order
    (imports are statements: the blocks of compound statements, defs and classes are all
    there is to look through). For the gate and the skeleton, which read that tree."""
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement
        for name in ("body", "orelse", "finalbody"):
            block = getattr(statement, name, None)
            if isinstance(block, list):
                yield from import_statements(block)
        for part in (*getattr(statement, "handlers", ()), *getattr(statement, "cases", ())):
            yield from import_statements(part.body)


def collect_imports(module: cst.Module) -> dict[str, str]:
    """The module's import aliases, without ambiguous or reassigned names."""
    collector = ImportCollector()
    collector.add_block(module.body, True)
    drop = collector.conflicts | collector.assigned
    return {k: v for k, v in collector.aliases.items() if k not in drop}


def qualify(dotted: str, aliases: dict[str, str]) -> str | None:
    """Resolve ``nn.init.zeros_`` through the aliases to ``torch.nn.init.zeros_``."""
    head, _, rest = dotted.partition(".")
    target = aliases.get(head)
    if target is None:
        return None
    return f"{target}.{rest}" if rest else target

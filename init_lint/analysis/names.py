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


def _relative_target(module: str, name: str) -> str | None:
    """Map ``from ... import initialization`` style imports to the package module."""
    if name in _RELATIVE_MODULES:
        return _RELATIVE_MODULES[name]
    last = module.rsplit(".", 1)[-1] if module else ""
    if last in _RELATIVE_MODULES:
        return f"{_RELATIVE_MODULES[last]}.{name}"
    return None


class ImportCollector(cst.CSTVisitor):
    """Collects ``local name -> qualified name`` from every import in the module."""

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}
        self.conflicts: set[str] = set()
        self.assigned: set[str] = set()
        self._depth = 0

    def _bind(self, local: str, qualified: str) -> None:
        if self.aliases.get(local, qualified) != qualified:
            self.conflicts.add(local)
        self.aliases[local] = qualified

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = _module_name(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, full)
            else:
                head = full.split(".", 1)[0]
                self._bind(head, head)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
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
                target = _relative_target(module, name)
                if target is None:
                    continue
                self._bind(local, target)
            else:
                self._bind(local, f"{module}.{name}" if module else name)

    # Module-level rebinding of an imported name makes it ambiguous.
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._depth -= 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._depth -= 1

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if self._depth == 0 and isinstance(node.target, cst.Name):
            self.assigned.add(node.target.value)


def collect_imports(module: cst.Module) -> dict[str, str]:
    """The module's import aliases, without ambiguous or reassigned names."""
    collector = ImportCollector()
    module.visit(collector)
    drop = collector.conflicts | collector.assigned
    return {k: v for k, v in collector.aliases.items() if k not in drop}


def qualify(dotted: str, aliases: dict[str, str]) -> str | None:
    """Resolve ``nn.init.zeros_`` through the aliases to ``torch.nn.init.zeros_``."""
    head, _, rest = dotted.partition(".")
    target = aliases.get(head)
    if target is None:
        return None
    return f"{target}.{rest}" if rest else target

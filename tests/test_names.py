"""The import resolver agrees with libcst's QualifiedNameProvider, and states its limits."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, QualifiedNameProvider, QualifiedNameSource

from init_lint.analysis.names import collect_imports, dotted_name, qualify
from init_lint.engine import Settings, check_text, decode_source

FIXTURES = sorted(p for p in (Path(__file__).parent.parent / "fixtures").rglob("*.py")
                  if "fixed" not in p.parts and "expected" not in p.parts)


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[cst.CSTNode, set] = {}  # type: ignore[type-arg]

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.Name, cst.Attribute)):
            self.found[node] = set(self.get_metadata(QualifiedNameProvider, node, set()))
        return True


def _descendants(node: cst.CSTNode) -> list[cst.CSTNode]:
    found = [node]
    for child in node.children:
        found.extend(_descendants(child))
    return found


def _imports(module: cst.Module) -> list[cst.CSTNode]:
    return [n for n in _descendants(module) if isinstance(n, (cst.Import, cst.ImportFrom))]


def _import_names(qnames: set) -> set[str]:  # type: ignore[type-arg]
    """Names libcst derives from imports; relative ones (``.ops.X``) name the user's own
    package, which the resolver deliberately leaves unresolved."""
    return {q.name for q in qnames
            if q.source is QualifiedNameSource.IMPORT and not q.name.startswith(".")}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_resolver_matches_qualified_name_provider_on_fixture(path: Path) -> None:
    module = cst.parse_module(decode_source(path.read_bytes()))
    wrapper = MetadataWrapper(module)
    collector = _Collector()
    wrapper.visit(collector)
    provided = collector.found
    aliases = collect_imports(wrapper.module)
    in_imports = {id(n) for stmt in _imports(wrapper.module) for n in _descendants(stmt)}
    in_imports |= {id(n.attr) for n in _descendants(wrapper.module) if isinstance(n, cst.Attribute)}
    checked = 0
    for node, qnames in provided.items():
        if not isinstance(node, (cst.Name, cst.Attribute)) or id(node) in in_imports:
            continue
        dotted = dotted_name(node)
        if dotted is None:
            continue
        theirs = _import_names(qnames)
        ours = qualify(dotted, aliases)
        if theirs:
            assert ours in theirs, f"{path.name}: {dotted} -> {ours}, libcst says {theirs}"
            checked += 1
        elif ours is not None:
            # libcst sees a local binding (parameter/assignment) shadowing the import;
            # the interpreter looks locals up first, so ours is never used there.
            assert qnames, f"{path.name}: {dotted} resolved to {ours} but libcst knows nothing"
        elif qnames and not theirs:
            assert ours is None or all(q.name.startswith(".") for q in qnames) or any(
                q.source is not QualifiedNameSource.IMPORT for q in qnames)
    assert checked > 0


def test_star_import_binds_nothing_and_stays_silent() -> None:
    source = '''
import torch.nn as nn
from torch.nn.init import *

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 1)
        xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
'''
    assert check_text(source, Settings()) == []


def test_module_level_alias_assignment_stays_silent() -> None:
    source = '''
import torch.nn as nn
init = nn.init

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 1)
        init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
'''
    assert check_text(source, Settings()) == []


def test_parameter_named_like_an_import_shadows_it() -> None:
    source = '''
import torch.nn as nn
from torch.nn import init

class MLP(nn.Module):
    def __init__(self, init=None):
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 1)
        init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
'''
    assert check_text(source, Settings()) == []


@pytest.mark.parametrize("imports,call", [
    ("import torch.nn as nn", "nn.init.xavier_uniform_"),
    ("import torch", "torch.nn.init.xavier_uniform_"),
    ("from torch import nn", "nn.init.xavier_uniform_"),
    ("from torch.nn import init", "init.xavier_uniform_"),
    ("import torch.nn.init as I", "I.xavier_uniform_"),
    ("from torch.nn.init import xavier_uniform_", "xavier_uniform_"),
    ("from torch.nn.init import xavier_uniform_ as glorot", "glorot"),
])
def test_every_import_style_resolves_to_torch_nn_init(imports: str, call: str) -> None:
    source = f'''
import torch
import torch.nn as nn
{imports}

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 8)
        self.fc2 = nn.Linear(8, 1)
        {call}(self.fc1.weight)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
'''
    findings = check_text(source, Settings())
    assert [(f.line, f.code) for f in findings] == [(11, "INI002")]

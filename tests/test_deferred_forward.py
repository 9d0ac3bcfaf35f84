"""The models' ``forward`` runs only when a rule asks what it tells (``ModelGraph``).

Most init sites are judged without it (a norm's weight, a config-driven std), and running
every model's ``forward`` was most of the analysis of a large file. It must never change a
result: with every rule example and fixture, the findings and errors are the same with and
without it (test_prefilter.py), and a graph whose ``forward`` ran late is the graph built
with it. Here: when it is left out, and the cases where leaving it out would lose a finding
(an init that only ``forward`` runs, a raw weight only ``forward`` shows is a weight).
"""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from test_prefilter import SOURCES
from test_skeleton import summary

from init_lint.analysis import NeedsForward, build_graph
from init_lint.analysis.graph import ModelGraph
from init_lint.engine import Settings, analyze_text
from init_lint.findings import Finding

SETTINGS = Settings()
RULES = SETTINGS.enabled_rules()
OPTIONS = SETTINGS.options.enabling(rule.code for rule in RULES)


def deferred(source: str) -> ModelGraph:
    return build_graph(cst.parse_module(textwrap.dedent(source)), defer_forward=True)


def check(graph: ModelGraph, *only: str) -> list[Finding]:
    """The rules' findings on ``graph`` as the engine runs them (no second try)."""
    return [f for rule in RULES if not only or rule.code in only
            for f in rule.check(graph, OPTIONS)]


def codes(source: str) -> list[tuple[str, int]]:
    return [(f.code, f.start.line) for f in analyze_text(textwrap.dedent(source), Settings())]


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_forward_run_late_gives_the_graph_of_one_run_at_once(name: str) -> None:
    try:
        module = cst.parse_module(SOURCES[name])
    except cst.ParserSyntaxError:
        pytest.skip("not parseable")
    late = build_graph(module, defer_forward=True)
    late.run_forward()
    assert summary(late) == summary(build_graph(module)), name


NORM_ONLY = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()
"""


def test_forward_is_left_out_when_no_rule_asks_how_layers_pair() -> None:
    graph = deferred(NORM_ONLY)
    assert graph.pending_forward is not None
    assert [f.code for f in check(graph)] == ["INI006"]
    assert graph.pending_forward is not None  # INI006 needs only the norm: never ran
    assert codes(NORM_ONLY) == [("INI006", 11)]


XAVIER_RELU = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
"""


def test_a_rule_that_asks_how_a_layer_pairs_runs_forward_first() -> None:
    graph = deferred(XAVIER_RELU)
    with pytest.raises(NeedsForward):
        check(graph, "INI002")
    graph.run_forward()
    assert graph.pending_forward is None
    assert [f.code for f in check(graph)] == ["INI002"]
    assert codes(XAVIER_RELU) == [("INI002", 9)]


LAZY_METHOD = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        self.ready = False

    def reset(self):
        nn.init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        if not self.ready:
            self.reset()
        return self.fc2(self.fc1(x).relu())
"""

LAZY_FUNCTION = """
import torch.nn as nn
from torch.nn.init import xavier_uniform_ as xu

def reset(model):
    xu(model.fc1.weight)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        reset(self)
        return self.fc2(self.fc1(x).relu())
"""

BUILT_IN_FORWARD = """
import torch.nn as nn

class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        nn.init.xavier_uniform_(self.fc1.weight)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(8, 64)

    def forward(self, x):
        head = Head()
        return head(self.stem(x))
"""

HELD_INITIALIZER = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        self.init_fn = nn.init.xavier_uniform_

    def forward(self, x):
        self.init_fn(self.fc1.weight)
        return self.fc2(self.fc1(x).relu())
"""

HELD_LAMBDA = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 10)
        self.init_fn = lambda w: nn.init.xavier_uniform_(w)

    def forward(self, x):
        self.init_fn(self.fc1.weight)
        return self.fc2(self.fc1(x).relu())
"""


@pytest.mark.parametrize(("source", "line"), [
    (LAZY_METHOD, 12), (LAZY_FUNCTION, 6), (BUILT_IN_FORWARD, 9), (HELD_INITIALIZER, 12),
    (HELD_LAMBDA, 9)])
def test_an_init_only_forward_runs_is_found(source: str, line: int) -> None:
    # A method, a module-level function under an alias, a class built in forward, an
    # initializer or a lambda held in an attribute: forward runs at once, or these sites
    # are lost.
    assert codes(source) == [("INI002", line)]
    assert deferred(source).pending_forward is None


RAW_WEIGHT = """
import torch
import torch.nn as nn

class Bilinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn(128, 64))

    def forward(self, x):
        return x @ self.W
"""


def test_a_raw_weight_waits_for_forward_to_say_it_is_a_weight() -> None:
    graph = deferred(RAW_WEIGHT)
    assert graph.pending_forward is not None
    assert not graph.layers  # not yet: only `x @ self.W` makes it a layer's weight
    assert codes(RAW_WEIGHT) == [("INI004", 8)]


VECTOR_ONLY = """
import torch
import torch.nn as nn

class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(64))
        self.norm = nn.LayerNorm(64)

    def forward(self, x):
        return self.norm(x) * self.gamma
"""


def test_a_vector_parameter_never_needs_forward() -> None:
    # A 1-D parameter is never a layer's weight (torch's fans need two dimensions).
    graph = deferred(VECTOR_ONLY)
    assert graph.raw_pending == frozenset()
    assert check(graph) == []
    assert graph.pending_forward is not None

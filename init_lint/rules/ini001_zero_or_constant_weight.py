"""INI001 zero-or-constant-weight."""

from __future__ import annotations

from collections.abc import Iterator

from init_lint.analysis.graph import InitSite, Layer, ModelGraph
from init_lint.findings import Finding
from init_lint.knowledge import Family, Scheme
from init_lint.rules.base import Example, Options, Rule
from init_lint.rules.common import (
    family,
    is_hidden,
    paired_activation,
    reached_layers,
    recommended_call,
    scheme_of,
)
from init_lint.rules.fixing import replacement_fix
from init_lint.rules.split import fix_and_note


class ZeroOrConstantWeight(Rule):
    """A hidden layer's weight is set to zero or to one constant value.

    Every unit of the layer then computes the same function of its input and receives
    the same gradient: the units never become different (the symmetry problem). With a
    ReLU-family activation and zero bias it is worse: the output is 0, relu'(0) = 0 in
    PyTorch, so the gradient is exactly zero and the layer never trains.

    Fires for ``zeros_``, ``ones_``, ``constant_``, ``w.zero_()``, ``w.fill_(v)`` and
    ``nn.Parameter(torch.zeros|ones|full(...))`` on the weight of a *hidden* layer: one
    whose output, through its activation, is the input of another parametric layer.

    Deliberate zeros are left alone: biases, norm layers, embeddings, slices, and layers
    whose output is the model's output (a fresh classifier head), is added to a residual
    path (Fixup, zero-conv), gates or modulates (adaLN-Zero, LoRA's B, sigmoid gates), or
    feeds something other than a layer.

    Fix: the recommended init for the layer's activation (He for rectifiers, Xavier for
    saturating activations, LeCun for SELU). One call that reaches layers wanting
    different inits (an isinstance dispatch over a hidden stack and its head) is split
    into a branch per group of layers (``if m is self.head: <the original call> else:
    <the fix>``).
    """

    code = "INI001"
    name = "zero-or-constant-weight"
    summary = "a hidden layer's weight is zero or constant: its units never differ"

    VALID = (
        '''
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(512, 512)
        self.head = nn.Linear(512, 10)
        nn.init.zeros_(self.head.weight)   # a fresh head: zero is fine
        nn.init.zeros_(self.fc.bias)       # biases may be zero

    def forward(self, x):
        return self.head(self.fc(x).relu())
''',
        '''
import torch.nn as nn

class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim)
        self.fc2 = nn.Linear(dim, dim)
        nn.init.zeros_(self.fc2.weight)    # closes a residual branch (Fixup)

    def forward(self, x):
        return x + self.fc2(self.fc1(x).relu())
''',
    )
    INVALID = (
        Example(
            '''
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)
        nn.init.zeros_(self.fc1.weight)  # expect: INI001

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
''',
            fixed='''
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)
        nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")  # expect: INI001

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
''',
        ),
        Example(
            '''
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 8))
        self.net[0].weight.data.fill_(0.01)  # expect: INI001

    def forward(self, x):
        return self.net(x)
''',
            fixed='''
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 8))
        nn.init.xavier_uniform_(self.net[0].weight, gain=nn.init.calculate_gain("tanh"))  # expect: INI001

    def forward(self, x):
        return self.net(x)
''',
        ),
    )

    def check(self, graph: ModelGraph, options: Options) -> Iterator[Finding]:
        for site in graph.init_sites:
            if scheme_of(site) is not Scheme.CONSTANT or site.slice:
                continue
            hidden = [layer for layer in reached_layers(graph, site)
                      if is_hidden(graph, layer.key)]
            if hidden:
                acts = {paired_activation(graph, layer.key) for layer in hidden}
                act = acts.pop() if len(acts) == 1 else None
                fix, note = fix_and_note(graph, site, options, replacement_fix(graph, site, act))
                yield Finding(self.code, self.message(graph, site, hidden), site.start, site.end,
                              fix, note)

    def message(self, graph: ModelGraph, site: InitSite, layers: list[Layer]) -> str:
        what = "zero" if site.function == "zeros_" else "constant"
        names = ", ".join(layer.name for layer in layers[:4])
        acts = {paired_activation(graph, layer.key) for layer in layers}
        act = acts.pop() if len(acts) == 1 else None
        if act is not None and act.name is not None and family(act) is Family.RECTIFIER \
                and what == "zero":
            why = (f"its output feeds {act.describe()} and relu'(0) = 0, so the gradient is "
                   "exactly zero and the layer never trains")
        else:
            follow = f" (through {act.describe()})" if act is not None and act.name else ""
            why = (f"it is a hidden layer{follow}: every unit computes the same thing and gets "
                   "the same gradient, so the units never become different")
        fix = f"; use {recommended_call(site, act)}" if act is not None else (
            "; use the recommended init for its activation")
        return f"{what} weight on {names}: {why}{fix}"

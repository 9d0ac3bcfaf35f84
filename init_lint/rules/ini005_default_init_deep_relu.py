"""INI005 default-init-deep-relu (opt-in)."""

from __future__ import annotations

from collections.abc import Iterator

from init_lint.analysis.graph import ModelGraph
from init_lint.findings import Finding
from init_lint.rules.base import Options, Rule
from init_lint.rules.common import is_normalized


class DefaultInitDeepRelu(Rule):
    """A deep plain stack of rectifier layers relies on PyTorch's default init.

    PyTorch initializes Linear and Conv weights with ``kaiming_uniform_(w, a=sqrt(5))``:
    std 1/sqrt(3 fan_in), a third of He's variance. Before a ReLU the signal's second
    moment shrinks ~6x per layer... measured: 2e-15 of the input after 20 layers of width
    512. Fires for a plain stack of >= 4 (``--init-lint-deep-relu-depth``) Linear/Conv +
    rectifier pairs with no normalization and no explicit init of those layers.

    Off by default (``--enable-extensions=INI005`` in flake8, ``--extend-select INI005`` in
    the CLI): shallow nets train fine on the default, and many codebases rely on it.

    Fix: an explicit He init, ``nn.init.kaiming_normal_(w, nonlinearity="relu")``.
    """

    code = "INI005"
    name = "default-init-deep-relu"
    summary = "a deep plain ReLU stack on PyTorch's default init (opt-in)"
    off_by_default = True

    VALID = (
        '''
import torch.nn as nn

model = nn.Sequential(
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 10),
)
''',
        '''
import torch.nn as nn

def make():
    layers = []
    for _ in range(6):
        layers += [nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU()]
    return nn.Sequential(*layers)

model = make()
''',
    )
    INVALID = (
        '''
import torch.nn as nn

model = nn.Sequential(
    nn.Linear(64, 64), nn.ReLU(),  # expect: INI005
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 10),
)
''',
    )

    def check(self, graph: ModelGraph, options: Options) -> Iterator[Finding]:
        graph.require_forward()
        chains: list[tuple[int, ...]] = []
        for uses in graph.uses.values():
            for use in uses:
                if len(use.chain) >= options.deep_relu_depth:
                    chains.append(use.chain)
        reported: set[int] = set()
        for chain in sorted(chains, key=len, reverse=True):
            layers = [graph.layers.get(k) for k in chain]
            if any(layer is None or layer.is_raw or layer.is_norm for layer in layers):
                continue
            if any(graph.explicitly_initialized(k) or is_normalized(graph, k) for k in chain):
                continue
            first = chain[0]
            if any(k in reported for k in chain):
                continue
            reported.update(chain)
            layer = graph.layers[first]
            depth = len(chain)
            message = (f"{depth} {layer.kind}+rectifier layers from {layer.name} on rely on "
                       "PyTorch's default init (kaiming_uniform_ with a=sqrt(5), std "
                       "1/sqrt(3 fan_in)): the signal shrinks ~2.4x in std per layer; use "
                       'nn.init.kaiming_normal_(w, nonlinearity="relu") on each')
            yield Finding(self.code, message, layer.start, layer.end)

"""INI006 norm-weight-zero-mean."""

from __future__ import annotations

from collections.abc import Iterator

from init_lint.analysis.graph import InitSite, ModelGraph
from init_lint.findings import Finding
from init_lint.rules.base import Example, Options, Rule
from init_lint.rules.common import number, reached_layers
from init_lint.rules.fixing import ones_fix
from init_lint.rules.split import fix_and_note


def zero_mean_random(site: InitSite) -> bool:
    if site.function in ("normal_", "trunc_normal_"):
        mean = number(site, "mean") if "mean" in site.args else 0.0
        return mean == 0.0
    if site.function == "uniform_":
        low, high = number(site, "a"), number(site, "b")
        return low is not None and high is not None and low == -high and high > 0
    return False


class NormWeightZeroMean(Rule):
    """A normalization layer's weight (gamma) gets a zero-mean random init.

    Usually an isinstance tuple lumps ``nn.BatchNorm2d``/``nn.LayerNorm`` in with
    ``nn.Linear``/``nn.Conv2d`` and one ``normal_(m.weight, 0, 0.02)`` hits them all: every
    normalized unit then starts with a tiny scale of random sign instead of 1, so the
    normalized signal is multiplied by ~0.02 at every norm layer and half the channels are
    flipped. Normalization repairs scale, but not its own scale parameter.

    Fix: ``nn.init.ones_(m.weight)`` (and ``zeros_`` for the bias). Where the call also
    reaches other layers, it is split: ``if isinstance(m, nn.BatchNorm2d):
    nn.init.ones_(m.weight)``, and the other layers keep the original call (or get their
    own fix, if another rule flags them there).
    """

    code = "INI006"
    name = "norm-weight-zero-mean"
    summary = "a norm layer's gamma gets a zero-mean random init instead of 1"

    VALID = (
        '''
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()
''',
    )
    INVALID = (
        Example(
            '''
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)):
                nn.init.normal_(m.weight, 0, 0.02)  # expect: INI006

    def forward(self, x):
        return self.bn(self.conv(x)).relu()
''',
            fixed='''
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)):
                if isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                else:
                    nn.init.normal_(m.weight, 0, 0.02)  # expect: INI006

    def forward(self, x):
        return self.bn(self.conv(x)).relu()
''',
        ),
        Example(
            '''
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.norm = nn.LayerNorm(64)
        nn.init.trunc_normal_(self.norm.weight, std=0.02)  # expect: INI006

    def forward(self, x):
        return x + self.fc(self.norm(x))
''',
            fixed='''
import torch.nn as nn

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.norm = nn.LayerNorm(64)
        nn.init.ones_(self.norm.weight)  # expect: INI006

    def forward(self, x):
        return x + self.fc(self.norm(x))
''',
        ),
    )

    def check(self, graph: ModelGraph, options: Options) -> Iterator[Finding]:
        for site in graph.init_sites:
            if site.slice or not zero_mean_random(site):
                continue
            norms = reached_layers(graph, site, norms=True)
            if not norms:
                continue
            names = ", ".join(f"{n.name} ({n.kind})" for n in norms[:4])
            message = (f"{site.function} with mean 0 on the weight of {names}: a norm "
                       "layer's scale should start at 1; with a tiny random-sign scale every "
                       "normalized unit starts near 0; use nn.init.ones_ for norm weights")
            fix, note = fix_and_note(graph, site, options, ones_fix(graph, site))
            yield Finding(self.code, message, site.start, site.end, fix,
                          note)

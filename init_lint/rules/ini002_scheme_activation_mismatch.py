"""INI002 scheme-activation-mismatch."""

from __future__ import annotations

from collections.abc import Iterator

from init_lint.analysis.graph import Act, InitSite, Layer, ModelGraph
from init_lint.findings import Finding
from init_lint.knowledge import Family, Scheme
from init_lint.rules.base import Example, Options, Rule
from init_lint.rules.common import (
    is_normalized,
    is_pytorch_default,
    kaiming_call,
    paired_activation,
    reached_layers,
    recommended_call,
    scheme_of,
    xavier_gain,
)
from init_lint.rules.fixing import scheme_fix
from init_lint.rules.split import fix_and_note

#: A Xavier/orthogonal gain this large already compensates a rectifier (sqrt(2) ~ 1.41).
RECTIFIER_GAIN_THRESHOLD = 1.2


def mismatch(graph: ModelGraph, site: InitSite, layer: Layer) -> Act | None:
    """The activation the site's scheme is wrong for, or None when it is right/unknown."""
    act = paired_activation(graph, layer.key)
    if act is None or act.name is None or is_normalized(graph, layer.key):
        return None
    fam = Family.LINEAR if act.name is None else _family(act)
    scheme = scheme_of(site)
    if scheme in (Scheme.XAVIER, Scheme.ORTHOGONAL):
        gain = xavier_gain(site)
        if gain is not None and gain < RECTIFIER_GAIN_THRESHOLD and fam is Family.RECTIFIER:
            return act
    elif scheme is Scheme.KAIMING:
        call = kaiming_call(site)
        if call is None or is_pytorch_default(call):
            return None
        rectifier = call.nonlinearity in ("relu", "leaky_relu") and (
            call.gain > RECTIFIER_GAIN_THRESHOLD)
        if rectifier and fam in (Family.SATURATING, Family.SELF_NORMALIZING):
            return act
    return None


def _family(act: Act) -> Family:
    from init_lint.rules.common import family

    return family(act)


class SchemeActivationMismatch(Rule):
    """The initializer's family is wrong for the activation that follows the layer.

    * Xavier (or orthogonal) at gain 1 before a rectifier (ReLU, LeakyReLU, GELU, SiLU,
      ELU, ...): Xavier keeps the variance for a *symmetric* activation; a rectifier
      zeroes half of it, so the signal halves at every layer. Over 20 ReLU layers of width
      512 the second moment falls to ~1e-6 of the input (DESIGN.md's measurements):
      vanishing activations and gradients.
    * Kaiming with a rectifier nonlinearity (including the default ``"leaky_relu"``) before
      tanh, sigmoid or another saturating activation, or before SELU. The ReLU factor 2 has
      no reason on an activation that keeps both signs. The effect on tanh is mild (the
      stack still trains; ~3% of units start near saturation versus 0.4% with Xavier), on
      SELU it breaks self-normalization, which needs LeCun's 1/fan_in.

    Numeric gains that already match (``gain=1.414`` before ReLU) and PyTorch's own default
    ``kaiming_uniform_(w, a=math.sqrt(5))`` are not this rule's business. Layers of a
    normalized model (a norm between layer and activation, or a model that applies
    BatchNorm/LayerNorm in its forward) are left alone: normalization repairs the scale.

    Fix: the recommended init for the activation, same distribution (uniform stays uniform).
    One call that reaches layers wanting different inits (an isinstance dispatch over a
    hidden stack and its head) is split into a branch per group of layers (``if m is
    self.head: <the original call> else: <the fix>``).
    """

    code = "INI002"
    name = "scheme-activation-mismatch"
    summary = "Xavier before a rectifier, or He before tanh/sigmoid/SELU"

    VALID = (
        '''
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)
        nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")
        nn.init.xavier_uniform_(self.fc2.weight)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
''',
        '''
import math
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.out = nn.Linear(64, 1)
        nn.init.xavier_uniform_(self.fc.weight, gain=1.414)
        nn.init.kaiming_uniform_(self.out.weight, a=math.sqrt(5))

    def forward(self, x):
        return self.out(self.fc(x).relu())
''',
        '''
import torch.nn as nn

class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3)
        self.bn = nn.BatchNorm2d(16)
        nn.init.xavier_normal_(self.conv.weight)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()
''',
    )
    INVALID = (
        Example(
            '''
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
        self.head = nn.Linear(256, 10)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)  # expect: INI002

    def forward(self, x):
        return self.head(self.body(x))
''',
            fixed='''
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
        self.head = nn.Linear(256, 10)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                if m is self.head:
                    nn.init.xavier_uniform_(m.weight)
                else:
                    nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")  # expect: INI002

    def forward(self, x):
        return self.head(self.body(x))
''',
        ),
        Example(
            '''
import torch.nn as nn
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)
        nn.init.xavier_uniform_(self.fc1.weight)  # expect: INI002

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
''',
            fixed='''
import torch.nn as nn
import torch.nn.functional as F

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)
        nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")  # expect: INI002

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))
''',
        ),
        Example(
            '''
import torch
import torch.nn as nn

class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 64)
        self.out = nn.Linear(64, 2)
        nn.init.kaiming_normal_(self.fc.weight)  # expect: INI002

    def forward(self, x):
        return self.out(torch.tanh(self.fc(x)))
''',
            fixed='''
import torch
import torch.nn as nn

class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 64)
        self.out = nn.Linear(64, 2)
        nn.init.xavier_normal_(self.fc.weight, gain=nn.init.calculate_gain("tanh"))  # expect: INI002

    def forward(self, x):
        return self.out(torch.tanh(self.fc(x)))
''',
        ),
    )

    def check(self, graph: ModelGraph, options: Options) -> Iterator[Finding]:
        for site in graph.init_sites:
            if scheme_of(site) not in (Scheme.XAVIER, Scheme.ORTHOGONAL, Scheme.KAIMING):
                continue
            wrong = [(layer, act) for layer in reached_layers(graph, site)
                     if (act := mismatch(graph, site, layer)) is not None]
            if wrong:
                acts = {act for _, act in wrong}
                fix, note = fix_and_note(graph, site, options, scheme_fix(
                    graph, site, acts.pop()) if len(acts) == 1 else None)
                yield Finding(self.code, self.message(site, wrong), site.start, site.end, fix,
                              note)

    def message(self, site: InitSite, wrong: list[tuple[Layer, Act]]) -> str:
        acts = {act for _, act in wrong}
        act = next(iter(acts))
        label = act.describe()
        if len(acts) == 1:
            target = f"{', '.join(layer.name for layer, _ in wrong[:4])}, which feeds {label}"
        else:
            target = ", ".join(f"{layer.name} (feeds {a.describe()})" for layer, a in wrong[:4])
        if _family(act) is Family.RECTIFIER:
            why = (f"Xavier assumes a symmetric activation, so the signal halves at every "
                   f"{label} layer (vanishing over depth)")
        elif act.name == "selu":
            why = ("SELU self-normalizes only from LeCun's 1/fan_in variance; the ReLU "
                   "factor 2 pushes it off its fixed point")
        else:
            subject = label if len(acts) == 1 else "these activations"
            why = ("He's factor 2 makes up for a rectifier zeroing half its input; "
                   f"{subject} zero nothing, so pre-activations start ~1.4x too wide and more "
                   "units saturate (a mild effect, but the wrong scheme)")
        fix = f"; use {recommended_call(site, act)}" if len(acts) == 1 else (
            "; use the recommended init for each activation")
        return f"{site.function} on {target}: {why}{fix}"

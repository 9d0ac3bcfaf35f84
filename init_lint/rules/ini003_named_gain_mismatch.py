"""INI003 named-gain-mismatch."""

from __future__ import annotations

from collections.abc import Iterator

from init_lint.analysis.graph import Act, InitSite, Layer, ModelGraph
from init_lint.findings import Finding
from init_lint.knowledge import ACTIVATIONS, Family, Scheme, activation_gain, calculate_gain
from init_lint.rules.base import Example, Options, Rule
from init_lint.rules.common import (
    family,
    is_normalized,
    is_pytorch_default,
    kaiming_call,
    paired_activation,
    reached_layers,
    recommended_call,
    scheme_of,
)
from init_lint.rules.fixing import renamed_gain_fix
from init_lint.rules.ini002_scheme_activation_mismatch import mismatch
from init_lint.rules.split import fix_and_note

TOLERANCE = 0.10


def named_gain(site: InitSite) -> tuple[str, float] | None:
    """The nonlinearity the call names and the gain it implies, if it names one."""
    scheme = scheme_of(site)
    if scheme is Scheme.KAIMING:
        call = kaiming_call(site)
        if call is None or not call.named or is_pytorch_default(call):
            return None
        label = call.nonlinearity if call.nonlinearity != "leaky_relu" else (
            f"leaky_relu, a={call.a:g}")
        return label, call.gain
    if scheme in (Scheme.XAVIER, Scheme.ORTHOGONAL):
        arg = site.args.get("gain")
        if arg is None or arg.gain_name is None:
            return None
        try:
            gain = calculate_gain(arg.gain_name, arg.gain_param)
        except ValueError:
            return None
        return arg.gain_name, gain
    return None


def wrong_name(graph: ModelGraph, site: InitSite, layer: Layer) -> Act | None:
    act = paired_activation(graph, layer.key)
    if act is None or act.name is None or not act.param_known or is_normalized(graph, layer.key):
        return None
    if mismatch(graph, site, layer) is not None:
        return None  # INI002 reports the site
    named = named_gain(site)
    if named is None:
        return None
    label, gain = named
    info = ACTIVATIONS[act.name]
    if label.split(",")[0] == info.gain_name and info.gain_name != "leaky_relu":
        return None
    expected = activation_gain(act.name, act.param)
    if family(act) is Family.SATURATING and abs(gain - 1.0) < 1e-9:
        return None  # gain 1 is also right before tanh/sigmoid
    if abs(gain - expected) <= TOLERANCE * expected:
        return None
    return act


class NamedGainMismatch(Rule):
    """The initializer names a nonlinearity whose gain is not the one that follows.

    ``kaiming_normal_(w, nonlinearity="tanh")`` before a ReLU, ``xavier_uniform_(w,
    gain=calculate_gain("relu"))`` before tanh, ``a=1`` (gain 1) before a ReLU: the
    call *says* which activation it prepares for, and says the wrong one. Fires when the
    named gain differs by more than 10% from the gain of the activation actually paired
    (so ``"leaky_relu"`` without ``a=`` before ``LeakyReLU(0.01)`` is fine, and so is
    ``"relu"`` before ``LeakyReLU(0.2)``: 1.41 vs 1.39).

    Not fired where nothing follows the layer (``nonlinearity="sigmoid"`` on a logits
    layer), for PyTorch's default ``a=math.sqrt(5)``, or in a normalized model.

    Fix: the same call with the right name (and ``a=`` for leaky slopes). One call that
    reaches layers wanting different inits is split into a branch per group of layers
    (``if m is self.head: <the original call> else: <the fix>``).
    """

    code = "INI003"
    name = "named-gain-mismatch"
    summary = "the init names a nonlinearity other than the one that follows"

    VALID = (
        '''
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 32)
        self.act = nn.LeakyReLU(0.2)
        self.out = nn.Linear(32, 1)
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.out.weight, nonlinearity="sigmoid")

    def forward(self, x):
        return self.out(self.act(self.fc(x)))
''',
    )
    INVALID = (
        Example(
            '''
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 32)
        self.out = nn.Linear(32, 1)
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="tanh")  # expect: INI003

    def forward(self, x):
        return self.out(self.fc(x).relu())
''',
            fixed='''
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 32)
        self.out = nn.Linear(32, 1)
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")  # expect: INI003

    def forward(self, x):
        return self.out(self.fc(x).relu())
''',
        ),
        '''
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 32)
        self.out = nn.Linear(32, 1)
        gain = nn.init.calculate_gain("relu")
        nn.init.xavier_uniform_(self.fc.weight, gain=gain)  # expect: INI003

    def forward(self, x):
        return self.out(torch.tanh(self.fc(x)))
''',
        Example(
            '''
import torch.nn as nn

class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 32)
        self.act = nn.LeakyReLU(0.2)
        self.out = nn.Linear(32, 1)
        nn.init.kaiming_uniform_(self.fc.weight, mode="fan_in", nonlinearity="tanh")  # expect: INI003

    def forward(self, x):
        return self.out(self.act(self.fc(x)))
''',
            fixed='''
import torch.nn as nn

class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 32)
        self.act = nn.LeakyReLU(0.2)
        self.out = nn.Linear(32, 1)
        nn.init.kaiming_uniform_(self.fc.weight, mode="fan_in", nonlinearity="leaky_relu", a=0.2)  # expect: INI003

    def forward(self, x):
        return self.out(self.act(self.fc(x)))
''',
        ),
    )

    def check(self, graph: ModelGraph, options: Options) -> Iterator[Finding]:
        for site in graph.init_sites:
            named = named_gain(site)
            if named is None:
                continue
            wrong = [(layer, act) for layer in reached_layers(graph, site)
                     if (act := wrong_name(graph, site, layer)) is not None]
            if not wrong:
                continue
            layers = ", ".join(layer.name for layer, _ in wrong[:4])
            acts = {act for _, act in wrong}
            act = next(iter(acts))
            label, gain = named
            expected = activation_gain(act.name or "linear", act.param)
            advice = f"; use {recommended_call(site, act)}" if len(acts) == 1 else ""
            message = (f'{site.function} on {layers} names "{label}" (gain {gain:.3g}) but '
                       f"{act.describe()} follows (gain {expected:.3g}): the weights start "
                       f"{gain / expected:.2f}x the right scale{advice}")
            fix, note = fix_and_note(graph, site, options, renamed_gain_fix(
                graph, site, act) if len(acts) == 1 else None)
            yield Finding(self.code, message, site.start, site.end, fix, note)

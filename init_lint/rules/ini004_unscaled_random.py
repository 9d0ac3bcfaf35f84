"""INI004 unscaled-random."""

from __future__ import annotations

import math
from collections.abc import Iterator

from init_lint.analysis.graph import UNKNOWN_ACT, InitSite, Layer, ModelGraph
from init_lint.findings import Finding
from init_lint.knowledge import Scheme, recommended_std
from init_lint.rules.base import Example, Options, Rule
from init_lint.rules.common import (
    is_hidden,
    is_normalized,
    number,
    paired_activation,
    reached_layers,
    recommendation,
    recommended_call,
    scheme_of,
)
from init_lint.rules.fixing import common_activation, replacement_fix
from init_lint.rules.split import fix_and_note


def random_std(site: InitSite) -> tuple[float | None, bool]:
    """The std a fixed-scale random init gives, and whether it ignores scale entirely
    (std >= 1, default N(0, 1)/U(0, 1), raw randn/rand). ``None`` std: not static."""
    if site.function in ("normal_", "trunc_normal_"):
        if site.form == "parameter":
            if site.scale_text is not None and number(site, "std") is None:
                return None, False
        std = number(site, "std") if "std" in site.args else 1.0
        if std is None:
            return None, False
        return std, std >= 1.0
    if site.function == "uniform_":
        if site.form == "parameter" and site.scale_text is not None and number(site, "b") is None:
            return None, False
        low = number(site, "a") if "a" in site.args else 0.0
        high = number(site, "b") if "b" in site.args else 1.0
        if low is None or high is None:
            return None, False
        bound = max(abs(low), abs(high))
        default = "a" not in site.args and "b" not in site.args
        std = (high - low) / math.sqrt(12.0)
        return std, bound >= 1.0 or default or (low == 0 and site.form == "parameter")
    return None, False


def feeds_unknown(graph: ModelGraph, key: int) -> bool:
    """The layer's output goes into something we cannot see (not an activation, a layer,
    the model's output): e.g. ``torch.sin(x @ B)`` random features or a Gumbel-softmax."""
    return any(use.act == UNKNOWN_ACT for use in graph.uses_of(key))


class UnscaledRandom(Rule):
    """A random init whose scale ignores the layer's fan.

    ``normal_(w)`` (std 1), ``normal_(w, 0, 1)``, ``uniform_(w)`` (U(0, 1): every weight
    positive), ``uniform_(w, -1, 1)``, a raw ``nn.Parameter(torch.randn(a, b))`` used as a
    weight: with std ~1 a layer of fan_in 512 multiplies the signal's scale by ~sqrt(512)
    ~ 23 (more with a rectifier's gain); a few layers saturate every tanh or overflow.

    When the fan is known from literals (``nn.Linear(784, 256)``), a constant std more
    than 2x (``--init-lint-std-factor``) away from the recommended one for the paired
    activation also counts: too large everywhere, too small only for hidden layers of an
    un-normalized model (vanishing compounds over depth; on an output head a small std is
    deliberate, as in torchvision's ``normal_(fc.weight, 0, 0.01)``). Config-driven stds
    (``std=config.initializer_range``) are not static and stay silent, and so does a std-1
    projection whose output goes into a function we cannot see (random Fourier features
    ``torch.sin(x @ B)``, logits for a Gumbel-softmax): there the scale may be the point.

    Fix: the recommended init for the paired activation. One call that reaches layers
    wanting different inits (an isinstance dispatch over a hidden stack and its head) is
    split into a branch per group of layers (``if m is self.head: <the original call>
    else: <the fix>``).
    """

    code = "INI004"
    name = "unscaled-random"
    summary = "a random init whose std ignores the fan (std 1, U(0,1), raw randn)"

    VALID = (
        '''
import torch.nn as nn

class ResNetHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Linear(2048, 512)
        self.fc = nn.Linear(512, 1000)
        nn.init.normal_(self.fc.weight, 0, 0.01)

    def forward(self, x):
        return self.fc(self.features(x).relu())
''',
        '''
import math
import torch
import torch.nn as nn

class Projection(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.W = nn.Parameter(torch.randn(d_in, d_out) / math.sqrt(d_in))

    def forward(self, x):
        return x @ self.W
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
        self.fc1.weight.data.normal_(0, 1)  # expect: INI004

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
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")  # expect: INI004

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())
''',
        ),
        Example(
            '''
import torch
import torch.nn as nn

class Bilinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn(128, 64))  # expect: INI004

    def forward(self, x):
        return x @ self.W
''',
            fixed='''
import torch
import torch.nn as nn

class Bilinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(nn.init.xavier_uniform_(torch.empty(128, 64)))  # expect: INI004

    def forward(self, x):
        return x @ self.W
''',
        ),
    )

    def check(self, graph: ModelGraph, options: Options) -> Iterator[Finding]:
        for site in graph.init_sites:
            if scheme_of(site) is not Scheme.RANDOM or site.slice:
                continue
            std, unscaled = random_std(site)
            if std is None:
                continue  # asked first: a raw weight's layers may need forward run
            layers = reached_layers(graph, site)
            if not layers:
                continue
            if unscaled and any(feeds_unknown(graph, layer.key) for layer in layers):
                continue  # random features, logits for sampling: the std may be the point
            if unscaled:
                message = self.unscaled_message(graph, site, layers, std)
            else:
                wrong = [(layer, verdict) for layer in layers
                         if (verdict := self.off_scale(graph, layer, std, options)) is not None]
                if not wrong:
                    continue
                message = self.scale_message(graph, site, wrong, std)
            # Only now: a fix needs positions, which cost a pass over the whole module.
            fix, note = fix_and_note(graph, site, options, replacement_fix(
                graph, site, common_activation(graph, layers)))
            yield Finding(self.code, message, site.start, site.end, fix, note)

    def off_scale(self, graph: ModelGraph, layer: Layer, std: float,
                  options: Options) -> tuple[str, float] | None:
        if layer.fan_in is None or layer.fan_out is None:
            return None
        act = paired_activation(graph, layer.key)
        if act is None or not act.param_known:
            return None
        best = recommended_std(recommendation(act), layer.fan_in, layer.fan_out)
        if std > options.std_factor * best:
            return "large", best
        if (std * options.std_factor < best and is_hidden(graph, layer.key)
                and not is_normalized(graph, layer.key)):
            return "small", best
        return None

    def unscaled_message(self, graph: ModelGraph, site: InitSite, layers: list[Layer],
                         std: float) -> str:
        names = ", ".join(layer.name for layer in layers[:4])
        acts = {paired_activation(graph, layer.key) for layer in layers}
        act = acts.pop() if len(acts) == 1 else None
        fans = [layer.fan_in for layer in layers if layer.fan_in]
        growth = ""
        if fans:
            growth = f" (~{math.sqrt(fans[0]) * std:.0f}x per layer at fan_in {fans[0]})"
        what = site.function if site.form != "parameter" else "torch.randn/rand weight"
        fix = f"; use {recommended_call(site, act)}" if act is not None and site.form != (
            "parameter") else "; scale it by the fan (He/Xavier/LeCun)"
        return (f"{what} on {names} has std {std:.3g} whatever the fan: the signal's scale "
                f"grows with the layer width{growth}{fix}")

    def scale_message(self, graph: ModelGraph, site: InitSite,
                      wrong: list[tuple[Layer, tuple[str, float]]], std: float) -> str:
        layer, (direction, best) = wrong[0]
        names = ", ".join(lay.name for lay, _ in wrong[:4])
        act = paired_activation(graph, layer.key)
        label = act.describe() if act is not None else "its activation"
        effect = ("the signal grows at every layer" if direction == "large"
                  else "the signal shrinks at every hidden layer (vanishing over depth)")
        fix = f"; use {recommended_call(site, act)}" if act is not None and len(wrong) == 1 and (
            site.form != "parameter") else ""
        ratio = best / std if direction == "small" else std / best
        return (f"{site.function} with std {std:.3g} on {names} is {ratio:.1f}x "
                f"too {direction} for fan_in {layer.fan_in} before {label} (recommended std "
                f"{best:.3g}): {effect}{fix}")

"""Questions every rule asks of the graph, answered once: which layers a site reaches,
which activation (if all paths agree) follows a layer, is it hidden, is it normalized,
what is the recommended call. Rules stay small and read the same facts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from init_lint.analysis.graph import UNKNOWN_ACT, Act, Consumer, InitSite, Layer, ModelGraph
from init_lint.knowledge import (
    ACTIVATIONS,
    INITIALIZERS,
    Family,
    Recommendation,
    Scheme,
    calculate_gain,
    recommend,
)

#: ``kaiming_uniform_(w, a=math.sqrt(5))``: PyTorch's own default, never a mismatch.
PYTORCH_DEFAULT_SLOPE = math.sqrt(5)


def scheme_of(site: InitSite) -> Scheme:
    info = INITIALIZERS.get(site.function)
    return info.scheme if info is not None else Scheme.OTHER


def reached_layers(graph: ModelGraph, site: InitSite, *, norms: bool = False) -> list[Layer]:
    """The layers whose weight the site reaches (parametric ones, or norms). A raw weight
    is never a norm's: the norms are known before ``forward`` has run."""
    if norms:
        return [layer for k in sorted(site.weight_of)
                if (layer := graph.layers.get(k)) is not None and layer.is_norm]
    return [layer for layer in graph.weight_layers(site) if not layer.is_norm]


def paired_activation(graph: ModelGraph, key: int) -> Act | None:
    """The activation that follows the layer on every path, or None if unknown/disagreeing.

    ``Act(None)`` (linear) is a real answer: nothing follows.
    """
    uses = graph.uses_of(key)
    if not uses:
        return None
    acts = {use.act for use in uses}
    if len(acts) != 1:
        return None
    act = acts.pop()
    if act == UNKNOWN_ACT or (act.name is not None and act.name not in ACTIVATIONS):
        return None
    return act


def is_hidden(graph: ModelGraph, key: int) -> bool:
    """Every path takes the layer's output (through its activation) into another layer."""
    uses = graph.uses_of(key)
    return bool(uses) and all(use.consumer is Consumer.LAYER for use in uses)


def is_normalized(graph: ModelGraph, key: int) -> bool:
    graph.require_forward()
    return key in graph.normalized or any(use.normed for use in graph.uses_of(key))


def family(act: Act) -> Family:
    if act.name is None:
        return Family.LINEAR
    return ACTIVATIONS[act.name].family


def recommendation(act: Act) -> Recommendation:
    return recommend(act.name, act.param)


def distribution_of(site: InitSite) -> str:
    info = INITIALIZERS.get(site.function)
    return info.distribution if info is not None and info.distribution else "normal"


def tensor_expression(site: InitSite) -> str:
    """The tensor as a user writes it in an ``nn.init`` call (``.data`` dropped)."""
    text = site.tensor_text
    return text[: -len(".data")] if text.endswith(".data") else text


def recommended_call(site: InitSite, act: Act) -> str:
    if not act.param_known:
        rec = recommend(act.name, None)
        return rec.render(tensor_expression(site), distribution_of(site)).replace(
            "a=0.01", "a=<its negative slope>")
    rec = recommendation(act)
    return rec.render(tensor_expression(site), distribution_of(site))


def number(site: InitSite, name: str) -> float | None:
    """A numeric argument's value; None if absent or not static."""
    arg = site.args.get(name)
    if arg is None or not isinstance(arg.value, (int, float)):
        return None
    return float(arg.value)


def has_arg(site: InitSite, name: str) -> bool:
    return name in site.args


@dataclass(frozen=True)
class KaimingCall:
    """What a ``kaiming_*_`` call asks for: its nonlinearity, slope and gain."""

    nonlinearity: str
    a: float
    gain: float
    named: bool  # the user wrote nonlinearity= or a= (INI003 territory)


def kaiming_call(site: InitSite) -> KaimingCall | None:
    """The call's gain, or None when an argument is not static (unknown means silent)."""
    nonlinearity = "leaky_relu"
    if has_arg(site, "nonlinearity"):
        value = site.args["nonlinearity"].value
        if not isinstance(value, str):
            return None
        nonlinearity = value
    a = 0.0
    if has_arg(site, "a"):
        value_a = number(site, "a")
        if value_a is None:
            return None
        a = value_a
    try:
        gain = calculate_gain(nonlinearity, a) if nonlinearity == "leaky_relu" else (
            calculate_gain(nonlinearity))
    except ValueError:
        return None
    named = has_arg(site, "nonlinearity") or has_arg(site, "a")
    return KaimingCall(nonlinearity, a, gain, named)


def is_pytorch_default(call: KaimingCall) -> bool:
    return call.nonlinearity == "leaky_relu" and abs(call.a - PYTORCH_DEFAULT_SLOPE) < 1e-3


def xavier_gain(site: InitSite) -> float | None:
    """The gain of a Xavier/orthogonal call (1 by default); None when not static."""
    if not has_arg(site, "gain"):
        return 1.0
    return number(site, "gain")


def layer_names(layers: list[Layer]) -> str:
    names = [layer.name for layer in layers]
    if len(names) > 4:
        return ", ".join(names[:4]) + f" and {len(names) - 4} more"
    return ", ".join(names)


def describe_act(act: Act) -> str:
    return act.describe()

"""``init_model``: the recommended init for every layer of a live model, then LSUV.

This module owns ``init_model`` and its ``InitReport``. It pairs each layer with its
activation (``init_lint.runtime.pairing``: torch.fx, else forward hooks, else
``nn.Sequential`` order), applies ``initializer_for(activation)`` to the weight, zeroes
the bias, leaves normalization layers, embeddings and unpaired layers alone, and with an
example input calibrates each initialized layer in execution order (LSUV, Mishkin & Matas
2016, "All you need is a good init").
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from init_lint.runtime.activations import describe_layer, is_layer, is_layer_type, is_norm
from init_lint.runtime.initializers import Distribution, Mode, initializer_for
from init_lint.runtime.pairing import call_model, find_activations
from init_lint.runtime.tables import format_float, render_table

#: Below this output variance a layer is not calibrated: its input carries no signal and
#: rescaling would blow the weights up.
ZERO_VARIANCE = 1e-10


@dataclass(frozen=True)
class Calibration:
    """What LSUV did to one layer: the factor its weight was multiplied by, the output
    variance it ended with on the example, and a note when it skipped or did not
    converge."""

    factor: float
    variance: float
    iterations: int
    note: str = ""


@dataclass(frozen=True)
class LayerInit:
    """One layer in an ``InitReport``.

    ``init`` is the ``torch.nn.init`` call applied (the initializer's ``repr``) or
    ``None`` when the layer was left alone (``reason`` says why); ``activation`` is the
    activation found (``"linear"`` when none follows, ``None`` when unknown) and ``method``
    how it was found (``"fx"``, ``"hooks"`` or ``"sequential"``).
    """

    name: str
    layer: str
    activation: str | None
    method: str
    norm: str | None
    init: str | None
    reason: str = ""
    calibration: Calibration | None = None


@dataclass(frozen=True)
class InitReport:
    """What ``init_model`` did, per layer; ``str(report)`` is an aligned table."""

    layers: tuple[LayerInit, ...]
    method: str
    trace_error: str
    calibrated: bool
    untouched: tuple[str, ...]  # normalization layers, embeddings: deliberately left alone

    @property
    def initialized(self) -> list[LayerInit]:
        return [layer for layer in self.layers if layer.init is not None]

    @property
    def left_alone(self) -> list[LayerInit]:
        return [layer for layer in self.layers if layer.init is None]

    def __getitem__(self, name: str) -> LayerInit:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def __str__(self) -> str:
        rows = []
        for layer in self.layers:
            activation = layer.activation if layer.activation is not None else "?"
            if layer.norm is not None:
                activation = f"{layer.norm} -> {activation}"
            rows.append([layer.name, layer.layer, activation, layer.method,
                         layer.init if layer.init is not None else "left alone",
                         _describe_calibration(layer.calibration)])
        headers = ["layer", "type", "activation", "found by", "init", "LSUV"]
        lines = [render_table(headers, rows, right_aligned=(5,))]
        if self.trace_error and self.method != "fx":
            lines.append(f"torch.fx could not trace the model ({self.trace_error}); "
                         f"activations found by {self.method}.")
        for layer in self.left_alone:
            lines.append(f"left alone: {layer.name}: {layer.reason}")
        for layer in self.layers:
            if layer.calibration is not None and layer.calibration.note:
                lines.append(f"LSUV: {layer.name}: {layer.calibration.note}")
        if self.untouched:
            lines.append("not layers, untouched: " + ", ".join(self.untouched))
        if not self.calibrated:
            lines.append("no calibration (LSUV needs an example input and calibrate=True)")
        return "\n".join(lines)


def _describe_calibration(calibration: Calibration | None) -> str:
    if calibration is None:
        return "-"
    if calibration.note.startswith("skipped"):
        return "skipped"
    return "x" + format_float(calibration.factor)


def init_model(model: nn.Module, example_input: object = None, *,
               distribution: Distribution = "normal", mode: Mode = "fan_in",
               calibrate: bool = True, generator: torch.Generator | None = None,
               tolerance: float = 0.05, max_iterations: int = 10) -> InitReport:
    r"""Initialize every Linear/Conv*/ConvTranspose* weight of ``model`` for its activation.

    Each layer gets ``initializer_for(activation)`` (He before rectifiers, Xavier with
    ``calculate_gain`` before saturating activations, LeCun before SELU, Xavier for no
    activation) and a zero bias. The activation is found on the live model: from a
    ``torch.fx`` trace (which sees ``F.relu`` in ``forward``), else from forward hooks on
    ``example_input``, else from ``nn.Sequential`` order. Normalization layers,
    embeddings and layers whose activation cannot be found are left alone.

    With ``example_input`` and ``calibrate=True`` each initialized layer is then
    calibrated in execution order (LSUV): its weight is rescaled until the layer's output
    (the pre-activation) has unit variance on the example,

    .. math::
        W \leftarrow W / \sqrt{\operatorname{Var}[W x + b]}

    repeated while :math:`|\operatorname{Var} - 1| > \text{tolerance}`, at most
    ``max_iterations`` times; a layer whose output variance is ~0 is skipped. In a ReLU
    chain this reproduces He from the second layer on, and it gives deep GELU/SiLU stacks
    a stable scale that no constant gain gives them.

    The model runs in eval mode for the example (dropout off, BatchNorm on running
    statistics) and gets its train/eval flags back afterwards.

    Args:
        model: the ``nn.Module`` to initialize in place.
        example_input: a batch the model accepts (a tensor, a tuple of positional
            arguments or a dict of keyword arguments), or ``None``.
        distribution: ``"normal"`` (default) or ``"uniform"``.
        mode: ``"fan_in"`` (default) or ``"fan_out"`` for the Kaiming initializers.
        calibrate: run LSUV when an example input is given (default ``True``).
        generator: the ``torch.Generator`` to draw the weights from.
        tolerance: LSUV stops when the output variance is within ``1 ± tolerance``.
        max_iterations: LSUV's limit per layer.

    Returns:
        An ``InitReport``: per layer the activation found, how, the call applied and the
        LSUV factor; ``print(report)`` shows it as a table.

    Examples:
        >>> model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
        >>> report = init_model(model, torch.randn(256, 784))
        >>> report["0"].init
        'nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")'
    """
    flags = {module: module.training for module in model.modules()}
    model.eval()
    try:
        if example_input is not None and _has_lazy_layers(model):
            with torch.no_grad():
                call_model(model, example_input)  # materialize lazy layers
        found = find_activations(model, example_input)
        rows: list[LayerInit] = []
        initialized: dict[str, nn.Module] = {}
        untouched: list[str] = []
        for name, module in model.named_modules():
            if is_norm(module) or isinstance(module, nn.Embedding | nn.EmbeddingBag):
                untouched.append(f"{name} ({type(module).__name__})")
                continue
            if not is_layer_type(module):
                continue
            pairing = found.pairings[name]
            activation = pairing.activation.describe() if pairing.activation else None
            row = LayerInit(name, describe_layer(module), activation, pairing.method,
                            pairing.norm, None, pairing.reason)
            blocker = _cannot_initialize(module)
            if blocker:
                rows.append(LayerInit(**{**asdict(row), "reason": blocker}))
                continue
            if pairing.activation is None:
                rows.append(row)
                continue
            initializer = initializer_for(pairing.activation, distribution=distribution,
                                          mode=mode)
            initializer(module.weight, generator=generator)
            bias = getattr(module, "bias", None)
            if isinstance(bias, Tensor):
                with torch.no_grad():
                    bias.zero_()
            initialized[name] = module
            rows.append(LayerInit(name, row.layer, activation, pairing.method, pairing.norm,
                                  repr(initializer)))
        calibrated = calibrate and example_input is not None and bool(initialized)
        if calibrated:
            results = calibrate_lsuv(model, example_input, initialized, tolerance=tolerance,
                                     max_iterations=max_iterations)
            rows = [LayerInit(r.name, r.layer, r.activation, r.method, r.norm, r.init,
                              r.reason, results.get(r.name)) for r in rows]
    finally:
        for module, training in flags.items():
            module.train(training)
    return InitReport(tuple(rows), found.method, found.trace_error, calibrated,
                      tuple(untouched))


def _has_lazy_layers(model: nn.Module) -> bool:
    return any(isinstance(p, nn.parameter.UninitializedParameter) for p in model.parameters())


def _cannot_initialize(module: nn.Module) -> str:
    if not is_layer(module):
        return "lazy layer not materialized yet (pass an example input)"
    if parametrize.is_parametrized(module, "weight"):
        return "its weight is parametrized (torch.nn.utils.parametrize)"
    if not isinstance(module.weight, nn.Parameter):
        return "its weight is computed, not a parameter (weight norm?)"
    return ""


def calibrate_lsuv(model: nn.Module, example_input: object, layers: dict[str, nn.Module], *,
                   tolerance: float = 0.05, max_iterations: int = 10) -> dict[str, Calibration]:
    """LSUV on ``layers`` (qualified name -> module) in the order they run on the example.

    One forward pass: a forward hook on each layer measures its output variance, rescales
    its weight by ``1/sqrt(var)`` and recomputes the output (``module.forward``, so the
    hook does not recurse) until the variance is within ``tolerance`` of 1, then hands the
    calibrated output on, so each later layer is calibrated on the signal the earlier
    calibrated layers produce, exactly as in the layer-by-layer formulation. Only the first
    call of a shared layer is calibrated. Runs under ``torch.no_grad()``; the caller chooses
    train/eval mode.
    """
    results: dict[str, Calibration] = {}
    handles = []

    def make_hook(name: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
            if name in results or not isinstance(output, Tensor):
                return None
            results[name], output = _calibrate_layer(module, args, output, tolerance,
                                                     max_iterations)
            return output
        return hook

    for name, module in layers.items():
        handles.append(module.register_forward_hook(make_hook(name)))
    try:
        with torch.no_grad():
            call_model(model, example_input)
    finally:
        for handle in handles:
            handle.remove()
    return results


def _calibrate_layer(module: nn.Module, args: tuple[Any, ...], output: Tensor, tolerance: float,
                     max_iterations: int) -> tuple[Calibration, Tensor]:
    weight = module.weight
    assert isinstance(weight, Tensor)
    factor = 1.0
    variance = math.nan
    for iteration in range(max_iterations + 1):
        if output.numel() < 2:
            note = "skipped: output has fewer than 2 values"
            return Calibration(factor, variance, iteration, note), output
        variance = float(output.detach().double().var())
        if not math.isfinite(variance):
            return Calibration(factor, variance, iteration, "skipped: output not finite"), output
        if variance < ZERO_VARIANCE:
            return (Calibration(factor, variance, iteration,
                                f"skipped: output variance ~0 ({variance:.1e}) on the example"),
                    output)
        if abs(variance - 1.0) <= tolerance or iteration == max_iterations:
            break
        scale = variance ** -0.5
        weight.mul_(scale)
        factor *= scale
        output = module.forward(*args)
    note = "" if abs(variance - 1.0) <= tolerance else (
        f"did not converge: output variance {variance:.3g} after {max_iterations} iterations")
    return Calibration(factor, variance, iteration, note), output

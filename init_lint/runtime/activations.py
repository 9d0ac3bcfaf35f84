"""Recognizing activations, layers and pass-through operations on live torch objects.

This module owns the translation from torch objects to the names ``init_lint.knowledge``
uses: an activation given as a module instance (``nn.LeakyReLU(0.2)``), a class
(``nn.Tanh``), a function (``F.gelu``, ``torch.tanh``, ``functools.partial(F.leaky_relu,
negative_slope=0.2)``), a tensor method (``torch.Tensor.relu`` or the method name of an fx
``call_method`` node) or a string (``"gelu"``) becomes an ``ActivationSpec``; modules and
functions are classified as parametric layers, normalizations and pass-through operations.
Which activations exist and what their gains are stays in ``knowledge``; nothing here
knows a number.
"""

from __future__ import annotations

import functools
import importlib
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from init_lint import knowledge

#: Strings that mean "no activation" (the layer's output is used linearly).
LINEAR_NAMES: frozenset[str] = frozenset({"linear", "identity", "none"}) | (
    knowledge.TORCH_GAIN_NAMES - {"sigmoid", "tanh", "relu", "leaky_relu", "selu"}
)

#: On a live graph, joins (torch.cat of branches) pass a layer's signal on like reshapes.
_EXTRA_PASS_THROUGH_FUNCTIONS: tuple[str, ...] = tuple(sorted(knowledge.MERGE_FUNCTIONS))
#: Operations whose result has the layer's output added to another tensor: a residual sum.
_ADD_FUNCTIONS: tuple[Callable[..., Any], ...] = (operator.add, operator.iadd, torch.add)
_ADD_METHODS: frozenset[str] = frozenset({"add", "add_"})
#: Operations that only read metadata: their users do not carry the layer's signal.
_METADATA_FUNCTIONS: tuple[Callable[..., Any], ...] = (getattr, len)
_METADATA_METHODS: frozenset[str] = frozenset({"size", "dim", "numel", "ndimension", "type"})
_OUTPUT_FUNCTIONS: tuple[str, ...] = tuple(sorted(knowledge.OUTPUT_FUNCTIONS))
_OUTPUT_MODULES: frozenset[str] = knowledge.OUTPUT_MODULES
_OUTPUT_METHODS: frozenset[str] = knowledge.OUTPUT_METHODS

_LAYER_TYPES: tuple[type[nn.Module], ...] = (
    nn.Linear, nn.Bilinear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
    nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
)


@dataclass(frozen=True)
class ActivationSpec:
    """An activation as ``knowledge`` names it: ``name`` is a key of
    ``knowledge.ACTIVATIONS`` or ``None`` for no activation (linear); ``param`` is the
    negative slope of leaky variants (``None``: the activation's default)."""

    name: str | None
    param: float | None = None

    def describe(self) -> str:
        """``"relu"``, ``"leaky_relu(0.2)"``, ``"linear"``."""
        if self.name is None:
            return "linear"
        if self.param is None:
            return self.name
        return f"{self.name}({knowledge.format_number(self.param)})"


LINEAR = ActivationSpec(None)


def accepted_names() -> list[str]:
    """The activation names ``resolve_activation`` accepts, for error messages."""
    return sorted(knowledge.ACTIVATIONS) + ["linear"]


def _resolve_qualified_name(qualified: str) -> object | None:
    """``"torch.nn.functional.relu"`` or ``"torch.Tensor.relu"`` -> the object, if any."""
    parts = qualified.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute, None)
            if obj is None:
                return None
        return obj
    return None


def _objects_by_identity(qualified_names: dict[str, str]) -> dict[int, tuple[object, str]]:
    table: dict[int, tuple[object, str]] = {}
    for qualified, value in qualified_names.items():
        obj = _resolve_qualified_name(qualified)
        if obj is not None:
            table[id(obj)] = (obj, value)
    return table


@functools.lru_cache(maxsize=1)
def _activation_functions() -> dict[int, tuple[object, str]]:
    names = dict(knowledge.ACTIVATION_FUNCTIONS)
    for method, name in knowledge.ACTIVATION_METHODS.items():
        names[f"torch.Tensor.{method}"] = name
    return _objects_by_identity(names)


@functools.lru_cache(maxsize=1)
def _pass_through_functions() -> dict[int, tuple[object, str]]:
    names = {q: q for q in knowledge.PASS_THROUGH_FUNCTIONS}
    names.update({q: q for q in _EXTRA_PASS_THROUGH_FUNCTIONS})
    return _objects_by_identity(names)


@functools.lru_cache(maxsize=1)
def _output_functions() -> dict[int, tuple[object, str]]:
    return _objects_by_identity({q: q for q in _OUTPUT_FUNCTIONS})


def _lookup(table: dict[int, tuple[object, str]], obj: object) -> str | None:
    entry = table.get(id(obj))
    return entry[1] if entry is not None and entry[0] is obj else None


def _class_names(cls: type) -> list[str]:
    return [klass.__name__ for klass in cls.__mro__]


def activation_class_name(cls: type) -> str | None:
    """The canonical activation name of a module class (or of a base class), if any."""
    for name in _class_names(cls):
        if name in knowledge.ACTIVATION_MODULES:
            return knowledge.ACTIVATION_MODULES[name]
    return None


def activation_of_module(module: nn.Module) -> ActivationSpec | None:
    """The activation a module instance applies, with its slope where it has one."""
    name = activation_class_name(type(module))
    if name is None:
        return None
    return ActivationSpec(name, _module_parameter(module))


def _module_parameter(module: nn.Module) -> float | None:
    if isinstance(module, nn.LeakyReLU):
        return float(module.negative_slope)
    if isinstance(module, nn.PReLU):
        return float(module.weight.detach().float().mean())
    if isinstance(module, nn.RReLU):
        return (float(module.lower) + float(module.upper)) / 2
    return None


def activation_of_function(function: object, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> ActivationSpec | None:
    """The activation a function applies when called with ``args``/``kwargs`` (the slope
    of ``F.leaky_relu(x, 0.2)`` is read from them; ``args`` include the input)."""
    kwargs = kwargs or {}
    if isinstance(function, functools.partial):
        merged = {**function.keywords, **kwargs}
        return activation_of_function(function.func, tuple(function.args) + args, merged)
    name = _lookup(_activation_functions(), function)
    if name is None:
        return None
    param: float | None = None
    if name == "leaky_relu":
        slope = kwargs.get("negative_slope", args[1] if len(args) > 1 else None)
        param = float(slope) if isinstance(slope, int | float) else None
    return ActivationSpec(name, param)


def activation_of_method(method: str) -> ActivationSpec | None:
    """The activation a tensor method applies (``x.relu()``: the name of a call_method)."""
    name = knowledge.ACTIVATION_METHODS.get(method)
    return ActivationSpec(name) if name is not None else None


def resolve_activation(activation: object) -> ActivationSpec:
    """Turn any way of naming an activation into an ``ActivationSpec``.

    Args:
        activation: a module instance (``nn.LeakyReLU(0.2)``: the slope is kept), a module
            class (``nn.Tanh``), a function (``F.gelu``, ``torch.tanh``, ``F.leaky_relu``:
            default slope; a ``functools.partial`` with ``negative_slope=``), a tensor
            method (``torch.Tensor.relu``), a name (``"gelu"``, ``"LeakyReLU"``) or ``None``
            / ``"linear"`` / ``nn.Identity`` for no activation.

    Raises:
        ValueError: for anything else, naming the accepted activations.

    Examples:
        >>> resolve_activation(nn.LeakyReLU(0.2))
        ActivationSpec(name='leaky_relu', param=0.2)
        >>> resolve_activation("gelu")
        ActivationSpec(name='gelu', param=None)
    """
    if activation is None:
        return LINEAR
    if isinstance(activation, str):
        return _resolve_string(activation)
    if isinstance(activation, nn.Module):
        if isinstance(activation, nn.Identity):
            return LINEAR
        spec = activation_of_module(activation)
    elif isinstance(activation, type) and issubclass(activation, nn.Module):
        if issubclass(activation, nn.Identity):
            return LINEAR
        name = activation_class_name(activation)
        spec = ActivationSpec(name) if name is not None else None
    else:
        spec = activation_of_function(activation)
    if spec is None:
        raise _unknown(activation)
    return spec


def _resolve_string(text: str) -> ActivationSpec:
    key = text.strip()
    lowered = key.lower()
    if lowered in LINEAR_NAMES:
        return LINEAR
    if lowered in knowledge.ACTIVATIONS:
        return ActivationSpec(lowered)
    for module_name, name in knowledge.ACTIVATION_MODULES.items():
        if module_name.lower() == lowered:
            return ActivationSpec(name)
    raise _unknown(text)


def _unknown(activation: object) -> ValueError:
    return ValueError(
        f"unknown activation {activation!r}: init-lint knows {', '.join(accepted_names())} "
        "(pass a module such as nn.LeakyReLU(0.2), a class such as nn.Tanh, a function "
        "such as F.gelu, one of these names, or None for no activation)"
    )


# --- classification of modules and graph operations -------------------------------------


def is_layer(module: nn.Module) -> bool:
    """A Linear, Bilinear, Conv* or ConvTranspose* layer (lazy ones once materialized)."""
    if not isinstance(module, _LAYER_TYPES):
        return False
    weight = getattr(module, "weight", None)
    return isinstance(weight, torch.Tensor) and not isinstance(
        weight, nn.parameter.UninitializedParameter
    )


def is_layer_type(module: nn.Module) -> bool:
    """Like ``is_layer`` but true for lazy layers that are not materialized yet."""
    return isinstance(module, _LAYER_TYPES)


def is_norm(module: nn.Module) -> bool:
    return any(name in knowledge.NORM_MODULES for name in _class_names(type(module)))


def is_pass_through_module(module: nn.Module) -> bool:
    return any(name in knowledge.PASS_THROUGH_MODULES for name in _class_names(type(module)))


def is_output_module(module: nn.Module) -> bool:
    return any(name in _OUTPUT_MODULES for name in _class_names(type(module)))


def is_pass_through_function(function: object) -> bool:
    """Dropout, pooling, reshaping, indexing (``x[:, 0]``), concatenation."""
    return function is operator.getitem or _lookup(_pass_through_functions(), function) is not None


def is_pass_through_method(method: str) -> bool:
    return method in knowledge.PASS_THROUGH_METHODS


def is_add_function(function: object) -> bool:
    return any(function is f for f in _ADD_FUNCTIONS)


def is_add_method(method: str) -> bool:
    return method in _ADD_METHODS


def is_metadata_function(function: object) -> bool:
    return any(function is f for f in _METADATA_FUNCTIONS)


def is_metadata_method(method: str) -> bool:
    return method in _METADATA_METHODS


def is_output_function(function: object) -> bool:
    return _lookup(_output_functions(), function) is not None


def is_output_method(method: str) -> bool:
    return method in _OUTPUT_METHODS


def describe_layer(module: nn.Module) -> str:
    """``Linear(784, 512)``, ``Conv2d(3, 64, k=3)``: the type and the shape that matters."""
    kind = type(module).__name__
    if isinstance(module, nn.Linear):
        return f"{kind}({module.in_features}, {module.out_features})"
    if isinstance(module, nn.Bilinear):
        return f"{kind}({module.in1_features}, {module.in2_features}, {module.out_features})"
    if isinstance(module, nn.modules.conv._ConvNd):
        size = "x".join(str(k) for k in module.kernel_size)
        return f"{kind}({module.in_channels}, {module.out_channels}, k={size})"
    return kind

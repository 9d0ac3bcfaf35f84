"""Which activation follows each layer of a live model: torch.fx, forward hooks, Sequential.

This module owns the runtime twin of the static analysis' pairing (DESIGN.md, "Pairing"):
for every Linear/Conv*/ConvTranspose* layer of an ``nn.Module`` it finds what the layer's
output goes through next, by one of three methods, best first:

``fx``
    a ``torch.fx`` symbolic trace. From each ``call_module`` node of a layer it follows the
    node's users: dropout, pooling, flatten/view/reshape-like operations and identity are
    skipped, a normalization module is recorded and skipped, an activation (module,
    function such as ``F.relu`` or method such as ``x.relu()``) ends the path, and another
    layer, the model's output, softmax or a residual addition mean "linear".
``hooks``
    forward hooks on one run of an example input. A consumer of the layer's output is a
    module whose input *is* that output tensor (same storage and version counter, so views
    count and invisible in-place changes do not); functional operations are invisible, so
    a layer whose output only goes through them stays unknown.
``sequential``
    the order of ``nn.Sequential`` items (nested Sequentials flattened). The last item of
    a Sequential is followed by something only the root model knows: it is linear when
    the Sequential is the model itself, unknown otherwise.

Paths that disagree (two users, one through ReLU, one not) or that reach anything
unrecognized give "unknown": precision first, as in the static analysis.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.fx as fx
from torch import Tensor, nn

from init_lint.runtime.activations import (
    LINEAR,
    ActivationSpec,
    activation_class_name,
    activation_of_function,
    activation_of_method,
    activation_of_module,
    is_add_function,
    is_add_method,
    is_layer,
    is_layer_type,
    is_metadata_function,
    is_metadata_method,
    is_norm,
    is_output_function,
    is_output_method,
    is_output_module,
    is_pass_through_function,
    is_pass_through_method,
    is_pass_through_module,
)

Method = Literal["fx", "hooks", "sequential"]


@dataclass(frozen=True)
class Pairing:
    """What one layer's output goes through.

    ``activation`` is ``None`` when it is unknown (``reason`` says why), ``LINEAR``
    (``ActivationSpec(None)``) when nothing nonlinear follows. ``norm`` is the qualified
    name of a normalization module in between, ``activation_site`` where the activation
    runs (an fx node name, or the index of a hooked call) for the audit's dead-unit count.
    """

    layer: str
    activation: ActivationSpec | None
    method: Method
    norm: str | None = None
    reason: str = ""
    activation_site: str | int | None = None

    @property
    def known(self) -> bool:
        return self.activation is not None


@dataclass(frozen=True)
class _Outcome:
    activation: ActivationSpec | None  # None: unknown
    norm: str | None = None
    site: str | int | None = None
    reason: str = ""


def _merge(layer: str, method: Method, outcomes: list[_Outcome], empty_reason: str) -> Pairing:
    if not outcomes:
        return Pairing(layer, None, method, reason=empty_reason)
    for outcome in outcomes:
        if outcome.activation is None:
            return Pairing(layer, None, method, outcome.norm, outcome.reason)
    kinds = {(o.activation.name, o.activation.param) for o in outcomes if o.activation}
    if len(kinds) > 1:
        seen = ", ".join(sorted({o.activation.describe() for o in outcomes if o.activation}))
        return Pairing(layer, None, method, reason=f"its output goes several ways ({seen})")
    first = outcomes[0]
    norm = next((o.norm for o in outcomes if o.norm is not None), None)
    sites = {o.site for o in outcomes}
    site = first.site if len(sites) == 1 else None
    return Pairing(layer, first.activation, method, norm, activation_site=site)


# --- torch.fx -----------------------------------------------------------------------------


class _Tracer(fx.Tracer):
    """Keeps layers, activations and normalizations as leaves even when a user subclass
    or a custom activation class (``class Swish(nn.Module)``) lives outside torch.nn."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if is_layer_type(m) or is_norm(m) or activation_class_name(type(m)) is not None:
            return True
        return bool(super().is_leaf_module(m, module_qualified_name))


def trace(model: nn.Module) -> tuple[fx.GraphModule | None, str]:
    """A symbolic trace of ``model`` (layers and activations as leaves), or ``None`` and
    the one-line reason it does not trace (data-dependent control flow, ...)."""
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # noqa: BLE001 - any failure means "not traceable"
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return None, f"{type(exc).__name__}: {first_line}"[:200]
    return fx.GraphModule(tracer.root, graph), ""


def _follow_fx(gm: fx.GraphModule, node: fx.Node, norm: str | None,
               seen: set[str]) -> list[_Outcome]:
    outcomes: list[_Outcome] = []
    for user in node.users:
        if user.name in seen:
            continue
        seen.add(user.name)
        outcomes += _classify_fx(gm, user, node, norm, seen)
    return outcomes


def _classify_fx(gm: fx.GraphModule, user: fx.Node, source: fx.Node, norm: str | None,
                 seen: set[str]) -> list[_Outcome]:
    if user.op == "output":
        return [_Outcome(LINEAR, norm)]
    if user.op == "call_module":
        target = str(user.target)
        module = gm.get_submodule(target)
        spec = activation_of_module(module)
        if spec is not None:
            return [_Outcome(spec, norm, user.name)]
        if is_layer_type(module) or is_output_module(module):
            return [_Outcome(LINEAR, norm)]
        if is_norm(module):
            return _follow_fx(gm, user, target, seen)
        if is_pass_through_module(module):
            return _follow_fx(gm, user, norm, seen)
        return [_Outcome(None, norm, reason=f"its output goes into {type(module).__name__} "
                                             f"({target})")]
    if user.op == "call_function":
        function = user.target
        if user.args and user.args[0] is source:
            spec = activation_of_function(function, tuple(user.args), dict(user.kwargs))
            if spec is not None:
                return [_Outcome(spec, norm, user.name)]
        if is_output_function(function) or is_add_function(function):
            return [_Outcome(LINEAR, norm)]
        if is_pass_through_function(function):
            return _follow_fx(gm, user, norm, seen)
        if is_metadata_function(function):
            return []
        name = getattr(function, "__name__", repr(function))
        return [_Outcome(None, norm, reason=f"its output goes into {name}()")]
    if user.op == "call_method":
        method = str(user.target)
        spec = activation_of_method(method) if user.args and user.args[0] is source else None
        if spec is not None:
            return [_Outcome(spec, norm, user.name)]
        if is_output_method(method) or is_add_method(method):
            return [_Outcome(LINEAR, norm)]
        if is_pass_through_method(method):
            return _follow_fx(gm, user, norm, seen)
        if is_metadata_method(method):
            return []
        return [_Outcome(None, norm, reason=f"its output goes into .{method}()")]
    return [_Outcome(None, norm, reason=f"its output goes into a {user.op} node")]


@dataclass(frozen=True)
class NodePairing:
    """The pairing of one call of a layer in an fx graph (a layer may be called twice)."""

    node: str
    pairing: Pairing


def pair_graph(gm: fx.GraphModule) -> list[NodePairing]:
    """One ``NodePairing`` per ``call_module`` node of a layer, in graph order."""
    result: list[NodePairing] = []
    for node in gm.graph.nodes:
        if node.op != "call_module":
            continue
        target = str(node.target)
        if not is_layer_type(gm.get_submodule(target)):
            continue
        outcomes = _follow_fx(gm, node, None, set())
        result.append(NodePairing(node.name, _merge(target, "fx", outcomes,
                                                    "its output is not used")))
    return result


def pair_with_fx(model: nn.Module) -> tuple[dict[str, Pairing] | None, str]:
    """Pairings from a symbolic trace; ``(None, reason)`` when the model does not trace."""
    gm, reason = trace(model)
    if gm is None:
        return None, reason
    by_layer: dict[str, list[Pairing]] = {}
    for node_pairing in pair_graph(gm):
        by_layer.setdefault(node_pairing.pairing.layer, []).append(node_pairing.pairing)
    result: dict[str, Pairing] = {}
    for layer, pairings in by_layer.items():
        if len(pairings) == 1:
            result[layer] = pairings[0]
            continue
        outcomes = [_Outcome(p.activation, p.norm, reason=p.reason) for p in pairings]
        merged = _merge(layer, "fx", outcomes, "")
        if merged.known:
            merged = Pairing(layer, merged.activation, "fx", merged.norm)
        result[layer] = merged
    called = {str(node.target) for node in gm.graph.nodes if node.op == "call_module"}
    for name, module in model.named_modules():
        if not is_layer_type(module) or name in result:
            continue
        container = next((c for c in sorted(called, key=len, reverse=True)
                          if name.startswith(c + ".")), None)
        if container is not None:
            kind = type(gm.get_submodule(container)).__name__
            result[name] = Pairing(name, None, "fx", reason=f"it runs inside {container} "
                                   f"({kind}), which torch.fx keeps as one opaque module")
    return result, ""


# --- forward hooks ------------------------------------------------------------------------

_Key = tuple[int, int]  # (data_ptr, version counter): one state of one tensor


def tensors_in(value: object) -> Iterator[Tensor]:
    """Every tensor in a (nested) tuple/list/dict of module inputs or outputs."""
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)


def _keys(value: object) -> list[_Key]:
    return [(t.data_ptr(), t._version) for t in tensors_in(value) if t.data_ptr() != 0]


@dataclass
class HookedCall:
    """One module call seen by ``ExecutionRecorder``, in execution order."""

    index: int
    name: str
    module: nn.Module
    inputs: list[_Key]
    outputs: list[_Key] = field(default_factory=list)
    keep_alive: list[object] = field(default_factory=list)
    layer_output: Tensor | None = None  # the layer's own output (audit: before the clone)
    snapshot: Tensor | None = None  # an activation's output, copied when it was produced


def _watched_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Leaves, plus layers/activations/normalizations (whose children are then skipped)."""
    watched: list[tuple[str, nn.Module]] = []
    closed: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(prefix + ".") for prefix in closed):
            continue
        terminal = (is_layer_type(module) or is_norm(module) or is_pass_through_module(module)
                    or activation_class_name(type(module)) is not None
                    or is_output_module(module))
        if terminal:
            closed.append(name)
        if terminal or not any(True for _ in module.children()):
            if module is not model or terminal:
                watched.append((name, module))
    return watched


class ExecutionRecorder:
    """Forward (pre-)hooks on every watched module of ``model`` while in a ``with`` block.

    ``calls`` lists the calls in execution order with the (pointer, version) keys of their
    input and output tensors; every recorded tensor is kept alive so that no pointer is
    reused during the run. With ``clone_layer_outputs`` the layer's own output is kept in
    ``layer_output`` and the rest of the model sees a clone (so an in-place activation
    cannot overwrite the pre-activation, and gradients reach it); with
    ``snapshot_activations`` every activation module's output is copied when produced.
    """

    def __init__(self, model: nn.Module, *, clone_layer_outputs: bool = False,
                 snapshot_activations: bool = False) -> None:
        self.model = model
        self.clone_layer_outputs = clone_layer_outputs
        self.snapshot_activations = snapshot_activations
        self.calls: list[HookedCall] = []
        self._open: dict[int, list[HookedCall]] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def __enter__(self) -> ExecutionRecorder:
        for name, module in _watched_modules(self.model):
            self._handles.append(module.register_forward_pre_hook(self._pre_hook(name)))
            self._handles.append(module.register_forward_hook(self._post_hook()))
        return self

    def __exit__(self, *exc_info: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _pre_hook(self, name: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...]) -> None:
            call = HookedCall(len(self.calls), name, module, _keys(args), keep_alive=[args])
            self.calls.append(call)
            self._open.setdefault(id(module), []).append(call)
        return hook

    def _post_hook(self) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
            stack = self._open.get(id(module))
            if not stack:
                return None
            call = stack.pop()
            replacement = None
            if self.clone_layer_outputs and is_layer(module) and isinstance(output, Tensor):
                call.layer_output = output
                replacement = output.clone()
                output = replacement
            elif (self.snapshot_activations and isinstance(output, Tensor)
                  and activation_class_name(type(module)) is not None):
                call.snapshot = output.detach().clone()
            call.outputs = _keys(output)
            call.keep_alive.append(output)
            return replacement
        return hook


def pair_calls(calls: list[HookedCall], model_output: object) -> dict[int, Pairing]:
    """For each recorded layer call (by index), what its output goes through."""
    produced: set[_Key] = {key for call in calls for key in call.outputs}
    output_keys = set(_keys(model_output))
    result: dict[int, Pairing] = {}
    for call in calls:
        if not is_layer(call.module):
            continue
        result[call.index] = _merge(call.name, "hooks", _follow_calls(call, calls, produced,
                                                                      output_keys),
                                    "its output only goes through operations that forward "
                                    "hooks cannot see (functional calls)")
    return result


def _follow_calls(layer_call: HookedCall, calls: list[HookedCall], produced: set[_Key],
                  output_keys: set[_Key]) -> list[_Outcome]:
    tracked = set(layer_call.outputs)
    norm: str | None = None
    outcomes: list[_Outcome] = []
    for call in calls[layer_call.index + 1:]:
        tracked_pointers = {pointer for pointer, _ in tracked}
        if not any(key in tracked for key in call.inputs):
            if any(key[0] in tracked_pointers and key not in produced for key in call.inputs):
                outcomes.append(_Outcome(None, reason="its output is changed in place by an "
                                                      "operation forward hooks cannot see"))
            continue
        module = call.module
        spec = activation_of_module(module)
        if spec is not None:
            outcomes.append(_Outcome(spec, norm, call.index))
        elif is_layer_type(module) or is_output_module(module):
            outcomes.append(_Outcome(LINEAR, norm))
        elif is_norm(module):
            norm = call.name
            tracked |= set(call.outputs)
        elif is_pass_through_module(module):
            tracked |= set(call.outputs)
        else:
            outcomes.append(_Outcome(None, norm, reason=f"its output goes into "
                                                        f"{type(module).__name__} ({call.name})"))
    if tracked & output_keys:
        outcomes.append(_Outcome(LINEAR, norm))
    return outcomes


def pair_with_hooks(model: nn.Module, example_input: object) -> dict[str, Pairing]:
    """Pairings from one run of ``model`` on ``example_input`` (no gradients)."""
    with torch.no_grad(), ExecutionRecorder(model) as recorder:
        output = call_model(model, example_input)
    by_layer: dict[str, list[Pairing]] = {}
    for pairing in pair_calls(recorder.calls, output).values():
        by_layer.setdefault(pairing.layer, []).append(pairing)
    result: dict[str, Pairing] = {}
    for layer, pairings in by_layer.items():
        outcomes = [_Outcome(p.activation, p.norm, reason=p.reason) for p in pairings]
        merged = _merge(layer, "hooks", outcomes, "")
        result[layer] = Pairing(layer, merged.activation, "hooks", merged.norm, merged.reason)
    return result


def call_model(model: nn.Module, example_input: object) -> Any:
    """``model(*example_input)`` for a tuple, ``model(**x)`` for a dict, else ``model(x)``."""
    if isinstance(example_input, tuple):
        return model(*example_input)
    if isinstance(example_input, dict):
        return model(**example_input)
    return model(example_input)


# --- nn.Sequential order ------------------------------------------------------------------


def _flatten_sequential(prefix: str, sequential: nn.Sequential) -> list[tuple[str, nn.Module]]:
    items: list[tuple[str, nn.Module]] = []
    for child_name, child in sequential.named_children():
        name = f"{prefix}.{child_name}" if prefix else child_name
        if isinstance(child, nn.Sequential):
            items += _flatten_sequential(name, child)
        else:
            items.append((name, child))
    return items


def pair_with_sequential(model: nn.Module) -> dict[str, Pairing]:
    """Pairings from the order of ``nn.Sequential`` items."""
    result: dict[str, Pairing] = {}
    modules = dict(model.named_modules())
    for name, module in modules.items():
        if not isinstance(module, nn.Sequential):
            continue
        parent = modules.get(name.rpartition(".")[0]) if name else None
        if isinstance(parent, nn.Sequential):
            continue  # flattened into its parent
        items = _flatten_sequential(name, module)
        for position, (item_name, item) in enumerate(items):
            if is_layer_type(item):
                result[item_name] = _pair_in_sequence(item_name, items[position + 1:],
                                                      is_root=module is model, container=name)
    return result


def _pair_in_sequence(layer: str, rest: list[tuple[str, nn.Module]], *, is_root: bool,
                      container: str) -> Pairing:
    norm: str | None = None
    for name, module in rest:
        spec = activation_of_module(module)
        if spec is not None:
            return Pairing(layer, spec, "sequential", norm)
        if is_layer_type(module) or is_output_module(module):
            return Pairing(layer, LINEAR, "sequential", norm)
        if is_norm(module):
            norm = name
        elif not is_pass_through_module(module):
            return Pairing(layer, None, "sequential", norm,
                           f"it is followed by {type(module).__name__} ({name})")
    if is_root:
        return Pairing(layer, LINEAR, "sequential", norm)
    return Pairing(layer, None, "sequential", norm,
                   f"it ends nn.Sequential {container!r}, whose output goes where only "
                   "forward() knows")


# --- the cascade --------------------------------------------------------------------------


@dataclass(frozen=True)
class PairingResult:
    """Pairings for every layer of a model, and how they were found."""

    pairings: dict[str, Pairing]
    method: Method
    trace_error: str = ""


def find_activations(model: nn.Module, example_input: object = None) -> PairingResult:
    """Pair every layer of ``model``: fx when it traces, else hooks on ``example_input``
    (with Sequential order for what hooks cannot see), else Sequential order alone."""
    layers = [name for name, module in model.named_modules() if is_layer_type(module)]
    found, trace_error = pair_with_fx(model)
    method: Method = "fx"
    if found is None:
        sequential = pair_with_sequential(model)
        if example_input is not None:
            method = "hooks"
            found = pair_with_hooks(model, example_input)
            for name, pairing in sequential.items():
                if pairing.known and not (name in found and found[name].known):
                    found[name] = pairing
        else:
            method = "sequential"
            found = sequential
    pairings: dict[str, Pairing] = {}
    for name in layers:
        if name in found:
            pairings[name] = found[name]
        elif method == "fx":
            pairings[name] = Pairing(name, None, "fx", reason="forward() never calls it")
        elif method == "hooks":
            pairings[name] = Pairing(name, None, "hooks",
                                     reason="it did not run on the example input")
        else:
            pairings[name] = Pairing(name, None, "sequential",
                                     reason=f"the model does not trace with torch.fx "
                                            f"({trace_error}) and no example input was given")
    return PairingResult(pairings, method, trace_error)

"""Pairing: what each layer's output goes through next, followed through ``forward``.

Tensors carry ``Origin``s (the layers whose outputs they hold). Applying an activation
sets the origin's activation; a normalization before it marks it ``normed``; the first
consumer (another layer, the model's output, a residual addition, a gate, an unknown call)
ends the origin and records a ``Use`` for its layer. Pass-through operations (dropout,
pooling, reshapes) keep the origins. Anything unknown ends them as unknown.
"""

from __future__ import annotations

from init_lint.analysis.graph import LINEAR, UNKNOWN_ACT, Act, Consumer, Use
from init_lint.analysis.state import AnalysisState
from init_lint.analysis.values import (
    EMPTY_TENSOR,
    ModuleObj,
    Origin,
    Param,
    Tensor,
    TensorRef,
    Value,
    options,
)
from init_lint.knowledge import ACTIVATIONS, Family

_CHAIN_CAP = 32


def tensor_origins(value: Value) -> frozenset[Origin]:
    """All origins a value (or any of its options) carries."""
    found: set[Origin] = set()
    for option in options(value):
        if isinstance(option, Tensor):
            found |= option.origins
    return frozenset(found)


#: An ancestor "key" meaning: a submodule we cannot see ran upstream (it may normalize).
MAYBE_NORMALIZED = -1


def tensor_ancestors(value: Value) -> frozenset[int]:
    found: set[int] = set()
    for option in options(value):
        if isinstance(option, Tensor):
            found |= option.ancestors
    return frozenset(found)


def _is_rectifier(act: Act | None) -> bool:
    if act is None or act.name is None:
        return False
    info = ACTIVATIONS.get(act.name)
    return info is not None and info.family is Family.RECTIFIER


def _plain_tensor(left: Value, right: Value) -> Value:
    """The result of arithmetic on values that carry no layer output."""
    from init_lint.analysis.values import UNKNOWN

    if isinstance(left, Tensor) or isinstance(right, Tensor):
        return EMPTY_TENSOR
    return UNKNOWN


class FlowMixin(AnalysisState):
    """Tensor operations of the interpreter."""

    def consume(self, value: Value, consumer: Consumer, next_layer: int | None = None) -> None:
        """End every origin of ``value`` at ``consumer``, recording a use for each layer."""
        for origin in tensor_origins(value):
            act = origin.act
            if act is None:
                act = UNKNOWN_ACT if consumer is Consumer.UNKNOWN else LINEAR
            chain: tuple[int, ...] = ()
            if _is_rectifier(act) and not origin.normed:
                chain = (origin.chain + (origin.key,))[-_CHAIN_CAP:]
            self.record_use(origin.key, Use(act, origin.normed, consumer, next_layer, chain))

    def apply_layer(self, key: int, inputs: Value) -> Tensor:
        """A parametric layer takes ``inputs``: they are consumed; its output starts."""
        self.consume(inputs, Consumer.LAYER, key)
        chain: tuple[int, ...] = ()
        for origin in tensor_origins(inputs):
            if _is_rectifier(origin.act) and not origin.normed:
                candidate = (origin.chain + (origin.key,))[-_CHAIN_CAP:]
                if len(candidate) > len(chain):
                    chain = candidate
        ancestors = tensor_ancestors(inputs) | {o.key for o in tensor_origins(inputs)}
        if MAYBE_NORMALIZED in ancestors:
            self.maybe_normalized.add(key)
        return Tensor(frozenset({Origin(key, None, False, chain)}), frozenset(ancestors))

    def apply_activation(self, act: Act, value: Value) -> Value:
        if not isinstance(value, Tensor):
            return EMPTY_TENSOR if value is None else value
        return Tensor(frozenset(
            o if o.act is not None else Origin(o.key, act, o.normed, o.chain)
            for o in value.origins
        ), value.ancestors)

    def apply_norm(self, value: Value) -> Value:
        """A normalization: marks the enclosing modules normalizing and the origins normed."""
        for container in self.container_stack:
            if not any(container is c for c in self.normalizing):
                self.normalizing.append(container)
        if not isinstance(value, Tensor):
            return EMPTY_TENSOR
        return Tensor(frozenset(
            Origin(o.key, o.act, True, o.chain) if o.act is None else o for o in value.origins
        ), value.ancestors)

    def merge_tensors(self, values: list[Value]) -> Tensor:
        """Concatenation and other unions that keep every origin flowing."""
        found: set[Origin] = set()
        for v in values:
            found |= tensor_origins(v)
        return Tensor(frozenset(found), frozenset().union(*[tensor_ancestors(v) for v in values]))

    def add(self, left: Value, right: Value) -> Value:
        """``a + b``: a sum of two fresh projections flows on; otherwise a residual."""
        lo, ro = tensor_origins(left), tensor_origins(right)
        if not lo and not ro:
            return _plain_tensor(left, right)
        if lo and ro and all(o.act is None for o in lo | ro):
            la, ra = tensor_ancestors(left), tensor_ancestors(right)
            if not ({o.key for o in lo} & ra or {o.key for o in ro} & la):
                return Tensor(lo | ro, la | ra)  # a sum of two projections of other inputs
        for side, other in ((left, right), (right, left)):
            if tensor_origins(side) and self._is_bias_like(other):
                return side
        self.consume(left, Consumer.RESIDUAL)
        self.consume(right, Consumer.RESIDUAL)
        return EMPTY_TENSOR

    @staticmethod
    def _is_bias_like(value: Value) -> bool:
        from init_lint.analysis.values import Const

        return all(isinstance(o, (Const, Param, TensorRef)) for o in options(value))

    def multiply(self, left: Value, right: Value) -> Value:
        """``a * b``: scaling by a constant or parameter flows on; two tensors gate."""
        from init_lint.analysis.values import UNKNOWN, Const

        for side, other in ((left, right), (right, left)):
            if tensor_origins(side) and all(
                isinstance(o, (Const, Param, TensorRef)) or o is UNKNOWN for o in options(other)
            ):
                self.mark_scaled_raw(side)
                if any(o is UNKNOWN for o in options(other)):
                    break
                return side
        if not tensor_origins(left) and not tensor_origins(right):
            return _plain_tensor(left, right)
        self.consume(left, Consumer.GATE)
        self.consume(right, Consumer.GATE)
        return EMPTY_TENSOR

    def mark_scaled_raw(self, value: Value) -> None:
        """``(x @ W) * s``: a raw weight whose product is rescaled right away has an
        effective scale we cannot know (as when ``W * s`` is the operand): not a weight."""
        for origin in tensor_origins(value):
            rec = self.records.get(origin.key)
            if rec is not None and rec.is_raw and origin.act is None:
                rec.scaled_output = True

    def matmul(self, left: Value, right: Value) -> Value:
        """``x @ W``: a raw parameter as a direct operand is a weight; else attention-like."""
        if isinstance(right, Param):
            return self.use_raw_weight(right, left, transposed=True)
        if isinstance(left, Param):
            return self.use_raw_weight(left, right, transposed=False)
        if isinstance(right, TensorRef) or isinstance(left, TensorRef):
            self.consume(left, Consumer.OTHER)
            self.consume(right, Consumer.OTHER)
            return EMPTY_TENSOR
        self.consume(left, Consumer.OTHER)
        self.consume(right, Consumer.OTHER)
        return EMPTY_TENSOR

    def use_raw_weight(self, param: Param, inputs: Value, *, transposed: bool | None) -> Tensor:
        """A raw ``nn.Parameter`` used as a weight becomes a layer.

        ``transposed``: ``x @ W`` stores W as (in, out), so torch's fan_in (shape[1]) is the
        output size; ``F.linear(x, W)`` stores (out, in) as nn.Linear does.
        """
        if param.shape is not None and len(param.shape) < 2:
            # `x @ v` with a vector: torch's fan-based inits are undefined for 1-D tensors
            # (attention scores, gates); not a layer weight.
            self.consume(inputs, Consumer.OTHER)
            return EMPTY_TENSOR
        rec = self.records[param.key]
        rec.used_as_weight = True
        shape = param.shape
        if shape is not None and len(shape) > 2 and transposed is False:
            # F.conv*(x, W): W is (out, in / groups, *kernel), torch's own layout and fans
            volume: int | None = 1
            for size in shape[2:]:
                volume = volume * size if volume is not None and size is not None else None
            if volume is not None and shape[0] is not None and shape[1] is not None:
                rec.transposed, rec.fan_in, rec.fan_out = False, shape[1] * volume, (
                    shape[0] * volume)
        elif shape is not None and len(shape) == 2 and transposed is not None:
            fan_in, fan_out = (shape[0], shape[1]) if transposed else (shape[1], shape[0])
            if rec.transposed is None:
                rec.transposed, rec.fan_in, rec.fan_out = transposed, fan_in, fan_out
            elif rec.transposed != transposed:
                rec.fan_in = rec.fan_out = None
        return self.apply_layer(param.key, inputs)

    def unknown_call(self, args: list[Value]) -> Tensor:
        """A call we cannot see into: every origin in its arguments ends unknown."""
        for arg in args:
            self.consume(arg, Consumer.UNKNOWN)
        return EMPTY_TENSOR

    def output(self, value: Value) -> None:
        self.consume(value, Consumer.OUTPUT)

    def is_module(self, value: Value) -> bool:
        return isinstance(value, ModuleObj)

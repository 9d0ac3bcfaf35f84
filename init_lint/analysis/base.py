"""What the interpreter's parts share: frames, constants, and the methods they call
across each other (implemented in ``interpreter``, ``branches``, ``expressions``,
``calls`` and ``modules``; declared here so each part type-checks on its own)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import libcst as cst

from init_lint import knowledge
from init_lint.analysis.flow import FlowMixin
from init_lint.analysis.graph import Spans
from init_lint.analysis.inits import InitMixin
from init_lint.analysis.layers import LayerMixin
from init_lint.analysis.skeleton import Bodies
from init_lint.analysis.values import (
    ClassInfo,
    FuncRef,
    Instance,
    ModuleObj,
    TypeOf,
    Value,
)
from init_lint.analysis.walk import descendants

_MAX_DEPTH = 24
_MAX_UNROLL = 256
_NORM_FUNCTIONS = knowledge.NORM_FUNCTIONS
_MATMUL_FUNCTIONS = frozenset({"torch.matmul", "torch.mm", "torch.bmm"})
_LINEAR_FUNCTIONS = frozenset({"torch.nn.functional.linear"} | {
    f"torch.nn.functional.conv{k}" for k in ("1d", "2d", "3d", "_transpose1d",
                                             "_transpose2d", "_transpose3d")})
_RETURNS_SELF = frozenset({"to", "cuda", "cpu", "train", "eval", "float", "double", "half",
                           "requires_grad_", "type", "bfloat16"})
_BINOPS: dict[type[cst.BaseBinaryOp], Callable[[object, object], object]] = {
    cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
    cst.Divide: operator.truediv, cst.FloorDivide: operator.floordiv, cst.Modulo: operator.mod,
    cst.Power: operator.pow,
}
_COMPARE: dict[type[cst.BaseCompOp], Callable[[Any, Any], object]] = {
    cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le, cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
}
_MATH = {"math.sqrt": math.sqrt, "math.log": math.log, "math.exp": math.exp,
         "numpy.sqrt": math.sqrt, "math.pow": math.pow, "math.prod": math.prod,
         "builtins.abs": abs}
_CONSTANTS = {"math.pi": math.pi, "math.e": math.e, "numpy.pi": math.pi}



class Frame:
    """One function activation: its local names and what it returned."""

    def __init__(self, local: dict[str, Value], closure: dict[str, Value] | None,
                 owner: ClassInfo | None, receiver: Value | None) -> None:
        self.local = local
        self.closure = closure
        self.owner = owner
        self.receiver = receiver
        self.returns: list[Value] = []



class InterpreterBase(FlowMixin, LayerMixin, InitMixin):
    """The interpreter's state; the parts are mixins over it."""

    def __init__(self, module: cst.Module, spans: Spans,
                 aliases: dict[str, str], bodies: Bodies | None = None) -> None:
        super().__init__(module, spans)
        self.aliases = aliases
        self.bodies = bodies if bodies is not None else Bodies()
        self.globals: dict[str, Value] = {}
        self.classes: list[ClassInfo] = []
        self.sites_by_node = {}
        self.path_tables = {}
        self.code_cache = {}
        self.string_cache: dict[int, Value] = {}  # id(str node) -> its value
        self.depth = 0
        self.frames: list[Frame] = []
        self.called: set[int] = set()  # ids of function nodes that ran
        self.instances: list[Instance] = []
        self.module_models: list[ModuleObj] = []
        self.forward_ran: set[int] = set()


    def assign(self, target: cst.BaseExpression, value: Value, frame: Frame) -> None:
        raise NotImplementedError  # interpreter.py

    def binary(self, op: cst.BaseBinaryOp | None, left: Value, right: Value) -> Value:
        raise NotImplementedError  # expressions.py

    def call(self, func: Value, args: list[Value], kwargs: dict[str, Value],
             node: cst.CSTNode) -> Value:
        raise NotImplementedError  # calls.py

    def call_function(self, func: FuncRef, args: list[Value], kwargs: dict[str, Value],
                      receiver: Value | None = None) -> Value:
        raise NotImplementedError  # interpreter.py

    def call_module(self, module: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        raise NotImplementedError  # modules.py

    def compare_one(self, op: cst.BaseCompOp, left: Value, right: Value) -> bool | None:
        raise NotImplementedError  # expressions.py

    def evaluate(self, node: cst.BaseExpression, frame: Frame) -> Value:
        raise NotImplementedError  # expressions.py

    def evaluate_call(self, node: cst.Call, frame: Frame) -> Value:
        raise NotImplementedError  # calls.py

    def exec_block(self, body: object, frame: Frame) -> None:
        raise NotImplementedError  # interpreter.py

    def exec_if(self, node: cst.If, frame: Frame) -> None:
        raise NotImplementedError  # branches.py

    def get_attribute(self, value: Value, name: str) -> Value:
        raise NotImplementedError  # expressions.py

    def instantiate(self, cls: ClassInfo, args: list[Value], kwargs: dict[str, Value]) -> Instance:
        raise NotImplementedError  # interpreter.py

    def isinstance_of(self, value: Value, types: Value) -> bool | None:
        raise NotImplementedError  # expressions.py

    def iterate_for_loop(self, value: Value) -> list[Value] | None:
        raise NotImplementedError  # interpreter.py

    def maybe(self, value: Value) -> Value:
        raise NotImplementedError  # interpreter.py

    def module_method(self, receiver: ModuleObj, name: str, args: list[Value],
                      kwargs: dict[str, Value], node: cst.Call) -> Value:
        raise NotImplementedError  # modules.py

    def modules_of(self, root: Value) -> list[Value]:
        raise NotImplementedError  # modules.py

    def set_attribute(self, receiver: Value, name: str, value: Value) -> None:
        raise NotImplementedError  # interpreter.py

    def super_init(self, instance: Instance, after: ClassInfo, args: list[Value],
                   kwargs: dict[str, Value]) -> None:
        raise NotImplementedError  # interpreter.py

    def truth(self, value: Value) -> bool | None:
        raise NotImplementedError  # expressions.py


def _type_operands(*values: Value) -> list[Value]:
    return [v.of for v in values if isinstance(v, TypeOf)]


def _weight_dim(kind: str) -> int | None:
    if kind.startswith(("Linear", "LazyLinear")):
        return 2
    if kind.startswith("Bilinear"):
        return 3
    if kind[-2:] in ("1d", "2d", "3d") and "Conv" in kind:
        return int(kind[-2]) + 2
    return None


def _conv_dims(kind: str) -> int:
    return int(kind[-2]) if kind[-2:] in ("1d", "2d", "3d") and "Conv" in kind else 0


#: ``_dispatches_on`` needs one of these in the body's text.
_DISPATCH_WORDS = ("isinstance", "type", "__class__")


#: Builtin types: ``isinstance(x, str)`` tells plain values apart, never modules.
_PLAIN_TYPES = frozenset({"str", "bytes", "int", "float", "complex", "bool", "list", "tuple",
                          "dict", "set", "frozenset"})


def _dispatches_on(body: cst.BaseSuite, param: str) -> bool:
    """Does a function's body test ``isinstance(param, ...)``/``type(param)`` or its class
    name? (Not ``isinstance(param, str)``: a function that takes a string or a list, such
    as ESMFold's ``infer_pdb(seqs)``, is no init function a framework applies to modules.)"""
    for child in descendants(body):
        if isinstance(child, cst.Call) and isinstance(child.func, cst.Name) and (
                child.func.value in ("isinstance", "type")) and child.args:
            first = child.args[0].value
            if isinstance(first, cst.Name) and first.value == param and not (
                    child.func.value == "isinstance" and _plain_types(child.args[1:])):
                return True
        if isinstance(child, cst.Attribute) and child.attr.value == "__class__" and isinstance(
                child.value, cst.Name) and child.value.value == param:
            return True
    return False


def _plain_types(args: Sequence[cst.Arg]) -> bool:
    """``isinstance``'s second argument names only builtin types (``str``, ``(list,
    tuple)``)."""
    if len(args) != 1:
        return False
    value = args[0].value
    names = [e.value for e in value.elements] if isinstance(value, cst.Tuple) else [value]
    return bool(names) and all(isinstance(n, cst.Name) and n.value in _PLAIN_TYPES
                               for n in names)


_BUILTINS = frozenset({"range", "len", "isinstance", "type", "super", "zip", "enumerate", "list",
                       "tuple", "reversed", "getattr", "hasattr", "setattr", "int", "float",
                       "abs", "round", "min", "max", "sum", "bool", "str", "dict", "print"})
_MODULE_METHODS = frozenset({"apply", "modules", "named_modules", "children", "named_children",
                             "parameters", "named_parameters", "add_module", "register_module",
                             "register_parameter", "append", "forward", "reset_parameters",
                             "register_buffer"} | _RETURNS_SELF)


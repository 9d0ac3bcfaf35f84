"""Calls: functions of the file, torch and ``torch.nn.init`` functions, builtins, and
the methods of lists, dicts, strings, tensors and parameters."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from init_lint.analysis.base import (
    _LINEAR_FUNCTIONS,
    _MATH,
    _MATMUL_FUNCTIONS,
    _MAX_UNROLL,
    _NORM_FUNCTIONS,
    Frame,
    InterpreterBase,
)
from init_lint.analysis.flow import MAYBE_NORMALIZED, tensor_ancestors
from init_lint.analysis.graph import Act, Consumer
from init_lint.analysis.layers import const_int, literal_int, torch_nn_class
from init_lint.analysis.values import (
    EMPTY_TENSOR,
    NONE,
    UNKNOWN,
    ActMod,
    BoundMethod,
    Choice,
    ClassRef,
    Const,
    DictObj,
    FactoryTensor,
    FuncRef,
    Instance,
    LayerMod,
    ListObj,
    MethodOf,
    ModuleObj,
    Param,
    Partial,
    PassMod,
    QName,
    SeqMod,
    SuperRef,
    Tensor,
    TensorRef,
    TupleV,
    TypeOf,
    Value,
    choice,
    options,
)
from init_lint.knowledge import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_METHODS,
    INITIALIZER_FUNCTIONS,
    MERGE_FUNCTIONS,
    OUTPUT_FUNCTIONS,
    OUTPUT_METHODS,
    PASS_THROUGH_FUNCTIONS,
    PASS_THROUGH_METHODS,
    TENSOR_FACTORIES,
    TENSOR_INIT_METHODS,
    ZERO_MODULE_FUNCTIONS,
)

_NUMERIC_BUILTINS: dict[str, Callable[..., object]] = {
    "int": int, "float": float, "abs": abs, "round": round, "min": min, "max": max,
    "sum": sum, "bool": bool, "str": str,
}


def _is_self_attribute(node: cst.BaseExpression) -> bool:
    return type(node) is cst.Attribute and type(node.value) is cst.Name and (
        node.value.value == "self")


_REPARAMETRIZATIONS = frozenset(
    {"torch.nn.utils.weight_norm", "torch.nn.utils.spectral_norm",
     "torch.nn.utils.parametrizations.weight_norm",
     "torch.nn.utils.parametrizations.spectral_norm",
     "torch.nn.utils.parametrize.register_parametrization"})


class CallMixin(InterpreterBase):
    # --- calls ----------------------------------------------------------------------

    def evaluate_call(self, node: cst.Call, frame: Frame) -> Value:
        func = self.evaluate(node.func, frame)
        values = [self.evaluate(arg.value, frame) for arg in node.args]
        if _is_self_attribute(node.func) and any(
                o is UNKNOWN or isinstance(o, Tensor) for o in options(func)):
            # `self.features(x)` with a submodule we cannot see (passed in, or built by
            # another library): it may normalize, so what its output feeds may be
            # normalized. Its output carries that doubt to every layer downstream.
            result = self.call_with_values(func, node, values)
            doubt = frozenset({MAYBE_NORMALIZED}).union(*map(tensor_ancestors, values))
            return Tensor(result.origins if isinstance(result, Tensor) else frozenset(),
                          (result.ancestors if isinstance(result, Tensor) else frozenset())
                          | doubt)
        forked = [i for i, v in enumerate(values) if isinstance(v, Choice) and all(
            isinstance(o, (ListObj, DictObj)) for o in v.options)]
        if forked and isinstance(func, QName) and len(options(values[forked[0]])) <= 8:
            # nn.Sequential(*layers) where each branch built its own list: one per branch.
            index = forked[0]
            results = []
            for option in options(values[index]):
                chosen = values[:index] + [option] + values[index + 1:]
                results.append(self.call_with_values(func, node, chosen))
            return choice(results)
        return self.call_with_values(func, node, values)

    def call_with_values(self, func: Value, node: cst.Call, values: list[Value]) -> Value:
        args: list[Value] = []
        kwargs: dict[str, Value] = {}
        if len(node.args) == 1 and node.args[0].star == "*" and values:
            self.star_source = (id(node), values[0])  # nn.Sequential(*layers): its layers
        for arg, value in zip(node.args, values, strict=False):
            if arg.star == "*":
                expanded = self.iterate(value)
                args.extend(expanded if expanded is not None else [UNKNOWN])
            elif arg.star == "**":
                if isinstance(value, DictObj):
                    kwargs.update(value.items)
            elif arg.keyword is not None:
                kwargs[arg.keyword.value] = value
            else:
                args.append(value)
        return self.call(func, args, kwargs, node)

    def call(self, func: Value, args: list[Value], kwargs: dict[str, Value],
             node: cst.CSTNode) -> Value:
        if isinstance(func, Choice):
            return choice([self.call(o, args, kwargs, node) for o in func.options])
        if isinstance(func, QName):
            return self.call_qualified(func.name, args, kwargs, node)
        if isinstance(func, ClassRef):
            return self.instantiate(func.cls, args, kwargs)
        if isinstance(func, FuncRef):
            return self.call_function(func, args, kwargs)
        if isinstance(func, BoundMethod):
            return self.call_function(func.func, args, kwargs, receiver=func.receiver)
        if isinstance(func, Partial):
            merged = dict(func.kwargs)
            merged.update(kwargs)
            return self.call(func.func, list(func.args) + args, merged, node)
        if isinstance(func, MethodOf):
            return self.call_method(func.receiver, func.name, args, kwargs, node)
        if isinstance(func, ModuleObj):
            return self.call_module(func, args, kwargs)
        if isinstance(func, (TypeOf, Const)):
            self.unknown_call(args + list(kwargs.values()))
            return UNKNOWN
        return self.unknown_call(args + list(kwargs.values()))

    def call_qualified(self, name: str, args: list[Value], kwargs: dict[str, Value],
                       node: cst.CSTNode) -> Value:
        assert isinstance(node, cst.Call)
        if name in INITIALIZER_FUNCTIONS:
            return self.init_call(INITIALIZER_FUNCTIONS[name], args, kwargs, node)
        if name in ACTIVATION_FUNCTIONS:
            act = ACTIVATION_FUNCTIONS[name]
            param: float | None = None
            if act == "leaky_relu":
                slope = kwargs.get("negative_slope", args[1] if len(args) > 1 else Const(0.01))
                param = slope.value if isinstance(slope, Const) and isinstance(
                    slope.value, (int, float)) else None
                if param is None:  # a slope we cannot read: still a leaky ReLU
                    return self.apply_activation(Act(act, None, param_known=False),
                                                 args[0] if args else EMPTY_TENSOR)
            return self.apply_activation(Act(act, float(param) if param is not None else None),
                                         args[0] if args else EMPTY_TENSOR)
        if name in MERGE_FUNCTIONS:
            items = self.iterate(args[0]) if args else None
            return self.merge_tensors(items if items is not None else [])
        if name in OUTPUT_FUNCTIONS:
            self.consume(args[0] if args else EMPTY_TENSOR, Consumer.OTHER)
            return EMPTY_TENSOR
        if name in PASS_THROUGH_FUNCTIONS:
            return args[0] if args else EMPTY_TENSOR
        if name in _NORM_FUNCTIONS:
            return self.apply_norm(args[0] if args else EMPTY_TENSOR)
        if name in MERGE_FUNCTIONS:
            items = self.iterate(args[0]) if args else None
            return self.merge_tensors(items if items is not None else [])
        if name in _MATMUL_FUNCTIONS and len(args) >= 2:
            return self.matmul(args[0], args[1])
        if name in _LINEAR_FUNCTIONS and args:
            weight = args[1] if len(args) > 1 else kwargs.get("weight", UNKNOWN)
            if isinstance(weight, Param):
                # F.linear / F.conv*: torch's own (out, in, *kernel) layout; conv_transpose
                # weights are (in, out, ...) and their fans are left unknown.
                return self.use_raw_weight(weight, args[0], transposed=None if
                                           "transpose" in name else False)
            return self.unknown_call(args + list(kwargs.values()))
        if name == "torch.einsum" and len(args) >= 3:
            params = [a for a in args[1:] if isinstance(a, Param)]
            tensors = [a for a in args[1:] if not isinstance(a, Param)]
            if len(params) == 1 and len(tensors) == 1:
                return self.use_raw_weight(params[0], tensors[0], transposed=None)
            for a in args[1:]:
                self.consume(a, Consumer.OTHER)
            return EMPTY_TENSOR
        if name in TENSOR_FACTORIES:
            shape = tuple(literal_int(a) for a in args if not isinstance(a, (TupleV,)))
            if len(args) == 1 and isinstance(args[0], (TupleV, ListObj, Const)) and not (
                    isinstance(const_int(args[0]), int)):  # torch.zeros((a, b)), ([a, b])
                items = self.iterate(args[0]) or []
                shape = tuple(literal_int(a) for a in items)
            if name == "torch.full":
                shape = shape[:-1] if shape else shape
                fill = args[1] if len(args) > 1 else kwargs.get("fill_value", UNKNOWN)
                items = self.iterate(args[0]) if args else None
                shape = tuple(literal_int(a) for a in items) if items else shape
                del fill
            return FactoryTensor(TENSOR_FACTORIES[name], shape, node)
        if name == "torch.nn.Parameter" or name == "torch.nn.parameter.Parameter":
            return self.parameter(args[0] if args else kwargs.get("data", UNKNOWN), node)
        if name in ZERO_MODULE_FUNCTIONS or name.endswith(".zero_module"):
            return args[0] if args else UNKNOWN
        if name in _REPARAMETRIZATIONS:
            # W / sigma(W) or g * v / |v|: the weight's scale at init no longer matters, as
            # under normalization (INI001's zeros still do).
            for option in options(args[0] if args else UNKNOWN):
                if isinstance(option, LayerMod):
                    self.maybe_normalized.add(option.key)
            return args[0] if args else UNKNOWN
        if name == "copy.deepcopy":
            return args[0] if args else UNKNOWN
        if name == "functools.partial" and args:
            return Partial(args[0], tuple(args[1:]), tuple(kwargs.items()))
        if name in ("collections.OrderedDict", "builtins.dict"):
            return self.ordered_dict(args, kwargs, node)
        if name in _MATH:
            numbers = [a.value for a in args if isinstance(a, Const)]
            if len(numbers) == len(args) and args:
                try:
                    return Const(_MATH[name](*numbers))  # type: ignore[operator]
                except Exception:
                    return UNKNOWN
            return UNKNOWN
        if name == "torch.nn.init.calculate_gain":
            from init_lint.knowledge import calculate_gain

            if args and isinstance(args[0], Const) and isinstance(args[0].value, str):
                p = args[1] if len(args) > 1 else kwargs.get("param")
                param = p.value if isinstance(p, Const) and isinstance(
                    p.value, (int, float)) else None
                try:
                    gain = calculate_gain(args[0].value, param)
                except ValueError:
                    return UNKNOWN
                return Const(gain, gain_name=args[0].value,
                             gain_param=float(param) if param is not None else None)
            return UNKNOWN
        if name.startswith("builtins."):
            return self.call_builtin(name[9:], args, kwargs, node)
        kind = torch_nn_class(name)
        if kind is not None:
            if "." in name[len("torch.nn."):] and not name.startswith("torch.nn.modules."):
                return self.unknown_call(args + list(kwargs.values()))
            if kind in ("TransformerEncoder", "TransformerDecoder") and args:
                layer = args[0]  # deep-copied num_layers times: the same layers, repeated
                return SeqMod([layer, layer], ["layers.0", "layers.1"])
            return self.construct(kind, args, kwargs, node)
        if name.startswith(("torch.", "math.")):
            tensors = [a for a in args if isinstance(a, Tensor)]
            if tensors and name.startswith("torch."):
                return self.unknown_call(args + list(kwargs.values()))
            return UNKNOWN
        return self.unknown_call(args + list(kwargs.values()))

    def ordered_dict(self, args: list[Value], kwargs: dict[str, Value],
                     node: cst.Call | None = None) -> Value:
        entries: dict[str, Value] = {}
        literal = set(kwargs)
        if args and isinstance(args[0], DictObj):
            literal |= args[0].literal_keys
        elif node is not None and node.args and isinstance(node.args[0].value, (cst.List,
                                                                                 cst.Tuple)):
            for element in node.args[0].value.elements:  # [("fc1", layer), ...]
                written = element.value
                if isinstance(written, cst.Tuple) and written.elements and isinstance(
                        written.elements[0].value, cst.SimpleString):
                    key = written.elements[0].value.evaluated_value
                    if isinstance(key, str):
                        literal.add(key)
        if args:
            items = self.iterate(args[0])
            if items is None:
                return DictObj({})
            for item in items:
                pair = item.items if isinstance(item, (TupleV, ListObj)) else (
                    tuple(Const(v) for v in item.value) if isinstance(item, Const) and isinstance(
                        item.value, tuple) else ())
                if len(pair) == 2:
                    # a key we cannot read still keeps its item, in order
                    name = str(pair[0].value) if isinstance(pair[0], Const) else f"<{len(entries)}>"
                    entries[name] = pair[1]
        entries.update(kwargs)
        return DictObj(entries, literal_keys=literal & set(entries))

    def parameter(self, data: Value, node: cst.Call) -> Value:
        shape: tuple[int | None, ...] | None = None
        site = None
        if isinstance(data, FactoryTensor):
            shape = data.shape
            if data.site is not None:
                site = data.site
            elif data.function != "empty":
                site = self.factory_site(data, node)
        key = self.key_for(node, "Parameter", is_raw=True, shape=shape)
        param = Param(key, shape, site)
        if site is not None:
            site.weight_of.add(key)
        return param

    def factory_site(self, factory: FactoryTensor, node: cst.Call):  # type: ignore[no-untyped-def]
        from init_lint.analysis.graph import Arg

        args: dict[str, Arg] = {}
        if factory.function in ("normal_",):
            std = factory.scale
            args["std"] = Arg(std, factory.scale_text or "1")
        elif factory.function == "uniform_":
            scale = factory.scale
            args["a"] = Arg(0.0, "0")
            args["b"] = Arg(scale, factory.scale_text or "1")
        site = self.site_for(node, factory.function, "parameter", args,
                             self.code(factory.node))
        site.scale_text = None if factory.scale == 1.0 else (factory.scale_text or "?")
        return site

    def call_builtin(self, name: str, args: list[Value], kwargs: dict[str, Value],
                     node: cst.CSTNode) -> Value:
        if name == "range":
            ints = [const_int(a) for a in args]
            if args and all(i is not None for i in ints):
                try:
                    rng = range(*[i for i in ints if i is not None])
                except (TypeError, ValueError):
                    return UNKNOWN
                return Const(rng) if len(rng) <= _MAX_UNROLL else UNKNOWN
            return UNKNOWN
        if name == "len" and args:
            items = self.iterate(args[0])
            if isinstance(args[0], Instance) and args[0].seq_items is not None:
                items = args[0].seq_items
            return Const(len(items)) if items is not None and not any(
                isinstance(i, Choice) for i in items) else UNKNOWN
        if name == "isinstance" and len(args) == 2:
            truth = self.isinstance_of(args[0], args[1])
            return Const(truth) if truth is not None else UNKNOWN
        if name == "type" and len(args) == 1:
            return TypeOf(args[0])
        if name == "super":
            frame = self.frames[-1]
            if frame.owner is not None and frame.receiver is not None:
                return SuperRef(frame.receiver, frame.owner)
            return UNKNOWN
        if name in ("zip",):
            lists = [self.iterate(a) for a in args]
            if all(items is not None for items in lists):
                return ListObj([TupleV(tuple(group)) for group in zip(*[
                    items for items in lists if items is not None], strict=False)])
            return UNKNOWN
        if name == "enumerate" and args:
            items = self.iterate(args[0])
            if items is None and isinstance(args[0], Const) and isinstance(args[0].value, range):
                items = [Const(i) for i in args[0].value]
            if items is not None:
                return ListObj([TupleV((Const(i), item)) for i, item in enumerate(items)])
            return UNKNOWN
        if name in ("list", "tuple") and args:
            if isinstance(args[0], Const) and isinstance(args[0].value, range):
                return ListObj([Const(i) for i in args[0].value])
            items = self.iterate(args[0])
            return ListObj(list(items)) if items is not None else UNKNOWN
        if name == "reversed" and args:
            items = self.iterate(args[0])
            return ListObj(list(reversed(items))) if items is not None else UNKNOWN
        if name == "getattr" and len(args) >= 2 and isinstance(args[1], Const) and isinstance(
                args[1].value, str) and not args[1].soft:
            value = self.get_attribute(args[0], args[1].value)
            if value is UNKNOWN and len(args) > 2:
                return args[2]
            return value
        if name == "hasattr" and len(args) == 2 and isinstance(args[1], Const):
            attr = args[1].value
            if isinstance(args[0], LayerMod) and attr in ("weight", "bias"):
                return Const(attr == "weight" or args[0].has_bias)
            if isinstance(args[0], (ActMod, PassMod)) and attr in ("weight", "bias"):
                return Const(False)
            return UNKNOWN
        if name == "setattr" and len(args) == 3 and isinstance(args[1], Const):
            self.set_attribute(args[0], str(args[1].value), args[2])
            for receiver in options(args[0]):
                if isinstance(receiver, Instance):
                    receiver.dynamic_attrs.add(str(args[1].value))
            return NONE
        if name in ("int", "float", "abs", "round", "min", "max", "sum", "bool", "str"):
            if all(isinstance(a, Const) for a in args) and args:
                try:
                    fn = _NUMERIC_BUILTINS[name]
                    return Const(fn(*[a.value for a in args if isinstance(a, Const)]))
                except Exception:
                    return UNKNOWN
            return UNKNOWN
        return UNKNOWN

    def call_method(self, receiver: Value, name: str, args: list[Value],
                    kwargs: dict[str, Value], node: cst.CSTNode) -> Value:
        assert isinstance(node, cst.Call)
        if isinstance(receiver, SuperRef):
            instance = receiver.receiver
            if name == "__init__" and isinstance(instance, Instance):
                self.super_init(instance, receiver.after, args, kwargs)
                return NONE
            if isinstance(instance, Instance):
                mro = instance.cls.mro()
                index = mro.index(receiver.after) if receiver.after in mro else 0
                for cls in mro[index + 1:]:
                    if name in cls.methods:
                        return self.call_function(FuncRef(cls.methods[name], None, cls), args,
                                                  kwargs, receiver=instance)
                if name == "forward" and instance.seq_items is not None:
                    return self.call_module(SeqMod(instance.seq_items, []), args, kwargs)
            return self.unknown_call(args)
        if isinstance(receiver, ListObj):
            if name == "append" and args:
                receiver.items.append(self.maybe(args[0]))
                receiver.tail = 0 if self.loop_depth else receiver.tail + 1
            elif name == "extend" and args:
                added = args[0]
                receiver.tail = receiver.tail + len(added.items) if (
                    not self.loop_depth and isinstance(added, ListObj)
                    and added.tail == len(added.items)) else 0
                items = self.iterate(args[0])
                receiver.items.extend(self.maybe(v) for v in (items if items is not None
                                                              else [UNKNOWN]))
            elif name == "insert" and len(args) == 2:
                receiver.stable = receiver.tail = 0  # the items around it move
                position = const_int(args[0])
                if position is not None:
                    receiver.items.insert(position, self.maybe(args[1]))
                else:
                    receiver.items.append(UNKNOWN)
            elif name in ("pop", "remove", "clear"):
                receiver.items[:] = [UNKNOWN]
                receiver.stable = receiver.tail = 0
            return NONE
        if isinstance(receiver, DictObj):
            if name in ("values",):
                return ListObj(list(receiver.items.values()))
            if name in ("items",):
                return ListObj([TupleV((Const(k), v)) for k, v in receiver.items.items()])
            if name == "keys":
                return ListObj([Const(k) for k in receiver.items])
            if name == "get" and args and isinstance(args[0], Const):
                return receiver.items.get(str(args[0].value), args[1] if len(args) > 1 else NONE)
            if name == "update" and args and isinstance(args[0], DictObj):
                receiver.items.update(args[0].items)
            return UNKNOWN
        if isinstance(receiver, Const):
            return self.const_method(receiver, name, args)
        if isinstance(receiver, (TensorRef, Param, FactoryTensor)):
            return self.tensor_param_method(receiver, name, args, kwargs, node)
        if isinstance(receiver, Tensor):
            return self.tensor_method(receiver, name, args, kwargs)
        if isinstance(receiver, ModuleObj):
            return self.module_method(receiver, name, args, kwargs, node)
        return self.unknown_call(args)

    def const_method(self, receiver: Const, name: str, args: list[Value]) -> Value:
        value = receiver.value
        if isinstance(value, str) and all(isinstance(a, Const) for a in args):
            method = getattr(value, name, None)
            if method is not None and name in ("find", "startswith", "endswith", "lower",
                                               "upper", "split", "replace", "count", "strip",
                                               "rfind", "index", "format", "join"):
                try:
                    result = method(*[a.value for a in args if isinstance(a, Const)])
                except Exception:
                    return UNKNOWN
                if isinstance(result, list):
                    return Const(tuple(result))
                return Const(result)
        return UNKNOWN

    def tensor_param_method(self, receiver: Value, name: str, args: list[Value],
                            kwargs: dict[str, Value], node: cst.Call) -> Value:
        if name in TENSOR_INIT_METHODS:
            if isinstance(receiver, FactoryTensor):
                return receiver
            return self.tensor_method_init(name, receiver, args, kwargs, node)
        if name in ("dim", "ndimension"):
            if isinstance(receiver, TensorRef) and receiver.dim is not None:
                return Const(receiver.dim)
            if isinstance(receiver, Param) and receiver.shape is not None:
                return Const(len(receiver.shape))
            return UNKNOWN
        if name in ("t", "transpose", "view", "reshape", "contiguous"):
            return UNKNOWN
        if name == "size" and isinstance(receiver, Param) and receiver.shape is not None:
            if args:
                i = const_int(args[0])
                if i is not None and -len(receiver.shape) <= i < len(receiver.shape):
                    s = receiver.shape[i]
                    return Const(s) if s is not None else UNKNOWN
                return UNKNOWN
            if all(s is not None for s in receiver.shape):
                return Const(tuple(receiver.shape))
        return UNKNOWN

    def tensor_method(self, receiver: Tensor, name: str, args: list[Value],
                      kwargs: dict[str, Value]) -> Value:
        if name in ACTIVATION_METHODS:
            return self.apply_activation(Act(ACTIVATION_METHODS[name]), receiver)
        if name in PASS_THROUGH_METHODS:
            return receiver
        if name in ("chunk", "split", "unbind", "tensor_split"):
            count = const_int(args[0]) if args and name == "chunk" else None
            return TupleV((receiver,) * count) if count and count <= 8 else receiver
        if name in ("matmul", "mm", "bmm") and args:
            return self.matmul(receiver, args[0])
        if name in ("size", "dim", "numel", "item", "tolist"):
            return UNKNOWN
        if name in ("mul", "mul_"):
            return self.multiply(receiver, args[0]) if args else receiver
        if name in ("add", "add_"):
            return self.add(receiver, args[0]) if args else receiver
        if name in OUTPUT_METHODS or name in ("mean", "sum", "max", "min", "norm", "argmax"):
            self.consume(receiver, Consumer.OTHER)
            return EMPTY_TENSOR
        self.consume(receiver, Consumer.UNKNOWN)
        return EMPTY_TENSOR


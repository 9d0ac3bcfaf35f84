"""Expressions: names, constants, attributes, subscripts, arithmetic, comparisons,
``isinstance`` and ``type(m) ==`` tests, evaluated over abstract values."""

from __future__ import annotations

import libcst as cst

from init_lint.analysis.base import (
    _BINOPS,
    _BUILTINS,
    _COMPARE,
    _CONSTANTS,
    _MAX_UNROLL,
    _MODULE_METHODS,
    Frame,
    InterpreterBase,
    _type_operands,
    _weight_dim,
)
from init_lint.analysis.flow import tensor_origins
from init_lint.analysis.layers import const_int, torch_nn_class
from init_lint.analysis.values import (
    EMPTY_TENSOR,
    NONE,
    UNKNOWN,
    ActMod,
    BoundMethod,
    Choice,
    ClassInfo,
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
    OtherMod,
    Param,
    PassMod,
    QName,
    SeqMod,
    SuperRef,
    Tensor,
    TensorRef,
    TransformerLayerMod,
    TupleV,
    TypeOf,
    Value,
    choice,
    is_soft,
)


def bind_method(receiver: Value, owner: ClassInfo, node: cst.FunctionDef) -> Value:
    """``obj.method``: bound to the instance, to its class for a ``@classmethod``, to
    nothing for a ``@staticmethod``."""
    decorators = {d.decorator.value for d in node.decorators if isinstance(d.decorator, cst.Name)}
    func = FuncRef(node, None, owner)
    if "staticmethod" in decorators:
        return func
    if "classmethod" in decorators:
        return BoundMethod(ClassRef(owner), func)
    return BoundMethod(receiver, func)


class ExpressionMixin(InterpreterBase):
    # --- expressions ----------------------------------------------------------------

    def evaluate_quiet(self, node: cst.BaseExpression) -> Value:
        frame = self.frames[-1] if self.frames else Frame(self.globals, None, None, None)
        return self.evaluate(node, frame)

    def current_self(self) -> Value | None:
        """What ``self`` is in the function running now (a method's receiver, or a nested
        function's ``self`` from its closure); None at module level or without one."""
        if len(self.frames) < 2:
            return None
        frame = self.frames[-1]
        if "self" in frame.local:
            return frame.local["self"]
        if frame.closure is not None and "self" in frame.closure:
            return frame.closure["self"]
        return None

    def lookup(self, name: str, frame: Frame) -> Value:
        if name in frame.local:
            return frame.local[name]
        closure = frame.closure
        if closure is not None and name in closure:
            return closure[name]
        if name in self.globals:
            return self.globals[name]
        if name in self.aliases:
            return QName(self.aliases[name])
        if name in ("True", "False", "None"):
            return Const({"True": True, "False": False, "None": None}[name])
        if name in _BUILTINS:
            return QName(f"builtins.{name}")
        return UNKNOWN

    def evaluate(self, node: cst.BaseExpression, frame: Frame) -> Value:
        self.tick()
        # libcst's node classes are ABCs, so isinstance() on them runs Python-level code:
        # every kind is told by its exact type (the concrete classes have no subclasses),
        # the three commonest first.
        kind = type(node)
        if kind is cst.Name:
            return self.lookup(node.value, frame)  # type: ignore[attr-defined]
        if kind is cst.Attribute:
            return self.get_attribute(self.evaluate(node.value, frame),  # type: ignore[attr-defined]
                                      node.attr.value)  # type: ignore[attr-defined]
        if kind is cst.Call:
            return self.evaluate_call(node, frame)  # type: ignore[arg-type]
        if type(node) is cst.Integer:
            return Const(int(node.value.replace("_", ""), 0))
        if type(node) is cst.Float:
            return Const(float(node.value.replace("_", "")))
        if type(node) is cst.SimpleString or type(node) is cst.ConcatenatedString:
            # evaluated_value runs ast.literal_eval: once per string node, not per run
            known = self.string_cache.get(id(node))
            if known is None:
                text = node.evaluated_value
                known = self.string_cache[id(node)] = (
                    Const(text) if isinstance(text, str) else UNKNOWN)
            return known
        if type(node) is cst.BinaryOperation:
            left = self.evaluate(node.left, frame)
            right = self.evaluate(node.right, frame)
            return self.binary(node.operator, left, right)
        if type(node) is cst.UnaryOperation:
            value = self.evaluate(node.expression, frame)
            if isinstance(value, Const) and isinstance(value.value, (int, float, bool)):
                if isinstance(node.operator, cst.Minus):
                    return Const(-value.value, value.soft)
                if isinstance(node.operator, cst.Plus):
                    return value
                if isinstance(node.operator, cst.Not):
                    return Const(not value.value, value.soft)
            if isinstance(node.operator, cst.Not):
                truth = self.truth(value)
                return Const(not truth) if truth is not None else UNKNOWN
            return value if isinstance(value, Tensor) else UNKNOWN
        if type(node) is cst.BooleanOperation:
            return self.boolean(node, frame)
        if type(node) is cst.Comparison:
            return self.compare(node, frame)
        if type(node) is cst.IfExp:
            test = self.truth(self.evaluate(node.test, frame))
            if test is True:
                return self.evaluate(node.body, frame)
            if test is False:
                return self.evaluate(node.orelse, frame)
            return choice([self.evaluate(node.body, frame), self.evaluate(node.orelse, frame)])
        if type(node) is cst.List or type(node) is cst.Tuple or type(node) is cst.Set:
            items: list[Value] = []
            for element in node.elements:
                value = self.evaluate(element.value, frame)
                if isinstance(element, cst.StarredElement):
                    expanded = self.iterate(value)
                    items.extend(expanded if expanded is not None else [UNKNOWN])
                else:
                    items.append(value)
            if type(node) is cst.Tuple:
                if all(isinstance(i, Const) for i in items):
                    return Const(tuple(i.value for i in items if isinstance(i, Const)))
                return TupleV(tuple(items))
            starred = any(isinstance(e, cst.StarredElement) for e in node.elements)
            return ListObj(items, stable=0 if starred else len(items),
                           tail=0 if starred else len(items))
        if type(node) is cst.Dict:
            entries: dict[str, Value] = {}
            literal: set[str] = set()
            for entry in node.elements:
                if isinstance(entry, cst.DictElement):
                    key = self.evaluate(entry.key, frame)
                    if isinstance(key, Const) and isinstance(key.value, str):
                        entries[key.value] = self.evaluate(entry.value, frame)
                        if isinstance(entry.key, cst.SimpleString):
                            literal.add(key.value)
            return DictObj(entries, literal_keys=literal)
        if type(node) is cst.ListComp or type(node) is cst.GeneratorExp or (
                type(node) is cst.SetComp):
            return ListObj(self.comprehension(node.elt, node.for_in, frame))
        if type(node) is cst.DictComp:
            self.comprehension(node.value, node.for_in, frame)
            return DictObj({})
        if type(node) is cst.Subscript:
            return self.subscript(node, frame)
        if type(node) is cst.Lambda:
            return FuncRef(node, dict(frame.local), frame.owner)
        if type(node) is cst.NamedExpr:
            value = self.evaluate(node.value, frame)
            self.assign(node.target, value, frame)
            return value
        if type(node) is cst.FormattedString:
            return self.formatted_string(node, frame)
        if type(node) is cst.Ellipsis:
            return UNKNOWN
        return UNKNOWN

    def formatted_string(self, node: cst.FormattedString, frame: Frame) -> Value:
        """``f"fc{i}"`` with known parts (no format spec or conversion) is a known string."""
        pieces: list[str] = []
        soft = False
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                pieces.append(part.value)
                continue
            if not isinstance(part, cst.FormattedStringExpression) or part.format_spec or (
                    part.conversion):
                return UNKNOWN
            value = self.evaluate(part.expression, frame)
            if not isinstance(value, Const) or not isinstance(value.value, (str, int)):
                return UNKNOWN
            soft = soft or value.soft
            pieces.append(str(value.value))
        return Const("".join(pieces), soft)

    def comprehension(self, element: cst.BaseExpression, for_in: cst.CompFor,
                      frame: Frame) -> list[Value]:
        results: list[Value] = []
        local = Frame(dict(frame.local), frame.closure, frame.owner, frame.receiver)
        self._run_comprehension(for_in, element, local, results)
        return results

    def _run_comprehension(self, comp: cst.CompFor, element: cst.BaseExpression,
                           local: Frame, results: list[Value]) -> None:
        # a method, not a recursive closure: that would be a reference cycle holding the
        # interpreter (and the file's tree) until the collector runs
        iterable = self.evaluate(comp.iter, local)
        items = self.iterate_for_loop(iterable)
        unknown = items is None or len(items) > _MAX_UNROLL
        loop_items = [UNKNOWN, UNKNOWN] if unknown or items is None else items
        for item in loop_items:
            self.assign(comp.target, item, local)
            keep: bool | None = True
            for cond in comp.ifs:
                truth = self.truth(self.evaluate(cond.test, local))
                if truth is False:
                    keep = False
                    break
                if truth is None:
                    keep = None
            if keep is False:
                continue
            if comp.inner_for_in is not None:
                self._run_comprehension(comp.inner_for_in, element, local, results)
            else:
                value = self.evaluate(element, local)
                if keep is None or unknown:
                    self.uncertain += 1
                    value = self.maybe(value) if keep is None else value
                    self.uncertain -= 1
                results.append(value)

    def subscript(self, node: cst.Subscript, frame: Frame) -> Value:
        container = self.evaluate(node.value, frame)
        if len(node.slice) != 1:
            return container if isinstance(container, Tensor) else UNKNOWN
        element = node.slice[0].slice
        if isinstance(element, cst.Slice):
            if isinstance(container, TensorRef):
                return TensorRef(container.owner, container.attr, container.role, container.dim,
                                 sliced=True)
            if isinstance(container, Param):
                return TensorRef(container.key, "weight", "raw", None, sliced=True)
            if isinstance(container, SeqMod):
                lower = const_int(self.evaluate(element.lower, frame)) if element.lower else None
                upper = const_int(self.evaluate(element.upper, frame)) if element.upper else None
                if (element.lower is None or lower is not None) and (
                        element.upper is None or upper is not None):
                    return SeqMod(container.items[lower:upper], container.names[lower:upper])
                return UNKNOWN
            if isinstance(container, ListObj):
                lower = const_int(self.evaluate(element.lower, frame)) if element.lower else None
                upper = const_int(self.evaluate(element.upper, frame)) if element.upper else None
                if (element.lower is None or lower is not None) and (
                        element.upper is None or upper is not None):
                    return ListObj(container.items[lower:upper], container.module_list)
            return container if isinstance(container, Tensor) else UNKNOWN
        if not isinstance(element, cst.Index):
            return UNKNOWN
        index = self.evaluate(element.value, frame)
        return self.index(container, index)

    def index(self, container: Value, index: Value) -> Value:
        if isinstance(container, Choice):
            return choice([self.index(o, index) for o in container.options])
        position = const_int(index)
        if isinstance(container, (SeqMod, ListObj, TupleV)):
            items = list(container.items)
            if position is not None and -len(items) <= position < len(items):
                return items[position]
            if isinstance(index, Const) and isinstance(index.value, str) and isinstance(
                    container, SeqMod) and index.value in container.names:
                return container.items[container.names.index(index.value)]
            return UNKNOWN
        if isinstance(container, Instance) and container.seq_items is not None:
            if position is not None and -len(container.seq_items) <= position < len(
                    container.seq_items):
                return container.seq_items[position]
        if isinstance(container, DictObj) and isinstance(index, Const):
            if index.soft:  # chosen by a config string: any of the entries
                return choice(list(container.items.values())) if container.items else UNKNOWN
            return container.items.get(str(index.value), UNKNOWN)
        if isinstance(container, Const) and isinstance(container.value, (tuple, str)):
            if position is not None and -len(container.value) <= position < len(container.value):
                return Const(container.value[position])
        if isinstance(container, TensorRef):
            return TensorRef(container.owner, container.attr, container.role, None, sliced=True)
        if isinstance(container, Param):
            return TensorRef(container.key, "weight", "raw", None, sliced=True)
        if isinstance(container, Tensor):
            return container
        return UNKNOWN

    def boolean(self, node: cst.BooleanOperation, frame: Frame) -> Value:
        left = self.evaluate(node.left, frame)
        truth = self.truth(left)
        is_and = isinstance(node.operator, cst.And)
        if truth is not None:
            if is_and:
                return self.evaluate(node.right, frame) if truth else left
            return left if truth else self.evaluate(node.right, frame)
        right = self.evaluate(node.right, frame)
        if is_and and self.truth(right) is False:
            return Const(False)
        if not is_and and self.truth(right) is True and isinstance(right, Const):
            return Const(True)
        return choice([left, right]) if not is_and else UNKNOWN

    def truth(self, value: Value) -> bool | None:
        if isinstance(value, Const) and value.soft:
            return None
        if isinstance(value, Const):
            return bool(value.value) if not isinstance(value.value, range) else bool(value.value)
        if isinstance(value, (ModuleObj, QName, ClassRef, FuncRef, TensorRef, Param)):
            return True
        if isinstance(value, Choice):
            truths = {self.truth(o) for o in value.options}
            return truths.pop() if len(truths) == 1 else None
        return None

    def compare(self, node: cst.Comparison, frame: Frame) -> Value:
        left = self.evaluate(node.left, frame)
        result: bool | None = True
        soft = False
        for target in node.comparisons:
            right = self.evaluate(target.comparator, frame)
            soft = soft or is_soft(left, right) or is_soft(*_type_operands(left, right))
            outcome = self.compare_one(target.operator, left, right)
            if outcome is False:
                return Const(False, soft)
            if outcome is None:
                result = None
            left = right
        return Const(result, soft) if result is not None else UNKNOWN

    def compare_one(self, op: cst.BaseCompOp, left: Value, right: Value) -> bool | None:
        if isinstance(op, (cst.Is, cst.IsNot)):
            if isinstance(right, Const) and right.value is None:
                if isinstance(left, Const):
                    same = left.value is None
                elif isinstance(left, (ModuleObj, TensorRef, Param, QName, ClassRef, FuncRef)):
                    same = False
                else:
                    return None
                return same if isinstance(op, cst.Is) else not same
            if isinstance(left, TypeOf) or isinstance(right, TypeOf):
                eq = self.type_equals(left, right)
                return eq if eq is None or isinstance(op, cst.Is) else not eq
            if isinstance(left, ModuleObj) and isinstance(right, ModuleObj):
                self.identity_tests += 1
                same = left is right
                return same if isinstance(op, cst.Is) else not same
            return None
        if isinstance(op, (cst.In, cst.NotIn)):
            found: bool | None = None
            if isinstance(left, Const) and isinstance(right, Const) and isinstance(
                    right.value, (str, tuple)):
                try:
                    found = left.value in right.value
                except TypeError:
                    found = None
            elif isinstance(left, TypeOf) and isinstance(right, (TupleV, ListObj)):
                outcomes = {self.type_equals(left, item) for item in right.items}
                found = True if True in outcomes else (False if outcomes == {False} else None)
            if found is None:
                return None
            return found if isinstance(op, cst.In) else not found
        if isinstance(left, TypeOf) or isinstance(right, TypeOf):
            eq = self.type_equals(left, right)
            if eq is None:
                return None
            return eq if isinstance(op, cst.Equal) else (not eq if isinstance(
                op, cst.NotEqual) else None)
        if isinstance(left, Const) and isinstance(right, Const):
            fn = _COMPARE.get(type(op))
            if fn is None:
                return None
            try:
                return bool(fn(left.value, right.value))
            except TypeError:
                return None
        return None

    def type_equals(self, left: Value, right: Value) -> bool | None:
        if isinstance(right, TypeOf):
            left, right = right, left
        if not isinstance(left, TypeOf):
            return None
        of = left.of
        if isinstance(of, Choice):
            outcomes = {self.type_equals(TypeOf(o), right) for o in of.options}
            return outcomes.pop() if len(outcomes) == 1 else None
        kind = self.module_kind(of)
        if isinstance(right, QName):
            target = torch_nn_class(right.name)
            if kind is None or target is None:
                return None if isinstance(of, Instance) or kind is None else False
            return kind == target
        if isinstance(right, ClassRef):
            if isinstance(of, Instance):
                return of.cls is right.cls
            return False if kind is not None else None
        return None

    def module_kind(self, value: Value) -> str | None:
        if isinstance(value, LayerMod):
            return self.records[value.key].kind
        if isinstance(value, (ActMod, PassMod, OtherMod)):
            return value.kind
        if isinstance(value, SeqMod):
            return "Sequential"
        if isinstance(value, ListObj) and value.module_list:
            return "ModuleList"
        if isinstance(value, Instance):
            return value.cls.name
        return None

    def isinstance_of(self, value: Value, types: Value) -> bool | None:
        if isinstance(value, Choice):
            outcomes = {self.isinstance_of(o, types) for o in value.options}
            return outcomes.pop() if len(outcomes) == 1 else None
        targets = list(types.items) if isinstance(types, (TupleV, ListObj)) else [types]
        if isinstance(types, Choice):
            targets = list(types.options)
        answers: set[bool | None] = set()
        for target in targets:
            answers.add(self.isinstance_one(value, target))
        if True in answers:
            return True
        if answers == {False}:
            return False
        return None

    def isinstance_one(self, value: Value, target: Value) -> bool | None:
        if isinstance(target, ClassRef):
            if isinstance(value, Instance):
                return target.cls in value.cls.mro() or (None if value.cls.external_bases()
                                                         and "?" in value.cls.external_bases()
                                                         else False)
            return False if isinstance(value, ModuleObj) else None
        if not isinstance(target, QName) or not target.name.startswith("torch."):
            # A class we cannot resolve (the user's own, imported relatively, or a
            # library's): torch's built-in modules are not instances of it. Only classes of
            # the file (and unknown values) stay unknown.
            builtin = isinstance(value, (LayerMod, ActMod, PassMod, OtherMod, SeqMod,
                                         TransformerLayerMod))
            return False if builtin else None
        name = target.name
        if name in ("torch.nn.Module",):
            return True if isinstance(value, ModuleObj) else None
        kind = self.module_kind(value)
        if isinstance(value, Instance):
            bases = value.cls.external_bases()
            if name in bases:
                return True
            if any(b == "?" or not b.startswith("torch.nn.") for b in bases if
                   b != "torch.nn.Module"):
                return None
            return False
        if kind is None:
            return None
        wanted = torch_nn_class(name)
        if wanted is None:
            return False if isinstance(value, ModuleObj) else None
        if wanted == kind or (kind.startswith("Lazy") and kind[4:] == wanted):
            return True
        if wanted in ("_ConvNd", "_ConvTransposeNd"):
            return kind.startswith("Conv") if wanted == "_ConvNd" else kind.startswith(
                "ConvTranspose")
        if wanted in ("_BatchNorm", "_NormBase"):
            return kind.startswith(("BatchNorm", "SyncBatchNorm")) or (
                wanted == "_NormBase" and kind.startswith("InstanceNorm"))
        if wanted == "_InstanceNorm":
            return kind.startswith("InstanceNorm")
        return False

    def binary(self, op: cst.BaseBinaryOp | None, left: Value, right: Value) -> Value:
        if isinstance(left, Const) and isinstance(right, Const):
            fn = _BINOPS.get(type(op)) if op is not None else None
            if fn is not None:
                try:
                    return Const(fn(left.value, right.value), is_soft(left, right))
                except Exception:
                    return UNKNOWN
            return UNKNOWN
        if isinstance(left, FactoryTensor) or isinstance(right, FactoryTensor):
            other = right if isinstance(left, FactoryTensor) else left
            if isinstance(op, (cst.Multiply, cst.Divide)) and not isinstance(
                    other, (Tensor, Param, TensorRef, FactoryTensor)):
                return self.scale_factory(op, left, right)
            left = EMPTY_TENSOR if isinstance(left, FactoryTensor) else left
            right = EMPTY_TENSOR if isinstance(right, FactoryTensor) else right
        if isinstance(op, (cst.Add, cst.Subtract)):
            if isinstance(left, ListObj) and isinstance(right, ListObj):
                # In a loop, how often it runs may be a parameter: no position is known
                # past what came before it.
                stable, tail = left.stable, 0
                if not self.loop_depth:
                    if left.stable == len(left.items):
                        stable += right.stable
                    tail = right.tail + (left.tail if right.tail == len(right.items) else 0)
                return ListObj(left.items + right.items, left.module_list, stable=stable,
                               tail=tail)
            return self.add(left, right)
        if isinstance(op, cst.Multiply):
            return self.multiply(left, right)
        if isinstance(op, cst.Divide):
            return self.multiply(left, Const(1.0)) if tensor_origins(left) else (
                EMPTY_TENSOR if isinstance(left, Tensor) or isinstance(right, Tensor) else UNKNOWN)
        if isinstance(op, cst.MatrixMultiply):
            return self.matmul(left, right)
        if isinstance(left, Tensor):
            return left
        return UNKNOWN

    def scale_factory(self, op: cst.BaseBinaryOp | None, left: Value, right: Value) -> Value:
        factory = left if isinstance(left, FactoryTensor) else right
        other = right if factory is left else left
        assert isinstance(factory, FactoryTensor)
        if not isinstance(op, (cst.Multiply, cst.Divide)) or (
                isinstance(op, cst.Divide) and factory is right):
            return UNKNOWN
        value = other.value if isinstance(other, Const) and isinstance(
            other.value, (int, float)) else None
        scale = factory.scale
        if scale is not None and value is not None and value != 0:
            scale = scale * value if isinstance(op, cst.Multiply) else scale / value
        else:
            scale = None
        return FactoryTensor(factory.function, factory.shape, factory.node, scale,
                             "scaled", factory.site)

    # --- attributes -----------------------------------------------------------------

    def get_attribute(self, value: Value, name: str) -> Value:
        if isinstance(value, Choice):
            return choice([self.get_attribute(o, name) for o in value.options])
        if isinstance(value, QName):
            full = f"{value.name}.{name}"
            if full in _CONSTANTS:
                return Const(_CONSTANTS[full])
            return QName(full)
        if name == "__class__":
            return TypeOf(value)
        if isinstance(value, TypeOf) and name == "__name__":
            kind = self.module_kind(value.of)
            return Const(kind) if kind is not None else UNKNOWN
        if isinstance(value, Instance):
            if name in value.attrs:
                return value.attrs[name]
            found = value.cls.find_method(name)
            if found is not None:
                return bind_method(value, found[0], found[1])
            for cls in value.cls.mro():
                if name in cls.env:
                    return cls.env[name]
            if name in _MODULE_METHODS:
                return MethodOf(value, name)
            return UNKNOWN
        if isinstance(value, LayerMod):
            rec = self.records[value.key]
            role = "norm" if rec.is_norm else "layer"
            if name == "weight":
                dim = _weight_dim(rec.kind) if not rec.is_norm else 1
                return TensorRef(value.key, "weight", role, dim)
            if name == "bias":
                return TensorRef(value.key, "bias", role, 1) if value.has_bias else NONE
            if name in ("in_features", "in_channels") and rec.shape:
                return Const(rec.shape[1]) if rec.shape[1] is not None else UNKNOWN
            if name in ("out_features", "out_channels") and rec.shape:
                return Const(rec.shape[0]) if rec.shape[0] is not None else UNKNOWN
            if name in _MODULE_METHODS:
                return MethodOf(value, name)
            return UNKNOWN
        if isinstance(value, OtherMod):
            if name in _MODULE_METHODS:
                return MethodOf(value, name)
            return TensorRef(value.key, name, "other", None)
        if isinstance(value, TransformerLayerMod):
            for child_name, child in value.named_children():
                if child_name == name:
                    return child
            if name in _MODULE_METHODS:
                return MethodOf(value, name)
            return UNKNOWN
        if isinstance(value, (SeqMod,)):
            if name in value.names:
                return value.items[value.names.index(name)]
            if name in _MODULE_METHODS:
                return MethodOf(value, name)
            return UNKNOWN
        if isinstance(value, (ActMod, PassMod)):
            if name in _MODULE_METHODS:
                return MethodOf(value, name)
            if isinstance(value, ActMod) and name == "negative_slope":
                return Const(value.act.param)
            return UNKNOWN
        if isinstance(value, (TensorRef, Param)):
            if name == "data":
                return value
            if name in ("T", "mT"):
                return UNKNOWN
            if name in ("shape",) and isinstance(value, Param) and value.shape and all(
                    s is not None for s in value.shape):
                return Const(tuple(value.shape))
            if name == "ndim" and isinstance(value, TensorRef) and value.dim is not None:
                return Const(value.dim)
            return MethodOf(value, name)
        if isinstance(value, FactoryTensor):
            return MethodOf(value, name)
        if isinstance(value, Tensor):
            if name in ("T", "mT", "data"):
                return value
            if name in ("shape", "ndim", "device", "dtype"):
                return UNKNOWN
            return MethodOf(value, name)
        if isinstance(value, (ListObj, DictObj, Const)):
            return MethodOf(value, name)
        if isinstance(value, SuperRef):
            return MethodOf(value, name)
        if isinstance(value, ClassRef):
            found = value.cls.find_method(name)
            if found is not None:
                return FuncRef(found[1], None, found[0])
            for cls in value.cls.mro():
                if name in cls.env:
                    return cls.env[name]
        return UNKNOWN


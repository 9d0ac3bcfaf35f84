"""The abstract interpreter: runs a model file's code over abstract values, once.

It executes the module body, instantiates classes (running ``__init__`` with the
arguments given, or their defaults for top-level models), runs each model's ``forward``
with abstract tensors, and follows calls within the file (methods, module-level helpers,
``.apply(fn)``, ``functools.partial``). Loops over known lists (``modules()``, a
``ModuleList``, ``range(4)``) are unrolled, so ``isinstance`` dispatch and index
arithmetic evaluate exactly; unknown conditions run both branches and join.

Everything it learns goes into the ``ModelGraph`` through the flow/layers/inits mixins.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import libcst as cst
from libcst.metadata import CodeRange

from init_lint.analysis.flow import FlowMixin, tensor_origins
from init_lint.analysis.graph import Act, Consumer
from init_lint.analysis.inits import InitMixin
from init_lint.analysis.layers import LayerMixin, const_int, literal_int, torch_nn_class
from init_lint.analysis.names import qualify
from init_lint.analysis.state import BudgetExceeded
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
    Partial,
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
    options,
    soften,
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

_MAX_DEPTH = 24
_MAX_UNROLL = 256
_NORM_FUNCTIONS = frozenset(
    f"torch.nn.functional.{n}" for n in
    ("layer_norm", "group_norm", "batch_norm", "instance_norm", "rms_norm", "normalize",
     "local_response_norm"))
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
_COMPARE: dict[type[cst.BaseCompOp], Callable[[object, object], object]] = {
    cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le, cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
}
_MATH = {"math.sqrt": math.sqrt, "math.log": math.log, "math.exp": math.exp,
         "numpy.sqrt": math.sqrt, "math.pow": math.pow, "math.prod": math.prod,
         "builtins.abs": abs}
_CONSTANTS = {"math.pi": math.pi, "math.e": math.e, "numpy.pi": math.pi}


class _Return(Exception):
    pass


class Frame:
    """One function activation: its local names and what it returned."""

    def __init__(self, local: dict[str, Value], closure: dict[str, Value] | None,
                 owner: ClassInfo | None, receiver: Value | None) -> None:
        self.local = local
        self.closure = closure
        self.owner = owner
        self.receiver = receiver
        self.returns: list[Value] = []


class Interpreter(FlowMixin, LayerMixin, InitMixin):
    """Builds the ModelGraph of one module by running it abstractly."""

    def __init__(self, module: cst.Module, positions: dict[cst.CSTNode, CodeRange],
                 aliases: dict[str, str]) -> None:
        super().__init__(module, positions)
        self.aliases = aliases
        self.globals: dict[str, Value] = {}
        self.classes: list[ClassInfo] = []
        self.sites_by_node = {}
        self.depth = 0
        self.frames: list[Frame] = []
        self.called: set[int] = set()  # ids of function nodes that ran
        self.instances: list[Instance] = []
        self.module_models: list[ModuleObj] = []
        self.forward_ran: set[int] = set()

    # --- entry point ----------------------------------------------------------------

    def run(self) -> None:
        frame = Frame(self.globals, None, None, None)
        self.frames.append(frame)
        try:
            self.exec_block(self.module.body, frame)
            self.run_roots()
        except (BudgetExceeded, RecursionError):
            self.graph.incomplete = True
            self.graph.uses.clear()
        self.finish_layers()
        self.finish_normalized()

    def run_roots(self) -> None:
        """Run ``forward`` of every top-level model; apply uncalled init functions."""
        used_by_others = self.classes_used_by_other_classes()
        roots: list[ModuleObj] = []
        for value in list(self.globals.values()):
            for opt in options(value):
                if isinstance(opt, (Instance, SeqMod, LayerMod)) and opt not in roots:
                    roots.append(opt)
        instantiated = {id(r.cls) for r in roots if isinstance(r, Instance)}
        for cls in self.classes:
            if cls.name in used_by_others or id(cls) in instantiated:
                continue
            if not self.is_module_class(cls):
                continue
            instance = self.instantiate(cls, [], {})
            roots.append(instance)
        for root in roots:
            if isinstance(root, Instance) and id(root) in self.forward_ran:
                continue
            self.run_forward(root)
        self.apply_uncalled_init_functions(roots)

    def classes_used_by_other_classes(self) -> set[str]:
        names = {c.name for c in self.classes}
        used: set[str] = set()
        for cls in self.classes:
            for node in _names_in(cls.node.body):
                if node in names and node != cls.name:
                    used.add(node)
        return used

    def is_module_class(self, cls: ClassInfo) -> bool:
        if cls.find_method("forward") is not None:
            return True
        return any(b.startswith("torch.nn.") or b == "?" for b in cls.external_bases())

    def run_forward(self, root: ModuleObj) -> None:
        tensors: list[Value] = []
        if isinstance(root, Instance):
            found = root.cls.find_method("forward")
            count = 1
            if found is not None:
                params = found[1].params
                count = max(1, len(params.params) - 1)
            tensors = [EMPTY_TENSOR] * count
        else:
            tensors = [EMPTY_TENSOR]
        try:
            result = self.call_module(root, tensors, {})
        except _Return:
            return
        self.output(result)
        self.output_all(result)

    def output_all(self, value: Value) -> None:
        for opt in options(value):
            if isinstance(opt, (TupleV,)):
                for item in opt.items:
                    self.output_all(item)
            elif isinstance(opt, ListObj):
                for item in opt.items:
                    self.output_all(item)
            elif isinstance(opt, DictObj):
                for item in opt.items.values():
                    self.output_all(item)
            elif isinstance(opt, Tensor):
                self.output(opt)

    def apply_uncalled_init_functions(self, roots: list[ModuleObj]) -> None:
        """A method or function that dispatches on ``isinstance(m, ...)`` but is never
        called in the file is applied by a framework (``post_init``, ``model.apply``
        elsewhere): apply it to every module of the models this file builds."""
        candidates: list[tuple[FuncRef, ClassInfo | None]] = []
        for value in self.globals.values():
            if isinstance(value, FuncRef) and isinstance(value.node, cst.FunctionDef):
                candidates.append((value, None))
        for cls in self.classes:
            for method in cls.methods.values():
                candidates.append((FuncRef(method, None, cls), cls))
        for func, cls in candidates:
            node = func.node
            if id(node) in self.called or not isinstance(node, cst.FunctionDef):
                continue
            params = [p.name.value for p in node.params.params]
            if cls is not None:
                params = params[1:]
            if len(params) != 1 or not _dispatches_on(node, params[0]):
                continue
            for root in roots:
                if cls is not None and not (isinstance(root, Instance) and cls in root.cls.mro()):
                    continue
                self.dispatch += 1
                try:
                    for module in self.modules_of(root):
                        target: Value = BoundMethod(root, func) if cls is not None else func
                        self.call(target, [module], {}, node)
                finally:
                    self.dispatch -= 1

    def finish_normalized(self) -> None:
        for container in self.normalizing:
            for module in self.modules_of(container):
                if isinstance(module, LayerMod):
                    self.graph.normalized.add(module.key)
            if isinstance(container, Instance):
                for value in container.attrs.values():
                    for opt in options(value):
                        if isinstance(opt, Param):
                            self.graph.normalized.add(opt.key)

    # --- statements -----------------------------------------------------------------

    def exec_block(self, body: object, frame: Frame) -> None:
        statements = body.body if isinstance(body, cst.IndentedBlock) else body
        if isinstance(statements, cst.SimpleStatementSuite):
            statements = statements.body
        for statement in statements:  # type: ignore[attr-defined]
            self.exec_statement(statement, frame)

    def exec_statement(self, node: cst.CSTNode, frame: Frame) -> None:
        self.tick()
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.exec_small(small, frame)
        elif isinstance(node, (cst.BaseSmallStatement,)):
            self.exec_small(node, frame)
        elif isinstance(node, cst.FunctionDef):
            owner = frame.owner if frame.local is not self.globals else None
            frame.local[node.name.value] = FuncRef(
                node, None if frame.local is self.globals else frame.local, owner)
        elif isinstance(node, cst.ClassDef):
            if frame.local is self.globals:
                self.define_class(node, frame)
            else:
                frame.local[node.name.value] = UNKNOWN
        elif isinstance(node, cst.If):
            self.exec_if(node, frame)
        elif isinstance(node, cst.For):
            self.exec_for(node, frame)
        elif isinstance(node, cst.While):
            self.exec_block(node.body, frame)
            self.exec_block(node.body, frame)
        elif isinstance(node, cst.With):
            for item in node.items:
                self.evaluate(item.item, frame)
                if item.asname is not None:
                    self.assign(item.asname.name, UNKNOWN, frame)
            self.exec_block(node.body, frame)
        elif isinstance(node, cst.Try):
            self.exec_block(node.body, frame)
            for handler in node.handlers:
                self.exec_block(handler.body, frame)
            if node.orelse is not None:
                self.exec_block(node.orelse.body, frame)
            if node.finalbody is not None:
                self.exec_block(node.finalbody.body, frame)
        elif isinstance(node, cst.BaseCompoundStatement):
            body = getattr(node, "body", None)
            if isinstance(body, cst.BaseSuite):
                self.exec_block(body, frame)

    def exec_small(self, node: cst.BaseSmallStatement, frame: Frame) -> None:
        if isinstance(node, cst.Assign):
            value = self.evaluate(node.value, frame)
            if frame.local is self.globals and isinstance(value, QName) and isinstance(
                    node.value, (cst.Name, cst.Attribute)):
                value = UNKNOWN  # `init = nn.init`: a stated limit, as for libcst (silent)
            for target in node.targets:
                self.assign(target.target, value, frame)
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                self.assign(node.target, self.evaluate(node.value, frame), frame)
        elif isinstance(node, cst.AugAssign):
            self.exec_augassign(node, frame)
        elif isinstance(node, cst.Expr):
            self.evaluate(node.value, frame)
        elif isinstance(node, cst.Return):
            value = self.evaluate(node.value, frame) if node.value is not None else NONE
            frame.returns.append(value)
        elif isinstance(node, (cst.Import, cst.ImportFrom)) and frame.local is not self.globals:
            self.local_import(node, frame)

    def local_import(self, node: cst.Import | cst.ImportFrom, frame: Frame) -> None:
        from init_lint.analysis.names import ImportCollector

        collector = ImportCollector()
        node.visit(collector)
        for local, target in collector.aliases.items():
            frame.local[local] = QName(target)

    def exec_augassign(self, node: cst.AugAssign, frame: Frame) -> None:
        current = self.evaluate(node.target, frame)
        value = self.evaluate(node.value, frame)
        if isinstance(node.operator, cst.AddAssign) and isinstance(current, ListObj):
            items = self.iterate(value)
            new_items = items if items is not None else [UNKNOWN]
            current.items.extend(self.maybe(v) for v in new_items)
            return
        op = type(node.operator).__name__.replace("Assign", "")
        binop = getattr(cst, op, None)
        result = self.binary(binop() if binop else None, current, value)
        self.assign(node.target, result, frame)

    def maybe(self, value: Value) -> Value:
        """An item added under an unknown condition may or may not be there."""
        if self.uncertain:
            return choice([value, PassMod("Maybe")])
        return value

    def exec_if(self, node: cst.If, frame: Frame) -> None:
        test = self.truth(self.evaluate(node.test, frame))
        orelse = node.orelse
        if test is True:
            self.exec_block(node.body, frame)
            return
        if test is False:
            if isinstance(orelse, cst.If):
                self.exec_if(orelse, frame)
            elif isinstance(orelse, cst.Else):
                self.exec_block(orelse.body, frame)
            return
        narrow_true, narrow_false = self.narrowing(node.test, frame)
        before = dict(frame.local)
        attrs_before = self.snapshot_attrs(frame)
        returns_before = len(frame.returns)
        self.fork_containers(frame)
        frame.local.update(narrow_true)
        self.exec_block(node.body, frame)
        after_true = dict(frame.local)
        attrs_true = self.snapshot_attrs(frame)
        true_returned = len(frame.returns) > returns_before
        frame.local.clear()
        frame.local.update(before)
        self.restore_attrs(frame, attrs_before)
        self.fork_containers(frame)
        frame.local.update(narrow_false)
        if isinstance(orelse, cst.If):
            self.exec_if(orelse, frame)
        elif isinstance(orelse, cst.Else):
            self.exec_block(orelse.body, frame)
        if true_returned and not isinstance(orelse, (cst.If, cst.Else)):
            # `if c: return a` then code: the fall-through continues with the false state.
            self.unfork(frame.local)
            if isinstance(frame.receiver, Instance):
                self.unfork(frame.receiver.attrs)
            return
        self.join_into(frame.local, after_true)
        attrs_false = self.snapshot_attrs(frame)
        self.join_attrs(frame, attrs_true, attrs_false)

    def narrowing(self, test: cst.BaseExpression,
                  frame: Frame) -> tuple[dict[str, Value], dict[str, Value]]:
        """What an unknown test still tells each branch: ``isinstance(m, T)`` keeps the
        options of ``m`` that can be a T in the true branch and the others in the false
        one; likewise ``m is None``. Returns (true bindings, false bindings)."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            on_true, on_false = self.narrowing(test.expression, frame)
            return on_false, on_true
        if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            left_true, _ = self.narrowing(test.left, frame)
            right_true, _ = self.narrowing(test.right, frame)
            return {**left_true, **right_true}, {}
        name: str | None = None
        predicate: Callable[[Value], bool | None] | None = None
        if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and (
                test.func.value == "isinstance") and len(test.args) == 2 and isinstance(
                test.args[0].value, cst.Name):
            name = test.args[0].value.value
            types = self.evaluate(test.args[1].value, frame)
            predicate = lambda option: self.isinstance_of(option, types)  # noqa: E731
        elif isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and len(
                test.comparisons) == 1 and isinstance(test.comparisons[0].operator,
                                                      (cst.Is, cst.IsNot)):
            comparator = self.evaluate(test.comparisons[0].comparator, frame)
            if comparator == Const(None):
                name = test.left.value
                negate = isinstance(test.comparisons[0].operator, cst.IsNot)

                def predicate(option: Value) -> bool | None:
                    outcome = self.compare_one(cst.Is(), option, NONE)
                    return None if outcome is None else (outcome != negate)
        if name is None or predicate is None or name not in frame.local:
            return {}, {}
        value = frame.local[name]
        opts = options(value)
        if len(opts) < 2:
            return {}, {}
        verdicts = [(o, predicate(o)) for o in opts]
        kept_true = [o for o, v in verdicts if v is not False]
        kept_false = [o for o, v in verdicts if v is not True]
        return ({name: choice(kept_true)} if kept_true else {},
                {name: choice(kept_false)} if kept_false else {})

    def fork_containers(self, frame: Frame) -> None:
        """Each branch of an unknown ``if`` mutates its own copies of the lists and dicts
        the frame holds; the join then knows what each branch built."""
        clones: dict[int, Value] = {}

        def fork(value: Value) -> Value:
            if id(value) in clones:
                return clones[id(value)]
            clone: Value = value
            if isinstance(value, ListObj):
                clone = ListObj(list(value.items), value.module_list, value)
            elif isinstance(value, DictObj):
                clone = DictObj(dict(value.items), value.module_dict, value)
            clones[id(value)] = clone
            return clone

        for name, value in list(frame.local.items()):
            frame.local[name] = fork(value)
        if isinstance(frame.receiver, Instance):
            attrs = frame.receiver.attrs
            for name, value in list(attrs.items()):
                attrs[name] = fork(value)

    def unfork(self, names: dict[str, Value]) -> None:
        """Write a single branch's copies back into the originals."""
        for name, value in list(names.items()):
            names[name] = self.merge_fork(value, value)

    def merge_fork(self, a: Value, b: Value) -> Value:
        """Join two branch values; copies of one container with equal contents become the
        original again (with those contents), different ones a Choice."""
        if a is b and not isinstance(a, (ListObj, DictObj)):
            return a
        if isinstance(a, ListObj) and isinstance(b, ListObj) and a.forked_from is not None \
                and a.forked_from is b.forked_from:
            if len(a.items) == len(b.items) and all(x is y for x, y in zip(a.items, b.items)):
                a.forked_from.items[:] = a.items
                return a.forked_from
        elif isinstance(a, DictObj) and isinstance(b, DictObj) and a.forked_from is not None \
                and a.forked_from is b.forked_from:
            if list(a.items) == list(b.items) and all(a.items[k] is b.items[k] for k in a.items):
                a.forked_from.items.clear()
                a.forked_from.items.update(a.items)
                return a.forked_from
        if a is b:
            return a
        return choice([a, b])

    def snapshot_attrs(self, frame: Frame) -> dict[str, Value] | None:
        receiver = frame.receiver
        if isinstance(receiver, Instance):
            return dict(receiver.attrs)
        return None

    def restore_attrs(self, frame: Frame, saved: dict[str, Value] | None) -> None:
        if saved is not None and isinstance(frame.receiver, Instance):
            frame.receiver.attrs.clear()
            frame.receiver.attrs.update(saved)

    def join_attrs(self, frame: Frame, first: dict[str, Value] | None,
                   second: dict[str, Value] | None) -> None:
        if first is None or second is None or not isinstance(frame.receiver, Instance):
            return
        merged: dict[str, Value] = {}
        for key in list(first) + [k for k in second if k not in first]:
            a, b = first.get(key), second.get(key)
            if a is None or b is None:
                merged[key] = choice([a or NONE, b or NONE])
            else:
                merged[key] = self.merge_fork(a, b)
        frame.receiver.attrs.clear()
        frame.receiver.attrs.update(merged)

    def join_into(self, target: dict[str, Value], other: dict[str, Value]) -> None:
        for key in list(other) + [k for k in target if k not in other]:
            a, b = other.get(key), target.get(key)
            if a is None or b is None:
                target[key] = choice([a or UNKNOWN, b or UNKNOWN])
            else:
                target[key] = self.merge_fork(a, b)

    def exec_for(self, node: cst.For, frame: Frame) -> None:
        iterable = self.evaluate(node.iter, frame)
        items = self.iterate_for_loop(iterable)
        dispatch = self.is_dispatch_iterable(node.iter, iterable)
        if dispatch:
            self.dispatch += 1
        try:
            if items is not None and len(items) <= _MAX_UNROLL:
                for item in items:
                    self.assign(node.target, item, frame)
                    self.exec_block(node.body, frame)
            else:
                self.uncertain += 1
                try:
                    for _ in range(2):
                        self.assign(node.target, UNKNOWN, frame)
                        self.exec_block(node.body, frame)
                finally:
                    self.uncertain -= 1
        finally:
            if dispatch:
                self.dispatch -= 1
        if node.orelse is not None:
            self.exec_block(node.orelse.body, frame)

    def is_dispatch_iterable(self, node: cst.BaseExpression, value: Value) -> bool:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            return node.func.attr.value in ("modules", "children", "named_modules",
                                            "named_children", "parameters",
                                            "named_parameters")
        return False

    def iterate_for_loop(self, value: Value) -> list[Value] | None:
        if isinstance(value, Const) and isinstance(value.value, range):
            return [Const(i) for i in value.value]
        if isinstance(value, ListObj) and any(
                isinstance(i, Choice) and any(isinstance(o, PassMod) and o.kind == "Maybe"
                                              for o in i.options) for i in value.items):
            return None
        return self.iterate(value)

    # --- assignment -----------------------------------------------------------------

    def assign(self, target: cst.BaseExpression, value: Value, frame: Frame) -> None:
        if isinstance(target, cst.Name):
            frame.local[target.value] = value
            if not isinstance(value, Tensor):
                self.name_modules(value, target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            items = self.unpack(value, len(target.elements))
            for element, item in zip(target.elements, items):
                inner = element.value
                if isinstance(element, cst.StarredElement):
                    self.assign(inner, UNKNOWN, frame)
                else:
                    self.assign(inner, item, frame)
        elif isinstance(target, cst.Attribute):
            receiver = self.evaluate(target.value, frame)
            self.set_attribute(receiver, target.attr.value, value)
        elif isinstance(target, cst.Subscript):
            container = self.evaluate(target.value, frame)
            if isinstance(container, DictObj) and len(target.slice) == 1:
                index = target.slice[0].slice
                if isinstance(index, cst.Index):
                    key = self.evaluate(index.value, frame)
                    if isinstance(key, Const) and isinstance(key.value, str):
                        container.items[key.value] = value

    def unpack(self, value: Value, count: int) -> list[Value]:
        if isinstance(value, TupleV) and len(value.items) == count:
            return list(value.items)
        if isinstance(value, ListObj) and len(value.items) == count:
            return list(value.items)
        if isinstance(value, Const) and isinstance(value.value, tuple) and len(
                value.value) == count:
            return [Const(v) for v in value.value]
        if isinstance(value, Tensor):
            return [value] * count
        return [UNKNOWN] * count

    def set_attribute(self, receiver: Value, name: str, value: Value) -> None:
        for opt in options(receiver):
            if isinstance(opt, Instance):
                self.name_modules(value, name)
                if self.uncertain and name in opt.attrs:
                    value = choice([opt.attrs[name], value])
                opt.attrs[name] = value
            elif isinstance(opt, LayerMod) and name in ("weight", "bias"):
                for v in options(value):
                    if isinstance(v, Param) and v.site is not None:
                        if name == "weight":
                            v.site.weight_of.add(opt.key)
                        else:
                            v.site.bias_of.add(opt.key)

    def name_modules(self, value: Value, path: str) -> None:
        """Give unnamed layers the name of the place they are first stored."""
        for opt in options(value):
            if isinstance(opt, LayerMod):
                rec = self.records[opt.key]
                if rec.name is None:
                    rec.name = path
            elif isinstance(opt, Param):
                rec = self.records[opt.key]
                if rec.name is None:
                    rec.name = path
            elif isinstance(opt, TransformerLayerMod):
                for item_name, item in opt.named_children():
                    self.name_modules(item, f"{path}.{item_name}")
            elif isinstance(opt, SeqMod):
                for item, item_name in zip(opt.items, opt.names):
                    sep = f"[{item_name}]" if item_name.isdigit() else f".{item_name}"
                    self.name_modules(item, f"{path}{sep}")
            elif isinstance(opt, ListObj):
                for index, item in enumerate(opt.items):
                    self.name_modules(item, f"{path}[{index}]")
            elif isinstance(opt, DictObj):
                for key, item in opt.items.items():
                    self.name_modules(item, f"{path}[{key!r}]")

    # --- classes and functions ------------------------------------------------------

    def define_class(self, node: cst.ClassDef, frame: Frame) -> None:
        bases = [self.evaluate(arg.value, frame) for arg in node.bases if arg.keyword is None]
        methods: dict[str, cst.FunctionDef] = {}
        env: dict[str, Value] = {}
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else []
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                methods[statement.name.value] = statement
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                        targets = small.targets if isinstance(small, cst.Assign) else [small]
                        for t in targets:
                            tgt = t.target
                            if isinstance(tgt, cst.Name):
                                env[tgt.value] = self.evaluate(small.value, frame)
        info = ClassInfo(node.name.value, node, bases, methods, env)
        self.classes.append(info)
        frame.local[node.name.value] = ClassRef(info)

    def instantiate(self, cls: ClassInfo, args: list[Value], kwargs: dict[str, Value]) -> Instance:
        instance = Instance(cls)
        self.instances.append(instance)
        found = cls.find_method("__init__")
        if found is not None:
            owner, init = found
            self.call_function(FuncRef(init, None, owner), args, kwargs, receiver=instance)
        else:
            self.super_init(instance, cls, args, kwargs)
        return instance

    def super_init(self, instance: Instance, after: ClassInfo, args: list[Value],
                   kwargs: dict[str, Value]) -> None:
        """``super().__init__(...)``: the next in-file class, or torch's containers."""
        mro = instance.cls.mro()
        index = mro.index(after) if after in mro else 0
        for cls in mro[index + 1:]:
            if "__init__" in cls.methods:
                self.call_function(FuncRef(cls.methods["__init__"], None, cls), args, kwargs,
                                   receiver=instance)
                return
        for base in after.external_bases():
            if base == "torch.nn.Sequential":
                seq = self.sequential(args)
                instance.seq_items = seq.items
                self.name_modules(seq, "")
            elif base == "torch.nn.ModuleList" and args:
                instance.seq_items = None

    def call_function(self, func: FuncRef, args: list[Value], kwargs: dict[str, Value],
                      receiver: Value | None = None) -> Value:
        node = func.node
        self.called.add(id(node))
        if self.depth >= _MAX_DEPTH or sum(f is not None and f.owner is func.owner and
                                           getattr(f, "node", None) is node
                                           for f in self.frames) > 2:
            self.unknown_call(args + list(kwargs.values()))
            return UNKNOWN
        local: dict[str, Value] = {}
        params = node.params
        positional = list(params.posonly_params) + list(params.params)
        values = list(args)
        if receiver is not None:
            values = [receiver] + values
        for index, param in enumerate(positional):
            name = param.name.value
            if index < len(values):
                local[name] = values[index]
            elif name in kwargs:
                local[name] = kwargs[name]
            elif param.default is not None:
                local[name] = soften(self.evaluate(param.default, self.frames[0]))
            else:
                local[name] = UNKNOWN
        for param in params.kwonly_params:
            name = param.name.value
            if name in kwargs:
                local[name] = kwargs[name]
            elif param.default is not None:
                local[name] = soften(self.evaluate(param.default, self.frames[0]))
            else:
                local[name] = UNKNOWN
        if isinstance(params.star_arg, cst.Param):
            local[params.star_arg.name.value] = TupleV(tuple(values[len(positional):]))
        if params.star_kwarg is not None:
            known = {p.name.value for p in positional} | {p.name.value for p in params.kwonly_params}
            local[params.star_kwarg.name.value] = DictObj(
                {k: v for k, v in kwargs.items() if k not in known})
        frame = Frame(local, func.closure, func.owner, receiver)
        frame.node = node  # type: ignore[attr-defined]
        self.frames.append(frame)
        self.depth += 1
        try:
            if isinstance(node, cst.Lambda):
                return self.evaluate(node.body, frame)
            self.exec_block(node.body, frame)
        finally:
            self.depth -= 1
            self.frames.pop()
        if not frame.returns:
            return NONE
        return choice(frame.returns)

    # --- modules as callables -------------------------------------------------------

    def call_module(self, module: Value, args: list[Value], kwargs: dict[str, Value]) -> Value:
        """Apply a module value to tensors: the heart of pairing."""
        x = args[0] if args else (next(iter(kwargs.values())) if kwargs else EMPTY_TENSOR)
        if isinstance(module, Choice):
            return choice([self.call_module(o, args, kwargs) for o in module.options])
        if isinstance(module, LayerMod):
            if self.records[module.key].is_norm:
                return self.apply_norm(x)
            return self.apply_layer(module.key, x)
        if isinstance(module, ActMod):
            return self.apply_activation(module.act, x)
        if isinstance(module, PassMod):
            return x
        if isinstance(module, OtherMod):
            if module.normalizing:
                self.container_stack.append(module)
                self.apply_norm(EMPTY_TENSOR)
                self.container_stack.pop()
            return self.unknown_call(args + list(kwargs.values()))
        if isinstance(module, TransformerLayerMod):
            return self.run_transformer_layer(module, x)
        if isinstance(module, SeqMod):
            self.container_stack.append(module)
            try:
                for item in module.items:
                    x = self.call_module(item, [x], {})
            finally:
                self.container_stack.pop()
            return x
        if isinstance(module, Instance):
            found = module.cls.find_method("forward")
            self.container_stack.append(module)
            self.forward_ran.add(id(module))
            try:
                if found is None:
                    if module.seq_items is not None:
                        return self.call_module(SeqMod(module.seq_items, []), args, kwargs)
                    return self.unknown_call(args + list(kwargs.values()))
                owner, forward = found
                return self.call_function(FuncRef(forward, None, owner), args, kwargs,
                                          receiver=module)
            finally:
                self.container_stack.pop()
        return self.unknown_call(args + list(kwargs.values()))

    def run_transformer_layer(self, layer: TransformerLayerMod, x: Value) -> Value:
        """What PyTorch's transformer layer does with its input, as pairing sees it."""
        self.container_stack.append(layer)
        try:
            self.consume(x, Consumer.OTHER)  # attention's in-projection (a raw weight)
            attended = self.apply_layer(layer.out_proj.key, EMPTY_TENSOR)
            self.consume(attended, Consumer.RESIDUAL)
            hidden = self.apply_norm(EMPTY_TENSOR)
            hidden = self.apply_layer(layer.linear1.key, hidden)
            hidden = self.apply_activation(layer.activation.act, hidden)
            hidden = self.apply_layer(layer.linear2.key, hidden)
            self.consume(hidden, Consumer.RESIDUAL)
            return self.apply_norm(EMPTY_TENSOR)
        finally:
            self.container_stack.pop()

    def modules_of(self, root: Value) -> list[Value]:
        """``root.modules()``: the root and every submodule, depth first, once each."""
        found: list[Value] = []
        seen: set[int] = set()

        def walk(value: Value) -> None:
            for opt in options(value):
                if id(opt) in seen:
                    continue
                if isinstance(opt, (ModuleObj,)):
                    seen.add(id(opt))
                    if not (isinstance(opt, PassMod) and opt.kind == "Maybe"):
                        found.append(opt)
                    for child in self.children_of(opt):
                        walk(child)
                elif opt is UNKNOWN:
                    if not any(f is UNKNOWN for f in found):
                        found.append(UNKNOWN)

        walk(root)
        return found

    def children_of(self, module: Value) -> list[Value]:
        if isinstance(module, TransformerLayerMod):
            return module.children()
        if isinstance(module, SeqMod):
            return list(module.items)
        if isinstance(module, Instance):
            children: list[Value] = []
            for value in module.attrs.values():
                for opt in options(value):
                    if isinstance(opt, ModuleObj):
                        children.append(opt)
                    elif isinstance(opt, ListObj) and opt.module_list:
                        children.extend(opt.items)
                    elif isinstance(opt, DictObj) and opt.module_dict:
                        children.extend(opt.items.values())
            if module.seq_items:
                children.extend(module.seq_items)
            if any(b not in ("torch.nn.Module", "torch.nn.Sequential", "torch.nn.ModuleList")
                   for b in module.cls.external_bases()):
                children.append(UNKNOWN)
            return children
        return []

    def named_parameters_of(self, root: Value) -> list[Value]:
        """``root.named_parameters()`` as (name, TensorRef) tuples."""
        result: list[Value] = []

        def walk(value: Value, prefix: str, seen: set[int]) -> None:
            for opt in options(value):
                if id(opt) in seen:
                    continue
                seen.add(id(opt))
                if isinstance(opt, LayerMod):
                    rec = self.records[opt.key]
                    role = "norm" if rec.is_norm else "layer"
                    dim = len(rec.shape) + (0 if rec.kind.startswith(("Linear", "Bilinear"))
                                            else _conv_dims(rec.kind)) if rec.shape else (
                        1 if rec.is_norm else _weight_dim(rec.kind))
                    result.append(TupleV((Const(prefix + "weight"),
                                          TensorRef(opt.key, "weight", role, dim))))
                    if opt.has_bias:
                        result.append(TupleV((Const(prefix + "bias"),
                                              TensorRef(opt.key, "bias", role, 1))))
                elif isinstance(opt, OtherMod):
                    result.append(TupleV((UNKNOWN, TensorRef(opt.key, "?", "other", None))))
                elif isinstance(opt, SeqMod):
                    for item, name in zip(opt.items, opt.names):
                        walk(item, f"{prefix}{name}.", seen)
                elif isinstance(opt, TransformerLayerMod):
                    for name, item in opt.named_children():
                        walk(item, f"{prefix}{name}.", seen)
                elif isinstance(opt, Instance):
                    for name, attr in opt.attrs.items():
                        for a in options(attr):
                            if isinstance(a, Param):
                                dim = len(a.shape) if a.shape is not None else None
                                result.append(TupleV((Const(prefix + name),
                                                      TensorRef(a.key, "weight", "raw", dim))))
                            elif isinstance(a, ModuleObj):
                                walk(a, f"{prefix}{name}.", seen)
                            elif isinstance(a, ListObj) and a.module_list:
                                for i, item in enumerate(a.items):
                                    walk(item, f"{prefix}{name}.{i}.", seen)
                            elif isinstance(a, DictObj) and a.module_dict:
                                for k, item in a.items.items():
                                    walk(item, f"{prefix}{name}.{k}.", seen)
                    if opt.seq_items:
                        for i, item in enumerate(opt.seq_items):
                            walk(item, f"{prefix}{i}.", seen)
                    if any(b not in ("torch.nn.Module", "torch.nn.Sequential",
                                     "torch.nn.ModuleList")
                           for b in opt.cls.external_bases()):
                        result.append(TupleV((UNKNOWN, UNKNOWN)))
                elif opt is UNKNOWN:
                    result.append(TupleV((UNKNOWN, UNKNOWN)))

        walk(root, "", set())
        return result

    # --- expressions ----------------------------------------------------------------

    def evaluate_quiet(self, node: cst.BaseExpression) -> Value:
        frame = self.frames[-1] if self.frames else Frame(self.globals, None, None, None)
        return self.evaluate(node, frame)

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
        if isinstance(node, cst.Name):
            return self.lookup(node.value, frame)
        if isinstance(node, cst.Integer):
            return Const(int(node.value.replace("_", ""), 0))
        if isinstance(node, cst.Float):
            return Const(float(node.value.replace("_", "")))
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            text = node.evaluated_value
            return Const(text) if isinstance(text, str) else UNKNOWN
        if isinstance(node, cst.Attribute):
            return self.get_attribute(self.evaluate(node.value, frame), node.attr.value)
        if isinstance(node, cst.Call):
            return self.evaluate_call(node, frame)
        if isinstance(node, cst.BinaryOperation):
            left = self.evaluate(node.left, frame)
            right = self.evaluate(node.right, frame)
            return self.binary(node.operator, left, right)
        if isinstance(node, cst.UnaryOperation):
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
        if isinstance(node, cst.BooleanOperation):
            return self.boolean(node, frame)
        if isinstance(node, cst.Comparison):
            return self.compare(node, frame)
        if isinstance(node, cst.IfExp):
            test = self.truth(self.evaluate(node.test, frame))
            if test is True:
                return self.evaluate(node.body, frame)
            if test is False:
                return self.evaluate(node.orelse, frame)
            return choice([self.evaluate(node.body, frame), self.evaluate(node.orelse, frame)])
        if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
            items: list[Value] = []
            for element in node.elements:
                value = self.evaluate(element.value, frame)
                if isinstance(element, cst.StarredElement):
                    expanded = self.iterate(value)
                    items.extend(expanded if expanded is not None else [UNKNOWN])
                else:
                    items.append(value)
            if isinstance(node, cst.Tuple):
                if all(isinstance(i, Const) for i in items):
                    return Const(tuple(i.value for i in items if isinstance(i, Const)))
                return TupleV(tuple(items))
            return ListObj(items)
        if isinstance(node, cst.Dict):
            entries: dict[str, Value] = {}
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    key = self.evaluate(element.key, frame)
                    if isinstance(key, Const) and isinstance(key.value, str):
                        entries[key.value] = self.evaluate(element.value, frame)
            return DictObj(entries)
        if isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return ListObj(self.comprehension(node.elt, node.for_in, frame))
        if isinstance(node, cst.DictComp):
            self.comprehension(node.value, node.for_in, frame)
            return DictObj({})
        if isinstance(node, cst.Subscript):
            return self.subscript(node, frame)
        if isinstance(node, cst.Lambda):
            return FuncRef(node, dict(frame.local), frame.owner)
        if isinstance(node, cst.NamedExpr):
            value = self.evaluate(node.value, frame)
            self.assign(node.target, value, frame)
            return value
        if isinstance(node, cst.FormattedString):
            return UNKNOWN
        if isinstance(node, cst.Ellipsis):
            return UNKNOWN
        return UNKNOWN

    def comprehension(self, element: cst.BaseExpression, for_in: cst.CompFor,
                      frame: Frame) -> list[Value]:
        results: list[Value] = []
        local = Frame(dict(frame.local), frame.closure, frame.owner, frame.receiver)
        local.local.update({})

        def run(comp: cst.CompFor) -> None:
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
                    run(comp.inner_for_in)
                else:
                    value = self.evaluate(element, local)
                    if keep is None or unknown:
                        self.uncertain += 1
                        value = self.maybe(value) if keep is None else value
                        self.uncertain -= 1
                    results.append(value)

        run(for_in)
        return results

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
                same = left is right
                return same if isinstance(op, cst.Is) else not same
            return None
        if isinstance(op, (cst.In, cst.NotIn)):
            found: bool | None = None
            if isinstance(left, Const) and isinstance(right, Const) and isinstance(
                    right.value, (str, tuple)):
                try:
                    found = left.value in right.value  # type: ignore[operator]
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
        if not isinstance(target, QName):
            return None
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
                return ListObj(left.items + right.items, left.module_list)
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
                return BoundMethod(value, FuncRef(found[1], None, found[0]))
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

    # --- calls ----------------------------------------------------------------------

    def evaluate_call(self, node: cst.Call, frame: Frame) -> Value:
        func = self.evaluate(node.func, frame)
        values = [self.evaluate(arg.value, frame) for arg in node.args]
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
        for arg, value in zip(node.args, values):
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
                if param is None:
                    return self.apply_activation(Act("?"), args[0] if args else EMPTY_TENSOR)
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
        if name in _LINEAR_FUNCTIONS and len(args) >= 2:
            weight = args[1]
            if isinstance(weight, Param):
                return self.use_raw_weight(weight, args[0], transposed=False if
                                           name.endswith("linear") else None)
            return self.unknown_call(args)
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
            if len(args) == 1 and isinstance(args[0], (TupleV, Const)) and not isinstance(
                    const_int(args[0]), int):
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
        if name in ("torch.nn.utils.weight_norm", "torch.nn.utils.spectral_norm",
                    "torch.nn.utils.parametrizations.weight_norm",
                    "torch.nn.utils.parametrizations.spectral_norm", "copy.deepcopy"):
            return args[0] if args else UNKNOWN
        if name == "functools.partial" and args:
            return Partial(args[0], tuple(args[1:]), tuple(kwargs.items()))
        if name in ("collections.OrderedDict", "builtins.dict"):
            return self.ordered_dict(args, kwargs)
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
                try:
                    return Const(calculate_gain(args[0].value, p.value if isinstance(
                        p, Const) and isinstance(p.value, (int, float)) else None))
                except ValueError:
                    return UNKNOWN
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

    def ordered_dict(self, args: list[Value], kwargs: dict[str, Value]) -> Value:
        entries: dict[str, Value] = {}
        if args:
            items = self.iterate(args[0])
            if items is None:
                return DictObj({})
            for item in items:
                pair = item.items if isinstance(item, (TupleV, ListObj)) else (
                    tuple(Const(v) for v in item.value) if isinstance(item, Const) and isinstance(
                        item.value, tuple) else ())
                if len(pair) == 2 and isinstance(pair[0], Const):
                    entries[str(pair[0].value)] = pair[1]
        entries.update(kwargs)
        return DictObj(entries)

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
                    items for items in lists if items is not None])])
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
            return NONE
        if name in ("int", "float", "abs", "round", "min", "max", "sum", "bool", "str"):
            if all(isinstance(a, Const) for a in args) and args:
                try:
                    fn = {"int": int, "float": float, "abs": abs, "round": round, "min": min,
                          "max": max, "sum": sum, "bool": bool, "str": str}[name]
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
            elif name == "extend" and args:
                items = self.iterate(args[0])
                receiver.items.extend(self.maybe(v) for v in (items if items is not None
                                                              else [UNKNOWN]))
            elif name == "insert" and len(args) == 2:
                position = const_int(args[0])
                if position is not None:
                    receiver.items.insert(position, self.maybe(args[1]))
                else:
                    receiver.items.append(UNKNOWN)
            elif name in ("pop", "remove", "clear"):
                receiver.items[:] = [UNKNOWN]
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

    def module_method(self, receiver: ModuleObj, name: str, args: list[Value],
                      kwargs: dict[str, Value], node: cst.Call) -> Value:
        if name == "apply" and args:
            self.dispatch += 1
            try:
                for module in self.modules_of(receiver):
                    self.call(args[0], [module], {}, node)
            finally:
                self.dispatch -= 1
            return receiver
        if name == "modules":
            return ListObj(self.modules_of(receiver))
        if name == "named_modules":
            return ListObj([TupleV((UNKNOWN, m)) for m in self.modules_of(receiver)])
        if name == "children":
            return ListObj(self.children_of(receiver))
        if name == "named_children":
            return ListObj([TupleV((UNKNOWN, m)) for m in self.children_of(receiver)])
        if name == "parameters":
            return ListObj([t.items[1] for t in self.named_parameters_of(receiver)
                            if isinstance(t, TupleV)])
        if name == "named_parameters":
            return ListObj(self.named_parameters_of(receiver))
        if name in ("add_module", "register_module") and len(args) == 2 and isinstance(
                args[0], Const):
            if isinstance(receiver, Instance):
                self.set_attribute(receiver, str(args[0].value), args[1])
            elif isinstance(receiver, SeqMod):
                receiver.items.append(args[1])
                receiver.names.append(str(args[0].value))
            return NONE
        if name == "register_parameter" and len(args) == 2 and isinstance(args[0], Const):
            self.set_attribute(receiver, str(args[0].value), args[1])
            return NONE
        if name == "append" and isinstance(receiver, SeqMod) and args:
            receiver.items.append(self.maybe(args[0]))
            receiver.names.append(str(len(receiver.names)))
            return receiver
        if name in _RETURNS_SELF:
            return receiver
        if name == "forward":
            return self.call_module(receiver, args, kwargs)
        if name == "reset_parameters":
            return NONE
        return self.unknown_call(args)


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


def _names_in(node: object) -> Iterator[str]:
    """Every ``Name`` under a node (or list of nodes)."""
    stack: list[object] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, (list, tuple)):
            stack.extend(current)
        elif isinstance(current, cst.Name):
            yield current.value
        elif isinstance(current, cst.Annotation):
            continue
        elif isinstance(current, cst.CSTNode):
            stack.extend(current.children)


def _dispatches_on(node: cst.FunctionDef, param: str) -> bool:
    """Does the function test ``isinstance(param, ...)``/``type(param)`` or its class name?"""
    for child in _walk(node.body):
        if isinstance(child, cst.Call) and isinstance(child.func, cst.Name) and child.func.value in (
                "isinstance", "type") and child.args:
            first = child.args[0].value
            if isinstance(first, cst.Name) and first.value == param:
                return True
        if isinstance(child, cst.Attribute) and child.attr.value == "__class__" and isinstance(
                child.value, cst.Name) and child.value.value == param:
            return True
    return False


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


_BUILTINS = frozenset({"range", "len", "isinstance", "type", "super", "zip", "enumerate", "list",
                       "tuple", "reversed", "getattr", "hasattr", "setattr", "int", "float",
                       "abs", "round", "min", "max", "sum", "bool", "str", "dict", "print"})
_MODULE_METHODS = frozenset({"apply", "modules", "named_modules", "children", "named_children",
                             "parameters", "named_parameters", "add_module", "register_module",
                             "register_parameter", "append", "forward", "reset_parameters",
                             "register_buffer"} | _RETURNS_SELF)


def qualified(name: str, aliases: dict[str, str]) -> str | None:
    return qualify(name, aliases)

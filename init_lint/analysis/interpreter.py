"""The abstract interpreter: runs a model file's code over abstract values, once.

It executes the module body, instantiates classes (running ``__init__`` with the
arguments given, or their defaults for top-level models), applies the init functions a
framework would apply, runs each model's ``forward`` with abstract tensors (or leaves it
until a rule asks: ``ModelGraph.pending_forward``), and follows calls within the file
(methods, module-level helpers, ``.apply(fn)``, ``functools.partial``). Loops over known
lists (``modules()``, a ``ModuleList``, ``range(4)``) are unrolled, so ``isinstance``
dispatch and index arithmetic evaluate exactly; unknown conditions run both branches and
join.

Everything it learns goes into the ``ModelGraph`` through the flow/layers/inits mixins.
"""

from __future__ import annotations

import functools
import re

import libcst as cst

from init_lint.analysis.base import (
    _DISPATCH_WORDS,
    _MAX_DEPTH,
    _MAX_UNROLL,
    Frame,
    InterpreterBase,
    _dispatches_on,
)
from init_lint.analysis.branches import BranchMixin
from init_lint.analysis.calls import CallMixin
from init_lint.analysis.expressions import ExpressionMixin
from init_lint.analysis.modules import ModuleMixin
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
    FuncRef,
    Instance,
    LayerMod,
    ListObj,
    ModuleObj,
    OtherMod,
    Param,
    Partial,
    PassMod,
    QName,
    SeqMod,
    Tensor,
    TransformerLayerMod,
    TupleV,
    Value,
    choice,
    options,
    soften,
)
from init_lint.analysis.walk import descendants
from init_lint.knowledge import (
    INITIALIZER_FUNCTIONS,
    INITIALIZERS,
    TENSOR_INIT_METHODS,
    ZERO_MODULE_FUNCTIONS,
)

#: Names an init call is spelled with wherever it is imported from (``forward_may_init``).
_INIT_WORDS = frozenset(
    {name.rsplit(".", 1)[1] for name in INITIALIZER_FUNCTIONS if name.endswith("_")}
    | set(TENSOR_INIT_METHODS) | {"Parameter", "zero_module"})
#: ``init.normal`` and the other deprecated names (only after ``init.``: ``"constant"``
#: padding modes are common).
_DEPRECATED = "|".join(sorted(name for name in INITIALIZERS if not name.endswith("_")))
#: Modules that hold initializers (``from torch_geometric.nn import inits``: ``inits.zeros``).
_INIT_MODULES = frozenset(name.rsplit(".", 1)[0] for name in INITIALIZER_FUNCTIONS)


def _is_initializer(qualified: str) -> bool:
    return (qualified in INITIALIZER_FUNCTIONS or qualified in ZERO_MODULE_FUNCTIONS
            or qualified in _INIT_MODULES or qualified.endswith(".Parameter"))


def _methods(cls: ClassInfo) -> list[cst.FunctionDef]:
    """What building an object of ``cls`` (or running its methods) may run."""
    return [node for c in cls.mro() for node in c.methods.values()]


#: Values that may be (or hold) something to call.
_CALLABLE_VALUES = (QName, Partial, FuncRef, BoundMethod, ClassRef, Choice)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@functools.lru_cache(maxsize=64)
def _init_pattern(words: frozenset[str]) -> re.Pattern[str]:
    """The names an init call can be spelled with: every initializer's own name, the
    in-place methods, ``Parameter``, ``init.<deprecated name>``, and ``words``."""
    names = "|".join(sorted(re.escape(word) for word in _INIT_WORDS | words))
    return re.compile(rf"(?<!\w)(?:{names}|init\.(?:{_DEPRECATED}))(?!\w)")


def _functions_in(value: Value) -> list[cst.FunctionDef | cst.Lambda]:
    """The functions a value held in an attribute may run when called."""
    found: list[cst.FunctionDef | cst.Lambda] = []
    for opt in options(value):
        if isinstance(opt, BoundMethod):
            opt = opt.func
        if isinstance(opt, Partial):
            found.extend(_functions_in(opt.func))
        elif isinstance(opt, FuncRef):
            found.append(opt.node)
        elif isinstance(opt, ClassRef):
            found.extend(_methods(opt.cls))
    return found


def _holds_initializer(value: Value) -> bool:
    if isinstance(value, QName):
        return _is_initializer(value.name)
    return isinstance(value, Partial) and any(_holds_initializer(opt)
                                              for opt in options(value.func))


class Interpreter(BranchMixin, ExpressionMixin, CallMixin, ModuleMixin, InterpreterBase):
    """Builds the ModelGraph of one module by running it abstractly."""

    # --- entry point ----------------------------------------------------------------

    def run(self, defer_forward: bool = False) -> None:
        """Run the file. ``defer_forward``: leave the models' ``forward`` to
        ``graph.pending_forward`` when no init site needs it yet (see ``ModelGraph``)."""
        frame = Frame(self.globals, None, None, None)
        self.frames.append(frame)
        try:
            self.exec_block(self.module.body, frame)
            roots = self.build_roots()
            self.apply_uncalled_init_functions(roots)
            if defer_forward and not self.forward_may_init():
                self.graph.pending_forward = lambda: self.run_deferred_forward(roots)
                self.graph.raw_pending = frozenset(
                    key for key, record in self.records.items()
                    if record.is_raw and not record.is_other and (
                        record.shape is None or len(record.shape) >= 2))
            else:
                self.run_forwards(roots)
        except (BudgetExceeded, RecursionError):
            self.give_up()
        self.finish_layers()
        self.finish_normalized()

    def run_deferred_forward(self, roots: list[ModuleObj]) -> None:
        try:
            self.run_forwards(roots)
        except (BudgetExceeded, RecursionError):
            self.give_up()
        self.graph.layers.clear()  # raw weights and fans that forward learned
        self.finish_layers()
        self.finish_normalized()

    def give_up(self) -> None:
        self.graph.incomplete = True
        self.graph.uses.clear()

    def build_roots(self) -> list[ModuleObj]:
        """The top-level models: module-level model values, and every module class that no
        other class uses (instantiated with its defaults)."""
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
        return roots

    def run_forwards(self, roots: list[ModuleObj]) -> None:
        """Run ``forward`` of every top-level model, then of every module no model ran."""
        for root in roots:
            if isinstance(root, Instance) and id(root) in self.forward_ran:
                continue
            self.run_forward(root)
        # Submodules a framework calls (PyG's propagate -> message -> self.edge_net): their
        # own forward still tells how their inner layers pair.
        for instance in list(self.instances):
            if id(instance) not in self.forward_ran and instance.cls.find_method("forward"):
                self.run_forward(instance)

    def forward_may_init(self) -> bool:
        """Could running ``forward`` add init sites, or reach more with those there?

        Only if it can run a function that has not run yet and names an initializer (a
        lazy init). What ``forward`` can run is found by name: the methods of every class
        with an instance, the functions and classes held in attributes, and whatever
        function or class the code of one of those names, on and on. Otherwise the sites
        are final and ``forward`` only tells how layers pair and which raw parameters are
        weights, which a rule asks for first (``ModelGraph.require_forward``).
        """
        functions = {name: value.node for name, value in self.globals.items()
                     if isinstance(value, FuncRef) and isinstance(value.node, cst.FunctionDef)}
        every: list[cst.FunctionDef | cst.Lambda] = list(functions.values())
        for cls in self.classes:
            every.extend(cls.methods.values())
        held, bound = self.held_values()
        callables = [node for value in held for node in _functions_in(value)]
        every.extend(callables)  # closures and lambdas too (``self.init = lambda w: ...``)
        words = _INIT_WORDS | bound | {"init."}  # substrings of every match of the pattern
        pattern = _init_pattern(frozenset(bound))
        texts: dict[int, str] = {}

        def text(node: cst.FunctionDef | cst.Lambda) -> str:
            found = texts.get(id(node))
            if found is None:
                found = texts[id(node)] = self.bodies.text(node, self.module)
            return found

        # Plain substring tests first: ``re`` tries an alternation at every position.
        initing = {id(node) for node in every
                   if id(node) not in self.called and any(word in text(node) for word in words)
                   and pattern.search(text(node))}
        if not initing:
            return False
        classes = {id(instance.cls): instance.cls for instance in self.instances}
        pending = [node for cls in classes.values() for node in _methods(cls)] + callables
        bases: dict[str, list[cst.FunctionDef | cst.Lambda]] = {}
        for cls in self.classes:
            bases.setdefault(cls.name, []).extend(_methods(cls))
        seen: set[int] = set()
        named: set[str] = set()
        while pending:
            node = pending.pop()
            if id(node) in seen or id(node) in self.called:
                continue
            if id(node) in initing:
                return True
            seen.add(id(node))
            for name in set(_IDENTIFIER.findall(text(node))) - named:
                named.add(name)
                pending.extend(bases.get(name, ()))
                if name in functions:
                    pending.append(functions[name])
        return False

    def held_values(self) -> tuple[list[Value], set[str]]:
        """Callables held in attributes and class bodies (``forward`` may call them), and
        the names the file binds an initializer to (an import alias, a global, an
        attribute: ``self.init_fn = nn.init.normal_``)."""
        held: list[Value] = []
        words = {local for local, qualified in self.aliases.items()
                 if _is_initializer(qualified)}
        scopes = [instance.attrs.items() for instance in self.instances]
        scopes.extend(cls.env.items() for cls in self.classes)
        scopes.append(self.globals.items())
        for index, items in enumerate(scopes):
            for name, value in items:
                if not isinstance(value, _CALLABLE_VALUES):
                    continue
                if any(_holds_initializer(opt) for opt in options(value)):
                    words.add(name)
                elif index < len(scopes) - 1:  # globals: reached by their name
                    held.append(value)
        return held, words

    def classes_used_by_other_classes(self) -> set[str]:
        names = frozenset(c.name for c in self.classes)
        used: set[str] = set()
        for cls in self.classes:
            found: set[str] = set()
            for node in descendants(cls.node.body, prune=(cst.Annotation,)):
                kind = type(node)
                if kind is cst.Name:
                    found.add(node.value)  # type: ignore[attr-defined]
                elif kind is cst.FunctionDef and self.bodies.skeleton:
                    found |= self.bodies.stub_names(node, names)  # type: ignore[arg-type]
            used |= (found & names) - {cls.name}
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
        result = self.call_module(root, tensors, {})
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
        for func, owner in candidates:
            node = func.node
            # Not a forward: it runs after these (forward never calls what a framework
            # applies to every module), and it runs anyway for every model built.
            if id(node) in self.called or not isinstance(node, cst.FunctionDef) or (
                    owner is not None and node.name.value == "forward"):
                continue
            params = [p.name.value for p in node.params.params]
            if owner is not None:
                params = params[1:]
            if len(params) != 1 or not self.bodies.may_mention(node, _DISPATCH_WORDS) or (
                    not _dispatches_on(self.bodies.body(node), params[0])):
                continue
            for root in roots:
                if owner is not None and not (
                        isinstance(root, Instance) and owner in root.cls.mro()):
                    continue
                target: Value = BoundMethod(root, func) if owner is not None else func
                self.dispatch += 1
                try:
                    self.apply_to_modules(target, node, root)
                finally:
                    self.dispatch -= 1

    def apply_to_modules(self, target: Value, node: cst.FunctionDef, root: ModuleObj) -> None:
        """Call ``target`` on every module of ``root``, once per distinct layer.

        A model often holds several copies of one construction site (a block class built
        for the encoder and the decoder, a list comprehension run more than once): they are
        one layer, keyed by that site, and a call on a copy records what a call on the
        first recorded, unless the function told the copies apart by identity (``module is
        self.head``); then every copy is called."""
        done: set[tuple[object, ...]] = set()
        for module in self.modules_of(root):
            signature = _layer_signature(module)
            if signature is not None and signature in done:
                continue
            before = self.identity_tests
            self.call(target, [module], {}, node)
            if signature is not None and self.identity_tests == before:
                done.add(signature)

    def finish_normalized(self) -> None:
        """Layers of a model that normalizes, and layers downstream of a submodule we
        cannot see (it may normalize), count as normalized: INI002/INI003 and INI004's
        too-small case stay silent for them."""
        self.graph.normalized |= self.maybe_normalized
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
        # Exact types first (libcst's concrete classes have no subclasses; isinstance() on
        # its abstract classes runs Python-level code).
        if type(node) is cst.SimpleStatementLine:
            for small in node.body:
                self.exec_small(small, frame)
        elif type(node) is cst.FunctionDef:
            owner = frame.owner if frame.local is not self.globals else None
            frame.local[node.name.value] = FuncRef(
                node, None if frame.local is self.globals else frame.local, owner)
        elif type(node) is cst.ClassDef:
            if frame.local is self.globals:
                self.define_class(node, frame)
            else:
                frame.local[node.name.value] = UNKNOWN
        elif type(node) is cst.If:
            self.exec_if(node, frame)
        elif type(node) is cst.For:
            self.exec_for(node, frame)
        elif type(node) is cst.While:
            self.loop_depth += 1
            try:
                self.exec_block(node.body, frame)
                self.exec_block(node.body, frame)
            finally:
                self.loop_depth -= 1
        elif type(node) is cst.With:
            for item in node.items:
                self.evaluate(item.item, frame)
                if item.asname is not None:
                    self.assign(item.asname.name, UNKNOWN, frame)
            self.exec_block(node.body, frame)
        elif type(node) is cst.Try:
            self.exec_block(node.body, frame)
            for handler in node.handlers:
                self.exec_block(handler.body, frame)
            if node.orelse is not None:
                self.exec_block(node.orelse.body, frame)
            if node.finalbody is not None:
                self.exec_block(node.finalbody.body, frame)
        elif isinstance(node, cst.BaseSmallStatement):
            self.exec_small(node, frame)
        elif isinstance(node, cst.BaseCompoundStatement):
            body = getattr(node, "body", None)
            if isinstance(body, cst.BaseSuite):
                self.exec_block(body, frame)

    def exec_small(self, node: cst.BaseSmallStatement, frame: Frame) -> None:
        # Exact types, as in exec_statement.
        if type(node) is cst.Assign:
            value = self.evaluate(node.value, frame)
            if frame.local is self.globals and isinstance(value, QName) and isinstance(
                    node.value, (cst.Name, cst.Attribute)):
                value = UNKNOWN  # `init = nn.init`: a stated limit, as for libcst (silent)
            for target in node.targets:
                self.assign(target.target, value, frame)
        elif type(node) is cst.AnnAssign:
            if node.value is not None:
                self.assign(node.target, self.evaluate(node.value, frame), frame)
        elif type(node) is cst.AugAssign:
            self.exec_augassign(node, frame)
        elif type(node) is cst.Expr:
            self.evaluate(node.value, frame)
        elif type(node) is cst.Return:
            value = self.evaluate(node.value, frame) if node.value is not None else NONE
            frame.returns.append(value)
        elif (type(node) is cst.Import or type(node) is cst.ImportFrom) and (
                frame.local is not self.globals):
            self.local_import(node, frame)

    def local_import(self, node: cst.Import | cst.ImportFrom, frame: Frame) -> None:
        from init_lint.analysis.names import ImportCollector

        collector = ImportCollector()
        collector.add(node)
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

    def exec_for(self, node: cst.For, frame: Frame) -> None:
        iterable = self.evaluate(node.iter, frame)
        items = self.iterate_for_loop(iterable)
        dispatch = self.is_dispatch_iterable(node.iter, iterable)
        if dispatch:
            self.dispatch += 1
        self.loop_depth += 1
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
            self.loop_depth -= 1
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
            for element, item in zip(target.elements, items, strict=False):
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
                        if isinstance(index.value, cst.SimpleString):
                            container.literal_keys.add(key.value)
                        else:
                            container.literal_keys.discard(key.value)

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
                for item, item_name in zip(opt.items, opt.names, strict=False):
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
            known = {p.name.value for p in positional}
            known |= {p.name.value for p in params.kwonly_params}
            local[params.star_kwarg.name.value] = DictObj(
                {k: v for k, v in kwargs.items() if k not in known})
        frame = Frame(local, func.closure, func.owner, receiver)
        frame.node = node  # type: ignore[attr-defined]
        self.frames.append(frame)
        self.depth += 1
        try:
            if isinstance(node, cst.Lambda):
                return self.evaluate(node.body, frame)
            self.exec_block(self.bodies.body(node), frame)
        finally:
            self.depth -= 1
            self.frames.pop()
        if not frame.returns:
            return NONE
        return choice(frame.returns)


def _layer_signature(module: Value) -> tuple[object, ...] | None:
    """What a function handed this module can learn of it but its identity (``None``: a
    module with state of its own, such as an instance of a class of the file)."""
    if isinstance(module, LayerMod):
        return ("layer", module.key, module.kind, module.has_bias)
    if isinstance(module, OtherMod):
        return ("other", module.key, module.kind, module.normalizing)
    if isinstance(module, ActMod):
        return ("activation", module.act, module.kind)
    if isinstance(module, PassMod):
        return ("pass", module.kind)
    return None

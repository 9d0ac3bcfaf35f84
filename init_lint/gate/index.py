"""The gate's one walk over CPython's tree: imports, bindings, init sites, and the uses of
attributes that decide whether a parameter can become a layer (``init_lint.gate``)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from init_lint.analysis.names import import_statements, relative_target
from init_lint.knowledge import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_METHODS,
    ACTIVATION_MODULES,
    INITIALIZER_FUNCTIONS,
    INITIALIZERS,
    NORM_MODULES,
    PASS_THROUGH_FUNCTIONS,
    STRING_ACTIVATIONS,
    TENSOR_FACTORIES,
    TENSOR_INIT_METHODS,
)

#: ``torch.nn`` classes that hold norm layers (the transformer layers hold two LayerNorms).
NORM_CLASSES = NORM_MODULES | {"TransformerEncoderLayer", "TransformerDecoderLayer",
                                "TransformerEncoder", "TransformerDecoder", "Transformer"}
#: Every word through which the analysis learns of an activation (a class, a function, a
#: method, a string, the transformer layers' default ReLU): INI002/INI003 need one.
_ACTIVATION_WORDS = frozenset(
    set(ACTIVATION_MODULES) | {q.rsplit(".", 1)[1] for q in ACTIVATION_FUNCTIONS}
    | set(ACTIVATION_METHODS) | set(STRING_ACTIVATIONS)
    | {"TransformerEncoderLayer", "TransformerDecoderLayer"})
PARAMETER = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_INIT_MODULES = frozenset(q.rsplit(".", 1)[0] for q in INITIALIZER_FUNCTIONS)
#: Methods whose receiver may be a raw weight used as ``x.matmul(W)``'s left side or right.
_MATMUL_METHODS = frozenset({"matmul", "mm", "bmm"})
#: Attributes that keep a parameter the same value (``W.data``, ``W.T``).
_SAME_VALUE_ATTRS = frozenset({"data", "T", "mT"})


@dataclass
class Site:
    function: str  # the torch.nn.init name it implements
    form: str  # "init_call", "tensor_method", "parameter"
    target: ast.expr | None  # the tensor (None: the Parameter's own attribute, see ``name``)
    scales: list[ast.expr | None]  # scale arguments INI004 reads (None: the default)
    narrow: dict[str, list[ast.expr]]  # isinstance narrowing in force at the site
    owner: ast.ClassDef | None  # the class whose method holds the site (``self``)
    name: str | None = None  # Parameter sites: the attribute it is assigned to
    vector: bool = False  # Parameter sites: the factory makes a 1-D tensor


@dataclass(frozen=True)
class Context:
    narrow: dict[str, list[ast.expr]]
    owner: ast.ClassDef | None
    function: str | None = None  # the def the node is in


@dataclass
class Index:
    """One pass over the tree: imports, bindings, sites and the uses that matter."""

    aliases: dict[str, set[str]] = field(default_factory=dict)
    names: dict[str, list[ast.expr | None]] = field(default_factory=dict)
    attrs: dict[str, list[ast.expr | None]] = field(default_factory=dict)
    classes: dict[str, list[ast.ClassDef]] = field(default_factory=dict)
    raw_attrs: set[str] = field(default_factory=set)  # may reach a raw-weight use
    returned: dict[str, set[str]] = field(default_factory=dict)  # def -> attributes it returns
    escaping_calls: set[str] = field(default_factory=set)  # f(...) whose result escapes
    value_names: set[str] = field(default_factory=set)  # names used as values, not called
    value_attrs: set[str] = field(default_factory=set)  # attributes used so (self.f)
    plain_defs: set[str] = field(default_factory=set)  # defs not directly in a class
    sites: list[Site] = field(default_factory=list)
    calls: list[tuple[ast.Call, ast.AST | None, Context]] = field(default_factory=list)
    param_names: dict[int, str] = field(default_factory=dict)  # Parameter call -> attribute
    dynamic_attrs: bool = False  # setattr(self, name, ...) with a computed name
    #: local name -> how many relative imports the analysis does not resolve bind it
    unresolved_imports: dict[str, int] = field(default_factory=dict)
    norm_named: bool = False
    activation_named: bool = False
    opened: bool = False  # something the gate cannot judge: parse the file


# --- the pass over the tree -----------------------------------------------------------


def dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _bind(table: dict[str, list[ast.expr | None]], name: str, value: ast.expr | None) -> None:
    table.setdefault(name, []).append(value)


def _bind_target(index: Index, target: ast.expr, value: ast.expr | None) -> None:
    if isinstance(target, ast.Name):
        _bind(index.names, target.id, value)
    elif isinstance(target, ast.Attribute):
        _bind(index.attrs, target.attr, value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for item in target.elts:
            _bind_target(index, item.value if isinstance(item, ast.Starred) else item, None)
    elif isinstance(target, ast.Starred):
        _bind_target(index, target.value, None)


def _narrowing(test: ast.expr) -> dict[str, list[ast.expr]]:
    """``isinstance(m, (A, B))``, ``type(m) is A``, ``type(m) in (A, B)`` and ``and``/``or``
    of them: the classes ``m`` has inside the ``if``."""
    if isinstance(test, ast.BoolOp):
        parts = [_narrowing(value) for value in test.values]
        if isinstance(test.op, ast.And):
            merged: dict[str, list[ast.expr]] = {}
            for part in parts:
                merged.update(part)
            return merged
        names = set.intersection(*(set(part) for part in parts)) if parts else set()
        return {n: [c for part in parts for c in part[n]] for n in names}
    subject: ast.expr | None = None
    classes: ast.expr | None = None
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and (
            test.func.id == "isinstance") and len(test.args) == 2 and not test.keywords:
        subject, classes = test.args
    elif isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(
            test.ops[0], (ast.Eq, ast.Is, ast.In)):
        left = test.left
        if isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and (
                left.func.id == "type") and len(left.args) == 1:
            subject, classes = left.args[0], test.comparators[0]
    if not isinstance(subject, ast.Name) or classes is None:
        return {}
    items = classes.elts if isinstance(classes, (ast.Tuple, ast.List)) else [classes]
    if any(dotted(item) is None for item in items):
        return {}
    return {subject.id: list(items)}


#: Last names of everything the gate must see used: initializers, their modules, the
#: in-place init methods, ``Parameter`` (calls of anything else are not looked at).
_INIT_LAST = frozenset(q.rsplit(".", 1)[1] for q in INITIALIZER_FUNCTIONS | dict.fromkeys(
    _INIT_MODULES))
_CALL_LAST = _INIT_LAST | TENSOR_INIT_METHODS.keys() | {"Parameter"}
#: Calls that neither keep nor pass on a parameter given to them (a site's own tensor).
_INERT_CALLS = _INIT_LAST | {"isinstance", "hasattr", "len", "id", "type", "print",
                             "register_buffer"}
#: AST fields that never hold a node worth visiting.
_SKIP_FIELDS = frozenset({"ctx", "id", "attr", "name", "arg", "module", "level", "kind",
                          "type_comment", "n", "s", "op", "conversion", "is_async",
                          "format_spec", "type_params"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(kind: type) -> tuple[str, ...]:
    """The fields of an AST class that can hold nodes to visit, last first (children
    are pushed on a stack, so the first comes out first)."""
    fields = _FIELDS.get(kind)
    if fields is None:
        fields = _FIELDS[kind] = tuple(
            f for f in reversed(kind._fields) if f not in _SKIP_FIELDS)  # type: ignore[attr-defined]
    return fields


def build_index(tree: ast.Module) -> Index:
    """One walk (explicit stack: deeply nested code cannot overflow it) collecting what the
    verdicts need; calls and names are only looked at when their last name could matter."""
    index = Index()
    _imports(index, tree.body)
    init_locals = {local for local, targets in index.aliases.items()
                   if targets & (INITIALIZER_FUNCTIONS.keys() | _INIT_MODULES | PARAMETER)}
    init_names = _INIT_LAST | init_locals
    call_names = _CALL_LAST | init_locals
    stack: list[tuple[ast.AST, ast.AST | None, Context]] = [(tree, None, Context({}, None))]
    pop, push = stack.pop, stack.append
    while stack:
        node, parent, context = pop()
        if type(node) is ast.Name:
            if node.id in NORM_CLASSES:
                index.norm_named = True
            if node.id in _ACTIVATION_WORDS:
                index.activation_named = True
            if type(node.ctx) is ast.Load:
                if node.id in init_names:
                    _check_reference(index, node, parent)
                if not (type(parent) is ast.Call and parent.func is node):
                    index.value_names.add(node.id)
            continue
        if type(node) is ast.Constant:
            if node.value in NORM_CLASSES:
                index.norm_named = True  # getattr(nn, "LayerNorm"), norm_layer="LayerNorm"
            if node.value in _ACTIVATION_WORDS:
                index.activation_named = True
            continue
        inner = context
        if type(node) is ast.Attribute:
            attr = node.attr
            if type(node.ctx) is ast.Load:
                if attr in NORM_CLASSES:
                    index.norm_named = True
                if attr in _ACTIVATION_WORDS:
                    index.activation_named = True
                if attr in init_names:
                    _check_reference(index, node, parent)
                if attr not in _SAME_VALUE_ATTRS or not (
                        type(parent) is ast.Attribute and parent.attr in _SAME_VALUE_ATTRS):
                    _note_raw_use(index, node, parent, context)
                if not (type(parent) is ast.Call and parent.func is node):
                    index.value_attrs.add(attr)
        elif type(node) is ast.Call:
            func = node.func
            last = func.attr if type(func) is ast.Attribute else (
                func.id if type(func) is ast.Name else None)
            if last in call_names:
                index.calls.append((node, parent, context))
            elif last in _NAMED_ACCESS:
                _named_access(index, node, last)
            if _escapes(node, parent):
                # a call of a module runs its forward (``self.block(x)``, ``self.fs[i](x)``);
                # anything else reached without a name was handed on as a value
                index.escaping_calls.update(("forward", "__call__"))
                if last is not None:
                    index.escaping_calls.add(last)
        elif type(node) is ast.If:
            narrowed = Context({**context.narrow, **_narrowing(node.test)}, context.owner,
                                context.function)
            for statement in reversed(node.orelse):
                push((statement, node, context))
            for statement in reversed(node.body):
                push((statement, node, narrowed))
            push((node.test, node, context))
            continue
        elif type(node) in _BINDING_TYPES:
            inner = _bindings(index, node, parent, context)
        for name in _fields(type(node)):
            value = getattr(node, name, None)
            if type(value) is list:
                for child in reversed(value):
                    if isinstance(child, ast.AST):
                        push((child, node, inner))
            elif isinstance(value, ast.AST):
                push((value, node, inner))
    for function, attrs in index.returned.items():
        # ``return self.pos_embed``: the parameter escapes where the def's result does
        if function in index.escaping_calls or (
                function in index.value_attrs) or (
                function in index.plain_defs and function in index.value_names):
            index.raw_attrs.update(attrs)
    for call, parent, context in index.calls:
        _add_site(index, call, parent, context)
    return index


def _imports(index: Index, body: list[ast.stmt]) -> None:
    """Imports anywhere."""
    for statement in import_statements(body):
        _add_import(index, statement)


#: Nodes that bind names or attributes (``_bindings``); others are only walked through.
_BINDING_TYPES = frozenset({
    ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Assign, ast.AnnAssign,
    ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension, ast.NamedExpr, ast.keyword,
    ast.With, ast.AsyncWith, ast.ExceptHandler, ast.Global, ast.Nonlocal, ast.Import,
    ast.ImportFrom})


def _bindings(index: Index, node: ast.AST, parent: ast.AST | None,
              context: Context) -> Context:
    """Record what ``node`` binds; the context its children see."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs:
            _bind(index.names, arg.arg, None)
        for star in (args.vararg, args.kwarg):
            if star is not None:
                _bind(index.names, star.arg, None)
        if isinstance(node, ast.Lambda):
            return Context({}, context.owner)  # a lambda's result: see escaping calls
        _bind(index.names, node.name, None)
        if not isinstance(parent, ast.ClassDef):
            index.plain_defs.add(node.name)
        return Context({}, context.owner, node.name)
    if isinstance(node, ast.ClassDef):
        _bind(index.names, node.name, None)
        index.classes.setdefault(node.name, []).append(node)
        for statement in node.body:  # class attributes: fields of every instance
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        _bind(index.attrs, target.id, statement.value)
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                _bind(index.attrs, statement.target.id, statement.value)
            elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                _bind(index.attrs, statement.name, None)
        return Context({}, node)
    if isinstance(node, ast.Assign):
        for target in node.targets:
            _bind_target(index, target, node.value)
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Attribute):
            value = node.value  # self.w = nn.Parameter(...) [if ... else None]
            for option in (value.body, value.orelse) if isinstance(value, ast.IfExp) else (
                    value,):
                index.param_names[id(option)] = node.targets[0].attr
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        _bind_target(index, node.target, node.value if isinstance(node, ast.AnnAssign) else None)
    elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension, ast.NamedExpr)):
        _bind_target(index, node.target, None)
    elif isinstance(node, ast.keyword) and node.arg is not None and not (
            isinstance(node.value, ast.Attribute) and node.value.attr == node.arg):
        _bind(index.attrs, node.arg, node.value)  # Config(std=0.02): a field set by keyword
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        for item in node.items:
            if item.optional_vars is not None:
                _bind_target(index, item.optional_vars, None)
    elif isinstance(node, ast.ExceptHandler) and node.name:
        _bind(index.names, node.name, None)
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        for name in node.names:
            _bind(index.names, name, None)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            if alias.name in NORM_CLASSES:
                index.norm_named = True  # from torch.nn import LayerNorm as LN
            if alias.name.rsplit(".", 1)[-1] in _ACTIVATION_WORDS:
                index.activation_named = True
    return context


#: Calls that reach an attribute by its name as a string.
_NAMED_ACCESS = frozenset({"getattr", "setattr", "add_module", "register_module",
                           "register_parameter"})


def _named_access(index: Index, call: ast.Call, function: str) -> None:
    """``getattr(self, "W")`` may hand the parameter on; ``setattr``/``add_module``/
    ``register_parameter`` bind the attribute (to something the gate does not judge)."""
    position = 1 if function in ("getattr", "setattr") else 0
    name = call.args[position] if len(call.args) > position else None
    if not isinstance(name, ast.Constant) or not isinstance(name.value, str):
        if function != "getattr":
            index.dynamic_attrs = True
        return
    if function == "getattr":
        index.raw_attrs.add(name.value)
    else:
        _bind(index.attrs, name.value, None)


def _add_import(index: Index, node: ast.Import | ast.ImportFrom) -> None:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                index.aliases.setdefault(alias.asname, set()).add(alias.name)
            else:
                head = alias.name.split(".", 1)[0]
                index.aliases.setdefault(head, set()).add(head)
        return
    module = node.module or ""
    for alias in node.names:
        if alias.name == "*":
            continue
        local = alias.asname or alias.name
        if node.level:
            # ``from ... import initialization as init``: the known packages of
            # analysis.names; any other relative import it does not resolve either.
            relative = relative_target(module, alias.name)
            if relative is None:
                _bind(index.names, local, None)
                index.unresolved_imports[local] = index.unresolved_imports.get(local, 0) + 1
                continue
            target = relative
        else:
            target = f"{module}.{alias.name}" if module else alias.name
        index.aliases.setdefault(local, set()).add(target)


def _note_raw_use(index: Index, node: ast.Attribute, parent: ast.AST | None,
                  context: Context) -> None:
    """Record the parameter an attribute chain names when its value may reach a raw-weight
    use (``x @ W``, ``x.matmul(W)``, ``F.linear(x, W)``, any call that may do so, an alias):
    only a raw parameter used as a weight becomes a layer (``analysis.flow.use_raw_weight``),
    and only the parameter itself (``W``, ``W.data``, ``W.T``) can be used so: what
    ``W.expand(...)``, ``W[0]``, ``W * s`` or ``x + W`` give is another tensor. Called at
    the end of a ``.data``/``.T`` chain."""
    inner: ast.expr = node
    while isinstance(inner, ast.Attribute) and inner.attr in _SAME_VALUE_ATTRS:
        inner = inner.value
    if not isinstance(inner, ast.Attribute):
        return
    if isinstance(parent, ast.Return) and context.function is not None:
        index.returned.setdefault(context.function, set()).add(inner.attr)
    elif _escapes(node, parent):
        index.raw_attrs.add(inner.attr)


def _escapes(node: ast.expr, parent: ast.AST | None) -> bool:
    if isinstance(parent, ast.Attribute):  # W.shape, W.expand(...), W.matmul(x)
        return parent.attr in _MATMUL_METHODS
    if isinstance(parent, ast.BinOp):
        return isinstance(parent.op, ast.MatMult)
    if isinstance(parent, ast.Subscript):
        return parent.value is not node
    if isinstance(parent, ast.Call):
        if parent.func is node:
            return False
        func = parent.func
        last = func.attr if isinstance(func, ast.Attribute) else (
            func.id if isinstance(func, ast.Name) else None)
        return last not in _INERT_CALLS  # nn.init.zeros_(self.W) is the site itself
    return not isinstance(parent, (ast.UnaryOp, ast.Compare, ast.Expr))


# --- sites ------------------------------------------------------------------------------


def qualified(index: Index, node: ast.expr) -> set[str]:
    text = dotted(node)
    if text is None:
        return set()
    head, _, rest = text.partition(".")
    return {f"{t}.{rest}" if rest else t for t in index.aliases.get(head, ())}


def _check_reference(index: Index, node: ast.expr, parent: ast.AST | None) -> None:
    """An initializer (or a module of them) used as a value, not called: ``partial(
    nn.init.normal_, std=0.02)``, ``init_fn=nn.init.xavier_uniform_``, ``getattr(init,
    name)``. The analysis follows such values to their calls; the gate does not."""
    if isinstance(parent, ast.Call) and parent.func is node or (
            isinstance(parent, ast.Attribute) and parent.value is node):
        return
    names = qualified(index, node)
    if names & (INITIALIZER_FUNCTIONS.keys() | _INIT_MODULES):
        index.opened = True


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if any(isinstance(a, ast.Starred) for a in call.args[: position + 1]) or any(
            kw.arg is None for kw in call.keywords):
        raise _Opaque  # f(*args) / f(**kwargs): which argument is which is not known
    return call.args[position] if position < len(call.args) else None


class _Opaque(Exception):
    """A call the gate cannot read: the file is parsed."""


def _add_site(index: Index, call: ast.Call, parent: ast.AST | None,
              context: Context) -> None:
    try:
        site = _site(index, call, parent, context)
    except _Opaque:
        index.opened = True
        return
    if site is not None:
        index.sites.append(site)


def _site(index: Index, call: ast.Call, parent: ast.AST | None,
          context: Context) -> Site | None:
    narrow, owner = context.narrow, context.owner
    names = qualified(index, call.func)
    functions = {INITIALIZER_FUNCTIONS[n] for n in names if n in INITIALIZER_FUNCTIONS}
    if len(functions) > 1:
        raise _Opaque
    if functions:
        function = functions.pop()
        target = _argument(call, 0, "tensor")
        positional = INITIALIZERS[function].positional if function in INITIALIZERS else ()
        scales: list[ast.expr | None] = []
        if function in ("normal_", "trunc_normal_"):
            scales = [_argument(call, 1 + positional.index("std"), "std")]
        elif function == "uniform_":
            scales = [_argument(call, 1, "a"), _argument(call, 2, "b")]
        return Site(function, "init_call", target, scales, narrow, owner)
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in TENSOR_INIT_METHODS:
        function = TENSOR_INIT_METHODS[func.attr]
        if function == "normal_":
            scales = [_argument(call, 1, "std")]
        elif function == "uniform_":
            scales = [_argument(call, 0, "from"), _argument(call, 1, "to")]
        else:
            scales = []
        return Site(function, "tensor_method", func.value, scales, narrow, owner)
    if names & PARAMETER:
        return _parameter_site(index, call, parent, narrow, owner)
    return None


def _parameter_site(index: Index, call: ast.Call, parent: ast.AST | None,
                    narrow: dict[str, list[ast.expr]],
                    owner: ast.ClassDef | None) -> Site | None:
    """``nn.Parameter(torch.zeros(a, b))``, ``nn.Parameter(torch.randn(a, b) * 0.02)``."""
    data = _argument(call, 0, "data")
    if data is None:
        return None
    scale: ast.expr | None = None
    factory = data
    if isinstance(data, ast.BinOp) and isinstance(data.op, (ast.Mult, ast.Div)):
        left, right = data.left, data.right
        factory, scale = (left, right) if isinstance(left, ast.Call) else (right, left)
    names = qualified(index, factory.func) if isinstance(factory, ast.Call) else set()
    factories = {TENSOR_FACTORIES[n] for n in names if n in TENSOR_FACTORIES}
    if not factories:
        if not _carries_factory(index, data, frozenset()):
            return None  # torch.tensor(0.5), torch.Tensor(d).uniform_(): no factory init
        raise _Opaque  # nn.Parameter(w): w may hold a factory tensor
    if len(factories) > 1 or not isinstance(factory, ast.Call):
        raise _Opaque
    function = factories.pop()
    if function == "empty":
        return None
    name = index.param_names.get(id(call))
    scales: list[ast.expr | None] = [scale] if function in ("normal_", "uniform_") else []
    return Site(function, "parameter", None, scales, narrow, owner, name,
                 vector=one_dimensional(index, factory))


def _carries_factory(index: Index, node: ast.expr, seen: frozenset[str]) -> bool:
    """May ``node`` evaluate to a factory tensor (``torch.zeros(...)``, what makes
    ``nn.Parameter(...)`` an init site)? A method's result comes from its receiver; other
    torch functions give plain tensors; a name, whatever it may be bound to."""
    if isinstance(node, ast.Constant):
        return False
    if isinstance(node, ast.Call):
        called = qualified(index, node.func)
        if called:
            return bool(called & TENSOR_FACTORIES.keys()) or not all(
                n.startswith("torch.") and n not in PASS_THROUGH_FUNCTIONS for n in called)
        if isinstance(node.func, ast.Attribute):
            return _carries_factory(index, node.func.value, seen)
        return True
    if isinstance(node, ast.BinOp):
        return _carries_factory(index, node.left, seen) or _carries_factory(
            index, node.right, seen)
    if isinstance(node, ast.UnaryOp):
        return _carries_factory(index, node.operand, seen)
    if isinstance(node, ast.IfExp):
        return _carries_factory(index, node.body, seen) or _carries_factory(
            index, node.orelse, seen)
    if isinstance(node, ast.Name):
        if node.id in seen or node.id in index.aliases:
            return False  # a cycle (judged at its other bindings), an imported name
        values = index.names.get(node.id) or []
        return any(v is None or _carries_factory(index, v, seen | {node.id}) for v in values)
    return True


def one_dimensional(index: Index, factory: ast.Call) -> bool:
    """``torch.zeros(hidden_size)``: one size, not a shape (a tuple)."""
    if factory.keywords and any(kw.arg in (None, "size") for kw in factory.keywords):
        return False
    if len(factory.args) != 1:
        return False
    return _scalar_like(index, factory.args[0], set())


def _scalar_like(index: Index, node: ast.expr, seen: set[str]) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int) and not isinstance(node.value, bool)
    if isinstance(node, ast.BinOp):
        return _scalar_like(index, node.left, seen) and _scalar_like(index, node.right, seen)
    if isinstance(node, ast.UnaryOp):
        return _scalar_like(index, node.operand, seen)
    if isinstance(node, ast.Attribute):
        return node.attr not in ("shape",) and _bound_scalar(index.attrs.get(node.attr, []),
                                                              index, seen)
    if isinstance(node, ast.Name):
        if node.id in seen:
            return True
        return _bound_scalar(index.names.get(node.id, []), index, seen | {node.id})
    if isinstance(node, ast.Call):
        return dotted(node.func) in ("int", "len", "math.ceil", "math.floor", "round")
    return False


def _bound_scalar(values: list[ast.expr | None], index: Index, seen: set[str]) -> bool:
    """Every value bound to the name is a size, not a shape (parameters count as sizes:
    the analysis, too, sees one unknown size)."""
    for value in values:
        if value is None:
            continue
        if isinstance(value, (ast.Tuple, ast.List, ast.Set, ast.ListComp, ast.Starred)):
            return False
        if isinstance(value, ast.Attribute) and value.attr == "shape":
            return False
        if isinstance(value, ast.Call) and (isinstance(value.func, ast.Attribute) and (
                value.func.attr == "size") or dotted(value.func) in ("tuple", "list")):
            return False
        if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice):
            return False
    return True

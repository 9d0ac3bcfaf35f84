"""Which files can hold a finding, decided from CPython's tree before libcst parses them.

Every finding but INI005's sits at an init site (``analysis.inits``), and most init sites
of real model code can be seen to be harmless without running the analysis: a bias set to
zero, a norm's weight set to one inside ``isinstance(m, nn.LayerNorm)``, an
``init.normal_(w, std=config.initializer_range)`` (a scale the analysis cannot know, so
INI004 stays silent) inside ``isinstance(m, nn.Linear)`` (so it cannot reach a norm and
INI006 stays silent), ``nn.Parameter(torch.ones(hidden_size))`` (a vector: never a layer's
weight). A file whose init sites are all harmless for every enabled rule cannot produce a
finding, so it is never parsed with libcst: on ``transformers/models`` that is most files,
and libcst's parse is what a check costs (``benchmarks/RESULTS.md``).

The verdict is conservative by construction: anything this module does not recognise
(an initializer passed around as a value, a target it cannot classify, a scale it cannot
prove unknown, a class it cannot see) means "parse it". Each harmless verdict mirrors the
reason the analysis and the rules are silent on such a site (the rule's docstring and
``rules/common.py``), and the test suite checks that every rule example, every fixture
and the corpus give the same findings with and without the gate.

Names are resolved from the file's imports exactly as ``analysis.names`` does, but every
binding of a name counts (a superset): for a gate, more candidates is only slower.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from init_lint.knowledge import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_METHODS,
    ACTIVATION_MODULES,
    INITIALIZER_FUNCTIONS,
    INITIALIZERS,
    LAYER_MODULES,
    NORM_MODULES,
    PASS_THROUGH_FUNCTIONS,
    STRING_ACTIVATIONS,
    TENSOR_FACTORIES,
    TENSOR_INIT_METHODS,
    Scheme,
)

#: Rules whose findings are all init sites; with any other rule enabled the gate is open.
GATED_CODES = frozenset({"INI001", "INI002", "INI003", "INI004", "INI006"})

#: ``torch.nn`` classes that hold norm layers (the transformer layers hold two LayerNorms).
_NORM_CLASSES = NORM_MODULES | {"TransformerEncoderLayer", "TransformerDecoderLayer",
                                "TransformerEncoder", "TransformerDecoder", "Transformer"}
#: Every word through which the analysis learns of an activation (a class, a function, a
#: method, a string, the transformer layers' default ReLU): INI002/INI003 need one.
_ACTIVATION_WORDS = frozenset(
    set(ACTIVATION_MODULES) | {q.rsplit(".", 1)[1] for q in ACTIVATION_FUNCTIONS}
    | set(ACTIVATION_METHODS) | set(STRING_ACTIVATIONS)
    | {"TransformerEncoderLayer", "TransformerDecoderLayer"})
_PARAMETER = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_INIT_MODULES = frozenset(q.rsplit(".", 1)[0] for q in INITIALIZER_FUNCTIONS)
#: Methods whose receiver may be a raw weight used as ``x.matmul(W)``'s left side or right.
_MATMUL_METHODS = frozenset({"matmul", "mm", "bmm"})
#: Attributes that keep a parameter the same value (``W.data``, ``W.T``).
_SAME_VALUE_ATTRS = frozenset({"data", "T", "mT"})
#: Calls whose result is unknown whenever one argument is (``math.sqrt(config.std)``).
_NUMERIC_FUNCTIONS = frozenset({"math.sqrt", "math.log", "math.exp", "float", "abs", "pow",
                                "builtins.float", "builtins.abs", "builtins.pow"})


class Kind(Enum):
    """What the weight of an object of a class can be."""

    NORM = "norm"  # a norm layer's gamma
    LAYER = "layer"  # a parametric torch.nn layer that is not a norm
    VECTOR = "vector"  # no weight, or a 1-D raw vector: never a layer's weight
    RAW = "raw"  # a raw nn.Parameter: maybe a layer's weight, never a norm's
    OTHER = "other"  # a torch.nn module the analysis does not judge (Embedding, LSTM, ...)
    UNKNOWN = "unknown"


#: ``torch.nn`` names that match several kinds in ``isinstance`` (base classes).
_ABSTRACT = frozenset({"Module", "Sequential", "ModuleList", "ModuleDict", "Container"})


@dataclass
class _Site:
    function: str  # the torch.nn.init name it implements
    form: str  # "init_call", "tensor_method", "parameter"
    target: ast.expr | None  # the tensor (None: the Parameter's own attribute, see ``name``)
    scales: list[ast.expr | None]  # scale arguments INI004 reads (None: the default)
    narrow: dict[str, list[ast.expr]]  # isinstance narrowing in force at the site
    owner: ast.ClassDef | None  # the class whose method holds the site (``self``)
    name: str | None = None  # Parameter sites: the attribute it is assigned to
    vector: bool = False  # Parameter sites: the factory makes a 1-D tensor


@dataclass(frozen=True)
class _Context:
    narrow: dict[str, list[ast.expr]]
    owner: ast.ClassDef | None
    function: str | None = None  # the def the node is in


@dataclass
class _Index:
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
    sites: list[_Site] = field(default_factory=list)
    calls: list[tuple[ast.Call, ast.AST | None, _Context]] = field(default_factory=list)
    param_names: dict[int, str] = field(default_factory=dict)  # Parameter call -> attribute
    dynamic_attrs: bool = False  # setattr(self, name, ...) with a computed name
    norm_named: bool = False
    activation_named: bool = False
    opened: bool = False  # something the gate cannot judge: parse the file


def might_have_findings(tree: ast.Module, codes: frozenset[str]) -> bool:
    """``False`` only when no enabled rule (``codes``) can find anything in ``tree``."""
    if not codes:
        return False
    if not codes <= GATED_CODES:
        return True
    index = _index(tree)
    if index.opened:
        return True
    judge = _Judge(index, codes)
    return any(not judge.harmless(site) for site in index.sites)


# --- the pass over the tree -----------------------------------------------------------


def _dotted(node: ast.expr) -> str | None:
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


def _bind_target(index: _Index, target: ast.expr, value: ast.expr | None) -> None:
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
    if any(_dotted(item) is None for item in items):
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


def _children(node: ast.AST) -> list[ast.AST]:
    fields = _FIELDS.get(type(node))
    if fields is None:
        fields = _FIELDS[type(node)] = tuple(
            f for f in node._fields if f not in _SKIP_FIELDS)
    found: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(v for v in value if isinstance(v, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def _index(tree: ast.Module) -> _Index:
    """One walk (explicit stack: deeply nested code cannot overflow it) collecting what the
    verdicts need; calls and names are only looked at when their last name could matter."""
    index = _Index()
    _imports(index, tree.body)
    init_locals = {local for local, targets in index.aliases.items()
                   if targets & (INITIALIZER_FUNCTIONS.keys() | _INIT_MODULES | _PARAMETER)}
    init_names = _INIT_LAST | init_locals
    call_names = _CALL_LAST | init_locals
    stack: list[tuple[ast.AST, ast.AST | None, _Context]] = [(tree, None, _Context({}, None))]
    pop, push = stack.pop, stack.append
    while stack:
        node, parent, context = pop()
        if type(node) is ast.Name:
            if node.id in _NORM_CLASSES:
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
            if node.value in _NORM_CLASSES:
                index.norm_named = True  # getattr(nn, "LayerNorm"), norm_layer="LayerNorm"
            if node.value in _ACTIVATION_WORDS:
                index.activation_named = True
            continue
        inner = context
        if type(node) is ast.Attribute:
            attr = node.attr
            if type(node.ctx) is ast.Load:
                if attr in _NORM_CLASSES:
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
            narrowed = _Context({**context.narrow, **_narrowing(node.test)}, context.owner,
                                context.function)
            for statement in reversed(node.orelse):
                push((statement, node, context))
            for statement in reversed(node.body):
                push((statement, node, narrowed))
            push((node.test, node, context))
            continue
        elif type(node) in _BINDING_TYPES:
            inner = _bindings(index, node, parent, context)
        for child in reversed(_children(node)):
            push((child, node, inner))
    for function, attrs in index.returned.items():
        # ``return self.pos_embed``: the parameter escapes where the def's result does
        if function in index.escaping_calls or (
                function in index.value_attrs) or (
                function in index.plain_defs and function in index.value_names):
            index.raw_attrs.update(attrs)
    for call, parent, context in index.calls:
        _add_site(index, call, parent, context)
    return index


def _imports(index: _Index, body: list[ast.stmt]) -> None:
    """Imports anywhere (statements only: imports are statements)."""
    for statement in body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            _add_import(index, statement)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(statement, name, None)
            if isinstance(block, list):
                _imports(index, block)
        for handler in getattr(statement, "handlers", ()):
            _imports(index, handler.body)
        for case in getattr(statement, "cases", ()):
            _imports(index, case.body)


#: Nodes that bind names or attributes (``_bindings``); others are only walked through.
_BINDING_TYPES = frozenset({
    ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Assign, ast.AnnAssign,
    ast.AugAssign, ast.For, ast.AsyncFor, ast.comprehension, ast.NamedExpr, ast.keyword,
    ast.With, ast.AsyncWith, ast.ExceptHandler, ast.Global, ast.Nonlocal, ast.Import,
    ast.ImportFrom})


def _bindings(index: _Index, node: ast.AST, parent: ast.AST | None,
              context: _Context) -> _Context:
    """Record what ``node`` binds; the context its children see."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = node.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs:
            _bind(index.names, arg.arg, None)
        for star in (args.vararg, args.kwarg):
            if star is not None:
                _bind(index.names, star.arg, None)
        if isinstance(node, ast.Lambda):
            return _Context({}, context.owner)  # a lambda's result: see escaping calls
        _bind(index.names, node.name, None)
        if not isinstance(parent, ast.ClassDef):
            index.plain_defs.add(node.name)
        return _Context({}, context.owner, node.name)
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
        return _Context({}, node)
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
            if alias.name in _NORM_CLASSES:
                index.norm_named = True  # from torch.nn import LayerNorm as LN
            if alias.name.rsplit(".", 1)[-1] in _ACTIVATION_WORDS:
                index.activation_named = True
    return context


#: Calls that reach an attribute by its name as a string.
_NAMED_ACCESS = frozenset({"getattr", "setattr", "add_module", "register_module",
                           "register_parameter"})


def _named_access(index: _Index, call: ast.Call, function: str) -> None:
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


def _add_import(index: _Index, node: ast.Import | ast.ImportFrom) -> None:
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
            # ``from ... import initialization as init`` (analysis.names' known packages);
            # any other relative import: the analysis does not resolve it either.
            if alias.name == "initialization":
                target = "transformers.initialization"
            elif module.rsplit(".", 1)[-1] == "initialization":
                target = f"transformers.initialization.{alias.name}"
            else:
                _bind(index.names, local, None)
                continue
        else:
            target = f"{module}.{alias.name}" if module else alias.name
        index.aliases.setdefault(local, set()).add(target)


def _note_raw_use(index: _Index, node: ast.Attribute, parent: ast.AST | None,
                  context: _Context) -> None:
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


def _qualified(index: _Index, node: ast.expr) -> set[str]:
    dotted = _dotted(node)
    if dotted is None:
        return set()
    head, _, rest = dotted.partition(".")
    return {f"{t}.{rest}" if rest else t for t in index.aliases.get(head, ())}


def _check_reference(index: _Index, node: ast.expr, parent: ast.AST | None) -> None:
    """An initializer (or a module of them) used as a value, not called: ``partial(
    nn.init.normal_, std=0.02)``, ``init_fn=nn.init.xavier_uniform_``, ``getattr(init,
    name)``. The analysis follows such values to their calls; the gate does not."""
    if isinstance(parent, ast.Call) and parent.func is node or (
            isinstance(parent, ast.Attribute) and parent.value is node):
        return
    names = _qualified(index, node)
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


def _add_site(index: _Index, call: ast.Call, parent: ast.AST | None,
              context: _Context) -> None:
    try:
        site = _site(index, call, parent, context)
    except _Opaque:
        index.opened = True
        return
    if site is not None:
        index.sites.append(site)


def _site(index: _Index, call: ast.Call, parent: ast.AST | None,
          context: _Context) -> _Site | None:
    narrow, owner = context.narrow, context.owner
    names = _qualified(index, call.func)
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
        return _Site(function, "init_call", target, scales, narrow, owner)
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr in TENSOR_INIT_METHODS:
        function = TENSOR_INIT_METHODS[func.attr]
        if function == "normal_":
            scales = [_argument(call, 1, "std")]
        elif function == "uniform_":
            scales = [_argument(call, 0, "from"), _argument(call, 1, "to")]
        else:
            scales = []
        return _Site(function, "tensor_method", func.value, scales, narrow, owner)
    if names & _PARAMETER:
        return _parameter_site(index, call, parent, narrow, owner)
    return None


def _parameter_site(index: _Index, call: ast.Call, parent: ast.AST | None,
                    narrow: dict[str, list[ast.expr]],
                    owner: ast.ClassDef | None) -> _Site | None:
    """``nn.Parameter(torch.zeros(a, b))``, ``nn.Parameter(torch.randn(a, b) * 0.02)``."""
    data = _argument(call, 0, "data")
    if data is None:
        return None
    scale: ast.expr | None = None
    factory = data
    if isinstance(data, ast.BinOp) and isinstance(data.op, (ast.Mult, ast.Div)):
        left, right = data.left, data.right
        factory, scale = (left, right) if isinstance(left, ast.Call) else (right, left)
    names = _qualified(index, factory.func) if isinstance(factory, ast.Call) else set()
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
    return _Site(function, "parameter", None, scales, narrow, owner, name,
                 vector=_one_dimensional(index, factory))


def _carries_factory(index: _Index, node: ast.expr, seen: frozenset[str]) -> bool:
    """May ``node`` evaluate to a factory tensor (``torch.zeros(...)``, what makes
    ``nn.Parameter(...)`` an init site)? A method's result comes from its receiver; other
    torch functions give plain tensors; a name, whatever it may be bound to."""
    if isinstance(node, ast.Constant):
        return False
    if isinstance(node, ast.Call):
        called = _qualified(index, node.func)
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


def _one_dimensional(index: _Index, factory: ast.Call) -> bool:
    """``torch.zeros(hidden_size)``: one size, not a shape (a tuple)."""
    if factory.keywords and any(kw.arg in (None, "size") for kw in factory.keywords):
        return False
    if len(factory.args) != 1:
        return False
    return _scalar_like(index, factory.args[0], set())


def _scalar_like(index: _Index, node: ast.expr, seen: set[str]) -> bool:
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
        return _dotted(node.func) in ("int", "len", "math.ceil", "math.floor", "round")
    return False


def _bound_scalar(values: list[ast.expr | None], index: _Index, seen: set[str]) -> bool:
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
                value.func.attr == "size") or _dotted(value.func) in ("tuple", "list")):
            return False
        if isinstance(value, ast.Subscript) and isinstance(value.slice, ast.Slice):
            return False
    return True


# --- verdicts ---------------------------------------------------------------------------


class _Judge:
    def __init__(self, index: _Index, codes: frozenset[str]) -> None:
        self.index = index
        self.codes = codes
        self._opaque_names: dict[str, bool] = {}
        self._opaque_attrs: dict[str, bool] = {}

    def harmless(self, site: _Site) -> bool:
        info = INITIALIZERS.get(site.function)
        scheme = info.scheme if info is not None else Scheme.OTHER
        target = self._target(site)
        if scheme is Scheme.OTHER or target == "bias":
            return True
        if target in ("slice", "fresh"):
            return True
        if scheme in (Scheme.XAVIER, Scheme.KAIMING, Scheme.ORTHOGONAL):
            # both rules compare with a known activation: none is named, none is known
            return not self.codes & {"INI002", "INI003"} or not self.index.activation_named
        if scheme is Scheme.CONSTANT:
            return "INI001" not in self.codes or self._never_a_layer(site, target)
        if scheme is Scheme.RANDOM:
            return self._random_harmless_for_ini004(site, target) and (
                self._random_harmless_for_ini006(site, target))
        return False

    def _target(self, site: _Site) -> str:
        """"bias", "weight" (of ``site.target``'s base), "named" (another attribute),
        "parameter" (an ``nn.Parameter(...)`` site) or "unknown"."""
        if site.form == "parameter":
            return "parameter"
        node = site.target
        while isinstance(node, ast.Attribute) and node.attr == "data":
            node = node.value
        if isinstance(node, ast.Attribute):
            if node.attr in ("bias", "weight"):
                return node.attr
            return "named"
        if isinstance(node, ast.Subscript):
            inner = node.value
            while isinstance(inner, ast.Attribute) and inner.attr == "data":
                inner = inner.value
            if isinstance(inner, ast.Attribute) and inner.attr in ("bias", "weight"):
                return "slice"  # w[padding_idx], w.data[:, :2]: never a whole weight
        if self._fresh(node):
            return "fresh"
        return "unknown"

    def _fresh(self, node: ast.expr | None, depth: int = 0) -> bool:
        """A new tensor from a torch function (``torch.empty_like(x)``), or a name only
        ever bound to one: no layer's weight."""
        if isinstance(node, ast.Call):
            called = _qualified(self.index, node.func)
            return bool(called) and all(
                n.startswith("torch.") and n not in PASS_THROUGH_FUNCTIONS and n not in
                _PARAMETER and n not in INITIALIZER_FUNCTIONS for n in called)
        if isinstance(node, ast.Name) and depth < 3:
            values = self.index.names.get(node.id) or []
            return bool(values) and all(v is not None and self._fresh(v, depth + 1)
                                        for v in values)
        return False

    def _attribute(self, site: _Site) -> str | None:
        node = site.target
        while isinstance(node, ast.Attribute) and node.attr == "data":
            node = node.value
        return node.attr if isinstance(node, ast.Attribute) else site.name

    def _base(self, site: _Site) -> ast.expr | None:
        node = site.target
        while isinstance(node, ast.Attribute) and node.attr == "data":
            node = node.value
        return node.value if isinstance(node, ast.Attribute) else None

    def _never_a_layer(self, site: _Site, target: str) -> bool:
        """The tensor is no parametric (non-norm) layer's weight."""
        if target == "parameter":
            return site.vector or (site.name is not None and site.name not in
                                   self.index.raw_attrs)
        if target == "named":
            name = self._attribute(site)
            return name is not None and (name not in self.index.raw_attrs or self._vector_attr(
                name))
        if target == "weight":
            kinds = self._kinds(self._base(site), site.narrow, site.owner)
            return bool(kinds) and kinds <= {Kind.NORM, Kind.VECTOR, Kind.OTHER}
        return False

    def _vector_attr(self, name: str) -> bool:
        """Every binding of the attribute is a 1-D parameter, or there is none the
        analysis could see (it then knows nothing of the attribute's value)."""
        values = self.index.attrs.get(name)
        if not values:
            return not self.index.dynamic_attrs
        return all(v is not None and (self._vector_parameter(v) or self._fresh(v))
                   for v in values)

    def _random_harmless_for_ini004(self, site: _Site, target: str) -> bool:
        if "INI004" not in self.codes or self._never_a_layer(site, target):
            return True
        return bool(site.scales) and any(
            s is not None and self._opaque(s, set()) for s in site.scales)

    def _random_harmless_for_ini006(self, site: _Site, target: str) -> bool:
        if "INI006" not in self.codes or target in ("parameter", "named"):
            return True
        if not self.index.norm_named:
            return True  # no norm class is named anywhere: no norm layer is built
        if target == "weight":
            kinds = self._kinds(self._base(site), site.narrow, site.owner)
            return bool(kinds) and kinds <= {Kind.LAYER, Kind.RAW, Kind.VECTOR, Kind.OTHER}
        return False

    # -- what the weight's owner can be

    def _kinds(self, base: ast.expr | None, narrow: dict[str, list[ast.expr]],
               owner: ast.ClassDef | None) -> set[Kind]:
        """The kinds of object ``base`` can be; empty: unknown."""
        if isinstance(base, ast.Name) and base.id in narrow:
            return {self._class_kind(c, set()) for c in narrow[base.id]}
        if isinstance(base, ast.Name) and base.id == "self" and owner is not None:
            return {self._own_class_kind(owner, {owner.name})}
        if isinstance(base, ast.Attribute):
            values = self.index.attrs.get(base.attr, [])
            if not values and not self.index.dynamic_attrs:
                return {Kind.OTHER}  # never bound here: the analysis cannot know it either
            kinds = {self._value_kind(v) for v in values}
            return kinds if values and Kind.UNKNOWN not in kinds else set()
        return set()

    def _value_kind(self, value: ast.expr | None) -> Kind:
        if isinstance(value, ast.Call):
            return self._class_kind(value.func, set())
        return Kind.UNKNOWN

    def _class_kind(self, node: ast.expr, seen: set[str]) -> Kind:
        for name in self._qualified_class(node):
            if name.startswith("torch.nn."):
                last = name.rsplit(".", 1)[-1]
                if last in _NORM_CLASSES:
                    return Kind.NORM
                if last in LAYER_MODULES:
                    return Kind.LAYER
                if last in _ABSTRACT or last.startswith("_") or name.count(".") > 2:
                    return Kind.UNKNOWN  # nn.Module, nn.modules.batchnorm._BatchNorm
                return Kind.OTHER
            return Kind.UNKNOWN
        if isinstance(node, ast.Name) and node.id in self.index.classes and (
                node.id not in seen) and len(self.index.classes[node.id]) == 1:
            return self._own_class_kind(self.index.classes[node.id][0], seen | {node.id})
        return Kind.UNKNOWN

    def _qualified_class(self, node: ast.expr) -> set[str]:
        return _qualified(self.index, node)

    def _own_class_kind(self, cls: ast.ClassDef, seen: set[str]) -> Kind:
        """A class of this file: its torch.nn base decides; a plain ``nn.Module`` whose
        ``self.weight`` (if any) is only ever a 1-D parameter has no layer weight."""
        for base in cls.bases:
            names = self._qualified_class(base)
            if names == {"torch.nn.Module"} or names == {"torch.nn.modules.module.Module"}:
                continue
            kind = self._class_kind(base, seen)
            if kind is not Kind.VECTOR:
                return kind if kind in (Kind.NORM, Kind.LAYER) else Kind.UNKNOWN
        kind = Kind.VECTOR
        for node in ast.walk(cls):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if not isinstance(target, ast.Attribute) or target.attr != "weight" or (
                            self._vector_parameter(node.value)):
                        continue
                    if not isinstance(node.value, ast.Call) or not self._qualified_class(
                            node.value.func) & _PARAMETER:
                        return Kind.UNKNOWN
                    kind = Kind.RAW
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(
                    node.target, ast.Attribute) and node.target.attr == "weight":
                return Kind.UNKNOWN
            elif isinstance(node, ast.Constant) and node.value == "weight":
                return Kind.UNKNOWN  # register_parameter("weight", ...), setattr(...)
        return kind

    def _vector_parameter(self, value: ast.expr) -> bool:
        if not isinstance(value, ast.Call) or not self._qualified_class(value.func) & _PARAMETER:
            return False
        data = value.args[0] if value.args else None
        if isinstance(data, ast.BinOp) and isinstance(data.op, (ast.Mult, ast.Div)):
            data = data.left if isinstance(data.left, ast.Call) else data.right
        if not isinstance(data, ast.Call):
            return False
        names = _qualified(self.index, data.func)
        return bool(names & TENSOR_FACTORIES.keys()) and _one_dimensional(self.index, data)

    # -- scales the analysis cannot know

    def _opaque(self, node: ast.expr, seen: set[str]) -> bool:
        """The expression's value is unknown to the analysis (``self.config.initializer_
        range``, ``std`` assigned only from such values, arithmetic with one of them): an
        attribute or name the file never binds to anything else."""
        if isinstance(node, ast.Attribute):
            return self._opaque_binding(node.attr, self.index.attrs, self._opaque_attrs, seen)
        if isinstance(node, ast.Name):
            return self._opaque_binding(node.id, self.index.names, self._opaque_names, seen)
        if isinstance(node, ast.BinOp):
            return self._opaque(node.left, seen) or self._opaque(node.right, seen)
        if isinstance(node, ast.UnaryOp):
            return self._opaque(node.operand, seen)
        if isinstance(node, ast.IfExp):
            return self._opaque(node.body, seen) and self._opaque(node.orelse, seen)
        if isinstance(node, ast.Call) and _dotted(node.func) in {
                f.split(".", 1)[-1] if f.startswith("builtins.") else f
                for f in _NUMERIC_FUNCTIONS} and not node.keywords:
            return any(self._opaque(a, seen) for a in node.args)
        return False

    def _opaque_binding(self, name: str, table: dict[str, list[ast.expr | None]],
                        memo: dict[str, bool], seen: set[str]) -> bool:
        key = ("." if table is self.index.attrs else "") + name
        if key in seen:
            return False  # a cycle: not provably unknown
        if name in memo:
            return memo[name]
        if table is self.index.names and name in self.index.aliases:
            memo[name] = False  # an imported constant
            return False
        values = table.get(name, [])
        result = all(v is not None and self._opaque(v, seen | {key}) for v in values)
        memo[name] = result
        return result


def iter_sites(tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, function, form) of every init site the gate sees (for tests and tools)."""
    for site in _index(tree).sites:
        node = site.target
        yield (getattr(node, "lineno", 0), site.function, site.form)

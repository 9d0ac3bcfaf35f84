"""Split fixes: one init call that reaches layers wanting different inits, rewritten as a
branch per group of layers.

``for m in self.modules(): if isinstance(m, (nn.Linear, nn.BatchNorm2d)):
nn.init.normal_(m.weight, 0, 0.02)`` reaches hidden ReLU layers, a linear head and norm
layers at once. No single call is right for all of them, but each layer's own answer is
certain: a layer a rule flags at this site gets the recommended init for its own paired
activation (a norm layer flagged by INI006 gets ``ones_``), every other layer (one that is
fine, or whose activation is unknown) keeps exactly the original call. The fix replaces
the call by::

    if isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
    elif m is self.head:
        nn.init.xavier_normal_(m.weight)
    else:
        nn.init.normal_(m.weight, 0, 0.02)

A group is named by its layer classes when those classes (and their subclasses) hold no
layer of another group, else by identity, through each layer's access path from the
``self`` of the function holding the call (``access``). A module-level ``init_fn(m)`` has
no ``self``: there only classes can tell the groups apart. Where the call is not a
statement of its own, the branches become a conditional expression.

Every finding at the site carries the same fix (INI004 and INI006 on one call): it fixes
every layer an enabled rule flags there (``Options.enabled``), so applying one applies the
others' too. A module-level function whose groups no class tells apart is fixed through
the places that apply it instead (``apply_fix``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from init_lint.analysis.graph import AccessPath, Act, InitSite, Layer, ModelGraph, SourceFacts
from init_lint.analysis.walk import descendants
from init_lint.findings import Edit, Fix
from init_lint.knowledge import Scheme
from init_lint.rules.base import Options
from init_lint.rules.fixing import (
    WEIGHT_TARGET,
    FixWriter,
    ones_call,
    path_text,
    renamed_gain_call,
    replacement_call,
    scheme_call,
    unfixable_reason,
)

_MAX_IDENTITIES = 4  # `m is self.a or m is self.b ...`: beyond this, no readable fix
_NO_TEST = 10**6


@dataclass
class _Group:
    call: str
    keep: bool
    layers: list[Layer] = field(default_factory=list)
    test: str | None = None


def _subclass(a: str, b: str) -> bool:
    """Is torch.nn class ``a`` ``b`` or a subclass of it (``LazyLinear`` of ``Linear``)?"""
    return a == b or (a.startswith("Lazy") and a[len("Lazy"):] == b)


def _related(a: str, b: str) -> bool:
    return _subclass(a, b) or _subclass(b, a)


def _wanted(graph: ModelGraph, site: InitSite, options: Options, writer: FixWriter,
            layers: list[Layer]) -> dict[int, str | None] | str:
    """Each layer's new call (None: keeps the original), or why there is none: a layer
    an enabled rule flags at this site whose right init is not certain. A layer only a
    deselected rule would flag keeps the original call."""
    from init_lint.rules.common import is_hidden, paired_activation, scheme_of
    from init_lint.rules.ini002_scheme_activation_mismatch import mismatch
    from init_lint.rules.ini003_named_gain_mismatch import wrong_name
    from init_lint.rules.ini004_unscaled_random import UnscaledRandom, feeds_unknown, random_std
    from init_lint.rules.ini006_norm_weight_zero_mean import zero_mean_random

    scheme = scheme_of(site)
    weights = [layer for layer in layers if not layer.is_norm]
    norms = [layer for layer in layers if layer.is_norm]
    wanted: dict[int, str | None] = {layer.key: None for layer in layers}

    def unknown(layer: Layer) -> str:
        return f"the activation after {layer.name} is not known"

    def put(layer: Layer, call: str | None) -> str | None:
        if call is None:
            return f"no certain replacement for {layer.name}"
        wanted[layer.key] = call
        return None

    for layer in weights:
        problem: str | None = None
        act: Act | None
        if scheme is Scheme.CONSTANT and options.enables("INI001") and is_hidden(
                graph, layer.key):
            act = paired_activation(graph, layer.key)
            if act is None or not act.param_known:
                return unknown(layer)
            problem = put(layer, replacement_call(writer, act, [layer]))
        elif scheme in (Scheme.XAVIER, Scheme.ORTHOGONAL, Scheme.KAIMING):
            if options.enables("INI002") and (act := mismatch(graph, site, layer)) is not None:
                problem = put(layer, scheme_call(writer, act, [layer]))
            elif options.enables("INI003") and (
                    act := wrong_name(graph, site, layer)) is not None:
                problem = put(layer, renamed_gain_call(writer, act))
        if problem is not None:
            return problem
    if scheme is Scheme.RANDOM and options.enables("INI004"):
        std, unscaled = random_std(site)
        if std is not None and unscaled and not any(
                feeds_unknown(graph, layer.key) for layer in weights):
            flagged = weights
        elif std is not None and not unscaled:
            rule = UnscaledRandom()
            flagged = [layer for layer in weights
                       if rule.off_scale(graph, layer, std, options) is not None]
        else:
            flagged = []
        for layer in flagged:
            act = paired_activation(graph, layer.key)
            if act is None or not act.param_known:
                return unknown(layer)
            if (problem := put(layer, replacement_call(writer, act, [layer]))) is not None:
                return problem
    if scheme is Scheme.RANDOM and options.enables("INI006") and zero_mean_random(site):
        for layer in norms:
            if (problem := put(layer, ones_call(writer))) is not None:
                return problem
    return wanted


def _class_test(writer: FixWriter, var: str, kinds: list[str]) -> str | None:
    names: list[str] = []
    for kind in kinds:
        spelled = writer.torch_nn_class(kind)
        if spelled is None:
            return None
        names.append(spelled)
    target = names[0] if len(names) == 1 else f"({', '.join(names)})"
    return f"isinstance({var}, {target})"


def _identity_test(site: InitSite, var: str, group: _Group, quote: str) -> str | None:
    paths: list[AccessPath] = []
    for layer in group.layers:
        found = site.paths.get(layer.key)
        if not found:
            return None
        paths.extend(found)
    if len(paths) > _MAX_IDENTITIES:
        return None
    return " or ".join(f"{var} is {path_text('self', path, quote)}" for path in paths)


def split_fix(graph: ModelGraph, site: InitSite, options: Options) -> Fix | str | None:
    """The split fix of a site whose layers want different inits, or why there is none
    (None: the general reason, ``unfixable_reason``, says it)."""
    facts = graph.source
    if facts is None or not isinstance(site.node, cst.Call):
        return None
    if site.form not in ("init_call", "tensor_method") or site.slice:
        return None
    match = WEIGHT_TARGET.fullmatch(site.tensor_text)
    if match is None:
        return None
    var = match.group(1)
    tensor = site.tensor_text.removesuffix(".data")
    layers = graph.weight_layers(site)
    if len(layers) < 2 or any(layer.is_raw for layer in layers):
        return None
    # Tensors of modules we do not judge (embeddings, a backbone we cannot see): they must
    # keep the original call, so it is the else branch and no class test may catch them.
    others = site.other or site.unknown or len(layers) != len(site.weight_of)
    writer = FixWriter(facts, site)
    wanted = _wanted(graph, site, options, writer, layers)
    if isinstance(wanted, str):
        return wanted
    original = facts.source_text(site.node)
    if original is None:
        return None
    groups: dict[str, _Group] = {original: _Group(original, keep=True)}
    for layer in layers:
        call = wanted[layer.key]
        text = original if call is None else call
        groups.setdefault(text, _Group(text, keep=call is None)).layers.append(layer)
    if not groups[original].layers and not others:
        del groups[original]
    if len(groups) < 2:
        return None
    order = list(groups.values())
    # Which test names each group: its classes, when no other group holds a layer of one
    # of them (or of a subclass); else each of its layers by identity.
    tests: dict[int, str | None] = {}
    costs: dict[int, int] = {}
    for index, group in enumerate(order):
        kinds = sorted({layer.kind for layer in group.layers})
        rest = [layer.kind for other in order if other is not group for layer in other.layers]
        test: str | None = None
        if kinds and not any(_related(a, b) for a in kinds for b in rest) and (
                not others or all(layer.is_norm for layer in group.layers)):
            test = _class_test(writer, var, kinds)
        if test is not None:
            costs[index] = 0
        else:
            test = _identity_test(site, var, group, facts.quote)
            costs[index] = _NO_TEST if test is None else test.count(" is ")
        tests[index] = test
    candidates = [i for i, g in enumerate(order) if g.keep] if others else list(range(len(order)))
    best = min(candidates, key=lambda i: (
        sum(costs[j] for j in range(len(order)) if j != i), not order[i].keep,
        -len(order[i].layers), i))
    if any(costs[j] >= _NO_TEST for j in range(len(order)) if j != best):
        return _no_test_reason(site, order, best, costs, tensor)
    tested = [j for j in range(len(order)) if j != best]
    if not order[best].layers and len(tested) == 1 and costs[tested[0]] == 0 and _guarded(
            facts, site.node, var, {layer.kind for layer in order[tested[0]].layers}):
        # The else branch only kept the call for tensors we cannot see, but an enclosing
        # `isinstance(m, <these classes>)` lets none of another class get here: one call.
        call = order[tested[0]].call
        span = facts.span(site.node)
        if span is None:
            return None
        return Fix(f"use {call}", (Edit(span[0], span[1], call),),
                   tuple(dict.fromkeys(writer.imports)))
    branches = sorted((j for j in range(len(order)) if j != best),
                      key=lambda j: (costs[j] > 0, not all(
                          layer.is_norm for layer in order[j].layers), j))
    arms = [(tests[j] or "", order[j].call) for j in branches]
    text = _statement(facts, site.node, arms, order[best].call) or _expression(
        facts, site.node, arms, order[best].call)
    span = facts.span(site.node)
    if span is None:
        return None
    description = "one init per group of layers: " + "; ".join(
        _describe(order[j], tensor) for j in [*branches, best] if order[j].layers)
    return Fix(description, (Edit(span[0], span[1], text),), tuple(dict.fromkeys(writer.imports)))


def _guarded(facts: SourceFacts, call: cst.CSTNode, var: str, kinds: set[str]) -> bool:
    """Is ``call`` inside ``if isinstance(var, X):`` (its body, in the same function) with
    every class of ``X`` one of ``kinds`` or a subclass of one?"""
    node: cst.CSTNode | None = call
    while node is not None and not isinstance(node, (cst.FunctionDef, cst.Lambda,
                                                      cst.ClassDef)):
        parent = facts.parent(node)
        if isinstance(parent, cst.If) and node is parent.body:
            guard = _isinstance_kinds(facts, parent.test, var)
            if guard is not None:
                return bool(guard) and all(any(_subclass(g, k) for k in kinds) for g in guard)
        node = parent
    return False


def _isinstance_kinds(facts: SourceFacts, test: cst.BaseExpression,
                      var: str) -> set[str] | None:
    """The torch.nn classes of ``isinstance(var, X)`` (empty if one is not torch.nn's);
    None for any other test."""
    from init_lint.analysis.names import dotted_name, qualify

    if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Name)
            and test.func.value == "isinstance" and len(test.args) == 2
            and isinstance(test.args[0].value, cst.Name) and test.args[0].value.value == var):
        return None
    target = test.args[1].value
    elements = [e.value for e in target.elements] if isinstance(target, cst.Tuple) else [target]
    kinds: set[str] = set()
    for element in elements:
        name = dotted_name(element)
        qualified = qualify(name, facts.aliases) if name is not None else None
        if qualified is None or not qualified.startswith("torch.nn.") or (
                "." in qualified[len("torch.nn."):]):
            return set()
        kinds.add(qualified[len("torch.nn."):])
    return kinds


def _label(group: _Group, tensor: str) -> str:
    """``kaiming_normal_(nonlinearity="relu")``: a group's call without its tensor."""
    if group.keep:
        return "the original call"
    callee, _, rest = group.call.partition("(")
    name = callee.rsplit(".", 1)[-1]
    arguments = rest[:-1]
    arguments = arguments[len(tensor):].lstrip(", ") if arguments.startswith(tensor) else (
        arguments)
    return f"{name}({arguments})" if arguments else name


def _describe(group: _Group, tensor: str) -> str:
    names = ", ".join(layer.name for layer in group.layers[:3])
    if len(group.layers) > 3:
        names += f" and {len(group.layers) - 3} more"
    return f"{_label(group, tensor)} for {names}"


def _no_test_reason(site: InitSite, order: list[_Group], best: int, costs: dict[int, int],
                    tensor: str) -> str:
    stuck = next(order[j] for j in range(len(order)) if j != best and costs[j] >= _NO_TEST)
    wants = "; ".join(_describe(g, tensor) for g in order if g.layers)
    if not any(layer.key in site.paths for g in order for layer in g.layers):
        how = "this function has no `self` to name them by (`m is self.<layer>`)"
    else:
        how = (f"{stuck.layers[0].name} has no `self.<path>` here that is the same layer "
               "whatever the model's parameters")
    return (f"the layers it reaches want different inits ({wants}); their classes do not "
            f"tell them apart, and {how}")


def _reindented(code: str, indent: str) -> str:
    """A multi-line call moved one level deeper: its continuation lines too (each keeps
    its own line break)."""
    parts = re.split(r"(\r\n|\r|\n)", code)
    return "".join(part if i % 2 or i == 0 or not part.strip() else indent + part
                   for i, part in enumerate(parts))


def _has_string_break(facts: SourceFacts, node: cst.CSTNode) -> bool:
    """Does a string literal in ``node`` span lines (re-indenting would change it)?"""
    strings = (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)
    return any(isinstance(n, strings) and re.search(r"[\r\n]", facts.module.code_for_node(n))
               for n in descendants(node))


def _statement(facts: SourceFacts, call: cst.Call, arms: list[tuple[str, str]],
               fallback: str) -> str | None:
    """``if ...: / elif ...: / else:`` in place of the call, when the call is the whole
    statement of its own line inside a block; else None."""
    expr = facts.parent(call)
    line = facts.parent(expr) if expr is not None else None
    block = facts.parent(line) if line is not None else None
    if not (isinstance(expr, cst.Expr) and expr.value is call
            and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1
            and isinstance(block, (cst.IndentedBlock, cst.Module))):
        return None
    indent = facts.line_prefix(call)
    original = facts.source_text(call)
    if indent is None or indent.strip() or original is None:
        return None
    unit = facts.module.default_indent
    newline = facts.module.default_newline
    moved = original
    if re.search(r"[\r\n]", original) and not _has_string_break(facts, call):
        moved = _reindented(original, unit)

    def body(text: str) -> str:
        return moved if text == original else text

    parts: list[str] = []
    for index, (test, text) in enumerate(arms):
        keyword = "if" if index == 0 else "elif"
        lead = "" if index == 0 else indent
        parts.append(f"{lead}{keyword} {test}:{newline}{indent}{unit}{body(text)}")
    parts.append(f"{indent}else:{newline}{indent}{unit}{body(fallback)}")
    return newline.join(parts)


def _expression(facts: SourceFacts, call: cst.Call, arms: list[tuple[str, str]],
                fallback: str) -> str:
    """``a if test else b``: where the call is part of a larger statement or expression."""
    text = " else ".join(f"{body} if {test}" for test, body in arms) + f" else {fallback}"
    parent = facts.parent(call)
    if isinstance(parent, cst.Expr) and parent.value is call:
        return text
    return f"({text})"


def fix_and_note(graph: ModelGraph, site: InitSite, options: Options,
                 fix: Fix | None) -> tuple[Fix | None, str | None]:
    """A rule's finding: its own fix, else the split fix, else why there is none."""
    if fix is not None:
        return fix, None
    split = split_fix(graph, site, options)
    if isinstance(split, Fix):
        return split, None
    from init_lint.rules.apply_fix import apply_fix

    through = apply_fix(graph, site, options)
    if isinstance(through, Fix):
        return through, None
    if through and split:
        return None, f"{split}; nor can statements after its `.apply`: {through}"
    return None, through or split or unfixable_reason(graph, site)

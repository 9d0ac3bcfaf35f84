"""Fixes through the apply sites: a module-level ``init_fn(m)`` applied with
``<model>.apply(init_fn)`` whose layers want different inits but share a class.

Such a function has no ``self`` to tell its layers apart (``m is self.head``), and the
class test cannot either, but each place that applies it can name them::

    def init_weights(m):
        if type(m) == nn.Conv2d:
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")   # was xavier_normal_
    ...
            self.apply(init_weights)
            nn.init.xavier_normal_(self.head.weight)                 # added: as before

The function's call becomes the init the flagged layers want; right after each
``.apply(fn)`` statement that reaches a layer wanting something else (a layer no enabled
rule flags, one whose activation is not known: its init stays exactly what it was, or a
flagged layer wanting another init), one statement per layer initializes it as it must
end up: the original call with the function's parameter replaced by the layer's path from
the receiver, or the recommended call for that layer.

Only where that is certain: every use of the function is such an ``.apply`` statement
whose receiver the analysis resolves to one module; each layer needing a statement has a
path from the receiver that names it whatever the model's parameters (``access``), the
same for every model the statement applies to; the call's arguments name nothing but the
parameter, literals and module-level names; the function touches ``m.weight`` only in
that call; and the fixed file, analyzed again, has no finding of an enabled rule at the
function's new call or at an added statement.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterator
from dataclasses import replace

import libcst as cst

from init_lint.analysis.graph import (
    ApplyReach,
    InitSite,
    Layer,
    ModelGraph,
    SourceFacts,
    _bound_by_import,
)
from init_lint.analysis.walk import child_nodes, descendants
from init_lint.findings import Edit, Fix, Position
from init_lint.rules.base import Options
from init_lint.rules.fixing import WEIGHT_TARGET, FixWriter, path_text

_MAX_STATEMENTS = 6  # per apply statement: beyond this, no readable fix
_BUILTINS = frozenset(dir(builtins))


# --- names and scopes ---------------------------------------------------------------------


def _store_names(expr: cst.BaseExpression | cst.BaseAssignTargetExpression) -> set[str]:
    if isinstance(expr, cst.Name):
        return {expr.value}
    if isinstance(expr, (cst.Tuple, cst.List)):
        found: set[str] = set()
        for element in expr.elements:
            found |= _store_names(element.value)
        return found
    if isinstance(expr, cst.StarredElement):
        return _store_names(expr.value)
    return set()


def _bindings(body: cst.CSTNode, *, nested: bool) -> set[str]:
    """Names a block binds (assignments, loops, ``with``/``except`` names, imports, defs);
    with ``nested`` False, not looking into the functions and classes it defines."""
    bound: set[str] = set()
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node is not body:
            bound.add(node.name.value)
            if not nested:
                continue
        if not nested and isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp,
                                            cst.DictComp, cst.GeneratorExp)):
            continue  # their own scopes
        if isinstance(node, cst.AssignTarget):
            bound |= _store_names(node.target)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            bound |= _store_names(node.target)
        elif isinstance(node, (cst.For, cst.CompFor)):
            bound |= _store_names(node.target)
        elif isinstance(node, cst.NamedExpr):
            bound |= _store_names(node.target)
        elif isinstance(node, cst.AsName) and isinstance(node.name, cst.Name):
            bound.add(node.name.value)
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            bound |= _bound_by_import(node)
        elif isinstance(node, cst.Param):
            bound.add(node.name.value)
        stack.extend(child_nodes(node))
    return bound


def _references(node: cst.CSTNode) -> Iterator[cst.Name]:
    """The names ``node`` reads: not attribute names (``x.attr``) nor keywords (``k=``)."""
    skip: set[int] = set()
    for child in [node, *descendants(node)]:
        if isinstance(child, cst.Attribute):
            skip.add(id(child.attr))
        elif isinstance(child, cst.Arg) and child.keyword is not None:
            skip.add(id(child.keyword))
        elif isinstance(child, cst.Name) and id(child) not in skip:
            yield child


def _enclosing(facts: SourceFacts, node: cst.CSTNode) -> cst.CSTNode | None:
    """The function, lambda or class ``node`` is in (None: the module body)."""
    current = facts.parent(node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda,
                                                           cst.ClassDef)):
        current = facts.parent(current)
    return current


class _Rename(cst.CSTTransformer):
    """Replaces the parameter ``name`` (as a read name) by an expression."""

    def __init__(self, name: str, by: cst.BaseExpression) -> None:
        self.name = name
        self.by = by
        self.skip: set[int] = set()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        self.skip.add(id(node.attr))
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        if node.keyword is not None:
            self.skip.add(id(node.keyword))
        return True

    def leave_Name(self, original_node: cst.Name,
                   updated_node: cst.Name) -> cst.BaseExpression:
        if original_node.value == self.name and id(original_node) not in self.skip:
            return self.by
        return updated_node


def _renamed(call: str, name: str, by: str) -> str | None:
    try:
        expr = cst.parse_expression(call)
        replacement = cst.parse_expression(by)
    except cst.ParserSyntaxError:
        return None
    new = expr.visit(_Rename(name, replacement))
    return cst.Module([]).code_for_node(new) if isinstance(new, cst.CSTNode) else None


# --- the fix ------------------------------------------------------------------------------


def _module_function(facts: SourceFacts, call: cst.CSTNode) -> cst.FunctionDef | None:
    node = _enclosing(facts, call)
    if isinstance(node, cst.FunctionDef) and isinstance(facts.parent(node), cst.Module):
        return node
    return None


def _apply_statements(facts: SourceFacts, function: cst.FunctionDef
                      ) -> list[cst.Call] | str:
    """Every ``<name>.apply(fn)`` statement that uses the function, or why some use of
    it is not one."""
    name = function.name.value
    uses: list[cst.Call] = []
    for ref in _references(facts.module):
        if ref.value != name or ref is function.name:
            continue
        arg = facts.parent(ref)
        call = facts.parent(arg) if arg is not None else None
        expr = facts.parent(call) if call is not None else None
        line = facts.parent(expr) if expr is not None else None
        block = facts.parent(line) if line is not None else None
        if not (isinstance(arg, cst.Arg) and arg.value is ref and not arg.star
                and arg.keyword is None and isinstance(call, cst.Call)
                and len(call.args) == 1 and isinstance(call.func, cst.Attribute)
                and call.func.attr.value == "apply"
                and isinstance(call.func.value, cst.Name)
                and isinstance(expr, cst.Expr) and expr.value is call
                and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1
                and isinstance(block, (cst.IndentedBlock, cst.Module))):
            span = facts.span(ref)
            where = f" (line {span[0].line})" if span is not None else ""
            return (f"`{name}` is used other than as `<model>.apply({name})` on a line of "
                    f"its own{where}, where its layers cannot be named")
        uses.append(call)
    if not uses:
        return f"`{name}` is never applied with `<model>.apply({name})` in this file"
    return uses


class _Plan:
    """The statements to add after each apply statement, for one choice of the
    function's new call."""

    def __init__(self) -> None:
        self.after: dict[int, list[str]] = {}  # id(apply call) -> statements
        self.count = 0


def apply_fix(graph: ModelGraph, site: InitSite, options: Options) -> Fix | str | None:
    """The fix through the apply sites (cached per site: every finding there shares it),
    or why there is none; None where it does not apply (not a module-level function
    applied with ``.apply``)."""
    key = (id(site), repr(options))
    if key not in graph.fix_cache:
        graph.fix_cache[key] = _apply_fix(graph, site, options)
    cached = graph.fix_cache[key]
    assert cached is None or isinstance(cached, (Fix, str))
    return cached


def _apply_fix(graph: ModelGraph, site: InitSite, options: Options) -> Fix | str | None:
    from init_lint.rules.split import _wanted

    facts = graph.source
    if facts is None or graph.incomplete or not site.applied or not isinstance(
            site.node, cst.Call) or site.form not in ("init_call", "tensor_method") or (
            site.slice):
        return None
    match = WEIGHT_TARGET.fullmatch(site.tensor_text)
    function = _module_function(facts, site.node)
    if match is None or function is None:
        return None
    var = match.group(1)
    params = function.params
    if not (len(params.params) == 1 and params.params[0].name.value == var
            and not params.posonly_params and not params.kwonly_params
            and not isinstance(params.star_arg, cst.Param) and params.star_kwarg is None):
        return None
    layers = graph.weight_layers(site)
    if len(layers) < 2 or any(layer.is_raw for layer in layers):
        return None
    fn = function.name.value
    if site.other or site.unknown or len(layers) != len(site.weight_of):
        return ("it also reaches tensors that are not the weights of known layers, which "
                f"must keep the original call in `{fn}`")
    if any(layer.is_norm for layer in layers):
        return None  # the class-split fix's business (ones_ for norms)
    uses = _apply_statements(facts, function)
    if isinstance(uses, str):
        return uses
    checked = _function_checks(facts, function, site.node, var)
    if checked is not None:
        return checked
    writer = FixWriter(facts, site)
    wanted = _wanted(graph, site, options, writer, layers)
    if isinstance(wanted, str):
        return wanted
    original = facts.source_text(site.node)
    if original is None:
        return None
    candidates = list(dict.fromkeys(call for call in wanted.values() if call is not None))
    if not candidates:
        return None
    by_layer = {layer.key: layer for layer in layers}
    plans: list[tuple[int, int, str, _Plan]] = []
    reason: str | None = None
    for call in candidates:
        plan = _plan(graph, site, uses, wanted, original, call, var, by_layer)
        if isinstance(plan, str):
            reason = reason or plan
            continue
        group = sum(1 for c in wanted.values() if c == call)
        plans.append((plan.count, -group, call, plan))
    if not plans:
        return reason
    plans.sort(key=lambda item: (item[0], item[1]))
    module_names = _bindings(facts.module, nested=False)
    for _, _, call, plan in plans:
        fix = _build(facts, site, writer, uses, call, plan, fn, module_names)
        if isinstance(fix, str):
            reason = fix
            continue
        if options.verify_fixes:
            problem = _verify(facts, fix, call, plan, options)
            if problem is not None:
                reason = problem
                continue
        return fix
    return reason


def _function_checks(facts: SourceFacts, function: cst.FunctionDef, call: cst.Call,
                     var: str) -> str | None:
    """What in the function makes a re-initialization after ``.apply`` unsafe."""
    fn = function.name.value
    uses = 0
    for node in descendants(function.body):
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            return f"`{fn}` rebinds names outside itself (`global`/`nonlocal`)"
        if isinstance(node, cst.Attribute) and node.attr.value == "weight" and isinstance(
                node.value, cst.Name) and node.value.value == var:
            uses += 1
    if uses != 1:
        return (f"`{fn}` uses `{var}.weight` more than once: a statement after `.apply` "
                "could undo more than the flagged call")
    local = _bindings(function, nested=True) - {var}
    module_names = _bindings(facts.module, nested=False)
    for ref in _references(call):
        name = ref.value
        if name == var:
            continue
        if name in local or not (name in module_names or name in _BUILTINS):
            return (f"the call's arguments use `{name}`, which is not a module-level name: "
                    "it cannot be written after `.apply`")
    return None


def _plan(graph: ModelGraph, site: InitSite, uses: list[cst.Call],
          wanted: dict[int, str | None], original: str, call: str, var: str,
          layers: dict[int, Layer]) -> _Plan | str:
    """The statements after each apply statement when the function's call becomes
    ``call``, or why they cannot be written."""
    facts = graph.source
    assert facts is not None
    plan = _Plan()
    reached: set[int] = set()
    for use in uses:
        runs = graph.apply_runs.get(id(use), [])
        line = (facts.span(use) or (Position(0, 0),))[0].line
        receiver = use.func.value if isinstance(use.func, cst.Attribute) else None
        if not runs or not isinstance(receiver, cst.Name):
            return f"the analysis does not know what the `.apply` at line {line} applies to"
        if not all(run.resolved for run in runs):
            return f"the model the `.apply` at line {line} applies to is not one known module"
        lists: list[list[str]] = []
        for run in runs:
            reach = next((r for r in site.applied if r.run is run), None)
            if reach is None:
                lists.append([])
                continue
            statements = _statements(reach, wanted, original, call, var, receiver.value,
                                     facts.quote, layers, line)
            if isinstance(statements, str):
                return statements
            lists.append(statements)
            reached |= set(reach.objects)
        if any(statements != lists[0] for statements in lists):
            return (f"the `.apply` at line {line} reaches models whose layers differ "
                    "(one statement after it cannot fit them all)")
        if len(lists[0]) > _MAX_STATEMENTS:
            return (f"{len(lists[0])} layers would need their own statement after the "
                    f"`.apply` at line {line}")
        if lists[0]:
            plan.after[id(use)] = lists[0]
            plan.count += len(lists[0])
    if reached != set(site.weight_of):
        return "it also runs other than through the `.apply` statements of this file"
    return plan


def _statements(reach: ApplyReach, wanted: dict[int, str | None], original: str,
                call: str, var: str, root: str, quote: str, layers: dict[int, Layer],
                line: int) -> list[str] | str:
    run = reach.run
    found: list[str] = []
    for key in sorted(reach.objects):
        want = wanted.get(key) or original
        if want == call:
            continue
        layer = layers[key]
        paths = run.paths.get(key)
        if paths is None or reach.objects[key] != run.objects.get(key):
            what = "keeps its original init" if want == original else "wants another init"
            return (f"{layer.name} {what} but has no path from `{root}` at the `.apply` "
                    f"at line {line} that is the same layer whatever the model's parameters")
        if re.search(r"[\r\n]", want):
            return f"the call to keep for {layer.name} spans several lines"
        for path in paths:
            text = _renamed(want, var, path_text(root, path, quote))
            if text is None:
                return f"no certain statement for {layer.name}"
            found.append(text)
    return found


def _insertion(facts: SourceFacts, use: cst.Call, statements: list[str]) -> Edit | None:
    """The statements, on lines of their own right after the apply statement."""
    expr = facts.parent(use)
    line = facts.parent(expr) if expr is not None else None
    if line is None:
        return None
    span = facts.span(line)
    indent = facts.line_prefix(line)
    if span is None or indent is None or indent.strip():
        return None
    newline = facts.module.default_newline
    code = facts.module.code
    lines = re.split(r"\r\n|\r|\n", code)
    end_line = span[1].line
    if end_line < len(lines):  # the statement's line ends with a line break
        text = "".join(f"{indent}{s}{newline}" for s in statements)
        at = Position(end_line + 1, 0)
    else:
        text = "".join(f"{newline}{indent}{s}" for s in statements)
        at = Position(end_line, len(lines[end_line - 1]))
    return Edit(at, at, text)


def _build(facts: SourceFacts, site: InitSite, writer: FixWriter, uses: list[cst.Call],
           call: str, plan: _Plan, fn: str, module_names: set[str]) -> Fix | str:
    span = facts.span(site.node)
    if span is None:
        return "no certain replacement"
    imported = {name or module.split(".")[0] for module, name in writer.imports}
    edits = [Edit(span[0], span[1], call)]
    added: list[str] = []
    for use in uses:
        statements = plan.after.get(id(use))
        if not statements:
            continue
        scope = _enclosing(facts, use)
        if isinstance(scope, (cst.ClassDef, cst.Lambda)):
            return "an `.apply` statement sits directly in a class body"
        local = _bindings(scope, nested=True) if scope is not None else set()
        root = use.func.value.value if isinstance(use.func, cst.Attribute) and isinstance(
            use.func.value, cst.Name) else ""
        for statement in statements:
            for ref in _references(cst.parse_expression(statement)):
                name = ref.value
                if name == root:
                    continue
                if (name in local and scope is not None) or not (
                        name in module_names or name in _BUILTINS or name in imported):
                    return (f"`{name}` does not name the same thing where `{fn}` is "
                            "applied")
        edit = _insertion(facts, use, statements)
        if edit is None:
            return "an `.apply` statement is not on a line of its own"
        edits.append(edit)
        added.extend(statements)
    description = f"use {call} in `{fn}`"
    if added:
        shown = "; ".join(added[:3]) + (f" and {len(added) - 3} more" if len(added) > 3
                                          else "")
        description += f", and after its `.apply`: {shown}"
    return Fix(description, tuple(edits), tuple(dict.fromkeys(writer.imports)))


def _verify(facts: SourceFacts, fix: Fix, call: str, plan: _Plan,
            options: Options) -> str | None:
    """Analyze the fixed file again: no enabled rule may flag the function's new call
    (for any layer it still reaches) nor an added statement."""
    from init_lint.analysis import build_graph
    from init_lint.fixes import add_imports, apply_edits
    from init_lint.rules import ALL_RULES

    try:
        text = add_imports(apply_edits(facts.module.code, fix.edits), fix.imports)
        graph = build_graph(cst.parse_module(text))
    except (cst.ParserSyntaxError, RecursionError, ValueError):
        return "the fixed file would not parse"
    new = graph.source
    if new is None or graph.incomplete:
        return "the fixed file could not be analyzed again"
    texts = {call} | {s for statements in plan.after.values() for s in statements}
    starts = {site.start for site in graph.init_sites
              if new.source_text(site.node) in texts}
    if not starts:
        return "the fixed call could not be found again"
    quiet = replace(options, verify_fixes=False)
    for rule in ALL_RULES:
        if options.enabled is not None and rule.code not in options.enabled:
            continue
        if options.enabled is None and rule.off_by_default:
            continue
        for finding in rule().check(graph, quiet):
            if finding.start in starts:
                what = finding.message.split(":")[0]
                return (f"{call} would be flagged in turn ({finding.code}: {what})")
    return None

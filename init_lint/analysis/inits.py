"""Init sites: every initializing operation, and the tensors (layers) it reaches.

Forms (DESIGN.md, InitSite): ``nn.init.*_(t, ...)`` under any import style and known
library twins; in-place tensor methods (``w.data.normal_()``, ``zero_()``, ``fill_()``,
``uniform_()``); ``nn.Parameter(torch.zeros|ones|full|randn|rand(...) [* scale])``.
A site executed several times (a loop over ``modules()``, an ``.apply(fn)``, a class
instantiated twice) is one site whose targets are the union of what it reached.
"""

from __future__ import annotations

import libcst as cst

from init_lint.analysis.access import PathTable
from init_lint.analysis.graph import ApplyReach, Arg, InitSite
from init_lint.analysis.names import dotted_name
from init_lint.analysis.state import AnalysisState
from init_lint.analysis.values import (
    UNKNOWN,
    Const,
    FactoryTensor,
    Instance,
    LayerMod,
    Param,
    TensorRef,
    Value,
    options,
)
from init_lint.knowledge import INITIALIZERS, TENSOR_INIT_METHODS


def _number(value: Value) -> float | str | None:
    if isinstance(value, Const) and isinstance(value.value, (int, float, str)) and not isinstance(
            value.value, bool):
        return value.value
    return None


class InitMixin(AnalysisState):
    """Records init sites while the interpreter runs."""

    sites_by_node: dict[int, InitSite]
    path_tables: dict[tuple[int, int], tuple[Instance, PathTable]]
    code_cache: dict[int, str]  # id(node) -> its code: a dispatch runs one call many times

    def code(self, node: cst.CSTNode) -> str:
        text = self.code_cache.get(id(node))
        if text is None:
            text = self.code_cache[id(node)] = self.module.code_for_node(node)
        return text

    def site_for(self, node: cst.Call, function: str, form: str, args: dict[str, Arg],
                 tensor_text: str) -> InitSite:
        site = self.sites_by_node.get(id(node))
        if site is None:
            site = InitSite(node, self.spans, function, form, args, tensor_text)
            self.sites_by_node[id(node)] = site
            self.graph.init_sites.append(site)
        elif site.args != args:
            # The same call run with other arguments (a helper called with std=1.0 here and
            # std=0.01 there): an argument that differs is not one known value.
            for name in set(site.args) | set(args):
                old, new = site.args.get(name), args.get(name)
                if old != new:
                    known = old if old is not None else new
                    site.args[name] = Arg(None, known.text if known is not None else "")
        if self.dispatch:
            site.dispatch = True
        return site

    def make_args(self, function: str, arg_values: list[Value], arg_nodes: list[cst.Arg],
                  kwargs: dict[str, Value]) -> dict[str, Arg]:
        """Name every argument after the tensor as the torch function names it."""
        names = INITIALIZERS[function].positional if function in INITIALIZERS else ()
        result: dict[str, Arg] = {}
        positional = [a for a in arg_nodes if a.keyword is None and not a.star]
        for name, value, node in zip(names, arg_values[1:], positional[1:], strict=False):
            result[name] = self._arg(value, node.value)
        for node in arg_nodes:
            if node.keyword is not None:
                result[node.keyword.value] = self._arg(kwargs.get(node.keyword.value, UNKNOWN),
                                                       node.value)
        return result

    def _arg(self, value: Value, node: cst.BaseExpression) -> Arg:
        gain_name: str | None = None
        gain_param: float | None = None
        if isinstance(node, cst.Call):
            callee = dotted_name(node.func) or ""
            if callee.endswith("calculate_gain") and node.args:
                first = node.args[0].value
                if isinstance(first, cst.SimpleString):
                    gain_name = first.evaluated_value if isinstance(
                        first.evaluated_value, str) else None
                if len(node.args) > 1:
                    p = _number(self.evaluate_quiet(node.args[1].value))
                    gain_param = float(p) if isinstance(p, (int, float)) else None
        if gain_name is None and isinstance(value, Const) and value.gain_name is not None:
            gain_name, gain_param = value.gain_name, value.gain_param  # gain = calculate_gain(..)
        return Arg(_number(value), self.code(node), gain_name, gain_param)

    def evaluate_quiet(self, node: cst.BaseExpression) -> Value:
        return UNKNOWN  # overridden by the interpreter

    def current_self(self) -> Value | None:
        return None  # overridden by the interpreter: ``self`` where the call runs

    def note_paths(self, site: InitSite, tensor: Value, tensor_node: cst.BaseExpression) -> None:
        """Record how the running function reaches, from ``self``, each layer whose weight
        a ``<name>.weight`` target is in this run (see ``access``): only for layers that are
        under that ``self`` (a module passed in from elsewhere cannot be named from it)."""
        target = tensor_node
        if isinstance(target, cst.Attribute) and target.attr.value == "data":
            target = target.value
        if not (isinstance(target, cst.Attribute) and target.attr.value == "weight"
                and isinstance(target.value, cst.Name)):
            return
        keys = {o.owner for o in options(tensor) if isinstance(o, TensorRef) and (
            o.role in ("layer", "norm") and o.attr == "weight" and not o.sliced)}
        if not keys:
            return
        if self.applying:
            self.note_apply(site, keys, target.value)
        root = self.current_self()
        if not isinstance(root, Instance):  # no `self` here: no key gets a path
            for key in keys & set(site.paths):
                site.paths[key] = None
            return
        cache_key = (id(site.node), id(root))
        cached = self.path_tables.get(cache_key)
        if cached is None:
            cached = (root, PathTable(root))
            self.path_tables[cache_key] = cached
        table = cached[1]
        modules = {o.key: o for o in options(self.evaluate_quiet(target.value))
                   if isinstance(o, LayerMod)}
        for key in keys:
            paths = table.paths.get(key)
            module = modules.get(key)
            if module is None or id(module) not in table.objects.get(key, ()):
                paths = None
            if key in site.paths and site.paths[key] != paths:
                paths = None
            site.paths[key] = paths

    def note_apply(self, site: InitSite, keys: set[int], owner: cst.BaseExpression) -> None:
        """Inside ``<receiver>.apply(fn)``: which layer objects of ``keys`` this site
        reached in this run, and (once per run) every layer's paths from the receiver."""
        run, receiver = self.applying[-1]
        if not run.ready:
            run.ready = True
            table = PathTable(receiver)
            run.objects, run.paths = table.objects, table.paths
        reach = next((r for r in site.applied if r.run is run), None)
        if reach is None:
            reach = ApplyReach(run)
            site.applied.append(reach)
        modules = [o for o in options(self.evaluate_quiet(owner)) if isinstance(o, LayerMod)]
        for key in keys:
            found = reach.objects.setdefault(key, set())
            found.update(id(m) for m in modules if m.key == key)
            if not any(m.key == key for m in modules):
                found.add(0)  # an object we cannot name: never equal to the receiver's

    def add_targets(self, site: InitSite, tensor: Value) -> None:
        for option in options(tensor):
            if isinstance(option, TensorRef):
                if option.sliced:
                    site.slice = True
                elif option.role in ("layer", "norm", "raw") and option.attr == "weight":
                    site.weight_of.add(option.owner)
                elif option.role in ("layer", "norm") and option.attr == "bias":
                    site.bias_of.add(option.owner)
                else:
                    site.other = True
            elif isinstance(option, Param):
                site.weight_of.add(option.key)
            elif isinstance(option, FactoryTensor):
                option.site = site
            else:
                site.unknown = True

    def init_call(self, function: str, arg_values: list[Value], kwargs: dict[str, Value],
                  node: cst.Call) -> Value:
        """``nn.init.<function>(tensor, ...)``: returns the tensor, as torch does."""
        tensor = arg_values[0] if arg_values else kwargs.get("tensor", UNKNOWN)
        tensor_node = node.args[0].value if node.args else node
        args = self.make_args(function, arg_values, list(node.args), kwargs)
        site = self.site_for(node, function, "init_call", args, self.code(tensor_node))
        self.add_targets(site, tensor)
        self.note_paths(site, tensor, tensor_node)
        return tensor

    def tensor_method_init(self, method: str, receiver: Value, arg_values: list[Value],
                           kwargs: dict[str, Value], node: cst.Call) -> Value:
        """``w.data.normal_(0, 0.02)``, ``w.zero_()``, ``w.fill_(v)``, ``w.uniform_(a, b)``."""
        function = TENSOR_INIT_METHODS[method]
        receiver_node = node.func.value if isinstance(node.func, cst.Attribute) else node
        names = {"normal_": ("mean", "std"), "uniform_": ("a", "b"), "constant_": ("val",)}.get(
            function, ())
        args: dict[str, Arg] = {}
        positional = [a for a in node.args if a.keyword is None]
        for name, value, arg_node in zip(names, arg_values, positional, strict=False):
            args[name] = self._arg(value, arg_node.value)
        for arg_node in node.args:
            if arg_node.keyword is not None:
                key = {"from": "a", "to": "b", "value": "val"}.get(
                    arg_node.keyword.value, arg_node.keyword.value)
                args[key] = self._arg(kwargs.get(arg_node.keyword.value, UNKNOWN), arg_node.value)
        site = self.site_for(node, function, "tensor_method", args, self.code(receiver_node))
        self.add_targets(site, receiver)
        self.note_paths(site, receiver, receiver_node)
        return receiver

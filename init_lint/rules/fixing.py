"""Building the ``Fix`` of a finding: the exact replacement text, as a careful engineer
would write it in this file.

A fix is data (text edits plus the imports they need), so ``init-lint fix``, the JSON and
SARIF outputs and the language server all apply the same edit. What it writes follows
the file: the alias it already binds for ``torch.nn.init`` (``nn.init.``, ``init.``,
``I.``, or a directly imported function), its quote style, the tensor argument exactly as
written, and the call's distribution (uniform stays uniform). When no suitable name is
bound, it schedules an import that cannot clash with a name the module uses; when it
cannot be sure of the replacement, there is no fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from init_lint.analysis.graph import AccessPath, Act, InitSite, Layer, ModelGraph, SourceFacts
from init_lint.analysis.names import dotted_name, qualify
from init_lint.findings import Edit, Fix
from init_lint.knowledge import (
    ACTIVATIONS,
    INITIALIZERS,
    Family,
    Recommendation,
    Scheme,
    format_number,
    recommend,
)

_INIT_MODULES = ("torch.nn.init", "transformers.initialization")
_KEPT_EVERYWHERE = ("generator",)
Import = tuple[str, "str | None"]

#: An init site's tensor written ``<name>.weight`` (``.data`` allowed): the form split and
#: apply-site fixes can rewrite per layer.
WEIGHT_TARGET = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\.weight(?:\.data)?")


def path_text(root: str, path: AccessPath, quote: str) -> str:
    """``self.net[0]``, ``model.body['fc']``: ``path`` written from ``root``."""
    text = root
    for kind, value in path:
        if kind == "attr":
            text += f".{value}"
        elif kind == "index":
            text += f"[{value}]"
        else:
            text += f"[{quote}{value}{quote}]"
    return text


@dataclass(frozen=True)
class CallParts:
    """A parsed init call: its callee text, tensor text and named arguments (as written)."""

    callee: str
    tensor: str
    arguments: dict[str, str]


class FixWriter:
    """Writes replacement calls for one init site in the style of its file."""

    def __init__(self, facts: SourceFacts, site: InitSite) -> None:
        self.facts = facts
        self.site = site
        self.imports: list[Import] = []

    # --- names ------------------------------------------------------------------

    def quoted(self, text: str) -> str:
        return f"{self.facts.quote}{text}{self.facts.quote}"

    def _bound_to(self, qualified: str) -> str | None:
        for local, target in sorted(self.facts.aliases.items()):
            if target == qualified:
                return local
        return None

    def init_function(self, name: str) -> str | None:
        """Source text that calls ``torch.nn.init.<name>`` in this file's style."""
        call = self.site.node
        if isinstance(call, cst.Call) and self.site.form == "init_call":
            func = call.func
            if isinstance(func, cst.Attribute):
                base = dotted_name(func.value)
                if base is not None and qualify(base, self.facts.aliases) in _INIT_MODULES:
                    return f"{self.facts.module.code_for_node(func.value)}.{name}"
            elif isinstance(func, cst.Name):
                # `from torch.nn.init import xavier_uniform_` style: import the new one too.
                direct = self._bound_to(f"torch.nn.init.{name}")
                if direct is not None:
                    return direct
                if not (qualify(func.value, self.facts.aliases) or "").startswith(_INIT_MODULES):
                    # A library's helper (timm's trunc_normal_, PyG's glorot): torch's own
                    # init module as the file already names it, if it does.
                    bound = self._bound_init_module()
                    if bound is not None:
                        return f"{bound}.{name}"
                if name not in self.facts.names:
                    self.imports.append(("torch.nn.init", name))
                    return name
        prefix = self.init_module_prefix()
        return f"{prefix}.{name}" if prefix is not None else None

    def _bound_init_module(self) -> str | None:
        """``nn.init`` / ``init`` / ``torch.nn.init`` from names the file binds, or None."""
        return self._torch_nn_name("init")

    def _torch_nn_name(self, name: str) -> str | None:
        """``torch.nn.<name>`` as this file spells it: the name itself if imported as such,
        else through ``nn`` or ``torch``; None if it binds no name for it."""
        direct = self._bound_to(f"torch.nn.{name}")
        if direct is not None:
            return direct
        nn = self._bound_to("torch.nn")
        if nn is not None:
            return f"{nn}.{name}"
        torch = self._bound_to("torch")
        return f"{torch}.nn.{name}" if torch is not None else None

    def init_module_prefix(self) -> str | None:
        """``nn.init`` / ``init`` / ``torch.nn.init``, adding an import if none is bound."""
        bound = self._bound_init_module()
        if bound is not None:
            return bound
        if "init" not in self.facts.names:
            if ("torch.nn", "init") not in self.imports:
                self.imports.append(("torch.nn", "init"))
            return "init"
        if "torch" not in self.facts.names:
            if ("torch", None) not in self.imports:
                self.imports.append(("torch", None))
            return "torch.nn.init"
        return None

    def torch_nn_class(self, kind: str) -> str | None:
        """``nn.BatchNorm2d`` as this file spells it (``BatchNorm2d`` if imported as such,
        ``torch.nn.BatchNorm2d``, ...); None if it binds no name for it."""
        return self._torch_nn_name(kind)

    def calculate_gain(self, name: str, param: float | None = None) -> str | None:
        callee = self.init_function("calculate_gain")
        if callee is None:
            return None
        extra = f", {format_number(param)}" if param is not None else ""
        return f"{callee}({self.quoted(name)}{extra})"

    # --- calls ------------------------------------------------------------------

    def parts(self) -> CallParts | None:
        """The flagged ``init_call`` split into callee, tensor and named arguments."""
        call = self.site.node
        if not isinstance(call, cst.Call) or self.site.form != "init_call" or not call.args:
            return None
        code = self.facts.module.code_for_node
        names = INITIALIZERS[self.site.function].positional if (
            self.site.function in INITIALIZERS) else ()
        tensor: str | None = None
        arguments: dict[str, str] = {}
        positional = 0
        for arg in call.args:
            if arg.star:
                return None
            text = code(arg.value)
            if arg.keyword is not None:
                if arg.keyword.value == "tensor":
                    tensor = text
                else:
                    arguments[arg.keyword.value] = text
            elif positional == 0:
                tensor = text
                positional += 1
            elif positional - 1 < len(names):
                arguments[names[positional - 1]] = text
                positional += 1
            else:
                return None
        if tensor is None:
            return None
        return CallParts(code(call.func), tensor, arguments)

    def recommended_call(self, rec: Recommendation, distribution: str, tensor: str,
                         layers: list[Layer], kept: dict[str, str]) -> str | None:
        """``<init>.<scheme>_<distribution>_(tensor, ...)`` for a recommendation."""
        callee = self.init_function(rec.function(distribution))
        if callee is None:
            return None
        arguments: list[str] = [tensor]
        if rec.scheme is Scheme.KAIMING:
            mode = kept.get("mode")
            if any(layer.transposed for layer in layers):
                mode = self.quoted("fan_out")  # W stored (in, out): torch's fan_in is shape[1]
            if mode is not None:
                arguments.append(f"mode={mode}")
            arguments.append(f"nonlinearity={self.quoted(rec.nonlinearity or 'relu')}")
            if rec.a is not None:
                arguments.append(f"a={format_number(rec.a)}")
        elif rec.gain_name is not None:
            gain = self.calculate_gain(rec.gain_name)
            if gain is None:
                return None
            arguments.append(f"gain={gain}")
        arguments += [f"{k}={v}" for k, v in kept.items() if k in _KEPT_EVERYWHERE]
        return f"{callee}({', '.join(arguments)})"

    def edit_node(self, node: cst.CSTNode, text: str) -> Edit | None:
        span = self.facts.span(node)
        if span is None:
            return None
        return Edit(span[0], span[1], text)

    def fix(self, description: str, edit: Edit | None) -> Fix | None:
        if edit is None:
            return None
        return Fix(description, (edit,), tuple(dict.fromkeys(self.imports)))


def _tensor_expression(site: InitSite) -> str:
    text = site.tensor_text
    return text[: -len(".data")] if text.endswith(".data") else text


def distribution_of(site: InitSite) -> str:
    """Uniform stays uniform, normal stays normal; constants become uniform (like
    PyTorch's own default)."""
    info = INITIALIZERS.get(site.function)
    if info is not None and info.distribution == "normal":
        return "normal"
    return "uniform"


def common_activation(graph: ModelGraph, layers: list[Layer]) -> Act | None:
    """The one known activation every layer wants an init for, else None."""
    from init_lint.rules.common import paired_activation

    acts = {paired_activation(graph, layer.key) for layer in layers}
    if len(acts) != 1:
        return None
    act = acts.pop()
    return act


def replacement_fix(graph: ModelGraph, site: InitSite, act: Act | None) -> Fix | None:
    """INI001 / INI004 (and INI002's Xavier->He): replace the whole initialization with
    the recommended call for the paired activation, for every layer the site reaches."""
    facts = graph.source
    if facts is None or act is None or site.slice or site.other or site.unknown or (
            not act.param_known):
        return None
    layers = graph.weight_layers(site)
    if not layers or any(layer.is_norm for layer in layers) or len(layers) != len(
            site.weight_of):
        return None
    if common_activation(graph, layers) != act:
        return None
    writer = FixWriter(facts, site)
    if site.form == "parameter":
        return _parameter_fix(writer, site, recommend(act.name, act.param), layers)
    call = replacement_call(writer, act, layers)
    if call is None or not isinstance(site.node, cst.Call):
        return None
    return writer.fix(f"use {call}", writer.edit_node(site.node, call))


def replacement_call(writer: FixWriter, act: Act, layers: list[Layer]) -> str | None:
    """The recommended call for ``act`` on the site's tensor, same distribution, keeping
    ``mode``/``generator`` (INI001, INI004, INI002's Xavier <-> He)."""
    site = writer.site
    if site.form == "parameter" or not act.param_known:
        return None
    kept: dict[str, str] = {}
    if site.form == "init_call":
        parts = writer.parts()
        if parts is None:
            return None
        kept = parts.arguments
    return writer.recommended_call(recommend(act.name, act.param), distribution_of(site),
                                   _tensor_expression(site), layers, kept)


def _parameter_fix(writer: FixWriter, site: InitSite, rec: Recommendation,
                   layers: list[Layer]) -> Fix | None:
    """``nn.Parameter(torch.zeros(a, b))`` -> ``nn.Parameter(init(torch.empty(a, b), ...))``."""
    call = site.node
    if not isinstance(call, cst.Call) or not call.args:
        return None
    data = call.args[0].value
    factory = data
    while isinstance(factory, cst.BinaryOperation):
        factory = factory.left
    if not isinstance(factory, cst.Call) or not isinstance(factory.func, cst.Attribute):
        return None
    code = writer.facts.module.code_for_node
    keep = [a for a in factory.args if not (a.keyword and a.keyword.value == "fill_value")]
    if factory.func.attr.value == "full":
        keep = [a for a in keep if a.keyword is not None or a is factory.args[0]]
    arguments = ", ".join(code(a).rstrip(", ").strip() for a in keep)
    empty = f"{code(factory.func.value)}.empty({arguments})"
    new = writer.recommended_call(rec, "uniform", empty, layers, {})
    if new is None:
        return None
    return writer.fix(f"use {new}", writer.edit_node(data, new))


def renamed_gain_fix(graph: ModelGraph, site: InitSite, act: Act) -> Fix | None:
    """INI003: the same call, with the right nonlinearity name (and ``a=``) only."""
    facts = graph.source
    if facts is None:
        return None
    writer = FixWriter(facts, site)
    call = renamed_gain_call(writer, act)
    if call is None or not isinstance(site.node, cst.Call):
        return None
    return writer.fix(f"use {call}", writer.edit_node(site.node, call))


def renamed_gain_call(writer: FixWriter, act: Act) -> str | None:
    """INI003's call: the same call, naming the nonlinearity (and ``a=``) that follows."""
    site = writer.site
    if act.name is None or not act.param_known:
        return None
    parts = writer.parts()
    if parts is None:
        return None
    info = ACTIVATIONS[act.name]
    rec = recommend(act.name, act.param)
    arguments = dict(parts.arguments)
    if INITIALIZERS[site.function].scheme is Scheme.KAIMING:
        if info.family is Family.SATURATING:
            if info.gain_name is None:
                return None
            name, slope = info.gain_name, None
        else:
            name, slope = rec.nonlinearity or "relu", rec.a
        arguments.pop("a", None)
        arguments["nonlinearity"] = writer.quoted(name)
        if slope is not None:
            arguments["a"] = format_number(slope)
    else:
        gain_arg = site.args.get("gain")
        if gain_arg is None or gain_arg.gain_name is None or "calculate_gain" not in (
                parts.arguments.get("gain", "")):
            return None
        gain_name = info.gain_name if info.family is not Family.SELF_NORMALIZING else "linear"
        if gain_name is None:
            return None
        param = act.param if gain_name == "leaky_relu" else None
        callee = parts.arguments["gain"].split("(", 1)[0]
        extra = f", {format_number(param)}" if param is not None else ""
        arguments["gain"] = f"{callee}({writer.quoted(gain_name)}{extra})"
    text = ", ".join([parts.tensor] + [f"{k}={v}" for k, v in arguments.items()])
    return f"{parts.callee}({text})"


def scheme_fix(graph: ModelGraph, site: InitSite, act: Act) -> Fix | None:
    """INI002: the recommended family for the activation, same distribution; an
    orthogonal init keeps being orthogonal, with the activation's gain."""
    facts = graph.source
    if facts is None or not act.param_known:
        return None
    if INITIALIZERS[site.function].scheme is Scheme.ORTHOGONAL:
        writer = FixWriter(facts, site)
        call = scheme_call(writer, act, [])
        if call is None or not isinstance(site.node, cst.Call):
            return None
        return writer.fix(f"use {call}", writer.edit_node(site.node, call))
    return replacement_fix(graph, site, act)


def scheme_call(writer: FixWriter, act: Act, layers: list[Layer]) -> str | None:
    """INI002's call: the recommended init; orthogonal stays orthogonal with the
    activation's gain."""
    site = writer.site
    if not act.param_known:
        return None
    if INITIALIZERS[site.function].scheme is not Scheme.ORTHOGONAL:
        return replacement_call(writer, act, layers)
    parts = writer.parts()
    rec = recommend(act.name, act.param)
    if parts is None or rec.scheme is not Scheme.KAIMING:
        return None
    gain = writer.calculate_gain(rec.nonlinearity or "relu", rec.a)
    if gain is None:
        return None
    arguments = {k: v for k, v in parts.arguments.items() if k != "gain"}
    text = ", ".join([parts.tensor, f"gain={gain}"] + [f"{k}={v}" for k, v in
                                                       arguments.items()])
    return f"{parts.callee}({text})"


def unfixable_reason(graph: ModelGraph, site: InitSite) -> str:
    """Why a finding at ``site`` has no fix, in words a user can act on."""
    from init_lint.rules.common import paired_activation

    if site.slice:
        return "it initializes a slice of a tensor"
    if site.other or site.unknown:
        return "it also reaches tensors that are not the weights of known layers"
    layers = graph.weight_layers(site)
    norms = [layer for layer in layers if layer.is_norm]
    if norms and len(norms) != len(layers):
        return (f"it reaches normalization layers too ({norms[0].name}: their weight "
                "wants ones_); initialize them in their own branch")
    acts = [(layer, paired_activation(graph, layer.key)) for layer in layers]
    unknown = [layer for layer, act in acts if act is None]
    if unknown:
        return f"the activation after {unknown[0].name} is not known"
    if len({act for _, act in acts}) > 1:
        wants = ", ".join(list(dict.fromkeys(
            f"{layer.name} ({act.describe()})" for layer, act in acts if act is not None))[:4])
        return f"the layers it reaches want different inits: {wants}"
    return "no replacement is certain"


def ones_fix(graph: ModelGraph, site: InitSite) -> Fix | None:
    """INI006: ``ones_`` on the norm weight, when the site reaches norm layers only."""
    facts = graph.source
    if facts is None or site.form == "parameter" or site.other or site.unknown:
        return None
    layers = graph.weight_layers(site)
    if not layers or not all(layer.is_norm for layer in layers):
        return None
    writer = FixWriter(facts, site)
    call = ones_call(writer)
    if call is None or not isinstance(site.node, cst.Call):
        return None
    return writer.fix(f"use {call}", writer.edit_node(site.node, call))


def ones_call(writer: FixWriter) -> str | None:
    """INI006's call: ``ones_`` on the norm weight."""
    callee = writer.init_function("ones_")
    return None if callee is None else f"{callee}({_tensor_expression(writer.site)})"

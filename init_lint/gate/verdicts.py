"""The gate's verdicts: is an init site harmless for every enabled rule? Each verdict
mirrors why the analysis and the rules stay silent on such a site (``init_lint.gate``)."""

from __future__ import annotations

import ast
import builtins
from enum import Enum

from init_lint.gate.index import (
    NORM_CLASSES,
    PARAMETER,
    Index,
    Site,
    dotted,
    one_dimensional,
    qualified,
)
from init_lint.knowledge import (
    INITIALIZER_FUNCTIONS,
    INITIALIZERS,
    LAYER_MODULES,
    PASS_THROUGH_FUNCTIONS,
    TENSOR_FACTORIES,
    Scheme,
)

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


#: Names Python binds itself: never an import the gate can reason about.
_BUILTIN_NAMES = frozenset(dir(builtins))


def _torch_class_kind(name: str) -> Kind:
    """The kind of the class a qualified name stands for (unknown outside ``torch.nn``)."""
    if not name.startswith("torch.nn."):
        return Kind.UNKNOWN
    last = name.rsplit(".", 1)[-1]
    if last in NORM_CLASSES:
        return Kind.NORM
    if last in LAYER_MODULES:
        return Kind.LAYER
    if last in _ABSTRACT or last.startswith("_") or name.count(".") > 2:
        return Kind.UNKNOWN  # nn.Module, nn.modules.batchnorm._BatchNorm
    return Kind.OTHER


class Judge:
    def __init__(self, index: Index, codes: frozenset[str]) -> None:
        self.index = index
        self.codes = codes
        self._opaque_names: dict[str, bool] = {}
        self._opaque_attrs: dict[str, bool] = {}
        self._instance_kinds: set[Kind] | None = None

    def harmless(self, site: Site) -> bool:
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

    def _target(self, site: Site) -> str:
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
            called = qualified(self.index, node.func)
            return bool(called) and all(
                n.startswith("torch.") and n not in PASS_THROUGH_FUNCTIONS and n not in
                PARAMETER and n not in INITIALIZER_FUNCTIONS for n in called)
        if isinstance(node, ast.Name) and depth < 3:
            values = self.index.names.get(node.id) or []
            return bool(values) and all(v is not None and self._fresh(v, depth + 1)
                                        for v in values)
        return False

    def _attribute(self, site: Site) -> str | None:
        node = site.target
        while isinstance(node, ast.Attribute) and node.attr == "data":
            node = node.value
        return node.attr if isinstance(node, ast.Attribute) else site.name

    def _base(self, site: Site) -> ast.expr | None:
        node = site.target
        while isinstance(node, ast.Attribute) and node.attr == "data":
            node = node.value
        return node.value if isinstance(node, ast.Attribute) else None

    def _never_a_layer(self, site: Site, target: str) -> bool:
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

    def _random_harmless_for_ini004(self, site: Site, target: str) -> bool:
        if "INI004" not in self.codes or self._never_a_layer(site, target):
            return True
        return bool(site.scales) and any(
            s is not None and self._opaque(s, set()) for s in site.scales)

    def _random_harmless_for_ini006(self, site: Site, target: str) -> bool:
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
            kinds: set[Kind] = set()
            for cls in narrow[base.id]:
                if self._invisible(cls, constructed=False):
                    kinds |= self._any_instance_kinds()
                else:
                    kinds.add(self._class_kind(cls, set()))
            return kinds
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
            if self._invisible(value.func, constructed=True):
                return Kind.OTHER  # the analysis cannot know what the call gives
            return self._class_kind(value.func, set())
        return Kind.UNKNOWN

    def _class_kind(self, node: ast.expr, seen: set[str]) -> Kind:
        names = self._qualified_class(node)
        local = node.id if isinstance(node, ast.Name) else None
        in_file = local is not None and local in self.index.classes
        if names:
            # every binding counts: an import and a class of the same name, or two imports
            # that disagree, leave the kind unknown
            kinds = {_torch_class_kind(name) for name in names}
            return kinds.pop() if len(kinds) == 1 and not in_file else Kind.UNKNOWN
        if local is not None and in_file and local not in seen and (
                len(self.index.classes[local]) == 1):
            return self._own_class_kind(self.index.classes[local][0], seen | {local})
        return Kind.UNKNOWN

    def _invisible(self, node: ast.expr, constructed: bool) -> bool:
        """A class the analysis cannot see: a name bound only by imports from outside
        ``torch`` (HF's ``from ...pytorch_utils import Conv1D``, ``from ...modeling_utils
        import PreTrainedModel``), and by nothing else in the file.

        To the analysis such a class has no instances of torch's own modules
        (``isinstance`` is false for them, unknown for instances of the file's classes) and
        adds nothing to the file's classes that derive from it: what they hold, they bind
        here. Calling it (``constructed``) gives a value it knows nothing of, but only for a
        relative import: an absolute one may be a library helper it knows (``zero_module``,
        ``copy.deepcopy``, timm's activations), so it stays unknown."""
        if not isinstance(node, ast.Name) or node.id in self.index.classes or (
                node.id in _BUILTIN_NAMES):
            return False
        unresolved = self.index.unresolved_imports.get(node.id, 0)
        if len(self.index.names.get(node.id, ())) != unresolved:
            return False  # also assigned, defined or a parameter somewhere
        targets = self.index.aliases.get(node.id, set())
        if constructed:
            return unresolved > 0 and not targets
        return (unresolved > 0 or bool(targets)) and not any(
            t == "torch" or t.startswith("torch.") for t in targets)

    def _any_instance_kinds(self) -> set[Kind]:
        """What ``x`` can be under ``isinstance(x, C)`` with ``C`` invisible: an instance of
        any class of the file (their own kinds), whose ``weight`` is whatever the file
        binds to a ``.weight`` anywhere (``setattr``/``register_parameter`` included)."""
        if self._instance_kinds is None:
            kinds = {self._own_class_kind(cls, {cls.name})
                     for defs in self.index.classes.values() for cls in defs}
            for value in self.index.attrs.get("weight", []):
                if value is None:
                    kinds.add(Kind.UNKNOWN)
                elif not self._vector_parameter(value):
                    kinds.add(Kind.RAW if isinstance(value, ast.Call) and (
                        self._qualified_class(value.func) & PARAMETER) else Kind.UNKNOWN)
            if self.index.dynamic_attrs:
                kinds.add(Kind.UNKNOWN)
            self._instance_kinds = kinds or {Kind.OTHER}
        return self._instance_kinds

    def _qualified_class(self, node: ast.expr) -> set[str]:
        return qualified(self.index, node)

    def _own_class_kind(self, cls: ast.ClassDef, seen: set[str]) -> Kind:
        """A class of this file: its torch.nn base decides; a plain ``nn.Module`` whose
        ``self.weight`` (if any) is only ever a 1-D parameter has no layer weight."""
        for base in cls.bases:
            names = self._qualified_class(base)
            if names == {"torch.nn.Module"} or names == {"torch.nn.modules.module.Module"}:
                continue
            if self._invisible(base, constructed=False):
                continue  # adds nothing the analysis sees: the class binds what it holds
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
                            node.value.func) & PARAMETER:
                        return Kind.UNKNOWN
                    kind = Kind.RAW
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(
                    node.target, ast.Attribute) and node.target.attr == "weight":
                return Kind.UNKNOWN
            elif isinstance(node, ast.Constant) and node.value == "weight":
                return Kind.UNKNOWN  # register_parameter("weight", ...), setattr(...)
        return kind

    def _vector_parameter(self, value: ast.expr) -> bool:
        if not isinstance(value, ast.Call) or not self._qualified_class(value.func) & PARAMETER:
            return False
        data = value.args[0] if value.args else None
        if isinstance(data, ast.BinOp) and isinstance(data.op, (ast.Mult, ast.Div)):
            data = data.left if isinstance(data.left, ast.Call) else data.right
        if not isinstance(data, ast.Call):
            return False
        names = qualified(self.index, data.func)
        return bool(names & TENSOR_FACTORIES.keys()) and one_dimensional(self.index, data)

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
        if isinstance(node, ast.Call) and dotted(node.func) in {
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

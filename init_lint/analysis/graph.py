"""The ModelGraph: everything the rules need to know about one file, built once.

Rules read only this: layers (with their fans), how each layer's output is used (which
activation follows, what consumes it), which layers a normalization covers, and every
initializing operation with the layers it reaches. See DESIGN.md, "The model of a file".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from init_lint.findings import Position, line_starts


class Consumer(Enum):
    """What takes a layer's output (after its activation, if any)."""

    LAYER = "layer"  # another parametric layer: the layer is hidden
    OUTPUT = "output"  # returned from the model
    RESIDUAL = "residual"  # added to a skip path
    GATE = "gate"  # multiplies another tensor (gates, modulation)
    OTHER = "other"  # attention scores, indexing into something else, ...
    UNKNOWN = "unknown"  # a call we cannot see into


@dataclass(frozen=True)
class Act:
    """An activation applied to a layer's output; ``name`` None means none (linear)."""

    name: str | None
    param: float | None = None
    param_known: bool = True  # False: a leaky slope we cannot read (the family is known)

    def describe(self) -> str:
        from init_lint.knowledge import ACTIVATIONS, format_number

        if self.name is None:
            return "no activation"
        info = ACTIVATIONS.get(self.name)
        label = info.module if info else self.name
        if not self.param_known:
            return f"{label}(?)"
        if self.param is not None and self.name in ("leaky_relu", "prelu", "rrelu", "elu", "celu"):
            return f"{label}({format_number(self.param)})"
        return label


LINEAR = Act(None)
UNKNOWN_ACT = Act("?")


@dataclass(frozen=True)
class Use:
    """One way a layer's output is used, found on one path through ``forward``."""

    act: Act  # UNKNOWN_ACT when an unknown call came first
    normed: bool  # a normalization sat between the layer and its activation
    consumer: Consumer
    next_layer: int | None = None  # the consuming layer, for Consumer.LAYER
    chain: tuple[int, ...] = ()  # plain rectifier chain ending here (INI005)


class Spans:
    """Where nodes are in the source, computed only when first asked.

    libcst's ``PositionProvider`` regenerates the whole module's code to know positions:
    about as costly as the analysis itself. Only files with a finding need a position,
    so most files never pay for it.
    """

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._positions: Mapping[cst.CSTNode, CodeRange] | None = None

    def of(self, node: cst.CSTNode) -> tuple[Position, Position]:
        if self._positions is None:
            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        rng = self._positions.get(node)
        if rng is None:
            return Position(0, 0), Position(0, 0)
        return (Position(rng.start.line, rng.start.column),
                Position(rng.end.line, rng.end.column))


class SkeletonSpans(Spans):
    """A skeleton's positions would be the skeleton's, not the file's: asking for one
    sends the file to a full parse (``analysis.skeleton``)."""

    def of(self, node: cst.CSTNode) -> tuple[Position, Position]:
        from init_lint.analysis.skeleton import NeedsFullParse

        raise NeedsFullParse("a position")


@dataclass(frozen=True)
class Layer:
    """A parametric layer (or normalization layer, or raw weight) built in the file."""

    key: int
    kind: str  # torch.nn class name, or "Parameter" for a raw weight
    given_name: str | None  # where it is stored: "fc1", "net[0]", "W"
    node: cst.CSTNode = field(repr=False, compare=False)
    spans: Spans = field(repr=False, compare=False)
    fan_in: int | None = None  # the true fans (for raw weights: of the matmul)
    fan_out: int | None = None
    is_norm: bool = False
    is_raw: bool = False
    transposed: bool = False  # raw (in, out) weight used as x @ W: torch's fan_in is shape[1]
    shape: tuple[int | None, ...] | None = None

    @property
    def start(self) -> Position:
        return self.spans.of(self.node)[0]

    @property
    def end(self) -> Position:
        return self.spans.of(self.node)[1]

    @property
    def name(self) -> str:
        """For messages: where the layer is stored, else what and where it is built."""
        return self.given_name or f"{self.kind} at line {self.start.line}"


@dataclass(frozen=True)
class Arg:
    """An argument of an init call: its evaluated number or string, and its source."""

    value: float | str | None  # None: not statically known
    text: str
    gain_name: str | None = None  # for gain=calculate_gain("relu", p): the name
    gain_param: float | None = None


#: How a method reaches a layer from ``self``: attribute, index and key steps, e.g.
#: ``(("attr", "net"), ("index", 4))`` for ``self.net[4]``.
AccessPath = tuple[tuple[str, "str | int"], ...]


@dataclass
class InitSite:
    """One initializing operation and the tensors it can target."""

    node: cst.CSTNode = field(repr=False, compare=False)  # the CST node, for fixes
    spans: Spans = field(repr=False, compare=False)
    function: str  # torch.nn.init name it is or acts as ("zeros_" for .zero_())
    form: str  # "init_call", "tensor_method", "parameter"
    args: dict[str, Arg]
    tensor_text: str  # the tensor argument as written
    weight_of: set[int] = field(default_factory=set)  # layers whose weight it reaches
    bias_of: set[int] = field(default_factory=set)
    other: bool = False  # reaches tensors that are not layer weights (embeddings, ...)
    unknown: bool = False  # reaches tensors we cannot identify
    slice: bool = False  # a slice of a tensor (``w.data[a:b].fill_(1)``)
    scale_text: str | None = None  # for nn.Parameter(torch.randn(...) * s): the scale
    dispatch: bool = False  # reached through isinstance dispatch / parameter loops
    # For a target written ``<name>.weight``: each reached layer's paths from the ``self``
    # of the function holding the call (one per layer object with that key), None when
    # some object has no path valid whatever the parameters, or it differs between runs;
    # no entry where the function has no ``self``.
    paths: dict[int, tuple[AccessPath, ...] | None] = field(default_factory=dict)
    # For a ``<name>.weight`` target reached while ``<receiver>.apply(fn)`` runs: per run
    # of that apply call (innermost), the layer objects it reached here (``ApplyReach``).
    applied: list[ApplyReach] = field(default_factory=list, repr=False)

    @property
    def start(self) -> Position:
        return self.spans.of(self.node)[0]

    @property
    def end(self) -> Position:
        return self.spans.of(self.node)[1]


@dataclass(eq=False)
class ApplyRun:
    """One execution of ``<receiver>.apply(fn)`` (the call ``node``): whether its receiver
    is one known module (the receiver expression evaluates to it and nothing else), and,
    for each layer key under that receiver, the layer objects with that key and one path
    from the receiver to each that names the same layer whatever the model's parameters
    (None when one of them has none; see ``access``). Computed when an init site is first
    reached during the run."""

    node: cst.Call = field(repr=False)
    resolved: bool
    objects: dict[int, set[int]] = field(default_factory=dict)
    paths: dict[int, tuple[AccessPath, ...] | None] = field(default_factory=dict)
    ready: bool = False


@dataclass(eq=False)
class ApplyReach:
    """What one init site reached during one ``ApplyRun``: per layer key, the ids of the
    layer objects whose weight it targeted."""

    run: ApplyRun
    objects: dict[int, set[int]] = field(default_factory=dict)


def _bound_by_import(node: cst.Import | cst.ImportFrom) -> set[str]:
    if isinstance(node.names, cst.ImportStar):
        return set()
    bound: set[str] = set()
    for alias in node.names:
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            bound.add(alias.asname.name.value)
        else:
            name: cst.BaseExpression = alias.name
            while isinstance(name, cst.Attribute):
                name = name.value  # `import a.b` binds `a`
            if isinstance(name, cst.Name):
                bound.add(name.value)
    return bound


@dataclass
class SourceFacts:
    """What fix construction needs of the file itself: the tree, where each node is, the
    import aliases, every name the module uses (so an added import never clashes) and the
    quote style it prefers."""

    module: cst.Module
    spans: Spans
    aliases: dict[str, str]

    @cached_property
    def _name_and_quote_census(self) -> tuple[frozenset[str], str]:
        # One walk, and only for files with a fixable finding.
        from init_lint.analysis.walk import child_nodes

        names: set[str] = set()
        quotes = {'"': 0, "'": 0}
        stack: list[cst.CSTNode] = [self.module]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Name):
                names.add(node.value)
            elif isinstance(node, cst.SimpleString) and node.quote[0] in quotes:
                quotes[node.quote[0]] += 1
            elif isinstance(node, cst.Attribute):
                stack.append(node.value)  # `.attr` binds no name in this module
                continue
            elif isinstance(node, (cst.Import, cst.ImportFrom)):
                names.update(_bound_by_import(node))
                continue
            stack.extend(child_nodes(node))
        return frozenset(names), "'" if quotes["'"] > quotes['"'] else '"'

    @property
    def names(self) -> frozenset[str]:
        """Every identifier the module binds or uses (a new import must not shadow one)."""
        return self._name_and_quote_census[0]

    @property
    def quote(self) -> str:
        """The quote character most of the module's plain strings use."""
        return self._name_and_quote_census[1]

    def span(self, node: cst.CSTNode) -> tuple[Position, Position] | None:
        start, end = self.spans.of(node)
        return None if start.line == 0 else (start, end)

    @cached_property
    def _parents(self) -> dict[int, cst.CSTNode]:
        from init_lint.analysis.walk import child_nodes

        parents: dict[int, cst.CSTNode] = {}
        stack: list[cst.CSTNode] = [self.module]
        while stack:
            node = stack.pop()
            for child in child_nodes(node):
                parents[id(child)] = node
                stack.append(child)
        return parents

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The node that holds ``node`` (computed once, for files with a split fix)."""
        return self._parents.get(id(node))

    @cached_property
    def _code(self) -> tuple[str, list[int]]:
        code = self.module.code
        return code, line_starts(code)

    def source_text(self, node: cst.CSTNode) -> str | None:
        """``node`` exactly as the file writes it (``code_for_node`` re-renders nested
        lines without the indentation of the block around them)."""
        span = self.span(node)
        if span is None:
            return None
        code, starts = self._code
        start, end = span
        return code[starts[start.line - 1] + start.col:starts[end.line - 1] + end.col]

    def line_prefix(self, node: cst.CSTNode) -> str | None:
        """The text of ``node``'s first line before it (its indentation, for a statement)."""
        span = self.span(node)
        if span is None:
            return None
        code, starts = self._code
        line_start = starts[span[0].line - 1]
        return code[line_start:line_start + span[0].col]


class NeedsForward(Exception):
    """A rule asked how a layer's output is used, and the models' ``forward`` has not run
    yet (``ModelGraph.pending_forward``): run it, then run the rules again."""


@dataclass
class ModelGraph:
    """The facts of one file.

    The facts ``forward`` gives (``uses``, ``normalized``) can be left for later: most init
    sites are judged without them (a norm's weight, a config-driven std), and running
    every model's ``forward`` is most of the analysis of a large file. Then
    ``pending_forward`` runs it, and reading them first raises ``NeedsForward``.
    """

    source: SourceFacts | None = None
    layers: dict[int, Layer] = field(default_factory=dict)
    uses: dict[int, set[Use]] = field(default_factory=dict)
    normalized: set[int] = field(default_factory=set)
    init_sites: list[InitSite] = field(default_factory=list)
    incomplete: bool = False  # analysis gave up (budget): rules stay conservative
    # Every run of a ``<receiver>.apply(fn)`` call with a module receiver, by id(call).
    apply_runs: dict[int, list[ApplyRun]] = field(default_factory=dict, repr=False)
    # Fixes computed once per site for every finding there (see ``rules.apply_fix``).
    fix_cache: dict[tuple[int, str], object] = field(default_factory=dict, repr=False)
    # Runs the models' forward when it was left for later (``analysis.build_graph``).
    pending_forward: Callable[[], None] | None = field(default=None, repr=False)
    # Until then: raw parameters that ``forward`` may make layers (``x @ W``).
    raw_pending: frozenset[int] = field(default=frozenset(), repr=False)

    def require_forward(self) -> None:
        """Raise ``NeedsForward`` unless the facts of ``forward`` are in."""
        if self.pending_forward is not None:
            raise NeedsForward

    def require_layers_of(self, site: InitSite) -> None:
        """Raise ``NeedsForward`` if the site reaches a raw parameter whose being a layer's
        weight (and its fans) only ``forward`` tells: ask before reading its layers."""
        if self.pending_forward is not None and not self.raw_pending.isdisjoint(site.weight_of):
            raise NeedsForward

    def run_forward(self) -> None:
        """Complete the graph with what ``forward`` tells (nothing to do if it ran)."""
        pending, self.pending_forward = self.pending_forward, None
        self.raw_pending = frozenset()
        if pending is not None:
            self.fix_cache.clear()
            pending()

    def weight_layers(self, site: InitSite) -> list[Layer]:
        """The layers (norms included) whose weight the site reaches, by key."""
        self.require_layers_of(site)
        return [self.layers[k] for k in sorted(site.weight_of) if k in self.layers]

    def uses_of(self, key: int) -> set[Use]:
        self.require_forward()
        return self.uses.get(key, set())

    def explicitly_initialized(self, key: int) -> bool:
        return any(key in site.weight_of for site in self.init_sites)

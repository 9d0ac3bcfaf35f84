"""Abstract values of the analysis interpreter.

The analyzer runs a model file's ``__init__`` and ``forward`` methods abstractly: module
constructions become ``LayerMod``/``ActMod``/``SeqMod``/``Instance`` values, tensors become
``Tensor`` values that remember which layers' outputs they carry (``Origin``), and anything
the analysis cannot know is ``UNKNOWN``. Several possibilities are a ``Choice``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from init_lint.analysis.graph import Act

if TYPE_CHECKING:
    from init_lint.analysis.graph import InitSite


class Value:
    """Base of every abstract value."""


class _Unknown(Value):
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Const(Value):
    """A statically known Python value (number, string, bool, None, tuple of those).

    ``soft``: it comes from a parameter's default (a config flag). It still gives shapes
    and loop counts, but a branch on it is a runtime choice: both branches are possible.
    """

    value: object
    soft: bool = field(default=False, compare=False)
    gain_name: str | None = field(default=None, compare=False)  # from calculate_gain("...")
    gain_param: float | None = field(default=None, compare=False)


def soften(value: Value) -> Value:
    return Const(value.value, soft=True) if isinstance(value, Const) else value


def is_soft(*values: Value) -> bool:
    return any(isinstance(v, Const) and v.soft for v in values)


NONE = Const(None)


@dataclass(frozen=True)
class QName(Value):
    """Something outside the file, by qualified name: ``torch.nn.Linear``, ``math.sqrt``."""

    name: str


@dataclass(frozen=True)
class TypeOf(Value):
    """``type(m)`` / ``m.__class__``: compared against classes."""

    of: Value


class ModuleObj(Value):
    """An ``nn.Module`` value: shows up in ``modules()`` and ``parameters()``."""


@dataclass(eq=False)
class LayerMod(ModuleObj):
    """A parametric layer or normalization layer built in the file."""

    key: int
    kind: str
    has_bias: bool = True


@dataclass(eq=False)
class ActMod(ModuleObj):
    act: Act
    kind: str


@dataclass(eq=False)
class PassMod(ModuleObj):
    kind: str


@dataclass(eq=False)
class OtherMod(ModuleObj):
    """A torch module we do not pair (Embedding, LSTM, MultiheadAttention, ...)."""

    kind: str
    key: int
    normalizing: bool = False


@dataclass(eq=False)
class TransformerLayerMod(ModuleObj):
    """``nn.TransformerEncoderLayer``/``DecoderLayer``: attention, then a feed-forward
    block linear1 -> activation -> linear2, with LayerNorms (always normalized)."""

    kind: str
    self_attn: OtherMod
    out_proj: LayerMod
    linear1: LayerMod
    activation: ActMod
    linear2: LayerMod
    norms: list[LayerMod]

    def children(self) -> list[Value]:
        return [self.self_attn, self.out_proj, self.linear1, self.linear2, *self.norms]

    def named_children(self) -> list[tuple[str, Value]]:
        return [("self_attn", self.self_attn), ("self_attn.out_proj", self.out_proj),
                ("linear1", self.linear1), ("linear2", self.linear2),
                ("norm1", self.norms[0]), ("norm2", self.norms[1])]


@dataclass(eq=False)
class SeqMod(ModuleObj):
    """``nn.Sequential``: applies its items in order."""

    items: list[Value]
    names: list[str]
    stable: int = 0  # leading items whose position is written in the source (see ListObj)
    literal_names: frozenset[str] = frozenset()  # names given as string literals
    tail: int = 0  # trailing items whose position from the end is known (``net[-1]``)


@dataclass(eq=False)
class ListObj(Value):
    """A Python list, tuple being built, or ``nn.ModuleList`` (``module_list``).

    ``forked_from``: the list this one copies for one branch of an unknown ``if``.
    ``stable``: how many leading items sit at a position the source spells out (a list
    display, then appends: ``self.net[1]`` is the same layer whatever the parameters).
    Items added by loops or under conditions come after those and are not counted.
    ``tail``: likewise, how many trailing items sit at a fixed position from the end
    (``layers.append(head)`` after a loop: ``self.net[-1]``).
    """

    items: list[Value]
    module_list: bool = False
    forked_from: ListObj | None = None
    stable: int = 0
    tail: int = 0


@dataclass(eq=False)
class DictObj(Value):
    """A dict, ``OrderedDict`` or ``nn.ModuleDict``; ``literal_keys``: the keys written
    as string literals (not computed, so the same whatever the parameters)."""

    items: dict[str, Value]
    module_dict: bool = False
    forked_from: DictObj | None = None
    literal_keys: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TupleV(Value):
    items: tuple[Value, ...]


@dataclass(eq=False)
class ClassInfo:
    """A class defined in the file."""

    name: str
    node: cst.ClassDef
    bases: list[Value]
    methods: dict[str, cst.FunctionDef]
    env: dict[str, Value]  # the class body's own names

    def mro(self) -> list[ClassInfo]:
        order: list[ClassInfo] = [self]
        for base in self.bases:
            if isinstance(base, ClassRef):
                for c in base.cls.mro():
                    if c not in order:
                        order.append(c)
        return order

    def find_method(self, name: str) -> tuple[ClassInfo, cst.FunctionDef] | None:
        for c in self.mro():
            if name in c.methods:
                return c, c.methods[name]
        return None

    def external_bases(self) -> list[str]:
        names: list[str] = []
        for c in self.mro():
            for base in c.bases:
                if isinstance(base, QName):
                    names.append(base.name)
                elif not isinstance(base, ClassRef):
                    names.append("?")
        return names


@dataclass(frozen=True, eq=False)
class ClassRef(Value):
    cls: ClassInfo


@dataclass(eq=False)
class Instance(ModuleObj):
    """An instance of a class defined in the file; attributes set by its ``__init__``."""

    cls: ClassInfo
    attrs: dict[str, Value] = field(default_factory=dict)
    seq_items: list[Value] | None = None  # for nn.Sequential subclasses
    dynamic_attrs: set[str] = field(default_factory=set)  # set by setattr/add_module


@dataclass(frozen=True, eq=False)
class FuncRef(Value):
    """A function defined in the file (module level, nested, or a lambda)."""

    node: cst.FunctionDef | cst.Lambda
    closure: dict[str, Value] | None
    owner: ClassInfo | None = None


@dataclass(frozen=True, eq=False)
class BoundMethod(Value):
    receiver: Value
    func: FuncRef


@dataclass(frozen=True, eq=False)
class Partial(Value):
    func: Value
    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...]


@dataclass(frozen=True, eq=False)
class MethodOf(Value):
    """A method of a value the interpreter knows natively (``list.append``, ``m.apply``)."""

    receiver: Value
    name: str


@dataclass(frozen=True, eq=False)
class SuperRef(Value):
    receiver: Value
    after: ClassInfo


@dataclass(frozen=True)
class Origin:
    """A tensor carries the output of layer ``key``; ``act`` once an activation applied."""

    key: int
    act: Act | None = None
    normed: bool = False
    chain: tuple[int, ...] = ()


@dataclass(frozen=True)
class Tensor(Value):
    """A tensor in ``forward``: the layer outputs it carries, and every layer whose output
    went into computing it (``ancestors``: tells a residual stream from a fresh branch)."""

    origins: frozenset[Origin] = frozenset()
    ancestors: frozenset[int] = frozenset()


EMPTY_TENSOR = Tensor()


@dataclass(frozen=True)
class TensorRef(Value):
    """A parameter of a module: ``fc.weight`` (``owner`` is the layer/param key)."""

    owner: int
    attr: str  # "weight", "bias", or another parameter name
    role: str  # "layer", "norm", "raw", "other"
    dim: int | None = None
    sliced: bool = False


@dataclass(eq=False)
class FactoryTensor(Value):
    """``torch.zeros(a, b)`` and friends, maybe scaled: what ``nn.Parameter`` wraps."""

    function: str  # the init it amounts to: "zeros_", "normal_", "uniform_", "constant_", "empty"
    shape: tuple[int | None, ...]
    node: cst.Call
    scale: float | None = 1.0  # None: scaled by something unknown
    scale_text: str | None = None
    site: InitSite | None = None


@dataclass(eq=False)
class Param(Value):
    """``nn.Parameter(...)``: a raw parameter; a weight if used as a matmul operand."""

    key: int
    shape: tuple[int | None, ...] | None
    site: InitSite | None = None


@dataclass(frozen=True)
class Choice(Value):
    """One of several values (branches whose results differ)."""

    options: tuple[Value, ...]


def choice(values: list[Value] | tuple[Value, ...]) -> Value:
    """Join values: merge tensors, flatten choices, drop duplicates."""
    flat: list[Value] = []
    origins: set[Origin] = set()
    ancestors: set[int] = set()
    tensors = 0
    for v in values:
        for o in v.options if isinstance(v, Choice) else (v,):
            if isinstance(o, Tensor):
                tensors += 1
                origins |= o.origins
                ancestors |= o.ancestors
            elif not any(o is f or (type(o) is type(f) and o == f) for f in flat):
                flat.append(o)
    if tensors:
        flat.append(Tensor(frozenset(origins), frozenset(ancestors)))
    if len(flat) == 1:
        return flat[0]
    if len(flat) > 24:
        return UNKNOWN
    return Choice(tuple(flat))


def options(value: Value) -> tuple[Value, ...]:
    return value.options if isinstance(value, Choice) else (value,)

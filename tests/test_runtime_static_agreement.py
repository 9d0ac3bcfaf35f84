"""Static and runtime agree (the runtime issue's acceptance criterion): the per-layer gain
that ``audit`` measures matches the gain ``knowledge.py`` predicts for the layer's
(scheme, activation), within 15%.

Two parts.

* **Synthetic**: for each (scheme, activation) of DESIGN.md's measured table, a 6-layer
  width-512 MLP initialized with plain ``torch.nn.init`` (zero biases) is audited, and every
  per-layer gain is compared with the prediction.
* **Fixtures**: every ``fixtures/*.py`` model that builds without arguments (module-level
  instances, and classes whose parameters all have defaults) is run and audited. The file's
  *static* ModelGraph says, for each plain chain ``L_prev -> act -> L`` (every use of
  ``L_prev`` is ``Consumer.LAYER`` into ``L``, unnormalized, one known activation), which
  activation follows ``L_prev`` and which init call (scheme and arguments) sets ``L``'s weight
  and bias. From that claim alone, and the measured second moment ``q`` of ``L_prev``'s
  output, knowledge.py predicts ``L``'s output

      Var(y_L) = fan_in * Var(w_L) * second_moment(act, q) + Var(b_L)

  (``Var(w_L)`` from knowledge's std functions, ``second_moment`` by Gauss-Hermite
  quadrature), which must match what ``audit`` measures. Only links where both widths of
  ``L`` are >= 64, both layers run once and ``L`` really receives ``act(L_prev(x))`` (checked
  on the values: a separate test fails when the static pairing is not what runs; pooling in
  between skips the link) are compared.

Per-layer gain means ``std(y_L) / std(y_prev)``: measured, both from the audit rows; predicted,
the predicted std over the same measured ``std(y_prev)``. ``q`` is the audit's second moment
of ``y_prev``, not its variance: the activation sees the actual values, and over the units of
a layer (whose per-unit means ``w_j . E[f(x)]`` are themselves Gaussian) the pre-activation
is a zero-mean Gaussian of that second moment.

The prediction is an expectation over the init's randomness; one weight draw scatters around
it, more for narrow layers fed a low-rank signal (a deep ReLU stack's features collapse to an
effective rank of ~2-4; the CIFAR net's 120 -> 84 link scatters by 12% per draw, unbiased).
So the gains are averaged over several draws (rebuilding the model with other seeds), as
many as a fixed compute budget allows (1 for AlexNet's 4096-wide classifier, 16 for small
MLPs); samples are spent on draws rather than on batch size, whose noise is far smaller.

A layer that no init site reaches counts as PyTorch's default, ``kaiming_uniform_(w,
a=sqrt(5))`` (``knowledge.default_layer_std``); a bias no site reaches as PyTorch's default
U(+-1/sqrt(fan_in)) (variance 1/(3 fan_in)); a layer several sites reach is skipped. Fixture
files whose imports fail (timm, torch_geometric, diffusers, a relative import) are skipped.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import libcst as cst
import pytest

torch = pytest.importorskip("torch")
from _support import fixture_files  # noqa: E402
from torch import Tensor, nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from init_lint import knowledge  # noqa: E402
from init_lint.analysis import build_graph  # noqa: E402
from init_lint.analysis.graph import Act, Consumer, InitSite, Layer, ModelGraph  # noqa: E402
from init_lint.rules.common import (  # noqa: E402
    has_arg,
    kaiming_call,
    number,
    paired_activation,
    xavier_gain,
)
from init_lint.runtime import audit  # noqa: E402
from init_lint.runtime.signal_audit import AuditReport, LayerAudit  # noqa: E402

TOLERANCE = 0.15
MIN_WIDTH = 64  # both widths of L: narrower links scatter too much per weight draw
MIN_DISTINCT_PAIRS = 10  # distinct static layer pairs the fixture part must check
SEED = 0
LINEAR_BATCH = 512
CONV_BATCH = 32
CONV_SIZES = (32, 28, 64, 84)  # 84: Atari frames (the DQN fixture)
MAC_BUDGET = 1.5e9  # multiply-accumulates per fixture model, over its weight draws
MAX_DRAWS = 16
SYNTHETIC_WIDTH = 512
SYNTHETIC_DEPTH = 6
SYNTHETIC_BATCH = 256
SYNTHETIC_DRAWS = 2

#: The layers compared: ConvTranspose is left out (torch's fan_in for it is not the number
#: of inputs an output sums over), Bilinear too (two inputs).
_LIVE_LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
LiveLayer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d


# --- shared: knowledge's prediction --------------------------------------------------------


def predicted_std(fan_in: int, weight_variance: float, activation: str, param: float | None,
                  q: float, bias_variance: float) -> float:
    """knowledge.py's std of a layer's output whose input is ``activation`` applied to a
    zero-mean Gaussian of second moment ``q``."""
    moment = knowledge.second_moment(activation, q, param)
    return math.sqrt(fan_in * weight_variance * moment + bias_variance)


def relative_error(predicted: float, measured: float) -> float:
    return abs(predicted - measured) / measured if measured > 0 else math.inf


# --- part 1: the measured table of DESIGN.md, file-free --------------------------------------


@dataclass(frozen=True)
class TableCase:
    label: str
    activation: str  # knowledge's name
    param: float | None
    module: Callable[[], nn.Module]  # the torch activation module
    init: Callable[[Tensor], object]  # plain torch.nn.init on the weight
    std: Callable[[int, int], float]  # knowledge's std of that init, for (fan_in, fan_out)


_K = knowledge
TABLE: tuple[TableCase, ...] = (
    TableCase("He + ReLU", "relu", None, nn.ReLU,
              lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
              lambda fi, fo: _K.kaiming_std(fi, _K.kaiming_gain("relu"))),
    TableCase("Xavier + ReLU", "relu", None, nn.ReLU,
              lambda w: nn.init.xavier_normal_(w),
              lambda fi, fo: _K.xavier_std(fi, fo)),
    TableCase("PyTorch default + ReLU", "relu", None, nn.ReLU,
              lambda w: w,  # nn.Linear's own reset_parameters: kaiming_uniform_(a=sqrt(5))
              lambda fi, fo: _K.default_layer_std(fi)),
    TableCase("Xavier gain 5/3 + tanh", "tanh", None, nn.Tanh,
              lambda w: nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh")),
              lambda fi, fo: _K.xavier_std(fi, fo, _K.calculate_gain("tanh"))),
    TableCase("Xavier + tanh", "tanh", None, nn.Tanh,
              lambda w: nn.init.xavier_uniform_(w),
              lambda fi, fo: _K.xavier_std(fi, fo)),
    TableCase("He + tanh", "tanh", None, nn.Tanh,
              lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
              lambda fi, fo: _K.kaiming_std(fi, _K.kaiming_gain("relu"))),
    TableCase("LeCun + SELU", "selu", None, nn.SELU,
              lambda w: nn.init.kaiming_normal_(w, nonlinearity="linear"),
              lambda fi, fo: _K.kaiming_std(fi, _K.kaiming_gain("linear"))),
    TableCase("kaiming a=0.2 + LeakyReLU(0.2)", "leaky_relu", 0.2, lambda: nn.LeakyReLU(0.2),
              lambda w: nn.init.kaiming_normal_(w, a=0.2, nonlinearity="leaky_relu"),
              lambda fi, fo: _K.kaiming_std(fi, _K.kaiming_gain("leaky_relu", 0.2))),
    TableCase("He + ELU", "elu", None, nn.ELU,
              lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
              lambda fi, fo: _K.kaiming_std(fi, _K.kaiming_gain("relu"))),
    TableCase("He + GELU", "gelu", None, nn.GELU,
              lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
              lambda fi, fo: _K.kaiming_std(fi, _K.kaiming_gain("relu"))),
    TableCase("He + SiLU", "silu", None, nn.SiLU,
              lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
              lambda fi, fo: _K.kaiming_std(fi, _K.kaiming_gain("relu"))),
    TableCase("Xavier + sigmoid", "sigmoid", None, nn.Sigmoid,
              lambda w: nn.init.xavier_uniform_(w),
              lambda fi, fo: _K.xavier_std(fi, fo)),
)


def table_mlp(case: TableCase, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    modules: list[nn.Module] = []
    for _ in range(SYNTHETIC_DEPTH):
        layer = nn.Linear(SYNTHETIC_WIDTH, SYNTHETIC_WIDTH)
        with torch.no_grad():
            case.init(layer.weight)
            layer.bias.zero_()  # zero biases, as in DESIGN.md's measurements
        modules += [layer, case.module()]
    return nn.Sequential(*modules)


@pytest.mark.parametrize("case", TABLE, ids=[case.label for case in TABLE])
def test_measured_table_per_layer_gain_matches_knowledge(case: TableCase) -> None:
    variance = case.std(SYNTHETIC_WIDTH, SYNTHETIC_WIDTH) ** 2
    measured: list[list[float]] = [[] for _ in range(SYNTHETIC_DEPTH - 1)]
    predicted: list[list[float]] = [[] for _ in range(SYNTHETIC_DEPTH - 1)]
    for draw in range(SYNTHETIC_DRAWS):
        x = torch.randn(SYNTHETIC_BATCH, SYNTHETIC_WIDTH,
                        generator=torch.Generator().manual_seed(10_000 + SEED + draw))
        rows = audit(table_mlp(case, SEED + draw), x).layers
        assert len(rows) == SYNTHETIC_DEPTH
        assert all(row.activation is not None for row in rows)
        for k, (previous, row) in enumerate(zip(rows, rows[1:], strict=False)):
            std = predicted_std(SYNTHETIC_WIDTH, variance, case.activation, case.param,
                                previous.output_second_moment, 0.0)
            measured[k].append(row.output_std / previous.output_std)
            predicted[k].append(std / previous.output_std)
    errors: list[float] = []
    problems: list[str] = []
    for k in range(SYNTHETIC_DEPTH - 1):
        gain, expected = sum(measured[k]) / SYNTHETIC_DRAWS, sum(predicted[k]) / SYNTHETIC_DRAWS
        errors.append(relative_error(expected, gain))
        if not errors[-1] <= TOLERANCE:
            problems.append(f"Linear #{k + 2}: measured gain {gain:.4g}, predicted {expected:.4g}"
                            f" (error {errors[-1]:.1%})")
    print(f"{case.label}: {len(errors)} per-layer gains, max relative error {max(errors):.2%}")
    assert not problems, f"{case.label}:\n" + "\n".join(problems)


# --- part 2: the fixtures -------------------------------------------------------------------


@dataclass
class Recipe:
    """How to build one live model of a fixture file, for a given seed."""

    label: str  # "file.py::Class()" or "file.py:variable"
    build: Callable[[int], nn.Module | None]
    prefix: str  # the module-level variable's name + "." for instances, else ""


@dataclass
class Comparison:
    label: str
    static_pair: tuple[str, int, int]  # (file, key of L_prev, key of L): distinct static pairs
    scheme: str
    activation: str
    measured: list[float]  # per draw
    predicted: list[float]  # per draw
    weight_std: float  # the live weight's std (first draw), for diagnosis
    claimed_std: float  # the std the static claim implies

    @property
    def measured_gain(self) -> float:
        return sum(self.measured) / len(self.measured)

    @property
    def predicted_gain(self) -> float:
        return sum(self.predicted) / len(self.predicted)

    @property
    def error(self) -> float:
        return relative_error(self.predicted_gain, self.measured_gain)

    @property
    def worst_single_draw(self) -> float:
        return max(relative_error(p, m) for p, m in zip(self.predicted, self.measured, strict=True))

    def describe(self) -> str:
        return (f"{self.label} [{self.scheme}]: measured gain {self.measured_gain:.4g}, "
                f"predicted {self.predicted_gain:.4g} ({self.error:.1%} over {len(self.measured)}"
                f" draws, worst single draw {self.worst_single_draw:.1%}); live weight std "
                f"{self.weight_std:.4g}, the static claim's {self.claimed_std:.4g}")


@dataclass
class FixtureResults:
    comparisons: list[Comparison] = field(default_factory=list)
    pairing_disagreements: list[str] = field(default_factory=list)
    runtime_pairing_disagreements: list[str] = field(default_factory=list)
    audit_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)  # built and run
    files_skipped: list[str] = field(default_factory=list)


def load_fixture(path: Path, seed: int = SEED) -> tuple[ModuleType | None, str]:
    """Import a fixture file under a unique module name (module-level models built under
    ``seed``); ``None`` and why if it fails."""
    name = f"_init_lint_agreement_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        return None, "no import spec"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        torch.manual_seed(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            spec.loader.exec_module(module)
    except ImportError as exc:  # a third-party package (timm, ...) or a relative import
        return None, f"ImportError: {exc}"
    except Exception as exc:  # noqa: BLE001 - a fixture's module-level code failed
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        sys.modules.pop(name, None)
    return module, ""


def no_argument_constructible(cls: type) -> bool:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in signature.parameters.values())


def instance_recipe(path: Path, variable: str) -> Recipe:
    def build(seed: int) -> nn.Module | None:
        module, _ = load_fixture(path, seed)
        value = getattr(module, variable, None) if module is not None else None
        return value if isinstance(value, nn.Module) else None

    return Recipe(f"{path.name}:{variable}", build, variable + ".")


def class_recipe(path: Path, cls: type[nn.Module]) -> Recipe:
    def build(seed: int) -> nn.Module | None:
        torch.manual_seed(seed)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return cls()
        except Exception:  # noqa: BLE001 - defaults that do not build: not our business
            return None

    return Recipe(f"{path.name}::{cls.__name__}()", build, "")


def recipes(path: Path, module: ModuleType) -> list[Recipe]:
    """The file's module-level ``nn.Module`` instances, then its ``nn.Module`` classes that
    build without arguments. A class with a module-level instance is not built again: the
    file's own instance is the model its static claims are about (``netG.apply(init)``)."""
    found: list[Recipe] = []
    seen: set[int] = set()
    instance_types: set[type] = set()
    for name, value in vars(module).items():
        if isinstance(value, nn.Module) and id(value) not in seen:
            seen.add(id(value))
            instance_types.add(type(value))
            found.append(instance_recipe(path, name))
    for value in vars(module).values():
        if (inspect.isclass(value) and issubclass(value, nn.Module)
                and value.__module__ == module.__name__ and not inspect.isabstract(value)
                and value not in instance_types and no_argument_constructible(value)):
            found.append(class_recipe(path, value))
    return found


def live_layers(model: nn.Module) -> dict[str, LiveLayer]:
    """The layers whose weight is what their init made it: lazy layers and reparametrized
    ones (spectral/weight norm divide the weight at every forward) are left out."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, _LIVE_LAYER_TYPES) and not isinstance(
                m.weight, nn.parameter.UninitializedParameter)
            and not hasattr(m, "weight_orig") and not hasattr(m, "weight_v")
            and not torch.nn.utils.parametrize.is_parametrized(m)}


def width_in(module: LiveLayer) -> int:
    return int(module.in_features if isinstance(module, nn.Linear) else module.in_channels)


def width_out(module: LiveLayer) -> int:
    return int(module.out_features if isinstance(module, nn.Linear) else module.out_channels)


def input_shapes(model: nn.Module) -> Iterator[tuple[int, ...]]:
    """Input shapes for the first layer (in registration order): a Linear or a Conv2d."""
    first = next(iter(live_layers(model).values()), None)
    if isinstance(first, nn.Linear):
        yield (LINEAR_BATCH, first.in_features)
    elif isinstance(first, nn.Conv2d):
        for size in CONV_SIZES:
            yield (CONV_BATCH, first.in_channels, size, size)


def example_input(shape: tuple[int, ...], seed: int) -> Tensor:
    x: Tensor = torch.randn(shape, generator=torch.Generator().manual_seed(10_000 + seed))
    return x


def working_shape(model: nn.Module) -> tuple[int, ...] | None:
    for shape in input_shapes(model):
        try:
            with torch.no_grad():
                model(example_input((2, *shape[1:]), SEED))
        except Exception:  # noqa: BLE001 - wrong shape or extra arguments: try the next
            continue
        return shape
    return None


@dataclass
class Recorded:
    calls: int = 0
    input: Tensor | None = None
    output: Tensor | None = None


@contextmanager
def recording(layers: dict[str, LiveLayer]) -> Iterator[dict[str, Recorded]]:
    """Each layer's call count, first input and first output (cloned: in-place
    activations must not overwrite them)."""
    records = {name: Recorded() for name in layers}
    handles = []

    def hook(name: str) -> Callable[..., None]:
        def record(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            rec = records[name]
            rec.calls += 1
            if rec.calls == 1 and args and isinstance(args[0], Tensor) and isinstance(
                    output, Tensor):
                rec.input = args[0].detach().clone()
                rec.output = output.detach().clone()
        return record

    for name, module in layers.items():
        handles.append(module.register_forward_hook(hook(name)))
    try:
        yield records
    finally:
        for handle in handles:
            handle.remove()


def static_path(name: str) -> str:
    """``net[0]`` -> ``net.0``, ``seq.fc1`` stays: the static name as a module path."""
    return re.sub(r"\[['\"]?(\w+)['\"]?\]", r".\1", name).lstrip(".")


def torch_fans(module: LiveLayer) -> tuple[int, int]:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(module.weight)
    return int(fan_in), int(fan_out)


def map_layers(graph: ModelGraph, recipe: Recipe, live: dict[str, LiveLayer],
               notes: list[str]) -> dict[int, str]:
    """Static layer key -> live module name, where both sides are unique: the live path
    ends with the static attribute path, the types agree and so do the fans where the
    static side knows them."""
    static_to_live: dict[int, list[str]] = {}
    for name, module in live.items():
        full = recipe.prefix + name
        fans = torch_fans(module)
        candidates: list[Layer] = []
        for layer in graph.layers.values():
            if layer.is_norm or layer.is_raw or layer.kind != type(module).__name__:
                continue
            path = static_path(layer.name)
            if not (full == path or full.endswith("." + path)):
                continue
            if (layer.fan_in is not None and layer.fan_in != fans[0]) or (
                    layer.fan_out is not None and layer.fan_out != fans[1]):
                notes.append(f"{recipe.label}: static {layer.name} has fans "
                             f"({layer.fan_in}, {layer.fan_out}), live {name} {fans}")
                continue
            candidates.append(layer)
        if len(candidates) == 1:
            static_to_live.setdefault(candidates[0].key, []).append(name)
    return {key: names[0] for key, names in static_to_live.items() if len(names) == 1}


@dataclass(frozen=True)
class StaticPair:
    previous: Layer
    layer: Layer
    act: Act


def static_chains(graph: ModelGraph) -> Iterator[StaticPair]:
    """``L_prev -> act -> L`` where every use of ``L_prev`` is ``L`` through the same known,
    unnormalized activation."""
    for key, previous in graph.layers.items():
        uses = graph.uses_of(key)
        if previous.is_norm or not uses:
            continue
        if not all(use.consumer is Consumer.LAYER and not use.normed for use in uses):
            continue
        targets = {use.next_layer for use in uses}
        if len(targets) != 1:
            continue
        target = targets.pop()
        act = paired_activation(graph, key)
        if act is None or target is None or target not in graph.layers:
            continue
        yield StaticPair(previous, graph.layers[target], act)


def formula_for(act: Act) -> tuple[str, float | None] | None:
    """knowledge's quadrature name and parameter for a static activation; None when
    knowledge has no formula for it (an ELU with a non-default alpha, ...)."""
    if act.name is None:
        return "linear", None
    if act.name in knowledge.LEAKY_SLOPES:
        return act.name, act.param
    if act.name in knowledge.ACTIVATION_FUNCTIONS_MATH and act.param is None:
        return act.name, None
    return None


def apply_activation(name: str, param: float | None, x: Tensor) -> Tensor | None:
    """The torch function for a knowledge activation name (to check the static pairing
    against what the next layer actually receives)."""
    if name == "linear":
        return x
    if name in knowledge.LEAKY_SLOPES:
        slope = knowledge.LEAKY_SLOPES[name] if param is None else param
        return F.leaky_relu(x, slope)
    function = getattr(F, name, None)
    return function(x) if callable(function) else None


def rms_distance(received: Tensor, expected: Tensor) -> float:
    """RMS of ``received - expected`` relative to ``received``'s RMS, up to a reshape or a
    permutation (the smaller of the two); inf when the sizes differ."""
    if received.numel() != expected.numel():
        return math.inf
    a, b = received.double().reshape(-1), expected.double().reshape(-1)
    scale = float(a.pow(2).mean().sqrt()) or 1.0
    direct = float((a - b).pow(2).mean().sqrt()) / scale
    if direct <= 0.01:
        return direct
    return min(direct, float((a.sort().values - b.sort().values).pow(2).mean().sqrt()) / scale)


def same_values(received: Tensor, expected: Tensor) -> bool:
    return rms_distance(received, expected) <= 0.01


def what_runs(received: Tensor, output: Tensor) -> str:
    """The knowledge activation that best explains ``received`` from ``output``."""
    distances = {name: rms_distance(received, candidate)
                 for name in sorted(knowledge.ACTIVATION_FUNCTIONS_MATH)
                 if (candidate := apply_activation(name, None, output)) is not None}
    best = min(distances, key=lambda name: distances[name])
    if distances[best] <= 0.01:
        return best
    return f"none of knowledge's activations (closest: {best}, {distances[best]:.0%} off)"


def sites_reaching(graph: ModelGraph, key: int, *, bias: bool = False) -> list[InitSite]:
    return [site for site in graph.init_sites
            if key in (site.bias_of if bias else site.weight_of)]


def static_number(site: InitSite, name: str, default: float) -> float | None:
    """A numeric argument (its default when absent); None when it is not static."""
    return number(site, name) if has_arg(site, name) else default


def function_of(site: InitSite) -> str:
    info = knowledge.INITIALIZERS.get(site.function)
    return info.name if info is not None else site.function  # deprecated aliases -> "_"


def claimed_weight_std(site: InitSite | None, fan_in: int, fan_out: int) -> float | None:
    """The std of the weights the static init claim implies, from knowledge's functions;
    None where it has no zero-mean, fan-based answer (constants, non-zero means,
    arguments that are not static)."""
    if site is None:
        return knowledge.default_layer_std(fan_in)
    if site.slice or site.unknown or site.form == "parameter":
        return None
    function = function_of(site)
    if function in ("xavier_uniform_", "xavier_normal_"):
        gain = xavier_gain(site)
        return knowledge.xavier_std(fan_in, fan_out, gain) if gain is not None else None
    if function in ("kaiming_uniform_", "kaiming_normal_"):
        call = kaiming_call(site)
        mode = site.args["mode"].value if has_arg(site, "mode") else "fan_in"
        if call is None or mode not in ("fan_in", "fan_out"):
            return None
        return knowledge.kaiming_std(fan_in if mode == "fan_in" else fan_out, call.gain)
    if function == "orthogonal_":
        gain = xavier_gain(site)
        return knowledge.orthogonal_std(fan_in, fan_out, gain) if gain is not None else None
    if function in ("normal_", "trunc_normal_"):
        mean, std = static_number(site, "mean", 0.0), static_number(site, "std", 1.0)
        if mean != 0.0 or std is None:
            return None
        if function == "trunc_normal_":
            low, high = static_number(site, "a", -2.0), static_number(site, "b", 2.0)
            if low is None or high is None or min(-low, high) < 3 * std:
                return None  # truncated inside 3 std: the variance is not std**2
        return std
    if function == "uniform_":
        low, high = static_number(site, "a", 0.0), static_number(site, "b", 1.0)
        if low is None or high is None or low != -high:
            return None  # a non-zero mean weight: outside the zero-mean model
        return knowledge.uniform_std(low, high)
    return None


def claimed_bias_variance(graph: ModelGraph, key: int, module: nn.Module,
                          fan_in: int) -> float | None:
    """Var(b) over the units, as the static side implies; None when unknown."""
    if getattr(module, "bias", None) is None:
        return 0.0
    sites = sites_reaching(graph, key, bias=True)
    if not sites:
        # Not zeroed: PyTorch's default bias U(+-1/sqrt(fan_in)), variance 1/(3 fan_in).
        bound = 1.0 / math.sqrt(fan_in)
        return knowledge.uniform_std(-bound, bound) ** 2
    if len(sites) > 1:
        return None
    function = function_of(sites[0])
    if function in ("zeros_", "constant_", "ones_"):
        return 0.0  # the same value for every unit: it moves the mean, not the std
    std = claimed_weight_std(sites[0], fan_in, 1)
    return std**2 if std is not None and function in ("normal_", "uniform_") else None


def describe_scheme(site: InitSite | None) -> str:
    if site is None:
        return "default kaiming_uniform_(a=sqrt(5))"
    args = ", ".join(f"{k}={a.text}" for k, a in site.args.items())
    return f"{function_of(site)}({args})"


@dataclass
class Candidate:
    """A static plain chain mapped onto a live model, with the static claim for ``L``."""

    pair: StaticPair
    name_prev: str
    name: str
    act_name: str
    act_param: float | None
    site: InitSite | None
    fan_in: int
    weight_std: float  # claimed
    bias_variance: float  # claimed

    def label(self, recipe: Recipe) -> str:
        return f"{recipe.label} {self.name_prev} -> {self.pair.act.describe()} -> {self.name}"


def candidates(graph: ModelGraph, recipe: Recipe, model: nn.Module,
               notes: list[str]) -> list[Candidate]:
    """The static chains of the file that land, one to one, on wide layers of ``model``
    and whose claim knowledge can turn into a number. Structure only: nothing runs."""
    live = live_layers(model)
    mapped = map_layers(graph, recipe, live, notes)
    found: list[Candidate] = []
    for pair in static_chains(graph):
        name_prev, name = mapped.get(pair.previous.key), mapped.get(pair.layer.key)
        if name_prev is None or name is None:
            continue
        prev_module, module = live[name_prev], live[name]
        if width_out(prev_module) != width_in(module):
            continue
        if min(width_in(module), width_out(module)) < MIN_WIDTH:
            continue
        formula = formula_for(pair.act)
        sites = sites_reaching(graph, pair.layer.key)
        if formula is None or len(sites) > 1:
            continue  # several sites reach L: which one wins is not a static fact
        site = sites[0] if sites else None
        fan_in, fan_out = torch_fans(module)
        weight_std = claimed_weight_std(site, fan_in, fan_out)
        bias_variance = claimed_bias_variance(graph, pair.layer.key, module, fan_in)
        if weight_std is None or bias_variance is None:
            continue
        found.append(Candidate(pair, name_prev, name, formula[0], formula[1], site, fan_in,
                               weight_std, bias_variance))
    return found


def plain_links(recipe: Recipe, model: nn.Module, shape: tuple[int, ...],
                found: list[Candidate], results: FixtureResults) -> tuple[list[Candidate], int]:
    """The candidates that are one plain link at runtime: each layer runs once, and ``L``
    receives ``act(L_prev(x))`` (up to a reshape), as the static graph says. Also the
    forward pass's multiply-accumulates (for the number of weight draws)."""
    live = live_layers(model)
    with recording(live) as records, torch.no_grad():
        model(example_input(shape, SEED))
    macs = sum(module.weight.numel() * rec.output.numel() // width_out(module)
               for name, module in live.items()
               if (rec := records[name]).output is not None)
    kept: list[Candidate] = []
    for c in found:
        rec_prev, rec = records[c.name_prev], records[c.name]
        if rec_prev.calls != 1 or rec.calls != 1 or rec.input is None or rec_prev.output is None:
            continue  # called several times (or never): not one plain link
        if rec.input.numel() != rec_prev.output.numel():
            results.notes.append(f"{c.label(recipe)}: pooling/reshaping in between, skipped")
            continue
        expected = apply_activation(c.act_name, c.act_param, rec_prev.output)
        if expected is None or not same_values(rec.input, expected):
            results.pairing_disagreements.append(
                f"{c.label(recipe)}: the static graph pairs {c.pair.act.describe()}, but "
                f"{c.name} receives {what_runs(rec.input, rec_prev.output)} of "
                f"{c.name_prev}'s output")
            continue
        kept.append(c)
    return kept, macs


def check_runtime_pairing(recipe: Recipe, c: Candidate, row_prev: LayerAudit,
                          results: FixtureResults) -> None:
    runtime_act = row_prev.activation
    static_act = (c.act_name if c.act_param is None
                  else f"{c.act_name}({knowledge.format_number(c.act_param)})")
    leaky_default = c.act_name in knowledge.LEAKY_SLOPES and c.act_param is None
    if runtime_act is not None and runtime_act != static_act and not (
            leaky_default and runtime_act.startswith(c.act_name)):
        results.runtime_pairing_disagreements.append(
            f"{c.label(recipe)}: audit pairs {c.name_prev} with {runtime_act}, the static "
            f"graph (and the values {c.name} receives) with {static_act}")


def draws_for(macs: int) -> int:
    """Weight draws to average. The prediction is an expectation over the init's
    randomness, and one draw scatters around it: by ~12% (one standard deviation) for the
    CIFAR net's 120 -> 84 link fed a low-rank signal, by ~2% for a 512-wide MLP. Narrow
    models are cheap, so they get many draws; wide ones need few."""
    return max(1, min(MAX_DRAWS, int(MAC_BUDGET // max(macs, 1))))


def check_recipe(path: Path, graph: ModelGraph, recipe: Recipe,
                 results: FixtureResults) -> None:
    model = recipe.build(SEED)
    if model is None:
        return
    model.eval()  # dropout off; the comparisons never cross a normalization
    found = candidates(graph, recipe, model, results.notes)
    if not found:
        return  # nothing to compare: not worth a forward pass
    shape = working_shape(model)
    if shape is None:
        results.notes.append(f"{recipe.label}: no forward on the inputs tried, skipped")
        return
    links, macs = plain_links(recipe, model, shape, found, results)
    if not links:
        return
    results.models.append(recipe.label)
    per_draw: dict[int, tuple[list[float], list[float]]] = {i: ([], []) for i in range(len(links))}
    live = live_layers(model)
    live_std = [float(live[c.name].weight.detach().double().std()) for c in links]
    for draw in range(draws_for(macs)):
        if draw:
            rebuilt = recipe.build(SEED + draw)
            if rebuilt is None:
                break
            model = rebuilt.eval()
        try:
            report: AuditReport = audit(model, example_input(shape, SEED + draw))
        except Exception as exc:  # noqa: BLE001 - the model runs, so the audit must
            results.audit_errors.append(f"{recipe.label}: {type(exc).__name__}: {exc}")
            return
        rows: dict[str, LayerAudit] = {row.name: row for row in report.layers}
        for i, c in enumerate(links):
            row_prev, row = rows.get(c.name_prev), rows.get(c.name)
            if row_prev is None or row is None:
                results.audit_errors.append(f"{c.label(recipe)}: no audit row for "
                                            f"{c.name_prev} or {c.name}")
                return
            if draw == 0:
                check_runtime_pairing(recipe, c, row_prev, results)
            std = predicted_std(c.fan_in, c.weight_std**2, c.act_name,
                                c.act_param, row_prev.output_second_moment, c.bias_variance)
            per_draw[i][0].append(row.output_std / row_prev.output_std)
            per_draw[i][1].append(std / row_prev.output_std)
    for i, c in enumerate(links):
        measured, predicted = per_draw[i]
        results.comparisons.append(Comparison(
            label=c.label(recipe), static_pair=(path.name, c.pair.previous.key, c.pair.layer.key),
            scheme=describe_scheme(c.site), activation=c.pair.act.describe(),
            measured=measured, predicted=predicted,
            weight_std=live_std[i], claimed_std=c.weight_std))


@pytest.fixture(scope="module")
def fixture_results() -> FixtureResults:
    results = FixtureResults()
    for path in fixture_files():
        module, why = load_fixture(path)
        if module is None:
            results.files_skipped.append(f"{path.name}: {why}")
            continue
        graph = build_graph(cst.parse_module(path.read_bytes()))
        for recipe in recipes(path, module):
            check_recipe(path, graph, recipe, results)
    return results


def summary(results: FixtureResults) -> str:
    distinct = {c.static_pair for c in results.comparisons}
    lines = [f"fixture models compared: {len(results.models)}",
             f"layer-pair comparisons: {len(results.comparisons)} ({len(distinct)} distinct "
             f"static pairs)"]
    worst: dict[tuple[str, str], float] = {}
    for c in results.comparisons:
        lines.append("  " + c.describe())
        key = (c.scheme, c.activation)
        worst[key] = max(worst.get(key, 0.0), c.error)
    lines.append("max relative error per (scheme, activation):")
    lines += [f"  {scheme} + {act}: {error:.2%}" for (scheme, act), error in sorted(worst.items())]
    lines += [f"note: {note}" for note in results.notes]
    lines += [f"skipped file: {skipped}" for skipped in results.files_skipped]
    return "\n".join(lines)


def test_fixture_per_layer_gain_matches_knowledge(fixture_results: FixtureResults) -> None:
    print(summary(fixture_results))
    wrong = [c for c in fixture_results.comparisons if not c.error <= TOLERANCE]
    assert not wrong, "\n".join(c.describe() for c in wrong)


def test_fixture_comparisons_are_not_vacuous(fixture_results: FixtureResults) -> None:
    distinct = {c.static_pair for c in fixture_results.comparisons}
    print(f"{len(fixture_results.comparisons)} comparisons, {len(distinct)} distinct static "
          f"layer pairs, {len(fixture_results.models)} models")
    assert len(distinct) >= MIN_DISTINCT_PAIRS, summary(fixture_results)


def test_fixture_static_pairing_is_what_runs(fixture_results: FixtureResults) -> None:
    """Where the static graph says ``L_prev -> act -> L``, ``L`` receives ``act`` of
    ``L_prev``'s output (up to a reshape), and the audit's own pairing agrees."""
    problems = (fixture_results.pairing_disagreements
                + fixture_results.runtime_pairing_disagreements)
    assert not problems, "\n".join(problems)


def test_fixture_models_audit_without_error(fixture_results: FixtureResults) -> None:
    assert not fixture_results.audit_errors, "\n".join(fixture_results.audit_errors)

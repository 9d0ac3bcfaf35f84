"""What init-lint knows about activations, gains and initialization schemes.

This module is the single source of truth for the domain: the static rules, the fix
generator and the runtime initializers all read it, and a test compares its gains with
the installed ``torch.nn.init.calculate_gain``. It is pure data and arithmetic: it never
imports torch, so the static linter can use it on machines without torch.

The numbers follow ``torch.nn.init`` exactly (see DESIGN.md, "The domain"):

* ``calculate_gain``: linear/conv/sigmoid -> 1, tanh -> 5/3, relu -> sqrt(2),
  leaky_relu(slope) -> sqrt(2 / (1 + slope**2)) (slope defaults to 0.01), selu -> 3/4.
* Xavier std = gain * sqrt(2 / (fan_in + fan_out)); Kaiming std = gain / sqrt(fan);
  PyTorch's Linear/Conv default (``kaiming_uniform_(w, a=sqrt(5))``) has std
  1 / sqrt(3 * fan_in).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache


class Family(Enum):
    """How an activation treats the sign of its input: what decides the right scheme."""

    RECTIFIER = "rectifier"
    SATURATING = "saturating"
    SELF_NORMALIZING = "self-normalizing"
    LINEAR = "linear"


@dataclass(frozen=True)
class ActivationInfo:
    """One activation function: its canonical (``torch.nn.functional``) name and family.

    ``module`` is the ``torch.nn`` class name, ``gain_name`` the name that
    ``calculate_gain`` understands for it (``None`` where torch has no entry and gain 1
    is right), ``default_param`` the default negative slope for leaky variants.
    """

    name: str
    module: str
    family: Family
    gain_name: str | None
    default_param: float | None = None


ACTIVATIONS: dict[str, ActivationInfo] = {
    info.name: info
    for info in (
        ActivationInfo("relu", "ReLU", Family.RECTIFIER, "relu"),
        ActivationInfo("relu6", "ReLU6", Family.RECTIFIER, "relu"),
        ActivationInfo("leaky_relu", "LeakyReLU", Family.RECTIFIER, "leaky_relu", 0.01),
        ActivationInfo("prelu", "PReLU", Family.RECTIFIER, "leaky_relu", 0.25),
        ActivationInfo("rrelu", "RReLU", Family.RECTIFIER, "leaky_relu", (1 / 8 + 1 / 3) / 2),
        ActivationInfo("elu", "ELU", Family.RECTIFIER, "relu"),
        ActivationInfo("celu", "CELU", Family.RECTIFIER, "relu"),
        ActivationInfo("gelu", "GELU", Family.RECTIFIER, "relu"),
        ActivationInfo("silu", "SiLU", Family.RECTIFIER, "relu"),
        ActivationInfo("mish", "Mish", Family.RECTIFIER, "relu"),
        ActivationInfo("hardswish", "Hardswish", Family.RECTIFIER, "relu"),
        ActivationInfo("tanh", "Tanh", Family.SATURATING, "tanh"),
        ActivationInfo("sigmoid", "Sigmoid", Family.SATURATING, "sigmoid"),
        ActivationInfo("hardtanh", "Hardtanh", Family.SATURATING, None),
        ActivationInfo("softsign", "Softsign", Family.SATURATING, None),
        ActivationInfo("hardsigmoid", "Hardsigmoid", Family.SATURATING, None),
        ActivationInfo("logsigmoid", "LogSigmoid", Family.SATURATING, None),
        ActivationInfo("selu", "SELU", Family.SELF_NORMALIZING, "selu"),
    )
}

#: ``torch.nn`` class name -> canonical activation name.
ACTIVATION_MODULES: dict[str, str] = {info.module: info.name for info in ACTIVATIONS.values()}
ACTIVATION_MODULES["Swish"] = "silu"  # common alias classes in the wild (timm, others)

#: Functions (qualified names) that apply an activation to their first argument.
ACTIVATION_FUNCTIONS: dict[str, str] = {}
for _name in ACTIVATIONS:
    ACTIVATION_FUNCTIONS[f"torch.nn.functional.{_name}"] = _name
    ACTIVATION_FUNCTIONS[f"torch.nn.functional.{_name}_"] = _name
for _name in ("relu", "tanh", "sigmoid", "selu", "celu", "rrelu", "prelu", "relu_",
              "tanh_", "sigmoid_", "selu_", "celu_", "rrelu_"):
    ACTIVATION_FUNCTIONS[f"torch.{_name}"] = _name.rstrip("_")
ACTIVATION_FUNCTIONS["torch.special.expit"] = "sigmoid"

#: Tensor methods that apply an activation: ``x.relu()``, ``x.tanh_()``.
ACTIVATION_METHODS: dict[str, str] = {
    m: m.rstrip("_") for m in ("relu", "relu_", "tanh", "tanh_", "sigmoid", "sigmoid_")
}

#: Strings PyTorch accepts as an activation (``nn.TransformerEncoderLayer(activation=...)``).
STRING_ACTIVATIONS: dict[str, str] = {"relu": "relu", "gelu": "gelu"}

#: Names ``calculate_gain`` accepts (anything else raises in torch).
TORCH_GAIN_NAMES: frozenset[str] = frozenset(
    {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
     "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"}
)

#: Parametric layers whose ``weight`` an initializer targets (``torch.nn`` class names).
LAYER_MODULES: frozenset[str] = frozenset(
    {"Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
     "ConvTranspose2d", "ConvTranspose3d", "LazyLinear", "LazyConv1d", "LazyConv2d",
     "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"}
)

#: Normalization layers: their weight is a scale (gamma) that starts at 1.
NORM_MODULES: frozenset[str] = frozenset(
    {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d",
     "LazyBatchNorm2d", "LazyBatchNorm3d", "LayerNorm", "GroupNorm", "InstanceNorm1d",
     "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
     "LazyInstanceNorm3d", "RMSNorm", "LocalResponseNorm"}
)

#: The functional forms of the normalization layers (``F.normalize``, an L2 rescaling, is
#: not one: it does not make a model "normalized" in DESIGN.md's sense).
NORM_FUNCTIONS: frozenset[str] = frozenset(
    f"torch.nn.functional.{name}" for name in
    ("layer_norm", "group_norm", "batch_norm", "instance_norm", "rms_norm",
     "local_response_norm")
)

#: Modules that neither change which activation follows nor end a path.
PASS_THROUGH_MODULES: frozenset[str] = frozenset(
    {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
     "Identity", "Flatten", "Unflatten", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d",
     "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
     "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Upsample",
     "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle",
     "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
     "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d",
     "ReplicationPad2d"}
)

#: Functions applied to a tensor that keep "which activation comes next" unchanged.
PASS_THROUGH_FUNCTIONS: frozenset[str] = frozenset(
    {f"torch.nn.functional.{n}" for n in (
        "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "max_pool1d",
        "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
        "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
        "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "pad",
        "interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle")}
    | {f"torch.{n}" for n in ("flatten", "reshape", "transpose", "permute", "squeeze",
                               "unsqueeze", "movedim")}
)

PASS_THROUGH_FUNCTIONS |= {"torch.nn.functional.feature_alpha_dropout", "torch.narrow",
                           "torch.chunk", "torch.split"}

#: Functions that join tensors: every input's layer output flows on (branches, skips).
MERGE_FUNCTIONS: frozenset[str] = frozenset(
    {"torch.cat", "torch.concat", "torch.concatenate", "torch.stack", "torch.hstack",
     "torch.vstack"}
)

#: Tensor methods that only move, reshape, split or repeat data.
PASS_THROUGH_METHODS: frozenset[str] = frozenset(
    {"view", "reshape", "flatten", "transpose", "permute", "contiguous", "squeeze",
     "unsqueeze", "float", "half", "double", "bfloat16", "to", "type_as", "view_as",
     "reshape_as", "clone", "detach", "movedim", "mT", "T", "unflatten", "cuda", "cpu",
     "chunk", "split", "narrow", "expand", "expand_as", "repeat", "squeeze_", "unsqueeze_"}
)

#: Softmax and friends turn a layer's output into probabilities: that layer is an output
#: head (logits), so nothing follows it as far as initialization goes ("linear").
OUTPUT_FUNCTIONS: frozenset[str] = frozenset(
    {"torch.nn.functional.softmax", "torch.nn.functional.log_softmax", "torch.softmax",
     "torch.log_softmax"}
)
OUTPUT_MODULES: frozenset[str] = frozenset({"Softmax", "LogSoftmax", "Softmax2d"})
OUTPUT_METHODS: frozenset[str] = frozenset({"softmax", "log_softmax"})


class Scheme(Enum):
    """How an initializer sets a tensor: decides which rule looks at it."""

    XAVIER = "xavier"
    KAIMING = "kaiming"
    ORTHOGONAL = "orthogonal"
    RANDOM = "random"  # fixed-scale normal/uniform/trunc_normal: the fan is ignored
    CONSTANT = "constant"  # zeros, ones, constant, fill
    OTHER = "other"  # eye, dirac, sparse, copy: deliberate structure, not judged


@dataclass(frozen=True)
class Initializer:
    """A ``torch.nn.init`` function (or a known library's twin) and how it behaves."""

    name: str  # the torch.nn.init function it is or mirrors, e.g. "xavier_uniform_"
    scheme: Scheme
    distribution: str | None  # "uniform", "normal" or None
    positional: tuple[str, ...]  # parameter names after the tensor, in order


INITIALIZERS: dict[str, Initializer] = {
    i.name: i
    for i in (
        Initializer("xavier_uniform_", Scheme.XAVIER, "uniform", ("gain",)),
        Initializer("xavier_normal_", Scheme.XAVIER, "normal", ("gain",)),
        Initializer("kaiming_uniform_", Scheme.KAIMING, "uniform", ("a", "mode", "nonlinearity")),
        Initializer("kaiming_normal_", Scheme.KAIMING, "normal", ("a", "mode", "nonlinearity")),
        Initializer("orthogonal_", Scheme.ORTHOGONAL, None, ("gain",)),
        Initializer("normal_", Scheme.RANDOM, "normal", ("mean", "std")),
        Initializer("uniform_", Scheme.RANDOM, "uniform", ("a", "b")),
        Initializer("trunc_normal_", Scheme.RANDOM, "normal", ("mean", "std", "a", "b")),
        Initializer("zeros_", Scheme.CONSTANT, None, ()),
        Initializer("ones_", Scheme.CONSTANT, None, ()),
        Initializer("constant_", Scheme.CONSTANT, None, ("val",)),
        Initializer("eye_", Scheme.OTHER, None, ()),
        Initializer("dirac_", Scheme.OTHER, None, ("groups",)),
        Initializer("sparse_", Scheme.OTHER, None, ("sparsity", "std")),
    )
}
# Deprecated aliases torch still ships (``nn.init.xavier_uniform`` without underscore).
for _alias in ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
               "orthogonal", "normal", "uniform", "constant"):
    INITIALIZERS[_alias] = INITIALIZERS[_alias + "_"]

#: Qualified names of initializer functions -> the torch.nn.init function they implement.
#: Known helpers of other libraries count as the scheme they implement (DESIGN.md, Reach).
INITIALIZER_FUNCTIONS: dict[str, str] = {}
for _name in INITIALIZERS:
    INITIALIZER_FUNCTIONS[f"torch.nn.init.{_name}"] = _name
for _prefix in ("timm.layers", "timm.layers.weight_init", "timm.models.layers",
                "timm.models.layers.weight_init"):
    INITIALIZER_FUNCTIONS[f"{_prefix}.trunc_normal_"] = "trunc_normal_"
    INITIALIZER_FUNCTIONS[f"{_prefix}.trunc_normal_tf_"] = "trunc_normal_"
    INITIALIZER_FUNCTIONS[f"{_prefix}.lecun_normal_"] = "lecun_normal_"
    INITIALIZER_FUNCTIONS[f"{_prefix}.variance_scaling_"] = "variance_scaling_"
for _prefix in ("torch_geometric.nn.inits",):
    INITIALIZER_FUNCTIONS[f"{_prefix}.glorot"] = "xavier_uniform_"
    INITIALIZER_FUNCTIONS[f"{_prefix}.kaiming_uniform"] = "kaiming_uniform_"
    INITIALIZER_FUNCTIONS[f"{_prefix}.zeros"] = "zeros_"
    INITIALIZER_FUNCTIONS[f"{_prefix}.ones"] = "ones_"
for _name in [n for n in INITIALIZERS if n.endswith("_")]:
    INITIALIZER_FUNCTIONS[f"transformers.initialization.{_name}"] = _name
INITIALIZERS["lecun_normal_"] = Initializer("lecun_normal_", Scheme.OTHER, "normal", ())
INITIALIZERS["variance_scaling_"] = Initializer(
    "variance_scaling_", Scheme.OTHER, None, ("scale", "mode", "distribution"))

#: Functions that deliberately zero a module (diffusers / monai ``zero_module``).
ZERO_MODULE_FUNCTIONS: frozenset[str] = frozenset(
    {"diffusers.models.controlnet.zero_module",
     "diffusers.models.controlnets.controlnet.zero_module",
     "monai.networks.layers.utils.zero_module", "zero_module"}
)

#: In-place tensor methods that initialize: method name -> equivalent torch.nn.init name.
TENSOR_INIT_METHODS: dict[str, str] = {
    "zero_": "zeros_",
    "fill_": "constant_",
    "normal_": "normal_",
    "uniform_": "uniform_",
}

#: ``torch`` factories that build a new weight tensor inside ``nn.Parameter(...)``.
TENSOR_FACTORIES: dict[str, str] = {
    "torch.zeros": "zeros_",
    "torch.ones": "ones_",
    "torch.full": "constant_",
    "torch.randn": "normal_",
    "torch.rand": "uniform_",
    "torch.empty": "empty",
}


def _leaky_gain(slope: float) -> float:
    return math.sqrt(2.0 / (1 + slope**2))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Mirror of ``torch.nn.init.calculate_gain`` for the names torch accepts.

    Raises ``ValueError`` for names torch rejects, exactly as torch does.
    """
    if nonlinearity in TORCH_GAIN_NAMES - {"sigmoid", "tanh", "relu", "leaky_relu", "selu"}:
        return 1.0
    if nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return _leaky_gain(0.01 if param is None else float(param))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def activation_gain(activation: str, param: float | None = None) -> float:
    """The gain that keeps the forward signal for ``activation`` (He for rectifiers).

    For GELU/SiLU/Mish, which ``calculate_gain`` does not know, the rectifier gain
    sqrt(2) stands (INI003 treats ``"relu"`` as their name). LeCun (gain 1) for SELU.
    """
    info = ACTIVATIONS.get(activation)
    if info is None or info.family is Family.LINEAR:
        return 1.0
    if info.family is Family.SELF_NORMALIZING:
        return 1.0
    if info.gain_name == "leaky_relu":
        return _leaky_gain(info.default_param if param is None else param)  # type: ignore[arg-type]
    if info.gain_name is None:
        return 1.0
    return calculate_gain(info.gain_name, param)


@dataclass(frozen=True)
class Recommendation:
    """The recommended ``torch.nn.init`` call for a layer followed by an activation."""

    scheme: Scheme  # XAVIER or KAIMING
    nonlinearity: str | None  # for Kaiming: "relu", "leaky_relu" or "linear"
    a: float | None  # Kaiming negative slope, when leaky
    gain_name: str | None  # for Xavier: the calculate_gain name (None: gain 1)
    gain: float  # the effective gain

    def function(self, distribution: str | None) -> str:
        """The ``torch.nn.init`` function name for a distribution (normal by default)."""
        dist = "uniform" if distribution == "uniform" else "normal"
        return f"{self.scheme.value}_{dist}_"

    def keyword_arguments(self, init_alias: str = "nn.init",
                          mode: str | None = None) -> list[tuple[str, str]]:
        """The keyword arguments of the call, rendered as source text (``mode`` only for
        Kaiming, where it means something)."""
        if self.scheme is Scheme.KAIMING:
            args: list[tuple[str, str]] = [("mode", f'"{mode}"')] if mode else []
            args.append(("nonlinearity", f'"{self.nonlinearity}"'))
            if self.a is not None:
                args.append(("a", format_number(self.a)))
            return args
        if self.gain_name is not None and self.gain != 1.0:
            return [("gain", f'{init_alias}.calculate_gain("{self.gain_name}")')]
        return []

    def render(self, tensor: str, distribution: str | None = None,
               init_alias: str = "nn.init", extra: str = "", mode: str | None = None) -> str:
        """The complete call as a user would write it, e.g. for a message."""
        parts = [tensor] + [f"{k}={v}" for k, v in self.keyword_arguments(init_alias, mode)]
        if extra:
            parts.append(extra)
        return f"{init_alias}.{self.function(distribution)}({', '.join(parts)})"


def format_number(value: float) -> str:
    """Render a float as a short literal (0.2, not 0.20000000000000001)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def recommend(activation: str | None, param: float | None = None) -> Recommendation:
    """The recommendation table of DESIGN.md: He for rectifiers, Xavier for saturating
    activations, LeCun (Kaiming ``"linear"``) for SELU, Xavier for no activation."""
    if activation is None or activation == "linear":
        return Recommendation(Scheme.XAVIER, None, None, None, 1.0)
    info = ACTIVATIONS.get(activation)
    if info is None:
        raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
    if info.family is Family.RECTIFIER:
        if info.gain_name == "leaky_relu":
            slope = info.default_param if param is None else param
            assert slope is not None
            return Recommendation(Scheme.KAIMING, "leaky_relu", slope, None, _leaky_gain(slope))
        return Recommendation(Scheme.KAIMING, "relu", None, None, math.sqrt(2.0))
    if info.family is Family.SELF_NORMALIZING:
        return Recommendation(Scheme.KAIMING, "linear", None, None, 1.0)
    gain = calculate_gain(info.gain_name) if info.gain_name else 1.0
    return Recommendation(Scheme.XAVIER, None, None, info.gain_name if gain != 1.0 else None, gain)


# --- standard deviations, as torch.nn.init computes them ------------------------------


def xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def kaiming_std(fan: int, gain: float = math.sqrt(2.0)) -> float:
    return gain / math.sqrt(fan)


def kaiming_gain(nonlinearity: str = "leaky_relu", a: float = 0.0) -> float:
    """The gain ``kaiming_*_`` uses: ``calculate_gain(nonlinearity, a)``."""
    return calculate_gain(nonlinearity, a)


def orthogonal_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    """``orthogonal_``: the rows (or, for a tall matrix, the columns) have norm ``gain``,
    so each entry has std gain / sqrt(max(fan_in, fan_out)) (for 2-D weights)."""
    return gain / math.sqrt(max(fan_in, fan_out))


def default_layer_std(fan_in: int) -> float:
    """PyTorch's Linear/Conv default, ``kaiming_uniform_(w, a=sqrt(5))``: 1/sqrt(3 fan_in)."""
    return 1.0 / math.sqrt(3.0 * fan_in)


def uniform_std(low: float, high: float) -> float:
    return (high - low) / math.sqrt(12.0)


def recommended_std(rec: Recommendation, fan_in: int, fan_out: int) -> float:
    """The std of the weights the recommendation produces for a layer of these fans."""
    if rec.scheme is Scheme.KAIMING:
        return kaiming_std(fan_in, rec.gain)
    return xavier_std(fan_in, fan_out, rec.gain)


# --- activation second moments by Gauss-Hermite quadrature ----------------------------


def _erf_gelu(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805

ACTIVATION_FUNCTIONS_MATH: dict[str, Callable[[float], float]] = {
    "relu": lambda x: max(x, 0.0),
    "relu6": lambda x: min(max(x, 0.0), 6.0),
    "leaky_relu": lambda x: x if x > 0 else 0.01 * x,
    "elu": lambda x: x if x > 0 else math.expm1(x),
    "celu": lambda x: x if x > 0 else math.expm1(x),
    "gelu": _erf_gelu,
    "silu": lambda x: x * _sigmoid(x),
    "mish": lambda x: x * math.tanh(_softplus(x)),
    "hardswish": lambda x: x * min(max(x + 3.0, 0.0), 6.0) / 6.0,
    "tanh": math.tanh,
    "sigmoid": _sigmoid,
    "hardtanh": lambda x: min(max(x, -1.0), 1.0),
    "softsign": lambda x: x / (1.0 + abs(x)),
    "hardsigmoid": lambda x: min(max(x / 6.0 + 0.5, 0.0), 1.0),
    "logsigmoid": lambda x: -_softplus(-x),
    "selu": lambda x: _SELU_SCALE * (x if x > 0 else _SELU_ALPHA * math.expm1(x)),
    "linear": lambda x: x,
}

#: Activations whose negative side is a slope (``param``), with their default slope.
LEAKY_SLOPES: dict[str, float] = {
    name: info.default_param
    for name, info in ACTIVATIONS.items()
    if info.gain_name == "leaky_relu" and info.default_param is not None
}


@cache
def _hermite_nodes(n: int) -> tuple[tuple[float, float], ...]:
    """Nodes and weights of n-point Gauss-Hermite quadrature (physicists' weight e^-x^2),
    by Newton iteration on the recurrence (Numerical Recipes' ``gauher``)."""
    pim4 = math.pi ** -0.25
    nodes: list[float] = [0.0] * n
    weights: list[float] = [0.0] * n
    m = (n + 1) // 2
    z = 0.0
    for i in range(m):
        if i == 0:
            z = math.sqrt(2 * n + 1) - 1.85575 * (2 * n + 1) ** (-0.16667)
        elif i == 1:
            z -= 1.14 * n**0.426 / z
        elif i == 2:
            z = 1.86 * z - 0.86 * nodes[0]
        elif i == 3:
            z = 1.91 * z - 0.91 * nodes[1]
        else:
            z = 2.0 * z - nodes[i - 2]
        pp = 0.0
        for _ in range(100):
            p1, p2 = pim4, 0.0
            for j in range(1, n + 1):
                p3, p2 = p2, p1
                p1 = z * math.sqrt(2.0 / j) * p2 - math.sqrt((j - 1) / j) * p3
            pp = math.sqrt(2.0 * n) * p2
            z1, z = z, z - p1 / pp
            if abs(z - z1) <= 1e-14:
                break
        nodes[i], nodes[n - 1 - i] = z, -z
        weights[i] = weights[n - 1 - i] = 2.0 / (pp * pp)
    return tuple(zip(nodes, weights, strict=False))


def second_moment(activation: str, q: float, param: float | None = None, n: int = 96) -> float:
    """E[f(sqrt(q) z)^2] for z ~ N(0, 1): the output second moment of ``activation`` on a
    zero-mean Gaussian pre-activation of variance ``q`` (Gauss-Hermite quadrature)."""
    if activation not in ACTIVATION_FUNCTIONS_MATH and activation not in LEAKY_SLOPES:
        raise ValueError(f"no formula for activation {activation!r}")
    f = ACTIVATION_FUNCTIONS_MATH.get(activation, ACTIVATION_FUNCTIONS_MATH["linear"])
    if activation in LEAKY_SLOPES:
        slope = LEAKY_SLOPES[activation] if param is None else param

        def f(x: float) -> float:
            return x if x > 0 else slope * x

    total = 0.0
    for x, w in _hermite_nodes(n):
        value = f(math.sqrt(2.0 * q) * x)
        total += w * value * value
    return total / math.sqrt(math.pi)


def predict_profile(activation: str, weight_variance_times_fan: float, depth: int,
                    param: float | None = None) -> list[float]:
    """Second moment of each layer's activation output through a plain stack of
    ``depth`` layers of equal width whose weights have ``fan_in * Var(w)`` equal to
    ``weight_variance_times_fan``, starting from input of unit second moment."""
    moments: list[float] = []
    m = 1.0
    for _ in range(depth):
        q = weight_variance_times_fan * m
        m = second_moment(activation, q, param)
        moments.append(m)
    return moments

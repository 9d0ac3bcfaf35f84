"""initializer_for: gains against torch, empirical std against DESIGN.md's formulas, repr,
generator reproducibility, and the ways of naming an activation."""

from __future__ import annotations

import functools
import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from init_lint import knowledge  # noqa: E402
from init_lint.runtime import initializer_for, resolve_activation  # noqa: E402
from init_lint.runtime.activations import ActivationSpec  # noqa: E402

SHAPE = (1024, 1024)


@pytest.mark.parametrize("name", sorted(knowledge.TORCH_GAIN_NAMES - {"leaky_relu"}))
def test_knowledge_gain_equals_torch_calculate_gain(name: str) -> None:
    assert knowledge.calculate_gain(name) == pytest.approx(nn.init.calculate_gain(name), rel=1e-12)


@pytest.mark.parametrize("slope", [None, 0.0, 0.01, 0.1, 0.2, 0.25, 0.5, 1.0, 3.0])
def test_knowledge_leaky_relu_gain_equals_torch(slope: float | None) -> None:
    assert knowledge.calculate_gain("leaky_relu", slope) == pytest.approx(
        nn.init.calculate_gain("leaky_relu", slope), rel=1e-12)


@pytest.mark.parametrize("name", sorted(knowledge.ACTIVATIONS))
def test_recommended_gain_equals_torch_for_activations_torch_knows(name: str) -> None:
    info = knowledge.ACTIVATIONS[name]
    rec = knowledge.recommend(name)
    if rec.scheme is knowledge.Scheme.KAIMING:
        expected = nn.init.calculate_gain(rec.nonlinearity, rec.a)
    elif info.gain_name is not None:
        expected = nn.init.calculate_gain(info.gain_name)
    else:
        expected = 1.0
    assert rec.gain == pytest.approx(expected, rel=1e-12)


def _design_std(init: object, shape: tuple[int, int], gain_name: str | None) -> float:
    """DESIGN.md's table, with the gain taken from torch itself."""
    fan_in, fan_out = shape[1], shape[0]
    rec = init.recommendation  # type: ignore[attr-defined]
    if rec.scheme is knowledge.Scheme.KAIMING:
        gain = nn.init.calculate_gain(rec.nonlinearity, rec.a)
        return gain / math.sqrt(fan_in)
    gain = nn.init.calculate_gain(gain_name) if gain_name else 1.0
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


@pytest.mark.parametrize("distribution", ["normal", "uniform"])
@pytest.mark.parametrize("activation", sorted(knowledge.ACTIVATIONS) + [None])
def test_initializer_std_matches_design_formula(activation: str | None, distribution: str) -> None:
    init = initializer_for(activation, distribution=distribution)  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(0)
    weight = init(torch.empty(SHAPE), generator=generator)
    gain_name = knowledge.ACTIVATIONS[activation].gain_name if activation else None
    expected = _design_std(init, SHAPE, gain_name)
    assert float(weight.std()) == pytest.approx(expected, rel=0.05)
    assert init.expected_std(SHAPE) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("slope", [0.01, 0.1, 0.2, 0.5])
def test_leaky_relu_slope_reaches_the_std(slope: float) -> None:
    init = initializer_for(nn.LeakyReLU(slope))
    weight = init(torch.empty(SHAPE), generator=torch.Generator().manual_seed(1))
    expected = nn.init.calculate_gain("leaky_relu", slope) / math.sqrt(SHAPE[1])
    assert float(weight.std()) == pytest.approx(expected, rel=0.05)


def test_uniform_bound_is_sqrt3_std() -> None:
    init = initializer_for(torch.tanh, distribution="uniform")
    weight = init(torch.empty(256, 128))
    bound = 5 / 3 * math.sqrt(6 / (256 + 128))
    assert float(weight.abs().max()) <= bound
    assert float(weight.abs().max()) > 0.95 * bound


def test_repr_is_the_torch_call_for_a_leaky_relu_module() -> None:
    assert repr(initializer_for(nn.LeakyReLU(0.2))) == (
        'nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="leaky_relu", a=0.2)')


@pytest.mark.parametrize(("activation", "distribution", "expected"), [
    (nn.ReLU(), "normal", 'nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")'),
    (nn.GELU, "uniform", 'nn.init.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu")'),
    (F.leaky_relu, "normal",
     'nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="leaky_relu", a=0.01)'),
    (nn.Tanh, "normal", 'nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh"))'),
    ("sigmoid", "uniform", "nn.init.xavier_uniform_(w)"),
    (nn.SELU(), "normal", 'nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="linear")'),
    (None, "normal", "nn.init.xavier_normal_(w)"),
])
def test_repr_of_initializers(activation: object, distribution: str, expected: str) -> None:
    assert repr(initializer_for(activation, distribution=distribution)) == expected  # type: ignore[arg-type]


def test_repr_is_consistent_with_knowledge_render() -> None:
    init = initializer_for(nn.Tanh())
    rec = knowledge.recommend("tanh")
    assert repr(init) == rec.render("w", "normal")


def test_fan_out_mode_is_in_repr_and_in_the_std() -> None:
    init = initializer_for("relu", mode="fan_out")
    assert 'mode="fan_out"' in repr(init)
    weight = init(torch.empty(512, 2048), generator=torch.Generator().manual_seed(0))
    assert float(weight.std()) == pytest.approx(math.sqrt(2 / 512), rel=0.05)


def test_repr_evaluates_to_the_same_weights() -> None:
    init = initializer_for(nn.LeakyReLU(0.2), distribution="uniform")
    ours = init(torch.empty(64, 32), generator=torch.Generator().manual_seed(3))
    w = torch.empty(64, 32)
    call = repr(init).replace(")", ", generator=torch.Generator().manual_seed(3))")
    eval(call, {"nn": nn, "w": w, "torch": torch})  # noqa: S307 - our own repr
    assert torch.equal(ours, w)


def test_generator_makes_initialization_reproducible() -> None:
    init = initializer_for(nn.ReLU())
    a = init(torch.empty(32, 16), generator=torch.Generator().manual_seed(7))
    b = init(torch.empty(32, 16), generator=torch.Generator().manual_seed(7))
    c = init(torch.empty(32, 16), generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_initializer_works_in_place_without_grad_and_returns_the_tensor() -> None:
    layer = nn.Linear(8, 4)
    result = initializer_for("tanh")(layer.weight)
    assert result is layer.weight
    assert layer.weight.requires_grad and layer.weight.grad_fn is None


@pytest.mark.parametrize(("activation", "expected"), [
    (nn.LeakyReLU(0.2), ActivationSpec("leaky_relu", 0.2)),
    (nn.LeakyReLU, ActivationSpec("leaky_relu")),
    (nn.ELU(), ActivationSpec("elu")),
    (nn.GELU(), ActivationSpec("gelu")),
    (nn.Tanh, ActivationSpec("tanh")),
    (F.gelu, ActivationSpec("gelu")),
    (torch.tanh, ActivationSpec("tanh")),
    (torch.relu, ActivationSpec("relu")),
    (torch.Tensor.sigmoid, ActivationSpec("sigmoid")),
    (F.leaky_relu, ActivationSpec("leaky_relu")),
    (functools.partial(F.leaky_relu, negative_slope=0.3), ActivationSpec("leaky_relu", 0.3)),
    ("gelu", ActivationSpec("gelu")),
    ("leaky_relu", ActivationSpec("leaky_relu")),
    ("LeakyReLU", ActivationSpec("leaky_relu")),
    ("swish", ActivationSpec("silu")),
    (None, ActivationSpec(None)),
    ("linear", ActivationSpec(None)),
    (nn.Identity(), ActivationSpec(None)),
    (nn.PReLU(), ActivationSpec("prelu", 0.25)),
])
def test_resolve_activation(activation: object, expected: ActivationSpec) -> None:
    assert resolve_activation(activation) == expected


@pytest.mark.parametrize("activation", ["swishy", nn.Softplus(), nn.Linear(2, 2), print, 3])
def test_unknown_activation_raises_value_error_naming_the_known_ones(activation: object) -> None:
    with pytest.raises(ValueError, match=r"unknown activation .*gelu.*leaky_relu.*tanh"):
        initializer_for(activation)


def test_bad_distribution_or_mode_raises() -> None:
    with pytest.raises(ValueError, match="distribution"):
        initializer_for("relu", distribution="gaussian")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        initializer_for("relu", mode="fan_avg")  # type: ignore[arg-type]

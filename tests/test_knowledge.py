"""knowledge.py on its own (no torch): the recommendation table, rendering, quadrature."""

from __future__ import annotations

import math

import pytest

from init_lint import knowledge as k


def test_rectifiers_get_he_saturating_get_xavier_selu_gets_lecun() -> None:
    assert k.recommend("relu").render("w") == 'nn.init.kaiming_normal_(w, nonlinearity="relu")'
    assert k.recommend("gelu").nonlinearity == "relu"
    assert k.recommend("leaky_relu", 0.2).render("w", "uniform") == (
        'nn.init.kaiming_uniform_(w, nonlinearity="leaky_relu", a=0.2)')
    assert k.recommend("tanh").render("w", "uniform") == (
        'nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh"))')
    assert k.recommend("sigmoid").render("w") == "nn.init.xavier_normal_(w)"
    assert k.recommend("selu").render("w") == 'nn.init.kaiming_normal_(w, nonlinearity="linear")'
    assert k.recommend(None).render("w") == "nn.init.xavier_normal_(w)"


def test_render_puts_mode_only_on_kaiming() -> None:
    assert k.recommend("relu").render("w", mode="fan_out") == (
        'nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")')
    assert k.recommend("tanh").render("w", mode="fan_out") == (
        'nn.init.xavier_normal_(w, gain=nn.init.calculate_gain("tanh"))')


def test_unknown_activation_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(ValueError, match="unknown activation"):
        k.recommend("softplus")


def test_calculate_gain_mirror_rejects_what_torch_rejects() -> None:
    assert k.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    with pytest.raises(ValueError):
        k.calculate_gain("gelu")


@pytest.mark.parametrize("activation,q,expected", [
    ("linear", 2.0, 2.0),
    ("relu", 1.0, 0.5),  # E[relu(z)^2] = 1/2
    ("leaky_relu", 1.0, (1 + 0.01**2) / 2),
    ("prelu", 1.0, (1 + 0.25**2) / 2),  # PReLU's default slope 0.25
    ("selu", 1.0, 1.0),  # SELU's fixed point
])
def test_second_moment_by_quadrature(activation: str, q: float, expected: float) -> None:
    assert k.second_moment(activation, q) == pytest.approx(expected, rel=2e-3)


def test_predicted_profile_matches_the_measured_xavier_relu_decay() -> None:
    # DESIGN.md: Xavier before ReLU (width 512) keeps 0.06 of the signal over 5 layers.
    profile = k.predict_profile("relu", 1.0, 5)
    assert profile[-1] / profile[0] == pytest.approx(0.0625, rel=1e-6)
    he = k.predict_profile("relu", 2.0, 20)
    assert he[-1] / he[0] == pytest.approx(1.0, rel=1e-6)


def test_stds_follow_torch_formulas() -> None:
    assert k.xavier_std(256, 256) == pytest.approx(math.sqrt(2 / 512))
    assert k.kaiming_std(256) == pytest.approx(math.sqrt(2 / 256))
    assert k.default_layer_std(300) == pytest.approx(1 / math.sqrt(900))
    assert k.uniform_std(-1, 1) == pytest.approx(1 / math.sqrt(3))

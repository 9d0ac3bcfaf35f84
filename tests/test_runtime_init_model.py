"""init_model: pairing on live models (fx, hooks, Sequential), what it initializes and what
it leaves alone, and LSUV keeping deep MLPs at a stable scale."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")
from torch import Tensor, nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from init_lint.runtime import init_model, initializer_for  # noqa: E402
from init_lint.runtime.pairing import find_activations  # noqa: E402

WIDTH = 512
DEPTH = 20


def deep_mlp(make_activation: Callable[[], nn.Module], depth: int = DEPTH,
             width: int = WIDTH) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), make_activation()]
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def hidden_second_moments(model: nn.Sequential, x: Tensor) -> list[float]:
    moments = []
    with torch.no_grad():
        for module in model:
            x = module(x)
            if not isinstance(module, nn.Linear):
                moments.append(float(x.pow(2).mean()))
    return moments


@pytest.mark.parametrize("make_activation", [nn.ReLU, lambda: nn.LeakyReLU(0.2), nn.GELU,
                                             nn.Tanh], ids=["relu", "leaky0.2", "gelu", "tanh"])
def test_init_model_keeps_a_deep_mlp_second_moment_stable(
        make_activation: Callable[[], nn.Module]) -> None:
    torch.manual_seed(0)
    model = deep_mlp(make_activation)
    report = init_model(model, torch.randn(1024, WIDTH))
    assert report.calibrated and len(report.initialized) == DEPTH + 1
    moments = hidden_second_moments(model, torch.randn(1024, WIDTH))  # a fresh batch
    ratio = moments[-1] / moments[0]
    assert 0.5 <= ratio <= 2.0, ratio


def test_lsuv_gives_unit_variance_pre_activations_and_records_factors() -> None:
    torch.manual_seed(0)
    model = deep_mlp(nn.ReLU, depth=4, width=128)
    x = torch.randn(1024, 128)
    report = init_model(model, x)
    h = x
    with torch.no_grad():
        for module in model:
            h = module(h)
            if isinstance(module, nn.Linear):
                assert float(h.var()) == pytest.approx(1.0, abs=0.05)
    first = report["0"].calibration
    assert first is not None and first.factor == pytest.approx(1 / math.sqrt(2), rel=0.05)
    assert "x0.7" in str(report)


def test_init_model_without_example_input_applies_the_analytic_init_only() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.Tanh(),
                          nn.Linear(512, 10))
    report = init_model(model)
    assert not report.calibrated
    assert [r.init for r in report.layers] == [
        repr(initializer_for("relu")), repr(initializer_for("tanh")), repr(initializer_for(None))]
    assert float(model[0].weight.detach().std()) == pytest.approx(math.sqrt(2 / 256), rel=0.05)
    tanh_std = 5 / 3 * math.sqrt(2 / 1024)
    assert float(model[2].weight.detach().std()) == pytest.approx(tanh_std, rel=0.05)
    assert all(float(model[i].bias.detach().abs().max()) == 0 for i in (0, 2, 4))


def test_generator_makes_init_model_reproducible() -> None:
    weights = []
    for _ in range(2):
        model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
        init_model(model, generator=torch.Generator().manual_seed(5))
        weights.append(model[0].weight.detach().clone())
    assert torch.equal(*weights)


class FunctionalMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 64)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(64, 4)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.fc1(x))
        x = self.drop(torch.tanh(self.fc2(x)).view(-1, 64))
        return self.head(x)


def test_functional_activations_are_paired_through_fx() -> None:
    report = init_model(FunctionalMLP())
    assert report.method == "fx"
    assert (report["fc1"].activation, report["fc1"].method) == ("relu", "fx")
    assert report["fc2"].activation == "tanh"
    assert report["head"].activation == "linear"
    assert report["fc1"].init == repr(initializer_for(F.relu))


class NormAndResidual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 16)
        self.conv = nn.Conv1d(16, 16, 3, padding=1)
        self.bn = nn.BatchNorm1d(16)
        self.proj = nn.Linear(16, 16)
        self.leaky = nn.Linear(16, 16)
        self.odd = nn.Linear(16, 16)

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.embed(tokens).transpose(1, 2)
        x = F.gelu(self.bn(self.conv(x))).transpose(1, 2)
        x = x + self.proj(x)  # residual: linear
        x = F.leaky_relu(self.leaky(x), 0.2)
        return torch.sin(self.odd(x))  # unknown: left alone


def test_fx_pairing_records_norms_residuals_slopes_and_leaves_unknowns_alone() -> None:
    model = NormAndResidual()
    gamma = model.bn.weight.detach().clone()
    embedding = model.embed.weight.detach().clone()
    odd = model.odd.weight.detach().clone()
    report = init_model(model)
    assert (report["conv"].activation, report["conv"].norm) == ("gelu", "bn")
    assert report["proj"].activation == "linear"
    assert report["leaky"].activation == "leaky_relu(0.2)"
    assert report["leaky"].init == (
        'nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="leaky_relu", a=0.2)')
    assert report["odd"].init is None and "sin" in report["odd"].reason
    assert torch.equal(model.odd.weight, odd)
    assert torch.equal(model.bn.weight, gamma) and torch.equal(model.embed.weight, embedding)
    assert any("bn" in name for name in report.untouched)
    assert "left alone: odd" in str(report)


class DataDependent(nn.Module):
    """Not traceable by torch.fx: control flow on a tensor value."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.act1 = nn.LeakyReLU(0.2)
        self.fc2 = nn.Linear(64, 64)
        self.act2 = nn.Tanh()
        self.fc3 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 4)

    def forward(self, x: Tensor) -> Tensor:
        if x.sum() > 0:
            x = x * 2
        x = self.act1(self.fc1(x))
        x = self.act2(self.fc2(x))
        x = F.relu(self.fc3(x))  # functional: invisible to hooks
        return self.head(x)


def test_untraceable_model_falls_back_to_hooks_with_an_example_input() -> None:
    torch.manual_seed(0)
    model = DataDependent()
    report = init_model(model, torch.randn(256, 32))
    assert report.method == "hooks" and "control flow" in report.trace_error
    assert (report["fc1"].activation, report["fc1"].method) == ("leaky_relu(0.2)", "hooks")
    assert report["fc2"].activation == "tanh"
    assert report["head"].activation == "linear"
    # fc3 is followed by F.relu, which hooks cannot see: it must not be taken as linear
    assert report["fc3"].activation is None and report["fc3"].init is None
    assert "hooks cannot see" in report["fc3"].reason


def test_hooks_do_not_mistake_an_in_place_functional_activation_for_linear() -> None:
    class InPlace(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(8, 8)
            self.fc2 = nn.Linear(8, 8)

        def forward(self, x: Tensor) -> Tensor:
            if x.sum() > 0:
                x = -x
            return self.fc2(self.fc1(x).relu_())

    pairings = find_activations(InPlace(), torch.randn(4, 8)).pairings
    assert pairings["fc1"].activation is None
    assert pairings["fc2"].activation is not None and pairings["fc2"].activation.name is None


class UntraceableSequentialNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(32, 64), nn.Dropout(), nn.ReLU(),
                                      nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64)),
                                      nn.Tanh(), nn.Linear(64, 64))
        self.head = nn.Linear(64, 4)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        if x.mean() > 0:
            x = x.flip(0)
        return self.head(torch.sigmoid(x))


def test_sequential_order_is_the_fallback_without_example_input() -> None:
    report = init_model(UntraceableSequentialNet())
    assert report.method == "sequential"
    assert (report["features.0"].activation, report["features.0"].method) == ("relu", "sequential")
    assert (report["features.3.0"].activation, report["features.3.0"].norm) == (
        "tanh", "features.3.1")
    # the last item of an inner Sequential: what follows is only in forward()
    assert report["features.5"].init is None
    assert report["head"].init is None and "does not trace" in report["head"].reason


def test_a_model_that_is_a_sequential_ends_in_its_output() -> None:
    pairings = find_activations(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
                                ).pairings
    assert pairings["2"].activation is not None and pairings["2"].activation.name is None


def test_lsuv_skips_layers_with_zero_output_variance() -> None:
    class Starved(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = nn.Linear(16, 16)
            self.fc2 = nn.Linear(16, 16)

        def forward(self, x: Tensor) -> Tensor:
            return self.fc2(torch.relu(self.fc1(x)) * 0)

    model = Starved()
    report = init_model(model, torch.randn(64, 16))
    assert report["fc2"].calibration is not None
    assert report["fc2"].calibration.note.startswith("skipped")
    assert torch.isfinite(model.fc2.weight).all()


def test_init_model_restores_train_mode_and_materializes_lazy_layers() -> None:
    model = nn.Sequential(nn.LazyLinear(32), nn.ReLU(), nn.Dropout(), nn.Linear(32, 2))
    model.train()
    report = init_model(model, torch.randn(128, 12))
    assert model.training and model[2].training
    assert report["0"].init is not None and report["0"].activation == "relu"
    assert tuple(model[0].weight.shape) == (32, 12)


def test_init_report_table_and_json() -> None:
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    report = init_model(model, torch.randn(64, 8))
    text = str(report)
    assert text.splitlines()[0].split() == ["layer", "type", "activation", "found", "by", "init",
                                            "LSUV"]
    assert "Linear(8, 8)" in text and "kaiming_normal_" in text
    assert '"layers"' in report.to_json()

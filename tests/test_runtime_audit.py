"""audit: the verdicts on deep MLPs (Xavier before ReLU vanishes, zero weights kill a layer,
init_model fixes it), dead units through fx and hooks, no side effects, exports, plot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import Tensor, nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from init_lint.runtime import audit, init_model  # noqa: E402
from init_lint.runtime.signal_audit import MATPLOTLIB_HINT, compare  # noqa: E402

WIDTH = 512
DEPTH = 20


def relu_mlp(init: str, depth: int = DEPTH, width: int = WIDTH) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layer = nn.Linear(width, width)
        if init == "xavier":
            nn.init.xavier_normal_(layer.weight)
        elif init == "he":
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        nn.init.zeros_(layer.bias)
        layers += [layer, nn.ReLU()]
    head = nn.Linear(width, 10)
    nn.init.xavier_normal_(head.weight)  # no activation: Xavier, as recommended
    nn.init.zeros_(head.bias)
    return nn.Sequential(*layers, head)


@pytest.fixture(scope="module")
def xavier_relu_audit() -> tuple[nn.Sequential, Tensor, object]:
    torch.manual_seed(0)
    model = relu_mlp("xavier")
    x = torch.randn(1024, WIDTH)
    return model, x, audit(model, x)


def test_xavier_before_relu_is_reported_vanishing(xavier_relu_audit: tuple) -> None:
    _, _, report = xavier_relu_audit
    assert report.method == "fx"
    assert "vanishing activations" in report.flags
    assert "vanishing gradients" in report.flags
    assert report.forward_ratio < 1e-4  # DESIGN.md: ~1e-6 for the post-activation moment
    hidden = [row for row in report.layers if row.activation == "relu"]
    assert len(hidden) == DEPTH
    assert all(0.3 < row.output_gain < 0.8 for row in hidden[1:])  # halves at each layer
    assert report.flagged and "vanishing" in str(report)


def test_init_model_repairs_the_xavier_relu_mlp(xavier_relu_audit: tuple) -> None:
    model, x, before = xavier_relu_audit
    init_model(model, x)
    after = audit(model, x)
    assert after.flags == ()
    assert 0.5 < after.forward_ratio < 2
    side_by_side = compare(before, after)
    assert "before: out std" in side_by_side and "after: out std" in side_by_side


def test_he_init_relu_mlp_is_not_flagged() -> None:
    torch.manual_seed(1)
    report = audit(relu_mlp("he", depth=10, width=256), torch.randn(1024, 256))
    assert report.flags == ()


def test_zero_hidden_weights_are_reported_as_dead_layers() -> None:
    torch.manual_seed(0)
    model = relu_mlp("he", depth=6, width=128)
    for index in range(2, 12, 2):  # every hidden layer after the first
        nn.init.zeros_(model[index].weight)
        nn.init.uniform_(model[index].bias, -0.1, 0.1)  # biases as PyTorch leaves them
    report = audit(model, torch.randn(512, 128))
    assert "dead layer" in report.flags
    assert "2" in report.dead_layers and "0" not in report.dead_layers
    assert "dead layer" in str(report)


def test_dead_relu_units_are_counted() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))
    with torch.no_grad():
        model[0].bias[:95] = -1e3  # 95 of 100 units never fire
    report = audit(model, torch.randn(256, 64))
    assert report.layers[0].dead_fraction == pytest.approx(0.95)
    assert "dead layer" in report.layers[0].flags


class FunctionalNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, x: Tensor) -> Tensor:
        x = F.relu(self.conv(x), inplace=True).flatten(1)
        return self.head(F.relu(self.fc(x)))


def test_dead_units_after_functional_relu_through_fx() -> None:
    torch.manual_seed(0)
    model = FunctionalNet()
    with torch.no_grad():
        model.conv.bias[:4] = -1e3  # 4 of 8 channels dead
    report = audit(model, torch.randn(64, 3, 8, 8))
    assert report.method == "fx"
    rows = {row.name: row for row in report.layers}
    assert rows["conv"].activation == "relu" and rows["conv"].dead_fraction == pytest.approx(0.5)
    assert rows["fc"].dead_fraction is not None and rows["head"].dead_fraction is None
    assert rows["conv"].output_std > 1  # the pre-activation, before the in-place ReLU


class Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(32, 64)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(64, 64)
        self.head = nn.Linear(64, 4)

    def forward(self, x: Tensor) -> Tensor:
        if x.sum() > 0:
            x = -x
        x = self.act(self.fc1(x))
        x = self.act(self.fc2(x))  # the same module after two layers
        return self.head(x)


def test_dead_units_through_hooks_on_a_shared_activation_module() -> None:
    torch.manual_seed(0)
    model = Untraceable()
    with torch.no_grad():
        model.fc2.bias[:32] = -1e3
    report = audit(model, torch.randn(128, 32))
    assert report.method == "hooks"
    rows = {row.name: row for row in report.layers}
    assert rows["fc1"].dead_fraction == pytest.approx(0.0, abs=0.05)
    assert rows["fc2"].dead_fraction == pytest.approx(0.5)
    assert rows["fc2"].output_std > 100  # measured before the in-place ReLU
    assert all(row.gradient_std is not None for row in report.layers)


def test_audit_leaves_parameters_gradients_and_buffers_alone() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 4))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    audit(model, torch.randn(64, 16))
    assert all(p.grad is None for p in model.parameters())
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_shared_layer_gets_one_row_per_call_and_loss_fn_is_used() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(16, 16)

        def forward(self, x: Tensor) -> Tensor:
            return self.fc(torch.tanh(self.fc(x)))

    report = audit(Twice(), torch.randn(64, 16), loss_fn=lambda y: y.sum())
    assert [row.name for row in report.layers] == ["fc", "fc (2)"]
    assert report.layers[1].gradient_std == pytest.approx(0.0, abs=1e-9)  # dL/dy = 1


def test_bounds_are_configurable() -> None:
    torch.manual_seed(0)
    model = relu_mlp("he", depth=3, width=128)
    x = torch.randn(512, 128)
    report = audit(model, x)
    assert 0.6 < report.forward_ratio < 0.9 and "vanishing activations" not in report.flags
    assert "vanishing activations" in audit(model, x, bounds=(0.95, 1.05)).flags
    with pytest.raises(ValueError, match="bounds"):
        audit(model, x, bounds=(2.0, 1.0))


def test_to_dict_and_to_json(xavier_relu_audit: tuple) -> None:
    _, _, report = xavier_relu_audit
    data = json.loads(report.to_json())
    assert data["flags"] == list(report.flags)
    assert len(data["layers"]) == DEPTH + 1
    first = data["layers"][0]
    assert {"name", "output_std", "gradient_std", "output_gain", "dead_fraction"} <= set(first)
    assert report.to_dict()["bounds"] == [0.25, 4.0]


def test_plot_writes_a_png(tmp_path: Path, xavier_relu_audit: tuple) -> None:
    _, _, report = xavier_relu_audit
    path = report.plot(tmp_path / "audit.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    other = report.plot(tmp_path / "compare.png", baseline=report, title="before/after")
    assert other.stat().st_size > 1000


def test_plot_without_matplotlib_raises_a_clear_import_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xavier_relu_audit: tuple) -> None:
    _, _, report = xavier_relu_audit
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install") as info:
        report.plot(tmp_path / "audit.png")
    assert str(info.value) == MATPLOTLIB_HINT

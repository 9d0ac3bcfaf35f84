"""Split fixes: one dispatch call reaching layers that want different inits becomes a
branch per group of layers (``init_lint.rules.split``).

Numeric tests run the fixed source with torch and compare each layer's weight std with
``knowledge.recommended_std`` for its own activation (norm weights must be exactly 1, and
layers that keep the original call must keep its distribution). The other tests pin down
when there is no split fix (and why), the style it keeps, and that findings sharing a call
share one edit.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from init_lint.engine import Settings, check_path, check_text
from init_lint.fixes import fix_file, fix_text
from init_lint.knowledge import recommend, recommended_std

FIXTURES = Path(__file__).parent.parent / "fixtures"

HEADER = """import torch
import torch.nn as nn
import torch.nn.functional as F
"""


def _fixed(source: str) -> str:
    findings = check_text(source, Settings())
    assert findings and all(f.fixable for f in findings), [(f.code, f.note) for f in findings]
    result = fix_text(source, findings)
    assert len(result.applied) == len(findings) and not result.unfixed
    assert check_text(result.text, Settings()) == []  # nothing left, nothing new
    again = fix_text(result.text, check_text(result.text, Settings()))
    assert not again.changed and again.text == result.text  # idempotent
    compile(result.text, "<fixed>", "exec")
    return result.text


# --- numbers, with torch -------------------------------------------------------------


def _build(source: str, name: str) -> object:
    torch = pytest.importorskip("torch")
    namespace: dict[str, object] = {}
    exec(compile(source, "<fixed>", "exec"), namespace)  # noqa: S102 - our own source
    torch.manual_seed(0)
    return namespace[name]()  # type: ignore[operator]


def _std(weight: object) -> float:
    return float(weight.detach().float().std())  # type: ignore[attr-defined]


def _expected(activation: str | None, fan_in: int, fan_out: int,
              param: float | None = None) -> float:
    return recommended_std(recommend(activation, param), fan_in, fan_out)


def test_norm_lumped_with_conv_and_linear_split_by_class() -> None:
    """INI004 + INI006 on one call: BN gamma 1, conv He (ReLU after BN), head Xavier."""
    fixed = _fixed(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(64, 256, 3)
        self.bn = nn.BatchNorm2d(256)
        self.fc = nn.Linear(1024, 768)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)):
            nn.init.normal_(m.weight)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 2).flatten(1))
""")
    assert "if isinstance(m, nn.BatchNorm2d):" in fixed
    model = _build(fixed, "Net")
    torch = pytest.importorskip("torch")
    assert torch.equal(model.bn.weight.detach(), torch.ones(256))  # type: ignore[attr-defined]
    assert _std(model.conv.weight) == pytest.approx(  # type: ignore[attr-defined]
        _expected("relu", 64 * 9, 256 * 9), rel=0.05)
    assert _std(model.fc.weight) == pytest.approx(  # type: ignore[attr-defined]
        _expected(None, 1024, 768), rel=0.05)


def test_relu_stack_and_linear_head_split_by_identity() -> None:
    """INI002: the ReLU layers get He (uniform stays uniform); the head keeps Xavier."""
    fixed = _fixed(HEADER + """
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(1024, 1024)
        self.fc2 = nn.Linear(1024, 1024)
        self.head = nn.Linear(1024, 768)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        return self.head(F.relu(self.fc2(F.relu(self.fc1(x)))))
""")
    assert "if m is self.head:" in fixed
    model = _build(fixed, "MLP")
    he = _expected("relu", 1024, 1024)
    assert _std(model.fc1.weight) == pytest.approx(he, rel=0.05)  # type: ignore[attr-defined]
    assert _std(model.fc2.weight) == pytest.approx(he, rel=0.05)  # type: ignore[attr-defined]
    xavier = (2 / (1024 + 768)) ** 0.5  # the original xavier_uniform_, kept
    assert _std(model.head.weight) == pytest.approx(xavier, rel=0.05)  # type: ignore[attr-defined]
    assert float(model.fc1.weight.detach().abs().max()) == pytest.approx(  # type: ignore[attr-defined]
        he * 3 ** 0.5, rel=0.01)  # uniform: bounded at sqrt(3) std


def test_constant_kept_on_the_head_tanh_layers_get_xavier() -> None:
    """INI001 only flags hidden layers: the head keeps its constant, exactly."""
    fixed = _fixed(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(1024, 1024), nn.Linear(1024, 1024),
                                     nn.Linear(1024, 8)])
        self.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.05)

    def forward(self, x):
        x = torch.tanh(self.layers[0](x))
        x = torch.tanh(self.layers[1](x))
        return self.layers[2](x)
""")
    assert "if m is self.layers[2]:" in fixed
    model = _build(fixed, "Net")
    torch = pytest.importorskip("torch")
    tanh = _expected("tanh", 1024, 1024)
    for layer in model.layers[:2]:  # type: ignore[attr-defined]
        assert _std(layer.weight) == pytest.approx(tanh, rel=0.05)
    assert torch.equal(model.layers[2].weight.detach(),  # type: ignore[attr-defined]
                       torch.full((8, 1024), 0.05))


def test_named_gains_per_activation_three_groups() -> None:
    """INI003: each layer's named gain becomes its own activation's (tanh, sigmoid); the
    linear bottleneck (not flagged) keeps the call as written."""
    fixed = _fixed(HEADER + """
class AE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(1024, 1024), nn.Tanh(), nn.Linear(1024, 512))
        self.decoder = nn.Sequential(nn.Linear(512, 1024), nn.Tanh(), nn.Linear(1024, 768),
                                     nn.Sigmoid())
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain("relu"))

    def forward(self, x):
        return self.decoder(self.encoder(x))
""")
    model = _build(fixed, "AE")
    tanh_gain, sigmoid_gain, relu_gain = 5 / 3, 1.0, 2 ** 0.5

    def xavier(gain: float, fan_in: int, fan_out: int) -> float:
        return gain * float((2 / (fan_in + fan_out)) ** 0.5)

    encoder, decoder = model.encoder, model.decoder  # type: ignore[attr-defined]
    assert _std(encoder[0].weight) == pytest.approx(xavier(tanh_gain, 1024, 1024), rel=0.05)
    assert _std(decoder[0].weight) == pytest.approx(xavier(tanh_gain, 512, 1024), rel=0.05)
    assert _std(decoder[2].weight) == pytest.approx(xavier(sigmoid_gain, 1024, 768), rel=0.05)
    assert _std(encoder[2].weight) == pytest.approx(xavier(relu_gain, 1024, 512), rel=0.05)


def test_module_level_one_line_if_gets_a_conditional_expression() -> None:
    """No `self`, no room for a statement: classes separate the groups, in an expression."""
    fixed = _fixed(HEADER + """
def init_fn(m):
    if isinstance(m, (nn.Linear, nn.LayerNorm)): nn.init.trunc_normal_(m.weight, std=0.02)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(1024)
        self.fc = nn.Linear(1024, 1024)
        self.apply(init_fn)

    def forward(self, x):
        return x + self.fc(self.norm(x))
""")
    assert ("if isinstance(m, (nn.Linear, nn.LayerNorm)): nn.init.ones_(m.weight) if "
            "isinstance(m, nn.LayerNorm) else nn.init.trunc_normal_(m.weight, std=0.02)\n"
            in fixed)
    model = _build(fixed, "Block")
    torch = pytest.importorskip("torch")
    assert torch.equal(model.norm.weight.detach(), torch.ones(1024))  # type: ignore[attr-defined]
    assert _std(model.fc.weight) == pytest.approx(0.02, rel=0.05)  # type: ignore[attr-defined]


SPLIT_FIXTURES = [
    ("convnet_apply_lumped_norm_direct_classes.py", "SmallConvNet"),
    ("mlp_modules_loop_relu_stack_linear_head.py", "TabularMLP"),
    ("policy_apply_method_modulelist_std.py", "PolicyTrunk"),
    ("unknown_activation_layer_kept.py", "Encoder"),
    ("module_level_init_class_separable.py", "FeedForward"),
]


@pytest.mark.parametrize("name,model", SPLIT_FIXTURES, ids=[n for n, _ in SPLIT_FIXTURES])
def test_fixed_split_fixtures_build_and_each_layer_gets_its_init(name: str, model: str) -> None:
    """The fixed fixtures run with torch: every `self.<path>` they name exists, and each
    layer's weight has the std of its group's call."""
    torch = pytest.importorskip("torch")
    source = (FIXTURES / "fixed" / name).read_text()
    built = _build(source, model)
    weights = {n: p for n, p in built.named_parameters()  # type: ignore[attr-defined]
               if n.endswith("weight")}
    assert weights
    if name.startswith("convnet"):
        assert torch.equal(built.bn1.weight.detach(), torch.ones(32))  # type: ignore[attr-defined]
        assert _std(built.conv2.weight) == pytest.approx(  # type: ignore[attr-defined]
            _expected("relu", 32 * 9, 64 * 9), rel=0.1)
    elif name.startswith("mlp_modules"):
        assert _std(built.net.fc2.weight) == pytest.approx(  # type: ignore[attr-defined]
            _expected("relu", 256, 256), rel=0.1)
    elif name.startswith("policy"):
        layers = built.layers  # type: ignore[attr-defined]
        assert _std(layers[0].weight) == pytest.approx(0.1, rel=0.05)  # kept
        assert _std(layers[1].weight) == pytest.approx(_expected("relu", 1024, 1024), rel=0.05)
        assert _std(layers[2].weight) == pytest.approx(_expected(None, 1024, 6), rel=0.1)
    elif name.startswith("unknown"):
        net = built.net  # type: ignore[attr-defined]
        assert _std(net[2].weight) == pytest.approx(_expected("relu", 128, 128), rel=0.1)
        assert _std(net[4].weight) == pytest.approx((2 / (128 + 64)) ** 0.5, rel=0.1)  # kept
    else:
        assert torch.equal(built.norm.weight.detach(), torch.ones(256))  # type: ignore[attr-defined]


# --- when there is no split fix, and why ----------------------------------------------


def _only_finding(source: str) -> object:
    (finding,) = check_text(source, Settings())
    return finding


def test_module_level_function_without_class_separation_says_why() -> None:
    finding = check_path(FIXTURES / "module_level_init_not_separable.py", Settings()).findings[0]
    assert finding.fix is None
    assert finding.note is not None
    assert "this function has no `self` to name them by" in finding.note
    assert 'kaiming_uniform_(nonlinearity="relu") for l1, l2' in finding.note


def test_sequential_built_in_a_loop_names_only_positions_every_depth_agrees_on() -> None:
    """`nn.Sequential(*layers)` with a depth parameter: the head appended after the loop is
    `self.net[-1]` at any depth; its index from the start (7 at the default depth) is not."""
    source = HEADER + """
class Net(nn.Module):
    def __init__(self, depth=3):
        super().__init__()
        layers = [nn.Linear(32, 64), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Linear(64, 64), nn.ReLU()]
        layers.append(nn.Linear(64, 1))
        self.net = nn.Sequential(*layers)
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        return self.net(x)
"""
    fixed = _fixed(source)
    assert "                if m is self.net[-1]:\n" in fixed
    model = _build(fixed.replace("depth=3", "depth=5"), "Net")  # another depth: still right
    net = model.net  # type: ignore[attr-defined]
    assert _std(net[-1].weight) == pytest.approx((2 / 65) ** 0.5, rel=0.2)  # Xavier, kept
    assert _std(net[6].weight) == pytest.approx(_expected("relu", 64, 64), rel=0.1)
    # Both groups inside the loop: no index names them for every depth, so no fix.
    finding = _only_finding(source.replace(
        "layers += [nn.Linear(64, 64), nn.ReLU()]",
        "layers += [nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.Tanh()]"))
    assert finding.fix is None  # type: ignore[attr-defined]
    assert "has no `self.<path>` here that is the same layer" in finding.note  # type: ignore[attr-defined]


def test_setattr_named_layers_are_not_named_by_identity() -> None:
    finding = _only_finding(HEADER + """
class Net(nn.Module):
    def __init__(self, n=2):
        super().__init__()
        for i in range(n):
            setattr(self, f"fc{i}", nn.Linear(64, 64))
        self.head = nn.Linear(64, 1)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        return self.head(F.relu(self.fc1(F.relu(self.fc0(x)))))
""")
    # the head (a plain attribute, one layer) is the smaller group: it can still be named
    assert finding.fix is not None  # type: ignore[attr-defined]
    assert "if m is self.head:" in finding.fix.edits[0].text  # type: ignore[attr-defined]
    finding = _only_finding(HEADER + """
class Net(nn.Module):
    def __init__(self, n=2):
        super().__init__()
        self.fc0 = nn.Linear(64, 64)
        self.fc1 = nn.Linear(64, 64)
        self.add_module("head", nn.Linear(64, 1))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        return self.head(F.relu(self.fc1(F.relu(self.fc0(x)))))
""")
    # named by add_module: no attribute path is trusted; the two ReLU layers are, though
    assert finding.fix is not None  # type: ignore[attr-defined]
    assert "if m is self.fc0 or m is self.fc1:" in finding.fix.edits[0].text  # type: ignore[attr-defined]


def test_lazy_subclass_is_not_separated_by_class() -> None:
    """LazyLinear is a Linear: `isinstance(m, nn.Linear)` would catch both groups."""
    finding = _only_finding(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.LazyLinear(64)
        self.head = nn.Linear(64, 1)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.LazyLinear)):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        return self.head(F.relu(self.fc(x)))
""")
    assert finding.fix is not None  # type: ignore[attr-defined]
    text = finding.fix.edits[0].text  # type: ignore[attr-defined]
    assert "isinstance(m, nn.Linear)" not in text and "m is self." in text


def test_untracked_tensors_keep_the_original_call() -> None:
    """An Embedding in the tuple is not judged: it must fall into the else branch, which
    keeps the original call; only the norm group is tested by class."""
    source = HEADER + """
class LM(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(1000, 64)
        self.ln = nn.LayerNorm(64)
        self.fc = nn.Linear(64, 64)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding, nn.LayerNorm)):
            module.weight.data.normal_(mean=0.0, std=0.02)

    def forward(self, idx):
        return self.fc(self.ln(self.wte(idx)))
"""
    fixed = _fixed(source)
    assert ("            if isinstance(module, nn.LayerNorm):\n"
            "                nn.init.ones_(module.weight)\n"
            "            else:\n"
            "                module.weight.data.normal_(mean=0.0, std=0.02)\n") in fixed


def test_lambda_body_gets_a_parenthesized_conditional_expression() -> None:
    fixed = _fixed(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.apply(lambda m: nn.init.normal_(m.weight, 0.0, 0.02) if isinstance(
            m, (nn.Conv2d, nn.BatchNorm2d)) else None)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()
""")
    assert ("self.apply(lambda m: (nn.init.ones_(m.weight) if isinstance(m, nn.BatchNorm2d) "
            "else nn.init.normal_(m.weight, 0.0, 0.02)) if isinstance(") in fixed


def test_crlf_and_tabs_are_kept() -> None:
    source = HEADER.replace("\n", "\r\n") + (
        "class MLP(nn.Module):\r\n"
        "\tdef __init__(self):\r\n"
        "\t\tsuper().__init__()\r\n"
        "\t\tself.fc = nn.Linear(64, 64)\r\n"
        "\t\tself.head = nn.Linear(64, 1)\r\n"
        "\t\tfor m in self.modules():\r\n"
        "\t\t\tif isinstance(m, nn.Linear):\r\n"
        "\t\t\t\tnn.init.xavier_uniform_(m.weight)\r\n"
        "\r\n"
        "\tdef forward(self, x):\r\n"
        "\t\treturn self.head(F.relu(self.fc(x)))\r\n")
    fixed = _fixed(source)
    # one layer in each group: the one that keeps its call is the else branch
    assert ("\t\t\t\tif m is self.fc:\r\n"
            '\t\t\t\t\tnn.init.kaiming_uniform_(m.weight, nonlinearity="relu")\r\n'
            "\t\t\t\telse:\r\n"
            "\t\t\t\t\tnn.init.xavier_uniform_(m.weight)\r\n") in fixed
    assert "\n" not in fixed.replace("\r\n", "")


def test_two_findings_at_one_call_share_one_edit(tmp_path: Path) -> None:
    target = tmp_path / "convnet.py"
    shutil.copyfile(FIXTURES / "convnet_apply_lumped_norm_direct_classes.py", target)
    findings = check_path(target, Settings()).findings
    assert [f.code for f in findings] == ["INI004", "INI006"]
    assert findings[0].fix == findings[1].fix and findings[0].fix is not None
    result = fix_file(target, Settings())
    assert [f.code for f in result.applied] == ["INI004", "INI006"] and not result.unfixed
    assert target.read_bytes() == (FIXTURES / "fixed" / target.name.replace(
        "convnet", "convnet_apply_lumped_norm_direct_classes")).read_bytes()


def test_a_layer_not_under_self_gets_no_path() -> None:
    """A module passed in from elsewhere cannot be named from `self`."""
    import libcst as cst

    from init_lint.analysis import build_graph

    graph = build_graph(cst.parse_module(HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        probe = nn.Linear(64, 1)
        self.init_all(probe)
        self.init_all(self)

    def init_all(self, model):
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)

    def forward(self, x):
        return F.relu(self.fc(x))
"""))
    (site,) = graph.init_sites
    paths = {graph.layers[key].name: found for key, found in site.paths.items()}
    assert paths == {"fc": ((("attr", "fc"),),), "probe": None}


def test_isinstance_guard_makes_the_else_branch_dead() -> None:
    """A backbone we cannot see may reach the call, but only its BatchNorm2d layers get past
    the guard: ones_ is right for all of them, no branch is needed (transformers' style)."""
    source = HEADER + """from somewhere import load_backbone


class Head(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.backbone = load_backbone(config)
        self.conv = nn.Conv2d(256, 64, 3)
        self.norm = nn.BatchNorm2d(64)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.initializer_range)

    def forward(self, x):
        return F.relu(self.norm(self.conv(self.backbone(x))))
"""
    fixed = _fixed(source)
    assert ("        elif isinstance(module, nn.BatchNorm2d):\n"
            "            nn.init.ones_(module.weight)\n") in fixed
    # without the guard, tensors we cannot see keep the original call in an else branch
    unguarded = source.replace("""        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(""", """        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        if hasattr(module, "weight"):
            nn.init.normal_(""")
    findings = check_text(unguarded, Settings())
    assert [f.code for f in findings] == ["INI006"]
    assert findings[0].fix is not None
    assert findings[0].fix.edits[0].text == (
        "if isinstance(module, nn.BatchNorm2d):\n"
        "                nn.init.ones_(module.weight)\n"
        "            else:\n"
        "                nn.init.normal_(module.weight, mean=0.0, "
        "std=self.config.initializer_range)")

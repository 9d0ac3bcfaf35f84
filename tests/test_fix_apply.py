"""Fixes through the apply sites (``init_lint.rules.apply_fix``): a module-level init
function applied with ``<model>.apply(fn)`` gets the flagged layers' init, and each apply
statement is followed by statements for the layers that must end up otherwise.

Numeric tests build the fixed models with torch: each layer's weight std must be
``knowledge.recommended_std`` for its own activation, and layers that keep the original
call (unflagged, or activation unknown) must keep its distribution exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from init_lint.engine import FileResult, Settings, check_path, check_text
from init_lint.fixes import fix_text
from init_lint.knowledge import recommend, recommended_std

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _fixed(source: str, settings: Settings | None = None) -> str:
    settings = settings or Settings()
    findings = check_text(source, settings)
    assert findings and all(f.fixable for f in findings), [(f.code, f.note) for f in findings]
    result = fix_text(source, findings)
    assert len(result.applied) == len(findings) and not result.unfixed
    assert check_text(result.text, settings) == []  # check-after-fix: nothing left or new
    again = fix_text(result.text, check_text(result.text, settings))
    assert not again.changed and again.text == result.text  # a second fix changes nothing
    return result.text


def _namespace(source: str) -> dict[str, object]:
    torch = pytest.importorskip("torch")
    namespace: dict[str, object] = {}
    torch.manual_seed(0)
    exec(compile(source, "<fixed>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace


def _std(weight: object) -> float:
    return float(weight.detach().float().std())  # type: ignore[attr-defined]


def _he(fan_in: int, fan_out: int) -> float:
    return recommended_std(recommend("relu", None), fan_in, fan_out)


def _xavier(fan_in: int, fan_out: int) -> float:
    return float((2 / (fan_in + fan_out)) ** 0.5)


def _fixture_fixed(name: str) -> str:
    fixed = _fixed((FIXTURES / name).read_text())
    assert fixed == (FIXTURES / "fixed" / name).read_text()
    return fixed


# --- the fixtures, with torch ---------------------------------------------------------


def test_one_class_relu_layers_get_he_the_head_keeps_xavier() -> None:
    fixed = _fixture_fixed("mnist_mlp_init_fn_head_kept.py")
    assert '        init.kaiming_normal_(m.weight, nonlinearity="relu")' in fixed
    assert "        self.apply(init_weights)\n        init.xavier_normal_(self.out.weight)\n" \
        in fixed
    cls = _namespace(fixed)["MnistMLP"]
    model = cls(hidden=1024)  # type: ignore[operator]
    assert _std(model.fc1.weight) == pytest.approx(_he(784, 1024), rel=0.05)
    assert _std(model.fc2.weight) == pytest.approx(_he(1024, 1024), rel=0.05)
    assert _std(model.fc3.weight) == pytest.approx(_he(1024, 1024), rel=0.05)
    assert _std(model.out.weight) == pytest.approx(_xavier(1024, 10), rel=0.1)


def test_two_classes_each_name_their_own_kept_layers() -> None:
    source = (FIXTURES / "rl_shared_init_fn_two_networks.py").read_text()
    fixed = _fixture_fixed("rl_shared_init_fn_two_networks.py")
    assert fixed.count("self.apply(layer_init)\n") == 2
    assert "        self.apply(layer_init)\n        nn.init.xavier_uniform_(self.q.weight)\n" \
        in fixed
    assert ("        self.apply(layer_init)\n        nn.init.xavier_uniform_(self.value.weight)\n"
            "        nn.init.xavier_uniform_(self.advantage.weight)\n") in fixed
    # the helper module does not exist here: run it without the import
    namespace = _namespace(fixed.replace("from agent_utils import noisy_scale\n", ""))
    torch = pytest.importorskip("torch")
    q = namespace["QNetwork"](1024, 16, hidden=1024)  # type: ignore[operator]
    assert _std(q.torso[0].weight) == pytest.approx(_he(1024, 1024), rel=0.05)
    assert _std(q.torso[2].weight) == pytest.approx(_he(1024, 1024), rel=0.05)
    assert _std(q.q.weight) == pytest.approx(_xavier(1024, 16), rel=0.1)
    dueling = namespace["DuelingQNetwork"](1024, 64, hidden=1024)  # type: ignore[operator]
    assert _std(dueling.fc.weight) == pytest.approx(_he(1024, 1024), rel=0.05)
    assert _std(dueling.value.weight) == pytest.approx(_xavier(1024, 1), rel=0.1)
    # activation unknown: exactly the original distribution (uniform at Xavier's bound)
    bound = 6 ** 0.5 / (1024 + 64) ** 0.5
    advantage = dueling.advantage.weight.detach()
    assert float(advantage.abs().max()) <= bound
    assert _std(advantage) == pytest.approx(_xavier(1024, 64), rel=0.05)
    # and the original file gave it the same: the statement after `.apply` reproduces it
    original = _namespace(source.replace("from agent_utils import noisy_scale\n", ""))
    before = original["DuelingQNetwork"](1024, 64, hidden=1024)  # type: ignore[operator]
    assert _std(before.advantage.weight) == pytest.approx(_std(advantage), rel=0.05)
    assert torch.all(before.advantage.bias == 0)


def test_module_level_model_output_of_unknown_use_keeps_its_std() -> None:
    fixed = _fixture_fixed("script_module_level_model_apply.py")
    assert "model.apply(init_weights)\nnn.init.normal_(model.layers[2].weight, std=0.5)\n" \
        in fixed
    # run the script's model part only (no training loop)
    head, _, _ = fixed.partition("optimizer = ")
    model = _namespace(head)["model"]
    layers = model.layers  # type: ignore[attr-defined]
    assert _std(layers[0].weight) == pytest.approx(_he(256, 256), rel=0.05)
    assert _std(layers[1].weight) == pytest.approx(_he(256, 256), rel=0.05)
    assert _std(layers[2].weight) == pytest.approx(0.5, rel=0.15)  # 256 draws of N(0, .5)


def test_tanh_and_sigmoid_autoencoder_every_layer_gets_its_own_init() -> None:
    """He in the function would be flagged on the sigmoid layer (INI003 via the tanh gain
    name): the fix that passes its own re-check puts Xavier (gain 1, right for sigmoid) in
    the function and the tanh gain after `self.apply`."""
    fixed = _fixture_fixed("autoencoder_tanh_kaiming_apply.py")
    model = _namespace(fixed)["DenseAutoencoder"](input_dim=1024)  # type: ignore[operator]
    tanh = 5 / 3
    assert _std(model.encoder[0].weight) == pytest.approx(tanh * _xavier(1024, 256), rel=0.05)
    assert _std(model.encoder[2].weight) == pytest.approx(tanh * _xavier(256, 32), rel=0.1)
    assert _std(model.decoder[0].weight) == pytest.approx(tanh * _xavier(32, 256), rel=0.1)
    assert _std(model.decoder[2].weight) == pytest.approx(_xavier(256, 1024), rel=0.05)


# --- when there is no such fix, and why ------------------------------------------------


def test_function_handed_to_code_we_cannot_see_is_not_fixed() -> None:
    (finding,) = check_path(FIXTURES / "init_fn_handed_to_unseen_trainer.py",
                            Settings()).findings
    assert finding.fix is None and finding.note is not None
    assert "`init_weights` is used other than as `<model>.apply(init_weights)`" in finding.note


HEADER = """import torch
import torch.nn as nn
import torch.nn.functional as F


def init_fn(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
"""


def test_a_kept_layer_without_a_stable_path_blocks_the_fix() -> None:
    """The layers built in the loop have no activation we know (from a dict) and no index
    valid for every depth: they must keep the call, so the function keeps it, and the
    flagged ReLU layer cannot be fixed there."""
    findings = check_text(HEADER + """

ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh}


class Net(nn.Module):
    def __init__(self, depth=3, act="relu"):
        super().__init__()
        layers = [nn.Linear(64, 64), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Linear(64, 64), ACTS[act]()]
        self.net = nn.Sequential(*layers)
        self.apply(init_fn)

    def forward(self, x):
        return self.net(x)
""", Settings())
    assert [f.code for f in findings] == ["INI002"]
    assert findings[0].fix is None and findings[0].note is not None
    assert "has no path from `self`" in findings[0].note


def test_arguments_naming_a_local_value_block_the_fix() -> None:
    source = HEADER.replace("        nn.init.xavier_uniform_(m.weight)\n",
                            "        g = 1.0\n        nn.init.xavier_uniform_(m.weight, gain=g)\n")
    findings = check_text(source + """

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.head = nn.Linear(64, 1)
        self.apply(init_fn)

    def forward(self, x):
        return self.head(F.relu(self.fc(x)))
""", Settings())
    assert findings[0].fix is None
    assert "use `g`, which is not a module-level name" in (findings[0].note or "")


def test_apply_inside_a_function_on_a_local_model() -> None:
    fixed = _fixed(HEADER + """

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1024, 1024)
        self.head = nn.Linear(1024, 8)

    def forward(self, x):
        return self.head(F.relu(self.fc(x)))


def build():
    net = Net()
    net.apply(init_fn)
    return net


if __name__ == "__main__":
    build()
""")
    assert "    net.apply(init_fn)\n    nn.init.xavier_uniform_(net.head.weight)\n" in fixed
    net = _namespace(fixed)["build"]()  # type: ignore[operator]
    assert _std(net.fc.weight) == pytest.approx(_he(1024, 1024), rel=0.05)
    assert _std(net.head.weight) == pytest.approx(_xavier(1024, 8), rel=0.1)


def test_crlf_and_no_final_newline_are_kept() -> None:
    source = (HEADER + """

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.head = nn.Linear(64, 1)

    def forward(self, x):
        return self.head(F.relu(self.fc(x)))


model = Net()
model.apply(init_fn)""").replace("\n", "\r\n")
    fixed = _fixed(source)
    assert fixed.endswith("model.apply(init_fn)\r\nnn.init.xavier_uniform_(model.head.weight)")
    assert "\n" not in fixed.replace("\r\n", "")


def test_only_enabled_rules_decide_the_layers() -> None:
    """With INI002 ignored nothing at that call is flagged; with INI004 ignored a std
    finding elsewhere does not change what the INI002 fix does."""
    source = (FIXTURES / "mnist_mlp_init_fn_head_kept.py").read_text()
    assert check_text(source, Settings(ignore=("INI002",))) == []
    from init_lint.config import with_enabled_codes

    settings = with_enabled_codes(Settings(ignore=("INI004",)))
    assert _fixed(source, settings) == (FIXTURES / "fixed" /
                                        "mnist_mlp_init_fn_head_kept.py").read_text()


# --- the fix as data --------------------------------------------------------------------


def test_multi_edit_fix_serializes_to_json_and_sarif() -> None:
    from init_lint.report import format_json, format_sarif
    from init_lint.rules import ALL_RULES

    path = FIXTURES / "rl_shared_init_fn_two_networks.py"
    result = check_path(path, Settings())
    fix = result.findings[0].fix
    assert fix is not None and len(fix.edits) == 3  # the call, and after each `.apply`
    assert [e.start == e.end for e in fix.edits] == [False, True, True]
    records = json.loads(format_json([result]))
    assert [len(r["fix"]["edits"]) for r in records] == [3]
    sarif = json.loads(format_sarif([FileResult(str(path), result.findings)], rules=ALL_RULES,
                                    enabled=("INI002",), base=FIXTURES))
    changes = sarif["runs"][0]["results"][0]["fixes"][0]["artifactChanges"][0]["replacements"]
    assert len(changes) == 3


def test_edits_of_one_fix_apply_together_or_not_at_all() -> None:
    from dataclasses import replace

    from init_lint.findings import Edit, Fix, Position

    source = (FIXTURES / "mnist_mlp_init_fn_head_kept.py").read_text()
    (finding,) = check_text(source, Settings())
    assert finding.fix is not None and len(finding.fix.edits) == 2
    at = finding.fix.edits[1].start
    lines = source.splitlines(keepends=True)
    same = lines[at.line - 2] + lines[at.line - 1]  # the apply line and the next, unchanged
    # another fix (first in the file) replacing the text around the place of the statement:
    # the whole fix stays out, the call edit too
    blocker = replace(finding, code="INI004", start=Position(1, 0), fix=Fix("x", (
        Edit(Position(at.line - 1, 0), Position(at.line + 1, 0), same),)))
    result = fix_text(source, [blocker, finding])
    assert [f.code for f in result.applied] == ["INI004"]
    assert result.text.count("kaiming_normal_") == 0  # the call edit did not go in alone

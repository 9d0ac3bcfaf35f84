"""The audit subcommand end to end: a tiny argparse parser calling add_audit_command, a model
file written to a temporary directory, exit codes 0 / 1 / 2 and one-line errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")

from init_lint.runtime.cli import add_audit_command, parse_shape  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

MODEL_FILE = textwrap.dedent('''
    import torch.nn as nn
    from torch.nn import functional as F

    def xavier_relu_mlp():
        layers = []
        for _ in range(12):
            layer = nn.Linear(256, 256)
            nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
            layers += [layer, nn.ReLU()]
        head = nn.Linear(256, 10)
        nn.init.xavier_normal_(head.weight)
        return nn.Sequential(*layers, head)

    class SmallCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
            self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
            self.fc = nn.Linear(16 * 8 * 8, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            return self.fc(x.flatten(1))

    def broken():
        raise RuntimeError("cannot build\\nsecond line")

    def not_a_model():
        return 42

    NOT_CALLABLE = 3
''')


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="init-lint")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_audit_command(subparsers)
    args = parser.parse_args(argv)
    code = args.handler(args)
    assert isinstance(code, int)
    return code


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "models.py"
    path.write_text(MODEL_FILE)
    return path


def test_audit_flags_a_vanishing_model_and_exits_1(model_file: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["audit", f"{model_file}:xavier_relu_mlp", "--input-shape", "512,256"])
    out = capsys.readouterr().out
    assert code == 1
    assert "vanishing activations" in out and "Linear(256, 256)" in out


def test_apply_prints_before_and_after_and_exits_0(model_file: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    plot = tmp_path / "out" / "audit.png"
    code = run(["audit", f"{model_file}:xavier_relu_mlp", "--input-shape", "512,256",
                "--apply", "--plot", str(plot), "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "init_model:" in out and "kaiming_normal_" in out
    assert "before: out std" in out and "after: out std" in out
    assert "flags: none" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_json_output_and_a_class_factory(model_file: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["audit", f"{model_file}:SmallCNN", "--input-shape", "64,3,8,8", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    assert [row["name"] for row in data["audit"]["layers"]] == ["conv1", "conv2", "fc"]
    assert data["audit"]["layers"][0]["activation"] == "relu"  # F.relu, seen through fx


@pytest.mark.parametrize(("target", "shape", "message"), [
    ("{file}:xavier_relu_mlp", "512,x", "is not a shape"),
    ("{file}:xavier_relu_mlp", "0,256", "is not a shape"),
    ("{dir}/missing.py:make", "8,256", "no such file"),
    ("{file}", "8,256", "is not PATH:FACTORY"),
    ("{file}:nope", "8,256", "has no attribute 'nope'"),
    ("{file}:NOT_CALLABLE", "8,256", "is not a function or a class"),
    ("{file}:broken", "8,256", "RuntimeError: cannot build"),
    ("{file}:not_a_model", "8,256", "returned int, not a torch.nn.Module"),
    ("{file}:SmallCNN", "8,256", "random input of shape (8, 256) failed"),
])
def test_errors_exit_2_with_one_line(model_file: Path, capsys: pytest.CaptureFixture[str],
                                     target: str, shape: str, message: str) -> None:
    argv = ["audit", target.format(file=model_file, dir=model_file.parent),
            "--input-shape", shape]
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("init-lint audit: error:")
    assert message in lines[0]


def test_import_error_in_the_model_file_exits_2(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.py"
    path.write_text("import not_a_module_anywhere\n")
    assert run(["audit", f"{path}:make", "--input-shape", "4,4"]) == 2
    assert "ModuleNotFoundError" in capsys.readouterr().err


def test_model_file_can_import_its_neighbours(tmp_path: Path) -> None:
    (tmp_path / "blocks.py").write_text("import torch.nn as nn\nWIDTH = 16\n")
    (tmp_path / "net.py").write_text(
        "import torch.nn as nn\nfrom blocks import WIDTH\n"
        "def make():\n    return nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.ReLU(),"
        " nn.Linear(WIDTH, 2))\n")
    assert run(["audit", f"{tmp_path / 'net.py'}:make", "--input-shape", "256,16"]) in (0, 1)


def test_parse_shape() -> None:
    assert parse_shape("8, 3,32,32") == (8, 3, 32, 32)
    assert parse_shape("256") == (256,)


def test_registration_does_not_import_torch_and_the_command_runs_as_a_module(
        model_file: Path) -> None:
    code = textwrap.dedent('''
        import argparse, sys
        from init_lint.runtime.cli import add_audit_command
        parser = argparse.ArgumentParser()
        add_audit_command(parser.add_subparsers())
        assert "torch" not in sys.modules, "registration imported torch"
        print("ok")
    ''')
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, cwd=REPO, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "init_lint.runtime.cli", "audit",
         f"{model_file}:xavier_relu_mlp", "--input-shape", "256,256"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "vanishing activations" in result.stdout

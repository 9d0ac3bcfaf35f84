"""Helpers of the front-end tests: where things are, ``# expect:`` markers, subprocess runs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"

#: ``# expect: INI001`` or ``# expect: INI001, INI004`` as a trailing comment.
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>INI\d{3}(?:\s*,\s*INI\d{3})*)")

#: The same Python that runs pytest, so subprocesses see the same installed packages.
PYTHON = sys.executable
CLI = [PYTHON, "-m", "init_lint"]
FLAKE8 = [PYTHON, "-m", "flake8"]


def fixture_files() -> list[Path]:
    """Every model in fixtures/: all ``*.py`` except under ``expected``/``fixed`` folders."""
    if not FIXTURES.is_dir():
        return []
    return sorted(
        path
        for path in FIXTURES.rglob("*.py")
        if not {"expected", "fixed", "__pycache__"} & set(path.relative_to(FIXTURES).parts)
    )


def expected_markers(source: str, code: str | None = None) -> set[tuple[int, str]]:
    """``{(line, code)}`` of the ``# expect:`` markers in ``source`` (of one code, if given)."""
    found: set[tuple[int, str]] = set()
    for number, line in enumerate(source.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match is None:
            continue
        for marked in re.split(r"\s*,\s*", match.group("codes")):
            if code is None or marked == code:
                found.add((number, marked))
    return found


def run(
    command: Sequence[str], cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing text output; never raises on a non-zero exit."""
    return subprocess.run(
        list(command),
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output


# A small ReLU MLP whose hidden layer gets Xavier: INI002 (DESIGN.md) on line 8, column 9
# (1-based). Its head gets Xavier too, which is right (no activation follows): not flagged.
XAVIER_RELU_MLP = """\
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        nn.init.xavier_uniform_(self.fc1.weight)
        self.fc2 = nn.Linear(256, 10)
        nn.init.xavier_uniform_(self.fc2.weight)

    def forward(self, x):
        return self.fc2(nn.functional.relu(self.fc1(x)))
"""
XAVIER_RELU_LINE = 8
XAVIER_RELU_COL = 9

# The same model initialized right: He before the ReLU, Xavier on the head.
HE_RELU_MLP = XAVIER_RELU_MLP.replace(
    "nn.init.xavier_uniform_(self.fc1.weight)",
    'nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")',
)

# A plain stack of five Linear+ReLU pairs on PyTorch's default init: INI005 (opt-in).
DEEP_RELU_STACK = """\
import torch.nn as nn

model = nn.Sequential(
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 64), nn.ReLU(),
    nn.Linear(64, 10),
)
"""

"""``init-lint fix``: before/after pairs, byte-exact safety, idempotence, refusals.

``fixtures/fixed/`` holds, for every fixture with a fixable finding, the file exactly as
the fixer must leave it (including CRLF, a BOM, a latin-1 file and a file without a
trailing newline under ``fixtures/encodings/``).
"""

from __future__ import annotations

import difflib
import io
import os
import shutil
import stat
from pathlib import Path

import pytest

from init_lint import fixes
from init_lint.engine import Settings, check_path, check_text
from init_lint.findings import Edit, Finding, Fix, Position
from init_lint.fix_command import run_fix
from init_lint.fixes import FileChangedError, fix_file, fix_text, write_atomically

FIXTURES = Path(__file__).parent.parent / "fixtures"
FIXED = FIXTURES / "fixed"
PAIRS = sorted(p.relative_to(FIXED) for p in FIXED.rglob("*.py"))
SETTINGS = Settings(extend_select=("INI005",))


def test_every_fixable_fixture_has_its_fixed_counterpart() -> None:
    fixable = []
    for path in sorted(FIXTURES.rglob("*.py")):
        if FIXED in path.parents:
            continue
        result = check_path(path, SETTINGS)
        if any(f.fixable for f in result.findings):
            fixable.append(path.relative_to(FIXTURES))
    assert fixable == PAIRS
    assert len(PAIRS) >= 25


@pytest.mark.parametrize("relative", PAIRS, ids=str)
def test_fix_turns_the_fixture_into_its_fixed_counterpart(relative: Path,
                                                          tmp_path: Path) -> None:
    target = tmp_path / relative.name
    shutil.copyfile(FIXTURES / relative, target)
    before = check_path(target, SETTINGS).findings
    result = fix_file(target, SETTINGS)
    assert result.error is None and result.written
    assert target.read_bytes() == (FIXED / relative).read_bytes()
    # check after fix: none of the fixed findings is reported again, the rest still is
    after = check_path(target, SETTINGS).findings
    assert len(after) == len(before) - len(result.applied)
    assert {f.code for f in after if f.fixable} == set()
    # idempotent: a second run changes nothing
    again = fix_file(target, SETTINGS)
    assert not again.applied and not again.written
    assert target.read_bytes() == (FIXED / relative).read_bytes()


def _changed_lines(before: bytes, after: bytes) -> int:
    """Lines of ``after`` that are new or different (insertions counted, not shifts)."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(),
                                      autojunk=False)
    return sum(j2 - j1 for tag, _, _, j1, j2 in matcher.get_opcodes() if tag != "equal")


@pytest.mark.parametrize("relative", PAIRS, ids=str)
def test_only_the_flagged_calls_and_imports_change(relative: Path) -> None:
    before = (FIXTURES / relative).read_bytes()
    after = (FIXED / relative).read_bytes()
    findings = check_path(FIXTURES / relative, SETTINGS).findings
    # each flagged call's line becomes the lines of its replacement (one, or the branches
    # of a split fix); findings that share a call share its edit
    edits = {edit for f in findings if f.fix is not None for edit in f.fix.edits}
    new_lines = sum(len(edit.text.splitlines()) or 1 for edit in edits)
    imports = len({imp for f in findings if f.fix is not None for imp in f.fix.imports})
    assert _changed_lines(before, after) <= new_lines + imports


def test_crlf_bom_latin1_and_missing_final_newline_survive() -> None:
    crlf = (FIXED / "encodings" / "crlf_mlp.py").read_bytes()
    assert crlf.count(b"\r\n") == crlf.count(b"\n") > 10
    assert (FIXED / "encodings" / "bom_mlp.py").read_bytes().startswith(b"\xef\xbb\xbf")
    latin1 = (FIXED / "encodings" / "latin1_mlp.py").read_bytes()
    assert latin1.startswith(b"# -*- coding: latin-1 -*-\n")
    assert "Réseau".encode("latin-1") in latin1
    assert not (FIXED / "encodings" / "no_trailing_newline.py").read_bytes().endswith(b"\n")


def test_fix_keeps_file_permissions(tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    shutil.copyfile(FIXTURES / "mlp_xavier_before_relu.py", target)
    os.chmod(target, 0o640)
    assert fix_file(target, SETTINGS).written
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_diff_mode_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    shutil.copyfile(FIXTURES / "mlp_xavier_before_relu.py", target)
    before = target.read_bytes()
    out, err = io.StringIO(), io.StringIO()
    status = run_fix([target], SETTINGS, diff=True, out=out, err=err)
    assert target.read_bytes() == before
    assert status == 1
    assert f"--- a/{target}" in out.getvalue()
    assert '+        nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")' in (
        out.getvalue())
    assert "would fix 2 findings in 1 file(s)" in err.getvalue()


def test_fix_command_reports_files_and_the_unfixed(tmp_path: Path) -> None:
    fixable = tmp_path / "fixable.py"
    shutil.copyfile(FIXTURES / "mlp_xavier_before_relu.py", fixable)
    mixed = tmp_path / "mixed.py"
    shutil.copyfile(FIXTURES / "module_level_init_not_separable.py", mixed)
    out, err = io.StringIO(), io.StringIO()
    status = run_fix([fixable, mixed], Settings(), out=out, err=err)
    assert status == 1  # mixed.py keeps a finding that has no certain fix
    assert out.getvalue() == f"{fixable}: fixed 2 (INI002 x2)\n"
    assert "fixed 2 findings in 1 file(s); 1 left unfixed" in err.getvalue()
    assert (f"{mixed}:12:9: INI002 left unfixed: the layers it reaches want different "
            'inits (the original call for l3; kaiming_uniform_(nonlinearity="relu") for l1, '
            "l2); their classes do not tell them apart, and this function has no `self` to "
            "name them by (`m is self.<layer>`)") in err.getvalue()
    # nothing left to fix in the fixable file: exit 0
    assert run_fix([fixable], Settings(), out=io.StringIO(), err=io.StringIO()) == 0


def test_file_changed_on_disk_is_left_alone(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "model.py"
    shutil.copyfile(FIXTURES / "mlp_xavier_before_relu.py", target)
    real_fix_text = fixes.fix_text

    def edit_meanwhile(text: str, findings: list[Finding]) -> fixes.FixedText:
        target.write_text(text + "\n# edited in the editor meanwhile\n")
        return real_fix_text(text, findings)

    monkeypatch.setattr(fixes, "fix_text", edit_meanwhile)
    result = fix_file(target, SETTINGS)
    assert result.error == "changed on disk while it was being fixed; left alone"
    assert not result.written
    assert target.read_text().endswith("# edited in the editor meanwhile\n")
    assert [p.name for p in tmp_path.iterdir()] == ["model.py"]  # no temporary left


def test_write_is_refused_when_the_expected_content_differs(tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    target.write_text("x = 1\n")
    with pytest.raises(FileChangedError):
        write_atomically(target, b"x = 2\n", b"something else\n")
    assert target.read_text() == "x = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.py"]


def test_a_fix_that_would_not_parse_is_not_applied() -> None:
    source = "import torch.nn as nn\nw = None\nnn.init.zeros_(w)\n"
    broken = Finding("INI001", "zero", Position(3, 0), Position(3, 17),
                     Fix("break it", (Edit(Position(3, 0), Position(3, 17), "nn.init.("),)))
    result = fix_text(source, [broken])
    assert result.text == source and not result.applied
    assert "would not parse" in result.unfixed[0].reason


def test_overlapping_fixes_apply_once() -> None:
    source = "a = 1\n"
    first = Finding("INI001", "m", Position(1, 4), Position(1, 5),
                    Fix("two", (Edit(Position(1, 4), Position(1, 5), "2"),)))
    second = Finding("INI004", "m", Position(1, 4), Position(1, 5),
                     Fix("three", (Edit(Position(1, 4), Position(1, 5), "3"),)))
    result = fix_text(source, [first, second])
    assert result.text == "a = 2\n"
    assert [u.reason for u in result.unfixed] == ["overlaps another fix"]


def test_added_import_never_shadows_a_name_in_use() -> None:
    # `init` is a local name here, so the fixer may not bind `init`; it imports torch.
    source = '''from torch.nn import Linear, Module
import torch.nn.functional as F


def build(init=0.1):
    return init


class Net(Module):
    def __init__(self):
        super().__init__()
        self.fc = Linear(16, 16)
        self.out = Linear(16, 1)
        self.fc.weight.data.normal_(0, 1)

    def forward(self, x):
        return self.out(F.relu(self.fc(x)))
'''
    findings = check_text(source, Settings())
    assert [f.code for f in findings] == ["INI004"]
    result = fix_text(source, findings)
    assert result.applied
    assert result.text.startswith(
        "from torch.nn import Linear, Module\nimport torch.nn.functional as F\nimport torch\n")
    assert 'torch.nn.init.kaiming_normal_(self.fc.weight, nonlinearity="relu")' in result.text
    assert "def build(init=0.1):" in result.text


def test_cli_fix_writes_reports_and_exits_by_what_is_left(tmp_path: Path) -> None:
    import subprocess
    import sys

    shutil.copyfile(FIXTURES / "mlp_xavier_before_relu.py", tmp_path / "mlp.py")
    shutil.copyfile(FIXTURES / "module_level_init_not_separable.py", tmp_path / "actor.py")
    command = [sys.executable, "-m", "init_lint", "fix"]
    diff = subprocess.run(command + ["--diff", "."], cwd=tmp_path, capture_output=True,
                          text=True)
    assert diff.returncode == 1 and "+++ b/mlp.py" in diff.stdout
    original = (FIXTURES / "mlp_xavier_before_relu.py").read_bytes()
    assert (tmp_path / "mlp.py").read_bytes() == original
    done = subprocess.run(command + ["."], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr  # actor.py keeps an unfixable finding
    assert done.stdout == "mlp.py: fixed 2 (INI002 x2)\n"
    assert ("actor.py:12:9: INI002 left unfixed: the layers it reaches want different "
            "inits (the original call for l3;") in done.stderr
    assert "Traceback" not in done.stderr
    only_fixable = subprocess.run(command + ["mlp.py"], cwd=tmp_path, capture_output=True,
                                  text=True)
    assert only_fixable.returncode == 0 and only_fixable.stdout == ""


def test_json_findings_carry_the_fix_with_its_range(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    # the file imports its initializers by name: the fix imports the new one the same way
    (tmp_path / "mlp.py").write_text(
        "import torch.nn.functional as F\n"
        "from torch.nn import Linear, Module\n"
        "from torch.nn.init import xavier_uniform_\n\n\n"
        "class MLP(Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.lin1 = Linear(64, 64)\n"
        "        self.lin2 = Linear(64, 1)\n"
        "        xavier_uniform_(self.lin1.weight)\n\n"
        "    def forward(self, x):\n"
        "        return self.lin2(F.relu(self.lin1(x)))\n")
    result = subprocess.run([sys.executable, "-m", "init_lint", "check", "--format", "json",
                             "mlp.py"], cwd=tmp_path, capture_output=True, text=True)
    (record,) = json.loads(result.stdout)
    fix = record["fix"]
    assert fix["imports"] == [["torch.nn.init", "kaiming_uniform_"]]
    call, import_line = fix["edits"]
    assert (call["line"], call["col"]) == (record["line"], record["col"])
    assert call["text"] == 'kaiming_uniform_(self.lin1.weight, nonlinearity="relu")'
    assert "from torch.nn.init import kaiming_uniform_, xavier_uniform_" in import_line["text"]

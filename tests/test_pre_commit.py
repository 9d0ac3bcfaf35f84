"""The pre-commit hooks: the manifest, and ``pre-commit try-repo`` end to end.

``try-repo`` installs the hook's package into a fresh virtualenv from a git repository, so
the end-to-end test uses a temporary clone of this repository's committed ``HEAD`` (not
the working tree) and runs the hook in a temporary git repository holding a model with a
finding. pip fetches init-lint's dependencies (libcst, flake8) from the package index; the
test is skipped, with the reason printed, only when that index cannot be reached or
``pre-commit`` is not installed. It takes ~10 s (pre-commit rebuilds the environment on
every ``try-repo``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from _support import HE_RELU_MLP, REPO, XAVIER_RELU_LINE, XAVIER_RELU_MLP

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

yaml = pytest.importorskip("yaml")  # PyYAML comes with pre-commit (the test extra)

MANIFEST = REPO / ".pre-commit-hooks.yaml"
#: Packages of the torch extra: never installed with the linter itself.
HEAVY = ("torch", "numpy", "matplotlib")


def test_manifest_declares_the_check_and_fix_hooks() -> None:
    hooks = {hook["id"]: hook for hook in yaml.safe_load(MANIFEST.read_text())}
    assert set(hooks) == {"init-lint", "init-lint-fix"}
    assert hooks["init-lint"]["entry"] == "init-lint check"
    assert hooks["init-lint-fix"]["entry"] == "init-lint fix"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types"] == ["python"]
        assert hook["name"].startswith("init-lint")


def test_manifest_is_valid_for_pre_commit() -> None:
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    result = subprocess.run(["pre-commit", "validate-manifest", str(MANIFEST)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_installing_the_package_pulls_neither_torch_nor_its_extra() -> None:
    # What the hook's virtualenv gets: [project] dependencies, no extras.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()
             for requirement in project["dependencies"]]
    assert "libcst" in names and "flake8" in names
    assert not set(names) & set(HEAVY)


def package_index() -> str:
    return os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def index_unreachable() -> str | None:
    """Why the package index cannot be reached, or None when it can."""
    url = f"{package_index()}/libcst/"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - fixed URL
            response.read(1)
    except Exception as exc:  # noqa: BLE001 - any failure means: cannot install from it
        return f"the package index is unreachable ({url}: {exc})"
    return None


def git(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=init-lint tests", "-c", "user.email=tests@invalid",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def skip_with_reason(reason: str) -> None:
    """Skip; pytest prints the reason in its summary (``-rs`` in pyproject.toml)."""
    pytest.skip(reason)


def test_pre_commit_try_repo_runs_the_hook_on_a_temporary_repository(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None:
        skip_with_reason("pre-commit is not installed (pip install -e '.[test]')")
    if shutil.which("git") is None or not (REPO / ".git").exists():
        skip_with_reason(f"{REPO} is not a git checkout")
    unreachable = index_unreachable()
    if unreachable:
        skip_with_reason(unreachable)

    # The hook source: this repository's committed HEAD.
    source = tmp_path / "init-lint"
    git("clone", "--quiet", str(REPO), str(source), cwd=tmp_path)
    assert (source / ".pre-commit-hooks.yaml").is_file(), (
        ".pre-commit-hooks.yaml is not committed at HEAD"
    )

    # A project with a model that has a finding, a clean one, and an excluded one.
    project = tmp_path / "project"
    project.mkdir()
    git("init", "--quiet", cwd=project)
    (project / "model.py").write_text(XAVIER_RELU_MLP)
    (project / "clean.py").write_text(HE_RELU_MLP)
    (project / "generated").mkdir()
    (project / "generated" / "model.py").write_text(XAVIER_RELU_MLP)
    (project / "pyproject.toml").write_text('[tool.init-lint]\nexclude = ["generated"]\n')
    git("add", ".", cwd=project)
    git("commit", "--quiet", "-m", "models", cwd=project)

    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "PRE_COMMIT_COLOR": "never"}
    started = time.perf_counter()
    result = subprocess.run(
        ["pre-commit", "try-repo", str(source), "init-lint", "--color", "never",
         "--files", "model.py", "clean.py", "generated/model.py"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    elapsed = time.perf_counter() - started
    print(f"pre-commit try-repo took {elapsed:.1f}s")  # shown with pytest -s
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r"^init-lint\.+Failed$", result.stdout, re.MULTILINE), output
    assert "- hook id: init-lint" in result.stdout
    flagged = re.findall(r"^(\S+?):(\d+):\d+: (INI\d{3}) ", result.stdout, re.MULTILINE)
    assert ("model.py", str(XAVIER_RELU_LINE), "INI002") in flagged
    assert {path for path, _, _ in flagged} == {"model.py"}  # clean; excluded by config
    assert "Traceback" not in output
    assert elapsed < 300, f"pre-commit try-repo took {elapsed:.0f}s"

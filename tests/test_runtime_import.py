"""init_lint.runtime without torch: a helpful ImportError; with torch, importing the package
does not import torch until an API is used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120)


def test_runtime_without_torch_raises_import_error_with_install_hint() -> None:
    result = run_python('''
        import sys
        sys.modules["torch"] = None  # as if torch were not installed
        try:
            import init_lint.runtime
        except ImportError as exc:
            print(exc)
        else:
            print("imported")
    ''')
    assert 'pip install "init-lint[torch]"' in result.stdout, result.stderr


def test_runtime_without_torch_behind_a_blocking_import_finder() -> None:
    result = run_python('''
        import sys
        from importlib.abc import MetaPathFinder

        class NoTorch(MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, NoTorch())
        import init_lint, init_lint.knowledge  # the static side never needs torch
        try:
            from init_lint.runtime import initializer_for
        except ImportError as exc:
            print(exc)
        try:
            from init_lint.runtime.cli import add_audit_command
        except ImportError as exc:
            print("cli:", exc)
    ''')
    lines = result.stdout.splitlines()
    assert len(lines) == 2, (result.stdout, result.stderr)
    assert 'pip install "init-lint[torch]"' in lines[0]
    assert lines[1].startswith("cli:") and "init-lint[torch]" in lines[1]


def test_importing_the_runtime_package_is_lazy_about_torch() -> None:
    result = run_python('''
        import sys
        import init_lint.runtime as runtime
        print("torch" in sys.modules)
        runtime.initializer_for("relu")
        print("torch" in sys.modules)
    ''')
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_static_side_does_not_import_the_runtime() -> None:
    result = run_python('''
        import sys
        import init_lint, init_lint.knowledge
        print(sorted(m for m in sys.modules if m.startswith(("torch", "init_lint.runtime"))))
    ''')
    assert result.stdout.strip() == "[]", result.stderr

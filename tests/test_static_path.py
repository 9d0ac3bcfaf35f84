"""The static side never imports torch: not on import, not when the CLI runs a check.

Each case runs in a fresh interpreter, since this one may have imported torch already.
"""

from __future__ import annotations

import textwrap

from _support import FIXTURES, PYTHON, run


def run_python(code: str) -> None:
    result = run([PYTHON, "-c", textwrap.dedent(code)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_engine_cli_and_flake8_plugin_does_not_import_torch() -> None:
    run_python(
        """
        import sys
        import init_lint.engine, init_lint.cli, init_lint.flake8_plugin, init_lint.report
        assert "torch" not in sys.modules, "torch was imported"
        """
    )


def test_running_check_rules_and_explain_does_not_import_torch() -> None:
    # Building the parser also registers ``audit`` from init_lint.runtime.cli, which must
    # keep its torch import for when the command runs.
    run_python(
        f"""
        import sys
        from init_lint.cli import main
        assert main(["rules"]) == 0
        assert main(["explain", "INI002"]) == 0
        assert main(["check", "-j", "1", {str(FIXTURES)!r}]) in (0, 1)
        assert "torch" not in sys.modules, "torch was imported"
        """
    )


def test_flake8_plugin_run_does_not_import_torch() -> None:
    run_python(
        f"""
        import sys
        from flake8.main.cli import main
        try:
            main(["--select=INI", "--enable-extensions=INI005", "-j", "1", {str(FIXTURES)!r}])
        except SystemExit:
            pass
        assert "torch" not in sys.modules, "torch was imported"
        """
    )

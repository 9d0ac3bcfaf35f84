"""The flake8 plugin: what each class reports, one shared analysis, options, noqa."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from _support import (
    DEEP_RELU_STACK,
    FLAKE8,
    XAVIER_RELU_COL,
    XAVIER_RELU_LINE,
    XAVIER_RELU_MLP,
    assert_no_traceback,
    run,
)

from init_lint import engine, flake8_plugin
from init_lint.flake8_plugin import DeepReluChecker, InitLintChecker, _SharedAnalysis
from init_lint.rules import Options

BOTH = DEEP_RELU_STACK + "\n\n" + XAVIER_RELU_MLP.replace("import torch.nn as nn\n", "", 1)


@pytest.fixture(autouse=True)
def fresh_plugin_state() -> Iterator[None]:
    """Plugin settings are class state (as flake8 sets them): restore them after each test."""
    saved = (_SharedAnalysis._options, _SharedAnalysis._opt_in_enabled)
    flake8_plugin._cache.clear()
    yield
    _SharedAnalysis._options, _SharedAnalysis._opt_in_enabled = saved
    flake8_plugin._cache.clear()


def results(checker: type[_SharedAnalysis], source: str) -> list[tuple[int, int, str]]:
    lines = source.splitlines(keepends=True)
    plugin = checker(tree=ast.parse(source), lines=lines, filename="model.py")
    return [(line, col, text) for line, col, text, kind in plugin.run() if kind is checker]


def codes(found: list[tuple[int, int, str]]) -> list[str]:
    return [text.split()[0] for _, _, text in found]


def test_main_plugin_reports_default_rules_with_flake8_positions() -> None:
    found = results(InitLintChecker, XAVIER_RELU_MLP)
    assert [(line, col) for line, col, _ in found] == [(XAVIER_RELU_LINE, XAVIER_RELU_COL - 1)]
    assert found[0][2].startswith("INI002 ")


def test_main_plugin_never_reports_the_opt_in_rule() -> None:
    _SharedAnalysis._opt_in_enabled = True
    assert codes(results(InitLintChecker, BOTH)) == ["INI002"]


def test_deep_relu_plugin_reports_only_the_opt_in_rule() -> None:
    _SharedAnalysis._opt_in_enabled = True
    assert codes(results(DeepReluChecker, BOTH)) == ["INI005"]


def test_both_plugins_share_one_analysis_per_file(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = engine.analyze_text

    def counting(text: str, settings: engine.Settings,
                 tree: ast.AST | None = None) -> list[engine.Finding]:
        calls.append(text)
        return real(text, settings, tree=tree)

    monkeypatch.setattr(engine, "analyze_text", counting)
    _SharedAnalysis._opt_in_enabled = True
    assert codes(results(InitLintChecker, BOTH)) == ["INI002"]
    assert codes(results(DeepReluChecker, BOTH)) == ["INI005"]
    assert len(calls) == 1
    # A different file is a new analysis; the cache stays small.
    for index in range(20):
        results(InitLintChecker, BOTH + f"\nX = {index}\n")
    assert len(calls) == 21
    assert len(flake8_plugin._cache) <= flake8_plugin._CACHE_SIZE


def test_parse_options_sets_the_thresholds() -> None:
    class Namespace:
        init_lint_std_factor = 6.0
        init_lint_deep_relu_depth = 7

    InitLintChecker.parse_options(Namespace())  # type: ignore[arg-type]
    assert _SharedAnalysis._options == Options(std_factor=6.0, deep_relu_depth=7)
    options = _SharedAnalysis.settings().options
    assert (options.std_factor, options.deep_relu_depth) == (6.0, 7)


def flake8(tmp_path: Path, *args: str) -> list[str]:
    result = run([*FLAKE8, "--isolated", "-j", "1", *args], cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.splitlines()


def test_flake8_runs_the_plugin_and_the_opt_in_only_when_enabled(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(BOTH)
    plain = flake8(tmp_path, "--select=INI", "model.py")
    assert [line.split()[1] for line in plain] == ["INI002"]
    enabled = flake8(tmp_path, "--select=INI", "--enable-extensions=INI005", "model.py")
    assert sorted(line.split()[1] for line in enabled) == ["INI002", "INI005"]
    assert enabled[0].startswith("model.py:4:5: INI005 ")


def test_flake8_options_from_the_command_line_and_config(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(DEEP_RELU_STACK)
    args = ("--select=INI", "--enable-extensions=INI005", "model.py")
    assert len(flake8(tmp_path, *args)) == 1
    assert flake8(tmp_path, "--init-lint-deep-relu-depth=6", *args) == []
    (tmp_path / "setup.cfg").write_text("[flake8]\ninit-lint-deep-relu-depth = 6\n")
    result = run([*FLAKE8, "-j", "1", *args], cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


@pytest.mark.parametrize("value", ["1", "abc"])
def test_flake8_rejects_a_bad_threshold_as_a_usage_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "model.py").write_text(XAVIER_RELU_MLP)
    result = run(
        [*FLAKE8, "--isolated", f"--init-lint-std-factor={value}", "model.py"], cwd=tmp_path
    )
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "--init-lint-std-factor" in result.stderr


def test_flake8_noqa_silences_the_finding(tmp_path: Path) -> None:
    call = "nn.init.xavier_uniform_(self.fc1.weight)"
    (tmp_path / "a.py").write_text(XAVIER_RELU_MLP.replace(call, call + "  # noqa: INI002"))
    (tmp_path / "b.py").write_text(XAVIER_RELU_MLP.replace(call, call + "  # noqa: INI001"))
    lines = flake8(tmp_path, "--select=INI", "a.py", "b.py")
    assert [line.split(":")[0] for line in lines] == ["b.py"]


def test_flake8s_own_tree_spares_the_engine_a_second_cpython_parse(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = ast.parse(XAVIER_RELU_MLP)
    lines = XAVIER_RELU_MLP.splitlines(keepends=True)
    expected = list(InitLintChecker(tree=tree, lines=lines, filename="m.py").run())
    assert [text.split()[0] for _, _, text, _ in expected] == ["INI002"]
    flake8_plugin._cache.clear()

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed again")

    monkeypatch.setattr(engine.ast, "parse", refuse)
    assert list(InitLintChecker(tree=tree, lines=lines, filename="m.py").run()) == expected


def test_a_boolean_chain_libcst_cannot_survive_is_refused_with_flake8s_tree() -> None:
    # CPython (so flake8) parses it; libcst would die on it (engine.MAX_BOOLEAN_OPERANDS).
    source = "import torch.nn as nn\nok = " + " and ".join(["a"] * 10_000) + "\n" \
        "nn.init.zeros_(w)\n"
    assert engine.might_have_findings(source, engine.Settings())
    with pytest.raises(engine.SourceError, match="boolean expression"):
        engine.cpython_syntax_error(source, ast.parse(source))

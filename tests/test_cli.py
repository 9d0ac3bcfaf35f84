"""The ``init-lint`` command line: exit codes, formats, code selection, noqa, file walking,
parallel runs, the ``rules`` and ``explain`` commands, and interruption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from _support import (
    CLI,
    DEEP_RELU_STACK,
    HE_RELU_MLP,
    REPO,
    XAVIER_RELU_COL,
    XAVIER_RELU_LINE,
    XAVIER_RELU_MLP,
    assert_no_traceback,
    run,
)

from init_lint.cli import discover_files, main
from init_lint.rules import ALL_RULES

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``main(argv)`` in-process; returns (exit code, stdout, stderr)."""

    def invoke(*argv: str | Path) -> tuple[int, str, str]:
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return invoke


def model(tmp_path: Path, source: str, name: str = "model.py") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


# --- exit codes and formats ---------------------------------------------------------------


def test_clean_file_exits_0_and_prints_nothing_but_the_summary(tmp_path: Path, cli: Cli) -> None:
    path = model(tmp_path, HE_RELU_MLP)
    code, out, err = cli("check", path)
    assert (code, out) == (0, "")
    assert err.startswith("checked 1 file in ") and err.endswith("s: no findings\n")
    assert cli("check", "-q", path) == (0, "", "")


def test_finding_exits_1_in_flake8_text_format_with_1_based_column(
    tmp_path: Path, cli: Cli
) -> None:
    path = model(tmp_path, XAVIER_RELU_MLP)
    code, out, err = cli("check", "-q", path)
    assert (code, err) == (1, "")
    assert out.count("\n") == 1
    assert out.startswith(f"{path}:{XAVIER_RELU_LINE}:{XAVIER_RELU_COL}: INI002 ")
    assert "fc1" in out


def test_json_format_is_one_array_with_1_based_columns(tmp_path: Path, cli: Cli) -> None:
    path = model(tmp_path, XAVIER_RELU_MLP)
    code, out, err = cli("check", "--format", "json", path)
    assert (code, err) == (1, "")
    records = json.loads(out)
    assert isinstance(records, list) and len(records) == 1
    record = records[0]
    assert set(record) == {
        "path", "line", "col", "end_line", "end_col", "code", "message", "fixable", "fix"
    }
    assert record["fixable"] is True
    assert set(record["fix"]) == {"description", "edits", "imports"}
    assert record["path"] == str(path)
    assert (record["line"], record["col"], record["code"]) == (
        XAVIER_RELU_LINE, XAVIER_RELU_COL, "INI002"
    )
    # The flagged call ends on the same line, just after its closing parenthesis.
    call = "nn.init.xavier_uniform_(self.fc1.weight)"
    assert (record["end_line"], record["end_col"]) == (
        XAVIER_RELU_LINE, XAVIER_RELU_COL + len(call)
    )
    assert isinstance(record["fixable"], bool)
    assert not record["message"].startswith("INI002")

    _, text_out, _ = cli("check", path)
    assert text_out == f"{path}:{record['line']}:{record['col']}: INI002 {record['message']}\n"


def test_json_format_of_a_clean_run_is_an_empty_array(tmp_path: Path, cli: Cli) -> None:
    path = model(tmp_path, HE_RELU_MLP)
    code, out, _ = cli("check", "--format", "json", path)
    assert code == 0
    assert json.loads(out) == []


def test_usage_errors_exit_2(tmp_path: Path, cli: Cli) -> None:
    path = model(tmp_path, HE_RELU_MLP)
    for argv in (
        (),
        ("check",),
        ("no-such-command",),
        ("check", "--format", "xml", path),
        ("check", "--select", "INI 002", path),
        ("check", "--jobs", "0", path),
        ("check", "--std-factor", "1", path),
        ("check", "--std-factor", "two", path),
        ("check", "--deep-relu-depth", "1", path),
    ):
        code, out, err = cli(*argv)
        assert code == 2, argv
        assert out == ""
        assert "usage: init-lint" in err


def test_help_and_version_exit_0(cli: Cli) -> None:
    code, out, _ = cli("--help")
    assert code == 0 and "check" in out and "explain" in out
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("init-lint ")


def test_module_entry_point_runs_the_cli() -> None:
    result = run([*CLI, "rules"])
    assert_no_traceback(result)
    assert result.returncode == 0
    assert "INI002" in result.stdout


# --- selecting codes ----------------------------------------------------------------------


def test_select_and_ignore_take_code_prefixes(tmp_path: Path, cli: Cli) -> None:
    path = model(tmp_path, XAVIER_RELU_MLP)
    assert cli("check", "--select", "INI001,INI003", path)[0] == 0
    assert cli("check", "--select", "INI00", path)[0] == 1
    assert cli("check", "--select", "ini002", path)[0] == 1
    assert cli("check", "--ignore", "INI002", path)[0] == 0
    assert cli("check", "--ignore", "INI", path)[0] == 0
    assert cli("check", "--ignore", "INI001, INI004", path)[0] == 1
    assert cli("check", "--select", "INI001", "--extend-select", "INI002", path)[0] == 1


def test_opt_in_rule_runs_only_when_named(tmp_path: Path, cli: Cli) -> None:
    path = model(tmp_path, DEEP_RELU_STACK)
    assert cli("check", "-q", path) == (0, "", "")
    assert cli("check", "--select", "INI", path)[0] == 0
    code, out, _ = cli("check", "--extend-select", "INI005", path)
    assert code == 1
    assert out.startswith(f"{path}:4:5: INI005 ")
    assert cli("check", "--select", "INI005", path)[0] == 1
    assert cli("check", "--extend-select", "INI005", "--deep-relu-depth", "6", path)[0] == 0


def test_std_factor_widens_the_tolerance_of_ini004(tmp_path: Path, cli: Cli) -> None:
    source = HE_RELU_MLP.replace(
        'nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")',
        "nn.init.normal_(self.fc1.weight, 0.0, 0.01)",
    )
    path = model(tmp_path, source)
    code, out, _ = cli("check", path)
    assert code == 1 and " INI004 " in out
    # He's std for fan_in 784 is 0.0505, 5x the 0.01 used: a factor of 6 tolerates it.
    assert cli("check", "--std-factor", "6", path)[0] == 0


# --- noqa ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "silenced"),
    [
        ("  # noqa: INI002", True),
        ("  # noqa:INI002", True),
        ("  # NOQA: INI001,INI002", True),
        ("  # noqa: INI", True),
        ("  # noqa", True),
        ("  # noqa: INI001", False),
        ("  # no qa", False),
    ],
)
def test_noqa_comments_are_honoured_as_flake8_does(
    tmp_path: Path, cli: Cli, comment: str, silenced: bool
) -> None:
    call = "nn.init.xavier_uniform_(self.fc1.weight)"
    path = model(tmp_path, XAVIER_RELU_MLP.replace(call, call + comment, 1))
    code, out, _ = cli("check", path)
    assert (code == 0) is silenced
    assert (out == "") is silenced


# --- walking directories ------------------------------------------------------------------

SKIPPED = [".git", ".hg", "venv", ".venv", "build", "dist", "node_modules", "__pycache__",
           ".tox", ".eggs"]


def test_directory_walk_skips_vcs_virtualenvs_builds_and_caches(tmp_path: Path, cli: Cli) -> None:
    # An unparsable model in each skipped folder: walking into one would exit 2.
    bad = "import torch.nn as nn\ndef f(:\n    nn.init.zeros_(w)\n"
    for name in SKIPPED:
        model(tmp_path, bad, f"{name}/lib/bad.py")
    (tmp_path / "myenv").mkdir()
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    model(tmp_path, bad, "myenv/lib/python3.11/site-packages/bad.py")
    model(tmp_path, "not python at all (", "pkg/notes.txt")
    good = model(tmp_path, XAVIER_RELU_MLP, "pkg/sub/model.py")
    model(tmp_path, HE_RELU_MLP, "pkg/clean.py")

    code, out, err = cli("check", "-q", tmp_path)
    assert (code, err) == (1, "")
    assert out.startswith(f"{good}:{XAVIER_RELU_LINE}:")
    files, missing = discover_files([str(tmp_path)])
    assert files == [str(tmp_path / "pkg/clean.py"), str(good)]
    assert missing == []


def test_files_named_explicitly_are_always_checked(tmp_path: Path, cli: Cli) -> None:
    inside_venv = model(tmp_path, XAVIER_RELU_MLP, "venv/model.py")
    not_py = model(tmp_path, XAVIER_RELU_MLP, "model.txt")
    assert cli("check", inside_venv)[0] == 1
    assert cli("check", not_py)[0] == 1
    # A skipped name given as the directory to check is walked too.
    assert cli("check", tmp_path / "venv")[0] == 1


def test_each_file_is_checked_once_in_sorted_order(tmp_path: Path, cli: Cli) -> None:
    for name in ("b.py", "a.py", "sub/c.py"):
        model(tmp_path, XAVIER_RELU_MLP, name)
    code, out, _ = cli("check", tmp_path / "sub", tmp_path, tmp_path / "a.py")
    assert code == 1
    printed = [line.split(":")[0] for line in out.splitlines()]
    assert printed == sorted(printed)
    assert len(printed) == len(set(printed)) == 3


def test_parallel_run_prints_the_same_as_a_serial_run(tmp_path: Path, cli: Cli) -> None:
    for index in range(12):
        model(tmp_path, XAVIER_RELU_MLP if index % 3 else HE_RELU_MLP, f"m{index:02}.py")
        model(tmp_path, DEEP_RELU_STACK, f"deep/d{index:02}.py")
    for fmt in ("text", "json", "sarif", "github"):
        serial = cli("check", "-q", "-j", "1", "--extend-select", "INI005", "--format", fmt,
                     tmp_path)
        parallel = cli("check", "-q", "-j", "2", "--extend-select", "INI005", "--format", fmt,
                       tmp_path)
        assert serial == parallel
        assert serial[0] == 1


def test_fixtures_output_is_the_same_whatever_the_jobs_and_string_hashing() -> None:
    # Each run is its own process, with its own string hashing (set iteration order).
    outputs = []
    for jobs, seed in (("1", "0"), ("2", "1"), ("2", "2")):
        result = subprocess.run(
            [*CLI, "check", "-j", jobs, "--extend-select", "INI005", "--format", "json",
             "fixtures"],
            cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert_no_traceback(result)
        assert result.returncode == 1, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]


# --- rules, explain -----------------------------------------------------------------------


def test_rules_lists_every_rule_with_its_default(cli: Cli) -> None:
    code, out, _ = cli("rules")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["CODE", "NAME", "DEFAULT", "SUMMARY"]
    assert len(lines) == 1 + len(ALL_RULES)
    for rule, line in zip(ALL_RULES, lines[1:], strict=True):
        fields = line.split(None, 3)
        assert fields[:3] == [rule.code, rule.name, "off" if rule.off_by_default else "on"]
        assert fields[3] == rule.summary


def test_explain_prints_the_docstring_and_examples(cli: Cli) -> None:
    rule = next(r for r in ALL_RULES if r.code == "INI002")
    code, out, _ = cli("explain", "INI002")
    assert code == 0
    assert out.startswith(f"INI002 {rule.name} (on by default)\n")
    first_doc_line = (rule.__doc__ or "").strip().splitlines()[0]
    assert first_doc_line in out
    assert "Not flagged:" in out and "Flagged (on the lines marked" in out
    assert "# expect: INI002" in out
    # Dedented: the docstring's own indentation is gone.
    assert "\n    " + first_doc_line not in out
    assert cli("explain", "ini002") == (code, out, "")


def test_explain_of_the_opt_in_rule_says_how_to_enable_it(cli: Cli) -> None:
    code, out, _ = cli("explain", "INI005")
    assert code == 0
    assert "off by default" in out and "--extend-select INI005" in out


def test_explain_unknown_code_exits_2_with_a_clear_message(cli: Cli) -> None:
    code, out, err = cli("explain", "INI999")
    assert (code, out) == (2, "")
    assert "unknown rule code 'INI999'" in err
    assert "INI001" in err


# --- interruption and closed pipes --------------------------------------------------------


@pytest.fixture(scope="module")
def many_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough work that a run lasts several seconds (~0.3 s per file on one core)."""
    root = tmp_path_factory.mktemp("many")
    big = XAVIER_RELU_MLP + "\n".join(
        XAVIER_RELU_MLP.split("\n", 2)[2].replace("class MLP", f"class MLP{i}")
        for i in range(40)
    )
    for index in range(60):
        (root / f"model_{index:03}.py").write_text(big)
    return root


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("to_group", [True, False], ids=["ctrl-c", "sigint-to-parent"])
def test_ctrl_c_exits_130_without_traceback(many_models: Path, jobs: str, to_group: bool) -> None:
    process = subprocess.Popen(
        [*CLI, "check", "-j", jobs, str(many_models)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # the pool is up and checking
    assert " INI002 " in first
    if to_group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    assert process.returncode == 130, err
    assert "Traceback" not in out + err
    assert err.endswith("init-lint: interrupted\n")


def test_closed_stdout_stops_quietly(many_models: Path) -> None:
    process = subprocess.Popen(
        [*CLI, "check", "-j", "2", str(many_models)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline()
    process.stdout.close()  # as `init-lint check . | head -1` does
    err = process.stderr.read()
    process.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert process.returncode == 1

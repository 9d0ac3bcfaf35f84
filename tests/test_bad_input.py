"""Bad input never crashes a front end: one clean error line per bad file, exit 2.

Every case runs through the real command line (a subprocess) and in-process ``main``;
flake8 runs over the same files with our plugin loaded and must not crash because of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _support import (
    CLI,
    FLAKE8,
    PYTHON,
    XAVIER_RELU_COL,
    XAVIER_RELU_LINE,
    XAVIER_RELU_MLP,
    assert_no_traceback,
    run,
)

from init_lint.cli import main
from init_lint.flake8_plugin import DeepReluChecker, InitLintChecker

# Each bad file mentions an initializer, so that the engine's cheap pre-filter cannot skip it.
BAD_FILES: dict[str, tuple[bytes, str]] = {
    "syntax_error.py": (
        b"import torch.nn as nn\ndef f(:\n    nn.init.zeros_(w)\n",
        "cannot parse: invalid syntax (line 2)",
    ),
    "wrong_encoding.py": (
        b'# -*- coding: utf-8 -*-\nimport torch.nn as nn\nname = "caf\xe9"\nnn.init.zeros_(w)\n',
        "cannot parse: not valid utf-8 text (line 3)",
    ),
    "unknown_encoding.py": (
        b"# coding: no-such-codec\nimport torch.nn as nn\nnn.init.zeros_(w)\n",
        "cannot parse: unknown encoding: no-such-codec",
    ),
    "binary.py": (
        b"nn.init.zeros_\x00\x01\x02\xff\xfe",
        "cannot parse: binary file (contains NUL bytes)",
    ),
    # libcst's native parser overflows its stack (SIGSEGV) on a few thousand nested
    # brackets; CPython refuses more than 200, and the engine asks CPython first.
    "nested_parentheses.py": (
        b"import torch.nn as nn\nx = " + b"(" * 1000 + b"nn.init.zeros_(w)" + b")" * 1000 + b"\n",
        "cannot parse: too many nested parentheses (line 2)",
    ),
    "nested_brackets.py": (
        b"import torch.nn as nn\nx = " + b"[" * 5000 + b"]" * 5000 + b"  # zeros_(\n",
        "cannot parse: too many nested parentheses (line 2)",
    ),
    # No brackets at all: a 100000-deep unary chain (CPython: MemoryError in its parser).
    "deep_unary_chain.py": (
        b"import torch.nn as nn\nx = nn.init.zeros_(" + b"-" * 100_000 + b"1)\n",
        "cannot parse: nested too deeply for the parser",
    ),
    # CPython keeps ``a and b and ...`` flat and accepts it; libcst nests it and dies
    # (SIGSEGV) from ~8000 operands on.
    "long_boolean_chain.py": (
        b"import torch.nn as nn\nok = " + b" and ".join([b"a"] * 10_000) + b"\n"
        b"nn.init.zeros_(w)\n",
        "cannot parse: boolean expression with more than 2500 operands (line 2)",
    ),
}

# flake8 itself (its own ast.parse, before any plugin runs) dies with a MemoryError
# traceback on the unary chain: not ours to test.
FLAKE8_CRASHES_ON_ITS_OWN = {"deep_unary_chain.py"}

# The model two lines down, with a non-ASCII string that is valid only in latin-1.
LATIN1_MODEL = b"# -*- coding: latin-1 -*-\n" + XAVIER_RELU_MLP.replace(
    "import torch.nn as nn\n", 'import torch.nn as nn\nNAME = "caf\xe9"\n', 1
).encode("latin-1")


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


# ``-q``: these tests are about the error lines; the closing summary is tested elsewhere.


def cli_check(*args: str | Path, cwd: Path) -> tuple[int, str, str]:
    result = run([*CLI, "check", "-q", "-j", "1", *map(str, args)], cwd=cwd)
    assert_no_traceback(result)
    return result.returncode, result.stdout, result.stderr


def in_process_check(
    capsys: pytest.CaptureFixture[str], *args: str | Path
) -> tuple[int, str, str]:
    code = main(["check", "-q", "-j", "1", *map(str, args)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_one_clean_error_line_and_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, reason = BAD_FILES[name]
    write(tmp_path, name, data)
    expected = f"{name}: {reason}\n"

    code, out, err = cli_check(name, cwd=tmp_path)
    assert (code, out, err) == (2, "", expected)

    path = tmp_path / name
    code, out, err = in_process_check(capsys, path)
    assert (code, out, err) == (2, "", f"{path}: {reason}\n")


def test_empty_file_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "__init__.py", b"")
    assert cli_check("__init__.py", cwd=tmp_path) == (0, "", "")
    assert in_process_check(capsys, tmp_path / "__init__.py") == (0, "", "")


def test_whitespace_only_file_is_clean(tmp_path: Path) -> None:
    write(tmp_path, "blank.py", b"\n\n   \n\t\n")
    assert cli_check("blank.py", cwd=tmp_path) == (0, "", "")


def test_crlf_file_gives_the_same_findings_as_lf(tmp_path: Path) -> None:
    write(tmp_path, "lf.py", XAVIER_RELU_MLP.encode())
    write(tmp_path, "crlf.py", XAVIER_RELU_MLP.replace("\n", "\r\n").encode())
    code_lf, out_lf, err_lf = cli_check("lf.py", cwd=tmp_path)
    code_crlf, out_crlf, err_crlf = cli_check("crlf.py", cwd=tmp_path)
    assert (code_lf, err_lf) == (code_crlf, err_crlf) == (1, "")
    assert out_crlf == out_lf.replace("lf.py", "crlf.py")
    assert out_crlf.startswith(f"crlf.py:{XAVIER_RELU_LINE}:{XAVIER_RELU_COL}: INI002 ")


def test_utf8_bom_file_is_read(tmp_path: Path) -> None:
    write(tmp_path, "bom.py", b"\xef\xbb\xbf" + XAVIER_RELU_MLP.encode())
    code, out, err = cli_check("bom.py", cwd=tmp_path)
    assert (code, err) == (1, "")
    assert out.startswith(f"bom.py:{XAVIER_RELU_LINE}:{XAVIER_RELU_COL}: INI002 ")


def test_latin1_file_with_its_coding_declaration_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "latin1.py", LATIN1_MODEL)
    code, out, err = cli_check("latin1.py", cwd=tmp_path)
    # Two lines were added above the model: the declaration and NAME.
    assert (code, err) == (1, "")
    assert out.startswith(f"latin1.py:{XAVIER_RELU_LINE + 2}:{XAVIER_RELU_COL}: INI002 ")
    assert in_process_check(capsys, tmp_path / "latin1.py")[0] == 1


def test_directory_with_a_bad_file_still_checks_the_others_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write(project, "a_bad.py", BAD_FILES["syntax_error.py"][0])
    write(project, "b_model.py", XAVIER_RELU_MLP.encode())
    write(project, "c_clean.py", b"x = 1\n")

    code, out, err = cli_check("project", cwd=tmp_path)
    assert code == 2
    assert err == "project/a_bad.py: cannot parse: invalid syntax (line 2)\n"
    assert out.startswith(f"project/b_model.py:{XAVIER_RELU_LINE}:{XAVIER_RELU_COL}: INI002 ")
    assert out.count("\n") == 1

    code, out, err = in_process_check(capsys, project)
    assert code == 2
    assert err == f"{project}/a_bad.py: cannot parse: invalid syntax (line 2)\n"
    assert out.startswith(f"{project}/b_model.py:{XAVIER_RELU_LINE}:")


def test_bad_file_with_several_jobs_still_checks_the_others(tmp_path: Path) -> None:
    for index in range(4):
        write(tmp_path, f"model_{index}.py", XAVIER_RELU_MLP.encode())
    write(tmp_path, "model_2_bad.py", BAD_FILES["binary.py"][0])
    result = run([*CLI, "check", "-q", "-j", "2", "."], cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert result.stderr == "./model_2_bad.py: cannot parse: binary file (contains NUL bytes)\n"
    assert result.stdout.count(" INI002 ") == 4


def test_missing_path_exits_2_and_the_rest_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "model.py", XAVIER_RELU_MLP.encode())
    code, out, err = cli_check("missing.py", "model.py", cwd=tmp_path)
    assert code == 2
    assert err == "missing.py: cannot read: no such file or directory\n"
    assert out.startswith("model.py:")

    missing = tmp_path / "nowhere"
    assert in_process_check(capsys, missing) == (
        2, "", f"{missing}: cannot read: no such file or directory\n"
    )


def test_unexpected_exception_is_an_internal_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str, settings: object) -> list[object]:
        raise RuntimeError("analyzer bug\nsecond line")

    monkeypatch.setattr("init_lint.engine.check_text", broken)
    write(tmp_path, "model.py", XAVIER_RELU_MLP.encode())
    code, out, err = in_process_check(capsys, tmp_path / "model.py")
    assert code == 2
    assert out == ""
    assert err == (
        f"{tmp_path / 'model.py'}: internal error: RuntimeError: analyzer bug "
        "(please report this as an init-lint bug)\n"
    )


def test_console_script_reports_bad_files_cleanly(tmp_path: Path) -> None:
    script = Path(PYTHON).with_name("init-lint")
    assert script.exists(), "the init-lint console script is missing: pip install -e ."
    for name, (data, _) in BAD_FILES.items():
        write(tmp_path, name, data)
    result = run([str(script), "check", "-q", "."], cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == len(BAD_FILES)


def test_flake8_with_our_plugin_survives_bad_files(tmp_path: Path) -> None:
    names = sorted(set(BAD_FILES) - FLAKE8_CRASHES_ON_ITS_OWN)
    for name in names:
        write(tmp_path, name, BAD_FILES[name][0])
    write(tmp_path, "empty.py", b"")
    write(tmp_path, "crlf.py", XAVIER_RELU_MLP.replace("\n", "\r\n").encode())
    write(tmp_path, "latin1.py", LATIN1_MODEL)

    result = run([*FLAKE8, "--isolated", "--select=INI,E9", ".", "-j", "1"], cwd=tmp_path)
    assert_no_traceback(result)
    assert "init_lint" not in result.stderr
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    # flake8 reports what it cannot parse itself (E999); our plugin adds nothing there.
    assert any(line.startswith("./syntax_error.py:2:") and " E999 " in line for line in lines)
    assert any(line.startswith("./binary.py:1:1: E999 ") for line in lines)
    assert not any(" INI" in line for line in lines if "syntax_error" in line or "binary" in line)
    # ... and still checks the good files.
    assert f"./crlf.py:{XAVIER_RELU_LINE}:{XAVIER_RELU_COL}: INI002 " in result.stdout
    assert f"./latin1.py:{XAVIER_RELU_LINE + 2}:{XAVIER_RELU_COL}: INI002 " in result.stdout


@pytest.mark.parametrize("checker", [InitLintChecker, DeepReluChecker])
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_plugin_yields_nothing_for_source_the_engine_cannot_parse(
    checker: type[InitLintChecker] | type[DeepReluChecker], name: str
) -> None:
    text = BAD_FILES[name][0].decode("latin-1")
    lines = text.splitlines(keepends=True)
    assert list(checker(tree=None, lines=lines, filename=name).run()) == []  # type: ignore[arg-type]


def test_broken_file_without_any_initializer_is_still_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The pre-filter skips libcst for such files, but CPython's parser still checks them.
    path = write(tmp_path, "utils.py", b"def helper(:\n    return 1\n")
    code, out, err = in_process_check(capsys, path)
    assert (code, out) == (2, "")
    assert err.startswith(f"{path}: cannot parse: ") and err.endswith("(line 1)\n")


def test_newer_syntax_that_libcst_reads_is_not_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # PEP 695 generics (Python 3.12): CPython 3.10/3.11 reject them, libcst reads them.
    path = write(tmp_path, "typed.py", b"def first[T](items: list[T]) -> T:\n    return items[0]\n")
    code, out, err = in_process_check(capsys, path)
    assert (code, out, err) == (0, "", "")


def test_plugin_bug_is_one_stderr_line_not_a_crashed_flake8_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(text: str, settings: object) -> list[object]:
        raise RuntimeError("analyzer bug")

    monkeypatch.setattr("init_lint.engine.analyze_text", broken)
    lines = [line + "\n" for line in XAVIER_RELU_MLP.splitlines()]
    lines.append("# a unique line so the plugin's cache cannot answer\n")
    results = list(InitLintChecker(tree=None, lines=lines, filename="m.py").run())  # type: ignore[arg-type]
    assert results == []
    err = capsys.readouterr().err
    assert err == ("m.py: init-lint internal error: RuntimeError: analyzer bug "
                   "(please report this as an init-lint bug)\n")

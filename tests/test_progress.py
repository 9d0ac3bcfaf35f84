"""The progress bar (on a terminal only) and the closing summary line of ``init-lint check``."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from _support import CLI, HE_RELU_MLP, XAVIER_RELU_MLP, assert_no_traceback, run

from init_lint import report
from init_lint.engine import FileResult
from init_lint.findings import Edit, Finding, Fix, Position
from init_lint.progress import ProgressBar

SUMMARY = re.compile(r"checked (\d+) files? in \d+\.\ds: (.*)")
MANY = ProgressBar.MIN_FILES + 5


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough files for a progress bar: one in three with an INI002 finding."""
    root = tmp_path_factory.mktemp("many")
    for index in range(MANY):
        (root / f"m{index:02}.py").write_text(XAVIER_RELU_MLP if index % 3 == 0 else HE_RELU_MLP)
    return root


def finding(code: str, line: int, fixable: bool = False) -> Finding:
    fix = Fix("use He", (Edit(Position(line, 0), Position(line, 3), "new"),)) if fixable else None
    return Finding(code, "message", Position(line, 0), Position(line, 3), fix)


# --- the summary line -----------------------------------------------------------------------


def test_summary_counts_files_findings_by_rule_and_fixable() -> None:
    results = [
        FileResult("a.py", (finding("INI002", 1, True), finding("INI001", 2),
                            finding("INI002", 3, True))),
        FileResult("b.py"),
        FileResult("c.py", (finding("INI004", 5, True),)),
    ]
    assert report.summary_line(results, 1.234) == (
        "checked 3 files in 1.2s: 4 findings (INI001 1, INI002 2, INI004 1), 3 fixable"
    )


def test_summary_of_a_clean_run_and_singular_forms() -> None:
    assert report.summary_line([FileResult("a.py")], 0.04) == "checked 1 file in 0.0s: no findings"
    assert report.summary_line([], 0.0) == "checked 0 files in 0.0s: no findings"
    assert report.summary_line([FileResult("a.py", (finding("INI002", 1),))], 2.0) == (
        "checked 1 file in 2.0s: 1 finding (INI002 1), 0 fixable"
    )


def test_summary_counts_files_that_could_not_be_checked() -> None:
    results = [FileResult("a.py", error="cannot parse: invalid syntax (line 2)"),
               FileResult("b.py", error="cannot read: no such file or directory"),
               FileResult("c.py", (finding("INI002", 1),))]
    assert report.summary_line(results, 0.5) == (
        "checked 3 files in 0.5s: 1 finding (INI002 1), 0 fixable; "
        "2 files could not be checked"
    )


def test_text_run_ends_with_the_summary_on_stderr(many_files: Path) -> None:
    result = run([*CLI, "check", "-j", "2", str(many_files)])
    assert_no_traceback(result)
    assert result.returncode == 1
    flagged = (MANY + 2) // 3
    assert result.stdout.count(" INI002 ") == result.stdout.count("\n")
    findings = result.stdout.count("\n")
    assert findings >= flagged
    match = SUMMARY.fullmatch(result.stderr.rstrip("\n"))
    assert match, result.stderr
    assert int(match.group(1)) == MANY
    records = json.loads(run([*CLI, "check", "--format", "json", str(many_files)]).stdout)
    assert len(records) == findings
    fixable = sum(record["fixable"] for record in records)
    assert match.group(2) == f"{findings} findings (INI002 {findings}), {fixable} fixable"
    assert result.stderr.count("\n") == 1 and "\r" not in result.stderr  # no bar: piped


@pytest.mark.parametrize("fmt", ["json", "sarif", "github"])
def test_machine_formats_have_no_summary(many_files: Path, fmt: str) -> None:
    result = run([*CLI, "check", "-j", "2", "--format", fmt, str(many_files)])
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stderr == ""
    assert "checked" not in result.stdout


def test_quiet_suppresses_the_summary(many_files: Path) -> None:
    for flag in ("-q", "--quiet"):
        result = run([*CLI, "check", flag, "-j", "2", str(many_files)])
        assert result.returncode == 1
        assert result.stderr == ""
        assert " INI002 " in result.stdout


def test_summary_comes_after_the_error_lines(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import torch.nn as nn\ndef f(:\n    nn.init.zeros_(w)\n")
    (tmp_path / "model.py").write_text(XAVIER_RELU_MLP)
    result = run([*CLI, "check", ".", "missing.py"], cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[:2] == ["missing.py: cannot read: no such file or directory",
                         "./bad.py: cannot parse: invalid syntax (line 2)"]
    assert re.fullmatch(r"checked 3 files in \d+\.\ds: 1 finding \(INI002 1\), \d fixable; "
                        r"2 files could not be checked", lines[2])
    assert len(lines) == 3


# --- the progress bar -----------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_is_wanted_only_for_many_files_on_a_terminal_without_quiet() -> None:
    terminal = FakeTerminal()
    assert ProgressBar.wanted(ProgressBar.MIN_FILES, terminal, quiet=False)
    assert not ProgressBar.wanted(ProgressBar.MIN_FILES - 1, terminal, quiet=False)
    assert not ProgressBar.wanted(100, terminal, quiet=True)
    assert not ProgressBar.wanted(100, io.StringIO(), quiet=False)  # piped / redirected


def test_bar_redraws_in_place_and_clears_its_line() -> None:
    stream = FakeTerminal()
    bar = ProgressBar(40, stream, interval=0.0)
    bar.draw()
    for _ in range(40):
        bar.advance()
    bar.close()
    output = stream.getvalue()
    frames = [frame for frame in output.split("\r") if frame.strip()]
    assert frames[0].startswith("checking  0/40 files [")
    assert frames[-1].startswith("checking 40/40 files [") and frames[-1].endswith("] 100%")
    assert "\n" not in output
    # The last thing written blanks the line and returns to its start.
    assert output.endswith("\r" + " " * len(frames[-1]) + "\r")


def test_bar_fits_the_terminal_width() -> None:
    bar = ProgressBar(1234, FakeTerminal())
    bar.done = 617
    for columns in (20, 40, 60, 80, 200):
        text = bar.render(columns)
        assert len(text) <= columns - 1
        assert "617/1234" in text or columns < 25
    assert bar.render(80) == "checking  617/1234 files [" + "=" * 20 + ">" + " " * 19 + "]  50%"


def read_all(fd: int, chunks: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the other side of the pty is closed
            return
        if not data:
            return
        chunks.append(data)


def run_with_terminal_stderr(
    args: list[str], *, stdout_too: bool = False
) -> tuple[int, str, str]:
    """Run the CLI with stderr (and ``stdout_too``) on a pseudo-terminal of 80 columns."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    chunks: list[bytes] = []
    reader = threading.Thread(target=read_all, args=(master, chunks), daemon=True)
    reader.start()
    try:
        process = subprocess.Popen([*CLI, *args], stdin=subprocess.DEVNULL,
                                   stdout=slave if stdout_too else subprocess.PIPE,
                                   stderr=slave)
        os.close(slave)
        out, _ = process.communicate(timeout=120)
        out = out or b""
        reader.join(timeout=10)
    finally:
        os.close(master)
    return process.returncode, out.decode(), b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_bar_appears_on_a_terminal_and_is_cleared_before_the_summary(many_files: Path) -> None:
    code, out, terminal = run_with_terminal_stderr(["check", "-j", "2", str(many_files)])
    assert code == 1
    assert "checking" not in out and "\r" not in out  # stdout is the findings only
    assert "\r" in terminal
    frames = [frame for frame in re.split(r"\r\n?|\n", terminal) if frame.strip()]
    bars = [frame for frame in frames if frame.startswith("checking ")]
    assert bars, terminal
    assert all(re.fullmatch(rf"checking +\d+/{MANY} files \[[=> ]+\] +\d+%", b) for b in bars)
    assert all(len(b) <= 79 for b in bars)
    assert bars[0].startswith(f"checking  0/{MANY} files")
    # The bar is blanked before the summary, which ends the output on a line of its own.
    summary = SUMMARY.fullmatch(frames[-1])
    assert summary and int(summary.group(1)) == MANY
    before_summary = terminal[: terminal.rindex("checked ")]
    assert re.search(r"\r {20,}\r$", before_summary), repr(before_summary[-100:])


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_quiet_on_a_terminal_draws_no_bar_and_no_summary(many_files: Path) -> None:
    code, out, terminal = run_with_terminal_stderr(["check", "-q", "-j", "2", str(many_files)])
    assert code == 1
    assert " INI002 " in out
    assert terminal == ""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_few_files_on_a_terminal_draw_no_bar(tmp_path: Path) -> None:
    for index in range(3):
        (tmp_path / f"m{index}.py").write_text(XAVIER_RELU_MLP)
    code, _, terminal = run_with_terminal_stderr(["check", str(tmp_path)])
    assert code == 1
    assert "checking" not in terminal
    assert SUMMARY.fullmatch(terminal.strip())


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_findings_on_the_same_terminal_are_never_mixed_with_the_bar(many_files: Path) -> None:
    code, _, terminal = run_with_terminal_stderr(["check", "-j", "2", str(many_files)],
                                                 stdout_too=True)
    assert code == 1
    frames = [frame for frame in re.split(r"\r\n?|\n", terminal) if frame.strip()]
    findings = [frame for frame in frames if " INI002 " in frame]
    assert findings and all(frame.startswith(str(many_files)) for frame in findings)
    assert any(frame.startswith("checking ") for frame in frames)
    assert SUMMARY.fullmatch(frames[-1])

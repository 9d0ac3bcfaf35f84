"""The result cache of ``init-lint check``: hits give exactly the same output, and anything
that decides a result (the bytes, the settings, the tool) misses.

Every test names its cache directory with ``--cache-dir`` (conftest.py turns the cache off
for the rest of the suite through ``INIT_LINT_NO_CACHE``, which ``--cache-dir`` overrides).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _support import CLI, DEEP_RELU_STACK, HE_RELU_MLP, XAVIER_RELU_MLP, fixture_files, run

from init_lint import cache as cache_module
from init_lint import cli as cli_module
from init_lint import engine
from init_lint.cache import ResultCache, decode_result, encode_result, open_cache
from init_lint.cli import main
from init_lint.engine import FileResult, Settings
from init_lint.findings import Edit, Finding, Fix, Position

Cli = Callable[..., tuple[int, str, str]]

# A hidden layer on std 1 (INI004, fixable) and a zero hidden weight (INI001).
TWO_FINDINGS = XAVIER_RELU_MLP.replace(
    "nn.init.xavier_uniform_(self.fc1.weight)", "nn.init.normal_(self.fc1.weight)"
) + "\n\nclass Zero(nn.Module):\n" + (
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.a = nn.Linear(8, 8)\n"
    "        self.b = nn.Linear(8, 8)\n"
    "        nn.init.zeros_(self.a.weight)\n\n"
    "    def forward(self, x):\n"
    "        return self.b(nn.functional.relu(self.a(x)))\n"
)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    def invoke(*argv: str | Path) -> tuple[int, str, str]:
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return invoke


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "a_xavier.py").write_text(XAVIER_RELU_MLP)
    (root / "b_clean.py").write_text(HE_RELU_MLP)
    (root / "c_two.py").write_text(TWO_FINDINGS)
    (root / "d_deep.py").write_text(DEEP_RELU_STACK)
    (root / "e_broken.py").write_text("import torch.nn as nn\ndef f(:\n    nn.init.zeros_(w)\n")
    return root


def entries(directory: Path) -> dict[str, bytes]:
    """Every file under the cache directory and its content."""
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def result_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.json"))


# --- entries --------------------------------------------------------------------------------


def test_an_entry_round_trips_findings_with_their_fix_and_note_exactly() -> None:
    he = 'nn.init.kaiming_normal_(w, nonlinearity="relu")'
    fix = Fix("use He", (Edit(Position(3, 4), Position(3, 30), he),
                         Edit(Position(1, 0), Position(1, 0), "é — \"quoted\"\n")),
              (("torch", "nn"), ("torch.nn.init", None)))
    findings = (
        Finding("INI002", "xavier_uniform_ on fc1, which feeds relu", Position(3, 4),
                Position(3, 30), fix, None),
        Finding("INI004", "normal_ on w has std 1", Position(7, 8), Position(7, 20), None,
                "the tensor is built elsewhere"),
    )
    for result in (FileResult("m.py", findings), FileResult("m.py"),
                   FileResult("m.py", error="cannot parse: invalid syntax (line 2)")):
        back = decode_result(encode_result("k", result), "k", "m.py")
        assert back == result
        assert [(f.fix, f.note) for f in back.findings] == [
            (f.fix, f.note) for f in result.findings]


def test_a_hit_gives_the_same_output_in_every_format_without_analyzing(
    project: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "cache"
    cold = {}
    for fmt in ("text", "json", "sarif", "github"):
        for jobs in ("1", "2"):
            cold[fmt, jobs] = cli("check", "-q", "-j", jobs, "--extend-select", "INI005",
                                  "--format", fmt, "--cache-dir", directory, project)
            assert cold[fmt, jobs] == cli("check", "-q", "-j", jobs, "--extend-select",
                                          "INI005", "--format", fmt, "--no-cache", project)
    assert cold["text", "1"][0] == 2  # findings, and the broken file
    assert len(result_files(directory)) == 5  # one entry per file, whatever the format
    before = entries(directory)

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(engine, "check_source", refuse)
    monkeypatch.setattr(cli_module, "ProcessPoolExecutor", refuse)
    for (fmt, jobs), expected in cold.items():
        assert cli("check", "-q", "-j", jobs, "--extend-select", "INI005", "--format", fmt,
                   "--cache-dir", directory, project) == expected
    assert entries(directory) == before


def test_a_hit_keeps_fixes_and_notes_for_json_and_sarif(
    project: Path, tmp_path: Path, cli: Cli
) -> None:
    directory = tmp_path / "cache"
    first = cli("check", "-q", "--format", "json", "--cache-dir", directory, project / "c_two.py")
    records = json.loads(first[1])
    assert {r["code"] for r in records} == {"INI001", "INI004"}
    assert any(r["fixable"] for r in records)
    second = cli("check", "-q", "--format", "json", "--cache-dir", directory,
                 project / "c_two.py")
    assert second == first


def test_a_changed_file_misses(project: Path, tmp_path: Path, cli: Cli) -> None:
    directory = tmp_path / "cache"
    target = project / "a_xavier.py"
    code, out, _ = cli("check", "-q", "--cache-dir", directory, target)
    assert code == 1 and " INI002 " in out
    target.write_text(HE_RELU_MLP)
    assert cli("check", "-q", "--cache-dir", directory, target) == (0, "", "")
    assert len(result_files(directory)) == 2
    target.write_text(XAVIER_RELU_MLP)  # back: the first entry answers again
    assert cli("check", "-q", "--cache-dir", directory, target) == (code, out, "")
    assert len(result_files(directory)) == 2


@pytest.mark.parametrize("flags", [
    ("--ignore", "INI002"), ("--select", "INI004"), ("--extend-select", "INI005"),
    ("--std-factor", "100"), ("--deep-relu-depth", "2"),
])
def test_changed_settings_miss(
    flags: tuple[str, str], project: Path, tmp_path: Path, cli: Cli
) -> None:
    directory = tmp_path / "cache"
    cli("check", "-q", "--cache-dir", directory, project)
    count = len(result_files(directory))
    changed = cli("check", "-q", "--cache-dir", directory, *flags, project)
    assert changed == cli("check", "-q", "--no-cache", *flags, project)
    assert len(result_files(directory)) == 2 * count


def test_settings_that_enable_the_same_rules_share_entries(
    project: Path, tmp_path: Path, cli: Cli
) -> None:
    directory = tmp_path / "cache"
    cli("check", "-q", "--cache-dir", directory, "--select", "INI", "--ignore", "INI004", project)
    count = len(result_files(directory))
    cli("check", "-q", "--cache-dir", directory, "--select", "INI001,INI002,INI003,INI006",
        project)
    assert len(result_files(directory)) == count


def test_per_file_ignores_are_part_of_the_key(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    (root / "model.py").write_text(XAVIER_RELU_MLP)
    (root / "tests" / "model.py").write_text(XAVIER_RELU_MLP)  # the same bytes
    (root / "pyproject.toml").write_text(
        '[tool.init-lint]\nper-file-ignores = { "tests/*" = ["INI002"] }\n')
    directory = tmp_path / "cache"
    for _ in range(2):
        code, out, _ = cli("check", "-q", "-j", "1", "--cache-dir", directory, root)
        assert code == 1
        assert [line.split(":")[0] for line in out.splitlines()] == [str(root / "model.py")]


def test_a_changed_tool_version_misses(
    project: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "cache"
    target = project / "a_xavier.py"
    expected = cli("check", "-q", "--cache-dir", directory, target)
    # A stored entry that only the old version can see: the new one must not use it.
    (entry,) = result_files(directory)
    document = json.loads(entry.read_bytes())
    document["findings"] = []
    entry.write_text(json.dumps(document))
    assert cli("check", "-q", "--cache-dir", directory, target) == (0, "", "")

    cache_module.tool_fingerprint.cache_clear()
    monkeypatch.setattr(cache_module, "__version__", "999.0")
    try:
        assert cli("check", "-q", "--cache-dir", directory, target) == expected
        assert len([p for p in directory.iterdir() if p.is_dir()]) == 2
    finally:
        cache_module.tool_fingerprint.cache_clear()


def test_the_tool_fingerprint_covers_the_source_and_the_dependencies(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    base = cache_module.tool_fingerprint()
    try:
        for name, value in (("FORMAT", 99), ("__version__", "0.0.0")):
            cache_module.tool_fingerprint.cache_clear()
            with monkeypatch.context() as patch:
                patch.setattr(cache_module, name, value)
                assert cache_module.tool_fingerprint() != base, name
        cache_module.tool_fingerprint.cache_clear()
        with monkeypatch.context() as patch:
            patch.setattr(cache_module, "_dependency_versions", lambda: "libcst 0, flake8 0")
            assert cache_module.tool_fingerprint() != base
        cache_module.tool_fingerprint.cache_clear()
        read_bytes = Path.read_bytes

        def edited(path: Path) -> bytes:
            data = read_bytes(path)
            return data + b"# edited\n" if path.name == "ini002_scheme_activation_mismatch.py" \
                else data

        with monkeypatch.context() as patch:
            patch.setattr(Path, "read_bytes", edited)
            assert cache_module.tool_fingerprint() != base
    finally:
        cache_module.tool_fingerprint.cache_clear()
    assert cache_module.tool_fingerprint() == base


# --- bypassing, corruption, concurrency -----------------------------------------------------


def test_no_cache_neither_reads_nor_writes(
    project: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INIT_LINT_NO_CACHE")  # only the flag turns it off here
    directory = tmp_path / "cache"
    target = project / "a_xavier.py"
    expected = cli("check", "-q", "--no-cache", target)
    assert not directory.exists() and not (tmp_path / ".init-lint-cache").exists()
    cli("check", "-q", "--cache-dir", directory, target)
    (entry,) = result_files(directory)
    document = json.loads(entry.read_bytes())
    document["findings"] = []  # a wrong entry: reading it would show
    entry.write_text(json.dumps(document))
    os.utime(entry, (1, 1))
    before = {p: p.stat().st_mtime_ns for p in directory.rglob("*")}
    monkeypatch.setenv("INIT_LINT_CACHE_DIR", str(directory))
    assert cli("check", "-q", "--no-cache", target) == expected
    assert cli("check", "-q", "--no-cache", "-j", "2", target, project)[0] == 2
    assert {p: p.stat().st_mtime_ns for p in directory.rglob("*")} == before
    assert not (tmp_path / ".init-lint-cache").exists()


def test_no_cache_variable_turns_the_default_cache_off(
    project: Path, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cli("check", "-q", project)  # INIT_LINT_NO_CACHE=1 (conftest.py)
    assert not (tmp_path / ".init-lint-cache").exists()
    monkeypatch.delenv("INIT_LINT_NO_CACHE")
    cli("check", "-q", project)
    assert len(result_files(tmp_path / ".init-lint-cache")) == 5
    assert (tmp_path / ".init-lint-cache" / "CACHEDIR.TAG").read_text().startswith(
        "Signature: 8a477f597d28d172789f06886806bc55")
    assert (tmp_path / ".init-lint-cache" / ".gitignore").read_text().endswith("*\n")
    monkeypatch.setenv("INIT_LINT_CACHE_DIR", str(tmp_path / "elsewhere"))
    cli("check", "-q", project)
    assert len(result_files(tmp_path / "elsewhere")) == 5


@pytest.mark.parametrize("damage", [
    b"", b"{", b"\x00\xff garbage", b"[]", b'{"key": "other", "error": null, "findings": []}',
    b"KEY", b"FINDING",
])
def test_a_corrupt_entry_is_ignored_and_rewritten(
    damage: bytes, project: Path, tmp_path: Path, cli: Cli
) -> None:
    directory = tmp_path / "cache"
    target = project / "c_two.py"
    expected = cli("check", "-q", "--format", "json", "--cache-dir", directory, target)
    (entry,) = result_files(directory)
    good = entry.read_bytes()
    document = json.loads(good)
    if damage == b"KEY":  # the right key, a field of the wrong type
        document["error"] = 3
        damage = json.dumps(document).encode()
    elif damage == b"FINDING":  # a finding without its note
        document["findings"][0] = document["findings"][0][:5]
        damage = json.dumps(document).encode()
    entry.write_bytes(damage)
    assert cli("check", "-q", "--format", "json", "--cache-dir", directory, target) == expected
    assert entry.read_bytes() == good


def test_an_unusable_cache_directory_is_a_warning_not_a_failure(
    project: Path, tmp_path: Path, cli: Cli
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    code, out, err = cli("check", "--cache-dir", blocked, project / "a_xavier.py")
    assert code == 1 and " INI002 " in out
    assert err.startswith(f"init-lint: cannot use the cache directory {blocked}: ")
    assert "checking without a cache\n" in err
    assert cli("check", "-q", "--cache-dir", blocked, project / "a_xavier.py")[2] == ""


def test_an_entry_that_cannot_be_written_is_only_a_miss(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "missing" / "folder")
    (tmp_path / "missing").write_text("a file where the folder should be")
    source = tmp_path / "model.py"
    source.write_text(XAVIER_RELU_MLP)
    result = cache.check(str(source), Settings())
    assert [f.code for f in result.findings] == ["INI002"]
    assert cache.lookup(str(source), Settings()) is None


def test_parallel_runs_sharing_a_cache_do_not_corrupt_it(tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    models = [XAVIER_RELU_MLP, HE_RELU_MLP, TWO_FINDINGS, DEEP_RELU_STACK]
    for index in range(40):
        # Twenty distinct sources, each in two files (which share an entry).
        source = models[index // 2 % 4] + f"\nVERSION = {index // 2}\n"
        (root / f"m{index:02}.py").write_text(source)
    directory = tmp_path / "cache"
    expected = run([*CLI, "check", "-q", "--no-cache", "--format", "json", str(root)])
    command = [*CLI, "check", "-q", "-j", "2", "--format", "json", "--cache-dir",
               str(directory), str(root)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(4)]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert (process.returncode, out, err) == (expected.returncode, expected.stdout,
                                                  expected.stderr)
    stored = result_files(directory)
    assert len(stored) == 20
    assert not [p for p in directory.rglob("*") if p.name.endswith(".tmp")]
    for path in stored:
        json.loads(path.read_bytes())  # whole entries only
    warm = run(command)
    assert (warm.returncode, warm.stdout, warm.stderr) == (
        expected.returncode, expected.stdout, expected.stderr)


# --- fix, configuration, pruning -------------------------------------------------------------


def test_check_after_fix_sees_the_fixed_file(project: Path, tmp_path: Path, cli: Cli) -> None:
    directory = tmp_path / "cache"
    target = project / "c_two.py"
    before = cli("check", "-q", "--cache-dir", directory, target)
    assert before[0] == 1
    source = target.read_text()
    cli("fix", "-q", target)
    assert target.read_text() != source
    after = cli("check", "-q", "--cache-dir", directory, target)
    assert after == cli("check", "-q", "--no-cache", target)
    assert after != before


def test_fix_neither_reads_nor_writes_the_cache(project: Path, tmp_path: Path, cli: Cli,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INIT_LINT_NO_CACHE")
    cli("fix", "-q", "--diff", project)
    assert not (tmp_path / ".init-lint-cache").exists()


def test_cache_dir_from_the_configuration_is_relative_to_it(tmp_path: Path, cli: Cli,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "model.py").write_text(XAVIER_RELU_MLP)
    (root / "pyproject.toml").write_text('[tool.init-lint]\ncache-dir = "build/lint-cache"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INIT_LINT_NO_CACHE")
    assert cli("check", "-q", root / "src")[0] == 1
    assert len(result_files(root / "build" / "lint-cache")) == 1
    assert not (tmp_path / ".init-lint-cache").exists()
    # --cache-dir wins over the file; --no-cache over both.
    cli("check", "-q", "--cache-dir", tmp_path / "flag", root / "src")
    assert len(result_files(tmp_path / "flag")) == 1


def test_a_bad_cache_dir_in_the_configuration_is_a_one_line_error(
    tmp_path: Path, cli: Cli
) -> None:
    (tmp_path / "model.py").write_text(XAVIER_RELU_MLP)
    (tmp_path / "pyproject.toml").write_text("[tool.init-lint]\ncache-dir = 3\n")
    code, out, err = cli("check", tmp_path / "model.py")
    assert (code, out) == (2, "")
    assert err == (f"init-lint: {tmp_path / 'pyproject.toml'}: [tool.init-lint] cache-dir: "
                   "expected a directory path (a non-empty string), got an integer (3)\n")


def test_folders_of_tool_versions_unused_for_long_are_pruned(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    old, recent, foreign = directory / "v1-old", directory / "v1-recent", directory / "vendor"
    for folder in (old, recent, foreign):
        (folder / "ab").mkdir(parents=True)
    for folder in (old, recent):
        (folder / "last-used").touch()
    long_ago = time.time() - cache_module.PRUNE_AFTER_SECONDS - 3600
    os.utime(old / "last-used", (long_ago, long_ago))
    cache = open_cache(directory)
    assert cache.folder.is_dir()
    assert not old.exists()
    assert recent.exists() and foreign.exists()  # in use, and not one of ours


def test_fixtures_give_the_same_findings_cold_and_warm(tmp_path: Path) -> None:
    cache = open_cache(tmp_path / "cache")
    settings = Settings(extend_select=("INI005",))
    for path in fixture_files():
        cold = cache.check(str(path), settings)
        warm = cache.lookup(str(path), settings)
        assert warm == cold == engine.check_path(str(path), settings)
        assert warm is not None
        assert [(f.fix, f.note) for f in warm.findings] == [
            (f.fix, f.note) for f in cold.findings]


def test_a_check_run_does_not_import_the_fixers_codemod_machinery() -> None:
    # libcst.codemod (and its matchers) cost ~0.2-0.3 s to import: a warm run is ~1 s in
    # all, so only `fix` and the json/sarif import edits may load them.
    result = run([sys.executable, "-c",
                  "import sys, init_lint.cli as c; c.build_parser(); "
                  "assert 'libcst.codemod' not in sys.modules, 'codemod imported'"])
    assert result.returncode == 0, result.stderr

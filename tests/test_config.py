"""``[tool.init-lint]`` in ``pyproject.toml``: discovery, precedence, every key, every error."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from _support import (
    CLI,
    DEEP_RELU_STACK,
    FLAKE8,
    HE_RELU_MLP,
    XAVIER_RELU_LINE,
    XAVIER_RELU_MLP,
    assert_no_traceback,
    run,
)

from init_lint import config
from init_lint.cli import build_parser, main, settings_for
from init_lint.config import Config, ConfigError, find_config, load_config

Cli = Callable[..., tuple[int, str, str]]

# He on the hidden layer, but N(0, 0.01) instead: INI004 (5x too small for fan_in 784).
SMALL_STD_MLP = HE_RELU_MLP.replace(
    'nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")',
    "nn.init.normal_(self.fc1.weight, 0.0, 0.01)",
)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """``main(["check", "-q", ...])`` in-process; returns (exit code, stdout, stderr)."""

    def invoke(*argv: str | Path) -> tuple[int, str, str]:
        code = main(["check", "-q", *[str(arg) for arg in argv]])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return invoke


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def pyproject(directory: Path, table: str) -> Path:
    return write(directory, "pyproject.toml", "[tool.init-lint]\n" + textwrap.dedent(table))


def flagged_files(out: str) -> list[str]:
    return sorted({line.split(":", 1)[0] for line in out.splitlines()})


def project_of(*argv: str) -> config.ProjectSettings:
    args = build_parser().parse_args(["check", *argv])
    return settings_for(args)


def no_config_above(path: Path) -> bool:
    return find_config([path]) is None


# --- discovery ------------------------------------------------------------------------------


def test_config_is_found_by_walking_up_from_the_checked_paths(tmp_path: Path, cli: Cli) -> None:
    found = pyproject(tmp_path / "proj", 'ignore = ["INI002"]\n')
    model = write(tmp_path, "proj/pkg/deep/model.py", XAVIER_RELU_MLP)
    assert find_config([model]) == found
    assert find_config([model.parent]) == found
    assert cli(model) == (0, "", "")
    assert cli(tmp_path / "proj") == (0, "", "")
    # The same file outside the project is flagged: the table applies only below it.
    other = write(tmp_path, "elsewhere/model.py", XAVIER_RELU_MLP)
    if no_config_above(tmp_path):
        assert cli(other)[0] == 1


def test_the_nearest_table_wins_and_a_pyproject_without_one_is_passed_over(
    tmp_path: Path, cli: Cli
) -> None:
    outer = pyproject(tmp_path, 'ignore = ["INI002"]\n')
    inner = pyproject(tmp_path / "inner", 'select = ["INI00"]\n')
    write(tmp_path, "inner/plain/pyproject.toml", "[tool.ruff]\nline-length = 100\n")
    model = write(tmp_path, "inner/plain/model.py", XAVIER_RELU_MLP)
    assert find_config([model]) == inner
    assert cli(model)[0] == 1  # inner's table: INI002 selected, outer's ignore not read
    assert find_config([write(tmp_path, "top.py", XAVIER_RELU_MLP)]) == outer


def test_several_paths_use_the_table_above_their_common_parent(
    tmp_path: Path, cli: Cli
) -> None:
    shared = pyproject(tmp_path, 'ignore = ["INI002"]\n')
    pyproject(tmp_path / "a", 'select = ["INI"]\n')
    first = write(tmp_path, "a/model.py", XAVIER_RELU_MLP)
    second = write(tmp_path, "b/model.py", XAVIER_RELU_MLP)
    assert config.common_parent([first, second]) == tmp_path
    assert find_config([first, second]) == shared
    assert cli(first, second) == (0, "", "")
    assert cli(first)[0] == 1  # alone, a/'s own table applies


def test_discovery_stops_at_the_filesystem_root(tmp_path: Path, cli: Cli) -> None:
    if not no_config_above(tmp_path):
        pytest.skip(f"a [tool.init-lint] table lies above {tmp_path}")
    model = write(tmp_path, "a/b/c/model.py", XAVIER_RELU_MLP)
    assert find_config([model]) is None
    assert find_config(["/"]) is None or Path("/pyproject.toml").is_file()
    assert cli(model)[0] == 1
    project = project_of(str(model))
    assert project.config == Config()


def test_config_flag_names_the_file_and_no_config_ignores_every_file(
    tmp_path: Path, cli: Cli
) -> None:
    pyproject(tmp_path, 'ignore = ["INI002"]\n')
    explicit = write(tmp_path, "conf/pyproject.toml",
                     '[tool.init-lint]\nselect = ["INI001"]\nexclude = ["gen/*"]\n')
    model = write(tmp_path, "model.py", XAVIER_RELU_MLP)
    assert cli(model) == (0, "", "")
    assert cli("--no-config", model)[0] == 1
    assert cli("--isolated", model)[0] == 1
    assert cli("--config", explicit, model) == (0, "", "")  # INI001 only
    # Patterns of an explicit file are relative to its own directory.
    project = project_of("--config", str(explicit), str(tmp_path))
    assert project.is_excluded(tmp_path / "conf" / "gen" / "x.py")
    assert not project.is_excluded(tmp_path / "gen" / "x.py")
    code, out, err = main_error(["--config", str(explicit), "--no-config", str(model)])
    assert code == 2 and "not allowed with" in err


def main_error(argv: list[str]) -> tuple[int, str, str]:
    """``init-lint check ARGV`` in a subprocess (the real entry point, usage errors too)."""
    result = run([*CLI, "check", "-q", *argv])
    assert_no_traceback(result)
    return result.returncode, result.stdout, result.stderr


# --- precedence -----------------------------------------------------------------------------


def test_command_line_flags_override_the_file(tmp_path: Path, cli: Cli) -> None:
    pyproject(tmp_path, """\
        select = ["INI001"]
        ignore = ["INI004"]
        extend-select = ["INI005"]
        std-factor = 10.0
        deep-relu-depth = 8
        jobs = 3
    """)
    xavier = write(tmp_path, "xavier.py", XAVIER_RELU_MLP)
    small = write(tmp_path, "small.py", SMALL_STD_MLP)
    deep = write(tmp_path, "deep.py", DEEP_RELU_STACK)

    assert cli(xavier)[0] == 0  # select = INI001
    assert cli("--select", "INI002", xavier)[0] == 1
    assert cli("--select", "INI", small)[0] == 0  # ignore = INI004 still applies
    assert cli("--select", "INI", "--ignore", "INI001", "--std-factor", "2", small)[0] == 1
    assert cli("--select", "INI", "--ignore", "INI001", small)[0] == 0  # std-factor = 10
    assert cli(deep)[0] == 0  # depth 8 > 5 layers
    assert cli("--deep-relu-depth", "4", deep)[0] == 1
    assert cli("--deep-relu-depth", "4", "--extend-select", "INI002", deep)[0] == 0

    project = project_of(str(tmp_path))
    assert project.jobs == 3
    assert project.settings.select == ("INI001",)
    assert project.settings.options.std_factor == 10.0
    flagged = project_of("-j", "1", "--select", "INI002,INI003", "--std-factor", "2.5",
                         str(tmp_path))
    assert flagged.jobs == 1
    assert flagged.settings.select == ("INI002", "INI003")
    assert flagged.settings.ignore == ("INI004",)
    assert flagged.settings.options.std_factor == 2.5
    assert flagged.settings.options.deep_relu_depth == 8


def test_defaults_apply_to_keys_the_file_leaves_out(tmp_path: Path) -> None:
    pyproject(tmp_path, "exclude = []\n")
    project = project_of(str(tmp_path))
    assert project.config.path == tmp_path / "pyproject.toml"
    assert project.settings == config.with_enabled_codes(config.Settings())
    assert project.jobs >= 1


# --- each key -----------------------------------------------------------------------------


def test_select_ignore_and_extend_select_keys(tmp_path: Path, cli: Cli) -> None:
    xavier = write(tmp_path, "xavier.py", XAVIER_RELU_MLP)
    deep = write(tmp_path, "deep.py", DEEP_RELU_STACK)
    pyproject(tmp_path, 'select = ["INI001", "ini003"]\n')
    assert cli(xavier)[0] == 0
    pyproject(tmp_path, 'select = ["INI00"]\n')
    assert cli(xavier)[0] == 1
    pyproject(tmp_path, 'ignore = ["INI002"]\n')
    assert cli(xavier)[0] == 0
    assert cli(deep)[0] == 0
    pyproject(tmp_path, 'extend-select = ["INI005"]\n')
    code, out, _ = cli(deep)
    assert code == 1 and " INI005 " in out


def test_std_factor_and_deep_relu_depth_keys(tmp_path: Path, cli: Cli) -> None:
    small = write(tmp_path, "small.py", SMALL_STD_MLP)
    deep = write(tmp_path, "deep.py", DEEP_RELU_STACK)
    pyproject(tmp_path, "std-factor = 6\n")  # an integer is a number too
    assert cli(small)[0] == 0
    pyproject(tmp_path, "std-factor = 4.5\n")
    assert cli(small)[0] == 1
    pyproject(tmp_path, 'extend-select = ["INI005"]\ndeep-relu-depth = 6\n')
    assert cli(deep)[0] == 0
    pyproject(tmp_path, 'extend-select = ["INI005"]\ndeep-relu-depth = 5\n')
    assert cli(deep)[0] == 1


def test_jobs_key_sets_the_worker_count(tmp_path: Path, cli: Cli) -> None:
    pyproject(tmp_path, "jobs = 2\n")
    for index in range(4):
        write(tmp_path, f"m{index}.py", XAVIER_RELU_MLP)
    assert project_of(str(tmp_path)).jobs == 2
    code, out, _ = cli(tmp_path)
    assert code == 1 and out.count(" INI002 ") == 4


def test_exclude_matches_base_names_and_paths_relative_to_the_config(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "proj"
    pyproject(root, 'exclude = ["legacy", "*_pb2.py", "gen/out/*", "**/skip_me.py", '
                    '"./vendored/"]\n')
    for name in ("keep.py", "legacy/old.py", "pkg/legacy/old.py", "pkg/model_pb2.py",
                 "gen/out/a/b.py", "gen/keep.py", "skip_me.py", "pkg/skip_me.py",
                 "vendored/lib.py", "pkg/vendored/lib.py"):
        write(root, name, XAVIER_RELU_MLP)
    monkeypatch.chdir(tmp_path)  # not the config's directory: patterns stay relative to it
    code, out, _ = cli("proj")
    assert code == 1
    assert flagged_files(out) == ["proj/gen/keep.py", "proj/keep.py", "proj/pkg/vendored/lib.py"]
    # Files named on the command line are excluded too (pre-commit names every file).
    assert cli("proj/legacy/old.py", "proj/pkg/model_pb2.py") == (0, "", "")
    assert cli("proj/legacy") == (0, "", "")
    assert cli("--no-config", "proj/legacy/old.py")[0] == 1


def test_per_file_ignores_silence_codes_in_matching_files(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "pyproject.toml", """\
        [tool.init-lint.per-file-ignores]
        "tests/*" = ["INI002"]
        "scratch.py" = ["INI"]
        "pkg/special.py" = ["INI001", "INI002"]
    """)
    for name in ("tests/unit/test_model.py", "scratch.py", "pkg/scratch.py", "pkg/special.py",
                 "pkg/model.py"):
        write(tmp_path, name, XAVIER_RELU_MLP)
    write(tmp_path, "tests/small.py", SMALL_STD_MLP)  # INI004 is not ignored under tests/
    monkeypatch.chdir(tmp_path)
    for jobs in ("1", "2"):  # each worker gets its file's settings
        code, out, _ = cli("-j", jobs, ".")
        assert code == 1
        assert flagged_files(out) == ["./pkg/model.py", "./tests/small.py"]
        assert " INI004 " in out.split("./tests/small.py", 1)[1]
    project = project_of(".")
    assert project.for_file("tests/a.py").ignore == ("INI002",)
    assert project.for_file("pkg/special.py").ignore == ("INI001", "INI002")
    assert project.for_file("pkg/model.py") == project.settings


def test_flake8_does_not_read_the_pyproject_table(tmp_path: Path) -> None:
    pyproject(tmp_path, 'ignore = ["INI"]\nexclude = ["model.py"]\n')
    write(tmp_path, "model.py", XAVIER_RELU_MLP)
    result = run([*FLAKE8, "--select=INI", "model.py"], cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout.startswith(f"model.py:{XAVIER_RELU_LINE}:")


# --- errors -------------------------------------------------------------------------------

BAD_TABLES = [
    ('selekt = ["INI001"]\n',
     "[tool.init-lint] unknown key 'selekt' (did you mean 'select'? known keys: select, "),
    ('extend_select = ["INI005"]\n',
     "[tool.init-lint] unknown key 'extend_select' (did you mean 'extend-select'? "),
    ('select = "INI001"\n',
     "[tool.init-lint] select: expected an array of code prefixes such as [\"INI001\"], "
     "got a string ('INI001')"),
    ("ignore = [2]\n", "[tool.init-lint] ignore: expected an array of code prefixes"),
    ('extend-select = ["INI 005"]\n',
     "[tool.init-lint] extend-select: not a code or code prefix: 'INI 005'"),
    ('exclude = "legacy"\n',
     "[tool.init-lint] exclude: expected an array of glob patterns such as [\"legacy/*\"], "
     "got a string ('legacy')"),
    ('exclude = ["/"]\n', "[tool.init-lint] exclude: empty glob pattern '/'"),
    ('per-file-ignores = ["tests/*"]\n',
     "[tool.init-lint] per-file-ignores: expected a table of glob pattern = [codes], "
     "got an array"),
    ('per-file-ignores = { "tests/*" = "INI001" }\n',
     "[tool.init-lint] per-file-ignores 'tests/*': expected an array of code prefixes"),
    ('std-factor = "3"\n', "[tool.init-lint] std-factor: expected a number, got a string ('3')"),
    ("std-factor = 1\n", "[tool.init-lint] std-factor: must be a number greater than 1, got 1"),
    ("std-factor = 0.5\n",
     "[tool.init-lint] std-factor: must be a number greater than 1, got 0.5"),
    ("std-factor = inf\n",
     "[tool.init-lint] std-factor: must be a number greater than 1, got inf"),
    ("std-factor = true\n",
     "[tool.init-lint] std-factor: expected a number, got a boolean (True)"),
    ("deep-relu-depth = 4.0\n",
     "[tool.init-lint] deep-relu-depth: expected an integer, got a number (4.0)"),
    ("deep-relu-depth = 1\n",
     "[tool.init-lint] deep-relu-depth: must be an integer of at least 2, got 1"),
    ("jobs = 0\n", "[tool.init-lint] jobs: must be at least 1, got 0"),
    ('jobs = "4"\n', "[tool.init-lint] jobs: expected an integer, got a string ('4')"),
    ("jobs = false\n", "[tool.init-lint] jobs: expected an integer, got a boolean (False)"),
]


@pytest.mark.parametrize(("table", "message"), BAD_TABLES,
                         ids=[table.split("=")[0].strip() + "-" + str(i)
                              for i, (table, _) in enumerate(BAD_TABLES)])
def test_a_bad_key_or_value_is_one_line_naming_the_key_and_the_file(
    tmp_path: Path, cli: Cli, table: str, message: str
) -> None:
    path = pyproject(tmp_path, table)
    model = write(tmp_path, "model.py", XAVIER_RELU_MLP)
    code, out, err = cli(model)
    assert (code, out) == (2, "")
    assert err.startswith(f"init-lint: {path}: {message}"), err
    assert err.count("\n") == 1
    with pytest.raises(ConfigError):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.init-lint\nselect = []\n",
         "invalid TOML: Expected ']' at the end of a table declaration (at line 1, column 16)"),
        ('[tool.init-lint]\nselect = ["INI001"\n', "invalid TOML: "),
        ("[tool.init-lint]\nselect = []\nselect = []\n", "invalid TOML: "),
        ("[tool]\ninit-lint = 3\n", "[tool.init-lint] must be a table, got an integer (3)"),
        (b"[tool.init-lint]\n# caf\xe9\n".decode("latin-1"), "invalid TOML: "),
    ],
    ids=["unclosed-table", "unclosed-array", "duplicate-key", "not-a-table", "not-utf8"],
)
def test_an_unusable_pyproject_is_one_line_naming_the_file(
    tmp_path: Path, cli: Cli, text: str, message: str
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(text.encode("latin-1"))
    model = write(tmp_path, "model.py", XAVIER_RELU_MLP)
    code, out, err = cli(model)
    assert (code, out) == (2, "")
    assert err.startswith(f"init-lint: {path}: {message}"), err
    assert err.count("\n") == 1
    # Ignoring configuration files ignores the broken one too.
    assert cli("--no-config", model)[0] == 1


def test_config_flag_errors(tmp_path: Path, cli: Cli) -> None:
    model = write(tmp_path, "model.py", XAVIER_RELU_MLP)
    missing = tmp_path / "nope.toml"
    assert cli("--config", missing, model) == (
        2, "", f"init-lint: {missing}: cannot read: no such file\n"
    )
    without = write(tmp_path, "other.toml", "[tool.ruff]\n")
    assert cli("--config", without, model) == (
        2, "", f"init-lint: {without}: no [tool.init-lint] table\n"
    )


def test_config_errors_through_the_console_script_have_no_traceback(tmp_path: Path) -> None:
    pyproject(tmp_path, "std-factor = 0\n")
    write(tmp_path, "model.py", XAVIER_RELU_MLP)
    code, out, err = main_error([str(tmp_path / "model.py")])
    assert (code, out) == (2, "")
    assert err == (f"init-lint: {tmp_path / 'pyproject.toml'}: [tool.init-lint] std-factor: "
                   "must be a number greater than 1, got 0\n")

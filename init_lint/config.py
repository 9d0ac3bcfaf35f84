"""The ``[tool.init-lint]`` table of ``pyproject.toml``: finding it, reading it, checking it.

This module owns the project configuration of the CLI (and, later, the language server):
finding and checking the table, and merging it with command-line values into the
``ProjectSettings`` of a run (``project_settings``: a flag given replaces the file's value).
flake8 keeps its own configuration files (``setup.cfg``, ``.flake8``, ``tox.ini``) through
the options the plugin registers; it never reads this table.

Discovery (``find_config``): from the common parent directory of the checked paths, walk up
to the filesystem root and stop at the first ``pyproject.toml`` that has a
``[tool.init-lint]`` table (a ``pyproject.toml`` without one is passed over).

Keys (kebab-case, as ruff and flake8 spell them)::

    [tool.init-lint]
    select = ["INI"]                 # code prefixes to report
    ignore = ["INI004"]              # code prefixes not to report
    extend-select = ["INI005"]       # codes added to select (the opt-in INI005)
    exclude = ["legacy", "*_pb2.py"] # glob patterns of files and directories to skip
    per-file-ignores = { "tests/*" = ["INI001"] }
    std-factor = 3.0                 # INI004's tolerance (a number > 1)
    deep-relu-depth = 6              # INI005's depth (an integer >= 2)
    jobs = 4                         # worker processes (an integer >= 1)
    cache-dir = ".init-lint-cache"   # check's result cache (relative to this file's folder)

Glob patterns (``exclude``, ``per-file-ignores``) are matched as flake8 matches them: a
pattern without ``/`` against base names (``legacy``, ``*_pb2.py``), a pattern with one
against the path relative to the directory of the configuration file (``gen/*``,
``./vendored``; ``/``-separated; ``*`` also matches ``/``; a leading ``**/`` also matches
nothing). A file matches when it, or any directory containing it below the
configuration's directory, matches.

Every problem is a ``ConfigError`` whose ``str()`` is one line naming the file and the key.
"""

from __future__ import annotations

import argparse
import difflib
import fnmatch
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from init_lint import thresholds
from init_lint.engine import Settings
from init_lint.rules import ALL_RULES, Options

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

CONFIG_FILE = "pyproject.toml"
TABLE = "init-lint"  # [tool.init-lint]

#: A code or a code prefix: ``INI``, ``INI00``, ``INI002`` (upper case; flake8's shape).
_CODE_PREFIX = re.compile(r"[A-Z]+[0-9]*")

T = TypeVar("T")

KNOWN_KEYS = (
    "select",
    "ignore",
    "extend-select",
    "exclude",
    "per-file-ignores",
    "std-factor",
    "deep-relu-depth",
    "jobs",
    "cache-dir",
)


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` is the one-line reason."""


def code_prefixes(text: str) -> tuple[str, ...]:
    """``"INI001, ini004"`` -> ``("INI001", "INI004")``: comma-separated code prefixes.

    The argparse type of ``--select``/``--ignore``/``--extend-select``.
    """
    codes = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    for code in codes:
        if not _CODE_PREFIX.fullmatch(code):
            raise argparse.ArgumentTypeError(f"not a code or code prefix: {code!r}")
    return codes


@dataclass(frozen=True)
class Config:
    """The values of one ``[tool.init-lint]`` table; ``None``: the key was not set.

    ``path`` is the ``pyproject.toml`` read (``None``: no configuration); glob patterns
    are relative to its directory.
    """

    path: Path | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    std_factor: float | None = None
    deep_relu_depth: int | None = None
    jobs: int | None = None
    cache_dir: Path | None = None  # absolute (a relative value is resolved against ``root``)

    @property
    def root(self) -> Path:
        """The directory glob patterns are relative to (the current one without a file)."""
        return self.path.parent if self.path is not None else Path.cwd()

    def is_excluded(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``exclude`` skips this file or directory."""
        return bool(self.exclude) and path_matches(path, self.exclude, self.root)

    def ignored_codes(self, path: str | os.PathLike[str]) -> tuple[str, ...]:
        """The code prefixes ``per-file-ignores`` silences in this file."""
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores:
            if path_matches(path, (pattern,), self.root):
                codes.extend(code for code in ignored if code not in codes)
        return tuple(codes)


# --- glob matching ----------------------------------------------------------------------------


def _normalize_pattern(pattern: str) -> str:
    pattern = pattern.replace("\\", "/").rstrip("/")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    return pattern


def _is_anchored(pattern: str) -> bool:
    """A pattern with a ``/`` names a path below the config's directory, not a base name."""
    return "/" in pattern.replace("\\", "/").rstrip("/")


def _matches(candidate: str, pattern: str) -> bool:
    if fnmatch.fnmatch(candidate, pattern):
        return True
    return pattern.startswith("**/") and fnmatch.fnmatch(candidate, pattern[3:])


def path_matches(path: str | os.PathLike[str], patterns: Iterable[str], root: Path) -> bool:
    """Whether ``path`` or a directory containing it (below ``root``) matches a pattern.

    As in flake8: a pattern without ``/`` (``legacy``, ``*_pb2.py``) is matched against
    base names; one with a ``/`` (``gen/out/*``, ``./vendored``) against the ``/``-separated
    path relative to ``root``. A path outside ``root`` is tried by its own base name only.
    """
    absolute = Path(os.path.abspath(path))
    try:
        parts = absolute.relative_to(os.path.abspath(root)).parts
    except ValueError:
        parts = ()
    names = list(parts) if parts else [absolute.name]
    relatives = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    for pattern in patterns:
        normalized = _normalize_pattern(pattern)
        if not normalized:
            continue
        candidates = relatives if _is_anchored(pattern) else names
        if any(_matches(candidate, normalized) for candidate in candidates):
            return True
    return False


# --- discovery ------------------------------------------------------------------------------


def common_parent(paths: Sequence[str | os.PathLike[str]]) -> Path:
    """The deepest directory containing every path (a file counts as its directory)."""
    directories = []
    for path in paths or ["."]:
        absolute = os.path.abspath(path)
        directories.append(absolute if os.path.isdir(absolute) else os.path.dirname(absolute))
    return Path(os.path.commonpath(directories))


def _read_toml(path: Path) -> dict[str, object]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        document: dict[str, object] = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: invalid TOML: not valid UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return document


def _table(document: Mapping[str, object], path: Path) -> Mapping[str, object] | None:
    tool = document.get("tool")
    if not isinstance(tool, dict) or TABLE not in tool:
        return None
    table = tool[TABLE]
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.{TABLE}] must be a table, got {_describe(table)}")
    return table


def find_config(paths: Sequence[str | os.PathLike[str]]) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.init-lint]`` table above ``paths``.

    Raises ``ConfigError`` for a ``pyproject.toml`` on the way that is not valid TOML (it
    might hold the table).
    """
    directory = common_parent(paths)
    while True:
        candidate = directory / CONFIG_FILE
        if candidate.is_file() and _table(_read_toml(candidate), candidate) is not None:
            return candidate
        if directory.parent == directory:
            return None
        directory = directory.parent


# --- reading and checking -------------------------------------------------------------------


def _describe(value: object) -> str:
    kinds = {bool: "a boolean", str: "a string", int: "an integer", float: "a number",
             list: "an array", dict: "a table"}
    kind = kinds.get(type(value), type(value).__name__)
    if isinstance(value, (list, dict)):
        return kind
    return f"{kind} ({value!r})"


def _code_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected an array of code prefixes such as "
                          f'["INI001"], got {_describe(value)}')
    codes = tuple(item.strip().upper() for item in value)
    for code in codes:
        if not _CODE_PREFIX.fullmatch(code):
            raise ConfigError(f"{where}: not a code or code prefix: {code!r}")
    return codes


def _pattern_list(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where}: expected an array of glob patterns such as "
                          f'["legacy/*"], got {_describe(value)}')
    for pattern in value:
        if not _normalize_pattern(pattern):
            raise ConfigError(f"{where}: empty glob pattern {pattern!r}")
    return tuple(value)


def _threshold(value: object, where: str, parse: Callable[[str], T], *, integer: bool) -> T:
    """Check the TOML type, then validate with the same converter as the command line."""
    wanted: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{where}: expected {kind}, got {_describe(value)}")
    text = str(value)
    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        # The converters quote the command-line text; a TOML number reads better bare.
        raise ConfigError(f"{where}: {str(exc).replace(repr(text), text)}") from None


def _directory(value: object, where: str, root: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a directory path (a non-empty string), "
                          f"got {_describe(value)}")
    return root / Path(value).expanduser()


def _per_file_ignores(value: object, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a table of glob pattern = [codes], "
                          f"got {_describe(value)}")
    return tuple(
        (_pattern_list([pattern], where)[0], _code_list(codes, f"{where} {pattern!r}"))
        for pattern, codes in value.items()
    )


def parse_table(table: Mapping[str, object], path: Path) -> Config:
    """Check every key of a ``[tool.init-lint]`` table and build its ``Config``."""
    for key in table:
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key.replace("_", "-"), KNOWN_KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{path}: [tool.{TABLE}] unknown key {key!r} ({hint}known keys: "
                              f"{', '.join(KNOWN_KEYS)})")

    def where(key: str) -> str:
        return f"{path}: [tool.{TABLE}] {key}"

    def codes(key: str) -> tuple[str, ...] | None:
        return _code_list(table[key], where(key)) if key in table else None

    return Config(
        path=path,
        select=codes("select"),
        ignore=codes("ignore"),
        extend_select=codes("extend-select"),
        exclude=_pattern_list(table["exclude"], where("exclude")) if "exclude" in table else (),
        per_file_ignores=(
            _per_file_ignores(table["per-file-ignores"], where("per-file-ignores"))
            if "per-file-ignores" in table else ()
        ),
        std_factor=(
            _threshold(table["std-factor"], where("std-factor"), thresholds.std_factor,
                       integer=False)
            if "std-factor" in table else None
        ),
        deep_relu_depth=(
            _threshold(table["deep-relu-depth"], where("deep-relu-depth"),
                       thresholds.deep_relu_depth, integer=True)
            if "deep-relu-depth" in table else None
        ),
        jobs=(
            _threshold(table["jobs"], where("jobs"), thresholds.job_count, integer=True)
            if "jobs" in table else None
        ),
        cache_dir=(
            _directory(table["cache-dir"], where("cache-dir"), path.parent.absolute())
            if "cache-dir" in table else None
        ),
    )


def load_config(path: str | os.PathLike[str], *, required: bool = False) -> Config:
    """Read the ``[tool.init-lint]`` table of ``path``.

    A file without the table is an empty ``Config``, or a ``ConfigError`` when
    ``required`` (a file named with ``--config`` that lacks the table is a mistake).
    """
    path = Path(path)
    if required and not path.is_file():
        raise ConfigError(f"{path}: cannot read: no such file")
    table = _table(_read_toml(path), path)
    if table is None:
        if required:
            raise ConfigError(f"{path}: no [tool.{TABLE}] table")
        return Config(path=path)
    return parse_table(table, path)


def discover_config(paths: Sequence[str | os.PathLike[str]]) -> Config:
    """The configuration that applies to ``paths``: the nearest table, else none."""
    found = find_config(paths)
    return load_config(found) if found is not None else Config()


# --- settings: flags over the file over the defaults ----------------------------------------


@dataclass(frozen=True)
class ProjectSettings:
    """What a run uses: the engine's settings, the table they came from, the job count.

    ``settings`` holds the codes and thresholds (command-line flags over the file over the
    defaults); ``for_file`` adds the file's ``per-file-ignores``; ``is_excluded`` applies
    ``exclude``.
    """

    settings: Settings
    config: Config
    jobs: int

    def for_file(self, path: str | os.PathLike[str]) -> Settings:
        """The settings for one file: ``settings`` plus its ``per-file-ignores``."""
        extra = tuple(c for c in self.config.ignored_codes(path) if c not in self.settings.ignore)
        if not extra:
            return self.settings
        return with_enabled_codes(replace(self.settings, ignore=self.settings.ignore + extra))

    def is_excluded(self, path: str | os.PathLike[str]) -> bool:
        return self.config.is_excluded(path)


def project_settings(
    config: Config,
    *,
    select: tuple[str, ...] | None = None,
    ignore: tuple[str, ...] | None = None,
    extend_select: tuple[str, ...] | None = None,
    std_factor: float | None = None,
    deep_relu_depth: int | None = None,
    jobs: int | None = None,
) -> ProjectSettings:
    """Merge: each value given here (a command-line flag) replaces the file's value."""

    def pick(flag: T | None, configured: T | None, default: T) -> T:
        if flag is not None:
            return flag
        return configured if configured is not None else default

    settings = Settings(
        select=pick(select, config.select, Settings.select),
        ignore=pick(ignore, config.ignore, Settings.ignore),
        extend_select=pick(extend_select, config.extend_select, Settings.extend_select),
        options=Options(
            std_factor=pick(std_factor, config.std_factor, Options.std_factor),
            deep_relu_depth=pick(deep_relu_depth, config.deep_relu_depth,
                                 Options.deep_relu_depth),
        ),
    )
    return ProjectSettings(with_enabled_codes(settings), config,
                           pick(jobs, config.jobs, os.cpu_count() or 1))


def with_enabled_codes(settings: Settings) -> Settings:
    """``settings`` whose options name the rules it enables, so that fixes repair only
    what an enabled rule flags (``Options.enabled``; the cache keys on both anyway)."""
    codes = [rule.code for rule in ALL_RULES if settings.enabled(rule)]
    return replace(settings, options=settings.options.enabling(codes))

"""The ``init-lint`` command line: ``check``, ``rules``, ``explain`` (and ``audit``).

This module owns argument parsing, finding the files to check, running the engine over
them (in parallel worker processes), what goes to stdout and stderr (the progress bar, the
closing summary) and exit codes. Formatting lives in ``report``; the analysis in
``engine``; ``[tool.init-lint]`` in ``config``; ``audit`` is registered by
``init_lint.runtime.cli`` when that module imports (it needs torch only when it runs).

``init-lint check PATH...`` walks directories for ``*.py`` files (skipping version-control,
virtualenv, build and cache folders; a file named on the command line is always checked,
unless the configuration's ``exclude`` matches it), checks each with ``engine.check_path``
(``# noqa`` honoured as flake8 does) and prints the findings in sorted path order. Results
are kept in a cache directory (``init_lint.cache``; ``--cache-dir``, ``--no-cache``), so a
re-run reads and hashes unchanged files without parsing them.

Commands that check files share their options and their settings: ``add_project_arguments``
adds them to a subparser, ``settings_for(args)`` resolves them (flags over the
``[tool.init-lint]`` table found above the paths over the defaults) into a
``config.ProjectSettings``, and ``discover_files`` / ``check_files`` do the rest.

Exit codes: 0 no findings; 1 findings; 2 usage error, or a file that could not be read or
parsed (one line on stderr each: ``path: cannot parse: <reason> (line N)``; the other files
are still checked); 130 interrupted (Ctrl-C). Never a traceback: an unexpected exception
while checking a file becomes that file's error line, marked as an internal error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import repeat
from pathlib import Path

from init_lint import __version__, engine, report, thresholds
from init_lint.cache import DEFAULT_DIRECTORY, CacheError, ResultCache, open_cache
from init_lint.config import (
    Config,
    ConfigError,
    ProjectSettings,
    code_prefixes,
    discover_config,
    load_config,
    project_settings,
)
from init_lint.engine import FileResult, Settings
from init_lint.findings import Edit, Fix
from init_lint.fix_command import add_fix_arguments, run_fix
from init_lint.progress import ProgressBar
from init_lint.rules import ALL_RULES, Options, Rule

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

#: Directory names never walked into (a directory holding ``pyvenv.cfg`` neither).
SKIPPED_DIRS = frozenset(
    {".git", ".hg", "venv", ".venv", "build", "dist", "node_modules", "__pycache__", ".tox",
     ".eggs"}
)



# --- the parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="init-lint",
        description="Find weight-initialization mistakes in PyTorch model code.",
    )
    parser.add_argument("--version", action="version", version=f"init-lint {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = subparsers.add_parser(
        "check",
        help="report initialization mistakes in files and directories",
        description="Check Python files (directories are walked for *.py files). Settings "
        "come from the command line, then from [tool.init-lint] in the nearest "
        "pyproject.toml above the paths. Exit status: 0 clean, 1 findings, 2 usage or "
        "configuration error or a file that could not be read or parsed, 130 interrupted.",
    )
    add_project_arguments(check)
    add_cache_arguments(check)
    check.add_argument(
        "--format", choices=report.FORMATS, default="text",
        help="text: path:line:col: CODE message (flake8's format); json: one array of "
        "{path, line, col, end_line, end_col, code, message, fixable}; sarif: a SARIF "
        "2.1.0 log (GitHub code scanning); github: GitHub Actions workflow commands "
        "(annotations). Columns are 1-based (default: text)",
    )
    check.set_defaults(handler=run_check)

    fix = subparsers.add_parser(
        "fix",
        help="rewrite each fixable finding into the recommended initializer",
        description="Apply every certain fix (the recommended init for the paired "
        "activation, in the file's own style), writing each file atomically. Prints one "
        "line per changed file and a summary of what was left unfixed and why. Exit "
        "status: 0 nothing left, 1 findings remain unfixed (or, with --diff, would be "
        "fixed), 2 errors.",
    )
    add_project_arguments(fix)
    add_fix_arguments(fix)
    fix.set_defaults(handler=run_fix_command)

    rules = subparsers.add_parser("rules", help="list the rules")
    rules.set_defaults(handler=run_rules)

    explain = subparsers.add_parser(
        "explain", help="print a rule's documentation and examples"
    )
    explain.add_argument("code", metavar="CODE", help="a rule code, e.g. INI002")
    explain.set_defaults(handler=run_explain)

    _add_runtime_commands(subparsers)
    _add_lsp_command(subparsers)
    return parser


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    """The paths and the options of every command that checks files (``check``, ``fix``).

    Values not given on the command line are ``None``: ``settings_for`` then takes them
    from the configuration file, else from the defaults.
    """
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument(
        "--select", type=code_prefixes, metavar="CODES",
        help="comma-separated code prefixes to report (default: INI, all rules that are "
        "on by default); an off-by-default rule (INI005) must be named in full",
    )
    parser.add_argument(
        "--ignore", type=code_prefixes, metavar="CODES",
        help="comma-separated code prefixes not to report",
    )
    parser.add_argument(
        "--extend-select", type=code_prefixes, metavar="CODES",
        help="codes to report in addition to --select, e.g. INI005",
    )
    parser.add_argument(
        "--std-factor", type=thresholds.std_factor, metavar="FACTOR",
        help="INI004: flag a constant init std more than FACTOR times away from the "
        f"recommended one (default: the configuration's std-factor, else {Options.std_factor})",
    )
    parser.add_argument(
        "--deep-relu-depth", type=thresholds.deep_relu_depth, metavar="N",
        help="INI005: flag plain rectifier stacks of N or more layers on PyTorch's default "
        f"init (default: the configuration's deep-relu-depth, else {Options.deep_relu_depth})",
    )
    parser.add_argument(
        "-j", "--jobs", type=thresholds.job_count, metavar="N",
        help="worker processes (default: the configuration's jobs, else all cores)",
    )
    config = parser.add_mutually_exclusive_group()
    config.add_argument(
        "--config", metavar="PYPROJECT",
        help="read [tool.init-lint] from this file instead of searching for the nearest "
        "pyproject.toml above the paths",
    )
    config.add_argument(
        "--no-config", "--isolated", dest="no_config", action="store_true",
        help="ignore configuration files: command-line options and defaults only",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true",
        help="no progress bar and no closing summary on stderr",
    )


#: Environment variables: a cache directory (below ``--cache-dir``, above the
#: configuration), and a switch that turns the cache off as ``--no-cache`` does.
CACHE_DIR_VARIABLE = "INIT_LINT_CACHE_DIR"
NO_CACHE_VARIABLE = "INIT_LINT_NO_CACHE"


def add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cache-dir`` and ``--no-cache`` (``check``: ``fix`` always analyzes afresh)."""
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache-dir", metavar="DIR",
        help=f"keep results here, keyed by file content, init-lint version and settings "
        f"(default: ${CACHE_DIR_VARIABLE}, else the configuration's cache-dir, else "
        f"{DEFAULT_DIRECTORY} in the current directory)",
    )
    cache.add_argument(
        "--no-cache", action="store_true",
        help=f"neither read nor write the result cache (also: {NO_CACHE_VARIABLE}=1)",
    )


def cache_directory(args: argparse.Namespace, config: Config) -> Path | None:
    """Where ``check`` keeps its results; ``None``: no cache (``--no-cache``).

    ``--cache-dir``, else ``$INIT_LINT_CACHE_DIR``, else the configuration's ``cache-dir``,
    else ``.init-lint-cache`` in the current directory. ``$INIT_LINT_NO_CACHE`` (set and
    not ``0``/``false``/``no``) turns the cache off unless ``--cache-dir`` is given.
    """
    if getattr(args, "no_cache", False):
        return None
    given: str | None = getattr(args, "cache_dir", None)
    if given is not None:
        return Path(given).expanduser()
    if os.environ.get(NO_CACHE_VARIABLE, "").strip().lower() not in ("", "0", "false", "no"):
        return None
    from_environment = os.environ.get(CACHE_DIR_VARIABLE, "").strip()
    if from_environment:
        return Path(from_environment).expanduser()
    if config.cache_dir is not None:
        return config.cache_dir
    return Path(DEFAULT_DIRECTORY)


def _add_runtime_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """``audit``, when ``init_lint.runtime.cli`` imports (it needs torch installed).

    Its handler follows this module's convention: ``args.handler(args) -> int``.
    """
    try:
        runtime_cli = importlib.import_module("init_lint.runtime.cli")
    except ImportError:
        return
    add_audit_command = getattr(runtime_cli, "add_audit_command", None)
    if callable(add_audit_command):
        add_audit_command(subparsers)


def _add_lsp_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """``lsp``: the language server. ``init_lint.lsp`` (and pygls, the optional ``lsp``
    extra) is imported only when the command runs."""
    lsp = subparsers.add_parser(
        "lsp",
        help="run the language server (LSP over stdin/stdout): diagnostics and quick fixes",
        description="Serve the Language Server Protocol over stdin/stdout for an editor: "
        "findings as diagnostics, fixes as code actions, [tool.init-lint] honoured. Needs "
        'the lsp extra: pip install "init-lint[lsp]".',
    )
    lsp.set_defaults(handler=run_lsp)


def run_lsp(args: argparse.Namespace) -> int:
    try:
        server = importlib.import_module("init_lint.lsp")
    except ImportError as exc:
        print(f'init-lint lsp needs pygls ({exc}): pip install "init-lint[lsp]"',
              file=sys.stderr)
        return EXIT_ERROR
    code = server.main()
    assert isinstance(code, int)
    return code


# --- check ----------------------------------------------------------------------------------


def is_skipped_dir(path: Path) -> bool:
    """A directory ``check`` does not walk into: VCS, virtualenvs, builds, caches."""
    return path.name in SKIPPED_DIRS or (path / "pyvenv.cfg").is_file()


def discover_files(
    paths: Sequence[str], exclude: Callable[[str], bool] | None = None
) -> tuple[list[str], list[FileResult]]:
    """The files to check, sorted and without duplicates, and errors for missing paths.

    A named file is checked whatever its name; a named directory is walked (even one with
    a skipped name) for ``*.py`` files, without following symlinked directories or
    entering skipped ones below it. ``exclude`` (the configuration's ``exclude``) skips
    files and directories, named or walked.
    """
    excluded = exclude or (lambda path: False)
    found: dict[str, str] = {}  # normalized path -> path as printed
    missing: list[FileResult] = []
    for given in paths:
        top = Path(given)
        if top.is_dir():
            if excluded(given):
                continue
            for root, dirnames, filenames in os.walk(top):
                root_path = Path(root)
                dirnames[:] = sorted(
                    d for d in dirnames
                    if not is_skipped_dir(root_path / d) and not excluded(os.path.join(root, d))
                )
                for name in filenames:
                    path = os.path.join(root, name)
                    if name.endswith(".py") and not excluded(path):
                        found.setdefault(os.path.normpath(path), path)
        elif top.exists():
            if not excluded(given):
                found.setdefault(os.path.normpath(given), given)
        else:
            missing.append(FileResult(given, error="cannot read: no such file or directory"))
    return sorted(found.values()), missing


def check_one(path: str, settings: Settings, cache: ResultCache | None = None) -> FileResult:
    """``engine.check_path`` (through ``cache`` if given), with any unexpected exception
    turned into an error line (never stored in the cache)."""
    try:
        if cache is not None:
            return cache.check(path, settings)
        return engine.check_path(path, settings)
    except Exception as exc:  # a bug in init-lint, not in the file: report, don't crash
        detail = str(exc).splitlines()[0] if str(exc) else ""
        return FileResult(
            path,
            error=f"internal error: {type(exc).__name__}{': ' + detail if detail else ''} "
            "(please report this as an init-lint bug)",
        )


def _worker_init() -> None:
    # Ctrl-C reaches the whole process group. Workers ignore it: the parent cancels what
    # is queued and each worker exits after its current file. (Workers that die instead
    # make Python 3.11's executor raise InvalidStateError from its manager thread.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def check_files(
    paths: Sequence[str],
    settings: Settings | Callable[[str], Settings],
    jobs: int,
    cache: ResultCache | None = None,
) -> Iterator[FileResult]:
    """Check ``paths``, yielding results in the order given.

    ``settings`` is one ``Settings`` for every file, or a function giving each file's
    (``ProjectSettings.for_file``: its ``per-file-ignores``). With ``cache``, a file whose
    result is cached is only read and hashed, and fresh results are stored. With more than
    one job and more than one file left to check, worker processes read, parse and store
    the files themselves (only paths, settings and the cache's folder are sent); otherwise
    everything runs in this process.
    """
    per_file = [settings if isinstance(settings, Settings) else settings(p) for p in paths]
    known: list[FileResult | None] = [None] * len(paths)
    if cache is not None and jobs > 1 and len(paths) > 1:
        # Answer hits here: a warm run starts no worker at all.
        known = [cache.lookup(p, s) for p, s in zip(paths, per_file, strict=True)]
    todo = [index for index, result in enumerate(known) if result is None]
    if jobs <= 1 or len(todo) <= 1:
        for path, path_settings, result in zip(paths, per_file, known, strict=True):
            yield result if result is not None else check_one(path, path_settings, cache)
        return
    # One file per task: a path and a small result are cheap to send next to a parse, and
    # an interrupted run waits for at most one file per worker.
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(todo)), initializer=_worker_init)
    fresh = pool.map(check_one, [paths[i] for i in todo], [per_file[i] for i in todo],
                     repeat(cache))
    done = 0
    try:
        for result in known:
            yield result if result is not None else next(fresh)
            done += 1
    except BrokenProcessPool:
        pool.shutdown(wait=False, cancel_futures=True)
        for path, result in zip(paths[done:], known[done:], strict=True):
            yield result if result is not None else FileResult(
                path,
                error="internal error: a worker process died before this file was checked "
                "(please report this as an init-lint bug)",
            )
    except BaseException:  # KeyboardInterrupt, a closed stdout: stop without waiting
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown()


def settings_for(
    args: argparse.Namespace, paths: Sequence[str] | None = None
) -> ProjectSettings:
    """The settings of a run: the flags in ``args`` over the configuration over defaults.

    The configuration is ``--config``'s file, else the nearest ``pyproject.toml`` with a
    ``[tool.init-lint]`` table above ``paths`` (default: ``args.paths``), else none
    (``--no-config``/``--isolated``: none). Raises ``ConfigError`` (one line) for a
    configuration that cannot be used.
    """
    paths = args.paths if paths is None else paths
    if args.no_config:
        config = Config()
    elif args.config is not None:
        config = load_config(args.config, required=True)
    else:
        config = discover_config(paths)
    return project_settings(
        config,
        select=args.select,
        ignore=args.ignore,
        extend_select=args.extend_select,
        std_factor=args.std_factor,
        deep_relu_depth=args.deep_relu_depth,
        jobs=args.jobs,
    )


class _ImportEditsFromFiles:
    """``report.ImportEdits`` for SARIF fixes: reads each file (once) to place imports."""

    def __init__(self) -> None:
        self._texts: dict[str, str | None] = {}

    def __call__(self, path: str, fix: Fix) -> Sequence[Edit]:
        if path not in self._texts:
            try:
                self._texts[path] = engine.decode_source(Path(path).read_bytes())
            except (OSError, engine.SourceError):
                self._texts[path] = None
        text = self._texts[path]
        from init_lint.import_edits import import_edits  # libcst.codemod: only when needed

        return import_edits(text, fix.imports) if text is not None else ()


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


def run_check(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    try:
        project = settings_for(args)
    except ConfigError as exc:
        print(f"init-lint: {exc}", file=sys.stderr)
        return EXIT_ERROR
    paths, missing = discover_files(args.paths, exclude=project.is_excluded)
    cache: ResultCache | None = None
    directory = cache_directory(args, project.config)
    if directory is not None:
        try:
            cache = open_cache(directory)
        except CacheError as exc:
            if not args.quiet:
                print(f"init-lint: {exc}; checking without a cache", file=sys.stderr)
    fmt: str = args.format
    base = Path.cwd()
    rules = {rule.code: rule.name for rule in ALL_RULES}

    progress: ProgressBar | None = None
    if ProgressBar.wanted(len(paths), sys.stderr, quiet=args.quiet):
        progress = ProgressBar(len(paths), sys.stderr)

    # The bar shares the terminal with stdout only when stdout is a terminal too.
    stdout_on_terminal = _isatty(sys.stdout)

    def emit(text: str, stream: str = "stdout") -> None:
        if not text:
            return
        if progress is not None and (stream != "stdout" or stdout_on_terminal):
            progress.clear()
        if stream == "stdout":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            sys.stdout.flush()
            sys.stderr.write(text)
            sys.stderr.flush()

    def report_error(result: FileResult) -> None:
        if fmt == "github":  # the runner reads the ::error command; no second copy
            emit(report.github_error(result, base))
        else:
            emit(report.error_line(result) + "\n", "stderr")

    for result in missing:
        report_error(result)
    collected: list[FileResult] = list(missing)
    try:
        if progress is not None:
            progress.draw()
        for result in check_files(paths, project.for_file, project.jobs, cache):
            collected.append(result)
            if result.error is not None:
                report_error(result)
            elif result.findings and fmt == "text":
                emit(report.format_text([result]))
            elif result.findings and fmt == "github":
                emit("".join(report.github_finding(result.path, finding, rules, base)
                             for finding in result.findings))
            if progress is not None:
                progress.advance()
    finally:
        if progress is not None:
            progress.close()

    if fmt == "json":
        emit(report.format_json((r for r in collected if r.error is None),
                                import_edits=_ImportEditsFromFiles()))
    elif fmt == "sarif":
        emit(report.format_sarif(
            collected,
            rules=ALL_RULES,
            enabled={rule.code for rule in ALL_RULES if project.settings.enabled(rule)},
            base=base,
            import_edits=_ImportEditsFromFiles(),
        ))
    if fmt == "text" and not args.quiet:
        elapsed = time.perf_counter() - started
        emit(report.summary_line(collected, elapsed) + "\n", "stderr")
    if any(result.error is not None for result in collected):
        return EXIT_ERROR
    return EXIT_FINDINGS if any(result.findings for result in collected) else EXIT_CLEAN


def run_fix_command(args: argparse.Namespace) -> int:
    try:
        project = settings_for(args)
    except ConfigError as exc:
        print(f"init-lint: {exc}", file=sys.stderr)
        return EXIT_ERROR
    paths, missing = discover_files(args.paths, exclude=project.is_excluded)
    for result in missing:
        print(report.error_line(result), file=sys.stderr)
    status = run_fix([Path(p) for p in paths], project.for_file, diff=args.diff,
                     quiet=args.quiet)
    return EXIT_ERROR if missing else status


# --- rules, explain ---------------------------------------------------------------------


def run_rules(args: argparse.Namespace) -> int:
    sys.stdout.write(report.rules_table(ALL_RULES))
    return EXIT_CLEAN


def find_rule(code: str) -> type[Rule] | None:
    wanted = code.strip().upper()
    return next((rule for rule in ALL_RULES if rule.code == wanted), None)


def run_explain(args: argparse.Namespace) -> int:
    rule = find_rule(args.code)
    if rule is None:
        known = ", ".join(r.code for r in ALL_RULES) or "none"
        print(
            f"init-lint explain: unknown rule code {args.code!r} (known codes: {known}; "
            "see `init-lint rules`)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    sys.stdout.write(report.explain(rule))
    return EXIT_CLEAN


# --- entry point --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``init-lint``; returns the exit code (never raises ``SystemExit``)."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, --version, usage errors (already printed)
            return exc.code if isinstance(exc.code, int) else EXIT_ERROR
        handler = args.handler
        code = handler(args)
        assert isinstance(code, int)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        print("init-lint: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``init-lint check . | head``): stop quietly, as Python's
        # documentation recommends, so that the interpreter's final flush does not fail.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FINDINGS


if __name__ == "__main__":
    sys.exit(main())

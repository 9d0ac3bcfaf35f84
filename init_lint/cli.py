"""The ``init-lint`` command line: ``check``, ``rules``, ``explain`` (and ``audit``).

This module owns argument parsing, finding the files to check, running the engine over
them (in parallel worker processes), and exit codes. Formatting lives in ``report``; the
analysis in ``engine``; ``audit`` is registered by ``init_lint.runtime.cli`` when that
module imports (it needs torch only when it runs).

``init-lint check PATH...`` walks directories for ``*.py`` files (skipping version-control,
virtualenv, build and cache folders; a file named on the command line is always checked),
checks each with ``engine.check_path`` (``# noqa`` honoured as flake8 does) and prints the
findings in sorted path order.

Exit codes: 0 no findings; 1 findings; 2 usage error, or a file that could not be read or
parsed (one line on stderr each: ``path: cannot parse: <reason> (line N)``; the other files
are still checked); 130 interrupted (Ctrl-C). Never a traceback: an unexpected exception
while checking a file becomes that file's error line, marked as an internal error.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from init_lint import __version__, engine, report, thresholds
from init_lint.engine import FileResult, Settings
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

_CODE_PREFIX = re.compile(r"[A-Z]+[0-9]*")


# --- argument types -----------------------------------------------------------------------


def code_prefixes(text: str) -> tuple[str, ...]:
    """``"INI001, ini004"`` -> ``("INI001", "INI004")``: comma-separated code prefixes."""
    codes = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    for code in codes:
        if not _CODE_PREFIX.fullmatch(code):
            raise argparse.ArgumentTypeError(f"not a code or code prefix: {code!r}")
    return codes


def job_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


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
        description="Check Python files (directories are walked for *.py files). Exit "
        "status: 0 clean, 1 findings, 2 usage error or a file that could not be read or "
        "parsed, 130 interrupted.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    check.add_argument(
        "--select", type=code_prefixes, metavar="CODES",
        help="comma-separated code prefixes to report (default: INI, all rules that are "
        "on by default); an off-by-default rule (INI005) must be named in full",
    )
    check.add_argument(
        "--ignore", type=code_prefixes, default=(), metavar="CODES",
        help="comma-separated code prefixes not to report",
    )
    check.add_argument(
        "--extend-select", type=code_prefixes, default=(), metavar="CODES",
        help="codes to report in addition to --select, e.g. INI005",
    )
    check.add_argument(
        "--std-factor", type=thresholds.std_factor, default=Options.std_factor,
        metavar="FACTOR",
        help="INI004: flag a constant init std more than FACTOR times away from the "
        "recommended one (default: %(default)s)",
    )
    check.add_argument(
        "--deep-relu-depth", type=thresholds.deep_relu_depth,
        default=Options.deep_relu_depth, metavar="N",
        help="INI005: flag plain rectifier stacks of N or more layers on PyTorch's default "
        "init (default: %(default)s)",
    )
    check.add_argument(
        "--format", choices=report.FORMATS, default="text",
        help="text: path:line:col: CODE message (flake8's format); json: one array of "
        "{path, line, col, end_line, end_col, code, message, fixable}; columns are 1-based "
        "(default: text)",
    )
    check.add_argument(
        "-j", "--jobs", type=job_count, default=None, metavar="N",
        help="worker processes (default: all cores)",
    )
    check.set_defaults(handler=run_check)

    rules = subparsers.add_parser("rules", help="list the rules")
    rules.set_defaults(handler=run_rules)

    explain = subparsers.add_parser(
        "explain", help="print a rule's documentation and examples"
    )
    explain.add_argument("code", metavar="CODE", help="a rule code, e.g. INI002")
    explain.set_defaults(handler=run_explain)

    _add_runtime_commands(subparsers)
    return parser


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


# --- check ----------------------------------------------------------------------------------


def is_skipped_dir(path: Path) -> bool:
    """A directory ``check`` does not walk into: VCS, virtualenvs, builds, caches."""
    return path.name in SKIPPED_DIRS or (path / "pyvenv.cfg").is_file()


def discover_files(paths: Sequence[str]) -> tuple[list[str], list[FileResult]]:
    """The files to check, sorted and without duplicates, and errors for missing paths.

    A named file is checked whatever its name; a named directory is walked (even one with
    a skipped name) for ``*.py`` files, without following symlinked directories or
    entering skipped ones below it.
    """
    found: dict[str, str] = {}  # normalized path -> path as printed
    missing: list[FileResult] = []
    for given in paths:
        top = Path(given)
        if top.is_dir():
            for root, dirnames, filenames in os.walk(top):
                root_path = Path(root)
                dirnames[:] = sorted(d for d in dirnames if not is_skipped_dir(root_path / d))
                for name in filenames:
                    if name.endswith(".py"):
                        path = os.path.join(root, name)
                        found.setdefault(os.path.normpath(path), path)
        elif top.exists():
            found.setdefault(os.path.normpath(given), given)
        else:
            missing.append(FileResult(given, error="cannot read: no such file or directory"))
    return sorted(found.values()), missing


def check_one(path: str, settings: Settings) -> FileResult:
    """``engine.check_path``, with any unexpected exception turned into an error line."""
    try:
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


def check_files(paths: Sequence[str], settings: Settings, jobs: int) -> Iterator[FileResult]:
    """Check ``paths``, yielding results in the order given.

    With more than one job and file, worker processes read and parse the files themselves
    (only paths and settings are sent); otherwise everything runs in this process.
    """
    if jobs <= 1 or len(paths) <= 1:
        for path in paths:
            yield check_one(path, settings)
        return
    # One file per task: a path and a small result are cheap to send next to a parse, and
    # an interrupted run waits for at most one file per worker.
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(paths)), initializer=_worker_init)
    done = 0
    try:
        for result in pool.map(check_one, paths, itertools.repeat(settings)):
            yield result
            done += 1
    except BrokenProcessPool:
        pool.shutdown(wait=False, cancel_futures=True)
        for path in paths[done:]:
            yield FileResult(
                path,
                error="internal error: a worker process died before this file was checked "
                "(please report this as an init-lint bug)",
            )
    except BaseException:  # KeyboardInterrupt, a closed stdout: stop without waiting
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown()


def run_check(args: argparse.Namespace) -> int:
    settings = Settings(
        select=args.select if args.select is not None else Settings.select,
        ignore=args.ignore,
        extend_select=args.extend_select,
        options=Options(std_factor=args.std_factor, deep_relu_depth=args.deep_relu_depth),
    )
    paths, missing = discover_files(args.paths)
    failed = bool(missing)
    for result in missing:
        print(report.error_line(result), file=sys.stderr)
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)

    found_any = False
    collected: list[FileResult] = []
    for result in check_files(paths, settings, jobs):
        if result.error is not None:
            failed = True
            sys.stdout.flush()
            print(report.error_line(result), file=sys.stderr, flush=True)
            continue
        if not result.findings:
            continue
        found_any = True
        if args.format == "text":
            sys.stdout.write(report.format_text([result]))
            sys.stdout.flush()
        else:
            collected.append(result)
    if args.format == "json":
        sys.stdout.write(report.format_json(collected))
    if failed:
        return EXIT_ERROR
    return EXIT_FINDINGS if found_any else EXIT_CLEAN


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

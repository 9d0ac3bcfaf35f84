"""``init-lint fix PATH...``: apply every certain fix, report the rest.

One line per changed file on stdout (``path: fixed N (INI002 x2, INI004)``), then a
summary on stderr of what was fixed and what was left and why. ``--diff`` prints a unified
diff and writes nothing. Exit status: 0 when no finding is left, 1 when some remain
unfixed, 2 on errors (unreadable or unparsable files, files that changed on disk).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from init_lint.engine import Settings

if TYPE_CHECKING:  # fixes imports libcst.codemod (~0.2 s): only ``fix`` runs need it
    from init_lint.fixes import FileFix


def _codes(findings: Sequence[object]) -> str:
    counts = Counter(getattr(f, "code", "?") for f in findings)
    return ", ".join(f"{code} x{n}" if n > 1 else code for code, n in sorted(counts.items()))


def run_fix(paths: Sequence[Path], settings: Settings | Callable[[str], Settings], *,
            diff: bool = False, quiet: bool = False, out: TextIO = sys.stdout,
            err: TextIO = sys.stderr) -> int:
    """Fix ``paths`` (already expanded to files) and report; returns the exit status.

    ``settings`` may be a function of the path (per-file ignores from the configuration).
    """
    from init_lint.fixes import fix_file

    def settings_of(path: Path) -> Settings:
        return settings(str(path)) if callable(settings) else settings

    results: list[FileFix] = [fix_file(path, settings_of(path), write=not diff)
                              for path in paths]
    errors = 0
    for result in results:
        if result.error:
            errors += 1
            print(f"{result.path}: {result.error}", file=err)
        if diff and result.diff:
            out.write(result.diff)
        elif result.written:
            print(f"{result.path}: fixed {len(result.applied)} ({_codes(result.applied)})",
                  file=out)
    fixed = [f for r in results for f in r.applied]
    unfixed = [u for r in results for u in r.unfixed]
    verb = "would fix" if diff else "fixed"
    summary = f"{verb} {len(fixed)} finding{'s' if len(fixed) != 1 else ''}"
    summary += f" in {sum(1 for r in results if r.applied)} file(s)"
    if unfixed:
        summary += f"; {len(unfixed)} left unfixed"
    if not quiet:
        print(summary, file=err)
    for result in results if not quiet else ():
        for item in result.unfixed:
            f = item.finding
            print(f"  {result.path}:{f.line}:{f.col + 1}: {f.code} left unfixed: {item.reason}",
                  file=err)
    if errors:
        return 2
    if unfixed or (diff and fixed):
        return 1
    return 0


def add_fix_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--diff", action="store_true",
                        help="print a unified diff of the fixes and write nothing")

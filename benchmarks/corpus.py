"""Run init-lint over real third-party model code: pinned releases, downloaded on demand.

    python benchmarks/corpus.py                      # all five packages, check mode
    python benchmarks/corpus.py --fix                # also fix a scratch copy, twice
    python benchmarks/corpus.py --packages torchvision==0.29.1 --sample 40
    python benchmarks/corpus.py --json findings.json # every finding, for the review

The wheels are fetched with ``pip download --no-deps`` into a cache outside the repository
(``$INIT_LINT_CORPUS`` or ``~/.cache/init-lint-corpus``) and only their ``.py`` files are
unpacked there: no third-party code is ever committed. The report gives, per package and in
total: files, lines, findings per rule, crashes (an exception escaping the engine: must be
zero), files that could not be parsed, wall time and the process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = (
    "timm==1.0.31",
    "torchvision==0.29.1",
    "transformers==5.23.0",
    "diffusers==0.42.1",
    "torch_geometric==2.8.1",
)


def cache_root() -> Path:
    return Path(os.environ.get("INIT_LINT_CORPUS", Path.home() / ".cache" / "init-lint-corpus"))


class DownloadError(Exception):
    """The package registry could not be reached (or refused the package)."""


def fetch(requirement: str, root: Path) -> Path:
    """The unpacked ``.py`` tree of one pinned release, downloading it if needed."""
    name, _, version = requirement.partition("==")
    target = root / "src" / f"{name}-{version}"
    if (target / ".complete").exists():
        return target
    wheels = root / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = _wheel(wheels, name, version)
    if found is None:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
             "--disable-pip-version-check", "-q", "-d", str(wheels), requirement],
            capture_output=True, text=True, timeout=600)
        found = _wheel(wheels, name, version)
        if result.returncode != 0 or found is None:
            raise DownloadError(f"pip download {requirement} failed: "
                                f"{(result.stderr or result.stdout).strip()[-300:]}")
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(found) as archive:
        for member in archive.namelist():
            if member.endswith(".py"):
                archive.extract(member, target)
    (target / ".complete").touch()
    return target


def _wheel(folder: Path, name: str, version: str) -> Path | None:
    stem = name.replace("-", "_").lower()
    for candidate in sorted(folder.glob("*.whl")):
        parts = candidate.name.split("-")
        if len(parts) > 2 and parts[0].lower() == stem and parts[1] == version:
            return candidate
    return None


@dataclass
class Tally:
    files: int = 0
    lines: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)
    unparsable: list[str] = field(default_factory=list)
    seconds: float = 0.0
    fixed: int = 0
    unfixed: int = 0
    not_compiling: list[str] = field(default_factory=list)
    not_idempotent: list[str] = field(default_factory=list)
    gate_differs: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.files += other.files
        self.lines += other.lines
        self.codes.update(other.codes)
        self.crashes += other.crashes
        self.unparsable += other.unparsable
        self.seconds += other.seconds
        self.fixed += other.fixed
        self.unfixed += other.unfixed
        self.not_compiling += other.not_compiling
        self.not_idempotent += other.not_idempotent
        self.gate_differs += other.gate_differs


def python_files(tree: Path, sample: int | None) -> list[Path]:
    files = sorted(tree.rglob("*.py"))
    if sample is not None and sample < len(files):
        step = len(files) / sample
        files = [files[int(i * step)] for i in range(sample)]
    return files


def check_tree(tree: Path, files: list[Path], findings: list[dict[str, object]]) -> Tally:
    from init_lint.engine import Settings, check_path

    tally = Tally()
    settings = Settings()
    started = time.perf_counter()
    for path in files:
        tally.files += 1
        try:
            tally.lines += path.read_bytes().count(b"\n")
            result = check_path(path, settings)
        except Exception:  # a crash: an exception escaped the engine
            tally.crashes.append(f"{path}: {traceback.format_exc(limit=3)}")
            continue
        if result.error:
            tally.unparsable.append(f"{path}: {result.error}")
        for finding in result.findings:
            tally.codes[finding.code] += 1
            findings.append({"path": str(path.relative_to(tree.parent)), "line": finding.line,
                             "col": finding.col + 1, "code": finding.code,
                             "message": finding.message, "fixable": finding.fixable})
    tally.seconds = time.perf_counter() - started
    return tally


def gate_check(files: list[Path]) -> Tally:
    """Check every file again without the gate (``init_lint.gate``), without the
    skeleton parse (``init_lint.analysis.skeleton``) and running every ``forward`` (see
    ``ModelGraph``): the findings and errors must be the same, or a shortcut hid
    something."""
    from init_lint import engine

    tally = Tally()
    settings = engine.Settings()
    for path in files:
        gated = engine.check_path(path, settings)
        engine.USE_GATE = engine.USE_SKELETON = engine.DEFER_FORWARD = False
        try:
            full = engine.check_path(path, settings)
        finally:
            engine.USE_GATE = engine.USE_SKELETON = engine.DEFER_FORWARD = True
        if gated != full:
            tally.gate_differs.append(f"{path}: with the shortcuts {gated}, without {full}")
    return tally


def fix_tree(tree: Path, files: list[Path]) -> Tally:
    """Fix a scratch copy: every fixed file must still compile, a second fix must change
    nothing."""
    from init_lint.engine import Settings
    from init_lint.fixes import fix_file

    tally = Tally()
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="init-lint-fix-") as scratch:
        for path in files:
            copy = Path(scratch) / path.relative_to(tree.parent)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            try:
                first = fix_file(copy, settings)
            except Exception:
                tally.crashes.append(f"{path} (fix): {traceback.format_exc(limit=3)}")
                continue
            tally.fixed += len(first.applied)
            tally.unfixed += len(first.unfixed)
            if not first.written:
                continue
            try:
                compile(copy.read_bytes(), str(copy), "exec")
            except SyntaxError as exc:
                tally.not_compiling.append(f"{path}: {exc}")
            second = fix_file(copy, settings)
            if second.applied:
                tally.not_idempotent.append(str(path))
    return tally


def peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", nargs="+", default=list(PACKAGES),
                        help="pinned requirements (default: the five of the corpus)")
    parser.add_argument("--sample", type=int, default=None,
                        help="check only N files per package, spread evenly")
    parser.add_argument("--fix", action="store_true", help="also fix a scratch copy, twice")
    parser.add_argument("--json", type=Path, default=None, help="write every finding here")
    parser.add_argument("--gate-check", action="store_true",
                        help="also check every file without the gate, the skeleton parse "
                             "and the deferred forward: same results?")
    args = parser.parse_args(argv)

    root = cache_root()
    total = Tally()
    findings: list[dict[str, object]] = []
    print(f"{'package':<28} {'files':>6} {'lines':>9} {'findings':>9} {'crashes':>7} "
          f"{'seconds':>8}")
    for requirement in args.packages:
        try:
            tree = fetch(requirement, root)
        except DownloadError as exc:
            print(f"cannot fetch the corpus: {exc}", file=sys.stderr)
            return 3
        files = python_files(tree, args.sample)
        tally = check_tree(tree, files, findings)
        if args.fix:
            tally.add(fix_tree(tree, files))
        if args.gate_check:
            tally.add(gate_check(files))
        total.add(tally)
        print(f"{requirement:<28} {tally.files:>6} {tally.lines:>9} "
              f"{sum(tally.codes.values()):>9} {len(tally.crashes):>7} {tally.seconds:>8.1f}")
    print(f"{'total':<28} {total.files:>6} {total.lines:>9} {sum(total.codes.values()):>9} "
          f"{len(total.crashes):>7} {total.seconds:>8.1f}")
    print("findings per rule:", ", ".join(f"{c} {n}" for c, n in sorted(total.codes.items()))
          or "none")
    print(f"files that could not be parsed: {len(total.unparsable)}")
    if args.fix:
        print(f"fix: {total.fixed} fixed, {total.unfixed} left unfixed, "
              f"{len(total.not_compiling)} fixed files not compiling, "
              f"{len(total.not_idempotent)} changed again by a second fix")
    if args.gate_check:
        print(f"gate, skeleton, deferred forward: {len(total.gate_differs)} files with "
              "other results without them")
    print(f"peak memory: {peak_memory_mb():.0f} MB")
    for crash in (total.crashes + total.not_compiling + total.not_idempotent
                  + total.gate_differs):
        print(crash, file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(findings, indent=1) + "\n")
    problems = (total.crashes or total.not_compiling or total.not_idempotent
                or total.gate_differs)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast init-lint is, measured side by side in one run, with the ratios of issue 5.

    python benchmarks/bench.py                   # transformers/models from the corpus cache
    python benchmarks/bench.py --quick           # every 10th file, smaller synthetic files
    python benchmarks/bench.py --tree DIR --runs 5 --json results.json

Every measured thing runs in its own fresh process (interpreter start-up included for the
commands; only the loop for the bare parsers), once per round, the rounds interleaved so
that a machine getting slower or faster mid-run weighs on every line alike; the table gives
the median (and min, max) of ``--runs`` rounds (at least 3), and each ratio is the median
of the per-round ratios (``paired_ratio``). ``-j`` is pinned everywhere:
1 for the one-process lines, ``--jobs`` (default: all cores) for the others.

Measured: (a) ``ast.parse`` of every file, (b) bare ``libcst.parse_module`` of every file,
(c) ``init-lint check --no-cache -j 1``, (d) the same with all cores, (e) a cold run that
writes the cache and the warm re-run, (f) ``flake8 --select=INI``, flake8's default selection
with init-lint installed, and plain flake8 (flake8 alone, in its own virtualenv), (g) TorchFix
0.7.0 (in its own virtualenv) and init-lint on the same sample of files, (h) one synthetic
model file 1x, 4x and 16x as long, (i) the peak memory (ru_maxrss) of (c).

The tree defaults to ``transformers/models`` of transformers 5.23.0, fetched by the corpus
harness (``benchmarks/corpus.py``) into its cache; the two virtualenvs live in that cache
too (``torchfix-venv``, ``flake8-venv``), made on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402  (the harness next to this file)

TRANSFORMERS = "transformers==5.23.0"
TORCHFIX = "torchfix==0.7.0"

#: The targets of issue 5: (what, bound, "max" or "min").
TARGETS: dict[str, tuple[float, str]] = {
    "one process cold / bare libcst parse": (0.6, "max"),
    "TorchFix / init-lint, same files and cores": (10.0, "min"),
    "warm re-run / cold run (all cores)": (0.05, "max"),
    "flake8 --select=INI / plain flake8": (2.0, "max"),
    "peak memory, one process (MB)": (250.0, "max"),
}
#: Cost grows linearly: each time ratio within this factor of its size ratio.
LINEAR_TOLERANCE = 1.3


# --- running things ---------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    peak_mb: float | None = None


@dataclass
class Measurement:
    name: str
    files: int
    run: Callable[[], Sample]
    note: str = ""
    samples: list[Sample] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def peak_mb(self) -> float | None:
        peaks = [s.peak_mb for s in self.samples if s.peak_mb is not None]
        return statistics.median(peaks) if peaks else None


def run_command(command: Sequence[str], ok: Sequence[int] = (0, 1),
                cwd: Path | None = None, env: dict[str, str] | None = None) -> Sample:
    """Wall time and peak RSS (of the process and its waited-for children) of a command."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=err,
                                   cwd=cwd, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in ok:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{' '.join(command[:4])} ... exited {process.returncode}:\n"
                               f"{tail}")
    return Sample(seconds, usage.ru_maxrss / 1024)  # ru_maxrss: kilobytes on Linux


def run_internal(mode: str, argument: str) -> Sample:
    """A loop timed inside a fresh interpreter (see ``internal``): only the loop counts."""
    result = subprocess.run([sys.executable, __file__, "--internal", mode, argument],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"--internal {mode} failed:\n{result.stderr[-2000:]}")
    return Sample(float(result.stdout.split()[-1]))


def internal(mode: str, argument: str) -> None:
    """``--internal MODE ARG``: time one loop in this (fresh) process, print the seconds."""
    if mode in ("ast", "libcst"):
        paths = Path(argument).read_text().splitlines()
        texts = [_decode(Path(p).read_bytes()) for p in paths]
        if mode == "ast":
            import ast
            import warnings

            warnings.simplefilter("ignore")
            parse: Callable[[str], object] = ast.parse
        else:
            import libcst

            parse = libcst.parse_module
        started = time.perf_counter()
        for text in texts:
            try:
                parse(text)
            except Exception:  # noqa: BLE001 - a file either parser refuses costs what it cost
                pass
        print(time.perf_counter() - started)
    elif mode == "engine":
        from init_lint.engine import Settings, check_path

        started = time.perf_counter()
        check_path(argument, Settings())
        print(time.perf_counter() - started)
    else:
        raise SystemExit(f"unknown internal mode {mode}")


def _decode(data: bytes) -> str:
    from init_lint.engine import SourceError, decode_source

    try:
        return decode_source(data)
    except SourceError:
        return data.decode("utf-8", errors="replace")


# --- virtualenvs --------------------------------------------------------------------------------


def venv_bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def requirements_of(requirement: str) -> list[str]:
    """The runtime dependencies a pinned wheel declares (``pip download --no-deps``)."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                        "--disable-pip-version-check", "-d", folder, requirement],
                       check=True, capture_output=True, timeout=600)
        (wheel,) = Path(folder).glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = archive.read(name).decode()
    return [line.split(":", 1)[1].strip() for line in metadata.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]


def ensure_venv(venv: Path, requirement: str, executable: str) -> Path:
    """A virtualenv holding ``requirement`` (and never torch); returns ``executable`` in it."""
    program = venv_bin(venv, executable)
    if program.exists():
        return program
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv_bin(venv, "python")), "-m", "pip", "install", "-q",
           "--disable-pip-version-check"]
    dependencies = requirements_of(requirement)
    pulls_torch = [d for d in dependencies
                   if d.split(";")[0].strip().lower().startswith(("torch ", "torch>", "torch=",
                                                                    "torch<", "torch!"))
                   or d.split(";")[0].strip().lower() == "torch"]
    if pulls_torch:  # install it without torch: the benchmark never runs torch code
        subprocess.run([*pip, "--no-deps", requirement], check=True)
        subprocess.run([*pip, *[d for d in dependencies if d not in pulls_torch]], check=True)
    else:
        subprocess.run([*pip, requirement], check=True)
    check = subprocess.run([str(venv_bin(venv, "python")), "-c",
                            "import importlib.util as u; print(u.find_spec('torch') is None)"],
                           capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "True", f"{venv} has torch installed"
    return program


# --- the synthetic model ----------------------------------------------------------------------

HEADER = '''"""A synthetic model file: {count} independent blocks, each with its own init."""

import torch
from torch import nn
'''

BLOCK = '''

class Block{i}(nn.Module):
    """Block {i}: a pre-norm gated MLP."""

    def __init__(self, dim: int = 256, hidden: int = 1024) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.gate = nn.Linear(dim, dim)
        self.act = nn.ReLU()
        nn.init.xavier_uniform_(self.fc1.weight)
        nn.init.zeros_(self.fc1.bias)
        nn.init.kaiming_normal_(self.gate.weight, nonlinearity="relu")
        nn.init.normal_(self.fc2.weight, std=0.02)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.act(self.fc1(self.norm(x)))
        g = torch.sigmoid(self.gate(x))
        return x + g * self.fc2(h)
'''


def synthetic_model(count: int) -> str:
    return HEADER.format(count=count) + "".join(BLOCK.format(i=i) for i in range(count))


# --- the machine ------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        kilobytes = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kilobytes / 1024 / 1024:.1f} GB"
    except (OSError, ValueError, IndexError):
        pass
    import flake8
    import libcst._version

    from init_lint import __version__

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                            capture_output=True, text=True, check=False).stdout.strip()
    return {
        "cpu": cpu, "cores": str(os.cpu_count()), "memory": memory,
        "os": platform.platform(), "python": platform.python_version(),
        "libcst": libcst._version.__version__, "flake8": flake8.__version__,
        "init-lint": f"{__version__} ({commit or 'no git'})",
    }


# --- the benchmark ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=None,
                        help="the Python files to measure on (default: transformers/models "
                        "from the corpus cache)")
    parser.add_argument("--runs", type=int, default=3, help="rounds (at least 3; default 3)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes for the all-cores lines (default: all cores)")
    parser.add_argument("--quick", action="store_true",
                        help="every 10th file, TorchFix on every 40th, smaller synthetic files")
    parser.add_argument("--torchfix-every", type=int, default=None,
                        help="TorchFix (and init-lint beside it) on every Nth file "
                        "(default: 10; 40 with --quick)")
    parser.add_argument("--no-torchfix", action="store_true", help="skip TorchFix")
    parser.add_argument("--only", default=None, metavar="LETTERS",
                        help="measure only these lines, e.g. 'f,g' (ratios needing others "
                        "are left out)")
    parser.add_argument("--json", type=Path, default=None, help="write every sample here")
    parser.add_argument("--internal", nargs=2, metavar=("MODE", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.internal:
        internal(*args.internal)
        return 0
    if args.runs < 3:
        parser.error("--runs must be at least 3 (the table gives medians)")

    root = corpus.cache_root()
    tree: Path = args.tree or corpus.fetch(TRANSFORMERS, root) / "transformers" / "models"
    files = sorted(str(p) for p in tree.rglob("*.py"))
    if args.quick:
        files = files[::10]
    every = args.torchfix_every or (40 if args.quick else 10)
    sample = files[::every]
    jobs = args.jobs
    lines = sum(Path(p).read_bytes().count(b"\n") for p in files)
    work = Path(tempfile.mkdtemp(prefix="init-lint-bench-"))
    file_list = work / "files.txt"
    file_list.write_text("\n".join(files) + "\n")
    # The tree itself when it is measured whole (discovery is part of a real run).
    targets = [str(tree)] if not args.quick else files

    init_lint = [sys.executable, "-m", "init_lint", "check", "-q", "--no-config"]
    flake8 = [sys.executable, "-m", "flake8", "--isolated", "--exit-zero"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("INIT_LINT_NO_CACHE", "INIT_LINT_CACHE_DIR")}

    print(f"tree: {tree} ({len(files)} files, {lines} lines{', quick' if args.quick else ''})")
    print(f"rounds: {args.runs}, all cores: -j {jobs}; TorchFix sample: every {every}th file "
          f"({len(sample)} files)")
    for key, text in machine().items():
        print(f"  {key}: {text}")
    sys.stdout.flush()

    cache_dirs: list[Path] = []

    def cold_with_cache() -> Sample:
        folder = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
        cache_dirs.append(folder)
        return run_command([*init_lint, "-j", str(jobs), "--cache-dir", str(folder),
                            *targets], env=env)

    def warm() -> Sample:
        return run_command([*init_lint, "-j", str(jobs), "--cache-dir", str(cache_dirs[-1]),
                            *targets], env=env)

    measurements = [
        Measurement("(a) ast.parse, every file (1 process)", len(files),
                    lambda: run_internal("ast", str(file_list)), "the parse loop only"),
        Measurement("(b) libcst.parse_module, every file (1 process)", len(files),
                    lambda: run_internal("libcst", str(file_list)), "the parse loop only"),
        Measurement("(c) init-lint check --no-cache -j 1", len(files),
                    lambda: run_command([*init_lint, "--no-cache", "-j", "1", *targets],
                                        env=env), "whole command"),
        Measurement(f"(d) init-lint check --no-cache -j {jobs}", len(files),
                    lambda: run_command([*init_lint, "--no-cache", "-j", str(jobs), *targets],
                                        env=env), "whole command"),
        Measurement(f"(e) init-lint check -j {jobs}, cold, writing the cache", len(files),
                    cold_with_cache, "fresh cache directory"),
        Measurement(f"(e) init-lint check -j {jobs}, warm re-run", len(files), warm,
                    "the cache of the line above"),
        Measurement(f"(f) flake8 --select=INI -j {jobs}", len(files),
                    lambda: run_command([*flake8, "--select=INI", "-j", str(jobs), *targets],
                                        env=env)),
        Measurement(f"(f) flake8 -j {jobs} (default selection, INI included)", len(files),
                    lambda: run_command([*flake8, "-j", str(jobs), *targets], env=env)),
    ]
    plain_flake8 = ensure_venv(root / "flake8-venv", f"flake8=={_flake8_version()}", "flake8")
    measurements.append(Measurement(
        f"(f) plain flake8 -j {jobs} (own virtualenv, no plugin)", len(files),
        lambda: run_command([str(plain_flake8), "--isolated", "--exit-zero", "-j", str(jobs),
                             *targets])))
    if not args.no_torchfix:
        torchfix = ensure_venv(root / "torchfix-venv", TORCHFIX, "torchfix")
        measurements.append(Measurement(
            f"(g) TorchFix 0.7.0 -j {jobs}, every {every}th file", len(sample),
            lambda: run_command([str(torchfix), "-j", str(jobs), *sample]),
            "default rules; it skips files without 'torch'"))
        measurements.append(Measurement(
            f"(g) init-lint check --no-cache -j {jobs}, the same files", len(sample),
            lambda: run_command([*init_lint, "--no-cache", "-j", str(jobs), *sample], env=env)))
    base = 10 if args.quick else 40
    sizes = (1, 4, 16)
    for size in sizes:
        path = work / f"synthetic_{size}x.py"
        path.write_text(synthetic_model(base * size))
        source_lines = path.read_text().count("\n")
        measurements.append(Measurement(
            f"(h) synthetic model {size}x ({source_lines} lines), engine only", 1,
            _engine_run(path), "check_path after imports"))

    if args.only:
        letters = {f"({x.strip()})" for x in args.only.split(",") if x.strip()}
        measurements = [m for m in measurements if m.name.split()[0] in letters]

    for round_number in range(1, args.runs + 1):
        for measurement in measurements:
            sample_ = measurement.run()
            measurement.samples.append(sample_)
            print(f"  round {round_number}: {measurement.name}: {sample_.seconds:.2f} s",
                  flush=True)

    by_prefix = {m.name: m for m in measurements}

    def find(prefix: str) -> Measurement:
        return next(m for name, m in by_prefix.items() if name.startswith(prefix))

    print()
    width = max(len(m.name) for m in measurements)
    print(f"{'measurement':<{width}}  {'files':>5}  {'median s':>9}  {'min':>8}  {'max':>8}  "
          f"{'peak MB':>7}")
    for m in measurements:
        seconds = [s.seconds for s in m.samples]
        memory = f"{m.peak_mb:7.0f}" if m.peak_mb is not None else f"{'':>7}"
        print(f"{m.name:<{width}}  {m.files:>5}  {m.median:9.2f}  {min(seconds):8.2f}  "
              f"{max(seconds):8.2f}  {memory}")

    ratios: dict[str, float] = {}

    def ratio(name: str, numerator: str, denominator: str, exact: bool = False) -> None:
        try:
            top = by_prefix[numerator] if exact else find(numerator)
            bottom = by_prefix[denominator] if exact else find(denominator)
        except (KeyError, StopIteration):
            return  # not measured in this run (--only, --no-torchfix)
        ratios[name] = paired_ratio([s.seconds for s in top.samples],
                                    [s.seconds for s in bottom.samples])

    warm_name = f"(e) init-lint check -j {jobs}, warm re-run"
    cold_name = f"(e) init-lint check -j {jobs}, cold, writing the cache"
    ratio("one process cold / bare libcst parse", "(c)", "(b)")
    ratio("one process cold / ast.parse", "(c)", "(a)")
    ratio("bare libcst parse / ast.parse", "(b)", "(a)")
    ratio("all cores / one process (speed-up)", "(c)", "(d)")
    ratio("TorchFix / init-lint, same files and cores", "(g) TorchFix", "(g) init-lint")
    if warm_name in by_prefix:
        ratio("warm re-run / cold run (all cores)", warm_name, "(d)")
        ratio("warm re-run / one process cold", warm_name, "(c)")
        ratio("cold writing the cache / cold without (all cores)", cold_name, "(d)")
    ratio("flake8 --select=INI / plain flake8", "(f) flake8 --select=INI", "(f) plain flake8")
    ratio("flake8 default (INI included) / plain flake8", f"(f) flake8 -j {jobs} (default",
          "(f) plain flake8")
    for size in sizes[1:]:
        ratio(f"synthetic {size}x: time ratio / size ratio", f"(h) synthetic model {size}x",
              "(h) synthetic model 1x")
        if f"synthetic {size}x: time ratio / size ratio" in ratios:
            ratios[f"synthetic {size}x: time ratio / size ratio"] /= size
    if any(name.startswith("(c)") for name in by_prefix):
        peak = find("(c)").peak_mb
        ratios["peak memory, one process (MB)"] = peak if peak is not None else float("nan")

    print()
    verdicts: dict[str, bool] = {}
    for name, value in ratios.items():
        verdict = ""
        if name in TARGETS:
            bound, kind = TARGETS[name]
            met = value <= bound if kind == "max" else value >= bound
            verdicts[name] = met
            verdict = f"   target {'<=' if kind == 'max' else '>='} {bound:g}: " + (
                "met" if met else "NOT met")
        elif name.startswith("synthetic"):
            met = 1 / LINEAR_TOLERANCE <= value <= LINEAR_TOLERANCE
            verdicts[name] = met
            verdict = f"   target within {LINEAR_TOLERANCE:g}x of linear: " + (
                "met" if met else "NOT met")
        print(f"{name:<52} {value:8.3f}{verdict}")

    if args.json is not None:
        args.json.write_text(json.dumps({
            "tree": str(tree), "files": len(files), "lines": lines, "quick": args.quick,
            "jobs": jobs, "runs": args.runs, "torchfix_sample": len(sample),
            "machine": machine(),
            "measurements": {m.name: {"files": m.files,
                                      "seconds": [s.seconds for s in m.samples],
                                      "peak_mb": [s.peak_mb for s in m.samples],
                                      "median": m.median, "note": m.note}
                             for m in measurements},
            "ratios": ratios, "met": verdicts,
        }, indent=1) + "\n")
    return 0


def paired_ratio(top: list[float], bottom: list[float]) -> float:
    """The median of the per-round ratios (both measured in the same round, minutes apart):
    a machine whose load drifts between rounds moves both sides of a round together, where
    a ratio of the two medians could pair a quiet round with a busy one. Measurements
    without one sample per round (a cached run measured once) fall back to the medians."""
    if len(top) == len(bottom) and top:
        return statistics.median(t / b for t, b in zip(top, bottom, strict=True))
    return statistics.median(top) / statistics.median(bottom)


def _engine_run(path: Path) -> Callable[[], Sample]:
    return lambda: run_internal("engine", str(path))


def _flake8_version() -> str:
    import flake8

    return str(flake8.__version__)


if __name__ == "__main__":
    sys.exit(main())

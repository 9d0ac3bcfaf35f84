"""The ``init-lint audit`` subcommand: build a model from a file, audit it, optionally fix it.

This module owns the command line of the runtime side. ``add_audit_command`` registers
``audit`` on an argparse subparsers object without importing torch (the handler imports
it when the command runs), so the main CLI can register it at no cost::

    init-lint audit path/to/model.py:factory --input-shape 8,3,32,32 \\
        [--plot out.png] [--apply] [--seed 0] [--json]

The file is imported (only on this explicit command), ``factory`` (a function or a class,
``module.attr`` paths allowed) is called with no arguments to build the model, and the model
is audited on ``torch.randn(input_shape)``. ``--apply`` runs ``init_model`` on that input
first and prints both audits side by side. Exit codes: 0 no flags, 1 flagged (after
``--apply``: the audit after), 2 usage or runtime errors, as one line on stderr.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import nn

EXIT_OK = 0
EXIT_FLAGGED = 1
EXIT_ERROR = 2


class AuditCommandError(Exception):
    """A problem with the command's input; ``str()`` is the one-line message."""


def add_audit_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``audit`` on ``subparsers``; its handler is ``args.handler(args) -> int``.

    Does not import torch. Dispatch with ``return args.handler(args)`` after parsing.
    """
    parser = subparsers.add_parser(
        "audit",
        help="measure a model's signal propagation at init (needs torch)",
        description="Build a model from PATH:FACTORY, run one forward and one backward pass "
                    "on random input and print per-layer activation and gradient statistics "
                    "with the verdicts vanishing/exploding/dead layer. Exit status: 0 no "
                    "flags, 1 flagged, 2 error.",
    )
    parser.add_argument("target", metavar="PATH:FACTORY",
                        help="a Python file and the function or class in it that builds the "
                             "model with no arguments, e.g. models/mlp.py:make_model")
    parser.add_argument("--input-shape", required=True, metavar="SHAPE",
                        help="shape of the random input batch, comma-separated, e.g. "
                             "8,3,32,32 (use a few hundred examples for stable statistics)")
    parser.add_argument("--plot", metavar="PNG", help="also draw the audit into this PNG")
    parser.add_argument("--apply", action="store_true",
                        help="run init_model on the input first and show before/after")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the model's construction and the input (default 0)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(handler=run_audit_command)


def run_audit_command(args: argparse.Namespace) -> int:
    """The ``audit`` handler: returns the exit code, prints errors as one line."""
    try:
        return _run(args)
    except AuditCommandError as exc:
        print(f"init-lint audit: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def parse_shape(text: str) -> tuple[int, ...]:
    """``"8,3,32,32"`` -> ``(8, 3, 32, 32)``; raises ``AuditCommandError`` when malformed."""
    parts = [part.strip() for part in text.split(",")]
    try:
        shape = tuple(int(part) for part in parts)
    except ValueError:  # includes empty parts: "8,,3"
        shape = ()
    if not shape or any(size <= 0 for size in shape):
        raise AuditCommandError(
            f"--input-shape {text!r} is not a shape: give positive integers separated by "
            "commas, batch first, e.g. 256,3,32,32")
    return shape


def load_factory(target: str) -> Any:
    """Import the file of ``PATH:FACTORY`` and return the named attribute."""
    path_text, colon, attribute = target.rpartition(":")
    if not colon or not path_text or not attribute:
        raise AuditCommandError(f"{target!r} is not PATH:FACTORY (e.g. models/mlp.py:make_model)")
    path = Path(path_text)
    if not path.is_file():
        raise AuditCommandError(f"no such file: {path_text}")
    module = _import_file(path)
    obj: Any = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise AuditCommandError(f"{path_text} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise AuditCommandError(f"{attribute} in {path_text} is not a function or a class")
    return obj


def _import_file(path: Path) -> ModuleType:
    name = f"_init_lint_audit_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise AuditCommandError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = str(path.resolve().parent)
    sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise AuditCommandError(f"importing {path} failed: {_one_line(exc)}") from exc
    finally:
        if directory in sys.path:
            sys.path.remove(directory)
    return module


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _build_model(factory: Any, target: str) -> nn.Module:
    from torch import nn

    try:
        model = factory()
    except (Exception, SystemExit) as exc:
        raise AuditCommandError(f"calling {target}() failed: {_one_line(exc)}") from exc
    if not isinstance(model, nn.Module):
        raise AuditCommandError(
            f"{target}() returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _run(args: argparse.Namespace) -> int:
    shape = parse_shape(args.input_shape)
    try:
        import torch

        from init_lint.runtime.model_init import init_model
        from init_lint.runtime.signal_audit import audit, compare
    except ImportError as exc:
        raise AuditCommandError(
            f'the audit needs PyTorch: pip install "init-lint[torch]" ({exc})') from exc
    factory = load_factory(args.target)
    torch.manual_seed(args.seed)
    model = _build_model(factory, args.target)
    example = torch.randn(shape)
    before = _guarded(lambda: audit(model, example), shape, "auditing")
    after = None
    init_report = None
    if args.apply:
        init_report = _guarded(lambda: init_model(model, example), shape, "init_model on")
        after = _guarded(lambda: audit(model, example), shape, "auditing")
    final = after if after is not None else before
    if args.json:
        import json

        payload: dict[str, Any] = {"target": args.target, "input_shape": list(shape),
                                   "seed": args.seed, "audit": before.to_dict()}
        if after is not None and init_report is not None:
            payload = {**payload, "init": init_report.to_dict(), "after": after.to_dict()}
        print(json.dumps(payload, indent=2))
    else:
        print(f"init-lint audit {args.target}: input {tuple(shape)}, seed {args.seed}, "
              f"activations found by {before.method}")
        print()
        if after is not None and init_report is not None:
            print("init_model:")
            print(init_report)
            print()
            print(compare(before, after))
        else:
            print(before)
    if args.plot:
        try:
            written = final.plot(args.plot, baseline=before if after is not None else None)
        except (ImportError, OSError) as exc:
            raise AuditCommandError(f"cannot write the plot: {_one_line(exc)}") from exc
        if not args.json:
            print(f"plot written to {written}")
    return EXIT_FLAGGED if final.flagged else EXIT_OK


def _guarded(action: Any, shape: tuple[int, ...], what: str) -> Any:
    try:
        return action()
    except AuditCommandError:
        raise
    except Exception as exc:  # noqa: BLE001 - user model code: report, don't trace back
        raise AuditCommandError(
            f"{what} the model with a random input of shape {shape} failed: "
            f"{_one_line(exc)}") from exc


def main(argv: list[str] | None = None) -> int:
    """``python -m init_lint.runtime.cli audit ...``: the subcommand on its own."""
    parser = argparse.ArgumentParser(prog="init-lint")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_audit_command(subparsers)
    args = parser.parse_args(argv)
    handler = args.handler
    assert callable(handler)
    result = handler(args)
    assert isinstance(result, int)
    return result


if __name__ == "__main__":
    raise SystemExit(main())

"""Parsing and validation of the user-set numbers, shared by every front end.

The rule thresholds, and the number of worker processes. flake8's
``--init-lint-std-factor`` / ``--init-lint-deep-relu-depth`` (command line and config file
alike: argparse runs ``type`` on string defaults from the config), the CLI's
``--std-factor`` / ``--deep-relu-depth`` / ``--jobs`` and ``[tool.init-lint]`` in
``pyproject.toml`` (``init_lint.config``) use these same converters, so a bad value is the
same clean error (exit 2) everywhere.
"""

from __future__ import annotations

import argparse
import math


def std_factor(text: str) -> float:
    """INI004's factor: a constant std this many times off the recommended one is flagged.

    Must be a finite number greater than 1 (at 1 every std but the exact one would be
    flagged).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a number greater than 1, got {text!r}")
    return value


def deep_relu_depth(text: str) -> int:
    """INI005's depth: plain rectifier stacks this deep or deeper are flagged (>= 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer of at least 2, got {text!r}")
    return value


def job_count(text: str) -> int:
    """Worker processes: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value

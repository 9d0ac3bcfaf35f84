"""The rules, one module each; ``ALL_RULES`` is the registry every front end reads."""

from __future__ import annotations

from init_lint.rules.base import Example, Options, Rule

ALL_RULES: list[type[Rule]] = []

__all__ = ["ALL_RULES", "Example", "Options", "Rule"]

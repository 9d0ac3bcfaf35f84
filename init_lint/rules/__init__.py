"""The rules, one module each; ``ALL_RULES`` is the registry every front end reads."""

from __future__ import annotations

from init_lint.rules.base import Example, Options, Rule
from init_lint.rules.ini001_zero_or_constant_weight import ZeroOrConstantWeight
from init_lint.rules.ini002_scheme_activation_mismatch import SchemeActivationMismatch
from init_lint.rules.ini003_named_gain_mismatch import NamedGainMismatch
from init_lint.rules.ini004_unscaled_random import UnscaledRandom
from init_lint.rules.ini005_default_init_deep_relu import DefaultInitDeepRelu
from init_lint.rules.ini006_norm_weight_zero_mean import NormWeightZeroMean

ALL_RULES: list[type[Rule]] = [
    ZeroOrConstantWeight,
    SchemeActivationMismatch,
    NamedGainMismatch,
    UnscaledRandom,
    DefaultInitDeepRelu,
    NormWeightZeroMean,
]

__all__ = ["ALL_RULES", "Example", "Options", "Rule"]

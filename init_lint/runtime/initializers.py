"""``initializer_for``: the recommended ``torch.nn.init`` call for an activation, as an object.

This module owns ``Initializer`` (a callable that initializes a weight in place and whose
``repr`` is the exact ``torch.nn.init`` call it makes) and ``initializer_for``, which builds
one from ``knowledge.recommend``. The scheme, the nonlinearity name, the slope and the gain
all come from ``init_lint.knowledge``; this module only turns them into a call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor, nn

from init_lint import knowledge
from init_lint.runtime.activations import ActivationSpec, resolve_activation

Distribution = Literal["normal", "uniform"]
Mode = Literal["fan_in", "fan_out"]
_KaimingNonlinearity = Literal["relu", "leaky_relu", "linear"]


def fans(shape: torch.Size | tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` as ``torch.nn.init`` computes them:
    ``fan_in = shape[1] * prod(shape[2:])``, ``fan_out = shape[0] * prod(shape[2:])``."""
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out cannot be computed for a tensor of shape {tuple(shape)} "
            "(fewer than 2 dimensions)"
        )
    receptive = math.prod(shape[2:])
    return int(shape[1]) * receptive, int(shape[0]) * receptive


@dataclass(frozen=True, repr=False)
class Initializer:
    """The recommended initializer for one activation: call it on a weight.

    ``Initializer(w)`` fills ``w`` in place (under ``torch.no_grad()``) and returns it, as
    ``torch.nn.init`` functions do; ``repr`` is the call it makes, ready to paste, e.g.
    ``nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="leaky_relu", a=0.2)``.
    """

    activation: ActivationSpec
    recommendation: knowledge.Recommendation
    distribution: Distribution = "normal"
    mode: Mode = "fan_in"

    @property
    def function_name(self) -> str:
        """The ``torch.nn.init`` function, e.g. ``"kaiming_normal_"``."""
        return self.recommendation.function(self.distribution)

    @property
    def gain(self) -> float:
        return self.recommendation.gain

    @property
    def is_kaiming(self) -> bool:
        return self.recommendation.scheme is knowledge.Scheme.KAIMING

    def render(self, tensor: str = "w", init_alias: str = "nn.init") -> str:
        """The call as source text, for ``tensor`` (``repr`` uses ``"w"``)."""
        return self.recommendation.render(tensor, self.distribution, init_alias,
                                          mode=self.mode if self.is_kaiming else None)

    def __repr__(self) -> str:
        return self.render()

    def expected_std(self, shape: torch.Size | tuple[int, ...]) -> float:
        """The std of the weights this initializer draws for a tensor of ``shape``:
        ``gain / sqrt(fan)`` (Kaiming) or ``gain * sqrt(2 / (fan_in + fan_out))`` (Xavier)."""
        fan_in, fan_out = fans(shape)
        if self.is_kaiming:
            return knowledge.kaiming_std(fan_in if self.mode == "fan_in" else fan_out, self.gain)
        return knowledge.xavier_std(fan_in, fan_out, self.gain)

    def __call__(self, tensor: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        """Fill ``tensor`` in place with the recommended distribution and return it.

        Args:
            tensor: an n-dimensional ``torch.Tensor`` (n >= 2), e.g. ``layer.weight``.
            generator: the ``torch.Generator`` to sample from (default: the global one).
        """
        rec = self.recommendation
        uniform = self.distribution == "uniform"
        with torch.no_grad():
            if self.is_kaiming:
                nonlinearity = _kaiming_nonlinearity(rec.nonlinearity)
                kaiming = nn.init.kaiming_uniform_ if uniform else nn.init.kaiming_normal_
                return kaiming(tensor, a=0.0 if rec.a is None else rec.a, mode=self.mode,
                               nonlinearity=nonlinearity, generator=generator)
            xavier = nn.init.xavier_uniform_ if uniform else nn.init.xavier_normal_
            return xavier(tensor, gain=rec.gain, generator=generator)


def _kaiming_nonlinearity(name: str | None) -> _KaimingNonlinearity:
    for allowed in get_args(_KaimingNonlinearity):
        if name == allowed:
            return allowed  # type: ignore[no-any-return]
    raise AssertionError(f"knowledge recommended Kaiming with nonlinearity {name!r}")


def initializer_for(activation: object = None, *, distribution: Distribution = "normal",
                    mode: Mode = "fan_in") -> Initializer:
    r"""The recommended ``torch.nn.init`` initializer for a layer followed by ``activation``.

    Follows DESIGN.md's table (``knowledge.recommend``): He for rectifiers (ReLU family,
    GELU, SiLU, ELU...), Xavier with ``calculate_gain`` for saturating activations, LeCun
    for SELU, Xavier with gain 1 for no activation:

    .. math::
        \text{std} = \frac{\text{gain}}{\sqrt{\text{fan}}} \quad\text{(Kaiming)}, \qquad
        \text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}
        \quad\text{(Xavier)}

    with uniform bounds ``sqrt(3) * std``.

    Args:
        activation: what follows the layer: a module (``nn.LeakyReLU(0.2)`` gives
            ``a=0.2``), a class (``nn.Tanh``), a function (``F.gelu``, ``torch.tanh``,
            ``F.leaky_relu`` with its default slope), a name (``"gelu"``) or ``None`` for
            no activation.
        distribution: ``"normal"`` (default) or ``"uniform"``.
        mode: ``"fan_in"`` (default; preserves the forward signal) or ``"fan_out"``
            (preserves gradients); Kaiming only, Xavier uses both fans.

    Returns:
        An ``Initializer``: call it on a weight (``init(layer.weight, generator=g)``); its
        ``repr`` is the ``torch.nn.init`` call it makes.

    Raises:
        ValueError: for an unknown activation (the message lists the known ones), a bad
            ``distribution`` or ``mode``.

    Examples:
        >>> init = initializer_for(nn.LeakyReLU(0.2))
        >>> init
        nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="leaky_relu", a=0.2)
        >>> w = init(torch.empty(256, 128))
        >>> initializer_for(torch.tanh, distribution="uniform")
        nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh"))
    """
    if distribution not in get_args(Distribution):
        raise ValueError(f"distribution must be 'normal' or 'uniform', not {distribution!r}")
    if mode not in get_args(Mode):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', not {mode!r}")
    spec = activation if isinstance(activation, ActivationSpec) else resolve_activation(activation)
    return Initializer(spec, knowledge.recommend(spec.name, spec.param), distribution, mode)

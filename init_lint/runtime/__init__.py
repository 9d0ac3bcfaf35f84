"""The torch side of init-lint: initializers, ``init_model`` and ``audit`` on live models.

This package owns everything that needs PyTorch. It is an optional extra
(``pip install "init-lint[torch]"``); the static linter never imports it. Importing
``init_lint.runtime`` checks that torch is installed (and raises an ``ImportError`` that
says how to install it when it is not) but does not import torch itself: the public names
below load their modules, and torch, on first use, so that ``init_lint.runtime.cli`` can
register the ``audit`` subcommand without paying for ``import torch``.

Public API (see each function's docstring):

* ``initializer_for(activation, *, distribution, mode) -> Initializer``
* ``init_model(model, example_input=None, *, distribution, calibrate) -> InitReport``
* ``audit(model, example_input, *, loss_fn, bounds) -> AuditReport``
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

INSTALL_HINT = 'init_lint.runtime needs PyTorch: pip install "init-lint[torch]"'


def _torch_is_installed() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a blocked import, or sys.modules["torch"] = None
        return False


if not _torch_is_installed():
    raise ImportError(INSTALL_HINT, name="torch")

if TYPE_CHECKING:
    from init_lint.runtime.activations import ActivationSpec, resolve_activation
    from init_lint.runtime.initializers import Initializer, initializer_for
    from init_lint.runtime.model_init import InitReport, LayerInit, init_model
    from init_lint.runtime.signal_audit import AuditReport, LayerAudit, audit

__all__ = [
    "ActivationSpec",
    "AuditReport",
    "INSTALL_HINT",
    "InitReport",
    "Initializer",
    "LayerAudit",
    "LayerInit",
    "audit",
    "init_model",
    "initializer_for",
    "resolve_activation",
]

_EXPORTS: dict[str, str] = {
    "Initializer": "initializers",
    "initializer_for": "initializers",
    "resolve_activation": "activations",
    "ActivationSpec": "activations",
    "InitReport": "model_init",
    "LayerInit": "model_init",
    "init_model": "model_init",
    "AuditReport": "signal_audit",
    "LayerAudit": "signal_audit",
    "audit": "signal_audit",
}


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ImportError as exc:
        if exc.name == "torch" or (exc.name or "").startswith("torch."):
            raise ImportError(f"{INSTALL_HINT} ({exc})", name="torch") from exc
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

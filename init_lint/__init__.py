"""init-lint: find and fix weight-initialization mistakes in PyTorch model code.

The static side (``init_lint.engine`` and everything it imports) never imports torch and
never executes the code it reads; ``init_lint.runtime`` is the torch side.
"""

__version__ = "0.1.0"

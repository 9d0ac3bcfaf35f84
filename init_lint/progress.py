"""The progress bar ``init-lint check`` draws on a terminal while it checks many files.

One line on stderr, redrawn in place with ``\\r`` (at most every ``interval`` seconds),
erased at the end so that nothing of it stays in the terminal's scrollback. Only on a
terminal: ``ProgressBar.wanted`` is false when stderr is piped or redirected, with
``--quiet``, and for fewer than ``MIN_FILES`` files. Anything else written to the same
terminal must first ``clear`` the bar (the next ``advance`` or ``draw`` redraws it).
"""

from __future__ import annotations

import os
import time
from typing import ClassVar, TextIO


class ProgressBar:
    """``checking  37/79 files [=========>         ]  46%`` on a terminal stream."""

    MIN_FILES: ClassVar[int] = 20

    def __init__(self, total: int, stream: TextIO, *, interval: float = 0.1) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.interval = interval
        self._drawn = 0  # width of what is on the line now (0: nothing)
        self._last_draw = 0.0

    @classmethod
    def wanted(cls, total: int, stream: TextIO, *, quiet: bool) -> bool:
        """Whether a run over ``total`` files should draw a bar on ``stream``."""
        if quiet or total < cls.MIN_FILES:
            return False
        try:
            return stream.isatty()
        except (AttributeError, ValueError):  # a closed or fake stream
            return False

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 80

    def render(self, columns: int) -> str:
        """The bar's text for a terminal ``columns`` wide (never wider than columns - 1)."""
        width = len(str(self.total))
        fraction = self.done / self.total if self.total else 1.0
        head = f"checking {self.done:>{width}}/{self.total} files "
        tail = f" {int(fraction * 100):3d}%"
        room = min(40, columns - 1 - len(head) - len(tail) - 2)
        if room < 5:
            return (head + tail.strip())[: max(columns - 1, 0)]
        filled = int(fraction * room)
        inside = "=" * filled + (">" if filled < room else "")
        return f"{head}[{inside.ljust(room)}]{tail}"

    def draw(self) -> None:
        """Redraw the bar now."""
        text = self.render(self._columns())
        padding = " " * max(self._drawn - len(text), 0)
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self._drawn = len(text)
        self._last_draw = time.monotonic()

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more files done; redraw unless the last redraw was recent."""
        self.done = min(self.done + count, self.total)
        if (not self._drawn or time.monotonic() - self._last_draw >= self.interval
                or self.done == self.total):
            self.draw()

    def clear(self) -> None:
        """Erase the bar from its line (the cursor ends at the line's start)."""
        if self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0

    def close(self) -> None:
        """Erase the bar for good."""
        self.clear()

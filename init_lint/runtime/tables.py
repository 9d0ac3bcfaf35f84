"""Plain-text tables and number formatting for the runtime reports (no torch needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 right_aligned: Sequence[int] = ()) -> str:
    """An aligned table: a header line, a rule, one line per row (two spaces between
    columns; the columns in ``right_aligned`` are right-aligned, for numbers)."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [cell.rjust(widths[i]) if i in right_aligned else cell.ljust(widths[i])
                 for i, cell in enumerate(cells)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule] + [line(row) for row in rows])


def format_float(value: float | None, digits: int = 3) -> str:
    """``0.707``, ``1.9e-06``, ``inf``, ``-`` for None: short, for tables."""
    if value is None:
        return "-"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.{digits}g}"
    return f"{value:.{max(digits - 1, 1)}e}"


def format_fraction(value: float | None) -> str:
    """``37%``, ``-`` for None."""
    if value is None:
        return "-"
    return f"{100 * value:.0f}%"

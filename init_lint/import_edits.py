"""The text edits that add a fix's imports to a source file.

A ``Fix`` carries its call edits and, separately, the imports they need (``Fix.imports``,
as ``AddImportsVisitor`` takes them). Front ends that hand edits to another tool rather
than rewriting the file themselves (SARIF ``fixes``; the language server's code actions)
need those imports as text edits too. ``import_edits`` computes them with the same
``AddImportsVisitor`` the fixer uses (so an import already there is not added twice, and
``from torch import nn`` grows to ``from torch import init, nn`` rather than gaining a
second line), as whole-line replacements: the lines that differ between the file and the
file with the imports added (``line_edits``: such a line diff between any two texts).

Pure: text in, edits out. A file libcst cannot parse gets no edits.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from init_lint.findings import Edit, Position

#: Line breaks as Python's tokenizer (and ``Position.line``) counts them; ``str.splitlines``
#: would also split on form feeds and Unicode separators.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def import_edits(text: str, imports: Sequence[tuple[str, str | None]]) -> tuple[Edit, ...]:
    """Edits (0-based columns, whole lines) that add ``imports`` to ``text``."""
    if not imports:
        return ()
    try:
        module = cst.parse_module(text)
        context = CodemodContext()
        for module_name, name in imports:
            AddImportsVisitor.add_needed_import(context, module_name, name)
        updated = AddImportsVisitor(context).transform_module(module).code
    except Exception:  # noqa: BLE001 - libcst raises plain errors on odd input: no edits
        return ()
    return line_edits(text, updated)


def line_edits(text: str, updated: str) -> tuple[Edit, ...]:
    """Whole-line edits that turn ``text`` into ``updated`` (a line diff, in order).

    Lines unchanged between the two stay out of the edits, so an editor applying them
    keeps its cursor, folds and marks there (the language server's fix-all uses this).
    """
    before = _LINE.findall(text)
    after = _LINE.findall(updated)
    edits: list[Edit] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(Edit(_line_start(before, i1), _line_start(before, i2), "".join(after[j1:j2])))
    return tuple(edits)


def _line_start(lines: Sequence[str], index: int) -> Position:
    """The position of the start of line ``index`` (0-based); past the end: the file's end."""
    if index < len(lines):
        return Position(index + 1, 0)
    if not lines:
        return Position(1, 0)
    last = lines[-1]
    if last.endswith(("\n", "\r")):
        return Position(len(lines) + 1, 0)
    return Position(len(lines), len(last))

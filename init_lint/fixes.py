"""Applying fixes: text edits plus the imports they need, to a file, safely.

Every front end gets the same ``Fix`` data from the engine; this module is the one place
that applies it. It never damages a file:

* edits are applied to the decoded text from the end, so earlier positions stay valid;
  overlapping edits are refused (the later one stays unfixed);
* imports are added with libcst's ``AddImportsVisitor`` (no duplicates, no clash);
* the result must parse before anything is written;
* the file is re-read just before writing and left alone if it changed meanwhile;
* the write is atomic (a temporary file in the same folder, then ``os.replace``) and keeps
  the permissions, the encoding (and its declaration), a BOM, the line endings and the
  trailing-newline state: only the flagged calls and the added imports change.
"""

from __future__ import annotations

import codecs
import difflib
import io
import os
import stat
import tempfile
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor

from init_lint.engine import Settings, SourceError, check_text, decode_source, parse
from init_lint.findings import Edit, Finding, Position, line_starts


@dataclass(frozen=True)
class Unfixed:
    finding: Finding
    reason: str


@dataclass
class FixedText:
    """The outcome of fixing one text."""

    text: str
    applied: list[Finding] = field(default_factory=list)
    unfixed: list[Unfixed] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def _offset(starts: Sequence[int], position: Position, text: str) -> int:
    if not 1 <= position.line <= len(starts):
        raise ValueError(f"line {position.line} is outside the text")
    offset = starts[position.line - 1] + position.col
    if offset > len(text):
        raise ValueError(f"column {position.col} is outside line {position.line}")
    return offset


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits to ``text`` (positions: 1-based lines, 0-based columns)."""
    starts = line_starts(text)
    # From the end; insertions at one place keep their order (the first given comes first).
    spans = sorted(((_offset(starts, e.start, text), _offset(starts, e.end, text), i, e.text)
                    for i, e in enumerate(edits)), reverse=True)
    for start, end, _, replacement in spans:
        text = text[:start] + replacement + text[end:]
    return text


def add_imports(text: str, imports: Iterable[tuple[str, str | None]]) -> str:
    """Add ``from module import name`` / ``import module`` lines the way libcst's codemods
    do: after the existing imports, merged with an existing ``from module import``."""
    wanted = list(dict.fromkeys(imports))
    if not wanted:
        return text
    module = cst.parse_module(text)
    context = CodemodContext()
    for module_name, name in wanted:
        AddImportsVisitor.add_needed_import(context, module_name, name)
    return module.visit(AddImportsVisitor(context)).code


def _overlap(start: Position, end: Position, other_start: Position,
             other_end: Position) -> bool:
    """Do two edits touch the same text? Two insertions at one place do (their order
    would be arbitrary); an insertion at the boundary of a replacement does not."""
    if start == end and other_start == other_end:
        return start == other_start
    return start < other_end and other_start < end


def fix_text(text: str, findings: Iterable[Finding]) -> FixedText:
    """Apply every finding's fix to ``text``; report what could not be applied."""
    result = FixedText(text)
    chosen: list[Finding] = []
    taken: list[tuple[Position, Position]] = []
    made: set[Edit] = set()
    for finding in sorted(findings, key=Finding.sort_key):
        if finding.fix is None:
            result.unfixed.append(Unfixed(finding, finding.note or "no certain replacement"))
            continue
        if finding.fix.edits and made.issuperset(finding.fix.edits):
            # Another finding at the same call carries the same fix (a split fix fixes every
            # layer any rule flags there): applied once, it fixes both.
            chosen.append(finding)
            continue
        # A fix's edits (a call, and statements after each `.apply`) apply together or not
        # at all; an edit another chosen fix makes too is shared, not a conflict.
        spans = [(e.start, e.end) for e in finding.fix.edits if e not in made]
        if any(_overlap(s, e, t_start, t_end) for s, e in spans for t_start, t_end in taken):
            result.unfixed.append(Unfixed(finding, "overlaps another fix"))
            continue
        taken.extend(spans)
        made.update(finding.fix.edits)
        chosen.append(finding)
    if not chosen:
        return result
    edits = list(dict.fromkeys(
        edit for finding in chosen for edit in finding.fix.edits))  # type: ignore[union-attr]
    imports = [imp for finding in chosen for imp in finding.fix.imports]  # type: ignore[union-attr]
    new_text = add_imports(apply_edits(text, edits), imports)
    try:
        parse(new_text)
    except SourceError as exc:
        for finding in chosen:
            result.unfixed.append(Unfixed(finding, f"the fixed file would not parse ({exc})"))
        return result
    result.text = new_text
    result.applied = chosen
    return result


@dataclass(frozen=True)
class SourceFile:
    """A file as read: its bytes, and how to write text back the same way."""

    path: Path
    data: bytes
    text: str
    encoding: str
    bom: bool

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        data = path.read_bytes()
        text = decode_source(data)  # raises SourceError
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        bom = data.startswith(codecs.BOM_UTF8)
        if encoding == "utf-8-sig":
            encoding = "utf-8"
        return cls(path, data, text, encoding, bom)

    def encode(self, text: str) -> bytes:
        """The new text in the file's own encoding (and BOM); newlines are in ``text``."""
        body = text.encode(self.encoding)
        return codecs.BOM_UTF8 + body if self.bom else body


@dataclass
class FileFix:
    """What fixing one file did."""

    path: str
    applied: list[Finding] = field(default_factory=list)
    unfixed: list[Unfixed] = field(default_factory=list)
    error: str | None = None
    diff: str = ""
    written: bool = False


def write_atomically(path: Path, data: bytes, expected: bytes) -> None:
    """Replace ``path`` with ``data`` unless its content is no longer ``expected``.

    The new content goes to a temporary file in the same folder (same filesystem), gets
    the original's permission bits, and replaces the original in one ``os.replace``.
    """
    mode = stat.S_IMODE(path.stat().st_mode)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".init-lint",
                                         dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        if path.read_bytes() != expected:
            raise FileChangedError(path)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


class FileChangedError(Exception):
    """The file changed on disk between reading and writing."""


def unified_diff(path: str, before: str, after: str) -> str:
    lines = difflib.unified_diff(before.splitlines(keepends=True),
                                 after.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end "
                   "of file\n" for line in lines)


def fix_file(path: Path, settings: Settings, *, write: bool = True) -> FileFix:
    """Check one file, apply every fix its findings carry, and write it back safely."""
    name = str(path)
    outcome = FileFix(name)
    try:
        source = SourceFile.read(path)
        findings = check_text(source.text, settings)
    except OSError as exc:
        outcome.error = f"cannot read: {exc.strerror or exc}"
        return outcome
    except SourceError as exc:
        outcome.error = exc.describe()
        return outcome
    fixed = fix_text(source.text, findings)
    outcome.unfixed = fixed.unfixed
    if not fixed.changed:
        return outcome
    try:
        data = source.encode(fixed.text)
    except UnicodeEncodeError:
        outcome.unfixed += [Unfixed(f, f"the fix is not representable in {source.encoding}")
                            for f in fixed.applied]
        return outcome
    outcome.applied = fixed.applied
    outcome.diff = unified_diff(name, source.text, fixed.text)
    if write:
        try:
            write_atomically(path, data, source.data)
            outcome.written = True
        except FileChangedError:
            outcome.error = "changed on disk while it was being fixed; left alone"
            outcome.unfixed += [Unfixed(f, "the file changed on disk") for f in outcome.applied]
            outcome.applied = []
        except OSError as exc:
            outcome.error = f"cannot write: {exc.strerror or exc}"
            outcome.unfixed += [Unfixed(f, "the file could not be written")
                                for f in outcome.applied]
            outcome.applied = []
    return outcome

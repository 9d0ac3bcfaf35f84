"""Parse with libcst only the function bodies the analysis runs.

The libcst parse of the files the gate keeps is the largest part of a check on
``transformers/models`` (``benchmarks/RESULTS.md``), and a quarter of their text is in
functions the interpreter never runs (helpers, generation utilities, properties no model
builds). CPython's tree, which the engine has already built for the gate, says where every
function body is, so the file is parsed as a *skeleton*: each top-level function's and
method's body replaced by ``...``. The first time the interpreter runs such a function
(or looks into it), that body alone is parsed from the file's own lines.

The interpreter sees exactly the statements it would see in a full parse, so the graph is
the same; what a skeleton lacks is positions (libcst computes them for the module it
parsed) and the source facts fixes are made from. Reading either raises ``NeedsFullParse``
and the engine analyzes the file again from a full parse: only files with something to
report pay twice, and findings are rare. Anything unexpected (a body libcst cannot read
alone, a tree that does not line up with CPython's) raises it too: never a different
result, only the full parse.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

from init_lint.analysis.cstparse import parse_module
from init_lint.analysis.names import import_statements
from init_lint.findings import line_starts

_LAST_LINE_END = re.compile(r"(?:\r\n|\r|\n)\Z")
_CALLABLE = (ast.FunctionDef, ast.AsyncFunctionDef)


class NeedsFullParse(Exception):
    """What was asked of a skeleton analysis needs the whole file parsed."""


@dataclass(eq=False)
class Stub:
    """One function whose body the skeleton leaves out: where the body is in the file."""

    node: ast.FunctionDef | ast.AsyncFunctionDef  # CPython's, for its names
    start: int  # offset in the text of the body's first line
    end: int  # offset just past its last line

    def text(self, source: str) -> str:
        return source[self.start:self.end]


@dataclass
class Skeleton:
    """The skeleton text, and per function directly in the module or a class body (in
    source order) its stub, or None when it is kept whole."""

    text: str
    functions: list[Stub | None]


def build_skeleton(text: str, tree: ast.Module) -> Skeleton | None:
    """The skeleton of ``text`` (CPython's ``tree`` of it); None when nothing is left out.

    A body is left out only when it starts on a line of its own (not ``def f(): return 1``)
    and holds no import statement (the module's import aliases count imports anywhere, so
    those bodies are read up front). The annotations of these functions' parameters and
    results are left out too: the analysis never reads one, and in typed code (HF's
    ``input_ids: torch.LongTensor | None = None``) they are a fifth of what is left."""
    starts = line_starts(text)
    functions: list[Stub | None] = []
    edits: list[tuple[int, int, str | None]] = []  # None: a body, else its replacement
    for node in _functions(tree.body):
        stub = _stub(node, text, starts)
        functions.append(stub)
        if stub is not None:
            edits.append((stub.start, stub.end, None))
        edits.extend((start, end, "") for start, end in _annotations(node, text, starts))
    if all(stub is None for stub in functions):
        return None
    pieces: list[str] = []
    position = 0
    for start, end, replacement in sorted(edits):
        if start < position:
            continue  # never the case (a signature ends before its body): keep the text
        pieces.append(text[position:start])
        if replacement is None:  # a body
            body = text[start:end]
            indent = body[:len(body) - len(body.lstrip(" \t\f"))]
            ending = _LAST_LINE_END.search(body)
            replacement = f"{indent}...{ending.group() if ending else ''}"
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return Skeleton("".join(pieces), functions)


def _annotations(node: ast.FunctionDef | ast.AsyncFunctionDef, text: str,
                 starts: list[int]) -> Iterator[tuple[int, int]]:
    """Where ``: annotation`` after each parameter name and ``-> annotation`` are in
    ``text``. CPython's positions leave out the parentheses around an annotation: cutting
    one of those would leave a ``)`` behind, so it is kept (text before a cut is checked)."""
    arguments = node.args
    for arg in (*arguments.posonlyargs, *arguments.args, arguments.vararg,
                *arguments.kwonlyargs, arguments.kwarg):
        if arg is None or arg.annotation is None:
            continue
        annotation = arg.annotation
        name = _offset(text, starts, arg.lineno, arg.col_offset)
        start = _offset(text, starts, annotation.lineno, annotation.col_offset)
        end = _offset(text, starts, annotation.end_lineno, annotation.end_col_offset)
        name_end = name + len(arg.arg)
        if 0 <= name < start < end and text[name:name_end] == arg.arg and (
                text[name_end:start].strip() == ":"):
            yield name_end, end
    returns = node.returns
    if returns is not None:
        start = _offset(text, starts, returns.lineno, returns.col_offset)
        end = _offset(text, starts, returns.end_lineno, returns.end_col_offset)
        arrow = text.rfind("->", 0, start) if start >= 0 else -1
        if 0 <= arrow < start < end and not text[arrow + 2:start].strip():
            yield arrow, end


def _offset(text: str, starts: list[int], line: int | None, column: int | None) -> int:
    """The offset in ``text`` of CPython's (line, UTF-8 byte column)."""
    if line is None or column is None or line > len(starts):
        return -1
    begin = starts[line - 1]
    end = starts[line] if line < len(starts) else len(text)
    segment = text[begin:end]
    if segment.isascii():
        return begin + column
    return begin + len(segment.encode("utf-8")[:column].decode("utf-8", "replace"))


def _functions(body: Sequence[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions directly in ``body`` and in the bodies of its classes, in source order."""
    for statement in body:
        if isinstance(statement, _CALLABLE):
            yield statement
        elif isinstance(statement, ast.ClassDef):
            yield from _functions(statement.body)


def _stub(node: ast.FunctionDef | ast.AsyncFunctionDef, text: str,
          starts: list[int]) -> Stub | None:
    first = node.body[0]
    line = first.lineno
    decorators = getattr(first, "decorator_list", ())
    if decorators:
        line = min(line, *(d.lineno for d in decorators))
    end_line = node.end_lineno
    if end_line is None or end_line > len(starts):
        return None
    start = starts[line - 1]
    end = starts[end_line] if end_line < len(starts) else len(text)
    head = text[start:starts[line] if line < len(starts) else len(text)]
    stripped = head.lstrip(" \t\f")
    if decorators:
        if not stripped.startswith("@"):
            return None
    else:
        # The body's first statement opens its line (not after the header's colon): the
        # indentation's length in UTF-8 bytes is where CPython says the statement starts.
        indent = head[:len(head) - len(stripped)]
        if len(indent.encode("utf-8")) != first.col_offset or not indent:
            return None
    if "import" in text[start:end] and next(import_statements(node.body), None) is not None:
        return None  # the word alone is common: docstring examples (">>> from x import y")
    return Stub(node, start, end)


class Bodies:
    """Function bodies for the interpreter: in a full parse, each node's own."""

    skeleton = False

    def body(self, node: cst.FunctionDef) -> cst.BaseSuite:
        return node.body

    def stub_names(self, node: cst.FunctionDef, wanted: frozenset[str]) -> frozenset[str]:
        """Which of ``wanted`` the left-out body of ``node`` names (none if not left out)."""
        return frozenset()

    def may_mention(self, node: cst.FunctionDef, words: Sequence[str]) -> bool:
        """False only when the body of ``node`` cannot hold any of ``words`` (a left-out
        body's text has none of them): no need to read it to know it does not."""
        return True

    def text(self, node: cst.FunctionDef | cst.Lambda, module: cst.Module) -> str:
        """The code of ``node``'s body (a left-out body's as the file writes it, without
        parsing it)."""
        return module.code_for_node(node.body)


class SkeletonBodies(Bodies):
    """Bodies of a skeleton's functions, parsed from the file's text when first asked."""

    skeleton = True

    def __init__(self, skeleton: Skeleton, source: str, module: cst.Module) -> None:
        self.source = source
        self.stubs: dict[int, Stub] = {}
        self.parsed: dict[int, cst.BaseSuite] = {}
        self.newline = module.default_newline
        functions = list(_cst_functions(module.body))
        if len(functions) != len(skeleton.functions):
            raise NeedsFullParse("the skeleton does not line up with CPython's tree")
        for function, stub in zip(functions, skeleton.functions, strict=True):
            if stub is None:
                continue
            if function.name.value != stub.node.name:
                raise NeedsFullParse("the skeleton does not line up with CPython's tree")
            self.stubs[id(function)] = stub

    def body(self, node: cst.FunctionDef) -> cst.BaseSuite:
        stub = self.stubs.get(id(node))
        if stub is None:
            return node.body
        found = self.parsed.get(id(node))
        if found is None:
            found = self.parsed[id(node)] = self._parse(stub)
        return found

    def _parse(self, stub: Stub) -> cst.BaseSuite:
        # Inside an `if` the body keeps its own indentation (tabs, odd widths): the block
        # is read exactly as the file writes it.
        try:
            wrapper = parse_module(f"if 1:{self.newline}{stub.text(self.source)}")
        except Exception as exc:  # noqa: BLE001 - any failure: the full parse decides
            raise NeedsFullParse(f"a body libcst cannot read alone: {exc}") from None
        statement = wrapper.body[0] if len(wrapper.body) == 1 else None
        if not isinstance(statement, cst.If) or not isinstance(statement.body,
                                                                cst.IndentedBlock):
            raise NeedsFullParse("a body that did not come back as one block")
        return statement.body

    def may_mention(self, node: cst.FunctionDef, words: Sequence[str]) -> bool:
        stub = self.stubs.get(id(node))
        if stub is None:
            return True
        text = stub.text(self.source)
        return any(word in text for word in words)

    def text(self, node: cst.FunctionDef | cst.Lambda, module: cst.Module) -> str:
        stub = self.stubs.get(id(node))
        return super().text(node, module) if stub is None else stub.text(self.source)

    def stub_names(self, node: cst.FunctionDef, wanted: frozenset[str]) -> frozenset[str]:
        stub = self.stubs.get(id(node))
        if stub is None:
            return frozenset()
        text = stub.text(self.source)
        if not any(name in text for name in wanted):
            return frozenset()
        return frozenset(identifiers(stub.node.body)) & wanted


def _cst_functions(body: Sequence[cst.CSTNode]) -> Iterator[cst.FunctionDef]:
    """``_functions`` on libcst's tree: the same functions in the same order."""
    for statement in body:
        if isinstance(statement, cst.FunctionDef):
            yield statement
        elif isinstance(statement, cst.ClassDef) and isinstance(statement.body,
                                                                 cst.IndentedBlock):
            yield from _cst_functions(statement.body.body)


def identifiers(body: Sequence[ast.AST]) -> Iterator[str]:
    """Every identifier libcst holds as a ``Name`` node under these statements, outside
    annotations: names, attribute names, keyword and parameter names, the names of defs,
    classes, imports, ``global``/``nonlocal``, ``except ... as`` and match captures."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            yield node.id  # type: ignore[attr-defined]
            continue
        if kind is ast.Attribute:
            yield node.attr  # type: ignore[attr-defined]
        elif kind is ast.keyword:
            if node.arg is not None:  # type: ignore[attr-defined]
                yield node.arg  # type: ignore[attr-defined]
        elif kind is ast.arg:
            yield node.arg  # type: ignore[attr-defined]
            continue  # its annotation is left out
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            yield node.name  # type: ignore[attr-defined]
            function: ast.FunctionDef = node  # type: ignore[assignment]
            stack.extend(function.decorator_list)
            stack.append(function.args)
            stack.extend(function.body)
            continue  # the return annotation is left out
        elif kind is ast.ClassDef:
            yield node.name  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign:
            assign: ast.AnnAssign = node  # type: ignore[assignment]
            stack.append(assign.target)
            if assign.value is not None:
                stack.append(assign.value)
            continue
        elif kind in (ast.Import, ast.ImportFrom):
            imported: ast.Import = node  # type: ignore[assignment]
            for alias in imported.names:
                if alias.name != "*":
                    yield from alias.name.split(".")
                if alias.asname is not None:
                    yield alias.asname
            module = getattr(node, "module", None)
            if module:
                yield from module.split(".")
            continue
        elif kind in (ast.Global, ast.Nonlocal):
            yield from node.names  # type: ignore[attr-defined]
            continue
        elif kind is ast.ExceptHandler:
            if node.name is not None:  # type: ignore[attr-defined]
                yield node.name  # type: ignore[attr-defined]
        elif kind in (ast.MatchAs, ast.MatchStar):
            if node.name is not None:  # type: ignore[attr-defined]
                yield node.name  # type: ignore[attr-defined]
        elif kind is ast.MatchMapping:
            if node.rest is not None:  # type: ignore[attr-defined]
                yield node.rest  # type: ignore[attr-defined]
        elif kind is ast.MatchClass:
            yield from node.kwd_attrs  # type: ignore[attr-defined]
        stack.extend(ast.iter_child_nodes(node))


__all__ = ["Bodies", "NeedsFullParse", "Skeleton", "SkeletonBodies", "build_skeleton",
           "identifiers"]

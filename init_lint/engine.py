"""The one engine every front end calls: read -> parse -> analyze -> rules -> noqa.

flake8, the CLI, the fixer and the language server all get their findings from here, so
they always agree. Files that cannot hold a finding are skipped before libcst parses them,
in two steps: ``might_have_findings`` (a word every finding of an enabled rule needs is
missing), then ``gate`` (CPython's tree shows every init site to be harmless). Every other
file is parsed once with libcst, analyzed once into a ``ModelGraph``, and every enabled
rule runs on that graph. That parse leaves out the bodies of functions the analysis never
runs (``analysis.skeleton``); a file with something to report is parsed whole for it.

Bad input never raises out of this module except as ``SourceError``, which carries one
clear reason and, where known, the line.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import gc
import io
import re
import symtable
import tokenize
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from flake8.defaults import NOQA_INLINE_REGEXP

from init_lint import gate
from init_lint.analysis import NeedsForward, build_graph
from init_lint.analysis.cstparse import parse_module
from init_lint.analysis.skeleton import Bodies, NeedsFullParse, SkeletonBodies, build_skeleton
from init_lint.findings import Finding
from init_lint.rules import ALL_RULES, Options, Rule


def _names(*names: str) -> str:
    """Each of ``names`` as a whole name, not inside a longer one (``masked_fill_``). The
    check before the name is a lookbehind placed *after* it: ``re`` skips quickly to where
    a pattern's literal start occurs, and a leading ``\\b`` makes it try every position
    (15x slower on transformers/models, more than the gate it spares)."""
    return "|".join(rf"{name}\b(?<!\w{name})" for name in names)


#: Per rule, words (regular expressions) at least one of which any file holding one of its
#: findings contains. Every finding but INI005's is an init site (``analysis.inits``): a
#: call of a known initializer (``knowledge.INITIALIZER_FUNCTIONS``: its own name, or the
#: name it is imported as, is spelled in the file), an in-place method (``zero_``,
#: ``fill_``, ``normal_``, ``uniform_``) or ``nn.Parameter(torch.<factory>(...))``; INI005
#: needs a layer built from a ``torch.nn`` class. A rule without an entry is never skipped,
#: so a new rule or a new init form that these words miss must be added here (the tests
#: check every rule example and fixture with and without this prefilter).
RULE_HINTS: dict[str, str] = {
    # zeros_/zero_, ones_, constant_/constant, fill_, nn.Parameter(torch.zeros|ones|full),
    # PyG's zeros/ones (imported from, or called through, torch_geometric.nn.inits). Whole
    # names: not torch.zeros(...)/ones_like masks, masked_fill_, RopeParameters,
    # constant_values, non_zero_..., which fill most model files and are never a site
    "INI001": _names("zero_", "zeros_", "ones_", "inits", "fill_", "Parameter")
    + r"|constant_?\b",
    # xavier_*, kaiming_* (PyG's kaiming_uniform), orthogonal_, PyG's glorot
    "INI002": r"xavier|kaiming|orthogonal|glorot",
    "INI003": r"xavier|kaiming|orthogonal|glorot",
    # normal_/normal/trunc_normal_/xavier_normal (timm's twins too), uniform_,
    # nn.Parameter(torch.randn|rand): "normal" or "uniform" that ends a name or goes on
    # with "_"; not normalize, normals, uniformly (tokenizers, image processors)
    "INI004": r"normal_|normal\b|uniform_|uniform\b|" + _names("Parameter"),
    # Linear/Bilinear/Conv*/ConvTranspose*/Lazy*, nn.Transformer*Layer's inner linears
    "INI005": r"Linear|Bilinear|Conv|Transformer",
    # a zero-mean normal_/trunc_normal_/uniform_ reaching a norm layer's weight
    "INI006": r"normal_|normal\b|uniform_|uniform\b|" + _names("Parameter"),
}
#: Decide from CPython's tree, before libcst parses, whether any init site can produce a
#: finding (``gate``). Off only to check that the gate changes no result.
USE_GATE = True
#: Parse a kept file as a skeleton, its function bodies only when the analysis runs them
#: (``analysis.skeleton``). Off only to check that the skeleton changes no result.
USE_SKELETON = True
#: Run the models' ``forward`` only when a rule asks how a layer pairs (``ModelGraph``).
#: Off only to check that leaving it for later changes no result.
DEFER_FORWARD = True
_NOQA = NOQA_INLINE_REGEXP  # flake8's own: the CLI silences exactly what flake8 does

#: ``a and b and ...`` with more operands than this is refused before libcst sees it (its
#: native parser nests the chain and overflows its stack from ~8000 operands on; CPython
#: stops other chains at ~3000 levels).
MAX_BOOLEAN_OPERANDS = 2500


class SourceError(Exception):
    """The file cannot be analyzed; ``str()`` is the one-line reason."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line

    def describe(self) -> str:
        suffix = f" (line {self.line})" if self.line else ""
        return f"cannot parse: {self.reason}{suffix}"


@dataclass(frozen=True)
class Settings:
    """Which codes run, and the rule thresholds.

    ``select``/``ignore`` are code prefixes as in flake8; a rule that is off by default
    (INI005) runs only when named in full in ``select`` or ``extend_select``.
    """

    select: tuple[str, ...] = ("INI",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    options: Options = field(default_factory=Options)

    def enabled(self, rule: type[Rule] | Rule) -> bool:
        code = rule.code
        if any(code.startswith(p) for p in self.ignore if p):
            return False
        chosen = self.select + self.extend_select
        if rule.off_by_default:
            return code in chosen
        return any(code.startswith(p) for p in chosen)

    def enabled_rules(self) -> list[Rule]:
        return [rule() for rule in ALL_RULES if self.enabled(rule)]


@dataclass(frozen=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    error: str | None = None  # one line: "cannot parse: <reason> (line N)"


def decode_source(data: bytes) -> str:
    """Decode bytes as Python does: BOM, PEP 263 declaration, else UTF-8."""
    if b"\x00" in data:
        raise SourceError("binary file (contains NUL bytes)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise SourceError(str(exc)) from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        line = None
        if isinstance(exc, UnicodeDecodeError):
            line = data[: exc.start].count(b"\n") + 1
        raise SourceError(f"not valid {encoding} text", line) from None
    return text[1:] if text.startswith("\ufeff") else text


@functools.lru_cache(maxsize=64)
def _hint_pattern(codes: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for the enabled rules ``codes``; ``None``: a rule has no hint."""
    if any(code not in RULE_HINTS for code in codes):
        return None
    words = dict.fromkeys(w for code in codes for w in RULE_HINTS[code].split("|"))
    return re.compile("|".join(words))


def might_have_findings(text: str, settings: Settings) -> bool:
    """Cheap test before parsing: ``False`` only when no enabled rule can find anything
    (a word each of its findings needs is missing from ``text``: ``RULE_HINTS``)."""
    codes = tuple(rule.code for rule in ALL_RULES if settings.enabled(rule))
    if not codes:
        return False
    pattern = _hint_pattern(codes)
    return pattern is None or pattern.search(text) is not None


def cpython_syntax_error(text: str, tree: ast.AST | None = None) -> SyntaxError | None:
    """CPython's own verdict on ``text``: its ``SyntaxError``, if any, to prefer to libcst's.

    Source nested deeper than CPython's parser allows is refused here, as ``SourceError``:
    libcst's native parser has no depth guard, and a few thousand nested brackets or a
    long chain of unary operators overflow its stack and kill the whole process (SIGSEGV,
    which no ``except`` catches); deep nesting it survives costs it seconds. CPython stops
    cleanly at 200 nested brackets and ~3000 levels. One chain CPython keeps flat is nested
    in libcst: ``a and b and ...`` (``or`` too), which kills it from ~8000 operands on, so
    a chain longer than ``MAX_BOOLEAN_OPERANDS`` is refused here as well. Other syntax
    errors are returned, not raised: libcst decides (it also reads syntax newer than the
    running interpreter), and when it fails too, CPython's message and line are the more
    precise ones.

    ``tree``: CPython's tree of ``text``, when the caller has it already (flake8 parses
    every file before its plugins run): the parse is not repeated.
    """
    if tree is None:
        parsed = cpython_parse(text)
        if not isinstance(parsed, ast.AST):
            return parsed
        tree = parsed
    if _may_chain_too_long(text):
        for node in ast.walk(tree):
            if isinstance(node, ast.BoolOp) and len(node.values) > MAX_BOOLEAN_OPERANDS:
                raise SourceError(
                    f"boolean expression with more than {MAX_BOOLEAN_OPERANDS} operands",
                    node.lineno)
    return None


def _may_chain_too_long(text: str) -> bool:
    """Each operand of ``a and b ...`` but the first follows an ``and``/``or`` keyword, and
    each keyword contains one of these substrings: below the bound no chain can be too long
    (the count costs ~1% of the parse; no file of the corpus comes near the bound)."""
    return text.count("and") + text.count("or") >= MAX_BOOLEAN_OPERANDS


def cpython_accepts(text: str) -> bool:
    """True when ``cpython_syntax_error(text)`` would find nothing: CPython reads it and
    no guard refuses it. Asked of files the word filter skips, which need nothing more:
    CPython's symbol table answers from the parser's own tree, without the Python objects
    ``ast.parse`` builds of it (0.6x its time). It is stricter than ``ast.parse``
    (``def f(x, x)``), so False only means: ask ``cpython_syntax_error``."""
    if _may_chain_too_long(text):
        return False  # the guard's walk needs the tree
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code
            symtable.symtable(text, "<source>", "exec")
    except Exception:  # noqa: BLE001 - SyntaxError, RecursionError, NUL bytes: all ask again
        return False
    return True


def cpython_parse(text: str) -> ast.Module | SyntaxError | None:
    """CPython's tree of ``text``; its ``SyntaxError`` (libcst may still read the file:
    newer syntax); ``None`` when CPython cannot say (a NUL byte). Too deep: ``SourceError``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code
            return ast.parse(text)
    except SyntaxError as exc:
        if exc.msg and exc.msg.startswith("too many"):  # "too many nested parentheses"
            raise SourceError(exc.msg, exc.lineno) from None
        return exc
    except (RecursionError, MemoryError):
        raise SourceError("nested too deeply for the parser") from None
    except ValueError:
        return None


def parse(text: str, tree: ast.AST | None = None) -> cst.Module:
    """Parse with libcst, turning every failure into a ``SourceError`` (``tree``: CPython's
    tree of ``text``, if the caller has it: see ``cpython_syntax_error``)."""
    cpython_error = cpython_syntax_error(text, tree)
    try:
        return parse_module(text)
    except cst.ParserSyntaxError as exc:
        if cpython_error is not None and cpython_error.msg:
            raise SourceError(cpython_error.msg, cpython_error.lineno) from None
        reason = exc.message.splitlines()[0] if exc.message else "syntax error"
        raise SourceError(reason, exc.raw_line) from None
    except RecursionError:
        raise SourceError("nested too deeply for the parser") from None
    except (ValueError, Exception) as exc:  # libcst's native parser raises plain errors too
        raise SourceError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def analyze_module(module: cst.Module, settings: Settings,
                   bodies: Bodies | None = None) -> list[Finding]:
    """Build the graph of a parsed module and run the enabled rules on it (``bodies``: of
    a skeleton; then a finding raises ``NeedsFullParse``, see ``analyze_skeleton``)."""
    rules = settings.enabled_rules()
    if not rules:
        return []
    try:
        graph = build_graph(module, bodies, defer_forward=DEFER_FORWARD)
    except RecursionError:
        raise SourceError("nested too deeply to analyze") from None
    # Fixes repair only what an enabled rule flags: the rules learn which ones are.
    options = settings.options.enabling(rule.code for rule in rules)
    try:
        findings = [found for rule in rules for found in rule.check(graph, options)]
    except NeedsForward:
        # A rule asked how a layer pairs: run forward, then every rule again from the
        # start (what it found so far was found without forward's facts).
        graph.run_forward()
        findings = [found for rule in rules for found in rule.check(graph, options)]
    return sorted(findings, key=Finding.sort_key)


def analyze_text(text: str, settings: Settings, tree: ast.AST | None = None) -> list[Finding]:
    """Findings of a source text, before ``# noqa`` (flake8 applies its own).

    A file without any init-like token is not parsed with libcst; CPython's far cheaper
    parser still checks it, so a broken file is reported whether or not it mentions an
    initializer (libcst gets the last word: it reads syntax newer than this Python).
    ``tree``: CPython's tree of ``text`` if the caller has it (then it is not parsed again).
    """
    with gc_paused():
        # The trees are the callee's locals: gone before the collector is back on, which
        # would otherwise walk them all in its first collection (one per file)
        return _analyze_text(text, settings, tree)


def _analyze_text(text: str, settings: Settings, tree: ast.AST | None) -> list[Finding]:
    """``analyze_text`` with the collector off."""
    if not might_have_findings(text, settings):
        if tree is None and not cpython_accepts(text) and cpython_syntax_error(text) is not None:
            parse(text)  # raises SourceError unless libcst can read it after all
        return []
    if tree is None:
        parsed = cpython_parse(text)
        tree = parsed if isinstance(parsed, ast.Module) else None
    if USE_GATE and isinstance(tree, ast.Module):
        cpython_syntax_error(text, tree)  # the guards libcst needs, on the same tree
        codes = frozenset(rule.code for rule in ALL_RULES if settings.enabled(rule))
        try:
            if not gate.might_have_findings(tree, codes):
                return []
        except RecursionError:
            pass  # too deep for the gate's helpers: let the analysis decide
    if USE_SKELETON and isinstance(tree, ast.Module):
        found = analyze_skeleton(text, tree, settings)
        if found is not None:
            return found
    return analyze_module(parse(text, tree), settings)


def analyze_skeleton(text: str, tree: ast.Module, settings: Settings) -> list[Finding] | None:
    """The findings of ``text`` from its skeleton (``analysis.skeleton``): always none,
    since a finding needs a position. ``None``: the full parse must decide (a finding, a
    fix or a position was asked for, or the skeleton is not what libcst and CPython agree
    on); the full parse then reports exactly what it always did, errors included."""
    cpython_syntax_error(text, tree)  # the guards libcst needs (on the same tree: cheap)
    try:
        skeleton = build_skeleton(text, tree)
        if skeleton is None:
            return None
        module = parse_module(skeleton.text)
        findings = analyze_module(module, settings, SkeletonBodies(skeleton, text, module))
    except NeedsFullParse:
        return None
    except Exception:  # noqa: BLE001 - libcst's parser raises plain errors too: the full
        return None  # parse turns any failure into the SourceError it always gave
    return None if findings else findings


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while one file is parsed and analyzed.

    A parse allocates hundreds of thousands of tree nodes that all stay alive until the
    file is done, and every collection the allocations trigger walks them again: on a
    large file that is up to a third of the time, growing faster than the file (measured
    in benchmarks/RESULTS.md). Trees have no cycles, so they are freed as soon as the file
    is done either way; what cycles the analysis leaves are collected as usual once the
    collector is back on. A collector already off (by the host program) stays off.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def noqa_codes(line: str) -> frozenset[str] | None:
    """The codes a ``# noqa`` comment on this line silences; empty set: all of them."""
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if not codes:
        return frozenset()
    return frozenset(c.upper() for c in re.split(r"[,\s]+", codes.strip()) if c)


def apply_noqa(findings: Iterable[Finding], lines: Sequence[str]) -> list[Finding]:
    """Drop findings silenced by ``# noqa`` as flake8 would (prefix match on codes)."""
    kept: list[Finding] = []
    for finding in findings:
        line = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        codes = noqa_codes(line)
        if codes is None or (codes and not any(finding.code.startswith(c) for c in codes)):
            kept.append(finding)
    return kept


def check_text(text: str, settings: Settings) -> list[Finding]:
    """Findings of a source text as the CLI reports them (``# noqa`` honoured)."""
    return apply_noqa(analyze_text(text, settings), text.splitlines())


def check_path(path: str | Path, settings: Settings) -> FileResult:
    """Read, decode and check one file; errors come back as ``FileResult.error``."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return FileResult(name, error=f"cannot read: {exc.strerror or exc}")
    return check_source(name, data, settings)


def check_source(name: str, data: bytes, settings: Settings) -> FileResult:
    """Decode and check the bytes of the file ``name`` (``check_path`` once read)."""
    try:
        text = decode_source(data)
        if not text.strip():
            return FileResult(name)
        return FileResult(name, tuple(check_text(text, settings)))
    except SourceError as exc:
        return FileResult(name, error=exc.describe())

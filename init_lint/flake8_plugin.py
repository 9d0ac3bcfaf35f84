"""The flake8 front end: a thin layer over ``engine.analyze_text``.

Two plugin classes, one analysis. ``InitLintChecker`` (entry point ``INI``) reports every
rule that is on by default; ``DeepReluChecker`` (entry point ``INI005``, ``off_by_default``)
reports only the opt-in INI005 and runs only under ``--enable-extensions=INI005``. flake8
builds one instance of each per file; both read the findings of one shared analysis,
memoized by file content in a small bounded cache, so a file is never analyzed twice.

flake8 owns everything around the findings: which files, ``--select``/``--ignore``,
``# noqa`` (so findings are handed over *before* suppression) and syntax errors (E999/E902:
a file the engine cannot read gives no finding here, never an exception).

This module owns the two options, registered with ``parse_from_config=True`` so they also
work from ``setup.cfg``/``tox.ini``/``.flake8``:

* ``--init-lint-std-factor`` (float > 1, default 2.0): INI004's tolerance;
* ``--init-lint-deep-relu-depth`` (int >= 2, default 4): INI005's depth.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from init_lint import __version__, engine, thresholds
from init_lint.findings import Finding
from init_lint.rules import ALL_RULES, Options

if TYPE_CHECKING:
    from flake8.options.manager import OptionManager

#: The rule only ``DeepReluChecker`` reports.
OPT_IN_CODE = "INI005"

#: flake8 runs the plugins of one file back to back, so a handful of entries is plenty.
_CACHE_SIZE = 8
_cache: OrderedDict[tuple[str, engine.Settings], tuple[Finding, ...]] = OrderedDict()

Flake8Result = tuple[int, int, str, type[Any]]


def shared_findings(text: str, settings: engine.Settings, filename: str = "stdin",
                    tree: ast.AST | None = None) -> tuple[Finding, ...]:
    """The findings of ``text`` under ``settings``, analyzed at most once while cached.

    ``tree`` is flake8's own ``ast`` tree of ``text``: the engine's CPython check then
    reuses it instead of parsing the file a second time.

    A ``SourceError`` (undecodable, unparsable, too deep) gives no findings: flake8 reports
    the file's syntax error itself, and a plugin must not crash on it. An unexpected error
    (an init-lint bug) must not take the whole flake8 run down either: one line on stderr
    names it, and the file gets no INI findings.
    """
    key = (text, settings)
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    try:
        if tree is None:
            findings = tuple(engine.analyze_text(text, settings))
        else:
            findings = tuple(engine.analyze_text(text, settings, tree=tree))
    except engine.SourceError:
        findings = ()
    except Exception as exc:  # noqa: BLE001 - a plugin bug must not abort flake8
        print(f"{filename}: init-lint internal error: {type(exc).__name__}: {exc} "
              "(please report this as an init-lint bug)", file=sys.stderr)
        findings = ()
    _cache[key] = findings
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return findings


class _SharedAnalysis:
    """What both plugin classes share: the flake8 signature, the settings, ``run``.

    The settings are class state, as flake8 plugins keep them: ``parse_options`` runs once
    per process (before flake8 forks its workers, and again in each spawned worker).
    """

    name = "init-lint"
    version = __version__

    # Set through _SharedAnalysis explicitly so that both subclasses see the same values.
    _options: ClassVar[Options] = Options()
    _opt_in_enabled: ClassVar[bool] = False

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str = "stdin") -> None:
        # Asking for ``tree`` makes flake8 run this plugin once per file, after its own
        # parse succeeded; the engine parses with libcst, and reuses ``tree`` for its
        # CPython check instead of parsing the file twice.
        self.tree = tree
        self.lines = lines
        self.filename = filename

    @staticmethod
    def settings() -> engine.Settings:
        """Every default rule, plus INI005 when its extension is enabled."""
        extend = (OPT_IN_CODE,) if _SharedAnalysis._opt_in_enabled else ()
        settings = engine.Settings(extend_select=extend, options=_SharedAnalysis._options)
        codes = [rule.code for rule in ALL_RULES if settings.enabled(rule)]
        return replace(settings, options=settings.options.enabling(codes))

    def reports(self, code: str) -> bool:
        raise NotImplementedError

    def run(self) -> Iterator[Flake8Result]:
        findings = shared_findings("".join(self.lines), self.settings(), self.filename,
                                   self.tree if isinstance(self.tree, ast.AST) else None)
        for finding in findings:
            if self.reports(finding.code):
                yield finding.line, finding.col, f"{finding.code} {finding.message}", type(self)


class InitLintChecker(_SharedAnalysis):
    """flake8 plugin ``INI``: every init-lint rule that is on by default (not INI005)."""

    @staticmethod
    def add_options(manager: OptionManager) -> None:
        manager.add_option(
            "--init-lint-std-factor",
            type=thresholds.std_factor,
            default=Options.std_factor,
            metavar="FACTOR",
            parse_from_config=True,
            help="INI004: flag a constant init std more than FACTOR times away from the "
            "recommended one (default: %(default)s)",
        )
        manager.add_option(
            "--init-lint-deep-relu-depth",
            type=thresholds.deep_relu_depth,
            default=Options.deep_relu_depth,
            metavar="N",
            parse_from_config=True,
            help="INI005: flag plain rectifier stacks of N or more layers on PyTorch's "
            "default init (default: %(default)s)",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        _SharedAnalysis._options = Options(
            std_factor=options.init_lint_std_factor,
            deep_relu_depth=options.init_lint_deep_relu_depth,
        )

    def reports(self, code: str) -> bool:
        return code != OPT_IN_CODE


class DeepReluChecker(_SharedAnalysis):
    """flake8 plugin ``INI005`` (opt-in): ``flake8 --enable-extensions=INI005``."""

    off_by_default = True

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        # flake8 calls this only for enabled plugins: being called means INI005 is on.
        _SharedAnalysis._opt_in_enabled = True

    def reports(self, code: str) -> bool:
        return code == OPT_IN_CODE

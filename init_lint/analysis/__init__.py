"""Source -> ModelGraph, once per file (see DESIGN.md, "The model of a file")."""

from __future__ import annotations

import libcst as cst

from init_lint.analysis.graph import (
    ModelGraph,
    NeedsForward,
    SkeletonSpans,
    SourceFacts,
    Spans,
)
from init_lint.analysis.interpreter import Interpreter
from init_lint.analysis.names import collect_imports
from init_lint.analysis.skeleton import Bodies


def build_graph(module: cst.Module, bodies: Bodies | None = None, *,
                defer_forward: bool = False) -> ModelGraph:
    """Analyze a parsed module into its ModelGraph. ``bodies``: where function bodies come
    from when ``module`` is a skeleton (``analysis.skeleton``); such a graph has no
    positions and no source facts (asking raises ``NeedsFullParse``, or finds ``None``).
    ``defer_forward``: the models' ``forward`` may be left for later; reading what it
    tells then raises ``NeedsForward`` until ``graph.run_forward()`` (see ``ModelGraph``).
    """
    skeleton = bodies is not None and bodies.skeleton
    spans = SkeletonSpans(module) if skeleton else Spans(module)
    aliases = collect_imports(module)
    interpreter = Interpreter(module, spans, aliases, bodies)
    interpreter.run(defer_forward)
    graph = interpreter.graph
    graph.source = None if skeleton else SourceFacts(module, spans, aliases)
    return graph


__all__ = ["ModelGraph", "NeedsForward", "build_graph"]

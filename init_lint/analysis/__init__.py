"""Source -> ModelGraph, once per file (see DESIGN.md, "The model of a file")."""

from __future__ import annotations

import libcst as cst

from init_lint.analysis.graph import ModelGraph, SourceFacts, Spans
from init_lint.analysis.interpreter import Interpreter
from init_lint.analysis.names import collect_imports


def build_graph(module: cst.Module) -> ModelGraph:
    """Analyze a parsed module into its ModelGraph."""
    spans = Spans(module)
    aliases = collect_imports(module)
    interpreter = Interpreter(module, spans, aliases)
    interpreter.run()
    graph = interpreter.graph
    graph.source = SourceFacts(module, spans, aliases)
    return graph



__all__ = ["ModelGraph", "build_graph"]

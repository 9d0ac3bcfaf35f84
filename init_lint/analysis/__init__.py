"""Source -> ModelGraph, once per file (see DESIGN.md, "The model of a file")."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from init_lint.analysis.graph import ModelGraph
from init_lint.analysis.interpreter import Interpreter
from init_lint.analysis.names import collect_imports


def build_graph(module: cst.Module) -> ModelGraph:
    """Analyze a parsed module into its ModelGraph."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    interpreter = Interpreter(module, dict(positions), collect_imports(module))
    interpreter.run()
    return interpreter.graph


__all__ = ["ModelGraph", "build_graph"]

"""Shared state of one file's analysis: the graph being built, positions, layer records.

The interpreter's parts (``layers``, ``flow``, ``inits``) are mixins over this state, so
the graph is built in one pass over the file without any part walking the CST again.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from init_lint.analysis.graph import ApplyRun, Consumer, Layer, ModelGraph, Spans, Use
from init_lint.analysis.values import ModuleObj


class BudgetExceeded(Exception):
    """The file is too large or too recursive to finish; the analysis stays conservative."""


@dataclass
class LayerRecord:
    """Mutable facts about a layer while the file is being interpreted."""

    key: int
    kind: str
    node: cst.CSTNode
    name: str | None = None
    fan_in: int | None = None
    fan_out: int | None = None
    is_norm: bool = False
    is_raw: bool = False
    is_other: bool = False  # a module we do not judge (Embedding, LSTM, attention, ...)
    used_as_weight: bool = False
    scaled_output: bool = False  # raw weight whose product is rescaled at once
    transposed: bool | None = None  # raw weights: x @ W (True), F.linear (False)
    shape: tuple[int | None, ...] | None = None


class AnalysisState:
    """Fields every part of the interpreter reads and writes."""

    STEP_BUDGET = 400_000

    def __init__(self, module: cst.Module, spans: Spans) -> None:
        self.module = module
        self.spans = spans
        self.graph = ModelGraph()
        self.records: dict[int, LayerRecord] = {}
        self.node_keys: dict[tuple[int, str], int] = {}
        self.container_stack: list[ModuleObj] = []
        self.normalizing: list[ModuleObj] = []
        self.maybe_normalized: set[int] = set()  # downstream of a submodule we cannot see
        self.uncertain = 0  # depth of loops that may run any number of times (0 included)
        self.dispatch = 0  # depth of loops over modules()/parameters() and .apply()
        self.applying: list[tuple[ApplyRun, ModuleObj]] = []  # .apply(fn) calls running now
        self.loop_depth = 0  # depth of for/while loops (their count may be a parameter)
        self.star_source: tuple[int, object] | None = None  # the list `f(*xs)` expanded
        self.steps = 0
        self.identity_tests = 0  # `a is b` between two modules (see apply_to_modules)

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.STEP_BUDGET:
            raise BudgetExceeded

    def key_for(self, node: cst.CSTNode, kind: str, sub: str = "", **facts: object) -> int:
        """One key per construction site (and ``sub``-layer of a torch container built
        there): every evaluation of it is the same layer."""
        key = self.node_keys.get((id(node), sub))
        if key is None:
            key = len(self.node_keys) + 1
            self.node_keys[(id(node), sub)] = key
            record = LayerRecord(key, kind, node)
            for name, value in facts.items():
                setattr(record, name, value)
            self.records[key] = record
        else:
            # Built again (another instance, another call of a factory): a shape that
            # differs between the builds is not one known shape.
            record = self.records[key]
            for name in ("fan_in", "fan_out", "shape"):
                if name in facts and getattr(record, name) != facts[name]:
                    setattr(record, name, None)
        return key

    def record_use(self, key: int, use: Use) -> None:
        self.graph.uses.setdefault(key, set()).add(use)

    def finish_layers(self) -> None:
        """Turn the records into the graph's frozen layers (raw params only if weights)."""
        for key, rec in self.records.items():
            if rec.is_other or (rec.is_raw and (not rec.used_as_weight or rec.scaled_output)):
                continue
            self.graph.layers[key] = Layer(
                key=key, kind=rec.kind, given_name=rec.name, node=rec.node, spans=self.spans,
                fan_in=rec.fan_in, fan_out=rec.fan_out, is_norm=rec.is_norm,
                is_raw=rec.is_raw, transposed=bool(rec.transposed), shape=rec.shape,
            )


__all__ = ["AnalysisState", "BudgetExceeded", "Consumer", "LayerRecord"]

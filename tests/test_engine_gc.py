"""The engine pauses Python's cyclic garbage collector while it parses and analyzes one
file (``engine.gc_paused``), and always leaves it as it found it."""

from __future__ import annotations

import ast
import gc

import libcst as cst
import pytest
from _support import XAVIER_RELU_MLP

from init_lint import engine
from init_lint.engine import Settings, analyze_text


def test_collector_is_off_during_the_analysis_and_on_again_after(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    analyze_module = engine.analyze_module

    def spy(module: object, settings: Settings) -> object:
        seen.append(gc.isenabled())
        return analyze_module(module, settings)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "analyze_module", spy)
    assert gc.isenabled()
    assert [f.code for f in analyze_text(XAVIER_RELU_MLP, Settings())] == ["INI002"]
    assert seen == [False]
    assert gc.isenabled()


def test_collector_is_on_again_after_a_file_that_cannot_be_parsed() -> None:
    with pytest.raises(engine.SourceError):
        analyze_text("import torch.nn as nn\ndef f(:\n    nn.init.zeros_(w)\n", Settings())
    assert gc.isenabled()


def test_a_collector_the_host_turned_off_stays_off() -> None:
    gc.disable()
    try:
        analyze_text(XAVIER_RELU_MLP, Settings())
        assert not gc.isenabled()
    finally:
        gc.enable()


DISPATCHED = """
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.ln = nn.LayerNorm(8)
        self.act = nn.GELU()

    def forward(self, x):
        return self.ln(self.act(self.fc(x)))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Block() for _ in range(2)])
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if "fc" in name and p.dim() > 1:
                nn.init.normal_(p, std=0.02)
        for name, m in self.named_modules():
            if isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x
"""


def test_a_files_trees_are_freed_without_the_collector() -> None:
    # Left in a reference cycle (a recursive closure over the interpreter, a tree still
    # referenced when the collector comes back on), a file's trees wait for the next
    # collection, which walks them all: a tenth of a check on transformers/models.
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        assert analyze_text(DISPATCHED, Settings()) == []
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, (cst.CSTNode, ast.AST))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert left == []

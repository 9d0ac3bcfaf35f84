"""The engine pauses Python's cyclic garbage collector while it parses and analyzes one
file (``engine.gc_paused``), and always leaves it as it found it."""

from __future__ import annotations

import gc

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

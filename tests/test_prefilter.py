"""The engine's cheap pre-filter never hides a finding, and does skip what it can.

``engine.might_have_findings`` decides from words alone (``engine.RULE_HINTS``) which files
skip libcst. Every rule example and every fixture must give the same findings with the
pre-filter as without it, under each rule alone and under the default and full selections.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _support import DEEP_RELU_STACK, XAVIER_RELU_MLP, fixture_files

from init_lint import engine
from init_lint.engine import RULE_HINTS, Settings, analyze_text, might_have_findings
from init_lint.rules import ALL_RULES, Example

SELECTIONS = {
    "default": Settings(),
    "all": Settings(extend_select=("INI005",)),
    **{rule.code: Settings(select=(rule.code,)) for rule in ALL_RULES},
}


def sources() -> Iterator[tuple[str, str]]:
    for rule in ALL_RULES:
        for index, example in enumerate((*rule.VALID, *rule.INVALID)):
            text = example.source if isinstance(example, Example) else example
            yield f"{rule.code}-example-{index}", text
    for path in fixture_files():
        yield path.name, path.read_text(encoding=_encoding(path.read_bytes()))


def _encoding(data: bytes) -> str:
    import io
    import tokenize

    return tokenize.detect_encoding(io.BytesIO(data).readline)[0]


SOURCES = dict(sources())


def findings_or_error(text: str, settings: Settings) -> list[object]:
    """What the engine says of a text: its findings, or the one error it reports."""
    try:
        return list(analyze_text(text, settings))
    except engine.SourceError as exc:
        return [exc.describe()]


def test_there_are_sources_to_compare() -> None:
    assert len(SOURCES) > 50


#: The engine's shortcuts, each as the setting that turns it off: the word prefilter, the
#: gate on CPython's tree (test_gate.py), the skeleton parse (test_skeleton.py), forward
#: run only when a rule asks (test_deferred_forward.py).
SHORTCUTS_OFF: dict[str, tuple[str, object]] = {
    "prefilter": ("might_have_findings", lambda text, settings: True),
    "gate": ("USE_GATE", False),
    "skeleton": ("USE_SKELETON", False),
    "deferred forward": ("DEFER_FORWARD", False),
}


@pytest.mark.parametrize("shortcut", sorted(SHORTCUTS_OFF))
@pytest.mark.parametrize("selection", sorted(SELECTIONS))
def test_no_shortcut_changes_the_findings(
    selection: str, shortcut: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = SELECTIONS[selection]
    with_it = {name: findings_or_error(text, settings) for name, text in SOURCES.items()}
    monkeypatch.setattr(engine, *SHORTCUTS_OFF[shortcut])
    for name, text in SOURCES.items():
        assert with_it[name] == findings_or_error(text, settings), name


def test_every_rule_example_with_a_finding_passes_its_own_rules_hint() -> None:
    for rule in ALL_RULES:
        for example in rule.INVALID:
            text = example.source if isinstance(example, Example) else example
            assert might_have_findings(text, Settings(select=(rule.code,))), (rule.code, text)


def test_every_rule_has_a_hint() -> None:
    # Not needed for correctness (a rule without one makes every file go through libcst),
    # but a new rule without a hint silently makes every check slower.
    assert {rule.code for rule in ALL_RULES} <= set(RULE_HINTS)


def test_files_without_the_words_of_any_enabled_rule_are_skipped() -> None:
    # In-place tensor methods that do not initialize (add_, clamp_, copy_ ...) and
    # layers without any initializer: nothing for the default rules.
    plain = (
        "import torch\nfrom torch import nn\n\n"
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n\n"
        "    def forward(self, x):\n"
        "        return self.fc(x).add_(1).clamp_(0.5)\n"
    )
    assert not might_have_findings(plain, Settings())
    assert might_have_findings(plain, Settings(extend_select=("INI005",)))  # a Linear layer
    assert might_have_findings(DEEP_RELU_STACK, Settings(select=("INI005",)))
    # Only the enabled rules' words count: Xavier is INI002/INI003's, not INI001's.
    assert might_have_findings(XAVIER_RELU_MLP, Settings(select=("INI002",)))
    assert not might_have_findings(XAVIER_RELU_MLP, Settings(select=("INI001",)))
    assert not might_have_findings(XAVIER_RELU_MLP, Settings(ignore=("INI",)))
    # A raw weight needs nn.Parameter, wherever the factory is spelled.
    raw = "import torch\nw = torch.nn.Parameter(torch.randn(8, 8))\n"
    assert might_have_findings(raw, Settings(select=("INI004",)))


def test_a_skipped_file_is_still_checked_for_syntax_errors() -> None:
    with pytest.raises(engine.SourceError):
        analyze_text("def broken(:\n    pass\n", Settings())
    with pytest.raises(engine.SourceError, match="too many nested parentheses"):
        analyze_text("x = " + "(" * 300 + ")" * 300 + "\n", Settings())
    with pytest.raises(engine.SourceError, match="nested too deeply"):
        analyze_text("x = " + "-" * 5000 + "1\n", Settings())


def test_a_skipped_file_fails_only_where_cpython_cannot_read_it() -> None:
    # CPython's symbol table (the quick check of skipped files) also refuses what only
    # compiling refuses; those files are read as any other (ast.parse accepts them).
    for text in ("def f(x, x):\n    return x\n", "nonlocal x\n"):
        assert not engine.cpython_accepts(text)
        assert analyze_text(text, Settings()) == []
    assert engine.cpython_accepts("x = 1\n")


def test_masks_and_normalizers_are_not_init_words() -> None:
    # torch.zeros/torch.ones outside nn.Parameter and "normalize" (tokenizers, image
    # processors) are in most model files; none of them can be an init site.
    masks = (
        "import torch\n\n"
        "def pad_mask(lengths, size):\n"
        "    mask = torch.zeros(len(lengths), size)\n"
        "    keep = torch.ones_like(mask).masked_fill_(mask > 0, 1.0)\n"
        "    return normalize(mask * keep)  # do_normalize, normalization, RopeParameters\n"
    )
    assert not might_have_findings(masks, Settings())
    # ...while every spelling an init site needs still counts
    for text in (
        "from torch_geometric.nn.inits import zeros\nzeros(self.bias)\n",
        "from torch_geometric.nn import inits\ninits.ones(self.weight)\n",
        "from torch.nn import init\ninit.normal(m.weight)\n",  # deprecated, no underscore
        "from torch.nn.init import normal_ as gauss\ngauss(m.weight)\n",
        "m.weight.data.zero_()\n",
        "w = nn.Parameter(torch.ones(8))\n",
    ):
        assert might_have_findings(text, Settings()), text

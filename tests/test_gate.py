"""The gate (``init_lint.gate``) decides from CPython's tree which files libcst must parse.

It must never hide a finding: every rule example and fixture gives the same findings and
errors with the gate as without it, under each rule alone and under the default and full
selections (test_prefilter.py checks every shortcut of the engine so). And it must skip
what it can: the harmless init sites of real model code (transformers-style
``_init_weights``, ViT tokens, RMSNorm vectors) are recognised, while a close variant that
can produce a finding keeps the file open.
"""

from __future__ import annotations

import ast
import textwrap

import pytest

from init_lint import engine, gate
from init_lint.engine import Settings, analyze_text

DEFAULT = frozenset({"INI001", "INI002", "INI003", "INI004", "INI006"})


def needs_parse(source: str, codes: frozenset[str] = DEFAULT) -> bool:
    return gate.might_have_findings(ast.parse(textwrap.dedent(source)), codes)


HF_STYLE = """
    import torch
    from torch import nn
    from ... import initialization as init


    class RMSNorm(nn.Module):
        def __init__(self, hidden_size, eps=1e-6):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(hidden_size))
            self.eps = eps


    class Embeddings(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.cls_token = nn.Parameter(torch.zeros(1, 1, config.hidden_size))
            self.word = nn.Embedding(config.vocab_size, config.hidden_size)
            self.register_buffer("token_type_ids", torch.zeros(1, 512, dtype=torch.long))

        def forward(self, x):
            cls = self.cls_token.expand(x.shape[0], -1, -1)
            return torch.cat([cls, self.word(x)], dim=1)


    class MLP(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.up = nn.Linear(config.hidden_size, 4 * config.hidden_size)
            self.down = nn.Linear(4 * config.hidden_size, config.hidden_size)
            self.ln = nn.LayerNorm(config.hidden_size)
            self.act = nn.GELU()

        def forward(self, x):
            return self.ln(x + self.down(self.act(self.up(x))))


    class PreTrained(nn.Module):
        def _init_weights(self, module):
            std = self.config.initializer_range
            if isinstance(module, nn.Linear):
                init.normal_(module.weight, mean=0.0, std=std)
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                init.normal_(module.weight, mean=0.0, std=std)
                init.zeros_(module.weight[module.padding_idx])
            elif isinstance(module, (nn.LayerNorm, RMSNorm)):
                init.ones_(module.weight)
                init.zeros_(module.bias)
            elif isinstance(module, Embeddings):
                init.zeros_(module.cls_token)
                init.zeros_(module.token_type_ids)
            elif isinstance(module, MLP):
                init.normal_(module.down.weight, std=std / 2)


    class Model(PreTrained):
        def __init__(self, config):
            super().__init__()
            self.config = config
            self.embeddings = Embeddings(config)
            self.mlp = MLP(config)
            self.norm = RMSNorm(config.hidden_size)
            self.apply(self._init_weights)

        def forward(self, x):
            return self.norm(self.mlp(self.embeddings(x)))
"""


def test_a_transformers_style_init_is_seen_to_be_harmless() -> None:
    assert not needs_parse(HF_STYLE)
    assert analyze_text(textwrap.dedent(HF_STYLE), Settings()) == []


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("std = self.config.initializer_range", "std = 0.02",
         "a literal std: INI004 compares it with the fan"),
        ("if isinstance(module, nn.Linear):", "if isinstance(module, (nn.Linear, nn.LayerNorm)):",
         "a norm lumped in with Linear: INI006"),
        ("init.ones_(module.weight)\n",
         "init.ones_(module.weight)\n            init.zeros_(module.up.weight)\n",
         "a zero weight on a Linear: INI001"),
        ("init.normal_(module.down.weight, std=std / 2)",
         "init.xavier_uniform_(module.down.weight)",
         "Xavier while GELU is named: INI002"),
        ("cls = self.cls_token.expand(x.shape[0], -1, -1)", "cls = x @ self.cls_token",
         "the zero parameter is used as a weight"),
        ("self.weight = nn.Parameter(torch.ones(hidden_size))",
         "self.weight = nn.Parameter(torch.ones(hidden_size, hidden_size))",
         "a 2-D parameter set to one inside isinstance(RMSNorm) may be a layer"),
        ("        std = self.config.initializer_range\n",
         "        std = self.config.initializer_range\n"
         "        fn = functools.partial(init.normal_, std=0.02)\n",
         "an initializer handed on as a value"),
        ("class RMSNorm(nn.Module):", "class RMSNorm(SomeImportedBase):",
         "a base class the gate cannot see"),
    ],
)
def test_a_variant_that_can_produce_a_finding_is_parsed(old: str, new: str, why: str) -> None:
    source = textwrap.dedent(HF_STYLE)
    assert old in source, old
    assert needs_parse(source.replace(old, new)), why


CONV1D = """
    import torch
    from torch import nn
    from ...pytorch_utils import Conv1D
    from ...modeling_utils import PreTrainedModel


    class MLP(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.c_fc = Conv1D(4 * config.hidden_size, config.hidden_size)
            self.c_proj = Conv1D(config.hidden_size, 4 * config.hidden_size)
            self.act = nn.ReLU()

        def forward(self, x):
            return self.c_proj(self.act(self.c_fc(x)))


    class PreTrained(PreTrainedModel):
        def _init_weights(self, module):
            if isinstance(module, Conv1D):
                nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, MLP):
                nn.init.zeros_(module.c_proj.weight)


    class Model(PreTrained):
        def __init__(self, config):
            super().__init__(config)
            self.mlp = MLP(config)
            self.post_init()

        def forward(self, x):
            return self.mlp(x)
"""


def test_classes_the_analysis_cannot_see_are_seen_to_be_harmless() -> None:
    # Conv1D and PreTrainedModel come from relative imports the analysis does not resolve:
    # isinstance(module, Conv1D) is false for torch's own layers and the file's classes bind
    # no weight; what Conv1D(...) builds is unknown to it. A literal std and a zero weight
    # before a ReLU are nothing it can judge there.
    source = textwrap.dedent(CONV1D)
    assert not needs_parse(source)
    assert analyze_text(source, Settings()) == []


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("from ...pytorch_utils import Conv1D", "from transformers.pytorch_utils import Conv1D",
         "an absolute import may name a helper the analysis knows: its result is not unknown"),
        ("class MLP(nn.Module):\n",
         "class Norm(nn.LayerNorm):\n    pass\n\n\nclass MLP(nn.Module):\n",
         "an instance of the file's own norm class gets through isinstance(m, Conv1D)"),
        ("from ...pytorch_utils import Conv1D",
         "from ...pytorch_utils import Conv1D\nConv1D = nn.Linear",
         "the name is bound again: the gate cannot tell which binding the analysis sees"),
        ("class MLP(nn.Module):\n",
         "class Conv1D(nn.Linear):\n    pass\n\n\nclass MLP(nn.Module):\n",
         "a class of the file with the same name"),
        ("if isinstance(module, Conv1D):", "if isinstance(module, (Conv1D, nn.LayerNorm)):",
         "a norm lumped in: INI006"),
    ],
)
def test_a_class_the_analysis_may_see_keeps_the_file_open(old: str, new: str, why: str) -> None:
    source = textwrap.dedent(CONV1D)
    assert old in source, old
    assert needs_parse(source.replace(old, new)), why


POS_EMBED = """
    import torch
    from torch import nn


    class Embed(nn.Module):
        def __init__(self, n, d):
            super().__init__()
            self.pos = nn.Parameter(torch.zeros(1, n, d))
            self.scale = nn.Parameter(torch.Tensor(d).uniform_())

        def positions(self):
            return self.pos

        def forward(self, x):
            return x + self.positions()
"""


def test_a_parameter_escapes_only_where_it_may_become_a_weight() -> None:
    # Added to the input (a new tensor), returned by a def whose result is only added: no
    # raw weight. torch.Tensor(d).uniform_() is a plain tensor: no factory site.
    assert not needs_parse(POS_EMBED)
    source = textwrap.dedent(POS_EMBED)
    for old, new in [("return x + self.positions()", "return x @ self.positions()"),
                     ("return x + self.positions()", "w = self.positions()\n        return x @ w"),
                     ("return x + self.positions()", "return x + self.positions"),
                     ("return self.pos", "return torch.matmul(x, self.pos)")]:
        assert old in source, old
        assert needs_parse(source.replace(old, new)), new


def test_only_the_enabled_rules_count() -> None:
    lumped = textwrap.dedent(HF_STYLE).replace(
        "if isinstance(module, nn.Linear):", "if isinstance(module, (nn.Linear, nn.LayerNorm)):")
    assert needs_parse(lumped)
    assert not needs_parse(lumped, DEFAULT - {"INI006"})
    xavier = textwrap.dedent(HF_STYLE).replace(
        "init.normal_(module.down.weight, std=std / 2)", "init.xavier_uniform_(module.down.weight)")
    assert needs_parse(xavier)
    assert not needs_parse(xavier, frozenset({"INI001", "INI004", "INI006"}))
    assert not needs_parse(xavier.replace("nn.GELU()", "ACT2FN[config.act]"))  # none known
    assert needs_parse(HF_STYLE, DEFAULT | {"INI005"})  # INI005 is not about init sites
    assert not needs_parse(HF_STYLE, frozenset())


def test_gated_files_are_not_parsed_with_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = engine.parse

    def counting(text: str, tree: ast.AST | None = None) -> object:
        parsed.append(text)
        return real(text, tree)

    monkeypatch.setattr(engine, "parse", counting)
    assert analyze_text(textwrap.dedent(HF_STYLE), Settings()) == []
    assert parsed == []
    lumped = textwrap.dedent(HF_STYLE).replace(
        "if isinstance(module, nn.Linear):", "if isinstance(module, (nn.Linear, nn.LayerNorm)):")
    assert [f.code for f in analyze_text(lumped, Settings())] == ["INI006"]
    assert len(parsed) == 1


def test_deeply_nested_code_does_not_break_the_gate() -> None:
    # The walk keeps its own stack: CPython accepts deeper statement nesting than Python's
    # recursion limit would allow a recursive visitor.
    depth = 90
    body = "".join("    " * i + "if x:\n" for i in range(depth))
    source = ("import torch.nn as nn\nclass M(nn.Module):\n"
              "  def __init__(self):\n    self.fc = nn.Linear(4, 4)\n  def f(self, x):\n"
              + textwrap.indent(body + "    " * depth + "nn.init.zeros_(self.fc.weight)\n",
                                "    "))
    assert needs_parse(source)
    assert not needs_parse(source.replace("self.fc.weight", "self.fc.bias"))

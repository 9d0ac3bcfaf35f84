"""Which files can hold a finding, decided from CPython's tree before libcst parses them.

Every finding but INI005's sits at an init site (``analysis.inits``), and most init sites
of real model code can be seen to be harmless without running the analysis: a bias set to
zero, a norm's weight set to one inside ``isinstance(m, nn.LayerNorm)``, an
``init.normal_(w, std=config.initializer_range)`` (a scale the analysis cannot know, so
INI004 stays silent) inside ``isinstance(m, nn.Linear)`` (so it cannot reach a norm and
INI006 stays silent), ``nn.Parameter(torch.ones(hidden_size))`` (a vector: never a layer's
weight). A file whose init sites are all harmless for every enabled rule cannot produce a
finding, so it is never parsed with libcst: on ``transformers/models`` that is most files,
and libcst's parse is what a check costs (``benchmarks/RESULTS.md``).

The verdict is conservative by construction: anything this module does not recognise
(an initializer passed around as a value, a target it cannot classify, a scale it cannot
prove unknown, a class it cannot see) means "parse it". Each harmless verdict mirrors the
reason the analysis and the rules are silent on such a site (the rule's docstring and
``rules/common.py``), and the test suite checks that every rule example, every fixture
and the corpus give the same findings with and without the gate.

Names are resolved from the file's imports exactly as ``analysis.names`` does, but every
binding of a name counts (a superset): for a gate, more candidates is only slower.
"""

from __future__ import annotations

import ast

from init_lint.gate.index import build_index
from init_lint.gate.verdicts import Judge

#: Rules whose findings are all init sites; with any other rule enabled the gate is open.
GATED_CODES = frozenset({"INI001", "INI002", "INI003", "INI004", "INI006"})


def might_have_findings(tree: ast.Module, codes: frozenset[str]) -> bool:
    """``False`` only when no enabled rule (``codes``) can find anything in ``tree``."""
    if not codes:
        return False
    if not codes <= GATED_CODES:
        return True
    index = build_index(tree)
    if index.opened:
        return True
    judge = Judge(index, codes)
    return any(not judge.harmless(site) for site in index.sites)

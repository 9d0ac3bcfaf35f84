"""Each fix family produces, with real torch, weights of the std DESIGN.md prescribes.

For every kind of rewrite the fixer makes, a model with a mistake is fixed, the fixed
source is executed with torch, and the weight's empirical std is compared with
``knowledge.recommended_std`` for the paired activation at the layer's *true* fans (for a
raw ``x @ W`` weight stored as (in, out), fan_in is its first dimension: the fix must say
``mode="fan_out"`` for torch to use it).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from init_lint.engine import Settings, check_text  # noqa: E402
from init_lint.fixes import fix_text  # noqa: E402
from init_lint.knowledge import recommend, recommended_std  # noqa: E402

HEADER = """import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import init
"""

IN, OUT = 1024, 768

# (family, source body, attribute holding the weight, activation, param, (fan_in, fan_out))
CASES = [
    ("xavier_uniform_ before ReLU -> kaiming_uniform_ relu", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {OUT})
        self.out = nn.Linear({OUT}, 1)
        nn.init.xavier_uniform_(self.fc.weight)

    def forward(self, x):
        return self.out(F.relu(self.fc(x)))
""", "fc.weight", "relu", None, (IN, OUT)),
    ("xavier_normal_ before LeakyReLU(0.2) -> kaiming_normal_ leaky a=0.2", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {OUT})
        self.act = nn.LeakyReLU(0.2)
        self.out = nn.Linear({OUT}, 1)
        init.xavier_normal_(self.fc.weight)

    def forward(self, x):
        return self.out(self.act(self.fc(x)))
""", "fc.weight", "leaky_relu", 0.2, (IN, OUT)),
    ("kaiming_normal_ before tanh -> xavier_normal_ gain tanh", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {OUT})
        self.out = nn.Linear({OUT}, 1)
        nn.init.kaiming_normal_(self.fc.weight)

    def forward(self, x):
        return self.out(torch.tanh(self.fc(x)))
""", "fc.weight", "tanh", None, (IN, OUT)),
    ("kaiming_uniform_ before sigmoid -> xavier_uniform_ gain 1", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {OUT})
        self.out = nn.Linear({OUT}, 1)
        nn.init.kaiming_uniform_(self.fc.weight, nonlinearity="relu")

    def forward(self, x):
        return self.out(self.fc(x).sigmoid())
""", "fc.weight", "sigmoid", None, (IN, OUT)),
    ("kaiming_normal_ before SELU -> kaiming_normal_ linear (LeCun)", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {OUT})
        self.out = nn.Linear({OUT}, 1)
        nn.init.kaiming_normal_(self.fc.weight)

    def forward(self, x):
        return self.out(F.selu(self.fc(x)))
""", "fc.weight", "selu", None, (IN, OUT)),
    ("orthogonal_ before ReLU -> orthogonal_ with the relu gain", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {IN})
        self.out = nn.Linear({IN}, 1)
        nn.init.orthogonal_(self.fc.weight)

    def forward(self, x):
        return self.out(F.relu(self.fc(x)))
""", "fc.weight", "relu", None, (IN, IN)),
    ("kaiming named tanh before ReLU (INI003) -> named relu", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {OUT})
        self.out = nn.Linear({OUT}, 1)
        nn.init.kaiming_normal_(self.fc.weight, nonlinearity="tanh")

    def forward(self, x):
        return self.out(self.fc(x).relu())
""", "fc.weight", "relu", None, (IN, OUT)),
    ("zeros_ on a hidden GELU layer (INI001) -> kaiming_uniform_ relu", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {OUT})
        self.out = nn.Linear({OUT}, 1)
        nn.init.zeros_(self.fc.weight)

    def forward(self, x):
        return self.out(F.gelu(self.fc(x)))
""", "fc.weight", "gelu", None, (IN, OUT)),
    (".weight.data.normal_(0, 1) before tanh (INI004) -> xavier_normal_ gain tanh", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({IN}, {OUT})
        self.out = nn.Linear({OUT}, 1)
        self.fc.weight.data.normal_(0, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.fc(x)))
""", "fc.weight", "tanh", None, (IN, OUT)),
    ("raw randn(in, out) used as x @ W (INI004) -> kaiming mode fan_out", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn({IN}, {OUT}))
        self.out = nn.Linear({OUT}, 1)

    def forward(self, x):
        return self.out(F.relu(x @ self.W))
""", "W", "relu", None, (IN, OUT)),
    ("raw zeros(out, in) used in F.linear (INI001) -> kaiming fan_in", f"""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.zeros({OUT}, {IN}))
        self.out = nn.Linear({OUT}, 1)

    def forward(self, x):
        return self.out(F.relu(F.linear(x, self.W)))
""", "W", "relu", None, (IN, OUT)),
]


def _fixed_module(body: str) -> dict[str, object]:
    source = HEADER + body
    findings = check_text(source, Settings())
    assert findings and all(f.fixable for f in findings), [f.message for f in findings]
    result = fix_text(source, findings)
    assert result.applied
    assert check_text(result.text, Settings()) == []
    namespace: dict[str, object] = {}
    exec(compile(result.text, "<fixed>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace


@pytest.mark.parametrize("family,body,attribute,activation,param,fans", CASES,
                         ids=[case[0] for case in CASES])
def test_fixed_call_gives_the_recommended_std(family: str, body: str, attribute: str,
                                              activation: str, param: float | None,
                                              fans: tuple[int, int]) -> None:
    namespace = _fixed_module(body)
    torch.manual_seed(0)
    model = namespace["Net"]()  # type: ignore[operator]
    weight = model
    for part in attribute.split("."):
        weight = getattr(weight, part)
    expected = recommended_std(recommend(activation, param), *fans)
    measured = float(weight.detach().float().std())
    assert measured == pytest.approx(expected, rel=0.05), family


def test_layernorm_weight_fix_starts_at_one() -> None:
    namespace = _fixed_module("""
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(64, 64)
        self.norm = nn.LayerNorm(64)
        nn.init.trunc_normal_(self.norm.weight, std=0.02)

    def forward(self, x):
        return x + self.fc(self.norm(x))
""")
    model = namespace["Net"]()  # type: ignore[operator]
    assert torch.equal(model.norm.weight.detach(), torch.ones(64))

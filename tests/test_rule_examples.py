"""Every rule carries its own examples, and they hold (Fixit's generic rule test).

For each rule in ``ALL_RULES``: at least one VALID and one INVALID example; no VALID
source gives a finding of the rule; each INVALID source is flagged by the rule on exactly
the lines marked ``# expect: <its code>``. Off-by-default rules are enabled for this.
"""

from __future__ import annotations

import pytest
from _support import expected_markers

from init_lint.engine import Settings, analyze_text
from init_lint.fixes import fix_text
from init_lint.rules import ALL_RULES, Example, Rule

RULE_IDS = [rule.code for rule in ALL_RULES]


def only(rule: type[Rule]) -> Settings:
    return Settings(select=(rule.code,))


def flagged_lines(rule: type[Rule], source: str) -> set[tuple[int, str]]:
    return {(f.line, f.code) for f in analyze_text(source, only(rule)) if f.code == rule.code}


def test_the_registry_holds_the_six_rules() -> None:
    assert [rule.code for rule in ALL_RULES] == [f"INI00{n}" for n in range(1, 7)]
    assert len({rule.name for rule in ALL_RULES}) == 6
    assert [rule.code for rule in ALL_RULES if rule.off_by_default] == ["INI005"]


@pytest.mark.parametrize("rule", ALL_RULES, ids=RULE_IDS)
def test_rule_has_documentation_and_examples(rule: type[Rule]) -> None:
    assert rule.__doc__ and rule.__doc__.strip(), f"{rule.code} has no docstring"
    assert rule.name and rule.summary
    assert rule.VALID, f"{rule.code} has no VALID example"
    assert rule.INVALID, f"{rule.code} has no INVALID example"


def test_selecting_one_rule_enables_it_even_if_off_by_default() -> None:
    for rule in ALL_RULES:
        assert [type(r) for r in only(rule).enabled_rules()] == [rule]


@pytest.mark.parametrize(
    ("rule", "index"),
    [(rule, i) for rule in ALL_RULES for i in range(len(rule.VALID))],
    ids=[f"{rule.code}-valid-{i}" for rule in ALL_RULES for i in range(len(rule.VALID))],
)
def test_valid_example_gives_no_finding_of_its_rule(rule: type[Rule], index: int) -> None:
    source = rule.VALID[index]
    assert flagged_lines(rule, source) == set(), source


def _invalid_source(example: str | Example) -> str:
    return example.source if isinstance(example, Example) else example


@pytest.mark.parametrize(
    ("rule", "index"),
    [(rule, i) for rule in ALL_RULES for i in range(len(rule.INVALID))],
    ids=[f"{rule.code}-invalid-{i}" for rule in ALL_RULES for i in range(len(rule.INVALID))],
)
def test_invalid_example_is_flagged_exactly_on_its_expect_lines(
    rule: type[Rule], index: int
) -> None:
    source = _invalid_source(rule.INVALID[index])
    expected = expected_markers(source, rule.code)
    assert expected, f"{rule.code} INVALID example {index} marks no `# expect: {rule.code}` line"
    assert flagged_lines(rule, source) == expected, source


@pytest.mark.parametrize(
    ("rule", "index"),
    [(rule, i) for rule in ALL_RULES for i in range(len(rule.INVALID))],
    ids=[f"{rule.code}-fix-{i}" for rule in ALL_RULES for i in range(len(rule.INVALID))],
)
def test_invalid_example_with_a_fix_carries_its_fixed_source(rule: type[Rule], index: int) -> None:
    """A fixable INVALID example is an ``Example`` whose ``fixed`` is exactly what the
    fixer makes of it; the fixed source no longer has the rule's finding; an example the
    rule cannot fix has no ``fixed``."""
    example = rule.INVALID[index]
    source = _invalid_source(example)
    findings = [f for f in analyze_text(source, only(rule)) if f.code == rule.code]
    result = fix_text(source, findings)
    expected = example.fixed if isinstance(example, Example) else None
    if not result.applied:
        assert expected is None, f"{rule.code} example {index} promises a fix it does not get"
        return
    assert expected is not None, f"{rule.code} example {index} is fixable: give it `fixed=`"
    assert result.text == expected
    assert flagged_lines(rule, expected) == set()


def test_every_fixable_rule_has_a_fixed_example() -> None:
    fixable = {"INI001", "INI002", "INI003", "INI004", "INI006"}
    with_fixes = {rule.code for rule in ALL_RULES
                  if any(isinstance(e, Example) and e.fixed for e in rule.INVALID)}
    assert with_fixes == fixable

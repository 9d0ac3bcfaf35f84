"""The analysis's parse: libcst's tree, with node checks off for the parse only."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from init_lint.analysis.cstparse import parse_module

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def invalid_node() -> cst.CSTNode:
    # `not` needs whitespace before an operand without parentheses: libcst refuses it
    return cst.UnaryOperation(cst.Not(whitespace_after=cst.SimpleWhitespace("")),
                              cst.Name("x"))


@pytest.mark.parametrize("path", sorted(FIXTURES.rglob("*.py"))[:12], ids=lambda p: p.name)
def test_same_tree_as_libcst(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    ours = parse_module(text)
    assert ours.deep_equals(cst.parse_module(text))
    assert ours.code == text


def test_hand_built_nodes_are_checked_again_after_a_parse() -> None:
    parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        invalid_node()


def test_a_failed_parse_turns_the_checks_back_on() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        parse_module("def (:\n")
    with pytest.raises(cst.CSTValidationError):
        invalid_node()

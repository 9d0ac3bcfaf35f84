"""Every model in fixtures/ is flagged exactly on its ``# expect: INI00x`` lines.

Both front ends are checked, each run once over all fixtures (INI005 enabled): flake8
with our plugin (``--enable-extensions=INI005``) and the CLI (``--extend-select INI005``,
JSON). Each fixture is then one test that demands the exact set of ``(line, code)``
from each of them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from _support import (
    CLI,
    FIXTURES,
    FLAKE8,
    REPO,
    assert_no_traceback,
    expected_markers,
    fixture_files,
    run,
)

from init_lint.engine import decode_source

Flagged = dict[Path, set[tuple[int, str]]]

MODELS = fixture_files()


def _relative(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(REPO)) for path in paths]


@pytest.fixture(scope="session")
def flake8_findings() -> Flagged:
    """``(line, code)`` per fixture from one flake8 run (INI and its syntax errors, E9)."""
    version = run([*FLAKE8, "--version"])
    assert "init-lint" in version.stdout, "the flake8 plugin is not installed: pip install -e ."
    result = run(
        [
            *FLAKE8,
            "--isolated",
            "--select=INI,E9",
            "--enable-extensions=INI005",
            "--format=%(path)s\t%(row)d\t%(code)s",
            *_relative(MODELS),
        ]
    )
    assert_no_traceback(result)
    assert result.returncode in (0, 1), result.stderr
    found: Flagged = defaultdict(set)
    for line in result.stdout.splitlines():
        path, row, code = line.split("\t")
        found[(REPO / path).resolve()].add((int(row), code))
    return found


@pytest.fixture(scope="session")
def cli_findings() -> Flagged:
    """``(line, code)`` per fixture from one ``init-lint check --format json`` run."""
    result = run(
        [*CLI, "check", "--extend-select", "INI005", "--format", "json", *_relative(MODELS)]
    )
    assert_no_traceback(result)
    assert result.stderr == ""
    assert result.returncode in (0, 1)
    found: Flagged = defaultdict(set)
    for record in json.loads(result.stdout):
        found[(REPO / record["path"]).resolve()].add((record["line"], record["code"]))
    return found


def test_fixtures_hold_at_least_35_models() -> None:
    assert len(MODELS) >= 35, f"only {len(MODELS)} models under {FIXTURES}"


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_fixture_is_flagged_exactly_on_its_expect_lines_by_flake8(
    path: Path, flake8_findings: Flagged
) -> None:
    expected = expected_markers(decode_source(path.read_bytes()))
    assert flake8_findings.get(path.resolve(), set()) == expected


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_fixture_is_flagged_exactly_on_its_expect_lines_by_the_cli(
    path: Path, cli_findings: Flagged
) -> None:
    expected = expected_markers(decode_source(path.read_bytes()))
    assert cli_findings.get(path.resolve(), set()) == expected

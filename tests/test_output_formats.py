"""``init-lint check --format sarif`` and ``--format github``.

SARIF documents are validated against the official SARIF 2.1.0 schema (vendored in
``tests/data/``): every document the CLI emits for ``fixtures/``, a run with a file that
cannot be parsed, and a log built from synthetic findings carrying a fix. Fixes are also
applied as a SARIF consumer would apply them, and must give the fixer's own result.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _support import (
    CLI,
    FIXTURES,
    REPO,
    XAVIER_RELU_COL,
    XAVIER_RELU_LINE,
    XAVIER_RELU_MLP,
    assert_no_traceback,
    fixture_files,
    run,
)

from init_lint import __version__, report
from init_lint.cli import main
from init_lint.engine import FileResult, Settings, check_text, decode_source
from init_lint.findings import Edit, Finding, Fix, Position
from init_lint.fixes import fix_text
from init_lint.import_edits import import_edits
from init_lint.rules import ALL_RULES

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR_CLASS = jsonschema.validators.validator_for(SCHEMA)
VALIDATOR_CLASS.check_schema(SCHEMA)
VALIDATOR = VALIDATOR_CLASS(SCHEMA)

Cli = Callable[..., tuple[int, str, str]]
Json = Any


def schema_errors(document: Json) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in VALIDATOR.iter_errors(document)
    ]


def assert_valid_sarif(document: Json) -> None:
    errors = schema_errors(document)
    assert not errors, "\n".join(errors[:20])


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    def invoke(*argv: str | Path) -> tuple[int, str, str]:
        code = main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return invoke


def the_run(document: Json) -> Json:
    assert document["version"] == "2.1.0"
    assert len(document["runs"]) == 1
    return document["runs"][0]


def results_of(document: Json) -> list[Json]:
    results: list[Json] = the_run(document)["results"]
    return results


# --- SARIF over fixtures/ -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixtures_sarif() -> Json:
    """One ``--format sarif`` run over fixtures/ (INI005 on), from the repository root."""
    result = run([*CLI, "check", "--extend-select", "INI005", "--format", "sarif", "fixtures"])
    assert_no_traceback(result)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""  # no summary, no progress bar: stdout is the document
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def fixtures_json() -> list[Json]:
    result = run([*CLI, "check", "--extend-select", "INI005", "--format", "json", "fixtures"])
    assert result.returncode == 1, result.stderr
    records: list[Json] = json.loads(result.stdout)
    return records


def test_sarif_of_all_fixtures_validates_against_the_official_schema(
    fixtures_sarif: Json,
) -> None:
    assert_valid_sarif(fixtures_sarif)
    assert results_of(fixtures_sarif)
    # The vendored schema is the official one, and its checks are not vacuous.
    assert SCHEMA["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    broken = copy.deepcopy(fixtures_sarif)
    region = results_of(broken)[0]["locations"][0]["physicalLocation"]["region"]
    region["startColumn"] = 0  # SARIF columns are 1-based
    assert schema_errors(broken)
    broken = copy.deepcopy(fixtures_sarif)
    del results_of(broken)[0]["message"]
    assert schema_errors(broken)


@pytest.mark.parametrize(
    "path", fixture_files(), ids=[str(p.relative_to(FIXTURES)) for p in fixture_files()]
)
def test_sarif_of_each_fixture_validates(
    path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    relative = path.relative_to(REPO)
    code, out, err = cli("check", "-j", "1", "--extend-select", "INI005", "--format", "sarif",
                         relative)
    assert code in (0, 1) and err == ""
    document = json.loads(out)
    assert_valid_sarif(document)
    for result in results_of(document):
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location == {"uri": relative.as_posix(), "uriBaseId": "%SRCROOT%"}


def test_sarif_results_match_the_json_findings(
    fixtures_sarif: Json, fixtures_json: list[Json]
) -> None:
    sarif = [
        (
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            result["locations"][0]["physicalLocation"]["region"],
            result["ruleId"],
            result["message"]["text"],
            "fixes" in result,
        )
        for result in results_of(fixtures_sarif)
    ]
    from_json = [
        (
            record["path"],
            {"startLine": record["line"], "startColumn": record["col"],
             "endLine": record["end_line"], "endColumn": record["end_col"]},
            record["code"],
            record["message"],
            record["fixable"],
        )
        for record in fixtures_json
    ]
    assert sarif == from_json


def test_sarif_describes_every_rule_and_the_tool(fixtures_sarif: Json) -> None:
    run_ = the_run(fixtures_sarif)
    driver = run_["tool"]["driver"]
    assert driver["name"] == "init-lint"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in ALL_RULES]
    for descriptor, rule in zip(driver["rules"], ALL_RULES, strict=True):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        first_doc_line = (rule.__doc__ or "").strip().splitlines()[0]
        assert descriptor["fullDescription"]["text"].startswith(first_doc_line)
        assert descriptor["help"]["text"] == descriptor["fullDescription"]["text"]
        assert descriptor["defaultConfiguration"] == {
            "enabled": not rule.off_by_default, "level": "warning"
        }
    for result in run_["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "warning"
    assert run_["columnKind"] == "unicodeCodePoints"
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == REPO.as_uri() + "/"
    # INI005 is off by default and was turned on: the invocation says so.
    invocation = run_["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["toolExecutionNotifications"] == []
    assert invocation["ruleConfigurationOverrides"] == [
        {"descriptor": {"id": "INI005", "index": 4}, "configuration": {"enabled": True}}
    ]


def test_sarif_region_is_1_based_and_exclusive_at_the_end(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "model.py").write_text(XAVIER_RELU_MLP)
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("check", "--format", "sarif", "model.py")
    assert code == 1
    [result] = results_of(json.loads(out))
    call = "nn.init.xavier_uniform_(self.fc1.weight)"
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": XAVIER_RELU_LINE,
        "startColumn": XAVIER_RELU_COL,
        "endLine": XAVIER_RELU_LINE,
        "endColumn": XAVIER_RELU_COL + len(call),
    }


def apply_sarif_replacements(text: str, replacements: list[Json]) -> str:
    """Apply SARIF replacements (1-based lines and code-point columns) as a consumer does."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column - 1

    spans = sorted(
        (
            (offset(r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"]),
             offset(r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"]),
             r["insertedContent"]["text"])
            for r in replacements
        ),
        reverse=True,
    )
    for start, end, inserted in spans:
        text = text[:start] + inserted + text[end:]
    return text


def sarif_fixes(document: Json) -> Iterator[tuple[Json, Json]]:
    for result in results_of(document):
        for fix in result.get("fixes", []):
            yield result, fix


def test_each_sarif_fix_gives_what_init_lint_fix_gives(fixtures_sarif: Json) -> None:
    fixes = list(sarif_fixes(fixtures_sarif))
    assert fixes, "no fixture finding carries a fix"
    with_imports = 0
    for result, fix in fixes:
        [change] = fix["artifactChanges"]
        uri = change["artifactLocation"]["uri"]
        path = REPO / uri
        text = decode_source(path.read_bytes())
        fixed_by_sarif = apply_sarif_replacements(text, change["replacements"])
        region = result["locations"][0]["physicalLocation"]["region"]
        [finding] = [
            f for f in check_text(text, Settings(extend_select=("INI005",)))
            if (f.line, f.col + 1, f.code) == (region["startLine"], region["startColumn"],
                                               result["ruleId"])
        ]
        assert fix["description"]["text"] == finding.fix.description  # type: ignore[union-attr]
        assert fixed_by_sarif == fix_text(text, [finding]).text, uri
        with_imports += len(change["replacements"]) > 1
    assert with_imports, "no fixture fix needs an import: the import edits are untested"


def test_sarif_of_a_run_with_an_unparsable_file_reports_it_and_validates(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.py").write_text("import torch.nn as nn\ndef f(:\n    nn.init.zeros_(w)\n")
    (tmp_path / "model.py").write_text(XAVIER_RELU_MLP)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("check", "--format", "sarif", ".")
    assert code == 2
    assert err == "./bad.py: cannot parse: invalid syntax (line 2)\n"
    document = json.loads(out)
    assert_valid_sarif(document)
    invocation = the_run(document)["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert notification["message"]["text"] == "./bad.py: cannot parse: invalid syntax (line 2)"
    assert notification["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "bad.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 2},
    }
    assert [r["ruleId"] for r in results_of(document)] == ["INI002"]


def test_sarif_of_a_clean_run_validates_and_has_no_results(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("check", "--format", "sarif", "--ignore", "INI002", "clean.py")
    assert (code, err) == (0, "")
    document = json.loads(out)
    assert_valid_sarif(document)
    assert results_of(document) == []
    assert the_run(document)["invocations"][0]["ruleConfigurationOverrides"] == [
        {"descriptor": {"id": "INI002", "index": 1}, "configuration": {"enabled": False}}
    ]


def test_sarif_uri_outside_the_current_directory_is_absolute(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "my project"
    project.mkdir()
    (project / "model.py").write_text(XAVIER_RELU_MLP)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, _ = cli("check", "--format", "sarif", project / "model.py")
    assert code == 1
    document = json.loads(out)
    assert_valid_sarif(document)
    location = results_of(document)[0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": (project / "model.py").as_uri()}
    assert "%20" in location["uri"]

    monkeypatch.chdir(tmp_path)
    _, out, _ = cli("check", "--format", "sarif", "my project/model.py")
    location = results_of(json.loads(out))[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "my%20project/model.py",
                                            "uriBaseId": "%SRCROOT%"}


# --- SARIF from synthetic findings with a fix ---------------------------------------------

SYNTHETIC_SOURCE = '''\
"""A module."""
from torch import nn

layer = nn.Linear(4, 4)
nn.init.xavier_uniform_(layer.weight)
'''


def synthetic_finding(imports: tuple[tuple[str, str | None], ...] = ()) -> Finding:
    call = "nn.init.xavier_uniform_(layer.weight)"
    new_call = 'init.kaiming_uniform_(layer.weight, nonlinearity="relu")'
    return Finding(
        code="INI002",
        message="xavier_uniform_ on layer, which feeds ReLU: use He",
        start=Position(5, 0),
        end=Position(5, len(call)),
        fix=Fix(
            description=f"use {new_call}",
            edits=(Edit(Position(5, 0), Position(5, len(call)), new_call),),
            imports=imports,
        ),
    )


def test_synthetic_finding_with_a_fix_validates_and_carries_the_replacement(
    tmp_path: Path,
) -> None:
    finding = synthetic_finding()
    log = report.sarif_log(
        [FileResult(str(tmp_path / "pkg" / "m.py"), (finding,))],
        rules=ALL_RULES, enabled={"INI001", "INI002", "INI003", "INI004", "INI006"},
        base=tmp_path,
    )
    assert_valid_sarif(log)
    [result] = results_of(log)
    assert "ruleConfigurationOverrides" not in the_run(log)["invocations"][0]
    assert result["fixes"] == [
        {
            "description": {"text": 'use init.kaiming_uniform_(layer.weight, nonlinearity="relu")'},
            "artifactChanges": [
                {
                    "artifactLocation": {"uri": "pkg/m.py", "uriBaseId": "%SRCROOT%"},
                    "replacements": [
                        {
                            "deletedRegion": {"startLine": 5, "startColumn": 1,
                                              "endLine": 5, "endColumn": 38},
                            "insertedContent": {
                                "text": 'init.kaiming_uniform_(layer.weight, nonlinearity="relu")'
                            },
                        }
                    ],
                }
            ],
        }
    ]
    # The formatted document is the same log, as JSON.
    text = report.format_sarif(
        [FileResult(str(tmp_path / "pkg" / "m.py"), (finding,))],
        rules=ALL_RULES, enabled={"INI002"}, base=tmp_path,
    )
    assert_valid_sarif(json.loads(text))


def test_synthetic_fix_with_imports_gets_the_import_as_a_replacement(tmp_path: Path) -> None:
    finding = synthetic_finding(imports=(("torch.nn", "init"),))
    path = str(tmp_path / "m.py")

    def edits_for(file: str, fix: Fix) -> tuple[Edit, ...]:
        assert (file, fix) == (path, finding.fix)
        return import_edits(SYNTHETIC_SOURCE, fix.imports)

    log = report.sarif_log([FileResult(path, (finding,))], rules=ALL_RULES,
                           enabled={"INI002"}, base=tmp_path, import_edits=edits_for)
    assert_valid_sarif(log)
    [result] = results_of(log)
    replacements = result["fixes"][0]["artifactChanges"][0]["replacements"]
    assert len(replacements) == 2
    assert replacements[0] == {
        "deletedRegion": {"startLine": 3, "startColumn": 1, "endLine": 3, "endColumn": 1},
        "insertedContent": {"text": "from torch.nn import init\n"},
    }
    fixed = apply_sarif_replacements(SYNTHETIC_SOURCE, replacements)
    assert fixed == fix_text(SYNTHETIC_SOURCE, [finding]).text
    assert fixed == (
        '"""A module."""\nfrom torch import nn\nfrom torch.nn import init\n\n'
        'layer = nn.Linear(4, 4)\n'
        'init.kaiming_uniform_(layer.weight, nonlinearity="relu")\n'
    )


def test_import_edits_are_whole_lines_and_add_nothing_already_imported() -> None:
    source = "from torch import nn\nimport torch.nn.init\n\nx = 1\n"
    assert import_edits(source, [("torch.nn.init", None)]) == ()
    assert import_edits(source, []) == ()
    [edit] = import_edits(source, [("torch", "optim")])
    assert edit.start.col == 0 and edit.end.col == 0
    assert "optim" in edit.text
    assert import_edits("def f(:\n", [("math", None)]) == ()


# --- GitHub workflow commands -------------------------------------------------------------


def test_github_format_is_one_warning_command_per_finding(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model.py").write_text(XAVIER_RELU_MLP)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("check", "--format", "github", "./pkg")
    assert (code, err) == (1, "")
    [line] = out.splitlines()
    _, text_out, _ = cli("check", "-q", "--format", "json", "pkg")
    [record] = json.loads(text_out)
    rule = next(r for r in ALL_RULES if r.code == "INI002")
    assert line == (
        f"::warning file=pkg/model.py,line={record['line']},col={record['col']},"
        f"endLine={record['end_line']},endColumn={record['end_col']},"
        f"title=INI002 {rule.name}::{report.escape_data(record['message'])}"
    )


def test_github_format_of_all_fixtures_matches_the_json_findings(
    fixtures_json: list[Json],
) -> None:
    result = run([*CLI, "check", "--extend-select", "INI005", "--format", "github", "fixtures"])
    assert_no_traceback(result)
    assert (result.returncode, result.stderr) == (1, "")
    lines = result.stdout.splitlines()
    assert len(lines) == len(fixtures_json)
    pattern = re.compile(
        r"::warning file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),"
        r"endLine=(?P<end_line>\d+),endColumn=(?P<end_col>\d+),"
        r"title=(?P<code>INI\d{3}) [a-z-]+::(?P<message>[^\r\n]*)"
    )
    for line, record in zip(lines, fixtures_json, strict=True):
        match = pattern.fullmatch(line)
        assert match, line
        assert match["file"] == record["path"]
        assert (int(match["line"]), int(match["col"])) == (record["line"], record["col"])
        assert (int(match["end_line"]), int(match["end_col"])) == (
            record["end_line"], record["end_col"])
        assert match["code"] == record["code"]
        assert match["message"] == report.escape_data(record["message"])


def test_github_escaping_follows_the_runner() -> None:
    assert report.escape_data("50% of a\r\nb: c, d") == "50%25 of a%0D%0Ab: c, d"
    assert report.escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    finding = Finding("INI001", "line one\nline 2: 100%", Position(3, 4), Position(3, 9))
    command = report.github_finding("dir,x/a:b.py", finding, {"INI001": "zero-weight"},
                                    Path.cwd())
    assert command == (
        "::warning file=dir%2Cx/a%3Ab.py,line=3,col=5,endLine=3,endColumn=10,"
        "title=INI001 zero-weight::line one%0Aline 2: 100%25\n"
    )


def test_github_format_reports_unparsable_files_as_error_commands(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.py").write_text("import torch.nn as nn\ndef f(:\n    nn.init.zeros_(w)\n")
    (tmp_path / "model.py").write_text(XAVIER_RELU_MLP)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("check", "--format", "github", "bad.py", "model.py", "missing.py")
    assert (code, err) == (2, "")
    lines = out.splitlines()
    assert lines[0] == "::error file=missing.py::cannot read: no such file or directory"
    assert lines[1] == "::error file=bad.py,line=2::cannot parse: invalid syntax (line 2)"
    assert lines[2].startswith("::warning file=model.py,line=")
    assert len(lines) == 3

"""What the CLI prints: findings as text or JSON, error lines, the rules table, ``explain``.

Pure formatting: no I/O, no analysis. Positions in everything printed here are 1-based
for lines *and* columns (``findings.Finding`` columns are 0-based; one is added, as flake8
does):

* text: ``path:line:col: CODE message``, flake8's default format;
* json: one array of objects ``{path, line, col, end_line, end_col, code, message,
  fixable}``; ``end_line``/``end_col`` close the flagged expression and are exclusive
  (the column just after its last character, as SARIF's ``endColumn``).

Files that could not be checked are not findings: they get one error line each,
``path: cannot parse: <reason> (line N)`` (written to stderr by the CLI).
"""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Iterable, Sequence

from init_lint.engine import FileResult
from init_lint.findings import Finding
from init_lint.rules import Example, Rule

FORMATS = ("text", "json")


def finding_text(path: str, finding: Finding) -> str:
    """flake8's default line: ``path:line:col: CODE message`` (column 1-based)."""
    return f"{path}:{finding.line}:{finding.col + 1}: {finding.code} {finding.message}"


def finding_record(path: str, finding: Finding) -> dict[str, object]:
    """The JSON object of one finding (1-based columns; the end is exclusive)."""
    return {
        "path": path,
        "line": finding.start.line,
        "col": finding.start.col + 1,
        "end_line": finding.end.line,
        "end_col": finding.end.col + 1,
        "code": finding.code,
        "message": finding.message,
        "fixable": finding.fixable,
    }


def format_text(results: Iterable[FileResult]) -> str:
    """All findings, one line each, in the order given ("" when there are none)."""
    return "".join(
        finding_text(result.path, finding) + "\n"
        for result in results
        for finding in result.findings
    )


def format_json(results: Iterable[FileResult]) -> str:
    """All findings as one JSON array (``[]`` when there are none), newline-terminated."""
    records = [
        finding_record(result.path, finding)
        for result in results
        for finding in result.findings
    ]
    return json.dumps(records, indent=2) + "\n"


def error_line(result: FileResult) -> str:
    """``path: cannot parse: <reason> (line N)`` for a file that could not be checked."""
    return f"{result.path}: {result.error}"


def rules_table(rules: Sequence[type[Rule]]) -> str:
    """code, name, default on/off and summary of every rule, as aligned columns."""
    header = ("CODE", "NAME", "DEFAULT", "SUMMARY")
    rows = [header] + [
        (rule.code, rule.name, "off" if rule.off_by_default else "on", rule.summary)
        for rule in rules
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        + "  "
        + row[-1]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _example_block(source: str) -> str:
    """An example source, dedented, without surrounding blank lines, indented by 4."""
    body = textwrap.dedent(source).strip("\n")
    return textwrap.indent(body, "    ", lambda line: bool(line.strip()))


def explain(rule: type[Rule]) -> str:
    """The rule's documentation (its docstring, dedented) and its VALID/INVALID examples."""
    if rule.off_by_default:
        default = (
            f"off by default: enable it with `init-lint check --extend-select {rule.code}` "
            f"or `flake8 --enable-extensions={rule.code}`"
        )
    else:
        default = "on by default"
    parts = [
        f"{rule.code} {rule.name} ({default})",
        "",
        inspect.cleandoc(rule.__doc__ or rule.summary),
    ]
    if rule.VALID:
        parts += ["", "Not flagged:"]
        for source in rule.VALID:
            parts += ["", _example_block(source)]
    if rule.INVALID:
        parts += ["", f"Flagged (on the lines marked `# expect: {rule.code}`):"]
        for example in rule.INVALID:
            if isinstance(example, Example):
                parts += ["", _example_block(example.source)]
                if example.fixed is not None:
                    parts += ["", "  after `init-lint fix`:", "", _example_block(example.fixed)]
            else:
                parts += ["", _example_block(example)]
    return "\n".join(parts) + "\n"

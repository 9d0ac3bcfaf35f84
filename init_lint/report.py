"""What the CLI prints: findings as text, JSON, SARIF or GitHub workflow commands, error
lines, the closing summary, the rules table, ``explain``.

Pure formatting: no I/O, no analysis. Positions in everything printed here are 1-based
for lines *and* columns (``findings.Finding`` columns are 0-based; one is added, as flake8
does), and columns count characters (Unicode code points):

* text: ``path:line:col: CODE message``, flake8's default format;
* json: one array of objects ``{path, line, col, end_line, end_col, code, message,
  fixable}``; ``end_line``/``end_col`` close the flagged expression and are exclusive
  (the column just after its last character, as SARIF's ``endColumn``);
* sarif: one SARIF 2.1.0 log with one run: the rules (with their documentation), one
  result per finding (with its fix as ``fixes[].artifactChanges``), and an invocation
  that lists the files that could not be checked. Paths are URIs relative to the current
  directory (``uriBaseId`` ``%SRCROOT%``);
* github: GitHub Actions workflow commands, ``::warning file=...,line=...::message`` per
  finding and ``::error file=...::cannot parse: ...`` per file that could not be checked.

Files that could not be checked are not findings: in text and json they get one error
line each, ``path: cannot parse: <reason> (line N)`` (written to stderr by the CLI).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import textwrap
import urllib.parse
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path

from init_lint import __version__
from init_lint.engine import FileResult
from init_lint.findings import Edit, Finding, Fix, Position
from init_lint.rules import Example, Rule

FORMATS = ("text", "json", "sarif", "github")

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: Where SARIF viewers send users for the tool (``tool.driver.informationUri``).
INFORMATION_URI = "https://pypi.org/project/init-lint/"
SRCROOT = "%SRCROOT%"

#: ``(line N)`` at the end of an error line: where a file failed to parse.
_ERROR_LINE = re.compile(r"\(line (\d+)\)$")


def finding_text(path: str, finding: Finding) -> str:
    """flake8's default line: ``path:line:col: CODE message`` (column 1-based)."""
    return f"{path}:{finding.line}:{finding.col + 1}: {finding.code} {finding.message}"


def finding_record(path: str, finding: Finding,
                   import_edits: ImportEdits | None = None) -> dict[str, object]:
    """The JSON object of one finding (1-based columns; the end is exclusive).

    A fixable finding carries ``fix``: its description, the text edits that apply it (the
    call's replacement, then any import lines it needs, in the same coordinates) and the
    imports as ``[module, name]`` pairs, so another tool can apply it without init-lint.
    """
    record: dict[str, object] = {
        "path": path,
        "line": finding.start.line,
        "col": finding.start.col + 1,
        "end_line": finding.end.line,
        "end_col": finding.end.col + 1,
        "code": finding.code,
        "message": finding.message,
        "fixable": finding.fixable,
    }
    if finding.fix is not None:
        extra = import_edits(path, finding.fix) if import_edits and finding.fix.imports else ()
        record["fix"] = {
            "description": finding.fix.description,
            "edits": [_edit_record(edit) for edit in (*finding.fix.edits, *extra)],
            "imports": [[module, name] for module, name in finding.fix.imports],
        }
    return record


def _edit_record(edit: Edit) -> dict[str, object]:
    return {"line": edit.start.line, "col": edit.start.col + 1, "end_line": edit.end.line,
            "end_col": edit.end.col + 1, "text": edit.text}


def format_text(results: Iterable[FileResult]) -> str:
    """All findings, one line each, in the order given ("" when there are none)."""
    return "".join(
        finding_text(result.path, finding) + "\n"
        for result in results
        for finding in result.findings
    )


def format_json(results: Iterable[FileResult],
                import_edits: ImportEdits | None = None) -> str:
    """All findings as one JSON array (``[]`` when there are none), newline-terminated."""
    records = [
        finding_record(result.path, finding, import_edits)
        for result in results
        for finding in result.findings
    ]
    return json.dumps(records, indent=2) + "\n"


def error_line(result: FileResult) -> str:
    """``path: cannot parse: <reason> (line N)`` for a file that could not be checked."""
    return f"{result.path}: {result.error}"


def _error_line_number(error: str) -> int | None:
    match = _ERROR_LINE.search(error)
    return int(match.group(1)) if match else None


def relative_path(path: str, base: Path) -> str | None:
    """``path`` relative to ``base``, ``/``-separated; ``None`` when it lies outside."""
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    except ValueError:  # another drive (Windows)
        return None
    if relative == ".." or relative.startswith(".." + os.sep):
        return None
    return Path(relative).as_posix()


# --- SARIF ----------------------------------------------------------------------------------


def _rule_documentation(rule: type[Rule]) -> str:
    return inspect.cleandoc(rule.__doc__ or rule.summary)


def sarif_rule(rule: type[Rule]) -> dict[str, object]:
    """``reportingDescriptor`` of a rule: its id, name, summary and documentation."""
    documentation = _rule_documentation(rule)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": documentation},
        "help": {"text": documentation, "markdown": documentation},
        "defaultConfiguration": {"enabled": not rule.off_by_default, "level": "warning"},
    }


def artifact_location(path: str, base: Path) -> dict[str, str]:
    """A file as SARIF names it: relative to ``%SRCROOT%`` (``base``) when inside it."""
    relative = relative_path(path, base)
    if relative is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    return {"uri": urllib.parse.quote(relative), "uriBaseId": SRCROOT}


def sarif_region(start: Position, end: Position) -> dict[str, int]:
    """A region from 0-based-column positions (SARIF's columns are 1-based)."""
    return {
        "startLine": start.line,
        "startColumn": start.col + 1,
        "endLine": end.line,
        "endColumn": end.col + 1,
    }


def sarif_fix(
    path: str, fix: Fix, base: Path, extra_edits: Sequence[Edit] = ()
) -> dict[str, object]:
    """A SARIF ``fix``: the fix's edits (and ``extra_edits``: its imports) as replacements."""
    edits = sorted((*fix.edits, *extra_edits), key=lambda edit: (edit.start, edit.end))
    return {
        "description": {"text": fix.description},
        "artifactChanges": [
            {
                "artifactLocation": artifact_location(path, base),
                "replacements": [
                    {
                        "deletedRegion": sarif_region(edit.start, edit.end),
                        "insertedContent": {"text": edit.text},
                    }
                    for edit in edits
                ],
            }
        ],
    }


#: ``(path, fix) -> edits`` that add the fix's imports to the file (see ``import_edits``).
ImportEdits = Callable[[str, Fix], Sequence[Edit]]


def sarif_result(
    path: str,
    finding: Finding,
    rule_index: int,
    base: Path,
    import_edits: ImportEdits | None = None,
) -> dict[str, object]:
    """One finding as a SARIF ``result`` (with its fix, when it has one)."""
    result: dict[str, object] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": "warning",
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": artifact_location(path, base),
                    "region": sarif_region(finding.start, finding.end),
                }
            }
        ],
    }
    if finding.fix is not None:
        extra = import_edits(path, finding.fix) if import_edits and finding.fix.imports else ()
        result["fixes"] = [sarif_fix(path, finding.fix, base, extra)]
    return result


def _notification(result: FileResult, base: Path) -> dict[str, object]:
    error = result.error or "could not be checked"
    location: dict[str, object] = {"artifactLocation": artifact_location(result.path, base)}
    line = _error_line_number(error)
    if line is not None:
        location["region"] = {"startLine": line}
    return {
        "level": "error",
        "message": {"text": f"{result.path}: {error}"},
        "locations": [{"physicalLocation": location}],
    }


def _directory_uri(base: Path) -> str:
    uri = Path(os.path.abspath(base)).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def sarif_log(
    results: Iterable[FileResult],
    *,
    rules: Sequence[type[Rule]],
    enabled: Collection[str],
    base: Path,
    import_edits: ImportEdits | None = None,
) -> dict[str, object]:
    """The SARIF 2.1.0 log of one ``check`` run.

    ``results`` are all the files checked, those with errors included (they become
    ``toolExecutionNotifications`` and make ``executionSuccessful`` false). ``enabled``
    holds the codes this run reported; a rule whose state differs from its default gets a
    ``ruleConfigurationOverrides`` entry. ``base`` is ``%SRCROOT%``.
    """
    index = {rule.code: position for position, rule in enumerate(rules)}
    sarif_results: list[dict[str, object]] = []
    notifications: list[dict[str, object]] = []
    for result in results:
        if result.error is not None:
            notifications.append(_notification(result, base))
            continue
        for finding in result.findings:
            sarif_results.append(
                sarif_result(result.path, finding, index[finding.code], base, import_edits)
            )
    overrides = [
        {
            "descriptor": {"id": rule.code, "index": position},
            "configuration": {"enabled": rule.code in enabled},
        }
        for position, rule in enumerate(rules)
        if (rule.code in enabled) == rule.off_by_default
    ]
    invocation: dict[str, object] = {
        "executionSuccessful": not notifications,
        "toolExecutionNotifications": notifications,
    }
    if overrides:
        invocation["ruleConfigurationOverrides"] = overrides
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "init-lint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": [sarif_rule(rule) for rule in rules],
                    }
                },
                "invocations": [invocation],
                "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(base)}},
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        ],
    }


def format_sarif(
    results: Iterable[FileResult],
    *,
    rules: Sequence[type[Rule]],
    enabled: Collection[str],
    base: Path,
    import_edits: ImportEdits | None = None,
) -> str:
    """``sarif_log`` as indented JSON, newline-terminated."""
    log = sarif_log(results, rules=rules, enabled=enabled, base=base, import_edits=import_edits)
    return json.dumps(log, indent=2) + "\n"


# --- GitHub workflow commands ---------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: the message escapes, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_path(path: str, base: Path) -> str:
    """The path GitHub matches against the repository: relative to the workspace."""
    return relative_path(path, base) or os.path.abspath(path)


def _command(kind: str, properties: Sequence[tuple[str, object]], message: str) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties)
    return f"::{kind} {props}::{escape_data(message)}\n"


def github_finding(path: str, finding: Finding, rule_names: dict[str, str], base: Path) -> str:
    """``::warning file=...,line=...,col=...,endLine=...,endColumn=...,title=...::message``."""
    name = rule_names.get(finding.code)
    title = f"{finding.code} {name}" if name else finding.code
    return _command(
        "warning",
        [
            ("file", github_path(path, base)),
            ("line", finding.start.line),
            ("col", finding.start.col + 1),
            ("endLine", finding.end.line),
            ("endColumn", finding.end.col + 1),
            ("title", title),
        ],
        finding.message,
    )


def github_error(result: FileResult, base: Path) -> str:
    """``::error file=...[,line=N]::cannot parse: ...`` for a file that could not be checked."""
    error = result.error or "could not be checked"
    properties: list[tuple[str, object]] = [("file", github_path(result.path, base))]
    line = _error_line_number(error)
    if line is not None:
        properties.append(("line", line))
    return _command("error", properties, error)


def format_github(
    results: Iterable[FileResult], *, rules: Sequence[type[Rule]], base: Path
) -> str:
    """One workflow command per finding, and one ``::error`` per file that failed."""
    names = {rule.code: rule.name for rule in rules}
    lines: list[str] = []
    for result in results:
        if result.error is not None:
            lines.append(github_error(result, base))
        lines.extend(github_finding(result.path, f, names, base) for f in result.findings)
    return "".join(lines)


# --- the closing summary --------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_line(results: Iterable[FileResult], seconds: float) -> str:
    """``checked 79 files in 1.2s: 53 findings (INI001 5, INI002 25, ...), 12 fixable``.

    ``results`` are every file checked, those that could not be checked included (they
    end the line: ``; 2 files could not be checked``). No trailing newline.
    """
    files = failed = fixable = 0
    by_code: Counter[str] = Counter()
    for result in results:
        files += 1
        if result.error is not None:
            failed += 1
        for finding in result.findings:
            by_code[finding.code] += 1
            fixable += finding.fixable
    line = f"checked {_plural(files, 'file')} in {seconds:.1f}s: "
    total = sum(by_code.values())
    if total:
        counts = ", ".join(f"{code} {count}" for code, count in sorted(by_code.items()))
        line += f"{_plural(total, 'finding')} ({counts}), {fixable} fixable"
    else:
        line += "no findings"
    if failed:
        line += f"; {_plural(failed, 'file')} could not be checked"
    return line


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

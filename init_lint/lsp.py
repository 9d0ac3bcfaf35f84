"""The language server, ``init-lint lsp``: findings as diagnostics, fixes as code actions.

A pygls server speaking LSP over stdio. It is a front end like the CLI: every finding
comes from ``engine.check_text`` (so ``# noqa`` is honoured exactly as by flake8 and the
CLI) with the settings of the project's ``[tool.init-lint]`` table (``discover_config``
from the document's path; its ``per-file-ignores`` through ``ProjectSettings.for_file``; a
file matched by ``exclude`` gets no diagnostics and no code actions), and every edit comes
from a finding's ``Fix``, as ``init-lint fix`` applies it.

What it does:

* **Diagnostics** (``textDocument/publishDiagnostics``), on ``didOpen`` and ``didSave``
  at once and on ``didChange`` after a quiet period (``DEBOUNCE_SECONDS``): each change
  cancels the check still pending for that document, and a result is published only if
  the document still holds the text it was computed from (the latest text wins); a save
  checks afresh, re-reading the configuration (as every check of a new text does). Each
  diagnostic has the rule's code, the finding's message, severity Warning, source
  ``init-lint``, and ``data`` with the rule's name, its summary and the fix (if any);
  ``textDocument/hover`` over a finding shows the rule's documentation.
* **Code actions** (``textDocument/codeAction``): a ``quickfix`` per fixable finding that
  the requested range touches (titled after the new call, e.g. ``Use
  nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")``; its diagnostic
  attached; the fix's edits plus the import lines it needs, from ``import_edits``), and
  ``source.fixAll.init-lint``, every fix of the file at once (``fixes.fix_text``'s result,
  sent as the changed lines only). Edits are addressed to the document version they were
  computed for (``documentChanges``) where the client supports it.
* **Positions**: findings count columns in code points; LSP counts them in the position
  encoding negotiated at ``initialize`` (UTF-16 code units unless the client offers
  UTF-8 or UTF-32). Lines are split where Python's tokenizer and LSP split them (``\\n``,
  ``\\r\\n``, ``\\r``). Documents are synchronized in full (each change sends the text).

Robustness: a buffer that does not parse (mid-typing) changes nothing — the diagnostics
of the last text that parsed stay until the buffer parses again, its code actions are
empty, and the reason goes to ``window/logMessage``. A ``[tool.init-lint]`` table that
cannot be used clears the file's diagnostics and is shown once (``window/showMessage``),
as the CLI refuses to run with it. Any unexpected exception is caught, logged to
``window/logMessage`` with its traceback, and the server keeps answering.

The analysis runs on one worker thread, so the server reads and answers messages while a
file is being checked. pygls is imported here only: ``init_lint.cli`` imports this module
when ``init-lint lsp`` runs (the static linter never needs pygls).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import os
import sys
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from init_lint import __version__
from init_lint.config import Config, ConfigError, discover_config, project_settings
from init_lint.engine import SourceError, check_text
from init_lint.findings import Edit, Finding, Position, line_starts
from init_lint.fixes import fix_text
from init_lint.import_edits import import_edits, line_edits
from init_lint.rules import ALL_RULES, Rule

NAME = "init-lint"
SOURCE = "init-lint"  # Diagnostic.source
FIX_ALL_KIND = "source.fixAll.init-lint"
#: How long ``didChange`` waits for the typing to pause before checking the text.
DEBOUNCE_SECONDS = 0.3

#: Line breaks as both Python's tokenizer and LSP count them.
_PYTHON_SUFFIXES = (".py", ".pyi")
_RULES: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}

T = TypeVar("T")


# --- positions ------------------------------------------------------------------------------


UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"  # LSP's position encodings


def encoding_name(value: object) -> str:
    """A position encoding as its LSP name (``PositionEncodingKind`` or a string)."""
    if isinstance(value, enum.Enum):
        value = value.value
    return value if isinstance(value, str) and value in (UTF8, UTF32) else UTF16


def _units(text: str, encoding: str) -> int:
    """The length of ``text`` in the code units of a position encoding."""
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == UTF32:
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)  # UTF-16


class LineIndex:
    """One text's lines, to convert between ``findings.Position`` (1-based lines, columns
    in code points) and LSP positions (0-based lines, columns in ``encoding`` units)."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = line_starts(text)

    def _line_end(self, line: int) -> int:
        """The offset where line ``line`` (0-based) ends, before its line break."""
        if line + 1 < len(self.starts):
            end = self.starts[line + 1]
            return end - (2 if self.text.startswith("\r\n", end - 2) else 1)
        return len(self.text)

    def offset(self, position: Position) -> int:
        """The code-point offset of a finding position (clamped to the text)."""
        line = min(max(position.line - 1, 0), len(self.starts) - 1)
        return min(self.starts[line] + max(position.col, 0), self._line_end(line))

    def offset_of(self, position: types.Position) -> int:
        """The code-point offset of an LSP position (clamped to its line, as LSP says)."""
        if position.line >= len(self.starts):
            return len(self.text)
        start, end = self.starts[position.line], self._line_end(position.line)
        units = 0
        for offset in range(start, end):
            if units >= position.character:
                return offset
            units += _units(self.text[offset], self.encoding)
        return end

    def to_lsp(self, position: Position) -> types.Position:
        """The LSP position of a finding position."""
        offset = self.offset(position)
        line = min(max(position.line - 1, 0), len(self.starts) - 1)
        prefix = self.text[self.starts[line]:offset]
        return types.Position(line=line, character=_units(prefix, self.encoding))

    def range(self, start: Position, end: Position) -> types.Range:
        return types.Range(start=self.to_lsp(start), end=self.to_lsp(end))

    def text_edit(self, edit: Edit) -> types.TextEdit:
        return types.TextEdit(range=self.range(edit.start, edit.end), new_text=edit.text)


# --- checking a document (pure; runs on the worker thread) ----------------------------------


@dataclass(frozen=True)
class Analysis:
    """The outcome of checking one text of a document.

    Exactly one of: ``findings`` (``# noqa`` and the configuration applied); ``excluded``
    (the configuration's ``exclude`` matches the file); ``error`` (the text cannot be
    parsed: a ``SourceError``); ``config_error`` (``[tool.init-lint]`` cannot be used).
    """

    findings: tuple[Finding, ...] = ()
    excluded: bool = False
    error: str | None = None
    config_error: str | None = None

    @property
    def usable(self) -> bool:
        return not self.excluded and self.error is None and self.config_error is None


def analyze_document(text: str, path: str | None, root: str | None = None) -> Analysis:
    """Check ``text``, the content of the file at ``path`` (``None``: not a file; then the
    configuration is the one above ``root``, the workspace, if any)."""
    try:
        if path is not None:
            config = discover_config([path])
        elif root is not None:
            config = discover_config([root])
        else:
            config = Config()
    except ConfigError as exc:
        return Analysis(config_error=str(exc))
    project = project_settings(config)
    if path is not None and project.is_excluded(path):
        return Analysis(excluded=True)
    settings = project.for_file(path) if path is not None else project.settings
    try:
        return Analysis(tuple(check_text(text, settings)))
    except SourceError as exc:
        return Analysis(error=exc.describe())


def diagnostic(finding: Finding, index: LineIndex) -> types.Diagnostic:
    """The LSP diagnostic of a finding."""
    rule = _RULES.get(finding.code)
    data: dict[str, object] = {
        "rule": rule.name if rule is not None else finding.code,
        "summary": rule.summary if rule is not None else "",
        "fix": finding.fix.description if finding.fix is not None else None,
    }
    if finding.fix is None and finding.note:
        data["unfixable"] = finding.note
    return types.Diagnostic(
        range=index.range(finding.start, finding.end),
        message=finding.message,
        severity=types.DiagnosticSeverity.Warning,
        code=finding.code,
        source=SOURCE,
        data=data,
    )


def rule_documentation(code: str) -> str:
    """Markdown for a hover: the rule's code, name, and documentation."""
    rule = _RULES.get(code)
    if rule is None:
        return f"**{code}**"
    body = inspect.cleandoc(rule.__doc__ or rule.summary)
    return (f"**{rule.code}** `{rule.name}`: {rule.summary}\n\n{body}\n\n"
            f"(`init-lint explain {rule.code}` shows examples)")


def _kind_wanted(kind: str, only: Sequence[str] | None) -> bool:
    """Whether an action of ``kind`` answers a request restricted to ``only``."""
    if not only:
        return True
    return any(kind == wanted or kind.startswith(wanted + ".") for wanted in only)


def _title(description: str) -> str:
    return description[:1].upper() + description[1:]


@dataclass(frozen=True)
class ActionRequest:
    """What a code action request asks for, in the document's terms."""

    uri: str
    version: int | None
    text: str
    start: types.Position
    end: types.Position
    only: tuple[str, ...] | None = None
    encoding: str = UTF16
    document_changes: bool = True


def code_actions(request: ActionRequest, findings: Sequence[Finding]) -> list[types.CodeAction]:
    """The quick fixes of the fixable findings the range touches, then the fix-all."""
    index = LineIndex(request.text, request.encoding)
    low, high = sorted((index.offset_of(request.start), index.offset_of(request.end)))
    actions: list[types.CodeAction] = []

    def workspace_edit(edits: Sequence[Edit]) -> types.WorkspaceEdit:
        text_edits = [index.text_edit(edit) for edit in edits]
        if request.document_changes:
            identifier = types.OptionalVersionedTextDocumentIdentifier(
                uri=request.uri, version=request.version)
            return types.WorkspaceEdit(document_changes=[
                types.TextDocumentEdit(text_document=identifier, edits=list(text_edits))])
        return types.WorkspaceEdit(changes={request.uri: text_edits})

    if _kind_wanted(types.CodeActionKind.QuickFix, request.only):
        for finding in findings:
            fix = finding.fix
            if fix is None:
                continue
            start, end = index.offset(finding.start), index.offset(finding.end)
            if start > high or end < low:
                continue
            if not fix_text(request.text, [finding]).changed:  # would not parse: no offer
                continue
            # Import lines first: an insertion at a line start precedes a fix edit there.
            edits = [*import_edits(request.text, fix.imports), *fix.edits]
            actions.append(types.CodeAction(
                title=_title(fix.description),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic(finding, index)],
                is_preferred=True,
                edit=workspace_edit(edits),
            ))
    if _kind_wanted(FIX_ALL_KIND, request.only) and any(f.fixable for f in findings):
        fixed = fix_text(request.text, findings)
        if fixed.changed:
            count = len(fixed.applied)
            actions.append(types.CodeAction(
                title=f"Fix all init-lint findings ({count} fix{'es' if count > 1 else ''})",
                kind=FIX_ALL_KIND,
                diagnostics=[diagnostic(finding, index) for finding in fixed.applied],
                edit=workspace_edit(line_edits(request.text, fixed.text)),
            ))
    return actions


# --- the server -----------------------------------------------------------------------------


P = TypeVar("P")
R = TypeVar("R")


def _plain(method: Callable[[P], None]) -> Callable[[P], None]:
    def handler(params: P) -> None:
        method(params)

    return handler


def _plain_async(method: Callable[[P], Awaitable[R]]) -> Callable[[P], Coroutine[Any, Any, R]]:
    async def handler(params: P) -> R:
        return await method(params)

    return handler


@dataclass
class _Checked:
    """The last analysis of a document, and the text and version it is for."""

    version: int | None
    text: str
    analysis: Analysis


@dataclass
class _DocumentState:
    pending: asyncio.Task[None] | None = None  # the debounced check, if one is on its way
    latest: _Checked | None = None  # the newest analysis, whatever its outcome
    shown_config_error: str | None = None


@dataclass
class _Snapshot:
    uri: str
    version: int | None
    text: str
    path: str | None
    state: _DocumentState = field(repr=False)


class InitLintServer(LanguageServer):
    """The init-lint language server (create it with ``create_server``)."""

    def __init__(self, debounce: float = DEBOUNCE_SECONDS) -> None:
        super().__init__(NAME, __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.debounce = debounce
        self.documents: dict[str, _DocumentState] = {}
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="init-lint")
        # pygls marks each handler with attributes, which a bound method cannot take:
        # register plain functions that call the methods.
        self.feature(types.TEXT_DOCUMENT_DID_OPEN)(_plain(self.did_open))
        self.feature(types.TEXT_DOCUMENT_DID_CHANGE)(_plain(self.did_change))
        self.feature(types.TEXT_DOCUMENT_DID_SAVE)(_plain(self.did_save))
        self.feature(types.TEXT_DOCUMENT_DID_CLOSE)(_plain(self.did_close))
        self.feature(
            types.TEXT_DOCUMENT_CODE_ACTION,
            types.CodeActionOptions(
                code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND],
                resolve_provider=False,
            ),
        )(_plain_async(self.code_action))
        self.feature(types.TEXT_DOCUMENT_HOVER)(_plain_async(self.hover))
        self.feature(types.SHUTDOWN)(_plain(self.on_shutdown))
        self.shut_down = False  # the client asked for ``shutdown`` (then ``exit`` is clean)

    # -- helpers ----------------------------------------------------------------------------

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        try:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))
        except Exception:  # noqa: BLE001 - the client went away: nothing left to tell
            pass

    def log_exception(self, doing: str) -> None:
        self.log(f"init-lint: internal error while {doing} (please report this as an "
                 f"init-lint bug):\n{traceback.format_exc()}", types.MessageType.Error)

    def _encoding(self) -> str:
        return encoding_name(self.workspace.position_encoding)

    def _open_document(self, uri: str) -> TextDocument | None:
        document: TextDocument | None = self.workspace.text_documents.get(unquote(uri))
        return document

    @staticmethod
    def _is_python(document: TextDocument) -> bool:
        if document.language_id:
            return document.language_id == "python"
        return document.uri.endswith(_PYTHON_SUFFIXES)

    def _snapshot(self, uri: str) -> _Snapshot | None:
        """The open Python document at ``uri`` as it is now (``None``: not ours to check)."""
        document = self._open_document(uri)
        if document is None or not self._is_python(document):
            return None
        state = self.documents.setdefault(uri, _DocumentState())
        return _Snapshot(uri, document.version, document.source, to_fs_path(uri), state)

    def _is_current(self, snapshot: _Snapshot) -> bool:
        document = self._open_document(snapshot.uri)
        return (document is not None and document.version == snapshot.version
                and document.source == snapshot.text
                and self.documents.get(snapshot.uri) is snapshot.state)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(function, *args))

    async def _analysis(self, snapshot: _Snapshot, *, fresh: bool = False) -> Analysis:
        """The analysis of the snapshot's text: the last one if it is for this text (unless
        ``fresh``: after a save, the configuration may have changed)."""
        latest = snapshot.state.latest
        if not fresh and latest is not None and latest.version == snapshot.version \
                and latest.text == snapshot.text:
            return latest.analysis
        root = self.workspace.root_path
        analysis = await self._run(analyze_document, snapshot.text, snapshot.path,
                                   root if isinstance(root, str) else None)
        if self._is_current(snapshot):
            snapshot.state.latest = _Checked(snapshot.version, snapshot.text, analysis)
        return analysis

    # -- diagnostics ------------------------------------------------------------------------

    def schedule(self, uri: str, delay: float, *, fresh: bool = False) -> None:
        """Check the document after ``delay`` seconds, cancelling a check still pending
        (``fresh``: even if its text was checked already)."""
        state = self.documents.setdefault(uri, _DocumentState())
        if state.pending is not None:
            state.pending.cancel()
        state.pending = asyncio.get_running_loop().create_task(
            self._check_later(uri, delay, fresh=fresh))

    async def _check_later(self, uri: str, delay: float, *, fresh: bool = False) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            snapshot = self._snapshot(uri)
            if snapshot is None:
                return
            analysis = await self._analysis(snapshot, fresh=fresh)
            if self._is_current(snapshot):  # else a newer text has its own check coming
                self.publish(snapshot, analysis)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bug must not take the server down
            self.log_exception(f"checking {uri}")

    def publish(self, snapshot: _Snapshot, analysis: Analysis) -> None:
        """Publish the diagnostics of an analysis (an unparsable text publishes nothing)."""
        name = snapshot.path or snapshot.uri
        if analysis.error is not None:
            self.log(f"init-lint: {name}: {analysis.error}; keeping the diagnostics of the "
                     "last text that parsed")
            return
        diagnostics: list[types.Diagnostic] = []
        if analysis.config_error is not None:
            if snapshot.state.shown_config_error != analysis.config_error:
                snapshot.state.shown_config_error = analysis.config_error
                self.window_show_message(types.ShowMessageParams(
                    type=types.MessageType.Error, message=f"init-lint: {analysis.config_error}"))
            self.log(f"init-lint: {analysis.config_error}", types.MessageType.Error)
        else:
            snapshot.state.shown_config_error = None
            index = LineIndex(snapshot.text, self._encoding())
            diagnostics = [diagnostic(finding, index) for finding in analysis.findings]
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=snapshot.uri, version=snapshot.version, diagnostics=diagnostics))

    def did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        try:
            self.schedule(params.text_document.uri, 0)
        except Exception:  # noqa: BLE001
            self.log_exception("opening a document")

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        try:
            self.schedule(params.text_document.uri, self.debounce)
        except Exception:  # noqa: BLE001
            self.log_exception("handling a change")

    def did_save(self, params: types.DidSaveTextDocumentParams) -> None:
        try:
            uri = params.text_document.uri
            if unquote(uri).endswith("/pyproject.toml"):  # the configuration may have changed
                for open_uri in list(self.documents):
                    self.schedule(open_uri, 0, fresh=True)
            else:
                self.schedule(uri, 0, fresh=True)
        except Exception:  # noqa: BLE001
            self.log_exception("handling a save")

    def did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        try:
            uri = params.text_document.uri
            state = self.documents.pop(uri, None)
            if state is not None:
                if state.pending is not None:
                    state.pending.cancel()
                self.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        except Exception:  # noqa: BLE001
            self.log_exception("closing a document")

    # -- code actions, hover ----------------------------------------------------------------

    async def code_action(self, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        try:
            snapshot = self._snapshot(params.text_document.uri)
            if snapshot is None:
                return None
            analysis = await self._analysis(snapshot)
            if not analysis.usable or not any(f.fixable for f in analysis.findings):
                return []
            document_changes = bool(get_capability(
                self.client_capabilities, "workspace.workspace_edit.document_changes", False))
            request = ActionRequest(
                uri=snapshot.uri, version=snapshot.version, text=snapshot.text,
                start=params.range.start, end=params.range.end,
                only=tuple(params.context.only) if params.context.only else None,
                encoding=self._encoding(), document_changes=document_changes,
            )
            return await self._run(code_actions, request, analysis.findings)
        except Exception:  # noqa: BLE001 - answer, log, keep serving
            self.log_exception("computing code actions")
            return None

    async def hover(self, params: types.HoverParams) -> types.Hover | None:
        try:
            snapshot = self._snapshot(params.text_document.uri)
            if snapshot is None:
                return None
            analysis = await self._analysis(snapshot)
            index = LineIndex(snapshot.text, self._encoding())
            offset = index.offset_of(params.position)
            found = [f for f in analysis.findings
                     if index.offset(f.start) <= offset <= index.offset(f.end)]
            if not found:
                return None
            parts = [rule_documentation(code) for code in dict.fromkeys(f.code for f in found)]
            return types.Hover(
                contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                             value="\n\n---\n\n".join(parts)),
                range=index.range(found[0].start, found[0].end),
            )
        except Exception:  # noqa: BLE001
            self.log_exception("computing a hover")
            return None


    def on_shutdown(self, params: None) -> None:
        self.shut_down = True
        for state in self.documents.values():
            if state.pending is not None:
                state.pending.cancel()


def create_server(debounce: float = DEBOUNCE_SECONDS) -> InitLintServer:
    """A new server; ``create_server().start_io()`` serves stdin/stdout until ``exit``."""
    return InitLintServer(debounce=debounce)


def main() -> int:
    """Serve LSP over stdin/stdout (``init-lint lsp``) until ``exit`` or the end of input.

    Returns 0 after ``shutdown`` then ``exit``, else 1 (as LSP prescribes for an ``exit``
    without ``shutdown``, and for a client that vanished).
    """
    server = create_server()
    try:
        server.start_io()
    finally:
        server.executor.shutdown(wait=False, cancel_futures=True)
        if sys.stdout is None or sys.stdout.closed:  # pygls closes it on ``exit``
            sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    return 0 if server.shut_down else 1

"""The language server end to end: a real LSP client process driving ``init-lint lsp``.

Every test here talks JSON-RPC over the stdio of a real server process (``python -m
init_lint lsp``) through pytest-lsp's client, which declares VS Code's capabilities
(UTF-16 positions, ``documentChanges``, code action literals). Edits the server returns
are applied by ``apply_workspace_edit`` below, written independently of the server's own
position code. A few pure tests of the position conversion come last.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from _support import FIXTURES, PYTHON, run  # noqa: E402
from lsprotocol import types  # noqa: E402
from pygls.protocol import default_converter  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features  # noqa: E402

from init_lint.engine import Settings, check_text  # noqa: E402
from init_lint.fixes import fix_text  # noqa: E402
from init_lint.lsp import DEBOUNCE_SECONDS, FIX_ALL_KIND, LineIndex  # noqa: E402

SERVER = [PYTHON, "-m", "init_lint", "lsp"]
XAVIER_RELU = (FIXTURES / "mlp_xavier_before_relu.py").read_text(encoding="utf-8")
WAIT = 10.0  # seconds: generous bound for anything the server should do "soon"


# --- the client -----------------------------------------------------------------------------


class RecordingClient(LanguageClient):
    """pytest-lsp's client, also keeping every publishDiagnostics (with its version)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.published: list[types.PublishDiagnosticsParams] = []
        self.initialized_with: types.InitializeResult | None = None


def _record_diagnostics(client: RecordingClient, params: types.PublishDiagnosticsParams) -> None:
    client.diagnostics[params.uri] = params.diagnostics
    client.published.append(params)


def make_client() -> RecordingClient:
    client = RecordingClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _record_diagnostics
    register_lsp_features(client, features)
    return client


async def start(client: RecordingClient) -> None:
    client.initialized_with = await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=None,
    ))


# One server for the module (each test opens its own documents); the fixture's value is
# the client, connected and initialized.
@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER, client_factory=make_client),
                    scope="module")
async def client(lsp_client: RecordingClient) -> AsyncIterator[None]:
    await start(lsp_client)
    yield
    await lsp_client.shutdown_session()


#: A server whose analysis always raises: every handler must log and go on answering.
BROKEN_SERVER = [PYTHON, "-c", textwrap.dedent("""
    import sys
    import init_lint.lsp as lsp

    def analyze_document(*args):
        raise RuntimeError("simulated bug in the analysis")

    lsp.analyze_document = analyze_document
    from init_lint.cli import main
    sys.exit(main(["lsp"]))
""")]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=BROKEN_SERVER,
                                              client_factory=make_client),
                    loop_scope="module")
async def broken_client(lsp_client: RecordingClient) -> AsyncIterator[None]:
    await start(lsp_client)
    yield
    await lsp_client.shutdown_session()


#: The end-to-end tests share the module's event loop (and its server).
module_loop = pytest.mark.asyncio(loop_scope="module")


# --- helpers --------------------------------------------------------------------------------


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path.as_uri()


def open_document(client: RecordingClient, uri: str, text: str, version: int = 1) -> None:
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=version,
                                             text=text)))


def change_document(client: RecordingClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))


async def published(client: RecordingClient, uri: str, version: int | None,
                    timeout: float = WAIT) -> list[types.Diagnostic]:
    """The diagnostics published for ``uri`` at ``version`` (waiting for them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for params in reversed(client.published):
            if params.uri == uri and params.version == version:
                return list(params.diagnostics)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics for {uri} version {version} within {timeout} s")


async def actions_at(client: RecordingClient, uri: str, where: types.Range,
                     only: Sequence[str] | None = None) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=where,
        context=types.CodeActionContext(diagnostics=[], only=list(only) if only else None),
    ))
    assert result is not None
    actions = [action for action in result if isinstance(action, types.CodeAction)]
    assert len(actions) == len(result), "commands returned instead of code actions"
    return actions


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def lines_of(text: str) -> list[str]:
    """Lines with their breaks, split where LSP splits them (\\n, \\r\\n, \\r)."""
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


def to_offset(text: str, position: types.Position) -> int:
    """The string index of an LSP position (UTF-16 columns) in ``text``."""
    lines = lines_of(text)
    if position.line >= len(lines):
        return len(text)
    start = sum(len(line) for line in lines[: position.line])
    line = lines[position.line].rstrip("\r\n")
    units = 0
    for index, char in enumerate(line):
        if units >= position.character:
            return start + index
        units += utf16_length(char)
    return start + len(line)


def apply_text_edits(text: str, edits: Sequence[types.TextEdit]) -> str:
    """Apply LSP text edits as an editor does: all against the original text, no overlap,
    inserts at one position in the order given."""
    spans = sorted(((to_offset(text, edit.range.start), to_offset(text, edit.range.end), order,
                     edit.new_text) for order, edit in enumerate(edits)))
    for (_, end, _, _), (start, _, _, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"overlapping edits: {edits}"
    for start, end, _, new_text in reversed(spans):
        text = text[:start] + new_text + text[end:]
    return text


def apply_workspace_edit(text: str, edit: types.WorkspaceEdit | None, uri: str,
                         version: int | None) -> str:
    assert edit is not None
    edits: list[types.TextEdit] = []
    for change in edit.document_changes or ():
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.uri == uri
        assert change.text_document.version == version
        edits.extend(e for e in change.edits if isinstance(e, types.TextEdit))
    for changed_uri, text_edits in (edit.changes or {}).items():
        assert changed_uri == uri
        edits.extend(text_edits)
    assert edits
    return apply_text_edits(text, edits)


def codes_and_lines(diagnostics: Sequence[types.Diagnostic]) -> list[tuple[Any, int]]:
    return sorted((d.code, d.range.start.line) for d in diagnostics)


def call_range(text: str, line: int, needle: str) -> types.Range:
    """The LSP range of ``needle`` on 0-based ``line``: up to its closing parenthesis."""
    source = text.splitlines()[line]
    start = source.index(needle)
    end = source.index(")", start) + 1
    return types.Range(
        start=types.Position(line=line, character=utf16_length(source[:start])),
        end=types.Position(line=line, character=utf16_length(source[:end])),
    )


# --- end to end -----------------------------------------------------------------------------


@module_loop
async def test_initialize_advertises_what_the_server_does(client: RecordingClient) -> None:
    result = client.initialized_with
    assert result is not None and result.server_info is not None
    assert result.server_info.name == "init-lint"
    capabilities = result.capabilities
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf16
    sync = capabilities.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Full and sync.open_close and sync.save
    actions = capabilities.code_action_provider
    assert isinstance(actions, types.CodeActionOptions)
    assert list(actions.code_action_kinds or ()) == [types.CodeActionKind.QuickFix, FIX_ALL_KIND]
    assert capabilities.hover_provider
    # A document the client never opened has nothing to offer (and is no error).
    nowhere = types.Range(start=types.Position(line=0, character=0),
                          end=types.Position(line=0, character=0))
    result_actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri="file:///nowhere/not_open.py"),
        range=nowhere, context=types.CodeActionContext(diagnostics=[])))
    assert not result_actions


@module_loop
async def test_open_diagnose_quickfix_and_the_finding_is_gone(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = XAVIER_RELU
    uri = write(tmp_path_factory.mktemp("quickfix") / "mlp.py", text)
    open_document(client, uri, text)
    diagnostics = await published(client, uri, 1)

    lines = text.splitlines()
    expected = [i for i, line in enumerate(lines) if "# expect: INI002" in line]
    assert codes_and_lines(diagnostics) == [("INI002", i) for i in expected]
    first = diagnostics[0]
    assert first.range == call_range(text, expected[0], "nn.init.xavier_uniform_")
    assert first.severity == types.DiagnosticSeverity.Warning
    assert first.source == "init-lint"
    assert "ReLU" in first.message and not first.message.startswith("INI002")
    assert isinstance(first.data, dict) and first.data["rule"] == "scheme-activation-mismatch"

    # The cursor anywhere in the call (an empty range) is enough.
    cursor = types.Position(line=expected[0], character=first.range.start.character + 5)
    actions = await actions_at(client, uri, types.Range(start=cursor, end=cursor))
    quickfixes = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    assert [a.title for a in quickfixes] == [
        'Use nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")']
    fix = quickfixes[0]
    assert fix.diagnostics is not None and [d.code for d in fix.diagnostics] == ["INI002"]
    assert fix.diagnostics[0].range == first.range
    assert [a.kind for a in actions].count(FIX_ALL_KIND) == 1

    edited = apply_workspace_edit(text, fix.edit, uri, 1)
    assert 'nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")' in edited
    assert edited.count("xavier_uniform_(self.fc2.weight)") == 1  # the other one untouched
    change_document(client, uri, edited, 2)
    after = await published(client, uri, 2)
    assert codes_and_lines(after) == [("INI002", expected[1])]


@module_loop
async def test_quickfix_adds_the_import_it_needs(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = (FIXTURES / "fix_adds_init_import.py").read_text(encoding="utf-8")
    uri = write(tmp_path_factory.mktemp("imports") / "regressor.py", text)
    open_document(client, uri, text)
    [finding] = await published(client, uri, 1)
    actions = await actions_at(client, uri, finding.range,
                               only=[types.CodeActionKind.QuickFix])
    assert [a.kind for a in actions] == [types.CodeActionKind.QuickFix]
    edited = apply_workspace_edit(text, actions[0].edit, uri, 1)
    expected = fix_text(text, check_text(text, Settings()))
    assert expected.changed and edited == expected.text
    assert edited == (FIXTURES / "fixed" / "fix_adds_init_import.py").read_text(encoding="utf-8")
    change_document(client, uri, edited, 2)
    assert await published(client, uri, 2) == []


@module_loop
async def test_a_quickfix_of_several_edits_applies_them_all(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # A fix through the apply sites: the init function's call and one statement after each
    # of the two .apply(fn) lines, three edits of one quick fix, applied by the client.
    name = "rl_shared_init_fn_two_networks.py"
    text = (FIXTURES / name).read_text(encoding="utf-8")
    uri = write(tmp_path_factory.mktemp("multi") / name, text)
    open_document(client, uri, text)
    [finding] = await published(client, uri, 1)
    actions = await actions_at(client, uri, finding.range,
                               only=[types.CodeActionKind.QuickFix])
    [action] = actions
    assert action.edit is not None
    [document_edit] = action.edit.document_changes or ()
    assert isinstance(document_edit, types.TextDocumentEdit) and len(document_edit.edits) == 3
    edited = apply_workspace_edit(text, action.edit, uri, 1)
    assert edited == (FIXTURES / "fixed" / name).read_text(encoding="utf-8")
    change_document(client, uri, edited, 2)
    assert await published(client, uri, 2) == []


@module_loop
async def test_non_ascii_line_gets_utf16_columns(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Before the call on its line: a 1-unit non-ASCII letter and a 2-unit emoji
    # (astral plane), so code points, UTF-16 units and bytes all differ.
    target = "        nn.init.xavier_uniform_(self.fc1.weight)  # expect: INI002"
    text = XAVIER_RELU.replace(
        target, '        é = "😀🙂"; nn.init.xavier_uniform_(self.fc1.weight)  # ünïcode')
    assert text != XAVIER_RELU
    uri = write(tmp_path_factory.mktemp("unicode") / "mlp_unicode.py", text)
    open_document(client, uri, text)
    diagnostics = await published(client, uri, 1)
    line = next(i for i, source in enumerate(text.splitlines()) if "😀" in source)
    flagged = next(d for d in diagnostics if d.range.start.line == line)
    source = text.splitlines()[line]
    assert flagged.range.start.character == utf16_length(source[: source.index("nn.init")])
    assert flagged.range.start.character == source.index("nn.init") + 2  # the emoji pair
    assert flagged.range == call_range(text, line, "nn.init.xavier_uniform_")

    actions = await actions_at(client, uri, flagged.range,
                               only=[types.CodeActionKind.QuickFix])
    edited = apply_workspace_edit(text, actions[0].edit, uri, 1)
    assert edited.splitlines()[line] == (
        '        é = "😀🙂"; nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")'
        "  # ünïcode")

    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=flagged.range.end))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "INI002" in hover.contents.value and "scheme-activation-mismatch" in hover.contents.value
    assert hover.range == flagged.range


@module_loop
@pytest.mark.parametrize("fixture", ["cifar_deprecated_xavier_no_underscore.py",
                                     "fix_adds_init_import.py"])
async def test_fix_all_equals_the_fixer(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory,
    fixture: str,
) -> None:
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    uri = write(tmp_path_factory.mktemp("fixall") / fixture, text)
    open_document(client, uri, text)
    diagnostics = await published(client, uri, 1)
    assert diagnostics
    everything = types.Range(start=types.Position(line=0, character=0),
                             end=types.Position(line=len(text.splitlines()), character=0))
    actions = await actions_at(client, uri, everything, only=["source.fixAll"])
    assert [a.kind for a in actions] == [FIX_ALL_KIND]
    edited = apply_workspace_edit(text, actions[0].edit, uri, 1)
    assert edited == fix_text(text, check_text(text, Settings())).text
    change_document(client, uri, edited, 2)
    assert await published(client, uri, 2) == []


@module_loop
async def test_broken_code_keeps_diagnostics_and_the_server_answers(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = XAVIER_RELU
    uri = write(tmp_path_factory.mktemp("broken") / "mlp.py", text)
    open_document(client, uri, text)
    good = await published(client, uri, 1)
    assert len(good) == 2
    logged = len(client.log_messages)

    broken = text.replace("    def forward(self, x", "    def forward(self, x:, ", 1)
    assert broken != text
    change_document(client, uri, broken, 2)
    deadline = time.monotonic() + WAIT
    while not any("cannot parse" in m.message for m in client.log_messages[logged:]):
        assert time.monotonic() < deadline, "the parse error was not logged"
        await asyncio.sleep(0.02)
    # Nothing published for the broken text: the last good diagnostics stay.
    assert not [p for p in client.published if p.uri == uri and p.version == 2]
    assert list(client.diagnostics[uri]) == good

    # Still answering: code actions (none for a broken buffer), a hover.
    assert await actions_at(client, uri, good[0].range) == []
    hover = await client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=good[0].range.start))
    assert hover is None
    assert client._server is not None and client._server.returncode is None

    # Typing on: the buffer parses again and gets its diagnostics.
    repaired = broken.replace("x:, ", "x").replace(
        "nn.init.xavier_uniform_(self.fc1.weight)", "nn.init.kaiming_uniform_(self.fc1.weight)")
    change_document(client, uri, repaired, 3)
    assert len(await published(client, uri, 3)) == 1

    client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    await published(client, uri, None)
    assert not client.diagnostics[uri]


@module_loop
async def test_noqa_is_honoured(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    text = XAVIER_RELU.replace(
        "nn.init.xavier_uniform_(self.fc1.weight)  # expect: INI002",
        "nn.init.xavier_uniform_(self.fc1.weight)  # noqa: INI002")
    uri = write(tmp_path_factory.mktemp("noqa") / "mlp.py", text)
    open_document(client, uri, text)
    diagnostics = await published(client, uri, 1)
    line = next(i for i, s in enumerate(text.splitlines()) if "self.fc2.weight)" in s
                and "xavier" in s)
    assert codes_and_lines(diagnostics) == [("INI002", line)]


@module_loop
async def test_project_configuration_is_honoured(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = tmp_path_factory.mktemp("project")
    (project / "pyproject.toml").write_text(textwrap.dedent("""
        [project]
        name = "demo"

        [tool.init-lint]
        exclude = ["legacy"]
        per-file-ignores = { "scripts/*" = ["INI002"] }
    """), encoding="utf-8")
    ignoring = tmp_path_factory.mktemp("ignoring")
    (ignoring / "pyproject.toml").write_text('[tool.init-lint]\nignore = ["INI002"]\n',
                                             encoding="utf-8")
    cases = {
        write(project / "models" / "mlp.py", XAVIER_RELU): 2,  # the control
        write(project / "legacy" / "mlp.py", XAVIER_RELU): 0,  # exclude
        write(project / "scripts" / "mlp.py", XAVIER_RELU): 0,  # per-file-ignores
        write(ignoring / "pkg" / "mlp.py", XAVIER_RELU): 0,  # ignore, found walking up
    }
    for uri in cases:
        open_document(client, uri, XAVIER_RELU)
    for uri, count in cases.items():
        diagnostics = await published(client, uri, 1)
        assert len(diagnostics) == count, uri
        if not count:
            assert await actions_at(client, uri, call_range(XAVIER_RELU, 17, "nn.init")) \
                == []


@module_loop
async def test_save_checks_again_with_the_configuration_as_it_is_now(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = tmp_path_factory.mktemp("saved")
    uri = write(project / "mlp.py", XAVIER_RELU)
    open_document(client, uri, XAVIER_RELU)
    assert len(await published(client, uri, 1)) == 2
    seen = len(client.published)
    (project / "pyproject.toml").write_text('[tool.init-lint]\nignore = ["INI002"]\n',
                                            encoding="utf-8")
    client.text_document_did_save(types.DidSaveTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))
    deadline = time.monotonic() + WAIT
    while not [p for p in client.published[seen:] if p.uri == uri]:
        assert time.monotonic() < deadline, "nothing published after the save"
        await asyncio.sleep(0.01)
    again = next(p for p in client.published[seen:] if p.uri == uri)
    assert again.version == 1 and not again.diagnostics


@module_loop
async def test_a_burst_of_changes_is_debounced_and_the_last_text_wins(
    client: RecordingClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    uri = write(tmp_path_factory.mktemp("burst") / "mlp.py", XAVIER_RELU)
    open_document(client, uri, XAVIER_RELU)
    base = await published(client, uri, 1)
    base_lines = [d.range.start.line for d in base]
    before = len(client.published)

    # 100 edits as fast as the client can send them: each adds a line at the top, and
    # from the 50th on the first finding is fixed.
    for version in range(2, 102):
        added = version - 1
        text = "# typing...\n" * added + XAVIER_RELU
        if version >= 50:
            text = text.replace("nn.init.xavier_uniform_(self.fc1.weight)",
                                'nn.init.kaiming_uniform_(self.fc1.weight, nonlinearity="relu")')
        change_document(client, uri, text, version)
    sent = time.monotonic()
    cursor = types.Position(line=0, character=0)
    answered = await asyncio.wait_for(
        actions_at(client, uri, types.Range(start=cursor, end=cursor)), timeout=WAIT)
    elapsed = time.monotonic() - sent
    assert elapsed < 1.0, f"the server took {elapsed:.2f} s to answer after the burst"
    assert answered == [a for a in answered if a.kind == FIX_ALL_KIND]  # nothing at line 0

    final = await published(client, uri, 101)
    assert [d.range.start.line for d in final] == [base_lines[1] + 100]
    burst = [p for p in client.published[before:] if p.uri == uri]
    assert len(burst) < 10, [p.version for p in burst]  # debounced, not one per keystroke
    assert burst[-1].version == 101
    assert client._server is not None and client._server.returncode is None


@module_loop
async def test_an_internal_error_is_logged_and_the_server_keeps_answering(
    broken_client: RecordingClient, tmp_path: Path
) -> None:
    uri = write(tmp_path / "mlp.py", XAVIER_RELU)
    open_document(broken_client, uri, XAVIER_RELU)
    deadline = time.monotonic() + WAIT
    while not any("simulated bug" in m.message for m in broken_client.log_messages):
        assert time.monotonic() < deadline, "the internal error was not logged"
        await asyncio.sleep(0.02)
    error = next(m for m in broken_client.log_messages if "simulated bug" in m.message)
    assert error.type == types.MessageType.Error and "Traceback" in error.message
    where = call_range(XAVIER_RELU, 17, "nn.init")
    result = await broken_client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=where,
        context=types.CodeActionContext(diagnostics=[])))
    assert result is None
    change_document(broken_client, uri, XAVIER_RELU + "\n", 2)
    await asyncio.sleep(DEBOUNCE_SECONDS + 0.3)
    assert await broken_client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=where.start)) is None
    assert broken_client._server is not None and broken_client._server.returncode is None


# --- the command, without pygls -------------------------------------------------------------


def test_static_path_does_not_import_pygls() -> None:
    model = str(FIXTURES / "mlp_xavier_before_relu.py")
    code = textwrap.dedent(f"""
        import sys
        import init_lint.engine, init_lint.cli, init_lint.fixes
        from init_lint.cli import main
        assert main(["rules"]) == 0
        assert main(["check", "-q", "-j", "1", {model!r}]) == 1
        loaded = sorted(m for m in ("pygls", "lsprotocol", "init_lint.lsp") if m in sys.modules)
        assert not loaded, loaded
    """)
    result = run([PYTHON, "-c", code])
    assert result.returncode == 0, result.stdout + result.stderr


def test_lsp_without_pygls_says_what_to_install() -> None:
    code = textwrap.dedent("""
        import sys
        sys.modules["pygls"] = None  # as if it were not installed
        from init_lint.cli import main
        sys.exit(main(["lsp"]))
    """)
    result = run([PYTHON, "-c", code])
    assert result.returncode == 2, result.stdout + result.stderr
    assert 'pip install "init-lint[lsp]"' in result.stderr
    assert result.stdout == ""


def test_lsp_is_a_listed_command() -> None:
    result = run([*SERVER[:-1], "lsp", "--help"])
    assert result.returncode == 0 and "stdin" in result.stdout


# --- positions (pure) -----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_columns_in_each_position_encoding(encoding: str) -> None:
    from init_lint.findings import Position

    text = "a = 1\r\nx = 'é😀'; y\rz\n"
    index = LineIndex(text, encoding)
    # "y" sits after `x = 'é😀'; ` : 10 code points, 11 UTF-16 units, 14 UTF-8 bytes.
    line = "x = 'é😀'; y"
    start = line.index("y")
    lsp_position = index.to_lsp(Position(2, start))
    assert lsp_position.line == 1
    assert lsp_position.character == {"utf-16": 11, "utf-8": 14, "utf-32": 10}[encoding]
    assert index.offset_of(lsp_position) == text.index("y")
    # A position past the line's end is clamped to the line (before its break).
    assert index.offset_of(types.Position(line=1, character=999)) == text.index("\rz")
    assert index.offset_of(types.Position(line=2, character=0)) == text.index("z")
    assert index.offset_of(types.Position(line=9, character=0)) == len(text)


def test_the_server_conversion_agrees_with_the_test_applier() -> None:
    text = "é😀 = 1\nabc\n"
    index = LineIndex(text)
    position = types.Position(line=0, character=3)  # after é and the emoji's two units
    assert index.offset_of(position) == to_offset(text, position) == 2
    insert = types.TextEdit(range=types.Range(start=position, end=position), new_text="_")
    assert apply_text_edits(text, [insert]) == "é😀_ = 1\nabc\n"

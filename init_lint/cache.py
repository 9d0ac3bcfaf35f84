"""The result cache of ``init-lint check``: a file's result, keyed by what decides it.

A file's ``FileResult`` (its findings with their fixes and notes, or its ``cannot parse``
line) depends only on its bytes, on the tool (init-lint's version and static-side source,
the Python, libcst and flake8 versions) and on the settings (the enabled codes and the
thresholds). The cache stores it under a hash of exactly these, so a warm re-run reads
each file, hashes it and looks it up, without decoding or parsing anything. A file
rewritten by ``init-lint fix`` (or by anyone) has new bytes and so a new key: entries never
go stale, they only stop being asked for.

Layout, in the cache directory (default ``.init-lint-cache`` in the current directory)::

    CACHEDIR.TAG                    marks the folder as a cache (backup tools skip it)
    .gitignore                      "*": never committed, whatever the project ignores
    v1-<tool fingerprint>/          one folder per tool version; unused ones are pruned
        <2 hex>/<30 hex>.json       one entry per (bytes, settings)

Safe with worker processes and concurrent runs: an entry is written to a temporary file in
its folder and moved into place with ``os.replace`` (atomic), so a reader sees a whole
entry or none. An entry that cannot be read or decoded (truncated, corrupt, of another
layout) is a miss and is overwritten. A cache that cannot be written never fails a run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from init_lint import __version__, engine
from init_lint.engine import FileResult, Settings
from init_lint.findings import Edit, Finding, Fix, Position
from init_lint.rules import ALL_RULES

#: The default cache directory, relative to the current directory.
DEFAULT_DIRECTORY = ".init-lint-cache"

#: The layout of entries; bump it when it changes.
FORMAT = 1

#: Tool folders not used for this long are deleted when a run opens the cache.
PRUNE_AFTER_SECONDS = 30 * 24 * 3600

_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by init-lint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
_LAST_USED = "last-used"


class CacheError(Exception):
    """The cache directory cannot be used (``str()``: one line saying why)."""


# --- what decides a result --------------------------------------------------------------


def _dependency_versions() -> str:
    try:
        from libcst._version import __version__ as libcst_version
    except ImportError:  # pragma: no cover - a libcst without the module
        from importlib.metadata import version

        libcst_version = version("libcst")
    import flake8  # its noqa syntax decides which findings are silenced

    return f"libcst {libcst_version}, flake8 {flake8.__version__}"


@functools.lru_cache(maxsize=1)
def tool_fingerprint() -> str:
    """A hash of everything in the tool that can change a result.

    init-lint's version and the source of its static side (so an editable install being
    worked on never serves results of older code), the Python that runs it (its parser
    decides syntax errors) and the versions of libcst and flake8.
    """
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{FORMAT}\0{__version__}\0{sys.version}\0{_dependency_versions()}".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith("runtime/"):  # the torch side never runs in a check
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=256)
def settings_fingerprint(settings: Settings) -> bytes:
    """What of ``settings`` decides a result: the enabled codes and the thresholds.

    Two selections that enable the same rules (``--select INI --ignore INI004`` and
    ``--select INI001,INI002,INI003,INI006``) share their entries.
    """
    codes = ",".join(rule.code for rule in ALL_RULES if settings.enabled(rule))
    return f"{codes}\0{settings.options!r}".encode()


# --- entries as JSON --------------------------------------------------------------------


def _position(value: object) -> Position:
    if not (isinstance(value, list) and len(value) == 2
            and all(type(v) is int for v in value)):
        raise ValueError("bad position")
    return Position(value[0], value[1])


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError("bad text")


def _optional_text(value: object) -> str | None:
    return None if value is None else _text(value)


def _edit_to_json(edit: Edit) -> list[object]:
    return [edit.start.line, edit.start.col, edit.end.line, edit.end.col, edit.text]


def _edit_from_json(value: object) -> Edit:
    if not (isinstance(value, list) and len(value) == 5):
        raise ValueError("bad edit")
    return Edit(_position(value[0:2]), _position(value[2:4]), _text(value[4]))


def _fix_to_json(fix: Fix | None) -> dict[str, object] | None:
    if fix is None:
        return None
    return {
        "description": fix.description,
        "edits": [_edit_to_json(edit) for edit in fix.edits],
        "imports": [[module, name] for module, name in fix.imports],
    }


def _fix_from_json(value: object) -> Fix | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("bad fix")
    description = _text(value["description"])
    edits, imports = value["edits"], value["imports"]
    if not isinstance(edits, list) or not isinstance(imports, list):
        raise ValueError("bad fix")
    pairs: list[tuple[str, str | None]] = []
    for item in imports:
        if not (isinstance(item, list) and len(item) == 2):
            raise ValueError("bad import")
        pairs.append((_text(item[0]), _optional_text(item[1])))
    return Fix(description, tuple(_edit_from_json(e) for e in edits), tuple(pairs))


def encode_result(key: str, result: FileResult) -> bytes:
    """The entry of ``result`` (the path is not stored: identical files share entries)."""
    findings = [
        [f.code, f.message, [f.start.line, f.start.col], [f.end.line, f.end.col],
         _fix_to_json(f.fix), f.note]
        for f in result.findings
    ]
    document = {"key": key, "error": result.error, "findings": findings}
    return json.dumps(document, separators=(",", ":")).encode()


def decode_result(data: bytes, key: str, path: str) -> FileResult:
    """The ``FileResult`` of ``path`` from its entry; ``ValueError`` if it is not one."""
    document = json.loads(data)
    if not isinstance(document, dict) or document.get("key") != key:
        raise ValueError("not the entry of this key")
    error = _optional_text(document["error"])
    raw = document["findings"]
    if not isinstance(raw, list):
        raise ValueError("bad findings")
    findings: list[Finding] = []
    for item in raw:
        if not (isinstance(item, list) and len(item) == 6):
            raise ValueError("bad finding")
        findings.append(Finding(_text(item[0]), _text(item[1]), _position(item[2]),
                                _position(item[3]), _fix_from_json(item[4]),
                                _optional_text(item[5])))
    return FileResult(path, tuple(findings), error)


# --- the cache ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultCache:
    """The results of one tool version in a cache directory (picklable: workers get it).

    ``folder`` is the tool's folder inside the cache directory; ``open_cache`` makes one.
    """

    folder: Path

    def key(self, data: bytes, settings: Settings) -> str:
        digest = hashlib.blake2b(digest_size=16)
        digest.update(settings_fingerprint(settings) + b"\0")
        digest.update(data)
        return digest.hexdigest()

    def entry(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key[2:]}.json"

    def get(self, key: str, path: str) -> FileResult | None:
        """The cached result of ``path`` under ``key``; ``None`` when missing or corrupt."""
        try:
            data = self.entry(key).read_bytes()
        except OSError:
            return None
        try:
            return decode_result(data, key, path)
        except (ValueError, KeyError, TypeError, RecursionError):
            return None

    def put(self, key: str, result: FileResult) -> None:
        """Store ``result`` atomically; a failure to write is silently a miss next time."""
        target = self.entry(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(encode_result(key, result))
                os.replace(temporary, target)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass

    def lookup(self, path: str, settings: Settings) -> FileResult | None:
        """Read ``path`` and return its cached result, if any (never parses)."""
        try:
            data = Path(path).read_bytes()
        except OSError:
            return None
        return self.get(self.key(data, settings), path)

    def check(self, path: str, settings: Settings) -> FileResult:
        """``engine.check_path`` through the cache: a hit, else check and store.

        Only what the engine returns is stored (findings, or a ``cannot parse`` line);
        an unreadable file is reported as ``check_path`` reports it and never stored.
        """
        try:
            data = Path(path).read_bytes()
        except OSError:
            return engine.check_path(path, settings)
        key = self.key(data, settings)
        cached = self.get(key, path)
        if cached is not None:
            return cached
        result = engine.check_source(path, data, settings)
        self.put(key, result)
        return result


def open_cache(directory: str | os.PathLike[str]) -> ResultCache:
    """Create (if needed) and open the cache in ``directory`` for this tool version.

    Marks the directory as a cache (``CACHEDIR.TAG``, a ``.gitignore`` of ``*``), records
    that this tool version's folder is in use, and deletes the folders of tool versions
    unused for ``PRUNE_AFTER_SECONDS``. Raises ``CacheError`` when the directory cannot be
    created or written.
    """
    root = Path(directory)
    folder = root / f"v{FORMAT}-{tool_fingerprint()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", _TAG), (".gitignore", "# created by init-lint\n*\n")):
            if not (root / name).exists():
                (root / name).write_text(text)
        (folder / _LAST_USED).touch()
    except OSError as exc:
        raise CacheError(f"cannot use the cache directory {root}: "
                         f"{exc.strerror or exc}") from None
    _prune(root, keep=folder)
    return ResultCache(folder)


def _prune(root: Path, keep: Path) -> None:
    now = time.time()
    try:
        siblings = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")]
    except OSError:
        return
    for folder in siblings:
        if folder.name == keep.name:
            continue
        try:
            used = (folder / _LAST_USED).stat().st_mtime
        except OSError:  # not one of ours, or being deleted by another run
            continue
        if now - used > PRUNE_AFTER_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)

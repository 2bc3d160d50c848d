"""Reading the scanned tree safely: inside the root only, bounded, text only, each file once.

Every path is relative to the root with `/` separators. A path that leaves the root (`..`, an
absolute path, or a symbolic link anywhere on the way that resolves outside) is never opened.
A link that stays inside the root is followed. Files are read once and cached, so a base that
several overlays include is parsed once.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from shipsign.gate.model import FileProblem
from shipsign.gate.refs.limits import MAX_FILE_BYTES
from shipsign.gate.refs.yamlnodes import Node, YamlProblem, compose_documents

__all__ = ["Workspace", "join_inside"]

_MIB = 1024 * 1024
_T = TypeVar("_T")


def join_inside(base_dir: str, target: str) -> str | None:
    """`target` (relative to the root-relative `base_dir`) as a root-relative path, or None
    when it is absolute or climbs out of the root. `""` is the root itself."""
    if not target or target.startswith("/") or "\\" in target or "\x00" in target:
        return None
    joined = posixpath.normpath(posixpath.join(base_dir, target))
    if joined == ".":
        return ""
    if joined == ".." or joined.startswith("../") or joined.startswith("/"):
        return None
    return joined


class Workspace:
    """The scanned root: safe path checks, bounded reads, parsed YAML, and the problems met."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        self._text: dict[str, str | FileProblem] = {}
        self._yaml: dict[str, list[Node] | FileProblem] = {}
        self._kinds: dict[str, str] = {}
        self._derived: dict[tuple[str, str], Any] = {}

    # paths

    def _real(self, rel: str) -> Path | None:
        """The real path of `rel` when it (after every link) stays inside the root."""
        if join_inside("", rel) != rel and rel != "":
            return None
        real = Path(os.path.realpath(self.root / rel))
        if real != self.root and not real.is_relative_to(self.root):
            return None
        return real

    def kind(self, rel: str) -> str:
        """'file', 'dir', 'outside' (leaves the root), 'missing' or 'other'."""
        cached = self._kinds.get(rel)
        if cached is not None:
            return cached
        real = self._real(rel)
        if real is None:
            kind = "outside"
        else:
            try:
                mode = os.stat(real).st_mode
            except OSError:
                kind = "missing"
            else:
                kind = "file" if stat.S_ISREG(mode) else "dir" if stat.S_ISDIR(mode) else "other"
        self._kinds[rel] = kind
        return kind

    def is_file(self, rel: str) -> bool:
        return self.kind(rel) == "file"

    def is_dir(self, rel: str) -> bool:
        return self.kind(rel) == "dir"

    def listdir(self, rel: str) -> list[str]:
        """Names in a directory inside the root (sorted; `.git` left out), [] if unreadable."""
        real = self._real(rel)
        if real is None:
            return []
        try:
            names = os.listdir(real)
        except OSError:
            return []
        return sorted(n for n in names if n != ".git")

    # contents

    def read_text(self, rel: str) -> str | FileProblem:
        cached = self._text.get(rel)
        if cached is None:
            cached = self._read(rel)
            self._text[rel] = cached
        return cached

    def _read(self, rel: str) -> str | FileProblem:
        kind = self.kind(rel)
        if kind == "outside":
            return FileProblem(
                file=rel, reason="symbolic link to outside the scanned root: not followed"
            )
        if kind == "missing":
            return FileProblem(file=rel, reason="no such file")
        if kind != "file":
            return FileProblem(file=rel, reason="not a regular file: skipped")
        real = self._real(rel)
        if real is None:  # kind() said it is inside; a race could change that
            return FileProblem(file=rel, reason="no longer inside the scanned root: skipped")
        try:
            size = os.stat(real).st_size
            if size > MAX_FILE_BYTES:
                return _too_large(rel, size)
            with open(real, "rb") as handle:  # bounded even if the file grows meanwhile
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            return FileProblem(file=rel, reason=f"could not be read: {exc.strerror or exc}")
        if len(data) > MAX_FILE_BYTES:
            return _too_large(rel, len(data))
        nul = data.find(b"\x00")
        if nul >= 0:
            return FileProblem(
                file=rel, reason=f"binary file (a NUL byte at offset {nul}): skipped"
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return FileProblem(
                file=rel, reason=f"not UTF-8 text (byte {exc.start} cannot be decoded): skipped"
            )
        return text

    def load_yaml(self, rel: str) -> list[Node] | FileProblem:
        """The file's YAML documents (empty ones left out), or why they cannot be had."""
        cached = self._yaml.get(rel)
        if cached is None:
            text = self.read_text(rel)
            if isinstance(text, FileProblem):
                cached = text
            else:
                try:
                    cached = compose_documents(text)
                except YamlProblem as exc:
                    cached = FileProblem(file=rel, reason=exc.reason, line=exc.line)
            self._yaml[rel] = cached
        return cached

    def derived(self, rel: str, what: str, compute: Callable[[], _T]) -> _T:
        """`compute()`, once per file and `what` (e.g. a file's image fields)."""
        key = (rel, what)
        if key not in self._derived:
            self._derived[key] = compute()
        value: _T = self._derived[key]
        return value


def _too_large(rel: str, size: int) -> FileProblem:
    return FileProblem(
        file=rel,
        reason=(
            f"larger than {MAX_FILE_BYTES // _MIB} MiB ({size:,} bytes): skipped "
            "(no image reference file is that large)"
        ),
    )

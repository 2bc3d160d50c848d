"""Which files a run signs: paths and globs expanded by shipsign itself, so that the CLI (after
the shell), the Action (no shell) and the policy file all mean the same thing.

Globs, one path segment at a time, `/` as the separator:

- `*` any run of characters, `?` one character, `[abc]`, `[a-z]`, `[!abc]` one of (or none of)
  a set; none of them matches `/`, and none matches a leading `.` unless the segment itself
  starts with `.` (as in a shell: `dist/*` leaves `dist/.hidden` out);
- `**` as a whole segment: zero or more directories (symbolic links to directories are not
  followed by it, so a link loop cannot make it run forever); at the end (`dist/**`), every
  file below;
- anything else is literal, and matching is case-sensitive everywhere.

A pattern without `*`, `?` or `[` names one file, which must exist and be a readable regular
file. A glob must match at least one; directories it matches are not files and are left out.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shipsign.errors import InputError

__all__ = ["Match", "expand", "is_glob", "segment_regex"]

_MAGIC = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Match:
    """One file a pattern named: its path (root joined with what matched) and the pattern."""

    path: Path
    pattern: str
    literal: bool  # the pattern named this file, not a glob


def is_glob(pattern: str) -> bool:
    """Whether `pattern` has a wildcard (`*`, `?` or `[`)."""
    return any(c in _MAGIC for c in pattern)


def expand(pattern: str, root: Path) -> list[Match]:
    """Every regular file `pattern` names, relative to `root` (an absolute pattern is used as
    is), sorted. Raises `InputError` naming the pattern when a literal path is missing, is a
    directory or is not a regular file; a glob that matches no file returns [] (the caller
    words that error, knowing what else it left out)."""
    if not pattern.strip():
        raise InputError("an empty file pattern", expected="a path or a glob such as dist/*")
    if "\0" in pattern:
        raise InputError("a file pattern holds a NUL character", found=repr(pattern))
    if not is_glob(pattern):
        path = _join(root, pattern)
        check_regular_file(path, shown=pattern)
        return [Match(path=path, pattern=pattern, literal=True)]
    absolute = pattern.startswith("/")
    base = Path("/") if absolute else root
    segments = [s for s in pattern.split("/") if s not in ("", ".")]
    found = {os.path.normpath(p): p for p in _walk(base, segments)}
    matches = []
    for key in sorted(found):
        path = found[key]
        if _is_regular(path):
            matches.append(Match(path=path, pattern=pattern, literal=False))
    return matches


def check_regular_file(path: Path, *, shown: str) -> None:
    """Raise `InputError` naming `shown` unless `path` is a regular file we can open."""
    expected = "a regular file (or a glob such as dist/*)"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(
            "no such file to sign", where=shown, expected=expected, found="nothing there"
        ) from None
    except OSError as exc:
        raise InputError(
            "cannot look at the file to sign", where=shown, expected=expected, found=str(exc)
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(
            "a directory, not a file to sign",
            where=shown,
            expected=f"{expected}; to sign what it holds, give {shown.rstrip('/')}/*",
            found="a directory",
        )
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            "not a regular file", where=shown, expected=expected, found=_kind(info.st_mode)
        )
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InputError(
            "cannot read the file to sign",
            where=shown,
            expected="a file this user can read",
            found=exc.strerror or str(exc),
        ) from None
    os.close(fd)


def segment_regex(segment: str) -> re.Pattern[str]:
    """The regular expression one glob segment (no `/`) compiles to, matched as a whole."""
    return _compiled(segment)


@lru_cache(maxsize=256)
def _compiled(segment: str) -> re.Pattern[str]:
    out: list[str] = []
    i, n = 0, len(segment)
    while i < n:
        c = segment[i]
        i += 1
        if c == "*":
            if not out or out[-1] != "[^/]*":  # `**` inside a segment is `*`
                out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = i
            if end < n and segment[end] in "!^":
                end += 1
            if end < n and segment[end] == "]":
                end += 1
            while end < n and segment[end] != "]":
                end += 1
            if end >= n:  # no closing bracket: a literal `[`
                out.append(re.escape(c))
                continue
            body = segment[i:end]
            i = end + 1
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            out.append(_char_class(body, negate=negate))
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def _char_class(body: str, *, negate: bool) -> str:
    """`[...]` with every character literal except a `-` between two others (a range)."""
    if not body:
        return "(?!)"  # `[]` and `[!]`: nothing can match
    parts = [
        "-" if c == "-" and 0 < k < len(body) - 1 else re.escape(c) for k, c in enumerate(body)
    ]
    return f"[{'^/' if negate else ''}{''.join(parts)}]"


def _matches(segment: str, name: str) -> bool:
    if name.startswith(".") and not segment.startswith("."):
        return False
    return _compiled(segment).fullmatch(name) is not None


def _walk(base: Path, segments: list[str]) -> Iterator[Path]:
    if not segments:
        yield base
        return
    head, rest = segments[0], segments[1:]
    if head == "**":
        if not rest:  # a trailing `**`: every file below
            for child in _children(base):
                if child.name.startswith("."):
                    continue
                if child.is_dir() and not child.is_symlink():
                    yield from _walk(child, segments)
                else:
                    yield child
            return
        yield from _walk(base, rest)  # zero directories
        for child in _children(base):
            if child.name.startswith("."):
                continue
            if child.is_dir() and not child.is_symlink():
                yield from _walk(child, segments)  # one more, and maybe more after it
        return
    if not is_glob(head):
        child = base / head
        if rest:
            if child.is_dir():
                yield from _walk(child, rest)
        elif os.path.lexists(child):
            yield child
        return
    for child in _children(base):
        if _matches(head, child.name):
            if rest:
                if child.is_dir():
                    yield from _walk(child, rest)
            else:
                yield child


def _children(directory: Path) -> list[Path]:
    try:
        with os.scandir(directory) as entries:
            return sorted(directory / entry.name for entry in entries)
    except NotADirectoryError:
        return []
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputError(
            "cannot list a directory a file pattern goes through",
            where=str(directory),
            expected="a directory this user can read",
            found=exc.strerror or str(exc),
        ) from None


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False  # a dangling link, or gone meanwhile


def _join(root: Path, pattern: str) -> Path:
    path = Path(pattern)
    return path if path.is_absolute() else root / path


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"

"""A small YAML writer for the objects `shipsign policy` emits (dicts, lists, strings, ints,
booleans), with a comment block before each document.

Why not PyYAML: it is not a runtime dependency (the Action image and `pip install shipsign`
stay without a C extension for one command), and the output here has a fixed, narrow shape.
Strings are always quoted, single-quoted so that regular expressions read as written
(`'^https://github\\.com/...$'`), double-quoted (JSON escapes) when they hold control
characters, and literal blocks (`|`) when they span lines, such as PEM. The tests parse every
output back with PyYAML and compare.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Document", "dump_documents"]

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/]*")
_YAML11_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}

YamlValue = object


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document: comment lines (without `#`) and its value (None: comments only)."""

    comments: tuple[str, ...]
    value: object


def dump_documents(documents: Sequence[Document]) -> str:
    """The documents as one YAML stream, separated by `---`."""
    parts = []
    for doc in documents:
        lines = [f"# {c}".rstrip() for c in doc.comments]
        if doc.value is not None:
            lines += _block(doc.value, 0)
        parts.append("\n".join(lines) + "\n")
    return "---\n".join(parts)


def _key(key: str) -> str:
    if _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML11_WORDS:
        return key
    return _scalar(key)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot write {type(value).__name__} as YAML")
    if any(ord(c) < 32 or ord(c) == 127 or c in "\u2028\u2029\ufeff" for c in value):
        return json.dumps(value)  # a JSON string is a valid double-quoted YAML scalar
    return "'" + value.replace("'", "''") + "'"


def _multiline(value: object) -> bool:
    return (
        isinstance(value, str)
        and "\n" in value.rstrip("\n")
        and not value.startswith((" ", "\n"))
        and all(c == "\n" or (ord(c) >= 32 and ord(c) != 127) for c in value)
        and not any(line != line.rstrip() for line in value.split("\n"))
    )


def _literal(value: str, indent: int) -> list[str]:
    body = value[:-1] if value.endswith("\n") else value
    chomp = "|" if value.endswith("\n") and not value.endswith("\n\n") else "|-"
    if chomp == "|-" and value.endswith("\n"):
        return [json.dumps(value)]
    pad = " " * (indent + 2)
    return [chomp, *(pad + line if line else "" for line in body.split("\n"))]


def _block(value: object, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            return [pad + "{}"]
        lines = []
        for key, item in value.items():
            head = f"{pad}{_key(str(key))}:"
            lines += _entry(head, item, indent)
        return lines
    if isinstance(value, (list, tuple)):
        if not value:
            return [pad + "[]"]
        lines = []
        for item in value:
            if isinstance(item, Mapping) and item:
                inner = _block(item, indent + 2)
                lines.append(pad + "- " + inner[0][indent + 2 :])
                lines += inner[1:]
            else:
                lines += _entry(pad + "-", item, indent)
        return lines
    return [pad + _scalar(value)]


def _entry(head: str, item: object, indent: int) -> list[str]:
    if isinstance(item, (Mapping, list, tuple)) and item:
        return [head, *_block(item, indent + 2)]
    if isinstance(item, (Mapping, list, tuple)):
        return [f"{head} {'{}' if isinstance(item, Mapping) else '[]'}"]
    if _multiline(item):
        assert isinstance(item, str)  # noqa: S101 (narrowing for mypy)
        literal = _literal(item, indent)
        return [f"{head} {literal[0]}", *literal[1:]]
    return [f"{head} {_scalar(item)}"]

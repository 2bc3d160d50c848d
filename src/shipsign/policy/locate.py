"""Find the line of a key in a TOML file, so that errors can say `file:line`.

`tomllib` gives values without positions, so the text is scanned once: table headers
(`[sign]`, `[[policy]]`, `[tool.shipsign]`...), `key =` lines, and keys inside one-line inline
tables (`github = { repository = ... }`). Good enough for error messages; never used to read
values. Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["KeyLocator"]

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _norm(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


@dataclass
class _Table:
    line: int
    keys: dict[str, int] = field(default_factory=dict)
    text: dict[int, str] = field(default_factory=dict)


class KeyLocator:
    """Lines of tables and keys in one TOML text; `line(...)` falls back to the enclosing table."""

    def __init__(self, text: str) -> None:
        self._tables: dict[tuple[str, int], _Table] = {("", 0): _Table(line=1)}
        counts: dict[str, int] = {}
        current = self._tables[("", 0)]
        for number, raw in enumerate(text.splitlines(), start=1):
            array = _ARRAY_HEADER.match(raw)
            table = None if array else _TABLE_HEADER.match(raw)
            if array or table:
                name = _norm((array or table).group(1))  # type: ignore[union-attr]
                index = counts.get(name, 0)
                counts[name] = index + 1
                current = _Table(line=number)
                self._tables[(name, index if array else 0)] = current
                continue
            key = _KEY.match(raw)
            if key:
                current.keys.setdefault(_norm(key.group(1)), number)
                current.text[number] = raw

    def line(
        self, table: str, index: int = 0, key: str | None = None, sub: str | None = None
    ) -> int:
        """The line of `key` (and of `sub` within its inline table) in the `index`-th `table`."""
        found = self._tables.get((table, index)) or self._tables[("", 0)]
        if key is None:
            return found.line
        dotted = f"{key}.{sub}" if sub else key
        if dotted in found.keys:
            return found.keys[dotted]
        if key not in found.keys:
            nested = self._tables.get((f"{table}.{key}" if table else key, 0))
            if nested is not None:
                return nested.keys.get(sub, nested.line) if sub else nested.line
            return found.line
        number = found.keys[key]
        if sub:
            # A multi-line inline value: look a few lines on for `sub =`.
            lines = sorted(n for n in found.text if n >= number)[:1]
            for candidate in lines:
                if re.search(rf"(?:^|[{{,\s]){re.escape(sub)}\s*=", found.text[candidate]):
                    return candidate
        return number

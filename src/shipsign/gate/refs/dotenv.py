"""Compose's `.env` file: the variables it sets for interpolating the Compose file beside it.

The format Compose reads (compose-go's dotenv): one `KEY=VALUE` per line, an optional
`export ` before the key, `#` comments on their own line or after an unquoted value (after
whitespace), blank lines. An unquoted value is trimmed and expands `$VAR` / `${VAR:-x}` from
the keys above it; a single-quoted value is literal; a double-quoted one expands variables and
the escapes `\\n`, `\\t`, `\\"`, `\\\\` and `\\$`, and may run over several lines. A key whose value
needs a variable the file does not set maps to None: only the environment would know it.
"""

from __future__ import annotations

import re

from shipsign.gate.refs.interpolate import expand

__all__ = ["parse_dotenv"]

_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "\\$"}


def parse_dotenv(text: str) -> dict[str, str | None]:
    """The variables `text` sets, in order; None for a value that needs the environment."""
    found: dict[str, str | None] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            continue  # `KEY` alone takes the environment's value; anything else is not ours
        key, rest = match.group(1), match.group(2)
        if rest[:1] in ("'", '"'):
            quote, body = rest[0], rest[1:]
            while _closing(body, quote) < 0 and i < len(lines):
                body += "\n" + lines[i]
                i += 1
            end = _closing(body, quote)
            if end < 0:
                found[key] = None  # never closed: not a value Compose would take either
                continue
            raw = body[:end]
            found[key] = raw if quote == "'" else _expand(_unescape(raw), found)
            continue
        value = re.split(r"\s#", rest, maxsplit=1)[0].strip()
        found[key] = _expand(value, found)
    return found


def _closing(body: str, quote: str) -> int:
    """Where the closing quote is in `body`, -1 when there is none (`\\"` does not close)."""
    j = 0
    while j < len(body):
        if quote == '"' and body[j] == "\\":
            j += 2
            continue
        if body[j] == quote:
            return j
        j += 1
    return -1


def _unescape(raw: str) -> str:
    # `\$` stays escaped for `expand` (a literal dollar); the others become their character.
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), raw, flags=re.DOTALL)


def _expand(value: str, known: dict[str, str | None]) -> str | None:
    return expand(value, known.get, escape="\\")

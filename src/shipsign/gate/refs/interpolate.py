"""`$VAR`, `${VAR}`, `${VAR:-default}` and their kin, as Dockerfiles and Compose expand them.

`lookup(name)` gives a variable's value when the file itself fixes it, or None when only the
build or the environment would know it (an `ARG` without a default, any Compose variable).
Then `${VAR:-default}` and `${VAR-default}` take the default, as the file says it is used when
nothing is passed; `$VAR`, `${VAR}`, `${VAR:?err}` and `${VAR:+alt}` cannot be resolved and the
whole reference is dynamic (`expand` returns None). So do the pattern modifiers (`${VAR#x}`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["expand"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])(.*))?", re.DOTALL)
_NESTING_MAX = 8


def expand(
    text: str,
    lookup: Callable[[str], str | None],
    *,
    escape: str | None = None,
    dollar_dollar: bool = False,
) -> str | None:
    """`text` with its variables expanded, or None when one cannot be resolved.

    `escape` is the Dockerfile escape character (`\\$` is a literal `$`); `dollar_dollar`
    makes `$$` a literal `$` (Compose).
    """
    return _expand(text, lookup, escape, dollar_dollar, 0)


def _expand(
    text: str,
    lookup: Callable[[str], str | None],
    escape: str | None,
    dollar_dollar: bool,
    depth: int,
) -> str | None:
    if depth > _NESTING_MAX:
        return None
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if escape is not None and c == escape and i + 1 < n and text[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if dollar_dollar and nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                return None
            value = _braced(text[i + 2 : end], lookup, escape, dollar_dollar, depth)
            if value is None:
                return None
            out.append(value)
            i = end + 1
            continue
        match = _NAME.match(text, i + 1)
        if match is None:
            out.append(c)
            i += 1
            continue
        found = lookup(match.group())
        if found is None:
            return None
        out.append(found)
        i = match.end()
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    for j in range(start, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _braced(
    inner: str,
    lookup: Callable[[str], str | None],
    escape: str | None,
    dollar_dollar: bool,
    depth: int,
) -> str | None:
    match = _BRACED.fullmatch(inner)
    if match is None:
        return None  # ${VAR#pattern}, ${VAR/a/b}, ${}: not resolved here
    name, op, word = match.group(1), match.group(2), match.group(3)
    value = lookup(name)
    if op is None:
        return value
    if op in (":-", "-"):
        if value is not None and (value or op == "-"):
            return value
        return _expand(word, lookup, escape, dollar_dollar, depth + 1)
    if op in (":+", "+"):
        if value is None:
            return None
        if value or op == "+":
            return _expand(word, lookup, escape, dollar_dollar, depth + 1)
        return ""
    # ${VAR:?message} / ${VAR?message}: the value, or an error when it is not set
    return value if value else None

"""The checksums file: what GNU `sha256sum` prints and `sha256sum -c` reads.

One line per file, `<64 hex><space><space><name>`, sorted by name (code point order, which is
UTF-8 byte order). A name holding a backslash, a line feed or a carriage return is written the
way coreutils writes it: the line starts with `\\` and those characters are escaped (`\\\\`,
`\\n`, `\\r`).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["format_checksums", "line_for"]

_ESCAPES = (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"))


def line_for(name: str, sha256_hex: str) -> str:
    """One `sha256sum` line (with its newline) for a file called `name`."""
    escaped = name
    for raw, text in _ESCAPES:
        escaped = escaped.replace(raw, text)
    prefix = "\\" if escaped != name else ""
    return f"{prefix}{sha256_hex}  {escaped}\n"


def format_checksums(entries: Iterable[tuple[str, str]]) -> bytes:
    """The whole file for `(name, sha256 hex)` pairs, sorted by name, UTF-8."""
    return "".join(line_for(name, hexdigest) for name, hexdigest in sorted(entries)).encode()

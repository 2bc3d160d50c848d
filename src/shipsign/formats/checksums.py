"""The checksums file, a wire format like the others here: what GNU `sha256sum` prints and
`sha256sum -c` reads. Pure.

Writing: one line per file, `<64 hex><space><space><name>\\n`, sorted by name (code point
order, which is UTF-8 byte order). A name holding a backslash, a line feed or a carriage return
is written as coreutils writes it: the line starts with `\\` and those characters are escaped
(`\\\\`, `\\n`, `\\r`).

Reading: those lines, binary-mode lines (`<hex> *<name>`) and BSD tag lines
(`SHA256 (<name>) = <hex>`, as `sha256sum --tag` and `shasum` print); blank lines are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shipsign.errors import InputError

__all__ = ["ChecksumEntry", "ChecksumsError", "format_checksums", "line_for", "parse_checksums"]

_ESCAPES = (("\\", "\\\\"), ("\n", "\\n"), ("\r", "\\r"))
_UNESCAPES = {"\\": "\\", "n": "\n", "r": "\r"}
_GNU_LINE = re.compile(r"(\\?)([0-9A-Fa-f]+) [ *](.+)", re.DOTALL)
_BSD_LINE = re.compile(r"(\\?)SHA256 \((.+)\) = ([0-9A-Fa-f]+)", re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_SHA256_HEX_LENGTH = 64


class ChecksumsError(InputError):
    """A checksums file that is not in `sha256sum` format (or not sha256)."""


@dataclass(frozen=True, slots=True)
class ChecksumEntry:
    """One line: a file name as written (unescaped) and its sha256 (lower-case hex)."""

    name: str
    sha256: str

    @property
    def base_name(self) -> str:
        """The name after its last `/` (a line may name `dist/app.tar.gz`)."""
        return self.name.rsplit("/", 1)[-1]


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


def parse_checksums(data: bytes, *, where: str = "the checksums file") -> tuple[ChecksumEntry, ...]:
    """Every line of a checksums file, in order. Raises `ChecksumsError` naming the first line
    that is not a sha256 line, or for text that is not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ChecksumsError(
            "the checksums file is not UTF-8 text", where=where, found=str(exc)
        ) from None
    entries = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        entry = _parse_line(line)
        if entry is None:
            raise ChecksumsError(
                f"line {number} of the checksums file is not a sha256sum line",
                where=where,
                expected="<64 hex digits><two spaces><file name>, as sha256sum prints it",
                found=repr(line[:120]),
            )
        entries.append(entry)
    return tuple(entries)


def _parse_line(line: str) -> ChecksumEntry | None:
    bsd = _BSD_LINE.fullmatch(line)
    if bsd is not None:
        escaped, name, hexdigest = bsd.groups()
    else:
        gnu = _GNU_LINE.fullmatch(line)
        if gnu is None:
            return None
        escaped, hexdigest, name = gnu.groups()
    if len(hexdigest) != _SHA256_HEX_LENGTH:
        return None
    return ChecksumEntry(name=_unescape(name) if escaped else name, sha256=hexdigest.lower())


def _unescape(name: str) -> str:
    return _ESCAPED.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(0)), name)

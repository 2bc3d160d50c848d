"""Someone else's text, made safe to print: certificate identities, asset names, file paths and
references come from signers and from changes under review, and an escape sequence or a line
break in them must not reach a terminal or a log viewer as one (a forged "✔ verified" line)."""

from __future__ import annotations

__all__ = ["one_line", "printable"]


def printable(text: str) -> str:
    """`text` with every control character but the line feed shown escaped (`\\x1b`, `\\r`)."""
    return "".join(c if c == "\n" or c.isprintable() else repr(c)[1:-1] for c in text)


def one_line(text: object) -> str:
    """One value on one line: line breaks and every other control character shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))

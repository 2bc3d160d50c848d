"""The exit-code table shared by every shipsign command (stdlib only)."""

from __future__ import annotations

from shipsign.errors import InputError, UnreachableError

__all__ = ["INTERNAL", "NEGATIVE", "OK", "UNREACHABLE", "USAGE", "exit_code_for"]

OK = 0  # success
NEGATIVE = 1  # the command's own negative result: not signed, not verified
USAGE = 2  # usage error or bad input
UNREACHABLE = 3  # a registry or service could not be reached, or refused us, after retries
INTERNAL = 4  # anything else: a bug in shipsign


def exit_code_for(exc: BaseException) -> int:
    """Map an exception that stopped a command to its exit code. A bug never exits 1."""
    if isinstance(exc, InputError):
        return USAGE
    if isinstance(exc, UnreachableError):
        return UNREACHABLE
    return INTERNAL

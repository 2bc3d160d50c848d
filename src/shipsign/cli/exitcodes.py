"""The exit-code table shared by every shipsign command (stdlib only)."""

from __future__ import annotations

from shipsign.errors import InputError, UnreachableError

__all__ = ["INTERNAL", "NEGATIVE", "OK", "UNREACHABLE", "USAGE", "exit_code_for", "verdict_code"]

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


def verdict_code(*, all_ok: bool, any_negative: bool, any_unreachable: bool) -> int:
    """Decide a mixed outcome once: a definite negative wins over a lookup that failed.

    An image that is unsigned or fails verification stays so whatever another registry did, so
    exit 1 tells the caller that retrying will not help; 3 only when nothing was negative.
    """
    if all_ok:
        return OK
    if any_negative:
        return NEGATIVE
    return UNREACHABLE if any_unreachable else NEGATIVE

"""The exit-code table shared by every shipsign command (stdlib only)."""

from __future__ import annotations

from typing import Protocol

from shipsign.errors import InputError, UnreachableError

__all__ = [
    "INTERNAL",
    "NEGATIVE",
    "OK",
    "UNREACHABLE",
    "USAGE",
    "Verdict",
    "error_class",
    "exit_code_for",
    "report_code",
    "verdict_code",
]

OK = 0  # success
NEGATIVE = 1  # the command's own negative result: not signed, not verified
USAGE = 2  # usage error or bad input
UNREACHABLE = 3  # a registry or service could not be reached, or refused us, after retries
INTERNAL = 4  # anything else: a bug in shipsign


_CLASSES = {
    OK: "none",
    NEGATIVE: "negative",
    USAGE: "input",
    UNREACHABLE: "unreachable",
    INTERNAL: "internal",
}


def error_class(code: int) -> str:
    """The name of an exit code's class (the Action's `error` output): none, negative, input,
    unreachable or internal."""
    return _CLASSES.get(code, "internal")


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


class Verdict(Protocol):
    """What a report must say for its exit code to be decided (VerifyReport, SignReport)."""

    @property
    def ok(self) -> bool: ...

    @property
    def any_negative(self) -> bool: ...

    @property
    def any_unreachable(self) -> bool: ...


def report_code(report: Verdict, *, internal: bool = False) -> int:
    """The exit code of a finished sign or verify run; `internal`: a bug was caught in it."""
    if internal:
        return INTERNAL
    return verdict_code(
        all_ok=report.ok,
        any_negative=report.any_negative,
        any_unreachable=report.any_unreachable,
    )

"""Everything the CLI prints: results to stdout, errors and progress to stderr.

rich is imported lazily, inside the functions that draw tables.
"""

from __future__ import annotations

import sys
import traceback

from shipsign.errors import ShipsignError

__all__ = ["error", "error_line", "out", "warn"]


def out(text: str) -> None:
    """Write a result to stdout."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def warn(text: str) -> None:
    """Write a warning to stderr."""
    sys.stderr.write(f"warning: {text}\n")


def error_line(text: str) -> None:
    """Write a one-line error to stderr."""
    sys.stderr.write(f"error: {text}\n")


def error(exc: BaseException, *, verbose: bool) -> None:
    """Render an exception for a person: what, then where / expected / found / hint."""
    if isinstance(exc, ShipsignError):
        lines = [f"error: {exc.what}"]
        width = max((len(k) for k, _ in exc.details()), default=0) + 1
        lines += [f"  {k + ':':<{width}} {v}" for k, v in exc.details()]
        sys.stderr.write("\n".join(lines) + "\n")
        if verbose:
            traceback.print_exception(exc, file=sys.stderr)
        return
    sys.stderr.write(f"internal error: {type(exc).__name__}: {exc}\n")
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    else:
        sys.stderr.write("  this is a bug in shipsign; run again with -v for the traceback\n")

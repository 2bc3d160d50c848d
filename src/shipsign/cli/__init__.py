"""The command-line front end: parse, call one use case, render, map errors to exit codes."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from shipsign.cli.parser import build_parser
from shipsign.present.exitcodes import exit_code_for

__all__ = ["main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run shipsign with `argv` and return the exit code. Never calls `sys.exit`."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help/--version (0) and usage errors (2)
        return int(exc.code) if isinstance(exc.code, int) else 2
    _configure_logging(args.verbose)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    from shipsign.cli import commands, render

    try:
        result: int = getattr(commands, handler)(args)
    except KeyboardInterrupt:
        render.error_line("interrupted")
        return 130
    except Exception as exc:  # the one place that turns every error into an exit code
        code = exit_code_for(exc)
        render.error(exc, verbose=args.verbose > 0)
        return code
    return result


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


def _configure_logging(verbosity: int) -> None:
    from shipsign.present.logs import configure_logging

    configure_logging(sys.stderr, debug=verbosity > 0, everything=verbosity > 1)

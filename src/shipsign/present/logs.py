"""Logging for both front ends: one handler on stderr whose every line is `redact`ed."""

from __future__ import annotations

import logging
from typing import TextIO

from shipsign.secret import redact

__all__ = ["RedactingFormatter", "configure_logging"]

_SIGSTORE_TUF = "sigstore._internal.tuf"  # the logger of sigstore's TUF client


class RedactingFormatter(logging.Formatter):
    """Log lines (ours and every library's) with `redact` applied, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(stream: TextIO, *, debug: bool = False, everything: bool = False) -> None:
    """Send log records to `stream`, every line `redact`ed: warnings and errors from shipsign
    and every library (never through Python's bare last-resort handler, which redacts
    nothing); with `debug` shipsign's debug log too, with `everything` every library's.

    Left out unless `everything`: sigstore's warning that an offline TUF repository is not
    updated, which only repeats the `--offline` the user gave.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(handlers=[handler])  # a no-op when the process has handlers already
    if everything:
        logging.getLogger().setLevel(logging.DEBUG)
    elif debug:
        logging.getLogger("shipsign").setLevel(logging.DEBUG)
    if not everything:
        logging.getLogger(_SIGSTORE_TUF).setLevel(logging.ERROR)

"""Debug logging for both front ends: one handler on stderr whose every line is `redact`ed."""

from __future__ import annotations

import logging
from typing import TextIO

from shipsign.secret import redact

__all__ = ["RedactingFormatter", "configure_logging"]


class RedactingFormatter(logging.Formatter):
    """Log lines (ours and every library's) with `redact` applied, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(stream: TextIO, *, everything: bool = False) -> None:
    """Send shipsign's debug log (every library's too with `everything`) to `stream`."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(handlers=[handler])
    if everything:
        logging.getLogger().setLevel(logging.DEBUG)
    else:
        logging.getLogger("shipsign").setLevel(logging.DEBUG)

"""A file's sha256, streamed: a release archive of gigabytes never sits in memory."""

from __future__ import annotations

import hashlib
from pathlib import Path

from shipsign.errors import InputError

__all__ = ["CHUNK", "hash_file"]

CHUNK = 1024 * 1024  # bytes read at a time


def hash_file(path: Path, *, shown: str | None = None) -> tuple[str, int]:
    """The sha256 (hex) and size of `path`, read in `CHUNK`s into one reused buffer.

    Raises `InputError` naming `shown` (default: the path) when it cannot be read.
    """
    hasher = hashlib.sha256()
    size = 0
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    try:
        with path.open("rb", buffering=0) as fh:
            while count := fh.readinto(buffer):
                hasher.update(view[:count])
                size += count
    except OSError as exc:
        raise InputError(
            "cannot read the file to sign",
            where=shown or str(path),
            expected="a regular file this user can read",
            found=exc.strerror or str(exc),
        ) from None
    return hasher.hexdigest(), size

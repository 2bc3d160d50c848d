"""Where a signed file's outputs go, and how they are written: whole or not at all.

`<name>.sigstore.json` (the bundle), and with legacy outputs `<name>.sig` (the signature,
base64, as `cosign sign-blob --output-signature` writes it) and `<name>.pem` (the certificate,
PEM, which every `cosign verify-blob --certificate` reads), beside the file or in the bundle
directory. Each is written to a temporary file in the same directory and renamed over the
target (`os.replace`), so a reader sees the old file or the new one, never half of one, and an
error leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUNDLE_SUFFIX",
    "CERTIFICATE_SUFFIX",
    "SIGNATURE_SUFFIX",
    "OutputPaths",
    "output_paths",
    "read_if_exists",
    "write_atomically",
]

BUNDLE_SUFFIX = ".sigstore.json"
SIGNATURE_SUFFIX = ".sig"
CERTIFICATE_SUFFIX = ".pem"
_MODE = 0o666  # narrowed by the umask, as for any file the user creates


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputPaths:
    """The files written for one signed file."""

    bundle: Path
    signature: Path
    certificate: Path

    def all(self) -> tuple[Path, Path, Path]:
        return (self.bundle, self.signature, self.certificate)


def output_paths(path: Path, bundle_dir: Path | None) -> OutputPaths:
    """The outputs of `path`: beside it, or in `bundle_dir` named after its base name."""
    folder = path.parent if bundle_dir is None else bundle_dir
    name = path.name
    return OutputPaths(
        bundle=folder / f"{name}{BUNDLE_SUFFIX}",
        signature=folder / f"{name}{SIGNATURE_SUFFIX}",
        certificate=folder / f"{name}{CERTIFICATE_SUFFIX}",
    )


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename; raises `OSError`, leaving no temporary file.

    The temporary file is `.<name>.<random>.tmp` in the same directory (a hidden name: no
    `dist/*` glob of a concurrent run picks it up).
    """
    folder = path.parent
    temporary = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read_if_exists(path: Path, limit: int) -> bytes | None:
    """The content of `path` if it is a regular file of at most `limit` bytes, else None."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    return data if len(data) <= limit else None

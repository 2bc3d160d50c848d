"""What signing files produces: per file its digest, its outputs and what happened (pure).

Shared by the signer (`blobs/`), the sign use case (which signs images and files with one
certificate), the release upload, and every renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from shipsign.errors import ShipsignError

__all__ = ["FileOutcome", "FileResult", "FileSignOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSignOptions:
    """How files are signed (beside images, or alone with `sign-blob`)."""

    patterns: tuple[str, ...] = ()  # paths or globs, expanded by shipsign (relative to `root`)
    root: Path = Path(".")
    bundle_dir: Path | None = None  # else each bundle is written beside its file
    checksums: str | None = None  # also write a sha256sum file of this name, and sign it
    legacy_outputs: bool = False  # also write <file>.sig and <file>.pem
    force: bool = False  # sign again even if a valid bundle by this identity is there


class FileOutcome(str, Enum):
    SIGNED = "signed"
    SKIPPED = "skipped"  # a valid bundle by this identity for this content was already there
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileResult:
    """One signed (or skipped, or failed) file.

    `outputs` are every file written or kept for it, bundle first (`<name>.sigstore.json`,
    then `.sig` and `.pem` with legacy outputs). `checksums` is True for the sums file.
    """

    path: Path
    name: str  # the asset name: the file's base name
    sha256: str  # hex
    size: int
    outcome: FileOutcome
    bundle: Path | None = None
    outputs: tuple[Path, ...] = ()
    checksums: bool = False
    detail: str = ""  # for a skip: why; for a failure: what went wrong
    error: ShipsignError | None = None
    log_index: int | None = None  # the Rekor entry of the signature (made or found)
    verified: bool = False  # the bundle on disk was read back and verified for this identity

    @property
    def ok(self) -> bool:
        return self.outcome is not FileOutcome.FAILED

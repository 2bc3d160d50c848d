"""What `verify` finds: per image a verdict, the signatures found and where it looked.

Pure values shared by the use case and every front end's renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from shipsign.errors import ShipsignError
from shipsign.signatures import FoundSignature

__all__ = ["FoundSignature", "ImageResult", "ImageStatus", "SourceFormat", "VerifyReport"]


class SourceFormat(str, Enum):
    """Which on-registry signature formats to read."""

    ANY = "any"
    BUNDLE = "bundle"
    LEGACY = "legacy"


class ImageStatus(str, Enum):
    """The verdict on one image digest."""

    VERIFIED = "verified"  # at least one signature passed every check
    FAILED = "failed"  # signatures found, none passed
    UNSIGNED = "unsigned"  # no signature found where we looked
    UNREACHABLE = "unreachable"  # could not look: never reported as unsigned


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageResult:
    """The verdict on one image (and, with --recursive, on each platform manifest).

    `error` is set when a lookup failed: always for UNREACHABLE, and for a VERIFIED image
    whose other lookups failed after one signature had passed.
    """

    input: str
    repository: str
    digest: str | None
    status: ImageStatus
    signatures: tuple[FoundSignature, ...] = ()
    looked_in: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    error: ShipsignError | None = None
    platform: str | None = None  # for a platform manifest of an index
    children: tuple[ImageResult, ...] = ()

    @property
    def verified(self) -> tuple[FoundSignature, ...]:
        """The signatures that passed every check."""
        return tuple(s for s in self.signatures if s.outcome.passed)

    @property
    def ok(self) -> bool:
        """Verified, and so is every platform manifest that was checked."""
        return self.status is ImageStatus.VERIFIED and all(c.ok for c in self.children)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """The verdicts on every requested image, in the order given.

    `not_checked` names the checks the request switched off (e.g. the embedded SCT).
    """

    images: tuple[ImageResult, ...]
    trust_source: str
    keyed: bool
    not_checked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every image verified."""
        return all(image.ok for image in self.images)

    @property
    def any_negative(self) -> bool:
        """Some image or platform has signatures none of which passed, or none at all."""
        negative = {ImageStatus.FAILED, ImageStatus.UNSIGNED}
        return any(r.status in negative for r in self.all_results())

    @property
    def any_unreachable(self) -> bool:
        """Some image or platform could not be looked at."""
        return any(r.status is ImageStatus.UNREACHABLE for r in self.all_results())

    def all_results(self) -> tuple[ImageResult, ...]:
        """Every image and platform manifest, depth first."""
        out: list[ImageResult] = []
        for image in self.images:
            out.append(image)
            out.extend(image.children)
        return tuple(out)

"""The values the release client hands out: releases, assets, and what an upload did (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

__all__ = ["Asset", "AssetFile", "AssetResult", "Downloaded", "Outcome", "Release", "UploadReport"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    """A GitHub release as found (drafts included)."""

    id: int
    tag: str
    draft: bool
    immutable: bool
    html_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Asset:
    """A release asset. `sha256` is GitHub's `digest` (hex) when it gives one, else None."""

    id: int
    name: str
    size: int
    state: str  # "uploaded"; "starter" is a half-upload left by a failure
    content_type: str
    url: str  # the API URL: JSON, or the content with Accept: application/octet-stream
    sha256: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetFile:
    """A local file to put on a release as asset `name`."""

    path: Path
    name: str
    content_type: str = "application/octet-stream"
    label: str = ""


class Outcome(str, Enum):
    UPLOADED = "uploaded"  # there was none of that name
    REPLACED = "replaced"  # one of that name with other content was deleted (force)
    UNCHANGED = "unchanged"  # one of that name with the same content is there: nothing sent
    CONFLICT = "conflict"  # one of that name with other content is there, no force: left alone


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetResult:
    name: str
    outcome: Outcome
    sha256: str  # of the local file
    asset: Asset | None  # on the release now (for a conflict: the other one)
    detail: str = ""  # for a conflict: what differs


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadReport:
    release: Release
    results: tuple[AssetResult, ...]

    @property
    def uploads(self) -> int:
        """Assets sent: uploaded or replaced."""
        return sum(r.outcome in (Outcome.UPLOADED, Outcome.REPLACED) for r in self.results)

    @property
    def conflicts(self) -> tuple[AssetResult, ...]:
        return tuple(r for r in self.results if r.outcome is Outcome.CONFLICT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Downloaded:
    """What streamed through: its size and sha256 (hex)."""

    size: int
    sha256: str

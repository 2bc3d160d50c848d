"""What the gate finds and decides: image uses in files, per-image verdicts, the report (pure).

Shared by the scanners (`gate/refs/`), the use case (`gate/run.py`) and every reporter
(GitHub check run and comment, step summary, annotations, text and JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Conclusion",
    "FileProblem",
    "GateImage",
    "GateReport",
    "ImageUse",
    "RefKind",
    "ScanResult",
    "Verdict",
]


class RefKind(str, Enum):
    """How sure the scanner is of a reference."""

    STATIC = "static"  # written out in the file (after defaults and transformers were applied)
    HEURISTIC = "heuristic"  # guessed from a convention (Helm values without `helm template`)
    DYNAMIC = "dynamic"  # built from a variable or expression the scanner cannot resolve


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageUse:
    """One place in one file that names an image.

    `file` is relative to the scanned root, with `/` separators. `line` is 1-based (0 when the
    format gives no line). `text` is the reference as the scanner read it (after ARG defaults,
    `${VAR:-default}` and kustomize `images:` were applied); `image` is the same, normalised
    (`docker.io/library/`, `:latest`), or None for a dynamic reference.
    """

    file: str
    line: int
    text: str
    image: str | None
    kind: RefKind
    source: str  # kubernetes, kustomize, flux-kustomization, helm, flux-helmrelease,
    #              flux-ocirepository, dockerfile, compose, workflow, action
    note: str = ""  # e.g. "from kustomize images: in overlays/prod/kustomization.yaml:7"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def invalid(self) -> bool:
        """Written out but not a valid reference (`note` says why): the INVALID verdict."""
        return self.image is None and self.kind is not RefKind.DYNAMIC


@dataclass(frozen=True, slots=True, kw_only=True)
class FileProblem:
    """A file the scanners could not read, or chose not to (with the reason). Never fatal."""

    file: str
    reason: str  # e.g. "not valid YAML at line 4: ...", "larger than 10 MB: skipped"
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    uses: tuple[ImageUse, ...] = ()
    problems: tuple[FileProblem, ...] = ()
    files_scanned: int = 0


class Verdict(str, Enum):
    """The gate's verdict on one distinct image."""

    PASSED = "passed"  # a signature passed the matching policy
    FAILED = "failed"  # signatures found, none passed the policy
    UNSIGNED = "unsigned"  # no signature at all
    UNREACHABLE = "unreachable"  # the registry could not be read (exit 3, never 1)
    NOT_COVERED = "not-covered"  # no [[policy]] names this repository
    DYNAMIC = "dynamic"  # not a literal reference: cannot be checked
    INVALID = "invalid"  # not a valid reference


class Conclusion(str, Enum):
    """A GitHub check run's conclusion."""

    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True, kw_only=True)
class GateImage:
    """One distinct image (by reference text) with every place it is used and its verdict.

    `digest` is the digest verified (the pinned one, or the tag's resolution). `failing` says
    whether this image makes the gate fail under the run's options (`--require-policy`,
    `--require-digest`); `warnings` are shown either way (e.g. "tag not pinned to a digest").
    """

    image: str
    uses: tuple[ImageUse, ...]
    verdict: Verdict
    digest: str | None = None
    signer: str = ""  # identity of the signature that passed (or of the closest failure)
    issuer: str = ""
    format: str = ""  # bundle / legacy
    detail: str = ""  # why it failed, in one line
    warnings: tuple[str, ...] = ()
    failing: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GateReport:
    images: tuple[GateImage, ...]
    problems: tuple[FileProblem, ...] = ()
    files_checked: int = 0
    changed_files_source: str = ""  # "pull request #7", "git diff main...HEAD", "paths"
    head_sha: str = ""

    @property
    def failing(self) -> tuple[GateImage, ...]:
        return tuple(i for i in self.images if i.failing)

    @property
    def any_unreachable(self) -> bool:
        return any(i.verdict is Verdict.UNREACHABLE for i in self.images)

    @property
    def conclusion(self) -> Conclusion:
        """failure if any image fails; neutral if one could not be read or nothing was
        found to check; else success."""
        if self.failing:
            return Conclusion.FAILURE
        if self.any_unreachable or not self.images:
            return Conclusion.NEUTRAL
        return Conclusion.SUCCESS

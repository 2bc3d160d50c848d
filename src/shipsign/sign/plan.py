"""What one run signs: every input resolved to a digest, and references that name the same
digest grouped into one artifact with several locations; with `recursive`, an index's platform
manifests join as artifacts of their own, at the same locations.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from shipsign.errors import UnreachableError
from shipsign.oci.client import Registries
from shipsign.oci.media import INDEX_MEDIA_TYPES, Descriptor, Index
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.sign.model import ImageTarget

__all__ = ["Artifact", "Plan", "build_plan"]

_WORKERS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Artifact:
    """One digest to sign and every repository it is published in (input order)."""

    descriptor: Descriptor  # media type, digest and size: the bundle artifact's `subject`
    locations: tuple[Repository, ...]
    platform: str | None = None
    index: Digest | None = None  # set for a platform manifest of a signed index

    @property
    def digest(self) -> Digest:
        return self.descriptor.digest


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """The resolved inputs and the artifacts they make up."""

    targets: tuple[ImageTarget, ...]
    artifacts: tuple[Artifact, ...]


def build_plan(
    registries: Registries, images: tuple[str, ...], refs: list[Reference], *, recursive: bool
) -> Plan:
    """Resolve every reference (network); group by digest; expand indexes when `recursive`.

    Raises `InputError` for an image that does not exist (nothing is signed then). A registry
    that cannot be reached is recorded on its targets and leaves the others to sign.
    """
    with ThreadPoolExecutor(max_workers=min(_WORKERS, len(refs) or 1)) as workers:
        resolved = list(workers.map(lambda ref: _resolve(registries, ref), refs))
    targets: list[ImageTarget] = []
    found: dict[Digest, tuple[Descriptor, list[Repository]]] = {}
    for text, ref, answer in zip(images, refs, resolved, strict=True):
        repo = ref.repository
        if isinstance(answer, UnreachableError):
            targets.append(
                ImageTarget(input=text, repository=repo.name, digest=ref.digest, error=answer)
            )
            continue
        targets.append(
            ImageTarget(
                input=text,
                repository=repo.name,
                digest=answer.digest,
                media_type=answer.media_type,
                tag=ref.tag if ref.digest is None else None,
            )
        )
        _, locations = found.setdefault(answer.digest, (answer, []))
        if repo not in locations:
            locations.append(repo)
    artifacts = [
        Artifact(descriptor=d, locations=tuple(locs)) for d, locs in found.values() if locs
    ]
    if recursive:
        artifacts += _platform_artifacts(registries, artifacts)
    return Plan(targets=tuple(targets), artifacts=tuple(_unique(artifacts)))


def _resolve(registries: Registries, ref: Reference) -> Descriptor | UnreachableError:
    try:
        return registries.client(ref.repository.registry).resolve(ref)
    except UnreachableError as exc:
        return exc


def _platform_artifacts(registries: Registries, artifacts: list[Artifact]) -> list[Artifact]:
    """The platform manifests of every index, read from its first location that answers."""
    out: list[Artifact] = []
    for artifact in artifacts:
        if artifact.descriptor.media_type not in INDEX_MEDIA_TYPES:
            continue
        index = _fetch_index(registries, artifact)
        if index is None:
            continue
        for child in index.manifests:
            out.append(
                Artifact(
                    descriptor=Descriptor(
                        media_type=child.media_type, digest=child.digest, size=child.size
                    ),
                    locations=artifact.locations,
                    platform=str(child.platform) if child.platform is not None else None,
                    index=artifact.digest,
                )
            )
    return out


def _fetch_index(registries: Registries, artifact: Artifact) -> Index | None:
    error: UnreachableError | None = None
    for repo in artifact.locations:
        try:
            found = registries.client(repo.registry).fetch_manifest(
                Reference(repository=repo, digest=artifact.digest)
            )
        except UnreachableError as exc:
            error = exc
            continue
        return found if isinstance(found, Index) else None
    if error is not None:
        raise error
    return None


def _unique(artifacts: list[Artifact]) -> list[Artifact]:
    """One artifact per digest: an image given directly wins over the same one as a platform."""
    seen: dict[Digest, Artifact] = {}
    for artifact in artifacts:
        seen.setdefault(artifact.digest, artifact)
    return list(seen.values())

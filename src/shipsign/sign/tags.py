"""Tags move only after signing (`shipsign sign --tag`): once every signature of the run is
written and verified from every location, point each tag at its digest in every repository.

All or nothing: tags are held while anything is unsigned or unverified; the tags' current
targets are read before the first one moves, and when one move fails, those already moved are
put back (a tag that did not exist is deleted, where the registry allows it). No other signing
tool orders it this way: cosign, notation and the docker actions sign what a pushed tag names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from shipsign.errors import InputError, InternalError, ShipsignError
from shipsign.oci.client import Registries
from shipsign.oci.media import Index, Manifest
from shipsign.oci.reference import Digest, Reference, Repository

__all__ = ["TagResult", "TagStatus", "check_tags", "hold_tags", "move_tags", "tag_targets"]

# The distribution spec's tag grammar.
_TAG_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class TagStatus(str, Enum):
    """What happened to one tag in one repository."""

    MOVED = "moved"  # it names the signed digest now
    HELD = "held"  # not moved: something was not signed or not verified, or another tag failed
    FAILED = "failed"  # the registry refused it or could not be reached
    RESTORED = "restored"  # moved, then put back where it was because another tag failed
    NOT_RESTORED = "not-restored"  # moved, and could not be put back (it names the signed digest)


@dataclass(frozen=True, slots=True, kw_only=True)
class TagResult:
    """One tag in one repository: where it pointed before, where it was to point, and what
    happened."""

    repository: str
    tag: str
    digest: Digest
    previous: Digest | None = None  # what it named before; None: it did not exist (or unread)
    status: TagStatus
    error: ShipsignError | None = None

    @property
    def reference(self) -> str:
        """`REPOSITORY:TAG`."""
        return f"{self.repository}:{self.tag}"


def check_tags(tags: Sequence[str]) -> None:
    """Raise `InputError` naming a tag that is not a valid OCI tag."""
    for tag in tags:
        valid = (
            0 < len(tag) <= 128 and set(tag) <= _TAG_CHARS and (tag[0].isalnum() or tag[0] == "_")
        )
        if not valid:
            raise InputError(
                f"invalid tag {tag!r}",
                expected="1 to 128 of A-Z a-z 0-9 _ . -, not starting with . or -",
                found=tag,
            )


def tag_targets(
    tags: Sequence[str], placed: Sequence[tuple[Repository, Digest]]
) -> list[tuple[Repository, str, Digest]]:
    """Every (repository, tag, digest) to move, in input order; `InputError` when one tag
    would name two digests in one repository."""
    wanted: dict[tuple[str, str], tuple[Repository, str, Digest]] = {}
    for repo, digest in placed:
        for tag in dict.fromkeys(tags):
            key = (repo.name, tag)
            known = wanted.get(key)
            if known is not None and known[2] != digest:
                raise InputError(
                    f"tag {tag!r} would name two images in {repo.name}",
                    expected="one digest per repository for each --tag",
                    found=f"{known[2]} and {digest}",
                )
            wanted[key] = (repo, tag, digest)
    return list(wanted.values())


def hold_tags(targets: Sequence[tuple[Repository, str, Digest]]) -> tuple[TagResult, ...]:
    """Every tag held: the run is not signed and verified everywhere."""
    return tuple(
        TagResult(repository=repo.name, tag=tag, digest=digest, status=TagStatus.HELD)
        for repo, tag, digest in targets
    )


def move_tags(
    registries: Registries, targets: Sequence[tuple[Repository, str, Digest]]
) -> tuple[TagResult, ...]:
    """Point every tag at its digest, all or nothing (network: the registries).

    Reads every manifest and every tag's current target first; moves nothing if one read fails.
    Then moves the tags in order; after a failed move, puts back those already moved.
    """
    reads: list[tuple[Manifest | Index, Manifest | Index | None]] = []
    for n, (repo, tag, digest) in enumerate(targets):
        try:
            reads.append(_read(registries, repo, tag, digest))
        except ShipsignError as exc:
            return _stopped(targets, n, exc, moved=[])
    moved: list[int] = []
    for n, (repo, tag, _) in enumerate(targets):
        try:
            registries.client(repo.registry).push_manifest(repo, reads[n][0], tag=tag)
        except ShipsignError as exc:
            return _stopped(targets, n, exc, moved=moved, reads=reads, registries=registries)
        moved.append(n)
    return tuple(
        TagResult(
            repository=repo.name,
            tag=tag,
            digest=digest,
            previous=_digest(reads[n][1]),
            status=TagStatus.MOVED,
        )
        for n, (repo, tag, digest) in enumerate(targets)
    )


def _read(
    registries: Registries, repo: Repository, tag: str, digest: Digest
) -> tuple[Manifest | Index, Manifest | Index | None]:
    """The signed manifest's exact bytes, and what the tag names now (None: no such tag)."""
    client = registries.client(repo.registry)
    manifest = client.fetch_manifest(Reference(repository=repo, digest=digest))
    if manifest is None:
        raise InternalError(
            "the signed manifest is gone from the registry",
            where=f"{repo.name}@{digest}",
            expected="the manifest that was just signed",
            found="404",
        )
    return manifest, client.fetch_manifest(Reference(repository=repo, tag=tag))


def _digest(manifest: Manifest | Index | None) -> Digest | None:
    return None if manifest is None else manifest.digest


def _stopped(
    targets: Sequence[tuple[Repository, str, Digest]],
    failed: int,
    exc: ShipsignError,
    *,
    moved: list[int],
    reads: Sequence[tuple[Manifest | Index, Manifest | Index | None]] = (),
    registries: Registries | None = None,
) -> tuple[TagResult, ...]:
    """The results after target `failed` raised `exc`: moved ones put back, the rest held."""
    out: list[TagResult] = []
    for n, (repo, tag, digest) in enumerate(targets):
        previous = _digest(reads[n][1]) if n < len(reads) else None
        base = TagResult(repository=repo.name, tag=tag, digest=digest, previous=previous,
                         status=TagStatus.HELD)  # fmt: skip
        if n == failed:
            out.append(_with(base, TagStatus.FAILED, exc))
        elif n in moved and registries is not None:
            out.append(_put_back(registries, repo, tag, reads[n][1], base))
        else:
            out.append(base)
    return tuple(out)


def _put_back(
    registries: Registries,
    repo: Repository,
    tag: str,
    previous: Manifest | Index | None,
    base: TagResult,
) -> TagResult:
    client = registries.client(repo.registry)
    try:
        if previous is None:
            client.delete_tag(repo, tag)
        else:
            client.push_manifest(repo, previous, tag=tag)
    except ShipsignError as exc:
        return _with(base, TagStatus.NOT_RESTORED, exc)
    return _with(base, TagStatus.RESTORED, None)


def _with(base: TagResult, status: TagStatus, error: ShipsignError | None) -> TagResult:
    return TagResult(
        repository=base.repository,
        tag=base.tag,
        digest=base.digest,
        previous=base.previous,
        status=status,
        error=error,
    )

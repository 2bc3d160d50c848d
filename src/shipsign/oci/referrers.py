"""Referrers of a subject: the referrers API when the registry serves it, else the
referrers tag schema (`sha256-<hex>` index), which we maintain without losing entries.

formats.md §3.4 and §6.3; distribution-spec "Referrers Tag Schema".
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from shipsign.errors import RegistryError
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Descriptor, Index, merge_index
from shipsign.oci.reference import Digest, Reference, Repository

__all__ = ["ReferrersResult", "ReferrersSource", "add_referrer", "fetch_referrers"]

_log = logging.getLogger(__name__)
_MIN_SETTLE, _MAX_SETTLE = 0.1, 2.0


class ReferrersSource(str, Enum):
    """Where a list of referrers came from."""

    API = "api"
    FALLBACK_TAG = "fallback-tag"


@dataclass(frozen=True, slots=True)
class ReferrersResult:
    """The referrers of one subject and where we found them."""

    source: ReferrersSource
    descriptors: tuple[Descriptor, ...]


def fetch_referrers(
    client: RegistryClient, repo: Repository, subject: Digest, *, artifact_type: str | None = None
) -> ReferrersResult:
    """List `subject`'s referrers: API first, else the fallback tag (absent: none).

    `artifact_type` filters client-side (registries may ignore the query parameter).
    """
    listed = client.fetch_referrers_api(repo, subject)
    if listed is not None:
        source = ReferrersSource.API
    else:
        source = ReferrersSource.FALLBACK_TAG
        listed = _read_fallback(client, repo, subject)[0]
    if artifact_type is not None:
        listed = tuple(d for d in listed if d.artifact_type == artifact_type)
    return ReferrersResult(source, listed)


def _read_fallback(
    client: RegistryClient, repo: Repository, subject: Digest
) -> tuple[tuple[Descriptor, ...], Index | None, str | None]:
    found, etag = client.fetch_manifest_with_etag(Reference(repository=repo, tag=subject.tag_form))
    if found is None:
        return (), None, None
    if not isinstance(found, Index):
        raise RegistryError(
            f"the referrers tag {repo.name}:{subject.tag_form} holds a manifest, not an index",
            registry=repo.registry,
            repository=repo.name,
            operation="fetch referrers",
            expected="an OCI image index",
            found=found.media_type,
        )
    return found.manifests, found, etag


def add_referrer(
    client: RegistryClient,
    repo: Repository,
    subject: Digest,
    entry: Descriptor,
    *,
    attempts: int = 12,
    sleep: Callable[[float], None] = time.sleep,
) -> ReferrersSource:
    """Make the already pushed manifest `entry` discoverable from `subject`.

    With the referrers API the registry keeps the list. Otherwise read the fallback index,
    merge, write (`If-Match` with the ETag when there is one), then confirm by re-reading
    twice: at once, and again after a settle time of a few read-write cycles, so that a
    writer who read before our write and overwrote it is caught. A lost race repeats the
    read-modify-write (go-containerregistry's `commitSubjectReferrers` loses these updates).
    """
    if client.fetch_referrers_api(repo, subject) is not None:
        return ReferrersSource.API
    tag = subject.tag_form
    wrote = False
    for attempt in range(1, attempts + 1):
        started = time.monotonic()
        _, current, etag = _read_fallback(client, repo, subject)
        merged = merge_index(current, entry)
        if merged is not current:
            try:
                client.push_manifest(repo, merged, tag=tag, if_match=etag)
            except RegistryError as exc:
                if exc.status != 412:  # 412: someone wrote since our read
                    raise
                _log.debug("referrers index %s changed under us (412); retrying", tag)
                sleep(_backoff(attempt))
                continue
            wrote = True
        if not wrote:
            return ReferrersSource.FALLBACK_TAG  # listed before we came: nothing to guard
        settle = min(_MAX_SETTLE, max(_MIN_SETTLE, 3 * (time.monotonic() - started)))
        if _listed(client, repo, subject, entry.digest):
            sleep(settle)
            if _listed(client, repo, subject, entry.digest):
                return ReferrersSource.FALLBACK_TAG
        _log.debug("referrers index %s lost our entry to a concurrent writer; retrying", tag)
        sleep(_backoff(attempt))
    raise RegistryError(
        f"cannot add a referrer to {repo.name}@{subject}: other writers kept replacing the "
        f"referrers index {tag} ({attempts} attempts)",
        registry=repo.registry,
        repository=repo.name,
        operation="add referrer",
        hint="too many concurrent writers; try again",
    )


def _listed(client: RegistryClient, repo: Repository, subject: Digest, digest: Digest) -> bool:
    return any(d.digest == digest for d in _read_fallback(client, repo, subject)[0])


def _backoff(attempt: int) -> float:
    # Full jitter: spreads concurrent writers apart so that one of them wins each round.
    return random.uniform(0, min(1.0, 0.05 * 2**attempt))  # noqa: S311  # not cryptographic

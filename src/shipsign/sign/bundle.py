"""Publish one Sigstore bundle as an OCI 1.1 referrer of the image at one location
(formats.md §3.3-3.4): the blobs, the manifest by digest, then the referrers fallback index
where the registry has no referrers API (`oci.referrers.add_referrer` merges and confirms).
"""

from __future__ import annotations

import threading

from shipsign.formats.bundle_ref import BundleArtifact
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import EMPTY_JSON, referrer_descriptor
from shipsign.oci.reference import Digest, Repository
from shipsign.oci.referrers import ReferrersSource, add_referrer

__all__ = ["KnownBlobs", "write_bundle"]


class KnownBlobs:
    """Blobs this run already put in a repository, so that they are not checked again.

    Only for content-addressed blobs shared by many writes (the empty config `{}`). Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[str, Digest]] = set()  # guarded by _lock

    def __contains__(self, item: tuple[str, Digest]) -> bool:
        with self._lock:
            return item in self._seen

    def add(self, item: tuple[str, Digest]) -> None:
        with self._lock:
            self._seen.add(item)


def write_bundle(
    client: RegistryClient,
    repo: Repository,
    subject: Digest,
    artifact: BundleArtifact,
    *,
    known: KnownBlobs,
) -> ReferrersSource:
    """Push `artifact` to `repo` and make it a referrer of `subject` (network).

    Nothing in the registry is replaced: the manifest goes by digest, the index is merged.
    Raises `RegistryError` when the registry fails after retries.
    """
    for digest, data in artifact.blobs:
        key = (repo.name, digest)
        if key in known:
            continue
        client.push_blob(repo, data)
        if data == EMPTY_JSON:
            known.add(key)
    client.push_manifest(repo, artifact.manifest)
    return add_referrer(client, repo, subject, referrer_descriptor(artifact.manifest))

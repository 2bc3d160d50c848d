"""Publish one Sigstore bundle as an OCI 1.1 referrer of the image at one location
(formats.md §3.3-3.4): the blobs and the manifest by digest (`push_bundle`); listing it, in the
referrers fallback index where the registry has no referrers API, is `oci.referrers`' job
(`write_referrer` merges, `confirm_referrers` confirms a batch).
"""

from __future__ import annotations

import threading

from shipsign.formats.bundle_ref import BundleArtifact
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import EMPTY_JSON
from shipsign.oci.reference import Digest, Repository

__all__ = ["KnownBlobs", "push_bundle"]


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


def push_bundle(
    client: RegistryClient, repo: Repository, artifact: BundleArtifact, *, known: KnownBlobs
) -> None:
    """Push `artifact`'s blobs and its manifest (by digest) to `repo` (network).

    Nothing in the registry is replaced. Raises `RegistryError` when the registry fails after
    retries.
    """
    for digest, data in artifact.blobs:
        key = (repo.name, digest)
        if key in known:
            continue
        if data == EMPTY_JSON:
            client.push_blob(repo, data)  # shared by every artifact: usually there already
            known.add(key)
        else:
            client.push_blob(repo, data, check_first=False)  # the bundle: a fresh signature
    client.push_manifest(repo, artifact.manifest)

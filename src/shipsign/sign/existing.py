"""Is the signature we would add already there? A valid signature by the same identity and
issuer, in the same format, over the same claims (the legacy payload names this repository and
carries our annotations; the bundle's statement is cosign's sign predicate with our annotations).

Reads only. Signatures by anyone else are never touched: they are simply not ours. The read of
the `.sig` tag or the referrers list is the caller's (`fetch_sig`, `fetch_referrers`), so that a
write that follows at once can merge into it instead of reading again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from shipsign.errors import InputError
from shipsign.formats.bundle_ref import (
    ANNOTATION_PREDICATE,
    COSIGN_SIGN_PREDICATE,
    bundle_layer,
    is_bundle_referrer,
)
from shipsign.formats.legacy_sig import CERTIFICATE_ANNOTATION, decode_legacy_signature
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.certs import parse_cert_identity
from shipsign.keyless.legacy_verify import verify_legacy_signature
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust_material import TrustMaterial
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Index, Manifest
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.oci.referrers import ReferrersResult
from shipsign.oci.shared_tag import FRESH_READ, Clock
from shipsign.sign.statement import read_claims

__all__ = [
    "Existing",
    "Mine",
    "SigRead",
    "fetch_sig",
    "find_bundle",
    "find_legacy",
    "signature_tag",
]

_PAYLOAD_MAX = 1024 * 1024
_BUNDLE_MAX = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Mine:
    """Who we sign as and what we claim: the signature we would add must match all of it."""

    identity: str
    issuer: str
    annotations: Mapping[str, str]
    trust: TrustMaterial
    now: datetime

    @property
    def policy(self) -> IdentityPolicy:
        return IdentityPolicy.exact(identity=self.identity, issuer=self.issuer)


@dataclass(frozen=True, slots=True, kw_only=True)
class Existing:
    """A signature of ours that is already in the registry, and where."""

    manifest: Digest  # the .sig manifest, or the bundle referrer manifest
    log_index: int | None
    where: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SigRead:
    """One read of a `.sig` tag: what it held, its ETag, and when the read started."""

    manifest: Manifest | Index | None
    etag: str | None
    read_at: float  # on the reader's `Clock` (time.monotonic unless a test gave another)

    def fresh(self, now: float) -> bool:
        """Young enough at `now` to be the base of a write (`oci.shared_tag.FRESH_READ`): a
        stale base would lose layers written since, by writers who may have confirmed theirs
        already."""
        return now - self.read_at <= FRESH_READ


def signature_tag(digest: Digest) -> str:
    """cosign's legacy signature tag: `sha256-<hex>.sig`."""
    return f"{digest.tag_form}.sig"


def fetch_sig(
    client: RegistryClient, repo: Repository, digest: Digest, *, clock: Clock = time.monotonic
) -> SigRead:
    """Read `digest`'s `.sig` manifest with its ETag (network); absent is a `SigRead` too."""
    started = clock()
    ref = Reference(repository=repo, tag=signature_tag(digest))
    manifest, etag = client.fetch_manifest_with_etag(ref)
    return SigRead(manifest=manifest, etag=etag, read_at=started)


def find_legacy(
    client: RegistryClient, repo: Repository, digest: Digest, mine: Mine, read: SigRead
) -> Existing | None:
    """Look for our signature among the layers of the `.sig` manifest `read` found (network:
    the payloads of layers certified for us; the others are not even fetched)."""
    tag = signature_tag(digest)
    manifest = read.manifest
    if not isinstance(manifest, Manifest):
        return None
    for n, layer in enumerate(manifest.layers):
        if not _certified_for(layer.annotations.get(CERTIFICATE_ANNOTATION), mine):
            continue
        payload = client.fetch_blob(repo, layer.digest, max_bytes=_PAYLOAD_MAX)
        if payload is None:
            continue
        signature = decode_legacy_signature(
            payload, layer.annotations, layer_digest=str(layer.digest), media_type=layer.media_type
        )
        claims = signature.claims
        if claims is None or claims.docker_reference != repo.name:
            continue  # e.g. copied from another registry: not the signature we would add here
        if dict(claims.optional or {}) != dict(mine.annotations):
            continue
        outcome = verify_legacy_signature(
            signature, image_digest=str(digest), now=mine.now, trust=mine.trust, policy=mine.policy
        )
        if outcome.passed:
            return Existing(
                manifest=manifest.digest,
                log_index=outcome.facts.log_index,
                where=f"{repo.name}:{tag} layer {n}",
            )
    return None


def find_bundle(
    client: RegistryClient, repo: Repository, digest: Digest, mine: Mine, listed: ReferrersResult
) -> Existing | None:
    """Look for our cosign-sign bundle among `digest`'s referrers as `listed` (network: the
    manifests and bundles of the candidates)."""
    for desc in listed.descriptors:
        predicate = desc.annotations.get(ANNOTATION_PREDICATE)
        if not is_bundle_referrer(desc) or predicate not in (None, COSIGN_SIGN_PREDICATE):
            continue  # attestations and other artifacts are not signatures we would add
        manifest = client.fetch_manifest(Reference(repository=repo, digest=desc.digest))
        layer = bundle_layer(manifest) if manifest is not None else None
        if layer is None:
            continue
        blob = client.fetch_blob(repo, layer.digest, max_bytes=_BUNDLE_MAX)
        claims = read_claims(blob, digest) if blob is not None else None
        if blob is None or claims is None or claims.predicate_type != COSIGN_SIGN_PREDICATE:
            continue
        if dict(claims.annotations) != dict(mine.annotations):
            continue
        outcome = verify_bundle(
            blob, trust=mine.trust, policy=mine.policy, digest=str(digest), require_dsse=True
        )
        if outcome.passed:
            return Existing(
                manifest=desc.digest,
                log_index=outcome.facts.log_index,
                where=f"{repo.name} bundle referrer {desc.digest}",
            )
    return None


def _certified_for(pem: str | None, mine: Mine) -> bool:
    if pem is None:
        return False
    try:
        who = parse_cert_identity(pem)
    except InputError:
        return False
    return who.identity == mine.identity and who.issuer == mine.issuer

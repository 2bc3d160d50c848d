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

from shipsign.formats.legacy_sig import decode_legacy_signature
from shipsign.keyless.certs import CertIdentity
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust_material import TrustMaterial
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Descriptor, Index, Manifest
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.oci.referrers import ReferrersResult, ReferrersSource
from shipsign.oci.shared_tag import FRESH_READ, Clock
from shipsign.sign.statement import read_claims
from shipsign.signatures import (
    Candidate,
    Kind,
    SignatureChecks,
    layer_signer,
    legacy_candidates,
    referrer_candidates,
    signature_tag,
)

__all__ = [
    "Existing",
    "Mine",
    "SigRead",
    "fetch_sig",
    "find_bundle",
    "find_legacy",
    "signature_tag",
]


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

    @property
    def checks(self) -> SignatureChecks:
        """Our signature is checked as any consumer's verify would check it."""
        return SignatureChecks(trust=self.trust, policy=self.policy, now=self.now)


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
    candidates = legacy_candidates(
        client, repo, digest, read.manifest, select=lambda layer: _certified_for(layer, mine)
    )
    for candidate in candidates:
        if candidate.content is None or not _legacy_claims_are_mine(candidate, repo, mine):
            continue
        found = _if_valid(mine, candidate, digest, where=candidate.location)
        if found is not None:
            return found
    return None


def find_bundle(
    client: RegistryClient, repo: Repository, digest: Digest, mine: Mine, listed: ReferrersResult
) -> Existing | None:
    """Look for our cosign-sign bundle among `digest`'s referrers as `listed` (network: the
    manifests and bundles of the candidates; attestations and other artifacts are not
    signatures we would add, and are not fetched when their entry says what they are)."""
    api = listed.source is ReferrersSource.API
    where = "referrers API" if api else f"referrers tag {digest.tag_form}"
    for candidate in referrer_candidates(client, repo, digest, listed.descriptors, where=where):
        if candidate.kind is not Kind.SIGNATURE or candidate.content is None:
            continue
        claims = read_claims(candidate.content, digest)  # its predicate: cosign's sign
        if claims is None or dict(claims.annotations) != dict(mine.annotations):
            continue
        at = f"{repo.name} bundle referrer {candidate.manifest}"
        found = _if_valid(mine, candidate, digest, where=at)
        if found is not None:
            return found
    return None


def _if_valid(mine: Mine, candidate: Candidate, digest: Digest, *, where: str) -> Existing | None:
    """`candidate` as an `Existing` signature when it passes the checks any verify would make."""
    outcome = mine.checks.check(candidate, digest)
    if not outcome.passed:
        return None
    return Existing(manifest=candidate.manifest, log_index=outcome.facts.log_index, where=where)


def _legacy_claims_are_mine(candidate: Candidate, repo: Repository, mine: Mine) -> bool:
    """Whether a `.sig` layer claims what our signature would: this repository's name (not a
    copy from another registry) and exactly our annotations."""
    if candidate.content is None or candidate.layer is None:
        return False
    layer = candidate.layer
    signature = decode_legacy_signature(
        candidate.content,
        layer.annotations,
        layer_digest=str(layer.digest),
        media_type=layer.media_type,
    )
    claims = signature.claims
    if claims is None or claims.docker_reference != repo.name:
        return False
    return dict(claims.optional or {}) == dict(mine.annotations)


def _certified_for(layer: Descriptor, mine: Mine) -> bool:
    who = layer_signer(layer)
    return (
        isinstance(who, CertIdentity)
        and who.identity == mine.identity
        and who.issuer == mine.issuer
    )

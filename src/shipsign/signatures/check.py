"""Check candidates (`shipsign.signatures.find`) against a run's trust and identity policy.

Only image signatures are checked and counted. Attestations are kept aside for the report;
other referrers are dropped. What is wrong with a signature comes back as its outcome.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from shipsign.checks import (
    Check,
    CheckFailure,
    SignatureFacts,
    SignatureFormat,
    SignatureOutcome,
)
from shipsign.errors import InputError
from shipsign.formats.legacy_sig import decode_legacy_signature
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.keys import VerificationKey
from shipsign.keyless.legacy_verify import verify_legacy_signature
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust_material import TrustMaterial
from shipsign.oci.media import Descriptor
from shipsign.oci.reference import Digest
from shipsign.signatures.find import Candidate, Kind

__all__ = ["Found", "FoundSignature", "SignatureChecks", "check_candidates"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundSignature:
    """One signature found for an image, where it was found, and its verdict.

    `manifest` is the signature manifest that holds it in the image's repository: the `.sig`
    manifest (legacy) or the bundle referrer manifest; None for a bundle read from a file.
    """

    location: str
    outcome: SignatureOutcome
    manifest: Digest | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureChecks:
    """How every signature of a run is checked: trust, policy or key, and relaxations."""

    trust: TrustMaterial | None
    policy: IdentityPolicy
    key: VerificationKey | None = None
    now: datetime
    require_sct: bool = True
    require_tlog: bool = True

    def check(self, candidate: Candidate, digest: Digest) -> SignatureOutcome:
        """Check one image signature of `digest`; a candidate found broken fails as found.

        Raises `ValueError` (a bug of the caller's) for a candidate that is not an image
        signature: an attestation must never be checked as one; callers sort first.
        """
        if candidate.kind is not Kind.SIGNATURE:
            raise ValueError(f"{candidate.location} is not an image signature, not checked")
        content, layer = candidate.content, candidate.layer
        if candidate.problem is not None or content is None or layer is None:
            failure = candidate.problem or CheckFailure(
                check=Check.PAYLOAD.value,
                expected="the signature's content",
                found="nothing was read",
                where=candidate.location,
            )
            return SignatureOutcome(
                format=candidate.format, facts=SignatureFacts(), failures=(failure,)
            )
        if candidate.format is SignatureFormat.BUNDLE:
            return self.bundle(content, digest, where=candidate.location)
        return self.legacy(content, layer, digest)

    def bundle(self, blob: bytes, digest: Digest, *, where: str = "") -> SignatureOutcome:
        """Check a bundle referrer's JSON as cosign v3 would for an image.

        Only for sha256 image digests: cosign's bundles name their subject by sha256, and a
        statement about another digest cannot be matched to it (a failed check, not an error).
        """
        if self.trust is None:  # bundles are only read in keyless mode, which loads trust
            raise InputError("a Sigstore bundle cannot be verified without a trusted root")
        if digest.algorithm != "sha256":
            failure = CheckFailure(
                check=Check.ARTIFACT_DIGEST.value,
                expected="a sha256 image digest (cosign's bundles name sha256 subjects)",
                found=f"{digest.algorithm} image digest {digest}; the bundle was not checked",
                where=where or "image digest",
            )
            return SignatureOutcome(
                format=SignatureFormat.BUNDLE, facts=SignatureFacts(), failures=(failure,)
            )
        return verify_bundle(
            blob, trust=self.trust, policy=self.policy, digest=str(digest), require_dsse=True
        )

    def legacy(self, payload: bytes, layer: Descriptor, digest: Digest) -> SignatureOutcome:
        """Check one `.sig` layer (its blob and its annotations)."""
        signature = decode_legacy_signature(
            payload, layer.annotations, layer_digest=str(layer.digest), media_type=layer.media_type
        )
        return verify_legacy_signature(
            signature,
            image_digest=str(digest),
            now=self.now,
            trust=self.trust,
            policy=self.policy,
            key=self.key,
            require_tlog=self.require_tlog,
            require_sct=self.require_sct,
        )


@dataclass(slots=True)
class Found:
    """What one place held for a digest: its signatures, each checked, and its attestations,
    which are reported and never counted."""

    signatures: list[FoundSignature] = field(default_factory=list)
    attestations: list[Candidate] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether some signature passed every check."""
        return any(s.outcome.passed for s in self.signatures)


def check_candidates(
    candidates: Iterable[Candidate],
    checks: SignatureChecks,
    digest: Digest,
    *,
    first_pass: bool = False,
) -> Found:
    """Check every image signature among `candidates`; with `first_pass`, stop asking for more
    (and so stop fetching, for `find`'s lazy places) once one passes."""
    found = Found()
    for candidate in candidates:
        if candidate.kind is Kind.ATTESTATION:
            found.attestations.append(candidate)
        if candidate.kind is not Kind.SIGNATURE:
            continue
        outcome = checks.check(candidate, digest)
        found.signatures.append(
            FoundSignature(
                location=candidate.location, outcome=outcome, manifest=candidate.manifest
            )
        )
        if first_pass and outcome.passed:
            break
    return found

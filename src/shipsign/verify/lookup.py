"""Find the signatures cosign could have written for one image digest, and check each.

Two places (formats.md §1.1, §3.4): Sigstore bundles among the digest's OCI referrers (the
referrers API and what only the `sha256-<hex>` referrers tag lists, else that tag; see
`shipsign.oci.referrers`), and the layers of the legacy
`sha256-<hex>.sig` manifest. Registry failures propagate as `UnreachableError`; what is wrong
with a signature comes back as its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shipsign.errors import InputError
from shipsign.formats.bundle_ref import bundle_layer, is_bundle_referrer
from shipsign.formats.legacy_sig import decode_legacy_signature
from shipsign.formats.sig_manifest import MAX_SIGNATURES
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.checks import (
    Check,
    CheckFailure,
    SignatureFacts,
    SignatureFormat,
    SignatureOutcome,
)
from shipsign.keyless.keys import VerificationKey
from shipsign.keyless.legacy_verify import verify_legacy_signature
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust_material import TrustMaterial
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Descriptor, Index, Manifest
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.oci.referrers import ReferrersSource, fetch_referrers
from shipsign.verify.report import FoundSignature

__all__ = ["SignatureChecks", "fetch_bundle_signatures", "fetch_legacy_signatures"]

_PAYLOAD_MAX = 1024 * 1024  # a simple-signing payload is a few hundred bytes
_BUNDLE_MAX = 4 * 1024 * 1024  # a bundle is a few KiB; cap what a hostile registry can send


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureChecks:
    """How every signature of a run is checked: trust, policy or key, and relaxations."""

    trust: TrustMaterial | None
    policy: IdentityPolicy
    key: VerificationKey | None
    now: datetime
    require_sct: bool = True
    require_tlog: bool = True

    def bundle(self, blob: bytes, digest: Digest, *, where: str = "") -> SignatureOutcome:
        """Check a bundle referrer's JSON as cosign v3 would for an image.

        Only for sha256 image digests: cosign's bundles name their subject by sha256, and a
        statement about another digest cannot be matched to it (a failed check, not an error).
        """
        if self.trust is None:  # bundles are only read in keyless mode, which loads trust
            raise InputError("a Sigstore bundle cannot be verified without a trusted root")
        if digest.algorithm != "sha256":
            return _outcome(
                SignatureFormat.BUNDLE,
                CheckFailure(
                    check=Check.ARTIFACT_DIGEST.value,
                    expected="a sha256 image digest (cosign's bundles name sha256 subjects)",
                    found=f"{digest.algorithm} image digest {digest}; the bundle was not checked",
                    where=where or "image digest",
                ),
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


def fetch_bundle_signatures(
    client: RegistryClient,
    checks: SignatureChecks,
    repo: Repository,
    digest: Digest,
    looked: list[str],
) -> list[FoundSignature]:
    """Check every bundle referrer of `digest`; append where we looked to `looked`."""
    listed = fetch_referrers(client, repo, digest, also_tag=True)
    if listed.source is ReferrersSource.API:
        looked.append(f"{repo.name} referrers API")
        looked.append(f"{repo.name}:{digest.tag_form} (referrers tag)")
    else:
        looked.append(f"{repo.name}:{digest.tag_form} (referrers tag; no referrers API)")
    found = []
    for desc in listed.descriptors:
        if not is_bundle_referrer(desc):
            continue
        api = listed.found_in(desc) is ReferrersSource.API
        where = "referrers API" if api else f"referrers tag {digest.tag_form}"
        manifest = client.fetch_manifest(Reference(repository=repo, digest=desc.digest))
        layer = bundle_layer(manifest) if manifest is not None else None
        if layer is None:
            continue  # another kind of referrer (SBOM, attestation in another format, ...)
        location = f"{repo.name}@{desc.digest} (bundle referrer, {where})"
        blob = client.fetch_blob(repo, layer.digest, max_bytes=_BUNDLE_MAX)
        if blob is None:
            outcome = _missing(SignatureFormat.BUNDLE, layer.digest, location)
        else:
            outcome = checks.bundle(blob, digest, where=location)
        found.append(FoundSignature(location=location, outcome=outcome, manifest=desc.digest))
    return found


def fetch_legacy_signatures(
    client: RegistryClient,
    checks: SignatureChecks,
    repo: Repository,
    digest: Digest,
    looked: list[str],
) -> list[FoundSignature]:
    """Check every layer of `digest`'s `.sig` manifest; append where we looked to `looked`."""
    tag = f"{digest.tag_form}.sig"
    where = f"{repo.name}:{tag}"
    looked.append(where)
    manifest = client.fetch_manifest(Reference(repository=repo, tag=tag))
    if manifest is None:
        return []
    if isinstance(manifest, Index):
        failure = CheckFailure(
            check=Check.PAYLOAD.value,
            expected="an image manifest with one layer per signature",
            found="an image index",
            where=where,
        )
        outcome = _outcome(SignatureFormat.LEGACY, failure)
        return [FoundSignature(location=where, outcome=outcome, manifest=manifest.digest)]
    found = []
    # cosign's limit: each layer is a fetch of up to 1 MiB, and a registry (or anyone who may
    # push to the repository) decides how many there are.
    for n, layer in enumerate(manifest.layers[:MAX_SIGNATURES]):
        location = f"{where} layer {n}"
        payload = client.fetch_blob(repo, layer.digest, max_bytes=_PAYLOAD_MAX)
        if payload is None:
            outcome = _missing(SignatureFormat.LEGACY, layer.digest, location)
        else:
            outcome = checks.legacy(payload, layer, digest)
        found.append(FoundSignature(location=location, outcome=outcome, manifest=manifest.digest))
    if len(manifest.layers) > MAX_SIGNATURES:
        found.append(_too_many(manifest, where))
    return found


def _too_many(manifest: Manifest, where: str) -> FoundSignature:
    """The layers past cosign's limit, reported as one failed signature, never fetched."""
    count = len(manifest.layers)
    failure = CheckFailure(
        check=Check.PAYLOAD.value,
        expected=f"at most {MAX_SIGNATURES} signature layers (cosign's limit)",
        found=f"{count} layers; the last {count - MAX_SIGNATURES} were not fetched or checked",
        where=f"{where} layers {MAX_SIGNATURES}-{count - 1}",
    )
    outcome = _outcome(SignatureFormat.LEGACY, failure)
    return FoundSignature(location=failure.where, outcome=outcome, manifest=manifest.digest)


def _missing(fmt: SignatureFormat, digest: Digest, location: str) -> SignatureOutcome:
    failure = CheckFailure(
        check=Check.LAYER_DIGEST.value,
        expected=f"blob {digest} in the registry",
        found="404: the manifest lists a blob the registry does not have",
        where=location,
    )
    return _outcome(fmt, failure)


def _outcome(fmt: SignatureFormat, failure: CheckFailure) -> SignatureOutcome:
    return SignatureOutcome(format=fmt, facts=SignatureFacts(), failures=(failure,))

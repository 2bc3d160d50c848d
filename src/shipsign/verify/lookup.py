"""Find the signatures cosign could have written for one image digest, and check each.

Two places (formats.md §1.1, §3.4): Sigstore bundles among the digest's OCI referrers (the
referrers API and what only the `sha256-<hex>` referrers tag lists, else that tag; see
`shipsign.oci.referrers`), and the layers of the legacy
`sha256-<hex>.sig` manifest. Registry failures propagate as `UnreachableError`; what is wrong
with a signature comes back as its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shipsign.errors import InputError
from shipsign.formats.bundle_ref import (
    ANNOTATION_PREDICATE,
    COSIGN_SIGN_PREDICATE,
    bundle_layer,
    is_bundle_referrer,
    statement_predicate_type,
)
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
from shipsign.oci.referrers import ReferrersSource, add_tag_entries, fetch_referrers
from shipsign.verify.report import FoundSignature

__all__ = ["Found", "SignatureChecks", "fetch_bundle_signatures", "fetch_legacy_signatures"]

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


@dataclass(slots=True)
class Found:
    """What one place held for a digest: signatures (each checked), and what is attached there
    but is not an image signature (`others`: attestations, described), never counted."""

    signatures: list[FoundSignature] = field(default_factory=list)
    others: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return any(s.outcome.passed for s in self.signatures)


def fetch_bundle_signatures(
    client: RegistryClient,
    checks: SignatureChecks,
    repo: Repository,
    digest: Digest,
    looked: list[str],
    *,
    first_pass: bool = False,
) -> Found:
    """Check the bundle referrers of `digest` that are image signatures.

    Where the registry has the referrers API, its list comes first; the fallback tag's entries
    it does not list are read afterwards (see `shipsign.oci.referrers`). With `first_pass`,
    stop at the first signature that passes: the tag is then read only when no bundle in the
    API's list passed, so a signed image costs the list, one manifest and one blob.
    Appends where it looked to `looked`.
    """
    listed = fetch_referrers(client, repo, digest)
    found = Found()
    if listed.source is not ReferrersSource.API:
        looked.append(f"{repo.name}:{digest.tag_form} (referrers tag; no referrers API)")
        _check_referrers(client, checks, repo, digest, listed.descriptors, "", found, first_pass)
        return found
    looked.append(f"{repo.name} referrers API")
    _check_referrers(
        client, checks, repo, digest, listed.descriptors, "referrers API", found, first_pass
    )
    if first_pass and found.passed:
        return found
    looked.append(f"{repo.name}:{digest.tag_form} (referrers tag)")
    more = add_tag_entries(client, repo, digest, listed.descriptors)
    extra = tuple(d for d in more.descriptors if d.digest in more.tag_only)
    where = f"referrers tag {digest.tag_form}"
    _check_referrers(client, checks, repo, digest, extra, where, found, first_pass)
    return found


def _check_referrers(
    client: RegistryClient,
    checks: SignatureChecks,
    repo: Repository,
    digest: Digest,
    descriptors: tuple[Descriptor, ...],
    where: str,
    found: Found,
    first_pass: bool,
) -> None:
    """Sort and check `descriptors` into `found`; each manifest and blob is fetched once."""
    where = where or f"referrers tag {digest.tag_form}"
    for desc in descriptors:
        if not is_bundle_referrer(desc):
            continue
        location = f"{repo.name}@{desc.digest} (bundle referrer, {where})"
        declared = desc.annotations.get(ANNOTATION_PREDICATE)
        if declared is not None and declared != COSIGN_SIGN_PREDICATE:
            found.others.append(_attestation(declared, location))
            continue  # an attestation by its own account: not fetched, never counted
        manifest = client.fetch_manifest(Reference(repository=repo, digest=desc.digest))
        layer = bundle_layer(manifest) if manifest is not None else None
        if layer is None:
            continue  # another kind of referrer (SBOM, attestation in another format, ...)
        blob = client.fetch_blob(repo, layer.digest, max_bytes=_BUNDLE_MAX)
        if blob is None:
            outcome = _missing(SignatureFormat.BUNDLE, layer.digest, location)
        else:
            predicate = statement_predicate_type(blob)
            if predicate is not None and predicate != COSIGN_SIGN_PREDICATE:
                found.others.append(_attestation(predicate, location))
                continue  # whatever it proves, it is not a signature of the image
            outcome = checks.bundle(blob, digest, where=location)
        found.signatures.append(
            FoundSignature(location=location, outcome=outcome, manifest=desc.digest)
        )
        if first_pass and outcome.passed:
            return


def _attestation(predicate: str, location: str) -> str:
    return (
        f"an in-toto attestation (predicate {predicate}) at {location}: "
        "an attestation is not a signature of the image, so it is not counted"
    )


def fetch_legacy_signatures(
    client: RegistryClient,
    checks: SignatureChecks,
    repo: Repository,
    digest: Digest,
    looked: list[str],
    *,
    first_pass: bool = False,
) -> Found:
    """Check the layers of `digest`'s `.sig` manifest (with `first_pass`, up to the first that
    passes); append where we looked to `looked`."""
    tag = f"{digest.tag_form}.sig"
    where = f"{repo.name}:{tag}"
    looked.append(where)
    found = Found()
    manifest = client.fetch_manifest(Reference(repository=repo, tag=tag))
    if manifest is None:
        return found
    if isinstance(manifest, Index):
        failure = CheckFailure(
            check=Check.PAYLOAD.value,
            expected="an image manifest with one layer per signature",
            found="an image index",
            where=where,
        )
        outcome = _outcome(SignatureFormat.LEGACY, failure)
        found.signatures.append(
            FoundSignature(location=where, outcome=outcome, manifest=manifest.digest)
        )
        return found
    # cosign's limit: each layer is a fetch of up to 1 MiB, and a registry (or anyone who may
    # push to the repository) decides how many there are.
    for n, layer in enumerate(manifest.layers[:MAX_SIGNATURES]):
        location = f"{where} layer {n}"
        payload = client.fetch_blob(repo, layer.digest, max_bytes=_PAYLOAD_MAX)
        if payload is None:
            outcome = _missing(SignatureFormat.LEGACY, layer.digest, location)
        else:
            outcome = checks.legacy(payload, layer, digest)
        found.signatures.append(
            FoundSignature(location=location, outcome=outcome, manifest=manifest.digest)
        )
        if first_pass and outcome.passed:
            return found
    if len(manifest.layers) > MAX_SIGNATURES:
        found.signatures.append(_too_many(manifest, where))
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

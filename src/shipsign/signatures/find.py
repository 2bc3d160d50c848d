"""Find what is attached to an image digest in the two places cosign writes signatures, and
sort each candidate: an image signature, an attestation (with its predicate type), or other.

Places (formats.md §1.1, §3.4): Sigstore bundles among the digest's OCI referrers, and the
layers of the legacy `sha256-<hex>.sig` manifest. A legacy layer is always a signature; a
bundle referrer is one only when its in-toto statement has cosign's sign predicate
(`https://sigstore.dev/cosign/sign/v1`). Any other predicate (SLSA provenance, an SBOM, ...)
makes it an attestation: it says something about the image, but it is not a signature of it.

Lazy: each place is a generator that fetches a manifest or blob only when the caller asks for
the next candidate, so a caller that stops at the first good signature stops the requests too.
Registry failures propagate as `UnreachableError`; what is wrong with a candidate that was found
(a missing blob, too many layers) travels with it as `problem`, for the check to fail on.
Checking a candidate against a policy is `shipsign.signatures.check`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from shipsign.checks import Check, CheckFailure, SignatureFormat
from shipsign.errors import InputError
from shipsign.formats.bundle_ref import (
    ANNOTATION_PREDICATE,
    COSIGN_SIGN_PREDICATE,
    bundle_layer,
    is_bundle_referrer,
    statement_predicate_type,
)
from shipsign.formats.legacy_sig import CERTIFICATE_ANNOTATION
from shipsign.formats.sig_manifest import MAX_SIGNATURES
from shipsign.keyless.certs import CertIdentity, parse_cert_identity
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Descriptor, Index, Manifest
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.oci.referrers import ReferrersSource, add_tag_entries, fetch_referrers

__all__ = [
    "Candidate",
    "Kind",
    "classify_referrer",
    "find_bundles",
    "find_legacy",
    "layer_signer",
    "legacy_candidates",
    "referrer_candidates",
    "signature_tag",
]

_PAYLOAD_MAX = 1024 * 1024  # a simple-signing payload is a few hundred bytes
_BUNDLE_MAX = 4 * 1024 * 1024  # a bundle is a few KiB; cap what a hostile registry can send


class Kind(str, Enum):
    """What a candidate is, as cosign's formats define it."""

    SIGNATURE = "signature"  # a `.sig` layer, or a bundle with cosign's sign predicate
    ATTESTATION = "attestation"  # a bundle whose statement has another predicate type
    OTHER = "other"  # a referrer that is not a Sigstore bundle (an SBOM artifact, ...)


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """One thing found for a digest, sorted, with what a check needs.

    `manifest` is the `.sig` manifest or the referrer manifest; `layer` the `.sig` layer or the
    bundle layer (None when never fetched); `content` the payload or bundle JSON (None when not
    fetched or absent, and then `problem` says why when it matters to a check).
    """

    kind: Kind
    format: SignatureFormat
    location: str
    manifest: Digest
    layer: Descriptor | None = None
    content: bytes | None = None
    predicate_type: str | None = None
    problem: CheckFailure | None = None

    def describe(self) -> str:
        """One line for a report that names what was found but not counted."""
        if self.kind is Kind.ATTESTATION:
            return (
                f"an in-toto attestation (predicate {self.predicate_type}) at {self.location}: "
                "an attestation is not a signature of the image, so it is not counted"
            )
        return f"a referrer that is not a Sigstore bundle at {self.location}"


def signature_tag(digest: Digest) -> str:
    """cosign's legacy signature tag: `sha256-<hex>.sig`."""
    return f"{digest.tag_form}.sig"


def classify_referrer(descriptor: Descriptor) -> tuple[Kind | None, str | None]:
    """What a referrers-index entry says it is, without fetching anything: the kind (None when
    only its manifest and bundle can tell) and the predicate type it declares.

    cosign writes the predicate type as an annotation on the referrer manifest, which the
    referrers API and the fallback tag copy into the entry; older writers leave it out.
    """
    declared = descriptor.annotations.get(ANNOTATION_PREDICATE)
    if not is_bundle_referrer(descriptor):
        return Kind.OTHER, declared
    if declared is not None and declared != COSIGN_SIGN_PREDICATE:
        return Kind.ATTESTATION, declared
    return None, declared


def find_bundles(
    client: RegistryClient, repo: Repository, digest: Digest, looked: list[str]
) -> Iterator[Candidate]:
    """Every bundle referrer of `digest`, sorted, as the caller asks for them (network).

    Where the registry has the referrers API its list comes first, and the fallback tag's
    entries it does not list follow: the tag is only read when the caller asks past the API's
    list (see `shipsign.oci.referrers`). Appends each place to `looked` as it is read.
    """
    listed = fetch_referrers(client, repo, digest)
    tag_where = f"referrers tag {digest.tag_form}"
    if listed.source is not ReferrersSource.API:
        looked.append(f"{repo.name}:{digest.tag_form} (referrers tag; no referrers API)")
        yield from referrer_candidates(client, repo, digest, listed.descriptors, where=tag_where)
        return
    looked.append(f"{repo.name} referrers API")
    yield from referrer_candidates(client, repo, digest, listed.descriptors, where="referrers API")
    looked.append(f"{repo.name}:{digest.tag_form} (referrers tag)")
    more = add_tag_entries(client, repo, digest, listed.descriptors)
    extra = tuple(d for d in more.descriptors if d.digest in more.tag_only)
    yield from referrer_candidates(client, repo, digest, extra, where=tag_where)


def referrer_candidates(
    client: RegistryClient,
    repo: Repository,
    digest: Digest,
    descriptors: tuple[Descriptor, ...],
    *,
    where: str,
) -> Iterator[Candidate]:
    """Sort `descriptors` (referrers of `digest` listed at `where`), fetching what that needs.

    An entry that declares another predicate is an attestation by its own account and is not
    fetched. Otherwise the manifest, then the bundle, are read: the statement inside decides,
    whatever the annotation said, so a bundle cannot pass for a signature by its label alone.
    """
    for desc in descriptors:
        location = f"{repo.name}@{desc.digest} (bundle referrer, {where})"
        kind, declared = classify_referrer(desc)
        if kind is not None:
            yield Candidate(
                kind=kind,
                format=SignatureFormat.BUNDLE,
                location=location,
                manifest=desc.digest,
                predicate_type=declared,
            )
            continue
        manifest = client.fetch_manifest(Reference(repository=repo, digest=desc.digest))
        layer = bundle_layer(manifest) if manifest is not None else None
        if layer is None:  # cosign, too, reads only one-layer manifests of a bundle type
            yield Candidate(
                kind=Kind.OTHER,
                format=SignatureFormat.BUNDLE,
                location=location,
                manifest=desc.digest,
            )
            continue
        blob = client.fetch_blob(repo, layer.digest, max_bytes=_BUNDLE_MAX)
        if blob is None:
            yield _missing(SignatureFormat.BUNDLE, desc.digest, layer, location)
            continue
        predicate = statement_predicate_type(blob)
        attestation = predicate is not None and predicate != COSIGN_SIGN_PREDICATE
        yield Candidate(
            kind=Kind.ATTESTATION if attestation else Kind.SIGNATURE,
            format=SignatureFormat.BUNDLE,
            location=location,
            manifest=desc.digest,
            layer=layer,
            content=blob,
            predicate_type=predicate,
        )


def find_legacy(
    client: RegistryClient, repo: Repository, digest: Digest, looked: list[str]
) -> Iterator[Candidate]:
    """Every layer of `digest`'s `.sig` manifest, as the caller asks for them (network)."""
    tag = signature_tag(digest)
    looked.append(f"{repo.name}:{tag}")
    manifest = client.fetch_manifest(Reference(repository=repo, tag=tag))
    yield from legacy_candidates(client, repo, digest, manifest)


def legacy_candidates(
    client: RegistryClient,
    repo: Repository,
    digest: Digest,
    manifest: Manifest | Index | None,
    *,
    select: Callable[[Descriptor], bool] | None = None,
) -> Iterator[Candidate]:
    """The signatures of a `.sig` manifest already read, each payload fetched when asked for.

    cosign's limit applies: at most `MAX_SIGNATURES` layers are read (each is a fetch of up to
    1 MiB, and whoever may push to the repository decides how many there are); the rest come
    as one candidate with that problem. `select` skips layers (by descriptor, before any fetch)
    that the caller has no use for.
    """
    where = f"{repo.name}:{signature_tag(digest)}"
    if manifest is None:
        return
    if isinstance(manifest, Index):
        failure = CheckFailure(
            check=Check.PAYLOAD.value,
            expected="an image manifest with one layer per signature",
            found="an image index",
            where=where,
        )
        yield _legacy_problem(manifest.digest, where, failure)
        return
    for n, layer in enumerate(manifest.layers[:MAX_SIGNATURES]):
        if select is not None and not select(layer):
            continue
        location = f"{where} layer {n}"
        payload = client.fetch_blob(repo, layer.digest, max_bytes=_PAYLOAD_MAX)
        if payload is None:
            yield _missing(SignatureFormat.LEGACY, manifest.digest, layer, location)
            continue
        yield Candidate(
            kind=Kind.SIGNATURE,
            format=SignatureFormat.LEGACY,
            location=location,
            manifest=manifest.digest,
            layer=layer,
            content=payload,
        )
    count = len(manifest.layers)
    if count > MAX_SIGNATURES:
        failure = CheckFailure(
            check=Check.PAYLOAD.value,
            expected=f"at most {MAX_SIGNATURES} signature layers (cosign's limit)",
            found=f"{count} layers; the last {count - MAX_SIGNATURES} were not fetched or checked",
            where=f"{where} layers {MAX_SIGNATURES}-{count - 1}",
        )
        yield _legacy_problem(manifest.digest, failure.where, failure)


def layer_signer(layer: Descriptor) -> CertIdentity | InputError | None:
    """Who the certificate on a `.sig` layer names (unverified: for display and for picking
    layers worth fetching); the reason when it cannot be read; None when there is none."""
    pem = layer.annotations.get(CERTIFICATE_ANNOTATION)
    if not pem:
        return None
    try:
        return parse_cert_identity(pem)
    except InputError as exc:
        return exc


def _legacy_problem(manifest: Digest, location: str, failure: CheckFailure) -> Candidate:
    return Candidate(
        kind=Kind.SIGNATURE,
        format=SignatureFormat.LEGACY,
        location=location,
        manifest=manifest,
        problem=failure,
    )


def _missing(fmt: SignatureFormat, manifest: Digest, layer: Descriptor, location: str) -> Candidate:
    """A signature whose manifest lists a blob the registry does not have: found, and failed."""
    failure = CheckFailure(
        check=Check.LAYER_DIGEST.value,
        expected=f"blob {layer.digest} in the registry",
        found="404: the manifest lists a blob the registry does not have",
        where=location,
    )
    return Candidate(
        kind=Kind.SIGNATURE,
        format=fmt,
        location=location,
        manifest=manifest,
        layer=layer,
        problem=failure,
    )

"""Use case: verify that image digests were signed by the expected identity.

Finds every signature cosign could have written for a digest (Sigstore bundles among its OCI
referrers, layers of the legacy `sha256-<hex>.sig` manifest), checks each with `keyless`, and
reports per image. A negative result is data (`VerifyReport`); only bad input raises.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

from shipsign.errors import InputError, ShipsignError, UnreachableError
from shipsign.formats.bundle_ref import bundle_layer, is_bundle_referrer
from shipsign.formats.legacy_sig import decode_legacy_signature
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.checks import CheckFailure, SignatureFacts, SignatureFormat, SignatureOutcome
from shipsign.keyless.keys import VerificationKey
from shipsign.keyless.legacy_verify import verify_legacy_signature
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.keyless.trust_material import TrustMaterial, load_trust_material
from shipsign.oci.client import Registries, RegistryClient
from shipsign.oci.media import Index
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.oci.referrers import fetch_referrers

__all__ = [
    "FoundSignature",
    "ImageResult",
    "ImageStatus",
    "SourceFormat",
    "VerifyReport",
    "VerifyRequest",
    "verify_images",
]

_log = logging.getLogger(__name__)
_WORKERS = 8
_PAYLOAD_MAX = 1024 * 1024  # a simple-signing payload is a few hundred bytes
_BUNDLE_MAX = 4 * 1024 * 1024  # a bundle is a few KiB; cap what a hostile registry can send


class SourceFormat(str, Enum):
    """Which on-registry signature formats to read."""

    ANY = "any"
    BUNDLE = "bundle"
    LEGACY = "legacy"


class ImageStatus(str, Enum):
    """The verdict on one image digest."""

    VERIFIED = "verified"  # at least one signature passed every check
    FAILED = "failed"  # signatures found, none passed
    UNSIGNED = "unsigned"  # no signature found where we looked
    UNREACHABLE = "unreachable"  # could not look: never reported as unsigned


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyRequest:
    """What to verify and against which policy and trust."""

    images: tuple[str, ...]
    policy: IdentityPolicy = field(default_factory=IdentityPolicy)
    key: Path | None = None
    trust: TrustOptions = field(default_factory=TrustOptions)
    format: SourceFormat = SourceFormat.ANY
    recursive: bool = False
    insecure_registries: tuple[str, ...] = ()
    require_sct: bool = True
    require_tlog: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundSignature:
    """One signature found for an image, where it was found, and its verdict."""

    location: str
    outcome: SignatureOutcome


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageResult:
    """The verdict on one image (and, with --recursive, on each platform manifest)."""

    input: str
    repository: str
    digest: str | None
    status: ImageStatus
    signatures: tuple[FoundSignature, ...] = ()
    looked_in: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    error: ShipsignError | None = None
    children: tuple[ImageResult, ...] = ()

    @property
    def verified(self) -> tuple[FoundSignature, ...]:
        """The signatures that passed every check."""
        return tuple(s for s in self.signatures if s.outcome.passed)

    @property
    def ok(self) -> bool:
        """Verified, and so is every platform manifest that was checked."""
        return self.status is ImageStatus.VERIFIED and all(c.ok for c in self.children)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReport:
    """The verdicts on every requested image, in the order given."""

    images: tuple[ImageResult, ...]
    trust_source: str
    keyed: bool

    @property
    def ok(self) -> bool:
        """True when every image verified."""
        return all(image.ok for image in self.images)

    def all_results(self) -> tuple[ImageResult, ...]:
        """Every image and platform manifest, depth first."""
        out: list[ImageResult] = []
        for image in self.images:
            out.append(image)
            out.extend(image.children)
        return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    registries: Registries
    trust: TrustMaterial | None
    policy: IdentityPolicy
    key: VerificationKey | None
    format: SourceFormat
    now: datetime
    require_sct: bool
    require_tlog: bool


def verify_images(
    request: VerifyRequest, *, registries: Registries | None = None, now: datetime | None = None
) -> VerifyReport:
    """Verify every image of `request`; return one result per image, in order.

    Raises `InputError` for bad input (reference, key file, trust file, missing identity) before
    any registry is contacted. Registry failures are per-image `UNREACHABLE` results.
    """
    refs = [Reference.parse(image) for image in request.images]
    if not refs:
        raise InputError("no image to verify", expected="one or more image references")
    key = _load_key(request.key)
    if key is None and not request.policy.names_identity:
        raise InputError(
            "verification needs the signer identity you expect",
            expected="--certificate-identity or --certificate-identity-regexp (or --key)",
            hint="the identity of a GitHub workflow is its URI, e.g. https://github.com/"
            "OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.2.3",
        )
    trust, source = _load_trust(request, keyed=key is not None)
    own = registries is None
    pool = (
        registries if registries is not None else Registries(insecure=request.insecure_registries)
    )
    ctx = _Context(
        registries=pool,
        trust=trust,
        policy=request.policy,
        key=key,
        format=request.format,
        now=now or datetime.now(timezone.utc),
        require_sct=request.require_sct,
        require_tlog=request.require_tlog,
    )
    try:
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(refs))) as workers:
            results = tuple(
                workers.map(
                    lambda pair: _verify_input(ctx, pair[0], pair[1], recursive=request.recursive),
                    zip(request.images, refs, strict=True),
                )
            )
    finally:
        if own:
            pool.close()
    return VerifyReport(images=results, trust_source=source, keyed=key is not None)


def _load_key(path: Path | None) -> VerificationKey | None:
    if path is None:
        return None
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise InputError("cannot read the public key", where=str(path), found=str(exc)) from exc
    return VerificationKey.from_pem(pem, where=str(path))


def _load_trust(request: VerifyRequest, *, keyed: bool) -> tuple[TrustMaterial | None, str]:
    options = request.trust
    no_trust_file = options.trusted_root is None and options.trust_config is None
    if keyed and no_trust_file and not request.require_tlog:
        return None, "the given public key (no transparency log)"
    trust = load_trust(options)
    return load_trust_material(trust.trusted_root), trust.source


def _verify_input(ctx: _Context, text: str, ref: Reference, *, recursive: bool) -> ImageResult:
    repo = ref.repository
    notes: list[str] = []
    try:
        client = ctx.registries.client(repo.registry)
        digest = ref.digest
        if digest is None:
            digest = client.resolve(ref).digest
            notes.append(
                f"tag {ref.identifier!r} resolved to {digest}; a tag can move, "
                "so verify and deploy by digest"
            )
        result = _verify_digest(ctx, client, text, repo, digest, notes)
        if recursive and result.status is not ImageStatus.UNREACHABLE:
            result = _with_children(ctx, client, result, repo, digest)
        return result
    except UnreachableError as exc:
        return ImageResult(
            input=text,
            repository=repo.name,
            digest=str(ref.digest) if ref.digest else None,
            status=ImageStatus.UNREACHABLE,
            notes=tuple(notes),
            error=exc,
        )


def _with_children(
    ctx: _Context,
    client: RegistryClient,
    result: ImageResult,
    repo: Repository,
    digest: Digest,
) -> ImageResult:
    index = client.fetch_manifest(Reference(repository=repo, digest=digest))
    if not isinstance(index, Index):
        return result
    children = []
    for child in index.manifests:
        label = f"{repo.name}@{child.digest}"
        if child.platform is not None:
            label += f" ({child.platform})"
        children.append(_verify_digest(ctx, client, label, repo, child.digest, []))
    return ImageResult(
        input=result.input,
        repository=result.repository,
        digest=result.digest,
        status=result.status,
        signatures=result.signatures,
        looked_in=result.looked_in,
        notes=result.notes,
        children=tuple(children),
    )


def _verify_digest(
    ctx: _Context,
    client: RegistryClient,
    text: str,
    repo: Repository,
    digest: Digest,
    notes: list[str],
) -> ImageResult:
    found: list[FoundSignature] = []
    looked: list[str] = []
    try:
        if ctx.format is not SourceFormat.LEGACY and ctx.key is None:
            found += _bundles(ctx, client, repo, digest, looked)
        if ctx.format is not SourceFormat.BUNDLE:
            found += _legacy(ctx, client, repo, digest, looked)
    except UnreachableError as exc:
        return ImageResult(
            input=text,
            repository=repo.name,
            digest=str(digest),
            status=ImageStatus.UNREACHABLE,
            signatures=tuple(found),
            looked_in=tuple(looked),
            notes=tuple(notes),
            error=exc,
        )
    if any(s.outcome.passed for s in found):
        status = ImageStatus.VERIFIED
    else:
        status = ImageStatus.FAILED if found else ImageStatus.UNSIGNED
    return ImageResult(
        input=text,
        repository=repo.name,
        digest=str(digest),
        status=status,
        signatures=tuple(found),
        looked_in=tuple(looked),
        notes=tuple(notes),
    )


def _bundles(
    ctx: _Context, client: RegistryClient, repo: Repository, digest: Digest, looked: list[str]
) -> list[FoundSignature]:
    listed = fetch_referrers(client, repo, digest)
    where = "referrers API" if listed.source.value == "api" else f"referrers tag {digest.tag_form}"
    looked.append(f"{repo.name} {where}")
    found = []
    for desc in listed.descriptors:
        if not is_bundle_referrer(desc):
            continue
        location = f"bundle referrer {desc.digest} ({where})"
        manifest = client.fetch_manifest(Reference(repository=repo, digest=desc.digest))
        layer = bundle_layer(manifest) if manifest is not None else None
        if layer is None:
            continue  # another kind of referrer (SBOM, attestation in another format, ...)
        blob = client.fetch_blob(repo, layer.digest, max_bytes=_BUNDLE_MAX)
        if blob is None:
            outcome = _missing(SignatureFormat.BUNDLE, layer.digest, location)
        else:
            outcome = _check_bundle(ctx, blob, digest)
        found.append(FoundSignature(location=location, outcome=outcome))
    return found


def _check_bundle(ctx: _Context, blob: bytes, digest: Digest) -> SignatureOutcome:
    if ctx.trust is None:  # bundles are only read in keyless mode, which always loads trust
        raise InputError("a Sigstore bundle cannot be verified without a trusted root")
    return verify_bundle(
        blob, trust=ctx.trust, policy=ctx.policy, digest=str(digest), require_dsse=True
    )


def _legacy(
    ctx: _Context, client: RegistryClient, repo: Repository, digest: Digest, looked: list[str]
) -> list[FoundSignature]:
    tag = f"{digest.tag_form}.sig"
    looked.append(f"{repo.name}:{tag}")
    manifest = client.fetch_manifest(Reference(repository=repo, tag=tag))
    if manifest is None:
        return []
    if isinstance(manifest, Index):
        failure = CheckFailure(
            check="payload",
            expected="an image manifest with one layer per signature",
            found="an image index",
            where=f"{repo.name}:{tag}",
        )
        outcome = SignatureOutcome(
            format=SignatureFormat.LEGACY, facts=SignatureFacts(), failures=(failure,)
        )
        return [FoundSignature(location=f"{repo.name}:{tag}", outcome=outcome)]
    found = []
    for n, layer in enumerate(manifest.layers):
        location = f"{repo.name}:{tag} layer {n}"
        payload = client.fetch_blob(repo, layer.digest, max_bytes=_PAYLOAD_MAX)
        if payload is None:
            outcome = _missing(SignatureFormat.LEGACY, layer.digest, location)
        else:
            signature = decode_legacy_signature(
                payload,
                layer.annotations,
                layer_digest=str(layer.digest),
                media_type=layer.media_type,
            )
            outcome = verify_legacy_signature(
                signature,
                image_digest=str(digest),
                now=ctx.now,
                trust=ctx.trust,
                policy=ctx.policy,
                key=ctx.key,
                require_tlog=ctx.require_tlog,
                require_sct=ctx.require_sct,
            )
        found.append(FoundSignature(location=location, outcome=outcome))
    return found


def _missing(fmt: SignatureFormat, digest: Digest, location: str) -> SignatureOutcome:
    failure = CheckFailure(
        check="layer_digest",
        expected=f"blob {digest} in the registry",
        found="404: the manifest lists a blob the registry does not have",
        where=location,
    )
    return SignatureOutcome(format=fmt, facts=SignatureFacts(), failures=(failure,))

"""Use case: verify that image digests were signed by the expected identity.

Finds and checks every signature cosign could have written for a digest
(`shipsign.signatures`), and reports per image (`report`). A negative result is data
(`VerifyReport`); only bad input raises.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from shipsign.errors import InputError, UnreachableError
from shipsign.keyless.keys import VerificationKey
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust import TrustOptions
from shipsign.keyless.trust_material import TrustMaterial, load_verification_trust
from shipsign.oci.client import Registries, RegistryClient
from shipsign.oci.credentials import Keychain
from shipsign.oci.media import Index
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.signatures import (
    Candidate,
    SignatureChecks,
    check_candidates,
    find_bundles,
    find_legacy,
)
from shipsign.verify.report import (
    FoundSignature,
    ImageResult,
    ImageStatus,
    SourceFormat,
    VerifyReport,
)

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
# Images in flight. Not the limit a registry sees: each host's client lets at most
# MAX_IN_FLIGHT requests out at once (oci/transport.py), so images on several registries
# proceed side by side and none of them is asked for more than its share.
_WORKERS = 32


# One place cosign writes signatures (`shipsign.signatures.find`): candidates, read lazily.
_Place = Callable[[RegistryClient, Repository, Digest, list[str]], Iterator[Candidate]]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyRequest:
    """What to verify and against which policy and trust.

    `keychain` None means the docker/podman config and credential helpers.
    """

    images: tuple[str, ...]
    policy: IdentityPolicy = field(default_factory=IdentityPolicy)
    key: Path | None = None
    trust: TrustOptions = field(default_factory=TrustOptions)
    format: SourceFormat = SourceFormat.ANY
    recursive: bool = False
    insecure_registries: tuple[str, ...] = ()
    require_sct: bool = True
    require_tlog: bool = True
    keychain: Keychain | None = None
    audit: bool = False  # --all: check every signature in every place, not up to the first pass


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    registries: Registries
    checks: SignatureChecks
    places: tuple[_Place, ...]
    recursive: bool
    audit: bool


def verify_images(
    request: VerifyRequest,
    *,
    registries: Registries | None = None,
    now: datetime | None = None,
    trust: TrustMaterial | None = None,
) -> VerifyReport:
    """Verify every image of `request`; return one result per image, in order.

    Raises `InputError` for bad input (reference, key file, trust file, missing identity, a tag
    that does not exist) and `UnreachableError` when trust cannot be fetched. Registry failures
    while looking for signatures are per-image `UNREACHABLE` results. Network: the registries
    (plus Sigstore's TUF repository unless the trust is local or `--offline`). `registries`
    (with its keychain and insecure hosts) replaces the request's; `trust`, material a run
    loaded already (sign's read-back rounds), replaces the request's trust options.
    """
    refs = [Reference.parse(image) for image in request.images]
    if not refs:
        raise InputError("no image to verify", expected="one or more image references")
    key = _load_key(request.key)
    _check_request(request, keyed=key is not None)
    material, source = (
        (trust, trust.source) if trust is not None else _load_trust(request, keyed=key is not None)
    )
    checks = SignatureChecks(
        trust=material,
        policy=request.policy,
        key=key,
        now=now or datetime.now(timezone.utc),
        require_sct=request.require_sct,
        require_tlog=request.require_tlog,
    )
    places: list[_Place] = []
    if request.format is not SourceFormat.LEGACY and key is None:
        places.append(find_bundles)  # cosign v3 looks at bundles first
    if request.format is not SourceFormat.BUNDLE:
        places.append(find_legacy)
    own = registries is None
    pool = (
        registries
        if registries is not None
        else Registries(keychain=request.keychain, insecure=request.insecure_registries)
    )
    ctx = _Context(
        registries=pool,
        checks=checks,
        places=tuple(places),
        recursive=request.recursive,
        audit=request.audit,
    )
    try:
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(refs))) as workers:
            results = tuple(
                workers.map(
                    lambda pair: _verify_input(ctx, pair[0], pair[1]),
                    zip(request.images, refs, strict=True),
                )
            )
    finally:
        if own:
            pool.close()
    return VerifyReport(
        images=results,
        trust_source=source,
        keyed=key is not None,
        not_checked=_not_checked(request, keyed=key is not None),
    )


def _check_request(request: VerifyRequest, *, keyed: bool) -> None:
    if not keyed and not request.policy.names_identity:
        raise InputError(
            "verification needs the signer identity you expect",
            expected="--certificate-identity or --certificate-identity-regexp (or --key)",
            hint="the identity of a GitHub workflow is its URI, e.g. https://github.com/"
            "OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.2.3",
        )
    if keyed and request.policy.names_identity:
        # A key signature has no certificate: the identity would be silently ignored.
        raise InputError(
            "give --key or an identity, not both",
            found="--key with --certificate-identity or --certificate-identity-regexp",
            hint="--key checks signatures made with that key; an identity checks keyless "
            "(Fulcio certificate) signatures: drop the one you do not mean",
        )
    if keyed and request.format is SourceFormat.BUNDLE:
        raise InputError(
            "--key verifies legacy .sig signatures only",
            found="--key with --format bundle",
            hint="Sigstore bundles are verified keyless: give --certificate-identity instead",
        )
    if not keyed and not request.require_tlog:
        raise InputError(
            "--insecure-ignore-tlog needs --key",
            hint="a keyless signature's signing time comes from the transparency log",
        )


def _not_checked(request: VerifyRequest, *, keyed: bool) -> tuple[str, ...]:
    skipped = []
    if not request.require_sct and not keyed:
        skipped.append("the embedded SCT (--insecure-ignore-sct)")
    if not request.require_tlog:
        skipped.append("the transparency log entry (--insecure-ignore-tlog)")
    return tuple(skipped)


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
    material = load_verification_trust(options)
    return material, material.source


def _verify_input(ctx: _Context, text: str, ref: Reference) -> ImageResult:
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
        if ctx.recursive and result.status is not ImageStatus.UNREACHABLE:
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
        return dataclasses.replace(
            result, notes=(*result.notes, "--recursive: not an index, no platform manifests")
        )
    children = []
    for child in index.manifests:
        label = f"{repo.name}@{child.digest}"
        found = _verify_digest(ctx, client, label, repo, child.digest, [])
        platform = str(child.platform) if child.platform is not None else None
        children.append(dataclasses.replace(found, platform=platform))
    return dataclasses.replace(result, children=tuple(children))


def _verify_digest(
    ctx: _Context,
    client: RegistryClient,
    text: str,
    repo: Repository,
    digest: Digest,
    notes: list[str],
) -> ImageResult:
    """Look in each place in cosign v3's order (bundles, then `.sig`) until a signature passes,
    or in every place with `audit`. A lookup that fails does not stop the others (cosign falls
    back from referrers to `.sig` too), but an image is only "unsigned" when every lookup
    worked. Stopping early never changes the verdict: an image passes when any one signature
    passes, and a failed lookup still turns "unsigned" into "could not look"."""
    found: list[FoundSignature] = []
    others: list[str] = []
    looked: list[str] = []
    error: UnreachableError | None = None
    for place in ctx.places:
        if not ctx.audit and any(s.outcome.passed for s in found):
            break
        candidates = place(client, repo, digest, looked)
        try:
            got = check_candidates(candidates, ctx.checks, digest, first_pass=not ctx.audit)
        except UnreachableError as exc:
            _log.debug("lookup in %s failed for %s", repo.name, digest, exc_info=True)
            error = error or exc
            continue
        found += got.signatures
        others += [attestation.describe() for attestation in got.attestations]
    if others and not found:
        notes.append(f"found instead: {'; '.join(others)}")
    elif others:
        notes.extend(f"also found {other}" for other in others)
    if any(s.outcome.passed for s in found):
        status = ImageStatus.VERIFIED
        if error is not None:
            notes.append(f"a signature verified, but another lookup failed: {error.what}")
    elif error is not None:
        status = ImageStatus.UNREACHABLE
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
        error=error,
    )

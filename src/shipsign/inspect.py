"""Use cases that only look: `resolve` images to digests and show the `tree` of what is
attached to an image (legacy `.sig`/`.att`/`.sbom` tags and referrers).

Plain functions over `oci` and `signatures` (who signed a `.sig` layer, what a referrer
says it is); front ends render what they return.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum

from shipsign.errors import InputError
from shipsign.keyless.certs import CertIdentity
from shipsign.oci import (
    MANIFEST_MAX_BYTES,
    Descriptor,
    Digest,
    Index,
    Manifest,
    Platform,
    Reference,
    ReferrersResult,
    Registries,
    RegistryClient,
    decode_config_platform,
    fetch_referrers,
)
from shipsign.signatures import Kind, classify_referrer, layer_signer

__all__ = [
    "AttachmentKind",
    "LegacyAttachment",
    "LegacyLayer",
    "ResolveRequest",
    "ResolvedImage",
    "TreeReport",
    "TreeRequest",
    "fetch_tree",
    "resolve_images",
]

_WORKERS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolveRequest:
    """Images to resolve; with `platform`, an index resolves to its matching child."""

    images: tuple[str, ...]
    platform: str | None = None
    insecure_registries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedImage:
    """One input and the digest it names."""

    input: str
    repository: str
    digest: Digest
    media_type: str

    @property
    def reference(self) -> str:
        """`<registry>/<repository>@sha256:…`, as `crane digest --full-ref` prints it."""
        return f"{self.repository}@{self.digest}"


@contextmanager
def _registries(insecure: tuple[str, ...], given: Registries | None) -> Iterator[Registries]:
    if given is not None:
        yield given
        return
    with Registries(insecure=insecure) as made:
        yield made


def resolve_images(
    request: ResolveRequest, *, registries: Registries | None = None
) -> tuple[ResolvedImage, ...]:
    """Resolve every image (in parallel, in order); raise on the first bad or missing one.

    Raises `InputError` for an invalid reference, platform or absent image, and
    `RegistryError`/`AuthError` when a registry cannot be reached or refuses us.
    """
    refs = [Reference.parse(image) for image in request.images]  # all input errors first
    platform = Platform.parse(request.platform) if request.platform else None
    with _registries(request.insecure_registries, registries) as pool:

        def one(pair: tuple[str, Reference]) -> ResolvedImage:
            text, ref = pair
            client = pool.client(ref.repository.registry)
            found = client.resolve(ref)
            if platform is not None:
                found = _for_platform(client, ref, found, platform)
            return ResolvedImage(
                input=text,
                repository=ref.repository.name,
                digest=found.digest,
                media_type=found.media_type,
            )

        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(refs) or 1)) as workers:
            return tuple(workers.map(one, zip(request.images, refs, strict=True)))


def _for_platform(
    client: RegistryClient, ref: Reference, found: Descriptor, platform: Platform
) -> Descriptor:
    manifest = client.fetch_manifest(ref.with_digest(found.digest))
    if isinstance(manifest, Index):
        for child in manifest.manifests:
            if child.platform is not None and platform.matches(child.platform):
                return child
        offered = sorted({str(c.platform) for c in manifest.manifests if c.platform})
        raise InputError(
            f"{ref} has no image for platform {platform}",
            expected=str(platform),
            found=", ".join(offered) or "no platforms listed",
        )
    if isinstance(manifest, Manifest):
        config = client.fetch_blob(
            ref.repository, manifest.config.digest, max_bytes=MANIFEST_MAX_BYTES
        )
        declared = decode_config_platform(config) if config is not None else None
        if declared is not None and platform.matches(declared):
            return found
        raise InputError(
            f"{ref} is a single-platform image, not for {platform}",
            expected=str(platform),
            found=str(declared) if declared else "no platform in its config",
        )
    raise InputError(f"image not found: {ref}", where=str(found.digest))


class AttachmentKind(str, Enum):
    """cosign's legacy tag suffixes (`pkg/oci/remote/options.go`)."""

    SIGNATURES = "sig"
    ATTESTATIONS = "att"
    SBOMS = "sbom"


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyLayer:
    """One layer of a legacy tag; `signer` when it carries a readable certificate."""

    digest: Digest
    media_type: str
    signer: CertIdentity | None = None
    certificate_problem: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyAttachment:
    """A `sha256-<hex>.<suffix>` tag found next to the image."""

    kind: AttachmentKind
    tag: str
    digest: Digest
    layers: tuple[LegacyLayer, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeRequest:
    """The image whose attachments to list."""

    image: str
    insecure_registries: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class TreeReport:
    """What is attached to one image digest."""

    image: str
    repository: str
    digest: Digest
    legacy: tuple[LegacyAttachment, ...]
    referrers: ReferrersResult

    @property
    def reference(self) -> str:
        """`<repository>@<digest>`."""
        return f"{self.repository}@{self.digest}"

    @property
    def empty(self) -> bool:
        """Whether nothing at all is attached."""
        return not self.legacy and not self.referrers.descriptors

    @staticmethod
    def referrer_kind(descriptor: Descriptor) -> Kind | None:
        """What a listed referrer is by its own entry (an attestation, not a Sigstore bundle);
        None when only its content could tell (tree fetches no referrer)."""
        return classify_referrer(descriptor)[0]


def fetch_tree(request: TreeRequest, *, registries: Registries | None = None) -> TreeReport:
    """List the legacy tags and referrers of an image, as `cosign tree` does.

    A digest reference is used as given (no request); a tag is resolved first.
    """
    ref = Reference.parse(request.image)
    with _registries(request.insecure_registries, registries) as pool:
        client = pool.client(ref.repository.registry)
        digest = ref.digest if ref.digest is not None else client.resolve(ref).digest
        legacy = []
        for kind in AttachmentKind:
            tag = f"{digest.tag_form}.{kind.value}"
            found = client.fetch_manifest(Reference(repository=ref.repository, tag=tag))
            if isinstance(found, Manifest):
                layers = tuple(_legacy_layer(d) for d in found.layers)
                legacy.append(
                    LegacyAttachment(kind=kind, tag=tag, digest=found.digest, layers=layers)
                )
        referrers = fetch_referrers(client, ref.repository, digest)
    return TreeReport(
        image=request.image,
        repository=ref.repository.name,
        digest=digest,
        legacy=tuple(legacy),
        referrers=referrers,
    )


def _legacy_layer(layer: Descriptor) -> LegacyLayer:
    signer = layer_signer(layer)
    if isinstance(signer, InputError):
        return LegacyLayer(
            digest=layer.digest, media_type=layer.media_type, certificate_problem=signer.what
        )
    return LegacyLayer(digest=layer.digest, media_type=layer.media_type, signer=signer)

"""A Sigstore bundle stored as an OCI 1.1 artifact that refers to the image it signs.

cosign v3's layout (formats.md §3.3): the empty config `{}`, exactly one layer holding the bundle
JSON, `subject` = the signed image, `artifactType` = the bundle media type, and three annotations
(content kind, predicate type, creation time). Pure: the caller uploads the blobs and PUTs the
manifest by digest, then maintains the referrers fallback index where the registry needs it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from shipsign.errors import InputError
from shipsign.oci.media import EMPTY_JSON, OCI_EMPTY, Descriptor, Index, Manifest, build_manifest
from shipsign.oci.reference import Digest

__all__ = [
    "ANNOTATION_PREDICATE",
    "BUNDLE_MEDIA_TYPE",
    "BUNDLE_MEDIA_TYPE_PREFIX",
    "COSIGN_SIGN_PREDICATE",
    "BundleArtifact",
    "build_bundle_artifact",
    "bundle_layer",
    "is_bundle_referrer",
    "statement_predicate_type",
]

_IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle"
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
ANNOTATION_CONTENT = "dev.sigstore.bundle.content"
ANNOTATION_PREDICATE = "dev.sigstore.bundle.predicateType"
ANNOTATION_CREATED = "org.opencontainers.image.created"


@dataclass(frozen=True, slots=True, kw_only=True)
class BundleArtifact:
    """What to push for one bundle: two blobs, then the manifest by its digest."""

    manifest: Manifest
    blobs: tuple[tuple[Digest, bytes], ...]  # (digest, bytes): the empty config, the bundle


def build_bundle_artifact(
    bundle_json: bytes,
    *,
    subject: Descriptor,
    created: datetime,
    predicate_type: str = COSIGN_SIGN_PREDICATE,
    content: str = "dsse-envelope",
) -> BundleArtifact:
    """Build the referrer manifest for `bundle_json`, which signs `subject`.

    `created` is written as RFC 3339 UTC with seconds precision, as Go's time.RFC3339 does.
    """
    if created.tzinfo is None:
        raise InputError("the creation time of a bundle artifact must carry a time zone")
    config = Descriptor(media_type=OCI_EMPTY, digest=Digest.of(EMPTY_JSON), size=len(EMPTY_JSON))
    layer = Descriptor(
        media_type=BUNDLE_MEDIA_TYPE, digest=Digest.of(bundle_json), size=len(bundle_json)
    )
    stamp = created.astimezone(timezone.utc).replace(microsecond=0)
    manifest = build_manifest(
        config=config,
        layers=[layer],
        annotations={
            ANNOTATION_CONTENT: content,
            ANNOTATION_PREDICATE: predicate_type,
            ANNOTATION_CREATED: stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        subject=Descriptor(media_type=subject.media_type, digest=subject.digest, size=subject.size),
        artifact_type=BUNDLE_MEDIA_TYPE,
    )
    return BundleArtifact(
        manifest=manifest,
        blobs=((config.digest, EMPTY_JSON), (layer.digest, bundle_json)),
    )


def is_bundle_referrer(descriptor: Descriptor) -> bool:
    """Whether a referrers-index entry may be a Sigstore bundle and is worth fetching.

    Entries without `artifactType` are fetched too: older writers left it out, and cosign
    itself lists every referrer and decides by the manifest's layer.
    """
    kind = descriptor.artifact_type
    return kind is None or kind.startswith(BUNDLE_MEDIA_TYPE_PREFIX) or kind == OCI_EMPTY


def bundle_layer(manifest: Manifest | Index) -> Descriptor | None:
    """The bundle layer of a referrer manifest, or None when it is not a bundle artifact.

    cosign reads a referrer as a bundle only when it has exactly one layer and that layer's
    media type starts with `application/vnd.dev.sigstore.bundle`.
    """
    if isinstance(manifest, Index) or len(manifest.layers) != 1:
        return None
    layer = manifest.layers[0]
    return layer if layer.media_type.startswith(BUNDLE_MEDIA_TYPE_PREFIX) else None


def statement_predicate_type(bundle_json: bytes) -> str | None:
    """The `predicateType` of the in-toto statement a DSSE bundle carries; None when the bundle
    is not a DSSE in-toto envelope or cannot be read (verification then says why).

    Pure and unverified: it only sorts what was found. An image signature is a bundle whose
    statement has cosign's sign predicate; any other predicate makes it an attestation (SLSA
    provenance, an SBOM, ...), which says something about the image but is not a signature.
    """
    try:
        doc = json.loads(bundle_json)
        envelope = doc["dsseEnvelope"]
        if envelope.get("payloadType") != _IN_TOTO_PAYLOAD:
            return None
        statement = json.loads(base64.b64decode(envelope["payload"], validate=True))
        kind = statement["predicateType"]
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, RecursionError):
        return None
    return kind if isinstance(kind, str) else None

"""The parts of a cosign legacy `.sig` signature, as values the verifier consumes.

Pure values, stdlib only. Reading them from (and writing them to) wire bytes is
`shipsign.formats.legacy_sig`'s job; they live at the bottom because the verifier
(`shipsign.keyless`, below `formats`) needs them too (formats.md §1.2 to §1.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shipsign.checks import CheckFailure

__all__ = [
    "SIMPLE_SIGNING_MEDIA_TYPE",
    "SIMPLE_SIGNING_TYPE",
    "LegacySignature",
    "RekorBundle",
    "SimpleSigningPayload",
]

SIMPLE_SIGNING_TYPE = "cosign container image signature"  # sigstore/sigstore CosignSignatureType
SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"


@dataclass(frozen=True, slots=True, kw_only=True)
class SimpleSigningPayload:
    """The claims of a simple-signing payload: which image digest was signed, under what name."""

    docker_reference: str
    docker_manifest_digest: str
    type: str = SIMPLE_SIGNING_TYPE
    optional: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RekorBundle:
    """cosign's `dev.sigstore.cosign/bundle`: a Rekor v1 entry and its signed entry timestamp.

    `signed_entry_timestamp` and `body` are kept as the base64 text written in the annotation:
    the SET signs the body *string*, and decoding is the verifier's business.
    """

    signed_entry_timestamp: str
    body: str
    integrated_time: int
    log_index: int
    log_id: str  # lower-case hex SHA-256 of the log's DER public key


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacySignature:
    """One layer of a `.sig` manifest: the exact payload bytes and its annotations.

    `claims` is None when the payload is not a simple-signing document; `problems` then says
    why (decoding problems are findings about this signature, not errors that stop a run).
    """

    payload: bytes
    claims: SimpleSigningPayload | None
    signature: str  # `dev.cosignproject.cosign/signature`, base64 DER as written
    certificate: str | None = None  # PEM of the leaf
    chain: str | None = None  # PEM intermediates + root; "" from cosign v3
    rekor: RekorBundle | None = None
    rfc3161_timestamp: str | None = None  # the annotation's JSON text, kept as written
    layer_digest: str | None = None  # `sha256:<hex>` from the layer descriptor, when known
    media_type: str = SIMPLE_SIGNING_MEDIA_TYPE
    problems: tuple[CheckFailure, ...] = ()

"""cosign's legacy `.sig` signature layer: the simple-signing payload, the layer annotations and
the `dev.sigstore.cosign/bundle` Rekor bundle, decoded from and encoded to Go's exact bytes.

Pure. The value types live in `shipsign.legacy_signature` (the verifier needs them); the `.sig`
manifest and config are built in `sig_manifest`. Wire formats: formats.md §1.2, §1.4, §1.5.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from shipsign.checks import Check, CheckFailure
from shipsign.errors import InputError
from shipsign.legacy_signature import (
    SIMPLE_SIGNING_MEDIA_TYPE,
    SIMPLE_SIGNING_TYPE,
    LegacySignature,
    RekorBundle,
    SimpleSigningPayload,
)
from shipsign.oci import go_json

__all__ = [
    "BUNDLE_ANNOTATION",
    "CERTIFICATE_ANNOTATION",
    "CHAIN_ANNOTATION",
    "RFC3161_ANNOTATION",
    "SIGNATURE_ANNOTATION",
    "SIMPLE_SIGNING_MEDIA_TYPE",
    "SIMPLE_SIGNING_TYPE",
    "LegacySignature",
    "RekorBundle",
    "SimpleSigningPayload",
    "build_payload",
    "decode_legacy_signature",
    "decode_payload",
    "decode_rekor_bundle",
    "encode_annotations",
    "encode_payload",
    "encode_rekor_bundle",
    "rekor_bundle_from_sigstore_bundle",
]

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
RFC3161_ANNOTATION = "dev.sigstore.cosign/rfc3161timestamp"

_INT64 = range(-(2**63), 2**63)


def _field(doc: Any, path: str, kind: type, what: str) -> Any:
    value: Any = doc
    for part in path.split("/"):
        if not isinstance(value, dict) or part not in value:
            raise InputError(
                f"{what} lacks {path.replace('/', '.')}", expected=f"{path}: {kind.__name__}"
            )
        value = value[part]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(
            f"{what}: {path.replace('/', '.')} has the wrong type",
            expected=kind.__name__,
            found=type(value).__name__,
        )
    return value


def decode_payload(raw: bytes) -> SimpleSigningPayload:
    """Decode a simple-signing payload from its exact bytes; raise `InputError` if it is not one."""
    what = "the simple-signing payload"
    doc = go_json.load_strict(raw, what)
    optional = doc.get("optional") if isinstance(doc, dict) else None
    if optional is not None and not isinstance(optional, dict):
        raise InputError(
            f"{what}: optional must be null or an object", found=type(optional).__name__
        )
    return SimpleSigningPayload(
        docker_reference=_field(doc, "critical/identity/docker-reference", str, what),
        docker_manifest_digest=_field(doc, "critical/image/docker-manifest-digest", str, what),
        type=_field(doc, "critical/type", str, what),
        optional=MappingProxyType(optional) if optional is not None else None,
    )


def encode_payload(claims: SimpleSigningPayload) -> bytes:
    """The payload bytes Go's `payload.Cosign` marshals (formats.md §1.2)."""
    optional = None if claims.optional is None else go_json.sorted_map(claims.optional)
    doc = {
        "critical": {
            "identity": {"docker-reference": claims.docker_reference},
            "image": {"docker-manifest-digest": claims.docker_manifest_digest},
            "type": claims.type,
        },
        "optional": optional,
    }
    return go_json.encode(doc).encode("utf-8")


def build_payload(
    *, docker_reference: str, docker_manifest_digest: str, optional: Mapping[str, str] | None = None
) -> bytes:
    """The payload cosign signs for `docker_reference` (registry/repo, no tag) at a digest."""
    return encode_payload(
        SimpleSigningPayload(
            docker_reference=docker_reference,
            docker_manifest_digest=docker_manifest_digest,
            optional=dict(optional) if optional else None,
        )
    )


def decode_rekor_bundle(text: str | bytes) -> RekorBundle:
    """Decode a `dev.sigstore.cosign/bundle` annotation; raise `InputError` if malformed."""
    what = "the Rekor bundle annotation"
    doc = go_json.load_strict(text, what)
    values = {
        "integrated_time": _field(doc, "Payload/integratedTime", int, what),
        "log_index": _field(doc, "Payload/logIndex", int, what),
    }
    for name, value in values.items():
        if value not in _INT64:
            raise InputError(f"{what}: {name} is out of range", found=str(value)[:40])
    return RekorBundle(
        signed_entry_timestamp=_field(doc, "SignedEntryTimestamp", str, what),
        body=_field(doc, "Payload/body", str, what),
        log_id=_field(doc, "Payload/logID", str, what),
        **values,
    )


def encode_rekor_bundle(bundle: RekorBundle) -> str:
    """The annotation text cosign writes: Go field order, compact (formats.md §1.5)."""
    return go_json.encode(
        {
            "SignedEntryTimestamp": bundle.signed_entry_timestamp,
            "Payload": {
                "body": bundle.body,
                "integratedTime": bundle.integrated_time,
                "logIndex": bundle.log_index,
                "logID": bundle.log_id,
            },
        }
    )


def rekor_bundle_from_sigstore_bundle(bundle_json: bytes | str) -> RekorBundle:
    """The cosign Rekor bundle for the (Rekor v1) tlog entry of a Sigstore bundle (formats.md §5.4).

    Raises `InputError` when the entry has no SET or integrated time (Rekor v2).
    """
    what = "the Sigstore bundle"
    doc = go_json.load_strict(bundle_json, what)
    entries = _field(doc, "verificationMaterial/tlogEntries", list, what)
    if len(entries) != 1:
        raise InputError(f"{what} must hold one tlog entry", found=str(len(entries)))
    entry = entries[0]
    if (
        not isinstance(entry, dict)
        or "inclusionPromise" not in entry
        or not entry.get("integratedTime")
    ):
        raise InputError(
            "the legacy .sig format needs a Rekor v1 entry (with a SET and an integrated time)",
            found="an entry without inclusionPromise/integratedTime (Rekor v2?)",
            hint="sign with Rekor v1 (ClientTrustConfig.force_tlog_version = 1)",
        )
    try:
        log_id = base64.b64decode(_field(entry, "logId/keyId", str, what), validate=True).hex()
        integrated, index = int(entry["integratedTime"]), int(entry["logIndex"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{what}: malformed tlog entry", found=str(exc)) from None
    return RekorBundle(
        signed_entry_timestamp=_field(entry, "inclusionPromise/signedEntryTimestamp", str, what),
        body=_field(entry, "canonicalizedBody", str, what),
        integrated_time=integrated,
        log_index=index,
        log_id=log_id,
    )


def decode_legacy_signature(
    payload: bytes,
    annotations: Mapping[str, str],
    *,
    layer_digest: str | None = None,
    media_type: str = SIMPLE_SIGNING_MEDIA_TYPE,
) -> LegacySignature:
    """Decode one `.sig` layer. Never raises for its content: problems are recorded as failures.

    `layer_digest` is the descriptor's digest; the verifier compares it with sha256(payload).
    """
    problems: list[CheckFailure] = []
    where = f".sig layer {layer_digest} " if layer_digest else ".sig layer "
    claims = None
    try:
        claims = decode_payload(payload)
    except InputError as exc:
        problems.append(
            _problem(Check.PAYLOAD, "a simple-signing JSON payload", exc, where + "payload")
        )
    rekor = None
    bundle_text = annotations.get(BUNDLE_ANNOTATION)
    if bundle_text is not None:
        try:
            rekor = decode_rekor_bundle(bundle_text)
        except InputError as exc:
            problems.append(
                _problem(
                    Check.TLOG_ENTRY,
                    "a cosign Rekor bundle",
                    exc,
                    f"{where}annotation {BUNDLE_ANNOTATION}",
                )
            )
    signature = annotations.get(SIGNATURE_ANNOTATION)
    if signature is None:
        problems.append(
            CheckFailure(
                check=Check.SIGNATURE.value,
                expected="a signature annotation",
                found="none",
                where=f"{where}annotation {SIGNATURE_ANNOTATION}",
            )
        )
    return LegacySignature(
        payload=payload,
        claims=claims,
        signature=signature or "",
        certificate=annotations.get(CERTIFICATE_ANNOTATION),
        chain=annotations.get(CHAIN_ANNOTATION),
        rekor=rekor,
        rfc3161_timestamp=annotations.get(RFC3161_ANNOTATION),
        layer_digest=layer_digest,
        media_type=media_type,
        problems=tuple(problems),
    )


def _problem(check: Check, expected: str, exc: InputError, where: str) -> CheckFailure:
    found = exc.what + (f": {exc.found}" if exc.found else "")
    return CheckFailure(check=check.value, expected=expected, found=found, where=where)


def encode_annotations(signature: LegacySignature) -> dict[str, str]:
    """The layer annotations cosign writes for `signature`, keys sorted as Go writes them."""
    out = {SIGNATURE_ANNOTATION: signature.signature}
    if signature.rekor is not None:
        out[BUNDLE_ANNOTATION] = encode_rekor_bundle(signature.rekor)
    if signature.certificate is not None:
        out[CERTIFICATE_ANNOTATION] = signature.certificate
        out[CHAIN_ANNOTATION] = signature.chain or ""  # cosign sets chain whenever certificate is
    if signature.rfc3161_timestamp is not None:
        out[RFC3161_ANNOTATION] = signature.rfc3161_timestamp
    return dict(sorted(out.items()))

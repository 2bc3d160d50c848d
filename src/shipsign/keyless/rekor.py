"""cosign's Rekor bundle checks, offline: the SET, and that the logged entry is this signature.

SET (formats.md §1.5): ECDSA/Ed25519 over the RFC 8785 form of {body, integratedTime, logID,
logIndex}, by the trusted-root Rekor key whose ID is logID and whose validity covers
integratedTime. Body: a hashedrekord (or 2021 `rekord`) 0.0.1 entry naming sha256(payload),
the same signature and the same certificate (or key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_public_key

from shipsign.checks import Check, CheckFailure
from shipsign.keyless.keys import VerificationKey
from shipsign.keyless.trust_material import TrustMaterial
from shipsign.legacy_signature import RekorBundle

__all__ = ["check_rekor_body", "check_rekor_set", "go_b64decode", "integrated_datetime"]

_SUPPORTED_KINDS = {("hashedrekord", "0.0.1"), ("rekord", "0.0.1")}


def go_b64decode(text: str) -> bytes:
    """Decode standard padded base64 as Go's `base64.StdEncoding` does: CR and LF are skipped."""
    return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)


def integrated_datetime(rekor: RekorBundle) -> datetime:
    """integratedTime as an aware UTC datetime; raise ValueError when out of range."""
    try:
        return datetime.fromtimestamp(rekor.integrated_time, tz=timezone.utc)
    except (OverflowError, OSError) as exc:
        raise ValueError(f"integratedTime {rekor.integrated_time} is out of range") from exc


def check_rekor_set(rekor: RekorBundle, trust: TrustMaterial, *, where: str) -> list[CheckFailure]:
    """The SignedEntryTimestamp must verify with the trusted Rekor key named by logID."""

    def fail(expected: str, found: str) -> list[CheckFailure]:
        return [
            CheckFailure(check=Check.REKOR_SET.value, expected=expected, found=found, where=where)
        ]

    log = trust.rekor_key(rekor.log_id)
    if log is None:
        return fail(f"a logID of a Rekor log in the trusted root ({trust.source})", rekor.log_id)
    when = integrated_datetime(rekor)
    if not log.validity.covers(when):
        return fail(
            f"integratedTime within the validity of Rekor key {log.name} {log.validity.describe()}",
            when.isoformat(),
        )
    try:
        set_bytes = go_b64decode(rekor.signed_entry_timestamp)
    except (binascii.Error, ValueError) as exc:
        return fail("SignedEntryTimestamp in base64", f"{exc}")
    signed = rfc8785.dumps(
        {
            "body": rekor.body,
            "integratedTime": rekor.integrated_time,
            "logID": rekor.log_id,
            "logIndex": rekor.log_index,
        }
    )
    try:
        if isinstance(log.public_key, ec.EllipticCurvePublicKey):
            log.public_key.verify(set_bytes, signed, ec.ECDSA(hashes.SHA256()))
        elif isinstance(log.public_key, ed25519.Ed25519PublicKey):
            log.public_key.verify(set_bytes, signed)
        else:
            return fail("an ECDSA or Ed25519 Rekor key", type(log.public_key).__name__)
    except Exception as exc:  # InvalidSignature, or DER that is no signature at all
        return fail(
            f"a SignedEntryTimestamp by {log.name} over logIndex {rekor.log_index}, "
            f"integratedTime {rekor.integrated_time}, the body and logID",
            f"a signature that does not verify ({type(exc).__name__})",
        )
    return []


def check_rekor_body(
    rekor: RekorBundle,
    *,
    payload: bytes,
    signature: bytes,
    certificate: x509.Certificate | None,
    key: VerificationKey | None,
    where: str,
) -> list[CheckFailure]:
    """The logged entry must name sha256(payload), this signature, and this certificate or key."""
    where_body = f"{where} Payload.body"

    def fail(field: str, expected: str, found: str) -> CheckFailure:
        return CheckFailure(
            check=Check.REKOR_BODY.value,
            expected=expected,
            found=found,
            where=f"{where_body} {field}",
        )

    try:
        body = json.loads(go_b64decode(rekor.body))
        kind = (body["kind"], body["apiVersion"])
        spec = body["spec"]
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        return [fail("", "a base64 Rekor entry (JSON with kind, apiVersion, spec)", str(exc))]
    if kind not in _SUPPORTED_KINDS:
        return [fail("kind", "hashedrekord or rekord 0.0.1", f"{kind[0]} {kind[1]}")]
    failures = []
    algorithm, logged_hash = _logged_hash(spec)
    want_hash = hashlib.sha256(payload).hexdigest()
    if (algorithm, logged_hash) != ("sha256", want_hash):
        failures.append(fail("spec.data.hash", f"sha256 {want_hash}", f"{algorithm} {logged_hash}"))
    logged_sig = _b64(_get(spec, "signature", "content"))
    if logged_sig != signature:
        failures.append(
            fail(
                "spec.signature.content",
                "the signature annotation",
                _short(_get(spec, "signature", "content")),
            )
        )
    problem = _public_key_problem(
        _b64(_get(spec, "signature", "publicKey", "content")), certificate, key
    )
    if problem is not None:
        failures.append(fail("spec.signature.publicKey", problem[0], problem[1]))
    return failures


def _get(doc: Any, *path: str) -> Any:
    for part in path:
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def _b64(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:24] + "…"


def _logged_hash(spec: Any) -> tuple[str, str]:
    digest = _get(spec, "data", "hash")
    if isinstance(digest, dict):
        return str(digest.get("algorithm")), str(digest.get("value")).lower()
    content = _b64(_get(spec, "data", "content"))  # a `rekord` may log the content itself
    if content is not None:
        return "sha256", hashlib.sha256(content).hexdigest()
    return "none", "no data.hash"


def _public_key_problem(
    logged: bytes | None, certificate: x509.Certificate | None, key: VerificationKey | None
) -> tuple[str, str] | None:
    """Compare the logged PEM with ours: certificates DER-equal, keys SPKI-equal."""
    if logged is None:
        return "a base64 PEM certificate or key", "missing or not base64"
    if key is None and certificate is not None:
        if logged.count(b"-----BEGIN CERTIFICATE-----") != 1:
            return "exactly one PEM certificate", "something else"
        try:
            found = x509.load_pem_x509_certificate(logged)
        except ValueError as exc:
            return "a PEM certificate", str(exc)
        if found.public_bytes(Encoding.DER) != certificate.public_bytes(Encoding.DER):
            return (
                f"the signing certificate (serial {certificate.serial_number:x})",
                f"another certificate (serial {found.serial_number:x})",
            )
        return None
    if key is None:
        return "a certificate or key to compare with", "neither"
    try:
        if b"-----BEGIN CERTIFICATE-----" in logged:
            found_key = VerificationKey.from_public_key(
                x509.load_pem_x509_certificate(logged).public_key()
            )
        else:
            found_key = VerificationKey.from_public_key(load_pem_public_key(logged))
    except (ValueError, TypeError) as exc:
        return "a PEM public key or certificate", str(exc)
    if found_key.key_id != key.key_id:
        return f"the verification key (sha256:{key.key_id})", f"key sha256:{found_key.key_id}"
    return None

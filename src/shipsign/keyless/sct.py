"""Embedded signed certificate timestamps (RFC 6962 §3.2) on Fulcio leaves, checked offline.

cosign requires an embedded SCT that verifies with a CT log key of the trusted root; the key
must have been valid when the SCT was issued.
"""

from __future__ import annotations

import hashlib
import struct
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.certificate_transparency import LogEntryType, SignedCertificateTimestamp

from shipsign.checks import Check, CheckFailure
from shipsign.keyless.trust_material import TrustMaterial

__all__ = ["check_sct"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def check_sct(leaf: x509.Certificate, trust: TrustMaterial, *, where: str) -> list[CheckFailure]:
    """At least one embedded SCT must verify against a CT log key of the trusted root."""
    try:
        scts = list(
            leaf.extensions.get_extension_for_class(
                x509.PrecertificateSignedCertificateTimestamps
            ).value
        )
    except x509.ExtensionNotFound:
        scts = []
    expected = f"an embedded SCT signed by a CT log of the trusted root ({trust.source})"
    if not scts:
        return [_failure(expected, "the certificate has no embedded SCT", where)]
    issuers = _issuer_key_hashes(leaf, trust)
    problems = []
    for sct in scts:
        problem = _sct_problem(sct, leaf, issuers, trust)
        if problem is None:
            return []
        problems.append(problem)
    return [_failure(expected, "; ".join(problems), where)]


def _failure(expected: str, found: str, where: str) -> CheckFailure:
    return CheckFailure(check=Check.SCT.value, expected=expected, found=found, where=where)


def _issuer_key_hashes(leaf: x509.Certificate, trust: TrustMaterial) -> list[bytes]:
    """SHA-256 of the SPKI of every trusted CA certificate named as `leaf`'s issuer.

    Matching by name is enough: the SCT signs the issuer key hash, so a wrong key cannot verify.
    Whether that CA really signed the leaf is the chain check's finding, not this one's.
    """
    found = []
    for ca in trust.fulcio:
        for cert in ca.certificates:
            if cert.subject == leaf.issuer:
                spki = cert.public_key().public_bytes(
                    Encoding.DER, PublicFormat.SubjectPublicKeyInfo
                )
                found.append(hashlib.sha256(spki).digest())
    return found


def _sct_problem(
    sct: SignedCertificateTimestamp,
    leaf: x509.Certificate,
    issuer_hashes: list[bytes],
    trust: TrustMaterial,
) -> str | None:
    log = trust.ct_key(sct.log_id)
    if log is None:
        return f"SCT from CT log {sct.log_id.hex()}, which the trusted root does not list"
    issued = sct.timestamp.replace(tzinfo=timezone.utc)
    if not log.validity.covers(issued):
        return (
            f"SCT issued at {issued.isoformat()}, outside the validity of CT log "
            f"{log.name or sct.log_id.hex()} {log.validity.describe()}"
        )
    if not isinstance(sct.signature_hash_algorithm, hashes.SHA256):
        return f"SCT hash algorithm {sct.signature_hash_algorithm.name}, expected sha256"
    if sct.entry_type == LogEntryType.PRE_CERTIFICATE:
        candidates = [_signed_data(sct, leaf, h) for h in issuer_hashes]
        if not candidates:
            return "no trusted CA certificate issued this certificate, so the SCT cannot be checked"
    else:
        candidates = [_signed_data(sct, leaf, None)]
    for data in candidates:
        if _signature_ok(log.public_key, sct.signature, data):
            return None
    return f"SCT signature does not verify with CT log {log.name or sct.log_id.hex()}"


def _signed_data(
    sct: SignedCertificateTimestamp, leaf: x509.Certificate, issuer_hash: bytes | None
) -> bytes:
    """The RFC 6962 `digitally-signed` struct the log signed."""
    if issuer_hash is not None:
        body = leaf.tbs_precertificate_bytes
        entry = issuer_hash + len(body).to_bytes(3, "big") + body
    else:
        body = leaf.public_bytes(Encoding.DER)
        entry = len(body).to_bytes(3, "big") + body
    millis = (sct.timestamp.replace(tzinfo=timezone.utc) - _EPOCH) // timedelta(milliseconds=1)
    head = struct.pack("!BBQH", sct.version.value, 0, millis, sct.entry_type.value)
    return head + entry + struct.pack("!H", len(sct.extension_bytes)) + sct.extension_bytes


def _signature_ok(key: object, signature: bytes, data: bytes) -> bool:
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except Exception:  # InvalidSignature, or a malformed signature
        return False
    return True

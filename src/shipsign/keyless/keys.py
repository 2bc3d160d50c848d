"""Public keys that verify signatures over exact bytes: `--key` keys and certificate keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from shipsign.errors import InputError

__all__ = ["VerificationKey", "signature_problem"]

_CURVE_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256,
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key (ECDSA P-256/P-384/P-521, Ed25519 or RSA) and its SHA-256 key ID."""

    public_key: PublicKeyTypes
    key_id: str  # hex SHA-256 of the DER SubjectPublicKeyInfo

    @classmethod
    def from_public_key(cls, key: PublicKeyTypes) -> VerificationKey:
        """Wrap a cryptography public key."""
        spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return cls(public_key=key, key_id=hashlib.sha256(spki).hexdigest())

    @classmethod
    def from_pem(cls, pem: bytes, *, where: str = "") -> VerificationKey:
        """Load a PEM `PUBLIC KEY`; raise `InputError` if it is not one we can verify with."""
        try:
            key = load_pem_public_key(pem)
        except (ValueError, TypeError) as exc:
            raise InputError(
                "not a PEM public key",
                where=where,
                expected="-----BEGIN PUBLIC KEY----- (ECDSA, Ed25519 or RSA)",
                found=str(exc) or type(exc).__name__,
            ) from exc
        if not isinstance(
            key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
        ):
            raise InputError(
                "unsupported public key type",
                where=where,
                expected="ECDSA, Ed25519 or RSA",
                found=type(key).__name__,
            )
        return cls.from_public_key(key)

    def spki(self) -> bytes:
        """The DER SubjectPublicKeyInfo."""
        return self.public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def signature_problem(key: PublicKeyTypes, signature: bytes, message: bytes) -> str | None:
    """Say why `signature` is not `key`'s signature over `message`; None when it is.

    ECDSA is checked with SHA-256 (what cosign's legacy verifier uses for every curve) and with
    the curve's own hash (what sigstore-go uses for P-384/P-521); RSA as PKCS#1 v1.5 SHA-256.
    """
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            algorithms: list[type[hashes.HashAlgorithm]] = [hashes.SHA256]
            algorithms.append(_CURVE_HASH.get(key.curve.name, hashes.SHA256))
            for algorithm in algorithms:
                if _ecdsa_ok(key, signature, message, algorithm()):
                    return None
            return "the ECDSA signature does not verify over the exact payload bytes"
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
            return None
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            return None
    except Exception as exc:  # InvalidSignature, or a malformed signature
        return f"the signature does not verify over the exact payload bytes ({type(exc).__name__})"
    return f"unsupported key type {type(key).__name__}"


def _ecdsa_ok(
    key: ec.EllipticCurvePublicKey,
    signature: bytes,
    message: bytes,
    algorithm: hashes.HashAlgorithm,
) -> bool:
    try:
        key.verify(signature, message, ec.ECDSA(algorithm))
    except Exception:  # InvalidSignature, or DER that is not an ECDSA signature
        return False
    return True

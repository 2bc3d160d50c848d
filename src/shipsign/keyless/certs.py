"""Who a certificate names, for display (`shipsign tree`): identity (SAN) and OIDC issuer.

Pure; no trust decisions. The extension decoding is `fulcio_identity.py`'s (formats.md §4.4).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from shipsign.errors import InputError
from shipsign.keyless.fulcio_identity import fulcio_extension, subject_alternative_names

__all__ = ["CertIdentity", "parse_cert_identity"]

# What cryptography raises for extensions it cannot decode (UnicodeDecodeError is a ValueError).
_MALFORMED = (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)
_ISSUER_V2, _ISSUER_V1 = 8, 1  # 1.3.6.1.4.1.57264.1.8 (DER UTF8String), 1.1 (raw, deprecated)


@dataclass(frozen=True, slots=True)
class CertIdentity:
    """The signer a certificate names; `issuer` is None when it carries no Fulcio issuer."""

    identity: str
    issuer: str | None


def parse_cert_identity(pem: str) -> CertIdentity:
    """Read the first SAN and the OIDC issuer (1.8, else 1.1) from one PEM certificate.

    Raises `InputError` if the text is not a PEM certificate, names no identity, or has
    malformed extensions (the certificate comes from a registry: anyone may have written it).
    """
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("utf-8"))
    except ValueError as exc:
        raise InputError("not a PEM certificate", found=str(exc)[:200]) from None
    try:
        # cryptography decodes extensions lazily, on first access: here.
        names = subject_alternative_names(cert)
    except _MALFORMED as exc:
        raise InputError(
            "certificate has malformed extensions", found=f"{type(exc).__name__}: {exc}"[:200]
        ) from None
    if not names:
        raise InputError("certificate names no identity (no usable subject alternative name)")
    try:
        issuer = fulcio_extension(cert, _ISSUER_V2)
        if issuer is None:
            issuer = fulcio_extension(cert, _ISSUER_V1)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError("certificate has a malformed issuer extension", found=str(exc)) from None
    return CertIdentity(identity=names[0], issuer=issuer)

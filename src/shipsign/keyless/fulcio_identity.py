"""Who a Fulcio certificate names: its SANs and its OIDC / GitHub extensions (formats.md §4.4).

Extensions 1.1 to 1.6 hold raw bytes; 1.8 and later a DER UTF8String; 1.7 is an OtherName SAN.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

__all__ = [
    "FULCIO_OID_PREFIX",
    "certificate_issuer",
    "decode_der_utf8_string",
    "fulcio_extension",
    "signer",
    "subject_alternative_names",
]

FULCIO_OID_PREFIX = "1.3.6.1.4.1.57264.1."
_OTHERNAME_SAN = ObjectIdentifier(FULCIO_OID_PREFIX + "7")
_UTF8_STRING = 0x0C


def decode_der_utf8_string(der: bytes) -> str:
    """Decode one DER UTF8String (tag 0x0C, definite length, nothing after it)."""
    if len(der) < 2 or der[0] != _UTF8_STRING:
        raise ValueError("not a DER UTF8String")
    length, offset = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(der) < 2 + count:
            raise ValueError("bad DER length")
        length = int.from_bytes(der[2 : 2 + count], "big")
        offset = 2 + count
        if length < 0x80 or der[2] == 0:
            raise ValueError("non-minimal DER length")
    if offset + length != len(der):
        raise ValueError("DER length does not match the content")
    return der[offset:].decode("utf-8")


def fulcio_extension(cert: x509.Certificate, number: int) -> str | None:
    """The value of Fulcio extension 1.3.6.1.4.1.57264.1.`number`, or None when absent.

    Raises ValueError when the extension is present but not encoded as Fulcio specifies.
    """
    oid = ObjectIdentifier(f"{FULCIO_OID_PREFIX}{number}")
    try:
        ext = cert.extensions.get_extension_for_oid(oid)
    except x509.ExtensionNotFound:
        return None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        raise ValueError(f"unexpected extension type for {oid.dotted_string}")
    if number <= 6:
        return value.value.decode("utf-8")
    return decode_der_utf8_string(value.value)


def subject_alternative_names(cert: x509.Certificate) -> list[str]:
    """Every SAN cosign matches an identity against: email, URI, DNS, IP, Fulcio OtherName."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names: list[str] = []
    for general in san:
        if isinstance(general, x509.RFC822Name | x509.DNSName | x509.UniformResourceIdentifier):
            names.append(general.value)
        elif isinstance(general, x509.IPAddress):
            names.append(str(general.value))
        elif isinstance(general, x509.OtherName) and general.type_id == _OTHERNAME_SAN:
            try:
                names.append(decode_der_utf8_string(general.value))
            except (ValueError, UnicodeDecodeError):
                continue  # a malformed OtherName names nobody
    return names


def certificate_issuer(cert: x509.Certificate) -> str | None:
    """The OIDC issuer: extension 1.8 (DER) when present, else the deprecated raw 1.1."""
    for number in (8, 1):
        value = fulcio_extension(cert, number)
        if value is not None:
            return value
    return None


def signer(cert: x509.Certificate) -> tuple[str | None, str | None]:
    """(first SAN, issuer) for display; (None, None) parts for what cannot be read. Never raises."""
    try:
        sans = subject_alternative_names(cert)
    except Exception:  # ValueError, DuplicateExtension, ...: the policy check reports it
        sans = []
    try:
        issuer = certificate_issuer(cert)
    except Exception:  # as above
        issuer = None
    return (sans[0] if sans else None), issuer

"""The identity and issuer `shipsign tree` shows for a certificate, from real Fulcio certs."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from interop.corpus import CORPUS
from shipsign.errors import InputError
from shipsign.keyless.certs import CertIdentity, parse_cert_identity

INTEROP = CORPUS
CASES = sorted(p.parent.name for p in INTEROP.glob("legacy-*/cert.pem"))


@pytest.mark.parametrize("case", CASES)
def test_identity_matches_the_corpus(case: str) -> None:
    meta = json.loads((INTEROP / case / "meta.json").read_text())
    found = parse_cert_identity((INTEROP / case / "cert.pem").read_text())
    assert found == CertIdentity(
        identity=meta["identity"]["san"], issuer=meta["identity"]["issuer"]
    )


def _cert(san: x509.GeneralName | None, extensions: list[tuple[str, bytes]]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(minutes=10))
    )
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), critical=False)
    for oid, value in extensions:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_issuer_v2_wins_over_v1_and_othername_san() -> None:
    issuer = b"https://issuer.example/v2-ok"
    v2 = bytes([0x0C, len(issuer)]) + issuer  # DER UTF8String
    pem = _cert(
        x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.7"), b"\x0c\x04user"),
        [("1.3.6.1.4.1.57264.1.1", b"https://issuer.example/v1"), ("1.3.6.1.4.1.57264.1.8", v2)],
    )
    assert parse_cert_identity(pem) == CertIdentity("user", "https://issuer.example/v2-ok")


def test_issuer_v1_is_raw_bytes() -> None:
    pem = _cert(
        x509.RFC822Name("a@b.c"), [("1.3.6.1.4.1.57264.1.1", b"https://accounts.google.com")]
    )
    assert parse_cert_identity(pem) == CertIdentity("a@b.c", "https://accounts.google.com")


@pytest.mark.parametrize(
    ("pem", "says"),
    [
        ("not a certificate", "not a PEM certificate"),
        (_cert(None, []), "names no identity"),
        (
            _cert(x509.RFC822Name("a@b.c"), [("1.3.6.1.4.1.57264.1.8", b"\x04\x01x")]),
            "malformed issuer",
        ),
        # a SAN extension that is not DER: cryptography raises ValueError when it is first read
        (_cert(None, [("2.5.29.17", b"\x30\x03\x01\x01\xff")]), "malformed extensions"),
    ],
)
def test_unusable_certificates_raise_input_error(pem: str, says: str) -> None:
    with pytest.raises(InputError, match=says):
        parse_cert_identity(pem)

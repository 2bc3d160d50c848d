"""Per-start test PKI: a self-signed CA with a server certificate for 127.0.0.1, and the
self-signed certificate the token server signs JWTs with. Keys never leave the workdir."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ServerTLS", "TokenSigner", "write_server_tls", "write_token_signer"]

_VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class ServerTLS:
    """PEM paths: the CA clients trust, the server's certificate and key, a `--cert-dir`."""

    ca_bundle: Path
    certificate: Path
    key: Path
    cert_dir: Path


@dataclass(frozen=True, slots=True)
class TokenSigner:
    """PEM paths: the token server's signing key and its self-signed certificate."""

    key: Path
    certificate: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "shipsign test stack"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _self_signed(common_name: str, key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = _name(common_name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )


def write_server_tls(workdir: Path, *, ip: str = "127.0.0.1") -> ServerTLS:
    """Create a CA and a server certificate with IP SAN `ip`, write them under workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _self_signed("shipsign test CA", ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(_name(ip), ca_cert.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    tls = ServerTLS(
        ca_bundle=workdir / "ca.pem",
        certificate=workdir / "server.pem",
        key=workdir / "server-key.pem",
        cert_dir=workdir / "cert-dir",
    )
    tls.ca_bundle.write_bytes(ca_pem)
    # The registry serves leaf + CA so clients that only know the CA can build the chain.
    tls.certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    _write_key(tls.key, key)
    # containers-image (skopeo --cert-dir) reads every *.crt in the directory as a CA.
    tls.cert_dir.mkdir(exist_ok=True)
    (tls.cert_dir / "ca.crt").write_bytes(ca_pem)
    return tls


def write_token_signer(workdir: Path) -> TokenSigner:
    """Create the token signing key and a self-signed certificate (the registry's root bundle)."""
    workdir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed("shipsign test token issuer", key)
    signer = TokenSigner(key=workdir / "token-key.pem", certificate=workdir / "token-cert.pem")
    _write_key(signer.key, key)
    signer.certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return signer

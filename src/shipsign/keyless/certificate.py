"""Fulcio leaf certificates: parse them, chain them to the trusted root, check their usage.

The chain is always built from the trusted root's CAs (cosign v3 does the same); a `chain`
annotation is never trusted, so cosign v3's empty one verifies.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
)

from shipsign.checks import Check, CheckFailure
from shipsign.keyless.trust_material import FulcioAuthority, TrustMaterial

__all__ = [
    "check_certificate_chain",
    "check_certificate_usage",
    "check_signing_time",
    "parse_certificate",
    "parse_certificate_chain",
]

_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"


def parse_certificate(pem: str) -> x509.Certificate:
    """Parse exactly one PEM certificate; raise ValueError otherwise (as cosign requires)."""
    if pem.count(_PEM_BEGIN) != 1:
        raise ValueError(f"expected one PEM certificate, found {pem.count(_PEM_BEGIN)}")
    return x509.load_pem_x509_certificate(pem.encode())


def parse_certificate_chain(pem: str) -> list[x509.Certificate]:
    """Parse zero or more PEM certificates; raise ValueError if the text is not PEM."""
    if not pem.strip():
        return []
    return x509.load_pem_x509_certificates(pem.encode())


def check_signing_time(
    leaf: x509.Certificate, signed_at: datetime, *, where: str
) -> list[CheckFailure]:
    """The signing time (Rekor integratedTime) must lie inside the leaf's validity."""
    start, end = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    if start <= signed_at <= end:
        return []
    return [
        CheckFailure(
            check=Check.SIGNING_TIME.value,
            expected=f"a signing time within the certificate's validity [{start.isoformat()}, "
            f"{end.isoformat()}]",
            found=signed_at.isoformat(),
            where=where,
        )
    ]


def check_certificate_usage(leaf: x509.Certificate, *, where: str) -> list[CheckFailure]:
    """Fulcio profile: KeyUsage digitalSignature and ExtendedKeyUsage codeSigning."""
    found = []
    try:
        if not leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature:
            found.append("KeyUsage without digitalSignature")
    except x509.ExtensionNotFound:
        found.append("no KeyUsage extension")
    try:
        eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CODE_SIGNING not in eku:
            found.append("ExtendedKeyUsage without codeSigning")
    except x509.ExtensionNotFound:
        found.append("no ExtendedKeyUsage extension")
    if not found:
        return []
    return [
        CheckFailure(
            check=Check.CERTIFICATE_USAGE.value,
            expected="KeyUsage digitalSignature and ExtendedKeyUsage codeSigning",
            found="; ".join(found),
            where=where,
        )
    ]


def check_certificate_chain(
    leaf: x509.Certificate, trust: TrustMaterial, signed_at: datetime, *, where: str
) -> list[CheckFailure]:
    """The leaf must chain to a Fulcio CA of the trusted root that was valid at `signed_at`.

    The path is validated at `signed_at`, moved inside the leaf's own validity when it lies
    outside: an expired leaf is `check_signing_time`'s finding, not a chain failure.
    """
    at = min(max(signed_at, leaf.not_valid_before_utc), leaf.not_valid_after_utc)
    candidates = [ca for ca in trust.fulcio if ca.validity.covers(signed_at)]
    if not candidates:
        periods = ", ".join(f"{ca.name} {ca.validity.describe()}" for ca in trust.fulcio)
        return [
            CheckFailure(
                check=Check.CERTIFICATE_CHAIN.value,
                expected=f"a Fulcio CA in the trusted root ({trust.source}) valid at "
                f"{signed_at.isoformat()}",
                found=f"none; CAs: {periods or 'none at all'}",
                where=where,
            )
        ]
    problems = []
    for ca in candidates:
        problem = _chain_problem(leaf, ca, at)
        if problem is None:
            return []
        problems.append(f"{ca.name}: {problem}")
    return [
        CheckFailure(
            check=Check.CERTIFICATE_CHAIN.value,
            expected=f"a chain to a Fulcio CA of the trusted root ({trust.source})",
            found=f"issuer {leaf.issuer.rfc4514_string()!r}; " + "; ".join(problems),
            where=where,
        )
    ]


def _chain_problem(leaf: x509.Certificate, ca: FulcioAuthority, at: datetime) -> str | None:
    # Fulcio leaves carry codeSigning, not the clientAuth EKU a client verifier would demand:
    # allow any EKU here (check_certificate_usage checks codeSigning) and keep the rest of the
    # web-PKI profile, as sigstore-python's Verifier does.
    ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(
        x509.ExtendedKeyUsage, Criticality.NON_CRITICAL, None
    )
    verifier = (
        PolicyBuilder()
        .store(Store([ca.certificates[-1]]))
        .time(at)
        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        .build_client_verifier()
    )
    try:
        verifier.verify(leaf, list(ca.certificates[:-1]))
    except Exception as exc:  # VerificationError, UnsupportedGeneralNameType, ValueError
        return f"{type(exc).__name__}: {exc}"
    return None

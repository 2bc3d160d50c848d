"""Is a file already signed? A bundle at its bundle path, made by this run's identity (issuer
and SAN, as the identity token names them: known before any certificate is requested, the way
`shipsign sign` skips images), valid against the run's trust material, for the file's current
digest, and a message signature (what this run would write).

Reads only. A bundle that is not valid for this content (stale, broken) is reported and
replaced; a valid one by another signer is someone's signature, and is kept unless `--force`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from shipsign.blobs.outputs import read_if_exists
from shipsign.checks import Check, SignatureOutcome
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust_material import TrustMaterial

__all__ = ["BUNDLE_MAX", "Existing", "LegacyParts", "check_existing", "legacy_parts"]

BUNDLE_MAX = 16 * 1024 * 1024  # a bundle larger than this is not one we wrote
# The checks that only say who signed: a bundle failing nothing else is someone's valid bundle.
_IDENTITY_CHECKS = frozenset(
    c.value
    for c in (
        Check.IDENTITY,
        Check.ISSUER,
        Check.GITHUB_REPOSITORY,
        Check.GITHUB_REF,
        Check.GITHUB_WORKFLOW_TRIGGER,
        Check.GITHUB_SHA,
        Check.GITHUB_WORKFLOW,
        Check.RUNNER_ENVIRONMENT,
    )
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Existing:
    """What was found at a file's bundle path."""

    bundle: bytes | None  # None: no bundle there
    valid: bool  # ours, valid, for this digest: the file need not be signed again
    log_index: int | None = None
    why_not: str = ""  # when a bundle is there but not valid: why (for the report)
    # a valid bundle for this very content by another signer: never replaced without --force
    other_signer: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyParts:
    """What `cosign sign-blob --output-signature/--output-certificate` would have written."""

    signature_b64: bytes
    certificate_pem: bytes


def check_existing(
    bundle_path: Path, sha256_hex: str, *, trust: TrustMaterial, policy: IdentityPolicy
) -> Existing:
    """Verify the bundle at `bundle_path` (if any) for `sha256_hex` against `policy` (this
    run's exact identity) and `trust`. Offline; never raises for a bad bundle."""
    raw = read_if_exists(bundle_path, BUNDLE_MAX)
    if raw is None:
        return Existing(bundle=None, valid=False)
    doc = _json(raw)
    if doc is None or "messageSignature" not in doc:
        return Existing(bundle=raw, valid=False, why_not="not a message-signature bundle")
    outcome = verify_bundle(raw, trust=trust, policy=policy, digest=f"sha256:{sha256_hex}")
    if not outcome.passed:
        foreign = outcome.failed_checks <= _IDENTITY_CHECKS
        return Existing(
            bundle=raw,
            valid=False,
            why_not=_why(outcome),
            other_signer=(outcome.facts.identity or "another signer") if foreign else None,
        )
    return Existing(bundle=raw, valid=True, log_index=outcome.facts.log_index)


def legacy_parts(bundle_json: bytes) -> LegacyParts | None:
    """The signature (base64) and the certificate (PEM) of a message-signature bundle."""
    doc = _json(bundle_json)
    if doc is None:
        return None
    try:
        signature = doc["messageSignature"]["signature"]
        material = doc["verificationMaterial"]
        if "certificate" in material:
            der = base64.b64decode(material["certificate"]["rawBytes"])
        else:
            der = base64.b64decode(material["x509CertificateChain"]["certificates"][0]["rawBytes"])
        base64.b64decode(signature, validate=True)
        pem = _pem(der)
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return LegacyParts(signature_b64=signature.encode(), certificate_pem=pem)


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)


def _why(outcome: SignatureOutcome) -> str:
    checks = sorted(outcome.failed_checks)
    first = outcome.failures[0]
    return f"failed {', '.join(checks)}: {first.found}"[:300]


def _json(raw: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None

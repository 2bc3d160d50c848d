"""Verify a Sigstore bundle (v0.1 to v0.3) with sigstore-python's Verifier, offline.

sigstore-python checks the certificate chain, SCT, tlog entry (inclusion proof, checkpoint,
SET), timestamps and the signature; shipsign adds the identity policy (every mismatch) and, for
DSSE, the in-toto payload type and subject digest (formats.md §3.5, §5.5). Every sigstore
exception becomes a named check; a bundle sigstore-python cannot load is a `bundle_parse`
failure with its reason.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from cryptography import x509
from sigstore.errors import Error as SigstoreError
from sigstore.hashes import Hashed
from sigstore.models import Bundle
from sigstore.verify import Verifier
from sigstore_models.common.v1 import HashAlgorithm

from shipsign.checks import (
    Check,
    CheckFailure,
    SignatureFacts,
    SignatureFormat,
    SignatureOutcome,
    run_check,
)
from shipsign.errors import InputError
from shipsign.keyless.fulcio_identity import signer
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust_material import TrustSource, load_trust_material

__all__ = ["IN_TOTO_PAYLOAD_TYPE", "verify_bundle"]

_logger = logging.getLogger(__name__)

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_V03_MEDIA_TYPES = frozenset(
    {
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.dev.sigstore.bundle+json;version=0.3",
    }
)
_WHERE = "Sigstore bundle"

# sigstore-python reports every verification failure as VerificationError with a message; these
# fragments (sigstore 4.5, sigstore/verify/verifier.py and models.py) name the failing step.
# Unknown messages fall back to `bundle_verify`, so a new wording can only make a reason vaguer.
_REASONS: tuple[tuple[str, Check], ...] = (
    ("message digest mismatch", Check.ARTIFACT_DIGEST),
    ("Signature is invalid for input", Check.SIGNATURE),
    ("DSSE: invalid signature", Check.SIGNATURE),
    ("certificate chain", Check.CERTIFICATE_CHAIN),
    ("SCT", Check.SCT),
    ("Key usage", Check.CERTIFICATE_USAGE),
    ("Extended usage", Check.CERTIFICATE_USAGE),
    ("SET", Check.REKOR_SET),
    ("inclusion promise", Check.REKOR_SET),
    ("nclusion proof", Check.TLOG_INCLUSION),
    ("checkpoint", Check.TLOG_INCLUSION),
    ("inconsistent with other materials", Check.REKOR_BODY),
    ("log entry payload hash", Check.REKOR_BODY),
    ("log entry signatures", Check.REKOR_BODY),
    ("expired at time of signing", Check.SIGNING_TIME),
    ("verified time", Check.SIGNING_TIME),
    ("imestamp", Check.SIGNING_TIME),
)


class _IdentityCheckedAfterwards:
    """A sigstore `VerificationPolicy` that accepts any signer.

    `verify_bundle` applies the `IdentityPolicy` to the same certificate itself, so that every
    identity mismatch is reported (sigstore stops at the first) along with the crypto result.
    """

    def verify(self, cert: x509.Certificate) -> None:
        """Accept; see the class docstring."""


def verify_bundle(
    bundle_json: bytes,
    *,
    trust: TrustSource,
    policy: IdentityPolicy,
    artifact: bytes | None = None,
    digest: str | None = None,
    require_dsse: bool = False,
) -> SignatureOutcome:
    """Verify a bundle for an artifact (bytes, or `digest` `sha256:<hex>`); never raises for it.

    A DSSE bundle must carry an in-toto statement with a subject whose sha256 is the artifact's.
    `require_dsse` accepts only what cosign v3 reads for an image: a v0.3 bundle with a DSSE
    envelope (message signatures and older bundles are `bundle_content` failures). Raises
    `InputError` when neither or both of `artifact` and `digest` are given, or the digest is
    malformed, or the policy names no identity.
    """
    expected_hex = _expected_hex(artifact, digest)
    if not policy.names_identity:
        raise InputError(
            "bundle verification needs the expected signer identity",
            hint="give --certificate-identity or --certificate-identity-regexp",
        )
    material = load_trust_material(trust)
    loaded = _load(bundle_json)
    if isinstance(loaded, CheckFailure):
        return _outcome(SignatureFacts(), [loaded])
    doc, bundle = loaded
    cert = bundle.signing_certificate
    # what cosign v3 does not accept for an image is not verified any further
    failures = _content_failures(doc) if require_dsse else []
    if not failures and "dsseEnvelope" in doc:
        failures += run_check(
            Check.BUNDLE_VERIFY,
            _WHERE,
            lambda: _verify_dsse(bundle, material.verifier, expected_hex),
        )
    elif not failures:
        hashed = artifact if artifact is not None else _hashed(expected_hex)
        failures += run_check(
            Check.BUNDLE_VERIFY,
            _WHERE,
            lambda: _sigstore(lambda p: material.verifier.verify_artifact(hashed, bundle, p)),
        )
    failures += run_check(
        Check.IDENTITY,
        f"{_WHERE} certificate",
        lambda: policy.check(cert, where=f"{_WHERE} certificate"),
    )
    return _outcome(_facts(doc, bundle), failures)


def _expected_hex(artifact: bytes | None, digest: str | None) -> str:
    if artifact is not None and digest is None:
        return hashlib.sha256(artifact).hexdigest()
    if artifact is not None or digest is None:
        raise InputError("give the artifact or its digest, not both and not neither")
    algorithm, _, hexpart = digest.partition(":")
    if algorithm != "sha256" or not _SHA256_HEX.fullmatch(hexpart):
        raise InputError(
            "invalid artifact digest", expected="sha256:<64 lower-case hex>", found=digest
        )
    return hexpart


def _hashed(hexdigest: str) -> Hashed:
    return Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(hexdigest))


def _content_failures(doc: dict[str, Any]) -> list[CheckFailure]:
    """cosign v3 reads image signatures only from v0.3 bundles holding a DSSE envelope."""
    found = []
    if doc.get("mediaType") not in _V03_MEDIA_TYPES:
        found.append(f"media type {doc.get('mediaType')!r}")
    if "dsseEnvelope" not in doc:
        found.append("a message signature, not a DSSE envelope")
    if not found:
        return []
    return [
        CheckFailure(
            check=Check.BUNDLE_CONTENT.value,
            expected="a v0.3 bundle with a DSSE in-toto statement (cosign v3 image signatures)",
            found="; ".join(found),
            where=_WHERE,
        )
    ]


def _load(raw: bytes) -> tuple[dict[str, Any], Bundle] | CheckFailure:
    def fail(found: str) -> CheckFailure:
        expected = "a Sigstore bundle (v0.1 to v0.3) that sigstore-python can load"
        return CheckFailure(
            check=Check.BUNDLE_PARSE.value, expected=expected, found=found, where=_WHERE
        )

    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        return fail(f"not JSON: {exc}")
    if not isinstance(doc, dict):
        return fail(f"a JSON {type(doc).__name__}, not an object")
    filled = _with_proto3_defaults(doc)
    try:
        # Unchanged: the bytes as they came, not parsed and printed again.
        bundle = Bundle.from_json(raw if filled is doc else json.dumps(filled))
    except Exception as exc:  # InvalidBundle, pydantic's ValidationError, ValueError, ...
        return fail(f"sigstore-python cannot load it: {_message(exc)}")
    return doc, bundle


def _with_proto3_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    """The bundle with the zero values protobuf JSON leaves out put back where sigstore-python
    requires them.

    Go writers (cosign, sigstore-go) marshal bundles with protojson, which omits zero values: an
    inclusion proof for the first leaf of a tree has no `logIndex` (0) and no `hashes` ([]).
    sigstore-python's model requires both keys, so it would reject a valid bundle. Only these
    two fields are filled, with exactly the value their absence means; nothing else changes.
    """
    material = doc.get("verificationMaterial")
    if not isinstance(material, dict):
        return doc
    entries = material.get("tlogEntries")
    if not isinstance(entries, list):
        return doc
    filled, changed = [], False
    for entry in entries:
        proof = entry.get("inclusionProof") if isinstance(entry, dict) else None
        if isinstance(proof, dict) and not {"logIndex", "hashes"} <= proof.keys():
            proof = {"logIndex": "0", "hashes": [], **proof}
            entry, changed = {**entry, "inclusionProof": proof}, True
        filled.append(entry)
    if not changed:
        return doc
    return {**doc, "verificationMaterial": {**material, "tlogEntries": filled}}


def _message(exc: BaseException) -> str:
    """One line from an exception, without pydantic's "further information" links."""
    lines = [
        line.strip()
        for line in str(exc).splitlines()
        if line.strip() and "errors.pydantic.dev" not in line
    ]
    text = "; ".join(lines) or type(exc).__name__
    return text if len(text) <= 400 else text[:400] + "…"


def _sigstore(verify: Callable[[_IdentityCheckedAfterwards], object]) -> list[CheckFailure]:
    """Call a sigstore verification, turning its exception into a named failure."""
    try:
        verify(_IdentityCheckedAfterwards())
    except SigstoreError as exc:
        message = _message(exc)
        check = next((c for fragment, c in _REASONS if fragment in message), Check.BUNDLE_VERIFY)
        return [
            CheckFailure(
                check=check.value,
                expected="a bundle that sigstore-python verifies",
                found=f"{type(exc).__name__}: {message}",
                where=_WHERE,
            )
        ]
    return []


def _verify_dsse(bundle: Bundle, verifier: Verifier, expected_hex: str) -> list[CheckFailure]:
    result: list[tuple[str, bytes]] = []
    failures = _sigstore(lambda policy: result.append(verifier.verify_dsse(bundle, policy)))
    if failures:
        return failures
    payload_type, payload = result[0]
    where = f"{_WHERE} dsseEnvelope"
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        return [
            CheckFailure(
                check=Check.DSSE_PAYLOAD_TYPE.value,
                expected=IN_TOTO_PAYLOAD_TYPE,
                found=payload_type,
                where=where,
            )
        ]
    subjects = _subject_digests(payload)
    if subjects is None:
        return [
            CheckFailure(
                check=Check.DSSE_SUBJECT.value,
                expected="an in-toto statement with subjects",
                found="something else",
                where=where,
            )
        ]
    if expected_hex in subjects:
        return []
    return [
        CheckFailure(
            check=Check.DSSE_SUBJECT.value,
            expected=f"a subject with sha256 {expected_hex}",
            found=", ".join(f"sha256:{s}" for s in subjects) or "no sha256 subject digest",
            where=f"{where} statement subject",
        )
    ]


def _subject_digests(payload: bytes) -> list[str] | None:
    try:
        statement = json.loads(payload)
        subjects = statement["subject"]
        if not isinstance(subjects, list):
            return None
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    found = []
    for subject in subjects:
        value = subject.get("digest", {}).get("sha256") if isinstance(subject, dict) else None
        if isinstance(value, str):
            found.append(value.lower())
    return found


def _facts(doc: dict[str, Any], bundle: Bundle) -> SignatureFacts:
    """What the bundle says about itself, for display; never raises (bundles may be hostile)."""
    identity, issuer = signer(bundle.signing_certificate)
    log_index = signed_at = None
    try:
        entry = doc["verificationMaterial"]["tlogEntries"][0]
        log_index = _int(entry.get("logIndex"))
        integrated = _int(entry.get("integratedTime"))
        if integrated:
            signed_at = datetime.fromtimestamp(integrated, tz=timezone.utc)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, OverflowError, OSError):
        _logger.debug("bundle without a readable tlog entry", exc_info=True)
    if signed_at is None:
        signed_at = _tsa_time(bundle)
    return SignatureFacts(
        identity=identity,
        issuer=issuer,
        log_index=log_index,
        signing_time=signed_at,
    )


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _tsa_time(bundle: Bundle) -> datetime | None:
    try:
        data = bundle.verification_material.timestamp_verification_data
        if data is None or not data.rfc3161_timestamps:
            return None
        gen_time: datetime = data.rfc3161_timestamps[0].tst_info.gen_time
        return gen_time if gen_time.tzinfo else gen_time.replace(tzinfo=timezone.utc)
    except Exception:  # a fact for display only; verification has already judged the timestamp
        _logger.debug("no TSA time in bundle", exc_info=True)
        return None


def _outcome(facts: SignatureFacts, failures: list[CheckFailure]) -> SignatureOutcome:
    return SignatureOutcome(format=SignatureFormat.BUNDLE, facts=facts, failures=tuple(failures))

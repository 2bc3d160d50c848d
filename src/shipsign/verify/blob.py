"""Use case: verify a Sigstore bundle (v0.1 to v0.3, message signature or DSSE) for a file."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from shipsign.checks import SignatureOutcome
from shipsign.errors import InputError
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.keyless.trust_material import load_trust_material
from shipsign.oci.reference import Digest

__all__ = ["BlobReport", "VerifyBlobRequest", "verify_blob"]

_BUNDLE_MAX = 16 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyBlobRequest:
    """A bundle, and the file it signs (or that file's sha256 digest)."""

    bundle: Path
    file: Path | None = None
    digest: str | None = None
    policy: IdentityPolicy = field(default_factory=IdentityPolicy)
    trust: TrustOptions = field(default_factory=TrustOptions)


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobReport:
    """The verdict on one bundle for one artifact."""

    artifact: str
    digest: str
    bundle: str
    outcome: SignatureOutcome
    trust_source: str

    @property
    def ok(self) -> bool:
        """True when the bundle passed every check."""
        return self.outcome.passed


def verify_blob(request: VerifyBlobRequest) -> BlobReport:
    """Verify `request.bundle` for the file or digest; a failed check is data, not an error.

    Raises `InputError` for unreadable files, a malformed digest, both or neither of file and
    digest, a policy that names no identity, or an unusable trust file.
    """
    if (request.file is None) == (request.digest is None):
        raise InputError(
            "give the signed file or its digest, not both",
            expected="FILE, or --digest sha256:<64 hex>",
        )
    if not request.policy.names_identity:
        raise InputError(
            "verification needs the signer identity you expect",
            expected="--certificate-identity or --certificate-identity-regexp",
        )
    if request.file is not None:
        digest = _hash_file(request.file)
        artifact = str(request.file)
    else:
        digest = Digest.parse(request.digest or "")
        if digest.algorithm != "sha256":
            raise InputError("only sha256 digests are supported", found=str(digest))
        artifact = str(digest)
    bundle = _read(request.bundle, "the bundle", _BUNDLE_MAX)
    trust = load_trust(request.trust)
    # name the file or instance in failure messages, not "TrustedRoot object"
    material = dataclasses.replace(load_trust_material(trust.trusted_root), source=trust.source)
    outcome = verify_bundle(
        bundle,
        trust=material,
        policy=request.policy,
        digest=str(digest),
    )
    return BlobReport(
        artifact=artifact,
        digest=str(digest),
        bundle=str(request.bundle),
        outcome=outcome,
        trust_source=trust.source,
    )


def _hash_file(path: Path) -> Digest:
    hasher = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                hasher.update(chunk)
    except OSError as exc:
        raise InputError("cannot read the file to verify", where=str(path), found=str(exc)) from exc
    return Digest.parse(f"sha256:{hasher.hexdigest()}")


def _read(path: Path, what: str, limit: int) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {what}", where=str(path), found=str(exc)) from exc
    if len(data) > limit:
        raise InputError(f"{what} is too large", where=str(path), expected=f"at most {limit} bytes")
    return data

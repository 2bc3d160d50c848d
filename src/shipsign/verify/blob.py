"""Use case: verify a Sigstore bundle (v0.1 to v0.3, message signature or DSSE) for a file; or
for a checksums file (`sha256sum` format), then each given file against its line there."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from shipsign.checks import SignatureOutcome
from shipsign.errors import InputError
from shipsign.formats.checksums import parse_checksums
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust import TrustOptions
from shipsign.keyless.trust_material import load_verification_trust
from shipsign.oci.reference import Digest

__all__ = ["BlobReport", "ChecksumCheck", "VerifyBlobRequest", "verify_blob"]

_BUNDLE_MAX = 16 * 1024 * 1024
_CHECKSUMS_MAX = 16 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyBlobRequest:
    """A bundle, and the file it signs (or that file's sha256 digest)."""

    bundle: Path
    file: Path | None = None
    digest: str | None = None
    policy: IdentityPolicy = field(default_factory=IdentityPolicy)
    trust: TrustOptions = field(default_factory=TrustOptions)
    checksums: Path | None = None  # the bundle signs this sums file; `files` are checked in it
    files: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksumCheck:
    """One file checked against the line for its base name in a verified checksums file."""

    file: str
    name: str  # the base name looked up
    sha256: str  # the file's, streamed
    listed: str | None  # the checksums file's; None when it has no line for the name
    problem: str = ""  # e.g. two lines for the name with different digests

    @property
    def ok(self) -> bool:
        return not self.problem and self.listed == self.sha256


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobReport:
    """The verdict on one bundle for one artifact (and, with a checksums file, on each file
    checked against it)."""

    artifact: str
    digest: str
    bundle: str
    outcome: SignatureOutcome
    trust_source: str
    checksums: bool = False  # the artifact is a checksums file; `files` were checked in it
    files: tuple[ChecksumCheck, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the bundle passed every check, and every file matched its line."""
        return self.outcome.passed and all(f.ok for f in self.files)


def verify_blob(request: VerifyBlobRequest) -> BlobReport:
    """Verify `request.bundle` for the file or digest; a failed check is data, not an error.

    With `checksums`, the bundle is verified for that file, and then (only if it passed) each
    of `files` is hashed and looked up by base name in it: a file not listed, or listed with
    another digest, fails naming it.

    Raises `InputError` for unreadable files, a malformed digest, both or neither of file and
    digest, a policy that names no identity, an unusable trust file, or a checksums file that
    is not in `sha256sum` format.
    """
    if request.checksums is not None:
        if request.file is not None or request.digest is not None:
            raise InputError(
                "with --checksums, the bundle is for the checksums file",
                expected="--checksums SUMS --bundle SUMS.sigstore.json FILE...",
                found="--digest" if request.digest is not None else "a FILE for the bundle",
            )
        request = dataclasses.replace(request, file=request.checksums)
    elif request.files:
        raise InputError(
            "several files need a checksums file",
            expected="one FILE with --bundle, or --checksums SUMS with FILE...",
            found=f"{len(request.files)} files and no --checksums",
        )
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
    material = load_verification_trust(request.trust)
    outcome = verify_bundle(
        bundle,
        trust=material,
        policy=request.policy,
        digest=str(digest),
    )
    report = BlobReport(
        artifact=artifact,
        digest=str(digest),
        bundle=str(request.bundle),
        outcome=outcome,
        trust_source=material.source,
        checksums=request.checksums is not None,
    )
    if request.checksums is None or not outcome.passed:
        return report  # an unverified checksums file says nothing about the files
    sums = _read(request.checksums, "the checksums file", _CHECKSUMS_MAX)
    if hashlib.sha256(sums).hexdigest() != digest.hex:
        raise InputError(
            "the checksums file changed while it was being verified",
            where=str(request.checksums),
        )
    listed: dict[str, list[str]] = {}
    for entry in parse_checksums(sums, where=str(request.checksums)):
        listed.setdefault(entry.base_name, []).append(entry.sha256)
    return dataclasses.replace(
        report, files=tuple(_check_file(path, listed) for path in request.files)
    )


def _check_file(path: Path, listed: dict[str, list[str]]) -> ChecksumCheck:
    actual = _hash_file(path).hex
    name = path.name
    digests = listed.get(name, [])
    if len(set(digests)) > 1:
        return ChecksumCheck(
            file=str(path),
            name=name,
            sha256=actual,
            listed=None,
            problem=f"listed {len(digests)} times with different digests",
        )
    return ChecksumCheck(
        file=str(path), name=name, sha256=actual, listed=digests[0] if digests else None
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

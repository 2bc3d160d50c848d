"""What `shipsign sign` is asked (`SignRequest`) and what it answers (`SignReport`): plain values.

One `SignResult` per (digest, location, format); the report decides once whether the run is
ok, negative or could not reach something, and the front ends map that to exit codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from shipsign.blobs.model import FileOutcome, FileResult, FileSignOptions
from shipsign.checks import SignatureFormat
from shipsign.errors import InputError, InternalError, ShipsignError, UnreachableError
from shipsign.keyless.retrying import ServiceStats
from shipsign.keyless.trust import TrustOptions
from shipsign.oci.credentials import Keychain
from shipsign.oci.reference import Digest
from shipsign.secret import Secret
from shipsign.sign.tags import TagResult, TagStatus, check_tags

__all__ = [
    "ImageTarget",
    "ReadBack",
    "SignFormat",
    "SignReport",
    "SignRequest",
    "SignResult",
    "SignStatus",
    "parse_annotations",
]

_ANNOTATION_KEY_MAX = 256


class SignFormat(str, Enum):
    """Which on-registry formats to write."""

    BOTH = "both"
    BUNDLE = "bundle"
    LEGACY = "legacy"

    @property
    def formats(self) -> tuple[SignatureFormat, ...]:
        """The signature formats this choice writes, bundle first."""
        if self is SignFormat.BOTH:
            return (SignatureFormat.BUNDLE, SignatureFormat.LEGACY)
        return (SignatureFormat(self.value),)


def parse_annotations(pairs: tuple[str, ...]) -> Mapping[str, str]:
    """Parse `KEY=VALUE` pairs (cosign's `-a`); raise `InputError` naming the bad one."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or key != key.strip() or len(key) > _ANNOTATION_KEY_MAX:
            raise InputError(
                f"invalid annotation {pair!r}",
                expected="KEY=VALUE with a non-empty key and no spaces around it",
                found=pair,
            )
        if key in out and out[key] != value:
            raise InputError(
                f"annotation {key!r} is given twice with different values",
                found=f"{out[key]!r} and {value!r}",
            )
        out[key] = value
    return MappingProxyType(dict(sorted(out.items())))


@dataclass(frozen=True, slots=True, kw_only=True)
class SignRequest:
    """What to sign, how, and with whose identity.

    The identity token: `identity_token` is used as given and never renewed (a run that
    outlives it fails when a new certificate is needed); `identity_token_source` is called for
    the first token and again whenever the certificate must be renewed with a fresh token (it
    may be called from a worker thread); with neither, the CI environment's (GitHub Actions
    `id-token: write`, ...), renewed the same way. `keychain` None means the docker/podman
    config and credential helpers. `files`: files to sign in the same run, with the same
    certificate (a run may have files and no image). Construction raises `InputError` for a
    malformed annotation or for both a token and a token source.
    """

    images: tuple[str, ...] = ()
    format: SignFormat = SignFormat.BOTH
    identity_token: Secret | None = None
    identity_token_source: Callable[[], Secret] | None = None
    trust: TrustOptions = field(default_factory=TrustOptions)
    recursive: bool = False
    annotations: tuple[str, ...] = ()  # KEY=VALUE, as given
    force: bool = False
    verify_after: bool = True
    insecure_registries: tuple[str, ...] = ()
    keychain: Keychain | None = None
    tags: tuple[str, ...] = ()
    files: FileSignOptions | None = None  # files to sign too, with the same certificate

    def __post_init__(self) -> None:
        parse_annotations(self.annotations)
        check_tags(self.tags)
        if self.tags and not self.verify_after:
            raise InputError(
                "tags move only after the new signatures are verified",
                expected="--tag with verification after signing (drop --no-verify)",
                found="--tag and --no-verify",
            )
        if self.identity_token is not None and self.identity_token_source is not None:
            raise InputError(
                "give an identity token or a source of identity tokens, not both",
                expected="identity_token or identity_token_source",
                found="both",
            )

    @property
    def annotation_map(self) -> Mapping[str, str]:
        """The annotations as a sorted mapping."""
        return parse_annotations(self.annotations)


class SignStatus(str, Enum):
    """What happened to one (digest, location, format)."""

    SIGNED = "signed"  # written by this run
    SKIPPED = "skipped"  # this identity's valid signature in this format was already there
    FAILED = "failed"  # refused or impossible: retrying will not help
    UNREACHABLE = "unreachable"  # a registry or Sigstore service failed after retries


class ReadBack(str, Enum):
    """The verify-after-sign verdict on one (digest, location, format)."""

    VERIFIED = "verified"  # our signature (by its log index) verified as a consumer would
    FAILED = "failed"  # read back, but it did not verify
    UNREACHABLE = "unreachable"  # could not read it back
    NOT_RUN = "not-run"  # --no-verify, or nothing was signed there


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageTarget:
    """One input reference and the digest it named when we resolved it."""

    input: str
    repository: str
    digest: Digest | None
    media_type: str | None = None
    tag: str | None = None  # the tag that was resolved; None when given by digest
    error: ShipsignError | None = None  # why it could not be resolved


@dataclass(frozen=True, slots=True, kw_only=True)
class SignResult:
    """The outcome for one digest, at one location (repository), in one format."""

    digest: Digest
    repository: str
    format: SignatureFormat
    status: SignStatus
    platform: str | None = None  # for a platform manifest signed with --recursive
    index: Digest | None = None  # the index this platform manifest belongs to
    signature_manifest: Digest | None = None  # the .sig manifest or the bundle referrer
    log_index: int | None = None  # the Rekor entry of the signature
    referrers: str | None = None  # bundles: "api" or "fallback-tag", where it was listed
    readback: ReadBack = ReadBack.NOT_RUN
    notes: tuple[str, ...] = ()
    error: ShipsignError | None = None

    @property
    def reference(self) -> str:
        """`REPOSITORY@DIGEST`."""
        return f"{self.repository}@{self.digest}"

    @property
    def ok(self) -> bool:
        """Signed or already signed, and not contradicted by the read-back."""
        written = self.status in (SignStatus.SIGNED, SignStatus.SKIPPED)
        return written and self.readback in (ReadBack.VERIFIED, ReadBack.NOT_RUN)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignReport:
    """Everything one run did, in input order: targets, results, services, consumer commands."""

    images: tuple[ImageTarget, ...]
    results: tuple[SignResult, ...]
    identity: str
    issuer: str
    trust_source: str
    public_log: bool  # signed with the public-good instance: log entries are searchable
    services: tuple[ServiceStats, ...] = ()
    certificate_requested: bool = False
    verify_commands: tuple[str, ...] = ()
    verified: bool = False  # verify-after-sign ran
    tags: tuple[TagResult, ...] = ()  # one per (repository, tag) asked for, in order
    files: tuple[FileResult, ...] = ()  # one per file, sorted by path, the checksums file last

    @property
    def signed(self) -> bool:
        """Every image resolved, every (digest, location, format) is signed and verified, and
        every file is signed (or already was)."""
        return (
            bool(self.results or self.files)
            and all(i.error is None for i in self.images)
            and all(r.ok for r in self.results)
            and all(f.ok for f in self.files)
        )

    @property
    def ok(self) -> bool:
        """Signed and verified everywhere, and every tag asked for moved."""
        return self.signed and all(t.status is TagStatus.MOVED for t in self.tags)

    @property
    def tags_moved(self) -> tuple[TagResult, ...]:
        """The tags that name the signed digest now (none unless every one moved)."""
        return tuple(t for t in self.tags if t.status is TagStatus.MOVED)

    @property
    def any_internal(self) -> bool:
        """A bug in shipsign stopped some (digest, location, format): exit 4, never 1."""
        return (
            any(isinstance(r.error, InternalError) for r in self.results)
            or any(isinstance(t.error, InternalError) for t in self.tags)
            or any(isinstance(f.error, InternalError) for f in self.files)
        )

    @property
    def any_negative(self) -> bool:
        """Something is definitely not signed, did not verify, or a tag was refused (retrying
        will not help)."""
        return (
            any(
                r.status is SignStatus.FAILED or r.readback is ReadBack.FAILED for r in self.results
            )
            or any(
                t.error is not None and not isinstance(t.error, UnreachableError) for t in self.tags
            )
            or any(
                f.outcome is FileOutcome.FAILED and not isinstance(f.error, UnreachableError)
                for f in self.files
            )
        )

    @property
    def any_unreachable(self) -> bool:
        """Some registry or service could not be reached after retries."""
        return (
            any(i.error is not None for i in self.images)
            or any(
                r.status is SignStatus.UNREACHABLE or r.readback is ReadBack.UNREACHABLE
                for r in self.results
            )
            or any(isinstance(t.error, UnreachableError) for t in self.tags)
            or any(isinstance(f.error, UnreachableError) for f in self.files)
        )

    def failures(self) -> tuple[SignResult, ...]:
        """The results that are not ok, in order."""
        return tuple(r for r in self.results if not r.ok)

    def file_failures(self) -> tuple[FileResult, ...]:
        """The files that were not signed, in order."""
        return tuple(f for f in self.files if not f.ok)

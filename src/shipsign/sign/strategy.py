"""The one interface both signature formats implement (`SignatureStrategy`), the target it
works on, and the results it answers with.

A format knows whether its signed claims name the repository (`names_location`), how to find
this identity's signature in a registry (`look`), what it signs (`sign`), how it writes that
(`write`) and how it confirms a write that others may race (`confirm`). Everything else is the
same for both and is the scheduler's (`work.py`): --force, the certificate, which targets share
a signature, concurrency, containing bugs, and the order of the results.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from shipsign.checks import SignatureFormat
from shipsign.errors import ShipsignError, UnreachableError
from shipsign.oci.reference import Digest, Repository
from shipsign.sign.existing import Existing
from shipsign.sign.model import SignResult, SignStatus
from shipsign.sign.plan import Artifact

__all__ = [
    "AnyStrategy",
    "SignatureStrategy",
    "Target",
    "TargetKey",
    "failed",
    "result",
    "result_key",
    "skipped",
]

ReadT = TypeVar("ReadT")  # what `look` read: the base of the write that follows
SignedT = TypeVar("SignedT")  # one signature, made, not written yet
PendingT = TypeVar("PendingT")  # a write that awaits its confirming read

TargetKey = tuple[Digest, str, SignatureFormat]


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One digest, at one location, in one format: one `SignResult`."""

    artifact: Artifact
    repo: Repository
    format: SignatureFormat

    @property
    def key(self) -> TargetKey:
        return (self.artifact.digest, self.repo.name, self.format)

    @property
    def where(self) -> str:
        return f"{self.repo.name}@{self.artifact.digest} ({self.format.value})"


class SignatureStrategy(Protocol[ReadT, SignedT, PendingT]):
    """How one signature format is looked for, signed, written and confirmed.

    Implementations are thread-safe: the scheduler calls them from many workers at once.
    """

    @property
    def format(self) -> SignatureFormat:
        """The format this strategy writes."""
        ...

    @property
    def names_location(self) -> bool:
        """Whether the signed claims name the repository. Then every location gets its own
        signature; else one signature per digest is written to every location."""
        ...

    def look(self, target: Target) -> Existing | ReadT:
        """This identity's valid signature at `target`, or else the read that looked (the base
        of a write that follows soon). Network; raises `ShipsignError` when it cannot look."""
        ...

    def sign(self, targets: Sequence[Target]) -> SignedT:
        """One signature over the digest of `targets` (all one artifact; one target when the
        claims name the location). Network: Rekor, the TSAs. Raises `ShipsignError`."""
        ...

    def write(
        self, signed: SignedT, todo: Sequence[tuple[Target, ReadT | None]]
    ) -> list[SignResult | PendingT]:
        """Write `signed` at every target of `todo` (with what `look` read there, or None when
        nothing was read), in that order: a result where it is done or failed, else a write to
        confirm. Network. Raises only for a bug."""
        ...

    def confirm(
        self, pending: Sequence[PendingT], *, workers: ThreadPoolExecutor
    ) -> list[SignResult]:
        """Read every pending write back once its settle time has passed, writing again what
        a concurrent writer dropped; one result each, in order. Network."""
        ...


AnyStrategy = SignatureStrategy[Any, Any, Any]  # a run's strategies: each its own kinds of value


def result_key(result: SignResult) -> TargetKey:
    """The key of the target `result` is for."""
    return (result.digest, result.repository, result.format)


def result(
    target: Target,
    status: SignStatus,
    *,
    manifest: Digest | None = None,
    log_index: int | None = None,
    note: str = "",
    error: ShipsignError | None = None,
    referrers: str | None = None,
) -> SignResult:
    """The result for `target`."""
    return SignResult(
        digest=target.artifact.digest,
        repository=target.repo.name,
        format=target.format,
        status=status,
        platform=target.artifact.platform,
        index=target.artifact.index,
        signature_manifest=manifest,
        log_index=log_index,
        referrers=referrers,
        notes=(note,) if note else (),
        error=error,
    )


def skipped(target: Target, found: Existing) -> SignResult:
    """`target` has this identity's signature already: nothing is written."""
    return result(
        target,
        SignStatus.SKIPPED,
        manifest=found.manifest,
        log_index=found.log_index,
        note=f"already signed by this identity ({found.where}); --force signs again",
    )


def failed(
    target: Target, exc: ShipsignError, *, note: str, log_index: int | None = None
) -> SignResult:
    """`target` is not signed because of `exc` (unreachable when a service gave up)."""
    status = SignStatus.UNREACHABLE if isinstance(exc, UnreachableError) else SignStatus.FAILED
    return result(target, status, log_index=log_index, note=note, error=exc)

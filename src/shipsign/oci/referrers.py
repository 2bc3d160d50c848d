"""Referrers of a subject: the referrers API when the registry serves it, else the
referrers tag schema (`sha256-<hex>` index), which we maintain without losing entries.

formats.md §3.4 and §6.3; distribution-spec "Referrers Tag Schema".
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from functools import partial

from shipsign.errors import RegistryError, ShipsignError
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Descriptor, Index, merge_index
from shipsign.oci.reference import Digest, Reference, Repository

__all__ = [
    "FRESH_READ",
    "PendingReferrer",
    "ReferrersResult",
    "ReferrersSource",
    "add_referrer",
    "confirm_referrers",
    "fetch_referrers",
    "settle_time",
    "write_referrer",
]

_log = logging.getLogger(__name__)
# Shared tags (this fallback index, cosign's `.sig`) are read-merge-written without locks, then
# read back after a settle time to catch a writer whose read came before our write and whose
# write came after it (and dropped our entry). A read at most FRESH_READ seconds old may be a
# write's base: that widens the read-to-write window by at most FRESH_READ, so every writer
# also waits that much longer before it confirms (`settle_time`).
FRESH_READ = 0.25
_MIN_SETTLE, _MAX_SETTLE = 0.1, 2.0
_CONFLICTS = 12  # 412 answers to one write before we give up


class ReferrersSource(str, Enum):
    """Where a list of referrers came from."""

    API = "api"
    FALLBACK_TAG = "fallback-tag"


@dataclass(frozen=True, slots=True)
class ReferrersResult:
    """The referrers of one subject and where we found them.

    From the fallback tag it also keeps the index as read, its ETag and when the read started
    (`time.monotonic()`), so that a write that follows at once can merge into it.
    """

    source: ReferrersSource
    descriptors: tuple[Descriptor, ...]
    index: Index | None = None
    etag: str | None = None
    read_at: float = 0.0

    def fresh(self) -> bool:
        """Young enough to be the base of a write."""
        return time.monotonic() - self.read_at <= FRESH_READ


def settle_time(spent: float) -> float:
    """How long after a write of a shared tag to read it back: `spent` is the write's cycle
    (its own read, or the moment it took a fresh read as its base, to the end of the PUT).

    A few of our cycles estimate how long another writer's cycle may be; FRESH_READ covers
    the read that writer may have reused.
    """
    return min(_MAX_SETTLE, FRESH_READ + max(_MIN_SETTLE, 3 * spent))


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingReferrer:
    """An entry written to a fallback index, to be confirmed from `ready_at`."""

    client: RegistryClient
    repo: Repository
    subject: Digest
    entry: Descriptor
    ready_at: float  # time.monotonic() after which a confirming read proves the write held
    attempts: int


def fetch_referrers(
    client: RegistryClient, repo: Repository, subject: Digest, *, artifact_type: str | None = None
) -> ReferrersResult:
    """List `subject`'s referrers: API first, else the fallback tag (absent: none).

    `artifact_type` filters client-side (registries may ignore the query parameter).
    """
    listed = client.fetch_referrers_api(repo, subject)
    if listed is not None:
        result = ReferrersResult(ReferrersSource.API, listed)
    else:
        result = _read_fallback(client, repo, subject)
    if artifact_type is not None:
        kept = tuple(d for d in result.descriptors if d.artifact_type == artifact_type)
        result = ReferrersResult(result.source, kept, result.index, result.etag, result.read_at)
    return result


def _read_fallback(client: RegistryClient, repo: Repository, subject: Digest) -> ReferrersResult:
    started = time.monotonic()
    found, etag = client.fetch_manifest_with_etag(Reference(repository=repo, tag=subject.tag_form))
    if found is None:
        return ReferrersResult(ReferrersSource.FALLBACK_TAG, (), read_at=started)
    if not isinstance(found, Index):
        raise RegistryError(
            f"the referrers tag {repo.name}:{subject.tag_form} holds a manifest, not an index",
            registry=repo.registry,
            repository=repo.name,
            operation="fetch referrers",
            expected="an OCI image index",
            found=found.media_type,
        )
    return ReferrersResult(ReferrersSource.FALLBACK_TAG, found.manifests, found, etag, started)


def write_referrer(
    client: RegistryClient,
    repo: Repository,
    subject: Digest,
    entry: Descriptor,
    *,
    listed: ReferrersResult | None = None,
    attempts: int = 0,
    sleep: Callable[[float], None] = time.sleep,
) -> ReferrersSource | PendingReferrer:
    """List the already pushed manifest `entry` as a referrer of `subject`; confirm later.

    With the referrers API the registry keeps the list: done. Otherwise one read-merge-write
    of the fallback index (`If-Match` with its ETag; again on 412), merging into `listed`
    when the caller has just read it (`ReferrersResult.fresh`), else into a new read. The
    write holds only once `confirm_referrers` has read it back after the settle time. Network.
    """
    if listed is None and client.fetch_referrers_api(repo, subject) is not None:
        return ReferrersSource.API
    if listed is not None and listed.source is ReferrersSource.API:
        return ReferrersSource.API
    conflicts = 0
    while True:
        started = time.monotonic()
        if listed is not None and listed.fresh():
            current = listed
        else:
            current = _read_fallback(client, repo, subject)
            started = current.read_at
        listed = None
        merged = merge_index(current.index, entry)
        if merged is current.index and attempts == 0:
            return ReferrersSource.FALLBACK_TAG  # listed before we came: nothing to guard
        if merged is not current.index:
            try:
                client.push_manifest(repo, merged, tag=subject.tag_form, if_match=current.etag)
            except RegistryError as exc:
                conflicts += 1
                if exc.status != 412 or conflicts >= _CONFLICTS:  # 412: changed since our read
                    raise
                _log.debug("referrers index %s changed under us (412)", subject.tag_form)
                sleep(_backoff(conflicts))
                continue
        # A writer who read before our write has written within its cycle; if that
        # dropped our entry, a read after then shows it.
        return PendingReferrer(
            client=client,
            repo=repo,
            subject=subject,
            entry=entry,
            ready_at=time.monotonic() + settle_time(time.monotonic() - started),
            attempts=attempts + 1,
        )


def confirm_referrers(
    pending: Sequence[PendingReferrer],
    *,
    workers: ThreadPoolExecutor,
    attempts: int = 12,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ReferrersSource | ShipsignError]:
    """Read every pending entry back once its settle time has passed (one read each); write
    again what a concurrent writer dropped, until each holds or `attempts` writes were made.

    In order. Confirming after one wait for the whole batch keeps the settle time off the
    workers; a lost race repeats the read-modify-write (go-containerregistry's
    `commitSubjectReferrers` loses these updates).
    """
    out: dict[int, ReferrersSource | ShipsignError] = {}
    todo = dict(enumerate(pending))
    while todo:
        wait = max(p.ready_at for p in todo.values()) - time.monotonic()
        if wait > 0:
            sleep(wait)
        items = list(todo.items())
        found = list(workers.map(_confirm, [item for _, item in items]))
        lost: list[tuple[int, PendingReferrer]] = []
        for (key, item), answer in zip(items, found, strict=True):
            if answer is None and item.attempts >= attempts:
                answer = _gave_up(item)
            if answer is None:
                _log.debug("referrers index %s lost our entry; retrying", item.subject.tag_form)
                lost.append((key, item))
            else:
                out[key] = answer
        again = list(workers.map(partial(_again, sleep=sleep), [item for _, item in lost]))
        todo = {}
        for (key, _), result in zip(lost, again, strict=True):
            if isinstance(result, PendingReferrer):
                todo[key] = result
            else:
                out[key] = result
    return [out[k] for k in range(len(pending))]


def add_referrer(
    client: RegistryClient,
    repo: Repository,
    subject: Digest,
    entry: Descriptor,
    *,
    listed: ReferrersResult | None = None,
    attempts: int = 12,
    sleep: Callable[[float], None] = time.sleep,
) -> ReferrersSource:
    """Make the already pushed manifest `entry` discoverable from `subject`, and confirm it.

    `write_referrer`, then, after the settle time, one confirming read; a lost race repeats
    the read-modify-write. Raises `RegistryError` when the registry fails or other writers
    keep replacing the index.
    """
    written = write_referrer(client, repo, subject, entry, listed=listed, sleep=sleep)
    while isinstance(written, PendingReferrer):
        wait = written.ready_at - time.monotonic()
        if wait > 0:
            sleep(wait)
        answer = _confirm(written)
        if answer is None and written.attempts >= attempts:
            answer = _gave_up(written)
        if isinstance(answer, ShipsignError):
            raise answer
        if answer is not None:
            return answer
        sleep(_backoff(written.attempts))
        written = write_referrer(
            client, repo, subject, entry, attempts=written.attempts, sleep=sleep
        )
    return written


def _confirm(item: PendingReferrer) -> ReferrersSource | ShipsignError | None:
    try:
        listed = _read_fallback(item.client, item.repo, item.subject).descriptors
    except ShipsignError as exc:
        return exc
    if any(d.digest == item.entry.digest for d in listed):
        return ReferrersSource.FALLBACK_TAG
    return None


def _again(
    item: PendingReferrer, *, sleep: Callable[[float], None]
) -> ReferrersSource | PendingReferrer | ShipsignError:
    sleep(_backoff(item.attempts))  # spread concurrent writers apart
    try:
        return write_referrer(
            item.client,
            item.repo,
            item.subject,
            item.entry,
            attempts=item.attempts,
            sleep=sleep,
        )
    except ShipsignError as exc:
        return exc


def _gave_up(item: PendingReferrer) -> RegistryError:
    tag = item.subject.tag_form
    return RegistryError(
        f"cannot add a referrer to {item.repo.name}@{item.subject}: other writers kept "
        f"replacing the referrers index {tag} ({item.attempts} attempts)",
        registry=item.repo.registry,
        repository=item.repo.name,
        operation="add referrer",
        hint="too many concurrent writers; try again",
    )


def _backoff(attempt: int) -> float:
    # Full jitter: spreads concurrent writers apart so that one of them wins each round.
    return random.uniform(0, min(1.0, 0.05 * 2**attempt))  # noqa: S311  # not cryptographic

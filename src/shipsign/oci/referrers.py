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
    "WRITE_WINDOW",
    "PendingReferrer",
    "ReferrersResult",
    "ReferrersSource",
    "WriteRounds",
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
# Every writer waits at least this long after its PUT before it confirms. A PUT sent later
# than this after its base was read may drop an entry that another writer has confirmed
# already: such a base is read again first. And the PUT is never retried as it is (the
# transport would wait out 503s and Retry-After for up to a minute): the cycle is run again.
WRITE_WINDOW = FRESH_READ + _MIN_SETTLE
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
    of the fallback index, merging into `listed` when the caller has just read it
    (`ReferrersResult.fresh`), else into a new read. The PUT is a single attempt (`If-Match`
    with the index's ETag) on a base read at most `WRITE_WINDOW` before it; a 412 or a
    transient failure repeats the whole cycle (`WriteRounds`). The write holds only once
    `confirm_referrers` has read it back after the settle time. Network.
    """
    if listed is None and client.fetch_referrers_api(repo, subject) is not None:
        return ReferrersSource.API
    if listed is not None and listed.source is ReferrersSource.API:
        return ReferrersSource.API
    rounds = WriteRounds(client, repo, subject.tag_form, conflicts=_CONFLICTS)
    current = listed if listed is not None and listed.fresh() else None
    started = time.monotonic()  # when the base was taken: the start of this write's cycle
    tried = False  # a PUT was sent: it may have landed even if it failed
    while True:
        if current is None:
            current = _read_fallback(client, repo, subject)
            started = current.read_at
        merged = merge_index(current.index, entry)
        if merged is current.index and attempts == 0 and not tried:
            return ReferrersSource.FALLBACK_TAG  # listed before we came: nothing to guard
        if merged is not current.index:
            again = _read_again_if_stale(client, repo, subject, current)
            if again is not None:
                changed = _index_digest(again) != _index_digest(current)
                current, started = again, again.read_at
                if changed:
                    rounds.rebase()
                    continue  # merge into what is there now
            tried = True
            try:
                client.push_manifest(
                    repo, merged, tag=subject.tag_form, if_match=current.etag, once=True
                )
            except RegistryError as exc:
                delay = rounds.after(exc)
                if delay is None:
                    raise
                _log.debug("referrers index %s: %s; writing again", subject.tag_form, exc.what)
                sleep(delay)
                current = None
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


def _read_again_if_stale(
    client: RegistryClient, repo: Repository, subject: Digest, current: ReferrersResult
) -> ReferrersResult | None:
    """A new read when `current` is older than the write window, else None."""
    if time.monotonic() - current.read_at <= WRITE_WINDOW:
        return None
    _log.debug("referrers index %s: base is stale; reading it again", subject.tag_form)
    return _read_fallback(client, repo, subject)


def _index_digest(result: ReferrersResult) -> Digest | None:
    return result.index.digest if result.index is not None else None


class WriteRounds:
    """The cycles of one read-modify-write of a shared tag (this fallback index, cosign's
    `.sig`) whose PUT is a single attempt: whether to run another and after how long.

    A 412 (changed since our read, with `If-Match`) and a base that changed before our PUT
    are conflicts, at most `conflicts` of them; a transient failure of the PUT waits as the
    client's retry policy says (`RegistryClient.write_again_in`, `Retry-After` honoured).
    One per write; not thread-safe.
    """

    def __init__(
        self, client: RegistryClient, repo: Repository, tag: str, *, conflicts: int
    ) -> None:
        self._client = client
        self._repo = repo
        self._tag = tag
        self._max = conflicts
        self._conflicts = 0
        self._failures = 0
        self._start = time.monotonic()

    def after(self, exc: RegistryError) -> float | None:
        """Seconds to wait before the next cycle after the PUT failed with `exc`; None: stop."""
        if exc.status == 412:
            self._conflicts += 1
            return _backoff(self._conflicts) if self._conflicts < self._max else None
        self._failures += 1
        spent = time.monotonic() - self._start
        return self._client.write_again_in(exc, self._failures + 1, spent)

    def rebase(self) -> None:
        """Count a base that other writers changed before our PUT; raise when they keep on."""
        self._conflicts += 1
        if self._conflicts >= self._max:
            raise RegistryError(
                f"cannot write {self._repo.name}:{self._tag}: other writers kept changing it "
                f"({self._conflicts} times before our write)",
                registry=self._repo.registry,
                repository=self._repo.name,
                operation="push manifest",
                hint="too many concurrent writers; try again",
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

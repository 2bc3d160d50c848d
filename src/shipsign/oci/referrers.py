"""Referrers of a subject: the referrers API when the registry serves it, else the
referrers tag schema (`sha256-<hex>` index), which we maintain without losing entries.

Reading, `also_tag` (what verify asks for) adds the fallback tag's entries to what the API
lists. The distribution spec ("Enabling the Referrers API") makes a registry that gains the API
list what its fallback tags listed, and go-containerregistry (so cosign, crane) and oras read
only the API where it answers. A registry that did not carry its old tags over would hide every
bundle written before it had the API, ours included, so verify reads both (one more GET) and
reports where each entry was found. Writes and sign's "already signed" check stay with the API
alone: an entry only the tag lists is one cosign does not see there.

formats.md §3.4 and §6.3; distribution-spec "Referrers Tag Schema".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum
from functools import partial

from shipsign.errors import RegistryError, ShipsignError
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Descriptor, Index, merge_index
from shipsign.oci.reference import Digest, Reference, Repository
from shipsign.oci.shared_tag import (
    FRESH_READ,
    WRITE_WINDOW,
    Clock,
    WriteRounds,
    confirm_writes,
    settle_time,
)

__all__ = [
    "PendingReferrer",
    "ReferrersResult",
    "ReferrersSource",
    "add_tag_entries",
    "confirm_referrers",
    "fetch_referrers",
    "write_referrer",
]

_log = logging.getLogger(__name__)
_CONFLICTS = 12  # 412 answers to one write before we give up


class ReferrersSource(str, Enum):
    """Where a list of referrers came from."""

    API = "api"
    FALLBACK_TAG = "fallback-tag"


@dataclass(frozen=True, slots=True)
class ReferrersResult:
    """The referrers of one subject and where we found them.

    From the fallback tag it also keeps the index as read, its ETag and when the read started
    (on the reader's `Clock`), so that a write that follows at once can merge into it. From the
    API with `also_tag`, `descriptors` ends with the entries only the fallback tag listed,
    whose digests are `tag_only`.
    """

    source: ReferrersSource
    descriptors: tuple[Descriptor, ...]
    index: Index | None = None
    etag: str | None = None
    read_at: float = 0.0
    tag_only: frozenset[Digest] = frozenset()

    def found_in(self, descriptor: Descriptor) -> ReferrersSource:
        """Where `descriptor` was listed (the API when both list it)."""
        return ReferrersSource.FALLBACK_TAG if descriptor.digest in self.tag_only else self.source

    def fresh(self, now: float) -> bool:
        """Young enough at `now` (same clock as `read_at`) to be the base of a write."""
        return now - self.read_at <= FRESH_READ


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingReferrer:
    """An entry written to a fallback index, to be confirmed from `ready_at`."""

    client: RegistryClient
    repo: Repository
    subject: Digest
    entry: Descriptor
    ready_at: float  # the writer's clock after which a confirming read proves the write held
    attempts: int
    clock: Clock = time.monotonic

    @property
    def where(self) -> str:
        return f"referrers index {self.repo.name}:{self.subject.tag_form}"


def fetch_referrers(
    client: RegistryClient,
    repo: Repository,
    subject: Digest,
    *,
    artifact_type: str | None = None,
    also_tag: bool = False,
    clock: Clock = time.monotonic,
) -> ReferrersResult:
    """List `subject`'s referrers: API first, else the fallback tag (absent: none).

    With `also_tag`, where the API answers, the fallback tag's entries that the API does not
    list are added (see the module's docstring). `artifact_type` filters client-side
    (registries may ignore the query parameter). `clock` stamps `read_at`: give a write the
    same one.
    """
    listed = client.fetch_referrers_api(repo, subject)
    if listed is None:
        result = _read_fallback(client, repo, subject, clock)
    elif also_tag:
        result = add_tag_entries(client, repo, subject, listed)
    else:
        result = ReferrersResult(ReferrersSource.API, listed)
    if artifact_type is not None:
        kept = tuple(d for d in result.descriptors if d.artifact_type == artifact_type)
        result = replace(result, descriptors=kept)
    return result


def add_tag_entries(
    client: RegistryClient,
    repo: Repository,
    subject: Digest,
    listed: tuple[Descriptor, ...],
) -> ReferrersResult:
    """The API's list (`listed`) followed by what only the fallback tag lists (one GET)."""
    found = client.fetch_manifest(Reference(repository=repo, tag=subject.tag_form))
    if not isinstance(found, Index):
        if found is not None:  # beside the API the tag may hold anything: not our list
            _log.debug("%s holds a manifest, not an index; API list only", subject.tag_form)
        return ReferrersResult(ReferrersSource.API, listed)
    tagged = found.manifests
    seen = {d.digest for d in listed}
    extra = tuple(d for d in tagged if d.digest not in seen)
    return ReferrersResult(
        ReferrersSource.API, listed + extra, tag_only=frozenset(d.digest for d in extra)
    )


def _read_fallback(
    client: RegistryClient, repo: Repository, subject: Digest, clock: Clock
) -> ReferrersResult:
    started = clock()
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
    clock: Clock = time.monotonic,
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
    rounds = WriteRounds(client, repo, subject.tag_form, conflicts=_CONFLICTS, clock=clock)
    current = listed if listed is not None and listed.fresh(clock()) else None
    started = clock()  # when the base was taken: the start of this write's cycle
    tried = False  # a PUT was sent: it may have landed even if it failed
    while True:
        if current is None:
            current = _read_fallback(client, repo, subject, clock)
            started = current.read_at
        merged = merge_index(current.index, entry)
        if merged is current.index and attempts == 0 and not tried:
            return ReferrersSource.FALLBACK_TAG  # listed before we came: nothing to guard
        if merged is not current.index:
            again = _read_again_if_stale(client, repo, subject, current, clock)
            if again is not None:
                changed = _index_digest(again) != _index_digest(current)
                current, started = again, again.read_at
                if changed:
                    rounds.rebase()
                    continue  # merge into what is there now
            tried = True
            if not rounds.put(merged, if_match=current.etag, sleep=sleep):
                current = None
                continue
        # A writer who read before our write has written within its cycle; if that
        # dropped our entry, a read after then shows it.
        return PendingReferrer(
            client=client,
            repo=repo,
            subject=subject,
            entry=entry,
            ready_at=clock() + settle_time(clock() - started),
            attempts=attempts + 1,
            clock=clock,
        )


def _read_again_if_stale(
    client: RegistryClient,
    repo: Repository,
    subject: Digest,
    current: ReferrersResult,
    clock: Clock,
) -> ReferrersResult | None:
    """A new read when `current` is older than the write window, else None."""
    if clock() - current.read_at <= WRITE_WINDOW:
        return None
    _log.debug("referrers index %s: base is stale; reading it again", subject.tag_form)
    return _read_fallback(client, repo, subject, clock)


def _index_digest(result: ReferrersResult) -> Digest | None:
    return result.index.digest if result.index is not None else None


def confirm_referrers(
    pending: Sequence[PendingReferrer],
    *,
    workers: ThreadPoolExecutor,
    attempts: int = 12,
    sleep: Callable[[float], None] = time.sleep,
    clock: Clock = time.monotonic,
) -> list[ReferrersSource | ShipsignError]:
    """Read every pending entry back once its settle time has passed (one read each); write
    again what a concurrent writer dropped, until each holds or `attempts` writes were made.
    In order (`shared_tag.confirm_writes`); `clock` must be the one the writes used.
    """
    return confirm_writes(
        pending,
        confirm=_confirm,
        write_again=partial(_write_again, sleep=sleep),
        gave_up=_gave_up,
        workers=workers,
        attempts=attempts,
        sleep=sleep,
        clock=clock,
    )


def _confirm(item: PendingReferrer) -> ReferrersSource | ShipsignError | None:
    try:
        listed = _read_fallback(item.client, item.repo, item.subject, item.clock).descriptors
    except ShipsignError as exc:
        return exc
    if any(d.digest == item.entry.digest for d in listed):
        return ReferrersSource.FALLBACK_TAG
    return None


def _write_again(
    item: PendingReferrer, *, sleep: Callable[[float], None]
) -> ReferrersSource | PendingReferrer:
    return write_referrer(
        item.client,
        item.repo,
        item.subject,
        item.entry,
        attempts=item.attempts,
        sleep=sleep,
        clock=item.clock,
    )


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

"""Writes of a shared tag (the referrers fallback index, cosign's `.sig`) without locks: one
single-attempt PUT per read-merge-write cycle, then a read back after a settle time to confirm.

`referrers` and `shipsign.sign.legacy` supply what is read, merged and confirmed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Protocol, TypeVar, cast

from shipsign.errors import RegistryError, ShipsignError
from shipsign.oci.client import RegistryClient
from shipsign.oci.media import Index, Manifest
from shipsign.oci.reference import Repository
from shipsign.retry import RetryPolicy

__all__ = [
    "FRESH_READ",
    "WRITE_WINDOW",
    "Clock",
    "PendingWrite",
    "WriteRounds",
    "backoff",
    "confirm_writes",
    "settle_time",
]

_log = logging.getLogger(__name__)
# Monotonic seconds (`time.monotonic`): when reads were made, how old a base is, when a write may
# be confirmed. A parameter, so that tests decide what "fresh" and "settled" mean.
Clock = Callable[[], float]
# Shared tags are read-merge-written without locks, then read back after a settle time to catch
# a writer whose read came before our write and whose write came after it (and dropped our
# entry). A read at most FRESH_READ seconds old may be a write's base: that widens the
# read-to-write window by at most FRESH_READ, so every writer also waits that much longer before
# it confirms (`settle_time`).
FRESH_READ = 0.25
_MIN_SETTLE, _MAX_SETTLE = 0.1, 2.0
# Every writer waits at least this long after its PUT before it confirms. A PUT sent later
# than this after its base was read may drop an entry that another writer has confirmed
# already: such a base is read again first. And the PUT is never retried as it is (the
# transport would wait out 503s and Retry-After for up to a minute): the cycle is run again.
WRITE_WINDOW = FRESH_READ + _MIN_SETTLE


def settle_time(spent: float) -> float:
    """How long after a write of a shared tag to read it back: `spent` is the write's cycle
    (its own read, or the moment it took a fresh read as its base, to the end of the PUT).

    A few of our cycles estimate how long another writer's cycle may be; FRESH_READ covers
    the read that writer may have reused.
    """
    return min(_MAX_SETTLE, FRESH_READ + max(_MIN_SETTLE, 3 * spent))


# Full jitter: spreads concurrent writers apart so that one of them wins each round.
_RACE = RetryPolicy(base=0.05, cap=1.0, spread=1.0)


def backoff(attempt: int) -> float:
    """A random wait before write `attempt + 1` of a shared tag: up to 0.05 s · 2^attempt,
    at most 1 s."""
    return _RACE.backoff(attempt + 2)


class WriteRounds:
    """The cycles of one read-modify-write of a shared tag whose PUT is a single attempt:
    whether to run another and after how long.

    A 412 (changed since our read, with `If-Match`) and a base that changed before our PUT
    are conflicts, at most `conflicts` of them; a transient failure of the PUT waits as the
    client's retry policy says (`RegistryClient.write_again_in`, `Retry-After` honoured).
    One per write; not thread-safe.
    """

    def __init__(
        self,
        client: RegistryClient,
        repo: Repository,
        tag: str,
        *,
        conflicts: int,
        clock: Clock = time.monotonic,
    ) -> None:
        self._client = client
        self._clock = clock
        self._repo = repo
        self._tag = tag
        self._max = conflicts
        self._conflicts = 0
        self._failures = 0
        self._start = clock()

    def put(
        self, manifest: Manifest | Index, *, if_match: str | None, sleep: Callable[[float], None]
    ) -> bool:
        """PUT this cycle's `manifest` to the tag, a single attempt: True when it succeeded;
        False after waiting out a conflict or transient failure, when the next cycle is due.

        Raises the PUT's `RegistryError` when no cycle is left. Network.
        """
        try:
            self._client.push_manifest(
                self._repo, manifest, tag=self._tag, if_match=if_match, once=True
            )
        except RegistryError as exc:
            delay = self._after(exc)
            if delay is None:
                raise
            _log.debug("%s:%s: %s; writing again", self._repo.name, self._tag, exc.what)
            sleep(delay)
            return False
        return True

    def _after(self, exc: RegistryError) -> float | None:
        """Seconds to wait before the next cycle after the PUT failed with `exc`; None: stop."""
        if exc.status == 412:
            self._conflicts += 1
            return backoff(self._conflicts) if self._conflicts < self._max else None
        self._failures += 1
        spent = self._clock() - self._start
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


class PendingWrite(Protocol):
    """A write to a shared tag that waits for its confirming read."""

    @property
    def ready_at(self) -> float:
        """The clock's time after which a confirming read proves the write held."""

    @property
    def attempts(self) -> int:
        """Writes made so far."""

    @property
    def where(self) -> str:
        """The shared tag, for logs."""


P = TypeVar("P", bound=PendingWrite)
R = TypeVar("R")


def confirm_writes(
    pending: Sequence[P],
    *,
    confirm: Callable[[P], R | ShipsignError | None],
    write_again: Callable[[P], P | R],
    gave_up: Callable[[P], ShipsignError],
    workers: ThreadPoolExecutor,
    attempts: int,
    sleep: Callable[[float], None],
    clock: Clock = time.monotonic,
) -> list[R | ShipsignError]:
    """Read every pending write back once its settle time has passed (`confirm`: the outcome,
    or None when a concurrent writer dropped ours); repeat the dropped ones (`write_again`,
    after a backoff) until each holds or `attempts` writes were made (then `gave_up`).

    In order. Confirming after one wait for the whole batch keeps the settle time off the
    workers; a lost race repeats the read-modify-write (go-containerregistry's
    `commitSubjectReferrers` loses these updates). `ShipsignError`s become outcomes.
    """
    out: dict[int, R | ShipsignError] = {}
    todo = dict(enumerate(pending))
    again = partial(_write_again, write_again=write_again, sleep=sleep)
    while todo:
        wait = max(p.ready_at for p in todo.values()) - clock()
        if wait > 0:
            sleep(wait)
        items = list(todo.items())
        found = list(workers.map(confirm, [item for _, item in items]))
        lost: list[tuple[int, P]] = []
        for (key, item), answer in zip(items, found, strict=True):
            if answer is None and item.attempts >= attempts:
                answer = gave_up(item)
            if answer is None:
                _log.debug("%s lost our write to a concurrent writer; writing again", item.where)
                lost.append((key, item))
            else:
                out[key] = answer
        written = list(workers.map(again, [item for _, item in lost]))
        todo = {}
        for (key, item), result in zip(lost, written, strict=True):
            if isinstance(result, type(item)):  # written again: pending once more
                todo[key] = result
            else:  # an outcome (mypy cannot narrow a TypeVar union by a type object)
                out[key] = cast("R | ShipsignError", result)
    return [out[k] for k in range(len(pending))]


def _write_again(
    item: P, *, write_again: Callable[[P], P | R], sleep: Callable[[float], None]
) -> P | R | ShipsignError:
    sleep(backoff(item.attempts))  # spread concurrent writers apart
    try:
        return write_again(item)
    except ShipsignError as exc:
        return exc

"""When and how to try a network call again: one policy, one backoff formula, one loop, for
every service (stdlib only).

Registries (`oci/transport.py`), the Sigstore services (`keyless/retrying.py`), the shared-tag
write rounds (`oci/shared_tag.py`) and GitHub (`github_api/ratelimit.py`) all wait as
`RetryPolicy.backoff` says; how a failure is recognised, and what is retried, is each caller's
business. Time is a parameter (`RetryClock`): tests never sleep.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol, TypeVar

__all__ = [
    "DEFAULT_STATUSES",
    "RetryClock",
    "RetryPolicy",
    "Transient",
    "parse_retry_after",
    "retry_call",
]

DEFAULT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_MAX_DIGITS = 12  # a delta longer than ~30,000 years is as good as "never"
T = TypeVar("T")


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value (delta-seconds or HTTP-date); None if unusable.

    RFC 9110 §10.2.3. A date in the past means "now" (0); anything else unparsable is None.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text[:_MAX_DIGITS]))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and total time (seconds).

    `spread` is how much of each backoff the jitter may take away: 0.5 (the default) lands a
    wait in [½·backoff, backoff]; 1.0 is "full jitter", [0, backoff], which spreads writers
    racing for one shared tag furthest apart.
    """

    attempts: int = 4
    base: float = 0.25
    cap: float = 8.0
    deadline: float = 60.0
    statuses: frozenset[int] = DEFAULT_STATUSES
    spread: float = 0.5

    def backoff(self, n: int, *, jitter: float | None = None) -> float:
        """The wait before try `n` (2 = first retry) by the formula alone: no bounds, no
        `Retry-After`. `jitter` in [0, 1) picks where in the spread it lands (random if None).
        """
        full = min(self.cap, self.base * 2.0 ** min(max(n - 2, 0), 62))
        where = random.random() if jitter is None else jitter  # noqa: S311 - not crypto
        return full * (1.0 - self.spread + self.spread * where)

    def delay(
        self,
        n: int,
        retry_after: str | None,
        spent: float,
        *,
        now: datetime | None = None,
        jitter: float | None = None,
    ) -> float | None:
        """Seconds to wait before try `n` (2 = first retry); None means stop. Honours Retry-After.

        A `Retry-After` longer than the backoff wins; one that would pass the deadline (`spent`
        seconds are gone already) stops retrying.
        """
        if n < 2 or n > self.attempts:
            return None
        wait = self.backoff(n, jitter=jitter)
        asked = parse_retry_after(retry_after, now=now or datetime.now(timezone.utc))
        if asked is not None:
            wait = max(wait, asked)
        return wait if spent + wait <= self.deadline else None

    def retryable(self, status: int) -> bool:
        """Whether an HTTP status is worth another try under this policy."""
        return status in self.statuses


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True)
class RetryClock:
    """The time a retry loop sees: `sleep` waits, `monotonic` measures what was spent, and
    `now` is the wall clock `Retry-After` dates count from. Tests give their own."""

    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = field(default=_utc_now)


class Transient(Protocol):
    """A failed try that another try may fix: why (for logs), and the server's Retry-After."""

    @property
    def why(self) -> str: ...

    @property
    def retry_after(self) -> str | None: ...


F = TypeVar("F", bound=Transient)


def retry_call(
    attempt: Callable[[int], T | F],
    *,
    transient: type[F],
    policy: RetryPolicy,
    gave_up: Callable[[F, int], Exception],
    clock: RetryClock | None = None,
    on_retry: Callable[[F, int, float], None] | None = None,
) -> T:
    """The retry loop: call `attempt(n)` for n = 1, 2, ... until it returns anything but a
    `transient` failure, waiting between tries as `policy` says.

    `attempt` raises what no retry fixes. Out of tries (attempts or deadline), raises
    `gave_up(last_failure, tries_made)`. `on_retry(failure, tries_made, wait)` runs before each
    wait: the caller's logging and counting (the failure's context is the caller's).
    """
    clock = clock or RetryClock()
    start = clock.monotonic()
    n = 1
    while True:
        result = attempt(n)
        if not isinstance(result, transient):
            return result  # type: ignore[return-value]  # mypy cannot narrow a TypeVar union
        spent = clock.monotonic() - start
        wait = policy.delay(n + 1, result.retry_after, spent, now=clock.now())
        if wait is None:
            raise gave_up(result, n)
        if on_retry is not None:
            on_retry(result, n, wait)
        clock.sleep(wait)
        n += 1

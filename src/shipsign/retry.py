"""When to try a network call again: one pure retry policy for every service (stdlib only).

Registries (`oci/transport.py`) and the Sigstore services (`keyless/`) share it; how a failure is
recognised, and what is retried, is each caller's business.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["DEFAULT_STATUSES", "RetryPolicy", "parse_retry_after"]

DEFAULT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_MAX_DIGITS = 12  # a delta longer than ~30,000 years is as good as "never"


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
    """Exponential backoff with jitter, bounded by attempts and total time (seconds)."""

    attempts: int = 4
    base: float = 0.25
    cap: float = 8.0
    deadline: float = 60.0
    statuses: frozenset[int] = DEFAULT_STATUSES

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

        `jitter` in [0, 1) picks where in [½·backoff, backoff] the wait lands (random if
        omitted). A `Retry-After` longer than the time left before the deadline stops retrying.
        """
        if n < 2 or n > self.attempts:
            return None
        backoff = min(self.cap, self.base * 2.0 ** min(n - 2, 62))
        spread = random.random() if jitter is None else jitter  # noqa: S311 - not crypto
        wait = backoff * (0.5 + 0.5 * spread)
        asked = parse_retry_after(retry_after, now=now or datetime.now(timezone.utc))
        if asked is not None:
            wait = max(wait, asked)
        return wait if spent + wait <= self.deadline else None

    def retryable(self, status: int) -> bool:
        """Whether an HTTP status is worth another try under this policy."""
        return status in self.statuses

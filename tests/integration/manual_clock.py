"""A monotonic clock that moves only when told to, or when the code under test sleeps.

Given as `clock=` (and `sleep=`) to the shared-tag writes, it decides whether a read is still
fresh and lets settle times pass at once, so an assertion about either never depends on how
busy the machine is.
"""

from __future__ import annotations

import threading

__all__ = ["ManualClock"]


class ManualClock:
    """Seconds since the test began, by the test's say-so; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0.0  # guarded by _lock
        self.slept: list[float] = []  # guarded by _lock

    def now(self) -> float:
        """The current time (a `shared_tag.Clock`)."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass."""
        with self._lock:
            self._now += seconds

    def sleep(self, seconds: float) -> None:
        """What the code under test calls to wait: time passes, nothing blocks."""
        with self._lock:
            self.slept.append(seconds)
            self._now += max(0.0, seconds)

"""Calls to Fulcio, Rekor and the TSA, tried again on transient failures, and counted per service.

How an exception is recognised (status, Retry-After) is the caller's `classify`; this module only
decides: retry, stop and raise `ServiceUnreachable`, or hand back a `Refused` answer (4xx) for
the caller to interpret (a 401 from Fulcio, a 409 from Rekor).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from typing import TypeVar

from shipsign.errors import UnreachableError
from shipsign.retry import RetryClock, RetryPolicy, retry_call

__all__ = [
    "Failure",
    "Refused",
    "Service",
    "ServiceCalls",
    "ServiceStats",
    "ServiceUnreachable",
]

_log = logging.getLogger(__name__)
T = TypeVar("T")


class Service(str, Enum):
    """The Sigstore services a signer talks to, by the names reports use."""

    FULCIO = "Fulcio"
    REKOR = "Rekor"
    TSA = "TSA"


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """One failed attempt: an HTTP status, or None for a connection error or timeout."""

    status: int | None
    why: str  # "HTTP 503", "ConnectionError", "ReadTimeout"
    retry_after: str | None = None
    message: str = ""  # the service's own error message, if it gave one
    location: str | None = None  # the Location header, if any (Rekor's 409 names the entry)

    def describe(self) -> str:
        return f'{self.why} "{self.message}"' if self.message else self.why


class ServiceUnreachable(UnreachableError):
    """A Sigstore service failed after retries, or refused a request we cannot fix by retrying."""

    def __init__(
        self,
        what: str,
        *,
        service: Service,
        status: int | None,
        attempts: int,
        where: str = "",
        expected: str = "",
        found: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(what, where=where, expected=expected, found=found, hint=hint)
        self.service = service
        self.status = status
        self.attempts = attempts


class Refused(Exception):
    """A service answered with a status another try will not change. Internal to `keyless`."""

    def __init__(self, service: Service, where: str, failure: Failure, attempts: int) -> None:
        super().__init__(f"{service.value} answered {failure.why} to {where}")
        self.service = service
        self.where = where
        self.failure = failure
        self.attempts = attempts

    def error(self, what: str = "", *, hint: str = "") -> ServiceUnreachable:
        """The error to raise when the caller has no better reading of this answer."""
        return ServiceUnreachable(
            what or f"{self.service.value} refused the request",
            service=self.service,
            status=self.failure.status,
            attempts=self.attempts,
            where=self.where,
            expected="a 2xx answer",
            found=self.failure.describe(),
            hint=hint,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceStats:
    """What one service was asked and how it went, for the run report."""

    service: Service
    calls: int = 0  # operations (one certificate, one entry, one timestamp)
    attempts: int = 0  # requests sent, retries included
    retries: int = 0
    reasons: tuple[tuple[str, int], ...] = ()  # why we retried, e.g. (("HTTP 503", 2),)
    failed: int = 0  # operations that failed for good
    recovered: int = 0  # Rekor uploads answered 409 whose earlier copy we used

    def summary(self) -> str:
        """One line, e.g. "Rekor: 10 calls, 2 retries after HTTP 503"."""
        text = f"{self.service.value}: {self.calls} call{'s' if self.calls != 1 else ''}, "
        if self.retries:
            why = ", ".join(
                reason if len(self.reasons) == 1 else f"{reason} ({n})"
                for reason, n in self.reasons
            )
            text += f"{self.retries} retr{'ies' if self.retries != 1 else 'y'} after {why}"
        else:
            text += "no retries"
        if self.recovered:
            text += f", {self.recovered} duplicate upload(s) recovered"
        if self.failed:
            text += f", {self.failed} failed"
        return text


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    attempts: int = 0
    failed: int = 0
    recovered: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


class ServiceCalls:
    """Run service calls under one retry policy and count them per service. Thread-safe.

    `classify` turns an exception into a `Failure`, or None when it is not about the service's
    answer (a parse error, a bug): those propagate unchanged. Retried: connection errors and the
    policy's statuses, within `policy.deadline` or the tighter `deadline` of one call.
    """

    def __init__(
        self,
        *,
        classify: Callable[[BaseException], Failure | None],
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._classify = classify
        self._policy = policy or RetryPolicy()
        now = clock or (lambda: datetime.now(timezone.utc))
        self._clock = RetryClock(sleep=sleep, monotonic=monotonic, now=now)
        self._lock = threading.Lock()
        self._tallies: dict[Service, _Tally] = {s: _Tally() for s in Service}  # guarded by _lock

    def run(
        self,
        service: Service,
        where: str,
        operation: Callable[[], T],
        *,
        deadline: float | None = None,
    ) -> T:
        """Call `operation` until it succeeds, is refused, or the policy says stop.

        Raises `ServiceUnreachable` when out of retries, `Refused` for a status that is not
        retried, and whatever `classify` does not recognise as it is.
        """
        policy = self._policy
        if deadline is not None:
            policy = replace(policy, deadline=max(0.0, min(policy.deadline, deadline)))
        self._count(service, calls=1)

        def attempt(n: int) -> T | Failure:
            self._count(service, attempts=1)
            try:
                return operation()
            except Exception as exc:
                failure = self._classify(exc)
                if failure is None:
                    self._count(service, failed=1)
                    raise
                if failure.status is not None and not policy.retryable(failure.status):
                    self._count(service, failed=1)
                    raise Refused(service, where, failure, n) from exc
                return failure

        def gave_up(failure: Failure, attempts: int) -> ServiceUnreachable:
            self._count(service, failed=1)
            return self._gave_up(service, where, failure, attempts, policy)

        def counted(failure: Failure, _: int, wait: float) -> None:
            _log.debug("%s %s: %s; retry in %.2fs", service.value, where, failure.why, wait)
            self._count(service, reason=failure.why)

        return retry_call(
            attempt,
            transient=Failure,
            policy=policy,
            gave_up=gave_up,
            clock=self._clock,
            on_retry=counted,
        )

    def record_recovered(self, service: Service) -> None:
        """Count an upload whose 409 answer led to the entry already in the log."""
        self._count(service, recovered=1)

    def stats(self) -> tuple[ServiceStats, ...]:
        """A snapshot of the counts, one per service, in `Service` order."""
        with self._lock:
            return tuple(
                ServiceStats(
                    service=service,
                    calls=t.calls,
                    attempts=t.attempts,
                    retries=sum(t.reasons.values()),
                    reasons=tuple(sorted(t.reasons.items())),
                    failed=t.failed,
                    recovered=t.recovered,
                )
                for service, t in self._tallies.items()
            )

    def _count(
        self,
        service: Service,
        *,
        calls: int = 0,
        attempts: int = 0,
        failed: int = 0,
        recovered: int = 0,
        reason: str | None = None,
    ) -> None:
        with self._lock:
            tally = self._tallies[service]
            tally.calls += calls
            tally.attempts += attempts
            tally.failed += failed
            tally.recovered += recovered
            if reason is not None:
                tally.reasons[reason] += 1

    @staticmethod
    def _gave_up(
        service: Service, where: str, failure: Failure, attempts: int, policy: RetryPolicy
    ) -> ServiceUnreachable:
        bound = (
            f"the {policy.deadline:.0f} s allowed"
            if attempts < policy.attempts
            else f"{policy.attempts} attempts"
        )
        return ServiceUnreachable(
            f"cannot reach {service.value}: gave up after {attempts} "
            f"attempt{'s' if attempts != 1 else ''}",
            service=service,
            status=failure.status,
            attempts=attempts,
            where=where,
            expected=f"a 2xx answer within {bound}",
            found=failure.describe(),
            hint=f"{service.value} is down, overloaded or unreachable; try again later",
        )

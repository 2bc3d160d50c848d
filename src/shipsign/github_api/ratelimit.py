"""When to send a GitHub request again: a urllib3 `Retry` for PyGithub's and our own sessions.

PyGithub's default retries only 5xx and sleeps with `time.sleep`. This one follows shipsign's
`RetryPolicy` (attempts, backoff, deadline) and GitHub's rate-limit rules: a 403 or 429 with
`Retry-After` waits that long; one with `x-ratelimit-remaining: 0` waits until
`x-ratelimit-reset`; a 429 without either backs off; any other 403 is a refusal, never retried.
A 5xx is retried only for idempotent methods: a POST or PATCH that failed with 502 may have
been applied (a check-run PATCH appends annotations, an upload leaves a "starter" asset), so
callers that can tell decide themselves. Rate-limited requests were not applied, whatever the
method. Waits go through the injected `sleep`, so tests never wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from urllib3 import BaseHTTPResponse, Retry
from urllib3.exceptions import MaxRetryError, ResponseError

from shipsign.retry import RetryPolicy
from shipsign.secret import redact

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["IDEMPOTENT", "RateLimitRetry", "rate_limit_wait"]

_log = logging.getLogger(__name__)
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RATE_LIMITED = frozenset({403, 429})


def rate_limit_wait(status: int, headers: Mapping[str, str], *, now: datetime) -> str | None:
    """The `Retry-After` a rate-limited answer implies (seconds, as text); None if it says none.

    GitHub: "If the retry-after response header is present, you should not retry your request
    until after that many seconds has elapsed. If the x-ratelimit-remaining header is 0, you
    should not retry your request until after the time specified by the x-ratelimit-reset
    header." The reset is in epoch seconds; one second more, as its fraction is unknown.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    if status not in RATE_LIMITED:
        return None
    if lower.get("retry-after"):
        return lower["retry-after"]
    reset = lower.get("x-ratelimit-reset", "")
    if lower.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return str(max(0, int(reset) - int(now.timestamp())) + 1)
    return None


class RateLimitRetry(Retry):
    """urllib3 retries steered by a `RetryPolicy` and GitHub's rate-limit headers."""

    def __init__(
        self,
        *,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        now: Callable[[], datetime],
        waited: float = 0.0,
        wait: float = 0.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("total", max(0, policy.attempts - 1))
        kwargs.setdefault("allowed_methods", IDEMPOTENT)  # for read errors (urllib3's rule)
        kwargs.setdefault("status_forcelist", policy.statuses | RATE_LIMITED)
        kwargs.setdefault("raise_on_status", False)  # out of tries: hand back the last answer
        kwargs.setdefault("redirect", False)
        super().__init__(**kwargs)
        self.policy = policy
        self._sleep = sleep
        self._now = now
        self._waited = waited  # seconds slept for this request so far (the policy's `spent`)
        self._wait = wait  # seconds to sleep before the next try

    def new(self, **kw: Any) -> Self:
        params: dict[str, Any] = {
            "policy": self.policy,
            "sleep": self._sleep,
            "now": self._now,
            "waited": self._waited,
        }
        params.update(kw)
        return super().new(**params)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in RATE_LIMITED:
            return True  # `increment` reads the headers and decides
        return status_code in self.policy.statuses and method.upper() in IDEMPOTENT

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Self:
        retry_after: str | None = None
        why = type(error).__name__ if error is not None else ""
        if response is not None:
            why = f"HTTP {response.status}"
            retry_after = rate_limit_wait(response.status, response.headers, now=self._now())
            if response.status == 403 and retry_after is None:
                # A refusal (permissions, bad token scope), not a rate limit: no retry.
                raise MaxRetryError(_pool, url or "", ResponseError("403 is not a rate limit"))
            if retry_after is None and response.status != 429:
                retry_after = response.headers.get("Retry-After")
        attempt = len(self.history) + 2  # the try this wait leads to
        wait = self.policy.delay(attempt, retry_after, self._waited, now=self._now())
        if wait is None:
            _log.debug("GitHub %s %s: %s; giving up", method, redact(url or ""), why)
            raise MaxRetryError(_pool, url or "", error or ResponseError(why))
        new = super().increment(method, url, response, error, _pool, _stacktrace)
        new._waited = self._waited + wait
        new._wait = wait
        _log.debug(
            "GitHub %s %s: %s; try %d in %.2fs", method, redact(url or ""), why, attempt, wait
        )
        return new

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        if self._wait > 0:
            self._sleep(self._wait)

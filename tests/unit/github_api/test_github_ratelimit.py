"""What `RateLimitRetry` retries and how long it waits, decided from status and headers alone."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from urllib3 import HTTPResponse
from urllib3.exceptions import MaxRetryError

from shipsign.github_api.ratelimit import RateLimitRetry, rate_limit_wait
from shipsign.retry import RetryPolicy

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def _retry(slept: list[float]) -> RateLimitRetry:
    policy = RetryPolicy(attempts=3, base=0.5, cap=4.0, deadline=30.0)
    return RateLimitRetry(policy=policy, sleep=slept.append, now=lambda: NOW)


def _answer(status: int, **headers: str) -> HTTPResponse:
    return HTTPResponse(body=b"", status=status, headers=headers, preload_content=True)


def test_retry_after_is_the_wait() -> None:
    assert rate_limit_wait(403, {"Retry-After": "30"}, now=NOW) == "30"
    assert rate_limit_wait(429, {"retry-after": "5"}, now=NOW) == "5"


def test_a_used_up_primary_limit_waits_for_the_reset() -> None:
    reset = str(int(NOW.timestamp()) + 42)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    assert rate_limit_wait(403, headers, now=NOW) == "43"


def test_a_plain_403_or_another_status_is_no_rate_limit() -> None:
    assert rate_limit_wait(403, {"X-RateLimit-Remaining": "4999"}, now=NOW) is None
    assert rate_limit_wait(502, {"Retry-After": "1"}, now=NOW) is None


@given(reset=st.integers(min_value=0, max_value=2**40))
def test_the_reset_wait_is_never_negative(reset: int) -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    wait = rate_limit_wait(403, headers, now=NOW)
    assert wait is not None
    assert int(wait) >= 1


@pytest.mark.parametrize(
    ("method", "status", "retried"),
    [
        ("GET", 502, True),
        ("DELETE", 503, True),
        ("POST", 502, False),  # may have been applied: the caller decides
        ("PATCH", 500, False),  # a check-run PATCH appends annotations
        ("POST", 429, True),  # rate-limited requests were not applied
        ("POST", 403, True),  # decided in `increment`, from the headers
        ("GET", 404, False),
    ],
)
def test_which_answers_are_retried(method: str, status: int, retried: bool) -> None:
    assert _retry([]).is_retry(method, status) is retried


def test_a_403_without_rate_limit_headers_is_a_refusal() -> None:
    with pytest.raises(MaxRetryError):
        _retry([]).increment("POST", "/x", response=_answer(403))


def test_retry_after_is_honoured_and_slept_through_the_injected_sleep() -> None:
    slept: list[float] = []
    second = _retry(slept).increment("POST", "/x", response=_answer(403, **{"Retry-After": "9"}))
    second.sleep()
    assert slept == [9.0]


def test_backoff_stops_at_the_policy_attempts() -> None:
    slept: list[float] = []
    retry = _retry(slept)
    for _ in range(2):  # attempts=3: two retries
        retry = retry.increment("GET", "/x", response=_answer(503))
        retry.sleep()
    assert len(slept) == 2
    assert all(0.25 <= s <= 1.0 for s in slept)
    with pytest.raises(MaxRetryError):
        retry.increment("GET", "/x", response=_answer(503))


def test_a_retry_after_beyond_the_deadline_gives_up_at_once() -> None:
    with pytest.raises(MaxRetryError):
        _retry([]).increment("GET", "/x", response=_answer(429, **{"Retry-After": "3600"}))

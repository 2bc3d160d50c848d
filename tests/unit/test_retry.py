"""The shared retry policy: backoff bounds, Retry-After, attempts and deadline."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsign.retry import RetryPolicy, parse_retry_after

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)

policies = st.builds(
    RetryPolicy,
    attempts=st.integers(min_value=1, max_value=10),
    base=st.floats(min_value=0.001, max_value=5.0),
    cap=st.floats(min_value=0.001, max_value=60.0),
    deadline=st.floats(min_value=0.0, max_value=600.0),
)
jitters = st.floats(min_value=0.0, max_value=0.999999)


@given(policy=policies, n=st.integers(min_value=-5, max_value=20), spent=st.floats(0, 700))
def test_no_wait_outside_the_attempt_budget(policy: RetryPolicy, n: int, spent: float) -> None:
    wait = policy.delay(n, None, spent, now=NOW, jitter=0.5)
    if n < 2 or n > policy.attempts:
        assert wait is None


@given(policy=policies, n=st.integers(min_value=2, max_value=10), jitter=jitters)
def test_backoff_stays_within_half_and_full_capped_exponential(
    policy: RetryPolicy, n: int, jitter: float
) -> None:
    wait = policy.delay(n, None, 0.0, now=NOW, jitter=jitter)
    if n > policy.attempts:
        assert wait is None
        return
    full = min(policy.cap, policy.base * 2 ** (n - 2))
    expected = full * (0.5 + 0.5 * jitter)
    assert full * 0.5 <= expected <= full
    if wait is None:  # only when the wait would pass the deadline
        assert expected > policy.deadline
        return
    assert wait == pytest.approx(expected)


@given(
    policy=policies,
    n=st.integers(min_value=2, max_value=10),
    spent=st.floats(0, 700),
    asked=st.integers(min_value=0, max_value=10_000),
    jitter=jitters,
)
def test_a_returned_wait_never_passes_the_deadline_and_honours_retry_after(
    policy: RetryPolicy, n: int, spent: float, asked: int, jitter: float
) -> None:
    wait = policy.delay(n, str(asked), spent, now=NOW, jitter=jitter)
    if wait is not None:
        assert spent + wait <= policy.deadline
        assert wait >= asked


def test_retry_after_longer_than_the_deadline_stops() -> None:
    policy = RetryPolicy(attempts=5, deadline=10.0)
    assert policy.delay(2, "11", 0.0, now=NOW, jitter=0.0) is None
    assert policy.delay(2, "9", 0.0, now=NOW, jitter=0.0) == 9.0
    assert policy.delay(2, "9", 2.0, now=NOW, jitter=0.0) is None


def test_first_retry_waits_the_base_at_full_jitter() -> None:
    policy = RetryPolicy(attempts=4, base=0.5, cap=8.0, deadline=60.0)
    assert policy.delay(2, None, 0.0, now=NOW, jitter=0.0) == pytest.approx(0.25)
    assert policy.delay(3, None, 0.0, now=NOW, jitter=0.999999) == pytest.approx(1.0, rel=1e-5)
    assert policy.delay(4, None, 0.0, now=NOW, jitter=0.0) == pytest.approx(1.0)
    assert policy.delay(5, None, 0.0, now=NOW, jitter=0.0) is None


@given(st.integers(min_value=0, max_value=10**11))
def test_delta_seconds_round_trip(seconds: int) -> None:
    assert parse_retry_after(str(seconds), now=NOW) == float(seconds)
    assert parse_retry_after(f"  {seconds} ", now=NOW) == float(seconds)


@given(st.integers(min_value=-86_400 * 400, max_value=86_400 * 400))
def test_http_dates_count_from_now_and_never_go_negative(offset: int) -> None:
    when = NOW + timedelta(seconds=offset)
    assert parse_retry_after(format_datetime(when, usegmt=True), now=NOW) == max(0.0, offset)


@given(st.text())
def test_any_text_gives_a_wait_or_none_never_an_exception(text: str) -> None:
    result = parse_retry_after(text, now=NOW)
    assert result is None or result >= 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "٣"])
def test_unusable_values_are_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


def test_statuses_decide_what_is_retryable() -> None:
    policy = RetryPolicy()
    assert all(policy.retryable(s) for s in (408, 429, 500, 502, 503, 504))
    assert not any(policy.retryable(s) for s in (400, 401, 403, 404, 409, 501))

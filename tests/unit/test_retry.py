"""The shared retry policy: backoff bounds, Retry-After, attempts and deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsign.oci.shared_tag import backoff as shared_tag_backoff
from shipsign.retry import RetryClock, RetryPolicy, parse_retry_after, retry_call

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
    if wait is None:  # only when the wait would pass the deadline
        assert full * (0.5 + 0.5 * jitter) > policy.deadline * (1 - 1e-9)
        return
    # the policy's own answer within the bounds, not a bound of the test's own arithmetic
    assert full * 0.5 * (1 - 1e-9) <= wait <= full * (1 + 1e-9)
    assert wait == pytest.approx(full * (0.5 + 0.5 * jitter))


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


@given(
    spread=st.floats(min_value=0.0, max_value=1.0),
    n=st.integers(min_value=2, max_value=12),
    jitter=jitters,
)
def test_spread_is_the_share_of_the_backoff_jitter_may_take(
    spread: float, n: int, jitter: float
) -> None:
    policy = RetryPolicy(base=0.05, cap=1.0, spread=spread)
    full = min(1.0, 0.05 * 2 ** (n - 2))
    wait = policy.backoff(n, jitter=jitter)
    assert full * (1 - spread) - 1e-12 <= wait <= full + 1e-12
    assert policy.backoff(n, jitter=0.0) == pytest.approx(full * (1 - spread))


@given(st.integers(min_value=1, max_value=30))
def test_shared_tag_writers_back_off_with_full_jitter_up_to_one_second(attempt: int) -> None:
    wait = shared_tag_backoff(attempt)
    assert 0.0 <= wait <= min(1.0, 0.05 * 2**attempt)


@dataclass(frozen=True)
class _Busy:
    why: str
    retry_after: str | None = None


class _Clock:
    """Time that passes only when slept."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.elapsed += seconds

    def retry_clock(self) -> RetryClock:
        return RetryClock(sleep=self.sleep, monotonic=lambda: self.elapsed, now=lambda: NOW)


class _GaveUp(Exception):
    pass


def _run(policy: RetryPolicy, answers: list[object], clock: _Clock) -> object:
    tries: list[int] = []

    def attempt(n: int) -> object:
        tries.append(n)
        answer = answers[len(tries) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def gave_up(last: _Busy, made: int) -> Exception:
        return _GaveUp(f"{last.why} after {made}")

    return retry_call(
        attempt, transient=_Busy, policy=policy, gave_up=gave_up, clock=clock.retry_clock()
    )


def test_the_loop_waits_as_the_server_asks_without_sleeping_for_real() -> None:
    clock = _Clock()
    policy = RetryPolicy(attempts=4, base=0.25, deadline=600.0)
    answers: list[object] = [_Busy("HTTP 429", "120"), _Busy("HTTP 503"), "done"]
    assert _run(policy, answers, clock) == "done"
    assert clock.slept[0] == 120.0  # Retry-After, far longer than the backoff
    assert 0.125 <= clock.slept[1] <= 0.5  # then the backoff for try 3
    when = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    clock = _Clock()
    assert _run(policy, [_Busy("HTTP 503", when), "done"], clock) == "done"
    assert clock.slept == [30.0]  # an HTTP-date counts from the injected wall clock


def test_the_loop_stops_at_the_attempts_and_at_the_deadline() -> None:
    clock = _Clock()
    with pytest.raises(_GaveUp, match="HTTP 503 after 3"):
        _run(RetryPolicy(attempts=3), [_Busy("HTTP 503")] * 3, clock)
    assert len(clock.slept) == 2
    clock = _Clock()
    with pytest.raises(_GaveUp, match="HTTP 429 after 1"):  # 61 s would pass the 60 s allowed
        _run(RetryPolicy(attempts=9, deadline=60.0), [_Busy("HTTP 429", "61")], clock)
    assert clock.slept == []


def test_what_the_attempt_raises_is_never_retried() -> None:
    clock = _Clock()
    with pytest.raises(KeyError):
        _run(RetryPolicy(), [_Busy("ConnectionError"), KeyError("no")], clock)
    assert len(clock.slept) == 1

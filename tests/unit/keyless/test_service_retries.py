"""Retry decisions for Fulcio, Rekor and TSA calls (`ServiceCalls`), and how a failed sigstore
client call is read (`classify_failure`). No sockets: operations are plain callables."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from shipsign.keyless.http import classify_failure
from shipsign.keyless.retrying import (
    Failure,
    Refused,
    Service,
    ServiceCalls,
    ServiceUnreachable,
)
from shipsign.keyless.sigstore_private import FulcioClientError, RekorClientError
from shipsign.retry import RetryPolicy

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


class Answer(Exception):
    """What a fake service answers instead of succeeding: a status, or None (connection)."""

    def __init__(self, status: int | None, retry_after: str | None = None) -> None:
        super().__init__(f"answer {status}")
        self.status = status
        self.retry_after = retry_after


def classify(exc: BaseException) -> Failure | None:
    if not isinstance(exc, Answer):
        return None
    why = "ConnectionError" if exc.status is None else f"HTTP {exc.status}"
    return Failure(status=exc.status, why=why, retry_after=exc.retry_after, message="busy")


class Clock:
    """Monotonic time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def scripted(answers: Sequence[Answer | str]) -> Callable[[], str]:
    """An operation that raises the scripted answers in turn, returning the first string."""
    queue = list(answers)

    def operation() -> str:
        item = queue.pop(0)
        if isinstance(item, Answer):
            raise item
        return item

    return operation


def calls_with(clock: Clock, policy: RetryPolicy) -> ServiceCalls:
    return ServiceCalls(
        classify=classify,
        policy=policy,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        clock=lambda: NOW,
    )


POLICY = RetryPolicy(attempts=4, base=0.5, cap=4.0, deadline=60.0)


def test_transient_answers_are_retried_then_the_result_returned() -> None:
    clock = Clock()
    calls = calls_with(clock, POLICY)
    op = scripted([Answer(503), Answer(503), "entry"])
    assert calls.run(Service.REKOR, "POST /api/v1/log/entries", op) == "entry"
    rekor = calls.stats()[1]
    assert (rekor.service, rekor.calls, rekor.attempts, rekor.retries) == (Service.REKOR, 1, 3, 2)
    assert rekor.reasons == (("HTTP 503", 2),)
    assert rekor.summary() == "Rekor: 1 call, 2 retries after HTTP 503"
    assert len(clock.waits) == 2
    assert 0.25 <= clock.waits[0] <= 0.5
    assert 0.5 <= clock.waits[1] <= 1.0


def test_retry_after_is_honoured() -> None:
    clock = Clock()
    calls = calls_with(clock, POLICY)
    calls.run(Service.FULCIO, "POST /api/v2/signingCert", scripted([Answer(429, "3"), "cert"]))
    assert clock.waits == [3.0]


def test_connection_errors_are_retried() -> None:
    clock = Clock()
    calls = calls_with(clock, POLICY)
    assert calls.run(Service.TSA, "POST /ts", scripted([Answer(None), "stamp"])) == "stamp"
    assert calls.stats()[2].reasons == (("ConnectionError", 1),)


def test_out_of_attempts_raises_service_unreachable_naming_service_path_status() -> None:
    clock = Clock()
    calls = calls_with(clock, POLICY)
    where = "POST http://rekor.example/api/v1/log/entries"
    with pytest.raises(ServiceUnreachable) as caught:
        calls.run(Service.REKOR, where, scripted([Answer(503)] * 10))
    error = caught.value
    assert (error.service, error.status, error.attempts) == (Service.REKOR, 503, 4)
    assert error.what == "cannot reach Rekor: gave up after 4 attempts"
    assert error.where == where
    assert error.found == 'HTTP 503 "busy"'
    assert len(clock.waits) == 3
    stats = calls.stats()[1]
    assert (stats.attempts, stats.retries, stats.failed) == (4, 3, 1)


def test_a_call_deadline_tighter_than_the_policy_stops_early() -> None:
    clock = Clock()
    calls = calls_with(clock, POLICY)
    with pytest.raises(ServiceUnreachable) as caught:
        calls.run(Service.REKOR, "POST /e", scripted([Answer(503, "5")] * 4), deadline=4.0)
    assert caught.value.attempts == 1
    assert "4 s allowed" in caught.value.expected
    assert clock.waits == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_answers_another_try_cannot_change_are_refused_at_once(status: int) -> None:
    clock = Clock()
    calls = calls_with(clock, POLICY)
    with pytest.raises(Refused) as caught:
        calls.run(Service.REKOR, "POST /e", scripted([Answer(status), "never"]))
    assert caught.value.failure.status == status
    assert caught.value.attempts == 1
    assert clock.waits == []
    error = caught.value.error("Rekor refused the entry")
    assert isinstance(error, ServiceUnreachable)
    assert (error.status, error.where) == (status, "POST /e")


def test_exceptions_that_say_nothing_about_the_service_pass_through_untried() -> None:
    clock = Clock()
    calls = calls_with(clock, POLICY)

    def broken() -> str:
        raise KeyError("signedCertificateEmbeddedSct")

    with pytest.raises(KeyError):
        calls.run(Service.FULCIO, "POST /c", broken)
    assert (calls.stats()[0].attempts, calls.stats()[0].failed) == (1, 1)


answers = st.one_of(
    st.just("ok"),
    st.sampled_from([None, 429, 500, 502, 503, 504, 400, 401, 409]).map(Answer),
)


@settings(max_examples=200)
@given(script=st.lists(answers, min_size=1, max_size=8), attempts=st.integers(1, 6))
def test_outcome_matches_a_reference_model(script: list[Answer | str], attempts: int) -> None:
    policy = RetryPolicy(attempts=attempts, base=0.01, cap=0.1, deadline=1e6)
    padded = [*script, *([Answer(503)] * attempts)]
    # Reference: walk the script; stop at success, at a refusal, or when attempts run out.
    expected: type[BaseException] | str = ServiceUnreachable
    tries = 0
    for item in padded[:attempts]:
        tries += 1
        if isinstance(item, str):
            expected = item
            break
        if item.status is not None and not policy.retryable(item.status):
            expected = Refused
            break
    clock = Clock()
    calls = calls_with(clock, policy)
    if isinstance(expected, str):
        assert calls.run(Service.REKOR, "POST /e", scripted(padded)) == expected
    else:
        with pytest.raises(expected):
            calls.run(Service.REKOR, "POST /e", scripted(padded))
    stats = calls.stats()[1]
    assert stats.attempts == tries
    assert stats.retries == len(clock.waits) == tries - 1
    assert stats.failed == (0 if isinstance(expected, str) else 1)


def test_counts_from_many_threads_add_up() -> None:
    calls = ServiceCalls(classify=classify, policy=POLICY, sleep=lambda _: None)
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(50):
            calls.run(Service.REKOR, "POST /e", scripted([Answer(503), "ok"]))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rekor = calls.stats()[1]
    assert (rekor.calls, rekor.attempts, rekor.retries) == (400, 800, 400)


def test_summary_lists_each_reason_and_recoveries() -> None:
    calls = ServiceCalls(classify=classify, policy=POLICY, sleep=lambda _: None)
    calls.run(Service.REKOR, "POST /e", scripted([Answer(503), Answer(None), "ok"]))
    calls.record_recovered(Service.REKOR)
    fulcio, rekor, _ = calls.stats()
    assert fulcio.summary() == "Fulcio: 0 calls, no retries"
    assert rekor.summary() == (
        "Rekor: 1 call, 2 retries after ConnectionError (1), HTTP 503 (1), "
        "1 duplicate upload(s) recovered"
    )


# classify_failure reads what sigstore's clients raise.


def _http_error(status: int, body: bytes, headers: dict[str, str]) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers)
    return requests.HTTPError(f"{status} error", response=response)


def test_fulcio_errors_are_read_through_their_cause() -> None:
    http_error = _http_error(503, b'{"code":503,"message":"overloaded"}', {"Retry-After": "2"})
    try:
        raise FulcioClientError from http_error
    except FulcioClientError as exc:
        failure = classify_failure(exc)
    assert failure == Failure(
        status=503, why="HTTP 503", retry_after="2", message="overloaded", location=None
    )


def test_rekor_errors_are_read_through_their_context() -> None:
    http_error = _http_error(409, b'{"message":"exists"}', {"Location": "/api/v1/log/entries/ab"})
    try:
        try:
            raise http_error
        except requests.HTTPError as inner:
            raise RekorClientError(inner) from None
    except RekorClientError as exc:
        exc.__context__ = http_error  # `from None` hid it; sigstore raises it implicitly
        failure = classify_failure(exc)
    assert failure is not None
    assert (failure.status, failure.location, failure.message) == (
        409,
        "/api/v1/log/entries/ab",
        "exists",
    )


def test_connection_errors_are_transient_and_other_errors_say_nothing() -> None:
    failure = classify_failure(requests.ConnectionError("refused"))
    assert failure == Failure(status=None, why="ConnectionError")
    timeout = classify_failure(requests.ReadTimeout("slow"))
    assert timeout == Failure(status=None, why="ReadTimeout")
    assert classify_failure(ValueError("bad json")) is None


def test_a_non_json_error_body_gives_no_message() -> None:
    failure = classify_failure(_http_error(502, b"<html>bad gateway</html>", {}))
    assert failure == Failure(status=502, why="HTTP 502")

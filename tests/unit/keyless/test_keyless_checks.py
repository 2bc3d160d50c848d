"""Check results: failures are data, and a crashing check fails closed."""

from __future__ import annotations

from shipsign.checks import (
    Check,
    CheckFailure,
    SignatureFacts,
    SignatureFormat,
    SignatureOutcome,
    run_check,
)


def _crash() -> list[CheckFailure]:
    raise KeyError("surprise")


def test_a_crashing_check_is_a_failure_of_that_check() -> None:
    (failure,) = run_check(Check.SCT, "certificate", _crash)
    assert failure == CheckFailure(
        check="sct",
        expected="the check to complete",
        found="KeyError: 'surprise'",
        where="certificate",
    )


def test_a_passing_check_returns_no_failures() -> None:
    assert run_check(Check.SIGNATURE, "x", list) == []


def test_outcome_passes_only_without_failures() -> None:
    failure = CheckFailure(check=Check.IDENTITY.value, expected="a", found="b", where="c")
    failed = SignatureOutcome(
        format=SignatureFormat.LEGACY, facts=SignatureFacts(), failures=(failure,)
    )
    passed = SignatureOutcome(format=SignatureFormat.BUNDLE, facts=SignatureFacts(), failures=())
    assert (failed.passed, passed.passed) == (False, True)
    assert failed.failed_checks == {"identity"}
    assert Check.IDENTITY.value == "identity"
    assert str(Check.IDENTITY) == "identity"
    assert f"{Check.IDENTITY}" == "identity"
    assert str(SignatureFormat.BUNDLE) == "bundle"

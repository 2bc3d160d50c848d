"""The sign request and report values: annotation parsing, and how a report adds up to ok,
negative or unreachable (what the front ends turn into exit codes)."""

from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsign.checks import SignatureFormat
from shipsign.errors import InputError, RegistryError
from shipsign.oci import Digest
from shipsign.present.exitcodes import verdict_code
from shipsign.secret import Secret
from shipsign.sign import (
    ImageTarget,
    ReadBack,
    SignFormat,
    SignReport,
    SignRequest,
    SignResult,
    SignStatus,
    parse_annotations,
)

DIGEST = Digest.of(b"image")
keys = st.text(string.ascii_letters + string.digits + "._-/:", min_size=1, max_size=20)
values = st.text(max_size=30)


@given(st.dictionaries(keys, values, max_size=6))
def test_annotations_round_trip_sorted(pairs: dict[str, str]) -> None:
    parsed = parse_annotations(tuple(f"{k}={v}" for k, v in pairs.items()))
    assert dict(parsed) == pairs
    assert list(parsed) == sorted(pairs)


@given(st.lists(st.text(max_size=40), max_size=5))
def test_hostile_annotations_raise_only_input_error(pairs: list[str]) -> None:
    with contextlib.suppress(InputError):
        parse_annotations(tuple(pairs))


@pytest.mark.parametrize("bad", ["no-equals", "=value", " key=value", "key =value"])
def test_malformed_annotation_is_refused_when_the_request_is_made(bad: str) -> None:
    with pytest.raises(InputError, match="invalid annotation"):
        SignRequest(images=("r.example/a:v1",), annotations=(bad,))


def test_a_token_and_a_token_source_together_are_refused() -> None:
    with pytest.raises(InputError, match="not both"):
        SignRequest(
            images=("r.example/a:v1",),
            identity_token=Secret("a.b.c"),
            identity_token_source=lambda: Secret("a.b.c"),
        )


def test_conflicting_duplicate_annotation_is_refused() -> None:
    with pytest.raises(InputError, match="given twice"):
        parse_annotations(("k=1", "k=2"))
    assert dict(parse_annotations(("k=1", "k=1", "v=a=b"))) == {"k": "1", "v": "a=b"}


def test_format_choices() -> None:
    assert SignFormat.BOTH.formats == (SignatureFormat.BUNDLE, SignatureFormat.LEGACY)
    assert SignFormat("legacy").formats == (SignatureFormat.LEGACY,)
    assert SignRequest(images=("a/b",)).format is SignFormat.BOTH
    assert SignRequest(images=("a/b",)).verify_after is True


def result(status: SignStatus, readback: ReadBack = ReadBack.VERIFIED) -> SignResult:
    return SignResult(
        digest=DIGEST,
        repository="r.example/app",
        format=SignatureFormat.LEGACY,
        status=status,
        readback=readback,
    )


def report(*results: SignResult, unresolved: bool = False) -> SignReport:
    target = ImageTarget(
        input="r.example/app:v1",
        repository="r.example/app",
        digest=None if unresolved else DIGEST,
        error=RegistryError("down") if unresolved else None,
    )
    return SignReport(
        images=(target,),
        results=results,
        identity="id",
        issuer="iss",
        trust_source="test",
        public_log=False,
    )


def code(r: SignReport) -> int:
    return verdict_code(all_ok=r.ok, any_negative=r.any_negative, any_unreachable=r.any_unreachable)


@pytest.mark.parametrize(
    ("results", "unresolved", "expected"),
    [
        ((result(SignStatus.SIGNED),), False, 0),
        ((result(SignStatus.SKIPPED), result(SignStatus.SIGNED, ReadBack.NOT_RUN)), False, 0),
        ((result(SignStatus.SIGNED), result(SignStatus.UNREACHABLE, ReadBack.NOT_RUN)), False, 3),
        ((result(SignStatus.SIGNED, ReadBack.UNREACHABLE),), False, 3),
        ((result(SignStatus.FAILED, ReadBack.NOT_RUN), result(SignStatus.UNREACHABLE)), False, 1),
        ((result(SignStatus.SIGNED, ReadBack.FAILED),), False, 1),
        ((result(SignStatus.SIGNED),), True, 3),
        ((), True, 3),
        ((), False, 1),
    ],
)
def test_report_verdict_and_exit_code(
    results: tuple[SignResult, ...], unresolved: bool, expected: int
) -> None:
    assert code(report(*results, unresolved=unresolved)) == expected

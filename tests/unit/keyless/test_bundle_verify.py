"""Bundle verification around sigstore-python: inputs, content rules, facts, hostile bytes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interop.corpus import PRODUCTION_ROOT, load_case
from shipsign.errors import InputError
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy
from shipsign.keyless.trust_material import load_trust_material


def policy_of(**given: str) -> IdentityPolicy:
    """A one-alternative policy, built as the front ends build it."""
    return build_identity_policy([given])


TRUST = load_trust_material(PRODUCTION_ROOT)
MESSAGE = load_case("bundle-conf-v0.3-hashedrekord")
DSSE = load_case("bundle-cosign-prod-oci-attestation")
BEACON = policy_of(
    identity=MESSAGE.meta["identity"]["san"], issuer="https://token.actions.githubusercontent.com"
)
CODY = policy_of(identity="cody@soyland.com", issuer="https://github.com/login/oauth")
IMAGE = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"


def test_facts_of_a_verified_bundle() -> None:
    case = load_case("bundle-sp-prod-v0.2-gha-wheel")
    outcome = verify_bundle(
        case.read("bundle.sigstore.json"),
        trust=TRUST,
        policy=policy_of(identity_regexp=r"https://github\.com/trailofbits/.*"),
        digest="sha256:" + case.text("artifact.sha256").split()[0],
    )
    assert outcome.passed, outcome.failures
    assert outcome.facts.log_index == 79605083
    assert outcome.facts.signing_time == datetime(2024, 3, 19, 22, 41, 16, tzinfo=timezone.utc)
    assert outcome.facts.issuer == "https://token.actions.githubusercontent.com"
    assert outcome.facts.identity == case.meta["identity"]["san"]


def test_image_digest_as_dsse_subject() -> None:
    outcome = verify_bundle(
        DSSE.read("bundle.sigstore.json"), trust=TRUST, policy=CODY, digest=IMAGE, require_dsse=True
    )
    assert outcome.passed, outcome.failures


def test_message_signatures_are_refused_when_dsse_is_required() -> None:
    outcome = verify_bundle(
        MESSAGE.read("bundle.sigstore.json"),
        trust=TRUST,
        policy=BEACON,
        artifact=MESSAGE.read("artifact"),
        require_dsse=True,
    )
    assert outcome.failed_checks == {"bundle_content"}


def test_crypto_and_identity_failures_are_both_reported() -> None:
    case = load_case("neg-bundle-conf-signature-mismatch")
    outcome = verify_bundle(
        case.read("bundle.sigstore.json"),
        trust=TRUST,
        policy=policy_of(identity="someone@example.com", issuer="https://accounts.google.com"),
        artifact=case.read("artifact"),
    )
    assert outcome.failed_checks == {"signature", "identity", "issuer"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"artifact": b"x", "digest": "sha256:" + "0" * 64},
        {"digest": "sha256:" + "0" * 63},
        {"digest": "sha512:" + "0" * 128},
        {"digest": "SHA256:" + "0" * 64},
    ],
)
def test_artifact_or_digest_is_required_and_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        verify_bundle(MESSAGE.read("bundle.sigstore.json"), trust=TRUST, policy=BEACON, **kwargs)  # type: ignore[arg-type]


def test_an_identity_is_required() -> None:
    with pytest.raises(InputError):
        verify_bundle(
            MESSAGE.read("bundle.sigstore.json"),
            trust=TRUST,
            policy=policy_of(issuer="x"),
            artifact=b"",
        )


@pytest.mark.parametrize("raw", [b"", b"[]", b"null", b"{}", b"{" * 50_000, b'{"mediaType": 1}'])
def test_unloadable_bundles_fail_with_a_reason(raw: bytes) -> None:
    outcome = verify_bundle(raw, trust=TRUST, policy=BEACON, artifact=b"a")
    assert outcome.failed_checks == {"bundle_parse"}
    assert outcome.failures[0].found


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 6000), st.integers(1, 255))
def test_corrupted_bundles_never_raise(index: int, xor: int) -> None:
    raw = bytearray(MESSAGE.read("bundle.sigstore.json"))
    raw[index % len(raw)] ^= xor
    outcome = verify_bundle(
        bytes(raw), trust=TRUST, policy=BEACON, artifact=MESSAGE.read("artifact")
    )
    for failure in outcome.failures:
        assert failure.check
        assert failure.expected
        assert failure.found
        assert failure.where


def test_images_accept_only_v03_dsse_bundles() -> None:
    old = load_case("bundle-conf-v0.1-hashedrekord")
    outcome = verify_bundle(
        old.read("bundle.sigstore.json"),
        trust=TRUST,
        policy=BEACON,
        artifact=old.read("artifact"),
        require_dsse=True,
    )
    assert outcome.failed_checks == {"bundle_content"}
    assert "media type" in outcome.failures[0].found
    assert "message signature" in outcome.failures[0].found

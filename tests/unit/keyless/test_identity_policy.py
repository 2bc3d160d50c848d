"""The identity policy against real Fulcio certificates (corpus) and made-up ones."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier
from hypothesis import given
from hypothesis import strategies as st

from interop.corpus import load_case
from shipsign.errors import InputError
from shipsign.keyless.fulcio_identity import (
    certificate_issuer,
    decode_der_utf8_string,
    subject_alternative_names,
)
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy


def policy_of(**given: str) -> IdentityPolicy:
    """A one-alternative policy, built as the front ends build it."""
    return build_identity_policy([given])


GHA = x509.load_pem_x509_certificate(load_case("legacy-doc-salrashid-gha-2026").read("cert.pem"))
EMAIL = x509.load_pem_x509_certificate(load_case("legacy-ci-fulcio-rekor-prod").read("cert.pem"))
GHA_SAN = (
    "https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml"
    "@refs/tags/v0.0.30"
)
ACTIONS = "https://token.actions.githubusercontent.com"
WHERE = "test certificate"


def _der_utf8(text: str) -> bytes:
    data = text.encode()
    if len(data) < 0x80:
        return bytes([0x0C, len(data)]) + data
    size = len(data).to_bytes((len(data).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(size)]) + size + data


def _cert(
    extensions: dict[int, bytes], sans: list[x509.GeneralName] | None = None
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.now(timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(minutes=10))
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=True)
    for number, value in extensions.items():
        oid = ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{number}")
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
    return builder.sign(key, hashes.SHA256())


def test_every_github_claim_of_a_real_workflow_certificate_matches() -> None:
    policy = policy_of(
        identity=GHA_SAN,
        issuer=ACTIONS,
        github_repository="salrashid123/go-bazel-github-workflow",
        github_ref="refs/tags/v0.0.30",
        github_workflow_trigger="push",
        github_sha="7624bd5f279fb5d4700ea72c1b2373ee33960700",
        github_workflow="salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30",
        runner_environment="github-hosted",
    )
    assert policy.check(GHA, where=WHERE) == []


def test_every_mismatch_is_reported_with_expected_and_found() -> None:
    policy = policy_of(
        identity="https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main",
        issuer="https://accounts.google.com",
        github_repository="other/repo",
        github_ref="refs/heads/main",
        github_workflow_trigger="pull_request",
        github_sha="0" * 40,
        github_workflow="https://github.com/other/repo/.github/workflows/x.yml@refs/heads/main",
        runner_environment="self-hosted",
    )
    failures = {f.check: f for f in policy.check(GHA, where=WHERE)}
    assert set(failures) == {
        "identity",
        "issuer",
        "github_repository",
        "github_ref",
        "github_workflow_trigger",
        "github_sha",
        "github_workflow",
        "runner_environment",
    }
    assert failures["identity"].found == GHA_SAN
    assert failures["issuer"].found == ACTIONS
    assert (
        failures["github_repository"].found
        == "https://github.com/salrashid123/go-bazel-github-workflow"
    )
    assert failures["github_ref"].found == "refs/tags/v0.0.30"
    assert failures["runner_environment"].expected == "self-hosted"
    assert all(f.where == WHERE for f in failures.values())


def test_regular_expressions_must_match_the_whole_value() -> None:
    whole = policy_of(
        identity_regexp=r"https://github\.com/salrashid123/.*", issuer_regexp=r"https://token\..*"
    )
    assert whole.check(GHA, where=WHERE) == []
    part = policy_of(identity_regexp="salrashid123", issuer_regexp="actions")
    assert {f.check for f in part.check(GHA, where=WHERE)} == {"identity", "issuer"}


def test_identity_matches_any_san_of_an_email_certificate() -> None:
    assert policy_of(identity="mitr@redhat.com").check(EMAIL, where=WHERE) == []
    (failure,) = policy_of(identity="someone@redhat.com").check(EMAIL, where=WHERE)
    assert (failure.check, failure.found) == ("identity", "mitr@redhat.com")


def test_github_claims_are_missing_from_an_email_certificate() -> None:
    failures = policy_of(identity="mitr@redhat.com", github_ref="refs/heads/main").check(
        EMAIL, where=WHERE
    )
    assert [(f.check, f.found) for f in failures] == [("github_ref", "(not in the certificate)")]


def test_v2_extensions_win_and_legacy_ones_are_the_fallback() -> None:
    both = _cert(
        {
            1: b"https://legacy.example",
            8: _der_utf8("https://v2.example"),
            6: b"refs/old",
            14: _der_utf8("refs/new"),
        }
    )
    assert certificate_issuer(both) == "https://v2.example"
    assert (
        policy_of(issuer="https://v2.example", github_ref="refs/new").check(both, where=WHERE) == []
    )
    legacy = _cert(
        {1: b"https://legacy.example", 5: b"owner/repo", 6: b"refs/old", 2: b"push", 3: b"abc"}
    )
    policy = policy_of(
        issuer="https://legacy.example",
        github_repository="owner/repo",
        github_ref="refs/old",
        github_workflow_trigger="push",
        github_sha="abc",
    )
    assert policy.check(legacy, where=WHERE) == []


def test_github_repository_names_the_host_too() -> None:
    gitlab = _cert({12: _der_utf8("https://gitlab.com/owner/repo")})
    (failure,) = policy_of(github_repository="owner/repo").check(gitlab, where=WHERE)
    assert (failure.check, failure.expected, failure.found) == (
        "github_repository",
        "owner/repo",  # as given; it means github.com's
        "https://gitlab.com/owner/repo",
    )
    enterprise = _cert({12: _der_utf8("https://ghe.example.com/owner/repo")})
    assert policy_of(github_repository="owner/repo").check(enterprise, where=WHERE)
    pinned = policy_of(github_repository="https://ghe.example.com/owner/repo")
    assert pinned.check(enterprise, where=WHERE) == []
    github = _cert({12: _der_utf8("https://github.com/owner/repo")})
    assert policy_of(github_repository="owner/repo").check(github, where=WHERE) == []
    assert pinned.check(github, where=WHERE) != []


def test_github_workflow_falls_back_to_the_uri_san() -> None:
    uri = "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main"
    cert = _cert({}, [x509.UniformResourceIdentifier(uri)])
    assert (
        policy_of(github_workflow="o/r/.github/workflows/w.yml@refs/heads/main").check(
            cert, where=WHERE
        )
        == []
    )


def test_fulcio_othername_san_is_an_identity() -> None:
    other = x509.OtherName(ObjectIdentifier("1.3.6.1.4.1.57264.1.7"), _der_utf8("user!example.com"))
    cert = _cert({}, [other])
    assert subject_alternative_names(cert) == ["user!example.com"]
    assert policy_of(identity="user!example.com").check(cert, where=WHERE) == []


def test_malformed_v2_extension_fails_closed() -> None:
    cert = _cert({8: b"not DER"})
    with pytest.raises(ValueError, match="DER"):
        policy_of(identity="x", issuer="y").check(cert, where=WHERE)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"identity": "a", "identity_regexp": "a"},
        {"issuer": "a", "issuer_regexp": "a"},
        {"identity_regexp": "("},
        {"issuer_regexp": "[z-a]"},
    ],
)
def test_contradictory_or_invalid_policies_are_input_errors(kwargs: dict[str, str]) -> None:
    with pytest.raises(InputError):
        policy_of(**kwargs)


def test_names_identity() -> None:
    assert policy_of(identity="a").names_identity
    assert policy_of(identity_regexp="a").names_identity
    assert not policy_of(issuer=ACTIONS).names_identity


@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=300))
def test_der_utf8_string_round_trip(text: str) -> None:
    assert decode_der_utf8_string(_der_utf8(text)) == text


@given(st.binary(max_size=64))
def test_der_utf8_string_hostile_input_raises_only_value_errors(data: bytes) -> None:
    with contextlib.suppress(ValueError):  # UnicodeDecodeError is a ValueError
        decode_der_utf8_string(data)

"""Requests that cannot be verified are refused as bad input (exit 2) before any network call."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shipsign.cli import main
from shipsign.errors import InputError
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy
from shipsign.verify import SourceFormat, VerifyRequest, verify_images


def policy_of(**given: str) -> IdentityPolicy:
    """A one-alternative policy, built as the front ends build it."""
    return build_identity_policy([given])


# Port 9 (discard) on loopback: nothing listens, so a network call would fail loudly.
IMAGE = f"127.0.0.1:9/acme/app@sha256:{'ab' * 32}"


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "cosign.pub"
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    path.write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return path


def test_keyless_needs_an_identity() -> None:
    with pytest.raises(InputError, match="needs the signer identity"):
        verify_images(VerifyRequest(images=(IMAGE,), policy=policy_of(issuer="x")))


def test_a_key_verifies_legacy_signatures_only(key: Path) -> None:
    request = VerifyRequest(images=(IMAGE,), key=key, format=SourceFormat.BUNDLE)
    with pytest.raises(InputError, match=r"legacy \.sig signatures only"):
        verify_images(request)


def test_ignoring_the_tlog_needs_a_key() -> None:
    policy = policy_of(identity="me@example.com")
    request = VerifyRequest(images=(IMAGE,), policy=policy, require_tlog=False)
    with pytest.raises(InputError, match="--insecure-ignore-tlog needs --key"):
        verify_images(request)


def test_unreadable_key(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the public key") as err:
        verify_images(VerifyRequest(images=(IMAGE,), key=tmp_path / "missing.pub"))
    assert err.value.where == str(tmp_path / "missing.pub")


def test_bad_reference() -> None:
    policy = policy_of(identity="me@example.com")
    with pytest.raises(InputError):
        verify_images(VerifyRequest(images=("Not A Reference!",), policy=policy))


@pytest.mark.parametrize(
    "flags",
    [
        ["--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"],
        ["--certificate-identity", "me", "--insecure-ignore-tlog"],
        ["--certificate-identity", "me", "--certificate-identity-regexp", "m."],
        ["--certificate-identity-regexp", "(unclosed"],
    ],
    ids=["no-identity", "tlog-without-key", "exact-and-regexp", "bad-regexp"],
)
def test_cli_exits_2_without_a_traceback(
    flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["verify", IMAGE, "--insecure-registry", "127.0.0.1:9", *flags])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_cli_key_with_bundle_format(key: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", IMAGE, "--key", str(key), "--format", "bundle"])
    assert code == 2
    assert "error: --key verifies legacy .sig signatures only" in capsys.readouterr().err


@pytest.mark.parametrize(
    "policy",
    [policy_of(identity="me@example.com"), policy_of(identity_regexp=".*")],
    ids=["identity", "regexp"],
)
def test_a_key_and_an_identity_are_not_both_given(key: Path, policy: IdentityPolicy) -> None:
    request = VerifyRequest(images=(IMAGE,), key=key, policy=policy)
    with pytest.raises(InputError, match="give --key or an identity, not both") as err:
        verify_images(request)  # the identity would never be checked against a key signature
    assert err.value.hint


def test_cli_key_with_identity(key: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", IMAGE, "--key", str(key), "--certificate-identity", "me"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "give --key or an identity, not both" in err

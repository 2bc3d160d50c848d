"""Fixtures for the verify tests: one keyless signer on the local Sigstore stack per session,
our client pool, and `shipsign verify` bound to the stack."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from integration.verify.signed_images import CliRun, Image, Verify, verify_on_stack
from shipsign.keyless.identity import IdentityToken, parse_identity_token
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.oci import Registries
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


@pytest.fixture(scope="session")
def signer(sigstore_stack: SigstoreStack, github_oidc: GitHubOidc) -> KeylessSigner:
    """Signs as acme/app's release.yml@refs/tags/v1.2.3 (github_oidc.san) on the local stack."""

    def token() -> IdentityToken:
        return parse_identity_token(github_oidc.mint(), now=datetime.now(timezone.utc))

    trust = load_trust(TrustOptions(trust_config=sigstore_stack.trust_config))
    return KeylessSigner(trust, token(), renew_identity=token)


@pytest.fixture
def verify(
    capsys: pytest.CaptureFixture[str], github_oidc: GitHubOidc, sigstore_stack: SigstoreStack
) -> Verify:
    """`shipsign verify IMAGE *flags` in-process, trusting the local stack, as github_oidc's
    workflow unless `identity=False` (`signed_images.verify_on_stack`)."""

    def run(image: Image | str, *flags: str, identity: bool = True) -> CliRun:
        return verify_on_stack(
            capsys, image, github_oidc, sigstore_stack, *flags, identity=identity
        )

    return run


@pytest.fixture
def pool(registry: Registry) -> Iterator[Registries]:
    """Our OCI client pool for the anonymous registry (to write referrers tags)."""
    with Registries(insecure=[registry.host], env={}) as registries:
        yield registries

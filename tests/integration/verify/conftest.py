"""Fixtures for the verify tests: one keyless signer on the local Sigstore stack per session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

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
def pool(registry: Registry) -> Iterator[Registries]:
    """Our OCI client pool for the anonymous registry (to write referrers tags)."""
    with Registries(insecure=[registry.host], env={}) as registries:
        yield registries

"""Fixtures for the gate's tests: signers on the local Sigstore stack (the policy's identity and
a look-alike), and our client pool for the anonymous registry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from shipsign.keyless.identity import parse_identity_token
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.oci import Registries
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


@pytest.fixture(scope="module")
def signer(sigstore_stack: SigstoreStack, github_oidc: GitHubOidc) -> KeylessSigner:
    """Signs as the policy's identity: acme/app's release.yml (github_oidc.san)."""
    token = parse_identity_token(github_oidc.mint(), now=datetime.now(timezone.utc))
    return KeylessSigner(load_trust(TrustOptions(trust_config=sigstore_stack.trust_config)), token)


@pytest.fixture(scope="module")
def lookalike(sigstore_stack: SigstoreStack, github_oidc: GitHubOidc) -> KeylessSigner:
    """Signs as acme/app-fork's release.yml: the same file name in a look-alike repository."""
    ref = "acme/app-fork/.github/workflows/release.yml@refs/tags/v1.2.3"
    token = parse_identity_token(
        github_oidc.mint(job_workflow_ref=ref, repository="acme/app-fork"),
        now=datetime.now(timezone.utc),
    )
    return KeylessSigner(load_trust(TrustOptions(trust_config=sigstore_stack.trust_config)), token)


@pytest.fixture
def pool(registry: Registry) -> Iterator[Registries]:
    """Our client pool for the anonymous registry (and a closed port, for unreachable tests)."""
    with Registries(insecure=[registry.host, "127.0.0.1:9"], env={}) as registries:
        yield registries

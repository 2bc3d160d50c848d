"""Fixtures every integration test directory shares: the session's Sigstore stack with its
counts reset, a fresh identity token, `$GITHUB_STEP_SUMMARY` pointed at the test's own file,
signers on the local stack (the policy's identity and a look-alike) and our client pool for the
anonymous registry. A directory's own conftest may replace one (verify's session-wide signer)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from shipsign.keyless.identity import parse_identity_token
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.oci import Registries
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


@pytest.fixture
def stack(sigstore_stack: SigstoreStack) -> Iterator[SigstoreStack]:
    """The session's Sigstore stack with its request counts reset and no faults queued."""
    sigstore_stack.clear_faults()
    sigstore_stack.reset_stats()
    yield sigstore_stack
    sigstore_stack.clear_faults()


@pytest.fixture
def token(github_oidc: GitHubOidc) -> str:
    """An identity token for acme/app's release workflow, minted for this test."""
    return github_oidc.mint()


@pytest.fixture
def summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`$GITHUB_STEP_SUMMARY` for this test (the file appears when something is written)."""
    path = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    return path


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

"""pytest fixtures for the Sigstore stack: the Fulcio/Rekor/TSA server, the GitHub Actions OIDC
endpoint and the Node verifier, each started once per session and stopped by PID at the end.

A missing Node.js or `npm ci` of tests/stack/sigstore is an error, never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stack.sigstore_stack import (
    GitHubOidc,
    NodeVerifier,
    SigstoreStack,
    start_github_oidc,
    start_sigstore_stack,
)

__all__ = [
    "github_actions_env",
    "github_oidc",
    "node_verifier",
    "sigstore_stack",
    "start_github_oidc",
    "start_sigstore_stack",
]


@pytest.fixture(scope="session")
def sigstore_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigstoreStack]:
    """Fulcio, Rekor v1 and a TSA on one port, with trusted_root/signing_config/trust_config."""
    stack = start_sigstore_stack(tmp_path_factory.mktemp("sigstore-stack"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def github_oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubOidc]:
    """The runner's token endpoint for acme/app, release.yml, refs/tags/v1.2.3."""
    oidc = start_github_oidc(tmp_path_factory.mktemp("github-oidc"))
    try:
        yield oidc
    finally:
        oidc.stop()


@pytest.fixture(scope="session")
def node_verifier(sigstore_stack: SigstoreStack) -> NodeVerifier:
    """verify.mjs on @sigstore/verify, trusting the stack's trusted root unless told otherwise."""
    return NodeVerifier(sigstore_stack.trusted_root)


@pytest.fixture
def github_actions_env(github_oidc: GitHubOidc, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set the variables of a GitHub Actions job allowed `id-token: write`, for this test."""
    env = github_oidc.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env

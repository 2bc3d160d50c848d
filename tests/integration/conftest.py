"""Fixtures every integration test directory shares: the session's Sigstore stack with its
counts reset, a fresh identity token, and `$GITHUB_STEP_SUMMARY` pointed at the test's own file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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

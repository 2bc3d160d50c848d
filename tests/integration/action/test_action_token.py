"""The Action's identity tokens: fetched from the runner's OIDC endpoint when the sign use case
asks (the first and each renewal), every one masked before it is used. A runner whose tokens
live only seconds stands in for a run that outlives its first token."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.action.runner import action_env, run_action
from shipsign.oci import Digest
from stack.oidc import WorkflowClaims
from stack.raw_registry import RawClient
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack, start_github_oidc

CERT = "POST /api/v2/signingCert"
JWT = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")


@pytest.fixture
def short_lived_oidc(tmp_path: Path) -> Iterator[GitHubOidc]:
    """A runner OIDC endpoint whose tokens expire 6 s after they are issued."""
    oidc = start_github_oidc(tmp_path / "oidc", WorkflowClaims(lifetime=6))
    yield oidc
    oidc.stop()


def test_a_token_that_expires_is_replaced_by_a_fresh_masked_one(
    registry: Registry,
    repo: str,
    sigstore_stack: SigstoreStack,
    short_lived_oidc: GitHubOidc,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    manifest = RawClient(registry, repo).push_image("v1", layer=os.urandom(64))
    inputs = {
        "command": "sign",
        "images": f"{registry.host}/{repo}@{Digest.of(manifest)}",
        "format": "legacy",
        "trust-config": str(sigstore_stack.trust_config),
        "insecure-registries": registry.host,
    }
    sigstore_stack.reset_stats()
    env = action_env(tmp_path / "run", inputs, **short_lived_oidc.env())
    run = run_action(monkeypatch, capsys, env)
    # The first token is within seconds of expiry when the certificate is requested, so the
    # signer asks the Action for another; an explicit token would have failed the run here.
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["verified"] == "true"
    tokens = [m for m in run.masks() if JWT.match(m)]
    assert len(tokens) == 2, "the first token and its renewal, each masked"
    assert len(set(tokens)) == 2
    assert sigstore_stack.requests(CERT) == 1
    run.assert_masked(tokens)
    run.assert_hidden([short_lived_oidc.request_token])

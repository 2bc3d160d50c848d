"""The identity token from a GitHub Actions job, fetched by `id` from the stack's OIDC endpoint:
what shipsign reads from it, and how a refused or unreachable endpoint is reported."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shipsign.errors import InputError, UnreachableError
from shipsign.keyless.identity import resolve_identity_token
from stack.process import free_port
from stack.sigstore_stack import GitHubOidc


def test_ambient_token_carries_the_workflow_identity(
    github_oidc: GitHubOidc, github_actions_env: dict[str, str]
) -> None:
    now = datetime.now(timezone.utc)
    token = resolve_identity_token(None, now=now)
    assert token.identity == github_oidc.san
    assert token.issuer == github_oidc.issuer
    assert token.subject == "repo:acme/app:ref:refs/tags/v1.2.3"
    assert token.source == "ambient credential"
    assert now < token.expires <= now + timedelta(seconds=github_oidc.workflow.lifetime + 5)
    assert token.token.reveal() not in repr(token)
    assert token.to_sigstore().identity == "repo:acme/app:ref:refs/tags/v1.2.3"


def test_a_refused_request_token_is_an_input_error(
    github_actions_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "stale-token")
    with pytest.raises(InputError, match="could not get an OIDC token") as caught:
        resolve_identity_token(None, now=datetime.now(timezone.utc))
    assert "code=403" in caught.value.found


def test_an_unreachable_token_endpoint_is_an_unreachable_error(
    github_actions_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/idtoken?api-version=2.0"
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", nobody)
    with pytest.raises(UnreachableError, match="could not get an OIDC token") as caught:
        resolve_identity_token(None, now=datetime.now(timezone.utc))
    assert "timed out" in caught.value.found

"""Identity tokens: what shipsign reads from the claims, and how `id`'s failures and a missing
token become InputErrors with a hint. No sockets: `id` fails before any request here."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest

from shipsign.errors import InputError
from shipsign.keyless.identity import (
    GITHUB_ISSUER,
    parse_identity_token,
    resolve_identity_token,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=timezone.utc)
WORKFLOW_REF = "acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
AMBIENT = ("GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "GOOGLE_SERVICE_ACCOUNT_NAME")


def _token(now: datetime = NOW, **claims: Any) -> str:
    body: dict[str, Any] = {
        "iss": GITHUB_ISSUER,
        "aud": "sigstore",
        "sub": "repo:acme/app:ref:refs/tags/v1.2.3",
        "job_workflow_ref": WORKFLOW_REF,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()) - 5,
        "exp": int(now.timestamp()) + 300,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    # The signature is never checked client side (Fulcio checks it); any key will do.
    return jwt.encode(body, "k" * 32, algorithm="HS256")


def test_github_token_identity_is_the_workflow_uri() -> None:
    raw = _token()
    token = parse_identity_token(raw, now=NOW)
    assert token.identity == f"https://github.com/{WORKFLOW_REF}"
    assert token.issuer == GITHUB_ISSUER
    assert token.subject == "repo:acme/app:ref:refs/tags/v1.2.3"
    assert token.expires == NOW + timedelta(seconds=300)
    assert token.token.reveal() == raw
    assert raw not in repr(token)
    assert raw not in str(token)


@pytest.mark.parametrize(
    ("claims", "identity"),
    [
        ({"iss": "https://accounts.google.com", "email": "dev@example.com"}, "dev@example.com"),
        ({"iss": "https://oidc.example.com", "sub": "robot-7"}, "robot-7"),
        ({"aud": ["other", "sigstore"]}, f"https://github.com/{WORKFLOW_REF}"),
    ],
)
def test_identity_follows_the_issuer(claims: dict[str, Any], identity: str) -> None:
    assert parse_identity_token(_token(**claims), now=NOW).identity == identity


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        ("not-a-jwt", "not a JWT"),
        (_token(aud="other"), "another audience"),
        (_token(exp=int((NOW - timedelta(seconds=1)).timestamp())), "expired"),
        (_token(nbf=int((NOW + timedelta(minutes=5)).timestamp())), "not valid yet"),
        (_token(job_workflow_ref=None), "'job_workflow_ref'"),
        (_token(exp=None), "'exp'"),
    ],
)
def test_unusable_tokens_are_input_errors(raw: str, what: str) -> None:
    with pytest.raises(InputError, match=what) as caught:
        parse_identity_token(raw, now=NOW, source="--identity-token")
    assert caught.value.where == "--identity-token"
    assert raw not in str(caught.value.details())


def test_expiry_is_judged_at_the_given_time() -> None:
    raw = _token()
    later = NOW + timedelta(minutes=10)
    with pytest.raises(InputError, match="expired") as caught:
        parse_identity_token(raw, now=later)
    assert caught.value.found == "expired at 2026-05-01T12:05:00+00:00"


def test_explicit_token_wins_without_looking_around(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", raising=False)
    token = resolve_identity_token(_token(), now=NOW)
    assert token.source == "given token"


def test_missing_id_token_permission_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", raising=False)
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    with pytest.raises(InputError, match="may not request an OIDC token") as caught:
        resolve_identity_token(None, now=NOW)
    assert "permissions: id-token: write" in caught.value.hint
    assert "ACTIONS_ID_TOKEN_REQUEST_TOKEN" in caught.value.found


def test_no_token_anywhere_names_what_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AMBIENT:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InputError, match="no OIDC identity token found") as caught:
        resolve_identity_token("", now=NOW)
    for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "GITLAB_CI"):
        assert name in caught.value.found


# Tokens of the CI providers `id` finds, shaped as Fulcio's public-good config reads them
# (config/identity/config.yaml, subject-alternative-name-template of each ci-provider).
GITLAB = {
    "iss": "https://gitlab.com",
    "sub": "project_path:acme/app:ref_type:tag:ref:v1.2.3",
    "ci_config_ref_uri": "gitlab.com/acme/app//.gitlab-ci.yml@refs/tags/v1.2.3",
    "job_workflow_ref": None,
}
BUILDKITE = {
    "iss": "https://agent.buildkite.com",
    "sub": "organization:acme:pipeline:app:ref:refs/tags/v1.2.3:commit:0123abc:step:",
    "organization_slug": "acme",
    "pipeline_slug": "app",
    "job_workflow_ref": None,
}
CIRCLECI = {
    "iss": "https://oidc.circleci.com/org/4f2c1d9e-0a6b-4c57-9b61-2f0a3e6d8c11",
    "sub": "org/4f2c1d9e/project/7a1e/user/93bd",
    "oidc.circleci.com/project-id": "7a1e5b0c-3d2f-4e8a-b6c9-0d1e2f3a4b5c",
    "oidc.circleci.com/pipeline-definition-id": "c0ffee00-1111-4222-8333-944455556666",
    "job_workflow_ref": None,
}


CIRCLECI_SAN = (
    "https://circleci.com/api/v2/projects/7a1e5b0c-3d2f-4e8a-b6c9-0d1e2f3a4b5c"
    "/pipeline-definitions/c0ffee00-1111-4222-8333-944455556666"
)
GITLAB_SAN = "https://gitlab.com/acme/app//.gitlab-ci.yml@refs/tags/v1.2.3"


@pytest.mark.parametrize(
    ("claims", "identity"),
    [
        (GITLAB, GITLAB_SAN),
        (
            {
                **GITLAB,
                "iss": "https://gitlab.archlinux.org",
                "ci_config_ref_uri": "gitlab.archlinux.org/arch/app//ci.yml@refs/heads/main",
            },
            "https://gitlab.archlinux.org/arch/app//ci.yml@refs/heads/main",
        ),
        (BUILDKITE, "https://buildkite.com/acme/app"),
        (CIRCLECI, CIRCLECI_SAN),
        ({**CIRCLECI, "iss": "https://oidc.circleci.com"}, CIRCLECI_SAN),
        ({"iss": f"{GITHUB_ISSUER}/acme-enterprise"}, f"https://github.com/{WORKFLOW_REF}"),
    ],
    ids=["gitlab", "gitlab-other-host", "buildkite", "circleci-org", "circleci", "github-ghes"],
)
def test_ci_providers_identity_is_fulcios_san(claims: dict[str, Any], identity: str) -> None:
    """What Fulcio certifies, so that a rerun recognises this identity's signature."""
    assert parse_identity_token(_token(**claims), now=NOW).identity == identity


@pytest.mark.parametrize(
    "claims",
    [
        {**GITLAB, "ci_config_ref_uri": None},
        {**BUILDKITE, "pipeline_slug": None},
        {**CIRCLECI, "oidc.circleci.com/pipeline-definition-id": None},
        {**GITLAB, "iss": "https://gitlab.example.com"},  # not in Fulcio's public-good config
        {**CIRCLECI, "iss": "https://oidc.circleci.com/org/a/b"},  # not its meta-issuer
    ],
    ids=[
        "gitlab-no-config-ref",
        "buildkite-no-pipeline",
        "circleci-no-definition",
        "unknown-gitlab",
        "circleci-bad-org",
    ],
)
def test_without_the_templates_claims_the_identity_is_sub(claims: dict[str, Any]) -> None:
    assert parse_identity_token(_token(**claims), now=NOW).identity == claims["sub"]

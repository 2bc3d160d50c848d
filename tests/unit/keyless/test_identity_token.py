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

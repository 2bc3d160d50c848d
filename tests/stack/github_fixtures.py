"""pytest fixtures for the fake GitHub API: a fresh server per test (it starts in milliseconds,
and a fresh one cannot carry another test's faults or releases), with `acme/app` in it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stack.github_api import FakeGitHub

__all__ = ["fake_github", "github_env"]

REPOSITORY = "acme/app"


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A started fake GitHub holding the public repository `acme/app`; stopped after the test."""
    with FakeGitHub() as fake:
        fake.add_repo(REPOSITORY)
        yield fake


@pytest.fixture
def github_env(fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Set a job's GITHUB_API_URL, GITHUB_REPOSITORY and GITHUB_TOKEN (contents: write)."""
    env = {
        "GITHUB_API_URL": fake_github.api_url,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN": fake_github.add_token(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env

"""Fixtures for the release client tests: a `GitHubRepo` on the fake GitHub whose waits are
recorded instead of slept, and small files to upload."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shipsign.release import AssetFile, GitHubRepo, GitHubSettings
from shipsign.retry import RetryPolicy
from shipsign.secret import Secret
from stack.github_api import FakeGitHub

REPOSITORY = "acme/app"


@pytest.fixture
def waits() -> list[float]:
    """Every wait the client asked for, in order (nothing really sleeps)."""
    return []


@pytest.fixture
def connect(fake_github: FakeGitHub, waits: list[float]) -> Iterator[Callable[..., GitHubRepo]]:
    """Open `acme/app` on the fake with a given token (default: one with contents: write)."""
    opened: list[GitHubRepo] = []

    def _connect(token: str | None = None, **options: object) -> GitHubRepo:
        settings = GitHubSettings(
            token=Secret(token or fake_github.add_token()),
            api_url=fake_github.api_url,
            retry=RetryPolicy(attempts=4, base=0.5, cap=4.0, deadline=60.0),
            seconds_between_writes=None,  # PyGithub's own sleep cannot be injected
            sleep=waits.append,
            **options,  # type: ignore[arg-type]
        )
        repo = GitHubRepo(settings, REPOSITORY)
        opened.append(repo)
        return repo

    yield _connect
    for repo in opened:
        repo.close()


@pytest.fixture
def gh(connect: Callable[..., GitHubRepo]) -> GitHubRepo:
    return connect()


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, bytes], AssetFile]:
    def _make(name: str, content: bytes) -> AssetFile:
        path = tmp_path / name
        path.write_bytes(content)
        return AssetFile(path=path, name=name, content_type="application/json")

    return _make

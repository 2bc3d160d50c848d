"""One repository on GitHub through PyGithub: settings, the configured client, rate limits and
GitHub's failures as shipsign errors. Release files and the pull-request gate both build on it."""

from __future__ import annotations

from shipsign.github_api.connection import (
    DEFAULT_API_URL,
    GitHubRepo,
    GitHubSettings,
    github_errors,
    load_token,
    parse_repository,
    translate,
)
from shipsign.github_api.errors import GitHubError, UploadIncomplete

__all__ = [
    "DEFAULT_API_URL",
    "GitHubError",
    "GitHubRepo",
    "GitHubSettings",
    "UploadIncomplete",
    "github_errors",
    "load_token",
    "parse_repository",
    "translate",
]

"""Release files on GitHub: find or make the release, put assets on it idempotently, stream
them back. The one place besides `gate` that talks to GitHub (through PyGithub)."""

from __future__ import annotations

from shipsign.github_api.connection import (
    DEFAULT_API_URL,
    GitHubRepo,
    GitHubSettings,
    load_token,
    parse_repository,
)
from shipsign.github_api.errors import GitHubError, UploadIncomplete
from shipsign.release.download import BUNDLE_LIMIT, read_asset, stream_asset
from shipsign.release.model import (
    Asset,
    AssetFile,
    AssetResult,
    Downloaded,
    Outcome,
    Release,
    UploadReport,
)
from shipsign.release.releases import (
    create_draft_release,
    delete_asset,
    fetch_assets,
    find_release,
    open_release,
)
from shipsign.release.upload import digest_file, upload_assets

__all__ = [
    "BUNDLE_LIMIT",
    "DEFAULT_API_URL",
    "Asset",
    "AssetFile",
    "AssetResult",
    "Downloaded",
    "GitHubError",
    "GitHubRepo",
    "GitHubSettings",
    "Outcome",
    "Release",
    "UploadIncomplete",
    "UploadReport",
    "create_draft_release",
    "delete_asset",
    "digest_file",
    "fetch_assets",
    "find_release",
    "load_token",
    "open_release",
    "parse_repository",
    "read_asset",
    "stream_asset",
    "upload_assets",
]

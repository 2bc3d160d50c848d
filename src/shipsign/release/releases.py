"""Finding a release by tag (drafts included), making a draft, and listing its assets.

GitHub's tag endpoint shows only published releases, so a draft is found by listing (newest
first; a token needs push access to see drafts). An immutable release cannot take assets: that
is found here, before anything is signed.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import github
from github.GithubObject import GithubObject
from github.GitRelease import GitRelease
from github.GitReleaseAsset import GitReleaseAsset

from shipsign.errors import InputError
from shipsign.github_api.connection import GitHubRepo, github_errors
from shipsign.release.model import Asset, Release

__all__ = [
    "asset_from",
    "create_draft_release",
    "delete_asset",
    "fetch_assets",
    "find_release",
    "immutable_error",
    "is_immutable_refusal",
    "open_release",
]

_log = logging.getLogger(__name__)
_CONTENTS_READ = "contents: read"
_CONTENTS_WRITE = "contents: write"
_PLAIN_RAW_DATA: property = vars(GithubObject)["raw_data"]


def _attributes(obj: GithubObject) -> dict[str, Any]:
    """The JSON GitHub sent for `obj`. GithubObject's `raw_data`, not the override of
    CompletableGithubObject, which GETs a listed object again when an attribute is absent
    (`digest` on older GHES): one request per asset for nothing."""
    getter = _PLAIN_RAW_DATA.fget
    data = getter(obj) if getter is not None else None
    return data if isinstance(data, dict) else {}


def _release(raw: GitRelease) -> Release:
    doc = _attributes(raw)
    return Release(
        id=int(doc.get("id") or raw.id),
        tag=str(doc.get("tag_name") or ""),
        draft=doc.get("draft") is True,
        immutable=doc.get("immutable") is True,
        html_url=str(doc.get("html_url") or ""),
    )


def asset_from(raw: GitReleaseAsset) -> Asset:
    """Our value for PyGithub's asset (no request)."""
    doc = _attributes(raw)
    digest = doc.get("digest")
    sha256 = None
    if isinstance(digest, str) and re.fullmatch(r"sha256:[0-9a-fA-F]{64}", digest):
        sha256 = digest.removeprefix("sha256:").lower()
    return Asset(
        id=int(doc.get("id") or raw.id),
        name=str(doc.get("name") or ""),
        size=int(doc.get("size") or 0),
        state=str(doc.get("state") or ""),
        content_type=str(doc.get("content_type") or ""),
        url=str(doc.get("url") or ""),
        sha256=sha256,
    )


def find_release(repo: GitHubRepo, tag: str) -> Release | None:
    """The release for `tag`, published or draft; None if there is none (network: 1+ GETs)."""
    where = f"{repo.full_name} release {tag}"
    try:
        with github_errors("read a release", where=where, permission=_CONTENTS_READ):
            raw = repo.api.get_release(tag)
    except InputError:
        raw = None  # 404: not published; it may be a draft
    if raw is None:
        with github_errors("list releases", where=where, permission=_CONTENTS_READ):
            raw = next((r for r in repo.api.get_releases() if r.tag_name == tag), None)
    if raw is None:
        return None
    repo.remember(raw)
    return _release(raw)


def create_draft_release(repo: GitHubRepo, tag: str, *, name: str = "") -> Release:
    """Make a draft release for `tag` (network: 1 POST)."""
    where = f"{repo.full_name} release {tag}"
    with github_errors("create a draft release", where=where, permission=_CONTENTS_WRITE):
        raw = repo.api.create_git_release(tag, name=name or tag, message="", draft=True)
    _log.debug("created draft release %s (%d) in %s", tag, raw.id, repo.full_name)
    repo.remember(raw)
    return _release(raw)


def immutable_error(repository: str, release: Release) -> InputError:
    """The error for a release that cannot take new assets."""
    return InputError(
        f"release {release.tag} of {repository} is immutable: it cannot take new assets",
        where=release.html_url,
        hint="upload while the release is a draft, and publish it afterwards "
        "(create it as a draft, e.g. with --create-release)",
    )


def open_release(repo: GitHubRepo, tag: str, *, create: bool = False) -> Release:
    """The release for `tag`, ready to take assets; with `create`, a new draft if none exists.

    Call it before signing: raises `InputError` when there is no release (and not `create`),
    or when the release is immutable.
    """
    release = find_release(repo, tag)
    if release is None and create:
        release = create_draft_release(repo, tag)
    if release is None:
        raise InputError(
            f"no release for tag {tag} in {repo.full_name}",
            hint="create it first (a draft, so that assets can be added), or pass "
            "--create-release; a draft is only visible to a token with `contents: write`",
        )
    if release.immutable:
        raise immutable_error(repo.full_name, release)
    return release


def fetch_assets(repo: GitHubRepo, release: Release) -> tuple[Asset, ...]:
    """Every asset of `release`, in any state (network: 1 GET per 100 assets)."""
    raw = repo.git_release(release.id)
    where = f"{repo.full_name} release {release.tag}"
    with github_errors("list release assets", where=where, permission=_CONTENTS_READ):
        return tuple(asset_from(a) for a in raw.get_assets())


def delete_asset(repo: GitHubRepo, release: Release, asset: Asset) -> None:
    """Delete an asset (network: 1 DELETE). A 404 means it is gone already: fine."""
    where = f"{repo.full_name} release {release.tag} asset {asset.name}"
    try:
        with github_errors("delete a release asset", where=where, permission=_CONTENTS_WRITE):
            repo.api.get_release_asset(asset.id).delete_asset()
    except InputError:
        _log.debug("asset %s (%d) was already gone", asset.name, asset.id)


def is_immutable_refusal(exc: github.GithubException) -> bool:
    """Whether a 422 says the release is immutable."""
    data = exc.data if isinstance(exc.data, dict) else {}
    return exc.status == 422 and "immutable" in str(data.get("message", "")).lower()

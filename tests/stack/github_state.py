"""What the fake GitHub API holds (repositories, releases, assets, pull requests, check runs,
comments) and how each object looks as GitHub's REST API renders it.

Plain data guarded by the server's lock; `github_api.py` does the HTTP. Every URL is absolute on
the fake's own host, GHES style: the API under `/api/v3`, uploads under `/api/uploads`.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "Asset",
    "CheckRun",
    "Comment",
    "Generated",
    "PullRequest",
    "Release",
    "Repo",
    "State",
]

_BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
_BLOCK = 64 * 1024


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(kind: str, number: int) -> str:
    return f"{kind}_kwDO{number:08d}"


@dataclass(frozen=True, slots=True)
class Generated:
    """Content made on the fly: `size` bytes of a 64 KiB random block repeated (never stored)."""

    size: int
    block: bytes = field(default_factory=lambda: os.urandom(_BLOCK), repr=False)

    def chunks(self) -> Iterator[bytes]:
        left = self.size
        while left > 0:
            piece = self.block[: min(left, _BLOCK)]
            left -= len(piece)
            yield piece

    def sha256(self) -> str:
        h = hashlib.sha256()
        for piece in self.chunks():
            h.update(piece)
        return h.hexdigest()


@dataclass(kw_only=True)
class Asset:
    id: int
    name: str
    label: str = ""
    content_type: str = "application/octet-stream"
    state: str = "uploaded"
    content: bytes | Generated = b""
    sha256: str = ""
    created_at: str = field(default_factory=_now)

    @property
    def size(self) -> int:
        return self.content.size if isinstance(self.content, Generated) else len(self.content)

    def chunks(self) -> Iterator[bytes]:
        if isinstance(self.content, Generated):
            yield from self.content.chunks()
        else:
            yield self.content


@dataclass(kw_only=True)
class Release:
    id: int
    tag_name: str
    name: str = ""
    body: str = ""
    draft: bool = False
    prerelease: bool = False
    immutable: bool = False
    target_commitish: str = "main"
    assets: list[Asset] = field(default_factory=list)
    created_at: str = field(default_factory=_now)
    published_at: str | None = None


@dataclass(kw_only=True)
class PullRequest:
    number: int
    head_sha: str
    head_ref: str = "feature"
    base_sha: str = "0" * 40
    base_ref: str = "main"
    head_repo: str = ""  # full name of the head repository; a fork's differs from the base's
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass(kw_only=True)
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    details_url: str | None = None
    external_id: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    started_at: str | None = None
    completed_at: str | None = None


@dataclass(kw_only=True)
class Comment:
    id: int
    issue: int
    body: str
    user: dict[str, Any] = field(default_factory=lambda: dict(_BOT))
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)


@dataclass(kw_only=True)
class Repo:
    id: int
    owner: str
    name: str
    immutable_releases: bool = False  # the repository setting: publishing makes a release immutable
    releases: list[Release] = field(default_factory=list)
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    check_runs: list[CheckRun] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


class State:
    """Every object the fake holds, and their JSON. Not thread-safe: the server holds its lock."""

    def __init__(self, base: str) -> None:
        self.base = base  # http://127.0.0.1:PORT
        self.api = f"{base}/api/v3"
        self.repos: dict[str, Repo] = {}
        self._ids = itertools.count(1001)
        self.digests = True  # render `digest` on assets (newer GitHub); False: as older GHES

    def next_id(self) -> int:
        return next(self._ids)

    # lookups -----------------------------------------------------------------------------------
    def repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def add_repo(self, full_name: str) -> Repo:
        owner, _, name = full_name.partition("/")
        repo = Repo(id=self.next_id(), owner=owner, name=name)
        self.repos[full_name.lower()] = repo
        return repo

    @staticmethod
    def release(repo: Repo, release_id: int) -> Release | None:
        return next((r for r in repo.releases if r.id == release_id), None)

    @staticmethod
    def asset(repo: Repo, asset_id: int) -> tuple[Release, Asset] | None:
        for rel in repo.releases:
            for asset in rel.assets:
                if asset.id == asset_id:
                    return rel, asset
        return None

    # JSON --------------------------------------------------------------------------------------
    def repo_url(self, repo: Repo) -> str:
        return f"{self.api}/repos/{repo.full_name}"

    def repo_json(self, repo: Repo, *, push: bool) -> dict[str, Any]:
        url = self.repo_url(repo)
        return {
            "id": repo.id,
            "node_id": _node_id("R", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": {"login": repo.owner, "id": 4005006, "type": "Organization"},
            "html_url": f"{self.base}/{repo.full_name}",
            "url": url,
            "releases_url": f"{url}/releases{{/id}}",
            "default_branch": "main",
            "permissions": {"admin": False, "maintain": False, "push": push, "triage": push,
                            "pull": True},
        }  # fmt: skip

    def asset_json(self, repo: Repo, release: Release, asset: Asset) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "url": f"{self.repo_url(repo)}/releases/assets/{asset.id}",
            "browser_download_url": (
                f"{self.base}/{repo.full_name}/releases/download/{release.tag_name}/{asset.name}"
            ),
            "id": asset.id,
            "node_id": _node_id("RA", asset.id),
            "name": asset.name,
            "label": asset.label,
            "state": asset.state,
            "content_type": asset.content_type,
            "size": asset.size if asset.state == "uploaded" else 0,
            "download_count": 0,
            "created_at": asset.created_at,
            "updated_at": asset.created_at,
            "uploader": dict(_BOT),
        }
        if self.digests:
            ready = asset.state == "uploaded" and asset.sha256
            doc["digest"] = f"sha256:{asset.sha256}" if ready else None
        return doc

    def release_json(self, repo: Repo, release: Release) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/releases/{release.id}"
        upload = f"{self.base}/api/uploads/repos/{repo.full_name}/releases/{release.id}/assets"
        tag_path = release.tag_name if not release.draft else f"untagged-{release.id:x}"
        return {
            "url": url,
            "html_url": f"{self.base}/{repo.full_name}/releases/tag/{tag_path}",
            "assets_url": f"{url}/assets",
            "upload_url": upload + "{?name,label}",
            "tarball_url": f"{self.repo_url(repo)}/tarball/{release.tag_name}",
            "zipball_url": f"{self.repo_url(repo)}/zipball/{release.tag_name}",
            "id": release.id,
            "node_id": _node_id("RE", release.id),
            "tag_name": release.tag_name,
            "target_commitish": release.target_commitish,
            "name": release.name or release.tag_name,
            "body": release.body,
            "draft": release.draft,
            "prerelease": release.prerelease,
            "immutable": release.immutable,
            "created_at": release.created_at,
            "published_at": release.published_at,
            "author": dict(_BOT),
            "assets": [self.asset_json(repo, release, a) for a in release.assets],
        }

    def pull_json(self, repo: Repo, pull: PullRequest) -> dict[str, Any]:
        url = f"{self.repo_url(repo)}/pulls/{pull.number}"
        head_repo = pull.head_repo or repo.full_name
        return {
            "url": url,
            "id": pull.number + 500000,
            "node_id": _node_id("PR", pull.number),
            "number": pull.number,
            "state": "open",
            "title": f"Change {pull.number}",
            "html_url": f"{self.base}/{repo.full_name}/pull/{pull.number}",
            "issue_url": f"{self.repo_url(repo)}/issues/{pull.number}",
            "comments_url": f"{self.repo_url(repo)}/issues/{pull.number}/comments",
            "head": {"sha": pull.head_sha, "ref": pull.head_ref, "label": f"x:{pull.head_ref}",
                     "repo": {"full_name": head_repo, "url": f"{self.api}/repos/{head_repo}"}},
            "base": {"sha": pull.base_sha, "ref": pull.base_ref, "label": f"x:{pull.base_ref}",
                     "repo": {"full_name": repo.full_name, "url": self.repo_url(repo)}},
            "user": {"login": "octocat", "id": 583231, "type": "User"},
            "draft": False,
            "changed_files": len(pull.files),
        }  # fmt: skip

    def check_run_json(self, repo: Repo, run: CheckRun) -> dict[str, Any]:
        out = run.output
        return {
            "id": run.id,
            "node_id": _node_id("CR", run.id),
            "url": f"{self.repo_url(repo)}/check-runs/{run.id}",
            "html_url": f"{self.base}/{repo.full_name}/runs/{run.id}",
            "name": run.name,
            "head_sha": run.head_sha,
            "status": run.status,
            "conclusion": run.conclusion,
            "details_url": run.details_url,
            "external_id": run.external_id,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "output": {
                "title": out.get("title"),
                "summary": out.get("summary"),
                "text": out.get("text"),
                "annotations_count": len(run.annotations),
                "annotations_url": f"{self.repo_url(repo)}/check-runs/{run.id}/annotations",
            },
            "app": {"slug": "github-actions", "id": 15368},
        }

    def comment_json(self, repo: Repo, comment: Comment) -> dict[str, Any]:
        return {
            "id": comment.id,
            "node_id": _node_id("IC", comment.id),
            "url": f"{self.repo_url(repo)}/issues/comments/{comment.id}",
            "html_url": (
                f"{self.base}/{repo.full_name}/pull/{comment.issue}#issuecomment-{comment.id}"
            ),
            "issue_url": f"{self.repo_url(repo)}/issues/{comment.issue}",
            "body": comment.body,
            "user": comment.user,
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
        }

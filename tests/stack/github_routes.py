"""The endpoints of the fake GitHub API: one function per route, each given the parsed request
and the state (under the server's lock) and returning the answer. Auth, faults and recording
are `github_api.py`'s; permission checks are declared in `ROUTES`.

Only what PyGithub calls for release files (issue 14) and the PR gate (issue 16) is here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from stack.github_state import Asset, CheckRun, Comment, Release, Repo, State

__all__ = [
    "ROUTES",
    "UPLOAD",
    "Answer",
    "Call",
    "Route",
    "error_body",
    "publish",
    "validation_failed",
]

DOCS = "https://docs.github.com/rest"
MAX_FILES = 3000  # GitHub lists at most 3000 files of a pull request
MAX_ANNOTATIONS = 50  # per check-run request
MAX_TEXT = 65535  # check-run summary/text
MAX_COMMENT = 65536


@dataclass
class Call:
    """One parsed request, as a route sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    can_write: bool  # the token may write contents (sees drafts)

    def arg(self, name: str, default: str = "") -> str:
        return self.query.get(name, [default])[0]

    def json(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.body or b"{}")
        except ValueError:
            doc = None
        return doc if isinstance(doc, dict) else {}


@dataclass
class Answer:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


def error_body(message: str, status: int, docs: str = DOCS) -> dict[str, Any]:
    """GitHub's error document (recent API versions add the status as a string)."""
    return {"message": message, "documentation_url": docs, "status": str(status)}


def validation_failed(errors: list[dict[str, Any]], docs: str = DOCS) -> Answer:
    body = {**error_body("Validation Failed", 422, docs), "errors": errors}
    return Answer(422, body)


def _invalid(resource: str, code: str, name: str, message: str = "", *, docs: str = DOCS) -> Answer:
    error = {"resource": resource, "code": code, "field": name}
    if message:
        error["message"] = message
    return validation_failed([error], docs)


def _not_found() -> Answer:
    return Answer(404, error_body("Not Found", 404))


def _paginate(state: State, call: Call, items: list[Any], max_per_page: int) -> Answer:
    """One page of `items`, with the Link header GitHub sends (absolute URLs on our host)."""
    per_page = max(1, min(int(call.arg("per_page", "30") or 30), max_per_page))
    page = max(1, int(call.arg("page", "1") or 1))
    last = max(1, -(-len(items) // per_page))
    links = []
    for rel, number in (("prev", page - 1), ("next", page + 1), ("first", 1), ("last", last)):
        if (
            (rel == "prev" and page > 1)
            or (rel == "next" and page < last)
            or (rel in ("first", "last") and last > 1)
        ):
            query = urlencode({"per_page": per_page, "page": number})
            links.append(f'<{state.base}{call.path}?{query}>; rel="{rel}"')
    headers = {"Link": ", ".join(links)} if links else {}
    return Answer(200, items[(page - 1) * per_page : page * per_page], headers)


# Route functions get (state, call, repo, groups, max_per_page).
Handler = Callable[[State, Call, Repo, tuple[str, ...], int], Answer]


def _get_repo(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    return Answer(200, state.repo_json(repo, push=call.can_write))


def _visible(call: Call, release: Release) -> bool:
    return call.can_write or not release.draft


def _list_releases(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    shown = [state.release_json(repo, r) for r in reversed(repo.releases) if _visible(call, r)]
    return _paginate(state, call, shown, n)


def _release_by_tag(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    # GitHub: "Get a published release with the specified tag"; drafts are never found here.
    found = [r for r in repo.releases if r.tag_name == g[0] and not r.draft]
    return Answer(200, state.release_json(repo, found[-1])) if found else _not_found()


def _release_by_id(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    rel = state.release(repo, int(g[0]))
    if rel is None or not _visible(call, rel):
        return _not_found()
    return Answer(200, state.release_json(repo, rel))


def _create_release(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    doc = call.json()
    tag = doc.get("tag_name")
    if not isinstance(tag, str) or not tag:
        return _invalid("Release", "missing_field", "tag_name")
    draft = bool(doc.get("draft", False))
    if not draft and any(r.tag_name == tag and not r.draft for r in repo.releases):
        return _invalid("Release", "already_exists", "tag_name")
    rel = Release(
        id=state.next_id(),
        tag_name=tag,
        name=str(doc.get("name") or ""),
        body=str(doc.get("body") or ""),
        draft=draft,
        prerelease=bool(doc.get("prerelease", False)),
        target_commitish=str(doc.get("target_commitish") or "main"),
    )
    if not draft:
        publish(repo, rel)
    repo.releases.append(rel)
    return Answer(201, state.release_json(repo, rel))


def publish(repo: Repo, rel: Release) -> None:
    rel.draft = False
    rel.published_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rel.immutable = repo.immutable_releases


def _edit_release(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    rel = state.release(repo, int(g[0]))
    if rel is None:
        return _not_found()
    doc = call.json()
    for key in ("name", "body", "tag_name", "target_commitish"):
        if isinstance(doc.get(key), str):
            setattr(rel, key, doc[key])
    if "prerelease" in doc:
        rel.prerelease = bool(doc["prerelease"])
    if doc.get("draft") is False and rel.draft:
        publish(repo, rel)
    return Answer(200, state.release_json(repo, rel))


def _list_assets(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    rel = state.release(repo, int(g[0]))
    if rel is None or not _visible(call, rel):
        return _not_found()
    return _paginate(state, call, [state.asset_json(repo, rel, a) for a in rel.assets], n)


def _get_asset(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    found = state.asset(repo, int(g[0]))
    if found is None or not _visible(call, found[0]):
        return _not_found()
    rel, asset = found
    if "application/octet-stream" in call.headers.get("accept", ""):
        # As GitHub: a redirect to storage, signed in the query; storage wants no token.
        return Answer(302, b"", {"Location": storage_url(state, asset)})
    return Answer(200, state.asset_json(repo, rel, asset))


def storage_url(state: State, asset: Asset) -> str:
    return f"{state.base}/_storage/{asset.id}/{asset.name}?X-Sig={storage_signature(asset.id)}"


def storage_signature(asset_id: int) -> str:
    return hashlib.sha256(f"fake-storage-{asset_id}".encode()).hexdigest()[:32]


IMMUTABLE_UPLOAD = "Cannot upload assets to an immutable release."
# Not checked against GitHub; shaped like the upload refusal above.
IMMUTABLE_DELETE = "Cannot delete assets from an immutable release."
UPLOAD_DOCS = "https://docs.github.com/rest/releases/assets#upload-a-release-asset"


def _delete_asset(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    found = state.asset(repo, int(g[0]))
    if found is None:
        return _not_found()
    rel, asset = found
    if rel.immutable:
        return Answer(422, error_body(IMMUTABLE_DELETE, 422))
    rel.assets.remove(asset)
    return Answer(204, b"")


def upload(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    rel = state.release(repo, int(g[0]))
    if rel is None:
        return _not_found()
    name = call.arg("name")
    if rel.immutable:
        return Answer(422, error_body(IMMUTABLE_UPLOAD, 422))
    if not name:
        return _invalid("ReleaseAsset", "missing_field", "name", docs=UPLOAD_DOCS)
    if any(a.name == name for a in rel.assets):
        return _invalid("ReleaseAsset", "already_exists", "name", docs=UPLOAD_DOCS)
    asset = Asset(
        id=state.next_id(),
        name=name,
        label=call.arg("label"),
        content_type=call.headers.get("content-type", "application/octet-stream"),
        content=call.body,
        sha256=hashlib.sha256(call.body).hexdigest(),
    )
    rel.assets.append(asset)
    return Answer(201, state.asset_json(repo, rel, asset))


def _get_pull(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    pull = repo.pulls.get(int(g[0]))
    return Answer(200, state.pull_json(repo, pull)) if pull else _not_found()


def _pull_files(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    pull = repo.pulls.get(int(g[0]))
    if pull is None:
        return _not_found()
    return _paginate(state, call, pull.files[:MAX_FILES], n)


def _apply_output(run: CheckRun, output: Any) -> Answer | None:
    """Replace the output (a PATCH replaces it whole) and append annotations; None when valid."""
    if not isinstance(output, dict):
        return None
    annotations = output.get("annotations") or []
    if len(annotations) > MAX_ANNOTATIONS:
        return _invalid(
            "CheckRun", "custom", "annotations", "Only 50 annotations are allowed per request"
        )
    for key in ("summary", "text"):
        value = str(output.get(key) or "")
        # GitHub counts the summary's UTF-8 bytes ("maximum bytesize"); the text's characters.
        if (len(value.encode()) if key == "summary" else len(value)) > MAX_TEXT:
            return _invalid("CheckRun", "custom", key, f"{key} exceeds a maximum bytesize of 65535")
    run.output = {k: output.get(k) for k in ("title", "summary", "text")}
    run.annotations.extend(annotations)
    return None


def _set_run_fields(run: CheckRun, doc: dict[str, Any]) -> Answer | None:
    for key in ("name", "status", "conclusion", "details_url", "external_id", "started_at",
                "completed_at"):  # fmt: skip
        if key in doc:
            setattr(run, key, doc[key])
    if run.conclusion is not None:
        run.status = "completed"
    if run.status == "completed" and run.conclusion is None:
        return _invalid("CheckRun", "missing_field", "conclusion")
    return _apply_output(run, doc.get("output"))


def _create_check_run(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    doc = call.json()
    if not doc.get("name") or not doc.get("head_sha"):
        return _invalid("CheckRun", "missing_field", "name" if not doc.get("name") else "head_sha")
    run = CheckRun(id=state.next_id(), name=str(doc["name"]), head_sha=str(doc["head_sha"]))
    refused = _set_run_fields(run, doc)
    if refused is not None:
        return refused
    repo.check_runs.append(run)
    return Answer(201, state.check_run_json(repo, run))


def _check_run(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    run = next((r for r in repo.check_runs if r.id == int(g[0])), None)
    if run is None:
        return _not_found()
    if call.method == "PATCH":
        refused = _set_run_fields(run, call.json())
        if refused is not None:
            return refused
    return Answer(200, state.check_run_json(repo, run))


def _comment_body(call: Call) -> str | Answer:
    body = call.json().get("body")
    if not isinstance(body, str) or not body:
        return _invalid("IssueComment", "missing_field", "body")
    if len(body) > MAX_COMMENT:
        return _invalid(
            "IssueComment", "custom", "body", "Body is too long (maximum is 65536 characters)"
        )
    return body


def _issue_comments(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    issue = int(g[0])
    if issue not in repo.pulls:
        return _not_found()
    if call.method == "GET":
        mine = [state.comment_json(repo, c) for c in repo.comments if c.issue == issue]
        return _paginate(state, call, mine, n)
    body = _comment_body(call)
    if isinstance(body, Answer):
        return body
    comment = Comment(id=state.next_id(), issue=issue, body=body)
    repo.comments.append(comment)
    return Answer(201, state.comment_json(repo, comment))


def _comment(state: State, call: Call, repo: Repo, g: tuple[str, ...], n: int) -> Answer:
    comment = next((c for c in repo.comments if c.id == int(g[0])), None)
    if comment is None:
        return _not_found()
    if call.method == "DELETE":
        repo.comments.remove(comment)
        return Answer(204, b"")
    body = _comment_body(call)
    if isinstance(body, Answer):
        return body
    comment.body = body
    comment.updated_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Answer(200, state.comment_json(repo, comment))


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]  # matched against the path after /repos/{owner}/{repo}
    handler: Handler
    permissions: tuple[str, ...]  # "scope=level" alternatives, as X-Accepted-GitHub-Permissions

    @property
    def writes(self) -> bool:
        return self.method != "GET"


def _r(method: str, pattern: str, handler: Handler, *permissions: str) -> Route:
    return Route(method, re.compile(pattern + r"\Z"), handler, permissions)


_PR_READ = ("pull_requests=read", "issues=read")
_PR_WRITE = ("pull_requests=write", "issues=write")
ROUTES: tuple[Route, ...] = (
    _r("GET", r"", _get_repo, "metadata=read"),
    _r("GET", r"/releases", _list_releases, "contents=read"),
    _r("POST", r"/releases", _create_release, "contents=write"),
    _r("GET", r"/releases/tags/(.+)", _release_by_tag, "contents=read"),
    _r("GET", r"/releases/assets/(\d+)", _get_asset, "contents=read"),
    _r("DELETE", r"/releases/assets/(\d+)", _delete_asset, "contents=write"),
    _r("GET", r"/releases/(\d+)", _release_by_id, "contents=read"),
    _r("PATCH", r"/releases/(\d+)", _edit_release, "contents=write"),
    _r("GET", r"/releases/(\d+)/assets", _list_assets, "contents=read"),
    _r("GET", r"/pulls/(\d+)", _get_pull, "pull_requests=read"),
    _r("GET", r"/pulls/(\d+)/files", _pull_files, "pull_requests=read"),
    _r("POST", r"/check-runs", _create_check_run, "checks=write"),
    _r("GET", r"/check-runs/(\d+)", _check_run, "checks=read"),
    _r("PATCH", r"/check-runs/(\d+)", _check_run, "checks=write"),
    _r("GET", r"/issues/(\d+)/comments", _issue_comments, *_PR_READ),
    _r("POST", r"/issues/(\d+)/comments", _issue_comments, *_PR_WRITE),
    _r("PATCH", r"/issues/comments/(\d+)", _comment, *_PR_WRITE),
    _r("DELETE", r"/issues/comments/(\d+)", _comment, *_PR_WRITE),
)
UPLOAD = _r("POST", r"/releases/(\d+)/assets", upload, "contents=write")

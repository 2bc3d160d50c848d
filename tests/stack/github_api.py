"""A small fake of GitHub's REST API, for the one service with no real local stand-in.

Runs in the test process (threads), because tests steer it, like the fault proxy. GHES layout on
one port: the API at `http://127.0.0.1:PORT/api/v3`, uploads at `/api/uploads/...`, and asset
downloads answered with a 302 to `/_storage/...` (signed in the query, no token wanted), as
GitHub redirects to its storage host. Routes are in `github_routes.py`, objects in
`github_state.py`.

Tokens are checked (`Authorization: token X` or `Bearer X`): an unknown one gets 401 "Bad
credentials", none at all may only read, and a token's permissions (`add_token`) decide the
rest: a missing one gets 403 "Resource not accessible by integration" with the
`X-Accepted-GitHub-Permissions` header GitHub sends. Faults are queued per test (`add_fault`,
`secondary_rate_limit`, `primary_rate_limit`, `race_upload`). Every request is recorded
(`requests()`): method, path, query, headers without Authorization, the auth scheme, the body
size, the status answered, and a JSON body (parsed).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from stack.github_routes import (
    ROUTES,
    UPLOAD,
    Answer,
    Call,
    Route,
    error_body,
    publish,
    storage_signature,
)
from stack.github_state import (
    Asset,
    CheckRun,
    Comment,
    Generated,
    PullRequest,
    Release,
    Repo,
    State,
)

__all__ = ["READ_ONLY", "WRITE_ALL", "FakeGitHub", "Recorded"]

WRITE_ALL: Mapping[str, str] = {
    "metadata": "read",
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "checks": "write",
}
# What a workflow triggered from a fork gets, whatever it asks for.
READ_ONLY: Mapping[str, str] = {name: "read" for name in WRITE_ALL}
SECONDARY_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {rid}."
)
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
_LEVELS = {"read": 1, "write": 2}
_MAX_KEPT_JSON = 4 * 1024 * 1024  # bytes of a JSON request body kept in the log


class Recorded(NamedTuple):
    """One request the fake answered."""

    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names, Authorization left out
    auth: str | None  # the Authorization scheme ("token", "bearer"), never the credential
    body_size: int
    status: int
    body_json: Any = None  # the parsed body of a JSON request (check runs, comments); else None


@dataclass
class _Fault:
    method: str | None
    path_regex: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: Any
    times: int | None
    leave_starter: bool


@dataclass
class _Race:
    """Another uploader's asset that lands just before our next upload of that name."""

    name: str
    content: bytes


@dataclass
class _Grant:
    permissions: Mapping[str, str] = field(default_factory=lambda: dict(WRITE_ALL))

    def allows(self, accepted: tuple[str, ...]) -> bool:
        for alternative in accepted:
            scope, _, level = alternative.partition("=")
            if _LEVELS.get(self.permissions.get(scope, ""), 0) >= _LEVELS[level]:
                return True
        return False


class FakeGitHub:
    """The fake; start with `start()` (or `with`), stop with `stop()`. Thread-safe."""

    def __init__(self) -> None:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api/v3"
        self.max_per_page = 100  # GitHub's cap; lower it to make short lists paginate
        self._lock = threading.Lock()
        self._state = State(self.url)  # guarded by _lock
        self._tokens: dict[str, _Grant] = {}  # guarded by _lock
        self._faults: list[_Fault] = []  # guarded by _lock
        self._races: list[_Race] = []  # guarded by _lock
        self._log: list[Recorded] = []  # guarded by _lock
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # set-up ------------------------------------------------------------------------------------
    def add_token(self, permissions: Mapping[str, str] = WRITE_ALL) -> str:
        """A fresh token with `permissions` (scope → read|write); returns its value."""
        token = "ghs_" + secrets.token_urlsafe(27)
        with self._lock:
            self._tokens[token] = _Grant(dict(permissions))
        return token

    @property
    def digests(self) -> bool:
        """Whether assets carry `digest` ("sha256:…"); False renders them as older GHES does."""
        with self._lock:
            return self._state.digests

    @digests.setter
    def digests(self, value: bool) -> None:
        with self._lock:
            self._state.digests = value

    def add_repo(self, full_name: str, *, immutable_releases: bool = False) -> None:
        """A public repository; with `immutable_releases`, publishing makes releases immutable."""
        with self._lock:
            self._state.add_repo(full_name).immutable_releases = immutable_releases

    def add_release(
        self,
        full_name: str,
        tag: str,
        *,
        draft: bool = False,
        immutable: bool = False,
        prerelease: bool = False,
    ) -> int:
        """A release (published unless `draft`); returns its id."""
        with self._lock:
            repo = self._repo(full_name)
            rel = Release(
                id=self._state.next_id(),
                tag_name=tag,
                draft=draft,
                prerelease=prerelease,
                immutable=immutable and not draft,
                published_at=None if draft else "2025-11-04T10:00:00Z",
            )
            repo.releases.append(rel)
            return rel.id

    def publish(self, full_name: str, release_id: int) -> None:
        """Publish a draft, as a maintainer would (immutable if the repository says so)."""
        with self._lock:
            repo = self._repo(full_name)
            rel = self._release(full_name, release_id)
            publish(repo, rel)

    def add_asset(
        self,
        full_name: str,
        release_id: int,
        name: str,
        content: bytes | Generated = b"",
        *,
        state: str = "uploaded",
        content_type: str = "application/octet-stream",
    ) -> int:
        """An asset already on a release; `Generated(size)` content is made on the fly."""
        sha = content.sha256() if isinstance(content, Generated) else _sha256(content)
        with self._lock:
            rel = self._release(full_name, release_id)
            asset = Asset(
                id=self._state.next_id(),
                name=name,
                content=content,
                state=state,
                content_type=content_type,
                sha256=sha,
            )
            rel.assets.append(asset)
            return asset.id

    def swap_asset(self, full_name: str, release_id: int, name: str, content: bytes) -> None:
        """Change an asset's content in place, as a swapped upload would (digest updated)."""
        with self._lock:
            rel = self._release(full_name, release_id)
            asset = next(a for a in rel.assets if a.name == name)
            asset.content = content
            asset.sha256 = _sha256(content)

    def add_pull(
        self,
        full_name: str,
        number: int,
        *,
        head_sha: str,
        files: list[dict[str, Any]] | None = None,
        head_repo: str = "",
    ) -> None:
        """A pull request whose changed files are `files` (GitHub's File objects)."""
        with self._lock:
            repo = self._repo(full_name)
            repo.pulls[number] = PullRequest(
                number=number, head_sha=head_sha, files=list(files or []), head_repo=head_repo
            )

    # faults ------------------------------------------------------------------------------------
    def add_fault(
        self,
        method: str | None = None,
        path_regex: str = "",
        status: int = 502,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        times: int | None = 1,
        leave_starter: bool = False,
    ) -> None:
        """Answer the next `times` matching requests (path with query, re.search) with `status`.

        With `leave_starter` on an upload, the asset is left behind in state "starter", as a 502
        in the middle of an upload leaves it on GitHub.
        """
        with self._lock:
            self._faults.append(
                _Fault(
                    method,
                    re.compile(path_regex),
                    status,
                    dict(headers or {}),
                    body,
                    times,
                    leave_starter,
                )
            )

    def secondary_rate_limit(
        self,
        method: str | None = None,
        path_regex: str = "",
        *,
        retry_after: str | None = "1",
        status: int = 403,
        times: int | None = 1,
    ) -> None:
        """GitHub's secondary rate limit: 403 (or 429) with Retry-After and its message."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {"message": SECONDARY_LIMIT.format(rid="C0DE:1:2:3:4"),
                "documentation_url": SECONDARY_DOCS, "status": str(status)}  # fmt: skip
        self.add_fault(method, path_regex, status, headers=headers, body=body, times=times)

    def primary_rate_limit(
        self, method: str | None = None, path_regex: str = "", *, reset_in: int = 1, times: int = 1
    ) -> None:
        """The primary limit used up: 403, `x-ratelimit-remaining: 0`, reset `reset_in` s on."""
        headers = {
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(time.time()) + reset_in),
        }
        docs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
        body = error_body("API rate limit exceeded for installation ID 4242.", 403, docs)
        self.add_fault(method, path_regex, 403, headers=headers, body=body, times=times)

    def clear_faults(self) -> None:
        """Drop every queued fault and race."""
        with self._lock:
            self._faults.clear()
            self._races.clear()

    def race_upload(self, name: str, content: bytes) -> None:
        """Let another uploader's `name` land just before our next upload of that name."""
        with self._lock:
            self._races.append(_Race(name, content))

    # inspection --------------------------------------------------------------------------------
    def requests(self, method: str | None = None, path_regex: str = "") -> list[Recorded]:
        """The requests answered so far, optionally only those matching."""
        pattern = re.compile(path_regex)
        with self._lock:
            return [
                r
                for r in self._log
                if (method is None or r.method == method) and pattern.search(r.path)
            ]

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def assets(self, full_name: str, release_id: int) -> list[tuple[str, str, bytes]]:
        """(name, state, content) of each asset of a release; generated content is left empty."""
        with self._lock:
            rel = self._release(full_name, release_id)
            return [
                (a.name, a.state, a.content if isinstance(a.content, bytes) else b"")
                for a in rel.assets
            ]

    def releases(self, full_name: str) -> list[tuple[int, str, bool, bool]]:
        """(id, tag, draft, immutable) of each release, oldest first."""
        with self._lock:
            return [
                (r.id, r.tag_name, r.draft, r.immutable) for r in self._repo(full_name).releases
            ]

    def check_runs(self, full_name: str) -> list[CheckRun]:
        with self._lock:
            return list(self._repo(full_name).check_runs)

    def comments(self, full_name: str) -> list[Comment]:
        with self._lock:
            return list(self._repo(full_name).comments)

    # used by the handler -----------------------------------------------------------------------
    def _repo(self, full_name: str) -> Repo:
        owner, _, name = full_name.partition("/")
        repo = self._state.repo(owner, name)
        if repo is None:
            raise KeyError(f"no repository {full_name} on the fake")
        return repo

    def _release(self, full_name: str, release_id: int) -> Release:
        rel = self._state.release(self._repo(full_name), release_id)
        if rel is None:
            raise KeyError(f"no release {release_id} in {full_name}")
        return rel

    def _take_fault(self, method: str, target: str) -> _Fault | None:
        for fault in self._faults:
            if (fault.method in (None, method)) and fault.path_regex.search(target):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def answer(self, call: Call, auth: str | None, token: str | None) -> Answer:
        """Decide the answer to one request, and record it."""
        with self._lock:
            answer = self._answer_locked(call, token)
            query = {k: list(v) for k, v in call.query.items()}
            self._log.append(
                Recorded(
                    call.method,
                    call.path,
                    query,
                    call.headers,
                    auth,
                    len(call.body),
                    answer.status,
                    _json_body(call),
                )
            )
            return answer

    def _answer_locked(self, call: Call, token: str | None) -> Answer:
        storage = call.path.startswith("/_storage/")  # signed URLs: no token wanted
        grant: _Grant | None = None
        if token is not None and not storage:
            grant = self._tokens.get(token)
            if grant is None:
                return Answer(401, error_body("Bad credentials", 401))
        target = call.path + ("?" + "&".join(f"{k}={v[0]}" for k, v in call.query.items()))
        fault = self._take_fault(call.method, target)
        if fault is not None:
            return self._fault(call, fault)
        if storage:
            return self._storage(call)
        found = self._route(call)
        if found is None:
            return Answer(404, error_body("Not Found", 404))
        route, repo, groups = found
        if grant is None and route.writes:
            return Answer(401, error_body("Requires authentication", 401))
        if grant is not None and not grant.allows(route.permissions):
            body = error_body("Resource not accessible by integration", 403)
            return Answer(
                403, body, {"X-Accepted-GitHub-Permissions": "; ".join(route.permissions)}
            )
        call.can_write = grant is not None and grant.allows(("contents=write",))
        race = next((r for r in self._races if r.name == call.arg("name")), None)
        if route is UPLOAD and race is not None:
            self._races.remove(race)
            rel = self._state.release(repo, int(groups[0]))
            if rel is not None:
                theirs = Asset(id=self._state.next_id(), name=race.name, content=race.content)
                theirs.sha256 = _sha256(race.content)
                rel.assets.append(theirs)
        return route.handler(self._state, call, repo, groups, self.max_per_page)

    def _route(self, call: Call) -> tuple[Route, Repo, tuple[str, ...]] | None:
        for prefix, routes in (("/api/v3/repos/", ROUTES), ("/api/uploads/repos/", (UPLOAD,))):
            if not call.path.startswith(prefix):
                continue
            parts = call.path[len(prefix) :].split("/", 2)
            if len(parts) < 2:
                return None
            repo = self._state.repo(parts[0], parts[1])
            if repo is None:
                return None
            rest = "/" + parts[2] if len(parts) > 2 else ""
            for route in routes:
                match = route.pattern.match(unquote(rest))
                if match and route.method == call.method:
                    return route, repo, match.groups()
        return None

    def _fault(self, call: Call, fault: _Fault) -> Answer:
        if fault.leave_starter and call.path.startswith("/api/uploads/"):
            found = self._route(call)
            if found is not None:
                _, repo, groups = found
                rel = self._state.release(repo, int(groups[0]))
                name = call.arg("name")
                if rel is not None and name and not any(a.name == name for a in rel.assets):
                    rel.assets.append(Asset(id=self._state.next_id(), name=name, state="starter"))
        body = fault.body
        if body is None:
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return Answer(fault.status, body, dict(fault.headers))

    def _storage(self, call: Call) -> Answer:
        parts = call.path.split("/")
        asset_id = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
        if call.arg("X-Sig") != storage_signature(asset_id):
            return Answer(403, b"<Error><Code>AccessDenied</Code></Error>")
        for repo in self._state.repos.values():
            found = self._state.asset(repo, asset_id)
            if found is not None:
                return Answer(200, found[1])
        return Answer(404, b"<Error><Code>NoSuchKey</Code></Error>")


def _json_body(call: Call) -> Any:
    """The request's JSON document, kept for tests to look at; None for any other body."""
    if "json" not in call.headers.get("content-type", "") or len(call.body) > _MAX_KEPT_JSON:
        return None
    try:
        return json.loads(call.body)
    except ValueError:
        return None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    fake: FakeGitHub  # set on the subclass built by FakeGitHub

    def log_message(self, format: str, *args: Any) -> None:
        return  # the fake's own log is FakeGitHub.requests

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
        scheme, _, credential = self.headers.get("Authorization", "").partition(" ")
        auth = scheme.lower() or None
        token = credential.strip() if auth in ("token", "bearer") else None
        if auth is not None and token is None:
            token = ""  # a scheme we do not take: as a wrong token
        call = Call(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=self._read_body(),
            can_write=False,
        )
        answer = self.fake.answer(call, auth, token)
        self._send(answer)

    def _send(self, answer: Answer) -> None:
        body = answer.body
        # Lower-case names, as GitHub sends them over HTTP/2; a fault's headers override ours.
        headers = {
            "x-github-request-id": secrets.token_hex(8).upper(),
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
        }
        headers.update({k.lower(): v for k, v in answer.headers.items()})
        self.send_response(answer.status)
        if isinstance(body, Asset):
            self.send_header("Content-Type", body.content_type)
            self.send_header("Content-Length", str(body.size))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            for chunk in body.chunks():
                self.wfile.write(chunk)
            return
        if isinstance(body, bytes):
            data, ctype = body, "text/html; charset=utf-8"
        else:
            data, ctype = json.dumps(body).encode(), "application/json; charset=utf-8"
        if answer.status == 204:
            data = b""
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

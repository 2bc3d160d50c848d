"""One repository on one GitHub, through PyGithub: settings from the environment, the client
configured once (retries, throttling, timeout, token), and GitHub's failures as shipsign errors.

PyGithub's defaults are not ours: it sleeps 0.25 s before every request and 1 s before every
write, and retries only 5xx. Here reads are not throttled (a release run makes a few dozen), writes
keep GitHub's advice of one second apart ("If you're making a large number of POST, PATCH, PUT,
or DELETE requests ... wait at least one second between each request"), and `RateLimitRetry`
retries what GitHub asks us to. The token is a `Secret`, revealed only where PyGithub or the
download builds its Authorization header; PyGithub's debug log masks that header itself.
"""

from __future__ import annotations

import http.cookiejar
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import github
import requests
from github.GitRelease import GitRelease
from github.Repository import Repository
from requests.adapters import HTTPAdapter

from shipsign.errors import InputError, ShipsignError
from shipsign.github_api.errors import GitHubError
from shipsign.github_api.ratelimit import RateLimitRetry, rate_limit_wait
from shipsign.retry import RetryPolicy
from shipsign.secret import Secret, redact

__all__ = [
    "DEFAULT_API_URL",
    "USER_AGENT",
    "GitHubRepo",
    "GitHubSettings",
    "github_errors",
    "load_token",
    "parse_repository",
    "translate",
]

_log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://api.github.com"
USER_AGENT = "shipsign"
_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
_MAX_TOKEN_FILE = 64 * 1024


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class GitHubSettings:
    """Where GitHub is, the token, and how patient to be with it."""

    token: Secret
    api_url: str = DEFAULT_API_URL  # GHES: https://HOST/api/v3
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=5, deadline=90.0))
    seconds_between_requests: float | None = None
    seconds_between_writes: float | None = 1.0
    timeout: int = 30  # seconds; PyGithub takes one integer for connect and read
    sleep: Callable[[float], None] = time.sleep  # every wait for a retry goes through this
    now: Callable[[], datetime] = _utcnow  # for Retry-After dates and x-ratelimit-reset

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        *,
        token_file: Path | None = None,
        anonymous: bool = False,
        **options: Any,
    ) -> GitHubSettings:
        """Settings from a job's environment: `GITHUB_API_URL`, and the token (`load_token`).

        With `anonymous`, no token is fine (reading a public repository): requests then carry
        no credentials and GitHub's lower anonymous rate limit applies."""
        api_url = (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        if not api_url.startswith(("https://", "http://")):
            raise InputError(
                "GITHUB_API_URL is not an http(s) URL",
                found=api_url,
                expected="e.g. https://api.github.com or https://HOST/api/v3",
            )
        if anonymous and token_file is None and not environ.get("GITHUB_TOKEN", "").strip():
            return cls(token=Secret(""), api_url=api_url, **options)
        return cls(token=load_token(environ, token_file), api_url=api_url, **options)


def load_token(environ: Mapping[str, str], token_file: Path | None = None) -> Secret:
    """The token from `token_file` when given, else `GITHUB_TOKEN`. Raises `InputError`."""
    if token_file is not None:
        try:
            with token_file.open("rb") as fh:
                raw = fh.read(_MAX_TOKEN_FILE + 1)
        except OSError as exc:
            raise InputError(
                "cannot read the GitHub token file", where=str(token_file), found=exc.strerror or ""
            ) from None
        value = raw.decode("utf-8", errors="replace").strip()
        if len(raw) > _MAX_TOKEN_FILE or not value or any(c.isspace() for c in value):
            raise InputError(
                "the GitHub token file does not hold one token",
                where=str(token_file),
                expected="one line: the token",
            )
        return Secret(value)
    value = environ.get("GITHUB_TOKEN", "").strip()
    if not value:
        raise InputError(
            "no GitHub token",
            hint="set GITHUB_TOKEN (in a workflow: `GITHUB_TOKEN: ${{ github.token }}`) "
            "or pass --github-token-file",
        )
    return Secret(value)


def parse_repository(value: str) -> str:
    """`OWNER/REPO`, checked. Raises `InputError`."""
    if not _REPOSITORY.fullmatch(value) or value.endswith((".", "/")):
        raise InputError("not a GitHub repository", found=value, expected="OWNER/REPO")
    return value


class _SecretToken(github.Auth.Auth):
    """PyGithub auth over a `Secret`: the value leaves it only into the request's header."""

    def __init__(self, token: Secret) -> None:
        self._secret = token

    @property
    def token_type(self) -> str:
        return "token"

    @property
    def token(self) -> str:
        return self._secret.reveal()

    @property
    def _masked_token(self) -> str:
        return "token ***"


class GitHubRepo:
    """One repository: PyGithub's `Repository` (`api`) and a session for streamed downloads.

    Thread-safe for what shipsign does: PyGithub's requester serialises on its connection, the
    download session is configured once and never mutated. Close it (or use `with`).
    """

    def __init__(self, settings: GitHubSettings, full_name: str) -> None:
        self.settings = settings
        self.full_name = parse_repository(full_name)
        self._gh = github.Github(
            auth=_SecretToken(settings.token) if settings.token else None,
            base_url=settings.api_url,
            timeout=settings.timeout,
            user_agent=USER_AGENT,
            per_page=100,
            retry=self._retry(),
            seconds_between_requests=settings.seconds_between_requests,
            seconds_between_writes=settings.seconds_between_writes,
            lazy=True,  # no GET of the repository before each call
        )
        self.api: Repository = self._gh.get_repo(self.full_name)  # lazy: no request
        session = requests.Session()
        session.trust_env = False  # no .netrc credentials, no proxy guessing
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        adapter = HTTPAdapter(max_retries=self._retry())
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self.session = session
        self._lock = threading.Lock()
        self._releases: dict[int, GitRelease] = {}  # guarded by _lock

    def _retry(self) -> RateLimitRetry:
        s = self.settings
        return RateLimitRetry(policy=s.retry, sleep=s.sleep, now=s.now)

    def close(self) -> None:
        """Close pooled connections."""
        self.session.close()
        self._gh.close()

    def __enter__(self) -> GitHubRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def auth_headers(self) -> dict[str, str]:
        """Headers for a request of our own to the API host (never to a redirect's target)."""
        if not self.settings.token:
            return {"User-Agent": USER_AGENT}
        return {"Authorization": f"token {self.settings.token.reveal()}", "User-Agent": USER_AGENT}

    def remember(self, release: GitRelease) -> None:
        """Keep PyGithub's object for a release seen, so that uploads need no GET of it."""
        with self._lock:
            self._releases[release.id] = release

    def git_release(self, release_id: int) -> GitRelease:
        """PyGithub's object for a release: remembered, else fetched by id (one GET)."""
        with self._lock:
            found = self._releases.get(release_id)
        if found is not None:
            return found
        with github_errors("read a release", where=f"{self.full_name} release {release_id}"):
            fetched = self.api.get_release(release_id)
        self.remember(fetched)
        return fetched


@contextmanager
def github_errors(operation: str, *, where: str, permission: str = "") -> Iterator[None]:
    """Turn PyGithub's and requests' exceptions inside into shipsign errors (`translate`)."""
    try:
        yield
    except ShipsignError:
        raise
    except (github.GithubException, requests.RequestException) as exc:
        raise translate(exc, operation=operation, where=where, permission=permission) from exc


def translate(
    exc: github.GithubException | requests.RequestException,
    *,
    operation: str,
    where: str,
    permission: str = "",
) -> ShipsignError:
    """The shipsign error for a failed GitHub call; `permission` is what `operation` needs."""
    if isinstance(exc, requests.RequestException):
        return GitHubError(
            f"cannot reach GitHub to {operation}",
            operation=operation,
            where=where,
            found=redact(f"{type(exc).__name__}: {exc}")[:300],
            hint="GitHub is down or unreachable from here; run the same command again later",
        )
    status = exc.status
    headers = {k.lower(): str(v) for k, v in (exc.headers or {}).items()}
    message = _message(exc.data)
    found = redact(f"{status} {message!r}" if message else str(status))
    common: dict[str, Any] = {"operation": operation, "status": status, "where": where}
    if status == 401:
        return GitHubError(
            f"GitHub refused the token to {operation}",
            found=found,
            hint="the token is wrong, expired or revoked (GITHUB_TOKEN or --github-token-file)",
            **common,
        )
    retry_after = rate_limit_wait(status, headers, now=_utcnow())
    if status in (403, 429) and (retry_after is not None or "rate limit" in message.lower()):
        return GitHubError(
            f"GitHub's rate limit stopped us from trying to {operation}",
            found=found,
            retry_after=retry_after,
            hint="wait a few minutes and run the same command again",
            **common,
        )
    if status == 403:
        accepted = headers.get("x-accepted-github-permissions", "")
        needed = _permission_text(accepted) or permission
        hint = (
            f"the token lacks `{needed}`: add it to the job's `permissions:`. "
            if needed
            else "the token lacks a permission this needs. "
        )
        hint += "A workflow run from a fork only ever gets a read-only token."
        return GitHubError(
            f"GitHub refused to let the token {operation}",
            found=found,
            permission=needed,
            hint=hint,
            **common,
        )
    if status == 404:
        return InputError(
            f"GitHub has no such thing, or the token cannot see it, trying to {operation}",
            where=where,
            found=found,
            hint="check the repository (--github-repository / GITHUB_REPOSITORY) and the tag",
        )
    return GitHubError(f"GitHub answered {status} trying to {operation}", found=found, **common)


def _message(data: object) -> str:
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            text += " " + "; ".join(str(e) for e in errors[:3])
        return text.strip()[:500]
    return ""


def _permission_text(accepted: str) -> str:
    """`contents=write; issues=read` → `contents: write` (the first set GitHub accepts)."""
    first = accepted.split(";")[0].strip()
    pairs = [p.strip().partition("=") for p in first.split(",") if p.strip()]
    return ", ".join(f"{name.replace('_', '-')}: {level}" for name, _, level in pairs if level)

"""Which files a change touches, and which commit a pull request's check belongs to.

Two sources. The pull request through PyGithub (`GET /pulls/N/files`, 100 a page): GitHub lists
at most 3000 files, so a larger pull request is completed with `git diff` when its base commit
is in the local clone, and reported as incomplete otherwise. Or `git diff --name-status -z
BASE...HEAD` in the clone: used when a base is given, and when there is no token. Either way a
path is relative to the repository's top directory with `/` separators (what GitHub and git
print); deleted files are left out (nothing to scan), and a renamed or copied file counts by
its new name.

In a `pull_request` workflow `GITHUB_SHA` is the test merge commit, which the pull request's
page does not show: a check run must be made on the pull request's head commit, read here from
the event payload (`GITHUB_EVENT_PATH`) or from the pull request itself.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from github.PullRequest import PullRequest

from shipsign.errors import InputError
from shipsign.github_api import GitHubRepo, github_errors
from shipsign.secret import redact

__all__ = [
    "MAX_PULL_FILES",
    "ChangedFiles",
    "PullRequestInfo",
    "changed_files",
    "git_changed_files",
    "parse_name_status",
    "pull_request_files",
    "pull_request_from_api",
    "pull_request_from_event",
]

_log = logging.getLogger(__name__)
MAX_PULL_FILES = 3000  # GitHub lists no more of a pull request's files
_PULLS_READ = "pull-requests: read"
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256 repositories
_MAX_EVENT = 64 * 1024 * 1024
_GIT_TIMEOUT = 300  # seconds; a diff of a huge repository is slow, a hung git is not
_FETCH_HINT = (
    "in a workflow, check out with `fetch-depth: 0` (or `git fetch origin BASE` before the "
    "step), so that the base commit is in the clone"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequestInfo:
    """What the gate needs to know of a pull request (from the API or the event payload)."""

    number: int
    head_sha: str  # the commit a check run must be made on (not GITHUB_SHA, the merge commit)
    base_sha: str = ""
    head_repo: str = ""  # OWNER/REPO the change comes from; "" when that repository is gone
    base_repo: str = ""  # OWNER/REPO the pull request is opened against

    @property
    def from_fork(self) -> bool:
        """Whether the change comes from another repository (its workflows get a read-only
        token). A head repository that was deleted counts as a fork."""
        if not self.base_repo:
            return False
        return self.head_repo.lower() != self.base_repo.lower()


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangedFiles:
    """The files a change adds or modifies, and where that list came from."""

    paths: tuple[str, ...]  # relative to the repository's top directory, `/`-separated, sorted
    source: str  # "pull request #7", "git diff main...HEAD", "pull request #7 and git diff …"
    warnings: tuple[str, ...] = ()  # e.g. the list is incomplete (GitHub's 3000-file limit)
    complete: bool = True
    pull: PullRequestInfo | None = None  # when read from a pull request (head sha included)


def changed_files(
    root: Path,
    *,
    base: str | None = None,
    head: str = "HEAD",
    repo: GitHubRepo | None = None,
    pull_number: int | None = None,
    git: str = "git",
) -> ChangedFiles:
    """The files changed, by `git diff BASE...HEAD` when `base` is given, else through the API.

    `root` is a directory of the clone (git runs there). Without `base`, `repo` and
    `pull_number` are needed. Raises `InputError` (bad base, not a clone, no source at all) and
    GitHub's failures as shipsign errors (`GitHubError`, exit 3).
    """
    if base:
        return git_changed_files(root, base, head, git=git)
    if repo is not None and pull_number is not None:
        return pull_request_files(repo, pull_number, root=root, git=git)
    raise InputError(
        "cannot tell which files the change touches",
        expected="a base to compare with (--base REF) or a pull request and a GitHub token",
        hint="in a pull_request workflow the number and token are found by themselves; "
        "elsewhere pass --base (e.g. --base origin/main) or list the files to check",
    )


# --- the pull request, through PyGithub -----------------------------------------------------
def pull_request_from_api(repo: GitHubRepo, number: int) -> PullRequestInfo:
    """The pull request's head commit and repositories (network: 1 GET)."""
    with github_errors(
        "read the pull request", where=f"{repo.full_name}#{number}", permission=_PULLS_READ
    ):
        return _info(repo.api.get_pull(number), number)


def _info(pull: PullRequest, number: int) -> PullRequestInfo:
    """Reads the attributes, which makes a lazy PyGithub object GET the pull request."""
    head, base = pull.head, pull.base
    return PullRequestInfo(
        number=number,
        head_sha=str(head.sha or ""),
        base_sha=str(base.sha or ""),
        head_repo=_repo_name(head),
        base_repo=_repo_name(base),
    )


def _repo_name(part: object) -> str:
    """`part.repo.full_name`; "" when GitHub sends no repository (a deleted fork)."""
    return str(getattr(getattr(part, "repo", None), "full_name", None) or "")


def pull_request_files(
    repo: GitHubRepo, number: int, *, root: Path | None = None, git: str = "git"
) -> ChangedFiles:
    """The files of pull request `number` (network: 1 GET, then 1 per 100 files).

    More than GitHub's 3000: with `root` (a clone holding the base commit), `git diff` of the
    base and head commits instead; otherwise the first 3000, with a warning.
    """
    where = f"{repo.full_name}#{number}"
    with github_errors("read the pull request", where=where, permission=_PULLS_READ):
        pull = repo.api.get_pull(number)
        info = _info(pull, number)
        total = int(pull.changed_files or 0)
    source = f"pull request #{number}"
    warnings: list[str] = []
    if total > MAX_PULL_FILES:
        too_many = (
            f"pull request #{number} changes {total} files; GitHub lists only the first "
            f"{MAX_PULL_FILES}"
        )
        if root is not None and info.base_sha and info.head_sha:
            try:
                found = git_changed_files(root, info.base_sha, info.head_sha, git=git)
            except InputError as exc:
                warnings.append(f"{too_many}, and git could not list them all: {exc.found}")
                _log.debug("git diff for %s failed: %s", where, exc.what)
            else:
                return ChangedFiles(
                    paths=found.paths,
                    source=f"{source} (git diff {info.base_sha[:12]}...{info.head_sha[:12]})",
                    warnings=(f"{too_many}: the list comes from git diff instead",),
                    pull=info,
                )
        else:
            warnings.append(f"{too_many}; give --base to compare in the clone instead")
    with github_errors("list the pull request's files", where=where, permission=_PULLS_READ):
        paths = _api_paths(pull.get_files())
    return ChangedFiles(
        paths=paths,
        source=source,
        warnings=tuple(warnings),
        complete=not warnings,
        pull=info,
    )


def _api_paths(files: Iterable[Any]) -> tuple[str, ...]:
    """New names of the files not removed (GitHub's File objects), at most 3000."""
    paths: set[str] = set()
    for count, item in enumerate(files):
        if count >= MAX_PULL_FILES:  # GitHub stops there; never page on past it
            break
        if item.status == "removed" or not item.filename:
            continue
        paths.add(str(item.filename))
    return tuple(sorted(paths))


# --- the event payload ------------------------------------------------------------------------
def pull_request_from_event(environ: Mapping[str, str]) -> PullRequestInfo | None:
    """The pull request of a `pull_request`/`pull_request_target` run, from `GITHUB_EVENT_PATH`.

    None when there is no payload or it is another event (push, schedule…). Raises
    `InputError` when the payload cannot be read or its pull request has no head commit.
    """
    path = environ.get("GITHUB_EVENT_PATH", "")
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_EVENT + 1)
    except OSError as exc:
        raise InputError(
            "cannot read the workflow's event payload (GITHUB_EVENT_PATH)",
            where=path,
            found=exc.strerror or type(exc).__name__,
        ) from None
    try:
        doc = json.loads(raw) if len(raw) <= _MAX_EVENT else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise InputError(
            "the workflow's event payload (GITHUB_EVENT_PATH) is not a JSON object",
            where=path,
            expected="the JSON document GitHub writes for the event",
        )
    pull = doc.get("pull_request")
    if not isinstance(pull, dict):
        return None
    head, base = _mapping(pull.get("head")), _mapping(pull.get("base"))
    number = pull.get("number", doc.get("number"))
    head_sha = head.get("sha")
    if not isinstance(number, int) or not isinstance(head_sha, str) or not _SHA.fullmatch(head_sha):
        raise InputError(
            "the event payload's pull request has no number or head commit",
            where=f"{path}: pull_request",
            expected="pull_request.number and pull_request.head.sha (40 hex digits)",
            found=f"number={number!r}, head.sha={head_sha!r}"[:200],
        )
    base_sha = base.get("sha")
    base_repo = _mapping(base.get("repo")).get("full_name") or _mapping(doc.get("repository")).get(
        "full_name"
    )
    return PullRequestInfo(
        number=number,
        head_sha=head_sha,
        base_sha=base_sha if isinstance(base_sha, str) and _SHA.fullmatch(base_sha) else "",
        head_repo=str(_mapping(head.get("repo")).get("full_name") or ""),
        base_repo=str(base_repo or ""),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


# --- git diff ---------------------------------------------------------------------------------
def git_changed_files(
    root: Path, base: str, head: str = "HEAD", *, git: str = "git"
) -> ChangedFiles:
    """`git diff --name-status -z BASE...HEAD` run in `root`: what `head` changes since it
    forked from `base`. Raises `InputError` when git is missing or cannot compare the two."""
    for name, ref in (("base", base), ("head", head)):
        if not ref or ref.startswith("-") or any(c.isspace() or c == "\0" for c in ref):
            raise InputError(
                f"not a git revision to compare: {name} {ref!r}",
                expected="a branch, tag or commit, e.g. origin/main or a commit SHA",
            )
    program = shutil.which(git)
    if program is None:
        raise InputError(
            "git is not installed, so the changed files cannot be listed",
            expected=f"`{git}` on PATH",
            hint="install git, or pass the files to check",
        )
    span = f"{base}...{head}"
    argv = [program, "-c", "core.quotePath=false", "diff", "--name-status", "-z", "--no-color",
            "--no-ext-diff", "--find-renames", span, "--"]  # fmt: skip
    env = {**os.environ, "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    try:
        proc = subprocess.run(  # noqa: S603  # fixed argv; the revisions were checked above
            argv, cwd=root, env=env, capture_output=True, timeout=_GIT_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(
            f"git could not compare {span}", where=str(root), found=type(exc).__name__
        ) from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        fatal = [x for x in lines if x.startswith(("fatal:", "error:"))]
        message = (fatal or lines or [f"exit status {proc.returncode}"])[0]
        if _dubious_ownership(program, root, env):
            raise InputError(
                "git refuses to read this clone: another user owns it",
                where=str(root),
                found=redact(message)[:300],
                hint=f"mark it safe for this user: git config --global --add safe.directory "
                f"{root} (a container step running as root over the runner's checkout "
                "meets this)",
            )
        raise InputError(
            f"git cannot compare {span}",
            where=str(root),
            expected=f"a git clone holding both {base} and {head}",
            found=redact(message)[:300],
            hint=_FETCH_HINT,
        )
    return ChangedFiles(paths=parse_name_status(proc.stdout), source=f"git diff {span}")


def _dubious_ownership(program: str, root: Path, env: dict[str, str]) -> bool:
    """Whether git refuses `root` because another user owns it (`git diff` says only "Not a
    git repository" then; `git rev-parse` says why)."""
    try:
        probe = subprocess.run(  # noqa: S603  # fixed argv
            [program, "rev-parse", "--git-dir"],
            cwd=root,
            env=env,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"dubious ownership" in probe.stderr


def parse_name_status(output: bytes) -> tuple[str, ...]:
    """Paths from `git diff --name-status -z`: the new path of a rename or copy, none of a
    deletion; sorted, each once."""
    fields = output.split(b"\0")
    paths: set[str] = set()
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i].decode("ascii", "replace")
        if status[:1] in ("R", "C"):  # R100\0old\0new
            names = fields[i + 1 : i + 3]
            i += 3
        else:
            names = fields[i + 1 : i + 2]
            i += 2
        if not names or status[:1] == "D":
            continue
        paths.add(os.fsdecode(names[-1]))
    return tuple(sorted(paths))

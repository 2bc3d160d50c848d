"""Use case: the pull-request gate. Which files changed, which images they name, whether each
is signed by the identity its `[[policy]]` names, and the verdict where reviewers look.

1. Files: every file under the given paths; else the change (`git diff BASE...HEAD` with a base,
   else the pull request's files through the API).
2. Images: `gate/refs/` finds each reference with its file and line.
3. Verdicts: `gate/judge.py`, each distinct digest verified once.
4. Report: a check run on the pull request's head commit and one comment (`gate/github_report`);
   refused for a read-only token (a fork), the caller writes the step summary and annotations.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipsign.errors import InputError
from shipsign.gate.changes import (
    ChangedFiles,
    PullRequestInfo,
    changed_files,
    pull_request_from_api,
    pull_request_from_event,
)
from shipsign.gate.github_report import GitHubReportResult, ReportOptions, report_to_github
from shipsign.gate.judge import GateOptions, judge
from shipsign.gate.model import GateReport
from shipsign.gate.refs.scan import scan_files
from shipsign.github_api.connection import GitHubRepo, GitHubSettings, parse_repository
from shipsign.oci.client import Registries
from shipsign.policy.config import ShipsignConfig

__all__ = ["GateOutcome", "GateRequest", "run_gate"]

_log = logging.getLogger(__name__)
_MAX_FILES = 20_000  # files under the given paths; more is a mistake (a path of `/`?)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateRequest:
    root: Path  # the repository's top directory (git runs there; references are relative to it)
    paths: tuple[str, ...] = ()  # check every file under these instead of the change
    base: str | None = None  # compare with this ref (`git diff BASE...HEAD`)
    head: str = "HEAD"
    pull_request: int | None = None  # else the workflow event's, if any
    repository: str | None = None  # OWNER/REPO for the report; else GITHUB_REPOSITORY
    config: ShipsignConfig | None = None
    options: GateOptions = field(default_factory=GateOptions)
    report: ReportOptions | None = field(default_factory=ReportOptions)  # None: no GitHub report


@dataclass(frozen=True, slots=True, kw_only=True)
class GateOutcome:
    report: GateReport
    changed: ChangedFiles | None  # None when paths were given
    github: GitHubReportResult | None  # None when nothing was sent to GitHub
    pull: PullRequestInfo | None
    warnings: tuple[str, ...] = ()  # about the run itself (an incomplete file list, …)
    resolved: int = 0  # tags resolved to digests
    verified: int = 0  # distinct repository@digest verified

    @property
    def needs_workflow_annotations(self) -> bool:
        """Whether the job's own annotations and step summary must carry the report."""
        return self.github is None or bool(self.github.fell_back)


def run_gate(
    request: GateRequest,
    *,
    environ: Mapping[str, str],
    settings: GitHubSettings | None = None,
    registries: Registries | None = None,
) -> GateOutcome:
    """Run the gate (see the module's docstring).

    `settings` (a token) enables the pull request's file list and the GitHub report; without
    it, the base comes from `request.base` or the workflow event. Raises `InputError` when
    the files to check cannot be told, and GitHub's failures (exit 3) other than a refused
    permission. Every image's verdict, good or bad, is data in the report.
    """
    root = request.root.resolve()
    pull = pull_request_from_event(environ)
    number = request.pull_request or (pull.number if pull is not None else None)
    repository = request.repository or environ.get("GITHUB_REPOSITORY") or None
    repo = GitHubRepo(settings, parse_repository(repository)) if settings and repository else None
    try:
        if repo is not None and number is not None and (pull is None or pull.number != number):
            pull = pull_request_from_api(repo, number)
        changed: ChangedFiles | None = None
        warnings: list[str] = []
        if request.paths:
            files = _files_under(root, request.paths)
            source = "every file under " + ", ".join(request.paths)
        else:
            base = request.base
            head = request.head
            if not base and repo is None and pull is not None and pull.base_sha:
                base, head = pull.base_sha, pull.head_sha or head  # no token: git knows
            changed = changed_files(
                root,
                base=base,
                head=head,
                repo=repo,
                pull_number=number if not base else None,
            )
            files = list(changed.paths)
            source = changed.source
            warnings += changed.warnings
        scan = scan_files(root, files)
        judged = judge(scan.uses, request.config, request.options, registries=registries)
        head_sha = pull.head_sha if pull is not None else environ.get("GITHUB_SHA", "")
        report = GateReport(
            images=judged.images,
            problems=scan.problems,
            files_checked=scan.files_scanned,
            changed_files_source=source,
            head_sha=head_sha,
        )
        github: GitHubReportResult | None = None
        if repo is not None and request.report is not None and head_sha:
            github = report_to_github(
                repo,
                report,
                head_sha=head_sha,
                pull_number=number,
                from_fork=pull.from_fork if pull is not None else False,
                options=request.report,
            )
    finally:
        if repo is not None:
            repo.close()
    return GateOutcome(
        report=report,
        changed=changed,
        github=github,
        pull=pull,
        warnings=tuple(warnings),
        resolved=judged.resolved,
        verified=judged.verified,
    )


def _files_under(root: Path, paths: Sequence[str]) -> list[str]:
    """Every regular file under `paths` (files or directories inside `root`), relative to it.

    Symbolic links are listed, not followed: the scanner decides what to do with them (one
    that leaves the repository is reported and skipped). `.git` is never entered.
    """
    out: list[str] = []
    for given in paths:
        path = (root / given) if not Path(given).is_absolute() else Path(given)
        resolved = path.resolve()
        if resolved != root and root not in resolved.parents:
            raise InputError(
                "a path to check is outside the repository",
                found=given,
                expected=f"a file or directory inside {root}",
            )
        if not path.exists():
            raise InputError("a path to check does not exist", found=given)
        if path.is_file():
            out.append(resolved.relative_to(root).as_posix())
            continue
        for directory, dirnames, filenames in os.walk(resolved):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            for name in sorted(filenames):
                out.append((Path(directory) / name).relative_to(root).as_posix())
                if len(out) > _MAX_FILES:
                    raise InputError(
                        "too many files to check",
                        found=f"more than {_MAX_FILES} under {', '.join(paths)}",
                        hint="name the directories that hold deployment files",
                    )
    return sorted(set(out))

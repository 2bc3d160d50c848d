"""The gate's report on GitHub: the check run on the head commit, then the pull-request comment.

A token that may not write them (a workflow run for a pull request from a fork only ever gets a
read-only one; or a job whose `permissions:` leave out `checks: write` or `pull-requests:
write`) is not a failure of the gate: GitHub's 403 is turned into `fell_back`, one sentence
saying what was refused and why, and the caller reports through the step summary
(`step_summary_markdown`) and workflow commands (`workflow_annotations`) instead. Any other
failure of GitHub is raised as a shipsign error (`GitHubError`, exit 3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shipsign.gate.checkrun import DEFAULT_MAX_ANNOTATIONS, publish_check_run
from shipsign.gate.comment import CommentMode, upsert_comment
from shipsign.gate.markdown import DEFAULT_CHECK_NAME
from shipsign.gate.model import GateReport
from shipsign.github_api import GitHubError, GitHubRepo

__all__ = ["GitHubReportResult", "ReportOptions", "is_refusal", "report_to_github"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportOptions:
    name: str = DEFAULT_CHECK_NAME  # the check run's name; also keys the comment's marker
    comment: CommentMode = CommentMode.ON_FAILURE
    delete_resolved: bool = False  # on-failure: delete the comment once passing, not edit it
    details_url: str = ""  # e.g. the workflow run's page
    max_annotations: int = DEFAULT_MAX_ANNOTATIONS
    path_prefix: str = ""  # where the scanned root is in the repository
    check_run: bool = True  # False: only the comment


@dataclass(frozen=True, slots=True, kw_only=True)
class GitHubReportResult:
    check_run_id: int | None = None
    check_run_url: str | None = None
    annotations: int = 0  # sent with the check run
    comment_id: int | None = None
    comment_url: str | None = None
    comment_action: str = "none"  # see CommentResult.action
    fell_back: str = ""  # why (part of) the report could not go to GitHub; "" when it did

    @property
    def needs_workflow_annotations(self) -> bool:
        """Whether the caller should print `::error` lines (no check run carries them)."""
        return self.check_run_id is None


def is_refusal(exc: GitHubError) -> bool:
    """A 403 for want of a permission (not a rate limit: that is worth a rerun)."""
    return exc.status == 403 and exc.retry_after is None and "rate limit" not in exc.what


def report_to_github(
    repo: GitHubRepo,
    report: GateReport,
    *,
    head_sha: str,
    pull_number: int | None = None,
    from_fork: bool = False,
    options: ReportOptions | None = None,
) -> GitHubReportResult:
    """Make the check run on `head_sha` and, for a pull request, keep its comment as
    `options.comment` says. Never raises for a refused permission (see `fell_back`); raises
    `GitHubError` and `InputError` for the rest."""
    opts = options or ReportOptions()
    refused: list[tuple[str, str]] = []  # (what, permission)
    run_id: int | None = None
    run_url: str | None = None
    sent = 0
    if opts.check_run:
        try:
            run = publish_check_run(
                repo, report, head_sha=head_sha, name=opts.name, details_url=opts.details_url,
                max_annotations=opts.max_annotations, path_prefix=opts.path_prefix,
            )  # fmt: skip
        except GitHubError as exc:
            if not is_refusal(exc):
                raise
            refused.append(("create the check run", exc.permission or "checks: write"))
        else:
            run_id, run_url, sent = run.id, run.url, run.annotations
    comment_id: int | None = None
    comment_url: str | None = None
    action = "skipped" if opts.comment is CommentMode.NEVER else "none"
    if pull_number is not None and opts.comment is not CommentMode.NEVER:
        try:
            done = upsert_comment(
                repo, report, pull_number=pull_number, mode=opts.comment, name=opts.name,
                check_run_url=run_url or "", delete_resolved=opts.delete_resolved,
            )  # fmt: skip
        except GitHubError as exc:
            if not is_refusal(exc):
                raise
            refused.append(
                ("comment on the pull request", exc.permission or "pull-requests: write")
            )
        else:
            comment_id, comment_url, action = done.id, done.url, done.action
    reason = _fallback_reason(refused, from_fork=from_fork)
    if reason:
        _log.debug("GitHub report fell back: %s", reason)
    return GitHubReportResult(
        check_run_id=run_id,
        check_run_url=run_url,
        annotations=sent,
        comment_id=comment_id,
        comment_url=comment_url,
        comment_action=action,
        fell_back=reason,
    )


def _fallback_reason(refused: list[tuple[str, str]], *, from_fork: bool) -> str:
    """One sentence for every refusal, naming the permissions, and the fork once."""
    if not refused:
        return ""
    asked = " and to ".join(f"{what} (needs `{perm}`)" for what, perm in refused)
    why = (
        "this pull request comes from a fork, whose workflows only get a read-only token"
        if from_fork
        else "a pull request from a fork only ever gets a read-only token; otherwise add the "
        "permission to the job's `permissions:`"
    )
    return (
        f"GitHub refused the token to {asked}: {why}. "
        "The report is in the step summary and the job's annotations instead."
    )

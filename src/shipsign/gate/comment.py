"""The gate's one comment on a pull request, through PyGithub: found again by its hidden first
line (`comment_marker`), edited in place, never posted twice.

Modes (`--comment`):

* `on-failure` (the default): a comment when the gate fails, kept up to date while it fails.
  Once nothing fails, an existing comment is edited to say so (or deleted, with
  `delete_resolved`); when there never was one, nothing is posted. A run that could not check
  everything (neutral) updates an existing comment with the report and creates none.
* `always`: the report is posted or updated on every run.
* `never`: no request about comments at all.

A comment counts as the gate's when its first line is the marker: a reader quoting it starts
their own with `>`, and a second gate job (another check name) has its own marker. Extra
copies (two runs racing to create one) are deleted, the oldest kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from github.IssueComment import IssueComment

from shipsign.gate.markdown import (
    DEFAULT_CHECK_NAME,
    comment_markdown,
    comment_marker,
    resolved_markdown,
)
from shipsign.gate.model import Conclusion, GateReport
from shipsign.github_api import GitHubRepo, github_errors

__all__ = ["CommentMode", "CommentResult", "find_comments", "upsert_comment"]

_log = logging.getLogger(__name__)
PULLS_READ = "pull-requests: read"
PULLS_WRITE = "pull-requests: write"


class CommentMode(str, Enum):
    ON_FAILURE = "on-failure"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentResult:
    id: int | None = None  # the comment there is now (None: none, or deleted)
    url: str | None = None
    action: str = "none"  # created | updated | unchanged | resolved | deleted | none | skipped


def _is_mine(comment: IssueComment, marker: str) -> bool:
    lines = (comment.body or "").lstrip().splitlines()
    return bool(lines) and lines[0].strip() == marker


def _same(comment: IssueComment, body: str) -> bool:
    return (comment.body or "").replace("\r\n", "\n").strip() == body.strip()


def find_comments(
    repo: GitHubRepo, pull_number: int, *, name: str = DEFAULT_CHECK_NAME
) -> list[IssueComment]:
    """The gate's comments on the pull request, oldest first (network: 1 GET per 100)."""
    marker = comment_marker(name)
    issue = repo.api.get_issue(pull_number)  # lazy: no request
    with github_errors(
        "read the pull request's comments",
        where=f"{repo.full_name}#{pull_number}",
        permission=PULLS_READ,
    ):
        return [c for c in issue.get_comments() if _is_mine(c, marker)]


def upsert_comment(
    repo: GitHubRepo,
    report: GateReport,
    *,
    pull_number: int,
    mode: CommentMode = CommentMode.ON_FAILURE,
    name: str = DEFAULT_CHECK_NAME,
    check_run_url: str = "",
    delete_resolved: bool = False,
) -> CommentResult:
    """Post, update, resolve or delete the gate's comment as `mode` says (network: the list of
    comments, then at most one write, and one DELETE per extra copy). Raises `GitHubError`."""
    if mode is CommentMode.NEVER:
        return CommentResult(action="skipped")
    where = f"{repo.full_name}#{pull_number}"
    mine = find_comments(repo, pull_number, name=name)
    keep, extra = (mine[0], mine[1:]) if mine else (None, [])
    failing = report.conclusion is Conclusion.FAILURE
    if mode is CommentMode.ON_FAILURE and not failing and report.conclusion is Conclusion.SUCCESS:
        if keep is None:
            return CommentResult()
        if delete_resolved:
            for comment in mine:
                _delete(comment, where)
            return CommentResult(action="deleted")
        result = _write(repo, pull_number, keep, resolved_markdown(
            report, name=name, check_run_url=check_run_url), where, done="resolved")  # fmt: skip
    elif mode is CommentMode.ON_FAILURE and not failing and keep is None:
        return CommentResult()  # neutral: nothing to say on a pull request without a comment
    else:
        body = comment_markdown(report, name=name, check_run_url=check_run_url)
        result = _write(repo, pull_number, keep, body, where, done="updated")
    for comment in extra:
        _delete(comment, where)
    return result


def _write(
    repo: GitHubRepo,
    pull_number: int,
    keep: IssueComment | None,
    body: str,
    where: str,
    *,
    done: str,
) -> CommentResult:
    if keep is None:
        with github_errors("comment on the pull request", where=where, permission=PULLS_WRITE):
            made = repo.api.get_issue(pull_number).create_comment(body)
            result = CommentResult(id=int(made.id), url=str(made.html_url), action="created")
        _log.debug("gate comment %d created on %s", result.id, where)
        return result
    if _same(keep, body):
        return CommentResult(id=int(keep.id), url=str(keep.html_url), action="unchanged")
    with github_errors("update the gate's comment", where=where, permission=PULLS_WRITE):
        keep.edit(body)
        result = CommentResult(id=int(keep.id), url=str(keep.html_url), action=done)
    _log.debug("gate comment %d %s on %s", result.id, done, where)
    return result


def _delete(comment: IssueComment, where: str) -> None:
    with github_errors("delete the gate's comment", where=where, permission=PULLS_WRITE):
        comment.delete()
    _log.debug("gate comment %d deleted on %s", comment.id, where)

"""The gate's check run on a pull request's head commit, through PyGithub.

Made complete in one request (status, conclusion, title, summary and the first 50 annotations),
so that the verdict is on the pull request even if a later request fails; further annotations
follow 50 a request, as GitHub allows, each PATCH resending the title and summary because a
PATCH replaces the whole output. Annotations past `max_annotations` are left out (the summary
says how many): a thousand already takes twenty writes, a second apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from github.GithubObject import NotSet

from shipsign.errors import InputError
from shipsign.gate.annotations import Annotation, report_annotations
from shipsign.gate.markdown import (
    CHECK_RUN_LIMIT,
    DEFAULT_CHECK_NAME,
    check_run_title,
    report_markdown,
    size,
)
from shipsign.gate.model import GateReport
from shipsign.github_api import GitHubRepo, github_errors

__all__ = [
    "ANNOTATIONS_PER_REQUEST",
    "DEFAULT_MAX_ANNOTATIONS",
    "CheckRunResult",
    "check_run_output",
    "publish_check_run",
]

_log = logging.getLogger(__name__)
ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit for one create or update
DEFAULT_MAX_ANNOTATIONS = 1000
CHECKS_WRITE = "checks: write"

Output = dict[str, str | list[dict[str, str | int]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckRunResult:
    id: int
    url: str  # the check run's page
    annotations: int  # sent
    left_out: int = 0  # annotations over `max_annotations`, not sent


def check_run_output(
    report: GateReport, annotations: list[Annotation], *, left_out: int = 0
) -> tuple[str, str, list[list[dict[str, str | int]]]]:
    """(title, summary, annotations in batches of 50) for `report` (pure)."""
    note = ""
    if left_out:
        note = (
            f"\n_{left_out} more annotations were left out; the table above lists every image._\n"
        )
    summary = report_markdown(report, limit=CHECK_RUN_LIMIT - size(note)) + note
    items = [a.for_check_run() for a in annotations]
    batches = [
        items[i : i + ANNOTATIONS_PER_REQUEST]
        for i in range(0, len(items), ANNOTATIONS_PER_REQUEST)
    ]
    return check_run_title(report), summary, batches


def publish_check_run(
    repo: GitHubRepo,
    report: GateReport,
    *,
    head_sha: str,
    name: str = DEFAULT_CHECK_NAME,
    details_url: str = "",
    max_annotations: int = DEFAULT_MAX_ANNOTATIONS,
    path_prefix: str = "",
) -> CheckRunResult:
    """Make the completed check run `name` on `head_sha` (network: 1 POST, and 1 PATCH per 50
    annotations past the first 50). Raises `GitHubError` (a 403 carries the permission)."""
    if not head_sha:
        raise InputError(
            "no commit to put the check run on",
            expected="the pull request's head commit (pull_request.head.sha)",
        )
    notes = report_annotations(report, path_prefix=path_prefix)
    sent, left_out = notes[: max(0, max_annotations)], max(0, len(notes) - max_annotations)
    title, summary, batches = check_run_output(report, sent, left_out=left_out)
    first: Output = {"title": title, "summary": summary}
    if batches:
        first["annotations"] = batches[0]
    where = f"{repo.full_name} commit {head_sha[:12]}"
    with github_errors("create the check run", where=where, permission=CHECKS_WRITE):
        run = repo.api.create_check_run(
            name, head_sha, status="completed", conclusion=report.conclusion.value,
            output=first, details_url=details_url or NotSet,
        )  # fmt: skip
        run_id, url = int(run.id), str(run.html_url or "")
    _log.debug("check run %s (%d) on %s: %s", name, run_id, where, report.conclusion.value)
    for batch in batches[1:]:
        with github_errors("add annotations to the check run", where=url, permission=CHECKS_WRITE):
            run.edit(output={"title": title, "summary": summary, "annotations": batch})
    return CheckRunResult(id=run_id, url=url, annotations=len(sent), left_out=left_out)

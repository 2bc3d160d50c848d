"""The fake GitHub's pull-request, check-run and comment endpoints, as PyGithub calls them
(for the PR gate, issue 16): shapes, pagination, limits, and a fork's read-only token."""

from __future__ import annotations

from collections.abc import Callable

import github
import pytest

from shipsign.release import GitHubRepo
from stack.github_api import READ_ONLY, FakeGitHub

REPO = "acme/app"
HEAD = "4b6c1f7e2d9a8b3c5e0f1a2b3c4d5e6f7a8b9c0d"


def _files(n: int) -> list[dict[str, object]]:
    return [
        {"filename": f"deploy/app{i}.yaml", "status": "modified", "sha": f"{i:040x}",
         "additions": 1, "deletions": 0, "changes": 1, "patch": "@@ -1 +1 @@"}
        for i in range(n)
    ]  # fmt: skip


def test_changed_files_are_paginated_and_capped(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    fake_github.add_pull(REPO, 7, head_sha=HEAD, files=_files(3100))
    pull = gh.api.get_pull(7)
    assert pull.head.sha == HEAD
    names = [f.filename for f in pull.get_files()]
    assert len(names) == 3000  # GitHub lists at most 3000
    assert names[0] == "deploy/app0.yaml"
    pages = fake_github.requests("GET", r"/pulls/7/files$")
    assert len(pages) == 30
    assert pages[1].query["page"] == ["2"]


def test_check_run_annotations_come_50_at_a_time(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    def notes(n: int) -> list[dict[str, str | int]]:
        return [
            {"path": "a.yaml", "start_line": i + 1, "end_line": i + 1,
             "annotation_level": "failure", "message": "unsigned"}
            for i in range(n)
        ]  # fmt: skip

    output: dict[str, str | list[dict[str, str | int]]] = {
        "title": "shipsign gate",
        "summary": "| image |",
        "annotations": notes(50),
    }
    run = gh.api.create_check_run("shipsign", HEAD, status="completed", conclusion="failure",
                                  output=output)  # fmt: skip
    assert (run.head_sha, run.conclusion, run.output.annotations_count) == (HEAD, "failure", 50)
    run.edit(output={**output, "annotations": notes(30)})
    (stored,) = fake_github.check_runs(REPO)
    assert len(stored.annotations) == 80
    with pytest.raises(github.GithubException) as err:
        run.edit(output={**output, "annotations": notes(51)})
    assert err.value.status == 422


def test_one_comment_is_found_edited_and_deleted(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    fake_github.add_pull(REPO, 8, head_sha=HEAD)
    issue = gh.api.get_issue(8)  # lazy: no request
    issue.create_comment("<!-- shipsign:pr-report -->\nfirst")
    (mine,) = [c for c in issue.get_comments() if "shipsign:pr-report" in c.body]
    assert mine.user.type == "Bot"
    mine.edit("<!-- shipsign:pr-report -->\nsecond")
    assert [c.body for c in fake_github.comments(REPO)] == ["<!-- shipsign:pr-report -->\nsecond"]
    mine.delete()
    assert fake_github.comments(REPO) == []
    assert [r.method for r in fake_github.requests()] == ["POST", "GET", "PATCH", "DELETE"]


def test_a_forks_token_may_read_but_not_report(
    fake_github: FakeGitHub, connect: Callable[..., GitHubRepo]
) -> None:
    fake_github.add_pull(REPO, 9, head_sha=HEAD, files=_files(2), head_repo="fork/app")
    fork = connect(fake_github.add_token(READ_ONLY))
    assert len(list(fork.api.get_pull(9).get_files())) == 2
    with pytest.raises(github.GithubException) as err:
        fork.api.create_check_run("shipsign", HEAD, status="completed", conclusion="success")
    assert err.value.status == 403
    assert err.value.data["message"] == "Resource not accessible by integration"
    assert (err.value.headers or {})["x-accepted-github-permissions"] == "checks=write"
    with pytest.raises(github.GithubException) as err:
        fork.api.get_issue(9).create_comment("hello")
    assert err.value.status == 403
    assert fake_github.check_runs(REPO) == []
    assert fake_github.comments(REPO) == []

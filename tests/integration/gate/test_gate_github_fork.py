"""The whole GitHub report (`report_to_github`) on the fake: a fork's read-only token falls back
without an exception and says why once; other failures are shipsign errors; the token is never
in any output."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.gate.github_gate_support import (
    HEAD,
    REPO,
    failing_report,
    open_repo,
    passing,
    report,
)
from shipsign.errors import InputError, ShipsignError, UnreachableError
from shipsign.gate.changes import changed_files, pull_request_from_api
from shipsign.gate.comment import CommentMode
from shipsign.gate.github_report import ReportOptions, report_to_github
from shipsign.github_api import GitHubError, GitHubRepo
from stack.github_api import READ_ONLY, WRITE_ALL, FakeGitHub
from stack.github_routes import error_body

PR = 7


@pytest.fixture
def pull(fake_github: FakeGitHub) -> int:
    files = [{"filename": "deploy/app.yaml", "status": "modified"}]
    fake_github.add_pull(REPO, PR, head_sha=HEAD, files=files, head_repo="someone/app")
    return PR


@pytest.fixture
def opened() -> Iterator[list[GitHubRepo]]:
    repos: list[GitHubRepo] = []
    yield repos
    for repo in repos:
        repo.close()


def _open(fake: FakeGitHub, opened: list[GitHubRepo], token: str | None = None) -> GitHubRepo:
    repo = open_repo(fake, token)
    opened.append(repo)
    return repo


def test_the_full_report_makes_the_check_run_then_the_comment(
    fake_github: FakeGitHub, opened: list[GitHubRepo], pull: int
) -> None:
    gh = _open(fake_github, opened)
    done = report_to_github(gh, failing_report(60), head_sha=HEAD, pull_number=pull)

    assert done.fell_back == ""
    assert done.check_run_id is not None
    assert done.comment_id is not None
    assert done.annotations == 60
    assert not done.needs_workflow_annotations
    assert done.comment_action == "created"
    assert [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in fake_github.requests()] == [
        ("POST", "check-runs", 201),
        ("PATCH", str(done.check_run_id), 200),
        ("GET", "comments", 200),
        ("POST", "comments", 201),
    ]
    (comment,) = fake_github.comments(REPO)
    assert f"[Details in the check run]({done.check_run_url})" in comment.body


def test_a_forks_read_only_token_falls_back_and_says_why_once(
    fake_github: FakeGitHub, opened: list[GitHubRepo], pull: int
) -> None:
    fork = _open(fake_github, opened, fake_github.add_token(READ_ONLY))
    info = pull_request_from_api(fork, pull)
    fake_github.reset_log()

    done = report_to_github(
        fork, failing_report(3), head_sha=info.head_sha, pull_number=pull, from_fork=info.from_fork
    )

    assert (done.check_run_id, done.check_run_url, done.comment_id, done.comment_url) == (
        None, None, None, None
    )  # fmt: skip
    assert done.needs_workflow_annotations
    reason = done.fell_back
    assert reason.count("fork") == 1
    assert "`checks: write`" in reason
    assert "`pull-requests: write`" in reason
    assert reason.count("GitHub refused") == 1
    assert "step summary" in reason
    assert [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in fake_github.requests()] == [
        ("POST", "check-runs", 403),  # refused: never retried
        ("GET", "comments", 200),
        ("POST", "comments", 403),
    ]
    assert fake_github.check_runs(REPO) == []
    assert fake_github.comments(REPO) == []


def test_a_job_without_checks_write_still_comments(
    fake_github: FakeGitHub, opened: list[GitHubRepo], pull: int
) -> None:
    token = fake_github.add_token({**WRITE_ALL, "checks": "read"})
    done = report_to_github(
        _open(fake_github, opened, token), failing_report(1), head_sha=HEAD, pull_number=pull
    )
    assert done.check_run_id is None
    assert done.comment_id is not None
    assert "create the check run (needs `checks: write`)" in done.fell_back
    assert "comment" not in done.fell_back.split(":")[0]
    assert "permissions:" in done.fell_back  # not known to be a fork: the job's settings


def test_without_a_pull_request_only_the_check_run_is_made(
    fake_github: FakeGitHub, opened: list[GitHubRepo]
) -> None:
    done = report_to_github(_open(fake_github, opened), report([passing(0)]), head_sha=HEAD)
    assert done.check_run_id is not None
    assert done.comment_id is None
    assert [r.method for r in fake_github.requests()] == ["POST"]


def test_comment_never_and_no_check_run_make_no_request(
    fake_github: FakeGitHub, opened: list[GitHubRepo], pull: int
) -> None:
    options = ReportOptions(comment=CommentMode.NEVER, check_run=False)
    done = report_to_github(
        _open(fake_github, opened), failing_report(1), head_sha=HEAD, pull_number=pull,
        options=options,
    )  # fmt: skip
    assert done.comment_action == "skipped"
    assert done.fell_back == ""
    assert fake_github.requests() == []


def test_a_rate_limit_is_not_a_fallback_but_an_error(
    fake_github: FakeGitHub, opened: list[GitHubRepo], pull: int
) -> None:
    limited = error_body("API rate limit exceeded for installation ID 4242.", 403)
    fake_github.add_fault("POST", "/check-runs", 403, body=limited, times=1)
    with pytest.raises(GitHubError) as err:
        report_to_github(_open(fake_github, opened), failing_report(1), head_sha=HEAD,
                         pull_number=pull)  # fmt: skip
    assert "rate limit" in err.value.what


def test_a_server_error_is_a_shipsign_error_exit_3(
    fake_github: FakeGitHub, opened: list[GitHubRepo], pull: int
) -> None:
    fake_github.add_fault("GET", "/comments", 502, times=None)
    with pytest.raises(UnreachableError) as err:
        report_to_github(_open(fake_github, opened), failing_report(1), head_sha=HEAD,
                         pull_number=pull)  # fmt: skip
    assert "502" in err.value.what
    assert len(fake_github.check_runs(REPO)) == 1  # the verdict is on the commit already


def test_the_token_is_in_no_log_error_or_output(
    fake_github: FakeGitHub,
    opened: list[GitHubRepo],
    pull: int,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="github")
    writer_token = fake_github.add_token()
    reader_token = fake_github.add_token(READ_ONLY)
    writer = _open(fake_github, opened, writer_token)
    reader = _open(fake_github, opened, reader_token)
    results = [
        report_to_github(writer, failing_report(55), head_sha=HEAD, pull_number=pull),
        report_to_github(reader, failing_report(2), head_sha=HEAD, pull_number=pull),
        changed_files(tmp_path, repo=reader, pull_number=pull),
    ]
    errors: list[ShipsignError] = []
    fake_github.add_fault("POST", "/check-runs", 500, times=None)
    for attempt in (
        lambda: report_to_github(writer, failing_report(1), head_sha=HEAD, pull_number=pull),
        lambda: report_to_github(
            _open(fake_github, opened, writer_token + "x"), failing_report(1), head_sha=HEAD
        ),
        lambda: changed_files(tmp_path, repo=writer, pull_number=999),
        lambda: changed_files(tmp_path, base="main"),
    ):
        try:
            attempt()
        except ShipsignError as exc:
            errors.append(exc)
    assert [type(e) for e in errors] == [GitHubError, GitHubError, InputError, InputError]
    assert any(r.name.startswith("github") for r in caplog.records), "PyGithub logged nothing"
    texts = [caplog.text, *capsys.readouterr(), *(repr(r) for r in results)]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args)]
    for error in errors:
        texts.append("".join(traceback.format_exception(error)))
        texts += [error.what, error.where, error.found, error.hint, error.expected]
    for text in texts:
        for token in (writer_token, reader_token):
            assert token not in text
            assert token[4:] not in text

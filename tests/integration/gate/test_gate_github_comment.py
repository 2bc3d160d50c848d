"""The gate's one pull-request comment on the fake GitHub: found by its marker (across pages),
edited in place on reruns, resolved or deleted once passing, never posted for nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration.gate.github_gate_support import (
    REPO,
    failing,
    failing_report,
    open_repo,
    passing,
    report,
    unreachable,
)
from shipsign.gate.comment import CommentMode, upsert_comment
from shipsign.gate.markdown import comment_marker
from shipsign.github_api import GitHubRepo
from stack.github_api import FakeGitHub

PR = 7
LIST = f"/api/v3/repos/{REPO}/issues/{PR}/comments"
ONE = f"/api/v3/repos/{REPO}/issues/comments/"
MARKER = comment_marker()


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Iterator[GitHubRepo]:
    fake_github.add_pull(REPO, PR, head_sha="a" * 40)
    repo = open_repo(fake_github)
    yield repo
    repo.close()


def _calls(fake: FakeGitHub) -> list[tuple[str, str]]:
    return [(r.method, "list" if r.path == LIST else "one") for r in fake.requests()]


def test_reruns_update_the_one_comment(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    ids = []
    for run, sha in enumerate(("1" * 40, "2" * 40, "3" * 40)):
        gate = report([failing(i) for i in range(run + 1)], head_sha=sha)
        ids.append(upsert_comment(gh, gate, pull_number=PR).id)

    assert len(set(ids)) == 1
    assert ids[0] is not None
    (comment,) = fake_github.comments(REPO)
    assert comment.id == ids[0]
    assert comment.body.startswith(MARKER + "\n")
    assert "3 of 3 images fail the gate" in comment.body
    assert _calls(fake_github) == [
        ("GET", "list"), ("POST", "list"),
        ("GET", "list"), ("PATCH", "one"),
        ("GET", "list"), ("PATCH", "one"),
    ]  # fmt: skip
    assert "1 of 1 image fails the gate" in _first_body(fake_github)
    patches = [r.body_json or {} for r in fake_github.requests("PATCH")]
    assert [set(p) for p in patches] == [{"body"}, {"body"}]
    assert "2 of 2 images fail the gate" in patches[0]["body"]


def _first_body(fake: FakeGitHub) -> str:
    body = (fake.requests("POST")[0].body_json or {}).get("body")
    assert isinstance(body, str)
    return body


def test_the_same_report_twice_makes_no_write(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    first = upsert_comment(gh, failing_report(2), pull_number=PR)
    second = upsert_comment(gh, failing_report(2), pull_number=PR)
    assert (first.action, second.action) == ("created", "unchanged")
    assert first.id == second.id
    assert _calls(fake_github) == [("GET", "list"), ("POST", "list"), ("GET", "list")]


def test_on_failure_a_passing_report_posts_nothing(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    done = upsert_comment(gh, report([passing(0)]), pull_number=PR)
    assert (done.id, done.action) == (None, "none")
    assert _calls(fake_github) == [("GET", "list")]
    assert fake_github.comments(REPO) == []


def test_on_failure_an_inconclusive_report_posts_nothing_but_updates(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    inconclusive = report([passing(0), unreachable(1)])
    assert upsert_comment(gh, inconclusive, pull_number=PR).action == "none"
    upsert_comment(gh, failing_report(1), pull_number=PR)
    assert upsert_comment(gh, inconclusive, pull_number=PR).action == "updated"
    (comment,) = fake_github.comments(REPO)
    assert "1 image could not be checked" in comment.body


def test_passing_after_failing_marks_the_comment_resolved(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    made = upsert_comment(gh, failing_report(2), pull_number=PR)
    fixed = upsert_comment(gh, report([passing(0), passing(1)]), pull_number=PR)

    assert (fixed.id, fixed.action) == (made.id, "resolved")
    (comment,) = fake_github.comments(REPO)
    assert comment.body.startswith(MARKER + "\n")
    assert "resolved" in comment.body
    assert "All 2 images pass the gate." in comment.body
    assert "bad0" not in comment.body  # the failures are gone from it
    assert _calls(fake_github)[-1] == ("PATCH", "one")
    again = upsert_comment(gh, report([passing(0), passing(1)]), pull_number=PR)
    assert again.action == "unchanged"


def test_delete_resolved_deletes_it_instead(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    upsert_comment(gh, failing_report(1), pull_number=PR)
    done = upsert_comment(gh, report([passing(0)]), pull_number=PR, delete_resolved=True)
    assert (done.id, done.action) == (None, "deleted")
    assert fake_github.comments(REPO) == []
    assert _calls(fake_github)[-1] == ("DELETE", "one")


def test_never_makes_no_request(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    done = upsert_comment(gh, failing_report(3), pull_number=PR, mode=CommentMode.NEVER)
    assert done.action == "skipped"
    assert fake_github.requests() == []


def test_always_posts_a_passing_report(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    done = upsert_comment(gh, report([passing(0)]), pull_number=PR, mode=CommentMode.ALWAYS)
    assert done.action == "created"
    (comment,) = fake_github.comments(REPO)
    assert "The image passes the gate" in comment.body


def test_the_marker_is_found_on_a_later_page_and_copies_are_removed(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    fake_github.max_per_page = 2
    issue = gh.api.get_issue(PR)
    for i in range(4):
        issue.create_comment(f"a reviewer's comment {i}")
    issue.create_comment(f"> {MARKER}\n> quoted by a reviewer")  # not the gate's
    oldest = issue.create_comment(f"{MARKER}\nold report")
    issue.create_comment(f"{MARKER}\na copy from a racing run")
    issue.create_comment(f"{comment_marker('other gate')}\nanother job's comment")
    fake_github.reset_log()

    done = upsert_comment(gh, failing_report(1), pull_number=PR)

    assert (done.id, done.action) == (oldest.id, "updated")
    assert len(fake_github.requests("GET", "/comments$")) == 4  # 8 comments, 2 a page
    bodies = [c.body for c in fake_github.comments(REPO)]
    mine = [b for b in bodies if b.startswith(MARKER)]
    assert len(mine) == 1
    assert "1 of 1 image fails the gate" in mine[0]
    assert f"> {MARKER}\n> quoted by a reviewer" in bodies
    assert any(b.startswith(comment_marker("other gate")) for b in bodies)
    assert len(bodies) == 7
    assert [r.method for r in fake_github.requests() if r.method != "GET"] == ["PATCH", "DELETE"]


def test_the_comment_stays_under_githubs_limit(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    gate = report([failing(i, uses=4) for i in range(2000)])
    done = upsert_comment(gh, gate, pull_number=PR, check_run_url="http://x/runs/1")
    assert done.action == "created"  # GitHub took it
    (comment,) = fake_github.comments(REPO)
    assert len(comment.body) <= 65536
    assert comment.body.rstrip().endswith("[Details in the check run](http://x/runs/1)")
    assert "more rows (" in comment.body

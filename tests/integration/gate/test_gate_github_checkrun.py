"""The gate's check run on the fake GitHub: completed with the report's conclusion on the head
commit, annotations 50 a request (the rest by PATCH, each resending title and summary), and a
summary cut under GitHub's 65,535 bytes that keeps the failing rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integration.gate.github_gate_support import (
    HEAD,
    REPO,
    failing,
    failing_report,
    open_repo,
    passing,
    report,
    unreachable,
)
from shipsign.errors import InputError
from shipsign.gate.checkrun import publish_check_run
from shipsign.gate.markdown import CHECK_RUN_LIMIT
from shipsign.github_api import GitHubRepo
from stack.github_api import FakeGitHub, Recorded

RUNS = f"/api/v3/repos/{REPO}/check-runs"


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Iterator[GitHubRepo]:
    repo = open_repo(fake_github)
    yield repo
    repo.close()


def _output(request: Recorded) -> dict[str, Any]:
    assert isinstance(request.body_json, dict)
    output = request.body_json["output"]
    assert isinstance(output, dict)
    return output


def test_120_failing_references_take_one_post_and_two_patches(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    gate = report([failing(i, uses=3) for i in range(40)] + [passing(i) for i in range(3)])

    done = publish_check_run(gh, gate, head_sha=HEAD)

    requests = fake_github.requests()
    assert [(r.method, r.path, r.status) for r in requests] == [
        ("POST", RUNS, 201),
        ("PATCH", f"{RUNS}/{done.id}", 200),
        ("PATCH", f"{RUNS}/{done.id}", 200),
    ]
    outputs = [_output(r) for r in requests]
    assert [len(o["annotations"]) for o in outputs] == [50, 50, 20]
    assert all(o["title"] == "40 of 43 images fail the gate" for o in outputs)
    assert all(o["summary"] == outputs[0]["summary"] for o in outputs)
    post = requests[0].body_json
    assert post is not None
    assert (post["name"], post["head_sha"], post["status"], post["conclusion"]) == (
        "shipsign gate", HEAD, "completed", "failure"
    )  # fmt: skip
    assert "status" not in (requests[1].body_json or {})  # the verdict was set once, up front
    (run,) = fake_github.check_runs(REPO)
    assert (run.head_sha, run.status, run.conclusion) == (HEAD, "completed", "failure")
    assert len(run.annotations) == 120
    assert {a["annotation_level"] for a in run.annotations} == {"failure"}
    first = run.annotations[0]
    assert (first["path"], first["start_line"], first["end_line"]) == ("deploy/bad0.yaml", 10, 10)
    assert "ghcr.io/acme/bad0:1.0" in first["message"]
    assert (done.annotations, done.left_out) == (120, 0)
    assert done.url.endswith(f"/{REPO}/runs/{done.id}")


def test_fifty_annotations_or_fewer_take_one_request(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    publish_check_run(gh, failing_report(50), head_sha=HEAD, details_url="https://ci.example/1")
    (post,) = fake_github.requests()
    assert post.method == "POST"
    assert len(_output(post)["annotations"]) == 50
    assert (post.body_json or {})["details_url"] == "https://ci.example/1"


@pytest.mark.parametrize(
    ("images", "conclusion", "title"),
    [
        ([passing(0), passing(1)], "success", "All 2 images pass the gate"),
        ([passing(0), unreachable(0)], "neutral", "1 image could not be checked"),
        ([], "neutral", "No image references in the changed files"),
        ([failing(0), unreachable(1)], "failure", "1 of 2 images fail the gate"),
    ],
)
def test_the_conclusion_is_the_reports(
    fake_github: FakeGitHub, gh: GitHubRepo, images: list[Any], conclusion: str, title: str
) -> None:
    publish_check_run(gh, report(images), head_sha=HEAD)
    (run,) = fake_github.check_runs(REPO)
    assert run.conclusion == conclusion
    assert str(run.output["title"]).startswith(title)
    levels = {a["annotation_level"] for a in run.annotations}
    assert levels == ({"failure"} if conclusion == "failure" else set()) | (
        {"warning"} if any(i.verdict.value == "unreachable" for i in images) else set()
    )


def test_a_report_of_thousands_of_images_is_cut_under_the_limit_failing_rows_kept(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    gate = report([passing(i) for i in range(3000)] + [failing(i) for i in range(150)])

    done = publish_check_run(gh, gate, head_sha=HEAD, max_annotations=120)

    requests = fake_github.requests()
    assert [r.status for r in requests] == [201, 200, 200]  # GitHub took every summary
    summary = _output(requests[0])["summary"]
    assert len(summary.encode()) <= CHECK_RUN_LIMIT
    assert "Checked 3150 images" in summary
    assert "150 failing" in summary
    for i in range(150):
        assert f"`ghcr.io/acme/bad{i}:1.0`" in summary
    assert summary.index("bad149") < summary.index("good0:")
    assert "more rows not shown" in summary
    assert "30 more annotations were left out" in summary
    assert (done.annotations, done.left_out) == (120, 30)
    assert len(fake_github.check_runs(REPO)[0].annotations) == 120


def test_a_missing_head_commit_is_refused_before_any_request(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    with pytest.raises(InputError, match="no commit"):
        publish_check_run(gh, failing_report(1), head_sha="")
    assert fake_github.requests() == []

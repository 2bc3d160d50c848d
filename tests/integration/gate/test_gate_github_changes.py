"""Which files a change touches: a pull request's files through PyGithub (pages of 100, at most
3000, renamed by their new name, removed left out), `git diff BASE...HEAD` in a real clone, and
the pull request's head commit from the event payload or the API."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.gate.github_gate_support import HEAD, REPO, open_repo
from shipsign.errors import InputError
from shipsign.gate.changes import (
    changed_files,
    git_changed_files,
    pull_request_files,
    pull_request_from_api,
    pull_request_from_event,
)
from shipsign.github_api import GitHubRepo
from stack.github_api import FakeGitHub

BASE = "9" * 40


@pytest.fixture
def gh(fake_github: FakeGitHub) -> Iterator[GitHubRepo]:
    repo = open_repo(fake_github)
    yield repo
    repo.close()


def _file(name: str, status: str = "modified", **extra: Any) -> dict[str, Any]:
    return {"filename": name, "status": status, "sha": "1" * 40, "additions": 1,
            "deletions": 0, "changes": 1, **extra}  # fmt: skip


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    argv = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
            "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]  # fmt: skip
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, check=True, text=True)
    return done.stdout.strip()


def _write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A repository: `main` with four files, `feature` adding, changing, renaming, copying and
    deleting some (and `main` moving on after the fork, which BASE...HEAD must ignore)."""
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q")
    _write(root, "deploy/app.yaml", "image: a:1\n")
    _write(root, "deploy/old name.yaml", "image: b:1\n" * 20)
    _write(root, "Dockerfile", "FROM alpine:3.20\n")
    _write(root, "compose.yaml", "services: {}\n" * 20)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    _git(root, "checkout", "-q", "-b", "feature")
    _write(root, "deploy/app.yaml", "image: a:2\n")
    _write(root, "deploy/new.yaml", "image: c:1\n")
    _write(root, "charts/ünïcode, with comma.yaml", "image: d:1\n")
    (root / "Dockerfile").unlink()
    _git(root, "mv", "deploy/old name.yaml", "deploy/renamed.yaml")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "change")
    _git(root, "checkout", "-q", "main")
    _write(root, "main-only.yaml", "x: 1\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "main moves on")
    _git(root, "checkout", "-q", "feature")
    return root


EXPECTED = ("charts/ünïcode, with comma.yaml", "deploy/app.yaml", "deploy/new.yaml",
            "deploy/renamed.yaml")  # fmt: skip


# --- the pull request's files ------------------------------------------------------------------
def test_pull_files_come_in_pages_of_100_renamed_by_new_name_removed_left_out(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    files = [_file(f"deploy/app{i:03}.yaml") for i in range(245)]
    files += [_file("deploy/gone.yaml", "removed"), _file("k8s/new.yaml", "renamed",
              previous_filename="k8s/old.yaml"), _file("k8s/copy.yaml", "copied"),
              _file("k8s/added.yaml", "added")]  # fmt: skip
    fake_github.add_pull(REPO, 7, head_sha=HEAD, files=files, head_repo=REPO)

    found = changed_files(Path("."), repo=gh, pull_number=7)

    assert found.source == "pull request #7"
    assert found.complete
    assert found.warnings == ()
    assert len(found.paths) == 245 + 3
    assert "k8s/new.yaml" in found.paths
    assert "k8s/old.yaml" not in found.paths
    assert "deploy/gone.yaml" not in found.paths
    assert found.paths == tuple(sorted(found.paths))
    assert found.pull is not None
    assert (found.pull.number, found.pull.head_sha, found.pull.from_fork) == (7, HEAD, False)
    assert [(r.method, r.path) for r in fake_github.requests()] == [
        ("GET", f"/api/v3/repos/{REPO}/pulls/7")
    ] + [("GET", f"/api/v3/repos/{REPO}/pulls/7/files")] * 3
    pages = fake_github.requests("GET", "/files$")
    assert [(r.query.get("per_page"), r.query.get("page")) for r in pages] == [
        (["100"], None), (["100"], ["2"]), (["100"], ["3"])
    ]  # fmt: skip


def test_more_than_3000_files_without_a_clone_is_partial_and_says_so(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    fake_github.add_pull(REPO, 8, head_sha=HEAD, files=[_file(f"f{i}.yaml") for i in range(3200)])

    found = pull_request_files(gh, 8)

    assert len(found.paths) == 3000
    assert not found.complete
    (warning,) = found.warnings
    assert "3200 files" in warning
    assert "3000" in warning
    assert "--base" in warning
    assert len(fake_github.requests("GET", "/files$")) == 30  # never a page past GitHub's limit


def test_more_than_3000_files_are_listed_by_git_when_the_clone_has_the_base(
    fake_github: FakeGitHub, gh: GitHubRepo, clone: Path
) -> None:
    base = _git(clone, "rev-parse", "main")
    head = _git(clone, "rev-parse", "feature")
    files = [_file(f"f{i}.yaml") for i in range(3001)]
    fake_github.add_pull(REPO, 9, head_sha=head, files=files)
    with fake_github._lock:  # the fake's base commit is fixed; point it at the clone's
        fake_github._repo(REPO).pulls[9].base_sha = base

    found = pull_request_files(gh, 9, root=clone)

    assert found.paths == EXPECTED
    assert found.complete
    assert found.source == f"pull request #9 (git diff {base[:12]}...{head[:12]})"
    assert "git diff instead" in found.warnings[0]
    assert fake_github.requests("GET", "/files$") == []


def test_more_than_3000_files_and_a_shallow_clone_fall_back_to_the_first_3000(
    fake_github: FakeGitHub, gh: GitHubRepo, clone: Path
) -> None:
    fake_github.add_pull(REPO, 10, head_sha=HEAD, files=[_file(f"f{i}.y") for i in range(3001)])

    found = pull_request_files(gh, 10, root=clone)  # the fake's base commit is not in the clone

    assert len(found.paths) == 3000
    assert not found.complete
    assert "git could not list them all" in found.warnings[0]


def test_an_unknown_pull_request_is_an_input_error(gh: GitHubRepo) -> None:
    with pytest.raises(InputError) as err:
        changed_files(Path("."), repo=gh, pull_number=404)
    assert "acme/app#404" in err.value.where


# --- git diff ----------------------------------------------------------------------------------
def test_git_diff_lists_added_changed_renamed_not_deleted(clone: Path) -> None:
    found = git_changed_files(clone, "main")
    assert found.paths == EXPECTED
    assert found.source == "git diff main...HEAD"
    assert found.pull is None
    assert found.complete


def test_a_base_ref_means_git_even_with_a_pull_request(
    fake_github: FakeGitHub, gh: GitHubRepo, clone: Path
) -> None:
    fake_github.add_pull(REPO, 7, head_sha=HEAD, files=[_file("other.yaml")])
    found = changed_files(clone, base="main", repo=gh, pull_number=7)
    assert found.paths == EXPECTED
    assert fake_github.requests() == []


def test_paths_are_relative_to_the_repository_top_from_a_subdirectory(clone: Path) -> None:
    assert git_changed_files(clone / "deploy", "main", "feature").paths == EXPECTED


def test_an_unknown_base_is_an_input_error_naming_it(clone: Path) -> None:
    with pytest.raises(InputError) as err:
        git_changed_files(clone, "origin/nope")
    assert "origin/nope...HEAD" in err.value.what
    assert "origin/nope" in err.value.expected
    assert "fetch-depth: 0" in err.value.hint
    assert err.value.found  # git's own words


def test_not_a_clone_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        changed_files(tmp_path, base="main")
    assert "main...HEAD" in err.value.what
    assert "not a git repository" in err.value.found.lower()


@pytest.mark.parametrize("ref", ["--output=/tmp/x", "", "a b", "-p"])
def test_a_ref_that_git_would_read_as_an_option_is_refused(clone: Path, ref: str) -> None:
    with pytest.raises(InputError, match="not a git revision"):
        git_changed_files(clone, ref)


def test_no_base_and_no_pull_request_is_an_input_error(clone: Path) -> None:
    with pytest.raises(InputError, match="cannot tell which files"):
        changed_files(clone)


# --- the pull request's head commit ------------------------------------------------------------
def _event(tmp_path: Path, doc: object) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(doc))
    return {"GITHUB_EVENT_PATH": str(path)}


def _pr_event(head_repo: str | None) -> dict[str, Any]:
    repo = {"full_name": head_repo} if head_repo else None
    return {
        "action": "synchronize",
        "number": 12,
        "pull_request": {
            "number": 12,
            "head": {"sha": HEAD, "ref": "feature", "repo": repo},
            "base": {"sha": BASE, "ref": "main", "repo": {"full_name": REPO}},
        },
        "repository": {"full_name": REPO},
    }


def test_the_event_gives_the_head_commit_and_tells_a_fork(tmp_path: Path) -> None:
    own = pull_request_from_event(_event(tmp_path, _pr_event(REPO)))
    assert own is not None
    assert (own.number, own.head_sha, own.base_sha, own.from_fork) == (12, HEAD, BASE, False)
    fork = pull_request_from_event(_event(tmp_path, _pr_event("someone/app")))
    assert fork is not None
    assert fork.from_fork
    assert fork.head_repo == "someone/app"
    gone = pull_request_from_event(_event(tmp_path, _pr_event(None)))
    assert gone is not None
    assert gone.from_fork


def test_other_events_and_no_payload_give_none(tmp_path: Path) -> None:
    assert pull_request_from_event({}) is None
    assert (
        pull_request_from_event(_event(tmp_path, {"after": HEAD, "ref": "refs/heads/main"})) is None
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "not a JSON object"),
        ("{not json", "not a JSON object"),
        ('{"pull_request": {"number": 3, "head": {"sha": "main"}}}', "no number or head commit"),
    ],
)
def test_a_bad_payload_is_an_input_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "event.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        pull_request_from_event({"GITHUB_EVENT_PATH": str(path)})


def test_a_missing_payload_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read") as err:
        pull_request_from_event({"GITHUB_EVENT_PATH": str(tmp_path / "nope.json")})
    assert err.value.where.endswith("nope.json")


def test_the_api_gives_the_head_commit_in_one_request(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    fake_github.add_pull(REPO, 5, head_sha=HEAD, head_repo="someone/app")
    info = pull_request_from_api(gh, 5)
    assert (info.head_sha, info.head_repo, info.base_repo) == (HEAD, "someone/app", REPO)
    assert info.from_fork
    assert len(fake_github.requests()) == 1

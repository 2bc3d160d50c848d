"""Finding the release for a tag (drafts included), making a draft, refusing immutable ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shipsign.errors import InputError
from shipsign.present.exitcodes import exit_code_for
from shipsign.release import GitHubRepo, find_release, open_release
from stack.github_api import READ_ONLY, FakeGitHub

REPO = "acme/app"


def _calls(fake: FakeGitHub) -> list[tuple[str, str, int]]:
    return [(r.method, r.path.removeprefix("/api/v3/repos/acme/app"), r.status)
            for r in fake.requests()]  # fmt: skip


def test_published_release_is_found_with_one_request(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    rid = fake_github.add_release(REPO, "v1.2.3")
    release = find_release(gh, "v1.2.3")
    assert release is not None
    assert (release.id, release.tag, release.draft, release.immutable) == (
        rid,
        "v1.2.3",
        False,
        False,
    )
    assert _calls(fake_github) == [("GET", "/releases/tags/v1.2.3", 200)]
    assert fake_github.requests()[0].auth == "token"


def test_draft_is_found_by_listing_every_page(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    fake_github.max_per_page = 2
    draft = fake_github.add_release(REPO, "v2.0.0", draft=True)  # oldest: on the last page
    for n in range(4):
        fake_github.add_release(REPO, f"v1.{n}.0")
    release = find_release(gh, "v2.0.0")
    assert release is not None
    assert release.id == draft
    assert release.draft
    assert _calls(fake_github) == [
        ("GET", "/releases/tags/v2.0.0", 404),  # the tag endpoint never shows drafts
        ("GET", "/releases", 200),
        ("GET", "/releases", 200),
        ("GET", "/releases", 200),
    ]
    assert [r.query.get("page") for r in fake_github.requests()[1:]] == [None, ["2"], ["3"]]


def test_no_release_is_none_and_open_says_how_to_make_one(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    assert find_release(gh, "v9") is None
    with pytest.raises(InputError) as err:
        open_release(gh, "v9")
    assert exit_code_for(err.value) == 2
    assert "no release for tag v9 in acme/app" in err.value.what
    assert "--create-release" in err.value.hint
    assert not fake_github.requests("POST")


def test_a_read_only_token_does_not_see_drafts(
    fake_github: FakeGitHub, connect: Callable[..., GitHubRepo]
) -> None:
    fake_github.add_release(REPO, "v1", draft=True)
    reader = connect(fake_github.add_token(READ_ONLY))
    assert find_release(reader, "v1") is None
    assert find_release(connect(), "v1") is not None


def test_create_release_makes_a_draft(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    release = open_release(gh, "v3.0.0", create=True)
    assert release.draft
    assert release.tag == "v3.0.0"
    assert fake_github.releases(REPO) == [(release.id, "v3.0.0", True, False)]
    posts = fake_github.requests("POST")
    assert [r.path for r in posts] == ["/api/v3/repos/acme/app/releases"]
    # A rerun finds the draft instead of making a second one.
    assert open_release(gh, "v3.0.0", create=True).id == release.id
    assert len(fake_github.requests("POST")) == 1


def test_an_immutable_release_is_refused_before_anything_is_sent(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    fake_github.add_release(REPO, "v1.0.0", immutable=True)
    with pytest.raises(InputError) as err:
        open_release(gh, "v1.0.0", create=True)
    assert exit_code_for(err.value) == 2
    assert "is immutable" in err.value.what
    assert "upload while the release is a draft, and publish it afterwards" in err.value.hint
    assert {r.method for r in fake_github.requests()} == {"GET"}

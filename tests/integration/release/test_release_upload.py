"""Idempotent asset uploads against the fake GitHub: what is sent, and what is not."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from shipsign.errors import InputError
from shipsign.present.exitcodes import exit_code_for
from shipsign.release import (
    AssetFile,
    GitHubRepo,
    Outcome,
    UploadIncomplete,
    open_release,
    upload_assets,
)
from stack.github_api import READ_ONLY, FakeGitHub

REPO = "acme/app"
MakeFile = Callable[[str, bytes], AssetFile]
UPLOADS = "/api/uploads/"


def _methods(fake: FakeGitHub) -> list[tuple[str, int]]:
    return [(r.method, r.status) for r in fake.requests()]


def test_a_rerun_uploads_nothing(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile
) -> None:
    rid = fake_github.add_release(REPO, "v1", draft=True)
    files = [make_file("a.tar.gz.sigstore.json", b'{"a": 1}'), make_file("b.sigstore.json", b"{}")]
    release = open_release(gh, "v1")
    first = upload_assets(gh, release, files)
    assert [r.outcome for r in first.results] == [Outcome.UPLOADED, Outcome.UPLOADED]
    assert first.uploads == 2
    assert fake_github.assets(REPO, rid) == [
        ("a.tar.gz.sigstore.json", "uploaded", b'{"a": 1}'),
        ("b.sigstore.json", "uploaded", b"{}"),
    ]
    posts = fake_github.requests("POST", UPLOADS)
    assert [(p.query["name"], p.headers["content-type"], p.body_size) for p in posts] == [
        (["a.tar.gz.sigstore.json"], "application/json", 8),
        (["b.sigstore.json"], "application/json", 2),
    ]
    fake_github.reset_log()
    again = upload_assets(gh, release, files)
    assert again.uploads == 0
    assert [r.outcome for r in again.results] == [Outcome.UNCHANGED, Outcome.UNCHANGED]
    assert [(r.method, r.path) for r in fake_github.requests()] == [
        ("GET", f"/api/v3/repos/acme/app/releases/{rid}/assets")
    ]


def test_other_content_is_a_conflict_unless_forced(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile
) -> None:
    rid = fake_github.add_release(REPO, "v1", draft=True)
    fake_github.add_asset(REPO, rid, "x.sigstore.json", b'{"old": true}')
    ours = make_file("x.sigstore.json", b'{"new": true}')
    release = open_release(gh, "v1")
    fake_github.reset_log()
    report = upload_assets(gh, release, [ours])
    (result,) = report.conflicts
    assert result.name == "x.sigstore.json"
    assert result.outcome is Outcome.CONFLICT
    assert "other content" in result.detail
    assert report.uploads == 0
    assert {r.method for r in fake_github.requests()} == {"GET"}
    forced = upload_assets(gh, release, [ours], force=True)
    assert [r.outcome for r in forced.results] == [Outcome.REPLACED]
    assert fake_github.assets(REPO, rid) == [("x.sigstore.json", "uploaded", b'{"new": true}')]
    assert [m for m, _ in _methods(fake_github)] == ["GET", "GET", "DELETE", "POST"]


def test_without_digests_the_asset_is_downloaded_and_hashed(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile
) -> None:
    fake_github.digests = False  # as an older GHES
    rid = fake_github.add_release(REPO, "v1", draft=True)
    fake_github.add_asset(REPO, rid, "same.json", b"12345")
    fake_github.add_asset(REPO, rid, "other.json", b"abcde")  # same size, other bytes
    release = open_release(gh, "v1")
    fake_github.reset_log()
    report = upload_assets(
        gh, release, [make_file("same.json", b"12345"), make_file("other.json", b"54321")]
    )
    assert [r.outcome for r in report.results] == [Outcome.UNCHANGED, Outcome.CONFLICT]
    storage = fake_github.requests("GET", "/_storage/")
    assert [r.path.rsplit("/", 1)[-1] for r in storage] == ["same.json", "other.json"]
    assert not fake_github.requests("POST")


def test_a_concurrent_uploader_with_the_same_content_is_fine(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile
) -> None:
    rid = fake_github.add_release(REPO, "v1", draft=True)
    release = open_release(gh, "v1")
    fake_github.race_upload("c.json", b"same")
    fake_github.race_upload("d.json", b"theirs")
    report = upload_assets(
        gh, release, [make_file("c.json", b"same"), make_file("d.json", b"ours")]
    )
    assert [r.outcome for r in report.results] == [Outcome.UNCHANGED, Outcome.CONFLICT]
    assert [s for m, s in _methods(fake_github) if m == "POST"] == [422, 422]
    assert fake_github.assets(REPO, rid) == [
        ("c.json", "uploaded", b"same"),
        ("d.json", "uploaded", b"theirs"),
    ]


def test_a_starter_asset_from_an_earlier_failure_is_replaced(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile
) -> None:
    rid = fake_github.add_release(REPO, "v1", draft=True)
    fake_github.add_asset(REPO, rid, "s.json", b"", state="starter")
    release = open_release(gh, "v1")
    fake_github.reset_log()
    report = upload_assets(gh, release, [make_file("s.json", b"{}")])
    assert [r.outcome for r in report.results] == [Outcome.UPLOADED]
    assert _methods(fake_github) == [("GET", 200), ("DELETE", 204), ("POST", 201)]
    assert fake_github.assets(REPO, rid) == [("s.json", "uploaded", b"{}")]


def test_a_502_that_leaves_a_starter_is_cleaned_up_and_retried(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile, waits: list[float]
) -> None:
    rid = fake_github.add_release(REPO, "v1", draft=True)
    release = open_release(gh, "v1")
    fake_github.add_fault("POST", UPLOADS, 502, leave_starter=True)
    fake_github.reset_log()
    report = upload_assets(gh, release, [make_file("f.json", b"content")])
    assert [r.outcome for r in report.results] == [Outcome.UPLOADED]
    assert _methods(fake_github) == [
        ("GET", 200),
        ("POST", 502),  # not retried blindly: a POST that failed may have left something
        ("GET", 200),
        ("DELETE", 204),
        ("POST", 201),
    ]
    assert len(waits) == 1
    assert 0.25 <= waits[0] <= 0.5
    assert fake_github.assets(REPO, rid) == [("f.json", "uploaded", b"content")]


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_rate_limit_is_waited_out(
    fake_github: FakeGitHub,
    gh: GitHubRepo,
    make_file: MakeFile,
    waits: list[float],
    status: int,
) -> None:
    fake_github.add_release(REPO, "v1", draft=True)
    release = open_release(gh, "v1")
    fake_github.secondary_rate_limit("POST", UPLOADS, retry_after="7", status=status)
    fake_github.reset_log()
    report = upload_assets(gh, release, [make_file("r.json", b"0123456789")])
    assert report.uploads == 1
    posts = fake_github.requests("POST")
    assert [(p.status, p.body_size) for p in posts] == [(status, 10), (201, 10)]
    assert waits == [7.0]


def test_the_primary_rate_limit_waits_for_its_reset(
    fake_github: FakeGitHub, gh: GitHubRepo, waits: list[float]
) -> None:
    fake_github.add_release(REPO, "v1")
    fake_github.primary_rate_limit("GET", "/releases/tags/", reset_in=3)
    assert open_release(gh, "v1").tag == "v1"
    assert [r.status for r in fake_github.requests()] == [403, 200]
    assert len(waits) == 1
    assert 3.0 <= waits[0] <= 5.0


def test_giving_up_names_what_was_uploaded_and_what_was_not(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile, waits: list[float]
) -> None:
    rid = fake_github.add_release(REPO, "v1", draft=True)
    release = open_release(gh, "v1")
    files = [make_file(n, n.encode()) for n in ("one.json", "two.json", "three.json")]
    fake_github.add_fault("POST", "name=two.json", 502, times=None)
    with pytest.raises(UploadIncomplete) as err:
        upload_assets(gh, release, files)
    exc = err.value
    assert exit_code_for(exc) == 3
    assert exc.uploaded == ("one.json",)
    assert exc.missing == ("two.json", "three.json")
    assert "on the release: one.json; not uploaded: two.json, three.json" in exc.found
    assert "gave up uploading two.json after 4 attempts" in exc.found
    tries = [p for p in fake_github.requests("POST") if p.query["name"] == ["two.json"]]
    assert [p.status for p in tries] == [502] * 4
    assert len(waits) == 3
    assert [name for name, _, _ in fake_github.assets(REPO, rid)] == ["one.json"]
    # The rerun completes the set, sending only what is missing.
    fake_github.clear_faults()
    fake_github.reset_log()
    report = upload_assets(gh, release, files)
    assert [r.outcome for r in report.results] == [
        Outcome.UNCHANGED,
        Outcome.UPLOADED,
        Outcome.UPLOADED,
    ]


def test_a_read_only_token_is_told_which_permission_is_missing(
    fake_github: FakeGitHub, connect: Callable[..., GitHubRepo], make_file: MakeFile
) -> None:
    rid = fake_github.add_release(REPO, "v1")  # published, so a read-only token sees it
    reader = connect(fake_github.add_token(READ_ONLY))
    release = open_release(reader, "v1")
    with pytest.raises(UploadIncomplete) as err:
        upload_assets(reader, release, [make_file("a.json", b"{}")])
    exc = err.value
    assert exit_code_for(exc) == 3
    assert exc.status == 403
    assert exc.permission == "contents: write"
    assert "`contents: write`" in exc.hint
    assert "Resource not accessible by integration" in exc.found
    assert [r.status for r in fake_github.requests("POST")] == [403]  # a refusal: not retried
    assert fake_github.assets(REPO, rid) == []


def test_a_bad_token_is_exit_3_with_a_hint(
    fake_github: FakeGitHub, connect: Callable[..., GitHubRepo]
) -> None:
    from shipsign.release import GitHubError

    with pytest.raises(GitHubError) as err:
        open_release(connect("ghs_not-a-token-the-fake-knows"), "v1")
    assert exit_code_for(err.value) == 3
    assert err.value.status == 401
    assert "Bad credentials" in err.value.found
    assert "expired or revoked" in err.value.hint
    assert len(fake_github.requests()) == 1


def test_an_immutable_refusal_at_upload_time_is_input_error(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile
) -> None:
    fake_github.add_repo("acme/locked", immutable_releases=True)
    fake_github.add_repo(REPO, immutable_releases=True)  # replaces acme/app: same name
    rid = fake_github.add_release(REPO, "v1", draft=True)
    release = open_release(gh, "v1")
    fake_github.publish(REPO, rid)  # someone published it meanwhile
    with pytest.raises(InputError) as err:
        upload_assets(gh, release, [make_file("late.json", b"{}")])
    assert exit_code_for(err.value) == 2
    assert "publish it afterwards" in err.value.hint
    assert [r.status for r in fake_github.requests("POST")] == [422]


def test_the_uploaded_bytes_are_the_files(
    fake_github: FakeGitHub, gh: GitHubRepo, make_file: MakeFile
) -> None:
    rid = fake_github.add_release(REPO, "v1", draft=True)
    blob = bytes(range(256)) * 4096  # 1 MiB, binary
    report = upload_assets(gh, open_release(gh, "v1"), [make_file("bin.tar.gz", blob)])
    assert report.results[0].sha256 == hashlib.sha256(blob).hexdigest()
    assert fake_github.assets(REPO, rid)[0][2] == blob

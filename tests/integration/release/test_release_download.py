"""Streaming an asset back: hashed while read, memory flat, the token never sent to storage."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest

from shipsign.errors import InputError
from shipsign.release import GitHubRepo, fetch_assets, open_release, read_asset, stream_asset
from stack.github_api import FakeGitHub
from stack.github_state import Generated

REPO = "acme/app"
SIZE = 50 * 1024 * 1024


def test_a_50_mb_asset_streams_with_flat_memory(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    content = Generated(SIZE)
    rid = fake_github.add_release(REPO, "v1")
    fake_github.add_asset(REPO, rid, "cli_linux_amd64.tar.gz", content)
    (asset,) = fetch_assets(gh, open_release(gh, "v1"))
    fake_github.reset_log()
    seen = 0

    def count(chunk: bytes) -> None:
        nonlocal seen
        seen += len(chunk)

    tracemalloc.start()
    try:
        got = stream_asset(gh, asset, sink=count)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (got.size, got.sha256) == (SIZE, content.sha256())
    assert seen == SIZE
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for a {SIZE}-byte asset"
    api, storage = fake_github.requests()
    assert (api.path, api.headers["accept"], api.auth, api.status) == (
        f"/api/v3/repos/acme/app/releases/assets/{asset.id}",
        "application/octet-stream",
        "token",
        302,
    )
    assert storage.path.startswith("/_storage/")
    assert storage.status == 200
    assert storage.auth is None  # the token does not follow the redirect


def test_read_asset_refuses_what_is_larger_than_a_bundle(
    fake_github: FakeGitHub, gh: GitHubRepo
) -> None:
    rid = fake_github.add_release(REPO, "v1")
    fake_github.add_asset(REPO, rid, "small.sigstore.json", b'{"mediaType": "x"}')
    fake_github.add_asset(REPO, rid, "big.sigstore.json", b"x" * 5000)
    small, big = fetch_assets(gh, open_release(gh, "v1"))
    assert read_asset(gh, small) == b'{"mediaType": "x"}'
    with pytest.raises(InputError) as err:
        read_asset(gh, big, limit=4096)
    assert "larger than expected" in err.value.what
    assert err.value.expected == "at most 4096 bytes"


def test_a_failing_storage_is_retried(
    fake_github: FakeGitHub, gh: GitHubRepo, waits: list[float]
) -> None:
    rid = fake_github.add_release(REPO, "v1")
    fake_github.add_asset(REPO, rid, "a.bin", b"payload")
    (asset,) = fetch_assets(gh, open_release(gh, "v1"))
    fake_github.add_fault("GET", "/_storage/", 503, body=b"busy", headers={"Retry-After": "2"})
    fake_github.reset_log()
    got = stream_asset(gh, asset)
    assert got.sha256 == hashlib.sha256(b"payload").hexdigest()
    assert [r.status for r in fake_github.requests()] == [302, 503, 200]
    assert waits == [2.0]


def test_a_deleted_asset_is_reported(fake_github: FakeGitHub, gh: GitHubRepo) -> None:
    rid = fake_github.add_release(REPO, "v1")
    fake_github.add_asset(REPO, rid, "gone.bin", b"x")
    release = open_release(gh, "v1")
    (asset,) = fetch_assets(gh, release)
    from shipsign.release import delete_asset

    delete_asset(gh, release, asset)
    with pytest.raises(InputError) as err:
        stream_asset(gh, asset)
    assert "404" in err.value.found
    assert "gone.bin" in err.value.where

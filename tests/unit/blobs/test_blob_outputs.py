"""Outputs are written whole or not at all, never leaving a temporary file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipsign.blobs.outputs import output_paths, read_if_exists, write_atomically


def test_paths_beside_the_file_or_in_the_bundle_dir() -> None:
    beside = output_paths(Path("dist/app.tar.gz"), None)
    assert beside.bundle == Path("dist/app.tar.gz.sigstore.json")
    assert beside.signature == Path("dist/app.tar.gz.sig")
    assert beside.certificate == Path("dist/app.tar.gz.pem")
    inside = output_paths(Path("dist/app.tar.gz"), Path("out"))
    assert inside.all() == (
        Path("out/app.tar.gz.sigstore.json"),
        Path("out/app.tar.gz.sig"),
        Path("out/app.tar.gz.pem"),
    )


def test_write_replaces_and_honours_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "a.sigstore.json"
    target.write_text("old")
    old = os.umask(0o027)
    try:
        write_atomically(target, b"new")
    finally:
        os.umask(old)
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.sigstore.json"]


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "in-the-way"
    target.mkdir()  # a directory cannot be replaced by a file
    with pytest.raises(IsADirectoryError):
        write_atomically(target, b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["in-the-way"]
    assert list(target.iterdir()) == []
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "missing-dir" / "x", b"data")


def test_read_if_exists(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert read_if_exists(path, 10) is None
    path.write_bytes(b"12345")
    assert read_if_exists(path, 5) == b"12345"
    assert read_if_exists(path, 4) is None  # too large
    assert read_if_exists(tmp_path, 10) is None  # a directory

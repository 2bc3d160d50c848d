"""Files are hashed as a stream: the digest is sha256's, and memory stays flat for any size."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from shipsign.blobs.digest import CHUNK, hash_file
from shipsign.errors import InputError


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17])
def test_digest_and_size(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path) == (hashlib.sha256(data).hexdigest(), size)


def test_memory_stays_flat_for_a_large_file(tmp_path: Path) -> None:
    """A 200 MB sparse file (no disk used) is hashed with about one chunk of memory."""
    path = tmp_path / "large.iso"
    size = 200 * 1024 * 1024
    with path.open("wb") as fh:
        fh.truncate(size)
    tracemalloc.start()
    try:
        hexdigest, counted = hash_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counted == size
    expected = hashlib.sha256()
    zeros = bytes(CHUNK)
    for _ in range(size // CHUNK):
        expected.update(zeros)
    assert hexdigest == expected.hexdigest()
    assert peak < 4 * CHUNK, f"peak {peak} bytes: the file was not streamed"


def test_an_unreadable_path_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        hash_file(tmp_path / "gone", shown="dist/gone")
    assert caught.value.where == "dist/gone"
    assert caught.value.what == "cannot read the file to sign"

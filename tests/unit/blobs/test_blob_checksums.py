"""The checksums file: written as GNU sha256sum prints it (real coreutils checks it), read back
in the GNU and BSD forms, and refused with the line number when it is something else."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from shipsign.blobs.checksums import (
    ChecksumEntry,
    ChecksumsError,
    format_checksums,
    parse_checksums,
)

NAMES = ("app.tar.gz", "back\\slash.txt", "line\nfeed.txt", "carriage\rreturn.txt", "ünïcode.bin",
         "with space.txt", "B-upper.txt")  # fmt: skip


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for i, name in enumerate(NAMES):
        (tmp_path / name).write_bytes(f"content {i}\n".encode())
    return tmp_path


def sums_for(folder: Path) -> bytes:
    return format_checksums(
        (name, hashlib.sha256((folder / name).read_bytes()).hexdigest()) for name in NAMES
    )


def test_sha256sum_accepts_what_we_write(folder: Path) -> None:
    sha256sum = shutil.which("sha256sum")
    assert sha256sum is not None, "coreutils' sha256sum is needed"
    (folder / "SHA256SUMS").write_bytes(sums_for(folder))
    done = subprocess.run(
        [sha256sum, "--check", "--strict", "SHA256SUMS"],
        cwd=folder,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(b": OK") == len(NAMES)
    # and what we write for plain names is byte for byte what sha256sum prints
    plain = ["app.tar.gz", "with space.txt", "B-upper.txt", "ünïcode.bin"]
    printed = subprocess.run(
        [sha256sum, *sorted(plain)], cwd=folder, capture_output=True, check=True
    ).stdout
    assert printed == format_checksums(
        (n, hashlib.sha256((folder / n).read_bytes()).hexdigest()) for n in plain
    )


def test_sorted_by_name_and_two_spaces() -> None:
    text = format_checksums([("b", "1" * 64), ("a", "2" * 64), ("B", "3" * 64)]).decode()
    assert text == f"{'3' * 64}  B\n{'2' * 64}  a\n{'1' * 64}  b\n"


def test_parse_round_trip(folder: Path) -> None:
    entries = parse_checksums(sums_for(folder))
    assert sorted(e.name for e in entries) == sorted(NAMES)
    for entry in entries:
        assert entry.sha256 == hashlib.sha256((folder / entry.name).read_bytes()).hexdigest()


def test_parse_binary_mode_bsd_tags_and_paths() -> None:
    data = (
        f"{'A' * 64} *dist/app.tar.gz\nSHA256 (notes.txt) = {'b' * 64}\n\n{'c' * 64}  ./x y\n"
    ).encode()
    assert parse_checksums(data) == (
        ChecksumEntry(name="dist/app.tar.gz", sha256="a" * 64),
        ChecksumEntry(name="notes.txt", sha256="b" * 64),
        ChecksumEntry(name="./x y", sha256="c" * 64),
    )
    assert parse_checksums(data)[0].base_name == "app.tar.gz"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"not a line\n", 1),
        (f"{'a' * 64}  ok\n{'a' * 128}  sha512\n".encode(), 2),  # not sha256
        (f"{'a' * 63}  short\n".encode(), 1),
        (f"SHA512 (x) = {'a' * 128}\n".encode(), 1),
    ],
)
def test_parse_refuses_other_lines(data: bytes, line: int) -> None:
    with pytest.raises(ChecksumsError) as caught:
        parse_checksums(data, where="SUMS")
    assert caught.value.what == f"line {line} of the checksums file is not a sha256sum line"
    assert caught.value.where == "SUMS"


def test_parse_refuses_binary_garbage() -> None:
    with pytest.raises(ChecksumsError, match="not UTF-8"):
        parse_checksums(b"\xff\xfe\x00")

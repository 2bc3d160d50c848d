"""shipsign's own glob: what `*`, `?`, `[...]` and `**` match, relative to a root, sorted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shipsign.blobs.select import expand, is_glob, segment_regex
from shipsign.errors import InputError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in (
        "dist/app.tar.gz",
        "dist/app.zip",
        "dist/b.txt",
        "dist/.hidden",
        "dist/[x].txt",
        "dist/sub/deep.tar.gz",
        "dist/sub/more/deeper.tar.gz",
        "dist/.git/objects.tar.gz",
        "top.tar.gz",
    ):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
    (tmp_path / "dist" / "emptydir").mkdir()
    return tmp_path


def names(root: Path, pattern: str) -> list[str]:
    return [m.path.relative_to(root).as_posix() for m in expand(pattern, root)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("dist/*", ["dist/[x].txt", "dist/app.tar.gz", "dist/app.zip", "dist/b.txt"]),
        ("dist/*.tar.gz", ["dist/app.tar.gz"]),
        ("dist/app.???", ["dist/app.zip"]),
        ("dist/[ab]*", ["dist/app.tar.gz", "dist/app.zip", "dist/b.txt"]),
        ("dist/[!a]*", ["dist/[x].txt", "dist/b.txt"]),
        ("dist/[[]x].txt", ["dist/[x].txt"]),
        ("dist/.*", ["dist/.hidden"]),
        ("**/*.tar.gz", [
            "dist/app.tar.gz", "dist/sub/deep.tar.gz", "dist/sub/more/deeper.tar.gz",
            "top.tar.gz",
        ]),
        ("dist/**/*.tar.gz", [
            "dist/app.tar.gz", "dist/sub/deep.tar.gz", "dist/sub/more/deeper.tar.gz",
        ]),
        ("dist/**", ["dist/[x].txt", "dist/app.tar.gz", "dist/app.zip", "dist/b.txt",
                     "dist/sub/deep.tar.gz", "dist/sub/more/deeper.tar.gz"]),
        ("*/sub/*", ["dist/sub/deep.tar.gz"]),
        ("./dist//b.txt*", ["dist/b.txt"]),
        ("DIST/*", []),
        ("nowhere/*", []),
    ],
)  # fmt: skip
def test_glob_matches(tree: Path, pattern: str, expected: list[str]) -> None:
    assert names(tree, pattern) == expected


def test_a_literal_path_is_one_file(tree: Path) -> None:
    [match] = expand("dist/.hidden", tree)
    assert match.literal
    assert match.path == tree / "dist" / ".hidden"
    [absolute] = expand(str(tree / "top.tar.gz"), Path("/nonexistent"))
    assert absolute.path == tree / "top.tar.gz"


def test_an_absolute_glob(tree: Path) -> None:
    found = [m.path for m in expand(f"{tree}/dist/*.zip", Path("/nonexistent"))]
    assert found == [tree / "dist" / "app.zip"]


@pytest.mark.parametrize(
    ("pattern", "what", "found"),
    [
        ("dist/nope.tar.gz", "no such file to sign", "nothing there"),
        ("dist/sub", "a directory, not a file to sign", "a directory"),
        ("", "an empty file pattern", ""),
    ],
)
def test_literal_paths_must_be_regular_files(
    tree: Path, pattern: str, what: str, found: str
) -> None:
    with pytest.raises(InputError) as caught:
        expand(pattern, tree)
    assert caught.value.what == what
    assert caught.value.found == found
    if pattern:
        assert caught.value.where == pattern


def test_a_named_pipe_is_not_a_file(tree: Path) -> None:
    os.mkfifo(tree / "dist" / "pipe")
    with pytest.raises(InputError) as caught:
        expand("dist/pipe", tree)
    assert caught.value.found == "a named pipe"
    assert "dist/pipe" not in names(tree, "dist/*")  # a glob leaves it out


def test_symlinks(tree: Path) -> None:
    (tree / "dist" / "link.tar.gz").symlink_to(tree / "top.tar.gz")
    (tree / "dist" / "dangling").symlink_to(tree / "missing")
    (tree / "dist" / "sub" / "loop").symlink_to(tree / "dist")  # ** must not follow it
    assert "dist/link.tar.gz" in names(tree, "dist/*")
    assert "dist/dangling" not in names(tree, "dist/*")
    assert len(names(tree, "**/*.tar.gz")) == 5


def test_segment_regex_is_whole_and_never_crosses_a_slash() -> None:
    assert segment_regex("a*c").fullmatch("abc")
    assert not segment_regex("a*c").fullmatch("a/c")
    assert not segment_regex("a?c").fullmatch("a/c")
    assert segment_regex("[a-c]").fullmatch("b")
    assert not segment_regex("[!a-c]").fullmatch("b")
    assert segment_regex("[-a]").fullmatch("-")
    assert segment_regex("x[").fullmatch("x[")  # no closing bracket: literal
    assert segment_regex("a.b").fullmatch("a.b")
    assert not segment_regex("a.b").fullmatch("axb")
    assert segment_regex("[]]").fullmatch("]")
    assert segment_regex("[!]]").fullmatch("a")
    assert not segment_regex("[!]]").fullmatch("]")
    assert not segment_regex("[]").fullmatch("")
    assert is_glob("dist/*")
    assert is_glob("a[b]")
    assert not is_glob("dist/app.tar.gz")

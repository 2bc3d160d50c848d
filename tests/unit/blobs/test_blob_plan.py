"""Planning: which files are signed, in which order, with which outputs, and which input is
refused before anything is written. shipsign's own outputs are never inputs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from shipsign.blobs import FileSignOptions, plan_files
from shipsign.blobs.checksums import parse_checksums
from shipsign.errors import InputError


@pytest.fixture
def root(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in ("b.tar.gz", "a.tar.gz", "notes.txt"):
        (dist / name).write_text(f"{name}\n")
    return tmp_path


def plan(root: Path, *patterns: str, **options: object) -> list[str]:
    made = plan_files(FileSignOptions(patterns=patterns, root=root, **options))  # type: ignore[arg-type]
    return [f.path.relative_to(root).as_posix() for f in made.files]


def listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_sorted_deduplicated_and_hashed(root: Path) -> None:
    assert plan(root, "dist/*.txt", "dist/*", "dist/a.tar.gz", "./dist/a.tar.gz") == [
        "dist/a.tar.gz",
        "dist/b.tar.gz",
        "dist/notes.txt",
    ]
    made = plan_files(FileSignOptions(patterns=("dist/a.tar.gz",), root=root))
    [only] = made.files
    assert only.sha256 == hashlib.sha256(b"a.tar.gz\n").hexdigest()
    assert only.size == 9
    assert only.outputs.bundle == root / "dist" / "a.tar.gz.sigstore.json"
    assert made.checksums is None


def test_own_outputs_are_never_inputs(root: Path) -> None:
    dist = root / "dist"
    for name in (
        "a.tar.gz.sigstore.json",
        "a.tar.gz.sig",
        "a.tar.gz.pem",
        "orphan.sigstore.json",
    ):
        (dist / name).write_text("output of an earlier run")
    (dist / "SHA256SUMS").write_text(f"{'0' * 64}  a.tar.gz\n")
    (dist / "SHA256SUMS.sigstore.json").write_text("{}")
    (dist / "ca.pem").write_text("a certificate the release ships: not an output")
    assert plan(root, "dist/*", checksums="SHA256SUMS") == [
        "dist/a.tar.gz",
        "dist/b.tar.gz",
        "dist/ca.pem",
        "dist/notes.txt",
        "dist/SHA256SUMS",  # the new one: last, rewritten
    ]
    # without --checksums this run, an earlier checksums file is just a file
    assert "dist/SHA256SUMS" in plan(root, "dist/*")
    for named in ("dist/a.tar.gz.sig", "dist/orphan.sigstore.json"):
        with pytest.raises(InputError) as caught:
            plan(root, named)
        assert caught.value.what == "shipsign does not sign its own outputs"
        assert caught.value.where == named


def test_the_checksums_file(root: Path) -> None:
    made = plan_files(FileSignOptions(patterns=("dist/*",), root=root, checksums="SUMS"))
    sums = made.checksums
    assert sums is not None
    assert sums.checksums
    assert sums.path == root / "dist" / "SUMS"
    assert sums.content is not None
    entries = parse_checksums(sums.content)
    assert [e.name for e in entries] == ["a.tar.gz", "b.tar.gz", "notes.txt"]
    assert sums.sha256 == hashlib.sha256(sums.content).hexdigest()
    assert not (root / "dist" / "SUMS").exists()  # planned, not written
    into = plan_files(
        FileSignOptions(patterns=("dist/*",), root=root, checksums="SUMS", bundle_dir=Path("o"))
    )
    assert into.checksums is not None
    assert into.checksums.path == root / "o" / "SUMS"
    assert into.files[0].outputs.bundle == root / "o" / "a.tar.gz.sigstore.json"
    assert not (root / "o").exists()  # made when the first bundle is written


def test_a_file_with_the_checksums_name_is_never_overwritten(root: Path) -> None:
    (root / "dist" / "SUMS").write_text("a release file that happens to be called SUMS\n")
    with pytest.raises(InputError) as caught:
        plan(root, "dist/*.tar.gz", checksums="SUMS")
    assert "has the checksums file's name 'SUMS'" in caught.value.what
    assert caught.value.where == str(root / "dist" / "SUMS")


@pytest.mark.parametrize(
    ("patterns", "options", "what", "where"),
    [
        (("dist/*.zip",), {}, "a file pattern matches no file to sign", "dist/*.zip"),
        (("dist/*", "x/*"), {}, "a file pattern matches no file to sign", "x/*"),
        (("dist/missing",), {}, "no such file to sign", "dist/missing"),
        (("dist",), {}, "a directory, not a file to sign", "dist"),
        ((), {}, "no file to sign", ""),
        (("dist/*",), {"checksums": "../SUMS"}, "the checksums file must be a plain file name", ""),
        (("dist/*",), {"checksums": "S.sigstore.json"}, "the checksums file cannot have a "
         "bundle's name", ""),
    ],
)  # fmt: skip
def test_bad_input(
    root: Path, patterns: tuple[str, ...], options: dict[str, object], what: str, where: str
) -> None:
    before = listing(root)
    with pytest.raises(InputError) as caught:
        plan(root, *patterns, **options)
    assert caught.value.what == what
    assert caught.value.where == where
    assert listing(root) == before


def test_only_outputs_matched(root: Path) -> None:
    (root / "dist" / "a.tar.gz.sigstore.json").write_text("{}")
    with pytest.raises(InputError) as caught:
        plan(root, "dist/*.json")
    assert caught.value.found.startswith("only files shipsign writes itself")


def test_same_base_name(root: Path) -> None:
    (root / "other").mkdir()
    (root / "other" / "a.tar.gz").write_text("another a\n")
    assert len(plan(root, "dist/*", "other/*")) == 4  # bundles beside each: no clash
    for options in ({"bundle_dir": Path("out")}, {"checksums": "SUMS"}):
        with pytest.raises(InputError) as caught:
            plan(root, "dist/*", "other/*", **options)
        assert caught.value.what == "two files to sign are both called 'a.tar.gz'"


def test_an_output_in_the_way(root: Path) -> None:
    (root / "dist" / "a.tar.gz.sigstore.json").mkdir()
    with pytest.raises(InputError) as caught:
        plan(root, "dist/a.tar.gz")
    assert caught.value.what == "an output shipsign would write is in the way"
    (root / "dist" / "b.tar.gz.pem").mkdir()
    assert plan(root, "dist/b.tar.gz") == ["dist/b.tar.gz"]  # .pem only with legacy outputs
    with pytest.raises(InputError):
        plan(root, "dist/b.tar.gz", legacy_outputs=True)


def test_bundle_dir_that_is_a_file(root: Path) -> None:
    with pytest.raises(InputError) as caught:
        plan(root, "dist/*", bundle_dir=Path("dist/notes.txt"))
    assert caught.value.what == "the bundle directory is not a directory"

"""A fresh clone tests itself: nothing that runs may read the checkout's neighbours.

The project's own CI happens to have a folder of shared material beside the checkout; a user's
clone does not. Every file the tests, scripts, benchmarks and CI need lives inside the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from interop.corpus import CORPUS

ROOT = Path(__file__).resolve().parents[3]
WATCHED = ("tests", "scripts", "bench", ".ci", "src", ".github")
# The neighbour's name is assembled here so that this file does not match its own search: a
# relative or absolute path to it, or a path built from it as a quoted component.
_NAME = "sha" + "red"
OUTSIDE = re.compile(rf"""(\.\./{_NAME}\b|/work/{_NAME}\b|["']{_NAME}["']\s*[/,)])""")


def _tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "--", *WATCHED],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        pytest.fail("git could not list the repository's files")
    return [ROOT / name for name in listed if name]


def test_nothing_reads_outside_the_checkout() -> None:
    this = Path(__file__).resolve()
    offenders = []
    for path in _tracked_files():
        if path.resolve() == this or not path.is_file() or "corpus" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "files that read outside the checkout:\n" + "\n".join(offenders)


def test_the_pattern_catches_what_it_must() -> None:
    for line in (
        f'Path(__file__).parents[3] / "{_NAME}" / "interop"',
        f"cat ../{_NAME}/interop/index.json",
        f'INTEROP = Path("/work/{_NAME}/interop")',
    ):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search("from shipsign.oci.shared_tag import FRESH_READ")


def test_the_interop_corpus_lives_in_the_repository() -> None:
    assert CORPUS.resolve().is_relative_to(ROOT)
    index = CORPUS / "index.json"
    assert index.is_file(), f"{index} is missing: the corpus must be part of the repository"
    assert (CORPUS / "trust" / "production.trusted_root.json").is_file()

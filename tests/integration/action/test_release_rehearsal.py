"""RELEASING.md's rehearsal runs end to end against its own local stack, and the release
script's `pin` and `image` steps refuse what must not be released."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "release.sh"
IMAGE = "ghcr.io/acme/shipsign@sha256:" + "ab" * 32


def release(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=900, check=False
    )


def test_pin_writes_the_image_and_image_reads_it_back(tmp_path: Path) -> None:
    copy = tmp_path / "action.yml"
    shutil.copy(ROOT / "action.yml", copy)
    refused = release("image", str(copy))
    assert refused.returncode == 1
    assert "all-zero digest" in refused.stderr  # nothing is released before it is pinned
    assert release("pin", "ghcr.io/acme/shipsign:v1", str(copy)).returncode == 1  # no digest
    done = release("pin", IMAGE, str(copy))
    assert done.returncode == 0, done.stderr
    assert release("image", str(copy)).stdout == IMAGE + "\n"
    changed = [
        (a, b)
        for a, b in zip(
            (ROOT / "action.yml").read_text().splitlines(),
            copy.read_text().splitlines(),
            strict=True,
        )
        if a != b
    ]
    assert changed == [(changed[0][0], f"  image: docker://{IMAGE}")]


def test_the_rehearsal_builds_pushes_signs_verifies_tags_and_pins() -> None:
    before = (ROOT / "action.yml").read_text()
    done = release("rehearse", "2.5.1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rehearsal passed" in done.stderr
    assert "3 tags moved" in done.stdout
    digest = next(
        line.split("@")[1]
        for line in done.stdout.splitlines()
        if "/shipsign/shipsign@sha256:" in line
    )
    for tag in ("2.5.1", "2.5", "2"):
        assert f"/shipsign/shipsign:{tag} -> {digest}" in done.stdout
    assert (ROOT / "action.yml").read_text() == before  # a rehearsal changes no tracked file

"""The Action image's hash-locked requirements (requirements/*.txt, made by pip-compile from
pyproject.toml) are complete and not stale: every pin carries hashes, and every requirement of
pyproject.toml is pinned at a version it accepts. The GitHub CI workflow also regenerates them
and diffs (that needs PyPI; this test does not)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

ROOT = Path(__file__).resolve().parents[3]
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$")
# The image's interpreter (Dockerfile: python:3.12-slim-bookworm) on Linux.
_IMAGE_ENV = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux"}


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(name: str) -> tuple[str, dict[str, Version]]:
    text = (ROOT / "requirements" / name).read_text()
    pins: dict[str, Version] = {}
    lines = text.splitlines()
    for n, line in enumerate(lines):
        match = _PIN.match(line)
        if match is None:
            assert "==" not in line or line.lstrip().startswith("#"), line
            continue
        assert lines[n + 1].strip().startswith("--hash=sha256:"), f"{line}: no hash"
        pins[_canon(match.group(1))] = Version(match.group(2))
    return text, pins


def pyproject() -> Any:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.mark.parametrize(
    ("lock", "section"), [("action.txt", "dependencies"), ("build.txt", "build-system")]
)
def test_lock_pins_every_requirement_of_pyproject(lock: str, section: str) -> None:
    text, pins = read_lock(lock)
    assert "pip-compile" in text
    assert "--generate-hashes" in text
    assert "pyproject.toml" in text
    doc = pyproject()
    if section == "dependencies":
        wanted: list[str] = doc["project"]["dependencies"]
    else:
        wanted = doc["build-system"]["requires"]
    assert wanted
    for line in wanted:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate(_IMAGE_ENV):
            continue
        name = _canon(req.name)
        assert name in pins, f"{lock} is stale: {req.name} is not pinned; regenerate it"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{lock} is stale: {req.name}=={pins[name]} does not satisfy {req.specifier}"
        )


def test_the_dockerfile_installs_from_the_locks_with_hashes() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for lock in ("requirements/build.txt", "requirements/action.txt"):
        assert lock in text
    runs = [ln for ln in text.splitlines() if "--require-hashes" in ln and not ln.startswith("#")]
    assert len(runs) == 2, runs

"""The peers install.sh builds are the versions the tests expect, and they are pinned."""

from __future__ import annotations

import re
from pathlib import Path

from stack.peers import COSIGN_VERSIONS, ORAS_VERSION

INSTALL = Path(__file__).resolve().parents[3] / "scripts" / "install.sh"
_LINE = re.compile(r"^go_peer (\S+) (\S+) (\S+)$", re.MULTILINE)


def _built() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, version, _module in _LINE.findall(INSTALL.read_text(encoding="utf-8")):
        found.setdefault(name, set()).add(version)
    return found


def test_install_builds_exactly_the_versions_the_tests_use() -> None:
    built = _built()
    assert built.get("cosign") == set(COSIGN_VERSIONS)
    assert built.get("oras") == {ORAS_VERSION}


def test_every_peer_is_pinned_to_a_release() -> None:
    for name, version, module in _LINE.findall(INSTALL.read_text(encoding="utf-8")):
        assert re.fullmatch(r"v\d+\.\d+\.\d+", version), f"{name} {version} is not a pinned release"
        assert "@" not in module, module

"""The peers install.sh builds are the versions the tests expect, and they are pinned."""

from __future__ import annotations

import re
from pathlib import Path

from stack.peers import (
    COSIGN_VERSIONS,
    HELM_VERSION,
    ORAS_VERSION,
    POLICY_CONTROLLER_PINS,
    POLICY_CONTROLLER_VERSION,
)

INSTALL = Path(__file__).resolve().parents[3] / "scripts" / "install.sh"
_LINE = re.compile(r"^go_peer (\S+) (\S+) (\S+)$", re.MULTILINE)
# go_module_peer NAME VERSION MODULE PACKAGE [DEPENDENCY@VERSION...], continued with backslashes.
_MODULE_LINE = re.compile(r"^go_module_peer ((?:[^\n]*\\\n)*[^\n]*)$", re.MULTILINE)


def _module_peers() -> list[list[str]]:
    text = INSTALL.read_text(encoding="utf-8")
    return [m.replace("\\\n", " ").split() for m in _MODULE_LINE.findall(text)]


def _built() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, version, _module in _LINE.findall(INSTALL.read_text(encoding="utf-8")):
        found.setdefault(name, set()).add(version)
    return found


def test_install_builds_exactly_the_versions_the_tests_use() -> None:
    built = _built()
    assert built.get("cosign") == set(COSIGN_VERSIONS)
    assert built.get("oras") == {ORAS_VERSION}
    assert built.get("helm") == {HELM_VERSION}


def test_every_peer_is_pinned_to_a_release() -> None:
    for name, version, module in _LINE.findall(INSTALL.read_text(encoding="utf-8")):
        assert re.fullmatch(r"v\d+\.\d+\.\d+", version), f"{name} {version} is not a pinned release"
        assert "@" not in module, module


def test_policy_tester_is_built_at_the_tested_version_with_the_tested_pins() -> None:
    peers = {words[0]: words[1:] for words in _module_peers()}
    version, module, package, *pins = peers["policy-tester"]
    assert (version, module, package) == (
        POLICY_CONTROLLER_VERSION,
        "github.com/sigstore/policy-controller",
        "cmd/tester",
    )
    assert tuple(pins) == POLICY_CONTROLLER_PINS


def test_every_module_peer_and_its_dependencies_are_pinned() -> None:
    peers = _module_peers()
    assert peers, "no go_module_peer line found in install.sh"
    for name, version, module, package, *pins in peers:
        assert re.fullmatch(r"v\d+\.\d+\.\d+", version), f"{name} {version} is not pinned"
        assert "@" not in module, module
        assert not package.startswith(("/", ".")), package
        for pin in pins:
            assert re.fullmatch(r"[\w./-]+@v\d+\.\d+\.\d+(-[\w.-]+)?", pin), f"{name}: {pin}"

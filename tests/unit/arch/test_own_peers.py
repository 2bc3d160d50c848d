"""Our own Go peers: install.sh names the build folder exactly as tests/stack/peers.py looks for
it, and the sources pin go-containerregistry."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from stack.peers import OWN_PEER_FILES, REFREGISTRY_SOURCE, ROOT, own_peer_version

INSTALL = ROOT / "scripts" / "install.sh"


def _own_peer_function() -> str:
    match = re.search(r"^own_peer\(\) \{.*?^\}$", INSTALL.read_text(encoding="utf-8"), re.S | re.M)
    assert match is not None, "install.sh has no own_peer function"
    return match.group(0)


def test_install_keys_the_build_as_the_tests_do() -> None:
    [key_line] = [ln.strip() for ln in _own_peer_function().splitlines() if "key=$(" in ln]
    pipeline = key_line.removeprefix("key=$(").removesuffix(")")
    shell = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f'src="$1"; {pipeline}', "-", str(REFREGISTRY_SOURCE)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout.strip() == own_peer_version(REFREGISTRY_SOURCE)


def test_install_builds_the_referrers_registry() -> None:
    calls = re.findall(r"^own_peer (\S+) (\S+)$", INSTALL.read_text(encoding="utf-8"), re.M)
    assert ("refregistry", "tests/stack/refregistry") in calls
    assert ROOT / "tests/stack/refregistry" == REFREGISTRY_SOURCE


def test_refregistry_sources_are_complete_and_pinned() -> None:
    for name in OWN_PEER_FILES:
        assert (REFREGISTRY_SOURCE / name).is_file(), name
    go_mod = (REFREGISTRY_SOURCE / "go.mod").read_text(encoding="utf-8")
    assert re.search(r"^require github\.com/google/go-containerregistry v0\.22\.1$", go_mod, re.M)
    go_sum = (REFREGISTRY_SOURCE / "go.sum").read_text(encoding="utf-8")
    assert "github.com/google/go-containerregistry v0.22.1 h1:" in go_sum
    assert not any(Path(REFREGISTRY_SOURCE).glob("vendor"))

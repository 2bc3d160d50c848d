"""The third-party tools the tests run as peers: which versions, and where their binaries are.

scripts/install.sh builds each peer with `go install` (or `go build` for our own Go programs)
into `$SHIPSIGN_PEERS` (default `~/.cache/shipsign-peers`), one folder per name and version:
`<name>-<version>/bin/<name>`. The versions here and in install.sh must agree; a test checks it.

A peer that is missing is a test failure that says how to build it, never a skip: a skipped
interop test would let the suite pass without proving anything.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

# cosign v3: the newest v3 the Go module proxy serves. v2.6.5: the newest v2.6.x, which reads a
# bundle referrer before the `.sig` tag. v2.4.0: an older v2 that reads only the `.sig` tag
# (its cmd/cosign/cli/verify/verify.go has no bundle path), as pinned pipelines still run.
COSIGN_V3 = "v3.1.3"
COSIGN_V2 = "v2.6.5"
COSIGN_V2_SIG_ONLY = "v2.4.0"
COSIGN_VERSIONS = (COSIGN_V3, COSIGN_V2, COSIGN_V2_SIG_ONLY)
ORAS_VERSION = "v1.3.6"
# helm renders the gate's local charts (`helm template`); the newest v4 the proxy serves.
HELM_VERSION = "v4.3.2"
# sigstore policy-controller's `tester` (cmd/tester), built as the peer `policy-tester`: the newest
# release the Go module proxy serves. Its go.mod has replace directives, so `go install m@v`
# refuses it; install.sh's `go_module_peer` builds it inside the module instead, with the two
# k8schain/kubernetes pseudo-versions it asks for (2026-03-17) moved to the newest the proxy has.
POLICY_CONTROLLER_VERSION = "v0.15.1"
POLICY_CONTROLLER_PINS = (
    "github.com/google/go-containerregistry/pkg/authn/k8schain@v0.0.0-20260205022027-93aa2732266a",
    "github.com/google/go-containerregistry/pkg/authn/kubernetes@v0.0.0-20260224031529-85f2bf5f7303",
)

ROOT = Path(__file__).resolve().parents[2]

# Our own Go programs: no release to pin, so install.sh keys the build by its sources instead of a
# version (`own_peer` there hashes go.mod, go.sum and main.go in this order; a test checks).
REFREGISTRY_SOURCE = ROOT / "tests" / "stack" / "refregistry"
OWN_PEER_FILES = ("go.mod", "go.sum", "main.go")


def peers_dir() -> Path:
    """Where install.sh puts the peers' binaries."""
    configured = os.environ.get("SHIPSIGN_PEERS")
    return Path(configured) if configured else Path.home() / ".cache" / "shipsign-peers"


def peer_path(name: str, version: str) -> Path:
    """The path a peer's binary has once install.sh has built it."""
    return peers_dir() / f"{name}-{version}" / "bin" / name


def peer_binary(name: str, version: str) -> Path:
    """The peer's binary; fail the test (never skip) when it has not been built."""
    path = peer_path(name, version)
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"{name} {version} is not built ({path} is missing): run "
            "`bash scripts/install.sh --peers`, which builds the test peers with Go",
            pytrace=False,
        )
    return path


def own_peer_version(source: Path) -> str:
    """The version of one of our own Go programs: the first 12 hex digits of the SHA-256 of its
    sources (OWN_PEER_FILES, concatenated), as install.sh names its build folder."""
    digest = hashlib.sha256()
    for name in OWN_PEER_FILES:
        digest.update((source / name).read_bytes())
    return digest.hexdigest()[:12]


def refregistry_binary() -> Path:
    """The registry with the OCI 1.1 referrers API (tests/stack/refregistry), built from the
    sources in this checkout; fails the test when install.sh has not built this version."""
    return peer_binary("refregistry", own_peer_version(REFREGISTRY_SOURCE))


# A closed local port: a peer that tried to reach anything but loopback fails at once, on this
# machine, instead of sending anything out.
_CLOSED_PORT_PROXY = "http://127.0.0.1:9"


def offline_env(home: Path) -> dict[str, str]:
    """The environment a Go peer runs in: a private HOME (so no TUF cache, no docker login of
    the machine's), and every proxy variable pointing at a closed port with loopback exempt."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TUF_ROOT": str(home / "tuf"),
        "DOCKER_CONFIG": str(home / "docker"),
        **{name: _CLOSED_PORT_PROXY for name in ("HTTPS_PROXY", "HTTP_PROXY")},
        **{name.lower(): _CLOSED_PORT_PROXY for name in ("HTTPS_PROXY", "HTTP_PROXY")},
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "no_proxy": "127.0.0.1,localhost,::1",
    }

"""The oras CLI, a peer built by `scripts/install.sh --peers`: how a third party sees what is
attached to an image (`oras discover`). A missing build fails the test (peers.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from stack.peers import ORAS_VERSION, peer_binary
from stack.registry import Registry

__all__ = ["Oras"]

# Modes of `--distribution-spec`: the referrers API only, the referrers tag only, or (None)
# oras's own choice: the API when the registry serves it, else the tag.
API = "v1.1-referrers-api"
TAG = "v1.1-referrers-tag"


class Oras:
    """Runs oras with its own empty home (no credentials or config of the machine's)."""

    def __init__(self, home: Path) -> None:
        self.binary = peer_binary("oras", ORAS_VERSION)
        self.home = home
        (home / ".docker").mkdir(parents=True, exist_ok=True)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env.update(HOME=str(self.home), DOCKER_CONFIG=str(self.home / ".docker"))
        return subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=env, timeout=120
        )

    def discover(
        self, registry: Registry, repo: str, digest: str, *, spec: str | None = None
    ) -> list[dict[str, Any]]:
        """`oras discover --format json --depth 1` of `repo@digest`: the direct referrers, each
        {"reference", "mediaType", "digest", "size", "artifactType", "annotations"?}."""
        args = ["discover", "--format", "json", "--depth", "1"]
        if registry.insecure:
            args.append("--plain-http")
        if spec is not None:
            args += ["--distribution-spec", spec]
        result = self.run(*args, f"{registry.host}/{repo}@{digest}")
        if result.returncode != 0:
            raise AssertionError(
                f"oras {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}"
            )
        doc: dict[str, Any] = json.loads(result.stdout)
        assert doc["digest"] == digest, doc
        referrers: list[dict[str, Any]] = doc.get("referrers") or []
        return referrers

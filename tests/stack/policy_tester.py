"""Run sigstore policy-controller's `tester` (cmd/tester): the admission check of a real
policy-controller, without a cluster, on one image and one ClusterImagePolicy.

What its source (cmd/tester/main.go, v0.15.1) takes and does:
- `-policy FILE`: the ClusterImagePolicy. The file is validated as a whole
  (pkg/policy/validate.go): only ClusterImagePolicy and Secret objects are allowed, so a
  TrustRoot in the same file is "unknown type". `shipsign policy` writes both in one file (as
  one `kubectl apply` wants); `split_export` hands each document, unchanged, to its flag.
- `-trustroot FILE`: one TrustRoot, installed as the config a cluster's reconciler would build
  (`sigstoreKeys` are converted offline; `remote`/`repository` TrustRoots would start TUF).
- `-image REF`: checked with the webhook's own code (pkg/webhook/validator.go). Loopback
  registries are spoken to over plain HTTP by go-containerregistry, as in a cluster.
- Exit 0 and "Verification was successful!" when admitted; exit 1 with a JSON `errors` list
  when denied; `log.Fatal` (exit 1, no JSON) when the policy or trust root is invalid.

No TUF and no internet: every run gets a private HOME/TUF_ROOT and proxy variables that name a
closed local port with only loopback exempt (as tests/stack/cosign.py does).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from stack.peers import POLICY_CONTROLLER_VERSION, offline_env, peer_binary


@dataclass(frozen=True, slots=True)
class AdmissionRun:
    """What one tester run returned and printed."""

    argv: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def admitted(self) -> bool:
        return self.code == 0 and "Verification was successful" in self.err

    @property
    def denied(self) -> bool:
        """Denied by verification (not a broken policy): exit 1 with the JSON error report."""
        return self.code == 1 and bool(self.errors)

    @property
    def errors(self) -> list[str]:
        for line in self.out.splitlines():
            if line.startswith("{"):
                errors: list[str] = json.loads(line).get("errors") or []
                return errors
        return []

    def __str__(self) -> str:
        return f"$ policy-tester {' '.join(self.argv)}\nexit {self.code}\n{self.out}\n{self.err}"


def split_export(exported: Path, folder: Path) -> dict[str, Path]:
    """Write each document of `shipsign policy` output, byte for byte, to `folder/<kind>.yaml`.

    Splits on the same separator as policy-controller's own parser (pkg/policy/parse.go).
    """
    found: dict[str, Path] = {}
    for document in exported.read_text(encoding="utf-8").split("\n---\n"):
        body = yaml.safe_load(document)
        if not isinstance(body, dict):
            continue
        kind = str(body["kind"])
        assert kind not in found, f"two {kind} documents in {exported}"
        path = folder / f"{kind}.yaml"
        path.write_text(document.strip("\n") + "\n", encoding="utf-8")
        found[kind] = path
    return found


class PolicyTester:
    """policy-controller's tester at the pinned version, with a private home."""

    def __init__(self, home: Path) -> None:
        self.binary = peer_binary("policy-tester", POLICY_CONTROLLER_VERSION)
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        return {**offline_env(self.home), "SIGSTORE_NO_CACHE": "true"}

    def check(
        self, image: str, *, policy: Path, trust_root: Path | None, timeout: float = 120
    ) -> AdmissionRun:
        """Would policy-controller admit `image` under `policy` (and `trust_root`)?"""
        argv = ["-policy", str(policy), "-image", image, "-log-level", "debug"]
        if trust_root is not None:
            argv += ["-trustroot", str(trust_root)]
        done = subprocess.run(
            [str(self.binary), *argv],
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return AdmissionRun(
            argv=tuple(argv), code=done.returncode, out=done.stdout, err=done.stderr
        )

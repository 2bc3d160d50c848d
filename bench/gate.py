"""The gate's 40-image case (issue 16): 40 signed images referenced from 15 Kubernetes files
(15 of them used twice), gated against a `.shipsign.toml`, on loopback and with every registry
request delayed by 30 ms (the fault proxy), as a real registry answers.

Measured in the same run, beside it: `verify` of the same 40 digests (what the gate would cost
with the images already listed by hand). The gap is what finding the references costs;
the requests show each distinct digest is looked up once.
"""

from __future__ import annotations

import json
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shipsign.oci.transport import Reply

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from integration.verify.signed_images import new_image, sign_image
from shipsign.gate.judge import GateOptions
from shipsign.gate.run import GateRequest, run_gate
from shipsign.keyless.identity import parse_identity_token
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.oci import Registries
from shipsign.policy.config import load_config
from shipsign.verify import VerifyRequest, verify_images
from stack.fault_proxy import FaultProxy
from stack.registry import Registry, start_registry
from stack.sigstore_stack import start_github_oidc, start_sigstore_stack

IMAGES = 40
FILES = 15
RUNS = 3
DELAY_S = 0.030
MACHINE = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: {name}
          image: {image}
"""


class Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0

    def __call__(self, reply: Reply) -> None:
        with self._lock:
            self.total += 1


def _git(root: Path, *args: str) -> None:
    argv = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args]
    subprocess.run(argv, cwd=root, check=True, capture_output=True)


def _repository(root: Path, host: str, identity: str, refs: list[str]) -> None:
    """A clone with the policy file and 15 files naming the 40 images (15 of them twice)."""
    root.mkdir()
    (root / ".shipsign.toml").write_text(
        f'[[policy]]\nimages = ["{host}/bench/*"]\n'
        f'issuer = "https://token.actions.githubusercontent.com"\nidentity = "{identity}"\n'
    )
    for f in range(FILES):
        docs = [
            DEPLOYMENT.format(name=f"svc{i}", image=refs[i])
            for i in range(IMAGES)
            if i % FILES == f or i == 2 * f
        ]
        (root / "deploy").mkdir(exist_ok=True)
        (root / "deploy" / f"team{f}.yaml").write_text("---\n".join(docs))
    _git(root, "init", "-q", "-b", "main")


def _time(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _measure(label: str, host: str, run: Any) -> tuple[float, int]:
    times: list[float] = []
    requests_made = 0
    for _ in range(RUNS):
        counter = Counter()
        with Registries(insecure=[host], env={}, response_hook=counter) as pool:
            elapsed, ok = _time(lambda pool=pool: run(pool))
        if not ok:
            raise SystemExit(f"{label}: did not pass")
        times.append(elapsed)
        requests_made = counter.total
    return statistics.median(times), requests_made


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipsign-bench-gate-") as name:
        tmp = Path(name)
        running = start_registry("anonymous", tmp)
        stack = start_sigstore_stack(tmp / "sigstore")
        oidc = start_github_oidc(tmp / "oidc")
        try:
            registry: Registry = running.registry
            token = parse_identity_token(oidc.mint(), now=datetime.now(timezone.utc))
            signer = KeylessSigner(load_trust(TrustOptions(trust_config=stack.trust_config)), token)
            with Registries(insecure=[registry.host], env={}) as pool:
                images = [
                    new_image(registry, f"bench/svc{i}-{secrets.token_hex(2)}")
                    for i in range(IMAGES)
                ]
                for image in images:
                    sign_image(image, signer, "bundle", pool)
            trust = TrustOptions(trusted_root=stack.trusted_root)
            policy = IdentityPolicy.exact(identity=oidc.san, issuer=oidc.issuer)
            for delay in (0.0, DELAY_S):
                proxy = FaultProxy(registry.url).start()
                try:
                    if delay:
                        proxy.add_fault(action="delay", delay=delay, times=None)
                    host = proxy.host
                    refs = [f"{host}/{i.repo}@{i.digest}" for i in images]
                    root = tmp / f"repo-{int(delay * 1000)}"
                    _repository(root, host, oidc.san, refs)
                    request = GateRequest(
                        root=root,
                        paths=("deploy",),
                        config=load_config(root / ".shipsign.toml"),
                        options=GateOptions(trust=trust, insecure_registries=(host,)),
                        report=None,
                    )

                    def gate(pool: Registries, request: GateRequest = request) -> bool:
                        outcome = run_gate(request, environ={}, registries=pool)
                        return outcome.report.conclusion.value == "success"

                    def verify(pool: Registries, refs: list[str] = refs) -> bool:
                        report = verify_images(
                            VerifyRequest(images=tuple(refs), policy=policy, trust=trust),
                            registries=pool,
                        )
                        return report.ok

                    gate_s, gate_requests = _measure("gate", host, gate)
                    verify_s, verify_requests = _measure("verify", host, verify)
                finally:
                    proxy.stop()
                print(
                    json.dumps(
                        {
                            "bench": "gate",
                            "run": f"{IMAGES} images in {FILES} files "
                            f"({IMAGES + FILES} references)",
                            "delay_ms": int(delay * 1000),
                            "runs": RUNS,
                            "gate_median_s": round(gate_s, 3),
                            "gate_registry_requests": gate_requests,
                            "baseline": f"verify of the same {IMAGES} digests, same run",
                            "verify_median_s": round(verify_s, 3),
                            "verify_registry_requests": verify_requests,
                            "ratio_to_verify": round(gate_s / verify_s, 2),
                            "machine": MACHINE,
                        }
                    ),
                    flush=True,
                )
        finally:
            oidc.stop()
            stack.stop()
            running.stop()


if __name__ == "__main__":
    main()

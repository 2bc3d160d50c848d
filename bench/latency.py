"""Sign, then verify, with real-world latency: every registry request takes a 30 ms round trip.

On loopback a request costs about a millisecond; against GHCR or Docker Hub it costs tens of
milliseconds, so the number of requests and how many of them wait on each other decide the time.
This bench puts a fault proxy that delays every request by DELAY in front of each of two
registries, then:

1. `shipsign sign` (both formats, verify after) of DIGESTS digests in both registries;
2. `shipsign verify` of the same 2 x DIGESTS references, as a consumer;
3. the same jobs with real cosign v3 (bundle) and v2.6 (`.sig`), one image per process as release
   scripts run it, when the peers are built (scripts/install.sh --peers).

For each it prints wall time, registry requests (as the proxies saw them) per signature per
registry, and the sequential round trips on the critical path: wall time / DELAY. That last
figure shows how well concurrency hides latency. Beside them, cosign's shape as a model: one
digest at a time, about 8 requests per signature per registry, each a sequential round trip.
Everything runs in this one process, side by side, on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from shipsign.cli import main as shipsign_main
from stack.cosign import Cosign, TrustFiles
from stack.fault_proxy import FaultProxy
from stack.peers import COSIGN_V2, COSIGN_V3, peer_path
from stack.raw_registry import RawClient
from stack.registry import RunningRegistry, start_demo_registries
from stack.sigstore_stack import GitHubOidc, SigstoreStack, start_github_oidc, start_sigstore_stack

MACHINE = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
DELAY = 0.030
DIGESTS = 20
COSIGN_MODEL_REQUESTS = 8  # per signature per registry, each one sequential
T = TypeVar("T")


def emit(**row: Any) -> None:
    print(json.dumps({"bench": "latency", **row, "machine": MACHINE}), flush=True)


class Delayed:
    """Two registries, each behind a proxy that delays every request by DELAY."""

    def __init__(self, registries: list[RunningRegistry]) -> None:
        self.upstream = [r.registry for r in registries]
        self.proxies = [FaultProxy(reg.url) for reg in self.upstream]
        for proxy in self.proxies:
            proxy.start()
            proxy.add_fault(action="delay", delay=DELAY, times=None)
        self._sets = 0

    def stop(self) -> None:
        for proxy in self.proxies:
            proxy.stop()

    def images(self, count: int) -> list[str]:
        """Push `count` fresh images to both registries (directly, not through the delay)."""
        self._sets += 1
        repo = f"latency/set{self._sets}"
        digests = []
        for n in range(count):
            layer = f"{repo} image {n}\n".encode()
            for reg in self.upstream:
                manifest = RawClient(reg, repo).push_image(f"i{n}", layer=layer)
            digests.append("sha256:" + hashlib.sha256(manifest).hexdigest())
        return [f"{p.host}/{repo}@{d}" for d in digests for p in self.proxies]

    def measure(self, job: Callable[[], T]) -> tuple[float, int, T]:
        """Run `job`; return wall seconds, requests the proxies saw, and what it returned."""
        for proxy in self.proxies:
            proxy.reset_log()
        start = time.perf_counter()
        result = job()
        wall = time.perf_counter() - start
        return wall, sum(len(p.requests) for p in self.proxies), result

    def insecure(self) -> list[str]:
        return [arg for p in self.proxies for arg in ("--insecure-registry", p.host)]


def shipsign(*argv: str) -> tuple[int, dict[str, Any]]:
    """Run the CLI in this process, as a user would, and read its JSON report."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = shipsign_main([*argv, "--output", "json"])
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else {})


def row(label: str, wall: float, requests: int, signatures: int, **more: Any) -> None:
    emit(
        run=label,
        delay_ms=round(DELAY * 1000),
        wall_s=round(wall, 3),
        registry_requests=requests,
        signatures=signatures,
        requests_per_signature_per_registry=round(requests / signatures, 2),
        sequential_round_trips=round(wall / DELAY, 1),
        **more,
    )


def bench_shipsign(net: Delayed, stack: SigstoreStack, oidc: GitHubOidc) -> None:
    refs = net.images(DIGESTS)
    sign = ["sign", "--trust-config", str(stack.trust_config), *net.insecure(), *refs]
    with _github_env(oidc):
        wall, requests, (code, _) = net.measure(lambda: shipsign(*sign))
    signatures = len(refs) * 2  # per registry and format: 20 x 2 x 2
    row(
        f"shipsign sign, {DIGESTS} digests x 2 registries x both formats, verify after",
        wall,
        requests,
        signatures,
        ok=code == 0,
    )
    verify = [
        *("verify", "--certificate-identity", oidc.san, "--certificate-oidc-issuer", oidc.issuer),
        *("--trusted-root", str(stack.trusted_root), *net.insecure(), *refs),
    ]
    wall, requests, (code, _) = net.measure(lambda: shipsign(*verify))
    emit(
        run=f"shipsign verify, {len(refs)} references (both formats signed)",
        delay_ms=round(DELAY * 1000),
        wall_s=round(wall, 3),
        ok=code == 0,
        registry_requests=requests,
        requests_per_image=round(requests / len(refs), 2),
        sequential_round_trips=round(wall / DELAY, 1),
    )


def bench_cosign(net: Delayed, stack: SigstoreStack, oidc: GitHubOidc, work: Path) -> None:
    model_trips = DIGESTS * 2 * 2 * COSIGN_MODEL_REQUESTS
    emit(
        run="model: cosign's shape, one digest at a time, 8 sequential requests per signature",
        delay_ms=round(DELAY * 1000),
        wall_s=round(model_trips * DELAY, 3),
        sequential_round_trips=model_trips,
        requests_per_signature_per_registry=COSIGN_MODEL_REQUESTS,
    )
    if not all(peer_path("cosign", v).exists() for v in (COSIGN_V3, COSIGN_V2)):
        emit(run="real cosign: not built (bash scripts/install.sh --peers)", skipped=True)
        return
    trust = TrustFiles.write(stack.trusted_root, stack.signing_config, work / "cosign-trust")
    for version, fmt in ((COSIGN_V3, "bundle"), (COSIGN_V2, "legacy")):
        cosign = Cosign(version, trust, work / f"cosign-{version}")
        refs = net.images(DIGESTS)
        token = oidc.mint()

        def sign_all(cosign: Cosign = cosign, refs: list[str] = refs, token: str = token) -> bool:
            return all(
                cosign.sign_keyless(ref, token=token, sigstore_url=stack.url).ok for ref in refs
            )

        wall, requests, ok = net.measure(sign_all)
        row(
            f"cosign {version} sign, {DIGESTS} digests x 2 registries, {fmt}, one per process",
            wall,
            requests,
            len(refs),
            ok=ok,
        )

        def verify_all(cosign: Cosign = cosign, refs: list[str] = refs) -> bool:
            return all(cosign.verify(ref, identity=oidc.san, issuer=oidc.issuer).ok for ref in refs)

        wall, requests, ok = net.measure(verify_all)
        emit(
            run=f"cosign {version} verify, {len(refs)} references ({fmt}), one per process",
            delay_ms=round(DELAY * 1000),
            wall_s=round(wall, 3),
            ok=ok,
            registry_requests=requests,
            requests_per_image=round(requests / len(refs), 2),
            sequential_round_trips=round(wall / DELAY, 1),
        )


@contextlib.contextmanager
def _github_env(oidc: GitHubOidc) -> Iterator[None]:
    """The variables of a job with `id-token: write`, for the in-process sign."""
    saved = {name: os.environ.get(name) for name in oidc.env()}
    os.environ.update(oidc.env())
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipsign-bench-latency-") as tmp:
        work = Path(tmp)
        started: list[RunningRegistry] = []
        stack = oidc = None
        net = None
        try:
            started = start_demo_registries(work / "registries")
            stack = start_sigstore_stack(work / "sigstore")
            oidc = start_github_oidc(work / "oidc")
            net = Delayed(started)
            bench_shipsign(net, stack, oidc)
            bench_cosign(net, stack, oidc, work)
        finally:
            if net is not None:
                net.stop()
            if oidc is not None:
                oidc.stop()
            if stack is not None:
                stack.stop()
            for running in started:
                running.stop()


if __name__ == "__main__":
    main()

"""`shipsign sign` at scale on the local stack: N digests published in 2 registries, both formats.

Starts two registries, the Sigstore stack and the GitHub OIDC endpoint (tests/stack), pushes small
single-platform images with RawClient, then signs them with `sign_images` and prints one JSON
line per result: wall seconds, Fulcio and Rekor calls (as the Sigstore server counted them),
registry requests per signature per registry (counted by a `requests` response hook on our
client, with a breakdown by kind), and how wall time grows from 1 to 10 to 100 digests, as
ratios to the 1-digest run measured in the same process. Goals (issue 5): 100 x 2 both formats
under 10 s, 1 Fulcio call, <= 6 requests per legacy signature per registry, <= 8 per bundle.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shipsign.oci.transport import Reply

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from shipsign.keyless.trust import TrustOptions
from shipsign.oci import Registries, StaticKeychain
from shipsign.secret import Secret
from shipsign.sign import SignFormat, SignReport, SignRequest, sign_images
from stack.raw_registry import RawClient
from stack.registry import Registry, RunningRegistry, start_demo_registries, start_registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack, start_github_oidc, start_sigstore_stack

MACHINE = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
CERT = "POST /api/v2/signingCert"
ENTRIES = "POST /api/v1/log/entries"
_SIG_TAG = re.compile(r"/manifests/sha256-[0-9a-f]{64}\.sig$")
_FALLBACK_TAG = re.compile(r"/manifests/sha256-[0-9a-f]{64}$")


class RequestCounter:
    """A response hook: requests per registry host, and per kind of request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_host: Counter[str] = Counter()  # guarded by _lock
        self.by_kind: Counter[str] = Counter()  # guarded by _lock

    def __call__(self, reply: Reply) -> None:
        url = urlsplit(reply.url)
        with self._lock:
            self.by_host[url.netloc] += 1
            self.by_kind[f"{reply.method} {_kind(url.path)}"] += 1

    def take(self) -> tuple[Counter[str], Counter[str]]:
        with self._lock:
            hosts, kinds = self.by_host, self.by_kind
            self.by_host, self.by_kind = Counter(), Counter()
            return hosts, kinds


def _kind(path: str) -> str:
    if _SIG_TAG.search(path):
        return ".sig manifest"
    if _FALLBACK_TAG.search(path):
        return "referrers tag"
    if "/referrers/" in path:
        return "referrers API"
    if "/manifests/sha256:" in path:
        return "manifest by digest"
    if "/manifests/" in path:
        return "manifest by tag"
    if "/blobs/uploads/" in path:
        return "blob upload"
    return "blob" if "/blobs/" in path else path


def push_images(registries: list[Registry], repo: str, count: int) -> list[str]:
    """Push `count` distinct small images to every registry; return their digests."""
    digests = []
    clients = [RawClient(reg, repo) for reg in registries]
    for n in range(count):
        layer = f"{repo} image {n}\n".encode()
        for client in clients:
            manifest = client.push_image(f"i{n}", layer=layer)
        digests.append("sha256:" + hashlib.sha256(manifest).hexdigest())
    return digests


class Bench:
    """The running stack and what every measured run shares."""

    def __init__(self, registries: list[Registry], stack: SigstoreStack, oidc: GitHubOidc):
        self.registries = registries
        self.stack = stack
        self.oidc = oidc
        self.counter = RequestCounter()
        self._repos = 0

    def images(self, count: int) -> list[str]:
        self._repos += 1
        repo = f"bench/set{self._repos}"
        digests = push_images(self.registries, repo, count)
        return [f"{reg.host}/{repo}@{d}" for d in digests for reg in self.registries]

    def sign(
        self, images: list[str], *, fmt: SignFormat, verify: bool
    ) -> tuple[float, SignReport, dict[str, Any]]:
        request = SignRequest(
            images=tuple(images),
            format=fmt,
            identity_token=Secret(self.oidc.mint()),
            trust=TrustOptions(trust_config=self.stack.trust_config),
            verify_after=verify,
        )
        hosts = [reg.host for reg in self.registries]
        pool = Registries(
            keychain=StaticKeychain({}), insecure=hosts, env={}, response_hook=self.counter
        )
        self.stack.reset_stats()
        self.counter.take()
        start = time.perf_counter()
        with pool:
            report = sign_images(request, registries=pool)
        wall = time.perf_counter() - start
        by_host, by_kind = self.counter.take()
        server = self.stack.stats()["requests"]
        facts = {
            "fulcio_calls": server.get(CERT, 0),
            "rekor_calls": server.get(ENTRIES, 0),
            "registry_requests": {h: by_host[h] for h in hosts},
            "requests_by_kind": dict(sorted(by_kind.items())),
        }
        if not report.ok:
            facts["failures"] = [f"{r.reference} {r.format.value}" for r in report.failures()]
        return wall, report, facts


def emit(**row: Any) -> None:
    print(json.dumps({"bench": "sign", **row, "machine": MACHINE}), flush=True)


def per_signature(facts: dict[str, Any], digests: int, formats: int) -> float:
    """Registry requests per signature per registry (the mean over the registries)."""
    counts: list[int] = list(facts["registry_requests"].values())
    return round(float(statistics.mean(counts)) / (digests * formats), 2)


def run(bench: Bench) -> None:
    """Scaling 1 -> 10 -> 100 (both formats, verify after), then the breakdowns at 100."""
    base = scaling(bench)
    breakdowns(bench, base)


def scaling(bench: Bench) -> float:
    """Sign 1, 10 and 100 fresh digests; return the 1-digest wall time (the baseline)."""
    base: float | None = None
    for count, repeats in ((1, 5), (10, 3), (100, 1)):
        walls: list[float] = []
        facts: dict[str, Any] = {}
        for _ in range(repeats):
            wall, report, facts = bench.sign(bench.images(count), fmt=SignFormat.BOTH, verify=True)
            walls.append(wall)
        median = statistics.median(walls)
        base = base or median
        emit(
            run=f"{count} digests x 2 registries, both formats, verify after",
            digests=count,
            signatures=len(report.results),
            ok=report.ok,
            wall_s=round(median, 3),
            runs=repeats,
            ratio_to_1_digest=round(median / base, 2),
            per_digest_s=round(median / count, 4),
            requests_per_signature_per_registry=per_signature(facts, count, 2),
            **facts,
        )
    assert base is not None
    return base


def breakdowns(bench: Bench, base: float) -> None:
    """100 digests without the read-back: both formats, each format alone, and a rerun; the
    both-formats run beside the sigstore-python floor measured just before it."""
    floor = sigstore_floor(bench)
    images = bench.images(100)
    for fmt, label, formats in (
        (SignFormat.BOTH, "both formats", 2),
        (SignFormat.LEGACY, "legacy only", 1),
        (SignFormat.BUNDLE, "bundle only", 1),
    ):
        target = images if fmt is SignFormat.BOTH else bench.images(100)
        wall, report, facts = bench.sign(target, fmt=fmt, verify=False)
        if fmt is SignFormat.BOTH:
            facts["ratio_to_sigstore_floor"] = round(wall / floor, 2)
        emit(
            run=f"100 digests x 2 registries, {label}, --no-verify",
            digests=100,
            signatures=len(report.results),
            ok=report.ok,
            wall_s=round(wall, 3),
            runs=1,
            ratio_to_1_digest=round(wall / base, 2),
            requests_per_signature_per_registry=per_signature(facts, 100, formats),
            **facts,
        )
    wall, report, facts = bench.sign(images, fmt=SignFormat.BOTH, verify=False)
    emit(
        run="rerun of 100 digests x 2 registries (everything already signed), --no-verify",
        digests=100,
        skipped=sum(r.status.value == "skipped" for r in report.results),
        ok=report.ok,
        wall_s=round(wall, 3),
        runs=1,
        ratio_to_1_digest=round(wall / base, 2),
        requests_per_signature_per_registry=per_signature(facts, 100, 2),
        **facts,
    )


def sigstore_floor(bench: Bench, digests: int = 100) -> float:
    """The floor: sigstore-python alone signs what a 100-digest, 2-registry, both-formats run
    signs (one DSSE statement per digest, one payload per digest and registry) with one
    certificate, against the same stack, with no registry at all. Returns its wall time."""
    from sigstore.dsse import Statement
    from sigstore.models import ClientTrustConfig
    from sigstore.oidc import IdentityToken
    from sigstore.sign import SigningContext

    config = ClientTrustConfig.from_json(bench.stack.trust_config.read_text(encoding="utf-8"))
    config.force_tlog_version = 1
    context = SigningContext.from_trust_config(config)
    statements = [
        Statement(
            json.dumps(
                {
                    "_type": "https://in-toto.io/Statement/v1",
                    "subject": [{"name": "", "digest": {"sha256": f"{n:064x}"}}],
                    "predicateType": "https://sigstore.dev/cosign/sign/v1",
                    "predicate": {},
                }
            ).encode()
        )
        for n in range(digests)
    ]
    payloads = [f"floor payload {n}".encode() for n in range(2 * digests)]
    bench.stack.reset_stats()
    start = time.perf_counter()
    with context.signer(IdentityToken(bench.oidc.mint()), cache=True) as signer:
        for statement in statements:
            signer.sign_dsse(statement)
        for payload in payloads:
            signer.sign_artifact(payload)
    wall = time.perf_counter() - start
    server = bench.stack.stats()["requests"]
    emit(
        run=f"floor: sigstore-python signs {digests} statements + {2 * digests} payloads, "
        "one certificate, no registry",
        wall_s=round(wall, 3),
        fulcio_calls=server.get(CERT, 0),
        rekor_calls=server.get(ENTRIES, 0),
    )
    return wall


def api_registries(bench: Bench, work: Path) -> None:
    """The same 100 digests on two registries that serve the referrers API and take monolithic
    uploads (go-containerregistry's, tests/stack/refregistry): requests per signature per
    registry for each format alone, --no-verify. Skipped when `install.sh --peers` has not
    built the registry (the tests fail instead)."""
    try:
        started = [start_registry("referrers-api", work / f"api-{n}") for n in range(2)]
    except Exception as exc:  # not built: say so, measure the rest
        emit(run="referrers-API registries", skipped=f"{type(exc).__name__}: {exc}")
        return
    try:
        api = Bench([r.registry for r in started], bench.stack, bench.oidc)
        for fmt, label in ((SignFormat.LEGACY, "legacy only"), (SignFormat.BUNDLE, "bundle only")):
            wall, report, facts = api.sign(api.images(100), fmt=fmt, verify=False)
            emit(
                run=f"100 digests x 2 referrers-API registries, {label}, --no-verify",
                digests=100,
                signatures=len(report.results),
                ok=report.ok,
                wall_s=round(wall, 3),
                runs=1,
                requests_per_signature_per_registry=per_signature(facts, 100, 1),
                **facts,
            )
    finally:
        for running in started:
            running.stop()


def main() -> None:
    """Start the stack, measure, stop it."""
    with tempfile.TemporaryDirectory(prefix="shipsign-bench-sign-") as tmp:
        work = Path(tmp)
        started: list[RunningRegistry] = []
        stack = oidc = None
        try:
            started = start_demo_registries(work / "registries")
            stack = start_sigstore_stack(work / "sigstore")
            oidc = start_github_oidc(work / "oidc")
            bench = Bench([r.registry for r in started], stack, oidc)
            run(bench)
            api_registries(bench, work)
        finally:
            if oidc is not None:
                oidc.stop()
            if stack is not None:
                stack.stop()
            for running in started:
                running.stop()


if __name__ == "__main__":
    main()

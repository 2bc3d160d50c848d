"""Verify throughput and registry requests per image (issue 4).

Starts the local stack (two anonymous registries, a token-auth registry, the Sigstore mock and
the GitHub OIDC endpoint), signs 100 small images keyless (legacy only; and, separately, both
formats), then times `verify_images` over all 100 (median of RUNS) and counts registry
responses per image with a response hook. The baseline, measured in the same run, is a bare
resolve (one HEAD each) of the same 100 images through the same client and concurrency.
Goals: >= 50 images/s; <= 3 requests per legacy-only image after auth (referrers probe cached
per registry, one referrers-tag GET, one `.sig` GET, one layer GET per signature).

For the set signed in both formats (issue 12) it also measures, in the same run: the floor
(sigstore-python verifying the same 100 bundles in memory, offline, one after another); the
registry part alone (the same 300 GETs, nothing verified); both CLIs as a user runs them
(`sigstore verify identity --offline` on the manifests and bundles on disk, `shipsign verify`
on the images in the registry); and where the time goes: this process's CPU, the registry
server's CPU (read from /proc), and the least wall time the machine allows (this process runs
on one core at a time under the GIL; the registry shares the same cores).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from shipsign.oci.transport import Reply

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from integration.verify.signed_images import (
    push_bundle_referrer,
    push_image,
    push_sig_image,
    sign_bundle,
    sign_legacy,
    subject_of,
)
from shipsign.keyless.identity import IdentityToken, parse_identity_token
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.oci import Reference, Registries
from shipsign.signatures import find_bundles
from shipsign.verify import SourceFormat, VerifyReport, VerifyRequest, verify_images
from stack.raw_registry import RawClient
from stack.registry import Registry, RunningRegistry, start_demo_registries, start_registry
from stack.sigstore_stack import (
    GitHubOidc,
    SigstoreStack,
    start_github_oidc,
    start_sigstore_stack,
)

IMAGES = 100
RUNS = 5
GOAL_IMAGES_PER_S = 50.0
GOAL_REQUESTS_LEGACY = 3.0
MACHINE = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"


class Counter:
    """A response hook that counts every HTTP response our clients receive, by kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = 0  # guarded by _lock
        self.auth = 0  # 401 challenges and token requests; guarded by _lock
        self.probes = 0  # referrers API requests; guarded by _lock

    def __call__(self, reply: Reply) -> None:
        path = urlsplit(reply.url).path
        with self._lock:
            self.total += 1
            if reply.status == 401 or not path.startswith("/v2/"):
                self.auth += 1
            elif "/referrers/" in path:
                self.probes += 1

    def after_auth(self) -> int:
        """Responses minus the auth dance and the (once per registry) referrers probe."""
        with self._lock:
            return self.total - self.auth - self.probes


SIGNED_BUNDLES: list[bytes] = []  # every bundle _sign_images made, for the sigstore floor
# (manifest, bundle) of each image signed in both formats, for sigstore-python's CLI
SIGNED_PAIRS: list[tuple[bytes, bytes]] = []


def _sign_images(
    reg: Registry, repo: str, signer: KeylessSigner, *, bundles: bool, pool: Registries
) -> list[str]:
    """Push IMAGES small images to one repository and sign each; return IMAGE@DIGEST refs."""
    name = f"{reg.host}/{repo}"

    def one(_: int) -> str:
        raw = RawClient(reg, repo)
        digest, manifest = push_image(raw)
        push_sig_image(raw, digest, [sign_legacy(signer, name, digest)])
        if bundles:
            bundle = sign_bundle(signer, name, digest)
            push_bundle_referrer(raw, subject_of(manifest), bundle, fallback=pool)
            SIGNED_BUNDLES.append(bundle)
            SIGNED_PAIRS.append((manifest, bundle))
        return f"{name}@{digest}"

    with ThreadPoolExecutor(max_workers=8) as workers:
        return list(workers.map(one, range(IMAGES)))


def _sigstore_floor(bundles: list[bytes], trusted_root: Path, oidc: GitHubOidc) -> float:
    """The floor: sigstore-python verifies the same bundles offline, one after another, as its
    CLI does; no registry at all. Median seconds over RUNS runs."""
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity

    verifier = Verifier(trusted_root=TrustedRoot.from_file(str(trusted_root)))
    policy = Identity(identity=oidc.san, issuer=oidc.issuer)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for raw in bundles:
            verifier.verify_dsse(Bundle.from_json(raw), policy)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _cli_pair(
    refs: list[str], host: str, stack: SigstoreStack, oidc: GitHubOidc, workdir: Path
) -> tuple[float, float]:
    """The two CLIs side by side, as a user runs them: sigstore-python's `verify identity
    --offline` over the 100 manifests with their bundles beside them on disk, and `shipsign
    verify` over the same 100 images in the registry. Process start and imports included;
    medians of RUNS interleaved runs of each."""
    files = workdir / "cli-floor"
    files.mkdir(exist_ok=True)
    names = []
    for i, (manifest, bundle) in enumerate(SIGNED_PAIRS):
        (files / f"image{i}.json").write_bytes(manifest)
        (files / f"image{i}.json.sigstore.json").write_bytes(bundle)
        names.append(str(files / f"image{i}.json"))
    bindir = Path(sys.executable).parent
    identity = ["--cert-identity", oidc.san, "--cert-oidc-issuer", oidc.issuer]
    sigstore = [str(bindir / "sigstore"), "--trust-config", str(stack.trust_config)]
    sigstore += ["verify", "identity", "--offline", *identity, *names]
    shipsign = [str(bindir / "shipsign"), "verify", "--trusted-root", str(stack.trusted_root)]
    shipsign += ["--insecure-registry", host, "--certificate-identity", oidc.san]
    shipsign += ["--certificate-oidc-issuer", oidc.issuer, "--output", "json", *refs]
    times: dict[str, list[float]] = {"sigstore": [], "shipsign": []}
    for _ in range(RUNS):
        for label, argv in (("sigstore", sigstore), ("shipsign", shipsign)):
            start = time.perf_counter()
            done = subprocess.run(argv, capture_output=True, text=True, cwd=workdir, check=False)
            times[label].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"{label} CLI exit {done.returncode}: {done.stderr[-2000:]}")
    return statistics.median(times["sigstore"]), statistics.median(times["shipsign"])


@dataclass(frozen=True)
class _Run:
    """Medians over RUNS runs: wall seconds, this process's CPU seconds (every thread), and
    the registry server's CPU seconds (it shares this machine's cores)."""

    wall_s: float
    cpu_s: float
    registry_cpu_s: float
    counter: Counter
    result: object


def _server_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median_run(op: Callable[[Counter], object], registry_pid: int) -> _Run:
    """Median over RUNS runs, each with fresh clients; the counts of the last run."""
    wall, cpu, served, counter, result = [], [], [], Counter(), None
    for _ in range(RUNS):
        counter = Counter()
        start, start_cpu, start_served = (
            time.perf_counter(),
            time.process_time(),
            _server_cpu(registry_pid),
        )
        result = op(counter)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        served.append(_server_cpu(registry_pid) - start_served)
    median = statistics.median
    return _Run(median(wall), median(cpu), median(served), counter, result)


def _resolve_all(refs: list[str], insecure: str, counter: Counter) -> None:
    with Registries(insecure=[insecure], env={}, response_hook=counter) as pool:
        client = pool.client(insecure)
        with ThreadPoolExecutor(max_workers=8) as workers:
            list(workers.map(lambda r: client.resolve(Reference.parse(r)), refs))


def _fetch_all(refs: list[str], insecure: str, counter: Counter) -> None:
    """The registry part alone: verify's own lookup (`find_bundles`: referrers tag, bundle
    manifest, bundle blob, each hashed against its digest) for every image, same client and
    workers, nothing verified."""
    with Registries(insecure=[insecure], env={}, response_hook=counter) as pool:
        client = pool.client(insecure)

        def fetch(text: str) -> None:
            ref = Reference.parse(text)
            assert ref.digest is not None
            list(find_bundles(client, ref.repository, ref.digest, []))

        with ThreadPoolExecutor(max_workers=32) as workers:
            list(workers.map(fetch, refs))


def _verify_all(request: VerifyRequest, insecure: str, counter: Counter) -> VerifyReport:
    with Registries(insecure=[insecure], env={}, response_hook=counter) as pool:
        return verify_images(request, registries=pool)


def _bench(
    label: str,
    refs: list[str],
    host: str,
    request: VerifyRequest,
    *,
    registry_pid: int,
    goal_requests: float | None,
    floor_s: float | None = None,
    cli_s: tuple[float, float] | None = None,
) -> None:
    base = _median_run(lambda c: _resolve_all(refs, host, c), registry_pid)
    run = _median_run(lambda c: _verify_all(request, host, c), registry_pid)
    median_s, counts, report = run.wall_s, run.counter, run.result
    base_s, base_counts = base.wall_s, base.counter
    fetch = _median_run(lambda c: _fetch_all(refs, host, c), registry_pid) if floor_s else None
    assert isinstance(report, VerifyReport)
    if not report.ok:
        raise SystemExit(f"{label}: not every image verified: {report.images[0]}")
    images_per_s = IMAGES / median_s
    per_image = counts.after_auth() / IMAGES
    row: dict[str, object] = {
        "bench": "verify",
        "set": label,
        "format": request.format.value,
        "images": IMAGES,
        "runs": RUNS,
        "median_s": round(median_s, 4),
        "images_per_s": round(images_per_s, 1),
        "requests_per_image_after_auth": round(per_image, 2),
        "requests_total": counts.total,
        "auth_requests": counts.auth,
        "referrers_api_probes": counts.probes,
        "baseline": "bare resolve (HEAD) of the same images, same client and 8 workers",
        "baseline_median_s": round(base_s, 4),
        "baseline_requests_per_image_after_auth": round(base_counts.after_auth() / IMAGES, 2),
        "ratio_to_baseline": round(median_s / base_s, 2),
        "goal_images_per_s": GOAL_IMAGES_PER_S,
        "goal_met_images_per_s": images_per_s >= GOAL_IMAGES_PER_S,
        "machine": MACHINE,
    }
    if goal_requests is not None:
        row["goal_requests_per_image"] = goal_requests
        row["goal_met_requests"] = per_image <= goal_requests
    if floor_s is not None and fetch is not None:
        fetch_s = fetch.wall_s
        row["sigstore_python_offline_floor_s"] = round(floor_s, 4)
        row["ratio_to_sigstore_floor"] = round(median_s / floor_s, 2)
        row["goal_ratio_to_floor"] = 1.5
        row["goal_met_ratio_to_floor"] = median_s / floor_s <= 1.5
        # What the registry part alone costs here: the same GETs, nothing verified. When it
        # is already over 1.5x the floor, no verifier that reads the registry can meet it.
        row["bare_fetch_s"] = round(fetch_s, 4)
        row["bare_fetch_ratio_to_floor"] = round(fetch_s / floor_s, 2)
        row["ratio_to_fetch_plus_floor"] = round(median_s / (fetch_s + floor_s), 2)
        # Where the time goes, measured: this process's CPU (one core at a time under the
        # GIL) and the registry server's, on the same cores. The wall time cannot go below
        # either this process's CPU or all the CPU spread over every core.
        cores = os.cpu_count() or 1
        bound = max(run.cpu_s, (run.cpu_s + run.registry_cpu_s) / cores)
        row["verify_process_cpu_s"] = round(run.cpu_s, 4)
        row["registry_server_cpu_s"] = round(run.registry_cpu_s, 4)
        row["cores"] = cores
        row["machine_bound_s"] = round(bound, 4)
        row["machine_bound_ratio_to_floor"] = round(bound / floor_s, 2)
        # Any verifier at all, with no overhead of its own, must still have the registry
        # serve these requests and do the floor's work, on these cores.
        any_verifier = max(floor_s, (run.registry_cpu_s + floor_s) / cores)
        row["any_verifier_bound_s"] = round(any_verifier, 4)
        row["any_verifier_bound_ratio_to_floor"] = round(any_verifier / floor_s, 2)
    if cli_s is not None:
        sigstore_cli, shipsign_cli = cli_s
        row["cli_sigstore_python_offline_s"] = round(sigstore_cli, 4)
        row["cli_shipsign_verify_s"] = round(shipsign_cli, 4)
        row["cli_ratio"] = round(shipsign_cli / sigstore_cli, 2)
    print(json.dumps(row), flush=True)


def _signer(trust_config: Path, oidc: GitHubOidc) -> KeylessSigner:
    def token() -> IdentityToken:
        return parse_identity_token(oidc.mint(), now=datetime.now(timezone.utc))

    return KeylessSigner(
        load_trust(TrustOptions(trust_config=trust_config)), token(), renew_identity=token
    )


def _run(tmp: Path, registries: list[RunningRegistry]) -> None:
    stack = start_sigstore_stack(tmp / "sigstore")
    oidc = start_github_oidc(tmp / "oidc")
    try:
        anonymous, token_reg = registries[0].registry, registries[-1].registry
        pids = {r.registry.host: r.servers[0].pid for r in registries}  # the registry first
        signer = _signer(stack.trust_config, oidc)
        policy = IdentityPolicy.exact(identity=oidc.san, issuer=oidc.issuer)
        trust = TrustOptions(trusted_root=stack.trusted_root)
        for reg, repo, label in (
            (anonymous, "bench/legacy", "legacy-only, anonymous registry"),
            (token_reg, "public/bench-legacy", "legacy-only, token registry (anonymous pull)"),
        ):
            with Registries(insecure=[reg.host], env={}) as pool:
                refs = _sign_images(reg, repo, signer, bundles=False, pool=pool)
            for fmt, goal in ((SourceFormat.ANY, GOAL_REQUESTS_LEGACY), (SourceFormat.LEGACY, 2.0)):
                request = VerifyRequest(images=tuple(refs), policy=policy, trust=trust, format=fmt)
                _bench(
                    label, refs, reg.host, request, registry_pid=pids[reg.host], goal_requests=goal
                )
        with Registries(insecure=[anonymous.host], env={}) as pool:
            refs = _sign_images(anonymous, "bench/both", signer, bundles=True, pool=pool)
        request = VerifyRequest(images=tuple(refs), policy=policy, trust=trust)
        floor = _sigstore_floor(SIGNED_BUNDLES, stack.trusted_root, oidc)
        cli = _cli_pair(refs, anonymous.host, stack, oidc, tmp)
        _bench(
            "both formats, anonymous registry",
            refs,
            anonymous.host,
            request,
            registry_pid=pids[anonymous.host],
            goal_requests=3.0,
            floor_s=floor,
            cli_s=cli,
        )
    finally:
        oidc.stop()
        stack.stop()


# Functions whose inclusive CPU time `--profile` reports, by yappi's "module:function" suffix.
_SPLIT = (
    ("verify_images (all of it)", "verify/images.py", "_verify_input"),
    ("HTTP: Transport.send (urllib3, http.client, sockets)", "oci/transport.py", "send"),
    ("  of it: urllib3's PoolManager.urlopen", "urllib3/poolmanager.py", "urlopen"),
    ("manifest decoding (decode_manifest)", "oci/media.py", "decode_manifest"),
    ("digest hashing (Digest.matches)", "oci/reference.py", "matches"),
    ("referrers tag (fetch_referrers)", "oci/referrers.py", "fetch_referrers"),
    (
        "bundle predicate sniff (statement_predicate_type)",
        "bundle_ref.py",
        "statement_predicate_type",
    ),
    ("verify_bundle (ours + sigstore)", "keyless/bundle_verify.py", "verify_bundle"),
    ("  sigstore Bundle.from_json", "sigstore/models.py", "from_json"),
    ("  sigstore Verifier.verify_dsse", "sigstore/verify/verifier.py", "verify_dsse"),
    ("  our bundle _load (json, defaults)", "keyless/bundle_verify.py", "_load"),
    ("  our identity policy", "keyless/policy.py", "check"),
    ("  our _facts", "keyless/bundle_verify.py", "_facts"),
    ("legacy verify_legacy_signature", "keyless/legacy_verify.py", "verify_legacy_signature"),
)


def _profile(refs: list[str], host: str, request: VerifyRequest, floor_s: float) -> None:
    """`--profile`: where one verify run of the bench's "both formats" set spends its time.

    yappi, CPU clock, every thread: inclusive CPU seconds of the functions in `_SPLIT`, then the
    top functions by own time. Wall clock, process CPU (all threads) and their ratio say how much
    of the run the Python process is busy; the rest is waiting (registry, GIL, sockets).
    """
    import yappi  # type: ignore[import-untyped]  # a dev-only profiler, no stubs

    for _ in range(2):  # warm: imports, trust, connection pools are per run anyway
        _verify_all(request, host, Counter())
    wall, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        _verify_all(request, host, Counter())
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    w, c = statistics.median(wall), statistics.median(cpu)
    print(
        json.dumps(
            {
                "profile": "unprofiled",
                "wall_s": round(w, 4),
                "process_cpu_s": round(c, 4),
                "cpu_per_wall": round(c / w, 2),
                "sigstore_python_offline_floor_s": round(floor_s, 4),
                "ratio_to_floor": round(w / floor_s, 2),
            }
        ),
        flush=True,
    )
    yappi.set_clock_type("cpu")
    yappi.start(builtins=True, profile_threads=True)
    start = time.perf_counter()
    _verify_all(request, host, Counter())
    wall_profiled = time.perf_counter() - start
    yappi.stop()
    stats = yappi.get_func_stats()
    total = sum(t.ttot for t in yappi.get_thread_stats())
    rows = {}
    for label, module, name in _SPLIT:
        rows[label] = sum(
            s.ttot
            for s in stats
            if s.module.endswith(module) and (s.name == name or s.name.endswith("." + name))
        )
    print(f"profiled wall {wall_profiled:.3f}s, CPU over all threads {total:.3f}s")
    for label, seconds in rows.items():
        print(f"  {label:55s} {seconds:7.3f}s {100 * seconds / total:5.1f}%")
    print("top 40 by own CPU time:")
    for s in sorted(stats, key=lambda s: s.tsub, reverse=True)[:40]:
        where = "/".join(s.module.split("/")[-2:])
        print(f"  {s.tsub:7.3f}s own {s.ttot:7.3f}s incl {s.ncall:7d}x {where}:{s.name}")
    yappi.clear_stats()


def _profile_run(tmp: Path, registries: list[RunningRegistry]) -> None:
    stack = start_sigstore_stack(tmp / "sigstore")
    oidc = start_github_oidc(tmp / "oidc")
    try:
        anonymous = registries[0].registry
        signer = _signer(stack.trust_config, oidc)
        policy = IdentityPolicy.exact(identity=oidc.san, issuer=oidc.issuer)
        trust = TrustOptions(trusted_root=stack.trusted_root)
        with Registries(insecure=[anonymous.host], env={}) as pool:
            refs = _sign_images(anonymous, "bench/both", signer, bundles=True, pool=pool)
        request = VerifyRequest(images=tuple(refs), policy=policy, trust=trust)
        floor = _sigstore_floor(SIGNED_BUNDLES, stack.trusted_root, oidc)
        _profile(refs, anonymous.host, request, floor)
    finally:
        oidc.stop()
        stack.stop()


def main() -> None:
    """Start the stack, sign, measure, stop everything. `--profile`: profile the "both
    formats" set instead of measuring (prints a CPU split and the top functions)."""
    profile = "--profile" in sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="shipsign-bench-verify-") as tmp:
        started: list[RunningRegistry] = []
        try:
            started += start_demo_registries(Path(tmp))
            if profile:
                _profile_run(Path(tmp), started)
                return
            started.append(start_registry("token", Path(tmp)))
            _run(Path(tmp), started)
        finally:
            for running in started:
                running.stop()


if __name__ == "__main__":
    main()

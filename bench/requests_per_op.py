"""Registry requests per operation, counted by a `requests` response hook, with timings.

Starts an anonymous and a token-auth registry from the test stack (tests/stack) and prints one
JSON line per operation: requests per operation (cold and warm), median wall seconds over N runs,
and the ratio to the baseline, one plain `GET /v2/` through a bare `requests.Session` measured
in the same run. Targets (issue 3): resolve = 1 request after auth; a blob that already exists
costs 1 HEAD and no upload.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from shipsign.oci.transport import Reply

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from integration.referrer_writes import add_referrer
from shipsign.oci import (
    OCI_EMPTY,
    Credential,
    Descriptor,
    Digest,
    Reference,
    Registries,
    RegistryClient,
    Repository,
    StaticKeychain,
    build_manifest,
    fetch_referrers,
    referrer_descriptor,
)
from shipsign.oci.media import EMPTY_JSON
from shipsign.secret import Secret
from stack.registry import Registry, RunningRegistry, start_registry

RUNS = 15
MACHINE = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
EMPTY = Descriptor(media_type=OCI_EMPTY, digest=Digest.of(EMPTY_JSON), size=2)


class Counter:
    """A response hook that counts every HTTP response our clients receive."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0  # guarded by _lock

    def __call__(self, reply: Reply) -> None:
        with self._lock:
            self.count += 1

    def take(self) -> int:
        with self._lock:
            n, self.count = self.count, 0
            return n


def _client(reg: Registry, counter: Counter) -> RegistryClient:
    logins = {}
    if reg.username is not None and reg.password is not None:
        logins[reg.host] = Credential(username=reg.username, password=Secret(reg.password))
    pool = Registries(
        keychain=StaticKeychain(logins), insecure=[reg.host], env={}, response_hook=counter
    )
    return pool.client(reg.host)


def _measure(name: str, op: Callable[[int], object], counter: Counter, baseline: float) -> None:
    """Run `op` once cold and RUNS times warm; print requests per op and the median time."""
    counter.take()
    op(-1)
    cold = counter.take()
    times, counts = [], []
    for n in range(RUNS):
        start = time.perf_counter()
        op(n)
        times.append(time.perf_counter() - start)
        counts.append(counter.take())
    median = statistics.median(times)
    row = {
        "bench": "requests_per_op",
        "op": name,
        "requests_cold": cold,
        "requests_warm": statistics.median(counts),
        "requests_warm_max": max(counts),
        "median_s": round(median, 5),
        "runs": RUNS,
        "ratio_to_baseline": round(median / baseline, 2),
        "machine": MACHINE,
    }
    print(json.dumps(row), flush=True)


def _baseline(reg: Registry) -> float:
    with requests.Session() as session:
        session.get(f"{reg.url}/v2/", timeout=5)
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            session.get(f"{reg.url}/v2/", timeout=5)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    row = {
        "bench": "requests_per_op",
        "op": "baseline: bare GET /v2/",
        "requests_warm": 1,
        "median_s": round(median, 5),
        "runs": RUNS,
        "ratio_to_baseline": 1.0,
        "machine": MACHINE,
    }
    print(json.dumps(row), flush=True)
    return median


def _bench_registry(label: str, reg: Registry, baseline: float) -> None:
    counter = Counter()
    client = _client(reg, counter)
    repo = Repository(reg.host, "bench/app")
    client.push_blob(repo, EMPTY_JSON)
    image = build_manifest(config=EMPTY, layers=[])
    client.push_manifest(repo, image, tag="v1")
    counter.take()
    # A fresh client, so that "cold" includes the auth dance.
    fresh = _client(reg, counter)
    ref = Reference.parse(f"{reg.host}/bench/app:v1")
    _measure(f"resolve ({label})", lambda _n: fresh.resolve(ref), counter, baseline)
    _measure(
        f"push blob that exists ({label})",
        lambda _n: client.push_blob(repo, EMPTY_JSON),
        counter,
        baseline,
    )
    _measure(
        f"push new small blob ({label})",
        lambda n: client.push_blob(repo, f"blob {n}".encode()),
        counter,
        baseline,
    )

    def push_manifest(n: int) -> object:
        small = build_manifest(config=EMPTY, layers=[], annotations={"n": str(n)})
        return client.push_manifest(repo, small, tag=f"m{n + 1}")

    _measure(f"push small manifest by tag ({label})", push_manifest, counter, baseline)

    def add(n: int) -> object:
        ref_manifest = build_manifest(
            config=EMPTY,
            layers=[],
            annotations={"n": str(n)},
            subject=image.descriptor,
            artifact_type="x/y",
        )
        client.push_manifest(repo, ref_manifest)
        counter.take()  # count the index update only
        return add_referrer(client, repo, image.digest, referrer_descriptor(ref_manifest))

    _measure(f"referrers fallback add, excl. referrer PUT ({label})", add, counter, baseline)
    _measure(
        f"referrers fallback list ({label})",
        lambda _n: fetch_referrers(client, repo, image.digest),
        counter,
        baseline,
    )


def main() -> None:
    """Start the registries, measure, stop them."""
    with tempfile.TemporaryDirectory(prefix="shipsign-bench-") as tmp:
        started: list[RunningRegistry] = []
        try:
            for kind in ("anonymous", "token"):
                started.append(start_registry(kind, Path(tmp)))
            anonymous, token = (r.registry for r in started)
            baseline = _baseline(anonymous)
            _bench_registry("anonymous", anonymous, baseline)
            _bench_registry("token auth", token, baseline)
        finally:
            for running in started:
                running.stop()


if __name__ == "__main__":
    main()

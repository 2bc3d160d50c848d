"""`shipsign sign` when things go wrong: a registry that fails mid-run (the other registry's
signatures are written and intact, the report names what is unsigned, a rerun after recovery
completes without duplicates), transient registry faults and a Rekor that answers 503 twice
(the run still succeeds), and two signers on one digest at once (both signatures kept)."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from integration.sign.helpers import (
    assert_no_secrets,
    bundle_referrers,
    push_image,
    push_index,
    run_cli,
    sig_layers,
)
from shipsign.keyless.trust import TrustOptions
from shipsign.oci import StaticKeychain
from shipsign.secret import Secret
from shipsign.sign import SignReport, SignRequest, sign_images
from stack.fault_proxy import FaultProxy
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def argv(stack: SigstoreStack, token: str, *registries: Registry) -> list[str]:
    out = ["sign", "--trust-config", str(stack.trust_config), "--identity-token", token]
    for reg in registries:
        out += ["--insecure-registry", reg.host]
    return out


def test_a_registry_failing_mid_run_leaves_the_other_signed_and_a_rerun_completes(
    fault_proxy: FaultProxy,
    registry: Registry,
    registry_b: Registry,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = fault_proxy.registry, registry_b
    pushed = push_index([registry, registry_b], repo)  # `registry` is what the proxy fronts
    images = [f"{a.host}/{repo}:v1", f"{b.host}/{repo}:v1"]
    # Reads work, every manifest write to A fails: signatures are made, A cannot take them.
    fault_proxy.add_fault("PUT", r"/manifests/", status=503, headers={}, times=None)
    base = [*argv(stack, token, a, b), "--recursive"]
    run = run_cli(capsys, summary, *base, "--output", "json", *images)
    assert run.code == 3, run.out + run.err  # unreachable after retries, nothing definite
    assert_no_secrets(run, token)
    report = run.json()
    assert report["ok"] is False
    by_location: dict[str, set[tuple[str, str, str]]] = {}
    for s in report["signatures"]:
        by_location.setdefault(s["repository"], set()).add((s["digest"], s["format"], s["status"]))
    assert by_location[f"{a.host}/{repo}"] == {
        (d, f, "unreachable") for d in pushed.all for f in ("bundle", "legacy")
    }
    assert by_location[f"{b.host}/{repo}"] == {
        (d, f, "signed") for d in pushed.all for f in ("bundle", "legacy")
    }
    failed = [s for s in report["signatures"] if s["status"] == "unreachable"]
    assert all("push manifest" in s["error"]["what"] for s in failed)
    assert all(s["error"]["found"].startswith("HTTP 503") for s in failed)
    # the text report names what is unsigned, and so does the step summary
    text = run_cli(capsys, summary, *base, "--no-verify", *images)
    assert text.code == 3
    section = text.out.split("Not signed or not verified:")[1].split("Sigstore services:")[0]
    for digest in pushed.all:
        assert f"{a.host}/{repo}@{digest} bundle: unreachable" in section
        assert f"{a.host}/{repo}@{digest} legacy: unreachable" in section
        assert f"{b.host}/{repo}@{digest}" not in section
    assert f"✘ `{a.host}/{repo}@{pushed.digest}`" in text.summary
    # nothing half-written at A; B signed and verifiable
    for digest in pushed.all:
        assert sig_layers(registry, repo, digest) == []
        assert bundle_referrers(registry, repo, digest) == []
        assert len(sig_layers(b, repo, digest)) == 1
        assert len(bundle_referrers(b, repo, digest)) == 1
    verified = run_cli(
        capsys,
        summary,
        *("verify", "--certificate-identity", github_oidc.san),
        *("--certificate-oidc-issuer", github_oidc.issuer, "--trusted-root"),
        *(str(stack.trusted_root), "--recursive", "--insecure-registry", b.host),
        f"{b.host}/{repo}@{pushed.digest}",
    )
    assert verified.code == 0, verified.out + verified.err

    # A recovers: the rerun signs A and leaves B alone.
    fault_proxy.clear()
    again = run_cli(capsys, summary, *base, "--output", "json", *images)
    assert again.code == 0, again.out + again.err
    statuses = {(s["repository"], s["status"]) for s in again.json()["signatures"]}
    assert statuses == {(f"{a.host}/{repo}", "signed"), (f"{b.host}/{repo}", "skipped")}
    for digest in pushed.all:
        for reg in (registry, b):
            assert len(sig_layers(reg, repo, digest)) == 1
            assert len(bundle_referrers(reg, repo, digest)) == 1
    assert_no_secrets(again, token)


def test_transient_registry_and_rekor_faults_are_retried(
    fault_proxy: FaultProxy,
    registry: Registry,
    registry_b: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = fault_proxy.registry, registry_b
    digest = push_image([registry, registry_b], repo)
    fault_proxy.add_fault("GET", r"/manifests/", action="reset", times=2)  # dropped connections
    fault_proxy.add_fault("HEAD", r"/blobs/", status=429, headers={"Retry-After": "1"})
    fault_proxy.add_fault("POST", r"/blobs/uploads/", status=503, headers={})
    fault_proxy.add_fault("PUT", r"\.sig$", status=503, headers={})
    fault_proxy.add_fault("PUT", r"/manifests/sha256-[0-9a-f]{64}$", status=502, headers={})
    stack.fault("/api/v1/log/entries", method="POST", status=503, count=2)
    images = [f"{a.host}/{repo}@{digest}", f"{b.host}/{repo}@{digest}"]
    run = run_cli(capsys, summary, *argv(stack, token, a, b), "--output", "json", *images)
    assert run.code == 0, run.out + run.err
    assert_no_secrets(run, token)
    report = run.json()
    assert {(s["status"], s["read_back"]) for s in report["signatures"]} == {("signed", "verified")}
    seen = {(method, status) for method, _, status in fault_proxy.requests}
    assert {("GET", 0), ("HEAD", 429), ("POST", 503), ("PUT", 503), ("PUT", 502)} <= seen
    rekor = next(s for s in report["services"] if s["service"] == "Rekor")
    assert rekor["retries"] == 2
    assert rekor["retry_reasons"] == {"HTTP 503": 2}
    assert rekor["calls"] == 3  # one bundle, two legacy signatures
    for reg in (registry, b):
        assert len(sig_layers(reg, repo, digest)) == 1
        assert len(bundle_referrers(reg, repo, digest)) == 1


def test_two_signers_at_once_keep_both_signatures(
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    digest = push_image([registry], repo)
    tokens = [github_oidc.mint(), github_oidc.mint()]
    image = f"{registry.host}/{repo}@{digest}"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shipsign",
                *argv(stack, t, registry),
                # --force: both must write, however the two start. Without it the slower one
                # may find the other's signature (same identity) and rightly skip.
                "--force",
                "--output",
                "json",
                image,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for t in tokens
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err
        for text in (out, err):
            assert all(t not in text for t in tokens)
    indexes = {
        s["rekor_log_index"]
        for out, _ in outputs
        for s in json.loads(out)["signatures"]
        if s["format"] == "legacy"
    }
    assert len(indexes) == 2
    layers = sig_layers(registry, repo, digest)
    assert len(layers) == 2
    logged = {
        json.loads(layer["annotations"]["dev.sigstore.cosign/bundle"])["Payload"]["logIndex"]
        for layer in layers
    }
    assert logged == indexes
    referrers = bundle_referrers(registry, repo, digest)
    bundles = {
        s["signature_manifest"]
        for out, _ in outputs
        for s in json.loads(out)["signatures"]
        if s["format"] == "bundle"
    }
    assert {r["digest"] for r in referrers} == bundles
    assert len(bundles) == 2


def test_many_concurrent_runs_on_one_digest_lose_nothing(
    registry: Registry,
    registry_b: Registry,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    digest = push_image([registry, registry_b], repo)
    images = (f"{registry.host}/{repo}@{digest}", f"{registry_b.host}/{repo}@{digest}")

    def one(_: int) -> SignReport:
        request = SignRequest(
            images=images,
            identity_token=Secret(github_oidc.mint()),
            trust=TrustOptions(trust_config=stack.trust_config),
            insecure_registries=(registry.host, registry_b.host),
            keychain=StaticKeychain({}),
        )
        return sign_images(request)

    runs = 6
    with ThreadPoolExecutor(max_workers=runs) as workers:
        reports = list(workers.map(one, range(runs)))
    assert all(r.ok for r in reports), [r.failures() for r in reports]
    for reg in (registry, registry_b):
        layers = sig_layers(reg, repo, digest)
        assert len(layers) == runs
        assert (
            len({layer["annotations"]["dev.cosignproject.cosign/signature"] for layer in layers})
            == runs
        )
        assert len(bundle_referrers(reg, repo, digest)) == runs

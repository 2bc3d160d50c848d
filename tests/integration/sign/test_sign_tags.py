"""`shipsign sign --tag`: an image pushed by digest to two registries gets its tags only after
every signature is written and verified in both. When verification fails in one registry, no tag
moves in either; when a tag cannot be written in one, those already moved are put back.

Real registries and the local Sigstore stack; the fault proxy stands in front of one registry
only for what a real server cannot be made to do: hide a signature it stored, or refuse one tag.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.sign.helpers import assert_no_secrets, bundle_referrers, run_cli
from stack.fault_proxy import FaultProxy
from stack.raw_registry import OCI_CONFIG, OCI_LAYER, RawClient, build_manifest, sha256
from stack.registry import Registry
from stack.sigstore_stack import SigstoreStack


def push_by_digest(registries: list[Registry], repo: str, layer: bytes) -> str:
    """Push one image by digest only (no tag), the same bytes everywhere; return its digest."""
    config = b'{"architecture":"amd64","os":"linux"}'
    manifest = build_manifest((OCI_CONFIG, config), [(OCI_LAYER, layer)])
    for reg in registries:
        client = RawClient(reg, repo)
        client.push_blob(config)
        client.push_blob(layer)
        client.push_manifest(sha256(manifest), manifest)
    return sha256(manifest)


def tag_digest(reg: Registry, repo: str, tag: str) -> str | None:
    """The digest a tag names, read with plain HTTP; None when there is no such tag."""
    resp = RawClient(reg, repo).get_manifest(tag)
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    return sha256(resp.content)


def argv(stack: SigstoreStack, token: str, *registries: Registry) -> list[str]:
    out = ["sign", "--trust-config", str(stack.trust_config), "--identity-token", token]
    for reg in registries:
        out += ["--insecure-registry", reg.host]
    return [*out, "--output", "json", "--tag", "latest", "--tag", "1.0.0"]


@pytest.fixture
def released(fault_proxy: FaultProxy, registry_b: Registry, repo: str) -> tuple[str, str]:
    """In both registries: last release's image tagged `latest`, this release's by digest."""
    regs = [fault_proxy.registry, registry_b]
    old = push_by_digest(regs, repo, b"release 0.9 layer\n")
    for reg in regs:
        manifest = RawClient(reg, repo).get_manifest(old).content
        RawClient(reg, repo).push_manifest("latest", manifest)
    new = push_by_digest(regs, repo, b"release 1.0 layer\n")
    return old, new


def test_tags_move_in_both_registries_after_signing(
    fault_proxy: FaultProxy,
    registry_b: Registry,
    repo: str,
    released: tuple[str, str],
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = released
    a, b = fault_proxy.registry, registry_b
    images = [f"{a.host}/{repo}@{new}", f"{b.host}/{repo}@{new}"]
    run = run_cli(capsys, summary, *argv(stack, token, a, b), *images)
    assert run.code == 0, run.out + run.err
    assert_no_secrets(run, token)
    report = run.json()
    assert {(t["reference"], t["status"], t["previous"]) for t in report["tags"]} == {
        (f"{reg.host}/{repo}:{tag}", "moved", old if tag == "latest" else None)
        for reg in (a, b)
        for tag in ("latest", "1.0.0")
    }
    for reg in (a, b):
        assert tag_digest(reg, repo, "latest") == new
        assert tag_digest(reg, repo, "1.0.0") == new
    # the tags moved after the signatures were written: the last manifest PUTs are the tags
    puts = [path for method, path, _ in fault_proxy.requests if method == "PUT"]
    assert [p.rsplit("/", 1)[1] for p in puts[-2:]] == ["latest", "1.0.0"]
    assert "2 tags moved" not in run.summary  # four tags: two in each registry
    assert "4 tags moved" in run.summary


def test_verification_failing_in_one_registry_moves_no_tag_in_either(
    fault_proxy: FaultProxy,
    registry: Registry,
    registry_b: Registry,
    repo: str,
    released: tuple[str, str],
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = released
    a, b = fault_proxy.registry, registry_b
    fault_proxy.reset_log()
    # A stores every signature, then serves no blob: the read-back cannot verify there.
    fault_proxy.add_fault("GET", r"/blobs/sha256:", status=404, headers={}, times=None)
    images = [f"{a.host}/{repo}@{new}", f"{b.host}/{repo}@{new}"]
    run = run_cli(capsys, summary, *argv(stack, token, a, b), *images)
    assert run.code == 1, run.out + run.err  # a definite negative: not verified
    assert_no_secrets(run, token)
    report = run.json()
    assert report["ok"] is False
    assert report["signed"] is False
    readback = {(s["repository"], s["format"]): s["read_back"] for s in report["signatures"]}
    assert {s["status"] for s in report["signatures"]} == {"signed"}
    # B verifies; A's bundle cannot (its blob is unreadable), and whether its legacy signature
    # does depends on whether the verifier needs the payload blob: either way, a failure.
    assert readback[f"{b.host}/{repo}", "bundle"] == readback[f"{b.host}/{repo}", "legacy"]
    assert readback[f"{b.host}/{repo}", "bundle"] == "verified"
    assert readback[f"{a.host}/{repo}", "bundle"] == "failed"
    assert readback[f"{a.host}/{repo}", "legacy"] in ("failed", "verified")
    assert len(bundle_referrers(registry, repo, new)) == 1  # written; only reading it failed
    assert {t["status"] for t in report["tags"]} == {"held"}
    assert len(report["tags"]) == 4
    for reg in (registry, b):
        assert tag_digest(reg, repo, "latest") == old
        assert tag_digest(reg, repo, "1.0.0") is None
    assert not [p for m, p, _ in fault_proxy.requests if m == "PUT" and p.endswith("/latest")]
    text = run_cli(capsys, summary, *argv(stack, token, a, b)[:-6], "--tag", "latest", *images)
    assert text.code == 1
    assert "no tag moved (2 held)" in text.out
    assert f"✘ {a.host}/{repo}:latest -> {new[:19]}: held" in text.out
    assert "no tag moved" in text.summary


def test_a_tag_refused_in_one_registry_puts_the_other_back(
    fault_proxy: FaultProxy,
    registry: Registry,
    registry_b: Registry,
    repo: str,
    released: tuple[str, str],
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = released
    a, b = fault_proxy.registry, registry_b
    fault_proxy.add_fault(
        "PUT",
        r"/manifests/latest$",
        status=403,
        headers={"Content-Type": "application/json"},
        body=b'{"errors":[{"code":"DENIED","message":"tag is immutable"}]}',
        times=None,
    )
    images = [f"{b.host}/{repo}@{new}", f"{a.host}/{repo}@{new}"]  # B's tags move first
    base = argv(stack, token, a, b)[:-2]  # --tag latest only: it exists, so it can be restored
    run = run_cli(capsys, summary, *base, *images)
    assert run.code == 3, run.out + run.err  # refused by the registry (AuthError)
    report = run.json()
    assert report["signed"] is True
    assert report["ok"] is False
    tags = {t["reference"]: t for t in report["tags"]}
    assert tags[f"{b.host}/{repo}:latest"]["status"] == "restored"
    assert tags[f"{a.host}/{repo}:latest"]["status"] == "failed"
    assert "DENIED" in tags[f"{a.host}/{repo}:latest"]["error"]["found"]
    for reg in (registry, b):
        assert tag_digest(reg, repo, "latest") == old

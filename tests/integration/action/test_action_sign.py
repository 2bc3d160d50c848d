"""`shipsign action` with command=sign as a release job runs it: one image at three registries (one
anonymous, one with basic auth and one with bearer tokens, logins given as inputs), the identity
token from the runner's OIDC endpoint, then command=verify with the workflow's identity, and the
bundles checked by an independent verifier (@sigstore/verify)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from integration.action.runner import ActionRun, action_env, run_action, run_action_process
from shipsign.formats.bundle_ref import BUNDLE_MEDIA_TYPE
from shipsign.oci import Digest
from stack.raw_registry import RawClient
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, NodeVerifier, SigstoreStack

ISSUER = "https://token.actions.githubusercontent.com"
TOKEN = "ghs_" + "J0bT0ken" * 5
JWT = re.compile(r"^[\w-]+\.[\w-]+\.[\w-]+$")
REFERENCE = re.compile(r"^127\.0\.0\.1:\d+/[\w/.-]+@sha256:[0-9a-f]{64}$")


@pytest.fixture
def copies(
    registry: Registry, basic_registry: Registry, token_registry: Registry, repo: str
) -> tuple[Digest, list[str]]:
    """The same image pushed to three registries: its digest and its three references."""
    layer = os.urandom(64)
    refs = []
    for reg in (registry, basic_registry, token_registry):
        manifest = RawClient(reg, repo).push_image("v1", layer=layer)
        refs.append(f"{reg.host}/{repo}@{Digest.of(manifest)}")
    return Digest.of(manifest), refs


def sign_inputs(
    refs: list[str], stack: SigstoreStack, *logins: Registry, insecure: list[str]
) -> dict[str, str]:
    return {
        "command": "sign",
        # one per line, and comma separated: both forms of a list input
        "images": f"{refs[0]}\n{', '.join(refs[1:])}\n",
        "trust-config": str(stack.trust_config),
        "github-token": TOKEN,
        "registry-logins": "".join(f"{r.host} {r.username} {r.password}\n" for r in logins),
        "insecure-registries": "\n".join(insecure),
    }


def oidc_token(run: ActionRun) -> str:
    """The identity token the action fetched: the one JWT it masked."""
    [token] = [m for m in run.masks() if JWT.match(m)]
    return token


def fetch_bundle(reg: Registry, reference: str) -> bytes | None:
    """The bundle behind a signature manifest reference, or None for a legacy `.sig` manifest."""
    repo, _, digest = reference.removeprefix(f"{reg.host}/").partition("@")
    raw = RawClient(reg, repo)
    manifest = raw.get_manifest(digest).json()
    if manifest.get("artifactType") != BUNDLE_MEDIA_TYPE:
        return None
    blob = raw.call("GET", f"blobs/{manifest['layers'][0]['digest']}")
    assert blob.status_code == 200
    return blob.content


def test_sign_three_registries_then_verify(
    copies: tuple[Digest, list[str]],
    registry: Registry,
    basic_registry: Registry,
    token_registry: Registry,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest, refs = copies
    registries = (registry, basic_registry, token_registry)
    inputs = sign_inputs(
        refs,
        sigstore_stack,
        basic_registry,
        token_registry,
        insecure=[r.host for r in registries],
    )
    env = action_env(tmp_path / "sign", inputs, **github_oidc.env())
    run = run_action(monkeypatch, capsys, env)
    assert run.code == 0, run.stdout + run.stderr
    assert run.errors() == []
    assert run.outputs["verified"] == "true"
    signatures = run.outputs["signatures"].splitlines()
    assert len(signatures) == 6  # a .sig manifest and a bundle referrer at each registry
    assert all(REFERENCE.match(s) for s in signatures), signatures
    assert {s.split("@")[0] for s in signatures} == {r.split("@")[0] for r in refs}
    indexes = [int(i) for i in run.outputs["rekor-log-indexes"].splitlines()]
    assert indexes
    assert isinstance(json.loads(run.outputs["result"]), dict)
    assert "| --- |" in run.summary
    assert all(r.host in run.summary for r in registries)
    secrets = [TOKEN, str(basic_registry.password), str(token_registry.password)]
    secrets.append(oidc_token(run))
    run.assert_masked(secrets)
    run.assert_hidden([github_oidc.request_token])  # the runner's own secret

    bundles = 0
    for reg in registries:
        for reference in (s for s in signatures if s.startswith(reg.host + "/")):
            bundle = fetch_bundle(reg, reference)
            if bundle is None:
                continue
            bundles += 1
            path = tmp_path / f"bundle-{bundles}.json"
            path.write_bytes(bundle)
            verdict = node_verifier(path, san=github_oidc.san, issuer=ISSUER, digest=str(digest))
            assert verdict.ok, verdict.output
    assert bundles == 3

    verify = {
        "command": "verify",
        "images": "\n".join(refs),
        "certificate-identity": github_oidc.san,
        "certificate-oidc-issuer": ISSUER,
        "github-ref": github_oidc.workflow.ref,
        "trust-config": str(sigstore_stack.trust_config),
        "github-token": TOKEN,
        "registry-logins": inputs["registry-logins"],
        "insecure-registries": inputs["insecure-registries"],
    }
    checked = run_action(monkeypatch, capsys, action_env(tmp_path / "verify", verify))
    assert checked.code == 0, checked.stdout + checked.stderr
    assert checked.outputs["verified"] == "true"
    doc = json.loads(checked.outputs["result"])
    assert [i["status"] for i in doc["images"]] == ["verified"] * 3
    assert set(checked.outputs["rekor-log-indexes"].splitlines()) <= {str(i) for i in indexes}
    # `signatures` means the same for both commands: the signature manifests, one per line.
    # verify stops at the first signature that passes, bundles first: one per location.
    passed = checked.outputs["signatures"].splitlines()
    assert set(passed) <= set(signatures)
    assert sorted(s.split("@")[0] for s in passed) == sorted(r.split("@")[0] for r in refs)
    checked.assert_masked(secrets[:3])


def test_a_wrong_identity_does_not_verify(
    copies: tuple[Digest, list[str]],
    registry: Registry,
    basic_registry: Registry,
    token_registry: Registry,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, refs = copies
    hosts = [registry.host, basic_registry.host, token_registry.host]
    inputs = sign_inputs(refs[:1], sigstore_stack, insecure=hosts)
    signed = run_action(
        monkeypatch, capsys, action_env(tmp_path / "s", inputs, **github_oidc.env())
    )
    assert signed.code == 0, signed.stdout + signed.stderr
    other = github_oidc.san.replace("refs/tags/v1.2.3", "refs/heads/main")
    verify = {
        "command": "verify",
        "images": refs[0],
        "certificate-identity": other,
        "trust-config": str(sigstore_stack.trust_config),
        "insecure-registries": registry.host,
    }
    run = run_action(monkeypatch, capsys, action_env(tmp_path / "v", verify))
    assert run.code == 1
    assert run.outputs["verified"] == "false"
    [error] = run.errors()
    assert error.startswith("::error title=shipsign%3A failed::")
    assert error.endswith("no signature passed; failed checks: identity")
    assert "| image | digest | result |" in run.summary


def test_the_installed_entry_point_as_the_runner_starts_it(
    copies: tuple[Digest, list[str]],
    registry: Registry,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    tmp_path: Path,
) -> None:
    _, refs = copies
    inputs = sign_inputs(refs[:1], sigstore_stack, insecure=[registry.host])
    inputs["format"] = "bundle"
    run = run_action_process(action_env(tmp_path, inputs, **github_oidc.env()))
    assert run.code == 0, run.stdout + run.stderr
    assert run.outputs["verified"] == "true"
    [signature] = run.outputs["signatures"].splitlines()
    assert signature.startswith(refs[0].split("@")[0] + "@sha256:")
    run.assert_masked([TOKEN, oidc_token(run)])
    run.assert_hidden([github_oidc.request_token])

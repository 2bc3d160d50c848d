"""One `.shipsign.toml` drives `sign`, `verify` and `policy` on the local registry and Sigstore
stack: sign reads `[sign]`, verify picks the `[[policy]]` for the image (no identity flags),
and policy exports the same identity."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
import re2  # type: ignore[import-untyped]
import yaml

from integration.verify.signed_images import run_cli
from shipsign.cli import main
from stack.raw_registry import RawClient, sha256
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def policy_file(host: str, repo: str, identity: str) -> str:
    return f"""
[sign]
images = ["{host}/{repo}"]
format = "both"

[[policy]]
images = ["{host}/acme/*"]
issuer = "https://token.actions.githubusercontent.com"
identity = "{identity}"
github = {{ repository = "acme/app", workflow-trigger = "push" }}
"""


def test_one_policy_file_drives_sign_verify_and_policy(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    repo = f"acme/e2e-{secrets.token_hex(4)}"
    digest = sha256(RawClient(registry, repo).push_image("v1", layer=os.urandom(64)))
    (tmp_path / ".git").mkdir()
    workdir = tmp_path / "deploy"
    workdir.mkdir()
    config = tmp_path / ".shipsign.toml"
    glob = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v*"
    config.write_text(policy_file(registry.host, repo, glob))
    monkeypatch.chdir(workdir)  # found by walking up to the repository root
    token = tmp_path / "token"
    token.write_text(github_oidc.mint())
    insecure = ["--insecure-registry", registry.host]

    trust_config = ["--trust-config", str(sigstore_stack.trust_config)]
    sign = ["sign", f"@{digest}", "--identity-token", str(token), *trust_config, *insecure]
    signed = run_cli(capsys, sign)
    assert signed.code == 0, signed.out + signed.err
    assert f"{registry.host}/{repo}" in signed.out

    image = f"{registry.host}/{repo}@{digest}"
    trust = ["--trusted-root", str(sigstore_stack.trusted_root)]
    verified = run_cli(capsys, ["verify", image, *trust, *insecure])
    assert verified.code == 0, verified.out + verified.err

    # The same file with another workflow as the signer: the image no longer verifies.
    config.write_text(policy_file(registry.host, repo, glob.replace("release.yml", "build.yml")))
    refused = run_cli(capsys, ["verify", image, *trust, *insecure])
    assert refused.code == 1, refused.out + refused.err
    # Flags replace the file's policy entirely.
    flags = [
        "--certificate-identity",
        github_oidc.san,
        "--certificate-oidc-issuer",
        github_oidc.issuer,
    ]
    assert run_cli(capsys, ["verify", image, *flags, *trust, *insecure]).code == 0

    config.write_text(policy_file(registry.host, repo, glob))
    out = tmp_path / "cip.yaml"
    exported = run_cli(capsys, ["policy", "--engine", "policy-controller", "-o", str(out),
                                "--trust-config", str(sigstore_stack.trust_config)])  # fmt: skip
    assert exported.code == 0, exported.err
    documents = list(yaml.safe_load_all(out.read_text()))
    assert [d["kind"] for d in documents] == ["TrustRoot", "ClusterImagePolicy"]
    subject = documents[1]["spec"]["authorities"][0]["keyless"]["identities"][0]["subjectRegExp"]
    assert re2.compile(subject).search(github_oidc.san)
    assert documents[1]["spec"]["images"][0]["glob"] == f"{registry.host}/acme/*:*"
    assert main(["policy", "--engine", "connaisseur", "--format", "bundle"]) == 2

"""The Action signs release files beside the image: input `files` (globs relative to the
workspace, expanded by shipsign: no shell runs in a container action) and `checksums`, output
`bundles` (workspace-relative, one per line). The bundles belong to the workspace's owner, not
to the container's root, and the Node verifier (@sigstore/verify) accepts them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from integration.action.runner import action_env, run_action
from integration.sign.helpers import push_image
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, NodeVerifier, SigstoreStack

ISSUER = "https://token.actions.githubusercontent.com"
NOBODY = 65534


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with release files in dist/; the step runs from another directory."""
    root = tmp_path / "workspace"
    (root / "dist").mkdir(parents=True)
    (root / "dist" / "app_1.2.3_linux_amd64.tar.gz").write_bytes(b"amd64\n" * 300)
    (root / "dist" / "app_1.2.3_linux_arm64.tar.gz").write_bytes(b"arm64\n" * 300)
    (root / "dist" / "app, with a comma.txt").write_text("notes\n")
    monkeypatch.chdir(tmp_path)
    return root


def test_action_signs_images_and_files(
    workspace: Path,
    registry: Registry,
    repo: str,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if os.geteuid() == 0:
        os.chown(workspace, NOBODY, NOBODY)  # as on a runner: the workspace is not root's
    digest = push_image([registry], repo)
    inputs = {
        "command": "sign",
        "images": f"{registry.host}/{repo}@{digest}",
        "files": "dist/*.tar.gz\n# release notes too\ndist/app, with a comma.txt\n",
        "checksums": "SHA256SUMS",
        "format": "bundle",
        "trust-config": str(sigstore_stack.trust_config),
        "insecure-registries": registry.host,
    }
    sigstore_stack.reset_stats()
    env = action_env(
        tmp_path / "runner", inputs, GITHUB_WORKSPACE=str(workspace), **github_oidc.env()
    )
    run = run_action(monkeypatch, capsys, env)
    assert run.code == 0, run.stdout + run.stderr
    assert run.errors() == []
    assert sigstore_stack.requests("POST /api/v2/signingCert") == 1
    bundles = run.outputs["bundles"].splitlines()
    assert bundles == [
        "dist/app, with a comma.txt.sigstore.json",
        "dist/app_1.2.3_linux_amd64.tar.gz.sigstore.json",
        "dist/app_1.2.3_linux_arm64.tar.gz.sigstore.json",
        "dist/SHA256SUMS.sigstore.json",
    ]
    assert run.outputs["ok-count"] == "5"
    assert run.outputs["failed-count"] == "0"
    assert len(run.outputs["rekor-log-indexes"].splitlines()) == 5
    assert run.outputs["verified"] == "true"
    files = json.loads(run.outputs["result"])["files"]
    assert [f["outcome"] for f in files] == ["signed"] * 4
    assert "| file |" in run.summary
    for bundle in bundles:
        path = workspace / bundle
        artifact = workspace / bundle.removesuffix(".sigstore.json")
        verdict = node_verifier(path, san=github_oidc.san, issuer=ISSUER, artifact=artifact)
        assert verdict.ok, verdict.output
        if os.geteuid() == 0:
            assert (path.stat().st_uid, path.stat().st_gid) == (NOBODY, NOBODY), bundle
    if os.geteuid() == 0:
        assert (workspace / "dist" / "SHA256SUMS").stat().st_uid == NOBODY

    # files only: `images` empty, the same bundles found again
    again = dict(inputs, images="")
    rerun = run_action(
        monkeypatch,
        capsys,
        action_env(
            tmp_path / "runner-2", again, GITHUB_WORKSPACE=str(workspace), **github_oidc.env()
        ),
    )
    assert rerun.code == 0, rerun.stdout + rerun.stderr
    assert rerun.outputs["bundles"].splitlines() == bundles
    assert {f["outcome"] for f in json.loads(rerun.outputs["result"])["files"]} == {"skipped"}


def test_action_file_inputs_are_checked(
    workspace: Path,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = {"trust-config": str(sigstore_stack.trust_config)}
    nothing = {**base, "command": "sign", "images": "", "files": "dist/*.zip"}
    env = action_env(tmp_path / "a", nothing, GITHUB_WORKSPACE=str(workspace), **github_oidc.env())
    run = run_action(monkeypatch, capsys, env)
    assert run.code == 2, run.stdout + run.stderr
    assert run.outputs["error"] == "input"
    assert any("a file pattern matches no file to sign" in e for e in run.errors()), run.errors()
    assert any("dist/*.zip" in line for line in run.lines())
    assert sorted(p.name for p in (workspace / "dist").iterdir()) == [
        "app, with a comma.txt",
        "app_1.2.3_linux_amd64.tar.gz",
        "app_1.2.3_linux_arm64.tar.gz",
    ]
    verify = {**base, "command": "verify", "images": "r.example/a@sha256:" + "0" * 64}
    verify["files"] = "dist/*"
    env = action_env(tmp_path / "b", verify, GITHUB_WORKSPACE=str(workspace))
    refused = run_action(monkeypatch, capsys, env)
    assert refused.code == 2
    assert any(
        "inputs `files` and `checksums` are for `command: sign`" in e for e in refused.errors()
    )

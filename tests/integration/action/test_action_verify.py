"""`shipsign action` with command=verify, and the failures every command shares, through the local
registries: credentials given as inputs, results read back from the runner's files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from integration.action.runner import ActionRun, action_env, run_action
from shipsign.oci import Digest
from stack.raw_registry import RawClient
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

ISSUER = "https://token.actions.githubusercontent.com"
TOKEN = "ghs_" + "T0ken" * 8  # stands in for the job's GITHUB_TOKEN


def logins_for(*registries: Registry) -> str:
    return "".join(f"{r.host} {r.username} {r.password}\n" for r in registries)


def push(registry: Registry, repo: str) -> str:
    manifest = RawClient(registry, repo).push_image("v1", layer=os.urandom(64))
    return f"{registry.host}/{repo}@{Digest.of(manifest)}"


Act = Callable[[Mapping[str, str]], ActionRun]


@pytest.fixture
def act(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Act:
    """Run `shipsign action` in-process with these inputs, as a runner would set them."""

    def run(inputs: Mapping[str, str]) -> ActionRun:
        return run_action(monkeypatch, capsys, action_env(tmp_path, inputs))

    return run


def verify_inputs(
    registry: Registry, repo: str, oidc: GitHubOidc, stack: SigstoreStack
) -> dict[str, str]:
    """Inputs to verify a new (unsigned) image on `registry` as `oidc`'s workflow."""
    return {
        "command": "verify",
        "images": push(registry, repo),
        "certificate-identity": oidc.san,
        "trust-config": str(stack.trust_config),
        "insecure-registries": registry.host,
    }


def test_unsigned_image_on_a_private_registry(
    basic_registry: Registry,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    repo: str,
    act: Act,
) -> None:
    inputs = verify_inputs(basic_registry, repo, github_oidc, sigstore_stack)
    inputs["certificate-oidc-issuer"] = ISSUER
    inputs["registry-logins"] = logins_for(basic_registry)
    inputs["github-token"] = TOKEN
    image = inputs["images"]
    run = act(inputs)
    assert run.code == 1, run.stdout + run.stderr
    assert run.outputs["verified"] == "false"
    assert run.outputs["signatures"] == ""
    doc = json.loads(run.outputs["result"])
    assert [i["status"] for i in doc["images"]] == ["unsigned"]
    assert "| image | digest | result |" in run.summary
    assert "unsigned" in run.summary
    [error] = run.errors()
    assert error.startswith("::error title=shipsign%3A unsigned::")
    assert image.split("@")[1] in error
    run.assert_masked([TOKEN, str(basic_registry.password)])


def test_the_login_is_what_lets_it_read(
    basic_registry: Registry,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    repo: str,
    act: Act,
) -> None:
    run = act(verify_inputs(basic_registry, repo, github_oidc, sigstore_stack))  # no login
    assert run.code == 3, run.stdout + run.stderr
    assert len(run.errors()) == 1
    assert run.outputs["verified"] == "false"


def test_summary_can_be_turned_off(
    registry: Registry,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    repo: str,
    act: Act,
) -> None:
    run = act({**verify_inputs(registry, repo, github_oidc, sigstore_stack), "summary": "false"})
    assert run.code == 1
    assert run.summary == ""
    assert run.outputs["verified"] == "false"


def test_verify_without_an_expected_identity_is_bad_input(
    registry: Registry, repo: str, act: Act
) -> None:
    run = act({"command": "verify", "images": push(registry, repo)})
    assert run.code == 2
    [error] = run.errors()
    assert "certificate-identity" in error
    # a fatal error still sets every output: nothing verified, the error's class
    assert (run.outputs["verified"], run.outputs["error"], run.outputs["exit-code"]) == (
        "false",
        "input",
        "2",
    )


def test_missing_id_token_permission_is_one_clear_error(
    basic_registry: Registry, repo: str, act: Act
) -> None:
    """A job without `permissions: id-token: write` has no ACTIONS_ID_TOKEN_REQUEST_* at all."""
    inputs = {
        "command": "sign",
        "images": push(basic_registry, repo),
        "registry-logins": logins_for(basic_registry),
        "insecure-registries": basic_registry.host,
        "github-token": TOKEN,
    }
    run = act(inputs)
    assert run.code == 2, run.stdout + run.stderr
    assert_one_permission_error(run)
    run.assert_masked([TOKEN, str(basic_registry.password)])
    assert (run.outputs["verified"], run.outputs["error"]) == ("false", "input")
    assert run.outputs["signatures"] == ""


def assert_one_permission_error(run: ActionRun) -> None:
    [error] = run.errors()
    assert error.startswith("::error title=shipsign%3A ")
    assert "permissions: id-token: write" in error
    assert [ln for ln in run.lines() if "id-token" in ln] == [error]


def test_malformed_login_is_masked_before_it_is_reported(act: Act) -> None:
    inputs = {
        "command": "verify",
        "images": "127.0.0.1:1/x@sha256:" + "0" * 64,
        "registry-logins": "docker.io alice s3cret-p4ss trailing-word\n",
    }
    run = act(inputs)
    assert run.code == 2
    [error] = run.errors()
    assert "`registry-logins`, line 1" in error
    run.assert_masked(["s3cret-p4ss", "trailing-word"])

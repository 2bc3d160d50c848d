"""`shipsign sign --recursive` on a two-platform index published in two registries, as a release
workflow runs it: every (digest, location, format) written and verifiable with `shipsign
verify`, one Fulcio certificate for the run, one Rekor entry per bundle (per digest) and per
legacy signature (per digest and location); a rerun adds nothing and says so; the identity
token from the runner's OIDC endpoint; credentials from a docker config never printed."""

from __future__ import annotations

import base64
import json
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
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

CERT = "POST /api/v2/signingCert"
ENTRIES = "POST /api/v1/log/entries"


def sign_argv(stack: SigstoreStack, *registries: Registry) -> list[str]:
    argv = ["sign", "--trust-config", str(stack.trust_config), "--recursive"]
    for reg in registries:
        argv += ["--insecure-registry", reg.host]
    return argv


def verify_argv(github_oidc: GitHubOidc, stack: SigstoreStack, fmt: str) -> list[str]:
    return [
        *("verify", "--certificate-identity", github_oidc.san),
        *("--certificate-oidc-issuer", github_oidc.issuer),
        *("--trusted-root", str(stack.trusted_root), "--recursive", "--format", fmt),
    ]


def test_index_in_two_registries_signed_once_per_digest(
    registry: Registry,
    registry_b: Registry,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    github_actions_env: dict[str, str],
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pushed = push_index([registry, registry_b], repo)
    images = [f"{registry.host}/{repo}:v1", f"{registry_b.host}/{repo}:v1"]
    argv = sign_argv(stack, registry, registry_b)
    run = run_cli(capsys, summary, *argv, "--output", "json", *images)  # ambient token
    assert run.code == 0, run.out + run.err
    assert_no_secrets(run, github_actions_env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
    report = run.json()
    assert report["identity"] == github_oidc.san
    assert report["issuer"] == github_oidc.issuer
    assert [i["digest"] for i in report["images"]] == [pushed.digest, pushed.digest]
    got = {(s["digest"], s["repository"], s["format"]) for s in report["signatures"]}
    want = {
        (d, f"{reg.host}/{repo}", fmt)
        for d in pushed.all
        for reg in (registry, registry_b)
        for fmt in ("bundle", "legacy")
    }
    assert got == want
    assert len(report["signatures"]) == 12
    assert {(s["status"], s["read_back"]) for s in report["signatures"]} == {("signed", "verified")}
    # one certificate; Rekor: one bundle per digest + one legacy entry per digest and location
    assert stack.requests(CERT) == 1
    assert stack.requests(ENTRIES) == 3 + 3 * 2
    fulcio = next(s for s in report["services"] if s["service"] == "Fulcio")
    assert (fulcio["calls"], fulcio["retries"]) == (1, 0)
    # the same bundle (same referrer manifest) at both locations; legacy per location
    for digest in pushed.all:
        bundles = {
            s["signature_manifest"]
            for s in report["signatures"]
            if s["digest"] == digest and s["format"] == "bundle"
        }
        assert len(bundles) == 1
        for reg in (registry, registry_b):
            [layer] = sig_layers(reg, repo, digest)
            assert len(bundle_referrers(reg, repo, digest)) == 1
            assert f'"docker-reference":"{reg.host}/{repo}"' in get_payload(reg, repo, layer)
    # every location verifies in each format, platforms included
    for fmt in ("bundle", "legacy"):
        verified = run_cli(
            capsys,
            summary,
            *verify_argv(github_oidc, stack, fmt),
            *("--insecure-registry", registry.host, "--insecure-registry", registry_b.host),
            *(f"{reg.host}/{repo}@{pushed.digest}" for reg in (registry, registry_b)),
        )
        assert verified.code == 0, verified.out + verified.err
        assert verified.out.count("✔") == 6  # 2 locations x (index + 2 platforms)
    # the printed consumer command is the one we just ran (identity exact, by digest)
    assert any(
        c.startswith("shipsign verify --certificate-identity " + github_oidc.san)
        and f"{registry.host}/{repo}@{pushed.digest}" in c
        for c in report["verify_commands"]
    )
    assert any(
        c.startswith("cosign verify --certificate-identity ") for c in report["verify_commands"]
    )

    # A rerun finds everything, says so, and writes nothing: no certificate, no log entry.
    stack.reset_stats()
    again = run_cli(capsys, summary, *argv, *images)
    assert again.code == 0, again.out + again.err
    assert again.out.count("already signed by this identity") == 12
    assert "12 signatures: 0 signed, 12 already there" in again.out
    assert stack.requests(CERT) == 0
    assert stack.requests(ENTRIES) == 0
    for digest in pushed.all:
        for reg in (registry, registry_b):
            assert len(sig_layers(reg, repo, digest)) == 1
            assert len(bundle_referrers(reg, repo, digest)) == 1
    assert_no_secrets(again, github_actions_env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])


def get_payload(reg: Registry, repo: str, layer: dict[str, str]) -> str:
    from integration.sign.helpers import get_blob

    return get_blob(reg, repo, layer["digest"]).decode()


def test_force_signs_again_and_keeps_what_is_there(
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = push_image([registry], repo)
    argv = [*sign_argv(stack, registry), "--identity-token", token, "--no-verify"]
    image = f"{registry.host}/{repo}@{digest}"
    assert run_cli(capsys, summary, *argv, image).code == 0
    first = sig_layers(registry, repo, digest)
    run = run_cli(capsys, summary, *argv, "--force", image)
    assert run.code == 0, run.out + run.err
    layers = sig_layers(registry, repo, digest)
    assert len(layers) == 2
    assert layers[0] == first[0]  # the earlier layer is kept, byte for byte
    assert len(bundle_referrers(registry, repo, digest)) == 2
    assert_no_secrets(run, token)


def test_credentials_from_docker_config_are_never_printed(
    basic_registry: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert basic_registry.username
    assert basic_registry.password
    digest = push_image([basic_registry], repo)
    auth = base64.b64encode(f"{basic_registry.username}:{basic_registry.password}".encode())
    config = {"auths": {basic_registry.host: {"auth": auth.decode()}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    argv = [*sign_argv(stack, basic_registry), "--identity-token", token]
    run = run_cli(capsys, summary, *argv, "-v", f"{basic_registry.host}/{repo}:v1")
    assert run.code == 0, run.out + run.err
    assert len(sig_layers(basic_registry, repo, digest)) == 1
    assert_no_secrets(run, token, basic_registry.password, auth.decode())

    # A wrong password: refused, exit 3, and neither password printed.
    bad = base64.b64encode(f"{basic_registry.username}:not-the-password-123".encode()).decode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": bad}}})
    )
    run = run_cli(capsys, summary, *argv, f"{basic_registry.host}/{repo}:v1")
    assert run.code == 3, run.out + run.err
    assert "refused access" in run.out
    assert_no_secrets(run, token, basic_registry.password, "not-the-password-123", bad)


def test_missing_id_token_permission_is_a_clear_input_error(
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    summary: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)
    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", raising=False)
    digest = push_image([registry], repo)
    run = run_cli(capsys, summary, *sign_argv(stack, registry), f"{registry.host}/{repo}:v1")
    assert run.code == 2, run.out + run.err
    assert "may not request an OIDC token" in run.err
    assert "id-token: write" in run.err
    assert run.out == ""
    assert stack.requests(CERT) == 0
    assert sig_layers(registry, repo, digest) == []


def test_no_ci_and_no_token_says_what_is_missing(
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    summary: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in (
        "GITHUB_ACTIONS",
        "GITLAB_CI",
        "BUILDKITE",
        "CIRCLECI",
        "GOOGLE_SERVICE_ACCOUNT_NAME",
    ):
        monkeypatch.delenv(name, raising=False)
    run = run_cli(capsys, summary, *sign_argv(stack, registry), f"{registry.host}/{repo}:v1")
    assert run.code == 2, run.out + run.err
    assert "no OIDC identity token found" in run.err
    assert "id-token: write" in run.err

"""The shipsign step of `.github/workflows/examples/release-sign.yml`, run as the runner runs it
on a tag push: two multi-platform controller images in two registries (standing in for GHCR
and Docker Hub), GoReleaser-style archives in `dist/`, one step and ONE Fulcio certificate for
all of it, the files, their bundles and the signed checksums on a draft release of the fake
GitHub, the version tags moved last. A rerun in a fresh workspace signs and uploads nothing. A
token without `contents: write` stops the step before anything is signed, and the annotation
names the permission. No credential appears in the log, the outputs or the summary."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from integration.action.example_step import example_step, run_step, runner_env, triggers
from integration.action.runner import ActionRun, action_env
from integration.sign.helpers import PushedIndex, push_index
from shipsign.action.outputs import OUTPUT_NAMES
from stack.github_api import READ_ONLY, FakeGitHub
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

REPO = "acme/app"
TAG = "v1.2.3"  # the tag the OIDC fixture's workflow ran on
CERT_ROUTE = "POST /api/v2/signingCert"
ARCHIVES = (
    "app_1.2.3_linux_amd64.tar.gz",
    "app_1.2.3_linux_arm64.tar.gz",
    "app_1.2.3_darwin_arm64.tar.gz",
    "app_1.2.3_windows_amd64.zip",
)
SUMS = "checksums.txt"  # the example's `checksums:`
HUB_USER, HUB_TOKEN = "acmebot", "dckr_pat_" + "Hub5ecret" * 3
CONTROLLERS = ("source-controller", "kustomize-controller")


def dist(workspace: Path, content: dict[str, bytes]) -> None:
    """The archives the `cli` job uploaded, as download-artifact leaves them in `dist/`."""
    (workspace / "dist").mkdir(parents=True)
    for name, data in content.items():
        (workspace / "dist" / name).write_bytes(data)
    (workspace / "dist" / "notes.md").write_text("not matched by the example's globs\n")


def release_step(
    tmp_path: Path,
    workspace: Path,
    *,
    owners: tuple[str, str],
    images: dict[str, PushedIndex],
    registries: tuple[Registry, Registry],
    fake: FakeGitHub,
    stack: SigstoreStack,
    token: str,
) -> dict[str, str]:
    """The runner's environment for the example's sign step on the tag push."""
    workflow, step = example_step("release-sign.yml", "sign")
    assert triggers(workflow)["push"]["tags"]
    context = {
        "env.GHCR": owners[0],
        "env.HUB": owners[1],
        "github.ref_name": TAG,
        "github.token": token,
        "vars.DOCKERHUB_USERNAME": HUB_USER,
        "secrets.DOCKERHUB_TOKEN": HUB_TOKEN,
        **{f"needs.images.outputs.{name}": index.digest for name, index in images.items()},
    }
    return runner_env(
        step,
        context,
        extra_inputs={
            "trust-config": str(stack.trust_config),
            "insecure-registries": "\n".join(r.host for r in registries),
        },
        tmp_path=tmp_path,
        GITHUB_API_URL=fake.api_url,
        GITHUB_REPOSITORY=REPO,
        GITHUB_REF=f"refs/tags/{TAG}",
        GITHUB_REF_NAME=TAG,
        GITHUB_EVENT_NAME="push",
        GITHUB_WORKSPACE=str(workspace),
    )


def secrets_of(run: ActionRun, token: str) -> list[str]:
    jwts = [m for m in run.masks() if m.startswith("eyJ")]
    assert len(jwts) == 1, "the OIDC token was masked"
    return [token, HUB_TOKEN, *jwts]


@pytest.fixture
def controllers(
    registry: Registry, registry_b: Registry
) -> tuple[tuple[str, str], dict[str, PushedIndex]]:
    """Two controller images, each a two-platform index, pushed to both registries."""
    org = f"acme-{secrets.token_hex(3)}"
    images = {name: push_index([registry, registry_b], f"{org}/{name}") for name in CONTROLLERS}
    return (f"{registry.host}/{org}", f"{registry_b.host}/{org}"), images


def test_one_step_signs_the_images_and_puts_the_files_on_a_draft_release(
    tmp_path: Path,
    registry: Registry,
    registry_b: Registry,
    controllers: tuple[tuple[str, str], dict[str, PushedIndex]],
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    owners, images = controllers
    content = {name: f"{name}\n".encode() + secrets.token_bytes(2048) for name in ARCHIVES}
    first = tmp_path / "first"
    dist(first, content)
    token = fake_github.add_token()
    step = dict(
        owners=owners,
        images=images,
        registries=(registry, registry_b),
        fake=fake_github,
        stack=sigstore_stack,
        token=token,
    )
    sigstore_stack.reset_stats()
    env = release_step(tmp_path / "runner1", first, **step)  # type: ignore[arg-type]
    run = run_step(env, monkeypatch, capsys, ambient=github_oidc.env())

    assert run.code == 0, run.stdout + run.stderr
    assert run.errors() == []
    assert list(run.outputs) == list(OUTPUT_NAMES)
    assert (run.outputs["verified"], run.outputs["error"]) == ("true", "none")
    # ONE certificate for 2 images x 2 registries x 3 digests (index, 2 platforms) and 5 files.
    assert sigstore_stack.requests(CERT_ROUTE) == 1
    repos = {sig.split("@")[0] for sig in run.outputs["signatures"].splitlines()}
    assert repos == {f"{owner}/{name}" for owner in owners for name in CONTROLLERS}
    assert sorted(run.outputs["tags"].splitlines()) == sorted(
        f"{owner}/{name}:{tag}"
        for owner in owners
        for name in CONTROLLERS
        for tag in (TAG, "latest")
    )
    files = [*ARCHIVES, SUMS]
    assert sorted(run.outputs["bundles"].splitlines()) == sorted(
        f"dist/{name}.sigstore.json" for name in files
    )
    sums = (first / "dist" / SUMS).read_text().splitlines()
    assert sorted(line.split("  ")[1] for line in sums) == sorted(ARCHIVES)

    # The release: made as a draft for the tag, holding each file, its bundle, the checksums.
    ((release_id, tag, draft, _),) = fake_github.releases(REPO)
    assert (tag, draft) == (TAG, True)
    assets = {name: data for name, state, data in fake_github.assets(REPO, release_id)}
    assert sorted(assets) == sorted([*files, *(f"{name}.sigstore.json" for name in files)])
    for name in ARCHIVES:
        assert assets[name] == content[name]
        assert (
            assets[f"{name}.sigstore.json"]
            == (first / "dist" / f"{name}.sigstore.json").read_bytes()
        )
    assert run.outputs["uploaded"] == str(len(assets))
    # a draft's page is GitHub's `untagged-…` address until it is published
    assert run.outputs["release-url"].startswith(f"{fake_github.url}/{REPO}/releases/tag/")
    assert f"release {TAG} (draft): {run.outputs['release-url']}: 10 uploaded" in run.summary
    result = json.loads(run.outputs["result"])
    assert result["release"]["uploads"] == len(assets)
    assert len(fake_github.requests("POST", r"/releases$")) == 1
    assert len(fake_github.requests("POST", r"^/api/uploads/")) == len(assets)
    assert f"{len(assets)} uploaded, 0 conflicts" in run.stdout
    run.assert_masked(secrets_of(run, token))
    run.assert_hidden([github_oidc.request_token])

    # A rerun of the job: a fresh workspace with the same archives. The bundles come back from
    # the release and verify, so nothing is signed, logged or uploaded again.
    sigstore_stack.reset_stats()
    fake_github.reset_log()
    second = tmp_path / "second"
    dist(second, content)
    env = release_step(tmp_path / "runner2", second, **step)  # type: ignore[arg-type]
    again = run_step(env, monkeypatch, capsys, ambient=github_oidc.env())
    assert again.code == 0, again.stdout + again.stderr
    assert (again.outputs["verified"], again.outputs["uploaded"]) == ("true", "0")
    assert sigstore_stack.requests(CERT_ROUTE) == 0
    assert fake_github.requests("POST") == []
    assert fake_github.requests("DELETE") == []
    assert {name for name, _, _ in fake_github.assets(REPO, release_id)} == set(assets)
    assert len(fake_github.releases(REPO)) == 1
    assert (second / "dist" / SUMS).read_text() == (first / "dist" / SUMS).read_text()
    again.assert_masked(secrets_of(again, token))

    # A consumer's job verifies the release through the Action; then one archive is swapped.
    verify = {
        "command": "verify-release",
        "github-release": TAG,
        "certificate-identity": github_oidc.san,
        "certificate-oidc-issuer": github_oidc.issuer,
        "trust-config": str(sigstore_stack.trust_config),
        "github-token": token,  # a draft is visible only to a token that may write
    }
    variables = {"GITHUB_API_URL": fake_github.api_url, "GITHUB_REPOSITORY": REPO}
    checked = run_step(action_env(tmp_path / "verify1", verify, **variables), monkeypatch, capsys)
    assert checked.code == 0, checked.stdout + checked.stderr
    assert (checked.outputs["verified"], checked.outputs["error"]) == ("true", "none")
    assert (checked.outputs["ok-count"], checked.outputs["failed-count"]) == (str(len(files)), "0")
    assert checked.outputs["release-url"] == run.outputs["release-url"]
    assert "| asset | verdict | signed by | how |" in checked.summary
    swapped = ARCHIVES[0]
    fake_github.swap_asset(REPO, release_id, swapped, b"not what was signed")
    failed = run_step(action_env(tmp_path / "verify2", verify, **variables), monkeypatch, capsys)
    assert failed.code == 1, failed.stdout + failed.stderr
    assert (failed.outputs["verified"], failed.outputs["failed-count"]) == ("false", "1")
    (error,) = failed.errors()
    assert error.startswith("::error title=shipsign%3A failed::" + swapped)
    failed.assert_masked([token])


def test_a_token_without_contents_write_stops_before_signing(
    tmp_path: Path,
    registry: Registry,
    registry_b: Registry,
    controllers: tuple[tuple[str, str], dict[str, PushedIndex]],
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    fake_github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    owners, images = controllers
    workspace = tmp_path / "ws"
    dist(workspace, {name: secrets.token_bytes(64) for name in ARCHIVES})
    token = fake_github.add_token(READ_ONLY)
    sigstore_stack.reset_stats()
    env = release_step(
        tmp_path / "runner",
        workspace,
        owners=owners,
        images=images,
        registries=(registry, registry_b),
        fake=fake_github,
        stack=sigstore_stack,
        token=token,
    )
    run = run_step(env, monkeypatch, capsys, ambient=github_oidc.env())

    assert run.code == 3, run.stdout + run.stderr
    assert list(run.outputs) == list(OUTPUT_NAMES)
    assert (run.outputs["error"], run.outputs["verified"]) == ("unreachable", "false")
    assert (run.outputs["uploaded"], run.outputs["release-url"]) == ("0", "")
    (error,) = run.errors()
    assert "GitHub refused to let the token" in error
    assert "contents: write" in error  # what to add to the job's `permissions:`
    assert sigstore_stack.requests(CERT_ROUTE) == 0  # nothing was signed
    assert fake_github.releases(REPO) == []
    assert not list((workspace / "dist").glob("*.sigstore.json"))
    run.assert_masked([token, HUB_TOKEN])

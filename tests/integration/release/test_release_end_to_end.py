"""A release as Flux ships one, end to end through the CLI: two multi-arch images in two
registries, five files and their checksums file, signed in one run with ONE Fulcio
certificate; the bundles put on a draft GitHub release; a rerun from a fresh checkout that
uploads nothing and logs nothing; and `verify-release` as a consumer, passing, then failing
by name when one asset is swapped."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest

from integration.sign.helpers import CliRun, assert_no_secrets, push_index, run_cli
from stack.github_api import FakeGitHub
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

REPO = "acme/app"
TAG = "v2.7.0"
CERT_ROUTE = "POST /api/v2/signingCert"
ENTRIES_201 = "POST /api/v1/log/entries 201"
FILES = (
    "flux_2.7.0_linux_amd64.tar.gz",
    "flux_2.7.0_linux_arm64.tar.gz",
    "flux_2.7.0_darwin_arm64.tar.gz",
    "flux_2.7.0_windows_amd64.zip",
    "manifests.tar.gz",
)
SUMS = "flux_2.7.0_checksums.txt"


def _dist(root: Path) -> Path:
    dist = root / "dist"
    dist.mkdir(parents=True)
    for name in FILES:
        (dist / name).write_bytes(f"{name}\n".encode() + secrets.token_bytes(4096))
    return dist


def _copy_files(src: Path, dest: Path) -> Path:
    """A fresh checkout's dist/: the same archives, none of the outputs of the first run."""
    dist = dest / "dist"
    dist.mkdir(parents=True)
    for name in FILES:
        shutil.copy2(src / name, dist / name)
    return dist


def _sign(
    capsys: pytest.CaptureFixture[str],
    summary: Path,
    cwd: Path,
    monkeypatch: pytest.MonkeyPatch,
    images: list[str],
    stack: SigstoreStack,
    token_file: Path,
    hosts: list[str],
    *extra: str,
) -> CliRun:
    monkeypatch.chdir(cwd)
    argv = ["sign", *images, "--file", "dist/*", "--checksums", SUMS]
    argv += ["--github-release", TAG, "--create-release", "--upload-files"]
    argv += ["--identity-token", str(token_file), "--trust-config", str(stack.trust_config)]
    for host in hosts:
        argv += ["--insecure-registry", host]
    return run_cli(capsys, summary, *argv, "--output", "json", *extra)


def _verify_release(
    capsys: pytest.CaptureFixture[str], summary: Path, oidc: GitHubOidc, stack: SigstoreStack
) -> CliRun:
    return run_cli(
        capsys,
        summary,
        "verify-release",
        REPO,
        TAG,
        "--certificate-identity",
        oidc.san,
        "--certificate-oidc-issuer",
        oidc.issuer,
        "--trusted-root",
        str(stack.trusted_root),
        "--output",
        "json",
    )


def test_the_release_example_end_to_end(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    summary: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    registry: Registry,
    registry_b: Registry,
    fake_github: FakeGitHub,
    github_env: dict[str, str],
) -> None:
    fake_github.add_repo(REPO)
    name = f"acme/flux-{secrets.token_hex(3)}"
    controllers = [push_index([registry, registry_b], f"{name}-source-controller")]
    controllers.append(push_index([registry, registry_b], f"{name}-kustomize-controller"))
    images = [
        f"{reg.host}/{repo}@{index.digest}"
        for reg in (registry, registry_b)
        for repo, index in zip(
            (f"{name}-source-controller", f"{name}-kustomize-controller"),
            controllers,
            strict=True,
        )
    ]
    hosts = [registry.host, registry_b.host]
    first = tmp_path / "first"
    dist = _dist(first)
    token_file = tmp_path / "oidc-token"
    token_file.write_text(github_oidc.mint())

    run = _sign(
        capsys, summary, first, monkeypatch, images, stack, token_file, hosts, "--recursive"
    )
    assert run.code == 0, run.out + run.err
    doc = run.json()
    assert stack.requests(CERT_ROUTE) == 1  # ONE certificate for 2 images x 2 registries + files
    files = {Path(f["path"]).name: f for f in doc["files"]}
    assert set(files) == {*FILES, SUMS}
    assert all(f["outcome"] == "signed" for f in files.values())
    sums = (dist / SUMS).read_text().splitlines()
    assert sorted(line.split("  ")[1] for line in sums) == sorted(FILES)
    # on a draft release made for the tag: each file, its bundle, the sums and its bundle
    ((release_id, tag, draft, _),) = fake_github.releases(REPO)
    assert (tag, draft) == (TAG, True)
    names = sorted(n for n, _, _ in fake_github.assets(REPO, release_id))
    expected = sorted([*FILES, SUMS] + [f"{n}.sigstore.json" for n in (*FILES, SUMS)])
    assert names == expected
    assert doc["release"]["uploads"] == len(expected)
    assert_no_secrets(run, github_env["GITHUB_TOKEN"], token_file.read_text())

    # A rerun in a fresh checkout: the bundles come from the release, verify, and are kept.
    stack.reset_stats()
    fake_github.reset_log()
    second = tmp_path / "second"
    _copy_files(dist, second)
    again = _sign(capsys, summary, second, monkeypatch, images, stack, token_file, hosts)
    assert again.code == 0, again.out + again.err
    assert stack.requests(CERT_ROUTE) == 0
    assert stack.stats()["responses"].get(ENTRIES_201, 0) == 0
    assert fake_github.requests("POST", r"/api/uploads/") == []
    assert fake_github.requests("DELETE") == []
    # the release's assets are listed once: to fetch the bundles, and reused for the upload
    assert len(fake_github.requests("GET", r"/releases/\d+/assets$")) == 1
    assert {f["outcome"] for f in again.json()["files"]} == {"skipped"}
    assert again.json()["release"]["uploads"] == 0

    verified = _verify_release(capsys, summary, github_oidc, stack)
    assert verified.code == 0, verified.out + verified.err
    statuses = {a["name"]: a["status"] for a in verified.json()["assets"]}
    assert {statuses[n] for n in FILES} == {"verified"}

    # One archive swapped on the release: verify-release fails and names it.
    fake_github.swap_asset(REPO, release_id, FILES[2], b"not what was signed")
    swapped = _verify_release(capsys, summary, github_oidc, stack)
    assert swapped.code == 1
    failed = [a["name"] for a in swapped.json()["assets"] if not a["ok"]]
    assert failed == [FILES[2]]
    text = run_cli(
        capsys,
        summary,
        "verify-release",
        REPO,
        TAG,
        "--certificate-identity",
        github_oidc.san,
        "--certificate-oidc-issuer",
        github_oidc.issuer,
        "--trusted-root",
        str(stack.trusted_root),
    )
    assert text.code == 1
    assert FILES[2] in text.out.splitlines()[-1]
    assert json.loads(json.dumps(doc))  # the first run's JSON is plain data


def test_an_immutable_release_is_refused_before_anything_is_signed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    summary: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    fake_github: FakeGitHub,
    github_env: dict[str, str],
) -> None:
    fake_github.add_repo(REPO, immutable_releases=True)
    fake_github.add_release(REPO, TAG, immutable=True)
    _dist(tmp_path)
    token_file = tmp_path / "oidc-token"
    token_file.write_text(github_oidc.mint())
    run = _sign(capsys, summary, tmp_path, monkeypatch, [], stack, token_file, [])
    assert run.code == 2, run.out + run.err
    assert "immutable" in run.err
    assert "draft" in run.err  # upload while the release is a draft, publish afterwards
    assert stack.requests(CERT_ROUTE) == 0
    assert not list((tmp_path / "dist").glob("*.sigstore.json"))


def test_a_tag_with_no_release_is_input_error_without_create(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    summary: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    fake_github: FakeGitHub,
    github_env: dict[str, str],
) -> None:
    fake_github.add_repo(REPO)
    _dist(tmp_path)
    monkeypatch.chdir(tmp_path)
    token_file = tmp_path / "oidc-token"
    token_file.write_text(github_oidc.mint())
    run = run_cli(
        capsys,
        summary,
        "sign-blob",
        "dist/*",
        "--github-release",
        TAG,
        "--identity-token",
        str(token_file),
        "--trust-config",
        str(stack.trust_config),
    )
    assert run.code == 2, run.out + run.err
    assert f"no release for tag {TAG}" in run.err
    assert stack.requests(CERT_ROUTE) == 0
    auto = run_cli(capsys, summary, "sign-blob", "dist/*", "--github-release", "auto")
    assert auto.code == 2
    assert "GITHUB_REF" in auto.err

"""Fixtures for signing files: the session's Sigstore stack with its counts reset, a fresh
identity token in a file, real cosign binaries pointed at the stack, and a folder of release
files to sign."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stack.cosign import Cosign, TrustFiles
from stack.peers import COSIGN_V2, COSIGN_V2_SIG_ONLY, COSIGN_V3
from stack.sigstore_stack import GitHubOidc, SigstoreStack


@pytest.fixture
def stack(sigstore_stack: SigstoreStack) -> Iterator[SigstoreStack]:
    """The session's Sigstore stack with its request counts reset and no faults queued."""
    sigstore_stack.clear_faults()
    sigstore_stack.reset_stats()
    yield sigstore_stack
    sigstore_stack.clear_faults()


@pytest.fixture
def token(github_oidc: GitHubOidc) -> str:
    """An identity token for acme/app's release workflow, minted for this test."""
    return github_oidc.mint()


@pytest.fixture
def token_file(token: str, tmp_path: Path) -> Path:
    """The token in a file, as `--identity-token FILE` reads it."""
    path = tmp_path / "oidc-token"
    path.write_text(token)
    return path


@pytest.fixture
def summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`$GITHUB_STEP_SUMMARY` for this test (the file appears when something is written)."""
    path = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(path))
    return path


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with `dist/` holding three release files; the test runs in it."""
    work = tmp_path / "work"
    folder = work / "dist"
    folder.mkdir(parents=True)
    (folder / "app-linux-amd64.tar.gz").write_bytes(b"amd64 build\n" * 1000)
    (folder / "app-linux-arm64.tar.gz").write_bytes(b"arm64 build\n" * 1000)
    (folder / "app.sbom.json").write_text('{"bomFormat": "CycloneDX"}\n')
    monkeypatch.chdir(work)
    return folder


@pytest.fixture(scope="session")
def cosign_trust(
    sigstore_stack: SigstoreStack, tmp_path_factory: pytest.TempPathFactory
) -> TrustFiles:
    return TrustFiles.write(
        sigstore_stack.trusted_root,
        sigstore_stack.signing_config,
        tmp_path_factory.mktemp("blob-cosign-trust"),
    )


@pytest.fixture(scope="session")
def make_cosign(
    cosign_trust: TrustFiles, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Cosign]:
    home = tmp_path_factory.mktemp("blob-cosign-home")

    def make(version: str) -> Cosign:
        return Cosign(version, cosign_trust, home / version)

    return make


@pytest.fixture(params=[COSIGN_V3, COSIGN_V2, COSIGN_V2_SIG_ONLY])
def any_cosign(request: pytest.FixtureRequest, make_cosign: Callable[[str], Cosign]) -> Cosign:
    """Each pinned cosign version in turn."""
    version: str = request.param
    return make_cosign(version)

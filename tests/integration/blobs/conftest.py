"""Fixtures for signing files: an identity token in a file, real cosign binaries pointed at
the stack, and a folder of release files to sign (the stack, token and step summary are
tests/integration/conftest.py's)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from stack.cosign import Cosign, TrustFiles
from stack.peers import COSIGN_V2, COSIGN_V2_SIG_ONLY, COSIGN_V3
from stack.sigstore_stack import SigstoreStack


@pytest.fixture
def token_file(token: str, tmp_path: Path) -> Path:
    """The token in a file, as `--identity-token FILE` reads it."""
    path = tmp_path / "oidc-token"
    path.write_text(token)
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

"""Files signed by shipsign, checked by the verifiers users run, and the other way round.

- Every bundle `shipsign sign-blob` writes (each file's and the checksums file's) passes real
  `cosign verify-blob --bundle` (v3.1.3, v2.6.5, and v2.4.0 with `--new-bundle-format`) and
  sigstore-python's own `sigstore verify identity` CLI.
- The legacy outputs (`.sig` base64, `.pem` PEM) pass `cosign verify-blob --signature
  --certificate` in every version; so does the base64-encoded PEM that cosign's own
  `--output-certificate` writes (checked here so the choice of PEM is a recorded fact).
- `shipsign verify-blob` accepts the bundles `cosign sign-blob --bundle` writes, keyless on
  the local stack, in every version.
Each positive is paired with a negative (another identity, another file) that must fail.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from integration.blobs.blob_peers import (
    cosign_sign_blob,
    cosign_verify_blob,
    cosign_verify_blob_legacy,
    sigstore_python_verify,
)
from integration.sign.helpers import run_cli
from stack.cosign import Cosign
from stack.peers import COSIGN_VERSIONS
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def sign_blob(
    capsys: pytest.CaptureFixture[str],
    summary: Path,
    stack: SigstoreStack,
    token_file: Path,
    *extra: str,
) -> None:
    run = run_cli(
        capsys,
        summary,
        *("sign-blob", "--trust-config", str(stack.trust_config)),
        *("--identity-token", str(token_file)),
        *extra,
    )
    assert run.code == 0, run.out + run.err


def test_cosign_and_sigstore_python_verify_what_shipsign_signs(
    dist: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    make_cosign: Callable[[str], Cosign],
) -> None:
    sign_blob(capsys, summary, stack, token_file, "--checksums", "SHA256SUMS", "dist/*")
    signed = sorted(p for p in dist.iterdir() if not p.name.endswith(".sigstore.json"))
    assert [p.name for p in signed] == [
        "SHA256SUMS",
        "app-linux-amd64.tar.gz",
        "app-linux-arm64.tar.gz",
        "app.sbom.json",
    ]
    who = {"identity": github_oidc.san, "issuer": github_oidc.issuer}
    other = github_oidc.san.replace("release.yml", "other.yml")
    for version in COSIGN_VERSIONS:
        cosign = make_cosign(version)
        for path in signed:
            bundle = Path(f"{path}.sigstore.json")
            run = cosign_verify_blob(cosign, path, bundle, **who)
            assert run.ok, run
            assert "Verified OK" in run.err, run
        # the negatives, so that the positives mean something
        first = signed[1]
        wrong_identity = cosign_verify_blob(
            cosign, first, Path(f"{first}.sigstore.json"), identity=other, issuer=who["issuer"]
        )
        assert not wrong_identity.ok, wrong_identity
        wrong_file = cosign_verify_blob(cosign, signed[2], Path(f"{first}.sigstore.json"), **who)
        assert not wrong_file.ok, wrong_file
    for path in signed:
        verdict = sigstore_python_verify(path, Path(f"{path}.sigstore.json"), stack=stack, **who)
        assert verdict.ok, verdict
        assert f"OK: {path}" in verdict.out, verdict
    refused = sigstore_python_verify(
        signed[1], Path(f"{signed[1]}.sigstore.json"), stack=stack, identity=other,
        issuer=who["issuer"],
    )  # fmt: skip
    assert not refused.ok, refused


def test_cosign_verifies_the_legacy_outputs(
    dist: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    make_cosign: Callable[[str], Cosign],
    tmp_path: Path,
) -> None:
    sign_blob(capsys, summary, stack, token_file, "--legacy-blob-outputs", "dist/app.sbom.json")
    file = dist / "app.sbom.json"
    sig, pem = dist / "app.sbom.json.sig", dist / "app.sbom.json.pem"
    assert pem.read_text().startswith("-----BEGIN CERTIFICATE-----\n")
    base64.b64decode(sig.read_bytes(), validate=True)
    # what cosign's own --output-certificate writes: the PEM, base64-encoded once more
    cosign_style = tmp_path / "cosign-style.pem"
    cosign_style.write_bytes(base64.b64encode(pem.read_bytes()))
    who = {"identity": github_oidc.san, "issuer": github_oidc.issuer}
    for version in COSIGN_VERSIONS:
        cosign = make_cosign(version)
        for certificate in (pem, cosign_style):
            run = cosign_verify_blob_legacy(
                cosign, file, signature=sig, certificate=certificate, stack=stack, **who
            )
            assert run.ok, run
            assert "Verified OK" in run.out + run.err, run
        other = dist / "app-linux-amd64.tar.gz"
        refused = cosign_verify_blob_legacy(
            cosign, other, signature=sig, certificate=pem, stack=stack, **who
        )
        assert not refused.ok, refused


@pytest.mark.parametrize("version", COSIGN_VERSIONS)
def test_shipsign_verifies_what_cosign_sign_blob_writes(
    version: str,
    tmp_path: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    make_cosign: Callable[[str], Cosign],
) -> None:
    cosign = make_cosign(version)
    file = tmp_path / "release.tar.gz"
    file.write_bytes(f"built for cosign {version}\n".encode() * 500)
    bundle = tmp_path / "release.tar.gz.sigstore.json"
    signed = cosign_sign_blob(cosign, file, bundle, token=github_oidc.mint(), stack=stack)
    assert signed.ok, signed
    base = [
        *("verify-blob", "--trust-config", str(stack.trust_config), "--bundle", str(bundle)),
        *("--certificate-oidc-issuer", github_oidc.issuer),
    ]
    run = run_cli(capsys, summary, *base, "--certificate-identity", github_oidc.san, str(file))
    assert run.code == 0, run.out + run.err
    assert run.out.startswith(f"✔ {file} (sha256:"), run.out
    other = github_oidc.san.replace("release.yml", "other.yml")
    refused = run_cli(capsys, summary, *base, "--certificate-identity", other, str(file))
    assert refused.code == 1, refused.out + refused.err
    assert "identity" in refused.out
    # shipsign's sign-blob finds cosign's bundle is by this identity, for this content: kept
    token = tmp_path / "token"
    token.write_text(github_oidc.mint())
    stack.reset_stats()
    again = run_cli(
        capsys, summary, "sign-blob", "--trust-config", str(stack.trust_config),
        "--identity-token", str(token), "--output", "json", str(file),
    )  # fmt: skip
    assert again.code == 0, again.out + again.err
    [result] = again.json()["files"]
    assert result["outcome"] == "skipped", result
    assert stack.requests("POST /api/v1/log/entries") == 0

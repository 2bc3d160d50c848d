"""`shipsign sign IMAGE --file ...`: a release's image and its files in one run, with ONE Fulcio
certificate (counted at the stack and in the report, and seen in what was written: the image's
`.sig` layer and every file's bundle carry the same certificate). A rerun adds nothing. A file
that cannot be signed makes the run fail and holds the tags, as an image would."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography import x509

from integration.sign.helpers import push_image, run_cli, sig_layers
from shipsign.blobs import FileOutcome, FileSignOptions
from shipsign.keyless.trust import TrustOptions
from shipsign.secret import Secret
from shipsign.sign import SignFormat, SignRequest, sign_artifacts, sign_images
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

CERT = "POST /api/v2/signingCert"
ENTRIES = "POST /api/v1/log/entries"
CERT_ANNOTATION = "dev.sigstore.cosign/certificate"


def bundle_certificate(path: Path) -> x509.Certificate:
    doc = json.loads(path.read_text())
    der = base64.b64decode(doc["verificationMaterial"]["certificate"]["rawBytes"])
    return x509.load_der_x509_certificate(der)


def test_one_certificate_for_images_and_files(
    registry: Registry,
    repo: str,
    dist: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = push_image([registry], repo)
    image = f"{registry.host}/{repo}@{digest}"
    argv = [
        *("sign", "--trust-config", str(stack.trust_config), "--insecure-registry", registry.host),
        *("--identity-token", str(token_file), "--format", "both"),
        *("--file", "dist/*.tar.gz", "--file", "dist/app.sbom.json"),
        *("--checksums", "SHA256SUMS", image),
    ]
    run = run_cli(capsys, summary, *argv)
    assert run.code == 0, run.out + run.err
    assert stack.requests(CERT) == 1  # images and files: one certificate for the run
    # 2 image signatures (bundle, legacy) + 3 files + the checksums file
    assert stack.requests(ENTRIES) == 6
    assert "2 signatures: 2 signed, 0 already there; 4 files: 4 signed, 0 already signed" in run.out
    assert "shipsign verify-blob" in run.out
    assert "--checksums dist/SHA256SUMS" in run.out

    [layer] = sig_layers(registry, repo, digest)
    image_cert = x509.load_pem_x509_certificate(layer["annotations"][CERT_ANNOTATION].encode())
    for name in ("app-linux-amd64.tar.gz", "app-linux-arm64.tar.gz", "app.sbom.json", "SHA256SUMS"):
        assert bundle_certificate(dist / f"{name}.sigstore.json") == image_cert, name

    # a rerun finds everything signed: no certificate, no log entry
    stack.reset_stats()
    again = run_cli(capsys, summary, *argv, "--output", "json")
    assert again.code == 0, again.out + again.err
    doc = again.json()
    assert {s["status"] for s in doc["signatures"]} == {"skipped"}
    assert {f["outcome"] for f in doc["files"]} == {"skipped"}
    assert stack.requests(CERT) == 0
    assert stack.requests(ENTRIES) == 0


def test_the_use_case_counts_one_fulcio_call(
    registry: Registry,
    repo: str,
    dist: Path,
    stack: SigstoreStack,
    token: str,
) -> None:
    digest = push_image([registry], repo)
    request = SignRequest(
        images=(f"{registry.host}/{repo}@{digest}",),
        format=SignFormat.BUNDLE,
        identity_token=Secret(token),
        trust=TrustOptions(trust_config=stack.trust_config),
        insecure_registries=(registry.host,),
        files=FileSignOptions(patterns=("dist/*",), root=Path(".")),
    )
    report = sign_images(request)  # the old name still works
    assert report.ok, report
    calls = {s.service.value: s.calls for s in report.services}
    assert calls["Fulcio"] == 1
    assert calls["Rekor"] == 4
    assert report.certificate_requested
    assert [f.outcome for f in report.files] == [FileOutcome.SIGNED] * 3
    assert all(f.verified and f.log_index is not None for f in report.files)

    # files alone: the same use case, no image
    only_files = SignRequest(
        identity_token=Secret(token),
        trust=TrustOptions(trust_config=stack.trust_config),
        files=FileSignOptions(patterns=("dist/app.sbom.json",), force=True),
    )
    stack.reset_stats()
    files_report = sign_artifacts(only_files)
    assert files_report.ok
    assert files_report.images == ()
    assert files_report.results == ()
    assert [f.outcome for f in files_report.files] == [FileOutcome.SIGNED]
    assert stack.requests(CERT) == 1
    assert stack.requests(ENTRIES) == 1
    assert files_report.identity.endswith("/.github/workflows/release.yml@refs/tags/v1.2.3")


def test_a_file_rekor_refuses_fails_the_run_and_holds_the_tags(
    registry: Registry,
    repo: str,
    dist: Path,
    stack: SigstoreStack,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = push_image([registry], repo)
    image = f"{registry.host}/{repo}@{digest}"
    base = [
        *("sign", "--trust-config", str(stack.trust_config), "--insecure-registry", registry.host),
        *("--identity-token", str(token_file), "--format", "legacy"),
    ]
    first = run_cli(capsys, summary, *base, image)  # the image is signed already
    assert first.code == 0, first.out + first.err
    stack.reset_stats()
    stack.fault("/api/v1/log/entries", status=400, method="POST", count=1)
    run = run_cli(
        capsys, summary, *base, "--tag", "v1.2.3", "--file", "dist/app.sbom.json",
        "--file", "dist/app-linux-amd64.tar.gz", "--output", "json", image,
    )  # fmt: skip
    doc = run.json()
    failed = [f for f in doc["files"] if not f["ok"]]
    assert len(failed) == 1, doc["files"]
    assert failed[0]["error"]["what"], failed
    assert failed[0]["bundle"] is None
    assert run.code == 3, run.out + run.err  # Rekor refused: exit 3, as for an image
    assert [t["status"] for t in doc["tags"]] == ["held"]  # a file failed: no tag moves
    assert doc["ok"] is False
    left = sorted(p.name for p in dist.iterdir())
    assert not [n for n in left if n.endswith(".tmp")]
    assert f"{failed[0]['name']}.sigstore.json" not in left
    text = run_cli(
        capsys, summary, *base, "--tag", "v1.2.3", "--file", "dist/app.sbom.json", image
    )  # the file is signed now (no fault left): the tag moves
    assert text.code == 0, text.out + text.err
    assert "1 tag moved" in text.out

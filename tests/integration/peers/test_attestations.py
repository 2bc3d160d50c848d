"""An attestation is not a signature: real `cosign attest` (v3) attaches SLSA provenance to an
image as a bundle referrer, signed by the very identity the policy names. shipsign reports it
and does not count it: an image with only that is unsigned (exit 1); with a signature beside
it, the image passes on the signature and the attestation is reported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration.sign.helpers import push_image, run_cli
from stack.cosign import Cosign
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

SLSA = "https://slsa.dev/provenance/v0.2"


def _provenance(folder: Path) -> Path:
    path = folder / "provenance.json"
    path.write_text(
        json.dumps(
            {
                "builder": {"id": "https://github.com/acme/app/.github/workflows/release.yml"},
                "buildType": "https://github.com/slsa-framework/slsa-github-generator/v1",
                "invocation": {},
            }
        )
    )
    return path


def _attested_image(
    registry: Registry,
    repo: str,
    cosign: Cosign,
    folder: Path,
    token: str,
    stack: SigstoreStack,
) -> str:
    """Push an image and attach SLSA provenance to it with real `cosign attest`; its ref."""
    digest = push_image([registry], repo)
    ref = f"{registry.host}/{repo}@{digest}"
    attested = cosign.attest_keyless(
        ref,
        predicate=_provenance(folder),
        kind="slsaprovenance",
        token=token,
        sigstore_url=stack.url,
    )
    assert attested.ok, attested
    return ref


def _verify(
    capsys: pytest.CaptureFixture[str],
    summary: Path,
    oidc: GitHubOidc,
    stack: SigstoreStack,
    registry: Registry,
    ref: str,
    *flags: str,
) -> tuple[int, dict[str, object]]:
    run = run_cli(
        capsys,
        summary,
        *("verify", "--certificate-identity", oidc.san, "--certificate-oidc-issuer", oidc.issuer),
        *("--trusted-root", str(stack.trusted_root), "--insecure-registry", registry.host),
        *("--output", "json", *flags, ref),
    )
    (image,) = run.json()["images"]
    return run.code, image


def test_an_image_with_only_an_attestation_is_unsigned(
    any_registry: Registry,
    repo: str,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    cosign_v3: Cosign,
) -> None:
    ref = _attested_image(
        any_registry, repo, cosign_v3, tmp_path, github_oidc.mint(), sigstore_stack
    )

    for flags in ((), ("--all",)):
        code, image = _verify(
            capsys, summary, github_oidc, sigstore_stack, any_registry, ref, *flags
        )
        assert code == 1, image
        assert image["status"] == "unsigned", image
        assert image["signatures"] == []
        notes = image["notes"]
        assert isinstance(notes, list)
        (note,) = notes
        assert isinstance(note, str)
        assert f"found instead: an in-toto attestation (predicate {SLSA})" in note
    # cosign v3.1.3 differs, on purpose of neither side: with the bundle format, `cosign
    # verify` checks bundle referrers as attestations and filters no predicate type
    # (cmd/cosign/cli/verify/verify.go), so it passes this image and prints the SLSA type as
    # the signature's "type". Recorded here so that a change in cosign is noticed.
    cosign = cosign_v3.verify(ref, identity=github_oidc.san, issuer=github_oidc.issuer)
    assert cosign.ok, cosign
    assert f'"type":"{SLSA}"' in cosign.out, cosign


def test_a_signature_beside_an_attestation_passes_and_the_attestation_is_reported(
    any_registry: Registry,
    repo: str,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    cosign_v3: Cosign,
) -> None:
    token = github_oidc.mint()
    ref = _attested_image(any_registry, repo, cosign_v3, tmp_path, token, sigstore_stack)
    signed = cosign_v3.sign_keyless(ref, token=token, sigstore_url=sigstore_stack.url)
    assert signed.ok, signed

    code, image = _verify(capsys, summary, github_oidc, sigstore_stack, any_registry, ref, "--all")
    assert code == 0, image
    assert image["status"] == "verified"
    signatures = image["signatures"]
    assert isinstance(signatures, list)
    assert len(signatures) == 1  # the signature; the attestation is not among them
    notes = image["notes"]
    assert isinstance(notes, list)
    assert any(f"also found an in-toto attestation (predicate {SLSA})" in n for n in notes)

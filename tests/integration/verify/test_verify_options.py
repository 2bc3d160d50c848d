"""`shipsign verify` options on images signed on the local stack: --recursive over an index,
--format, and the GitHub step summary.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration.verify.signed_images import Image, Verify, new_image, run_cli, sign_image, why
from shipsign.keyless.signing import KeylessSigner
from shipsign.oci import Descriptor, Registries
from shipsign.oci.media import OCI_MANIFEST, Platform, build_index
from stack.raw_registry import OCI_INDEX, RawClient
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def test_recursive_verifies_each_platform_manifest(
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    pool: Registries,
    verify: Verify,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    amd64, arm64 = new_image(registry, repo), new_image(registry, repo)
    index = build_index(
        [
            Descriptor(
                media_type=OCI_MANIFEST,
                digest=child.digest,
                size=len(child.manifest),
                platform=Platform.parse(platform),
            )
            for child, platform in ((amd64, "linux/amd64"), (arm64, "linux/arm64/v8"))
        ]
    )
    raw = RawClient(registry, repo)
    raw.push_manifest("multi", index.raw, OCI_INDEX)
    top = Image(registry=registry, repo=repo, digest=index.digest, manifest=index.raw)
    sign_image(top, signer, "legacy", pool)
    sign_image(amd64, signer, "legacy", pool)
    assert verify(top).code == 0  # the index alone
    run = verify(top, "--recursive", "--output", "json")
    assert run.code == 1, why(run)  # arm64 is not signed yet
    (result,) = run.json()["images"]
    assert result["status"] == "verified"
    assert [(p["platform"], p["digest"], p["status"]) for p in result["platforms"]] == [
        ("linux/amd64", str(amd64.digest), "verified"),
        ("linux/arm64/v8", str(arm64.digest), "unsigned"),
    ]
    sign_image(arm64, signer, "bundle", pool)
    text = run_cli(
        capsys,
        [
            "verify",
            f"{registry.host}/{repo}:multi",
            "--recursive",
            "--insecure-registry",
            registry.host,
            "--certificate-identity",
            github_oidc.san,
            "--trusted-root",
            str(sigstore_stack.trusted_root),
        ],
    )
    assert text.code == 0, why(text)
    assert "tag 'multi' resolved to " + str(index.digest) in text.out
    assert f"{amd64.repository}@{amd64.digest} (linux/amd64): verified" in text.out
    assert f"{arm64.repository}@{arm64.digest} (linux/arm64/v8): verified" in text.out


@pytest.mark.parametrize(("signed_as", "asked"), [("legacy", "bundle"), ("bundle", "legacy")])
def test_format_flag_restricts_where_we_look(
    signed_as: str,
    asked: str,
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    pool: Registries,
    verify: Verify,
) -> None:
    image = new_image(registry, repo)
    sign_image(image, signer, signed_as, pool)
    run = verify(image, "--format", asked, "--output", "json")
    assert run.code == 1, why(run)
    (result,) = run.json()["images"]
    assert result["status"] == "unsigned"
    assert len(result["looked_in"]) == 1
    assert (".sig" in result["looked_in"][0]) == (asked == "legacy")
    text = verify(image, "--format", asked)
    assert f"no signatures found (looked in {result['looked_in'][0]})" in text.out
    assert verify(image, "--format", signed_as).code == 0


def test_step_summary_gets_a_markdown_table(
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    pool: Registries,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good, bad = new_image(registry, repo), new_image(registry, repo)
    sign_image(good, signer, "legacy", pool)
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run = run_cli(
        capsys,
        [
            "verify",
            good.ref,
            bad.ref,
            "--insecure-registry",
            registry.host,
            "--certificate-identity",
            github_oidc.san,
            "--trusted-root",
            str(sigstore_stack.trusted_root),
            "--output",
            "json",
        ],
    )
    assert run.code == 1, why(run)
    json.loads(run.out)  # the summary does not leak into stdout
    lines = summary.read_text().splitlines()
    assert lines[0] == "earlier step"  # appended, not overwritten
    assert "### shipsign verify" in lines
    header = lines.index("| image | digest | result | signer | Rekor log index | details |")
    rows = lines[header + 2 :]
    assert rows[0].startswith(
        f"| `{good.ref}` | `{good.digest}` | ✔ verified | {github_oidc.san} | "
    )
    assert rows[1].startswith(
        f"| `{bad.ref}` | `{bad.digest}` | ✘ unsigned |  |  | no signatures found"
    )

"""`shipsign sign-blob` on a folder of release files, as a release job runs it: one certificate,
one Rekor entry per file, bundles beside the files that `shipsign verify-blob` accepts, a
checksums file that coreutils' `sha256sum -c` reads and that is signed too; a rerun signs
nothing (no Fulcio, no Rekor call), `--force` signs again; a swapped file fails
`verify-blob --checksums` naming it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from integration.sign.helpers import CliRun, assert_no_secrets, run_cli
from stack.sigstore_stack import GitHubOidc, SigstoreStack

CERT = "POST /api/v2/signingCert"
ENTRIES = "POST /api/v1/log/entries"
FILES = ("app-linux-amd64.tar.gz", "app-linux-arm64.tar.gz", "app.sbom.json")


def sign_blob(
    capsys: pytest.CaptureFixture[str],
    summary: Path,
    stack: SigstoreStack,
    token_file: Path,
    *extra: str,
) -> CliRun:
    return run_cli(
        capsys,
        summary,
        *("sign-blob", "--trust-config", str(stack.trust_config)),
        *("--identity-token", str(token_file)),
        *extra,
    )


def verify_blob(
    capsys: pytest.CaptureFixture[str],
    summary: Path,
    stack: SigstoreStack,
    oidc: GitHubOidc,
    *extra: str,
) -> CliRun:
    return run_cli(
        capsys,
        summary,
        *("verify-blob", "--trust-config", str(stack.trust_config)),
        *("--certificate-identity", oidc.san, "--certificate-oidc-issuer", oidc.issuer),
        *extra,
    )


def stray_files(folder: Path) -> list[str]:
    """Temporary files an atomic write could leave behind."""
    return [p.name for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_sign_blob_then_rerun_then_force(
    dist: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token: str,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = sign_blob(capsys, summary, stack, token_file, "--checksums", "SHA256SUMS", "dist/*")
    assert run.code == 0, run.out + run.err
    assert_no_secrets(run, token)
    assert stack.requests(CERT) == 1
    assert stack.requests(ENTRIES) == 4  # three files and the checksums file
    for name in (*FILES, "SHA256SUMS"):
        assert f"dist/{name}.sigstore.json" in run.out, run.out
    assert "4 files: 4 signed, 0 already signed; all verified" in run.out
    assert "### shipsign sign" in run.summary
    assert "| file |" in run.summary
    assert stray_files(dist) == []

    # the checksums file: every file, sorted, in sha256sum's own format; coreutils agrees
    sums = (dist / "SHA256SUMS").read_text()
    assert [line.split("  ")[1] for line in sums.splitlines()] == list(FILES)
    check = subprocess.run(
        ["sha256sum", "-c", "--strict", "SHA256SUMS"],
        cwd=dist,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == 3

    # each bundle verifies, and the checksums form covers every file at once
    for name in FILES:
        one = verify_blob(
            capsys, summary, stack, github_oidc, "--bundle", f"dist/{name}.sigstore.json",
            f"dist/{name}",
        )  # fmt: skip
        assert one.code == 0, one.out + one.err
    every = verify_blob(
        capsys, summary, stack, github_oidc,
        "--checksums", "dist/SHA256SUMS", "--bundle", "dist/SHA256SUMS.sigstore.json",
        *(f"dist/{n}" for n in FILES),
    )  # fmt: skip
    assert every.code == 0, every.out + every.err
    assert "✔ 3 files match dist/SHA256SUMS" in every.out

    # a rerun: everything is already signed, by this identity, for this content
    stack.reset_stats()
    before = {p.name: p.stat().st_mtime_ns for p in dist.iterdir()}
    again = sign_blob(
        capsys, summary, stack, token_file, "--checksums", "SHA256SUMS", "dist/*",
        "--output", "json",
    )  # fmt: skip
    assert again.code == 0, again.out + again.err
    doc = again.json()
    assert [f["outcome"] for f in doc["files"]] == ["skipped"] * 4
    assert doc["files"][-1]["checksums"] is True
    assert doc["certificate_requested"] is False
    assert stack.requests(CERT) == 0
    assert stack.requests(ENTRIES) == 0
    assert {p.name: p.stat().st_mtime_ns for p in dist.iterdir()} == before  # nothing rewritten
    text = sign_blob(capsys, summary, stack, token_file, "--checksums", "SHA256SUMS", "dist/*")
    assert "4 files: 0 signed, 4 already signed" in text.out
    assert "already signed by this identity for this content; --force signs again" in text.out

    # --force signs every file again: one new certificate, four new entries
    stack.reset_stats()
    forced = sign_blob(
        capsys, summary, stack, token_file, "--checksums", "SHA256SUMS", "--force", "dist/*",
        "--output", "json",
    )  # fmt: skip
    assert forced.code == 0, forced.out + forced.err
    assert [f["outcome"] for f in forced.json()["files"]] == ["signed"] * 4
    assert stack.requests(CERT) == 1
    assert stack.requests(ENTRIES) == 4
    services = {s["service"]: s["calls"] for s in forced.json()["services"]}
    assert services["Fulcio"] == 1
    assert services["Rekor"] == 4
    assert stray_files(dist) == []


def test_a_changed_file_is_signed_again_and_a_swapped_one_fails_the_checksums(
    dist: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = sign_blob(capsys, summary, stack, token_file, "--checksums", "SHA256SUMS", "dist/*")
    assert first.code == 0, first.out + first.err
    old_sums = (dist / "SHA256SUMS").read_bytes()

    # a file swapped after signing: verify-blob --checksums names it, with both digests
    (dist / "app.sbom.json").write_text('{"bomFormat": "tampered"}\n')
    swapped = verify_blob(
        capsys, summary, stack, github_oidc,
        "--checksums", "dist/SHA256SUMS", "--bundle", "dist/SHA256SUMS.sigstore.json",
        *(f"dist/{n}" for n in FILES),
    )  # fmt: skip
    assert swapped.code == 1, swapped.out + swapped.err
    assert "✘ dist/app.sbom.json: its content is not what dist/SHA256SUMS lists" in swapped.out
    assert "✔ dist/app-linux-amd64.tar.gz" in swapped.out
    assert "1 of 3 files do not match" in swapped.out
    # and the file's own bundle no longer verifies it
    own = verify_blob(
        capsys, summary, stack, github_oidc, "--bundle", "dist/app.sbom.json.sigstore.json",
        "dist/app.sbom.json",
    )  # fmt: skip
    assert own.code == 1, own.out
    assert "artifact_digest" in own.out, own.out

    # a file the checksums file does not list
    extra = dist.parent / "notes.txt"
    extra.write_text("not released\n")
    unlisted = verify_blob(
        capsys, summary, stack, github_oidc, "--output", "json",
        "--checksums", "dist/SHA256SUMS", "--bundle", "dist/SHA256SUMS.sigstore.json",
        "dist/app-linux-amd64.tar.gz", str(extra),
    )  # fmt: skip
    assert unlisted.code == 1, unlisted.out
    files = {f["name"]: f for f in unlisted.json()["files"]}
    assert files["notes.txt"]["listed"] is None
    assert files["notes.txt"]["ok"] is False
    assert files["app-linux-amd64.tar.gz"]["ok"] is True

    # signing again re-signs the changed file and the checksums file, and keeps the others
    stack.reset_stats()
    again = sign_blob(
        capsys, summary, stack, token_file, "--checksums", "SHA256SUMS", "dist/*",
        "--output", "json",
    )  # fmt: skip
    assert again.code == 0, again.out + again.err
    outcomes = {f["name"]: f["outcome"] for f in again.json()["files"]}
    assert outcomes == {
        "app-linux-amd64.tar.gz": "skipped",
        "app-linux-arm64.tar.gz": "skipped",
        "app.sbom.json": "signed",
        "SHA256SUMS": "signed",
    }
    replaced = next(f for f in again.json()["files"] if f["name"] == "app.sbom.json")
    assert "replaced a bundle that did not count" in replaced["detail"]
    assert "artifact_digest" in replaced["detail"]
    assert stack.requests(ENTRIES) == 2
    assert (dist / "SHA256SUMS").read_bytes() != old_sums
    fixed = verify_blob(
        capsys, summary, stack, github_oidc,
        "--checksums", "dist/SHA256SUMS", "--bundle", "dist/SHA256SUMS.sigstore.json",
        *(f"dist/{n}" for n in FILES),
    )  # fmt: skip
    assert fixed.code == 0, fixed.out + fixed.err


def test_bundle_dir_legacy_outputs_and_the_config_files(
    dist: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # [sign] files, relative to the config file's folder, when no FILE is given
    config = dist.parent / ".shipsign.toml"
    config.write_text('[sign]\nfiles = ["dist/*.tar.gz"]\n')
    run = sign_blob(
        capsys, summary, stack, token_file, "--config", str(config), "--bundle-dir", "out",
        "--legacy-blob-outputs", "--checksums", "SHA256SUMS", "--output", "json",
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    out = dist.parent / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "SHA256SUMS",
            *(
                f"{name}{suffix}"
                for name in ("app-linux-amd64.tar.gz", "app-linux-arm64.tar.gz", "SHA256SUMS")
                for suffix in (".sigstore.json", ".sig", ".pem")
            ),
        ]
    )
    files = run.json()["files"]
    assert [f["path"] for f in files][-1] == str(out / "SHA256SUMS")
    assert files[0]["outputs"] == [
        str(out / f"app-linux-amd64.tar.gz{suffix}")
        for suffix in (".sigstore.json", ".sig", ".pem")
    ]
    # nothing was written beside the files
    assert sorted(p.name for p in dist.iterdir()) == sorted(FILES)

    # a rerun without the legacy outputs on disk writes them again from the bundles it keeps
    (out / "app-linux-amd64.tar.gz.sig").unlink()
    (out / "app-linux-amd64.tar.gz.pem").write_text("stale\n")
    stack.reset_stats()
    again = sign_blob(
        capsys, summary, stack, token_file, "--config", str(config), "--bundle-dir", "out",
        "--legacy-blob-outputs", "--checksums", "SHA256SUMS", "--output", "json",
    )  # fmt: skip
    assert again.code == 0, again.out + again.err
    assert {f["outcome"] for f in again.json()["files"]} == {"skipped"}
    assert stack.requests(ENTRIES) == 0
    bundle = json.loads((out / "app-linux-amd64.tar.gz.sigstore.json").read_text())
    assert (out / "app-linux-amd64.tar.gz.sig").read_text() == bundle["messageSignature"][
        "signature"
    ]
    assert (out / "app-linux-amd64.tar.gz.pem").read_text().startswith("-----BEGIN CERTIFICATE")

    # `dist/*` would match the bundle directory's files if it were dist: they are left out
    inside = sign_blob(
        capsys, summary, stack, token_file, "--bundle-dir", "dist", "--legacy-blob-outputs",
        "--checksums", "SUMS", "--output", "json", "dist/*",
    )  # fmt: skip
    assert inside.code == 0, inside.out + inside.err
    assert [f["name"] for f in inside.json()["files"]] == [*FILES, "SUMS"]
    rerun = sign_blob(
        capsys, summary, stack, token_file, "--bundle-dir", "dist", "--legacy-blob-outputs",
        "--checksums", "SUMS", "--output", "json", "dist/*",
    )  # fmt: skip
    assert [f["name"] for f in rerun.json()["files"]] == [*FILES, "SUMS"]
    assert {f["outcome"] for f in rerun.json()["files"]} == {"skipped"}


def test_sign_without_image_or_file_is_bad_input(
    dist: Path, stack: SigstoreStack, token_file: Path, summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    none = run_cli(capsys, summary, "sign", "--identity-token", str(token_file))
    assert none.code == 2, none.err
    assert "nothing to sign" in none.err, none.err
    blob = run_cli(capsys, summary, "sign-blob", "--identity-token", str(token_file))
    assert blob.code == 2, blob.err
    assert "no file to sign" in blob.err, blob.err
    assert stack.requests(CERT) == 0

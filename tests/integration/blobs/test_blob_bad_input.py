"""Bad input to `sign-blob`, `sign --file` and `verify-blob --checksums`: each a clear error that
names the path or pattern and what was expected, exit 2, no certificate requested and nothing
written (no bundle, no temporary file). A bundle that belongs to another file is not bad input
for `sign` (it is replaced, and the report says why) but fails `verify-blob` (exit 1)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration.blobs.unprivileged import run_as_nobody, world_readable_dir
from integration.sign.helpers import CliRun, run_cli
from stack.sigstore_stack import GitHubOidc, SigstoreStack

CERT = "POST /api/v2/signingCert"


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


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


NOT_FOUND = "a file pattern matches no file to sign"
BOTH = "both called 'app.sbom.json'"
CASES = [
    (["dist/app-linux-riscv64.tar.gz"], "no such file to sign", "dist/app-linux-riscv64.tar.gz"),
    (["dist"], "a directory, not a file to sign", "give dist/*"),
    (["dist/*.zip"], NOT_FOUND, "dist/*.zip"),
    (["dist/**/*.whl", "dist/*"], NOT_FOUND, "dist/**/*.whl"),
    (["dist/*.sigstore.json"], NOT_FOUND, "dist/*.sigstore.json"),
    (["dist/old.tar.gz.sigstore.json"], "does not sign its own outputs", "a Sigstore bundle"),
    (["--checksums", "sub/SUMS", "dist/*"], "must be a plain file name", "sub/SUMS"),
    (["--checksums", "app.sbom.json", "dist/*"], "the checksums file's name", "app.sbom.json"),
    (["--bundle-dir", "out", "dist/*", "other/*"], BOTH, "one bundle directory"),
    (["--checksums", "SUMS", "dist/*", "other/*"], BOTH, "lists base names"),
]


@pytest.mark.parametrize(("argv", "what", "named"), CASES)
def test_bad_input_names_what_is_wrong_and_writes_nothing(
    argv: list[str],
    what: str,
    named: str,
    dist: Path,
    stack: SigstoreStack,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work = dist.parent
    (dist / "old.tar.gz.sigstore.json").write_text("{}")
    (work / "other").mkdir()
    (work / "other" / "app.sbom.json").write_text("{}\n")
    before = listing(work)
    run = sign_blob(capsys, summary, stack, token_file, *argv)
    assert run.code == 2, run.out + run.err
    assert what in run.err, run.err
    assert named in run.err, run.err
    assert "Traceback" not in run.err
    assert listing(work) == before  # nothing written, not even a temporary file
    assert stack.requests(CERT) == 0
    # `sign --file` says the same
    image_run = run_cli(
        capsys, summary, "sign", "--trust-config", str(stack.trust_config), "--identity-token",
        str(token_file), *_as_file_flags(argv),
    )  # fmt: skip
    assert image_run.code == 2, image_run.out + image_run.err
    assert what in image_run.err
    assert listing(work) == before


def _as_file_flags(argv: list[str]) -> list[str]:
    """`sign-blob` arguments as `sign --file` ones: each positional file becomes `--file F`."""
    out: list[str] = []
    take_value = False
    for arg in argv:
        if take_value:
            out.append(arg)
            take_value = False
        elif arg.startswith("--"):
            out.append(arg)
            take_value = True
        else:
            out += ["--file", arg]
    return out


@pytest.fixture
def open_dir() -> Iterator[Path]:
    with world_readable_dir() as folder:
        yield folder


def test_an_unreadable_file_is_bad_input(
    stack: SigstoreStack, token: str, open_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """chmod 000 as an unprivileged user: as root (which reads anything) the CLI runs in a
    child process that has dropped to `nobody`."""
    folder = open_dir
    (folder / "readable.txt").write_text("fine\n")
    secret = folder / "private.key"
    secret.write_text("no\n")
    secret.chmod(0)
    token_file = folder / "token"
    token_file.write_text(token)
    token_file.chmod(0o644)
    argv = [
        *("sign-blob", "--trust-config", str(stack.trust_config)),
        *("--identity-token", str(token_file), str(folder / "*")),
    ]
    before = listing(folder)
    if os.geteuid() == 0:
        code, err = run_as_nobody(argv)
    else:
        from shipsign.cli import main

        code = main(argv)
        err = capsys.readouterr().err
    assert code == 2, err
    assert "cannot read the file to sign" in err, err
    assert str(secret) in err, err
    assert "Permission denied" in err, err
    assert listing(folder) == before
    assert stack.requests(CERT) == 0


def test_a_bundle_for_another_file(
    dist: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = sign_blob(capsys, summary, stack, token_file, "dist/app-linux-amd64.tar.gz")
    assert first.code == 0, first.out + first.err
    wrong = dist / "app.sbom.json.sigstore.json"
    shutil.copy(dist / "app-linux-amd64.tar.gz.sigstore.json", wrong)

    # verify-blob: the bundle is valid, but not for this file
    verify = run_cli(
        capsys, summary, "verify-blob", "--trust-config", str(stack.trust_config),
        "--certificate-identity", github_oidc.san, "--certificate-oidc-issuer",
        github_oidc.issuer, "--bundle", str(wrong), "dist/app.sbom.json",
    )  # fmt: skip
    assert verify.code == 1, verify.out + verify.err
    assert "artifact_digest" in verify.out
    assert "did not verify" in verify.out
    # with --checksums, a bundle that is not the checksums file's: nothing is checked against it
    sums = dist / "SUMS"
    sums.write_text(f"{'0' * 64}  app.sbom.json\n")
    checks = run_cli(
        capsys, summary, "verify-blob", "--trust-config", str(stack.trust_config),
        "--certificate-identity", github_oidc.san, "--certificate-oidc-issuer",
        github_oidc.issuer, "--checksums", str(sums), "--bundle", str(wrong),
        "dist/app.sbom.json",
    )  # fmt: skip
    assert checks.code == 1, checks.out + checks.err
    assert "the files were not checked: the checksums file did not verify" in checks.out
    sums.unlink()

    # sign-blob: that bundle does not count for this file; it is replaced, and the report says why
    stack.reset_stats()
    again = sign_blob(capsys, summary, stack, token_file, "--output", "json", "dist/*")
    assert again.code == 0, again.out + again.err
    by_name = {f["name"]: f for f in again.json()["files"]}
    assert by_name["app-linux-amd64.tar.gz"]["outcome"] == "skipped"
    replaced = by_name["app.sbom.json"]
    assert replaced["outcome"] == "signed"
    assert "replaced a bundle that did not count (failed artifact_digest" in replaced["detail"]
    assert json.loads(wrong.read_text()) != json.loads(
        (dist / "app-linux-amd64.tar.gz.sigstore.json").read_text()
    )
    # not JSON at all: replaced too
    (dist / "app-linux-arm64.tar.gz.sigstore.json").write_text("not a bundle")
    third = sign_blob(capsys, summary, stack, token_file, "--output", "json", "dist/*")
    arm = next(f for f in third.json()["files"] if f["name"] == "app-linux-arm64.tar.gz")
    assert arm["outcome"] == "signed"
    assert "not a message-signature bundle" in arm["detail"]


def test_a_malformed_checksums_file_is_bad_input(
    dist: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token_file: Path,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sums = dist / "SUMS"
    sums.write_text("this is not a checksum line\n")
    signed = sign_blob(capsys, summary, stack, token_file, str(sums))
    assert signed.code == 0, signed.out + signed.err
    run = run_cli(
        capsys, summary, "verify-blob", "--trust-config", str(stack.trust_config),
        "--certificate-identity", github_oidc.san, "--certificate-oidc-issuer",
        github_oidc.issuer, "--checksums", str(sums), "--bundle", f"{sums}.sigstore.json",
        "dist/app.sbom.json",
    )  # fmt: skip
    assert run.code == 2, run.out + run.err
    assert "line 1 of the checksums file is not a sha256sum line" in run.err
    assert str(sums) in run.err
    several = run_cli(
        capsys, summary, "verify-blob", "--trust-config", str(stack.trust_config),
        "--certificate-identity", github_oidc.san, "--bundle", f"{sums}.sigstore.json",
        "dist/app.sbom.json", "dist/app-linux-amd64.tar.gz",
    )  # fmt: skip
    assert several.code == 2
    assert "one bundle verifies one file" in several.err

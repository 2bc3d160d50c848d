"""A valid bundle by another signer beside a file is someone's signature: shipsign keeps it and
says so (exit 1) instead of replacing it, and replaces it only with --force. A stale bundle (for
other content) is not a signature of this file and is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.blobs.test_sign_files_cli import sign_blob
from stack.sigstore_stack import GitHubOidc, SigstoreStack

OTHER = "acme/tools/.github/workflows/build.yml@refs/heads/main"


def test_another_signers_bundle_is_kept_unless_forced(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    summary: Path,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
) -> None:
    archive = tmp_path / "app.tar.gz"
    archive.write_bytes(b"the archive")
    bundle = tmp_path / "app.tar.gz.sigstore.json"
    theirs = tmp_path / "their-token"
    theirs.write_text(github_oidc.mint(job_workflow_ref=OTHER))
    ours = tmp_path / "our-token"
    ours.write_text(github_oidc.mint())

    first = sign_blob(capsys, summary, stack, theirs, str(archive))
    assert first.code == 0, first.out + first.err
    their_bundle = bundle.read_bytes()

    kept = sign_blob(capsys, summary, stack, ours, str(archive))
    assert kept.code == 1, kept.out + kept.err
    assert bundle.read_bytes() == their_bundle  # nothing the user had is lost
    assert "another signer" in kept.out + kept.err
    assert "acme/tools" in kept.out + kept.err

    forced = sign_blob(capsys, summary, stack, ours, str(archive), "--force")
    assert forced.code == 0, forced.out + forced.err
    assert bundle.read_bytes() != their_bundle

    # our bundle, now stale: the file changed, so it is replaced without --force
    archive.write_bytes(b"the archive, rebuilt")
    stale = sign_blob(capsys, summary, stack, ours, str(archive))
    assert stale.code == 0, stale.out + stale.err

"""`verify_release` as a consumer runs it: every asset of a release on the fake GitHub, signed
by the local Sigstore stack, judged from the assets alone."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from shipsign.blobs.checksums import format_checksums
from shipsign.errors import InputError
from shipsign.keyless.identity import IdentityToken, resolve_identity_token
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import Trust, TrustOptions, load_trust
from shipsign.release import GitHubSettings
from shipsign.release.verify import AssetStatus, ReleaseReport, VerifyReleaseRequest, verify_release
from shipsign.secret import Secret
from stack.github_api import FakeGitHub
from stack.github_state import Generated
from stack.sigstore_stack import GitHubOidc, SigstoreStack

REPO = "acme/app"
TAG = "v1.2.0"


@pytest.fixture(scope="module")
def signed_bundles(
    sigstore_stack: SigstoreStack, github_oidc: GitHubOidc
) -> Callable[[bytes], bytes]:
    """Sign content as a file (a message signature over it); one certificate for the module."""
    trust = load_trust(TrustOptions(trust_config=sigstore_stack.trust_config))
    env = github_oidc.env()
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        token: IdentityToken = resolve_identity_token(None, now=datetime.now(timezone.utc))
    signer = KeylessSigner(trust, token)
    cache: dict[bytes, bytes] = {}

    def sign(content: bytes) -> bytes:
        if content not in cache:
            cache[content] = signer.sign_payload(content).bundle_json
        return cache[content]

    return sign


@pytest.fixture
def trust(sigstore_stack: SigstoreStack) -> Trust:
    return load_trust(TrustOptions(trust_config=sigstore_stack.trust_config))


def _run(
    fake: FakeGitHub,
    oidc: GitHubOidc,
    stack: SigstoreStack,
    *,
    identity: str | None = None,
    allow: tuple[str, ...] = (),
    tag: str = TAG,
) -> ReleaseReport:
    settings = GitHubSettings(token=Secret(fake.add_token()), api_url=fake.api_url)
    request = VerifyReleaseRequest(
        repository=REPO,
        tag=tag,
        policy=IdentityPolicy.exact(identity=identity or oidc.san, issuer=oidc.issuer),
        trust=TrustOptions(trust_config=stack.trust_config),
        allow_unsigned=allow,
    )
    return verify_release(request, settings=settings)


ARCHIVE = b"flux_2.7.0_linux_amd64.tar.gz content"
OTHER = b"flux_2.7.0_darwin_arm64.tar.gz content"
MANIFESTS = b"install.yaml content"


def _sums(*files: tuple[str, bytes]) -> bytes:
    return format_checksums((n, hashlib.sha256(c).hexdigest()) for n, c in files)


def _release(fake: FakeGitHub, sign: Callable[[bytes], bytes], *, draft: bool = False) -> int:
    """A release as shipsign writes it: one file with its own bundle, two covered by a signed
    checksums file, which has its bundle too."""
    fake.add_repo(REPO)
    rid = fake.add_release(REPO, TAG, draft=draft)
    sums = _sums(
        ("flux_2.7.0_linux_amd64.tar.gz", ARCHIVE), ("flux_2.7.0_darwin_arm64.tar.gz", OTHER)
    )
    for name, content in (
        ("install.yaml", MANIFESTS),
        ("install.yaml.sigstore.json", sign(MANIFESTS)),
        ("flux_2.7.0_linux_amd64.tar.gz", ARCHIVE),
        ("flux_2.7.0_darwin_arm64.tar.gz", OTHER),
        ("flux_2.7.0_checksums.txt", sums),
        ("flux_2.7.0_checksums.txt.sigstore.json", sign(sums)),
    ):
        fake.add_asset(REPO, rid, name, content)
    return rid


def _by_name(report: ReleaseReport) -> dict[str, AssetStatus]:
    return {a.name: a.status for a in report.assets}


def test_a_signed_release_passes_with_each_file_downloaded_once(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    rid = _release(fake_github, signed_bundles)
    fake_github.reset_log()
    report = _run(fake_github, github_oidc, sigstore_stack)
    assert report.ok, report.failed
    assert _by_name(report) == {
        "install.yaml": AssetStatus.VERIFIED,
        "install.yaml.sigstore.json": AssetStatus.SIGNATURE,
        "flux_2.7.0_linux_amd64.tar.gz": AssetStatus.COVERED,
        "flux_2.7.0_darwin_arm64.tar.gz": AssetStatus.COVERED,
        "flux_2.7.0_checksums.txt": AssetStatus.VERIFIED,
        "flux_2.7.0_checksums.txt.sigstore.json": AssetStatus.SIGNATURE,
    }
    covered = {a.name: a for a in report.assets}["flux_2.7.0_linux_amd64.tar.gz"]
    assert covered.via == "flux_2.7.0_checksums.txt"
    assert covered.facts is not None
    assert covered.facts.identity == github_oidc.san
    assert covered.sha256 == hashlib.sha256(ARCHIVE).hexdigest()
    # every asset's content is fetched exactly once, through its API URL
    downloads = [r.path for r in fake_github.requests("GET", r"/releases/assets/\d+$")]
    assert sorted(downloads) == sorted(set(downloads))
    assert len(downloads) == 6
    assert all(
        r.headers.get("accept") == "application/octet-stream"
        for r in fake_github.requests("GET", r"/releases/assets/\d+$")
    )
    assert rid


def test_a_swapped_asset_fails_naming_it(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    rid = _release(fake_github, signed_bundles)
    # an attacker (or a bad re-upload) swaps one archive and the file with its own bundle
    for name in ("flux_2.7.0_darwin_arm64.tar.gz", "install.yaml"):
        fake_github.swap_asset(REPO, rid, name, b"something else")
    report = _run(fake_github, github_oidc, sigstore_stack)
    assert not report.ok
    failed = {a.name: a for a in report.failed}
    assert set(failed) == {"flux_2.7.0_darwin_arm64.tar.gz", "install.yaml"}
    assert "flux_2.7.0_checksums.txt" in failed["flux_2.7.0_darwin_arm64.tar.gz"].detail
    assert failed["install.yaml"].status is AssetStatus.FAILED
    assert _by_name(report)["flux_2.7.0_linux_amd64.tar.gz"] is AssetStatus.COVERED


def test_another_identity_fails_every_file(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    _release(fake_github, signed_bundles)
    other = github_oidc.san.replace("release.yml", "nightly.yml")
    assert other != github_oidc.san
    report = _run(fake_github, github_oidc, sigstore_stack, identity=other)
    assert not report.ok
    statuses = _by_name(report)
    # a checksums file whose bundle fails covers nothing: its files are unsigned
    assert statuses["install.yaml"] is AssetStatus.FAILED
    assert statuses["flux_2.7.0_checksums.txt"] is AssetStatus.FAILED
    assert statuses["flux_2.7.0_linux_amd64.tar.gz"] is AssetStatus.UNSIGNED


def test_a_bundle_for_another_file_fails(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    fake_github.add_repo(REPO)
    rid = fake_github.add_release(REPO, TAG)
    fake_github.add_asset(REPO, rid, "a.txt", b"a")
    fake_github.add_asset(REPO, rid, "a.txt.sigstore.json", signed_bundles(b"b"))
    report = _run(fake_github, github_oidc, sigstore_stack)
    assert not report.ok
    (only,) = report.failed
    assert only.name == "a.txt"
    assert "digest" in only.detail


def test_unsigned_files_fail_unless_allowed(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    rid = _release(fake_github, signed_bundles)
    fake_github.add_asset(REPO, rid, "NOTES.md", b"notes")
    report = _run(fake_github, github_oidc, sigstore_stack)
    assert [a.name for a in report.failed] == ["NOTES.md"]
    assert report.failed[0].status is AssetStatus.UNSIGNED
    allowed = _run(fake_github, github_oidc, sigstore_stack, allow=("*.md",))
    assert allowed.ok
    assert _by_name(allowed)["NOTES.md"] is AssetStatus.ALLOWED


def test_a_half_uploaded_asset_fails(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    rid = _release(fake_github, signed_bundles)
    fake_github.add_asset(REPO, rid, "flux.spdx.json", b"", state="starter")
    report = _run(fake_github, github_oidc, sigstore_stack)
    (only,) = report.failed
    assert only.name == "flux.spdx.json"
    assert "starter" in only.detail


def test_a_release_with_only_signatures_does_not_pass(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    fake_github.add_repo(REPO)
    rid = fake_github.add_release(REPO, TAG)
    fake_github.add_asset(REPO, rid, "gone.txt.sigstore.json", signed_bundles(b"gone"))
    report = _run(fake_github, github_oidc, sigstore_stack)
    assert not report.ok  # nothing was verified: fail closed
    assert "not on the release" in report.assets[0].detail


def test_a_draft_release_is_found_and_a_missing_tag_is_input_error(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    _release(fake_github, signed_bundles, draft=True)
    report = _run(fake_github, github_oidc, sigstore_stack)
    assert report.ok
    assert report.draft
    with pytest.raises(InputError, match="no release for tag v9"):
        _run(fake_github, github_oidc, sigstore_stack, tag="v9")


def test_memory_stays_flat_for_a_large_covered_asset(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    big = Generated(256 << 20)
    fake_github.add_repo(REPO)
    rid = fake_github.add_release(REPO, TAG)
    sums = format_checksums([("big.tar.gz", big.sha256())])
    fake_github.add_asset(REPO, rid, "big.tar.gz", big)
    fake_github.add_asset(REPO, rid, "SHA256SUMS", sums)
    fake_github.add_asset(REPO, rid, "SHA256SUMS.sigstore.json", signed_bundles(sums))
    tracemalloc.start()
    try:
        report = _run(fake_github, github_oidc, sigstore_stack)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok, report.failed
    assert {a.name: a for a in report.assets}["big.tar.gz"].size == 256 << 20
    assert peak < 32 << 20, f"peak {peak} bytes for a 256 MiB asset"


def test_legacy_sig_and_pem_alone_are_named_but_not_enough(
    fake_github: FakeGitHub,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
    signed_bundles: Callable[[bytes], bytes],
) -> None:
    rid = _release(fake_github, signed_bundles)
    fake_github.add_asset(REPO, rid, "old.tar.gz", b"old")
    fake_github.add_asset(REPO, rid, "old.tar.gz.sig", b"MEUCIQ==")
    fake_github.add_asset(REPO, rid, "old.tar.gz.pem", b"-----BEGIN CERTIFICATE-----\n")
    report = _run(fake_github, github_oidc, sigstore_stack)
    (only,) = report.failed
    assert only.name == "old.tar.gz"
    assert only.status is AssetStatus.UNSIGNED
    assert "cosign verify-blob" in only.detail

"""Use case: verify a GitHub release as a consumer would, from its assets alone.

Every asset `NAME` with a `NAME.sigstore.json` beside it is streamed through sha256 and its
bundle verified against the identity policy. A checksums file whose own bundle passed covers
each file it lists: those are streamed and compared with their line. Anything else is unsigned,
a failure unless an `--allow-unsigned` glob names it. Memory stays flat: files are hashed as they
stream, and only bundles and checksums files (small, capped) are held.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from shipsign.blobs.checksums import ChecksumsError, parse_checksums
from shipsign.checks import SignatureFacts
from shipsign.errors import InputError
from shipsign.github_api.connection import GitHubRepo, GitHubSettings
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.trust import TrustOptions
from shipsign.keyless.trust_material import TrustMaterial, load_verification_trust
from shipsign.release.download import BUNDLE_LIMIT, stream_asset
from shipsign.release.model import Asset
from shipsign.release.releases import fetch_assets, find_release

__all__ = [
    "BUNDLE_SUFFIX",
    "AssetStatus",
    "ReleaseAssetResult",
    "ReleaseReport",
    "VerifyReleaseRequest",
    "verify_release",
]

_log = logging.getLogger(__name__)
BUNDLE_SUFFIX = ".sigstore.json"
# What signing leaves beside a file for older consumers: never a file to verify on its own.
_SIGNATURE_SUFFIXES = (BUNDLE_SUFFIX, ".sig", ".pem", ".cert", ".crt", ".sigstore", ".bundle")


class AssetStatus(str, Enum):
    VERIFIED = "verified"  # its own bundle passed
    COVERED = "covered"  # listed, with this digest, in a checksums file whose bundle passed
    FAILED = "failed"  # a bundle that does not pass, or content that differs from its sums line
    UNSIGNED = "unsigned"  # nothing signs it
    ALLOWED = "allowed-unsigned"  # unsigned, and an --allow-unsigned glob names it
    SIGNATURE = "signature"  # a bundle, .sig or .pem: what signs the others


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyReleaseRequest:
    repository: str  # OWNER/REPO
    tag: str
    policy: IdentityPolicy = field(default_factory=IdentityPolicy)
    trust: TrustOptions = field(default_factory=TrustOptions)
    allow_unsigned: tuple[str, ...] = ()  # globs of asset names that may be unsigned


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseAssetResult:
    """The verdict on one asset. `via` names what signs it: its bundle, or a checksums file."""

    name: str
    status: AssetStatus
    size: int = 0
    sha256: str = ""
    via: str = ""
    facts: SignatureFacts | None = None  # of the bundle that passed (its own, or the sums')
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status not in (AssetStatus.FAILED, AssetStatus.UNSIGNED)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseReport:
    repository: str
    tag: str
    release_url: str
    draft: bool
    assets: tuple[ReleaseAssetResult, ...]
    trust_source: str

    @property
    def ok(self) -> bool:
        """Every asset is signed (or allowed unsigned), and at least one file was verified."""
        files = [a for a in self.assets if a.status is not AssetStatus.SIGNATURE]
        verified = any(a.status in (AssetStatus.VERIFIED, AssetStatus.COVERED) for a in files)
        return verified and all(a.ok for a in self.assets)

    @property
    def failed(self) -> tuple[ReleaseAssetResult, ...]:
        return tuple(a for a in self.assets if not a.ok)


@dataclass(slots=True)
class _Checked:
    result: ReleaseAssetResult
    content: bytes | None = None  # kept for a small file whose bundle passed: maybe a sums file


def verify_release(
    request: VerifyReleaseRequest,
    *,
    settings: GitHubSettings,
    trust: TrustMaterial | None = None,
) -> ReleaseReport:
    """Verify every asset of the release for `request.tag` (see the module's docstring).

    Network: GitHub (the release, its asset list, each paired asset streamed once) and, unless
    `trust` is given, the trust root. Raises `InputError` for a policy that names no identity or
    a tag with no release, `GitHubError` (exit 3) when GitHub cannot be read. A failing asset is
    data in the report, never an exception.
    """
    if not request.policy.names_identity:
        raise InputError(
            "verifying a release needs the signer identity you expect",
            expected="--certificate-identity or --certificate-identity-regexp",
        )
    if trust is None:
        trust = load_verification_trust(request.trust)
    with GitHubRepo(settings, request.repository) as repo:
        release = find_release(repo, request.tag)
        if release is None:
            raise InputError(
                f"no release for tag {request.tag} in {repo.full_name}",
                hint="check the tag; a draft release is visible only to a token with "
                "`contents: write`",
            )
        assets = fetch_assets(repo, release)
        results = _verify_assets(repo, assets, request, trust)
        return ReleaseReport(
            repository=repo.full_name,
            tag=request.tag,
            release_url=release.html_url,
            draft=release.draft,
            assets=tuple(sorted(results, key=lambda r: r.name)),
            trust_source=trust.source,
        )


def _verify_assets(
    repo: GitHubRepo, assets: Sequence[Asset], request: VerifyReleaseRequest, trust: TrustMaterial
) -> list[ReleaseAssetResult]:
    by_name = {a.name: a for a in assets}
    results: dict[str, ReleaseAssetResult] = {}
    for asset in assets:
        if asset.state != "uploaded":
            results[asset.name] = ReleaseAssetResult(
                name=asset.name,
                status=AssetStatus.FAILED,
                size=asset.size,
                detail=f"an incomplete upload (state {asset.state!r}): upload it again",
            )
    signatures = [n for n in by_name if n.endswith(_SIGNATURE_SUFFIXES) and n not in results]
    for name in signatures:
        covers = name[: -len(BUNDLE_SUFFIX)] if name.endswith(BUNDLE_SUFFIX) else ""
        detail = f"signs {covers}" if covers in by_name else ""
        if covers and covers not in by_name:
            detail = f"a bundle for {covers}, which is not on the release"
        results[name] = ReleaseAssetResult(
            name=name, status=AssetStatus.SIGNATURE, size=by_name[name].size, detail=detail
        )
    # Files with their own bundle first: a checksums file among them covers the rest.
    sums: dict[str, tuple[str, str, SignatureFacts | None]] = {}  # name → (hex, sums file, facts)
    for name, asset in by_name.items():
        bundle = by_name.get(name + BUNDLE_SUFFIX)
        if name in results or bundle is None:
            continue
        checked = _check_paired(repo, asset, bundle, request.policy, trust)
        results[name] = checked.result
        if checked.content is not None:
            for listed, hex_digest in _sums_lines(checked.content):
                sums.setdefault(listed, (hex_digest, name, checked.result.facts))
    for name, asset in by_name.items():
        if name in results:
            continue
        if name in sums:
            hex_digest, sums_file, facts = sums[name]
            results[name] = _check_listed(repo, asset, hex_digest, sums_file, facts)
        elif any(fnmatch.fnmatchcase(name, g) for g in request.allow_unsigned):
            results[name] = ReleaseAssetResult(
                name=name, status=AssetStatus.ALLOWED, size=asset.size, detail="--allow-unsigned"
            )
        else:
            detail = f"no {name}{BUNDLE_SUFFIX}, and no signed checksums file lists it"
            if f"{name}.sig" in by_name and (f"{name}.pem" in by_name or f"{name}.cert" in by_name):
                detail += (
                    f"; {name}.sig and its certificate are there (cosign sign-blob's older "
                    "outputs), which carry no transparency-log entry to check offline: sign "
                    "with a bundle, or check them with cosign verify-blob"
                )
            results[name] = ReleaseAssetResult(
                name=name, status=AssetStatus.UNSIGNED, size=asset.size, detail=detail
            )
    # A file with its own bundle that a signed checksums file lists with other content fails.
    for name, (hex_digest, sums_file, _) in sums.items():
        own = results.get(name)
        if own is not None and own.status is AssetStatus.VERIFIED and own.sha256 != hex_digest:
            results[name] = _mismatch(own, hex_digest, sums_file)
    return list(results.values())


def _check_paired(
    repo: GitHubRepo, asset: Asset, bundle: Asset, policy: IdentityPolicy, trust: TrustMaterial
) -> _Checked:
    bundle_json = _small(repo, bundle)
    keep = bytearray()
    small = asset.size <= BUNDLE_LIMIT

    def sink(chunk: bytes) -> None:
        if small and len(keep) <= BUNDLE_LIMIT:
            keep.extend(chunk)

    streamed = stream_asset(repo, asset, sink=sink)
    outcome = verify_bundle(
        bundle_json, trust=trust, policy=policy, digest=f"sha256:{streamed.sha256}"
    )
    detail = ""
    if not outcome.passed:
        failure = outcome.failures[0]
        detail = f"{failure.check}: expected {failure.expected}; found {failure.found}"
    result = ReleaseAssetResult(
        name=asset.name,
        status=AssetStatus.VERIFIED if outcome.passed else AssetStatus.FAILED,
        size=streamed.size,
        sha256=streamed.sha256,
        via=bundle.name,
        facts=outcome.facts,
        detail=detail,
    )
    if not outcome.passed:
        return _Checked(result)
    return _Checked(result, bytes(keep) if small and len(keep) <= BUNDLE_LIMIT else None)


def _check_listed(
    repo: GitHubRepo,
    asset: Asset,
    hex_digest: str,
    sums_file: str,
    facts: SignatureFacts | None,
) -> ReleaseAssetResult:
    streamed = stream_asset(repo, asset)
    same = streamed.sha256 == hex_digest
    return ReleaseAssetResult(
        name=asset.name,
        status=AssetStatus.COVERED if same else AssetStatus.FAILED,
        size=streamed.size,
        sha256=streamed.sha256,
        via=sums_file,
        facts=facts,
        detail=""
        if same
        else f"content differs from {sums_file}: expected sha256 {hex_digest}, "
        f"found {streamed.sha256}",
    )


def _mismatch(own: ReleaseAssetResult, hex_digest: str, sums_file: str) -> ReleaseAssetResult:
    return ReleaseAssetResult(
        name=own.name,
        status=AssetStatus.FAILED,
        size=own.size,
        sha256=own.sha256,
        via=own.via,
        facts=own.facts,
        detail=f"its bundle passes, but {sums_file} lists sha256 {hex_digest} for it",
    )


def _small(repo: GitHubRepo, asset: Asset) -> bytes:
    data = bytearray()
    stream_asset(repo, asset, sink=data.extend, limit=BUNDLE_LIMIT)
    return bytes(data)


def _sums_lines(content: bytes) -> Iterable[tuple[str, str]]:
    """(name, sha256 hex) for each line if `content` is a sha256sum file; else nothing."""
    try:
        # assets are matched by base name: `./dist/x.tar.gz` in the sums is asset x.tar.gz
        return [(e.name.rsplit("/", 1)[-1], e.sha256) for e in parse_checksums(content)]
    except ChecksumsError:
        return []

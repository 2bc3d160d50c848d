"""Could not look, not signed, signed but not by you: `shipsign verify` keeps them apart.

A registry that errors, resets or times out while shipsign lists signatures gives exit 3 (never
"unsigned"); an image without signatures exit 1 with where shipsign looked; signatures that all
fail exit 1 with, for each, the check, what was expected and what was found.
"""

from __future__ import annotations

import re
from typing import Literal, Protocol

import pytest

from integration.verify.signed_images import (
    CliRun,
    push_bundle_referrer,
    push_image,
    push_sig_image,
    run_cli,
    sign_bundle,
    sign_legacy,
    subject_of,
    why,
)
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions
from shipsign.oci import Digest, Registries, RetryPolicy
from shipsign.present.exitcodes import verdict_code
from shipsign.present.verify import verify_text
from shipsign.verify import ImageStatus, VerifyRequest, verify_images
from stack.fault_proxy import FaultProxy
from stack.raw_registry import RawClient
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

OTHER_IDENTITY = "https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main"


class Lookup(Protocol):
    """The `lookup` fixture."""

    def __call__(
        self, refs: list[str], hosts: list[str], *flags: str, identity: str | None = None
    ) -> CliRun: ...


@pytest.fixture
def lookup(
    capsys: pytest.CaptureFixture[str], github_oidc: GitHubOidc, sigstore_stack: SigstoreStack
) -> Lookup:
    """`shipsign verify REFS` in-process: plain HTTP to `hosts`, trusting the local stack, as
    `identity` (default: github_oidc's workflow) from github_oidc's issuer."""

    def run(refs: list[str], hosts: list[str], *flags: str, identity: str | None = None) -> CliRun:
        argv = ["verify", *refs]
        for host in hosts:
            argv += ["--insecure-registry", host]
        argv += ["--certificate-identity", identity or github_oidc.san]
        argv += ["--certificate-oidc-issuer", github_oidc.issuer]
        argv += ["--trusted-root", str(sigstore_stack.trusted_root), *flags]
        return run_cli(capsys, argv)

    return run


def _unsigned(registry: Registry, repo: str) -> str:
    digest, _ = push_image(RawClient(registry, repo))
    return f"{registry.host}/{repo}@{digest}"


# (method, path regex, action, status): every matching request fails, without Retry-After
FAULTS: dict[str, tuple[str | None, str, Literal["status", "reset"], int]] = {
    # every listing of referrers answers 500
    "referrers 500": ("GET", "/referrers/", "status", 500),
    # the referrers tag read (the registry has no referrers API) resets the connection
    "referrers tag reset": ("GET", r"/manifests/sha256-[0-9a-f]{64}$", "reset", 0),
    # the .sig manifest read fails with 503
    ".sig 503": ("GET", r"\.sig$", "status", 503),
    # the registry is down altogether
    "everything 502": (None, "/v2/", "status", 502),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_failed_lookup_exits_3_not_unsigned(
    fault: str,
    fault_proxy: FaultProxy,
    repo: str,
    lookup: Lookup,
) -> None:
    image = _unsigned(fault_proxy.registry, repo)
    method, path, action, status = FAULTS[fault]
    fault_proxy.add_fault(method, path, action, status, headers={}, times=None)
    run = lookup([image], [fault_proxy.host])
    assert run.code == 3, why(run)
    assert f"! {image}: could not look for signatures" in run.out
    assert "error: cannot " in run.out
    assert "gave up after 4 attempts" in run.out
    assert "no signatures found" not in run.out
    faulted = [r for r in fault_proxy.requests if r.status in (0, 500, 502, 503)]
    assert len(faulted) >= 4  # retried before giving up
    doc = lookup([image], [fault_proxy.host], "--output", "json")
    assert doc.code == 3
    (result,) = doc.json()["images"]
    assert result["status"] == "unreachable"
    assert result["error"]["what"].startswith("cannot ")


def test_transient_errors_are_retried(
    fault_proxy: FaultProxy,
    repo: str,
    lookup: Lookup,
) -> None:
    image = _unsigned(fault_proxy.registry, repo)
    fault_proxy.add_fault(method="GET", path_regex=r"\.sig$", status=503, headers={}, times=2)
    fault_proxy.add_fault(method="GET", path_regex="/referrers/", action="reset", times=1)
    run = lookup([image], [fault_proxy.host])
    assert run.code == 1, why(run)
    assert "no signatures found (looked in " in run.out


def test_timeout_while_listing_is_unreachable(
    fault_proxy: FaultProxy,
    repo: str,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    image = _unsigned(fault_proxy.registry, repo)
    fault_proxy.add_fault(
        method="GET", path_regex="/referrers/", action="delay", delay=1.5, times=None
    )
    fast = RetryPolicy(attempts=2, base=0.01, cap=0.05, deadline=10.0)
    request = VerifyRequest(
        images=(image,),
        policy=IdentityPolicy.exact(identity=github_oidc.san, issuer=github_oidc.issuer),
        trust=TrustOptions(trusted_root=sigstore_stack.trusted_root),
    )
    # the CLI's read timeout is 30 s; the use case takes the same Registries with a short one
    with Registries(insecure=[fault_proxy.host], env={}, retry=fast, timeout=(2, 0.5)) as pool:
        report = verify_images(request, registries=pool)
    (result,) = report.images
    assert result.status is ImageStatus.UNREACHABLE
    assert result.error is not None
    assert "Timeout" in result.error.found
    assert "gave up after 2 attempts" in result.error.what
    assert (
        verdict_code(
            all_ok=report.ok,
            any_negative=report.any_negative,
            any_unreachable=report.any_unreachable,
        )
        == 3
    )
    assert "could not look for signatures" in verify_text(report)


def test_unsigned_image_says_where_it_looked(
    registry: Registry,
    repo: str,
    lookup: Lookup,
) -> None:
    image = _unsigned(registry, repo)
    digest = Digest.parse(image.split("@")[1])
    run = lookup([image], [registry.host])
    assert run.code == 1, why(run)
    name = f"{registry.host}/{repo}"
    assert (
        f"✘ {image}: no signatures found (looked in {name}:{digest.tag_form} (referrers tag; "
        f"no referrers API), {name}:{digest.tag_form}.sig)"
    ) in run.out
    assert "The following checks were performed" not in run.out


def test_three_signatures_none_matching_explain_each(
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    pool: Registries,
    github_oidc: GitHubOidc,
    lookup: Lookup,
) -> None:
    raw = RawClient(registry, repo)
    digest, manifest = push_image(raw)
    name = f"{registry.host}/{repo}"
    legacy = [sign_legacy(signer, name, digest) for _ in range(2)]
    push_sig_image(raw, digest, legacy)
    push_bundle_referrer(
        raw, subject_of(manifest), sign_bundle(signer, name, digest), fallback=pool
    )
    image = f"{name}@{digest}"
    run = lookup([image], [registry.host], identity=OTHER_IDENTITY)
    assert run.code == 1, why(run)
    assert f"✘ {image}: 3 signatures found, none matched:" in run.out
    assert len(re.findall(r"- (legacy|bundle) signature at ", run.out)) == 3
    assert run.out.count("check identity failed") == 3
    assert run.out.count(f"expected: {OTHER_IDENTITY}") == 3
    assert run.out.count(f"found:    {github_oidc.san}") == 3
    assert "looked in: " in run.out


def test_mixed_outcomes_decide_the_exit_code(
    registry: Registry,
    fault_proxy: FaultProxy,
    repo: str,
    signer: KeylessSigner,
    lookup: Lookup,
) -> None:
    raw = RawClient(registry, repo)
    digest, _ = push_image(raw)
    push_sig_image(raw, digest, [sign_legacy(signer, f"{registry.host}/{repo}", digest)])
    signed = f"{registry.host}/{repo}@{digest}"
    unsigned = _unsigned(registry, repo)
    behind_proxy = f"{fault_proxy.host}/{repo}@{digest}"  # the same repository, through the proxy
    fault_proxy.add_fault(path_regex="/v2/", action="reset", times=None)
    hosts = [registry.host, fault_proxy.host]
    both = lookup([signed, behind_proxy], hosts)
    assert both.code == 3, why(both)  # nothing negative, one could not be looked at
    assert f"✔ {signed}: verified" in both.out
    assert f"! {behind_proxy}: could not look for signatures" in both.out
    negative = lookup([unsigned, behind_proxy], hosts)
    assert negative.code == 1, why(negative)  # a definite "no" wins: retrying will not help


@pytest.mark.parametrize(
    ("signed_as", "broken"), [("legacy", "/referrers/"), ("bundle", r"\.sig$")]
)
def test_one_broken_place_does_not_hide_a_valid_signature(
    signed_as: str,
    broken: str,
    fault_proxy: FaultProxy,
    repo: str,
    signer: KeylessSigner,
    lookup: Lookup,
) -> None:
    fault_proxy.serve_referrers = True
    raw = RawClient(fault_proxy.registry, repo)
    digest, manifest = push_image(raw)
    name = f"{fault_proxy.host}/{repo}"
    if signed_as == "legacy":
        push_sig_image(raw, digest, [sign_legacy(signer, name, digest)])
    else:
        push_bundle_referrer(raw, subject_of(manifest), sign_bundle(signer, name, digest))
    fault_proxy.add_fault(method="GET", path_regex=broken, status=500, headers={}, times=None)
    run = lookup([f"{name}@{digest}"], [fault_proxy.host], "--all")
    assert run.code == 0, why(run)  # as cosign, which falls back from referrers to .sig
    assert "note: a signature verified, but another lookup failed: cannot " in run.out
    # by default the bundle (looked at first) ends the search: the broken .sig is not read
    first = lookup([f"{name}@{digest}"], [fault_proxy.host])
    assert first.code == 0, why(first)
    assert ("another lookup failed" in first.out) is (signed_as == "legacy")


def test_missing_tag_is_bad_input(
    registry: Registry,
    repo: str,
    lookup: Lookup,
) -> None:
    image = f"{registry.host}/{repo}:no-such-tag"
    run = lookup([image], [registry.host])
    assert run.code == 2, why(run)
    assert run.out == ""
    assert f"error: image not found: {image}" in run.err
    assert "Traceback" not in run.err


def test_refused_access_is_unreachable(
    token_registry: Registry,
    lookup: Lookup,
) -> None:
    image = f"{token_registry.host}/private/app@sha256:{'a' * 64}"
    run = lookup([image], [token_registry.host])
    assert run.code == 3, why(run)
    assert "could not look for signatures" in run.out
    assert "refused access" in run.out

"""`shipsign sign` and `verify` on a registry that serves the OCI 1.1 referrers API (the stack's
"referrers-api" kind, go-containerregistry's pkg/registry), on the local Sigstore stack: the bundle
is listed by the registry, no fallback tag is written, verify finds it through
`GET /v2/<name>/referrers/<digest>`, oras sees it, and a digest with bundles both in the API's
list and under the fallback tag has all of them found.

The registry and oras are peers built by `scripts/install.sh --peers`; a missing one fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from integration.sign.helpers import (
    BUNDLE_TYPE,
    CliRun,
    get_manifest,
    push_image,
    run_cli,
    sig_layers,
)
from integration.verify.signed_images import CliRun as VerifyRun
from integration.verify.signed_images import verify_on_stack
from stack.fault_proxy import FaultProxy
from stack.oras import API, TAG, Oras
from stack.raw_registry import OCI_INDEX, RawClient
from stack.registry import Registry, RegistryRequest
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def _sign(
    capsys: pytest.CaptureFixture[str],
    summary: Path,
    stack: SigstoreStack,
    token: str,
    image: str,
    fmt: str,
    *flags: str,
) -> CliRun:
    host = image.split("/")[0]
    run = run_cli(
        capsys,
        summary,
        *("sign", "--trust-config", str(stack.trust_config), "--identity-token", token),
        *("--insecure-registry", host, "--format", fmt, "--output", "json", *flags),
        image,
    )
    assert run.code == 0, run.out + run.err
    return run


def _bundle_result(run: CliRun) -> dict[str, Any]:
    [bundle] = [s for s in run.json()["signatures"] if s["format"] == "bundle"]
    assert bundle["status"] == "signed", bundle
    assert bundle["read_back"] == "verified", bundle
    return bundle  # type: ignore[no-any-return]


def _verify(
    capsys: pytest.CaptureFixture[str],
    oidc: GitHubOidc,
    stack: SigstoreStack,
    image: str,
    *flags: str,
) -> dict[str, Any]:
    run: VerifyRun = verify_on_stack(capsys, image, oidc, stack, "--output", "json", *flags)
    assert run.code == 0, f"{run.out}\n{run.err}"
    [result] = run.json()["images"]
    assert result["verified"], result
    return result  # type: ignore[no-any-return]


def _api_list(registry: Registry, repo: str, digest: str) -> list[dict[str, Any]]:
    resp = RawClient(registry, repo).call(
        "GET", f"referrers/{digest}", headers={"Accept": OCI_INDEX}
    )
    assert resp.status_code == 200, resp.text
    manifests: list[dict[str, Any]] = resp.json()["manifests"]
    return manifests


def _requests(registry: Registry, mark: int, repo: str) -> list[RegistryRequest]:
    return [r for r in registry.requests()[mark:] if r.path.startswith(f"/v2/{repo}/")]


@pytest.mark.parametrize("fmt", ["bundle", "both"])
def test_sign_lists_the_bundle_through_the_api_and_writes_no_fallback_tag(
    fmt: str,
    referrers_registry: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    reg = referrers_registry
    digest = push_image([reg], repo)
    mark = len(reg.requests())

    run = _sign(capsys, summary, stack, token, f"{reg.host}/{repo}@{digest}", fmt)

    bundle = _bundle_result(run)
    assert bundle["referrers"] == "api"
    manifest = bundle["signature_manifest"]
    fallback_tag = digest.replace(":", "-")
    assert get_manifest(reg, repo, fallback_tag) is None  # no sha256-<hex> tag
    seen = _requests(reg, mark, repo)
    assert RegistryRequest("GET", f"/v2/{repo}/referrers/{digest}", 200) in seen
    assert not [r for r in seen if r.method == "PUT" and r.path.endswith(f"/{fallback_tag}")]
    assert ("PUT", f"/v2/{repo}/manifests/{manifest}") in [(r.method, r.path) for r in seen]
    # Every blob went up in one request (this registry honours a monolithic POST ?digest=).
    uploads = [r for r in seen if "/blobs/uploads/" in r.path]
    assert uploads, seen
    assert all((r.method, r.status) == ("POST", 201) and "digest=" in r.uri for r in uploads)
    [listed] = _api_list(reg, repo, digest)
    assert (listed["digest"], listed["artifactType"]) == (manifest, BUNDLE_TYPE)
    assert bool(sig_layers(reg, repo, digest)) == (fmt == "both")

    # oras, as a third party, through the API and by its own choice: the same one referrer.
    stored = get_manifest(reg, repo, manifest)
    assert stored is not None
    for spec in (None, API):
        [seen_by_oras] = Oras(tmp_path / "oras").discover(reg, repo, digest, spec=spec)
        assert seen_by_oras["digest"] == manifest
        assert seen_by_oras["artifactType"] == BUNDLE_TYPE
        assert seen_by_oras["annotations"] == stored[1]["annotations"]


def test_verify_finds_the_bundle_through_the_referrers_api(
    referrers_registry: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    github_oidc: GitHubOidc,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reg = referrers_registry
    digest = push_image([reg], repo)
    image = f"{reg.host}/{repo}@{digest}"
    manifest = _bundle_result(_sign(capsys, summary, stack, token, image, "bundle"))[
        "signature_manifest"
    ]
    mark = len(reg.requests())

    result = _verify(capsys, github_oidc, stack, image)

    [sig] = result["signatures"]
    assert sig["format"] == "bundle"
    assert sig["location"] == f"{reg.host}/{repo}@{manifest} (bundle referrer, referrers API)"
    assert f"{reg.host}/{repo} referrers API" in result["looked_in"]
    seen = _requests(reg, mark, repo)
    assert RegistryRequest("GET", f"/v2/{repo}/referrers/{digest}", 200) in seen
    assert RegistryRequest("GET", f"/v2/{repo}/manifests/{manifest}", 200) in seen


def test_bundles_in_the_api_list_and_under_the_fallback_tag_are_all_found(
    referrers_registry: Registry,
    repo: str,
    stack: SigstoreStack,
    summary: Path,
    github_oidc: GitHubOidc,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """One bundle written through the API, another by a writer that did not see the API (the
    fault proxy hides it) and so listed it under `sha256-<hex>`: both on the same registry."""
    reg = referrers_registry
    digest = push_image([reg], repo)
    fallback_tag = digest.replace(":", "-")
    through_api = _bundle_result(
        _sign(capsys, summary, stack, github_oidc.mint(), f"{reg.host}/{repo}@{digest}", "bundle")
    )["signature_manifest"]
    with FaultProxy(reg.url) as no_api:
        no_api.add_fault(method="GET", path_regex="/referrers/", status=404, headers={}, times=None)
        tagged = _bundle_result(
            _sign(
                capsys,
                summary,
                stack,
                github_oidc.mint(),
                f"{no_api.host}/{repo}@{digest}",
                "bundle",
            )
        )
    assert tagged["referrers"] == "fallback-tag"
    stored = get_manifest(reg, repo, fallback_tag)
    assert stored is not None
    assert [m["digest"] for m in stored[1]["manifests"]] == [tagged["signature_manifest"]]
    both = sorted([through_api, tagged["signature_manifest"]])
    # The registry lists every manifest with a subject, the tagged one too (as the spec asks).
    assert sorted(m["digest"] for m in _api_list(reg, repo, digest)) == both

    # the default stops at the first bundle that passes; --all finds every one of them
    first = _verify(capsys, github_oidc, stack, f"{reg.host}/{repo}@{digest}")
    assert len(first["signatures"]) == 1
    result = _verify(capsys, github_oidc, stack, f"{reg.host}/{repo}@{digest}", "--all")

    found = {s["location"].split("@")[1].split(" ")[0] for s in result["signatures"]}
    assert found == set(both)
    assert all(s["verified"] for s in result["signatures"])
    oras = Oras(tmp_path / "oras")
    assert sorted(r["digest"] for r in oras.discover(reg, repo, digest, spec=API)) == both
    [only_tagged] = oras.discover(reg, repo, digest, spec=TAG)
    assert only_tagged["digest"] == tagged["signature_manifest"]
    assert only_tagged["artifactType"] == BUNDLE_TYPE


def test_a_bundle_only_the_fallback_tag_lists_is_found_beside_the_api(
    referrers_registry: Registry,
    repo: str,
    stack: SigstoreStack,
    summary: Path,
    github_oidc: GitHubOidc,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A registry that gained the API without listing what its fallback tags listed (which the
    distribution spec forbids, but a registry can get wrong): the fault proxy first hides the API
    (a bundle goes under the tag), then serves an API of its own that lists only what is pushed
    after. cosign would see only the second bundle there; shipsign verify finds both."""
    reg = referrers_registry
    digest = push_image([reg], repo)
    with FaultProxy(reg.url) as proxy:
        image = f"{proxy.host}/{repo}@{digest}"
        proxy.add_fault(method="GET", path_regex="/referrers/", status=404, headers={}, times=None)
        before = _bundle_result(_sign(capsys, summary, stack, github_oidc.mint(), image, "bundle"))
        assert before["referrers"] == "fallback-tag"
        proxy.clear()
        proxy.serve_referrers = True  # the API, from now on
        after = _bundle_result(
            _sign(capsys, summary, stack, github_oidc.mint(), image, "bundle", "--force")
        )
        assert after["referrers"] == "api"
        proxy.reset_log()

        result = _verify(capsys, github_oidc, stack, image, "--all")

        paths = [r.path for r in proxy.requests]
    locations = sorted(s["location"] for s in result["signatures"])
    name = f"{proxy.host}/{repo}"
    assert locations == sorted(
        [
            f"{name}@{after['signature_manifest']} (bundle referrer, referrers API)",
            f"{name}@{before['signature_manifest']} (bundle referrer, referrers tag "
            f"{digest.replace(':', '-')})",
        ]
    )
    assert f"/v2/{repo}/referrers/{digest}" in paths
    assert f"/v2/{repo}/manifests/{digest.replace(':', '-')}" in paths

"""`shipsign verify` on images signed on the local Sigstore stack (both formats), through the CLI.

Signatures are made with KeylessSigner as acme/app's release workflow (github_oidc) and pushed
with RawClient; verification trusts only the stack's trusted_root.json.
"""

from __future__ import annotations

import pytest

from integration.verify.signed_images import (
    Image,
    Verify,
    new_image,
    push_bundle_referrer,
    push_sig_image,
    sign_bundle,
    sign_image,
    sign_legacy,
    subject_of,
    why,
)
from interop.corpus import PRODUCTION_ROOT
from shipsign.keyless.signing import KeylessSigner
from shipsign.oci import Registries
from stack.fault_proxy import FaultProxy
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


@pytest.fixture(params=["legacy", "bundle"])
def fmt(request: pytest.FixtureRequest) -> str:
    """Each test that signs with `signed` runs once per signature format."""
    return str(request.param)


@pytest.fixture
def signed(
    fmt: str, registry: Registry, repo: str, signer: KeylessSigner, pool: Registries
) -> Image:
    """A new image signed on the stack in `fmt`, as github_oidc's workflow."""
    image = new_image(registry, repo)
    sign_image(image, signer, fmt, pool)
    return image


def test_signature_made_on_the_stack_verifies(
    fmt: str, signed: Image, verify: Verify, github_oidc: GitHubOidc
) -> None:
    run = verify(signed)
    assert run.code == 0, why(run)
    assert "The following checks were performed on each of these signatures:" in run.out
    assert f"✔ {signed.ref}: verified (1 of 1 signature passed)" in run.out
    assert f"identity {github_oidc.san}" in run.out
    assert f"issuer {github_oidc.issuer}" in run.out
    assert "Rekor log index " in run.out
    assert f"{fmt} at " in run.out
    assert run.err == ""


def test_json_output_has_the_facts(
    fmt: str,
    signed: Image,
    verify: Verify,
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    run = verify(signed, "--output", "json")
    assert run.code == 0, why(run)
    doc = run.json()
    assert doc["verified"] is True
    assert doc["trust"] == f"trusted root {sigstore_stack.trusted_root}"
    (result,) = doc["images"]
    assert result["input"] == signed.ref
    assert result["repository"] == signed.repository
    assert result["digest"] == str(signed.digest)
    assert result["status"] == "verified"
    (sig,) = result["signatures"]
    assert sig["format"] == fmt
    assert sig["verified"] is True
    assert sig["failures"] == []
    assert sig["identity"] == github_oidc.san
    assert sig["issuer"] == github_oidc.issuer
    assert isinstance(sig["rekor_log_index"], int)
    assert sig["signing_time"].endswith("Z")
    if fmt == "legacy":
        assert sig["location"] == f"{signed.repository}:{signed.digest.tag_form}.sig layer 0"
    else:
        assert "(bundle referrer, referrers tag " in sig["location"]
    sig_tag = f"{signed.repository}:{signed.digest.tag_form}.sig"
    # bundles are read first; a bundle that passes ends the search (--all reads on)
    assert (sig_tag in result["looked_in"]) is (fmt == "legacy")
    audit = verify(signed, "--output", "json", "--all")
    assert sig_tag in audit.json()["images"][0]["looked_in"]


def test_bundle_found_through_the_referrers_api(
    fault_proxy: FaultProxy, repo: str, signer: KeylessSigner, verify: Verify
) -> None:
    fault_proxy.serve_referrers = True  # the proxy lists manifests pushed through it
    image = new_image(fault_proxy.registry, repo)
    sign_image(image, signer, "bundle", None)
    fault_proxy.reset_log()
    run = verify(image, "--output", "json")
    assert run.code == 0, why(run)
    (result,) = run.json()["images"]
    (sig,) = result["signatures"]
    assert sig["location"].endswith("(bundle referrer, referrers API)")
    assert f"{image.repository} referrers API" in result["looked_in"]
    paths = [r.path for r in fault_proxy.requests]
    assert f"/v2/{repo}/referrers/{image.digest}" in paths
    # A bundle in the API's list passed: the fallback tag is not read, and that is all it took
    # (the list, the referrer manifest, the bundle blob).
    assert f"/v2/{repo}/manifests/{image.digest.tag_form}" not in paths
    assert [r.method for r in fault_proxy.requests] == ["GET", "GET", "GET"]
    # With --all the tag is read too: a registry may not list there what it had before the API.
    fault_proxy.reset_log()
    audit = verify(image, "--output", "json", "--all")
    assert f"/v2/{repo}/manifests/{image.digest.tag_form}" in [r.path for r in fault_proxy.requests]
    looked = audit.json()["images"][0]["looked_in"]
    assert f"{image.repository}:{image.digest.tag_form} (referrers tag)" in looked


@pytest.mark.parametrize(
    ("flags", "check", "found"),
    [
        (
            ["--certificate-identity", "https://github.com/acme/app/.github/workflows/x.yml@main"],
            "identity",
            "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3",
        ),
        (
            ["--certificate-oidc-issuer", "https://accounts.google.com"],
            "issuer",
            "https://token.actions.githubusercontent.com",
        ),
        (
            ["--github-repository", "acme/other"],
            "github_repository",
            "https://github.com/acme/app",
        ),
        (["--github-ref", "refs/heads/main"], "github_ref", "refs/tags/v1.2.3"),
        (["--github-workflow-trigger", "pull_request"], "github_workflow_trigger", "push"),
        (["--runner-environment", "self-hosted"], "runner_environment", "github-hosted"),
    ],
    ids=["identity", "issuer", "repository", "ref", "trigger", "runner"],
)
def test_policy_mismatch_is_rejected_with_the_reason(
    flags: list[str],
    check: str,
    found: str,
    signed: Image,
    verify: Verify,
    github_oidc: GitHubOidc,
) -> None:
    policy = {
        "--certificate-identity": github_oidc.san,
        "--certificate-oidc-issuer": github_oidc.issuer,
    }
    policy.update(dict(zip(flags[::2], flags[1::2], strict=True)))
    argv = [x for pair in policy.items() for x in pair]
    run = verify(signed, *argv, "--output", "json", identity=False)
    assert run.code == 1, why(run)
    (failure,) = run.failures()
    assert failure["check"] == check
    assert failure["expected"] == flags[1]
    assert failure["found"] == found
    text = verify(signed, *argv, identity=False)
    assert text.code == 1
    assert "1 signature found, none matched:" in text.out
    assert f"check {check} failed" in text.out
    assert f"expected: {flags[1]}" in text.out
    assert f"found:    {found}" in text.out


def test_every_github_claim_that_matches_passes(
    signed: Image, verify: Verify, github_oidc: GitHubOidc
) -> None:
    wf = github_oidc.workflow
    claims = {
        "--github-repository": wf.repository,
        "--github-ref": wf.ref,
        "--github-workflow-trigger": wf.event_name,
        "--github-sha": wf.sha,
        "--github-workflow": wf.san,
        "--runner-environment": wf.runner_environment,
    }
    run = verify(signed, *(x for pair in claims.items() for x in pair))
    assert run.code == 0, why(run)


def test_regular_expressions_are_anchored(
    signed: Image, verify: Verify, github_oidc: GitHubOidc
) -> None:
    issuer = ["--certificate-oidc-issuer", github_oidc.issuer]
    # a prefix that cosign's unanchored search would accept
    prefix = ["--certificate-identity-regexp", "https://github[.]com/acme/app"]
    run = verify(signed, *prefix, *issuer, "--output", "json", identity=False)
    assert run.code == 1, why(run)
    (failure,) = run.failures()
    assert failure["check"] == "identity"
    assert failure["expected"] == "/https://github[.]com/acme/app/ (whole value)"
    whole = ["--certificate-identity-regexp", r"https://github[.]com/acme/app/\.github/.*"]
    assert verify(signed, *whole, *issuer, identity=False).code == 0
    issuer_prefix = ["--certificate-oidc-issuer-regexp", "https://token[.]actions"]
    san = ["--certificate-identity", github_oidc.san]
    run = verify(signed, *san, *issuer_prefix, "--output", "json", identity=False)
    assert run.code == 1, why(run)
    assert run.failed_checks() == {"issuer"}


def test_another_stacks_trusted_root_rejects(fmt: str, signed: Image, verify: Verify) -> None:
    run = verify(signed, "--trusted-root", str(PRODUCTION_ROOT), "--output", "json")
    assert run.code == 1, why(run)
    checks = run.failed_checks()
    if fmt == "legacy":
        assert {"certificate_chain", "rekor_set", "sct"} <= checks, why(run)
        assert "identity" not in checks  # the signer is the one asked for; the trust is not
        assert any(str(PRODUCTION_ROOT) in f["expected"] for f in run.failures()), why(run)
    else:  # sigstore-python stops at its first failure: here the TSA's chain, then Fulcio's
        assert checks == {"certificate_chain"}, why(run)


def test_signature_of_another_image_is_rejected(
    registry: Registry, repo: str, signer: KeylessSigner, pool: Registries, verify: Verify
) -> None:
    signed, other = new_image(registry, repo), new_image(registry, repo)
    # copy the other image's signatures next to this one, as an attacker with push access could
    legacy = sign_legacy(signer, signed.repository, signed.digest)
    push_sig_image(other.raw, other.digest, [legacy])
    bundle = sign_bundle(signer, signed.repository, signed.digest)
    push_bundle_referrer(other.raw, subject_of(other.manifest), bundle, fallback=pool)
    run = verify(other, "--output", "json")
    assert run.code == 1, why(run)
    by_check = {f["check"]: f for f in run.failures()}
    assert set(by_check) == {"payload_digest", "dsse_subject"}, why(run)
    assert by_check["payload_digest"]["expected"] == str(other.digest)
    assert by_check["payload_digest"]["found"] == str(signed.digest)
    assert signed.digest.hex in by_check["dsse_subject"]["found"]
    assert other.digest.hex in by_check["dsse_subject"]["expected"]
    text = verify(other)
    assert "2 signatures found, none matched:" in text.out

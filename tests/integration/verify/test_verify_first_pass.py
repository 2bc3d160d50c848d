"""verify stops at the first signature that passes, bundles first, and the verdict is the one
`--all` (every signature, every place) gives: an image passes when any signature passes, fails
when none does, and "could not look" never turns into "unsigned".

Mixed cases: a bad bundle beside a good `.sig`, a good bundle beside a bad `.sig`, a bundle by
another identity beside a good `.sig`, and the negatives. "Bad" means a real signature over
another digest (the subject / payload check fails).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

import pytest

from integration.verify.signed_images import (
    Image,
    Verify,
    new_image,
    push_bundle_referrer,
    push_sig_image,
    run_cli,
    sign_bundle,
    sign_legacy,
    subject_of,
    why,
)
from shipsign.keyless.identity import parse_identity_token
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.oci import Digest, Registries
from stack.fault_proxy import FaultProxy
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

Place = Callable[[Image], None]


@pytest.fixture(scope="module")
def other_signer(sigstore_stack: SigstoreStack, github_oidc: GitHubOidc) -> KeylessSigner:
    """Signs as another workflow of the same repository: a look-alike the policy refuses."""
    ref = "acme/app/.github/workflows/other.yml@refs/tags/v1.2.3"

    def token() -> object:
        return parse_identity_token(
            github_oidc.mint(job_workflow_ref=ref), now=datetime.now(timezone.utc)
        )

    trust = load_trust(TrustOptions(trust_config=sigstore_stack.trust_config))
    return KeylessSigner(trust, token())  # type: ignore[arg-type]


ELSEWHERE = Digest.of(b"another image altogether")


def _bundle(image: Image, signer: KeylessSigner, pool: Registries, digest: Digest) -> None:
    bundle = sign_bundle(signer, image.repository, digest)
    push_bundle_referrer(image.raw, subject_of(image.manifest), bundle, fallback=pool)


def _sig(image: Image, signer: KeylessSigner, digest: Digest) -> None:
    push_sig_image(image.raw, image.digest, [sign_legacy(signer, image.repository, digest)])


@pytest.mark.parametrize(
    ("bundle", "sig", "code"),
    [
        ("good", "good", 0),
        ("bad", "good", 0),
        ("good", "bad", 0),
        ("other", "good", 0),
        ("bad", "bad", 1),
        ("other", None, 1),
        (None, "bad", 1),
        (None, None, 1),
    ],
)
def test_first_pass_and_full_audit_agree(
    bundle: str | None,
    sig: str | None,
    code: int,
    registry: Registry,
    repo: str,
    pool: Registries,
    signer: KeylessSigner,
    other_signer: KeylessSigner,
    verify: Verify,
) -> None:
    image = new_image(registry, repo)
    signers = {"good": signer, "bad": signer, "other": other_signer}
    if bundle is not None:
        digest = ELSEWHERE if bundle == "bad" else image.digest
        _bundle(image, signers[bundle], pool, digest)
    if sig is not None:
        _sig(image, signer, ELSEWHERE if sig == "bad" else image.digest)

    first = verify(image, "--output", "json")
    audit = verify(image, "--output", "json", "--all")
    assert (first.code, audit.code) == (code, code), why(first) + why(audit)
    (one,) = first.json()["images"]
    (every,) = audit.json()["images"]
    assert one["status"] == every["status"]
    # the audit saw at least what the first pass saw; more only when something passed early
    assert len(every["signatures"]) >= len(one["signatures"])
    if code == 1:
        assert len(every["signatures"]) == len(one["signatures"])


def test_a_dual_format_image_costs_three_requests(
    fault_proxy: FaultProxy,
    repo: str,
    signer: KeylessSigner,
    capsys: pytest.CaptureFixture[str],
    github_oidc: GitHubOidc,
    sigstore_stack: SigstoreStack,
) -> None:
    """The fallback tag (no referrers API here), the bundle manifest, the bundle blob; plus the
    one referrers-API probe a client makes per registry."""
    images = []
    with Registries(insecure=[fault_proxy.host], env={}) as pool:
        for n in range(3):
            image = new_image(fault_proxy.registry, f"{repo}/{n}")
            _bundle(image, signer, pool, image.digest)
            _sig(image, signer, image.digest)
            images.append(image)
    fault_proxy.reset_log()
    argv = [
        *("verify", *(image.ref for image in images), "--insecure-registry", fault_proxy.host),
        *("--certificate-identity", github_oidc.san, "--certificate-oidc-issuer"),
        *(github_oidc.issuer, "--trusted-root", str(sigstore_stack.trusted_root)),
    ]
    run = run_cli(capsys, argv)
    assert run.code == 0, why(run)
    requests = fault_proxy.requests
    probes = [r for r in requests if "/referrers/" in r.path]
    assert len(probes) == 1
    assert len(requests) == 1 + 3 * 3, [f"{r.method} {r.path}" for r in requests]
    assert not [r for r in requests if r.path.endswith(".sig")]

"""shipsign verifies what real cosign signs: keyless with v3 (a bundle referrer) and v2 (the
legacy `.sig`, through Fulcio's v1 API), and with a cosign key pair (`--key`).

Every signature cosign writes is also saved as a generated interop case and judged by the
corpus's own offline judge, beside the real public-good cases in tests/interop/corpus.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.peers.referrers import bundle_referrers as _bundle_referrers
from integration.sign.helpers import push_image, run_cli
from interop.corpus import verify_case
from interop.generated import save_bundle_case, save_legacy_case
from stack.cosign import Cosign
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


def _verify_argv(
    oidc: GitHubOidc, stack: SigstoreStack, registry: Registry, *, identity: str | None = None
) -> list[str]:
    return [
        *("verify", "--certificate-identity", identity or oidc.san),
        *("--certificate-oidc-issuer", oidc.issuer),
        *("--trusted-root", str(stack.trusted_root)),
        *("--insecure-registry", registry.host, "--output", "json"),
    ]


@pytest.mark.parametrize("version", ["v3", "v2", "v2_sig_only"])
def test_shipsign_verifies_keyless_cosign_signatures(
    version: str,
    any_registry: Registry,
    repo: str,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    cosign: Cosign = request.getfixturevalue(f"cosign_{version}")
    digest = push_image([any_registry], repo)
    ref = f"{any_registry.host}/{repo}@{digest}"
    signed = cosign.sign_keyless(ref, token=github_oidc.mint(), sigstore_url=sigstore_stack.url)
    assert signed.ok, signed

    run = run_cli(capsys, summary, *_verify_argv(github_oidc, sigstore_stack, any_registry), ref)
    assert run.code == 0, run.out + run.err
    (image,) = run.json()["images"]
    passed = [s for s in image["signatures"] if s["verified"]]
    want = "bundle" if cosign.major >= 3 else "legacy"
    assert {s["format"] for s in passed} == {want}, image

    other = github_oidc.san.replace("release.yml", "other.yml")
    argv = _verify_argv(github_oidc, sigstore_stack, any_registry, identity=other)
    refused = run_cli(capsys, summary, *argv, ref)
    assert refused.code == 1, refused.out + refused.err

    # the same signatures, as generated interop cases judged offline
    identity = {"issuer": github_oidc.issuer, "san": github_oidc.san}
    source = f"generated: cosign {cosign.version} sign (keyless) on the local stack"
    if want == "bundle":
        (referrer,) = _bundle_referrers(any_registry, repo, digest)
        cases = [
            save_bundle_case(
                tmp_path,
                registry=any_registry,
                repo=repo,
                image_digest=digest,
                referrer_digest=referrer,
                trusted_root=sigstore_stack.trusted_root,
                source=source,
                identity=identity,
            )
        ]
    else:
        cases = save_legacy_case(
            tmp_path,
            registry=any_registry,
            repo=repo,
            image_digest=digest,
            trusted_root=sigstore_stack.trusted_root,
            source=source,
            identity=identity,
        )
    assert len(cases) == 1
    for case in cases:
        outcome = verify_case(case)
        assert outcome.passed, [f.check for f in outcome.failures]
        assert outcome.facts.identity == github_oidc.san
        assert outcome.facts.log_index is not None


def test_shipsign_verifies_cosign_key_signatures(
    any_registry: Registry,
    repo: str,
    sigstore_stack: SigstoreStack,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    cosign_v2: Cosign,
) -> None:
    key, pub = cosign_v2.generate_key_pair(tmp_path / "keys", password="correct horse")
    digest = push_image([any_registry], repo)
    ref = f"{any_registry.host}/{repo}@{digest}"
    signed = cosign_v2.sign_key(
        ref, key=key, password="correct horse", sigstore_url=sigstore_stack.url
    )
    assert signed.ok, signed

    argv = [
        *("verify", "--key", str(pub), "--trusted-root", str(sigstore_stack.trusted_root)),
        *("--insecure-registry", any_registry.host, "--output", "json"),
    ]
    run = run_cli(capsys, summary, *argv, ref)
    assert run.code == 0, run.out + run.err

    # another key refuses the same signature
    _, other = cosign_v2.generate_key_pair(tmp_path / "other", password="x")
    argv[argv.index(str(pub))] = str(other)
    refused = run_cli(capsys, summary, *argv, ref)
    assert refused.code == 1, refused.out + refused.err

    (case,) = save_legacy_case(
        tmp_path / "cases",
        registry=any_registry,
        repo=repo,
        image_digest=digest,
        trusted_root=sigstore_stack.trusted_root,
        source=f"generated: cosign {cosign_v2.version} sign --key on the local stack",
        key_pem=pub.read_bytes(),
    )
    outcome = verify_case(case)
    assert outcome.passed, [f.check for f in outcome.failures]
    assert outcome.facts.log_index is not None

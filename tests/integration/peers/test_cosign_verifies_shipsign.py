"""Real cosign accepts what shipsign writes: v3 and v2.6 read the bundle referrer (through the
referrers API where the registry has it, else through the fallback tag); the older v2.4 reads
only the `.sig` tag, so it accepts the legacy signature and must refuse a bundle-only image.

Each image is a two-platform index plus a single-platform image, signed in one `shipsign sign
--recursive` run, then checked digest by digest with each cosign version. The negative cases
(another identity, an image never signed) fail in every version, so the positives can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.peers.referrers import bundle_referrers as _bundle_referrers
from integration.sign.helpers import push_image, push_index, run_cli, sig_layers
from stack.cosign import Cosign
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

FORMATS = ("bundle", "legacy", "both")


def _sign(
    capsys: pytest.CaptureFixture[str],
    summary: Path,
    stack: SigstoreStack,
    registry: Registry,
    fmt: str,
    images: list[str],
) -> str:
    run = run_cli(
        capsys,
        summary,
        *("sign", "--trust-config", str(stack.trust_config), "--recursive"),
        *("--format", fmt, "--insecure-registry", registry.host),
        *images,
    )
    assert run.code == 0, run.out + run.err
    return run.out


@pytest.mark.parametrize("fmt", FORMATS)
def test_cosign_verifies_every_digest_shipsign_signed(
    any_registry: Registry,
    fmt: str,
    repo: str,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    github_actions_env: dict[str, str],
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    cosign_v3: Cosign,
    cosign_v2: Cosign,
    cosign_v2_sig_only: Cosign,
) -> None:
    index = push_index([any_registry], repo)
    single = push_image([any_registry], f"{repo}-single")
    name = f"{any_registry.host}/{repo}"
    refs = [f"{name}@{d}" for d in index.all] + [f"{name}-single@{single}"]
    out = _sign(capsys, summary, sigstore_stack, any_registry, fmt, [refs[0], refs[-1]])
    # sign's "who can verify" matrix says what the real cosigns below then do
    old_cosign = "cosign before v2.6.3: reads .sig only"
    assert f"{'✘' if fmt == 'bundle' else '✔'} {old_cosign}" in out, out
    assert "✔ cosign v3, v2.6.3 and later: reads bundle referrer and .sig" in out, out

    for cosign in (cosign_v3, cosign_v2, cosign_v2_sig_only):
        must_pass = fmt != "bundle" or cosign.reads_bundles
        for ref in refs:
            run = cosign.verify(ref, identity=github_oidc.san, issuer=github_oidc.issuer)
            assert run.ok is must_pass, run
            if must_pass:
                assert ref.split("@")[1] in run.out, run
    # a wrong identity fails in every version, with what cosign found
    other = github_oidc.san.replace("release.yml", "other.yml")
    for cosign in (cosign_v3, cosign_v2, cosign_v2_sig_only):
        run = cosign.verify(refs[0], identity=other, issuer=github_oidc.issuer)
        assert not run.ok, run
        if fmt != "bundle" or cosign.reads_bundles:  # found a signature, refused its signer
            assert "no matching" in run.err, run


def test_cosign_refuses_an_image_never_signed(
    any_registry: Registry,
    repo: str,
    github_oidc: GitHubOidc,
    cosign_v3: Cosign,
    cosign_v2: Cosign,
    cosign_v2_sig_only: Cosign,
) -> None:
    digest = push_image([any_registry], repo)
    ref = f"{any_registry.host}/{repo}@{digest}"
    for cosign in (cosign_v3, cosign_v2, cosign_v2_sig_only):
        run = cosign.verify(ref, identity=github_oidc.san, issuer=github_oidc.issuer)
        assert not run.ok, run
        assert "no signatures found" in run.err.lower() or "no matching" in run.err.lower(), run


def test_cosign_tree_lists_what_shipsign_attached(
    any_registry: Registry,
    repo: str,
    sigstore_stack: SigstoreStack,
    github_actions_env: dict[str, str],
    summary: Path,
    capsys: pytest.CaptureFixture[str],
    cosign_v3: Cosign,
) -> None:
    digest = push_image([any_registry], repo)
    ref = f"{any_registry.host}/{repo}@{digest}"
    _sign(capsys, summary, sigstore_stack, any_registry, "both", [ref])
    (layer,) = sig_layers(any_registry, repo, digest)
    (referrer,) = _bundle_referrers(any_registry, repo, digest)

    tree = cosign_v3.tree(ref)
    assert tree.ok, tree
    assert f"{any_registry.host}/{repo}:{digest.replace(':', '-')}.sig" in tree.out, tree
    assert layer["digest"] in tree.out, tree
    name = ref.split("@")[0]
    assert f"sign/v1 artifacts via OCI referrer: {name}@{referrer}" in tree.out, tree

"""Where `sign_images` gets its identity token: a source it calls for the first token and again
when a new certificate needs a fresh one (the Action's way), or an explicit token that is used
as given and never renewed (`--identity-token`)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from integration.sign.helpers import assert_no_secrets, push_image, run_cli, sig_layers
from shipsign.errors import InputError
from shipsign.keyless.trust import TrustOptions
from shipsign.oci import StaticKeychain
from shipsign.secret import Secret
from shipsign.sign import SignFormat, SignRequest, SignStatus, sign_images
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

CERT = "POST /api/v2/signingCert"


def request(image: str, registry: Registry, stack: SigstoreStack) -> SignRequest:
    return SignRequest(
        images=(image,),
        format=SignFormat.LEGACY,
        trust=TrustOptions(trust_config=stack.trust_config),
        insecure_registries=(registry.host,),
        keychain=StaticKeychain({}),
    )


def test_the_token_source_gives_the_first_token_and_a_fresh_one_for_the_certificate(
    registry: Registry, repo: str, stack: SigstoreStack, github_oidc: GitHubOidc
) -> None:
    image = f"{registry.host}/{repo}@{push_image([registry], repo)}"
    given: list[str] = []

    def source() -> Secret:
        # The first token is about to expire (as in a long run): the certificate needs another.
        given.append(
            github_oidc.mint(exp=int(time.time()) + 5) if not given else github_oidc.mint()
        )
        return Secret(given[-1])

    report = sign_images(replace(request(image, registry, stack), identity_token_source=source))
    assert report.ok, report.failures()
    assert len(given) == 2  # the first token, then a fresh one for the certificate
    assert stack.requests(CERT) == 1  # made with the fresh token: the first would not do
    assert report.identity == github_oidc.san
    [result] = report.results
    assert result.status is SignStatus.SIGNED
    assert len(sig_layers(registry, repo, image.split("@")[1])) == 1


def test_an_explicit_token_is_never_renewed(
    registry: Registry, repo: str, stack: SigstoreStack, github_oidc: GitHubOidc
) -> None:
    image = f"{registry.host}/{repo}@{push_image([registry], repo)}"
    short = Secret(github_oidc.mint(exp=int(time.time()) + 5))
    with pytest.raises(InputError, match="identity token has expired"):
        sign_images(replace(request(image, registry, stack), identity_token=short))
    assert stack.requests(CERT) == 0


def test_identity_token_from_a_file(
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--identity-token FILE` reads the token from the file (as cosign's flag does), so that it
    need not stand on a command line other processes can read."""
    image = f"{registry.host}/{repo}@{push_image([registry], repo)}"
    path = tmp_path / "oidc-token"
    path.write_text(token + "\n")
    base = ["sign", "--trust-config", str(stack.trust_config), "--insecure-registry", registry.host]
    run = run_cli(capsys, summary, *base, "--format", "legacy", "--no-verify", "--identity-token",
                  str(path), image)  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert_no_secrets(run, token)
    assert len(sig_layers(registry, repo, image.split("@")[1])) == 1
    missing = run_cli(capsys, summary, *base, "--identity-token", str(tmp_path / "nope"), image)
    assert missing.code == 2
    assert "cannot read the identity token file" in missing.err
    assert str(tmp_path / "nope") in missing.err

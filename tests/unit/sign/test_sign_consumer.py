"""The consumer commands printed after signing."""

from __future__ import annotations

import shlex
from pathlib import Path

from shipsign.keyless.trust import Instance, TrustOptions
from shipsign.oci import Digest
from shipsign.sign import ImageTarget
from shipsign.sign.consumer import verify_commands

DIGEST = Digest.of(b"x")
ID = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
ISS = "https://token.actions.githubusercontent.com"


def target(repo: str, digest: Digest | None = DIGEST) -> ImageTarget:
    return ImageTarget(input=f"{repo}:v1", repository=repo, digest=digest)


def test_public_instance_commands_pin_identity_and_digest() -> None:
    shipsign, cosign = verify_commands(
        [
            target("ghcr.io/acme/app"),
            target("index.docker.io/acme/app"),
            target("ghcr.io/acme/app"),
        ],
        identity=ID,
        issuer=ISS,
        trust=TrustOptions(),
        recursive=False,
    )
    images = [f"ghcr.io/acme/app@{DIGEST}", f"index.docker.io/acme/app@{DIGEST}"]
    assert shlex.split(shipsign) == [
        *("shipsign", "verify", "--certificate-identity", ID, "--certificate-oidc-issuer", ISS),
        *images,
    ]
    assert shlex.split(cosign) == [
        *("cosign", "verify", "--certificate-identity", ID, "--certificate-oidc-issuer", ISS),
        *images,
    ]


def test_private_instance_recursive_and_plain_http() -> None:
    shipsign, cosign = verify_commands(
        [target("127.0.0.1:5000/a b"), target("127.0.0.1:5001/x", digest=None)],
        identity=ID,
        issuer=ISS,
        trust=TrustOptions(trust_config=Path("/tmp/my trust.json")),
        recursive=True,
        insecure_registries=["127.0.0.1:5000"],
    )
    args = shlex.split(shipsign)
    assert args[args.index("--trust-config") + 1] == "/tmp/my trust.json"
    assert "--recursive" in args
    assert args[-1] == f"127.0.0.1:5000/a b@{DIGEST}"  # quoted, and unresolved inputs left out
    assert "--allow-http-registry" in shlex.split(cosign)
    staging = verify_commands(
        [target("r/a")], identity=ID, issuer=ISS,
        trust=TrustOptions(instance=Instance.STAGING), recursive=False,
    )  # fmt: skip
    assert "--staging" in shlex.split(staging[0])
    assert verify_commands([], identity=ID, issuer=ISS, trust=TrustOptions(), recursive=False) == ()


def test_only_the_insecure_registries_of_listed_images_are_named() -> None:
    shipsign, _ = verify_commands(
        [target("127.0.0.1:5000/a"), target("127.0.0.1:6000/b", digest=None), target("h/c")],
        identity=ID,
        issuer=ISS,
        trust=TrustOptions(),
        recursive=False,
        insecure_registries=["127.0.0.1:5000", "127.0.0.1:6000", "h", "unused.example"],
    )
    args = shlex.split(shipsign)
    named = [args[n + 1] for n, a in enumerate(args) if a == "--insecure-registry"]
    assert named == ["127.0.0.1:5000", "h"]

"""Limits of what `shipsign verify` reads and checks: at most cosign's 1000 `.sig` layers are
fetched, and a bundle found for an image named by a sha512 digest is a failed check, not an
error that stops the whole run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from integration.verify.signed_images import (
    new_image,
    push_bundle_referrer,
    sign_bundle,
    sign_legacy,
    verify_on_stack,
    why,
)
from shipsign.formats.legacy_sig import SIMPLE_SIGNING_MEDIA_TYPE, encode_annotations
from shipsign.formats.sig_manifest import MAX_SIGNATURES
from shipsign.keyless.policy import IdentityPolicy
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions
from shipsign.oci import Descriptor, Digest, Registries, StaticKeychain
from shipsign.oci.media import OCI_MANIFEST
from shipsign.oci.transport import Reply
from shipsign.verify import ImageStatus, SourceFormat, VerifyRequest, verify_images
from stack.fault_proxy import FaultProxy
from stack.raw_registry import OCI_CONFIG, RawClient, sha256
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack


class _Requests:
    """A response hook that counts requests by method and kind of path."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, reply: Reply) -> None:
        kind = "blob" if "/blobs/" in urlsplit(reply.url).path else "other"
        self.seen[f"{reply.method} {kind}"] += 1


@pytest.fixture
def counted(registry: Registry) -> Iterator[tuple[Registries, _Requests]]:
    hook = _Requests()
    pool = Registries(
        keychain=StaticKeychain({}), insecure=[registry.host], env={}, response_hook=hook
    )
    with pool:
        yield pool, hook


def test_no_more_than_cosigns_limit_of_sig_layers_is_fetched(
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    counted: tuple[Registries, _Requests],
) -> None:
    image = new_image(registry, repo)
    raw = RawClient(registry, repo)
    junk = b'{"not": "a simple-signing payload"}'
    raw.push_blob(junk)
    valid = sign_legacy(signer, image.repository, image.digest)
    raw.push_blob(valid.payload)
    config = b"{}"
    raw.push_blob(config)

    def layer(payload: bytes, annotations: dict[str, str]) -> dict[str, Any]:
        return {
            "mediaType": SIMPLE_SIGNING_MEDIA_TYPE,
            "digest": sha256(payload),
            "size": len(payload),
            "annotations": annotations,
        }

    # 1000 layers that fail, then one that verifies: past the limit, so never fetched.
    layers = [layer(junk, {})] * MAX_SIGNATURES + [layer(valid.payload, encode_annotations(valid))]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": layers,
    }
    raw.push_manifest(f"{image.digest.tag_form}.sig", json.dumps(manifest).encode())

    pool, hook = counted
    request = VerifyRequest(
        images=(image.ref,),
        policy=IdentityPolicy.exact(identity=github_oidc.san, issuer=github_oidc.issuer),
        trust=TrustOptions(trusted_root=sigstore_stack.trusted_root),
        format=SourceFormat.LEGACY,
    )
    (result,) = verify_images(request, registries=pool).images
    assert hook.seen["GET blob"] == MAX_SIGNATURES
    assert result.status is ImageStatus.FAILED
    assert len(result.signatures) == MAX_SIGNATURES + 1
    excess = result.signatures[-1]
    (failure,) = excess.outcome.failures
    assert failure.expected == "at most 1000 signature layers (cosign's limit)"
    assert failure.found == "1001 layers; the last 1 were not fetched or checked"
    assert excess.location.endswith(".sig layers 1000-1000")


def test_a_bundle_for_a_sha512_image_digest_is_a_failed_check(
    fault_proxy: FaultProxy,
    repo: str,
    signer: KeylessSigner,
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fault_proxy.serve_referrers = True  # lists referrers by any subject digest
    image = new_image(fault_proxy.registry, repo)
    digest = Digest.of(image.manifest, "sha512")
    subject = Descriptor(media_type=OCI_MANIFEST, digest=digest, size=len(image.manifest))
    bundle = sign_bundle(signer, image.repository, image.digest)
    push_bundle_referrer(image.raw, subject, bundle)
    run = verify_on_stack(
        capsys,
        f"{image.repository}@{digest}",
        github_oidc,
        sigstore_stack,
        "--format",
        "bundle",
        "--output",
        "json",
    )
    assert run.code == 1, why(run)  # found but not verified; not exit 2 for the whole run
    (image_doc,) = run.json()["images"]
    assert image_doc["status"] == "failed"
    (failure,) = run.failures()
    assert failure["check"] == "artifact_digest"
    assert failure["found"].startswith(f"sha512 image digest {digest}")

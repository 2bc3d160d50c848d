"""`shipsign tree` says what a referrer's own entry declares it is (`shipsign.signatures`):
an attestation or something that is not a Sigstore bundle, never "a signature" by label alone."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from integration.referrer_writes import add_referrer
from shipsign.cli import main
from shipsign.formats.bundle_ref import COSIGN_SIGN_PREDICATE, build_bundle_artifact
from shipsign.oci import (
    Descriptor,
    Digest,
    Registries,
    Repository,
    StaticKeychain,
    build_manifest,
    referrer_descriptor,
)
from shipsign.oci.media import OCI_CONFIG
from stack.registry import Registry

SLSA = "https://slsa.dev/provenance/v1"


def test_tree_names_attestations_and_other_referrers(
    registry: Registry, repo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = Registries(keychain=StaticKeychain({}), insecure=[registry.host], env={})
    client = pool.client(registry.host)
    repository = Repository(registry.host, repo)
    config = b'{"os":"linux"}'
    client.push_blob(repository, config)
    image = build_manifest(
        config=Descriptor(media_type=OCI_CONFIG, digest=Digest.of(config), size=len(config)),
        layers=[],
    )
    client.push_manifest(repository, image, tag="v1")
    subject = Descriptor(media_type=image.media_type, digest=image.digest, size=len(image.raw))
    kinds = {}
    for predicate in (SLSA, COSIGN_SIGN_PREDICATE):
        artifact = build_bundle_artifact(
            f'{{"predicate":"{predicate}"}}'.encode(),
            subject=subject,
            created=datetime.now(timezone.utc),
            predicate_type=predicate,
        )
        for _, data in artifact.blobs:
            client.push_blob(repository, data)
        client.push_manifest(repository, artifact.manifest)
        add_referrer(client, repository, image.digest, referrer_descriptor(artifact.manifest))
        kinds[str(artifact.manifest.digest)] = predicate
    spdx = b'{"spdxVersion":"SPDX-2.3"}'
    client.push_blob(repository, spdx)
    sbom = build_manifest(
        config=Descriptor(media_type=OCI_CONFIG, digest=Digest.of(config), size=len(config)),
        layers=[Descriptor(media_type="text/spdx+json", digest=Digest.of(spdx), size=len(spdx))],
        subject=subject,
        artifact_type="text/spdx",
    )
    client.push_manifest(repository, sbom)
    add_referrer(client, repository, image.digest, referrer_descriptor(sbom))

    ref = f"{registry.host}/{repo}@{image.digest}"
    assert main(["tree", "--insecure-registry", registry.host, "--output", "json", ref]) == 0
    listed = json.loads(capsys.readouterr().out)["referrers"]["manifests"]
    got = {m["digest"]: m["kind"] for m in listed}
    assert got == {
        next(d for d, p in kinds.items() if p == SLSA): "attestation",
        # declared a signature: only its content could prove it, and tree fetches none
        next(d for d, p in kinds.items() if p == COSIGN_SIGN_PREDICATE): None,
        str(sbom.digest): "other",
    }
    assert main(["tree", "--insecure-registry", registry.host, ref]) == 0
    text = capsys.readouterr().out
    assert text.count("kind: attestation (not an image signature)") == 1
    assert text.count("kind: other (not an image signature)") == 1

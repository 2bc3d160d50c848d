"""An attestation is not a signature of the image (issue 11).

Bundles made by sigstore-python on the local Sigstore stack, by the very identity the policy
names: DSSE over an in-toto statement with a SLSA provenance predicate, attached as a bundle
referrer. An image that has only that is unsigned (exit 1) and the report names what was found;
with a signature beside it, the image passes on the signature and the attestation is reported,
never counted. The referrer's annotation is a label anyone may write: the statement decides.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

import pytest

from integration.referrer_writes import add_referrer
from integration.verify.signed_images import (
    CliRun,
    Image,
    Verify,
    new_image,
    sign_image,
    subject_of,
    why,
)
from shipsign.formats.bundle_ref import (
    ANNOTATION_PREDICATE,
    COSIGN_SIGN_PREDICATE,
    build_bundle_artifact,
)
from shipsign.keyless.signing import KeylessSigner
from shipsign.oci import Registries, Repository
from shipsign.oci.media import referrer_descriptor
from stack.registry import Registry

SLSA = "https://slsa.dev/provenance/v1"
NOT_COUNTED = "an attestation is not a signature of the image, so it is not counted"


def _provenance(image: Image) -> bytes:
    """A SLSA provenance statement about `image` (a subject `name`, for sigstore-python)."""
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": image.repository, "digest": {"sha256": image.digest.hex}}],
        "predicateType": SLSA,
        "predicate": {"buildDefinition": {"buildType": "https://example.com/build/v1"}},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def _attest(image: Image, signer: KeylessSigner, pool: Registries, *, label: str | None) -> None:
    """Sign SLSA provenance for `image` and attach it as a bundle referrer whose index entry
    declares `label` as its predicate type (None: no such annotation, as older writers do)."""
    bundle = signer.sign_statement(_provenance(image))
    artifact = build_bundle_artifact(
        bundle,
        subject=subject_of(image.manifest),
        created=datetime.now(timezone.utc),
        predicate_type=label or SLSA,
    )
    for _, data in artifact.blobs:
        image.raw.push_blob(data)
    image.raw.push_manifest(str(artifact.manifest.digest), artifact.manifest.raw)
    entry = referrer_descriptor(artifact.manifest)
    if label is None:
        annotations = {k: v for k, v in entry.annotations.items() if "predicateType" not in k}
        entry = dataclasses.replace(entry, annotations=annotations)
    repo = Repository.parse(image.repository)
    add_referrer(pool.client(repo.registry), repo, image.digest, entry)


def _index_order(image: Image) -> list[str]:
    """The predicate types of the referrers tag's entries, in the order the index lists them."""
    index = json.loads(image.raw.get_manifest(image.digest.tag_form).content)
    return [m["annotations"].get(ANNOTATION_PREDICATE, "") for m in index["manifests"]]


def _listed_after(image: Image, later: str, earlier: str) -> bool:
    order = _index_order(image)
    return order.index(later) > order.index(earlier)


def _image(run: CliRun) -> dict[str, object]:
    (image,) = run.json()["images"]
    assert isinstance(image, dict)
    return image


@pytest.mark.parametrize(
    "label",
    [SLSA, COSIGN_SIGN_PREDICATE, None],
    ids=["declared-slsa", "mislabelled-as-signature", "no-label"],
)
@pytest.mark.parametrize("audit", [False, True], ids=["first-pass", "all"])
def test_an_image_with_only_an_attestation_is_unsigned(
    label: str | None,
    audit: bool,
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    pool: Registries,
    verify: Verify,
) -> None:
    image = new_image(registry, repo)
    _attest(image, signer, pool, label=label)
    run = verify(image, "--output", "json", *(["--all"] if audit else []))
    assert run.code == 1, why(run)
    found = _image(run)
    assert found["status"] == "unsigned", why(run)
    assert found["signatures"] == []
    notes = found["notes"]
    assert isinstance(notes, list)
    (note,) = notes
    assert note.startswith(f"found instead: an in-toto attestation (predicate {SLSA}) at "), note
    assert NOT_COUNTED in note
    text = verify(image, *(["--all"] if audit else []))
    assert text.code == 1, why(text)
    assert "unsigned" in text.out + text.err
    assert f"an in-toto attestation (predicate {SLSA})" in text.out + text.err


@pytest.mark.parametrize("fmt", ["bundle", "legacy"])
@pytest.mark.parametrize("audit", [False, True], ids=["first-pass", "all"])
def test_a_signature_beside_an_attestation_passes_and_the_attestation_is_reported(
    fmt: str,
    audit: bool,
    registry: Registry,
    repo: str,
    signer: KeylessSigner,
    pool: Registries,
    verify: Verify,
) -> None:
    image = new_image(registry, repo)
    _attest(image, signer, pool, label=SLSA)
    sign_image(image, signer, fmt, pool)
    run = verify(image, "--output", "json", *(["--all"] if audit else []))
    assert run.code == 0, why(run)
    found = _image(run)
    assert found["status"] == "verified"
    signatures = found["signatures"]
    assert isinstance(signatures, list)
    assert [s["format"] for s in signatures] == [fmt]  # the attestation is not among them
    notes = found["notes"]
    assert isinstance(notes, list)
    # The fallback index lists referrers sorted by digest (as ggcr writes it), so a first pass
    # over bundles stops at the signature and reads the attestation only when it sorts first.
    if fmt == "bundle" and not audit and _listed_after(image, SLSA, COSIGN_SIGN_PREDICATE):
        assert notes == []
        return
    (note,) = notes
    assert note.startswith(f"also found an in-toto attestation (predicate {SLSA}) at "), note
    assert NOT_COUNTED in note


def test_an_attestation_from_another_identity_beside_none_is_still_unsigned(
    registry: Registry, repo: str, signer: KeylessSigner, pool: Registries, verify: Verify
) -> None:
    # Asked for another identity, the attestation is still sorted before any identity check:
    # not a failed signature (exit 1 "failed") but no signature at all.
    image = new_image(registry, repo)
    _attest(image, signer, pool, label=None)
    run = verify(
        image,
        "--output",
        "json",
        "--certificate-identity",
        "https://github.com/someone/else/.github/workflows/x.yml@refs/heads/main",
        "--certificate-oidc-issuer",
        "https://token.actions.githubusercontent.com",
        identity=False,
    )
    assert run.code == 1, why(run)
    assert _image(run)["status"] == "unsigned"

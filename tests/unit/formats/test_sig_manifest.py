"""The `.sig` image: config and manifest bytes as cosign (go-containerregistry) writes them.

The corpus holds real `.sig` manifests (jq-reformatted, so their own digest is lost, but the
config digests inside them are cosign's): rebuilding the config must give the same digest.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from interop.corpus import load_case
from shipsign.errors import InputError
from shipsign.formats.legacy_sig import decode_legacy_signature
from shipsign.formats.sig_manifest import (
    DOCKER_CONFIG,
    MAX_SIGNATURES,
    build_signature_image,
    encode_config,
)
from shipsign.legacy_signature import LegacySignature
from shipsign.oci.media import DOCKER_MANIFEST, Manifest, decode_manifest

ZERO = "0001-01-01T00:00:00Z"


def _real(name: str) -> tuple[dict[str, object], list[LegacySignature]]:
    case = load_case(name)
    manifest = json.loads(case.text("sig-manifest.pretty.json"))
    payload = case.read("payload.json")
    layers = manifest["layers"]
    assert isinstance(layers, list)
    return manifest, [decode_legacy_signature(payload, layer["annotations"]) for layer in layers]


def _as_manifest(image_bytes: bytes) -> Manifest:
    decoded = decode_manifest(image_bytes)
    assert isinstance(decoded, Manifest)
    return decoded


def test_rebuilt_sig_image_matches_cosigns() -> None:
    real, signatures = _real("legacy-doc-salrashid-gha-2026")
    image = build_signature_image(signatures)
    assert json.loads(image.manifest.raw) == real  # same content, now in Go's compact bytes
    assert str(image.manifest.digest) == "sha256:" + hashlib.sha256(image.manifest.raw).hexdigest()
    config = real["config"]
    assert isinstance(config, dict)
    assert ("sha256:" + hashlib.sha256(image.config).hexdigest(), len(image.config)) == (
        config["digest"],
        config["size"],
    )


def test_rebuilt_two_signature_layers_match_cosigns() -> None:
    # The config of this image is 352 bytes where ours is 342: ten more than an all-zero-time
    # config, i.e. one timestamp was recorded (--record-creation-timestamp); only the layers are
    # comparable.
    real, signatures = _real("legacy-doc-salrashid-cloudbuild-gsa")
    image = build_signature_image(signatures)
    assert json.loads(image.manifest.raw)["layers"] == real["layers"]
    assert len(image.config) == 342


def test_one_signature_config_and_manifest_bytes() -> None:
    _, (signature, *_) = _real("legacy-doc-salrashid-gha-2026")
    image = build_signature_image([signature])
    digest = "sha256:" + hashlib.sha256(signature.payload).hexdigest()
    assert (
        image.config
        == (
            f'{{"architecture":"","created":"{ZERO}","history":[{{"created":"{ZERO}"}}],"os":"",'
            f'"rootfs":{{"type":"layers","diff_ids":["{digest}"]}},"config":{{}}}}'
        ).encode()
    )
    assert len(image.config) == 233
    raw = image.manifest.raw.decode()
    assert raw.startswith(
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":'
        '{"mediaType":"application/vnd.oci.image.config.v1+json","size":233,"digest":"sha256:'
    )
    assert (
        f'"layers":[{{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json",'
        f'"size":{len(signature.payload)},"digest":"{digest}","annotations":{{'
        '"dev.cosignproject.cosign/signature":'
    ) in raw
    assert raw.index("cosign/bundle") < raw.index("cosign/certificate") < raw.index("cosign/chain")
    assert [d for d, _ in image.blobs] == [
        image.manifest.config.digest,
        image.manifest.layers[0].digest,
    ]


def test_appending_gives_what_one_build_gives() -> None:
    _, (first, second) = _real("legacy-doc-salrashid-cloudbuild-gsa")
    base = build_signature_image([first])
    appended = build_signature_image([second], base=base.manifest, base_config=base.config)
    assert appended.manifest.raw == build_signature_image([first, second]).manifest.raw
    assert appended.manifest.layers[0] == base.manifest.layers[0]
    assert len(appended.blobs) == 2  # the new config and the new payload only


def test_existing_media_types_and_fields_are_kept() -> None:
    _, (signature, *_) = _real("legacy-doc-salrashid-gha-2026")
    base = build_signature_image([signature], docker_media_types=True)
    assert base.manifest.media_type == DOCKER_MANIFEST
    assert base.manifest.config.media_type == DOCKER_CONFIG
    foreign = json.loads(base.config)
    foreign["config"] = {"Labels": {"b": "2", "a": "1"}, "Unknown": 1, "Env": []}
    foreign["author"] = "someone"
    foreign["os.version"] = ""
    raw_config = json.dumps(foreign).encode()
    doc = json.loads(base.manifest.raw)
    doc["config"]["digest"] = "sha256:" + hashlib.sha256(raw_config).hexdigest()
    doc["config"]["size"] = len(raw_config)
    doc["annotations"] = {"org.example": "kept"}
    manifest = _as_manifest(json.dumps(doc).encode())
    image = build_signature_image([signature], base=manifest, base_config=raw_config)
    assert image.manifest.media_type == DOCKER_MANIFEST
    assert image.manifest.config.media_type == DOCKER_CONFIG
    assert dict(image.manifest.annotations) == {"org.example": "kept"}
    assert image.config.startswith(b'{"architecture":"","author":"someone","created":')
    assert image.config.endswith(b'"config":{"Labels":{"a":"1","b":"2"}}}')
    assert json.loads(image.config)["history"] == [{"created": ZERO}] * 2


def test_appending_keeps_what_we_do_not_model_of_existing_layers() -> None:
    _, (first, second) = _real("legacy-doc-salrashid-cloudbuild-gsa")
    base = build_signature_image([first])
    doc = json.loads(base.manifest.raw)
    doc["layers"][0]["urls"] = ["https://mirror.example/blob"]
    doc["layers"][0]["data"] = "e30="
    doc["config"]["annotations"] = {"org.example.config": "kept"}
    doc["org.example.future"] = {"kept": True}
    manifest = _as_manifest(json.dumps(doc).encode())
    image = build_signature_image([second], base=manifest, base_config=base.config)
    out = json.loads(image.manifest.raw)
    assert out["layers"][0] == doc["layers"][0]  # someone else's signature layer, untouched
    assert out["org.example.future"] == {"kept": True}
    assert out["config"]["annotations"] == {"org.example.config": "kept"}
    assert (out["config"]["digest"], out["config"]["size"]) == (
        "sha256:" + hashlib.sha256(image.config).hexdigest(),
        len(image.config),
    )
    assert [layer["digest"] for layer in out["layers"]] == [
        "sha256:" + hashlib.sha256(sig.payload).hexdigest() for sig in (first, second)
    ]


def test_base_config_must_match_its_descriptor() -> None:
    _, (signature, *_) = _real("legacy-doc-salrashid-gha-2026")
    base = build_signature_image([signature])
    with pytest.raises(InputError, match="does not match"):
        build_signature_image([signature], base=base.manifest, base_config=base.config + b" ")
    with pytest.raises(InputError):
        build_signature_image([signature], base=base.manifest)


def test_at_most_a_thousand_signatures() -> None:
    _, (signature, *_) = _real("legacy-doc-salrashid-gha-2026")
    assert (
        len(build_signature_image([signature] * MAX_SIGNATURES).manifest.layers) == MAX_SIGNATURES
    )
    with pytest.raises(InputError, match="too many"):
        build_signature_image([signature] * (MAX_SIGNATURES + 1))


def test_config_encoding_drops_unknown_and_empty_fields() -> None:
    assert (
        encode_config({"x": 1, "variant": "", "rootfs": {"type": "layers"}})
        == (
            f'{{"architecture":"","created":"{ZERO}","os":"","rootfs":{{"type":"layers","diff_ids":null}},'
            '"config":{}}'
        ).encode()
    )

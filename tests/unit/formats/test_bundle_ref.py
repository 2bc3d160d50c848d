"""The bundle-as-referrer manifest, byte for byte (formats.md §3.3)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from shipsign.errors import InputError
from shipsign.formats.bundle_ref import (
    BUNDLE_MEDIA_TYPE,
    build_bundle_artifact,
    bundle_layer,
    is_bundle_referrer,
)
from shipsign.oci.media import OCI_EMPTY, OCI_INDEX, Descriptor, build_index, decode_manifest
from shipsign.oci.reference import Digest

SUBJECT = Descriptor(media_type=OCI_INDEX, digest=Digest.of(b"image index"), size=1609)
BUNDLE = b'{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}'


def test_manifest_bytes_follow_cosigns_layout() -> None:
    created = datetime(2026, 1, 15, 10, 20, 30, 999_999, tzinfo=timezone.utc)
    art = build_bundle_artifact(BUNDLE, subject=SUBJECT, created=created)
    bundle_digest = "sha256:" + hashlib.sha256(BUNDLE).hexdigest()
    expected = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        '"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,'
        '"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},'
        '"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",'
        f'"size":{len(BUNDLE)},"digest":"{bundle_digest}"}}],'
        '"annotations":{"dev.sigstore.bundle.content":"dsse-envelope",'
        '"dev.sigstore.bundle.predicateType":"https://sigstore.dev/cosign/sign/v1",'
        '"org.opencontainers.image.created":"2026-01-15T10:20:30Z"},'
        '"subject":{"mediaType":"application/vnd.oci.image.index.v1+json","size":1609,'
        f'"digest":"{SUBJECT.digest}"}},'
        '"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}'
    )
    assert art.manifest.raw.decode() == expected
    assert str(art.manifest.digest) == "sha256:" + hashlib.sha256(expected.encode()).hexdigest()
    assert dict(art.blobs) == {Digest.of(b"{}"): b"{}", Digest.parse(bundle_digest): BUNDLE}


def test_created_is_written_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    art = build_bundle_artifact(
        BUNDLE, subject=SUBJECT, created=datetime(2026, 1, 15, 12, 20, 30, tzinfo=plus_two)
    )
    doc = json.loads(art.manifest.raw)
    assert doc["annotations"]["org.opencontainers.image.created"] == "2026-01-15T10:20:30Z"


def test_naive_time_is_refused() -> None:
    with pytest.raises(InputError):
        build_bundle_artifact(BUNDLE, subject=SUBJECT, created=datetime(2026, 1, 15))


def test_bundle_layer_found_and_round_trips() -> None:
    art = build_bundle_artifact(BUNDLE, subject=SUBJECT, created=datetime.now(timezone.utc))
    decoded = decode_manifest(art.manifest.raw)
    layer = bundle_layer(decoded)
    assert layer is not None
    assert layer.digest == Digest.of(BUNDLE)


def test_not_a_bundle() -> None:
    index = build_index([SUBJECT])
    assert bundle_layer(index) is None
    assert is_bundle_referrer(Descriptor(media_type="x", digest=SUBJECT.digest, size=1))
    assert is_bundle_referrer(
        Descriptor(media_type="x", digest=SUBJECT.digest, size=1, artifact_type=BUNDLE_MEDIA_TYPE)
    )
    assert is_bundle_referrer(
        Descriptor(media_type="x", digest=SUBJECT.digest, size=1, artifact_type=OCI_EMPTY)
    )
    assert not is_bundle_referrer(
        Descriptor(
            media_type="x", digest=SUBJECT.digest, size=1, artifact_type="application/spdx+json"
        )
    )

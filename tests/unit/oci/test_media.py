"""Manifests and indexes decode and encode with their exact bytes; the fallback merge loses
nothing and is idempotent."""

from __future__ import annotations

import contextlib
import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interop.corpus import CORPUS
from shipsign.errors import InputError
from shipsign.oci.media import (
    DOCKER_MANIFEST,
    EMPTY_JSON,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Index,
    Manifest,
    Platform,
    build_index,
    build_manifest,
    decode_manifest,
    encode_json,
    merge_index,
    referrer_descriptor,
)
from shipsign.oci.reference import Digest

INTEROP = CORPUS
EMPTY = Descriptor(media_type=OCI_EMPTY, digest=Digest.of(EMPTY_JSON), size=2)
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def _layer(data: bytes, media_type: str = "text/plain") -> Descriptor:
    return Descriptor(media_type=media_type, digest=Digest.of(data), size=len(data))


def test_decode_keeps_exact_bytes_of_a_pretty_printed_docker_manifest() -> None:
    raw = (INTEROP / "legacy-ci-fulcio-rekor-prod" / "image-manifest.json").read_bytes()
    manifest = decode_manifest(raw, "application/octet-stream")
    assert isinstance(manifest, Manifest)
    assert manifest.raw == raw
    assert str(manifest.digest) == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert manifest.media_type == DOCKER_MANIFEST  # the document's own mediaType wins
    assert manifest.descriptor.size == len(raw)


def test_build_manifest_writes_cosigns_bundle_layout_byte_for_byte() -> None:
    # formats.md §3.3: ggcr's field order, config artifactType quirk aside.
    bundle = b'{"mediaType":"x"}'
    subject = Descriptor(media_type=OCI_INDEX, digest=Digest.of(b"img"), size=1609)
    built = build_manifest(
        config=EMPTY,
        layers=[_layer(bundle, BUNDLE)],
        annotations={"dev.sigstore.bundle.predicateType": "p", "dev.sigstore.bundle.content": "c"},
        subject=subject,
        artifact_type=BUNDLE,
    )
    expected = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        '"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,'
        f'"digest":"{EMPTY.digest}"}},"layers":[{{"mediaType":"{BUNDLE}","size":{len(bundle)},'
        f'"digest":"{Digest.of(bundle)}"}}],"annotations":{{"dev.sigstore.bundle.content":"c",'
        '"dev.sigstore.bundle.predicateType":"p"},"subject":{"mediaType":'
        f'"{OCI_INDEX}","size":1609,"digest":"{subject.digest}"}},"artifactType":"{BUNDLE}"}}'
    )
    assert built.raw == expected.encode()
    assert built.digest == Digest.of(built.raw)
    assert decode_manifest(built.raw) == built


def test_encode_json_escapes_like_go() -> None:
    assert (
        encode_json({"a": "<&>", "b": "é\u2028"})
        == b'{"a":"\\u003c\\u0026\\u003e","b":"\xc3\xa9\\u2028"}'
    )


def test_referrer_descriptor_copies_artifact_type_and_annotations() -> None:
    m = build_manifest(config=EMPTY, layers=[], annotations={"k": "v"}, artifact_type=BUNDLE)
    d = referrer_descriptor(m)
    assert (d.artifact_type, dict(d.annotations), d.size) == (BUNDLE, {"k": "v"}, len(m.raw))
    legacy = build_manifest(config=EMPTY, layers=[])
    assert referrer_descriptor(legacy).artifact_type == OCI_EMPTY  # else config.mediaType


def test_index_platforms_decode() -> None:
    child = Descriptor(
        media_type=OCI_MANIFEST, digest=Digest.of(b"c"), size=3,
        platform=Platform("linux", "arm64", "v8"),
    )  # fmt: skip
    index = build_index([child])
    decoded = decode_manifest(index.raw)
    assert isinstance(decoded, Index)
    assert decoded.manifests[0].platform == Platform("linux", "arm64", "v8")
    assert Platform.parse("linux/arm64").matches(Platform("linux", "arm64", "v8"))
    assert not Platform.parse("linux/arm64/v7").matches(Platform("linux", "arm64", "v8"))
    with pytest.raises(InputError, match="invalid platform"):
        Platform.parse("linux")


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"\xff", "not UTF-8 JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"schemaVersion":1}', "schemaVersion"),
        (b'{"schemaVersion":2,"mediaType":"x/y"}', "no config and no manifests"),
        (b'{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:1","size":1}}', "64 hex"),
        (b'{"schemaVersion":2,"manifests":[{"mediaType":"a","size":-1,"digest":"x"}]}', "size"),
        (b'{"schemaVersion":2,"manifests":{}}', "JSON array"),
        (b'{"schemaVersion":2,"manifests":[],"annotations":{"a":1}}', "not a string"),
    ],
)
def test_malformed_manifests_raise_input_error(raw: bytes, says: str) -> None:
    with pytest.raises(InputError) as info:
        decode_manifest(raw)
    assert says in info.value.what


# --------------------------------------------------------------------------- properties

_digests = st.binary(max_size=8).map(Digest.of)
_text = st.text(st.characters(codec="utf-8"), max_size=12)
_descriptors = st.builds(
    Descriptor,
    media_type=st.sampled_from([OCI_MANIFEST, OCI_INDEX, "text/plain"]),
    digest=_digests,
    size=st.integers(0, 2**40),
    annotations=st.dictionaries(_text, _text, max_size=3),
    artifact_type=st.none() | st.just(BUNDLE),
)


@given(st.lists(_descriptors, max_size=5), _descriptors, st.dictionaries(_text, _text, max_size=2))
def test_manifest_round_trip(
    layers: list[Descriptor], config: Descriptor, ann: dict[str, str]
) -> None:
    built = build_manifest(config=config, layers=layers, annotations=ann)
    decoded = decode_manifest(built.raw)
    assert decoded == built
    assert decoded.raw == built.raw
    assert isinstance(decoded, Manifest)
    assert [dict(d.annotations) for d in decoded.layers] == [dict(d.annotations) for d in layers]


def _index_with_unknowns(entries: list[Descriptor]) -> Index:
    doc = json.loads(build_index(entries).raw)
    doc["x-extra"] = {"kept": True}
    for item in doc["manifests"]:
        item["urls"] = ["https://example.com/blob"]  # a field we do not model
    found = decode_manifest(json.dumps(doc, indent=1).encode())
    assert isinstance(found, Index)
    return found


@given(st.lists(_descriptors, max_size=6, unique_by=lambda d: d.digest), _descriptors)
def test_merge_is_idempotent_and_loses_nothing(entries: list[Descriptor], new: Descriptor) -> None:
    existing = _index_with_unknowns(entries)
    merged = merge_index(existing, new)
    assert merge_index(merged, new).raw == merged.raw
    digests = [d.digest for d in merged.manifests]
    assert set(digests) == {d.digest for d in entries} | {new.digest}
    assert digests == sorted(digests, key=str) or new.digest in {d.digest for d in entries}
    before = {d.digest: d for d in existing.manifests}
    for d in merged.manifests:
        if d.digest in before:
            assert d == before[d.digest]
    doc = json.loads(merged.raw)
    assert doc["x-extra"] == {"kept": True}
    old = {str(d.digest) for d in entries}
    assert all(
        m["urls"] == ["https://example.com/blob"] for m in doc["manifests"] if m["digest"] in old
    )


@given(_descriptors)
def test_merge_into_nothing_creates_an_index(new: Descriptor) -> None:
    merged = merge_index(None, new)
    assert merged.media_type == OCI_INDEX
    assert merged.manifests == (new,)


@given(st.binary(max_size=400))
def test_hostile_bytes_raise_only_input_error(raw: bytes) -> None:
    with contextlib.suppress(InputError):
        decode_manifest(raw)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    st.fixed_dictionaries(
        {"schemaVersion": st.just(2)},
        optional={"manifests": _json, "config": _json, "layers": _json, "mediaType": _json,
                  "subject": _json, "annotations": _json},
    )
)  # fmt: skip
def test_hostile_json_raises_only_input_error(doc: dict[str, object]) -> None:
    with contextlib.suppress(InputError):
        decode_manifest(json.dumps(doc).encode())

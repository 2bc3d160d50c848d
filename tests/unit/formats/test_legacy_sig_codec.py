"""Simple-signing payload and cosign Rekor bundle: Go's bytes, round trips, hostile input."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from interop.corpus import case_names, legacy_annotations, load_case
from shipsign.errors import InputError
from shipsign.formats.legacy_sig import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    SIGNATURE_ANNOTATION,
    LegacySignature,
    RekorBundle,
    SimpleSigningPayload,
    build_payload,
    decode_legacy_signature,
    decode_payload,
    decode_rekor_bundle,
    encode_annotations,
    encode_payload,
    encode_rekor_bundle,
    rekor_bundle_from_sigstore_bundle,
)

LEGACY = [n for n in case_names() if load_case(n).is_legacy]
HEX = "97fc" + "0" * 56 + "4e36"

# formats.md §1.2: cosign's payload for an 18-character docker-reference is 234 bytes
GO_PAYLOAD = (
    '{"critical":{"identity":{"docker-reference":"ghcr.io/owner/repo"},"image":'
    f'{{"docker-manifest-digest":"sha256:{HEX}"}},"type":"cosign container image signature"}},'
    '"optional":null}'
).encode()


def test_payload_is_byte_identical_to_go() -> None:
    payload = build_payload(
        docker_reference="ghcr.io/owner/repo", docker_manifest_digest=f"sha256:{HEX}"
    )
    assert payload == GO_PAYLOAD
    assert len(payload) == 234


def test_optional_annotations_are_sorted_and_html_escaped_like_go() -> None:
    payload = build_payload(
        docker_reference="r",
        docker_manifest_digest="sha256:x",
        optional={"zeta": "<a&b>", "alpha": "é\u2028"},
    )
    assert payload.endswith(
        b'"optional":{"alpha":"\xc3\xa9\\u2028","zeta":"\\u003ca\\u0026b\\u003e"}}'
    )


@pytest.mark.parametrize("name", LEGACY)
def test_corpus_payloads_re_encode_to_the_same_bytes(name: str) -> None:
    raw = load_case(name).read("payload.json")
    try:
        claims = decode_payload(raw)
    except InputError:
        assert name == "neg-legacy-ci-other-attachment"
        return
    assert encode_payload(claims) == raw


@pytest.mark.parametrize("name", [n for n in LEGACY if load_case(n).has("bundle.json")])
def test_corpus_rekor_bundles_re_encode_to_the_same_text(name: str) -> None:
    text = load_case(name).text("bundle.json").strip()
    assert encode_rekor_bundle(decode_rekor_bundle(text)) == text


@pytest.mark.parametrize("name", LEGACY)
def test_corpus_annotations_re_encode(name: str) -> None:
    case = load_case(name)
    annotations = legacy_annotations(case)
    signature = decode_legacy_signature(case.read("payload.json"), annotations)
    if CERTIFICATE_ANNOTATION in annotations:
        annotations.setdefault(CHAIN_ANNOTATION, "")  # cosign writes chain whenever certificate
    assert list(encode_annotations(signature).items()) == sorted(annotations.items())


_json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_claims = st.builds(
    SimpleSigningPayload,
    docker_reference=st.text(max_size=80),
    docker_manifest_digest=st.text(max_size=80),
    type=st.text(max_size=40),
    optional=st.none() | st.dictionaries(st.text(max_size=10), _json_values, max_size=5),
)


def _no_surrogates(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


@given(_claims)
def test_payload_round_trip(claims: SimpleSigningPayload) -> None:
    if not _no_surrogates(
        [claims.docker_reference, claims.docker_manifest_digest, claims.type, claims.optional]
    ):
        return  # Go replaces lone surrogates with U+FFFD: no round trip by design
    raw = encode_payload(claims)
    decoded = decode_payload(raw)
    assert decoded == claims
    assert json.loads(raw) == {
        "critical": {
            "identity": {"docker-reference": claims.docker_reference},
            "image": {"docker-manifest-digest": claims.docker_manifest_digest},
            "type": claims.type,
        },
        "optional": None if claims.optional is None else dict(claims.optional),
    }


_bundles = st.builds(
    RekorBundle,
    signed_entry_timestamp=st.text(max_size=100),
    body=st.text(max_size=200),
    integrated_time=st.integers(-(2**63), 2**63 - 1),
    log_index=st.integers(-(2**63), 2**63 - 1),
    log_id=st.text(max_size=64),
)


@given(_bundles)
def test_rekor_bundle_round_trip(bundle: RekorBundle) -> None:
    if not _no_surrogates([bundle.signed_entry_timestamp, bundle.body, bundle.log_id]):
        return
    assert decode_rekor_bundle(encode_rekor_bundle(bundle)) == bundle


_hostile_json = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["critical", "identity", "image", "type", "optional", "docker-reference",
                         "docker-manifest-digest", "SignedEntryTimestamp", "Payload", "body",
                         "integratedTime", "logIndex", "logID", "x"]),
        inner,
        max_size=5,
    ),
    max_leaves=20,
)  # fmt: skip


@given(st.binary(max_size=300) | _hostile_json.map(lambda v: json.dumps(v).encode()))
def test_hostile_payloads_raise_only_input_error(raw: bytes) -> None:
    with contextlib.suppress(InputError):
        decode_payload(raw)


@given(st.binary(max_size=300) | _hostile_json.map(lambda v: json.dumps(v).encode()))
def test_hostile_rekor_bundles_raise_only_input_error(raw: bytes) -> None:
    with contextlib.suppress(InputError):
        decode_rekor_bundle(raw)


@given(st.integers(0, 400), st.integers(1, 255))
def test_corrupted_real_payload_raises_only_input_error(index: int, xor: int) -> None:
    raw = bytearray(load_case("legacy-ci-fulcio-rekor-prod").read("payload.json"))
    raw[index % len(raw)] ^= xor
    with contextlib.suppress(InputError):
        decode_payload(bytes(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000,  # deep nesting
        b'{"critical":{},"critical":{}}',  # duplicate keys: a parser differential
        b'{"critical": NaN}',
        "{}".encode("utf-16"),  # Go reads UTF-8 only
        b'{"critical":{"identity":{"docker-reference":1},"image":{"docker-manifest-digest":"d"},"type":"t"}}',
        b'{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"d"},"type":"t"},"optional":[]}',
    ],
)
def test_payloads_that_are_rejected(raw: bytes) -> None:
    with pytest.raises(InputError):
        decode_payload(raw)


@pytest.mark.parametrize(
    "text",
    [
        '{"SignedEntryTimestamp":"s","Payload":{"body":"b","integratedTime":1.5,"logIndex":1,"logID":"l"}}',
        '{"SignedEntryTimestamp":"s","Payload":{"body":"b","integratedTime":true,"logIndex":1,"logID":"l"}}',
        '{"SignedEntryTimestamp":"s","Payload":{"body":{},"integratedTime":1,"logIndex":1,"logID":"l"}}',
        '{"SignedEntryTimestamp":"s","Payload":{"body":"b","integratedTime":1,"logIndex":9223372036854775808,"logID":"l"}}',
        '{"SignedEntryTimestamp":"s"}',
    ],
)
def test_rekor_bundles_that_are_rejected(text: str) -> None:
    with pytest.raises(InputError):
        decode_rekor_bundle(text)


_KEYS = [SIGNATURE_ANNOTATION, BUNDLE_ANNOTATION, CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, "x"]


@given(st.dictionaries(st.sampled_from(_KEYS), st.text(max_size=50)), st.binary(max_size=100))
def test_decoding_a_layer_never_raises(annotations: dict[str, str], payload: bytes) -> None:
    signature = decode_legacy_signature(payload, annotations)
    assert isinstance(signature, LegacySignature)
    assert (signature.claims is None) == any(p.check == "payload" for p in signature.problems)


def test_rekor_bundle_from_a_sigstore_bundle() -> None:
    case = load_case("bundle-sp-prod-v0.2-gha-wheel")
    bundle = rekor_bundle_from_sigstore_bundle(case.read("bundle.sigstore.json"))
    entry = json.loads(case.read("bundle.sigstore.json"))["verificationMaterial"]["tlogEntries"][0]
    assert bundle.log_index == 79605083  # the global index, not inclusionProof.logIndex
    assert bundle.log_id == "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"
    assert bundle.body == entry["canonicalizedBody"]
    assert bundle.integrated_time == int(entry["integratedTime"])
    assert base64.b64decode(bundle.signed_entry_timestamp)


def test_rekor_v2_entries_cannot_make_a_legacy_bundle() -> None:
    with pytest.raises(InputError, match="Rekor v1"):
        rekor_bundle_from_sigstore_bundle(
            load_case("bundle-sp-staging-rekor2-tsa").read("bundle.sigstore.json")
        )

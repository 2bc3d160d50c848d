"""The in-toto statement a bundle signs, and reading the claims of an existing bundle."""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from shipsign.oci import Digest
from shipsign.sign.statement import build_statement, bundle_log_index, read_claims

DIGEST = Digest.of(b"an image manifest")


def bundle(statement: bytes, *, payload_type: str = "application/vnd.in-toto+json") -> bytes:
    doc = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"tlogEntries": [{"logIndex": "1234"}]},
        "dsseEnvelope": {
            "payload": base64.b64encode(statement).decode(),
            "payloadType": payload_type,
            "signatures": [],
        },
    }
    return json.dumps(doc).encode()


def test_statement_bytes_are_cosigns_with_a_null_name() -> None:
    assert (
        build_statement(DIGEST, {})
        == (
            '{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":null,"digest":'
            f'{{"sha256":"{DIGEST.hex}"}},"annotations":{{}}}}],'
            '"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}'
        ).encode()
    )
    with_annotations = json.loads(build_statement(DIGEST, {"z": "1", "a": "2"}))
    assert list(with_annotations["subject"][0]["annotations"]) == ["a", "z"]


def test_sigstore_accepts_the_statement() -> None:
    from sigstore.dsse import Statement

    Statement(build_statement(DIGEST, {"team": "core"}))  # raises if a subject had no name


def test_claims_are_read_for_the_named_digest() -> None:
    claims = read_claims(bundle(build_statement(DIGEST, {"team": "core"})), DIGEST)
    assert claims is not None
    assert claims.predicate_type == "https://sigstore.dev/cosign/sign/v1"
    assert dict(claims.annotations) == {"team": "core"}
    assert read_claims(bundle(build_statement(DIGEST, {})), Digest.of(b"other")) is None
    wrong_type = bundle(build_statement(DIGEST, {}), payload_type="text/plain")
    assert read_claims(wrong_type, DIGEST) is None
    assert bundle_log_index(bundle(build_statement(DIGEST, {}))) == 1234


@given(st.binary(max_size=300))
def test_hostile_bundles_never_raise(raw: bytes) -> None:
    assert read_claims(raw, DIGEST) is None
    bundle_log_index(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values)
def test_hostile_statements_never_raise(value: object) -> None:
    read_claims(bundle(json.dumps(value).encode()), DIGEST)
    read_claims(json.dumps({"dsseEnvelope": value}).encode(), DIGEST)
    bundle_log_index(json.dumps({"verificationMaterial": value}).encode())

"""Tampering with a valid legacy signature: one flipped byte in each part, each with its reason.

Starts from the corpus case legacy-ci-fulcio-rekor-prod (a real keyless cosign signature with
its layer descriptor) and edits the annotations as they travel on the wire.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from interop.corpus import (
    PRODUCTION_ROOT,
    STAGING_ROOT,
    identity_policy,
    legacy_annotations,
    legacy_image_digest,
    legacy_layer_digest,
    load_case,
)
from shipsign.checks import SignatureOutcome
from shipsign.errors import InputError
from shipsign.formats.legacy_sig import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    RekorBundle,
    decode_legacy_signature,
    decode_rekor_bundle,
    encode_rekor_bundle,
)
from shipsign.keyless.legacy_verify import verify_legacy_signature
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy
from shipsign.keyless.trust_material import TrustMaterial, ValidityPeriod, load_trust_material


def policy_of(**given: str) -> IdentityPolicy:
    """A one-alternative policy, built as the front ends build it."""
    return build_identity_policy([given])


CASE = load_case("legacy-ci-fulcio-rekor-prod")
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
TRUST = load_trust_material(PRODUCTION_ROOT)

Annotations = dict[str, str]


def _flip(data: bytes, index: int) -> bytes:
    """Flip the low bit of one byte."""
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def _verify(
    payload: bytes | None = None,
    annotations: Annotations | None = None,
    *,
    trust: TrustMaterial = TRUST,
    now: datetime = NOW,
    image_digest: str | None = None,
    policy: IdentityPolicy | None = None,
) -> SignatureOutcome:

    signature = decode_legacy_signature(
        CASE.read("payload.json") if payload is None else payload,
        legacy_annotations(CASE) if annotations is None else annotations,
        layer_digest=legacy_layer_digest(CASE),
    )
    return verify_legacy_signature(
        signature,
        image_digest=image_digest or legacy_image_digest(CASE),
        now=now,
        trust=trust,
        policy=policy or identity_policy(CASE),
    )


def _edit(key: str, change: Callable[[str], str]) -> Annotations:
    annotations = legacy_annotations(CASE)
    annotations[key] = change(annotations[key])
    return annotations


def _edit_b64(text: str, index: int) -> str:
    return base64.b64encode(_flip(base64.b64decode(text), index)).decode()


def _edit_bundle(change: Callable[[dict[str, object]], None]) -> Annotations:
    def rewrite(text: str) -> str:
        fields = dataclasses.asdict(decode_rekor_bundle(text))
        change(fields)
        return encode_rekor_bundle(RekorBundle(**fields))

    return _edit(BUNDLE_ANNOTATION, rewrite)


def _flip_digit(text: str, field: str) -> str:
    """Flip one byte of a JSON integer field's last digit in the annotation text."""
    start = text.index(f'"{field}":') + len(field) + 3
    end = start
    while text[end].isdigit():
        end += 1
    return text[: end - 1] + chr(ord(text[end - 1]) ^ 0x01) + text[end:]


def _cert_with_flipped_byte(pem: str, from_end: int) -> str:
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    flipped = x509.load_der_x509_certificate(_flip(der, len(der) - from_end))
    return flipped.public_bytes(Encoding.PEM).decode()


def test_the_untouched_signature_verifies() -> None:
    outcome = _verify()
    assert outcome.passed, outcome.failures
    assert outcome.facts.log_index == 11605770
    assert outcome.facts.identity == "mitr@redhat.com"


def test_flipped_payload_byte() -> None:
    payload = CASE.read("payload.json")
    outcome = _verify(_flip(payload, payload.index(b"cosign-signed")))
    assert outcome.failed_checks == {"layer_digest", "signature", "rekor_body"}
    (body,) = [f for f in outcome.failures if f.check == "rekor_body"]
    assert body.where.endswith("spec.data.hash")


def test_flipped_signature_byte() -> None:
    outcome = _verify(annotations=_edit(SIGNATURE_ANNOTATION, lambda s: _edit_b64(s, 20)))
    assert outcome.failed_checks == {"signature", "rekor_body"}
    (body,) = [f for f in outcome.failures if f.check == "rekor_body"]
    assert body.where.endswith("spec.signature.content")


def test_flipped_certificate_signature_byte() -> None:
    outcome = _verify(
        annotations=_edit(CERTIFICATE_ANNOTATION, lambda pem: _cert_with_flipped_byte(pem, 1))
    )
    assert outcome.failed_checks == {"certificate_chain", "rekor_body"}
    (body,) = [f for f in outcome.failures if f.check == "rekor_body"]
    assert body.where.endswith("spec.signature.publicKey")


def test_certificate_that_is_no_longer_pem() -> None:
    outcome = _verify(
        annotations=_edit(
            CERTIFICATE_ANNOTATION, lambda pem: pem.replace("-----BEGIN", "----BEGIN")
        )
    )
    assert outcome.failed_checks == {"certificate"}


def test_flipped_set_byte() -> None:
    def change(fields: dict[str, object]) -> None:
        fields["signed_entry_timestamp"] = _edit_b64(str(fields["signed_entry_timestamp"]), 30)

    outcome = _verify(annotations=_edit_bundle(change))
    assert outcome.failed_checks == {"rekor_set"}


def test_flipped_rekor_body_byte() -> None:
    def change(fields: dict[str, object]) -> None:
        body = base64.b64decode(str(fields["body"]))
        fields["body"] = base64.b64encode(_flip(body, body.index(b'"value":"') + 12)).decode()

    outcome = _verify(annotations=_edit_bundle(change))
    assert outcome.failed_checks == {"rekor_set", "rekor_body"}


def test_flipped_integrated_time_byte() -> None:
    outcome = _verify(
        annotations=_edit(BUNDLE_ANNOTATION, lambda t: _flip_digit(t, "integratedTime"))
    )
    assert outcome.failed_checks == {"rekor_set"}


def test_flipped_log_index_byte() -> None:
    outcome = _verify(annotations=_edit(BUNDLE_ANNOTATION, lambda t: _flip_digit(t, "logIndex")))
    assert outcome.failed_checks == {"rekor_set"}
    (failure,) = outcome.failures
    assert "11605771" in failure.expected


def test_flipped_log_id_byte() -> None:
    outcome = _verify(
        annotations=_edit(BUNDLE_ANNOTATION, lambda t: t.replace('"logID":"c0', '"logID":"c1'))
    )
    assert outcome.failed_checks == {"rekor_set"}
    assert outcome.failures[0].found.startswith("c1d23d6a")


def test_integrated_time_moved_out_of_the_certificate_validity() -> None:
    def change(fields: dict[str, object]) -> None:
        fields["integrated_time"] = int(str(fields["integrated_time"])) + 3600

    outcome = _verify(annotations=_edit_bundle(change))
    assert outcome.failed_checks == {"rekor_set", "signing_time"}


def test_broken_bundle_annotation_is_a_tlog_failure() -> None:
    outcome = _verify(annotations=_edit(BUNDLE_ANNOTATION, lambda t: t[:-1]))
    assert outcome.failed_checks == {"tlog_entry", "signing_time"}


def test_missing_bundle_annotation() -> None:
    annotations = legacy_annotations(CASE)
    del annotations[BUNDLE_ANNOTATION]
    outcome = _verify(annotations=annotations)
    assert outcome.failed_checks == {"tlog_entry", "signing_time"}


def test_image_digest_of_another_image() -> None:
    outcome = _verify(image_digest="sha256:" + "1" * 64)
    assert outcome.failed_checks == {"payload_digest"}
    assert outcome.failures[0].found == legacy_image_digest(CASE)


def test_signature_from_the_future_is_rejected() -> None:
    outcome = _verify(now=datetime(2023, 1, 1, tzinfo=timezone.utc))
    assert outcome.failed_checks == {"signing_time"}


def test_another_instances_trusted_root() -> None:
    outcome = _verify(trust=load_trust_material(STAGING_ROOT))
    assert outcome.failed_checks == {"certificate_chain", "sct", "rekor_set"}


def _trust_with(**changes: object) -> TrustMaterial:
    return dataclasses.replace(TRUST, **changes)  # type: ignore[arg-type]


def test_rekor_key_not_valid_at_integrated_time() -> None:
    expired = ValidityPeriod(start=None, end=datetime(2022, 1, 1, tzinfo=timezone.utc))
    logs = tuple(dataclasses.replace(k, validity=expired) for k in TRUST.rekor_logs)
    outcome = _verify(trust=_trust_with(rekor_logs=logs))
    assert outcome.failed_checks == {"rekor_set"}
    assert "validity" in outcome.failures[0].expected


def test_no_ct_log_in_the_trusted_root() -> None:
    outcome = _verify(trust=_trust_with(ct_logs=()))
    assert outcome.failed_checks == {"sct"}
    assert "does not list" in outcome.failures[0].found


def test_ct_log_not_valid_when_the_sct_was_issued() -> None:
    later = ValidityPeriod(start=datetime(2024, 1, 1, tzinfo=timezone.utc), end=None)
    logs = tuple(dataclasses.replace(k, validity=later) for k in TRUST.ct_logs)
    assert _verify(trust=_trust_with(ct_logs=logs)).failed_checks == {"sct"}


def test_fulcio_ca_not_valid_at_signing_time() -> None:
    signed = datetime.fromtimestamp(1674247893, tz=timezone.utc)
    late = ValidityPeriod(start=signed + timedelta(days=1), end=None)
    cas = tuple(dataclasses.replace(ca, validity=late) for ca in TRUST.fulcio)
    outcome = _verify(trust=_trust_with(fulcio=cas))
    assert outcome.failed_checks == {"certificate_chain"}


def test_every_failure_says_where_expected_and_found() -> None:
    payload = CASE.read("payload.json")
    outcome = _verify(_flip(payload, 40), trust=load_trust_material(STAGING_ROOT))
    assert len(outcome.failures) >= 5
    for failure in outcome.failures:
        assert failure.where.startswith(".sig layer sha256:2dcf9e65")
        assert failure.expected
        assert failure.found


def test_keyless_needs_an_identity() -> None:
    signature = decode_legacy_signature(CASE.read("payload.json"), legacy_annotations(CASE))
    with pytest.raises(InputError):
        verify_legacy_signature(
            signature, image_digest=legacy_image_digest(CASE), now=NOW, trust=TRUST
        )
    with pytest.raises(InputError):
        verify_legacy_signature(
            signature,
            image_digest=legacy_image_digest(CASE),
            now=NOW,
            trust=TRUST,
            policy=policy_of(issuer="https://github.com/login/oauth"),
        )
    with pytest.raises(InputError):
        verify_legacy_signature(
            signature, image_digest=legacy_image_digest(CASE), now=NOW, policy=identity_policy(CASE)
        )

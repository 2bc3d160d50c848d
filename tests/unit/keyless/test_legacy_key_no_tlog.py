"""`--key --insecure-ignore-tlog` without a trusted root: the log entry is ignored, as in cosign."""

from __future__ import annotations

from datetime import datetime, timezone

from interop.corpus import legacy_image_digest, legacy_signature, load_case, verification_key
from shipsign.keyless.legacy_verify import verify_legacy_signature

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
CASE = load_case("legacy-ci-key-rekor-prod")  # cosign sign --key with a Rekor upload


def test_key_signature_with_a_rekor_bundle_verifies_when_the_tlog_is_ignored() -> None:
    key = verification_key(CASE)
    assert key is not None
    signature = legacy_signature(CASE)
    assert signature.rekor is not None  # the bundle annotation is there, and cannot be checked
    outcome = verify_legacy_signature(
        signature, image_digest=legacy_image_digest(CASE), now=NOW, key=key, require_tlog=False
    )
    assert outcome.failures == ()


def test_ignoring_the_tlog_still_checks_the_signature() -> None:
    key = verification_key(CASE)
    assert key is not None
    outcome = verify_legacy_signature(
        legacy_signature(CASE),
        image_digest="sha256:" + "0" * 64,
        now=NOW,
        key=key,
        require_tlog=False,
    )
    assert outcome.failed_checks == {"payload_digest"}

"""Every case of the shared interop corpus, verified offline by shipsign's verification core.

Legacy cases go through `verify_legacy_signature` with the layer rebuilt from the case's files
(the registry round trip is tested by the use case); bundle cases through `verify_bundle`.
Valid cases must pass; invalid ones must fail with exactly the checks named below.
"""

from __future__ import annotations

import pytest

from interop.corpus import case_names, case_signer, load_case, verify_case
from shipsign.checks import SignatureOutcome

# meta.json's why_invalid, in shipsign's check names: the exact set of checks that must fail.
EXPECTED_FAILURES: dict[str, frozenset[str]] = {
    # another genuine cert of the same signer: wrong key, not the logged cert, issued later
    "neg-legacy-cert-signature-mismatch": frozenset({"signature", "rekor_body", "signing_time"}),
    "neg-legacy-ci-key-rekor-wrong-key": frozenset({"signature", "rekor_body"}),
    "neg-legacy-ci-modified-manifest": frozenset({"payload_digest"}),
    "neg-legacy-ci-other-attachment": frozenset({"payload", "signature"}),
    # private PKI: no Fulcio chain, no code-signing EKU, no SCT, no tlog entry or signing time
    "neg-legacy-ci-pki-not-fulcio": frozenset(
        {"certificate_chain", "certificate_usage", "sct", "signing_time", "tlog_entry"}
    ),
    "neg-legacy-ci-set-mismatch": frozenset({"rekor_body"}),
    "neg-legacy-ci-unknown-key": frozenset({"signature"}),
    "neg-legacy-tampered-payload-digest": frozenset({"layer_digest", "signature", "rekor_body"}),
    "neg-legacy-tampered-set-integratedtime": frozenset({"rekor_set"}),
    "neg-legacy-wrong-identity-san": frozenset({"identity"}),
    "neg-legacy-wrong-issuer": frozenset({"issuer"}),
    "neg-bundle-conf-bundle-from-wrong-instance": frozenset({"certificate_chain"}),
    "neg-bundle-conf-bundle-with-root-cert": frozenset({"bundle_parse"}),
    "neg-bundle-conf-checkpoint-wrong-roothash": frozenset({"tlog_inclusion"}),
    "neg-bundle-conf-dsse-invalid-sig": frozenset({"signature"}),
    "neg-bundle-conf-dsse-mismatch-envelope": frozenset({"rekor_body"}),
    "neg-bundle-conf-dsse-mismatch-sig": frozenset({"rekor_body"}),
    "neg-bundle-conf-inclusion-proof-corrupted-hash": frozenset({"tlog_inclusion"}),
    # the wrong key makes sigstore-python's first failing step the inclusion proof
    "neg-bundle-conf-incorrect-public-key": frozenset({"tlog_inclusion"}),
    # the certificate is not valid at the (future) integrated time
    "neg-bundle-conf-integrated-time-in-future": frozenset({"certificate_chain"}),
    "neg-bundle-conf-invalid-inclusion-proof": frozenset({"bundle_parse"}),
    "neg-bundle-conf-message-digest-mismatch": frozenset({"artifact_digest"}),
    "neg-bundle-conf-set-invalid-signature": frozenset({"rekor_set"}),
    "neg-bundle-conf-signature-mismatch": frozenset({"signature"}),
    "neg-bundle-conf-wrong-hashedrekord-artifact": frozenset({"rekor_body"}),
    "neg-bundle-conf-wrong-hashedrekord-entry": frozenset({"rekor_body"}),
    "neg-bundle-conf-wrong-material": frozenset({"artifact_digest"}),
    "neg-bundle-oci-attestation-wrong-subject": frozenset({"dsse_subject"}),
    "neg-bundle-sg-dsse-2sigs": frozenset({"bundle_parse"}),
    "neg-bundle-sp-cve-2022-36056": frozenset({"rekor_body"}),
    "neg-bundle-sp-invalid-version": frozenset({"bundle_parse"}),
    "neg-bundle-sp-no-cert-v1": frozenset({"bundle_parse"}),
    "neg-bundle-sp-no-checkpoint": frozenset({"bundle_parse"}),
    "neg-bundle-sp-no-log-entry": frozenset({"bundle_parse"}),
    "neg-bundle-sp-no-signed-time": frozenset({"bundle_parse"}),
    "neg-bundle-wrong-identity-san": frozenset({"identity"}),
    "neg-bundle-wrong-issuer": frozenset({"issuer"}),
}

# Valid elsewhere (sigstore-go, sigstore-js), but outside what sigstore-python 4.5.1 verifies:
# shipsign must reject them with a clear reason (README: compatibility notes).
SIGSTORE_PYTHON_CANNOT: dict[str, str] = {
    "bundle-sg-prod-npm-provenance-sigstore-js-1.3.0": "bundle_parse",  # v0.1, SET only
    "bundle-sg-prod-npm-provenance-sigstore-js-2.0.0": "bundle_verify",  # intoto 0.0.2 entry
    "bundle-sg-prod-npm-publish-key-sigstore-js-1.3.0": "bundle_parse",  # key, SET only
    "bundle-sg-prod-v0.1-dsse-set-only": "bundle_parse",  # v0.1, SET only
}

# Valid in the corpus, but its 2021 certificate has no embedded SCT: cosign, and shipsign by
# default, reject it; it verifies with cosign's --insecure-ignore-sct (require_sct=False).
WITHOUT_SCT = {"legacy-rs-kubewarden-keyless-2021"}


def _describe(outcome: SignatureOutcome) -> str:
    return "\n".join(
        f"{f.check}: expected {f.expected}; found {f.found} ({f.where})" for f in outcome.failures
    )


def test_every_invalid_case_has_its_expected_checks() -> None:
    invalid = {name for name in case_names() if not load_case(name).expected_valid}
    assert invalid == set(EXPECTED_FAILURES)
    valid = set(case_names()) - invalid
    assert set(SIGSTORE_PYTHON_CANNOT) | WITHOUT_SCT <= valid


@pytest.mark.parametrize("name", case_names())
def test_case(name: str) -> None:
    case = load_case(name)
    outcome = verify_case(case)
    for failure in outcome.failures:
        assert failure.expected, failure
        assert failure.found, failure
        assert failure.where, failure
    if name in SIGSTORE_PYTHON_CANNOT:
        assert outcome.failed_checks == {SIGSTORE_PYTHON_CANNOT[name]}, _describe(outcome)
        assert "sigstore-python" in outcome.failures[0].expected + outcome.failures[0].found
    elif name in WITHOUT_SCT:
        assert outcome.failed_checks == {"sct"}, _describe(outcome)
        assert "no embedded SCT" in outcome.failures[0].found
        relaxed = verify_case(case, require_sct=False)
        assert relaxed.passed, _describe(relaxed)
    elif case.expected_valid:
        assert outcome.passed, _describe(outcome)
        if not case.is_legacy or case.has("bundle.json"):
            assert outcome.facts.log_index is not None
            assert outcome.facts.signing_time is not None
    else:
        assert outcome.failed_checks == EXPECTED_FAILURES[name], _describe(outcome)


@pytest.mark.parametrize(
    "name",
    [n for n in case_names() if load_case(n).expected_valid and n not in SIGSTORE_PYTHON_CANNOT],
)
def test_valid_case_reports_its_signer(name: str) -> None:
    case = load_case(name)
    outcome = verify_case(case, require_sct=False)
    signer = case_signer(case)
    if signer is None:
        assert outcome.facts.identity is None
        return
    assert (outcome.facts.identity, outcome.facts.issuer) == signer

"""The Sigstore stack works for real: sigstore-python signs through the mock Fulcio/Rekor/TSA
with a token `id` fetched from the GitHub OIDC endpoint, and both sigstore-python and
@sigstore/verify accept the bundles offline for the workflow identity and nothing else."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography import x509
from sigstore.dsse import DigestSet, Statement, StatementBuilder, Subject
from sigstore.errors import VerificationError
from sigstore.models import Bundle, ClientTrustConfig, TrustedRoot
from sigstore.sign import SigningContext
from sigstore.verify import Verifier, policy

from shipsign.keyless.identity import IdentityToken, resolve_identity_token
from shipsign.keyless.sigstore_private import RekorClient, logged_body
from stack.sigstore_stack import (
    GitHubOidc,
    NodeVerifier,
    SigstoreStack,
    http_call,
    start_sigstore_stack,
)

FULCIO = "POST /api/v2/signingCert"
REKOR_UPLOAD = "POST /api/v1/log/entries"


@pytest.fixture(scope="module")
def signing_context(sigstore_stack: SigstoreStack) -> SigningContext:
    config = ClientTrustConfig.from_json(sigstore_stack.trust_config.read_text())
    return SigningContext.from_trust_config(config)


@pytest.fixture(scope="module")
def verifier(sigstore_stack: SigstoreStack) -> Verifier:
    return Verifier(trusted_root=TrustedRoot.from_file(str(sigstore_stack.trusted_root)))


@pytest.fixture
def token(github_actions_env: dict[str, str]) -> IdentityToken:
    """A token fetched from the OIDC endpoint by `id`, through shipsign's identity module."""
    return resolve_identity_token(None, now=datetime.now(timezone.utc))


def _statement(data: bytes) -> Statement:
    subject = Subject(
        name="artifact", digest=DigestSet({"sha256": hashlib.sha256(data).hexdigest()})
    )
    builder = StatementBuilder().subjects([subject]).predicate_type("https://example.com/test/v1")
    return builder.predicate({"n": 1}).build()


def _save(tmp_path: Path, bundle: Bundle, data: bytes) -> tuple[Path, Path]:
    (tmp_path / "bundle.json").write_text(bundle.to_json())
    (tmp_path / "artifact").write_bytes(data)
    return tmp_path / "bundle.json", tmp_path / "artifact"


def test_trust_files_load_as_a_rekor_v1_instance(sigstore_stack: SigstoreStack) -> None:
    config = ClientTrustConfig.from_json(sigstore_stack.trust_config.read_text())
    signing = json.loads(sigstore_stack.signing_config.read_text())
    assert signing["mediaType"] == "application/vnd.dev.sigstore.signingconfig.v0.2+json"
    assert [t["majorApiVersion"] for t in signing["rekorTlogUrls"]] == [1]

    loaded = config.signing_config
    assert loaded.get_fulcio().url == sigstore_stack.url
    (rekor,) = loaded.get_tlogs()
    assert isinstance(rekor, RekorClient)  # Rekor v1
    assert rekor.url == f"{sigstore_stack.url}/api/v1"
    assert [t.url for t in loaded.get_tsas()] == [f"{sigstore_stack.url}/api/v1/timestamp"]
    root = json.loads(sigstore_stack.trusted_root.read_text())
    ca_der = base64.b64decode(
        root["certificateAuthorities"][0]["certChain"]["certificates"][0]["rawBytes"]
    )
    assert [c.tbs_certificate_bytes for c in config.trusted_root.get_fulcio_certs()] == [
        x509.load_der_x509_certificate(ca_der).tbs_certificate_bytes
    ]
    assert len(root["ctlogs"]) == len(root["timestampAuthorities"]) == 1


def test_message_signature_verifies_in_both_for_the_workflow_identity(
    signing_context: SigningContext,
    verifier: Verifier,
    token: IdentityToken,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
) -> None:
    data = b"payload signed through the local stack"
    with signing_context.signer(token.to_sigstore(), cache=True) as signer:
        bundle = signer.sign_artifact(data)
    assert token.identity == github_oidc.san

    san = bundle.signing_certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.UniformResourceIdentifier)
    assert san == ["https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"]
    good = policy.Identity(identity=github_oidc.san, issuer=github_oidc.issuer)
    verifier.verify_artifact(data, bundle, good)

    bundle_path, artifact = _save(tmp_path, bundle, data)
    verdict = node_verifier(
        bundle_path, san=github_oidc.san, issuer=github_oidc.issuer, artifact=artifact
    )
    assert verdict.ok, verdict.output
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert node_verifier(
        bundle_path, san=github_oidc.san, issuer=github_oidc.issuer, digest=digest
    ).ok


def test_wrong_identity_is_rejected_by_both(
    signing_context: SigningContext,
    verifier: Verifier,
    token: IdentityToken,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
) -> None:
    data = b"signed by release.yml"
    with signing_context.signer(token.to_sigstore()) as signer:
        bundle = signer.sign_artifact(data)
    bundle_path, artifact = _save(tmp_path, bundle, data)
    other_san = github_oidc.san.replace("release.yml", "ci.yml")
    other_issuer = "https://accounts.google.com"
    for san, issuer in [(other_san, github_oidc.issuer), (github_oidc.san, other_issuer)]:
        with pytest.raises(VerificationError, match=r"SANs do not match|[Ii]ssuer"):
            verifier.verify_artifact(data, bundle, policy.Identity(identity=san, issuer=issuer))
        verdict = node_verifier(bundle_path, san=san, issuer=issuer, artifact=artifact)
        assert not verdict.ok
        assert "certificate identity error" in verdict.output or "issuer" in verdict.output


def test_dsse_bundle_verifies_in_both_and_rekor_stores_it_canonically(
    signing_context: SigningContext,
    verifier: Verifier,
    token: IdentityToken,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
) -> None:
    data = b"an artifact named in an in-toto statement"
    with signing_context.signer(token.to_sigstore()) as signer:
        bundle = signer.sign_dsse(_statement(data))
    good = policy.Identity(identity=github_oidc.san, issuer=github_oidc.issuer)
    payload_type, _ = verifier.verify_dsse(bundle, good)
    assert payload_type == "application/vnd.in-toto+json"

    entry = json.loads(bundle.to_json())["verificationMaterial"]["tlogEntries"][0]
    body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
    assert body["kind"] == "dsse"
    assert sorted(body["spec"]) == ["envelopeHash", "payloadHash", "signatures"]
    assert list(body["spec"]["signatures"][0]) == ["signature", "verifier"]

    bundle_path, artifact = _save(tmp_path, bundle, data)
    verdict = node_verifier(
        bundle_path, san=github_oidc.san, issuer=github_oidc.issuer, artifact=artifact
    )
    assert verdict.ok, verdict.output
    other = node_verifier(
        bundle_path, san=github_oidc.san, issuer=github_oidc.issuer, digest="sha256:" + "0" * 64
    )
    assert not other.ok
    assert "no in-toto subject" in other.output


def test_tampered_signature_is_rejected_by_the_node_verifier(
    signing_context: SigningContext,
    token: IdentityToken,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
) -> None:
    data = b"tamper with me"
    with signing_context.signer(token.to_sigstore()) as signer:
        good = signer.sign_artifact(data)
        other = signer.sign_artifact(b"something else")
    doc = json.loads(good.to_json())
    # A valid signature by the same key, over other bytes: only the signature check can refuse it.
    doc["messageSignature"]["signature"] = json.loads(other.to_json())["messageSignature"][
        "signature"
    ]
    (tmp_path / "bundle.json").write_text(json.dumps(doc))
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    verdict = node_verifier(
        tmp_path / "bundle.json", san=github_oidc.san, issuer=github_oidc.issuer, digest=digest
    )
    assert not verdict.ok


def test_one_fulcio_certificate_per_signer(
    sigstore_stack: SigstoreStack, signing_context: SigningContext, token: IdentityToken
) -> None:
    fulcio, uploads = sigstore_stack.requests(FULCIO), sigstore_stack.requests(REKOR_UPLOAD)
    with signing_context.signer(token.to_sigstore(), cache=True) as signer:
        for n in range(3):
            signer.sign_artifact(b"artifact %d" % n)
    with signing_context.signer(token.to_sigstore(), cache=True) as signer:
        signer.sign_dsse(_statement(b"one more"))
    assert sigstore_stack.requests(FULCIO) - fulcio == 2
    assert sigstore_stack.requests(REKOR_UPLOAD) - uploads == 4


def test_rekor_fault_reaches_the_signer_and_shows_in_stats(
    sigstore_stack: SigstoreStack, signing_context: SigningContext, token: IdentityToken
) -> None:
    before = sigstore_stack.stats()["responses"].get(f"{REKOR_UPLOAD} 503", 0)
    sigstore_stack.fault("/api/v1/log/entries", method="POST", status=503, retry_after="2")
    with signing_context.signer(token.to_sigstore()) as signer:
        with pytest.raises(Exception, match="503"):
            signer.sign_artifact(b"refused once")
        signer.sign_artifact(b"accepted after the fault")  # the fault was used up
    stats = sigstore_stack.stats()
    assert stats["responses"][f"{REKOR_UPLOAD} 503"] == before + 1
    assert stats["faults"]["pending"] == []

    sigstore_stack.fault("/api/v1/log", status=503, retry_after="7")
    answer = http_call("GET", f"{sigstore_stack.url}/api/v1/log")
    assert (answer.status, answer.headers["retry-after"]) == (503, "7")
    assert answer.json()["code"] == 503


def test_a_delay_fault_holds_the_answer_back(sigstore_stack: SigstoreStack) -> None:
    sigstore_stack.fault("/api/v1/log", status=None, method="GET", delay_ms=1500)
    with pytest.raises(TimeoutError):
        http_call("GET", f"{sigstore_stack.url}/api/v1/log", timeout=0.3)
    assert http_call("GET", f"{sigstore_stack.url}/api/v1/log", timeout=5).status == 200


def test_duplicate_upload_answers_409_with_the_existing_entry(
    sigstore_stack: SigstoreStack, signing_context: SigningContext, token: IdentityToken
) -> None:
    with signing_context.signer(token.to_sigstore()) as signer:
        bundle = signer.sign_artifact(b"logged once")
    entry = json.loads(bundle.to_json())["verificationMaterial"]["tlogEntries"][0]
    # For hashedrekord the canonical body is also a valid proposal of the same entry.
    proposal = base64.b64decode(entry["canonicalizedBody"])
    url = f"{sigstore_stack.url}/api/v1/log/entries"
    again = http_call("POST", url, proposal, {"Content-Type": "application/json"})
    assert again.status == 409
    assert "already exists" in again.json()["message"]

    stored = http_call("GET", sigstore_stack.url + again.headers["location"])
    assert stored.status == 200
    ((uuid, found),) = stored.json().items()
    assert again.headers["location"].endswith(uuid)
    assert found["body"] == entry["canonicalizedBody"]
    assert str(found["logIndex"]) == entry["logIndex"]
    by_index = http_call("GET", f"{url}?logIndex={entry['logIndex']}")
    assert by_index.json() == stored.json()
    retrieved = http_call("POST", f"{url}/retrieve", json.dumps({"entryUUIDs": [uuid]}).encode())
    assert retrieved.json() == [stored.json()]

    # sigstore-python's own Rekor v1 client reads the same entry back, as cosign-legacy checks do.
    rekor = RekorClient(sigstore_stack.url)
    fetched = rekor.log.entries.get(log_index=int(entry["logIndex"]))
    assert logged_body(fetched) == logged_body(bundle.log_entry)
    assert rekor.log.get().tree_size >= 1


def test_another_stacks_trusted_root_does_not_trust_these_bundles(
    signing_context: SigningContext,
    token: IdentityToken,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
) -> None:
    data = b"keys are made per start"
    with signing_context.signer(token.to_sigstore()) as signer:
        bundle = signer.sign_artifact(data)
    other = start_sigstore_stack(tmp_path / "other", tsa=False)
    try:
        signing = json.loads(other.signing_config.read_text())
        assert signing["tsaUrls"] == []
        strange = Verifier(trusted_root=TrustedRoot.from_file(str(other.trusted_root)))
        with pytest.raises(Exception, match=r"(?i)certificate|chain|root"):
            strange.verify_artifact(
                data, bundle, policy.Identity(identity=github_oidc.san, issuer=github_oidc.issuer)
            )
        bundle_path, artifact = _save(tmp_path, bundle, data)
        verdict = node_verifier(
            bundle_path,
            san=github_oidc.san,
            issuer=github_oidc.issuer,
            artifact=artifact,
            trusted_root=other.trusted_root,
        )
        assert not verdict.ok
    finally:
        other.stop()

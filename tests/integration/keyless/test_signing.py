"""KeylessSigner against the local Sigstore stack: one certificate for a whole run, bundles that
sigstore-python and sigstore-js accept, and legacy parts (SET, body, certificate) checked here
independently with cryptography + rfc8785 and the stack's trusted_root.json."""

from __future__ import annotations

import base64
import hashlib
import json
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, load_der_public_key
from rfc3161_client import decode_timestamp_response
from sigstore.models import Bundle
from sigstore.verify import Verifier, policy

from shipsign.errors import InputError, ShipsignError, UnreachableError
from shipsign.keyless.identity import IdentityToken, parse_identity_token, resolve_identity_token
from shipsign.keyless.retrying import Service, ServiceUnreachable
from shipsign.keyless.signing import RENEW_BEFORE, KeylessSigner, ServiceOptions, SignedPayload
from shipsign.keyless.trust import Trust, TrustOptions, load_trust
from shipsign.retry import RetryPolicy
from stack.sigstore_stack import GitHubOidc, NodeVerifier, SigstoreStack, http_call

CERT_ROUTE = "POST /api/v2/signingCert"
ENTRIES_201 = "POST /api/v1/log/entries 201"
PREDICATE = "https://sigstore.dev/cosign/sign/v1"


def statement(hex_digest: str, name: str = "registry.example/acme/app") -> bytes:
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": hex_digest}, "annotations": {}}],
        "predicateType": PREDICATE,
        "predicate": {},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


@pytest.fixture
def stack(sigstore_stack: SigstoreStack) -> Iterator[SigstoreStack]:
    sigstore_stack.clear_faults()
    sigstore_stack.reset_stats()
    yield sigstore_stack
    sigstore_stack.clear_faults()


@pytest.fixture
def trust(stack: SigstoreStack) -> Trust:
    return load_trust(TrustOptions(trust_config=stack.trust_config))


@pytest.fixture
def identity(github_actions_env: dict[str, str]) -> IdentityToken:
    """A token fetched by `id` from the stack's GitHub Actions OIDC endpoint."""
    return resolve_identity_token(None, now=datetime.now(timezone.utc))


def check_legacy_parts(signed: SignedPayload, trusted_root: Path) -> None:
    """cosign's legacy checks, written out: SET, logged body, certificate, signature, timestamp."""
    rekor = signed.rekor
    root = json.loads(trusted_root.read_text())
    keys = {
        hashlib.sha256(der).hexdigest(): der
        for der in (base64.b64decode(t["publicKey"]["rawBytes"]) for t in root["tlogs"])
    }
    log_key = load_der_public_key(keys[rekor.log_id])
    assert isinstance(log_key, ec.EllipticCurvePublicKey)
    signed_fields: dict[str, str | int] = {
        "body": rekor.body,
        "integratedTime": rekor.integrated_time,
        "logID": rekor.log_id,
        "logIndex": rekor.log_index,
    }
    set_bytes = base64.b64decode(rekor.signed_entry_timestamp)
    log_key.verify(set_bytes, rfc8785.dumps(signed_fields), ec.ECDSA(hashes.SHA256()))
    tampered = rfc8785.dumps({**signed_fields, "logIndex": rekor.log_index + 1})
    with pytest.raises(InvalidSignature):  # the check can fail: another index is not signed
        log_key.verify(set_bytes, tampered, ec.ECDSA(hashes.SHA256()))

    body = json.loads(base64.b64decode(rekor.body))
    assert (body["kind"], body["apiVersion"]) == ("hashedrekord", "0.0.1")
    assert body["spec"]["data"]["hash"] == {
        "algorithm": "sha256",
        "value": hashlib.sha256(signed.payload).hexdigest(),
    }
    assert body["spec"]["signature"]["content"] == base64.b64encode(signed.signature).decode()
    logged_cert = x509.load_pem_x509_certificate(
        base64.b64decode(body["spec"]["signature"]["publicKey"]["content"])
    )
    leaf = x509.load_pem_x509_certificate(signed.certificate_pem.encode())
    assert logged_cert == leaf
    leaf_key = leaf.public_key()
    assert isinstance(leaf_key, ec.EllipticCurvePublicKey)
    leaf_key.verify(signed.signature, signed.payload, ec.ECDSA(hashes.SHA256()))
    assert leaf.not_valid_before_utc.timestamp() <= rekor.integrated_time
    assert rekor.integrated_time <= leaf.not_valid_after_utc.timestamp()

    assert signed.rfc3161_timestamp is not None
    stamp = decode_timestamp_response(signed.rfc3161_timestamp)
    imprint = stamp.tst_info.message_imprint.message
    assert imprint == hashlib.sha256(signed.signature).digest()


def test_one_certificate_signs_a_whole_run_and_everything_verifies(
    stack: SigstoreStack,
    trust: Trust,
    identity: IdentityToken,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
) -> None:
    signer = KeylessSigner(trust, identity)
    payloads = [f'{{"payload":{i}}}'.encode() for i in range(5)]
    signed = [signer.sign_payload(p) for p in payloads]
    statements = [statement(hashlib.sha256(p).hexdigest()) for p in payloads]
    bundles = [signer.sign_statement(s) for s in statements]

    assert stack.requests(CERT_ROUTE) == 1
    assert stack.stats()["responses"].get(ENTRIES_201) == 10
    assert len({s.certificate_pem for s in signed}) == 1
    assert len({s.rekor.log_index for s in signed}) == 5
    fulcio, rekor, tsa = signer.stats()
    assert (fulcio.calls, fulcio.attempts, rekor.calls, rekor.retries) == (1, 1, 10, 0)
    assert tsa.calls == 10

    verifier = Verifier(trusted_root=trust.trusted_root)
    who = policy.Identity(identity=github_oidc.san, issuer=github_oidc.issuer)
    for payload, one in zip(payloads, signed, strict=True):
        check_legacy_parts(one, stack.trusted_root)
        verifier.verify_artifact(payload, Bundle.from_json(one.bundle_json), who)
        entry = json.loads(one.bundle_json)["verificationMaterial"]["tlogEntries"][0]
        assert one.rekor.log_index == int(entry["logIndex"])
        by_index = http_call("GET", f"{stack.url}/api/v1/log/entries?logIndex={entry['logIndex']}")
        assert next(iter(by_index.json().values()))["body"] == one.rekor.body
    for raw, bundle in zip(statements, bundles, strict=True):
        payload_type, payload = verifier.verify_dsse(Bundle.from_json(bundle), who)
        assert (payload_type, payload) == ("application/vnd.in-toto+json", raw)

    for i, (payload, one, bundle) in enumerate(zip(payloads, signed, bundles, strict=True)):
        artifact, legacy, dsse = tmp_path / f"p{i}", tmp_path / f"p{i}.json", tmp_path / f"s{i}"
        artifact.write_bytes(payload)
        legacy.write_bytes(one.bundle_json)
        dsse.write_bytes(bundle)
        digest = f"sha256:{hashlib.sha256(payload).hexdigest()}"
        for path, kind in ((legacy, "artifact"), (dsse, "digest")):
            verdict = node_verifier(
                path,
                san=github_oidc.san,
                issuer=github_oidc.issuer,
                artifact=artifact if kind == "artifact" else None,
                digest=digest if kind == "digest" else None,
            )
            assert verdict.ok, verdict.output


def test_the_node_verifier_rejects_a_payload_that_was_not_signed(
    stack: SigstoreStack,
    trust: Trust,
    identity: IdentityToken,
    github_oidc: GitHubOidc,
    node_verifier: NodeVerifier,
    tmp_path: Path,
) -> None:
    signed = KeylessSigner(trust, identity).sign_payload(b"signed")
    bundle, other = tmp_path / "b.json", tmp_path / "other"
    bundle.write_bytes(signed.bundle_json)
    other.write_bytes(b"not signed")
    verdict = node_verifier(bundle, san=github_oidc.san, issuer=github_oidc.issuer, artifact=other)
    assert not verdict.ok


def test_eight_threads_share_one_certificate(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken
) -> None:
    signer = KeylessSigner(trust, identity)

    def work(i: int) -> str:
        payload = f"artifact {i}".encode()
        if i % 2:
            bundle = json.loads(
                signer.sign_statement(statement(hashlib.sha256(payload).hexdigest()))
            )
            raw: str = bundle["verificationMaterial"]["certificate"]["rawBytes"]
            leaf = x509.load_der_x509_certificate(base64.b64decode(raw))
            return leaf.public_bytes(Encoding.PEM).decode()
        return signer.sign_payload(payload).certificate_pem

    with ThreadPoolExecutor(max_workers=8) as pool:
        certificates = list(pool.map(work, range(32)))
    assert stack.requests(CERT_ROUTE) == 1
    assert len(set(certificates)) == 1
    assert stack.stats()["responses"].get(ENTRIES_201) == 32
    assert signer.stats()[1].calls == 32


def test_a_statement_without_subject_names_is_refused_before_any_request(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken
) -> None:
    doc: dict[str, Any] = json.loads(statement("ab" * 32))
    del doc["subject"][0]["name"]
    with pytest.raises(InputError, match="in-toto statement") as caught:
        KeylessSigner(trust, identity).sign_statement(json.dumps(doc).encode())
    assert '"name"' in caught.value.expected
    assert stack.stats()["requests"] == {}


# Faults: programmed into the stack through /__faults; time comes from the signer's `clock`.

FAST = ServiceOptions(retry=RetryPolicy(attempts=3, base=0.02, cap=0.1, deadline=30.0))
ENTRIES = "/api/v1/log/entries"


class Clock:
    """Real time plus an offset the test moves."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


def test_rekor_answering_503_twice_still_signs_and_reports_the_retries(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken
) -> None:
    signer = KeylessSigner(trust, identity, options=FAST)
    stack.fault(ENTRIES, method="POST", status=503, count=2)
    signed = signer.sign_payload(b"payload")
    check_legacy_parts(signed, stack.trusted_root)
    rekor = signer.stats()[1]
    assert (rekor.calls, rekor.attempts, rekor.retries) == (1, 3, 2)
    assert rekor.summary() == "Rekor: 1 call, 2 retries after HTTP 503"
    responses = stack.stats()["responses"]
    assert responses.get("POST /api/v1/log/entries 503") == 2
    assert responses.get(ENTRIES_201) == 1


def test_fulcio_429_with_retry_after_is_waited_out(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken
) -> None:
    waits: list[float] = []  # an injected sleep: the wait is asked for, not waited out
    signer = KeylessSigner(trust, identity, options=FAST, sleep=waits.append)
    stack.fault("/api/v2/signingCert", status=429, retry_after="1")
    signer.certificate()
    assert waits == [1.0]
    assert signer.stats()[0].summary() == "Fulcio: 1 call, 1 retry after HTTP 429"
    assert stack.stats()["responses"].get("POST /api/v2/signingCert 200") == 1


def test_rekor_failing_for_good_is_unreachable_after_bounded_attempts(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken
) -> None:
    signer = KeylessSigner(trust, identity, options=FAST)
    stack.fault(ENTRIES, method="POST", status=503, count=100)
    with pytest.raises(UnreachableError) as caught:
        signer.sign_payload(b"payload")
    error = caught.value
    assert isinstance(error, ServiceUnreachable)
    assert (error.service, error.status, error.attempts) == (Service.REKOR, 503, 3)
    assert error.what == "cannot reach Rekor: gave up after 3 attempts"
    assert error.where == f"POST {stack.url}{ENTRIES}"
    assert error.found.startswith("HTTP 503")
    assert stack.requests(f"POST {ENTRIES}") == 3
    assert signer.stats()[1].failed == 1


def test_an_upload_that_landed_but_timed_out_is_recovered_from_the_409(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken, github_oidc: GitHubOidc
) -> None:
    # The first upload is held 0.45 s by the stack, so the client's 0.25 s read timeout fires;
    # the entry is logged at 0.45 s, and the retry (after 0.5-1 s of backoff) meets a 409.
    slow_reader = ServiceOptions(
        retry=RetryPolicy(attempts=3, base=1.0, cap=2.0, deadline=30.0), timeout=(5.0, 0.25)
    )
    signer = KeylessSigner(trust, identity, options=slow_reader)
    signer.certificate()
    before = stack.stats()["rekor"]["entries"]
    stack.fault(ENTRIES, method="POST", status=None, delay_ms=450)
    signed = signer.sign_payload(b"payload")
    after = stack.stats()
    assert after["rekor"]["entries"] == before + 1
    assert after["responses"].get("POST /api/v1/log/entries 409") == 1
    assert after["responses"].get("GET /api/v1/log/entries/{uuid} 200") == 1
    rekor = signer.stats()[1]
    assert (rekor.retries, rekor.reasons, rekor.recovered) == (1, (("ReadTimeout", 1),), 1)
    check_legacy_parts(signed, stack.trusted_root)
    who = policy.Identity(identity=github_oidc.san, issuer=github_oidc.issuer)
    verifier = Verifier(trusted_root=trust.trusted_root)
    verifier.verify_artifact(b"payload", Bundle.from_json(signed.bundle_json), who)


def test_a_tsa_that_keeps_failing_leaves_the_timestamp_out_and_is_counted(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken
) -> None:
    signer = KeylessSigner(trust, identity, options=FAST)
    stack.fault("/api/v1/timestamp", status=503, count=100)
    signed = signer.sign_payload(b"payload")
    assert signed.rfc3161_timestamp is None
    tsa = signer.stats()[2]
    assert (tsa.attempts, tsa.failed) == (3, 1)
    assert signed.rekor.signed_entry_timestamp  # the SET still proves the signing time


def test_a_certificate_near_expiry_is_replaced(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken
) -> None:
    clock = Clock()
    signer = KeylessSigner(trust, identity, clock=clock)
    first = signer.certificate()
    clock.offset = first.not_valid_after_utc - clock() - RENEW_BEFORE - timedelta(seconds=5)
    assert signer.sign_payload(b"one").certificate_pem == pem(first)
    assert stack.requests(CERT_ROUTE) == 1
    clock.offset += timedelta(seconds=35)  # now 30 s before expiry
    second = x509.load_pem_x509_certificate(signer.sign_payload(b"two").certificate_pem.encode())
    assert stack.requests(CERT_ROUTE) == 2
    assert second != first
    assert second.public_key() != first.public_key()  # a new ephemeral key too
    assert signer.stats()[0].calls == 2


def test_an_expired_token_is_renewed_for_a_new_certificate_when_possible(
    stack: SigstoreStack, trust: Trust, github_oidc: GitHubOidc, identity: IdentityToken
) -> None:
    now = datetime.now(timezone.utc)
    short = parse_identity_token(github_oidc.mint(exp=int(now.timestamp()) + 120), now=now)
    clock = Clock()
    renewed: list[IdentityToken] = []

    def renew() -> IdentityToken:
        renewed.append(resolve_identity_token(None, now=datetime.now(timezone.utc)))
        return renewed[-1]

    signer = KeylessSigner(trust, short, renew_identity=renew, clock=clock)
    first = signer.certificate()
    clock.offset = first.not_valid_after_utc - clock() - timedelta(seconds=30)
    signer.sign_payload(b"payload")
    assert len(renewed) == 1
    assert signer.identity is renewed[0]
    assert stack.requests(CERT_ROUTE) == 2

    stuck = KeylessSigner(trust, short, clock=clock)
    with pytest.raises(InputError, match="identity token has expired"):
        stuck.sign_payload(b"payload")


def test_the_token_never_appears_in_an_error(
    stack: SigstoreStack, trust: Trust, identity: IdentityToken, github_oidc: GitHubOidc
) -> None:
    token = identity.token.reveal()
    errors: list[BaseException] = []
    # A Fulcio that echoes the token in its refusal, and a Rekor that does in its 503s.
    for path, status in (("/api/v2/signingCert", 401), (ENTRIES, 503)):
        spec = {"path": path, "status": status, "count": 10, "message": f"bad token {token}"}
        http_call("POST", f"{stack.url}/__faults", json.dumps(spec).encode())
        with pytest.raises(ShipsignError) as caught:
            KeylessSigner(trust, identity, options=FAST).sign_payload(b"payload")
        errors.append(caught.value)
        stack.clear_faults()
    now = datetime.now(timezone.utc)
    short = parse_identity_token(github_oidc.mint(exp=int(now.timestamp()) + 15), now=now)
    clock = Clock()
    clock.offset = timedelta(minutes=1)
    with pytest.raises(InputError) as expired:
        KeylessSigner(trust, short, clock=clock).sign_payload(b"payload")
    errors.append(expired.value)

    assert isinstance(errors[0], InputError)
    assert "Fulcio refused" in errors[0].what
    assert errors[0].found.startswith('HTTP 401 "bad token ***')
    assert isinstance(errors[1], ServiceUnreachable)
    assert errors[1].service is Service.REKOR
    for error in errors:
        assert isinstance(error, ShipsignError)
        text = "".join(traceback.format_exception(error))
        text += "".join([error.what, error.where, error.expected, error.found, error.hint])
        for secret in (token, short.token.reveal()):
            # no piece of it either: a truncated message must not leak the token's start
            pieces = {secret[i : i + 24] for i in range(0, len(secret) - 24, 8)}
            assert not [p for p in pieces if p in text]


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(Encoding.PEM).decode()

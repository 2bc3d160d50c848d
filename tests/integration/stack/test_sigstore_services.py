"""The stack's services one by one, over raw HTTP: the GitHub OIDC endpoint as a runner serves
it, the Fulcio and TSA adapters in server.mjs, and the digest arithmetic of verify.mjs."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import id as ambient
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from rfc3161_client import HashAlgorithm, TimestampRequestBuilder, decode_timestamp_response

from stack.oidc import WorkflowClaims
from stack.sigstore_stack import (
    NODE_STACK_DIR,
    GitHubOidc,
    SigstoreStack,
    http_call,
    require_node_stack,
    start_github_oidc,
)


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_id_gets_a_github_shaped_token_from_the_endpoint(
    github_oidc: GitHubOidc, github_actions_env: dict[str, str]
) -> None:
    token = ambient.detect_credential("sigstore")
    assert token is not None
    jwks = http_call("GET", f"{github_oidc.url}/.well-known/jwks").json()
    key = jwt.PyJWK(jwks["keys"][0])
    claims = jwt.decode(token, key, algorithms=["RS256"], audience="sigstore")
    assert claims["iss"] == "https://token.actions.githubusercontent.com"
    assert claims["sub"] == "repo:acme/app:ref:refs/tags/v1.2.3"
    assert claims["job_workflow_ref"] == "acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
    assert (claims["repository"], claims["repository_owner"]) == ("acme/app", "acme")
    assert claims["ref"] == "refs/tags/v1.2.3"
    assert claims["runner_environment"] == "github-hosted"
    assert claims["nbf"] <= claims["iat"] < claims["exp"]


def test_endpoint_refuses_missing_or_wrong_request_tokens(github_oidc: GitHubOidc) -> None:
    url = github_oidc.request_url + "&audience=sigstore"
    assert http_call("GET", url).status == 401
    assert http_call("GET", url, headers={"Authorization": "bearer not-the-token"}).status == 403
    good = http_call("GET", url, headers={"Authorization": f"bearer {github_oidc.request_token}"})
    assert good.status == 200
    assert _claims(good.json()["value"])["aud"] == "sigstore"
    no_audience = http_call(
        "GET",
        github_oidc.request_url,
        headers={"Authorization": f"bearer {github_oidc.request_token}"},
    )
    assert _claims(no_audience.json()["value"])["aud"] == "https://github.com/acme"


def test_claims_are_configurable_per_server(tmp_path: Path) -> None:
    workflow = WorkflowClaims(
        owner="octo", repo="tool", workflow_file="ci.yml", ref="refs/heads/main"
    )
    oidc = start_github_oidc(tmp_path, workflow)
    try:
        claims = _claims(oidc.mint(environment="prod", sha=None))
    finally:
        oidc.stop()
    assert oidc.san == "https://github.com/octo/tool/.github/workflows/ci.yml@refs/heads/main"
    assert claims["job_workflow_ref"] == "octo/tool/.github/workflows/ci.yml@refs/heads/main"
    assert claims["environment"] == "prod"
    assert "sha" not in claims


@pytest.mark.parametrize(
    ("claims", "status", "message"),
    [
        ({"aud": "somebody-else"}, 401, "audience"),
        ({"exp": 1_000_000_000}, 401, "expired"),
        ({"job_workflow_ref": None}, 400, "job_workflow_ref"),
    ],
)
def test_fulcio_refuses_tokens_fulcio_would_refuse(
    sigstore_stack: SigstoreStack,
    github_oidc: GitHubOidc,
    claims: dict[str, Any],
    status: int,
    message: str,
) -> None:
    token = github_oidc.mint(**claims)
    body = json.dumps({"certificateSigningRequest": "unused"}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answer = http_call("POST", f"{sigstore_stack.url}/api/v2/signingCert", body, headers)
    assert answer.status == status
    assert message in answer.json()["message"]


def test_tsa_answers_der_queries_with_whole_second_times_and_the_full_nonce(
    sigstore_stack: SigstoreStack,
) -> None:
    request = TimestampRequestBuilder().hash_algorithm(HashAlgorithm.SHA256).data(b"sig").build()
    assert request.nonce is not None
    assert request.nonce > 2**53  # beyond what a JavaScript number holds exactly
    headers = {"Content-Type": "application/timestamp-query"}
    answer = http_call(
        "POST", f"{sigstore_stack.url}/api/v1/timestamp", request.as_bytes(), headers
    )
    assert answer.status == 201
    info = decode_timestamp_response(answer.body).tst_info
    assert info.nonce == request.nonce
    assert info.gen_time.microsecond == 0
    assert (
        abs(
            (
                info.gen_time.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc)
            ).total_seconds()
        )
        < 60
    )
    wrong_type = http_call("POST", f"{sigstore_stack.url}/api/v1/timestamp", b"{}", {})
    assert wrong_type.status == 415


def test_digest_verification_agrees_with_node_crypto() -> None:
    """verify.mjs checks a signature over a bare digest with its own P-256 code: compare it
    with Node's own ECDSA on fresh keys, for good and bad signatures."""
    script = """
    import crypto from 'node:crypto';
    import { verifyDigest } from './lib/p256.mjs';
    const results = [];
    for (let i = 0; i < 8; i += 1) {
      const keys = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const message = crypto.randomBytes(40);
      const digest = crypto.createHash('sha256').update(message).digest();
      const sig = crypto.sign('sha256', message, keys.privateKey);
      const other = crypto.createHash('sha256').update(crypto.randomBytes(40)).digest();
      const key = keys.publicKey;
      results.push([verifyDigest(key, digest, sig), verifyDigest(key, other, sig)]);
    }
    console.log(JSON.stringify(results));
    """
    done = subprocess.run(
        [require_node_stack(), "--input-type=module", "-e", script],
        cwd=NODE_STACK_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout) == [[True, False]] * 8


def _p256_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _spki(cert: x509.Certificate | ec.EllipticCurvePrivateKey) -> bytes:
    public = cert.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_fulcio_v2_answers_200_with_json_as_go_clients_require(
    sigstore_stack: SigstoreStack, github_oidc: GitHubOidc
) -> None:
    """sigstore-go (cosign v3) treats anything but 200 from /api/v2/signingCert as a failure."""
    key = _p256_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    body = json.dumps({"certificateSigningRequest": base64.b64encode(csr).decode()}).encode()
    headers = {"Authorization": f"Bearer {github_oidc.mint()}", "Content-Type": "application/json"}
    answer = http_call("POST", f"{sigstore_stack.url}/api/v2/signingCert", body, headers)
    assert answer.status == 200
    chain = answer.json()["signedCertificateEmbeddedSct"]["chain"]["certificates"]
    leaf = x509.load_pem_x509_certificate(chain[0].encode())
    assert _spki(leaf) == _spki(key)


@pytest.mark.parametrize("encoding", [serialization.Encoding.PEM, serialization.Encoding.DER])
def test_fulcio_v1_answers_201_with_a_pem_chain_and_an_sct_header(
    sigstore_stack: SigstoreStack, github_oidc: GitHubOidc, encoding: serialization.Encoding
) -> None:
    """cosign v2 calls the legacy v1 API: 201, the chain as PEM text, `SCT` empty when embedded."""
    key = _p256_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    public = key.public_key().public_bytes(encoding, spki)
    body = json.dumps(
        {
            "publicKey": {"content": base64.b64encode(public).decode(), "algorithm": "ecdsa"},
            "signedEmailAddress": base64.b64encode(b"proof").decode(),
        }
    ).encode()
    headers = {"Authorization": f"Bearer {github_oidc.mint()}", "Content-Type": "application/json"}
    answer = http_call("POST", f"{sigstore_stack.url}/api/v1/signingCert", body, headers)
    assert answer.status == 201
    assert answer.headers.get("sct") == ""
    assert answer.headers.get("content-type") == "application/pem-certificate-chain"
    chain = x509.load_pem_x509_certificates(answer.body)
    assert len(chain) == 2
    assert _spki(chain[0]) == _spki(key)
    san = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [github_oidc.san]
    root = http_call("GET", f"{sigstore_stack.url}/api/v1/rootCert")
    assert root.status == 200
    assert x509.load_pem_x509_certificate(root.body) == chain[-1]


def test_fulcio_v1_refuses_a_request_without_a_key(
    sigstore_stack: SigstoreStack, github_oidc: GitHubOidc
) -> None:
    headers = {"Authorization": f"Bearer {github_oidc.mint()}", "Content-Type": "application/json"}
    answer = http_call("POST", f"{sigstore_stack.url}/api/v1/signingCert", b"{}", headers)
    assert answer.status == 400
    assert "publicKey.content" in answer.json()["message"]

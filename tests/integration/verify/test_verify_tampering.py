"""One flipped byte in any part of a valid legacy signature, pushed to a registry, is rejected by
`shipsign verify` with the check that covers that part.

Two valid bases: a real production signature from the interop corpus (GitHub Actions identity)
and a fresh one made on the local Sigstore stack.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from integration.verify.signed_images import CliRun, push_sig_image, run_cli, sign_legacy
from interop.corpus import case_signer, legacy_signature, load_case, trusted_root
from shipsign.formats.legacy_sig import decode_payload
from shipsign.keyless.signing import KeylessSigner
from shipsign.legacy_signature import LegacySignature
from shipsign.oci import Digest
from stack.raw_registry import RawClient
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

CASE = "legacy-doc-timoni-podinfo-gha"


def _flip(data: bytes, index: int) -> bytes:
    """`data` with the byte at `index` XOR 1 (a letter stays a letter, a digit a digit)."""
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


def _payload(sig: LegacySignature) -> LegacySignature:
    # inside docker-reference, so the payload still names the same image digest
    at = sig.payload.index(b'"docker-reference":"') + len(b'"docker-reference":"') + 2
    payload = _flip(sig.payload, at)
    return dataclasses.replace(sig, payload=payload, claims=decode_payload(payload))


def _signature(sig: LegacySignature) -> LegacySignature:
    raw = base64.b64decode(sig.signature)
    return dataclasses.replace(sig, signature=base64.b64encode(_flip(raw, len(raw) - 1)).decode())


def _certificate(sig: LegacySignature) -> LegacySignature:
    assert sig.certificate is not None
    der = x509.load_pem_x509_certificate(sig.certificate.encode()).public_bytes(Encoding.DER)
    # the last byte lies in the CA's signature over the certificate: the key inside is intact
    flipped = x509.load_der_x509_certificate(_flip(der, len(der) - 1))
    return dataclasses.replace(sig, certificate=flipped.public_bytes(Encoding.PEM).decode())


def _rekor(sig: LegacySignature, **changes: Any) -> LegacySignature:
    assert sig.rekor is not None
    return dataclasses.replace(sig, rekor=dataclasses.replace(sig.rekor, **changes))


def _set(sig: LegacySignature) -> LegacySignature:
    assert sig.rekor is not None
    raw = base64.b64decode(sig.rekor.signed_entry_timestamp)
    return _rekor(sig, signed_entry_timestamp=base64.b64encode(_flip(raw, len(raw) - 1)).decode())


def _body(sig: LegacySignature) -> LegacySignature:
    assert sig.rekor is not None
    body = base64.b64decode(sig.rekor.body)
    value = json.loads(body)["spec"]["data"]["hash"]["value"]
    at = body.index(value.encode())  # one hex digit of the logged payload hash
    return _rekor(sig, body=base64.b64encode(_flip(body, at)).decode())


def _integrated_time(sig: LegacySignature) -> LegacySignature:
    assert sig.rekor is not None
    return _rekor(sig, integrated_time=sig.rekor.integrated_time ^ 1)


def _log_index(sig: LegacySignature) -> LegacySignature:
    assert sig.rekor is not None
    return _rekor(sig, log_index=sig.rekor.log_index ^ 1)


def _inside_validity(sig: LegacySignature) -> bool:
    assert sig.certificate is not None
    assert sig.rekor is not None
    cert = x509.load_pem_x509_certificate(sig.certificate.encode())
    at = datetime.fromtimestamp(sig.rekor.integrated_time, tz=timezone.utc)
    return cert.not_valid_before_utc <= at <= cert.not_valid_after_utc


TAMPERING: dict[str, tuple[Callable[[LegacySignature], LegacySignature], set[str]]] = {
    # the signature and the logged hash cover the payload bytes
    "payload": (_payload, {"signature", "rekor_body"}),
    # the logged entry holds the signature as it was
    "signature": (_signature, {"signature", "rekor_body"}),
    # the chain check covers the CA's signature; the logged entry holds the certificate
    "certificate": (_certificate, {"certificate_chain", "rekor_body"}),
    "SET": (_set, {"rekor_set"}),
    # the SET covers the body; the body no longer logs this payload's hash
    "Rekor body": (_body, {"rekor_set", "rekor_body"}),
    "integratedTime": (_integrated_time, {"rekor_set"}),
    "logIndex": (_log_index, {"rekor_set"}),
}


@pytest.fixture(params=["interop", "stack"])
def valid(
    request: pytest.FixtureRequest, registry: Registry, repo: str
) -> tuple[LegacySignature, Digest, list[str]]:
    """A valid legacy signature, the digest it signs, and the flags that verify it."""
    if request.param == "interop":
        case = load_case(CASE)
        named = case_signer(case)
        assert named is not None
        identity, issuer = named
        assert issuer is not None
        sig = legacy_signature(case)
        assert sig.claims is not None
        flags = ["--certificate-identity", identity]
        flags += ["--certificate-oidc-issuer", issuer]
        flags += ["--trusted-root", str(trusted_root(case))]
        return sig, Digest.parse(sig.claims.docker_manifest_digest), flags
    signer: KeylessSigner = request.getfixturevalue("signer")
    oidc: GitHubOidc = request.getfixturevalue("github_oidc")
    stack: SigstoreStack = request.getfixturevalue("sigstore_stack")
    digest = Digest.of(b"an image manifest that need not exist")
    sig = sign_legacy(signer, f"{registry.host}/{repo}", digest)
    flags = ["--certificate-identity", oidc.san, "--certificate-oidc-issuer", oidc.issuer]
    return sig, digest, [*flags, "--trusted-root", str(stack.trusted_root)]


def _verify(
    capsys: pytest.CaptureFixture[str],
    registry: Registry,
    repo: str,
    sig: LegacySignature,
    digest: Digest,
    flags: list[str],
    *output: str,
) -> CliRun:
    push_sig_image(RawClient(registry, repo), digest, [sig])
    image = f"{registry.host}/{repo}@{digest}"
    return run_cli(capsys, ["verify", image, "--insecure-registry", registry.host, *flags, *output])


def test_untampered_signature_verifies(
    valid: tuple[LegacySignature, Digest, list[str]],
    registry: Registry,
    repo: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sig, digest, flags = valid
    run = _verify(capsys, registry, repo, sig, digest, flags)
    assert run.code == 0, run.out + run.err


@pytest.mark.parametrize("part", list(TAMPERING))
def test_one_flipped_byte_is_rejected(
    part: str,
    valid: tuple[LegacySignature, Digest, list[str]],
    registry: Registry,
    repo: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sig, digest, flags = valid
    tamper, expected = TAMPERING[part]
    tampered = tamper(sig)
    assert tampered != sig
    if part == "integratedTime" and not _inside_validity(tampered):
        expected = expected | {"signing_time"}  # one second before the certificate was issued
    run = _verify(capsys, registry, repo, tampered, digest, flags, "--output", "json")
    why = f"exit {run.code}\n{run.out}\n{run.err}"
    assert run.code == 1, why
    assert run.failed_checks() == expected, why
    for failure in run.failures():
        assert failure["expected"], failure
        assert failure["found"], failure
        assert f"{digest.tag_form}.sig" not in failure["where"]  # names the part, in the layer
        assert failure["where"].startswith(".sig layer sha256:"), failure
    text = _verify(capsys, registry, repo, tampered, digest, flags)
    assert text.code == 1
    assert "1 signature found, none matched:" in text.out
    for check in expected:
        assert f"check {check} failed" in text.out

"""`shipsign sign` on one image, both formats: the exact bytes it leaves in the registry (the
`.sig` manifest, its config blob, the payload and annotations, the bundle artifact manifest and
the referrers fallback index, as formats.md §1, §3 show them), the legacy SET and signature
checked here independently (cryptography + rfc8785 + the trusted root's keys), and the bundle
checked by @sigstore/verify."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, load_der_public_key

from integration.sign.helpers import (
    BUNDLE_TYPE,
    SIMPLE_SIGNING,
    assert_no_secrets,
    get_blob,
    get_manifest,
    push_image,
    run_cli,
)
from stack.fault_proxy import FaultProxy
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, NodeVerifier, SigstoreStack

EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
PREDICATE = "https://sigstore.dev/cosign/sign/v1"
ZERO = "0001-01-01T00:00:00Z"
CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def compact(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def trusted_root(stack: SigstoreStack) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(stack.trusted_root.read_text())
    return doc


def fulcio_chain_pem(stack: SigstoreStack) -> str:
    """The stack's Fulcio chain (intermediates then root) as PEM, read straight from the file."""
    [authority] = trusted_root(stack)["certificateAuthorities"]
    certs = [
        x509.load_der_x509_certificate(base64.b64decode(c["rawBytes"]))
        for c in authority["certChain"]["certificates"]
    ]
    return "".join(c.public_bytes(Encoding.PEM).decode() for c in certs)


def check_set_and_signature(stack: SigstoreStack, payload: bytes, ann: dict[str, str]) -> int:
    """cosign's legacy checks written out; returns the log index."""
    rekor = json.loads(ann["dev.sigstore.cosign/bundle"])
    assert list(rekor) == ["SignedEntryTimestamp", "Payload"]
    body_fields = rekor["Payload"]
    assert list(body_fields) == ["body", "integratedTime", "logIndex", "logID"]
    assert isinstance(body_fields["integratedTime"], int)
    assert isinstance(body_fields["logIndex"], int)
    keys = {
        hashlib.sha256(der).hexdigest(): der
        for der in (
            base64.b64decode(t["publicKey"]["rawBytes"]) for t in trusted_root(stack)["tlogs"]
        )
    }
    log_key = load_der_public_key(keys[body_fields["logID"]])
    assert isinstance(log_key, ec.EllipticCurvePublicKey)
    signed = rfc8785.dumps(body_fields)
    set_bytes = base64.b64decode(rekor["SignedEntryTimestamp"])
    log_key.verify(set_bytes, signed, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):  # the check can fail: another index is not signed
        log_key.verify(
            set_bytes,
            rfc8785.dumps({**body_fields, "logIndex": body_fields["logIndex"] + 1}),
            ec.ECDSA(hashes.SHA256()),
        )
    body = json.loads(base64.b64decode(body_fields["body"]))
    assert (body["kind"], body["apiVersion"]) == ("hashedrekord", "0.0.1")
    assert body["spec"]["data"]["hash"] == {
        "algorithm": "sha256",
        "value": hashlib.sha256(payload).hexdigest(),
    }
    assert body["spec"]["signature"]["content"] == ann["dev.cosignproject.cosign/signature"]
    logged = base64.b64decode(body["spec"]["signature"]["publicKey"]["content"]).decode()
    assert logged == ann["dev.sigstore.cosign/certificate"]
    leaf = x509.load_pem_x509_certificate(logged.encode())
    leaf_key = leaf.public_key()
    assert isinstance(leaf_key, ec.EllipticCurvePublicKey)
    signature = base64.b64decode(ann["dev.cosignproject.cosign/signature"])
    leaf_key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        leaf_key.verify(signature, payload + b" ", ec.ECDSA(hashes.SHA256()))
    # the leaf was issued by the first certificate of the chain annotation
    issuer = x509.load_pem_x509_certificates(ann["dev.sigstore.cosign/chain"].encode())[0]
    issuer_key = issuer.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    assert leaf.signature_hash_algorithm is not None
    issuer_key.verify(
        leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm)
    )
    # no RFC 3161 timestamp on the layer: cosign < v2.6 refuses one it has no TSA roots for
    assert "dev.sigstore.cosign/rfc3161timestamp" not in ann
    index: int = body_fields["logIndex"]
    return index


def test_sign_writes_cosigns_exact_shapes(
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    github_oidc: GitHubOidc,
    token: str,
    summary: Path,
    node_verifier: NodeVerifier,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = push_image([registry], repo)
    hexdigest = digest.removeprefix("sha256:")
    image = f"{registry.host}/{repo}:v1"
    run = run_cli(
        capsys,
        summary,
        *("sign", "--trust-config", str(stack.trust_config), "--identity-token", token),
        *("--insecure-registry", registry.host, "--output", "json", image),
    )
    assert run.code == 0, run.out + run.err
    assert_no_secrets(run, token)
    report = run.json()
    assert report["images"][0]["digest"] == digest  # the tag was resolved, the digest printed
    by_format = {s["format"]: s for s in report["signatures"]}
    assert set(by_format) == {"bundle", "legacy"}
    assert all(s["status"] == "signed" and s["read_back"] == "verified" for s in by_format.values())

    # ---- legacy: .sig manifest, config blob, payload, annotations
    raw, sig = get_manifest(registry, repo, f"sha256-{hexdigest}.sig") or (b"", {})
    assert by_format["legacy"]["signature_manifest"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    [layer] = sig["layers"]
    payload = get_blob(registry, repo, layer["digest"])
    assert payload == compact(
        {
            "critical": {
                "identity": {"docker-reference": f"{registry.host}/{repo}"},
                "image": {"docker-manifest-digest": digest},
                "type": "cosign container image signature",
            },
            "optional": None,
        }
    )
    ann = layer["annotations"]
    assert list(ann) == [
        "dev.cosignproject.cosign/signature",
        "dev.sigstore.cosign/bundle",
        "dev.sigstore.cosign/certificate",
        "dev.sigstore.cosign/chain",
    ]
    assert ann["dev.sigstore.cosign/chain"] == fulcio_chain_pem(stack)
    config = get_blob(registry, repo, sig["config"]["digest"])
    assert config == compact(
        {
            "architecture": "",
            "created": ZERO,
            "history": [{"created": ZERO}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
            "config": {},
        }
    )
    assert len(config) == 233  # formats.md §1.6
    assert raw == compact(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": 233,
                "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
            },
            "layers": [
                {
                    "mediaType": SIMPLE_SIGNING,
                    "size": len(payload),
                    "digest": "sha256:" + hashlib.sha256(payload).hexdigest(),
                    "annotations": ann,
                }
            ],
        }
    )
    index = check_set_and_signature(stack, payload, ann)
    assert by_format["legacy"]["rekor_log_index"] == index
    assert by_format["bundle"]["referrers"] == "fallback-tag"

    # ---- bundle: referrer manifest, fallback index, bundle, statement
    raw_index, fallback = get_manifest(registry, repo, f"sha256-{hexdigest}") or (b"", {})
    [entry] = fallback["manifests"]
    raw_ref, referrer = get_manifest(registry, repo, entry["digest"]) or (b"", {})
    assert by_format["bundle"]["signature_manifest"] == entry["digest"]
    bundle = get_blob(registry, repo, referrer["layers"][0]["digest"])
    created = referrer["annotations"]["org.opencontainers.image.created"]
    assert CREATED.match(created)
    annotations = {
        "dev.sigstore.bundle.content": "dsse-envelope",
        "dev.sigstore.bundle.predicateType": PREDICATE,
        "org.opencontainers.image.created": created,
    }
    subject = get_manifest(registry, repo, digest)
    assert subject is not None
    assert raw_ref == compact(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
                       "digest": EMPTY_DIGEST},
            "layers": [
                {"mediaType": BUNDLE_TYPE, "size": len(bundle),
                 "digest": "sha256:" + hashlib.sha256(bundle).hexdigest()}
            ],
            "annotations": annotations,
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "size": len(subject[0]), "digest": digest},
            "artifactType": BUNDLE_TYPE,
        }
    )  # fmt: skip
    assert get_blob(registry, repo, EMPTY_DIGEST) == b"{}"
    assert raw_index == compact(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "size": len(raw_ref), "digest": entry["digest"], "annotations": annotations,
                 "artifactType": BUNDLE_TYPE}
            ],
        }
    )  # fmt: skip
    doc = json.loads(bundle)
    assert doc["mediaType"] == BUNDLE_TYPE
    assert doc["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    assert base64.b64decode(doc["dsseEnvelope"]["payload"]) == compact(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": None, "digest": {"sha256": hexdigest}, "annotations": {}}],
            "predicateType": PREDICATE,
            "predicate": {},
        }
    )
    assert (
        int(doc["verificationMaterial"]["tlogEntries"][0]["logIndex"])
        == (by_format["bundle"]["rekor_log_index"])
    )
    path = tmp_path / "bundle.json"
    path.write_bytes(bundle)
    verdict = node_verifier(path, san=github_oidc.san, issuer=github_oidc.issuer, digest=digest)
    assert verdict.ok, verdict.output
    other = "sha256:" + "0" * 64
    refused = node_verifier(path, san=github_oidc.san, issuer=github_oidc.issuer, digest=other)
    assert not refused.ok

    # ---- the step summary names both signatures
    assert "### shipsign sign" in run.summary
    assert run.summary.count(f"`{registry.host}/{repo}@{digest}`") == 2


def test_annotations_go_into_both_signed_claims(
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = push_image([registry], repo)
    image = f"{registry.host}/{repo}@{digest}"
    argv = ["sign", "--trust-config", str(stack.trust_config), "--identity-token", token]
    argv += ["--insecure-registry", registry.host, "--no-verify", "--output", "json"]
    run = run_cli(capsys, summary, *argv, "-a", "team=core", "--annotation", "build=42", image)
    assert run.code == 0, run.out + run.err
    assert_no_secrets(run, token)
    [layer] = sig_layers_of(registry, repo, digest)
    payload = json.loads(get_blob(registry, repo, layer["digest"]))
    assert payload["optional"] == {"build": "42", "team": "core"}
    assert list(payload["optional"]) == ["build", "team"]  # Go map order: sorted
    [entry] = get_manifest(registry, repo, digest.replace(":", "-"))[1]["manifests"]  # type: ignore[index]
    referrer = get_manifest(registry, repo, entry["digest"])
    assert referrer is not None
    bundle = json.loads(get_blob(registry, repo, referrer[1]["layers"][0]["digest"]))
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    assert statement["subject"][0]["annotations"] == {"build": "42", "team": "core"}

    # Without the annotations this is another signature, not the one already there.
    run = run_cli(capsys, summary, *argv, image)
    assert run.code == 0, run.out + run.err
    assert [s["status"] for s in run.json()["signatures"]] == ["signed", "signed"]
    assert len(sig_layers_of(registry, repo, digest)) == 2
    # With them again, it is: nothing is added.
    run = run_cli(capsys, summary, *argv, "-a", "build=42", "-a", "team=core", image)
    assert run.code == 0, run.out + run.err
    assert [s["status"] for s in run.json()["signatures"]] == ["skipped", "skipped"]
    assert len(sig_layers_of(registry, repo, digest)) == 2
    assert len(get_manifest(registry, repo, digest.replace(":", "-"))[1]["manifests"]) == 2  # type: ignore[index]


def sig_layers_of(registry: Registry, repo: str, digest: str) -> list[dict[str, Any]]:
    found = get_manifest(registry, repo, digest.replace(":", "-") + ".sig")
    assert found is not None
    return list(found[1]["layers"])


def test_a_malformed_annotation_is_bad_input(
    registry: Registry, repo: str, token: str, summary: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_cli(
        capsys,
        summary,
        *("sign", "--identity-token", token, "-a", "no-equals-sign"),
        f"{registry.host}/{repo}:v1",
    )
    assert run.code == 2
    assert "invalid annotation 'no-equals-sign'" in run.err
    assert_no_secrets(run, token)


def test_a_registry_with_the_referrers_api_keeps_the_list_itself(
    fault_proxy: FaultProxy,
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fault_proxy.serve_referrers = True  # the proxy answers GET /v2/<name>/referrers/<digest>
    digest = push_image([registry], repo)
    proxy = fault_proxy.registry
    run = run_cli(
        capsys,
        summary,
        *("sign", "--trust-config", str(stack.trust_config), "--identity-token", token),
        *("--insecure-registry", proxy.host, "--format", "bundle", "--output", "json"),
        f"{proxy.host}/{repo}@{digest}",
    )
    assert run.code == 0, run.out + run.err
    [signature] = run.json()["signatures"]
    assert (signature["referrers"], signature["read_back"]) == ("api", "verified")
    assert get_manifest(registry, repo, digest.replace(":", "-")) is None  # no fallback tag
    assert get_manifest(registry, repo, signature["signature_manifest"]) is not None
    assert get_manifest(registry, repo, digest.replace(":", "-") + ".sig") is None  # bundle only
    puts = [path for method, path, _ in fault_proxy.requests if method == "PUT"]
    assert f"/v2/{repo}/manifests/{signature['signature_manifest']}" in puts
    assert_no_secrets(run, token)

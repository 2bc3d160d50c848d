"""Build signed images on a test registry without `shipsign sign`: images, legacy `.sig`
manifests and bundle referrers pushed with RawClient, signatures made with KeylessSigner (or
taken from the interop corpus), and `shipsign verify` run in-process with its output parsed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Protocol

from integration.referrer_writes import add_referrer
from shipsign.cli import main
from shipsign.formats.bundle_ref import build_bundle_artifact
from shipsign.formats.legacy_sig import RFC3161_ANNOTATION, build_payload, decode_legacy_signature
from shipsign.formats.sig_manifest import build_signature_image
from shipsign.keyless.signing import KeylessSigner, SignedPayload
from shipsign.legacy_signature import LegacySignature
from shipsign.oci import Descriptor, Digest, Manifest, Registries, Repository
from shipsign.oci.media import OCI_MANIFEST, referrer_descriptor
from stack.raw_registry import RawClient
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

if TYPE_CHECKING:
    import pytest

__all__ = [
    "CliRun",
    "Image",
    "Verify",
    "cosign_statement",
    "legacy_from_signed",
    "new_image",
    "push_bundle_referrer",
    "push_image",
    "push_sig_image",
    "run_cli",
    "sign_bundle",
    "sign_image",
    "sign_legacy",
    "subject_of",
    "verify_on_stack",
    "why",
]

COSIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


@dataclass(frozen=True)
class CliRun:
    """What `shipsign ...` returned and printed."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def failures(self) -> list[dict[str, str]]:
        """Every failure of every signature of every image (and platform) in the JSON output."""
        found: list[dict[str, str]] = []

        def walk(image: dict[str, Any]) -> None:
            for sig in image["signatures"]:
                found.extend(sig["failures"])
            for child in image.get("platforms", []):
                walk(child)

        doc = self.json()
        if "images" not in doc:  # verify-blob
            return list(doc["failures"])
        for image in doc["images"]:
            walk(image)
        return found

    def failed_checks(self) -> set[str]:
        return {f["check"] for f in self.failures()}


def run_cli(capsys: pytest.CaptureFixture[str], argv: Sequence[str]) -> CliRun:
    """Run `shipsign argv` in-process; return its exit code and output."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return CliRun(code=code, out=captured.out, err=captured.err)


def push_image(raw: RawClient, tag: str | None = None) -> tuple[Digest, bytes]:
    """Push a small image with a random layer; return its digest and manifest bytes."""
    manifest = raw.push_image(tag or f"t{secrets.token_hex(4)}", layer=os.urandom(64))
    return Digest.of(manifest), manifest


def push_sig_image(raw: RawClient, digest: Digest, signatures: Sequence[LegacySignature]) -> str:
    """Push a `.sig` manifest (one layer per signature) for `digest`; return its tag."""
    image = build_signature_image(signatures)
    for _, data in image.blobs:
        raw.push_blob(data)
    tag = f"{digest.tag_form}.sig"
    raw.push_manifest(tag, image.manifest.raw, image.manifest.media_type)
    return tag


def push_bundle_referrer(
    raw: RawClient,
    subject: Descriptor,
    bundle_json: bytes,
    *,
    fallback: Registries | None = None,
) -> Manifest:
    """Push `bundle_json` as a cosign v3 referrer of `subject` (by digest).

    With `fallback`, also list it in the `sha256-<hex>` referrers tag through our OCI client
    (for a registry without the referrers API); without, the registry (or the fault proxy
    with `serve_referrers`) must list it.
    """
    artifact = build_bundle_artifact(
        bundle_json, subject=subject, created=datetime.now(timezone.utc)
    )
    for _, data in artifact.blobs:
        raw.push_blob(data)
    raw.push_manifest(str(artifact.manifest.digest), artifact.manifest.raw)
    if fallback is not None:
        repo = Repository.parse(f"{raw.registry.host}/{raw.repo}")
        client = fallback.client(repo.registry)
        add_referrer(client, repo, subject.digest, referrer_descriptor(artifact.manifest))
    return artifact.manifest


def subject_of(manifest: bytes, media_type: str = OCI_MANIFEST) -> Descriptor:
    return Descriptor(media_type=media_type, digest=Digest.of(manifest), size=len(manifest))


def legacy_from_signed(signed: SignedPayload, *, chain: str = "") -> LegacySignature:
    """The `.sig` layer cosign writes for a signed payload (formats.md §1.4)."""
    annotations = {
        "dev.cosignproject.cosign/signature": base64.b64encode(signed.signature).decode(),
        "dev.sigstore.cosign/certificate": signed.certificate_pem,
        "dev.sigstore.cosign/chain": chain,
    }
    if signed.rfc3161_timestamp is not None:
        stamp = base64.b64encode(signed.rfc3161_timestamp).decode()
        annotations[RFC3161_ANNOTATION] = json.dumps({"SignedRFC3161Timestamp": stamp})
    sig = decode_legacy_signature(signed.payload, annotations)
    return LegacySignature(
        payload=sig.payload,
        claims=sig.claims,
        signature=sig.signature,
        certificate=sig.certificate,
        chain=sig.chain,
        rekor=signed.rekor,
        rfc3161_timestamp=sig.rfc3161_timestamp,
    )


def sign_legacy(signer: KeylessSigner, repository: str, digest: Digest) -> LegacySignature:
    """Sign `digest` the cosign legacy way: a simple-signing payload, logged in Rekor v1."""
    payload = build_payload(docker_reference=repository, docker_manifest_digest=str(digest))
    return legacy_from_signed(signer.sign_payload(payload))


def cosign_statement(repository: str, digest: Digest) -> bytes:
    """The in-toto statement `cosign sign` (v3) signs, with a subject name for sigstore-python."""
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": repository, "digest": {"sha256": digest.hex}, "annotations": {}}],
        "predicateType": COSIGN_PREDICATE,
        "predicate": {},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def sign_bundle(signer: KeylessSigner, repository: str, digest: Digest) -> bytes:
    """Sign `digest` the cosign v3 way: a DSSE bundle over the cosign sign statement."""
    return signer.sign_statement(cosign_statement(repository, digest))


@dataclass(frozen=True)
class Image:
    """An image pushed to a test registry."""

    registry: Registry
    repo: str
    digest: Digest
    manifest: bytes

    @property
    def repository(self) -> str:
        return f"{self.registry.host}/{self.repo}"

    @property
    def ref(self) -> str:
        return f"{self.repository}@{self.digest}"

    @property
    def raw(self) -> RawClient:
        return RawClient(self.registry, self.repo)


def new_image(registry: Registry, repo: str) -> Image:
    """Push a small image to `registry`/`repo`."""
    digest, manifest = push_image(RawClient(registry, repo))
    return Image(registry=registry, repo=repo, digest=digest, manifest=manifest)


def sign_image(image: Image, signer: KeylessSigner, fmt: str, pool: Registries | None) -> None:
    """Sign `image` in `fmt` ("legacy" or "bundle"; a bundle is listed through `pool`)."""
    if fmt == "legacy":
        push_sig_image(
            image.raw, image.digest, [sign_legacy(signer, image.repository, image.digest)]
        )
    else:
        bundle = sign_bundle(signer, image.repository, image.digest)
        push_bundle_referrer(image.raw, subject_of(image.manifest), bundle, fallback=pool)


def verify_on_stack(
    capsys: pytest.CaptureFixture[str],
    image: Image | str,
    oidc: GitHubOidc,
    stack: SigstoreStack,
    *flags: str,
    identity: bool = True,
) -> CliRun:
    """`shipsign verify IMAGE` trusting the local stack, as `oidc`'s workflow unless told."""
    ref = image.ref if isinstance(image, Image) else image
    host = ref.split("/")[0]
    argv = ["verify", ref, "--insecure-registry", host]
    if identity:
        argv += ["--certificate-identity", oidc.san, "--certificate-oidc-issuer", oidc.issuer]
    if "--trusted-root" not in flags:
        argv += ["--trusted-root", str(stack.trusted_root)]
    return run_cli(capsys, [*argv, *flags])


class Verify(Protocol):
    """`verify_on_stack` bound to its capsys, GitHub OIDC and stack (the `verify` fixture)."""

    def __call__(self, image: Image | str, *flags: str, identity: bool = True) -> CliRun: ...


def why(run: CliRun) -> str:
    """Everything a failed assertion should show."""
    return f"exit {run.code}\nstdout:\n{run.out}\nstderr:\n{run.err}"

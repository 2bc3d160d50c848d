"""Helpers for the `shipsign sign` tests: push test images with RawClient (not our client), run
the CLI in-process, read back what was written with plain HTTP, and check that no secret leaked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from shipsign.cli import main
from shipsign.formats.legacy_sig import build_payload
from shipsign.keyless.identity import parse_identity_token
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.keyless.trust_material import load_trust_material
from shipsign.legacy_signature import LegacySignature
from shipsign.oci import Digest, Repository
from shipsign.sign.legacy import legacy_signature
from stack.raw_registry import OCI_CONFIG, OCI_INDEX, OCI_LAYER, RawClient, build_manifest, sha256
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
_JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+")


@dataclass(frozen=True)
class PushedIndex:
    """A two-platform image index: its digest and its platform manifests' digests."""

    digest: str
    children: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return (self.digest, *self.children)


def push_index(registries: list[Registry], repo: str, tag: str = "v1") -> PushedIndex:
    """Push the same two-platform index (same bytes, same digests) to every registry."""
    digest = ""
    children: list[str] = []
    for reg in registries:
        client = RawClient(reg, repo)
        entries, children = [], []
        for arch in ("amd64", "arm64"):
            config = json.dumps({"architecture": arch, "os": "linux"}).encode()
            layer = f"{repo} layer for linux/{arch}\n".encode()
            client.push_blob(config)
            client.push_blob(layer)
            manifest = build_manifest((OCI_CONFIG, config), [(OCI_LAYER, layer)])
            children.append(client.push_manifest(sha256(manifest), manifest))
            entries.append(
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": sha256(manifest),
                    "size": len(manifest),
                    "platform": {"architecture": arch, "os": "linux"},
                }
            )
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        digest = client.push_manifest(tag, index.encode(), OCI_INDEX)
    return PushedIndex(digest=digest, children=tuple(children))


def push_image(registries: list[Registry], repo: str, tag: str = "v1") -> str:
    """Push one single-platform image (same bytes everywhere); return its digest."""
    digest = ""
    for reg in registries:
        manifest = RawClient(reg, repo).push_image(tag, layer=f"{repo} only layer\n".encode())
        digest = sha256(manifest)
    return digest


@dataclass(frozen=True)
class CliRun:
    """What `shipsign ...` returned and printed, and what it appended to the step summary."""

    code: int
    out: str
    err: str
    summary: str

    def json(self) -> Any:
        return json.loads(self.out)


def run_cli(capsys: pytest.CaptureFixture[str], summary: Path, *argv: str) -> CliRun:
    """Run `shipsign argv` in-process; `summary` is `$GITHUB_STEP_SUMMARY` (set by a fixture)."""
    before = summary.read_text() if summary.exists() else ""
    code = main(list(argv))
    captured = capsys.readouterr()
    after = summary.read_text() if summary.exists() else ""
    return CliRun(code=code, out=captured.out, err=captured.err, summary=after[len(before) :])


def assert_no_secrets(run: CliRun, *secrets: str) -> None:
    """No secret, and nothing shaped like a JWT, in stdout, stderr or the step summary."""
    for where, text in (("stdout", run.out), ("stderr", run.err), ("summary", run.summary)):
        for secret in secrets:
            assert secret, "an empty secret proves nothing"
            assert secret not in text, f"a secret leaked to {where}"
        assert _JWT.search(text) is None, f"a JWT leaked to {where}"


def get_manifest(reg: Registry, repo: str, ref: str) -> tuple[bytes, dict[str, Any]] | None:
    """The raw bytes and JSON of a manifest by tag or digest; None if absent."""
    resp = RawClient(reg, repo).get_manifest(ref)
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    return resp.content, resp.json()


def get_blob(reg: Registry, repo: str, digest: str) -> bytes:
    resp = RawClient(reg, repo).call("GET", f"blobs/{digest}")
    assert resp.status_code == 200, resp.text
    return resp.content


def sig_layers(reg: Registry, repo: str, digest: str) -> list[dict[str, Any]]:
    """The layers of the `.sig` manifest for `digest` (empty if there is none)."""
    found = get_manifest(reg, repo, digest.replace(":", "-") + ".sig")
    return [] if found is None else list(found[1]["layers"])


def bundle_referrers(reg: Registry, repo: str, digest: str) -> list[dict[str, Any]]:
    """The entries of the referrers fallback index for `digest` (empty if there is none)."""
    found = get_manifest(reg, repo, digest.replace(":", "-"))
    return [] if found is None else list(found[1]["manifests"])


class Signatures:
    """Legacy signatures over one digest, made on the local stack."""

    def __init__(self, stack: SigstoreStack, oidc: GitHubOidc) -> None:
        trust = load_trust(TrustOptions(trust_config=stack.trust_config, force_rekor_v1=True))
        token = parse_identity_token(oidc.mint(), now=datetime.now(timezone.utc))
        self._signer = KeylessSigner(trust, token)
        self._material = load_trust_material(trust.trusted_root)

    def make(self, repo: Repository, digest: Digest) -> LegacySignature:
        payload = build_payload(docker_reference=repo.name, docker_manifest_digest=str(digest))
        return legacy_signature(self._signer.sign_payload(payload), self._material)

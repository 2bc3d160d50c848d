"""Generated interop cases: what a real peer (cosign) just wrote to a local registry, saved in
the corpus layout (README of tests/interop/corpus) so the corpus's own judge checks it.

The case carries the local stack's trusted root (`trusted_root.json`), since its signatures
chain to the stack's Fulcio and Rekor, not to the public-good instance.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from interop.corpus import Case, load_case_at
from shipsign.formats.legacy_sig import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    SIGNATURE_ANNOTATION,
)
from stack.raw_registry import RawClient
from stack.registry import Registry


def _meta(kind: str, source: str, identity: dict[str, str] | None, **more: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "source": source,
        "kind": kind,
        "expected": "valid",
        "trust_root": "local-stack",
        **more,
    }
    if identity is not None:
        meta["identity"] = identity
    return meta


def _fetch(client: RawClient, path: str) -> bytes:
    resp = client.call("GET", path)
    assert resp.status_code == 200, f"GET {path}: {resp.status_code} {resp.text}"
    return resp.content


def save_legacy_case(
    folder: Path,
    *,
    registry: Registry,
    repo: str,
    image_digest: str,
    trusted_root: Path,
    source: str,
    identity: dict[str, str] | None = None,
    key_pem: bytes | None = None,
) -> list[Case]:
    """One case per layer of the digest's `.sig` manifest."""
    client = RawClient(registry, repo)
    manifest = client.get_manifest(image_digest.replace(":", "-") + ".sig")
    assert manifest.status_code == 200, manifest.text
    image = client.get_manifest(image_digest).content
    cases = []
    for number, layer in enumerate(manifest.json()["layers"]):
        case = folder / f"legacy-{number}"
        case.mkdir(parents=True)
        notes: dict[str, str] = layer.get("annotations", {})
        (case / "payload.json").write_bytes(_fetch(client, f"blobs/{layer['digest']}"))
        (case / "signature.b64").write_text(notes[SIGNATURE_ANNOTATION])
        for name, key in (
            ("cert.pem", CERTIFICATE_ANNOTATION),
            ("chain.pem", CHAIN_ANNOTATION),
            ("bundle.json", BUNDLE_ANNOTATION),
        ):
            if notes.get(key):
                (case / name).write_text(notes[key])
        (case / "sig-layer-descriptor.json").write_text(json.dumps(layer))
        (case / "image-manifest.json").write_bytes(image)
        if key_pem is not None:
            (case / "key.pub").write_bytes(key_pem)
        shutil.copyfile(trusted_root, case / "trusted_root.json")
        meta = _meta("legacy-sig", source, identity)
        (case / "meta.json").write_text(json.dumps(meta, indent=2))
        cases.append(load_case_at(case))
    return cases


def save_bundle_case(
    folder: Path,
    *,
    registry: Registry,
    repo: str,
    image_digest: str,
    referrer_digest: str,
    trusted_root: Path,
    source: str,
    identity: dict[str, str],
) -> Case:
    """The bundle carried by one referrer manifest of the digest."""
    client = RawClient(registry, repo)
    referrer = client.get_manifest(referrer_digest)
    assert referrer.status_code == 200, referrer.text
    assert hashlib.sha256(referrer.content).hexdigest() == referrer_digest.split(":")[1]
    (layer,) = referrer.json()["layers"]
    case = folder / f"bundle-{referrer_digest.split(':')[1][:12]}"
    case.mkdir(parents=True)
    (case / "bundle.sigstore.json").write_bytes(_fetch(client, f"blobs/{layer['digest']}"))
    (case / "artifact.sha256").write_text(image_digest.split(":")[1] + "\n")
    shutil.copyfile(trusted_root, case / "trusted_root.json")
    meta = _meta("bundle", source, identity, subject_sha256=image_digest.split(":")[1])
    (case / "meta.json").write_text(json.dumps(meta, indent=2))
    return load_case_at(case)

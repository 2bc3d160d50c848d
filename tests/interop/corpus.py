"""Read the interop corpus kept in this repository (tests/interop/corpus/): cases, files, meta.

The corpus is data copied into the repository, so a fresh clone tests itself with nothing beside
it. `SHIPSIGN_INTEROP` overrides the location. A missing corpus is an error, never a skip.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shipsign.checks import SignatureOutcome
from shipsign.formats.legacy_sig import (
    BUNDLE_ANNOTATION,
    CERTIFICATE_ANNOTATION,
    CHAIN_ANNOTATION,
    SIGNATURE_ANNOTATION,
    decode_legacy_signature,
)
from shipsign.keyless.bundle_verify import verify_bundle
from shipsign.keyless.keys import VerificationKey
from shipsign.keyless.legacy_verify import verify_legacy_signature
from shipsign.keyless.policy import IdentityPolicy, build_identity_policy
from shipsign.keyless.trust_material import TrustMaterial, load_trust_material
from shipsign.legacy_signature import LegacySignature

CORPUS = Path(os.environ.get("SHIPSIGN_INTEROP") or Path(__file__).resolve().parent / "corpus")
PRODUCTION_ROOT = CORPUS / "trust" / "production.trusted_root.json"
STAGING_ROOT = CORPUS / "trust" / "staging.trusted_root.json"


@dataclass(frozen=True)
class Case:
    """One corpus case: its folder and meta.json."""

    name: str
    path: Path
    meta: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.meta["kind"])

    @property
    def expected_valid(self) -> bool:
        return bool(self.meta["expected"] == "valid")

    @property
    def is_legacy(self) -> bool:
        return self.kind == "legacy-sig"

    def has(self, name: str) -> bool:
        return (self.path / name).exists()

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def text(self, name: str) -> str:
        return (self.path / name).read_text(encoding="utf-8")


def case_names() -> list[str]:
    """Every case index.json lists, in its order."""
    index = json.loads((CORPUS / "index.json").read_text(encoding="utf-8"))
    return [str(entry["case"]) for entry in index]


def load_case(name: str) -> Case:
    return load_case_at(CORPUS / name)


def load_case_at(path: Path) -> Case:
    """A case in any folder of the corpus layout (the generated cases live in a test's tmp)."""
    return Case(name=path.name, path=path, meta=json.loads((path / "meta.json").read_text("utf-8")))


def trusted_root(case: Case) -> Path:
    """The case-local trusted root, else staging or production as meta.json says."""
    if case.has("trusted_root.json"):
        return case.path / "trusted_root.json"
    return STAGING_ROOT if str(case.meta["trust_root"]).startswith("staging") else PRODUCTION_ROOT


def legacy_annotations(case: Case) -> dict[str, str]:
    """The layer annotations, from the case's files (the values cosign wrote)."""
    annotations = {SIGNATURE_ANNOTATION: case.text("signature.b64").strip()}
    for file, key in (
        ("cert.pem", CERTIFICATE_ANNOTATION),
        ("chain.pem", CHAIN_ANNOTATION),
    ):
        if case.has(file):
            annotations[key] = case.text(file)
    if case.has("bundle.json"):
        annotations[BUNDLE_ANNOTATION] = case.text("bundle.json").strip()
    return annotations


def legacy_layer_digest(case: Case) -> str | None:
    """The `.sig` layer descriptor's digest, where the case has one."""
    if case.has("sig-layer-descriptor.json"):
        return str(json.loads(case.text("sig-layer-descriptor.json"))["digest"])
    if case.has("expected-layer-digest.txt"):
        return case.text("expected-layer-digest.txt").strip()
    return None


def legacy_signature(case: Case) -> LegacySignature:
    return decode_legacy_signature(
        case.read("payload.json"), legacy_annotations(case), layer_digest=legacy_layer_digest(case)
    )


def legacy_image_digest(case: Case) -> str:
    """The digest being verified: of image-manifest.json, else the one the payload names."""
    if case.has("image-manifest.json"):
        return "sha256:" + hashlib.sha256(case.read("image-manifest.json")).hexdigest()
    claims = legacy_signature(case).claims
    assert claims is not None, f"{case.name}: no manifest and no payload digest"
    return claims.docker_manifest_digest


def verification_key(case: Case) -> VerificationKey | None:
    return VerificationKey.from_pem(case.read("key.pub")) if case.has("key.pub") else None


def case_signer(case: Case) -> tuple[str, str | None] | None:
    """(identity, issuer) of `verify_identity` (policy negatives) or `identity`; None for keys."""
    identity = case.meta.get("verify_identity") or case.meta.get("identity")
    if not identity:
        return None
    san = identity["san"]
    return (san[0] if isinstance(san, list) else san), identity.get("issuer")


def identity_policy(case: Case) -> IdentityPolicy | None:
    """The exact policy of `case_signer`; None for key cases."""
    signer = case_signer(case)
    if signer is None:
        return None
    return IdentityPolicy.exact(identity=signer[0], issuer=signer[1])


def bundle_subject(case: Case) -> tuple[bytes | None, str | None]:
    """(artifact bytes, or a `sha256:` digest) the bundle is checked against."""
    if case.has("artifact"):
        return case.read("artifact"), None
    if case.has("artifact.sha256"):
        hexdigest = case.text("artifact.sha256").split()[0].removeprefix("sha256:")
        return None, f"sha256:{hexdigest}"
    if case.meta.get("subject_sha256"):
        return None, f"sha256:{case.meta['subject_sha256']}"
    digests = case.meta["image_or_artifact"]["dsse_subject"][0]["digest"]
    # npm provenance names its subject by sha512 only; shipsign matches sha256 subjects (as
    # cosign does), so these cases are checked against a digest that cannot match.
    return None, f"sha256:{digests.get('sha256', '0' * 64)}"


_TRUST: dict[str, TrustMaterial] = {}


def _trust(case: Case) -> TrustMaterial:
    path = trusted_root(case)
    if str(path) not in _TRUST:
        _TRUST[str(path)] = load_trust_material(path)
    return _TRUST[str(path)]


def verify_case(case: Case, *, require_sct: bool = True) -> SignatureOutcome:
    """Judge a case offline with shipsign's verification core, as meta.json describes it."""
    if case.is_legacy:
        key = verification_key(case)
        return verify_legacy_signature(
            legacy_signature(case),
            image_digest=legacy_image_digest(case),
            now=datetime.now(timezone.utc),
            trust=_trust(case),
            policy=identity_policy(case),
            key=key,
            # key signatures without a Rekor bundle: cosign's --insecure-ignore-tlog (meta notes)
            require_tlog=key is None or case.has("bundle.json"),
            require_sct=require_sct,
        )
    artifact, digest = bundle_subject(case)
    # sigstore-python cannot verify key-based bundles; any identity, the bundle decides
    policy = identity_policy(case) or build_identity_policy([{"identity_regexp": ".*"}])
    return verify_bundle(
        case.read("bundle.sigstore.json"),
        trust=_trust(case),
        policy=policy,
        artifact=artifact,
        digest=digest,
    )

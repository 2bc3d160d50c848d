"""Sign's "already signed?" check reads signatures as verify does (`shipsign.signatures`): an
attestation by our identity is not our signature, and cosign's cap on `.sig` layers holds.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from integration.referrer_writes import add_referrer
from integration.sign.helpers import Signatures, bundle_referrers, push_image, run_cli
from shipsign.formats.bundle_ref import build_bundle_artifact
from shipsign.formats.legacy_sig import encode_annotations
from shipsign.formats.sig_manifest import MAX_SIGNATURES
from shipsign.keyless.identity import parse_identity_token
from shipsign.keyless.signing import KeylessSigner
from shipsign.keyless.trust import TrustOptions, load_trust
from shipsign.keyless.trust_material import load_trust_material
from shipsign.oci import Descriptor, Digest, Registries, Repository, StaticKeychain
from shipsign.oci.media import OCI_MANIFEST, referrer_descriptor
from shipsign.oci.transport import Reply
from shipsign.sign.existing import Mine, fetch_sig, find_legacy
from stack.raw_registry import OCI_CONFIG, RawClient, sha256
from stack.registry import Registry
from stack.sigstore_stack import GitHubOidc, SigstoreStack

SLSA = "https://slsa.dev/provenance/v1"


def _signer(stack: SigstoreStack, token: str) -> KeylessSigner:
    trust = load_trust(TrustOptions(trust_config=stack.trust_config, force_rekor_v1=True))
    return KeylessSigner(trust, parse_identity_token(token, now=datetime.now(timezone.utc)))


def test_an_attestation_by_our_identity_is_not_taken_for_our_signature(
    registry: Registry,
    repo: str,
    stack: SigstoreStack,
    token: str,
    summary: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    digest = Digest.parse(push_image([registry], repo))
    raw = RawClient(registry, repo)
    manifest = raw.get_manifest(str(digest)).content
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": f"{registry.host}/{repo}", "digest": {"sha256": digest.hex}}],
        "predicateType": SLSA,
        "predicate": {},
    }
    bundle = _signer(stack, token).sign_statement(json.dumps(statement).encode())
    subject = Descriptor(media_type=OCI_MANIFEST, digest=digest, size=len(manifest))
    artifact = build_bundle_artifact(bundle, subject=subject, created=datetime.now(timezone.utc))
    for _, data in artifact.blobs:
        raw.push_blob(data)
    raw.push_manifest(str(artifact.manifest.digest), artifact.manifest.raw)
    # Labelled as a signature on the outside: only the statement tells what it is.
    repository = Repository(registry.host, repo)
    with Registries(insecure=[registry.host], env={}) as pool:
        client = pool.client(registry.host)
        add_referrer(client, repository, digest, referrer_descriptor(artifact.manifest))

    argv = ["sign", "--trust-config", str(stack.trust_config), "--identity-token", token]
    argv += ["--insecure-registry", registry.host, "--no-verify", "--format", "bundle"]
    argv += ["--output", "json", f"{registry.host}/{repo}@{digest}"]
    first = run_cli(capsys, summary, *argv)
    assert first.code == 0, first.out + first.err
    assert [s["status"] for s in first.json()["signatures"]] == ["signed"]
    assert len(bundle_referrers(registry, repo, str(digest))) == 2
    again = run_cli(capsys, summary, *argv)  # now our signature is there: nothing to add
    assert again.code == 0, again.out + again.err
    assert [s["status"] for s in again.json()["signatures"]] == ["skipped"]
    assert len(bundle_referrers(registry, repo, str(digest))) == 2


class _Requests:
    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def __call__(self, reply: Reply) -> None:
        kind = "blob" if "/blobs/" in urlsplit(reply.url).path else "other"
        self.seen[f"{reply.method} {kind}"] += 1


def test_the_skip_check_reads_no_more_sig_layers_than_cosign(
    registry: Registry, repo: str, stack: SigstoreStack, github_oidc: GitHubOidc
) -> None:
    # Our valid signature, but as layer 1001 of the `.sig` manifest: past cosign's limit, so it
    # is neither fetched nor taken as already there (verify does not read it either).
    digest = Digest.parse(push_image([registry], repo))
    repository = Repository(registry.host, repo)
    trust = load_trust(TrustOptions(trust_config=stack.trust_config))
    material = load_trust_material(trust.trusted_root)
    ours = Signatures(stack, github_oidc).make(repository, digest)
    raw = RawClient(registry, repo)
    config = b"{}"
    raw.push_blob(config)
    raw.push_blob(ours.payload)
    layer = {
        "mediaType": ours.media_type,
        "digest": sha256(ours.payload),
        "size": len(ours.payload),
        "annotations": encode_annotations(ours),
    }
    sig = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [layer],
    }
    hook = _Requests()
    pool = Registries(
        keychain=StaticKeychain({}), insecure=[registry.host], env={}, response_hook=hook
    )
    mine = Mine(
        identity=github_oidc.san,
        issuer=github_oidc.issuer,
        annotations={},
        trust=material,
        now=datetime.now(timezone.utc),
    )
    with pool:
        client = pool.client(registry.host)
        # Within the limit it is found.
        raw.push_manifest(f"{digest.tag_form}.sig", json.dumps(sig).encode())
        found = find_legacy(client, repository, digest, mine, fetch_sig(client, repository, digest))
        assert found is not None
        assert found.where.endswith(".sig layer 0")
        # Only past the limit: never fetched, not found.
        junk = dict(layer, annotations={})  # no certificate: not ours, not fetched
        sig["layers"] = [junk] * MAX_SIGNATURES + [layer]
        raw.push_manifest(f"{digest.tag_form}.sig", json.dumps(sig).encode())
        hook.seen.clear()
        read = fetch_sig(client, repository, digest)
        assert find_legacy(client, repository, digest, mine, read) is None
        assert hook.seen["GET blob"] == 0

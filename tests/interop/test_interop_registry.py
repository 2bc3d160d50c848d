"""Every case of the shared interop corpus through the front end, as a user would meet it.

Legacy cases: the case's `.sig` layer (its payload and exactly its annotation texts) is pushed to
a real registry under `sha256-<hex>.sig` of the digest being verified, and `shipsign verify
IMAGE@DIGEST --output json` must judge it as meta.json says, naming the failing checks. Bundle
cases go through `shipsign verify-blob`; the cosign OCI attestation also as a bundle referrer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integration.verify.signed_images import CliRun, push_bundle_referrer, run_cli
from interop.corpus import (
    Case,
    bundle_subject,
    case_names,
    case_signer,
    legacy_annotations,
    legacy_image_digest,
    legacy_signature,
    load_case,
    trusted_root,
)
from interop.test_interop_corpus import EXPECTED_FAILURES, SIGSTORE_PYTHON_CANNOT, WITHOUT_SCT
from shipsign.formats.sig_manifest import build_signature_image
from shipsign.oci import Descriptor, Digest, Registries
from shipsign.oci.media import OCI_MANIFEST, build_manifest
from stack.raw_registry import RawClient
from stack.registry import Registry

LEGACY = [n for n in case_names() if load_case(n).is_legacy]
BUNDLES = [n for n in case_names() if not load_case(n).is_legacy]
ATTESTATION = "bundle-cosign-prod-oci-attestation"
WRONG_SUBJECT = "neg-bundle-oci-attestation-wrong-subject"

# A registry stores blobs by their digest, so a payload whose bytes do not match its layer
# descriptor cannot be served by one: through a registry that check cannot fail (the client
# refuses such a blob before verification). Everything else fails as it does offline.
REGISTRY_FAILURES = {
    name: checks - {"layer_digest"} if name.startswith("neg-legacy") else checks
    for name, checks in EXPECTED_FAILURES.items()
}


def _identity_flags(case: Case) -> list[str]:
    signer = case_signer(case)
    if signer is None:
        return []
    identity, issuer = signer
    flags = ["--certificate-identity", identity]
    if issuer is not None:
        flags += ["--certificate-oidc-issuer", issuer]
    return flags


def _push_legacy(registry: Registry, repo: str, case: Case) -> Digest:
    """Push the case's `.sig` manifest for the digest it is verified against; return it."""
    digest = Digest.parse(legacy_image_digest(case))
    image = build_signature_image([legacy_signature(case)])
    payload = case.read("payload.json")
    layer = Descriptor(
        media_type=image.manifest.layers[0].media_type,
        digest=Digest.of(payload),
        size=len(payload),
        annotations=legacy_annotations(case),  # the case's texts, not a re-encoding
    )
    manifest = build_manifest(config=image.manifest.config, layers=[layer], media_type=OCI_MANIFEST)
    raw = RawClient(registry, repo)
    raw.push_blob(image.config)
    raw.push_blob(payload)
    raw.push_manifest(f"{digest.tag_form}.sig", manifest.raw)
    return digest


def _verify_legacy(
    capsys: pytest.CaptureFixture[str], registry: Registry, repo: str, case: Case, *extra: str
) -> CliRun:
    digest = _push_legacy(registry, repo, case)
    argv = ["verify", f"{registry.host}/{repo}@{digest}", "--insecure-registry", registry.host]
    if case.has("key.pub"):
        argv += ["--key", str(case.path / "key.pub")]
        if not case.has("bundle.json"):
            argv.append("--insecure-ignore-tlog")  # cosign sign --key without tlog upload
    argv += _identity_flags(case)
    argv += ["--trusted-root", str(trusted_root(case)), "--output", "json", *extra]
    return run_cli(capsys, argv)


def _describe(run: CliRun) -> str:
    return f"exit {run.code}\nstdout:\n{run.out}\nstderr:\n{run.err}"


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_case_through_registry(
    name: str, registry: Registry, repo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    case = load_case(name)
    run = _verify_legacy(capsys, registry, repo, case)
    assert "Traceback" not in run.err, _describe(run)
    doc = run.json()
    (image,) = doc["images"]
    assert image["digest"] == legacy_image_digest(case)
    assert image["looked_in"], _describe(run)
    if name in WITHOUT_SCT:
        assert run.code == 1, _describe(run)
        assert run.failed_checks() == {"sct"}, _describe(run)
        relaxed = _verify_legacy(capsys, registry, repo, case, "--insecure-ignore-sct")
        assert relaxed.code == 0, _describe(relaxed)
    elif case.expected_valid:
        assert run.code == 0, _describe(run)
        assert image["status"] == "verified"
        (sig,) = image["signatures"]
        assert sig["format"] == "legacy"
        assert sig["location"].endswith(f"{Digest.parse(image['digest']).tag_form}.sig layer 0")
        signer = case_signer(case)
        assert sig["identity"] == (signer[0] if signer else None)
        if case.has("bundle.json"):
            assert sig["rekor_log_index"] is not None
    else:
        assert run.code == 1, _describe(run)
        assert image["status"] == "failed"
        assert run.failed_checks() == REGISTRY_FAILURES[name], _describe(run)
        for failure in run.failures():
            assert failure["expected"], failure
            assert failure["found"], failure
            assert failure["where"], failure


def _verify_blob(capsys: pytest.CaptureFixture[str], case: Case) -> CliRun:
    artifact, digest = bundle_subject(case)
    argv = ["verify-blob", "--bundle", str(case.path / "bundle.sigstore.json")]
    if artifact is not None:
        argv.insert(1, str(case.path / "artifact"))
    else:
        argv += ["--digest", str(digest)]
    flags = _identity_flags(case)
    # sigstore-python cannot verify key-based bundles; any identity: the bundle decides
    argv += flags or ["--certificate-identity-regexp", ".*"]
    argv += ["--trusted-root", str(trusted_root(case)), "--output", "json"]
    return run_cli(capsys, argv)


@pytest.mark.parametrize("name", BUNDLES)
def test_bundle_case_through_verify_blob(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    case = load_case(name)
    run = _verify_blob(capsys, case)
    assert "Traceback" not in run.err, _describe(run)
    if name in SIGSTORE_PYTHON_CANNOT:
        assert run.code == 1, _describe(run)
        assert run.failed_checks() == {SIGSTORE_PYTHON_CANNOT[name]}, _describe(run)
        (failure,) = run.failures()
        assert "sigstore-python" in failure["expected"] + failure["found"]
    elif case.expected_valid:
        assert run.code == 0, _describe(run)
        doc = run.json()
        assert doc["verified"] is True
        assert doc["rekor_log_index"] is not None
        assert doc["signing_time"] is not None
    else:
        assert run.code == 1, _describe(run)
        assert run.failed_checks() == EXPECTED_FAILURES[name], _describe(run)


def test_unparsable_bundle_text_names_sigstore_python(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = _verify_blob(capsys, load_case("bundle-sg-prod-v0.1-dsse-set-only"))
    assert run.code == 1
    assert run.err == ""
    text = run_cli(
        capsys,
        [
            "verify-blob",
            "--digest",
            f"sha256:{'0' * 64}",
            "--bundle",
            str(load_case("bundle-sg-prod-v0.1-dsse-set-only").path / "bundle.sigstore.json"),
            "--certificate-identity-regexp",
            ".*",
            "--trusted-root",
            str(trusted_root(load_case("bundle-sg-prod-v0.1-dsse-set-only"))),
        ],
    )
    assert text.code == 1
    assert "sigstore-python cannot load it" in text.out
    assert "check bundle_parse failed" in text.out
    assert "Traceback" not in text.out + text.err


def _attestation_referrer(
    capsys: pytest.CaptureFixture[str], registry: Registry, repo: str, case: Case, hexdigest: str
) -> CliRun:
    """Push the case's bundle as a referrer of `sha256:<hexdigest>` (fallback tag); verify."""
    subject = Descriptor(
        media_type=OCI_MANIFEST, digest=Digest.parse(f"sha256:{hexdigest}"), size=1234
    )
    with Registries(insecure=[registry.host], env={}) as pool:
        push_bundle_referrer(
            RawClient(registry, repo),
            subject,
            case.read("bundle.sigstore.json"),
            fallback=pool,
        )
    return run_cli(
        capsys,
        [
            "verify",
            f"{registry.host}/{repo}@{subject.digest}",
            "--insecure-registry",
            registry.host,
            *_identity_flags(case),
            "--trusted-root",
            str(trusted_root(case)),
            "--output",
            "json",
        ],
    )


def _not_counted(run: CliRun, case: Case) -> None:
    """cosign's attestation is found, named, and not counted as a signature: unsigned, exit 1."""
    assert run.code == 1, _describe(run)
    (image,) = run.json()["images"]
    assert image["status"] == "unsigned"
    assert image["signatures"] == []
    predicate = case.meta["image_or_artifact"]["predicateType"]
    (note,) = image["notes"]
    assert note.startswith(f"found instead: an in-toto attestation (predicate {predicate})")
    assert "not a signature of the image" in note


def test_an_oci_attestation_is_reported_but_not_counted_as_a_signature(
    registry: Registry, repo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # A valid cosign attestation by the expected signer: it says something about the image,
    # but it is not a signature, so an image that has only this is unsigned.
    case = load_case(ATTESTATION)
    run = _attestation_referrer(capsys, registry, repo, case, str(case.meta["subject_sha256"]))
    _not_counted(run, case)


def test_an_oci_attestation_for_another_digest_is_not_counted_either(
    registry: Registry, repo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    case = load_case(WRONG_SUBJECT)
    run = _attestation_referrer(capsys, registry, repo, case, str(case.meta["subject_sha256"]))
    _not_counted(run, load_case(ATTESTATION))


def test_corpus_cases_are_all_covered() -> None:
    assert set(LEGACY) | set(BUNDLES) == set(case_names())
    assert Path(trusted_root(load_case(LEGACY[0]))).is_file()

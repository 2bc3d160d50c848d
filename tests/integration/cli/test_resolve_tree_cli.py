"""`shipsign resolve` and `shipsign tree` in-process through `main([...])`, against the stack:
what users see on stdout/stderr and the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration.referrer_writes import add_referrer as add_referrer_entry
from interop.corpus import CORPUS
from shipsign.cli import main
from shipsign.oci import (
    OCI_EMPTY,
    OCI_MANIFEST,
    Descriptor,
    Digest,
    Manifest,
    Platform,
    Registries,
    RegistryClient,
    Repository,
    StaticKeychain,
    build_index,
    build_manifest,
    referrer_descriptor,
)
from shipsign.oci.media import EMPTY_JSON, OCI_CONFIG
from stack.fault_proxy import FaultProxy
from stack.process import free_port
from stack.registry import Registry

CASE = CORPUS / "legacy-ci-fulcio-rekor-prod"
SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = Descriptor(media_type=OCI_EMPTY, digest=Digest.of(EMPTY_JSON), size=2)


@pytest.fixture
def client(registry: Registry) -> RegistryClient:
    pool = Registries(keychain=StaticKeychain({}), insecure=[registry.host], env={})
    return pool.client(registry.host)


def _image(client: RegistryClient, repo: Repository, config: bytes, tag: str | None) -> Manifest:
    client.push_blob(repo, config)
    manifest = build_manifest(
        config=Descriptor(media_type=OCI_CONFIG, digest=Digest.of(config), size=len(config)),
        layers=[],
    )
    client.push_manifest(repo, manifest, tag=tag)
    return manifest


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_resolve_prints_full_references(
    registry: Registry, repo: str, client: RegistryClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = Repository(registry.host, repo)
    one = _image(client, repository, b'{"os":"linux","architecture":"amd64"}', "v1")
    two = _image(client, repository, b'{"os":"linux","architecture":"arm64"}', "v2")
    code, out, err = _run(
        capsys,
        "resolve",
        "--insecure-registry",
        registry.host,
        f"{registry.host}/{repo}:v1",
        f"{registry.host}/{repo}:v2",
    )
    assert (code, err) == (0, "")
    assert out == f"{registry.host}/{repo}@{one.digest}\n{registry.host}/{repo}@{two.digest}\n"

    code, out, _ = _run(
        capsys,
        "resolve",
        "--output",
        "json",
        "--insecure-registry",
        registry.host,
        f"{registry.host}/{repo}:v2",
    )
    assert code == 0
    assert json.loads(out) == [
        {
            "image": f"{registry.host}/{repo}:v2",
            "reference": f"{registry.host}/{repo}@{two.digest}",
            "repository": f"{registry.host}/{repo}",
            "digest": str(two.digest),
            "mediaType": OCI_MANIFEST,
        }
    ]


def test_resolve_platform_picks_the_child_of_an_index(
    registry: Registry, repo: str, client: RegistryClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = Repository(registry.host, repo)
    amd = _image(client, repository, b'{"os":"linux","architecture":"amd64"}', None)
    arm = _image(client, repository, b'{"os":"linux","architecture":"arm64","variant":"v8"}', None)
    index = build_index(
        [
            Descriptor(media_type=OCI_MANIFEST, digest=m.digest, size=len(m.raw), platform=p)
            for m, p in ((amd, Platform("linux", "amd64")), (arm, Platform("linux", "arm64", "v8")))
        ]
    )
    client.push_manifest(repository, index, tag="multi")
    ref = f"{registry.host}/{repo}:multi"
    flags = ["--insecure-registry", registry.host]
    assert _run(capsys, "resolve", *flags, ref)[1] == f"{registry.host}/{repo}@{index.digest}\n"
    assert (
        _run(capsys, "resolve", *flags, "--platform", "linux/arm64", ref)[1]
        == f"{registry.host}/{repo}@{arm.digest}\n"
    )
    code, out, err = _run(capsys, "resolve", *flags, "--platform", "linux/s390x", ref)
    assert (code, out) == (2, "")
    assert "has no image for platform linux/s390x" in err
    assert "linux/amd64, linux/arm64/v8" in err
    single = f"{registry.host}/{repo}@{amd.digest}"
    assert _run(capsys, "resolve", *flags, "--platform", "linux/amd64", single)[1] == single + "\n"
    assert _run(capsys, "resolve", *flags, "--platform", "linux/arm64", single)[0] == 2


@pytest.mark.parametrize(
    ("image", "says"),
    [
        ("ghcr.io/Acme/app", "'ghcr.io/Acme/app': repository names must be lowercase"),
        ("ghcr.io/acme/app@sha256:123", "needs 64 hex digits, got 3"),
    ],
)
def test_resolve_bad_reference_exits_2(
    image: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "resolve", image)
    assert (code, out) == (2, "")
    assert says in err


def test_resolve_missing_image_exits_2(
    registry: Registry, repo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(
        capsys, "resolve", "--insecure-registry", registry.host, f"{registry.host}/{repo}:absent"
    )
    assert code == 2
    assert f"image not found: {registry.host}/{repo}:absent" in err


def test_resolve_unreachable_registry_exits_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", "/nonexistent")
    host = f"127.0.0.1:{free_port()}"
    code, _, err = _run(capsys, "resolve", "--insecure-registry", host, f"{host}/a/b:v1")
    assert code == 3
    assert f"cannot resolve on {host}: gave up after 4 attempts" in err


def test_resolve_refused_exits_3_naming_scope(
    token_registry: Registry,
    repo: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", "/nonexistent")  # anonymous
    code, _, err = _run(
        capsys,
        "resolve",
        "--insecure-registry",
        token_registry.host,
        f"{token_registry.host}/{repo}:v1",
    )
    assert code == 3
    assert f"registry {token_registry.host} refused access" in err
    assert f"scope repository:{repo}:pull" in err


def test_resolve_uses_docker_login(
    basic_registry: Registry,
    repo: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64

    auth = base64.b64encode(
        f"{basic_registry.username}:{basic_registry.password}".encode()
    ).decode()
    (tmp_path / "config.json").write_text(
        json.dumps({"auths": {basic_registry.host: {"auth": auth}}})
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    pool = Registries(insecure=[basic_registry.host], env={"DOCKER_CONFIG": str(tmp_path)})
    pushed = _image(
        pool.client(basic_registry.host), Repository(basic_registry.host, repo), b"{}", "v1"
    )
    code, out, _ = _run(
        capsys,
        "resolve",
        "--insecure-registry",
        basic_registry.host,
        f"{basic_registry.host}/{repo}:v1",
    )
    assert (code, out) == (0, f"{basic_registry.host}/{repo}@{pushed.digest}\n")


def _push_legacy_sig(client: RegistryClient, repo: Repository) -> tuple[Digest, Manifest]:
    """Push the interop case's real `.sig` layer (payload + annotations) to its `.sig` tag."""
    payload = (CASE / "payload.json").read_bytes()
    image = Digest.parse(json.loads(payload)["critical"]["image"]["docker-manifest-digest"])
    annotations = {
        "dev.cosignproject.cosign/signature": (CASE / "signature.b64").read_text().strip(),
        "dev.sigstore.cosign/bundle": (CASE / "bundle.json").read_text(),
        "dev.sigstore.cosign/certificate": (CASE / "cert.pem").read_text(),
        "dev.sigstore.cosign/chain": (CASE / "chain.pem").read_text(),
    }
    layer = Descriptor(
        media_type=SIMPLE_SIGNING,
        digest=Digest.of(payload),
        size=len(payload),
        annotations=annotations,
    )
    reference = json.loads((CASE / "sig-layer-descriptor.json").read_text())
    assert reference["digest"] == str(layer.digest)  # the case's own record of this layer
    assert (
        reference["annotations"]["dev.sigstore.cosign/certificate"]
        == annotations["dev.sigstore.cosign/certificate"]
    )
    zero = "0001-01-01T00:00:00Z"  # formats.md §1.6: ggcr's config for a .sig image
    config = json.dumps(
        {"architecture": "", "created": zero, "history": [{"created": zero}], "os": "",
         "rootfs": {"type": "layers", "diff_ids": [str(layer.digest)]}, "config": {}},
        separators=(",", ":"),
    ).encode()  # fmt: skip
    client.push_blob(repo, payload)
    client.push_blob(repo, config)
    sig = build_manifest(
        config=Descriptor(media_type=OCI_CONFIG, digest=Digest.of(config), size=len(config)),
        layers=[layer],
    )
    client.push_manifest(repo, sig, tag=f"{image.tag_form}.sig")
    return image, sig


def test_tree_shows_a_real_legacy_signature(
    registry: Registry, repo: str, client: RegistryClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = Repository(registry.host, repo)
    image, sig = _push_legacy_sig(client, repository)
    # The signed image's own blobs are not in the corpus, so distribution refuses its
    # manifest; tree takes the digest as given, as `cosign tree` does.
    ref = f"{registry.host}/{repo}@{image}"
    code, out, err = _run(capsys, "tree", "--insecure-registry", registry.host, ref)
    assert (code, err) == (0, "")
    payload_digest = Digest.of((CASE / "payload.json").read_bytes())
    assert out == (
        f"{ref}\n"
        f"├── signatures: tag {image.tag_form}.sig, 1 layer\n"
        f"│   └── {payload_digest} {SIMPLE_SIGNING}\n"
        f"│         identity: mitr@redhat.com\n"
        f"│         issuer:   https://github.com/login/oauth\n"
        f"└── referrers from the fallback tag {image.tag_form}: none\n"
    )
    code, out, _ = _run(
        capsys, "tree", "--output", "json", "--insecure-registry", registry.host, ref
    )
    doc = json.loads(out)
    assert code == 0
    assert doc["digest"] == str(image)
    assert doc["legacy"] == [
        {
            "kind": "signatures",
            "tag": f"{image.tag_form}.sig",
            "digest": str(sig.digest),
            "layers": [
                {
                    "digest": str(payload_digest),
                    "mediaType": SIMPLE_SIGNING,
                    "identity": "mitr@redhat.com",
                    "issuer": "https://github.com/login/oauth",
                    "certificateProblem": None,
                }
            ],
        }
    ]
    assert doc["referrers"] == {"source": "fallback-tag", "manifests": []}


def _bundle_referrer(client: RegistryClient, repo: Repository, subject: Manifest) -> Manifest:
    layer = client.push_blob(repo, b'{"bundle":1}')
    client.push_blob(repo, EMPTY_JSON)
    manifest = build_manifest(
        config=EMPTY,
        layers=[Descriptor(media_type=BUNDLE, digest=layer, size=12)],
        annotations={"dev.sigstore.bundle.content": "dsse-envelope"},
        subject=subject.descriptor,
        artifact_type=BUNDLE,
    )
    client.push_manifest(repo, manifest)
    return manifest


def test_tree_by_tag_lists_fallback_referrers(
    registry: Registry, repo: str, client: RegistryClient, capsys: pytest.CaptureFixture[str]
) -> None:
    repository = Repository(registry.host, repo)
    subject = _image(client, repository, b"{}", "v1")
    referrer = _bundle_referrer(client, repository, subject)
    add_referrer_entry(client, repository, subject.digest, referrer_descriptor(referrer))
    code, out, _ = _run(
        capsys, "tree", "--insecure-registry", registry.host, f"{registry.host}/{repo}:v1"
    )
    assert code == 0
    assert out == (
        f"{registry.host}/{repo}@{subject.digest}\n"
        "├── legacy tags (.sig, .att, .sbom): none\n"
        f"└── referrers from the fallback tag {subject.digest.tag_form}: 1\n"
        f"    └── {referrer.digest} {BUNDLE}\n"
        "          dev.sigstore.bundle.content: dsse-envelope\n"
    )


def test_tree_lists_referrers_from_the_api(
    fault_proxy: FaultProxy, repo: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fault_proxy.serve_referrers = True
    client = Registries(keychain=StaticKeychain({}), insecure=[fault_proxy.host], env={}).client(
        fault_proxy.host
    )
    repository = Repository(fault_proxy.host, repo)
    subject = _image(client, repository, b"{}", "v1")
    referrer = _bundle_referrer(client, repository, subject)
    code, out, _ = _run(
        capsys,
        "tree",
        "--output",
        "json",
        "--insecure-registry",
        fault_proxy.host,
        f"{fault_proxy.host}/{repo}:v1",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["legacy"] == []
    assert doc["referrers"]["source"] == "api"
    assert doc["referrers"]["manifests"] == [
        {
            "digest": str(referrer.digest),
            "mediaType": OCI_MANIFEST,
            "size": len(referrer.raw),
            "artifactType": BUNDLE,
            "annotations": {"dev.sigstore.bundle.content": "dsse-envelope"},
            "kind": None,  # no predicate on the entry: only the bundle could tell
        }
    ]


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_resolve_trusts_tls_from_the_usual_variables(
    variable: str,
    tls_registry: Registry,
    repo: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tls_registry.ca_bundle is not None
    pool = Registries(keychain=StaticKeychain({}), ca_bundle=str(tls_registry.ca_bundle), env={})
    pushed = _image(
        pool.client(tls_registry.host), Repository(tls_registry.host, repo), b"{}", "v1"
    )
    ref = f"{tls_registry.host}/{repo}:v1"
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = _run(capsys, "resolve", ref)
    assert code == 3
    assert "TLS verification failed" in err
    monkeypatch.setenv(variable, str(tls_registry.ca_bundle))
    assert _run(capsys, "resolve", ref) == (0, f"{tls_registry.host}/{repo}@{pushed.digest}\n", "")

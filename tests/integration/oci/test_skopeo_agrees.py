"""An independent OCI client agrees with us byte for byte: skopeo reads what we push
(`inspect --raw`, `copy --all`), and we read what it pushes."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from integration.oci.images import ClientFactory
from shipsign.oci import (
    OCI_MANIFEST,
    Descriptor,
    Digest,
    Index,
    Manifest,
    Platform,
    Reference,
    RegistryClient,
    Repository,
    build_index,
    build_manifest,
)
from stack.registry import Registry

LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def _tar(name: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _image(arch: str) -> tuple[bytes, bytes]:
    """A real, tiny single-layer image: (config bytes, layer bytes)."""
    layer = _tar("hello.txt", f"hello from {arch}\n".encode())
    config = {
        "architecture": arch,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{hashlib.sha256(layer).hexdigest()}"]},
        "config": {},
    }
    return json.dumps(config, separators=(",", ":")).encode(), layer


def _push_image(client: RegistryClient, repo: Repository, arch: str) -> Manifest:
    config, layer = _image(arch)
    client.push_blob(repo, config)
    client.push_blob(repo, layer)
    return build_manifest(
        config=Descriptor(media_type=OCI_CONFIG, digest=Digest.of(config), size=len(config)),
        layers=[Descriptor(media_type=LAYER_TAR, digest=Digest.of(layer), size=len(layer))],
    )


def _push_multiarch(
    client: RegistryClient, repo: Repository, tag: str
) -> tuple[Index, list[Manifest]]:
    children = []
    for arch in ("amd64", "arm64"):
        child = _push_image(client, repo, arch)
        client.push_manifest(repo, child)
        children.append(child)
    index = build_index(
        [
            Descriptor(
                media_type=OCI_MANIFEST,
                digest=m.digest,
                size=len(m.raw),
                platform=Platform("linux", arch),
            )
            for m, arch in zip(children, ("amd64", "arm64"), strict=True)
        ]
    )
    client.push_manifest(repo, index, tag=tag)
    return index, children


def _skopeo(reg: Registry, *args: str) -> bytes:
    """Run skopeo with the flags that reach `reg` (TLS trust or plain HTTP, login)."""
    flags = ["--tls-verify=false"] if reg.insecure else ["--cert-dir", str(reg.cert_dir)]
    if reg.username:
        flags += ["--creds", f"{reg.username}:{reg.password}"]
    command, *rest = args
    proc = subprocess.run(
        ["skopeo", "--insecure-policy", command, *flags, *rest],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


@pytest.mark.parametrize("which", ["registry", "basic_registry", "token_registry", "tls_registry"])
def test_skopeo_reads_what_we_push(
    which: str, request: pytest.FixtureRequest, repo: str, make_client: ClientFactory
) -> None:
    reg: Registry = request.getfixturevalue(which)
    client = make_client(reg)
    repository = Repository(reg.host, repo)
    index, children = _push_multiarch(client, repository, "v1")
    assert _skopeo(reg, "inspect", "--raw", f"docker://{reg.host}/{repo}:v1") == index.raw
    for child in children:
        assert (
            _skopeo(reg, "inspect", "--raw", f"docker://{reg.host}/{repo}@{child.digest}")
            == child.raw
        )


def test_skopeo_copy_all_between_registries_keeps_our_bytes(
    registry: Registry, registry_b: Registry, repo: str, make_client: ClientFactory
) -> None:
    ours = make_client(registry)
    theirs = make_client(registry_b)
    index, children = _push_multiarch(ours, Repository(registry.host, repo), "v1")
    subprocess.run(
        [
            "skopeo", "--insecure-policy", "copy", "--all", "--preserve-digests",
            "--src-tls-verify=false", "--dest-tls-verify=false",
            f"docker://{registry.host}/{repo}:v1", f"docker://{registry_b.host}/{repo}:copied",
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    copied = Reference.parse(f"{registry_b.host}/{repo}:copied")
    assert theirs.resolve(copied).digest == index.digest
    found = theirs.fetch_manifest(copied)
    assert isinstance(found, Index)
    assert found.raw == index.raw
    for child in children:
        got = theirs.fetch_manifest(copied.with_digest(child.digest))
        assert isinstance(got, Manifest)
        assert got.raw == child.raw
        for layer in got.layers:
            assert theirs.fetch_blob(copied.repository, layer.digest, max_bytes=1 << 20) is not None


def _oci_layout(root: Path) -> tuple[bytes, bytes, bytes]:
    """Write an OCI image layout by hand; return (manifest, config, layer) bytes."""
    config, layer = _image("riscv64")
    manifest = build_manifest(
        config=Descriptor(media_type=OCI_CONFIG, digest=Digest.of(config), size=len(config)),
        layers=[Descriptor(media_type=LAYER_TAR, digest=Digest.of(layer), size=len(layer))],
        annotations={"org.opencontainers.image.title": "from skopeo"},
    ).raw
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for data in (config, layer, manifest):
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    entry = {
        "mediaType": OCI_MANIFEST,
        "digest": f"sha256:{hashlib.sha256(manifest).hexdigest()}",
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return manifest, config, layer


@pytest.mark.parametrize("which", ["registry", "tls_registry", "token_registry"])
def test_we_read_what_skopeo_pushes(
    which: str,
    request: pytest.FixtureRequest,
    repo: str,
    tmp_path: Path,
    make_client: ClientFactory,
) -> None:
    reg: Registry = request.getfixturevalue(which)
    manifest, config, layer = _oci_layout(tmp_path / "layout")
    dest_flags = (
        ["--dest-tls-verify=false"] if reg.insecure else ["--dest-cert-dir", str(reg.cert_dir)]
    )
    if reg.username:
        dest_flags += ["--dest-creds", f"{reg.username}:{reg.password}"]
    subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--preserve-digests", *dest_flags,
         f"oci:{tmp_path / 'layout'}:v1", f"docker://{reg.host}/{repo}:pushed-by-skopeo"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    client = make_client(reg)
    ref = Reference.parse(f"{reg.host}/{repo}:pushed-by-skopeo")
    assert client.resolve(ref).digest == Digest.of(manifest)
    found = client.fetch_manifest(ref)
    assert isinstance(found, Manifest)
    assert found.raw == manifest
    assert found.annotations["org.opencontainers.image.title"] == "from skopeo"
    assert client.fetch_blob(ref.repository, found.config.digest, max_bytes=1 << 20) == config
    assert client.fetch_blob(ref.repository, found.layers[0].digest, max_bytes=1 << 20) == layer

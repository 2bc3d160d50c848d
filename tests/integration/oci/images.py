"""What the OCI integration tests push: small images with an empty config, a subject to list
referrers of; and the types of the `make_client` and `serve_http` fixtures (conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from shipsign.oci import (
    OCI_EMPTY,
    Descriptor,
    Digest,
    Manifest,
    RegistryClient,
    Repository,
    build_manifest,
)
from shipsign.oci.media import EMPTY_JSON

__all__ = ["BUNDLE", "EMPTY", "ClientFactory", "ServeHttp", "push_image", "push_subject"]

ClientFactory = Callable[..., RegistryClient]  # the `make_client` fixture
ServeHttp = Callable[[type[BaseHTTPRequestHandler]], str]  # the `serve_http` fixture
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
EMPTY = Descriptor(media_type=OCI_EMPTY, digest=Digest.of(EMPTY_JSON), size=len(EMPTY_JSON))


def push_image(
    client: RegistryClient, repo: Repository, payload: bytes, tag: str | None
) -> Manifest:
    """Push a one-layer image (empty config) and return its manifest."""
    config = client.push_blob(repo, EMPTY_JSON)
    layer = client.push_blob(repo, payload)
    manifest = build_manifest(
        config=Descriptor(media_type=OCI_EMPTY, digest=config, size=len(EMPTY_JSON)),
        layers=[Descriptor(media_type="text/plain", digest=layer, size=len(payload))],
    )
    client.push_manifest(repo, manifest, tag=tag)
    return manifest


def push_subject(client: RegistryClient, repo: Repository) -> Manifest:
    """Push a layerless image tagged `latest`, to be the subject of referrers."""
    client.push_blob(repo, EMPTY_JSON)
    image = build_manifest(config=EMPTY, layers=[], annotations={"role": "subject"})
    client.push_manifest(repo, image, tag="latest")
    return image

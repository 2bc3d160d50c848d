"""Bare distribution API calls with `requests`, for tests that must not depend on shipsign.oci:
seeding a registry, and checking what shipsign wrote. Asserts the statuses the spec promises."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

from stack.registry import Registry

__all__ = [
    "MANIFEST_TYPES",
    "OCI_CONFIG",
    "OCI_MANIFEST",
    "RawClient",
    "build_manifest",
    "parse_challenge",
    "sha256",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
_TIMEOUT = (5, 30)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split a WWW-Authenticate value into (scheme, params); enough for our own servers."""
    scheme, _, rest = header.partition(" ")
    return scheme, dict(re.findall(r'(\w+)="([^"]*)"', rest))


def build_manifest(
    config: tuple[str, bytes],
    layers: list[tuple[str, bytes]],
    *,
    subject: bytes | None = None,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
) -> bytes:
    """Return the bytes of an OCI image manifest over (media type, blob bytes) pairs."""

    def desc(media_type: str, data: bytes) -> dict[str, object]:
        return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}

    manifest: dict[str, object] = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
    if artifact_type is not None:
        manifest["artifactType"] = artifact_type
    manifest["config"] = desc(*config)
    manifest["layers"] = [desc(*layer) for layer in layers]
    if subject is not None:
        manifest["subject"] = desc(OCI_MANIFEST, subject)
    if annotations is not None:
        manifest["annotations"] = annotations
    return json.dumps(manifest, indent=1).encode()


@dataclass
class RawClient:
    """One repository on one registry, with Basic or Bearer auth done the plain way."""

    registry: Registry
    repo: str
    session: requests.Session = field(default_factory=requests.Session)
    _token: str | None = None

    @property
    def verify(self) -> str | bool:
        # Per request, not session.verify: requests lets $REQUESTS_CA_BUNDLE override the
        # session's value (psf/requests#3829) but not an explicit per-request argument.
        return str(self.registry.ca_bundle) if self.registry.ca_bundle is not None else True

    def auth(self) -> dict[str, str]:
        """Authorization header for this registry (a pull,push token for token registries)."""
        reg = self.registry
        if reg.username is None or reg.password is None:
            return {}
        if reg.realm is None:
            basic = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
            return {"Authorization": f"Basic {basic}"}
        if self._token is None:
            resp = self.session.get(
                reg.realm,
                params={"service": reg.service, "scope": f"repository:{self.repo}:pull,push"},
                auth=(reg.username, reg.password),
                timeout=_TIMEOUT,
                verify=self.verify,
            )
            assert resp.status_code == 200, resp.text
            self._token = resp.json()["token"]
        return {"Authorization": f"Bearer {self._token}"}

    def call(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """Send `method` to `/v2/<repo>/<path>` (or to an absolute URL) with auth."""
        url = path if "://" in path else f"{self.registry.url}/v2/{self.repo}/{path}"
        return self.session.request(
            method,
            url,
            data=data,
            headers={**self.auth(), **(headers or {})},
            timeout=_TIMEOUT,
            verify=self.verify,
        )

    def push_blob(self, data: bytes) -> str:
        """Upload with POST then PUT ?digest= (all this registry accepts); return the digest."""
        digest = sha256(data)
        start = self.call("POST", "blobs/uploads/")
        assert start.status_code == 202, start.text
        location = urljoin(start.url, start.headers["Location"])
        sep = "&" if "?" in location else "?"
        done = self.call(
            "PUT",
            f"{location}{sep}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        assert done.headers["Docker-Content-Digest"] == digest
        return digest

    def push_manifest(self, ref: str, data: bytes, media_type: str = OCI_MANIFEST) -> str:
        """PUT manifest bytes by tag or digest; return the digest the registry reports."""
        resp = self.call("PUT", f"manifests/{ref}", data=data, headers={"Content-Type": media_type})
        assert resp.status_code == 201, resp.text
        digest: str = resp.headers["Docker-Content-Digest"]
        assert digest == sha256(data)
        return digest

    def push_image(
        self,
        tag: str,
        layer: bytes = b"layer bytes",
        *,
        subject: bytes | None = None,
        artifact_type: str | None = None,
        annotations: dict[str, str] | None = None,
    ) -> bytes:
        """Push a config blob, one layer and a manifest tagged `tag`; return the manifest bytes."""
        config = b'{"architecture":"amd64","os":"linux"}'
        self.push_blob(config)
        self.push_blob(layer)
        manifest = build_manifest(
            (OCI_CONFIG, config),
            [(OCI_LAYER, layer)],
            subject=subject,
            artifact_type=artifact_type,
            annotations=annotations,
        )
        self.push_manifest(tag, manifest)
        return manifest

    def get_manifest(self, ref: str, accept: str = ", ".join(MANIFEST_TYPES)) -> requests.Response:
        return self.call("GET", f"manifests/{ref}", headers={"Accept": accept})

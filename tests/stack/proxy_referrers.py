"""The OCI referrers API, served by the fault proxy for a registry that lacks it.

Watches manifest PUTs that went through the proxy and succeeded; manifests with a `subject` become
descriptors in the subject's referrers index (distribution-spec "Listing Referrers"). Manifests
pushed straight to the registry, bypassing the proxy, are not seen.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["INDEX_MEDIA_TYPE", "ReferrersStore"]

INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
_MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_REFERRERS_PATH = re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>[^/]+)$")


def _descriptor(body: bytes, content_type: str | None) -> tuple[str, dict[str, Any]] | None:
    """Return (subject digest, descriptor) for a manifest with a subject, else None."""
    try:
        manifest = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(manifest, dict):
        return None
    subject = manifest.get("subject")
    if not isinstance(subject, dict) or not isinstance(subject.get("digest"), str):
        return None
    media_type = content_type or manifest.get("mediaType", "")
    descriptor: dict[str, Any] = {
        "mediaType": media_type,
        "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
        "size": len(body),
    }
    config = manifest.get("config")
    artifact_type = manifest.get("artifactType")
    if artifact_type is None and isinstance(config, dict):
        artifact_type = config.get("mediaType")
    if isinstance(artifact_type, str):
        descriptor["artifactType"] = artifact_type
    if isinstance(manifest.get("annotations"), dict):
        descriptor["annotations"] = manifest["annotations"]
    return subject["digest"], descriptor


class ReferrersStore:
    """Referrer descriptors per (repository, subject digest); safe to use from many threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # guarded by _lock: (name, subject) -> {manifest digest: descriptor}, in push order
        self._index: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def clear(self) -> None:
        with self._lock:
            self._index.clear()

    def observe_put(self, path: str, body: bytes, content_type: str | None) -> str | None:
        """Record a successful manifest PUT; return its subject digest when it has one."""
        match = _MANIFEST_PATH.match(urlsplit(path).path)
        found = _descriptor(body, content_type) if match else None
        if match is None or found is None:
            return None
        subject, descriptor = found
        with self._lock:
            entries = self._index.setdefault((match["name"], subject), {})
            entries[descriptor["digest"]] = descriptor
        return subject

    def observe_delete(self, path: str) -> None:
        """Forget a manifest deleted by digest."""
        match = _MANIFEST_PATH.match(urlsplit(path).path)
        if match is None or not match["ref"].startswith("sha256:"):
            return
        with self._lock:
            for (name, _), entries in self._index.items():
                if name == match["name"]:
                    entries.pop(match["ref"], None)

    def answer(self, path: str) -> tuple[bytes, dict[str, str]] | None:
        """Return (index body, headers) for a referrers request path, or None for other paths."""
        url = urlsplit(path)
        match = _REFERRERS_PATH.match(url.path)
        if match is None:
            return None
        wanted = parse_qs(url.query).get("artifactType", [])
        with self._lock:
            entries = list(self._index.get((match["name"], match["digest"]), {}).values())
        headers = {"Content-Type": INDEX_MEDIA_TYPE}
        if wanted:
            entries = [d for d in entries if d.get("artifactType") == wanted[0]]
            headers["OCI-Filters-Applied"] = "artifactType"
        index = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": entries}
        return json.dumps(index).encode(), headers

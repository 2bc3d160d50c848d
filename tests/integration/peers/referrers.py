"""Read a digest's bundle referrers the plain way, as a third party would."""

from __future__ import annotations

from stack.raw_registry import RawClient
from stack.registry import Registry


def bundle_referrers(registry: Registry, repo: str, digest: str) -> list[str]:
    """The digests of the bundle referrers of `digest`, through the API or the fallback tag."""
    client = RawClient(registry, repo)
    api = client.call("GET", f"referrers/{digest}")
    if api.status_code == 200:
        listing = api.json()
    else:
        fallback = client.get_manifest(digest.replace(":", "-"))
        assert fallback.status_code == 200, fallback.text
        listing = fallback.json()
    return [
        m["digest"]
        for m in listing.get("manifests", [])
        if str(m.get("artifactType", "")).startswith("application/vnd.dev.sigstore.bundle")
    ]

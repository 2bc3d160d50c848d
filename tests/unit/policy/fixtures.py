"""Shared inputs for the policy tests: policy files, a private trust config, the CRD schemas."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

CRDS = Path(__file__).parent / "crds"
SAN = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3"
ISSUER = "https://token.actions.githubusercontent.com"
EXACT = f"""
[sign]
images = ["ghcr.io/acme/app", "docker.io/acme/app"]
format = "both"

[[policy]]
images = ["ghcr.io/acme/app", "docker.io/acme/app"]
issuer = "{ISSUER}"
identity = "{SAN}"
github = {{ repository = "acme/app", ref = "refs/tags/v1.2.3" }}
"""
REGEXP = f"""
[[policy]]
images = ["ghcr.io/acme/app", "docker.io/acme/app"]
issuer = "{ISSUER}"
identity-regexp = '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$'
github = {{ repository = "acme/app", workflow-trigger = "push" }}
"""
GLOB = f"""
[[policy]]
images = ["ghcr.io/acme/app", "docker.io/acme/app"]
issuer = "{ISSUER}"
identity = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v*"
"""
IDENTITIES = {"exact": EXACT, "regexp": REGEXP, "glob": GLOB}


def private_trust_config(directory: Path) -> Path:
    """A ClientTrustConfig for a made-up private instance (staging's keys, other URLs)."""
    store = resources.files("sigstore") / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstage.dev"
    root = json.loads((store / "trusted_root.json").read_text())
    root["tlogs"] = [dict(root["tlogs"][0], baseUrl="https://rekor.sigstore.example")]
    root["certificateAuthorities"][0]["uri"] = "https://fulcio.sigstore.example"
    config = {
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": root,
        "signingConfig": {
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
            "caUrls": [{"url": "https://fulcio.sigstore.example", "majorApiVersion": 1}],
            "rekorTlogUrls": [{"url": "https://rekor.sigstore.example", "majorApiVersion": 1}],
        },
    }
    path = directory / "trust_config.json"
    path.write_text(json.dumps(config))
    return path


def _closed(schema: Any) -> Any:
    """`schema` with every object that lists its properties closed to others.

    The API server prunes unknown fields instead of refusing them (structural schemas), so a
    misspelt field would pass a plain check and then vanish from the cluster's object.
    """
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _closed(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {k: _closed(v) for k, v in schema["properties"].items()}
    return out


@cache
def crd_schema(kind: str, version: str) -> dict[str, Any]:
    """The openAPIV3Schema of `kind` at `version`, from the copied CRDs, with objects closed
    (`_closed`): a field the engine does not know fails validation."""
    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        if crd["spec"]["names"]["kind"] != kind:
            continue
        for served in crd["spec"]["versions"]:
            if served["name"] == version:
                schema: dict[str, Any] = _closed(served["schema"]["openAPIV3Schema"])
                # Every object has these, whether or not its CRD spells them out.
                schema["properties"] = {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    **schema.get("properties", {}),
                }
                return schema
    raise LookupError(f"no CRD for {kind} {version}")

"""The `.sig` image: config blob and manifest with one layer per signature, as cosign builds them.

go-containerregistry's `empty.Image` + `mutate.Append` (formats.md §1.6, §1.7): each appended
signature adds a layer, a `rootfs.diff_ids` entry and an empty history entry; the config is
re-marshalled in Go's `ConfigFile` field order. Existing layers, manifest and config media types
are kept. Pure: uploading the blobs and the manifest is the caller's job.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipsign.errors import InputError
from shipsign.formats.legacy_sig import encode_annotations
from shipsign.legacy_signature import LegacySignature
from shipsign.oci import go_json
from shipsign.oci.media import (
    DOCKER_MANIFEST,
    OCI_CONFIG,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    append_layers,
    build_manifest,
)
from shipsign.oci.reference import Digest

__all__ = ["DOCKER_CONFIG", "MAX_SIGNATURES", "SignatureImage", "build_signature_image"]

DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MAX_SIGNATURES = 1000  # cosign refuses to grow a .sig image past this many layers
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, as ggcr writes it

# Go struct field orders (go-containerregistry pkg/v1/config.go); all but the first group omitempty.
_CONFIG_FILE = ("architecture", "author", "container", "created", "docker_version", "history",
                "os", "rootfs", "config", "os.version", "variant", "os.features")  # fmt: skip
_CONFIG_FILE_ALWAYS = {"architecture", "created", "os", "rootfs", "config"}
_HISTORY = ("author", "created", "created_by", "comment", "empty_layer")
_CONTAINER_CONFIG = ("AttachStderr", "AttachStdin", "AttachStdout", "Cmd", "Healthcheck",
                     "Domainname", "Entrypoint", "Env", "Hostname", "Image", "Labels", "OnBuild",
                     "OpenStdin", "StdinOnce", "Tty", "User", "Volumes", "WorkingDir",
                     "ExposedPorts", "ArgsEscaped", "NetworkDisabled", "MacAddress", "StopSignal",
                     "Shell")  # fmt: skip
_GO_MAPS = {"Labels", "Volumes", "ExposedPorts"}
_HEALTHCHECK = ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureImage:
    """What to push: the new blobs (config and payloads), then the manifest to the `.sig` tag."""

    manifest: Manifest
    config: bytes
    blobs: tuple[tuple[Digest, bytes], ...]  # every blob this image adds, config included


def build_signature_image(
    signatures: Sequence[LegacySignature],
    *,
    base: Manifest | None = None,
    base_config: bytes | None = None,
    docker_media_types: bool = False,
) -> SignatureImage:
    """Append `signatures` as layers to `base` (the current `.sig` image), or to an empty image.

    `base_config` is the base's config blob; raises `InputError` when it does not match the
    base's config descriptor, is not an image config, or the image would exceed 1000 layers.
    """
    if base is not None:
        config_doc = _base_config(base, base_config)
        existing = len(base.layers)
        media_type, config_type = base.media_type, base.config.media_type
    else:
        config_doc = {
            "architecture": "",
            "created": _ZERO_TIME,
            "os": "",
            "rootfs": {"type": "layers"},
            "config": {},
        }
        existing = 0
        media_type = DOCKER_MANIFEST if docker_media_types else OCI_MANIFEST
        config_type = DOCKER_CONFIG if docker_media_types else OCI_CONFIG
    if existing + len(signatures) > MAX_SIGNATURES:
        raise InputError(
            "too many signatures for one .sig image",
            expected=f"at most {MAX_SIGNATURES} layers (cosign's limit)",
            found=str(existing + len(signatures)),
        )
    layers: list[Descriptor] = []
    blobs = []
    history = list(config_doc.get("history") or [])
    diff_ids = list((config_doc.get("rootfs") or {}).get("diff_ids") or [])
    for sig in signatures:
        digest = Digest.of(sig.payload)
        blobs.append((digest, sig.payload))
        layers.append(
            Descriptor(
                media_type=sig.media_type,
                digest=digest,
                size=len(sig.payload),
                annotations=encode_annotations(sig),
            )
        )
        history.append({"created": _ZERO_TIME})
        diff_ids.append(str(digest))  # a signature layer is uncompressed: diff ID == digest
    config_doc = {
        **config_doc,
        "history": history,
        "rootfs": {**config_doc["rootfs"], "diff_ids": diff_ids},
    }
    config = encode_config(config_doc)
    config_digest = Digest.of(config)
    descriptor = Descriptor(media_type=config_type, digest=config_digest, size=len(config))
    if base is not None:
        # Someone else's layers are appended to, never re-encoded from our model of them.
        manifest = append_layers(base, config=descriptor, layers=layers)
    else:
        manifest = build_manifest(config=descriptor, layers=layers, media_type=media_type)
    return SignatureImage(manifest=manifest, config=config, blobs=((config_digest, config), *blobs))


def _base_config(base: Manifest, raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        raise InputError("appending to a .sig image needs its config blob")
    found = "sha256:" + hashlib.sha256(raw).hexdigest()
    if found != str(base.config.digest):
        raise InputError(
            "the .sig config blob does not match its descriptor",
            expected=str(base.config.digest),
            found=found,
        )
    doc = go_json.load_strict(raw, "the .sig config blob")
    if not isinstance(doc, dict) or not isinstance(doc.get("rootfs", {}), dict):
        raise InputError(
            "the .sig config blob is not an image config", found=raw[:80].decode("utf-8", "replace")
        )
    doc.setdefault("rootfs", {"type": "layers"})
    doc.setdefault("created", _ZERO_TIME)
    return doc


def encode_config(doc: Mapping[str, Any]) -> bytes:
    """Encode an image config as ggcr re-marshals a `v1.ConfigFile` (unknown fields dropped)."""
    out: dict[str, Any] = {}
    for key in _CONFIG_FILE:
        value = doc.get(key)
        if key == "history":
            value = [_ordered(h, _HISTORY, always={"created"}) for h in value or []]
        elif key == "rootfs":
            rootfs = value or {}
            value = {"type": rootfs.get("type", ""), "diff_ids": rootfs.get("diff_ids")}
        elif key == "config":
            value = _container_config(value or {})
        elif key in _CONFIG_FILE_ALWAYS and value is None:
            value = _ZERO_TIME if key == "created" else ""
        if key in _CONFIG_FILE_ALWAYS or not _empty(value):
            out[key] = value
    return go_json.encode(out).encode("utf-8")


def _container_config(doc: Mapping[str, Any]) -> dict[str, Any]:
    config = _ordered(doc, _CONTAINER_CONFIG)
    for key in _GO_MAPS & config.keys():
        config[key] = go_json.sorted_map(config[key])
    if isinstance(doc.get("Healthcheck"), dict):  # a pointer: kept even when empty
        config["Healthcheck"] = _ordered(doc["Healthcheck"], _HEALTHCHECK)
    return config


def _ordered(
    doc: Any, order: tuple[str, ...], always: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InputError("the .sig config blob has an unexpected shape", found=type(doc).__name__)
    out = {}
    for key in order:
        value = doc.get(key)
        if key in always and value is None:
            value = _ZERO_TIME
        if key in always or not _empty(value):
            out[key] = value
    return out


def _empty(value: Any) -> bool:
    """Go's omitempty: false, 0, "", nil, and empty arrays and maps are left out."""
    return (
        value is None or value is False or value == 0 or value == "" or value == [] or value == {}
    )

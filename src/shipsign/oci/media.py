"""Media types, descriptors, image manifests and indexes: decode and encode, keeping exact bytes.

Pure. A decoded `Manifest`/`Index` carries the bytes it came from and their digest; encoders
write compact JSON in Go's field order so that what we push hashes like ggcr's output.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from shipsign.errors import InputError
from shipsign.oci import go_json
from shipsign.oci.reference import Digest

__all__ = [
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "EMPTY_JSON",
    "INDEX_MEDIA_TYPES",
    "MANIFEST_ACCEPT",
    "MANIFEST_MAX_BYTES",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "Descriptor",
    "Index",
    "Manifest",
    "Platform",
    "append_layers",
    "build_index",
    "build_manifest",
    "decode_config_platform",
    "decode_manifest",
    "encode_json",
    "merge_index",
    "referrer_descriptor",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"  # the OCI empty descriptor's content
# ggcr sends all four when it resolves, so that an index is never down-converted.
MANIFEST_ACCEPT = (OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_MEDIA_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_MAX_BYTES = 4 * 1024 * 1024  # ggcr's and containerd's manifest limit

_NO_ANNOTATIONS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Platform:
    """`os/architecture[/variant]` of an index entry."""

    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse `os/arch[/variant]`, e.g. `linux/arm64/v8`."""
        parts = text.split("/")
        if not 2 <= len(parts) <= 3 or not all(parts):
            raise InputError(f"invalid platform {text!r}", expected="os/arch[/variant]")
        return cls(parts[0], parts[1], parts[2] if len(parts) == 3 else None)

    def matches(self, other: Platform) -> bool:
        """Whether `other` satisfies this wanted platform (no variant wanted: any variant)."""
        return (
            self.os == other.os
            and self.architecture == other.architecture
            and (self.variant is None or self.variant == other.variant)
        )

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True, kw_only=True)
class Descriptor:
    """What an OCI descriptor says about a piece of content."""

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=lambda: _NO_ANNOTATIONS)
    artifact_type: str | None = None
    platform: Platform | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """An image (or artifact) manifest, with the exact bytes it was decoded from."""

    raw: bytes
    digest: Digest
    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=lambda: _NO_ANNOTATIONS)
    subject: Descriptor | None = None
    artifact_type: str | None = None

    @property
    def descriptor(self) -> Descriptor:
        """This manifest as a descriptor (media type, digest, size)."""
        return Descriptor(media_type=self.media_type, digest=self.digest, size=len(self.raw))


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    """An image index or Docker manifest list, with its exact bytes."""

    raw: bytes
    digest: Digest
    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: Mapping[str, str] = field(default_factory=lambda: _NO_ANNOTATIONS)
    subject: Descriptor | None = None
    artifact_type: str | None = None

    @property
    def descriptor(self) -> Descriptor:
        """This index as a descriptor (media type, digest, size)."""
        return Descriptor(media_type=self.media_type, digest=self.digest, size=len(self.raw))


def referrer_descriptor(manifest: Manifest) -> Descriptor:
    """The descriptor a referrers index lists for `manifest`.

    Per the distribution spec it copies `artifactType` (else `config.mediaType`) and all of
    the manifest's annotations.
    """
    return Descriptor(
        media_type=manifest.media_type,
        digest=manifest.digest,
        size=len(manifest.raw),
        annotations=manifest.annotations,
        artifact_type=manifest.artifact_type or manifest.config.media_type,
    )


# ---------------------------------------------------------------- decoding


def decode_manifest(raw: bytes, content_type: str | None = None) -> Manifest | Index:
    """Decode manifest or index bytes; raise `InputError` for anything malformed.

    The document's own `mediaType` wins over `content_type` (the HTTP header); with neither,
    the presence of `manifests` decides.
    """
    doc = _object(_load(raw), "manifest")
    media_type = _opt_str(doc, "mediaType") or _bare(content_type) or ""
    if doc.get("schemaVersion") != 2:
        raise InputError("unsupported manifest: schemaVersion is not 2", found=_short(raw))
    if media_type in INDEX_MEDIA_TYPES or (not media_type and "manifests" in doc):
        return _decode_index(doc, raw, media_type or OCI_INDEX)
    if "config" not in doc:
        raise InputError(
            f"unsupported manifest media type {media_type!r}: no config and no manifests",
            found=_short(raw),
        )
    return _decode_image(doc, raw, media_type or OCI_MANIFEST)


def _decode_index(doc: dict[str, object], raw: bytes, media_type: str) -> Index:
    return Index(
        raw=raw,
        digest=Digest.of(raw),
        media_type=media_type,
        manifests=tuple(_descriptor(item) for item in _array(doc.get("manifests"), "manifests")),
        annotations=_annotations(doc.get("annotations"), "index"),
        subject=_opt_descriptor(doc.get("subject")),
        artifact_type=_opt_str(doc, "artifactType"),
    )


def _decode_image(doc: dict[str, object], raw: bytes, media_type: str) -> Manifest:
    return Manifest(
        raw=raw,
        digest=Digest.of(raw),
        media_type=media_type,
        config=_descriptor(doc.get("config")),
        layers=tuple(_descriptor(item) for item in _array(doc.get("layers", []), "layers")),
        annotations=_annotations(doc.get("annotations"), "manifest"),
        subject=_opt_descriptor(doc.get("subject")),
        artifact_type=_opt_str(doc, "artifactType"),
    )


def decode_config_platform(raw: bytes) -> Platform | None:
    """The platform an image config declares (`os`, `architecture`, `variant`), if any."""
    doc = _object(_load(raw, "image config"), "image config")
    os_name, arch = _opt_str(doc, "os"), _opt_str(doc, "architecture")
    if not os_name or not arch:
        return None
    return Platform(os_name, arch, _opt_str(doc, "variant") or None)


def _load(raw: bytes, what: str = "manifest") -> object:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"invalid {what}: not UTF-8 JSON", found=str(exc)[:200]) from None


def _object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InputError(f"invalid {what}: expected a JSON object", found=type(value).__name__)
    return value


def _array(value: object, what: str) -> list[object]:
    if not isinstance(value, list):
        raise InputError(f"invalid {what}: expected a JSON array", found=type(value).__name__)
    return value


def _opt_str(doc: Mapping[str, object], key: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"invalid {key}: expected a string", found=type(value).__name__)
    return value


def _bare(content_type: str | None) -> str | None:
    return content_type.split(";", 1)[0].strip() if content_type else None


def _annotations(value: object, where: str) -> Mapping[str, str]:
    if value is None:
        return _NO_ANNOTATIONS
    items = _object(value, f"annotations of {where}")
    for k, v in items.items():
        if not isinstance(v, str):
            raise InputError(f"invalid annotation {k!r} in {where}: value is not a string")
    return MappingProxyType({k: v for k, v in items.items() if isinstance(v, str)})


def _descriptor(value: object) -> Descriptor:
    doc = _object(value, "descriptor")
    media_type = _opt_str(doc, "mediaType")
    digest = _opt_str(doc, "digest")
    size = doc.get("size")
    if media_type is None or digest is None:
        raise InputError("invalid descriptor: mediaType and digest are required")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InputError("invalid descriptor: size must be a non-negative integer", found=str(size))
    return Descriptor(
        media_type=media_type,
        digest=Digest.parse(digest),
        size=size,
        annotations=_annotations(doc.get("annotations"), f"descriptor {digest}"),
        artifact_type=_opt_str(doc, "artifactType"),
        platform=_platform(doc.get("platform")),
    )


def _opt_descriptor(value: object) -> Descriptor | None:
    return None if value is None else _descriptor(value)


def _platform(value: object) -> Platform | None:
    if value is None:
        return None
    doc = _object(value, "platform")
    os_name, arch = _opt_str(doc, "os"), _opt_str(doc, "architecture")
    if os_name is None or arch is None:
        raise InputError("invalid platform: os and architecture are required")
    return Platform(os_name, arch, _opt_str(doc, "variant"))


def _short(raw: bytes) -> str:
    return raw[:120].decode("utf-8", "replace")


# ---------------------------------------------------------------- encoding


def encode_json(value: object) -> bytes:
    """Compact JSON as Go's encoding/json writes it (see `go_json`), as UTF-8 bytes."""
    return go_json.encode(value).encode("utf-8")


def _encode_descriptor(d: Descriptor) -> dict[str, object]:
    out: dict[str, object] = {"mediaType": d.media_type, "size": d.size, "digest": str(d.digest)}
    if d.annotations:
        out["annotations"] = dict(sorted(d.annotations.items()))
    if d.platform is not None:
        plat: dict[str, object] = {"architecture": d.platform.architecture, "os": d.platform.os}
        if d.platform.variant:
            plat["variant"] = d.platform.variant
        out["platform"] = plat
    if d.artifact_type is not None:
        out["artifactType"] = d.artifact_type
    return out


def build_manifest(
    *,
    config: Descriptor,
    layers: Iterable[Descriptor],
    annotations: Mapping[str, str] | None = None,
    subject: Descriptor | None = None,
    artifact_type: str | None = None,
    media_type: str = OCI_MANIFEST,
) -> Manifest:
    """Encode an image manifest in ggcr's field order and return it with its bytes."""
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": _encode_descriptor(config),
        "layers": [_encode_descriptor(d) for d in layers],
    }
    if annotations:
        doc["annotations"] = dict(sorted(annotations.items()))
    if subject is not None:
        doc["subject"] = _encode_descriptor(subject)
    if artifact_type is not None:
        doc["artifactType"] = artifact_type
    raw = encode_json(doc)
    return _decode_image(doc, raw, media_type)


def append_layers(base: Manifest, *, config: Descriptor, layers: Iterable[Descriptor]) -> Manifest:
    """`base` with a new config descriptor and `layers` appended; every other field kept.

    Edits the decoded JSON, as `merge_index` does, so that what we do not model (a layer's
    `urls` or `data`, fields of newer specs) survives a read-modify-write of someone's manifest.
    The config descriptor keeps its other fields; only its media type, size and digest change.
    """
    doc = _object(_load(base.raw), "manifest")
    old_config = _object(doc.get("config"), "config descriptor")
    doc["config"] = {
        **old_config,
        "mediaType": config.media_type,
        "size": config.size,
        "digest": str(config.digest),
    }
    existing = _array(doc.get("layers", []), "layers")
    doc["layers"] = [*existing, *(_encode_descriptor(d) for d in layers)]
    return _decode_image(doc, encode_json(doc), base.media_type)


def build_index(
    manifests: Iterable[Descriptor],
    *,
    annotations: Mapping[str, str] | None = None,
    media_type: str = OCI_INDEX,
) -> Index:
    """Encode an image index and return it with its bytes."""
    doc: dict[str, object] = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [_encode_descriptor(d) for d in manifests],
    }
    if annotations:
        doc["annotations"] = dict(sorted(annotations.items()))
    raw = encode_json(doc)
    return _decode_index(doc, raw, media_type)


def merge_index(existing: Index | None, entry: Descriptor) -> Index:
    """Add `entry` to a referrers index unless its digest is listed; keep every other field.

    Idempotent: merging an entry that is present returns `existing` unchanged (same bytes).
    Entries are sorted by digest, as ggcr does; unknown fields of the index and of its
    entries survive because we edit the decoded JSON rather than our typed view of it.
    """
    if existing is None:
        return build_index([entry])
    if any(d.digest == entry.digest for d in existing.manifests):
        return existing
    doc = _object(_load(existing.raw), "index")
    items = list(_array(doc.get("manifests"), "manifests"))
    items.append(_encode_descriptor(entry))
    items.sort(key=lambda item: str(_object(item, "descriptor").get("digest")))
    doc["manifests"] = items
    return _decode_index(doc, encode_json(doc), existing.media_type)

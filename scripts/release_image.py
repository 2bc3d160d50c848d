"""Assemble the Action's image from files and push it by digest, for the release rehearsal.

There is no Docker engine (and no base image) where the rehearsal runs, so this builds what
`docker buildx` would publish, in shape only: an OCI index of linux/amd64 and linux/arm64 image
manifests, each with a config (entry point `shipsign action`, the source labels) and one layer,
a reproducible tar of what the Dockerfile copies (pyproject.toml, README.md, requirements/,
src/). It is not runnable. It is pushed with shipsign's own OCI client, by digest: no tag.

    python scripts/release_image.py --image HOST/REPO --version X.Y.Z [--insecure-registry HOST]

Prints `HOST/REPO@sha256:...`.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import tarfile
from pathlib import Path

from shipsign.oci import Digest, Reference, Registries, decode_manifest

ROOT = Path(__file__).resolve().parents[1]
_CONTENT = ("pyproject.toml", "README.md", "requirements/action.txt", "requirements/build.txt")
_INDEX = "application/vnd.oci.image.index.v1+json"
_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_CONFIG = "application/vnd.oci.image.config.v1+json"
_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def source_layer() -> bytes:
    """A gzipped tar of the Dockerfile's build context under /src: same tree, same bytes."""
    files = [ROOT / name for name in _CONTENT]
    files += sorted(
        p for p in (ROOT / "src").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo("src/" + path.relative_to(ROOT).as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _json(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _descriptor(media_type: str, data: bytes, **extra: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": str(Digest.of(data)), "size": len(data), **extra}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True, metavar="HOST/REPO")
    parser.add_argument("--version", required=True)
    parser.add_argument("--revision", default="rehearsal")
    parser.add_argument("--insecure-registry", action="append", default=[])
    args = parser.parse_args(argv)
    repo = Reference.parse(args.image).repository
    layer = source_layer()
    diff_id = str(Digest.of(gzip.decompress(layer)))
    labels = {
        "org.opencontainers.image.source": "shipsign (release rehearsal)",
        "org.opencontainers.image.revision": args.revision,
        "org.opencontainers.image.version": args.version,
    }
    with Registries(insecure=tuple(args.insecure_registry)) as pool:
        client = pool.client(repo.registry)
        client.push_blob(repo, layer)
        children = []
        for arch in ("amd64", "arm64"):
            config = _json({
                "architecture": arch, "os": "linux",
                "config": {"Entrypoint": ["shipsign", "action"], "Labels": labels},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            })  # fmt: skip
            client.push_blob(repo, config)
            manifest = _json({
                "schemaVersion": 2, "mediaType": _MANIFEST,
                "config": _descriptor(_CONFIG, config), "layers": [_descriptor(_LAYER, layer)],
            })  # fmt: skip
            client.push_manifest(repo, decode_manifest(manifest, _MANIFEST))
            children.append(
                _descriptor(_MANIFEST, manifest, platform={"architecture": arch, "os": "linux"})
            )
        index = _json({"schemaVersion": 2, "mediaType": _INDEX, "manifests": children})
        digest = client.push_manifest(repo, decode_manifest(index, _INDEX))  # by digest
    sys.stdout.write(f"{repo.name}@{digest}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

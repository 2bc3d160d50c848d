"""Run the local stack outside pytest, for the demo and benchmarks.

    python -m stack up --workdir DIR       start two registries, Sigstore and the OIDC endpoint,
                                           write DIR/stack.env, run until SIGINT/SIGTERM
    python -m stack push-image --registry HOST --repo NAME --tag TAG
                                           push a small two-platform image index; print its digest
(with tests/ on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from stack.raw_registry import OCI_CONFIG, OCI_INDEX, OCI_LAYER, RawClient, build_manifest, sha256
from stack.registry import Registry, start_demo_registries
from stack.sigstore_stack import start_github_oidc, start_sigstore_stack


def _up(workdir: Path) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    registries = start_demo_registries(workdir / "registries")
    sigstore = start_sigstore_stack(workdir / "sigstore")
    oidc = start_github_oidc(workdir / "oidc")
    try:
        env = {
            "STACK_REGISTRY_A": registries[0].registry.host,
            "STACK_REGISTRY_B": registries[1].registry.host,
            "STACK_TRUST_CONFIG": str(sigstore.trust_config),
            "STACK_TRUSTED_ROOT": str(sigstore.trusted_root),
            "STACK_SIGSTORE_URL": sigstore.url,
            "STACK_IDENTITY": oidc.san,
            "STACK_ISSUER": oidc.issuer,
            **oidc.env(),
        }
        lines = [f"export {k}={shlex.quote(v)}" for k, v in env.items()]
        tmp = workdir / "stack.env.tmp"
        tmp.write_text("\n".join(lines) + "\n")
        tmp.rename(workdir / "stack.env")  # appears whole: the demo waits for it
        stopping.wait()
    finally:
        oidc.stop()
        sigstore.stop()
        for running in registries:
            running.stop()
    return 0


def _push_image(host: str, repo: str, tag: str) -> int:
    registry = Registry(name="demo", host=host, url=f"http://{host}", insecure=True)
    client = RawClient(registry, repo)
    children = []
    for arch in ("amd64", "arm64"):
        config = json.dumps({"architecture": arch, "os": "linux"}).encode()
        layer = f"shipsign demo layer for linux/{arch}\n".encode()
        client.push_blob(config)
        client.push_blob(layer)
        manifest = build_manifest((OCI_CONFIG, config), [(OCI_LAYER, layer)])
        client.push_manifest(sha256(manifest), manifest)
        children.append(
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sha256(manifest),
                "size": len(manifest),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
    digest = client.push_manifest(tag, index.encode(), OCI_INDEX)
    sys.stdout.write(digest + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--workdir", type=Path, required=True)
    push = sub.add_parser("push-image")
    push.add_argument("--registry", required=True)
    push.add_argument("--repo", required=True)
    push.add_argument("--tag", required=True)
    args = parser.parse_args(argv)
    if args.cmd == "up":
        return _up(args.workdir)
    return _push_image(args.registry, args.repo, args.tag)


if __name__ == "__main__":
    sys.exit(main())

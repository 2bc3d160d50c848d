"""The "referrers-api" registry kind: go-containerregistry's in-memory pkg/registry with the OCI
1.1 referrers API on (our tests/stack/refregistry, built by `scripts/install.sh --peers` into the
peers cache), on 127.0.0.1, plain HTTP, anonymous, empty at every start.

What it does that docker-registry 2.8 does not, and its quirks (tests/integration/oci/
test_referrers_api_registry.py checks each):
- `GET /v2/<name>/referrers/<digest>` answers 200 with an OCI index of every manifest in the
  repository whose `subject` is that digest, the manifest's own `artifactType` in each
  descriptor (refregistry corrects pkg/registry, which used `config.mediaType`), sorted by digest.
  The `artifactType` query filter is not applied. A repository with no manifests answers 404.
- A manifest PUT answers no `OCI-Subject` header: a client learns of the API only by asking.
- A single-request monolithic upload (`POST /v2/<name>/blobs/uploads/?digest=<d>` with the blob
  as body) is honoured: 201 with `Docker-Content-Digest` (docker-registry 2.8 ignores the body).
- Manifest responses carry no `ETag`, so a referrers-tag write cannot be conditional here.
- Every request is logged before it is answered, one JSON line {"method","uri","status"} in the
  server log: `Registry.requests()` reads them.
"""

from __future__ import annotations

import time
from pathlib import Path

import requests

from stack.peers import refregistry_binary
from stack.process import Server, free_port, start_server
from stack.registry import Registry, RunningRegistry

__all__ = ["KIND", "start_referrers_registry"]

KIND = "referrers-api"


def _wait_for_v2(url: str, server: Server, timeout: float = 15.0) -> None:
    """Block until `GET /v2/` answers 200, or raise with the server's log."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            break
        try:
            status = requests.get(f"{url}/v2/", timeout=2).status_code
        except requests.RequestException as exc:
            last = str(exc)
        else:
            if status == 200:
                return
            last = f"HTTP {status}"
        time.sleep(0.05)
    log = server.log.read_text(errors="replace") if server.log.exists() else ""
    raise RuntimeError(f"{server.name}: GET {url}/v2/ did not answer 200 ({last}):\n{log}")


def start_referrers_registry(workdir: Path, *, binary: Path | None = None) -> RunningRegistry:
    """Start refregistry on a free port; its log is workdir/registry-referrers-api.log.

    `binary` defaults to the build install.sh made of this checkout's sources (missing: the test
    fails, see peers.py). Raises RuntimeError when it does not come up.
    """
    path = binary if binary is not None else refregistry_binary()
    port = free_port()
    argv = [str(path), f"--addr=127.0.0.1:{port}"]
    server = start_server(f"registry-{KIND}", argv, port=port, workdir=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_v2(url, server)
    except BaseException:
        server.stop()
        raise
    registry = Registry(
        name=KIND, host=f"127.0.0.1:{port}", url=url, insecure=True, request_log=server.log
    )
    return RunningRegistry(registry, [server])

"""Start the Sigstore services (tests/stack/sigstore/server.mjs) and the GitHub Actions OIDC
endpoint (stack.oidc) as processes, and talk to them: trust files, admin stats and faults,
tokens, and the independent Node verifier (verify.mjs). Usable with or without pytest.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stack.oidc import GITHUB_ISSUER, WorkflowClaims
from stack.process import Server, free_port, start_server

__all__ = [
    "NODE_STACK_DIR",
    "GitHubOidc",
    "HttpAnswer",
    "NodeVerdict",
    "NodeVerifier",
    "SigstoreStack",
    "http_call",
    "require_node_stack",
    "start_github_oidc",
    "start_sigstore_stack",
]

NODE_STACK_DIR = Path(__file__).parent / "sigstore"
_TESTS_DIR = Path(__file__).parent.parent
# Loopback only: never let an http_proxy variable route the stack's traffic elsewhere.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _call(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with _opener.open(request, timeout=10) as response:
        return json.loads(response.read())


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A raw answer from a stack server: status, headers (names in lower case) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def http_call(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    timeout: float = 10.0,
) -> HttpAnswer:
    """Send one request straight to a stack server; 4xx/5xx are answers, not exceptions."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, _lower(response.headers.items()), response.read())
    except urllib.error.HTTPError as err:
        return HttpAnswer(err.code, _lower(err.headers.items()), err.read())


def require_node_stack() -> str:
    """Return the `node` executable; raise if node or the stack's npm packages are missing."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH: the Sigstore test stack needs Node.js 20+")
    if not (NODE_STACK_DIR / "node_modules" / "@sigstore" / "mock").is_dir():
        raise RuntimeError(
            f"{NODE_STACK_DIR / 'node_modules'} is missing: "
            "run `npm ci --prefix tests/stack/sigstore` (scripts/install.sh does it)"
        )
    return node


@dataclass(frozen=True, slots=True, kw_only=True)
class SigstoreStack:
    """A running Fulcio + Rekor v1 + TSA on one port, and the trust files it wrote."""

    server: Server
    url: str
    trusted_root: Path
    signing_config: Path
    trust_config: Path
    tsa: bool

    def stats(self) -> dict[str, Any]:
        """Return /__stats: `requests` and `responses` counts keyed "METHOD /path [STATUS]"."""
        stats: dict[str, Any] = _call("GET", f"{self.url}/__stats")
        return stats

    def requests(self, route: str) -> int:
        """How many requests `route` ("POST /api/v2/signingCert") got since the last reset."""
        count: int = self.stats()["requests"].get(route, 0)
        return count

    def reset_stats(self) -> None:
        _call("POST", f"{self.url}/__reset-stats", {})

    def fault(
        self,
        path: str,
        *,
        status: int | None = 503,
        method: str | None = None,
        count: int = 1,
        retry_after: str | None = None,
        delay_ms: int | None = None,
    ) -> None:
        """Make the next `count` requests to `path` answer `status` (None: only delay them).

        `path` is matched exactly, query string excluded; `method` None matches any method.
        """
        spec: dict[str, Any] = {"path": path, "count": count}
        optional = {
            "status": status,
            "method": method,
            "retry_after": retry_after,
            "delay_ms": delay_ms,
        }
        spec.update({k: v for k, v in optional.items() if v is not None})
        _call("POST", f"{self.url}/__faults", spec)

    def clear_faults(self) -> None:
        _call("DELETE", f"{self.url}/__faults")

    def stop(self) -> None:
        self.server.stop()


def start_sigstore_stack(workdir: Path, *, tsa: bool = True, fulcio_skew: int = 0) -> SigstoreStack:
    """Start server.mjs on a free port; it writes its trust files into `workdir`.

    `fulcio_skew` (seconds, negative: behind) sets the clock Fulcio's certificates are issued
    by to the start time plus that much.
    """
    node = require_node_stack()
    port = free_port()
    argv = [node, str(NODE_STACK_DIR / "server.mjs"), "--port", str(port), "--out", str(workdir)]
    if not tsa:
        argv.append("--no-tsa")
    if fulcio_skew:
        argv.append(f"--fulcio-skew={fulcio_skew}")  # "=": the value may start with "-"
    server = start_server("sigstore", argv, port=port, workdir=workdir)
    return SigstoreStack(
        server=server,
        url=f"http://127.0.0.1:{port}",
        trusted_root=workdir / "trusted_root.json",
        signing_config=workdir / "signing_config.json",
        trust_config=workdir / "trust_config.json",
        tsa=tsa,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GitHubOidc:
    """A running GitHub Actions token endpoint and what its tokens will say."""

    server: Server
    url: str
    request_url: str
    request_token: str
    workflow: WorkflowClaims
    issuer: str = GITHUB_ISSUER

    @property
    def san(self) -> str:
        """The SAN a Fulcio certificate for these tokens carries (the workflow identity URI)."""
        return self.workflow.san

    def env(self) -> dict[str, str]:
        """The variables a runner sets for a job with `permissions: id-token: write`."""
        return {
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.request_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    def mint(self, audience: str = "sigstore", **claims: Any) -> str:
        """Mint a token directly; keyword claims override or (None) drop the defaults."""
        body = {"audience": audience, "claims": claims}
        token: str = _call("POST", f"{self.url}/__mint", body)["value"]
        return token

    def stop(self) -> None:
        self.server.stop()


def start_github_oidc(
    workdir: Path, workflow: WorkflowClaims | None = None, *, request_token: str | None = None
) -> GitHubOidc:
    """Start `python -m stack.oidc` on a free port, issuing tokens for `workflow`."""
    workflow = workflow or WorkflowClaims()
    token = request_token or secrets.token_urlsafe(32)
    port = free_port()
    argv = [sys.executable, "-m", "stack.oidc", "--port", str(port), "--workdir", str(workdir)]
    argv += ["--claims", json.dumps(asdict(workflow))]
    pythonpath = os.pathsep.join(filter(None, [str(_TESTS_DIR), os.environ.get("PYTHONPATH")]))
    env = {"OIDC_REQUEST_TOKEN": token, "PYTHONPATH": pythonpath}
    server = start_server("github-oidc", argv, port=port, workdir=workdir, env=env)
    info = json.loads((workdir / "github_oidc.json").read_text())
    return GitHubOidc(
        server=server,
        url=info["url"],
        request_url=info["request_url"],
        request_token=token,
        workflow=workflow,
    )


@dataclass(frozen=True, slots=True)
class NodeVerdict:
    """What verify.mjs said: `ok` with its output, or the reason it refused."""

    ok: bool
    output: str


class NodeVerifier:
    """Run verify.mjs (@sigstore/verify) on a bundle; a callable."""

    def __init__(self, trusted_root: Path) -> None:
        self.trusted_root = trusted_root
        self._node = require_node_stack()

    def __call__(
        self,
        bundle: Path,
        *,
        san: str,
        issuer: str,
        artifact: Path | None = None,
        digest: str | None = None,
        trusted_root: Path | None = None,
    ) -> NodeVerdict:
        """Verify `bundle` for `san`/`issuer` against `artifact` or `digest` ("sha256:hex")."""
        argv = [self._node, str(NODE_STACK_DIR / "verify.mjs"), "--bundle", str(bundle)]
        argv += ["--trusted-root", str(trusted_root or self.trusted_root)]
        argv += ["--san", san, "--issuer", issuer]
        if artifact is not None:
            argv += ["--artifact", str(artifact)]
        if digest is not None:
            argv += ["--digest", digest]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"verify.mjs failed to run ({done.returncode}): {done.stderr}")
        return NodeVerdict(ok=done.returncode == 0, output=(done.stdout + done.stderr).strip())

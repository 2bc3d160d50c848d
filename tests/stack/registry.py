"""Debian's docker-registry (distribution 2.8) on 127.0.0.1, in the variants tests ask for.

Kinds: "anonymous" and "anonymous-b" (two independent plain-HTTP registries standing in for GHCR
and Docker Hub), "basic" (htpasswd, bcrypt), "token" (bearer tokens from our token_server.py, plain
HTTP realm), "tls" (HTTPS with a per-start self-signed CA, anonymous). Storage is in memory, so
every start is empty. Known quirks of this registry (tests/integration/stack documents them): pulls
by tag need exact manifest media types in Accept; a single-POST monolithic upload is ignored; the
referrers API is not served (the fault proxy can serve it).

One more kind is not docker-registry: "referrers-api", a plain-HTTP anonymous registry that serves
the OCI 1.1 referrers API (go-containerregistry's pkg/registry in our tests/stack/refregistry,
built by `scripts/install.sh --peers`; referrers_registry.py lists its quirks). It keeps a request
log (`Registry.requests()`).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from stack.certs import write_server_tls, write_token_signer
from stack.process import Server, free_port, start_server

__all__ = [
    "KINDS",
    "REGISTRY_BINARY",
    "Registry",
    "RegistryRequest",
    "RunningRegistry",
    "TokenRequest",
    "start_demo_registries",
    "start_registry",
]

REGISTRY_BINARY = "/usr/bin/docker-registry"
KINDS = ("anonymous", "anonymous-b", "basic", "token", "tls", "referrers-api")
TOKEN_SERVICE = "shipsign-test-registry"
TOKEN_ISSUER = "shipsign-test-token-server"
_USER = "shipsign"


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """One request the token server answered (user None = anonymous)."""

    user: str | None
    scopes: tuple[str, ...]
    status: int


@dataclass(frozen=True, slots=True)
class RegistryRequest:
    """One request a registry with a request log answered: `uri` is the path with its query."""

    method: str
    uri: str
    status: int

    @property
    def path(self) -> str:
        return self.uri.split("?", 1)[0]


@dataclass(frozen=True)
class Registry:
    """Where a started registry listens and how to talk to it.

    `host` goes into image references, `url` is the API base. TLS variants set `ca_bundle` (a PEM
    for REQUESTS_CA_BUNDLE) and `cert_dir` (for skopeo/podman `--cert-dir`). Token variants set
    `realm`, `service` and `token_log`; `token_requests()` reads what the token server answered.
    The "referrers-api" kind sets `request_log`; `requests()` reads every request it answered.
    """

    name: str
    host: str
    url: str
    insecure: bool
    username: str | None = None
    password: str | None = None
    ca_bundle: Path | None = None
    cert_dir: Path | None = None
    realm: str | None = None
    service: str | None = None
    token_log: Path | None = None
    request_log: Path | None = None

    def requests(self) -> list[RegistryRequest]:
        """Every request the registry has answered so far, oldest first (the line is written
        before the answer is sent)."""
        if self.request_log is None:
            raise ValueError(f"registry {self.name!r} keeps no request log")
        lines = self.request_log.read_text(errors="replace").splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        return [RegistryRequest(e["method"], e["uri"], e["status"]) for e in entries]

    def token_requests(self) -> list[TokenRequest]:
        """Every request the token server has answered so far, oldest first."""
        if self.token_log is None:
            raise ValueError(f"registry {self.name!r} has no token server")
        if not self.token_log.exists():
            return []
        entries = [json.loads(line) for line in self.token_log.read_text().splitlines() if line]
        return [
            TokenRequest(user=e["user"], scopes=tuple(e["scopes"]), status=e["status"])
            for e in entries
        ]


class RunningRegistry(NamedTuple):
    """A started registry and its processes; unpacks as `(registry, servers)`."""

    registry: Registry
    servers: list[Server]

    def stop(self) -> None:
        """Stop every process by PID (registry first, then its token server)."""
        for server in self.servers:
            server.stop()


def _config(port: int) -> dict[str, Any]:
    return {
        "version": "0.1",
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"inmemory": {}, "delete": {"enabled": True}},
        "http": {
            "addr": f"127.0.0.1:{port}",
            "secret": secrets.token_hex(16),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "health": {"storagedriver": {"enabled": False}},
    }


def _write_htpasswd(path: Path, user: str, password: str) -> None:
    htpasswd = shutil.which("htpasswd")
    if htpasswd is None:
        raise RuntimeError("htpasswd not found: apt-get install apache2-utils")
    # -B bcrypt (the only hash distribution accepts), -i password on stdin, not in argv.
    subprocess.run(
        [htpasswd, "-B", "-i", "-c", str(path), user],
        input=password.encode(),
        check=True,
        capture_output=True,
    )


def _start_token_server(workdir: Path, password: str, expires_in: int) -> tuple[Server, Path]:
    signer = write_token_signer(workdir)
    users = workdir / "token-users.json"
    users.write_text(json.dumps({_USER: password}))
    users.chmod(0o600)
    log = workdir / "token-requests.jsonl"
    port = free_port()
    argv = [
        sys.executable,
        str(Path(__file__).with_name("token_server.py")),
        f"--port={port}",
        f"--key={signer.key}",
        f"--cert={signer.certificate}",
        f"--issuer={TOKEN_ISSUER}",
        f"--service={TOKEN_SERVICE}",
        f"--users={users}",
        f"--log={log}",
        f"--expires-in={expires_in}",
    ]
    server = start_server("token-server", argv, port=port, workdir=workdir)
    return server, log


def start_registry(kind: str, workdir: Path, *, token_expires_in: int = 300) -> RunningRegistry:
    """Start one registry of `kind` (see KINDS) with its helpers; files go under workdir/kind.

    Raises ValueError for an unknown kind and RuntimeError when a process does not come up.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown registry kind {kind!r}; expected one of {KINDS}")
    workdir = workdir / kind
    workdir.mkdir(parents=True, exist_ok=True)
    if kind == "referrers-api":
        from stack.referrers_registry import start_referrers_registry  # imports this module

        return start_referrers_registry(workdir)
    port = free_port()
    config = _config(port)
    fields: dict[str, Any] = {"name": kind, "host": f"127.0.0.1:{port}", "insecure": True}
    servers: list[Server] = []
    password = secrets.token_urlsafe(12)
    try:
        if kind == "basic":
            _write_htpasswd(workdir / "htpasswd", _USER, password)
            config["auth"] = {"htpasswd": {"realm": "shipsign-test", "path": "htpasswd"}}
            fields.update(username=_USER, password=password)
        elif kind == "token":
            token_server, log = _start_token_server(workdir, password, token_expires_in)
            servers.append(token_server)
            realm = f"http://127.0.0.1:{token_server.port}/token"
            config["auth"] = {
                "token": {
                    "realm": realm,
                    "service": TOKEN_SERVICE,
                    "issuer": TOKEN_ISSUER,
                    "rootcertbundle": str(workdir / "token-cert.pem"),
                }
            }
            fields.update(username=_USER, password=password, realm=realm)
            fields.update(service=TOKEN_SERVICE, token_log=log)
        elif kind == "tls":
            tls = write_server_tls(workdir / "tls")
            config["http"]["tls"] = {"certificate": str(tls.certificate), "key": str(tls.key)}
            fields.update(insecure=False, ca_bundle=tls.ca_bundle, cert_dir=tls.cert_dir)
        scheme = "http" if fields["insecure"] else "https"
        fields["url"] = f"{scheme}://127.0.0.1:{port}"
        (workdir / "config.yml").write_text(json.dumps(config, indent=2))  # JSON is YAML
        argv = [REGISTRY_BINARY, "serve", str(workdir / "config.yml")]
        servers.insert(0, start_server(f"registry-{kind}", argv, port=port, workdir=workdir))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return RunningRegistry(Registry(**fields), servers)


def start_demo_registries(workdir: Path) -> list[RunningRegistry]:
    """Start the two anonymous registries ("GHCR" and "Docker Hub" stand-ins) outside pytest.

    The caller stops them with `.stop()` on each; they are empty and plain HTTP.
    """
    started: list[RunningRegistry] = []
    try:
        for kind in ("anonymous", "anonymous-b"):
            started.append(start_registry(kind, workdir))
    except BaseException:
        for running in started:
            running.stop()
        raise
    return started

"""Registry credentials stay with the registry's own origin (scheme and host): a host it
redirects us to gets none, and neither does a plain-HTTP redirect back to the registry's host.
A challenge the registry garbles is its failure (RegistryError, exit 3), not bad input.

Two small servers of our own, in threads: blob storage on another port that answers with a
Bearer challenge of its own, and a registry that speaks TLS and plain HTTP on one port.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from shipsign.errors import AuthError, RegistryError
from shipsign.oci import Credential, Digest, Registries, Repository, StaticKeychain
from shipsign.secret import Secret
from stack.certs import write_server_tls
from stack.fault_proxy import FaultProxy

PASSWORD = "s3cret-pass"  # a test login
BLOB = b"stored blob"


class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ChallengingStorage(_Quiet):
    """Blob storage that wants a Bearer token from a realm on itself; records token requests."""

    token_requests: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        if self.path.startswith("/token"):
            type(self).token_requests.append(self.headers.get("Authorization"))
            self.reply(200, json.dumps({"token": "storage-token"}).encode())
            return
        if self.headers.get("Authorization"):
            self.reply(200, BLOB)
            return
        host = self.headers.get("Host")
        realm = f'Bearer realm="http://{host}/token",service="storage"'
        self.reply(401, b"", {"WWW-Authenticate": realm})


def _serve(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def challenging_storage() -> Iterator[tuple[str, type[_ChallengingStorage]]]:
    handler = type("Storage", (_ChallengingStorage,), {"token_requests": []})
    for server in _serve(ThreadingHTTPServer(("127.0.0.1", 0), handler)):
        yield f"http://127.0.0.1:{server.server_address[1]}", handler


def test_a_challenge_from_a_redirect_target_is_not_answered_with_our_login(
    fault_proxy: FaultProxy, repo: str, challenging_storage: tuple[str, type[_ChallengingStorage]]
) -> None:
    url, storage = challenging_storage
    digest = Digest.of(BLOB)
    login = {fault_proxy.host: Credential(username="u", password=Secret(PASSWORD))}
    fault_proxy.add_fault(
        method="GET",
        path_regex=f"/blobs/{digest}",
        status=307,
        headers={"Location": f"{url}/storage/{digest.hex}"},
    )
    with Registries(keychain=StaticKeychain(login), insecure=[fault_proxy.host], env={}) as pool:
        client = pool.client(fault_proxy.host)
        with pytest.raises(AuthError) as caught:
            client.fetch_blob(Repository(fault_proxy.host, repo), digest, max_bytes=100)
    assert storage.token_requests == []  # no token request, so no Basic login, went there
    error = caught.value
    assert error.status == 401
    assert error.what.startswith(f"{url.removeprefix('http://')} (where registry")
    assert "/storage/" in error.where


class _DualRegistry(_Quiet):
    """One port, two protocols: over TLS a registry that wants Basic and then redirects to
    plain HTTP on its own host and port; over plain HTTP it records what it was sent."""

    plain: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        if not isinstance(self.connection, ssl.SSLSocket):
            type(self).plain.append(self.headers.get("Authorization"))
            self.reply(200, BLOB)
            return
        if not self.headers.get("Authorization"):
            self.reply(401, b"", {"WWW-Authenticate": 'Basic realm="registry"'})
            return
        host = self.headers.get("Host")
        self.reply(307, b"", {"Location": f"http://{host}/plain{self.path}"})


class _DualServer(ThreadingHTTPServer):
    """Wraps a connection in TLS when its first byte is a TLS handshake record (0x16)."""

    tls: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = self.socket.accept()
        sock.settimeout(10)
        if sock.recv(1, socket.MSG_PEEK) == b"\x16":
            sock = self.tls.wrap_socket(sock, server_side=True)
        return sock, address


@pytest.fixture
def dual_registry(tmp_path: Path) -> Iterator[tuple[str, Path, type[_DualRegistry]]]:
    pki = write_server_tls(tmp_path / "pki")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.certificate, pki.key)
    handler = type("Dual", (_DualRegistry,), {"plain": []})
    server = _DualServer(("127.0.0.1", 0), handler)
    server.tls = context
    for running in _serve(server):
        yield f"127.0.0.1:{running.server_address[1]}", pki.ca_bundle, handler


def test_credentials_never_follow_a_redirect_from_https_to_http(
    dual_registry: tuple[str, Path, type[_DualRegistry]],
) -> None:
    host, ca_bundle, handler = dual_registry
    login = {host: Credential(username="u", password=Secret(PASSWORD))}
    with Registries(keychain=StaticKeychain(login), ca_bundle=str(ca_bundle), env={}) as pool:
        client = pool.client(host)
        digest = Digest.of(BLOB)
        assert client.fetch_blob(Repository(host, "acme/app"), digest, max_bytes=100) == BLOB
    assert handler.plain == [None]  # the clear-text request carried no Basic login


def test_a_malformed_challenge_is_the_registrys_fault_not_bad_input(
    fault_proxy: FaultProxy, repo: str
) -> None:
    digest = Digest.of(BLOB)
    fault_proxy.add_fault(
        method="GET",
        path_regex=f"/blobs/{digest}",
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="https://auth.example/token'},  # no end quote
    )
    with Registries(keychain=StaticKeychain({}), insecure=[fault_proxy.host], env={}) as pool:
        client = pool.client(fault_proxy.host)
        with pytest.raises(RegistryError) as caught:  # exit 3, where InputError would be 2
            client.fetch_blob(Repository(fault_proxy.host, repo), digest, max_bytes=100)
    error = caught.value
    assert error.status == 401
    assert "malformed challenge" in error.what
    assert error.where == f"GET /v2/{repo}/blobs/{digest}"
    assert "auth.example/token" in error.found

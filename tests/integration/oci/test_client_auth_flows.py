"""Less common paths through real servers: identity-token refresh grants, cross-repository
mounts, one client shared by many threads, and no secret in debug logs."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import ClassVar
from urllib.parse import parse_qs

import pytest

from integration.oci.images import ClientFactory, ServeHttp
from shipsign.oci import (
    OCI_EMPTY,
    Credential,
    Descriptor,
    Digest,
    Reference,
    Registries,
    Repository,
    StaticKeychain,
    build_manifest,
)
from shipsign.oci.media import EMPTY_JSON
from shipsign.secret import Secret
from stack.fault_proxy import FaultProxy
from stack.registry import Registry


class _TokenEndpoint(BaseHTTPRequestHandler):
    """An OAuth2 token endpoint that answers refresh-token grants and records them."""

    grants: ClassVar[list[dict[str, list[str]]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        type(self).grants.append(form)
        body = json.dumps({"access_token": "access-from-refresh", "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def token_endpoint(
    serve_http: ServeHttp,
) -> tuple[str, type[_TokenEndpoint]]:
    handler = type("Endpoint", (_TokenEndpoint,), {"grants": []})
    return serve_http(handler) + "/token", handler


def test_identity_token_uses_the_refresh_grant(
    fault_proxy: FaultProxy, repo: str, token_endpoint: tuple[str, type[_TokenEndpoint]]
) -> None:
    realm, endpoint = token_endpoint
    challenge = f'Bearer realm="{realm}",service="svc.example"'
    fault_proxy.add_fault(
        method="HEAD", path_regex="/blobs/", status=401, headers={"WWW-Authenticate": challenge}
    )
    login = {fault_proxy.host: Credential(identity_token=Secret("refresh-XYZ"))}
    with Registries(keychain=StaticKeychain(login), insecure=[fault_proxy.host], env={}) as pool:
        assert (
            pool.client(fault_proxy.host).blob_exists(
                Repository(fault_proxy.host, repo), Digest.of(b"x")
            )
            is False
        )
    assert endpoint.grants == [
        {
            "service": ["svc.example"],
            "scope": [f"repository:{repo}:pull"],
            "client_id": ["shipsign"],
            "grant_type": ["refresh_token"],
            "refresh_token": ["refresh-XYZ"],
        }
    ]
    assert [(r.method, r.status) for r in fault_proxy.requests] == [("HEAD", 401), ("HEAD", 404)]


def test_mount_from_another_repository(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    source, target = Repository(fault_proxy.host, f"{repo}-src"), Repository(fault_proxy.host, repo)
    digest = client.push_blob(source, b"shared layer")
    fault_proxy.reset_log()
    assert client.push_blob(target, b"shared layer", mount_from=source) == digest
    assert [(r.method, r.status) for r in fault_proxy.requests] == [("HEAD", 404), ("POST", 201)]
    assert client.fetch_blob(target, digest, max_bytes=100) == b"shared layer"


def test_mount_falls_back_to_upload(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    empty_source = Repository(fault_proxy.host, f"{repo}-empty")
    target = Repository(fault_proxy.host, repo)
    fault_proxy.reset_log()
    digest = client.push_blob(target, b"not in the source", mount_from=empty_source)
    assert [(r.method, r.status) for r in fault_proxy.requests] == [
        ("HEAD", 404),
        ("POST", 202),
        ("PUT", 201),
    ]
    assert client.fetch_blob(target, digest, max_bytes=100) == b"not in the source"


def test_mount_with_token_auth(
    token_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(token_registry)
    source, target = (
        Repository(token_registry.host, f"{repo}-src"),
        Repository(token_registry.host, repo),
    )
    digest = client.push_blob(source, b"token shared layer")
    before = len(token_registry.token_requests())
    assert client.push_blob(target, b"token shared layer", mount_from=source) == digest
    # The mount's 401 names the source too; we ask for exactly the scopes it needs.
    assert token_registry.token_requests()[before:][-1].scopes == (
        f"repository:{repo}:pull,push",
        f"repository:{repo}-src:pull",
    )
    assert client.fetch_blob(target, digest, max_bytes=100) == b"token shared layer"


def test_one_client_many_threads(
    token_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(token_registry)
    repository = Repository(token_registry.host, repo)
    client.push_blob(repository, EMPTY_JSON)
    empty = Descriptor(media_type=OCI_EMPTY, digest=Digest.of(EMPTY_JSON), size=2)

    def work(n: int) -> bool:
        layer = client.push_blob(repository, f"layer {n}".encode())
        manifest = build_manifest(
            config=empty,
            layers=[Descriptor(media_type="text/plain", digest=layer, size=7 + len(str(n)))],
        )
        client.push_manifest(repository, manifest, tag=f"t{n}")
        return (
            client.resolve(Reference(repository=repository, tag=f"t{n}")).digest == manifest.digest
        )

    with ThreadPoolExecutor(max_workers=12) as workers:
        assert all(workers.map(work, range(24)))


def test_no_secret_in_debug_logs(
    token_registry: Registry,
    basic_registry: Registry,
    repo: str,
    make_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for reg in (token_registry, basic_registry):
        client = make_client(reg)
        client.push_blob(Repository(reg.host, repo), b"logged?")
    text = caplog.text
    assert text  # debug logging did happen
    for secret in (
        token_registry.password,
        basic_registry.password,
        "Authorization",
        "Bearer ",
        "Basic ",
    ):
        assert secret is not None
        assert secret not in text

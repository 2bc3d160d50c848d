"""Faults from the fault proxy: retries work, giving up names the operation, hostile bodies
are rejected, and credentials never follow a redirect to another host."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

import pytest

from integration.oci.images import ClientFactory, ServeHttp, push_image
from shipsign.errors import RegistryError
from shipsign.oci import (
    MANIFEST_MAX_BYTES,
    OCI_EMPTY,
    OCI_MANIFEST,
    Credential,
    Descriptor,
    Digest,
    Reference,
    Registries,
    RegistryClient,
    Repository,
    StaticKeychain,
    build_manifest,
)
from shipsign.oci.media import EMPTY_JSON
from shipsign.secret import Secret
from stack.fault_proxy import FaultProxy
from stack.raw_registry import RawClient
from stack.registry import Registry


class Sleeps:
    """Records the waits the client asks for instead of sleeping them."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def setup(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> tuple[RegistryClient, Repository, Sleeps]:
    sleeps = Sleeps()
    client = make_client(fault_proxy.registry, sleep=sleeps)
    return client, Repository(fault_proxy.host, repo), sleeps


def _count(proxy: FaultProxy, method: str, fragment: str) -> list[int]:
    return [r.status for r in proxy.requests if r.method == method and fragment in r.path]


def test_connection_reset_is_retried(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, sleeps = setup
    manifest = push_image(client, repo, b"reset", "v1")
    fault_proxy.reset_log()
    fault_proxy.add_fault(method="HEAD", path_regex="/manifests/v1", action="reset", times=2)
    assert client.resolve(Reference(repository=repo, tag="v1")).digest == manifest.digest
    assert _count(fault_proxy, "HEAD", "/manifests/v1") == [0, 0, 200]
    assert len(sleeps.waits) == 2


def test_server_errors_are_retried(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    push_image(client, repo, b"five hundred", "v1")
    fault_proxy.reset_log()
    fault_proxy.add_fault(method="GET", path_regex="/blobs/", status=500, headers={}, times=2)
    assert client.fetch_blob(repo, Digest.of(b"five hundred"), max_bytes=100) == b"five hundred"
    assert _count(fault_proxy, "GET", "/blobs/") == [500, 500, 200]


def test_retry_after_is_honoured(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, sleeps = setup
    fault_proxy.add_fault(
        method="HEAD", path_regex="/blobs/", status=429, headers={"Retry-After": "3"}, times=1
    )
    assert client.blob_exists(repo, Digest.of(b"absent")) is False
    assert sleeps.waits == [3.0]  # the registry's wish, not our (much shorter) backoff


def test_giving_up_names_the_operation(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, sleeps = setup
    push_image(client, repo, b"give up", "v1")
    body = b'{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}'
    fault_proxy.add_fault(
        method="PUT", path_regex="/manifests/", status=503, headers={}, body=body, times=None
    )
    manifest = build_manifest(
        config=Descriptor(media_type=OCI_EMPTY, digest=Digest.of(EMPTY_JSON), size=2), layers=[]
    )
    fault_proxy.reset_log()
    with pytest.raises(RegistryError) as info:
        client.push_manifest(repo, manifest, tag="v2")
    err = info.value
    assert err.operation == "push manifest"
    assert err.status == 503
    assert err.codes == ("UNAVAILABLE",)
    assert "cannot push manifest" in err.what
    assert "gave up after 4 attempts" in err.what
    assert err.where == f"PUT /v2/{repo.path}/manifests/v2"
    assert 'UNAVAILABLE "maintenance"' in err.found
    assert _count(fault_proxy, "PUT", "/manifests/v2") == [503] * 4
    assert len(sleeps.waits) == 3


def test_resets_until_giving_up_name_the_operation(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    fault_proxy.add_fault(method="GET", path_regex="/manifests/", action="reset", times=None)
    with pytest.raises(RegistryError) as info:
        client.fetch_manifest(Reference(repository=repo, tag="v1"))
    assert info.value.operation == "fetch manifest"
    assert "gave up after 4 attempts" in info.value.what
    assert info.value.found == "ConnectionError (ConnectionResetError: Connection reset by peer)"


def test_unreachable_registry_gives_up_with_the_operation(
    make_client: ClientFactory, repo: str
) -> None:
    from stack.process import free_port
    from stack.registry import Registry

    port = free_port()  # nothing listens here
    dead = Registry(
        name="dead", host=f"127.0.0.1:{port}", url=f"http://127.0.0.1:{port}", insecure=True
    )
    client = make_client(dead, sleep=Sleeps())
    with pytest.raises(RegistryError) as info:
        client.blob_exists(Repository(dead.host, repo), Digest.of(b"x"))
    assert info.value.operation == "check blob"
    assert info.value.status is None
    assert info.value.found == "ConnectionError (ConnectionRefusedError: Connection refused)"


def test_slow_response_times_out_and_is_retried(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    sleeps = Sleeps()
    client = make_client(fault_proxy.registry, timeout=(2.0, 0.3), sleep=sleeps)
    repository = Repository(fault_proxy.host, repo)
    fault_proxy.add_fault(method="HEAD", path_regex="/blobs/", action="delay", delay=1.0, times=1)
    assert client.blob_exists(repository, Digest.of(b"slow")) is False
    assert len(sleeps.waits) == 1  # one read timeout, one retry
    # The proxy logs the slow request only once it has answered it, after the delay.
    deadline = time.monotonic() + 5
    while len(_count(fault_proxy, "HEAD", "/blobs/")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _count(fault_proxy, "HEAD", "/blobs/") == [404, 404]


def test_client_errors_are_not_retried(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, sleeps = setup
    fault_proxy.add_fault(method="HEAD", path_regex="/blobs/", status=400, headers={}, times=None)
    with pytest.raises(RegistryError) as info:
        client.blob_exists(repo, Digest.of(b"x"))
    assert info.value.status == 400
    assert sleeps.waits == []
    assert len(_count(fault_proxy, "HEAD", "/blobs/")) == 1


def test_blob_put_whose_upload_is_gone_checks_the_blob(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    # A retried PUT whose first try landed finds its upload session gone (404); the blob is
    # there, so the push succeeded. Faults stage that: the blob exists, the first HEAD says
    # no, the PUT says 404 BLOB_UPLOAD_UNKNOWN.
    client, repo, _ = setup
    # pushed by another client: this one has not seen the blob, so it asks
    digest = Digest.parse(RawClient(fault_proxy.registry, repo.path).push_blob(b"landed"))
    fault_proxy.add_fault(method="HEAD", path_regex=f"/blobs/{digest}", status=404, headers={})
    unknown = b'{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown"}]}'
    fault_proxy.add_fault(
        method="PUT", path_regex="/blobs/uploads/", status=404, headers={}, body=unknown
    )
    fault_proxy.reset_log()
    assert client.push_blob(repo, b"landed") == digest
    assert [(r.method, r.status) for r in fault_proxy.requests] == [
        ("HEAD", 404),
        ("POST", 202),
        ("PUT", 404),
        ("HEAD", 200),
    ]


def test_tampered_manifest_by_digest_is_rejected(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    manifest = push_image(client, repo, b"honest", "v1")
    tampered = manifest.raw.replace(b"text/plain", b"text/plaim")
    fault_proxy.add_fault(
        method="GET",
        path_regex=f"/manifests/{manifest.digest}",
        status=200,
        headers={"Content-Type": OCI_MANIFEST},
        body=tampered,
    )
    with pytest.raises(RegistryError) as info:
        client.fetch_manifest(Reference(repository=repo, digest=manifest.digest))
    assert "does not match its digest" in info.value.what
    assert info.value.expected == str(manifest.digest)
    assert info.value.found == str(Digest.of(tampered))


def test_tampered_manifest_by_tag_with_honest_digest_header_is_rejected(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    manifest = push_image(client, repo, b"honest", "v1")
    fault_proxy.add_fault(
        method="GET",
        path_regex="/manifests/v1",
        status=200,
        headers={"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": str(manifest.digest)},
        body=manifest.raw + b" ",
    )
    with pytest.raises(RegistryError, match="does not match its digest"):
        client.fetch_manifest(Reference(repository=repo, tag="v1"))


def test_tampered_blob_is_rejected(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    digest = client.push_blob(repo, b"blob bytes")
    fault_proxy.add_fault(
        method="GET", path_regex=f"/blobs/{digest}", status=200, headers={}, body=b"blob bytez"
    )
    with pytest.raises(RegistryError, match="does not match its digest"):
        client.fetch_blob(repo, digest, max_bytes=100)


def test_oversized_manifest_is_refused(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    huge = b"{" + b" " * MANIFEST_MAX_BYTES + b"}"
    fault_proxy.add_fault(
        method="GET",
        path_regex="/manifests/big",
        status=200,
        headers={"Content-Type": OCI_MANIFEST},
        body=huge,
    )
    with pytest.raises(RegistryError, match="larger than 4194304 bytes"):
        client.fetch_manifest(Reference(repository=repo, tag="big"))


def test_blob_cap_is_the_callers(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    digest = client.push_blob(repo, b"x" * 2000)
    with pytest.raises(RegistryError, match="larger than 1000 bytes"):
        client.fetch_blob(repo, digest, max_bytes=1000)


def test_resolve_falls_back_to_get_without_a_digest_header(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    manifest = push_image(client, repo, b"no header", "v1")
    fault_proxy.add_fault(
        method="HEAD",
        path_regex="/manifests/v1",
        status=200,
        headers={"Content-Type": OCI_MANIFEST},
    )
    fault_proxy.reset_log()
    assert client.resolve(Reference(repository=repo, tag="v1")).digest == manifest.digest
    assert [(r.method, r.status) for r in fault_proxy.requests] == [("HEAD", 200), ("GET", 200)]


class _Recorder(BaseHTTPRequestHandler):
    """Blob storage on another host: serves one body and records Authorization headers."""

    body: ClassVar[bytes] = b""
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def storage(
    serve_http: ServeHttp,
) -> tuple[str, type[_Recorder]]:
    handler = type("Storage", (_Recorder,), {"seen": [], "body": b"stored blob"})
    return serve_http(handler), handler


def test_credentials_do_not_follow_a_redirect_to_another_host(
    fault_proxy: FaultProxy, repo: str, storage: tuple[str, type[_Recorder]]
) -> None:
    url, handler = storage
    digest = Digest.of(handler.body)
    login = {fault_proxy.host: Credential(username="u", password=Secret("p4ss"))}
    with Registries(keychain=StaticKeychain(login), insecure=[fault_proxy.host], env={}) as pool:
        client = pool.client(fault_proxy.host)
        path = f"/blobs/{digest}"
        fault_proxy.add_fault(
            method="GET",
            path_regex=path,
            status=401,
            headers={"WWW-Authenticate": 'Basic realm="r"'},
        )
        fault_proxy.add_fault(
            method="GET",
            path_regex=path,
            status=307,
            headers={"Location": f"{url}/storage/{digest.hex}"},
        )
        assert (
            client.fetch_blob(Repository(fault_proxy.host, repo), digest, max_bytes=100)
            == handler.body
        )
    assert handler.seen == [None]  # the registry got Basic; the storage host got nothing


def test_a_redirect_to_another_scheme_is_refused(
    fault_proxy: FaultProxy, setup: tuple[RegistryClient, Repository, Sleeps]
) -> None:
    client, repo, _ = setup
    location = {"Location": "ftp://internal.example/secret"}
    fault_proxy.add_fault(method="GET", path_regex="/blobs/", status=307, headers=location)
    with pytest.raises(RegistryError) as info:
        client.fetch_blob(repo, Digest.of(b"x"), max_bytes=10)
    assert info.value.what.endswith("redirected to a URL that is not HTTP(S)")
    assert info.value.found == "ftp://…"
    assert info.value.where.startswith("GET /v2/")  # the registry's URL that redirected
    assert "secret" not in str(info.value.__dict__)


def test_the_response_hook_sees_a_reply_refused_for_its_size(registry: Registry, repo: str) -> None:
    seen: list[tuple[str, int]] = []
    with Registries(
        keychain=StaticKeychain({}),
        insecure=[registry.host],
        env={},
        response_hook=lambda reply: seen.append((reply.method, reply.status)),
    ) as pool:
        client = pool.client(registry.host)
        repository = Repository(registry.host, repo)
        client.push_blob(repository, b"twenty bytes of blob")
        seen.clear()
        with pytest.raises(RegistryError) as info:
            client.fetch_blob(repository, Digest.of(b"twenty bytes of blob"), max_bytes=5)
    assert "larger than 5 bytes" in info.value.what
    assert seen == [("GET", 200)]  # counted, although refused

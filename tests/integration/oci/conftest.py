"""Fixtures for the OCI integration tests: clients for the stack's registries, and small HTTP
servers of the test's own (a token endpoint, blob storage on another host)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration.oci.images import ClientFactory, ServeHttp
from shipsign.oci import (
    Credential,
    Registries,
    RegistryClient,
    RetryPolicy,
    StaticKeychain,
)
from shipsign.secret import Secret
from stack.registry import Registry

# Fast retries: the fault tests must not take minutes, and a test never waits on a clock.
FAST_RETRY = RetryPolicy(attempts=4, base=0.01, cap=0.05, deadline=10.0)


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    """Build a `RegistryClient` for a stack `Registry`, logged in with its user unless told."""
    pools: list[Registries] = []

    def build(
        reg: Registry,
        *,
        login: bool = True,
        password: str | None = None,
        retry: RetryPolicy = FAST_RETRY,
        timeout: tuple[float, float] = (5.0, 30.0),
        ca_bundle: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RegistryClient:
        logins = {}
        if login and reg.username is not None:
            secret = password if password is not None else reg.password or ""
            logins[reg.host] = Credential(username=reg.username, password=Secret(secret))
        pool = Registries(
            keychain=StaticKeychain(logins),
            insecure=[reg.host] if reg.insecure else [],
            retry=retry,
            timeout=timeout,
            ca_bundle=str(reg.ca_bundle) if (ca_bundle and reg.ca_bundle) else None,
            env={},
            sleep=sleep,
        )
        pools.append(pool)
        return pool.client(reg.host)

    yield build
    for pool in pools:
        pool.close()


@pytest.fixture
def serve_http() -> Iterator[ServeHttp]:
    """Serve a handler class on 127.0.0.1 (a free port) in a thread; return its base URL.

    Every server started is shut down after the test.
    """
    servers: list[ThreadingHTTPServer] = []

    def serve(handler: type[BaseHTTPRequestHandler]) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()

"""The client pool: one client per registry, plain HTTP only where named (no sockets)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from shipsign.oci import Registries, StaticKeychain


def test_plain_http_only_for_named_hosts() -> None:
    with Registries(
        keychain=StaticKeychain({}), insecure=["localhost", "127.0.0.1:5000"], env={}
    ) as pool:
        assert pool.is_insecure("localhost:5000")
        assert pool.is_insecure("localhost")
        assert pool.is_insecure("127.0.0.1:5000")
        assert not pool.is_insecure("127.0.0.1:5001")  # HOST:PORT names one port
        assert not pool.is_insecure("10.0.0.1:5000")  # never guessed from address ranges
        assert pool.client("127.0.0.1:5000").base_url == "http://127.0.0.1:5000"
        assert pool.client("127.0.0.1:5001").base_url == "https://127.0.0.1:5001"
        assert pool.client("ghcr.io").base_url == "https://ghcr.io"


def test_docker_hub_is_served_from_registry_1() -> None:
    with Registries(keychain=StaticKeychain({}), env={}) as pool:
        assert pool.client("index.docker.io").base_url == "https://registry-1.docker.io"


def test_one_client_per_registry_across_threads() -> None:
    with Registries(keychain=StaticKeychain({}), env={}) as pool:
        with ThreadPoolExecutor(8) as workers:
            clients = list(workers.map(lambda _: pool.client("ghcr.io"), range(32)))
        assert len({id(c) for c in clients}) == 1
        assert pool.client("quay.io") is not clients[0]

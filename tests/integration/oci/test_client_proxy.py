"""Registry traffic through a forward proxy from the environment, and the CA bundle it trusts.

A real proxy on loopback (tests/stack/forward_proxy.py): plain-HTTP registries are relayed in
absolute form, HTTPS ones tunnelled with CONNECT so that TLS is still checked end to end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration.oci.images import push_image
from shipsign.errors import InputError, RegistryError
from shipsign.oci import Digest, Reference, Registries, Repository, StaticKeychain
from stack.forward_proxy import ForwardProxy
from stack.registry import Registry

_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variable from the outside, in either spelling."""
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    started = ForwardProxy(credentials="builder:s3cret/+")
    yield started
    started.stop()


def _round_trip(pool: Registries, reg: Registry, repo: str) -> None:
    client = pool.client(reg.host)
    repository = Repository(reg.host, repo)
    manifest = push_image(client, repository, f"through a proxy {repo}".encode(), tag="v1")
    assert client.resolve(Reference.parse(f"{reg.host}/{repo}:v1")).digest == manifest.digest
    payload = f"through a proxy {repo}".encode()
    assert client.fetch_blob(repository, Digest.of(payload), max_bytes=1024) == payload


def test_plain_http_registry_goes_through_http_proxy_with_its_credentials(
    environ: pytest.MonkeyPatch, proxy: ForwardProxy, registry: Registry, repo: str
) -> None:
    # The password has characters that must be percent-encoded in the URL and decoded for
    # the Proxy-Authorization header.
    environ.setenv("HTTP_PROXY", proxy.url.replace("://", "://builder:s3cret%2F%2B@"))
    with Registries(keychain=StaticKeychain({}), insecure=[registry.host], env={}) as pool:
        _round_trip(pool, registry, repo)
    assert proxy.seen, "nothing went through the proxy"
    assert all(s.authorized for s in proxy.seen)
    assert all(s.target.startswith(f"http://{registry.host}/v2/") for s in proxy.seen)
    assert {s.method for s in proxy.seen} >= {"GET", "HEAD", "PUT"}


def test_https_registry_is_tunnelled_and_its_certificate_still_checked(
    environ: pytest.MonkeyPatch, proxy: ForwardProxy, tls_registry: Registry, repo: str
) -> None:
    assert tls_registry.ca_bundle is not None
    environ.setenv("https_proxy", proxy.url.replace("://", "://builder:s3cret%2F%2B@"))
    with Registries(
        keychain=StaticKeychain({}), ca_bundle=str(tls_registry.ca_bundle), env={}
    ) as pool:
        _round_trip(pool, tls_registry, repo)
    assert proxy.seen
    assert all(s.method == "CONNECT" for s in proxy.seen)
    assert {s.target for s in proxy.seen} == {tls_registry.host}
    assert all(s.authorized for s in proxy.seen)
    # Through the same tunnel, a registry certificate nobody vouches for is refused.
    seen = len(proxy.seen)
    with (
        Registries(keychain=StaticKeychain({}), env={}) as untrusted,
        pytest.raises(RegistryError) as info,
    ):
        untrusted.client(tls_registry.host).resolve(
            Reference.parse(f"{tls_registry.host}/{repo}:v1")
        )
    assert info.value.what.endswith(": TLS verification failed")
    assert len(proxy.seen) == seen + 1  # it did go through the tunnel


def test_no_proxy_sends_the_registry_direct(
    environ: pytest.MonkeyPatch, proxy: ForwardProxy, registry: Registry, repo: str
) -> None:
    environ.setenv("HTTP_PROXY", proxy.url)
    environ.setenv("NO_PROXY", "example.org,127.0.0.0/8")  # the CIDR form, too
    with Registries(keychain=StaticKeychain({}), insecure=[registry.host], env={}) as pool:
        _round_trip(pool, registry, repo)
    assert proxy.seen == []


@pytest.mark.parametrize("tls", [False, True], ids=["relayed", "tunnelled"])
def test_wrong_proxy_credentials_are_named_not_retried_and_not_shown(
    tls: bool,
    environ: pytest.MonkeyPatch,
    proxy: ForwardProxy,
    registry: Registry,
    tls_registry: Registry,
) -> None:
    target = tls_registry if tls else registry
    environ.setenv("HTTPS_PROXY", proxy.url.replace("://", "://builder:wrong-Pa55@"))
    environ.setenv("HTTP_PROXY", proxy.url.replace("://", "://builder:wrong-Pa55@"))
    with (
        Registries(
            keychain=StaticKeychain({}),
            insecure=[] if tls else [registry.host],
            ca_bundle=str(tls_registry.ca_bundle),
            env={},
        ) as pool,
        pytest.raises(RegistryError) as info,
    ):
        pool.client(target.host).resolve(Reference.parse(f"{target.host}/acme/app:v1"))
    error = info.value
    assert error.status == 407
    assert "proxy refused" in error.what
    assert "USER:PASSWORD@" in error.hint
    assert len(proxy.seen) == 1  # asked once, not retried
    assert "wrong-Pa55" not in " ".join(str(v) for v in vars(error).values())


def test_a_socks_proxy_is_refused_by_name(environ: pytest.MonkeyPatch, registry: Registry) -> None:
    environ.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    with (
        Registries(keychain=StaticKeychain({}), insecure=[registry.host], env={}) as pool,
        pytest.raises(InputError) as info,
    ):
        pool.client(registry.host).resolve(Reference.parse(f"{registry.host}/acme/app:v1"))
    assert info.value.found.startswith("socks5://")
    assert "http:// or https://" in info.value.expected


def test_a_ca_bundle_that_does_not_exist_is_named(registry: Registry) -> None:
    with (
        Registries(keychain=StaticKeychain({}), env={"SSL_CERT_FILE": "/nowhere/ca.pem"}) as pool,
        pytest.raises(InputError) as info,
    ):
        pool.client("ghcr.io")
    assert info.value.where == "/nowhere/ca.pem"
    assert "SSL_CERT_FILE" in info.value.hint

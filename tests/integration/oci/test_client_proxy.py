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
from shipsign.retry import RetryPolicy
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


def test_an_ipv6_proxy_address_keeps_its_brackets(
    environ: pytest.MonkeyPatch, registry: Registry, repo: str
) -> None:
    proxy = ForwardProxy(host="::1")
    try:
        environ.setenv("HTTP_PROXY", proxy.url)
        with Registries(keychain=StaticKeychain({}), insecure=[registry.host], env={}) as pool:
            _round_trip(pool, registry, repo)
        assert proxy.seen
    finally:
        proxy.stop()


def test_a_proxy_that_cannot_be_reached_is_retried_whatever_its_name(
    environ: pytest.MonkeyPatch, tls_registry: Registry
) -> None:
    # "407" in the proxy's name or port must not read as the proxy asking for credentials.
    environ.setenv("HTTPS_PROXY", "http://proxy407.invalid:4070")
    sleeps: list[float] = []
    with (
        Registries(
            keychain=StaticKeychain({}),
            ca_bundle=str(tls_registry.ca_bundle),
            env={},
            retry=RetryPolicy(attempts=3, base=0.01, cap=0.02),
            sleep=sleeps.append,
        ) as pool,
        pytest.raises(RegistryError) as info,
    ):
        pool.client(tls_registry.host).resolve(Reference.parse(f"{tls_registry.host}/acme/app:v1"))
    assert info.value.status is None
    assert "gave up after 3 attempts" in info.value.what
    assert info.value.found.startswith("ProxyError")
    assert len(sleeps) == 2


def test_a_delete_without_body_says_content_length_zero(
    environ: pytest.MonkeyPatch, registry: Registry, repo: str
) -> None:
    # As requests sent it: proxies and registries that want a length (411) get one.
    proxy = ForwardProxy()
    try:
        environ.setenv("HTTP_PROXY", proxy.url)
        with Registries(keychain=StaticKeychain({}), insecure=[registry.host], env={}) as pool:
            client = pool.client(registry.host)
            push_image(client, Repository(registry.host, repo), b"to delete", tag="gone")
            with pytest.raises(RegistryError):  # distribution deletes by digest only
                client.delete_tag(Repository(registry.host, repo), "gone")
        deletes = [s for s in proxy.seen if s.method == "DELETE"]
        assert [s.content_length for s in deletes] == ["0"]
        assert all(s.content_length is None for s in proxy.seen if s.method in ("GET", "HEAD"))
    finally:
        proxy.stop()

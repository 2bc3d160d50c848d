"""Push, pull and resolve through every registry variant; auth failures say host and scope."""

from __future__ import annotations

import pytest

from integration.oci.images import ClientFactory, push_image
from shipsign.errors import AuthError, InputError, RegistryError
from shipsign.oci import (
    Descriptor,
    Digest,
    Index,
    Manifest,
    Platform,
    Reference,
    Repository,
    build_index,
)
from stack.registry import Registry

VARIANTS = ["registry", "basic_registry", "token_registry", "tls_registry"]


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> Registry:
    reg: Registry = request.getfixturevalue(request.param)
    return reg


def test_push_pull_resolve(variant: Registry, repo: str, make_client: ClientFactory) -> None:
    client = make_client(variant)
    repository = Repository(variant.host, repo)
    payload = f"payload for {repo}".encode()
    manifest = push_image(client, repository, payload, tag="v1")

    resolved = client.resolve(Reference.parse(f"{variant.host}/{repo}:v1"))
    assert resolved.digest == manifest.digest
    assert resolved.size == len(manifest.raw)
    assert resolved.media_type == manifest.media_type

    by_digest = client.fetch_manifest(Reference.parse(f"{variant.host}/{repo}@{manifest.digest}"))
    assert isinstance(by_digest, Manifest)
    assert by_digest.raw == manifest.raw
    assert client.fetch_blob(repository, Digest.of(payload), max_bytes=1024) == payload
    assert client.blob_exists(repository, Digest.of(payload))
    assert not client.blob_exists(repository, Digest.of(b"never pushed"))
    assert client.fetch_blob(repository, Digest.of(b"never pushed"), max_bytes=10) is None
    assert client.fetch_manifest(Reference.parse(f"{variant.host}/{repo}:absent")) is None


def test_index_round_trip_and_by_digest_push(
    registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(registry)
    repository = Repository(registry.host, repo)
    child = push_image(client, repository, b"arm64 layer", tag=None)
    index = build_index(
        [
            Descriptor(
                media_type=child.media_type,
                digest=child.digest,
                size=len(child.raw),
                platform=Platform("linux", "arm64"),
            )
        ]
    )
    assert client.push_manifest(repository, index, tag="multi") == index.digest
    found = client.fetch_manifest(Reference.parse(f"{registry.host}/{repo}:multi"))
    assert isinstance(found, Index)
    assert found.raw == index.raw
    assert found.manifests[0].platform == Platform("linux", "arm64")


def test_resolving_an_absent_tag_is_an_input_error(
    registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(registry)
    with pytest.raises(InputError) as info:
        client.resolve(Reference.parse(f"{registry.host}/{repo}:nope"))
    assert f"{registry.host}/{repo}:nope" in info.value.what
    assert "404" in info.value.found


def test_wrong_password_names_host_and_scope_basic(
    basic_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(basic_registry, password="Wr0ngPa55zq")
    with pytest.raises(AuthError) as info:
        client.resolve(Reference.parse(f"{basic_registry.host}/{repo}:v1"))
    err = info.value
    assert err.registry == basic_registry.host
    assert err.scope == f"repository:{repo}:pull"
    assert err.status == 401
    assert basic_registry.host in err.what
    assert "Wr0ngPa55zq" not in f"{err} {err!r} {err.details()}"


def test_wrong_password_names_host_and_scope_token(
    token_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(token_registry, password="Wr0ngPa55zq")
    with pytest.raises(AuthError) as info:
        client.push_blob(Repository(token_registry.host, repo), b"data")
    err = info.value
    assert err.registry == token_registry.host
    assert err.scope == f"repository:{repo}:pull,push"
    assert err.status == 401
    assert "token service 127.0.0.1" in err.what
    assert "Wr0ngPa55zq" not in f"{err} {err!r} {err.details()}"


def test_anonymous_push_is_refused_with_the_scope(
    token_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(token_registry, login=False)
    with pytest.raises(AuthError) as info:
        client.push_blob(Repository(token_registry.host, repo), b"data")
    assert info.value.scope == f"repository:{repo}:pull,push"
    assert "as anonymous" in info.value.what


def test_basic_registry_without_login_needs_one(
    basic_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(basic_registry, login=False)
    with pytest.raises(AuthError, match="requires a login"):
        client.blob_exists(Repository(basic_registry.host, repo), Digest.of(b"x"))


def test_tokens_are_cached_per_scope(
    token_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(token_registry)
    repository = Repository(token_registry.host, repo)
    before = len(token_registry.token_requests())
    manifest = push_image(client, repository, b"cached", tag="v1")
    client.resolve(Reference.parse(f"{token_registry.host}/{repo}:v1"))
    client.fetch_manifest(Reference.parse(f"{token_registry.host}/{repo}@{manifest.digest}"))
    asked = token_registry.token_requests()[before:]
    # One token for pull,push covers every later pull of the same repository.
    assert [r.scopes for r in asked] == [(f"repository:{repo}:pull,push",)]
    assert all(r.user == token_registry.username and r.status == 200 for r in asked)


def test_tls_registry_without_its_ca_is_refused(
    tls_registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(tls_registry, ca_bundle=False)
    with pytest.raises(RegistryError) as info:
        client.resolve(Reference.parse(f"{tls_registry.host}/{repo}:v1"))
    assert "TLS verification failed" in info.value.what
    assert "REQUESTS_CA_BUNDLE" in info.value.hint
    assert info.value.operation == "resolve"


def test_plain_http_is_never_guessed(registry: Registry, repo: str) -> None:
    from shipsign.oci import Registries, StaticKeychain

    with Registries(keychain=StaticKeychain({}), env={}) as pool:
        client = pool.client(registry.host)  # loopback, but not named insecure: https only
        assert client.base_url.startswith("https://")
        with pytest.raises(RegistryError):
            client.resolve(Reference.parse(f"{registry.host}/{repo}:v1"))

"""Referrers against real registries: the fallback tag with concurrent writers, and the
referrers API when the fault proxy serves it."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from integration.oci.images import BUNDLE, EMPTY, ClientFactory, push_subject
from integration.referrer_writes import add_referrer
from shipsign.errors import RegistryError
from shipsign.oci import (
    OCI_INDEX,
    Descriptor,
    Digest,
    Index,
    Manifest,
    Reference,
    ReferrersSource,
    RegistryClient,
    Repository,
    build_manifest,
    fetch_referrers,
    referrer_descriptor,
)
from stack.fault_proxy import FaultProxy
from stack.registry import Registry

OCI_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def _referrer(client: RegistryClient, repo: Repository, subject: Manifest, n: int) -> Manifest:
    layer = client.push_blob(repo, f"bundle {n}".encode())
    manifest = build_manifest(
        config=EMPTY,
        layers=[Descriptor(media_type=BUNDLE, digest=layer, size=len(f"bundle {n}"))],
        annotations={"dev.sigstore.bundle.content": "dsse-envelope", "n": str(n)},
        subject=subject.descriptor,
        artifact_type=BUNDLE,
    )
    client.push_manifest(repo, manifest)  # by digest
    return manifest


def test_fallback_tag_round_trip(registry: Registry, repo: str, make_client: ClientFactory) -> None:
    client = make_client(registry)
    repository = Repository(registry.host, repo)
    subject = push_subject(client, repository)
    assert fetch_referrers(client, repository, subject.digest).descriptors == ()
    one = _referrer(client, repository, subject, 1)
    entry = referrer_descriptor(one)
    assert add_referrer(client, repository, subject.digest, entry) is ReferrersSource.FALLBACK_TAG
    assert add_referrer(client, repository, subject.digest, entry) is ReferrersSource.FALLBACK_TAG

    found = fetch_referrers(client, repository, subject.digest)
    assert found.source is ReferrersSource.FALLBACK_TAG
    assert found.descriptors == (entry,)  # once, with artifactType and annotations
    index = client.fetch_manifest(Reference(repository=repository, tag=subject.digest.tag_form))
    assert isinstance(index, Index)
    doc = json.loads(index.raw)
    assert doc["mediaType"] == OCI_INDEX
    assert doc["manifests"][0]["artifactType"] == BUNDLE
    assert doc["manifests"][0]["annotations"] == {
        "dev.sigstore.bundle.content": "dsse-envelope",
        "n": "1",
    }
    assert (
        fetch_referrers(client, repository, subject.digest, artifact_type="other/type").descriptors
        == ()
    )


def test_ten_concurrent_writers_lose_nothing(
    registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    setup = make_client(registry)
    repository = Repository(registry.host, repo)
    subject = push_subject(setup, repository)
    referrers = [_referrer(setup, repository, subject, n) for n in range(10)]
    # One client per writer: ten independent processes' worth of state racing on one tag.
    writers = [make_client(registry) for _ in referrers]

    def write(pair: tuple[RegistryClient, Manifest]) -> ReferrersSource:
        client, manifest = pair
        return add_referrer(client, repository, subject.digest, referrer_descriptor(manifest))

    with ThreadPoolExecutor(max_workers=10) as pool:
        sources = list(pool.map(write, zip(writers, referrers, strict=True)))
    assert sources == [ReferrersSource.FALLBACK_TAG] * 10
    listed = fetch_referrers(setup, repository, subject.digest).descriptors
    assert sorted(str(d.digest) for d in listed) == sorted(str(m.digest) for m in referrers)


def test_fallback_tag_holding_a_manifest_is_an_error(
    registry: Registry, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(registry)
    repository = Repository(registry.host, repo)
    subject = push_subject(client, repository)
    client.push_manifest(repository, subject, tag=subject.digest.tag_form)  # not an index
    with pytest.raises(RegistryError, match="holds a manifest, not an index"):
        fetch_referrers(client, repository, subject.digest)


def test_referrers_api_through_the_proxy(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    fault_proxy.serve_referrers = True
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(client, repository)
    manifest = _referrer(client, repository, subject, 7)  # the proxy indexes it on PUT
    fault_proxy.reset_log()

    assert (
        add_referrer(client, repository, subject.digest, referrer_descriptor(manifest))
        is ReferrersSource.API
    )
    found = fetch_referrers(client, repository, subject.digest)
    assert found.source is ReferrersSource.API
    assert [d.digest for d in found.descriptors] == [manifest.digest]
    assert found.descriptors[0].artifact_type == BUNDLE
    assert found.descriptors[0].annotations["n"] == "7"
    # The registry keeps the list: no fallback tag was read or written.
    assert not [r for r in fault_proxy.requests if subject.digest.tag_form in r.path]


def test_unsupported_api_is_remembered_per_registry(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(client, repository)
    fault_proxy.reset_log()
    for _ in range(3):
        assert (
            fetch_referrers(client, repository, subject.digest).source
            is ReferrersSource.FALLBACK_TAG
        )
    api_calls = [r for r in fault_proxy.requests if "/referrers/" in r.path]
    assert [(r.method, r.status) for r in api_calls] == [("GET", 404)]  # asked once, then known


def test_referrers_api_with_wrong_content_type_is_not_trusted(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = push_subject(client, repository)
    bogus = json.dumps({"schemaVersion": 2, "manifests": []}).encode()
    fault_proxy.add_fault(
        method="GET",
        path_regex="/referrers/",
        status=200,
        headers={"Content-Type": "application/json"},
        body=bogus,
    )
    assert (
        fetch_referrers(client, repository, subject.digest).source is ReferrersSource.FALLBACK_TAG
    )


def test_referrers_api_pages_are_followed(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = Digest.of(b"subject")
    entries = [
        {
            "mediaType": OCI_MANIFEST_TYPE,
            "digest": str(Digest.of(bytes([n]))),
            "size": n,
            "artifactType": BUNDLE,
        }
        for n in range(3)
    ]

    def page(items: list[dict[str, object]]) -> bytes:
        return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": items}).encode()

    index_type = {"Content-Type": OCI_INDEX}
    next_link = f'</v2/{repo}/referrers/{subject}?last=x>; rel="next"'
    fault_proxy.add_fault(
        method="GET",
        path_regex=r"/referrers/.*\?last=x",
        status=200,
        headers=index_type,
        body=page(entries[2:]),
    )
    fault_proxy.add_fault(
        method="GET",
        path_regex="/referrers/",
        status=200,
        headers={**index_type, "Link": next_link},
        body=page(entries[:2]),
    )
    found = fetch_referrers(client, repository, subject)
    assert found.source is ReferrersSource.API
    assert [str(d.digest) for d in found.descriptors] == [e["digest"] for e in entries]


def test_a_next_page_on_another_origin_is_not_followed(
    fault_proxy: FaultProxy, repo: str, make_client: ClientFactory
) -> None:
    client = make_client(fault_proxy.registry)
    repository = Repository(fault_proxy.host, repo)
    subject = Digest.of(b"subject")
    entry = {
        "mediaType": OCI_MANIFEST_TYPE,
        "digest": str(Digest.of(b"referrer")),
        "size": 8,
        "artifactType": BUNDLE,
    }
    page = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
    # Same host and port, but https: another origin than this plain-HTTP registry.
    elsewhere = f'<https://{fault_proxy.host}/v2/{repo}/referrers/{subject}?last=x>; rel="next"'
    fault_proxy.add_fault(
        method="GET",
        path_regex="/referrers/",
        status=200,
        headers={"Content-Type": OCI_INDEX, "Link": elsewhere},
        body=json.dumps(page).encode(),
    )
    found = fetch_referrers(client, repository, subject)
    assert found.source is ReferrersSource.API
    assert [str(d.digest) for d in found.descriptors] == [entry["digest"]]
    assert [r.path.split("?")[0] for r in fault_proxy.requests] == [
        f"/v2/{repo}/referrers/{subject}"
    ]
